import * as https from 'node:https';
import { GetProductsCommand, GetProductsCommandInput, PricingClient } from '@aws-sdk/client-pricing';
import { CloudCatalogClient } from '@google-cloud/billing';
import { MachineTypesClient } from '@google-cloud/compute';
import { ComputeManagementClient } from '@azure/arm-compute';
import { ClientSecretCredential } from '@azure/identity';
import { createApiClient } from 'dots-wrapper';
import { createAuthClient } from '@skyweave/cloud-adapters/src/gcp/gcp-auth';
import { computeClientOptions } from '@skyweave/cloud-adapters/src/gcp/gcp-client';
import type { AwsCredentials, AzureCredentials, GcpCredentials } from '@skyweave/cloud-adapters';
import { startEmulator, RunningEmulator } from '../src/emulator';
import { INSTANCE_TYPES } from '../src/aws/catalog';
import { MACHINE_TYPES } from '../src/gcp/catalog';
import { VM_SIZES } from '../src/azure/virtual-machines';
import { SIZES } from '../src/digitalocean/catalog';
import { parseRetailFilter } from '../src/azure/retail-prices';

/**
 * The sandbox's price APIs on the wire, read with the official clients: AWS Price List GetProducts, GCP Cloud Billing
 * Catalog SKUs, Azure Retail Prices (and vmSizes), DigitalOcean /v2/sizes — paging, strict filters, refusals in the
 * clouds' shapes — and the admin price API.
 */
let emu: RunningEmulator;
let aws: AwsCredentials;
let gcp: GcpCredentials;
let azure: AzureCredentials;
let doToken: string;

beforeAll(async () => {
  emu = await startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, latency: { read: 0 } });
  const a = emu.modules.aws.createAccount();
  const g = emu.modules.gcp.createAccount();
  const z = emu.modules.azure.createAccount();
  const d = emu.modules.digitalocean.createAccount();
  if (a.cloud !== 'aws' || g.cloud !== 'gcp' || z.cloud !== 'azure' || d.cloud !== 'digitalocean') throw new Error('unexpected account');
  aws = a.aws;
  gcp = g.gcp;
  azure = z.azure;
  doToken = d.digitalocean.token;
});
afterAll(async () => {
  await emu?.close();
});
afterEach(async () => {
  await fetch(`${emu.adminUrl}/admin/prices`, { method: 'DELETE' });
});

