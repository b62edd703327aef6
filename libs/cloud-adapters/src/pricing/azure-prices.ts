import { createDefaultHttpClient, createHttpHeaders, createPipelineFromOptions, createPipelineRequest, HttpClient, Pipeline } from '@azure/core-rest-pipeline';
import type { ComputeManagementClient } from '@azure/arm-compute';
import type { AzureCredentials, CloudEndpoints } from '../cloud-provider';
import { CloudError } from '../errors';
import { SDK_RETRY } from '../retry';
import { createAzureClients } from '../azure/azure-client';
import { toCloudError } from '../azure/azure-helpers';
import { byInstanceType, InstanceOffering, PriceReader, roundUsd } from './types';

/** The Retail Prices API's origin. */
export const AZURE_RETAIL_PRICES = 'https://prices.azure.com';
export const AZURE_RETAIL_API_VERSION = '2023-01-01-preview';
const MAX_PAGES = 500;

/** One Retail Prices row, the fields read. */
export interface RetailPriceItem {
  currencyCode?: string;
  retailPrice?: number;
  unitPrice?: number;
  armRegionName?: string;
  armSkuName?: string;
  productName?: string;
  skuName?: string;
  meterName?: string;
  serviceName?: string;
  unitOfMeasure?: string;
  type?: string;
  isPrimaryMeterRegion?: boolean;
  effectiveStartDate?: string;
}

/**
 * Whether a row is the on-demand Linux price of a VM size: Consumption, hourly, USD, primary meter region, not a
 * Windows product, not Spot or Low Priority (the query cannot exclude these: the API has no `not`).
 */
export function isLinuxOnDemand(i: RetailPriceItem): boolean {
  return i.serviceName === 'Virtual Machines' && i.type === 'Consumption' && i.unitOfMeasure === '1 Hour' && (i.currencyCode ?? 'USD') === 'USD'
    && i.isPrimaryMeterRegion !== false && !!i.armSkuName && !(i.productName ?? '').includes('Windows')
    && !/Spot|Low Priority/.test(`${i.skuName ?? ''} ${i.meterName ?? ''}`) && typeof i.retailPrice === 'number' && i.retailPrice > 0;
}

/** `Virtual Machines Dsv5 Series` → `Dsv5`; `Virtual Machines BS Series` → `BS`. */
export const azureFamily = (productName: string | undefined, armSkuName: string): string =>
  /^Virtual Machines (.+?) Series/.exec(productName ?? '')?.[1] ?? armSkuName.replace(/^Standard_/, '').replace(/\d.*$/, '');

/** Arm64 sizes carry a `p` among their feature letters (`Standard_D2ps_v5`, `Standard_E4pds_v5`), Azure's naming convention. */
export const azureArchitecture = (vmSize: string): 'amd64' | 'arm64' => (/^Standard_[A-Z]+\d+(-\d+)?[a-z]*p[a-z]*_v\d+$/.test(vmSize) ? 'arm64' : 'amd64');

/**
 * Azure: the Retail Prices API (`GET {retailPrices}/api/retail/prices?api-version=2023-01-01-preview&$filter=serviceName
 * eq 'Virtual Machines' and armRegionName eq '<region>' and priceType eq 'Consumption'`, unauthenticated, every page by
 * `NextPageLink` — only links on the same origin are followed) read with `@azure/core-rest-pipeline` (the SDK's retry
 * policies, retry.ts `SDK_RETRY`), Windows, Spot and Low Priority rows dropped; the sizes' vCPUs and memory from the
 * Compute API's `virtualMachineSizes.list(region)` (`@azure/arm-compute`, the adapter's ARM client). A size is offered
 * when both list it. Endpoint: `endpoints.azure.retailPrices`, else `endpoints.azure.arm` (the sandbox), else prices.azure.com.
 */
export class AzurePriceReader implements PriceReader {
  readonly source = 'Azure Retail Prices API + Compute virtualMachineSizes.list';
  private readonly compute: ComputeManagementClient;
  private readonly pipeline: Pipeline;
  private readonly http: HttpClient;
  private readonly base: string;

