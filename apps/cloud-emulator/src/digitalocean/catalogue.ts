import { DoSize, IMAGES, REGIONS, SIZES, findImage } from './catalog';
import { badRequest, notFound } from './errors';
import { page, query, RouteTable } from './context';
import type { DoState } from './state';

/**
 * The catalogue: `GET /v2/regions`, `GET /v2/sizes` (also the sandbox's price API: admin overrides apply),
 * `GET /v2/images` (`type=distribution|application`, `private=true`, `tag_name`) and `GET /v2/images/:id` (numeric id
 * or slug).
 * Reference: https://docs.digitalocean.com/reference/api/api-reference/#tag/Regions, #tag/Sizes, #tag/Images
 */

/** A size with the emulator's admin price override, if any: the hourly price set, the monthly one 672 × it. */
export function pricedSize(s: DoState, size: DoSize): DoSize {
  const usd = s.priceOverrides.get(size.slug);
  return usd === undefined ? size : { ...size, price_hourly: usd, price_monthly: Math.round(usd * 672 * 100) / 100 };
}

export const CATALOGUE_ROUTES: RouteTable = {
  'GET /v2/regions': { op: 'read', run: (c) => page(c, 'regions', REGIONS, (r) => r) },
  'GET /v2/sizes': { op: 'read', run: (c) => page(c, 'sizes', SIZES, (size) => pricedSize(c.state, size)) },
  'GET /v2/images': {
    op: 'read',
    run: (c) => {
      const type = query(c, 'type');
      if (type !== undefined && type !== 'distribution' && type !== 'application') throw badRequest('type must be one of distribution, application');
      const priv = query(c, 'private');
      const tag = query(c, 'tag_name');
      // The account's own (private) images are its snapshots and custom images: the sandbox makes none. Public images
      // carry no tags. Every public image is a distribution; 1-Click application images are not in the catalogue.
      const images = priv === 'true' || tag !== undefined || type === 'application' ? [] : IMAGES;
      return page(c, 'images', images, (i) => i);
    },
  },
  'GET /v2/images/:id': {
    op: 'read',
    run: (c) => {
      const raw = c.params.id;
      const image = findImage(/^\d+$/.test(raw) ? Number(raw) : raw);
      if (!image) throw notFound();
      return { body: { image } };
    },
  },
};
