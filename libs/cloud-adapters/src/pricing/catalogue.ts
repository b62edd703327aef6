import type { CloudId } from '@skyweave/domain';
import type { PriceList, PriceReader } from './types';

/** Default refresh period of a cached price list: an hour (list prices change a few times a year). */
export const DEFAULT_PRICE_REFRESH_MS = 3_600_000;
/** After a failed refresh, how long the stale list is served before the next attempt. */
export const PRICE_RETRY_BACKOFF_MS = 60_000;

interface Entry {
  list?: PriceList;
  /** When the list was fetched (the injected clock), or the last failure when there is no list. */
  fetchedAt: number;
  /** Not before this time is the next fetch started (after a failure). */
  retryAt: number;
  inflight?: Promise<PriceList>;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Instance prices per cloud and region, cached.
 * - A cached list younger than `refreshMs` is returned as it is.
 * - An older one is refreshed: callers meanwhile share the one fetch (single flight) and wait for it.
 * - A failed refresh keeps the last known list, returned with `stale: true` and the failure in `error`; the next attempt
 *   is made only `PRICE_RETRY_BACKOFF_MS` (1 min) later, or after `refreshMs` when that is shorter: a price API that
 *   is down is not asked on every call. With no list at all, the failure is thrown to every caller of that fetch, and the
 *   next call fetches again (there is nothing to serve meanwhile; the reader's own retry has already been spent).
 * `reader` is called only when a fetch starts, so a PriceReader (and its SDK clients) need only be made then.
 * Nothing here logs prices' credentials: the log gets cloud, region and the failure's message.
 */
export class PriceCatalogue {
  private readonly refreshMs: number;
  private readonly now: () => number;
  private readonly log: (msg: string) => void;
  private readonly entries = new Map<string, Entry>();

  constructor(opts: { refreshMs?: number; now?: () => number; log?: (msg: string) => void } = {}) {
    this.refreshMs = opts.refreshMs ?? DEFAULT_PRICE_REFRESH_MS;
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => undefined);
  }

  /**
   * The price list of `cloud` in `region`: cached, refreshed when older than refreshMs; concurrent callers share one
   * fetch; a failed refresh keeps the last known list (`stale: true`, `error`) and is retried after a short backoff.
   * @throws the fetch's error when there is no list at all.
   */
  async get(cloud: CloudId, region: string, reader: () => PriceReader): Promise<PriceList> {
    const key = `${cloud}/${region}`;
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = { fetchedAt: 0, retryAt: 0 }));
    const t = this.now();
    if (e.list && !e.list.stale && t - e.fetchedAt < this.refreshMs) return e.list;
    if (e.list && e.list.stale && t < e.retryAt) return e.list;
    if (!e.inflight) e.inflight = this.fetch(cloud, region, e, reader);
    return e.inflight;
  }

  /** Drops every cached list (the next `get` of each fetches). */
  clear(): void {
    this.entries.clear();
  }

  private async fetch(cloud: CloudId, region: string, e: Entry, reader: () => PriceReader): Promise<PriceList> {
    const started = this.now();
    try {
      const r = reader();
      const offerings = await r.read(region);
      e.list = { cloud, region, offerings, source: r.source ?? cloud, pricedAt: new Date(started).toISOString(), stale: false };
      e.fetchedAt = started;
      this.log(`prices: ${cloud}/${region}: ${offerings.length} offerings from ${e.list.source}`);
      return e.list;
    } catch (err) {
      const at = this.now();
      e.retryAt = at + Math.min(PRICE_RETRY_BACKOFF_MS, this.refreshMs);
      if (!e.list) {
        this.log(`prices: ${cloud}/${region}: fetch failed, no price list yet: ${message(err)}`);
        throw err;
      }
      this.log(`prices: ${cloud}/${region}: refresh failed, serving the list priced at ${e.list.pricedAt}: ${message(err)}`);
      e.list = { ...e.list, stale: true, error: message(err) };
      return e.list;
    } finally {
      e.inflight = undefined;
    }
  }
}