  constructor(credentials: AzureCredentials, endpoints: CloudEndpoints) {
    this.compute = createAzureClients(credentials, endpoints).compute;
    const az = endpoints.azure;
    this.base = az?.retailPrices ?? az?.arm ?? AZURE_RETAIL_PRICES;
    this.pipeline = createPipelineFromOptions({
      retryOptions: { maxRetries: SDK_RETRY.maxRetries, retryDelayInMs: SDK_RETRY.initialDelayMs, maxRetryDelayInMs: SDK_RETRY.maxDelayMs },
      ...(az?.caPem ? { tlsOptions: { ca: az.caPem } } : {}),
      userAgentOptions: { userAgentPrefix: 'skyweave-prices' },
    });
    this.http = createDefaultHttpClient();
  }

  /** Every on-demand Linux row of the region (all pages). */
  async retailPrices(region: string): Promise<RetailPriceItem[]> {
    if (!/^[a-z0-9]+$/.test(region)) throw new CloudError('InvalidRequest', 'azure', 'InvalidRegion', `not an Azure region name: ${JSON.stringify(region)}`);
    const first = new URL('/api/retail/prices', this.base);
    first.searchParams.set('api-version', AZURE_RETAIL_API_VERSION);
    first.searchParams.set('$filter', `serviceName eq 'Virtual Machines' and armRegionName eq '${region}' and priceType eq 'Consumption'`);
    const origin = first.origin;
    const rows: RetailPriceItem[] = [];
    let url: string | null = first.toString();
    for (let n = 0; n < MAX_PAGES && url; n++) {
      const req = createPipelineRequest({ url, method: 'GET', headers: createHttpHeaders({ accept: 'application/json' }), timeout: 30_000 });
      let body: { Items?: RetailPriceItem[]; NextPageLink?: string | null };
      try {
        const res = await this.pipeline.sendRequest(this.http, req);
        if (res.status !== 200) {
          let code = `http_${res.status}`;
          let message = res.bodyAsText ?? '';
          try {
            const e = JSON.parse(res.bodyAsText ?? '') as { Error?: { Code?: string; Message?: string } };
            code = e.Error?.Code ?? code;
            message = e.Error?.Message ?? message;
          } catch { /* not JSON */ }
          throw Object.assign(new Error(`Retail Prices API: ${message}`), { statusCode: res.status, code });
        }
        body = JSON.parse(res.bodyAsText ?? '{}') as typeof body;
      } catch (e) {
        throw toCloudError(e, 'Retail Prices API');
      }
      rows.push(...(body.Items ?? []).filter(isLinuxOnDemand));
      const next = body.NextPageLink ?? null;
      if (next && new URL(next).origin !== origin) throw new CloudError('Unavailable', 'azure', 'ForeignNextPageLink', `Retail Prices API: NextPageLink leaves ${origin}`);
      url = next;
    }
    if (url) throw new CloudError('Unavailable', 'azure', 'too_many_pages', `Retail Prices API did not end after ${MAX_PAGES} pages`);
    return rows;
  }

  async read(region: string): Promise<InstanceOffering[]> {
    const sizesP = (async () => {
      const out = [];
      try {
        for await (const s of this.compute.virtualMachineSizes.list(region)) out.push(s);
      } catch (e) {
        throw toCloudError(e, 'virtualMachineSizes.list');
      }
      return out;
    })();
    const [rows, sizes] = await Promise.all([this.retailPrices(region), sizesP]);
    // several rows for one size (a series renamed, a price change announced): the latest effective one, then the lowest
    const best = new Map<string, RetailPriceItem>();
    for (const r of rows) {
      const key = r.armSkuName!.toLowerCase();
      const prev = best.get(key);
      if (!prev || (r.effectiveStartDate ?? '') > (prev.effectiveStartDate ?? '') || ((r.effectiveStartDate ?? '') === (prev.effectiveStartDate ?? '') && r.retailPrice! < prev.retailPrice!)) best.set(key, r);
    }
    const out: InstanceOffering[] = [];
    for (const s of sizes) {
      const row = s.name ? best.get(s.name.toLowerCase()) : undefined;
      if (!row || !s.name || !s.numberOfCores || !s.memoryInMB) continue;
      out.push({
        cloud: 'azure', region, instanceType: s.name, family: azureFamily(row.productName, s.name), vcpu: s.numberOfCores, memoryMiB: s.memoryInMB,
        architecture: azureArchitecture(s.name), usdPerHour: roundUsd(row.retailPrice!),
      });
    }
    return out.sort(byInstanceType);
  }
}
