import type { CloudId } from '@skyweave/domain';

/** One instance type a cloud sells in a region, with its on-demand Linux price. */
export interface InstanceOffering {
  cloud: CloudId;
  region: string;
  /** The cloud's own name: `m6g.large`, `e2-standard-2`, `Standard_D2s_v5`, `s-2vcpu-4gb`. */
  instanceType: string;
  /** The type's family: `m6g`, `e2`, `Dsv5`, DigitalOcean the slug's class (`s`, `s-amd`, `g`, `c`, `m` …). */
  family: string;
  vcpu: number;
  memoryMiB: number;
  /** Kubernetes' names (`kubernetes.io/arch`). */
  architecture: 'amd64' | 'arm64';
  /** On-demand Linux, US dollars per hour (no discounts, savings plans, spot or commitments). */
  usdPerHour: number;
}

/** A cloud region's offerings as last read from the cloud's price API. */
export interface PriceList {
  cloud: CloudId;
  region: string;
  offerings: InstanceOffering[];
  /** What the prices were read from, e.g. `AWS Price List GetProducts`. */
  source: string;
  /** ISO time of the fetch these offerings come from. */
  pricedAt: string;
  /** True when the last refresh failed and these are the previous fetch's offerings. */
  stale: boolean;
  /** The last refresh's failure, when stale. */
  error?: string;
}

/** Reads one cloud's offerings in a region through the cloud's official client. One per credential set. */
export interface PriceReader {
  /** The name of the API read, as PriceList.source gives it. */
  readonly source?: string;
  /** Every offering of `region` the cloud's catalogue yields (sorted by instance type). @throws CloudError on cloud failures. */
  read(region: string): Promise<InstanceOffering[]>;
}

/** Rounds a computed price to 6 decimals (a millionth of a dollar: below any list price's precision that matters). */
export const roundUsd = (usd: number): number => Math.round(usd * 1e6) / 1e6;

export const byInstanceType = (a: InstanceOffering, b: InstanceOffering): number => a.instanceType.localeCompare(b.instanceType);
