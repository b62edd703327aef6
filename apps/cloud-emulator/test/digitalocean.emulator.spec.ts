import * as http from 'node:http';
import { sendUnimplemented } from '../src/core/unimplemented';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { FIREWALL_PLAN, resourcePrefix, ruleKeys } from '@skyweave/domain';
import { createCloudProvider, isConflict, NetworkSpec } from '@skyweave/cloud-adapters';
import { FaultBook } from '../src/core/faults';
import type { CloudContext, Operation } from '../src/core/types';
import { PublicIpAllocator } from '../src/core/public-ips';
import { createDigitalOceanCloud, DigitalOceanCloudOptions } from '../src/digitalocean';

/** Strictness of the DigitalOcean sandbox: raw API v2 requests, answers checked against DigitalOcean's shapes. */

interface Sandbox {
  base: string;
  token: string;
  faults: FaultBook;
  booted: { instanceId: string; userData: string; privateIp: string; publicIp?: string }[];
  stopped: string[];
  newToken(): string;
  inventory(): ReturnType<ReturnType<typeof createDigitalOceanCloud>['inventory']>;
  call(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

async function startSandbox(opts: DigitalOceanCloudOptions = {}, latency: Partial<Record<Operation, number>> = { 'instance.boot': 50 }): Promise<Sandbox> {
  const faults = new FaultBook();
  const booted: Sandbox['booted'] = [];
  const stopped: string[] = [];
  const ctx: CloudContext = {
    latencyMs: (op) => latency[op] ?? 0,
    delay: (op) => new Promise((r) => setTimeout(r, latency[op] ?? 0)),
    takeFault: (cloud, op) => faults.take(cloud, op),
    vms: { boot: (vm) => booted.push(vm), stop: (id) => stopped.push(id) },
    publicIps: new PublicIpAllocator(),
    unimplemented: (res, cloud, operation) => sendUnimplemented(res, cloud, operation),
  };
  const mod = createDigitalOceanCloud(ctx, opts);
  const server = http.createServer(mod.handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2`;
  const newToken = () => {
    const c = mod.createAccount();
    if (c.cloud !== 'digitalocean') throw new Error('wrong cloud');
    return c.digitalocean.token;
  };
  const token = newToken();
  return {
    base,
    token,
    faults,
    booted,
    stopped,
    newToken,
    inventory: () => mod.inventory(),
    async call(method, path, body, tok = token) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const droplet = (extra: Record<string, unknown> = {}) => ({ name: 'node-1', region: 'nyc1', size: 's-2vcpu-4gb', image: 'ubuntu-24-04-x64', ...extra });
const rule = (ports: string, addresses = ['0.0.0.0/0']) => ({ protocol: 'tcp', ports, sources: { addresses } });

describe('DigitalOcean sandbox: API v2 strictness', () => {
  let s: Sandbox;
  beforeEach(async () => {
    s = await startSandbox();
  });
  afterEach(async () => {
    await s.close();
  });

  it('issues dop_v1_ tokens and refuses unknown or missing ones with 401 unauthorized', async () => {
    expect(s.token).toMatch(/^dop_v1_[0-9a-f]{64}$/);
    const bad = await s.call('GET', '/account', undefined, `dop_v1_${'0'.repeat(64)}`);
    expect(bad.status).toBe(401);
    expect(bad.body).toMatchObject({ id: 'unauthorized', message: 'Unable to authenticate you' });
    const none = await fetch(`${s.base}/account`);
    expect(none.status).toBe(401);
    const ok = await s.call('GET', '/account');
    expect(ok.status).toBe(200);
    expect(ok.body.account).toMatchObject({ droplet_limit: 25, status: 'active', email_verified: true });
  });

  it('answers unknown resources and routes with 404 not_found, and sends rate-limit headers', async () => {
    const a = await s.call('GET', '/droplets/999999999');
    expect(a.status).toBe(404);
    expect(a.body).toMatchObject({ id: 'not_found', message: 'The resource you were accessing could not be found.' });
    expect((await s.call('GET', '/vpcs/not-a-vpc')).status).toBe(404);
    expect((await s.call('GET', '/nothing-here')).status).toBe(404);
    const r1 = await s.call('GET', '/vpcs');
    const r2 = await s.call('GET', '/vpcs');
    expect(r1.headers.get('ratelimit-limit')).toBe('5000');
    expect(Number(r2.headers.get('ratelimit-remaining'))).toBe(Number(r1.headers.get('ratelimit-remaining')) - 1);
    expect(Number(r1.headers.get('ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
  });

  it('refuses malformed JSON and wrongly typed fields with 400 bad_request', async () => {
    expect((await s.call('POST', '/vpcs', '{"name": ')).body).toMatchObject({ id: 'bad_request' });
    const typed = await s.call('POST', '/vpcs', { name: 5, region: 'nyc1' });
    expect(typed.status).toBe(400);
    expect(typed.body.id).toBe('bad_request');
  });

  describe('VPCs', () => {
    it('creates a VPC and validates name, region and ip_range with 422 unprocessable_entity', async () => {
      const ok = await s.call('POST', '/vpcs', { name: 'sw-1-vpc', region: 'nyc1', ip_range: '10.100.0.0/20', description: 'd' });
      expect(ok.status).toBe(201);
      expect(ok.body.vpc).toMatchObject({ name: 'sw-1-vpc', region: 'nyc1', ip_range: '10.100.0.0/20', description: 'd', default: false });
      for (const body of [
        { region: 'nyc1', ip_range: '10.101.0.0/20' },
        { name: 'has space', region: 'nyc1', ip_range: '10.101.0.0/20' },
        { name: 'x', region: 'nyc9', ip_range: '10.101.0.0/20' },
        { name: 'x', region: 'nyc1', ip_range: '10.101.0.0' },
        { name: 'x', region: 'nyc1', ip_range: '10.101.0.1/20' },
        { name: 'x', region: 'nyc1', ip_range: '8.8.0.0/20' },
        { name: 'x', region: 'nyc1', ip_range: '10.0.0.0/8' },
        { name: 'x', region: 'nyc1', ip_range: '10.101.0.0/29' },
        { name: 'x', region: 'nyc1', ip_range: '10.101.0.0/20', description: 'd'.repeat(256) },
      ]) {
        const r = await s.call('POST', '/vpcs', body);
        expect([r.status, r.body.id]).toEqual([422, 'unprocessable_entity']);
      }
    });

    it('refuses a range overlapping another VPC of the account, or a name taken in the region', async () => {
      await s.call('POST', '/vpcs', { name: 'a', region: 'nyc1', ip_range: '10.100.0.0/20' });
      const overlap = await s.call('POST', '/vpcs', { name: 'b', region: 'fra1', ip_range: '10.100.8.0/24' });
      expect(overlap.status).toBe(422);
      expect(String(overlap.body.message)).toMatch(/overlaps/);
      const taken = await s.call('POST', '/vpcs', { name: 'a', region: 'nyc1', ip_range: '10.101.0.0/20' });
      expect(taken.status).toBe(422);
      expect(String(taken.body.message)).toMatch(/already exists/);
      expect((await s.call('POST', '/vpcs', { name: 'a', region: 'fra1', ip_range: '10.101.0.0/20' })).status).toBe(201);
      // Another account may reuse the range.
      expect((await s.call('POST', '/vpcs', { name: 'a', region: 'nyc1', ip_range: '10.100.0.0/20' }, s.newToken())).status).toBe(201);
    });

    it('refuses to delete a VPC with members (403 forbidden, as the reference says) and lists its members', async () => {
      const vpc = (await s.call('POST', '/vpcs', { name: 'a', region: 'nyc1', ip_range: '10.100.0.0/20' })).body.vpc as { id: string };
      const d = (await s.call('POST', '/droplets', droplet({ vpc_uuid: vpc.id }))).body.droplet as { id: number };
      const members = await s.call('GET', `/vpcs/${vpc.id}/members`);
      expect(members.body).toMatchObject({ members: [{ urn: `do:droplet:${d.id}`, name: 'node-1' }], meta: { total: 1 } });
      const del = await s.call('DELETE', `/vpcs/${vpc.id}`);
      expect(del.status).toBe(403);
      expect(del.body).toMatchObject({ id: 'forbidden', message: 'Can not delete VPC with members' });
      expect((await s.call('DELETE', `/droplets/${d.id}`)).status).toBe(204);
      expect((await s.call('DELETE', `/vpcs/${vpc.id}`)).status).toBe(204);
      expect((await s.call('DELETE', `/vpcs/${vpc.id}`)).status).toBe(404);
    });

    it('puts a Droplet without vpc_uuid in the region default VPC, which cannot be deleted', async () => {
      const d = (await s.call('POST', '/droplets', droplet())).body.droplet as { vpc_uuid: string; id: number };
      const vpc = (await s.call('GET', `/vpcs/${d.vpc_uuid}`)).body.vpc as { default: boolean; name: string };
      expect(vpc).toMatchObject({ default: true, name: 'default-nyc1' });
      await s.call('DELETE', `/droplets/${d.id}`);
      expect((await s.call('DELETE', `/vpcs/${d.vpc_uuid}`)).status).toBe(403);
    });
  });

  describe('firewalls and tags', () => {
    it('validates tag names (letters, numbers, colons, dashes, underscores)', async () => {
      expect((await s.call('POST', '/tags', { name: 'skyweave-cluster:3f0c_x' })).status).toBe(201);
      expect((await s.call('POST', '/tags', { name: 'skyweave-cluster=x' })).status).toBe(422);
      expect((await s.call('POST', '/tags', { name: 'a'.repeat(256) })).status).toBe(422);
      expect((await s.call('POST', '/droplets', droplet({ tags: ['ok:1', 'not ok'] }))).status).toBe(422);
      expect((await s.call('GET', '/tags/skyweave-cluster:3f0c_x')).body).toMatchObject({ tag: { name: 'skyweave-cluster:3f0c_x', resources: { count: 0 } } });
    });

    it('requires existing target tags, valid rules and at least one rule', async () => {
      const base = { name: 'fw-1', inbound_rules: [rule('6443')], tags: ['role:m'] };
      expect((await s.call('POST', '/firewalls', base)).status).toBe(422);
      await s.call('POST', '/tags', { name: 'role:m' });
      for (const bad of [
        { ...base, name: '-leading-dash' },
        { ...base, inbound_rules: [] },
        { ...base, inbound_rules: [rule('70000')] },
        { ...base, inbound_rules: [rule('9-1')] },
        { ...base, inbound_rules: [rule('')] },
        { ...base, inbound_rules: [rule('22', ['not-an-ip'])] },
        { ...base, inbound_rules: [{ protocol: 'sctp', ports: '22', sources: { addresses: ['0.0.0.0/0'] } }] },
        { ...base, inbound_rules: [{ protocol: 'tcp', ports: '22' }] },
        { ...base, inbound_rules: Array.from({ length: 51 }, (_, i) => rule(String(i + 1))) },
      ]) {
        expect([(await s.call('POST', '/firewalls', bad)).status, JSON.stringify(bad).slice(0, 80)]).toEqual([422, JSON.stringify(bad).slice(0, 80)]);
      }
      const ok = await s.call('POST', '/firewalls', { ...base, inbound_rules: [rule('6443'), rule('30000-32767')] });
      expect(ok.status).toBe(202);
      expect(ok.body.firewall).toMatchObject({ status: 'waiting', tags: ['role:m'], inbound_rules: [rule('6443'), rule('30000-32767')], outbound_rules: [] });
      const id = (ok.body.firewall as { id: string }).id;
      expect((await s.call('GET', `/firewalls/${id}`)).body.firewall).toMatchObject({ status: 'succeeded' });
      expect(s.inventory().find((i) => i.id === id)?.tags).toEqual({ role: 'm' });
      expect((await s.call('DELETE', `/firewalls/${id}`)).status).toBe(204);
      expect((await s.call('DELETE', `/firewalls/${id}`)).status).toBe(404);
    });
  });

  describe('Droplets', () => {
    it('validates size, image, region, name, vpc_uuid and user_data', async () => {
      for (const body of [
        droplet({ size: 's-99vcpu' }),
        droplet({ image: 'windows-xp' }),
        droplet({ region: 'mars1' }),
        droplet({ name: 'under_score' }),
        droplet({ name: undefined }),
        droplet({ vpc_uuid: randomUUID() }),
        droplet({ user_data: 'x'.repeat(64 * 1024 + 1) }),
      ]) {
        const r = await s.call('POST', '/droplets', body);
        expect([r.status, r.body.id]).toEqual([422, 'unprocessable_entity']);
      }
      const vpc = (await s.call('POST', '/vpcs', { name: 'a', region: 'fra1', ip_range: '10.100.0.0/20' })).body.vpc as { id: string };
      expect((await s.call('POST', '/droplets', droplet({ vpc_uuid: vpc.id }))).status).toBe(422);
    });

    it('goes new → active after the boot latency, boots the VM with plain user-data and VPC addresses, and stops it on delete', async () => {
      const vpc = (await s.call('POST', '/vpcs', { name: 'a', region: 'nyc1', ip_range: '10.100.16.0/20' })).body.vpc as { id: string };
      const created = await s.call('POST', '/droplets', droplet({ vpc_uuid: vpc.id, tags: ['k:v'], user_data: '#cloud-config\n{}\n' }));
      expect(created.status).toBe(202);
      const d = created.body.droplet as { id: number; status: string; networks: { v4: unknown[] } };
      expect(d.status).toBe('new');
      expect(d.networks.v4).toEqual([]);
      expect((created.body.links as { actions: { rel: string }[] }).actions[0].rel).toBe('create');
      await new Promise((r) => setTimeout(r, 120));
      const got = (await s.call('GET', `/droplets/${d.id}`)).body.droplet as { status: string; networks: { v4: { type: string; ip_address: string }[] }; vpc_uuid: string; tags: string[] };
      expect(got.status).toBe('active');
      const priv = got.networks.v4.find((n) => n.type === 'private')?.ip_address;
      const pub = got.networks.v4.find((n) => n.type === 'public')?.ip_address;
      expect(priv).toBe('10.100.16.2');
      expect(pub).toMatch(/^198\.51\.100\./);
      expect(s.booted).toEqual([{
        cloud: 'digitalocean', instanceId: String(d.id), userData: '#cloud-config\n{}\n', privateIp: priv, publicIp: pub,
        // the size's vCPUs and memory, as kubelet reads them on the VM, and DigitalOcean's provider id
        machine: { instanceType: 's-2vcpu-4gb', vcpu: 2, memoryMiB: 4096, arch: 'amd64', providerID: `digitalocean://${String(d.id)}` },
      }]);
      expect((await s.call('GET', '/droplets?tag_name=k:v')).body.meta).toEqual({ total: 1 });
      expect((await s.call('GET', '/droplets?tag_name=k:w')).body.meta).toEqual({ total: 0 });
      expect((await s.call('GET', '/droplets?tag_name=k:v&name=node-1')).status).toBe(422);
      expect((await s.call('DELETE', `/droplets/${d.id}`)).status).toBe(204);
      expect(s.stopped).toEqual([String(d.id)]);
      expect((await s.call('GET', `/droplets/${d.id}`)).status).toBe(404);
      expect(s.inventory().filter((i) => i.kind === 'droplet')).toEqual([]);
    });

    it('enforces the account droplet limit with DigitalOcean\'s quota message', async () => {
      for (let i = 0; i < 25; i++) expect((await s.call('POST', '/droplets', droplet({ name: `n-${i}` }))).status).toBe(202);
      const over = await s.call('POST', '/droplets', droplet({ name: 'n-25' }));
      expect(over.status).toBe(422);
      expect(over.body.message).toBe('creating this/these droplet(s) will exceed your droplet limit');
    });

    it('paginates as DigitalOcean does (links.pages, meta.total, per_page capped at 200)', async () => {
      for (let i = 0; i < 5; i++) await s.call('POST', '/droplets', droplet({ name: `n-${i}` }));
      const p1 = await s.call('GET', '/droplets?per_page=2');
      expect((p1.body.droplets as unknown[]).length).toBe(2);
      expect(p1.body.meta).toEqual({ total: 5 });
      const pages = (p1.body.links as { pages: Record<string, string> }).pages;
      expect(Object.keys(pages).sort()).toEqual(['last', 'next']);
      expect(new URL(pages.next).searchParams.get('page')).toBe('2');
      expect(new URL(pages.last).searchParams.get('page')).toBe('3');
      const p3 = await s.call('GET', '/droplets?per_page=2&page=3');
      expect((p3.body.droplets as unknown[]).length).toBe(1);
      expect(Object.keys((p3.body.links as { pages: Record<string, string> }).pages).sort()).toEqual(['first', 'prev']);
      const big = await s.call('GET', '/droplets?per_page=1000');
      expect((big.body.droplets as unknown[]).length).toBe(5);
      expect(big.body.links).toEqual({});
      expect((await s.call('GET', '/droplets?page=abc')).status).toBe(400);
    });
  });

  describe('faults in DigitalOcean\'s shape', () => {
    it('throttle → 429 too_many_requests with ratelimit headers; server-error → 500 server_error', async () => {
      s.faults.arm({ cloud: 'digitalocean', op: 'read', kind: 'throttle', count: 1 });
      const t = await s.call('GET', '/droplets');
      expect(t.status).toBe(429);
      expect(t.body).toMatchObject({ id: 'too_many_requests', message: 'API Rate limit exceeded.' });
      expect(t.headers.get('ratelimit-remaining')).toBe('0');
      expect(Number(t.headers.get('ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
      expect(t.headers.get('ratelimit-limit')).toBe('5000');
      s.faults.arm({ cloud: 'digitalocean', op: 'network.create', kind: 'server-error', count: 1 });
      const e = await s.call('POST', '/vpcs', { name: 'a', region: 'nyc1' });
      expect([e.status, e.body.id]).toEqual([500, 'server_error']);
    });

    it('quota and capacity on instance.create → 422 with DigitalOcean\'s messages', async () => {
      s.faults.arm({ cloud: 'digitalocean', op: 'instance.create', kind: 'quota', count: 1 });
      s.faults.arm({ cloud: 'digitalocean', op: 'instance.create', kind: 'capacity', count: 1 });
      const q = await s.call('POST', '/droplets', droplet());
      expect([q.status, q.body.message]).toEqual([422, 'creating this/these droplet(s) will exceed your droplet limit']);
      const c = await s.call('POST', '/droplets', droplet());
      expect([c.status, c.body.message]).toEqual([422, 'Size is not available in this region.']);
      expect((await s.call('POST', '/droplets', droplet())).status).toBe(202);
    });

    it('enforces the per-token rate limit when asked to', async () => {
      const limited = await startSandbox({ rateLimit: { perMinute: 3, enforce: true } });
      try {
        for (let i = 0; i < 3; i++) expect((await limited.call('GET', '/account')).status).toBe(200);
        const over = await limited.call('GET', '/account');
        expect(over.status).toBe(429);
        expect(over.headers.get('ratelimit-remaining')).toBe('0');
        expect((await limited.call('GET', '/account', undefined, limited.newToken())).status).toBe(200);
      } finally {
        await limited.close();
      }
    });
  });
});

describe('DigitalOcean adapter over the sandbox: beyond the contract', () => {
  let s: Sandbox;
  beforeEach(async () => {
    s = await startSandbox({}, { 'instance.boot': 20, 'network.create': 5 });
  });
  afterEach(async () => {
    await s.close();
  });
  const provider = () => createCloudProvider({ cloud: 'digitalocean', digitalocean: { token: s.token } }, { digitalocean: s.base });
  const specFor = (clusterId: string): NetworkSpec => ({ clusterId, namePrefix: resourcePrefix(clusterId), region: 'nyc1', zone: 'nyc1', vpcCidr: '', subnetCidr: '', firewall: FIREWALL_PLAN });

  it('follows every page of the VPC list when allocating a range', async () => {
    // 201 VPCs take 10.100.0.0 … 10.112.128.0: the free /20 is only visible on page 2 of a 200-item page.
    for (let i = 0; i < 201; i++) {
      const r = await s.call('POST', '/vpcs', { name: `other-${i}`, region: 'fra1', ip_range: `10.${100 + Math.floor(i / 16)}.${(i % 16) * 16}.0/20` });
      expect(r.status).toBe(201);
    }
    const net = await provider().ensureNetwork(specFor(randomUUID()));
    expect(net.vpcCidr).toBe('10.112.144.0/20');
  }, 30_000);

  it('gives concurrently created clusters distinct, non-overlapping VPC ranges', async () => {
    const [a, b] = await Promise.all([provider().ensureNetwork(specFor(randomUUID())), provider().ensureNetwork(specFor(randomUUID()))]);
    expect(a.vpcCidr).not.toBe(b.vpcCidr);
  });

  it('repairs firewall drift and refuses to delete a network a foreign Droplet uses', async () => {
    const clusterId = randomUUID();
    const p = provider();
    const net = await p.ensureNetwork(specFor(clusterId));
    const fw = (await s.call('GET', `/firewalls/${net.securityGroupIds.worker}`)).body.firewall as Record<string, unknown>;
    expect((await s.call('PUT', `/firewalls/${net.securityGroupIds.worker}`, { ...fw, inbound_rules: [rule('22')] })).status).toBe(200);
    expect(ruleKeys((await p.describeFirewall(net)).worker)).toEqual(['tcp:22-22:0.0.0.0/0']);
    await p.ensureNetwork(specFor(clusterId));
    expect(ruleKeys((await p.describeFirewall(net)).worker)).toEqual(ruleKeys(FIREWALL_PLAN.worker));

    const foreign = (await s.call('POST', '/droplets', droplet({ vpc_uuid: net.vpcId }))).body.droplet as { id: number };
    const err = await p.deleteNetwork(clusterId, 'nyc1').then(() => undefined, (e: unknown) => e);
    expect(isConflict(err)).toBe(true);
    expect(await p.getNetwork(clusterId, 'nyc1')).not.toBeNull();
    expect((await p.listTaggedResources(clusterId, 'nyc1')).length).toBe(3);
    await s.call('DELETE', `/droplets/${foreign.id}`);
    await p.deleteNetwork(clusterId, 'nyc1');
    expect(s.inventory().filter((i) => i.kind !== 'vpc' || !i.name?.startsWith('default-'))).toEqual([]);
    // The cluster's tags are tidied away too.
    expect(((await s.call('GET', '/tags')).body.tags as { name: string }[]).filter((t) => t.name.includes(clusterId))).toEqual([]);
  });

  it('puts Droplets behind their role firewall through the target tag', async () => {
    const clusterId = randomUUID();
    const p = provider();
    const net = await p.ensureNetwork(specFor(clusterId));
    const inst = await p.createInstance({ clusterId, nodeId: randomUUID(), name: `${resourcePrefix(clusterId)}-master-0`, role: 'master', instanceType: 's-2vcpu-4gb', userData: '#cloud-config\n{}\n', network: net });
    const fw = (await s.call('GET', `/firewalls/${net.securityGroupIds.master}`)).body.firewall as { tags: string[] };
    const d = (await s.call('GET', `/droplets/${inst.id}`)).body.droplet as { tags: string[] };
    expect(d.tags).toEqual(expect.arrayContaining(fw.tags));
    expect(inst.tags).toMatchObject({ 'skyweave-cluster': clusterId, 'skyweave-role': 'master', 'skyweave-master': clusterId });
  });
});

describe('DigitalOcean sandbox: gaps, catalogue, actions, keys, projects (issue 15)', () => {
  let s: Sandbox;
  const pub = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKBDJ+j3EWfBy13ypxcft8iinlUmxapGSy+Pzu4VNBJg me@host';
  beforeEach(async () => {
    s = await startSandbox();
  });
  afterEach(async () => {
    await s.close();
  });

  it('answers a real API route it does not serve with the sandbox\'s 501, and a path that is no route with 404 not_found', async () => {
    for (const [method, path, op] of [
      ['POST', '/volumes', 'POST /v2/volumes'],
      ['GET', '/kubernetes/clusters', 'GET /v2/kubernetes/clusters'],
      ['POST', '/droplets/123/actions', 'POST /v2/droplets/:droplet_id/actions'],
      ['PATCH', '/vpcs/abc', 'PATCH /v2/vpcs/:vpc_id'],
      ['GET', '/droplets/autoscale', 'GET /v2/droplets/autoscale'],
    ] as const) {
      const r = await s.call(method, path);
      expect([method, path, r.status, r.headers.get('x-skyweave-sandbox-unimplemented')]).toEqual([method, path, 501, op]);
      expect(r.body).toMatchObject({ sandbox: 'skyweave-cloud-emulator', error: 'NotImplementedBySandbox', cloud: 'digitalocean', operation: op });
    }
    for (const [method, path] of [['GET', '/nothing-here'], ['GET', '/droplets/1/nonsense'], ['POST', '/regions']] as const) {
      const r = await s.call(method, path);
      expect([method, path, r.status, r.body.id]).toEqual([method, path, 404, 'not_found']);
    }
    // Authentication still comes first.
    expect((await s.call('POST', '/volumes', {}, 'dop_v1_nope')).status).toBe(401);
    // A variant of a served call the sandbox lacks: several Droplets at once.
    const multi = await s.call('POST', '/droplets', { ...droplet(), name: undefined, names: ['a', 'b'] });
    expect([multi.status, multi.body.operation]).toEqual([501, 'POST /v2/droplets (names[]: multiple Droplets)']);
  });

  it('serves images (distribution list, by slug and by id) and a complete region list', async () => {
    const list = await s.call('GET', '/images?type=distribution&per_page=200');
    const images = list.body.images as { slug: string; id: number; distribution: string; type: string }[];
    expect(images.map((i) => i.slug)).toEqual(expect.arrayContaining(['ubuntu-24-04-x64', 'ubuntu-22-04-x64', 'debian-12-x64']));
    expect((await s.call('GET', '/images?private=true')).body).toMatchObject({ images: [], meta: { total: 0 } });
    const bySlug = (await s.call('GET', '/images/ubuntu-24-04-x64')).body.image as { id: number; distribution: string };
    expect(bySlug.distribution).toBe('Ubuntu');
    expect((await s.call('GET', `/images/${bySlug.id}`)).body.image).toMatchObject({ slug: 'ubuntu-24-04-x64' });
    expect((await s.call('GET', '/images/ubuntu-10-04-x64')).status).toBe(404);
    const regions = (await s.call('GET', '/regions?per_page=200')).body.regions as { slug: string; available: boolean }[];
    expect(regions.filter((r) => r.available).length).toBe(12);
    expect(regions.find((r) => r.slug === 'nyc2')).toMatchObject({ available: false });
    expect((await s.call('POST', '/droplets', droplet({ region: 'nyc2' }))).status).toBe(422);
    expect(((await s.call('GET', '/sizes?per_page=200')).body.sizes as unknown[]).length).toBeGreaterThanOrEqual(50);
  });

  it('follows a Droplet\'s life in its actions: create in-progress → completed, destroy completed', async () => {
    const created = await s.call('POST', '/droplets', droplet());
    const d = created.body.droplet as { id: number };
    const link = (created.body.links as { actions: { id: number; href: string }[] }).actions[0];
    expect(link.href).toMatch(new RegExp(`/v2/actions/${link.id}$`));
    expect((await s.call('GET', `/actions/${link.id}`)).body.action).toMatchObject({ id: link.id, type: 'create', status: 'in-progress', resource_id: d.id, resource_type: 'droplet', region_slug: 'nyc1', completed_at: null });
    await new Promise((r) => setTimeout(r, 120));
    expect((await s.call('GET', `/actions/${link.id}`)).body.action).toMatchObject({ status: 'completed' });
    expect((await s.call('GET', `/droplets/${d.id}/actions`)).body).toMatchObject({ actions: [{ id: link.id }], meta: { total: 1 } });
    expect((await s.call('GET', `/droplets/${d.id}/actions/${link.id}`)).status).toBe(200);
    expect((await s.call('DELETE', `/droplets/${d.id}`)).status).toBe(204);
    const all = (await s.call('GET', '/actions')).body.actions as { type: string; status: string; resource_id: number }[];
    expect(all.map((x) => [x.type, x.status, x.resource_id])).toEqual([['destroy', 'completed', d.id], ['create', 'completed', d.id]]);
    expect((await s.call('GET', '/actions/1')).status).toBe(404);
    expect((await s.call('GET', `/actions/${link.id}`, undefined, s.newToken())).status).toBe(404);
  });

  it('keeps SSH keys by id and fingerprint, refuses duplicates and invalid keys, and checks a Droplet\'s ssh_keys', async () => {
    const made = await s.call('POST', '/account/keys', { name: 'me', public_key: pub });
    expect(made.status).toBe(201);
    const key = made.body.ssh_key as { id: number; fingerprint: string };
    expect(key).toMatchObject({ name: 'me', public_key: pub, fingerprint: '01:98:5c:cb:ff:cf:e6:23:65:d6:be:81:a0:6b:c2:81' });
    expect((await s.call('POST', '/account/keys', { name: 'again', public_key: pub })).body).toMatchObject({ id: 'unprocessable_entity', message: 'SSH Key is already in use on your account' });
    expect((await s.call('POST', '/account/keys', { name: 'bad', public_key: 'ssh-rsa nope' })).status).toBe(422);
    expect((await s.call('GET', `/account/keys/${key.fingerprint}`)).body.ssh_key).toMatchObject({ id: key.id });
    expect((await s.call('PUT', `/account/keys/${key.id}`, { name: 'renamed' })).body.ssh_key).toMatchObject({ name: 'renamed' });
    expect((await s.call('GET', '/account/keys')).body.meta).toEqual({ total: 1 });
    expect((await s.call('POST', '/droplets', droplet({ ssh_keys: [key.id, key.fingerprint] }))).status).toBe(202);
    const bad = await s.call('POST', '/droplets', droplet({ name: 'n2', ssh_keys: [12345] }));
    expect(bad.body).toMatchObject({ id: 'unprocessable_entity', message: '12345 are invalid key identifiers for Droplet creation.' });
    expect((await s.call('DELETE', `/account/keys/${key.fingerprint}`)).status).toBe(204);
    expect((await s.call('GET', `/account/keys/${key.id}`)).status).toBe(404);
  });

  it('gives every account its default project, which is no leftover, and answers empty account-wide lists', async () => {
    const projects = (await s.call('GET', '/projects')).body.projects as { id: string; is_default: boolean }[];
    expect(projects).toHaveLength(1);
    expect(projects[0].is_default).toBe(true);
    expect((await s.call('GET', '/projects/default')).body.project).toMatchObject({ id: projects[0].id, is_default: true });
    expect((await s.call('GET', `/projects/${projects[0].id}`)).status).toBe(200);
    expect(s.inventory()).toEqual([]);
    for (const [path, key] of [['/volumes', 'volumes'], ['/load_balancers', 'load_balancers'], ['/domains', 'domains'], ['/reserved_ips', 'reserved_ips'], ['/floating_ips', 'floating_ips']]) {
      expect((await s.call('GET', path)).body).toEqual({ [key]: [], links: {}, meta: { total: 0 } });
    }
    expect((await s.call('GET', '/volumes/506f78a4-e098-11e5-ad9f-000f53306ae1')).status).toBe(404);
  });
});
