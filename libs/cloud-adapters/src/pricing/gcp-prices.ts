import { CloudCatalogClient } from '@google-cloud/billing';
import { MachineTypesClient, RegionsClient } from '@google-cloud/compute';
import type { CloudEndpoints, GcpCredentials } from '../cloud-provider';
import { recordCloudRetry } from '../metrics';
import { CLOUD_CALL, withRetry } from '../retry';
import { computeClientOptions, NO_GAX_RETRY } from '../gcp/gcp-client';
import { createAuthClient } from '../gcp/gcp-auth';
import { toCloudError } from '../gcp/gcp-errors';
import { byInstanceType, InstanceOffering, PriceReader, roundUsd } from './types';

/** Compute Engine's service in the Cloud Billing Catalog. */
export const COMPUTE_ENGINE_SERVICE = 'services/6F81-5844-456A';

/**
 * The SKU description of each machine family's on-demand core and RAM ("E2 Instance Core running in Americas", "N1
 * Predefined Instance Ram running in Virginia", …). Families not listed here (custom types, GPUs, sole tenancy, f1/g1,
 * m*, a*) are not offered: their price is not vCPU × core + GiB × RAM of a SKU pair this reader knows.
 */
export const GCP_FAMILY_SKUS: Readonly<Record<string, string>> = {
  e2: 'E2 Instance',
  n1: 'N1 Predefined Instance',
  n2: 'N2 Instance',
  n2d: 'N2D AMD Instance',
  n4: 'N4 Instance',
  c3: 'C3 Instance',
  c3d: 'C3D Instance',
  c4: 'C4 Instance',
  c4a: 'C4A Instance',
  t2d: 'T2D AMD Instance',
  t2a: 'T2A Arm Instance',
};

/** vCPUs billed for shared-core types (cloud.google.com/compute/vm-instance-pricing): not their `guestCpus`. */
export const GCP_SHARED_CORE_VCPUS: Readonly<Record<string, number>> = { 'e2-micro': 0.25, 'e2-small': 0.5, 'e2-medium': 1 };

/** The Arm families, for machine types whose `architecture` the API leaves unset. */
const ARM_FAMILIES = new Set(['t2a', 'c4a']);

/** The parts of a SKU this reader uses (google.cloud.billing.v1.ISku). */
export interface SkuLike {
  description?: string | null;
  category?: { resourceFamily?: string | null; usageType?: string | null } | null;
  serviceRegions?: string[] | null;
  pricingInfo?: { pricingExpression?: { usageUnit?: string | null; tieredRates?: { startUsageAmount?: number | null; unitPrice?: { currencyCode?: string | null; units?: unknown; nanos?: number | null } | null }[] | null } | null }[] | null;
}

/** The USD price per unit of a SKU's first tier, if its unit is `unit`. */
function unitPrice(sku: SkuLike, unit: string): number | undefined {
  const expr = sku.pricingInfo?.[0]?.pricingExpression;
  if (expr?.usageUnit !== unit) return undefined;
  const tier = (expr.tieredRates ?? []).find((t) => !t.startUsageAmount) ?? expr.tieredRates?.[0];
  const p = tier?.unitPrice;
  if (!p || (p.currencyCode ?? 'USD') !== 'USD') return undefined;
  return Number(String(p.units ?? '0')) + (p.nanos ?? 0) / 1e9;
}

/**
 * The per-vCPU-hour and per-GiB-hour on-demand prices of each family in `region`: SKUs of resource family Compute,
 * usage type OnDemand, whose serviceRegions hold the region and whose description is `<family> Core|Ram running in …`.
 */
export function familyRates(skus: readonly SkuLike[], region: string): Map<string, { core?: number; ram?: number }> {
  const rates = new Map<string, { core?: number; ram?: number }>();
  for (const sku of skus) {
    if (sku.category?.resourceFamily !== 'Compute' || sku.category.usageType !== 'OnDemand' || !sku.serviceRegions?.includes(region)) continue;
    for (const [family, prefix] of Object.entries(GCP_FAMILY_SKUS)) {
      const m = new RegExp(`^${prefix} (Core|Ram) running in `).exec(sku.description ?? '');
      if (!m) continue;
      const r = rates.get(family) ?? {};
      if (m[1] === 'Core') r.core = unitPrice(sku, 'h');
      else r.ram = unitPrice(sku, 'GiBy.h');
      rates.set(family, r);
    }
  }
  return rates;
}

