import { createPriceReader, createPriceReaderFor, InstanceOffering, PriceCatalogue, PriceReader } from '@skyweave/cloud-adapters';
import type { CloudId } from '@skyweave/domain';
import { startEmulator, RunningEmulator } from '../src/emulator';

/**
 * The price readers of libs/cloud-adapters/src/pricing, each on its cloud's official client over HTTP to a started
 * sandbox: what they read (types, sizes, architectures, prices), that they follow every page, that an admin price
 * change is what the next read sees, and a failure surfacing as a CloudError.
 */
let emu: RunningEmulator;
const readers = {} as Record<CloudId, PriceReader>;

beforeAll(async () => {
  emu = await startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, latency: { read: 0 } });
  for (const cloud of ['aws', 'gcp', 'azure', 'digitalocean'] as CloudId[]) readers[cloud] = createPriceReaderFor(emu.modules[cloud].createAccount(), emu.endpoints);
});
afterAll(async () => {
  await emu?.close();
});
afterEach(async () => {
  await fetch(`${emu.adminUrl}/admin/prices`, { method: 'DELETE' });
  emu.faults.clear();
});

const setPrice = async (body: Record<string, unknown>) => {
  const res = await fetch(`${emu.adminUrl}/admin/prices`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return (await res.json()) as { changed: { region: string; instanceType: string; usdPerHour: number }[]; note?: string };
};
const find = (list: InstanceOffering[], type: string) => {
  const o = list.find((x) => x.instanceType === type);
  if (!o) throw new Error(`${type} not offered`);
  return o;
};
const adminPrices = async (cloud: CloudId, region?: string) =>
  ((await (await fetch(`${emu.adminUrl}/admin/prices?cloud=${cloud}${region ? `&region=${region}` : ''}`)).json()) as { prices: { instanceType: string; usdPerHour: number }[] }).prices;

describe('AWS: Price List GetProducts through @aws-sdk/client-pricing', () => {
  it('reads every on-demand Linux type of the region (all pages), with Graviton as arm64', async () => {
    const list = await readers.aws.read('us-east-1');
    expect(list.length).toBeGreaterThanOrEqual(50);
    expect(find(list, 'm5.large')).toEqual({ cloud: 'aws', region: 'us-east-1', instanceType: 'm5.large', family: 'm5', vcpu: 2, memoryMiB: 8192, architecture: 'amd64', usdPerHour: 0.096 });
    expect(find(list, 't3.medium')).toMatchObject({ vcpu: 2, memoryMiB: 4096, usdPerHour: 0.0416 });
    expect(find(list, 'm6g.large')).toMatchObject({ architecture: 'arm64', usdPerHour: 0.077 });
    expect(find(list, 't4g.nano')).toMatchObject({ architecture: 'arm64', memoryMiB: 512 });
    // exactly the admin list, type for type: no Windows, dedicated or reservation row slipped in
    const admin = await adminPrices('aws');
    expect(list.map((o) => [o.instanceType, o.usdPerHour]).sort()).toEqual(admin.map((p) => [p.instanceType, p.usdPerHour]).sort());
  });

  it('prices another region by its factor, and sees an admin change on the next read', async () => {
    const eu = await readers.aws.read('eu-west-1');
    expect(find(eu, 'm5.large').usdPerHour).toBeCloseTo(0.107, 3);
    await setPrice({ cloud: 'aws', region: 'eu-west-1', instanceType: 'm5.large', usdPerHour: 0.5 });
    expect(find(await readers.aws.read('eu-west-1'), 'm5.large').usdPerHour).toBe(0.5);
    expect(find(await readers.aws.read('us-east-1'), 'm5.large').usdPerHour).toBe(0.096);
  });

  it('an unknown region has no offerings; a throttled API surfaces as a CloudError after the SDK retries', async () => {
    expect(await readers.aws.read('xx-nowhere-1')).toEqual([]);
    emu.faults.arm({ cloud: 'aws', op: 'read', kind: 'throttle', count: 3 });
    await expect(readers.aws.read('us-east-1')).rejects.toMatchObject({ kind: 'Throttled', cloud: 'aws' });
  });
});

describe('GCP: Cloud Billing Catalog SKUs through @google-cloud/billing, machine types through @google-cloud/compute', () => {
  it('prices each machine type as vCPUs × core SKU + GiB × RAM SKU', async () => {
    const list = await readers.gcp.read('us-central1');
    expect(list.length).toBeGreaterThanOrEqual(50);
    expect(find(list, 'e2-standard-2')).toEqual({ cloud: 'gcp', region: 'us-central1', instanceType: 'e2-standard-2', family: 'e2', vcpu: 2, memoryMiB: 8192, architecture: 'amd64', usdPerHour: 0.067006 });
    expect(find(list, 'e2-micro').usdPerHour).toBeCloseTo(0.25 * 0.021811 + 1 * 0.002923, 6); // shared core: a quarter vCPU billed
    expect(find(list, 't2a-standard-1')).toMatchObject({ architecture: 'arm64', usdPerHour: 0.0385 });
    const admin = await adminPrices('gcp');
    for (const p of admin) expect(find(list, p.instanceType).usdPerHour).toBeCloseTo(p.usdPerHour, 5);
  });

  it('a region in another price location costs more; an admin change scales the family there', async () => {
    const base = find(await readers.gcp.read('us-east4'), 'n2-standard-4').usdPerHour;
    expect(base).toBeGreaterThan(find(await readers.gcp.read('us-central1'), 'n2-standard-4').usdPerHour);
    const r = await setPrice({ cloud: 'gcp', region: 'us-east4', instanceType: 'n2-standard-4', usdPerHour: 0.3 });
    expect(r.note).toMatch(/core and RAM SKUs/);
    const after = await readers.gcp.read('us-east4');
    expect(find(after, 'n2-standard-4').usdPerHour).toBeCloseTo(0.3, 5);
    expect(find(after, 'n2-standard-8').usdPerHour).toBeCloseTo(0.6, 5); // the family moved in proportion
  });
});

describe('Azure: Retail Prices API through @azure/core-rest-pipeline, sizes through @azure/arm-compute', () => {
  it('reads the Linux on-demand price of every size, leaving out Windows, Spot and Low Priority rows', async () => {
    const list = await readers.azure.read('eastus');
    expect(list.length).toBeGreaterThanOrEqual(50);
    expect(find(list, 'Standard_D2s_v5')).toEqual({ cloud: 'azure', region: 'eastus', instanceType: 'Standard_D2s_v5', family: 'Dsv5', vcpu: 2, memoryMiB: 8192, architecture: 'amd64', usdPerHour: 0.096 });
    expect(find(list, 'Standard_B2s')).toMatchObject({ usdPerHour: 0.0416, family: 'BS' });
    expect(find(list, 'Standard_D2ps_v5')).toMatchObject({ architecture: 'arm64', usdPerHour: 0.077 });
    const admin = await adminPrices('azure');
    expect(list.map((o) => [o.instanceType, o.usdPerHour]).sort()).toEqual(admin.map((p) => [p.instanceType, p.usdPerHour]).sort());
  });

  it('sees an admin change (reference region: every region follows with its factor)', async () => {
    await setPrice({ cloud: 'azure', instanceType: 'Standard_D4s_v5', usdPerHour: 1 });
    expect(find(await readers.azure.read('eastus'), 'Standard_D4s_v5').usdPerHour).toBe(1);
    expect(find(await readers.azure.read('westeurope'), 'Standard_D4s_v5').usdPerHour).toBeCloseTo(1.1458, 4);
  });
});

describe('DigitalOcean: GET /v2/sizes through dots-wrapper', () => {
  it('reads every available size of the region with its hourly price', async () => {
    const list = await readers.digitalocean.read('nyc3');
    expect(list.length).toBeGreaterThanOrEqual(50);
    expect(find(list, 's-2vcpu-4gb')).toEqual({ cloud: 'digitalocean', region: 'nyc3', instanceType: 's-2vcpu-4gb', family: 's', vcpu: 2, memoryMiB: 4096, architecture: 'amd64', usdPerHour: 0.03571 });
    expect(find(list, 's-2vcpu-4gb-amd').family).toBe('s-amd');
    expect(await readers.digitalocean.read('nowhere1')).toEqual([]);
  });

  it('sees an admin change', async () => {
    await setPrice({ cloud: 'digitalocean', instanceType: 'c-2', usdPerHour: 0.07 });
    expect(find(await readers.digitalocean.read('fra1'), 'c-2').usdPerHour).toBe(0.07);
  });
});

describe('PriceCatalogue over the readers', () => {
  it('caches per cloud and region, and reports the source', async () => {
    const cat = new PriceCatalogue();
    const account = emu.modules.digitalocean.createAccount();
    if (account.cloud !== 'digitalocean') throw new Error('unexpected');
    let made = 0;
    const reader = () => { made++; return createPriceReader('digitalocean', account.digitalocean, emu.endpoints); };
    const [a, b] = await Promise.all([cat.get('digitalocean', 'ams3', reader), cat.get('digitalocean', 'ams3', reader)]);
    expect(a).toBe(b);
    expect(made).toBe(1);
    expect(a).toMatchObject({ cloud: 'digitalocean', region: 'ams3', source: 'DigitalOcean GET /v2/sizes', stale: false });
    expect(a.offerings.length).toBeGreaterThanOrEqual(50);
  });
});
