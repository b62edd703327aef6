import type { DataSource } from 'typeorm';
import type { Offering } from '@skyweave/autoscaling';
import { PriceCatalogue, createPriceReaderFor, type CloudCredentials, type CloudEndpoints } from '@skyweave/cloud-adapters';
import type { CloudId } from '@skyweave/domain';
import { Repositories, orgScope } from '@skyweave/persistence';
import type { OfferingSource } from './autoscaler';

/** How long an organisation's sealed credentials are reused before they are read again (ms). */
const CREDENTIALS_TTL_MS = 60_000;

/** Opens sealed secrets (libs/persistence SecretBox). */
interface Opener { open(sealed: string): string }

/**
 * The autoscaler's {@link OfferingSource}: each cloud's price list from its own price API (libs/cloud-adapters
 * pricing, docs/pricing.md), cached per cloud and region by a {@link PriceCatalogue} (refreshed every `refreshMs`,
 * the last known list kept when a refresh fails). List prices are the same for every account, so one cache serves
 * every organisation; the reader of a fetch is made with the credentials of the organisation that asked first
 * (decrypted only then, never logged). Offerings get the zone Skyweave uses in that region (seed region mapping).
 */
export class PriceOfferingSource implements OfferingSource {
  private readonly catalogue: PriceCatalogue;
  private readonly repos: Repositories;
  private readonly sealed = new Map<string, { sealed: string; until: number }>();

  constructor(ds: DataSource, private readonly box: Opener, private readonly endpoints: CloudEndpoints, opts: { refreshMs?: number; log?: (msg: string) => void } = {}) {
    this.catalogue = new PriceCatalogue({ refreshMs: opts.refreshMs, log: opts.log });
    this.repos = new Repositories(ds);
  }

  async offerings(organisationId: string, cloud: CloudId, region: string, zone: string) {
    const sealed = await this.sealedCredentials(organisationId, cloud);
    const list = await this.catalogue.get(cloud, region, () => createPriceReaderFor(JSON.parse(this.box.open(sealed)) as CloudCredentials, this.endpoints));
    const offerings: Offering[] = list.offerings.map((o) => ({
      cloud: o.cloud, region: o.region, zone, instanceType: o.instanceType, family: o.family, vcpu: o.vcpu, memoryMiB: o.memoryMiB, architecture: o.architecture, usdPerHour: o.usdPerHour,
    }));
    return { offerings, source: list.source, pricedAt: list.pricedAt, stale: list.stale };
  }

  /**
   * The organisation's sealed credentials for `cloud`, re-read at most every CREDENTIALS_TTL_MS (the autoscaler asks
   * every tick for every cluster; the credentials are opened only when a price list is fetched).
   * @throws Error when the organisation has none for that cloud.
   */
  private async sealedCredentials(organisationId: string, cloud: CloudId): Promise<string> {
    const key = `${organisationId}/${cloud}`;
    const hit = this.sealed.get(key);
    if (hit && hit.until > Date.now()) return hit.sealed;
    const row = await this.repos.credentials.findByCloud(orgScope(organisationId), cloud);
    if (!row) throw new Error(`the organisation has no ${cloud} credentials to read its prices with`);
    this.sealed.set(key, { sealed: row.ciphertext, until: Date.now() + CREDENTIALS_TTL_MS });
    return row.ciphertext;
  }
}
