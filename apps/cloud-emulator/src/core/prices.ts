/**
 * The sandbox's instance prices (on-demand Linux, USD per hour) and their admin overrides, shared by the four clouds'
 * price APIs (aws/pricing.ts, gcp/billing.ts, azure/retail-prices.ts, digitalocean `GET /v2/sizes`).
 *
 * Each cloud has a list price per priced item in a reference region and a factor per region (catalogues). An admin
 * override (`PUT /admin/prices`) replaces the list price either in one region (exactly that price there) or in the
 * reference region (then every region without its own override follows with its factor). Overrides live in the
 * emulator instance (one `PriceOverrides` per cloud module), never in the shared catalogues.
 */

/** One effective price, as `GET /admin/prices` lists it. */
export interface PriceEntry {
  region: string;
  instanceType: string;
  usdPerHour: number;
  /** True when an admin override decides it (in this region or in the reference region). */
  overridden: boolean;
}

/** What an admin price change did, or why it was refused (`field`: the offending body field). */
export type PriceChange = { ok: true; changed: PriceEntry[]; note?: string } | { ok: false; field: string; detail: string };

/** A cloud module's side of the admin price API. */
export interface PriceAdmin {
  /** The reference region of the cloud's list prices (`us-east-1`, `us-central1`, `eastus`, DigitalOcean: none → `''`). */
  readonly referenceRegion: string;
  /** Every priced instance type's effective price in `region` (default the reference region). Undefined: unknown region. */
  list(region?: string): PriceEntry[] | undefined;
  /** Sets `instanceType`'s price in `region` (absent: the reference region, which other regions follow). */
  set(change: { region?: string; instanceType: string; usdPerHour: number }): PriceChange;
  /** Drops every override. */
  reset(): void;
}

/** Rounds a price the way list prices are written (at most 6 decimals; AWS pads to 10, GCP carries nanos). */
export const roundPrice = (usd: number): number => Math.round(usd * 1e6) / 1e6;

/** Overrides of one cloud: by key (an instance type, or for GCP a SKU), in the reference region (`''`) or one region. */
export class PriceOverrides {
  private readonly byKey = new Map<string, Map<string, number>>();

  /** Sets the price of `key` in `region` (`''` = the reference price every region follows with its factor). */
  set(key: string, region: string, usd: number): void {
    let m = this.byKey.get(key);
    if (!m) this.byKey.set(key, (m = new Map()));
    m.set(region, usd);
  }

  /**
   * The effective price of `key` in `region`: its regional override, else the reference override × factor, else
   * the list price × factor. `overridden` says whether an override decided it.
   */
  price(key: string, region: string, listPrice: number, factor: number): { usd: number; overridden: boolean } {
    const m = this.byKey.get(key);
    const regional = m?.get(region);
    if (regional !== undefined) return { usd: regional, overridden: true };
    const base = m?.get('');
    if (base !== undefined) return { usd: roundPrice(base * factor), overridden: true };
    return { usd: roundPrice(listPrice * factor), overridden: false };
  }

  clear(): void {
    this.byKey.clear();
  }
}

/** The check every cloud applies to `usdPerHour`: a finite number, 0 < usd ≤ 1000. */
export function checkUsd(usd: number): PriceChange | undefined {
  if (!Number.isFinite(usd) || usd <= 0 || usd > 1000) return { ok: false, field: 'usdPerHour', detail: `usdPerHour must be a number of US dollars per hour, 0 < usdPerHour ≤ 1000 (got ${JSON.stringify(usd)})` };
  return undefined;
}