const admin = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${emu.adminUrl}${path}`, { method, ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: res.status === 204 ? undefined : ((await res.json()) as Record<string, unknown>) };
};

describe('AWS Price List Query API', () => {
  const client = () => new PricingClient({ region: 'us-east-1', endpoint: emu.endpoints.awsPricing, credentials: aws, maxAttempts: 1 });
  const linux = (region: string): GetProductsCommandInput['Filters'] => Object.entries({ regionCode: region, operatingSystem: 'Linux', tenancy: 'Shared', preInstalledSw: 'NA', capacitystatus: 'Used' })
    .map(([Field, Value]) => ({ Type: 'TERM_MATCH', Field, Value }));
  const all = async (input: GetProductsCommandInput) => {
    const out: string[] = [];
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const r = await client().send(new GetProductsCommand({ ...input, NextToken }));
      expect(r.FormatVersion).toBe('aws_v1');
      out.push(...(r.PriceList ?? []).map(String));
      NextToken = r.NextToken;
      pages++;
    } while (NextToken);
    return { out, pages };
  };

  it('answers JSON-string products with the real attributes and OnDemand terms, paged by MaxResults/NextToken', async () => {
    const { out, pages } = await all({ ServiceCode: 'AmazonEC2', Filters: linux('us-east-1'), FormatVersion: 'aws_v1', MaxResults: 20 });
    expect(out.length).toBe(INSTANCE_TYPES.size);
    expect(pages).toBe(Math.ceil(INSTANCE_TYPES.size / 20));
    const docs = out.map((s) => JSON.parse(s) as { product: { sku: string; attributes: Record<string, string> }; terms: { OnDemand: Record<string, { priceDimensions: Record<string, { unit: string; pricePerUnit: { USD: string } }> }> } });
    const m5 = docs.find((d) => d.product.attributes.instanceType === 'm5.large')!;
    expect(m5.product.attributes).toMatchObject({ vcpu: '2', memory: '8 GiB', regionCode: 'us-east-1', location: 'US East (N. Virginia)', operatingSystem: 'Linux', tenancy: 'Shared', processorArchitecture: '64-bit', usagetype: 'BoxUsage:m5.large' });
    const dims = Object.values(Object.values(m5.terms.OnDemand)[0].priceDimensions);
    expect(dims).toEqual([expect.objectContaining({ unit: 'Hrs', pricePerUnit: { USD: '0.0960000000' } })]);
    expect(new Set(docs.map((d) => d.product.sku)).size).toBe(docs.length);
  });

  it('applies every filter strictly', async () => {
    const windows = await all({ ServiceCode: 'AmazonEC2', Filters: [...linux('eu-west-1')!.filter((f) => f.Field !== 'operatingSystem'), { Type: 'TERM_MATCH', Field: 'operatingSystem', Value: 'Windows' }] });
    expect(windows.out.length).toBeGreaterThan(0);
    expect(windows.out.every((s) => s.includes('"operatingSystem":"Windows"') && s.includes('"regionCode":"eu-west-1"'))).toBe(true);
    const unfiltered = await all({ ServiceCode: 'AmazonEC2', Filters: [{ Type: 'TERM_MATCH', Field: 'regionCode', Value: 'us-east-1' }, { Type: 'TERM_MATCH', Field: 'instanceType', Value: 'm5.large' }] });
    expect(unfiltered.out.length).toBe(5); // Linux, its two capacity-reservation rows, dedicated, Windows
    expect((await all({ ServiceCode: 'AmazonEC2', Filters: [{ Type: 'TERM_MATCH', Field: 'noSuchAttribute', Value: 'x' }] })).out).toEqual([]);
    expect((await all({ ServiceCode: 'AmazonEC2', Filters: [{ Type: 'TERM_MATCH', Field: 'operatingSystem', Value: 'linux' }] })).out).toEqual([]);
  });

  it('refuses what it does not serve in the API\'s own errors', async () => {
    await expect(client().send(new GetProductsCommand({ ServiceCode: 'AmazonEC2', Filters: [{ Type: 'CONTAINS' as 'TERM_MATCH', Field: 'instanceType', Value: 'm5' }] }))).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(client().send(new GetProductsCommand({ ServiceCode: 'AmazonEC2', MaxResults: 101 }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(client().send(new GetProductsCommand({ ServiceCode: 'AmazonEC2', NextToken: 'bm9wZQ==' }))).rejects.toMatchObject({ name: 'InvalidNextTokenException' });
    await expect(client().send(new GetProductsCommand({ ServiceCode: 'AmazonEC2', FormatVersion: 'aws_v2' }))).rejects.toMatchObject({ name: 'InvalidParameterException' });
    const stranger = new PricingClient({ region: 'us-east-1', endpoint: emu.endpoints.awsPricing, credentials: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x'.repeat(40) }, maxAttempts: 1 });
    await expect(stranger.send(new GetProductsCommand({ ServiceCode: 'AmazonEC2' }))).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
    const wrongSecret = new PricingClient({ region: 'us-east-1', endpoint: emu.endpoints.awsPricing, credentials: { ...aws, secretAccessKey: 'y'.repeat(40) }, maxAttempts: 1 });
    await expect(wrongSecret.send(new GetProductsCommand({ ServiceCode: 'AmazonEC2' }))).rejects.toMatchObject({ name: 'InvalidSignatureException' });
  });
});

describe('GCP Cloud Billing Catalog API and machine types', () => {
  // the adapter's service-account JWT client (gcp-auth.ts): the billing client signs self-signed JWTs with it, as on Google
  const catalog = () => {
    const url = new URL(emu.endpoints.gcpBilling!);
    return new CloudCatalogClient({ fallback: true, authClient: createAuthClient(gcp, emu.endpoints), apiEndpoint: url.hostname, port: Number(url.port), protocol: 'http' } as ConstructorParameters<typeof CloudCatalogClient>[0]);
  };

  it('lists Compute Engine\'s SKUs in pages, with categories, regions and USD unit prices', async () => {
    const c = catalog();
    const seen: { description?: string | null; category?: { resourceGroup?: string | null; usageType?: string | null } | null; serviceRegions?: string[] | null; pricingInfo?: unknown[] | null }[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const [skus, , res] = await c.listSkus({ parent: 'services/6F81-5844-456A', pageSize: 50, ...(pageToken ? { pageToken } : {}) }, { autoPaginate: false });
      expect(skus.length).toBeLessThanOrEqual(50);
      seen.push(...skus);
      pageToken = res?.nextPageToken || undefined;
      pages++;
    } while (pageToken);
    expect(pages).toBeGreaterThan(2);
    const e2Core = seen.find((s) => s.description === 'E2 Instance Core running in Americas')!;
    expect(e2Core).toMatchObject({ category: { serviceDisplayName: 'Compute Engine', resourceFamily: 'Compute', resourceGroup: 'CPU', usageType: 'OnDemand' }, serviceRegions: ['us-central1', 'us-east1', 'us-west1'] });
    expect(JSON.stringify(e2Core.pricingInfo)).toContain('"usageUnit":"h"');
    const n1Ram = seen.find((s) => s.description === 'N1 Predefined Instance Ram running in Virginia')!;
    expect(n1Ram.category).toMatchObject({ resourceGroup: 'N1Standard', usageType: 'OnDemand' });
    expect(seen.some((s) => s.category?.usageType === 'Preemptible')).toBe(true);
    const [services] = await c.listServices({});
    expect(services.map((s) => s.displayName)).toContain('Compute Engine');
    await expect(c.listSkus({ parent: 'services/0000-0000-0000' }, { autoPaginate: false })).rejects.toMatchObject({ code: 404 });
  });

  it('refuses an unauthenticated caller', async () => {
    const res = await fetch(`${emu.endpoints.gcpBilling}/v1/services/6F81-5844-456A/skus`);
    expect(res.status).toBe(401);
  });

  it('serves machineTypes.list with vCPUs, memory and architecture', async () => {
    const mt = new MachineTypesClient(computeClientOptions(gcp, emu.endpoints));
    const [types] = await mt.list({ project: gcp.project_id, zone: 'us-central1-a' });
    expect(types.length).toBe(Object.keys(MACHINE_TYPES).length);
    expect(types.find((t) => t.name === 't2a-standard-4')).toMatchObject({ guestCpus: 4, memoryMb: 16384, architecture: 'ARM64' });
    expect(types.find((t) => t.name === 'e2-micro')).toMatchObject({ guestCpus: 2, memoryMb: 1024, isSharedCpu: true });
  });
});

describe('Azure Retail Prices API and vmSizes', () => {
  const get = (pathOrUrl: string): Promise<{ status: number; body: Record<string, unknown> }> => new Promise((resolve, reject) => {
    const u = new URL(pathOrUrl, emu.endpoints.azure!.retailPrices);
    https.get(u, { ca: emu.endpoints.azure!.caPem }, (res) => {
      let data = '';
      res.on('data', (c: Buffer) => (data += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) as Record<string, unknown> }));
    }).on('error', reject);
  });
  const q = (filter: string) => `/api/retail/prices?api-version=2023-01-01-preview&$filter=${encodeURIComponent(filter)}`;

  it('answers the real envelope, unauthenticated, and pages by NextPageLink', async () => {
    let next: string | null = q("serviceName eq 'Virtual Machines' and armRegionName eq 'eastus'");
    const items: Record<string, unknown>[] = [];
    let pages = 0;
    while (next) {
      const r = await get(next);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ BillingCurrency: 'USD', CustomerEntityId: 'Default', CustomerEntityType: 'Retail' });
      const page = r.body.Items as Record<string, unknown>[];
      expect(r.body.Count).toBe(page.length);
      expect(page.length).toBeLessThanOrEqual(100);
      items.push(...page);
      next = r.body.NextPageLink as string | null;
      pages++;
    }
    expect(pages).toBeGreaterThan(2);
    const d2 = items.filter((i) => i.armSkuName === 'Standard_D2s_v5');
    expect(d2.map((i) => `${String(i.productName)} | ${String(i.skuName)} | ${String(i.type)}`).sort()).toEqual([
      'Virtual Machines Dsv5 Series Windows | D2s v5 Spot | Consumption',
      'Virtual Machines Dsv5 Series Windows | D2s v5 | Consumption',
      'Virtual Machines Dsv5 Series | D2s v5 Low Priority | Consumption',
      'Virtual Machines Dsv5 Series | D2s v5 Spot | Consumption',
      'Virtual Machines Dsv5 Series | D2s v5 | Consumption',
      'Virtual Machines Dsv5 Series | D2s v5 | Reservation',
    ].sort());
    expect(d2.find((i) => i.skuName === 'D2s v5' && i.type === 'Consumption' && !String(i.productName).includes('Windows'))).toMatchObject({
      currencyCode: 'USD', retailPrice: 0.096, unitPrice: 0.096, armRegionName: 'eastus', location: 'US East', serviceName: 'Virtual Machines', serviceFamily: 'Compute', unitOfMeasure: '1 Hour', isPrimaryMeterRegion: true,
    });
  });

  it('applies eq, and, contains() and priceType; refuses other OData with 400', async () => {
    const r = await get(q("armRegionName eq 'westeurope' and priceType eq 'Consumption' and contains(armSkuName, 'ps_v5')"));
    const items = r.body.Items as { armSkuName: string; type: string; armRegionName: string }[];
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((i) => i.armSkuName.includes('ps_v5') && i.type === 'Consumption' && i.armRegionName === 'westeurope')).toBe(true);
    for (const bad of ["armRegionName eq 'eastus' or armRegionName eq 'westus'", "armRegionName ne 'eastus'", "not(contains(productName, 'Windows'))", "nosuch eq 'x'", "armRegionName eq"]) {
      const res = await get(q(bad));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ Error: { Code: 'BadRequest', Message: expect.stringMatching(/^Invalid OData parameters supplied/) } });
    }
    expect(parseRetailFilter("skuName eq 'O''Brien' and isPrimaryMeterRegion eq true")).toEqual([
      { op: 'eq', field: 'skuName', value: "O'Brien" }, { op: 'eq', field: 'isPrimaryMeterRegion', value: true },
    ]);
  });

  it('serves virtualMachineSizes.list to @azure/arm-compute', async () => {
    const az = emu.endpoints.azure!;
    const credential = new ClientSecretCredential(azure.tenantId, azure.clientId, azure.clientSecret, { authorityHost: az.authorityHost, disableInstanceDiscovery: true, tlsOptions: { ca: az.caPem } } as ConstructorParameters<typeof ClientSecretCredential>[3]);
    const compute = new ComputeManagementClient(credential, azure.subscriptionId, { endpoint: az.arm, tlsOptions: { ca: az.caPem }, credentials: { scopes: ['https://management.azure.com/.default'] } } as ConstructorParameters<typeof ComputeManagementClient>[2]);
    const sizes = [];
    for await (const s of compute.virtualMachineSizes.list('eastus')) sizes.push(s);
    expect(sizes.length).toBe(Object.keys(VM_SIZES).length);
    expect(sizes.find((s) => s.name === 'Standard_B2s')).toMatchObject({ numberOfCores: 2, memoryInMB: 4096 });
  });
});

describe('DigitalOcean /v2/sizes', () => {
  it('pages through every size with prices, regions and descriptions', async () => {
    const api = createApiClient({ token: doToken, endpoint: emu.endpoints.digitalocean });
    const sizes = [];
    let page = 1;
    for (;;) {
      const { data } = await api.size.listSizes({ page, per_page: 20 });
      sizes.push(...data.sizes);
      if (!(data as { links?: { pages?: { next?: string } } }).links?.pages?.next) break;
      page++;
    }
    expect(sizes.length).toBe(SIZES.length);
    expect(sizes.length).toBeGreaterThanOrEqual(50);
    expect(sizes.find((s) => s.slug === 's-2vcpu-4gb')).toMatchObject({ vcpus: 2, memory: 4096, disk: 80, price_monthly: 24, price_hourly: 0.03571, available: true, description: 'Basic' });
  });
});

describe('admin price API', () => {
  it('lists effective prices per cloud and region', async () => {
    const r = await admin('GET', '/admin/prices?cloud=aws&region=eu-central-1');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ cloud: 'aws', region: 'eu-central-1', referenceRegion: 'us-east-1', count: INSTANCE_TYPES.size });
    for (const [cloud, n] of [['gcp', Object.keys(MACHINE_TYPES).length], ['azure', Object.keys(VM_SIZES).length], ['digitalocean', SIZES.length]] as const) {
      const l = await admin('GET', `/admin/prices?cloud=${cloud}`);
      expect(l.body?.count).toBe(n);
      expect(n).toBeGreaterThanOrEqual(50);
    }
  });

  it('changes a price (a region, or the reference region that the others follow) and resets', async () => {
    const one = await admin('PUT', '/admin/prices', { cloud: 'aws', region: 'us-west-2', instanceType: 't3.medium', usdPerHour: 0.05 });
    expect(one).toEqual({ status: 200, body: { cloud: 'aws', changed: [{ region: 'us-west-2', instanceType: 't3.medium', usdPerHour: 0.05, overridden: true }] } });
    const ref = await admin('PUT', '/admin/prices', { cloud: 'aws', instanceType: 'm5.large', usdPerHour: 0.2 });
    const changed = ref.body?.changed as { region: string; usdPerHour: number }[];
    expect(changed.find((c) => c.region === 'us-east-1')?.usdPerHour).toBe(0.2);
    expect(changed.find((c) => c.region === 'ap-southeast-1')?.usdPerHour).toBe(0.25);
    expect((await admin('DELETE', '/admin/prices?cloud=aws')).status).toBe(204);
    const after = (await admin('GET', '/admin/prices?cloud=aws')).body?.prices as { instanceType: string; usdPerHour: number; overridden: boolean }[];
    expect(after.find((p) => p.instanceType === 'm5.large')).toMatchObject({ usdPerHour: 0.096, overridden: false });
  });

  it('refuses bad changes as problems naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ cloud: 'aws', instanceType: 'x9.huge', usdPerHour: 1 }, 'instanceType'],
      [{ cloud: 'aws', region: 'mars-1', instanceType: 'm5.large', usdPerHour: 1 }, 'region'],
      [{ cloud: 'gcp', instanceType: 'e2-standard-2', usdPerHour: -1 }, 'usdPerHour'],
      [{ cloud: 'digitalocean', region: 'nyc3', instanceType: 's-1vcpu-1gb', usdPerHour: 1 }, 'region'],
      [{ cloud: 'azure', instanceType: 'Standard_B2s', usdPerHour: 1, extra: true }, 'extra'],
      [{ cloud: 'ibm', instanceType: 'bx2-2x8', usdPerHour: 1 }, 'cloud'],
    ];
    for (const [body, field] of cases) {
      const r = await admin('PUT', '/admin/prices', body);
      expect(r.status).toBe(400);
      expect((r.body?.['invalid-params'] as { name: string }[])[0].name).toBe(field);
    }
    expect((await admin('GET', '/admin/prices')).status).toBe(400);
  });

  it('every priced type is one the cloud launches', async () => {
    const priced = async (cloud: string) => ((await admin('GET', `/admin/prices?cloud=${cloud}`)).body?.prices as { instanceType: string }[]).map((p) => p.instanceType);
    expect((await priced('aws')).every((t) => INSTANCE_TYPES.has(t))).toBe(true);
    expect((await priced('gcp')).every((t) => MACHINE_TYPES[t] !== undefined)).toBe(true);
    expect((await priced('azure')).every((t) => VM_SIZES[t] !== undefined)).toBe(true);
    expect((await priced('digitalocean')).every((t) => SIZES.some((s) => s.slug === t))).toBe(true);
  });
});
