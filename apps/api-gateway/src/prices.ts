import { PriceCatalogue, createPriceReaderFor, isCloudError, type CloudCredentials, type CloudEndpoints, type PriceList } from '@skyweave/cloud-adapters';
import type { CloudId } from '@skyweave/domain';

/** How long a plan waits for one cloud's price list before answering without it, ms (the fetch goes on and fills the cache). */
export const PRICE_WAIT_MS = 15_000;

/** Opens sealed secrets (libs/persistence SecretBox). */
interface Opener { open(sealed: string): string }

/** One cloud's price list, or why there is none. */
export type PriceAnswer = { list: PriceList } | { error: string };

/**
 * Why a price list could not be read, for the answer: the cloud's error kind and code only. Not the cloud's message:
 * the cache is shared, so a fetch started with another organisation's credentials may fail for this caller too, and
 * a message can name that account (a GCP project, an Azure tenant). The whole message goes to the log.
 */
export function priceFailureReason(e: unknown): string {
  if (isCloudError(e)) return `the ${e.cloud} price API refused or failed: ${e.kind} (${e.code})`;
  return `the price API could not be read (${e instanceof Error ? e.name : 'error'})`;
}

/**
 * The gateway's instance prices (for `POST /v1/clusters/plan`): each cloud's price list read from the cloud's own
 * price API (libs/cloud-adapters pricing, docs/pricing.md) through the credentials of the organisation that asks,
 * cached per cloud and region by one {@link PriceCatalogue} per gateway process (refreshed every `refreshMs`, the last
 * known list kept with `stale: true` when a refresh fails), as the autoscaler does (apps/autoscaler/src/prices.ts).
 * List prices are the same for every account, so one cache serves every organisation; a fetch's reader is made with
 * the credentials of the organisation whose request started it (opened only then, never logged).
 * Never throws: a price API that fails, or does not answer within `waitMs`, is an `{error}` answer.
 */
export class GatewayPrices {
  private readonly catalogue: PriceCatalogue;
  private readonly waitMs: number;

  private readonly log: (msg: string) => void;

  constructor(private readonly box: Opener, private readonly endpoints: CloudEndpoints, opts: { refreshMs?: number; waitMs?: number; log?: (msg: string) => void } = {}) {
    this.log = opts.log ?? (() => undefined);
    this.catalogue = new PriceCatalogue({ refreshMs: opts.refreshMs, log: this.log });
    this.waitMs = opts.waitMs ?? PRICE_WAIT_MS;
  }

  /**
   * `cloud`'s price list in `region` (the cloud's region code), read with the organisation's `sealed` credentials when
   * it must be fetched.
   */
  async list(cloud: CloudId, region: string, sealed: string): Promise<PriceAnswer> {
    const reader = () => {
      const creds = JSON.parse(this.box.open(sealed)) as CloudCredentials;
      if (creds?.cloud !== cloud) throw new Error(`the stored ${cloud} credentials cannot be read`);
      return createPriceReaderFor(creds, this.endpoints);
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<PriceAnswer>((resolve) => {
      timer = setTimeout(() => resolve({ error: `the price API did not answer within ${Math.round(this.waitMs / 1000)} s` }), this.waitMs);
      timer.unref();
    });
    const fetched = this.catalogue.get(cloud, region, reader).then((list): PriceAnswer => ({ list }), (e: unknown): PriceAnswer => {
      this.log(`prices: ${cloud}/${region}: no price list: ${e instanceof Error ? e.message : String(e)}`);
      return { error: priceFailureReason(e) };
    });
    try {
      return await Promise.race([fetched, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Drops every cached list (the next plan of each cloud and region reads its price API again). */
  clear(): void {
    this.catalogue.clear();
  }
}