/**
 * GCP: Compute Engine's SKUs from the Cloud Billing Catalog API (`services.skus.list` on `@google-cloud/billing`'s
 * CloudCatalogClient over REST, every page) and the region's machine types from Compute's `machineTypes.list` in the
 * region's first zone (`regions.get`): the machine types are what the project can launch there, with their vCPUs, memory
 * and architecture; the SKUs price them. Price = vCPUs (the billed fraction for shared-core E2 types) × the family's
 * core SKU + memory in GiB × its RAM SKU. Both clients authenticate with the service account (gcp-auth.ts) and point at
 * `endpoints.gcpBilling` (else `endpoints.gcp`) / `endpoints.gcp`. Each call is retried with retry.ts `CLOUD_CALL`.
 */
export class GcpPriceReader implements PriceReader {
  readonly source = 'GCP Cloud Billing Catalog services.skus.list + Compute machineTypes.list';
  private readonly catalog: CloudCatalogClient;
  private readonly machineTypes: MachineTypesClient;
  private readonly regions: RegionsClient;
  private readonly project: string;

  constructor(credentials: GcpCredentials, endpoints: CloudEndpoints) {
    // google-gax's own retry off for these services too (CLOUD_CALL is the one retry), as gcp-client.ts does for the adapter's
    const noGaxRetry = (service: string) => [`google.cloud.compute.v1.${service}`, { retry_codes: { skyweave_none: [] as string[] }, methods: { Get: { retry_codes_name: 'skyweave_none' }, List: { retry_codes_name: 'skyweave_none' } } }];
    const computeOpts = { ...computeClientOptions(credentials, endpoints), clientConfig: { interfaces: { ...NO_GAX_RETRY.interfaces, ...Object.fromEntries([noGaxRetry('MachineTypes'), noGaxRetry('Regions')]) } } };
    this.machineTypes = new MachineTypesClient(computeOpts);
    this.regions = new RegionsClient(computeOpts);
    const base = endpoints.gcpBilling ?? endpoints.gcp;
    const url = base ? new URL(base) : undefined;
    this.catalog = new CloudCatalogClient({
      fallback: true,
      authClient: createAuthClient(credentials, endpoints),
      ...(url ? { apiEndpoint: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)), protocol: url.protocol.replace(/:$/, '') } : {}),
    } as ConstructorParameters<typeof CloudCatalogClient>[0]);
    this.project = credentials.project_id;
  }

  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(CLOUD_CALL, async () => {
      try {
        return await fn();
      } catch (e) {
        throw toCloudError(e, what);
      }
    }, { onRetry: ({ error }) => recordCloudRetry('gcp', error, what) });
  }

  /** Every Compute Engine SKU (all pages). */
  async skus(): Promise<SkuLike[]> {
    const out: SkuLike[] = [];
    let pageToken: string | undefined;
    for (let n = 0; n < 100; n++) {
      const [page, , response] = await this.call('skus.list', () => this.catalog.listSkus({ parent: COMPUTE_ENGINE_SERVICE, pageSize: 5000, currencyCode: 'USD', ...(pageToken ? { pageToken } : {}) }, { autoPaginate: false }));
      out.push(...(page as SkuLike[]));
      pageToken = response?.nextPageToken ?? undefined;
      if (!pageToken) return out;
    }
    throw toCloudError(new Error('skus.list did not end after 100 pages'), 'skus.list');
  }

  async read(region: string): Promise<InstanceOffering[]> {
    const [skus, zone] = await Promise.all([
      this.skus(),
      this.call('regions.get', () => this.regions.get({ project: this.project, region })).then(([r]) => {
        const first = (r.zones ?? []).map((z) => z.split('/').pop() ?? '').filter(Boolean).sort()[0];
        if (!first) throw toCloudError(new Error(`region ${region} has no zones`), 'regions.get');
        return first;
      }),
    ]);
    const [types] = await this.call('machineTypes.list', () => this.machineTypes.list({ project: this.project, zone }));
    const rates = familyRates(skus, region);
    const out: InstanceOffering[] = [];
    for (const t of types) {
      const name = t.name ?? '';
      const family = name.split('-')[0];
      const r = rates.get(family);
      const vcpu = Number(t.guestCpus ?? 0);
      const memoryMiB = Number(t.memoryMb ?? 0);
      if (!r || r.core === undefined || r.ram === undefined || vcpu <= 0 || memoryMiB <= 0) continue;
      const billedVcpu = GCP_SHARED_CORE_VCPUS[name] ?? vcpu;
      const arch = String(t.architecture ?? '');
      out.push({
        cloud: 'gcp', region, instanceType: name, family, vcpu, memoryMiB,
        architecture: arch === 'ARM64' || (arch !== 'X86_64' && ARM_FAMILIES.has(family)) ? 'arm64' : 'amd64',
        usdPerHour: roundUsd(billedVcpu * r.core + (memoryMiB / 1024) * r.ram),
      });
    }
    return out.sort(byInstanceType);
  }
}
