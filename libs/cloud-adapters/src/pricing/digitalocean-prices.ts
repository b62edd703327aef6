import { createApiClient } from 'dots-wrapper';
import type { CloudEndpoints, DigitalOceanCredentials } from '../cloud-provider';
import { CloudError } from '../errors';
import { recordCloudRetry } from '../metrics';
import { CLOUD_CALL, withRetry } from '../retry';
import { toCloudError } from '../digitalocean/digitalocean-errors';
import { byInstanceType, InstanceOffering, PriceReader, roundUsd } from './types';

const PER_PAGE = 200;
const MAX_PAGES = 100;

/** A Droplet size's class: the slug's first part, with `-amd` / `-intel` for Premium CPUs (`s`, `s-amd`, `g`, `gd`, `c2`, `m3`, `so1_5` …). */
export const doFamily = (slug: string): string => {
  const first = slug.split('-')[0];
  const premium = /-(amd|intel)$/.exec(slug)?.[1] ?? /-\d+gb-(intel)$/.exec(slug)?.[1];
  return premium ? `${first}-${premium}` : first;
};

/**
 * DigitalOcean: `GET /v2/sizes` through `dots-wrapper` (as the adapter's client: the token, `endpoints.digitalocean`),
 * every page (`links.pages.next`), retried with retry.ts `CLOUD_CALL`. A size is offered in a region when it is
 * `available` and lists the region; its price is `price_hourly` (DigitalOcean prices sizes, the same in every region).
 * Every Droplet is x86-64 (amd64).
 */
export class DigitalOceanPriceReader implements PriceReader {
  readonly source = 'DigitalOcean GET /v2/sizes';
  private readonly api: ReturnType<typeof createApiClient>;

  constructor(credentials: DigitalOceanCredentials, endpoints: CloudEndpoints) {
    this.api = createApiClient({ token: credentials.token, endpoint: endpoints.digitalocean, requestTimeoutInMs: 30_000 });
  }

  async read(region: string): Promise<InstanceOffering[]> {
    const out: InstanceOffering[] = [];
    let page = 1;
    for (let n = 0; n < MAX_PAGES; n++) {
      const { data } = await withRetry(CLOUD_CALL, async () => {
        try {
          return await this.api.size.listSizes({ page, per_page: PER_PAGE });
        } catch (e) {
          throw toCloudError(e) ?? e;
        }
      }, { onRetry: ({ error }) => recordCloudRetry('digitalocean', error, 'size.listSizes') });
      for (const s of data.sizes ?? []) {
        if (!s.available || !s.regions.includes(region) || !(s.price_hourly > 0)) continue;
        out.push({ cloud: 'digitalocean', region, instanceType: s.slug, family: doFamily(s.slug), vcpu: s.vcpus, memoryMiB: s.memory, architecture: 'amd64', usdPerHour: roundUsd(s.price_hourly) });
      }
      const next = (data as { links?: { pages?: { next?: string } } }).links?.pages?.next;
      if (!next) return out.sort(byInstanceType);
      const nextPage = Number(new URL(next, 'https://api.digitalocean.com/v2/').searchParams.get('page'));
      page = Number.isInteger(nextPage) && nextPage > page ? nextPage : page + 1;
    }
    throw new CloudError('Unavailable', 'digitalocean', 'too_many_pages', `GET /v2/sizes did not end after ${MAX_PAGES} pages`);
  }
}
