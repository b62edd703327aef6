import { notFound } from './errors';
import { RouteTable, bodyOf, page } from './context';
import { Account, renderTag, TagRec } from './model';
import { now } from './state';
import { checkTagName, reqString } from './validation';

/**
 * Tags: `POST/GET /v2/tags`, `GET/DELETE /v2/tags/:name`. Tag writes take no sandbox operation (no latency, no faults).
 * Reference: https://docs.digitalocean.com/reference/api/api-reference/#tag/Tags
 */

/** The tag, made when missing (Droplet create and `POST /v2/tags` make tags implicitly). */
export function ensureTag(a: Account, name: string): TagRec {
  let t = a.tags.get(name);
  if (!t) {
    t = { name, createdAt: now() };
    a.tags.set(name, t);
  }
  return t;
}

export const TAG_ROUTES: RouteTable = {
  // Creating an existing tag answers that tag.
  'POST /v2/tags': {
    run: (c) => {
      const t = ensureTag(c.account, checkTagName(reqString(bodyOf(c), 'name', 'name is required')));
      return { status: 201, body: { tag: renderTag(t, c.account.droplets.values()) } };
    },
  },
  'GET /v2/tags': { op: 'read', run: (c) => page(c, 'tags', [...c.account.tags.values()], (t) => renderTag(t, c.account.droplets.values())) },
  'GET /v2/tags/:name': {
    op: 'read',
    run: (c) => {
      const t = c.account.tags.get(c.params.name);
      if (!t) throw notFound();
      return { body: { tag: renderTag(t, c.account.droplets.values()) } };
    },
  },
  // Untags every resource (and firewall target) that carried it.
  'DELETE /v2/tags/:name': {
    run: (c) => {
      const name = c.params.name;
      if (!c.account.tags.delete(name)) throw notFound();
      for (const d of c.account.droplets.values()) d.tags = d.tags.filter((t) => t !== name);
      for (const f of c.account.firewalls.values()) f.tags = f.tags.filter((t) => t !== name);
      return {};
    },
  },
};
