import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import { CloudCredentialEntity, SecretBox } from '@skyweave/persistence';
import { createGateway, type GatewayDeps } from '@skyweave/api-gateway/src/app';
import type { ClusterPlan } from '@skyweave/api-gateway/src/plan.service';
import { GatewayPrices, type PriceAnswer } from '@skyweave/api-gateway/src/prices';
import { createCloudProvider, createPriceReaderFor, networkSpecFor, type CloudCredentials, type CloudEndpoints, type InstanceOffering } from '@skyweave/cloud-adapters';
import { CLOUDS, CloudId, FIREWALL_PLAN, MAX_CROSS_CLOUD_LATENCY_MS, resourcePrefix } from '@skyweave/domain';
import { RunningEmulator, startEmulator } from '@skyweave/cloud-emulator/src/emulator';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';
import { ApiClient } from '@skyweave/tools/stack/api';
import { freshDatabase } from '../support/db';

const log = pino({ level: 'silent' });
const REGION = 'us-east';
/** Tables a create writes to; a plan must leave every one as it was. */
const TABLES = ['clusters', 'cluster_networks', 'nodes', 'outbox', 'cluster_events', 'idempotency_keys'];

type Problem = { type: string; status: number; errors: { field: string; rule: string }[] };

/** A closed port on loopback: a price API endpoint that refuses every connection. */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('POST /v1/clusters/plan (issue 14, item 1)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let emu: RunningEmulator;
  let vmRoot: string;
  const apps: INestApplication[] = [];
  let api: ApiClient;
  let awsOnly: ApiClient;
  const box = new SecretBox(randomBytes(32).toString('base64'));
  const accounts = {} as Record<CloudId, CloudCredentials>;

  /** A gateway on the test database with its own price cache. */
  const gateway = async (over: Partial<GatewayDeps> = {}): Promise<string> => {
    const app = await createGateway({ ds: db.ds, box, endpoints: emu.endpoints, log, ...over });
    await app.listen(0, '127.0.0.1');
    apps.push(app);
    return (await app.getUrl()).replace('[::1]', '127.0.0.1');
  };
  const store = (ds: DataSource, organisationId: string, creds: CloudCredentials) =>
    ds.getRepository(CloudCredentialEntity).insert({ id: randomUUID(), organisationId, cloud: creds.cloud, name: creds.cloud, identity: creds.cloud, ciphertext: box.seal(JSON.stringify(creds)) });
  const counts = async () => Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, Number((await db.ds.query(`SELECT count(*)::int AS n FROM "${t}"`))[0].n)])));
  const admin = (method: string, p: string, body?: unknown) =>
    fetch(`${emu.adminUrl}${p}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  /** The price list of `cloud` in the region `REGION` maps it to, read in the test through the cloud's price API. */
  const priceList = (cloud: CloudId, endpoints: CloudEndpoints = emu.endpoints) => createPriceReaderFor(accounts[cloud], endpoints).read(networkSpecFor(randomUUID(), REGION, cloud).region);

  const fourClouds = {
    name: 'plan-four', region: REGION, clouds: ['aws', 'gcp', 'azure', 'digitalocean'],
    controlPlane: { cloud: 'aws', count: 3 },
    workers: [
      { cloud: 'gcp', count: 2 }, { cloud: 'azure', count: 1, instanceType: 'Standard_D2s_v5' }, { cloud: 'digitalocean', count: 2 },
      { cloud: 'aws', count: 1, instanceType: 'm5.large' }, { cloud: 'gcp', count: 1 },
    ],
  };

  beforeAll(async () => {
    vmRoot = mkdtempSync(path.join(os.tmpdir(), 'skyweave-it-plan-'));
    [db, emu] = await Promise.all([freshDatabase(), startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, vmRoot })]);
    const url = await gateway();
    const a = await createOrganisation(db.ds, 'planner');
    const b = await createOrganisation(db.ds, 'aws-only');
    api = new ApiClient(url, a.apiKey);
    awsOnly = new ApiClient(url, b.apiKey);
    // stored as POST /v1/cloud-credentials would after its check against the cloud
    for (const cloud of CLOUDS) {
      accounts[cloud] = emu.modules[cloud].createAccount();
      await store(db.ds, a.organisationId, accounts[cloud]);
    }
    await store(db.ds, b.organisationId, emu.modules.aws.createAccount());
  }, 120_000);
  afterAll(async () => {
    for (const app of apps) await app.close();
    await db?.drop();
    await emu?.close();
    if (vmRoot) rmSync(vmRoot, { recursive: true, force: true });
  });

  let plan: ClusterPlan;
  let lists: Record<CloudId, InstanceOffering[]>;

  it('plans a 4-cloud cluster: per cloud the network networkSpecFor gives, the VMs, and the cost of the price APIs\' prices × counts', async () => {
    const before = await counts();
    const r = await api.call<ClusterPlan>('POST', '/v1/clusters/plan', fourClouds);
    expect(r.status).toBe(200);
    plan = r.body;
    expect(await counts()).toEqual(before);
    lists = Object.fromEntries(await Promise.all(CLOUDS.map(async (c) => [c, await priceList(c)]))) as Record<CloudId, InstanceOffering[]>;

    expect(plan.name).toBe('plan-four');
    expect(plan.region).toEqual({ id: REGION, name: 'US East (Ashburn)' });
    expect(plan.spec).toMatchObject({ controlPlane: { cloud: 'aws', count: 3, instanceType: 't3.medium' }, kubernetesVersion: expect.any(String), mesh: 'full' });
    expect(plan.clouds.map((c) => c.cloud)).toEqual(fourClouds.clouds);
    const expected: Record<CloudId, { role: string; count: number; instanceType: string }[]> = {
      aws: [{ role: 'master', count: 3, instanceType: 't3.medium' }, { role: 'worker', count: 1, instanceType: 'm5.large' }],
      gcp: [{ role: 'worker', count: 3, instanceType: 'e2-standard-2' }],
      azure: [{ role: 'worker', count: 1, instanceType: 'Standard_D2s_v5' }],
      digitalocean: [{ role: 'worker', count: 2, instanceType: 's-2vcpu-4gb' }],
    };
    let total = 0;
    for (const c of plan.clouds) {
      const spec = networkSpecFor(randomUUID(), REGION, c.cloud);
      expect({ cloud: c.cloud, region: c.region, zone: c.zone }).toEqual({ cloud: c.cloud, region: spec.region, zone: spec.zone });
      expect(c.network.vpcCidr).toBe(spec.vpcCidr || null);
      expect(c.network.subnetCidr).toBe(spec.subnetCidr || null);
      expect(c.firewall).toEqual(spec.firewall);
      expect(c.firewall).toEqual(FIREWALL_PLAN);
      expect(c.nodes.map(({ role, count, instanceType }) => ({ role, count, instanceType }))).toEqual(expected[c.cloud]);
      let hourly = 0;
      for (const n of c.nodes) {
        const o = lists[c.cloud].find((x) => x.instanceType === n.instanceType);
        expect(o).toBeDefined();
        expect(n).toMatchObject({ usdPerHour: o?.usdPerHour, vcpu: o?.vcpu, memoryMiB: o?.memoryMiB });
        hourly += n.count * (o?.usdPerHour ?? NaN);
      }
      total += hourly;
      expect(c.cost.usdPerHour).toBeCloseTo(hourly, 6);
      expect(c.cost.usdPerMonth).toBeCloseTo(hourly * 730, 4);
      expect(c.cost.price).toEqual({ source: createPriceReaderFor(accounts[c.cloud], emu.endpoints).source, pricedAt: expect.any(String), stale: false });
      expect(Date.now() - Date.parse(c.cost.price?.pricedAt ?? '')).toBeLessThan(120_000);
    }
    expect(plan.clouds.find((c) => c.cloud === 'aws')?.network).toMatchObject({ vpcCidr: '10.10.0.0/16', subnetCidr: '10.10.0.0/24' });
    expect(plan.clouds.find((c) => c.cloud === 'digitalocean')?.network).toMatchObject({ vpcCidr: null, subnetCidr: null, vpcCidrPool: { first: '10.100.0.0', last: '10.255.0.0', prefixLength: 20 } });
    expect(plan.cost.usdPerHour).toBeCloseTo(total, 6);
    expect(plan.cost.usdPerMonth).toBeCloseTo(total * 730, 4);
    expect(plan.latency).toMatchObject({ worst: { pair: 'aws|digitalocean', ms: 7 }, budgetMs: MAX_CROSS_CLOUD_LATENCY_MS, withinBudget: true });
    expect(plan.latency.pairs).toHaveLength(6);
    // DigitalOcean is 7 ms from the others in us-east: close to the budget
    expect(plan.warnings).toEqual([expect.objectContaining({ code: 'latency-near-budget' })]);
  }, 120_000);

  it('lists the network parts each cloud adapter builds for that spec (checked by building them on the sandbox)', async () => {
    expect(plan).toBeDefined();
    const clusterId = randomUUID();
    for (const c of plan.clouds) {
      const provider = createCloudProvider(accounts[c.cloud], emu.endpoints);
      const built = await provider.ensureNetwork(networkSpecFor(clusterId, REGION, c.cloud));
      const named = built.resources.map((r) => ({ kind: r.kind, name: (r.name ?? '').replace(resourcePrefix(clusterId), plan.namePrefix) }));
      expect({ cloud: c.cloud, resources: c.network.resources }).toEqual({ cloud: c.cloud, resources: named });
      if (c.cloud !== 'digitalocean') expect({ vpc: built.vpcCidr, subnet: built.subnetCidr }).toEqual({ vpc: c.network.vpcCidr, subnet: c.network.subnetCidr });
      await provider.deleteNetwork(clusterId, built.region);
    }
  }, 180_000);

  it('writes nothing, with or without an Idempotency-Key, and answers the same again', async () => {
    const before = await counts();
    const again = await api.call<ClusterPlan>('POST', '/v1/clusters/plan', fourClouds, { 'idempotency-key': 'plan-1' });
    const third = await api.call<ClusterPlan>('POST', '/v1/clusters/plan', fourClouds, { 'idempotency-key': 'plan-1' });
    expect([again.status, third.status]).toEqual([200, 200]);
    expect(third.headers.get('idempotent-replayed')).toBeNull();
    expect(again.body).toEqual(plan);
    expect(await counts()).toEqual(before);
    expect((await api.ok<{ total: number }>('GET', '/v1/clusters')).total).toBe(0);
  });

  it.each([
    ['an unknown region', (c: ApiClient) => c, { ...fourClouds, region: 'mars-1' }, [{ field: 'region', rule: 'known-region' }]],
    ['a cloud without credentials', (_c: ApiClient) => awsOnly, { ...fourClouds, clouds: ['aws', 'gcp'], workers: [{ cloud: 'gcp', count: 1 }] }, [{ field: 'clouds[1]', rule: 'credentials-present' }]],
    ['a region a cloud does not serve and clouds over the latency budget', (c: ApiClient) => c, { ...fourClouds, region: 'us-central', clouds: ['aws', 'gcp', 'digitalocean'], workers: [] }, [
      { field: 'clouds[2]', rule: 'region-available' }, { field: 'clouds', rule: 'latency-budget' },
    ]],
    ['an instance type the cloud does not offer', (c: ApiClient) => c, { ...fourClouds, workers: [{ cloud: 'gcp', count: 1, instanceType: 't3.medium' }] }, [{ field: 'workers[0].instanceType', rule: 'known-instance-type' }]],
    ['a master count other than 1 or 3', (c: ApiClient) => c, { ...fourClouds, controlPlane: { cloud: 'aws', count: 2 } }, [{ field: 'controlPlane.count', rule: 'isIn' }]],
  ])('refuses %s with the same 422 as create, writing nothing', async (_what, who, body, rules) => {
    const client = who(api);
    const before = await counts();
    const p = await client.call<Problem>('POST', '/v1/clusters/plan', body);
    const c = await client.call<Problem>('POST', '/v1/clusters', body);
    expect(p.status).toBe(422);
    expect(p.headers.get('content-type')).toContain('application/problem+json');
    expect(p.body.type).toMatch(/validation-failed$/);
    expect(p.body.errors).toEqual(expect.arrayContaining(rules.map((x) => expect.objectContaining(x))));
    expect({ status: c.status, errors: c.body.errors, detail: (c.body as unknown as { detail: string }).detail })
      .toEqual({ status: p.status, errors: p.body.errors, detail: (p.body as unknown as { detail: string }).detail });
    expect(await counts()).toEqual(before);
  });

  it('needs an API key (401), and tells a foreign key nothing about this organisation', async () => {
    expect((await new ApiClient(api.baseUrl).call('POST', '/v1/clusters/plan', fourClouds)).status).toBe(401);
    // the other organisation has only AWS credentials: its plan of the same body is refused for its own reasons
    const r = await awsOnly.call<Problem>('POST', '/v1/clusters/plan', fourClouds);
    expect(r.status).toBe(422);
    expect(r.body.errors.filter((e) => e.rule === 'credentials-present').map((e) => e.field)).toEqual(['clouds[1]', 'clouds[2]', 'clouds[3]']);
  });

  it('shows an admin price change after the cache refresh, or on a fresh gateway', async () => {
    const single = { name: 'plan-aws', region: REGION, clouds: ['aws'], controlPlane: { cloud: 'aws', count: 1 }, workers: [{ cloud: 'aws', count: 2 }] };
    const old = (await api.ok<ClusterPlan>('POST', '/v1/clusters/plan', single)).clouds[0];
    expect(old.nodes[0].usdPerHour).toBe(lists.aws.find((o) => o.instanceType === 't3.medium')?.usdPerHour);
    const put = await admin('PUT', '/admin/prices', { cloud: 'aws', region: 'us-east-1', instanceType: 't3.medium', usdPerHour: 0.0777 });
    expect(put.status).toBe(200);
    try {
      // the price API has the new price …
      expect((await priceList('aws')).find((o) => o.instanceType === 't3.medium')?.usdPerHour).toBe(0.0777);
      // … this gateway's cache (1 h) still the old one
      const cached = (await api.ok<ClusterPlan>('POST', '/v1/clusters/plan', single)).clouds[0];
      expect(cached.nodes[0].usdPerHour).toBe(old.nodes[0].usdPerHour);
      expect(cached.cost.price?.pricedAt).toBe(old.cost.price?.pricedAt);
      // a fresh gateway reads it
      const fresh = new ApiClient(await gateway(), api.apiKey);
      const now = (await fresh.ok<ClusterPlan>('POST', '/v1/clusters/plan', single)).clouds[0];
      expect(now.nodes[0].usdPerHour).toBe(0.0777);
      expect(now.cost.usdPerHour).toBeCloseTo(3 * 0.0777, 6);
      // and so does one whose lists are refreshed at once (refresh period 50 ms)
      const refreshing = new ApiClient(await gateway({ priceRefreshMs: 50 }), api.apiKey);
      expect((await refreshing.ok<ClusterPlan>('POST', '/v1/clusters/plan', single)).clouds[0].nodes[0].usdPerHour).toBe(0.0777);
      expect((await admin('PUT', '/admin/prices', { cloud: 'aws', region: 'us-east-1', instanceType: 't3.medium', usdPerHour: 0.0888 })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 100));
      const refreshed = (await refreshing.ok<ClusterPlan>('POST', '/v1/clusters/plan', single)).clouds[0];
      expect(refreshed.nodes[0].usdPerHour).toBe(0.0888);
      expect(refreshed.cost.usdPerMonth).toBeCloseTo(3 * 0.0888 * 730, 4);
    } finally {
      await admin('DELETE', '/admin/prices');
    }
  }, 60_000);

  it('answers a price API that fails with a warning and a null cost for that cloud, not a 500', async () => {
    const fresh = new ApiClient(await gateway(), api.apiKey);
    const armed = await admin('POST', '/admin/faults', { cloud: 'digitalocean', op: 'read', kind: 'server-error', rate: 1 });
    expect(armed.status).toBeLessThan(300);
    let r;
    try {
      r = await fresh.call<ClusterPlan>('POST', '/v1/clusters/plan', fourClouds);
    } finally {
      await admin('DELETE', '/admin/faults');
    }
    expect(r.status).toBe(200);
    const d = r.body.clouds.find((c) => c.cloud === 'digitalocean');
    expect(d?.cost).toMatchObject({ usdPerHour: null, usdPerMonth: null, price: null, reason: expect.stringContaining('no price list for DigitalOcean nyc1') });
    expect(d?.nodes[0]).toMatchObject({ instanceType: 's-2vcpu-4gb', usdPerHour: null, vcpu: 2, memoryMiB: 4096 });
    expect(r.body.warnings).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'price-list-unavailable', cloud: 'digitalocean' })]));
    // the other clouds are priced; the total is unknown
    for (const c of r.body.clouds.filter((x) => x.cloud !== 'digitalocean')) expect(c.cost.usdPerHour).toEqual(plan.clouds.find((x) => x.cloud === c.cloud)?.cost.usdPerHour);
    expect(r.body.cost).toEqual({ usdPerHour: null, usdPerMonth: null });
    // once the API answers again, the next plan has the price (a failure is not cached)
    const after = await fresh.ok<ClusterPlan>('POST', '/v1/clusters/plan', fourClouds);
    expect(after.cost.usdPerHour).toBeCloseTo(plan.cost.usdPerHour as number, 6);
  }, 60_000);

  it('answers a dead pricing endpoint, and one that does not answer in time, with warnings, not a 500', async () => {
    const port = await deadPort();
    const dead = new ApiClient(await gateway({ endpoints: { ...emu.endpoints, awsPricing: `http://127.0.0.1:${port}` } }), api.apiKey);
    const r = await dead.call<ClusterPlan>('POST', '/v1/clusters/plan', fourClouds);
    expect(r.status).toBe(200);
    expect(r.body.clouds.find((c) => c.cloud === 'aws')?.cost).toMatchObject({ usdPerHour: null, price: null });
    expect(r.body.warnings).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'price-list-unavailable', cloud: 'aws' })]));
    // the cloud's message (which may name an account) is not passed on: only its kind and code
    expect(r.body.warnings.find((w) => w.code === 'price-list-unavailable')?.message).toMatch(/^no price list for AWS us-east-1: /);

    // a price API slower than the plan waits (1 ms here)
    const slow = new ApiClient(await gateway({ priceWaitMs: 1 }), api.apiKey);
    const s = await slow.call<ClusterPlan>('POST', '/v1/clusters/plan', fourClouds);
    expect(s.status).toBe(200);
    expect(s.body.warnings.filter((w) => w.code === 'price-list-unavailable').map((w) => w.message)).toEqual(
      expect.arrayContaining([expect.stringContaining('did not answer within')]),
    );
  }, 60_000);

  it('warns about an instance type the price list lacks (that cloud\'s cost and the total unknown) and about a stale list', async () => {
    /** The sandbox's lists, but GCP's without e2-standard-2 and Azure's marked stale (its last refresh failed). */
    class Doctored extends GatewayPrices {
      override async list(cloud: CloudId, region: string, sealed: string): Promise<PriceAnswer> {
        const a = await super.list(cloud, region, sealed);
        if (!('list' in a)) return a;
        if (cloud === 'gcp') return { list: { ...a.list, offerings: a.list.offerings.filter((o) => o.instanceType !== 'e2-standard-2') } };
        if (cloud === 'azure') return { list: { ...a.list, stale: true, error: 'refresh failed' } };
        return a;
      }
    }
    const doctored = new ApiClient(await gateway({ prices: new Doctored(box, emu.endpoints) }), api.apiKey);
    const r = await doctored.call<ClusterPlan>('POST', '/v1/clusters/plan', fourClouds);
    expect(r.status).toBe(200);
    const gcp = r.body.clouds.find((c) => c.cloud === 'gcp');
    expect(gcp?.nodes[0]).toMatchObject({ instanceType: 'e2-standard-2', usdPerHour: null, vcpu: 2, memoryMiB: 8192 });
    expect(gcp?.cost).toMatchObject({ usdPerHour: null, usdPerMonth: null, price: { stale: false }, reason: expect.stringContaining('e2-standard-2 is not in GCP\'s price list for us-east4') });
    const azure = r.body.clouds.find((c) => c.cloud === 'azure');
    expect(azure?.cost.price?.stale).toBe(true);
    expect(azure?.cost.usdPerHour).toBe(plan.clouds.find((c) => c.cloud === 'azure')?.cost.usdPerHour);
    expect(r.body.cost).toEqual({ usdPerHour: null, usdPerMonth: null });
    expect(r.body.warnings.map((w) => [w.code, w.cloud])).toEqual([
      ['instance-type-unpriced', 'gcp'], ['price-list-stale', 'azure'], ['latency-near-budget', undefined],
    ]);
  }, 60_000);

  it('is in the OpenAPI document: the create body in, the plan out', async () => {
    const doc = await (await fetch(`${api.baseUrl}/docs/openapi.json`)).json() as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { $ref: string } }> }; responses: Record<string, { content?: Record<string, { schema: { $ref: string } }> }> }>>;
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    const op = doc.paths['/v1/clusters/plan']?.post;
    expect(op?.requestBody?.content['application/json'].schema.$ref).toBe('#/components/schemas/CreateClusterDto');
    expect(op?.responses['200']?.content?.['application/json'].schema.$ref).toBe('#/components/schemas/ClusterPlanDto');
    expect(Object.keys(doc.components.schemas.ClusterPlanDto.properties)).toEqual(['name', 'region', 'spec', 'namePrefix', 'clouds', 'latency', 'cost', 'warnings']);
    expect(Object.keys(doc.components.schemas.PlanCloudDto.properties)).toEqual(['cloud', 'region', 'zone', 'network', 'firewall', 'nodes', 'cost']);
  });
});
