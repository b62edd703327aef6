import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  FirewallsClient, GlobalOperationsClient, InstancesClient, NetworksClient, RegionOperationsClient, SubnetworksClient, ZoneOperationsClient,
} from '@google-cloud/compute';
import { JWT } from 'google-auth-library';
import { ClientSecretCredential } from '@azure/identity';
import { ResourceManagementClient } from '@azure/arm-resources';
import { NetworkManagementClient } from '@azure/arm-network';
import { ComputeManagementClient } from '@azure/arm-compute';
import { createApiClient } from 'dots-wrapper';
import type { AwsCredentials, AzureCredentials, CloudCredentials, DigitalOceanCredentials, GcpCredentials } from '@skyweave/cloud-adapters';
import { generateSshPublicKey } from '@skyweave/cloud-adapters/src/azure/azure-helpers';
import { RunningEmulator, startEmulator } from '../src/emulator';

/**
 * The admin API's fault, latency, eventual-consistency and call-counter controls, seen through the official SDKs
 * (set up as the adapters set them up): each cloud's throttling shape as its SDK surfaces it, probabilistic faults
 * with an injected random source, per-cloud latency, and eventual consistency with an injected clock.
 */

let emu: RunningEmulator;
/** The sandbox clock (EmulatorOptions.now). */
let clock = 1_700_000_000_000;
/** Draws the random source answers next; 0.99 once they run out. */
const draws: number[] = [];

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; type: string | null; body: Json }> {
  const r = await fetch(`${emu.adminUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, type: r.headers.get('content-type'), body: text ? JSON.parse(text) : undefined };
}

async function account<C extends CloudCredentials['cloud']>(cloud: C): Promise<Extract<CloudCredentials, { cloud: C }>> {
  const r = await admin('POST', '/admin/accounts', { cloud });
  expect(r.status).toBe(201);
  return r.body.credentials;
}

/** The rejection of `p` (fails the test when `p` resolves). */
async function rejection(p: Promise<unknown>): Promise<Json> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to fail');
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

// ---- SDK clients, built the way the adapters build them ----

let ec2: EC2Client;
const awsClient = (c: AwsCredentials) => new EC2Client({ endpoint: emu.endpoints.aws, region: 'us-east-1', credentials: c, maxAttempts: 1 });

interface Gcp {
  project: string;
  networks: NetworksClient;
  subnetworks: SubnetworksClient;
  firewalls: FirewallsClient;
  instances: InstancesClient;
  globalOps: GlobalOperationsClient;
  regionOps: RegionOperationsClient;
  zoneOps: ZoneOperationsClient;
}
function gcpClients(key: GcpCredentials): Gcp {
  const jwt = new JWT({
    email: key.client_email, key: key.private_key, keyId: key.private_key_id, scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    transporterOptions: { fetchImplementation: globalThis.fetch },
  });
  const tokenUrl = new URL('/token', emu.endpoints.gcp);
  jwt.transporter.interceptors.request.add({
    resolved: async (config) => {
      if (String(config.url) === 'https://oauth2.googleapis.com/token') config.url = tokenUrl;
      return config;
    },
  });
  const url = new URL(emu.endpoints.gcp as string);
  const opts = { fallback: true, authClient: jwt, apiEndpoint: url.hostname, port: Number(url.port), protocol: 'http' } as const;
  return {
    project: key.project_id,
    networks: new NetworksClient(opts), subnetworks: new SubnetworksClient(opts), firewalls: new FirewallsClient(opts), instances: new InstancesClient(opts),
    globalOps: new GlobalOperationsClient(opts), regionOps: new RegionOperationsClient(opts), zoneOps: new ZoneOperationsClient(opts),
  };
}
/** Compute's error body off a GaxiosError (the REST transport leaves it as text). */
const gcpBody = (e: Json): Json => (typeof e.response?.data === 'string' ? JSON.parse(e.response.data) : e.response?.data);
/** Waits for the operation an insert started (`[lro]` of the REST client). */
async function gcpDone(g: Gcp, lro: unknown): Promise<void> {
  const op = (lro as { latestResponse: { name: string; zone?: string; region?: string } }).latestResponse;
  const last = (s: string) => s.split('/').pop() as string;
  const [done] = op.zone
    ? await g.zoneOps.wait({ project: g.project, zone: last(op.zone), operation: op.name })
    : op.region
      ? await g.regionOps.wait({ project: g.project, region: last(op.region), operation: op.name })
      : await g.globalOps.wait({ project: g.project, operation: op.name });
  expect(done.status).toBe('DONE');
  expect(done.error).toBeFalsy();
}

interface Azure { resources: ResourceManagementClient; network: NetworkManagementClient; compute: ComputeManagementClient; sub: string }
function azureClients(c: AzureCredentials): Azure {
  const az = emu.endpoints.azure;
  if (!az) throw new Error('no azure endpoint');
  const tlsOptions = { ca: az.caPem };
  const retryOptions = { maxRetries: 0 };
  const credential = new ClientSecretCredential(c.tenantId, c.clientId, c.clientSecret, { authorityHost: az.authorityHost, disableInstanceDiscovery: true, tlsOptions, retryOptions });
  const common = { endpoint: az.arm, tlsOptions, retryOptions };
  const scope = 'https://management.azure.com/.default';
  return {
    resources: new ResourceManagementClient(credential, c.subscriptionId, { ...common, credentialScopes: [scope] }),
    network: new NetworkManagementClient(credential, c.subscriptionId, { ...common, credentialScopes: [scope] }),
    compute: new ComputeManagementClient(credential, c.subscriptionId, { ...common, credentials: { scopes: [scope] } }),
    sub: c.subscriptionId,
  };
}

const doClient = (c: DigitalOceanCredentials) => createApiClient({ token: c.token, endpoint: emu.endpoints.digitalocean, requestTimeoutInMs: 10_000 });

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

beforeAll(async () => {
  emu = await startEmulator({
    ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 },
    latency: { 'instance.boot': 50 },
    random: () => draws.shift() ?? 0.99,
    now: () => clock,
  });
  ec2 = awsClient((await account('aws')).aws);
});
afterAll(async () => {
  await emu?.close();
});
afterEach(async () => {
  await admin('DELETE', '/admin/faults');
  draws.length = 0;
});

describe('admin API validation', () => {
  const expectProblem = (r: { status: number; type: string | null; body: Json }, field: string, detail: RegExp) => {
    expect(r.status).toBe(400);
    expect(r.type).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ type: 'about:blank', title: 'Bad Request', status: 400, 'invalid-params': [{ name: field }] });
    expect(r.body.detail).toMatch(detail);
  };

  it.each([
    [{ cloud: 'mars', op: 'read', kind: 'throttle', count: 1 }, 'cloud', /cloud must be one of aws, gcp, azure, digitalocean/],
    [{ cloud: 'aws', op: 'reads', kind: 'throttle', count: 1 }, 'op', /op must be one of network\.create.*read or \*/],
    [{ cloud: 'aws', op: 'read', kind: 'explode', count: 1 }, 'kind', /kind must be one of throttle, server-error, quota, capacity/],
    [{ cloud: 'aws', op: 'read', kind: 'throttle', rate: 0 }, 'rate', /rate must be a number with 0 < rate ≤ 1/],
    [{ cloud: 'aws', op: 'read', kind: 'throttle', rate: 1.01 }, 'rate', /rate must be a number with 0 < rate ≤ 1/],
    [{ cloud: 'aws', op: 'read', kind: 'throttle', count: 0 }, 'count', /count must be a positive integer/],
    [{ cloud: 'aws', op: 'read', kind: 'throttle', count: 2.5 }, 'count', /count must be a positive integer/],
    [{ cloud: 'aws', op: 'read', kind: 'throttle', count: 1, rate: 0.5 }, 'count', /exactly one of count and rate, not both/],
    [{ cloud: 'aws', op: 'read', kind: 'throttle' }, 'count', /exactly one of count .* and rate/],
    [{ cloud: 'aws', op: 'read', kind: 'throttle', count: 1, times: 3 }, 'times', /unknown field "times"/],
  ])('POST /admin/faults %j → 400 naming %s', async (body, field, detail) => {
    expectProblem(await admin('POST', '/admin/faults', body), field, detail);
  });

  it('refuses bad latency, consistency and cloud parameters', async () => {
    expectProblem(await admin('PUT', '/admin/latency', { reed: 5 }), 'reed', /"reed" is not an operation/);
    expectProblem(await admin('PUT', '/admin/latency', { read: -1 }), 'read', /read must be a number of milliseconds, 0 … 600000/);
    expectProblem(await admin('PUT', '/admin/latency?cloud=gcp', { read: 600_001 }), 'read', /0 … 600000/);
    expectProblem(await admin('PUT', '/admin/latency?cloud=mars', { read: 5 }), 'cloud', /cloud must be one of/);
    expectProblem(await admin('PUT', '/admin/consistency', { cloud: 'aws', delayMs: -5 }), 'delayMs', /delayMs must be a number of milliseconds/);
    expectProblem(await admin('PUT', '/admin/consistency', { cloud: 'pluto', delayMs: 5 }), 'cloud', /cloud must be one of/);
    expectProblem(await admin('GET', '/admin/calls?cloud=mars'), 'cloud', /cloud must be one of/);
    expectProblem(await admin('DELETE', '/admin/faults?cloud=mars'), 'cloud', /cloud must be one of/);
    expectProblem(await admin('POST', '/admin/faults', '{"cloud":'), 'body', /body must be valid JSON/);
    // nothing was changed by the refused calls
    expect((await admin('GET', '/admin/latency')).body).toEqual({ shared: { 'instance.boot': 50 }, clouds: {} });
    expect((await admin('GET', '/admin/consistency')).body).toEqual({ delayMs: { aws: 0, gcp: 0, azure: 0, digitalocean: 0 } });
  });
});

describe('faults', () => {
  it('arms counted and probabilistic faults, lists them and clears them per cloud', async () => {
    const a = await admin('POST', '/admin/faults', { cloud: 'aws', op: 'read', kind: 'throttle', count: 2 });
    expect(a.status).toBe(201);
    expect(a.body.fault).toEqual({ id: expect.any(Number), cloud: 'aws', op: 'read', kind: 'throttle', count: 2 });
    expect((await admin('POST', '/admin/faults', { cloud: 'gcp', op: '*', kind: 'server-error', rate: 0.05 })).status).toBe(201);
    expect((await admin('GET', '/admin/faults')).body.count).toBe(2);
    expect((await admin('GET', '/admin/faults?cloud=gcp')).body.faults).toEqual([{ id: expect.any(Number), cloud: 'gcp', op: '*', kind: 'server-error', rate: 0.05 }]);
    expect((await admin('DELETE', '/admin/faults?cloud=aws')).status).toBe(204);
    expect((await admin('GET', '/admin/faults')).body.faults.map((f: Json) => f.cloud)).toEqual(['gcp']);
    expect((await admin('DELETE', '/admin/faults')).status).toBe(204);
    expect((await admin('GET', '/admin/faults')).body).toEqual({ faults: [], count: 0 });
  });

  it('rate 1 fails every call; a draw above the rate never fails one', async () => {
    await admin('POST', '/admin/faults', { cloud: 'aws', op: 'read', kind: 'throttle', rate: 1 });
    for (let i = 0; i < 3; i++) {
      const e = await rejection(ec2.send(new DescribeVpcsCommand({})));
      expect({ name: e.name, status: e.$metadata?.httpStatusCode, message: e.message }).toEqual({ name: 'RequestLimitExceeded', status: 503, message: 'Request limit exceeded.' });
    }
    await admin('DELETE', '/admin/faults?cloud=aws');
    await admin('POST', '/admin/faults', { cloud: 'aws', op: 'read', kind: 'throttle', rate: 0.5 });
    for (let i = 0; i < 3; i++) await expect(ec2.send(new DescribeVpcsCommand({}))).resolves.toBeDefined(); // draws 0.99
  });

  it('draws each armed rate independently; the first hit decides the call', async () => {
    await admin('POST', '/admin/faults', { cloud: 'aws', op: '*', kind: 'throttle', rate: 0.1 });
    await admin('POST', '/admin/faults', { cloud: 'aws', op: '*', kind: 'server-error', rate: 0.05 });
    draws.push(0.5, 0.01); // throttle misses, server error hits
    const e1 = await rejection(ec2.send(new DescribeVpcsCommand({})));
    expect({ name: e1.name, status: e1.$metadata?.httpStatusCode }).toEqual({ name: 'InternalError', status: 500 });
    draws.push(0.05); // throttle hits; the server error is not drawn
    expect((await rejection(ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' })))).name).toBe('RequestLimitExceeded');
    expect(draws).toEqual([]);
    draws.push(0.5, 0.5);
    await expect(ec2.send(new DescribeVpcsCommand({}))).resolves.toBeDefined();
  });

  it('GCP: throttling is 403 rateLimitExceeded (usageLimits), a server error 503 backendError, as the Compute client sees them', async () => {
    const g = gcpClients((await account('gcp')).gcp);
    await g.networks.list({ project: g.project }); // token
    await admin('POST', '/admin/faults', { cloud: 'gcp', op: 'read', kind: 'throttle', count: 1 });
    const e = await rejection(g.networks.list({ project: g.project }));
    // The REST transport throws a GaxiosError: the HTTP status and Compute's error body.
    expect({ name: e.name, status: e.status }).toEqual({ name: 'Error', status: 403 });
    expect(gcpBody(e).error).toMatchObject({ code: 403, errors: [{ domain: 'usageLimits', reason: 'rateLimitExceeded' }] });
    expect(e.message).toMatch(/Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service 'compute\.googleapis\.com'/);
    await admin('POST', '/admin/faults', { cloud: 'gcp', op: 'network.create', kind: 'server-error', count: 1 });
    const s = await rejection(g.networks.insert({ project: g.project, networkResource: { name: 'boom', autoCreateSubnetworks: false } }));
    expect(s.status).toBe(503);
    expect(gcpBody(s).error).toMatchObject({ code: 503, errors: [{ domain: 'global', reason: 'backendError' }] });
  });

  it('Azure: throttling is 429 TooManyRequests with Retry-After and x-ms-ratelimit-remaining-*; a server error 500', async () => {
    const az = azureClients((await account('azure')).azure);
    await collect(az.resources.resourceGroups.list()); // token
    await admin('POST', '/admin/faults', { cloud: 'azure', op: 'read', kind: 'throttle', count: 1 });
    const e = await rejection(az.resources.resourceGroups.get('anything'));
    expect({ name: e.name, statusCode: e.statusCode, code: e.code }).toEqual({ name: 'RestError', statusCode: 429, code: 'TooManyRequests' });
    expect(e.response.headers.get('retry-after')).toBe('1');
    expect(e.response.headers.get('x-ms-ratelimit-remaining-subscription-reads')).toBe('0');
    await admin('POST', '/admin/faults', { cloud: 'azure', op: 'network.create', kind: 'server-error', count: 1 });
    const s = await rejection(az.resources.resourceGroups.createOrUpdate('rg-boom', { location: 'eastus' }));
    expect({ statusCode: s.statusCode, code: s.code }).toEqual({ statusCode: 500, code: 'InternalServerError' });
  });

  it('DigitalOcean: throttling is 429 too_many_requests with ratelimit-limit/-remaining/-reset; a server error 500', async () => {
    const api = doClient((await account('digitalocean')).digitalocean);
    await admin('POST', '/admin/faults', { cloud: 'digitalocean', op: 'read', kind: 'throttle', count: 1 });
    const e = await rejection(api.vpc.listVpcs({}));
    expect(e.response.status).toBe(429);
    expect(e.response.data).toMatchObject({ id: 'too_many_requests', message: 'API Rate limit exceeded.' });
    expect(e.response.headers['ratelimit-limit']).toBe('5000');
    expect(e.response.headers['ratelimit-remaining']).toBe('0');
    expect(Number(e.response.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
    await admin('POST', '/admin/faults', { cloud: 'digitalocean', op: '*', kind: 'server-error', rate: 1 });
    const s = await rejection(api.vpc.listVpcs({}));
    expect(s.response.status).toBe(500);
    expect(s.response.data).toMatchObject({ id: 'server_error' });
  });
});

describe('per-cloud latency', () => {
  it('a cloud override wins over the shared profile, and can be dropped', async () => {
    const g = gcpClients((await account('gcp')).gcp);
    await g.networks.list({ project: g.project }); // token
    const put = await admin('PUT', '/admin/latency?cloud=gcp', { read: 200 });
    expect(put).toMatchObject({ status: 200, body: { read: 200 } });
    const shared = await admin('PUT', '/admin/latency', { read: 0 }); // the shared profile keeps working
    expect(shared.body).toEqual({ 'instance.boot': 50, read: 0 });
    expect((await admin('GET', '/admin/latency')).body).toEqual({ shared: { 'instance.boot': 50, read: 0 }, clouds: { gcp: { read: 200 } } });
    expect(await timed(() => g.networks.list({ project: g.project }))).toBeGreaterThanOrEqual(150);
    expect(await timed(() => ec2.send(new DescribeVpcsCommand({})))).toBeLessThan(100);
    expect((await admin('DELETE', '/admin/latency?cloud=gcp')).status).toBe(204);
    expect(await timed(() => g.networks.list({ project: g.project }))).toBeLessThan(100);
    expect((await admin('GET', '/admin/latency')).body.clouds).toEqual({});
  });
});

describe('eventual consistency (injected clock)', () => {
  const DELAY = 5_000;
  const setDelay = async (cloud: string, delayMs: number) => {
    const r = await admin('PUT', '/admin/consistency', { cloud, delayMs });
    expect(r.status).toBe(200);
    expect(r.body.delayMs[cloud]).toBe(delayMs);
  };

  it('EC2: new VPC, subnet, security group and instance are NotFound to describes and left out of lists, until the window passes', async () => {
    const c = awsClient((await account('aws')).aws);
    await setDelay('aws', DELAY);
    try {
      const created = await c.send(new CreateVpcCommand({ CidrBlock: '10.10.0.0/16' }));
      const vpc = created.Vpc?.VpcId as string;
      expect(created.Vpc?.CidrBlock).toBe('10.10.0.0/16'); // the creating call's answer has it
      const notFound = async (p: Promise<unknown>, code: string) => {
        const e = await rejection(p);
        expect({ name: e.name, status: e.$metadata?.httpStatusCode }).toEqual({ name: code, status: 400 });
      };
      await notFound(c.send(new DescribeVpcsCommand({ VpcIds: [vpc] })), 'InvalidVpcID.NotFound');
      // the list holds only the region's default VPC, which comes with the account
      expect(((await c.send(new DescribeVpcsCommand({}))).Vpcs ?? []).filter((v) => !v.IsDefault)).toEqual([]);
      // mutations naming the VPC work
      const subnet = (await c.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.10.1.0/24' }))).Subnet?.SubnetId as string;
      const sg = (await c.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: 'ec', Description: 'ec' }))).GroupId as string;
      await notFound(c.send(new DescribeSubnetsCommand({ SubnetIds: [subnet] })), 'InvalidSubnetID.NotFound');
      expect((await c.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc] }] }))).Subnets ?? []).toEqual([]);
      await notFound(c.send(new DescribeSecurityGroupsCommand({ GroupIds: [sg] })), 'InvalidGroup.NotFound');
      const images = await c.send(new DescribeImagesCommand({ Owners: ['099720109477'], Filters: [{ Name: 'name', Values: ['ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*'] }] }));
      const run = await c.send(new RunInstancesCommand({ ImageId: images.Images?.[0]?.ImageId, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, SubnetId: subnet, SecurityGroupIds: [sg] }));
      const instance = run.Instances?.[0]?.InstanceId as string;
      await notFound(c.send(new DescribeInstancesCommand({ InstanceIds: [instance] })), 'InvalidInstanceID.NotFound');
      expect((await c.send(new DescribeInstancesCommand({}))).Reservations ?? []).toEqual([]);

      clock += DELAY;
      expect((await c.send(new DescribeVpcsCommand({ VpcIds: [vpc] }))).Vpcs?.map((v) => v.VpcId)).toEqual([vpc]);
      expect((await c.send(new DescribeSubnetsCommand({ SubnetIds: [subnet] }))).Subnets?.map((s) => s.SubnetId)).toEqual([subnet]);
      expect((await c.send(new DescribeSecurityGroupsCommand({ GroupIds: [sg] }))).SecurityGroups?.map((s) => s.GroupId)).toEqual([sg]);
      expect((await c.send(new DescribeInstancesCommand({}))).Reservations?.flatMap((r) => r.Instances?.map((i) => i.InstanceId))).toEqual([instance]);
    } finally {
      await setDelay('aws', 0);
    }
  });

  it('GCP: new network, subnetwork, firewall and instance are 404 notFound to gets and left out of lists, until the window passes', async () => {
    const g = gcpClients((await account('gcp')).gcp);
    const P = g.project;
    await setDelay('gcp', DELAY);
    try {
      const notFound = async (p: Promise<unknown>) => {
        const e = await rejection(p);
        expect(e.status).toBe(404);
        expect(gcpBody(e).error).toMatchObject({ code: 404, errors: [{ domain: 'global', reason: 'notFound' }] });
        expect(e.message).toMatch(/was not found/);
      };
      const [netOp] = await g.networks.insert({ project: P, networkResource: { name: 'ec-net', autoCreateSubnetworks: false } });
      await gcpDone(g, netOp);
      await notFound(g.networks.get({ project: P, network: 'ec-net' }));
      expect((await g.networks.list({ project: P }))[0].map((n) => n.name)).toEqual(['default']); // a new project's own network
      const network = `projects/${P}/global/networks/ec-net`;
      await gcpDone(g, (await g.subnetworks.insert({ project: P, region: 'us-central1', subnetworkResource: { name: 'ec-sub', network, ipCidrRange: '10.20.0.0/24' } }))[0]);
      await gcpDone(g, (await g.firewalls.insert({ project: P, firewallResource: { name: 'ec-fw', network, allowed: [{ IPProtocol: 'tcp', ports: ['22'] }], sourceRanges: ['0.0.0.0/0'] } }))[0]);
      await gcpDone(g, (await g.instances.insert({
        project: P, zone: 'us-central1-a',
        instanceResource: {
          name: 'ec-vm', machineType: 'zones/us-central1-a/machineTypes/e2-small',
          disks: [{ boot: true, autoDelete: true, initializeParams: { sourceImage: 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64' } }],
          networkInterfaces: [{ subnetwork: `projects/${P}/regions/us-central1/subnetworks/ec-sub` }],
        },
      }))[0]);
      await notFound(g.subnetworks.get({ project: P, region: 'us-central1', subnetwork: 'ec-sub' }));
      await notFound(g.firewalls.get({ project: P, firewall: 'ec-fw' }));
      await notFound(g.instances.get({ project: P, zone: 'us-central1-a', instance: 'ec-vm' }));
      expect((await g.subnetworks.list({ project: P, region: 'us-central1' }))[0].map((s) => s.name)).toEqual(['default']);
      expect((await g.firewalls.list({ project: P }))[0].filter((f) => !f.name?.startsWith('default-'))).toEqual([]);
      expect((await g.instances.list({ project: P, zone: 'us-central1-a' }))[0]).toEqual([]);

      clock += DELAY;
      expect((await g.networks.get({ project: P, network: 'ec-net' }))[0].name).toBe('ec-net');
      expect((await g.subnetworks.get({ project: P, region: 'us-central1', subnetwork: 'ec-sub' }))[0].ipCidrRange).toBe('10.20.0.0/24');
      expect((await g.firewalls.list({ project: P }))[0].map((f) => f.name).filter((n) => !n?.startsWith('default-'))).toEqual(['ec-fw']);
      expect((await g.instances.get({ project: P, zone: 'us-central1-a', instance: 'ec-vm' }))[0].name).toBe('ec-vm');
    } finally {
      await setDelay('gcp', 0);
    }
  });

  it('Azure: new resource group, VNet/subnet, NSG, NIC and VM are 404 to gets and left out of lists, until the window passes', async () => {
    const az = azureClients((await account('azure')).azure);
    // long enough that the SDK's first poll of each PUT sees it running (its final GET comes after the window)
    await admin('PUT', '/admin/latency?cloud=azure', { 'network.create': 400, 'firewall.create': 400, 'gateway.create': 400, 'instance.create': 400 });
    await setDelay('azure', DELAY);
    try {
      const notFound = async (p: Promise<unknown>, code: string) => {
        const e = await rejection(p);
        expect({ statusCode: e.statusCode, code: e.code }).toEqual({ statusCode: 404, code });
      };
      const rg = await az.resources.resourceGroups.createOrUpdate('ec-rg', { location: 'eastus' });
      expect(rg.name).toBe('ec-rg');
      await notFound(az.resources.resourceGroups.get('ec-rg'), 'ResourceGroupNotFound');
      expect((await collect(az.resources.resourceGroups.list())).map((g) => g.name)).toEqual([]);
      expect(await az.resources.resourceGroups.checkExistence('ec-rg')).toEqual({ body: false });
      clock += DELAY;
      expect((await az.resources.resourceGroups.get('ec-rg')).name).toBe('ec-rg');

      const poll = { updateIntervalInMs: 20 };
      const vnet = await az.network.virtualNetworks.beginCreateOrUpdate('ec-rg', 'ec-vnet', {
        location: 'eastus', addressSpace: { addressPrefixes: ['10.30.0.0/16'] }, subnets: [{ name: 'nodes', addressPrefix: '10.30.1.0/24' }],
      }, poll);
      const nsg = await az.network.networkSecurityGroups.beginCreateOrUpdate('ec-rg', 'ec-nsg', { location: 'eastus' }, poll);
      await notFound(az.network.virtualNetworks.get('ec-rg', 'ec-vnet'), 'ResourceNotFound');
      await notFound(az.network.subnets.get('ec-rg', 'ec-vnet', 'nodes'), 'ResourceNotFound');
      await notFound(az.network.networkSecurityGroups.get('ec-rg', 'ec-nsg'), 'ResourceNotFound');
      const sub = `/subscriptions/${az.sub}/resourceGroups/ec-rg/providers/Microsoft.Network`;
      const nic = await az.network.networkInterfaces.beginCreateOrUpdate('ec-rg', 'ec-nic', {
        location: 'eastus', networkSecurityGroup: { id: `${sub}/networkSecurityGroups/ec-nsg` },
        ipConfigurations: [{ name: 'ipconfig1', primary: true, privateIPAllocationMethod: 'Dynamic', subnet: { id: `${sub}/virtualNetworks/ec-vnet/subnets/nodes` } }],
      }, poll);
      await notFound(az.network.networkInterfaces.get('ec-rg', 'ec-nic'), 'ResourceNotFound');
      const vm = await az.compute.virtualMachines.beginCreateOrUpdate('ec-rg', 'ec-vm', {
        location: 'eastus',
        hardwareProfile: { vmSize: 'Standard_B2s' },
        storageProfile: {
          imageReference: { publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server', version: 'latest' },
          osDisk: { createOption: 'FromImage', deleteOption: 'Delete', caching: 'ReadWrite', managedDisk: { storageAccountType: 'StandardSSD_LRS' } },
        },
        osProfile: {
          computerName: 'ec-vm', adminUsername: 'skyweave',
          linuxConfiguration: { disablePasswordAuthentication: true, ssh: { publicKeys: [{ path: '/home/skyweave/.ssh/authorized_keys', keyData: generateSshPublicKey() }] } },
        },
        networkProfile: { networkInterfaces: [{ id: `${sub}/networkInterfaces/ec-nic`, primary: true, deleteOption: 'Delete' }] },
      }, poll);
      await notFound(az.compute.virtualMachines.get('ec-rg', 'ec-vm'), 'ResourceNotFound');
      expect(await collect(az.network.virtualNetworks.list('ec-rg'))).toEqual([]);
      expect(await collect(az.network.networkSecurityGroups.listAll())).toEqual([]);
      expect(await collect(az.network.networkInterfaces.list('ec-rg'))).toEqual([]);
      expect(await collect(az.compute.virtualMachines.list('ec-rg'))).toEqual([]);
      expect(await collect(az.resources.resources.listByResourceGroup('ec-rg'))).toEqual([]);

      clock += DELAY;
      // each poller's final GET now sees its resource
      const [v, n, i, m] = await Promise.all([vnet.pollUntilDone(), nsg.pollUntilDone(), nic.pollUntilDone(), vm.pollUntilDone()]);
      expect([v.name, n.name, i.name, m.name]).toEqual(['ec-vnet', 'ec-nsg', 'ec-nic', 'ec-vm']);
      expect((await az.network.subnets.get('ec-rg', 'ec-vnet', 'nodes')).addressPrefix).toBe('10.30.1.0/24');
      expect((await collect(az.compute.virtualMachines.list('ec-rg'))).map((x) => x.name)).toEqual(['ec-vm']);
    } finally {
      await setDelay('azure', 0);
      await admin('DELETE', '/admin/latency?cloud=azure');
    }
  });

  it('DigitalOcean: new VPC, firewall and Droplet are 404 not_found to gets and left out of lists, until the window passes', async () => {
    const api = doClient((await account('digitalocean')).digitalocean);
    await setDelay('digitalocean', DELAY);
    try {
      const notFound = async (p: Promise<unknown>) => {
        const e = await rejection(p);
        expect({ status: e.response?.status, id: e.response?.data?.id }).toEqual({ status: 404, id: 'not_found' });
      };
      const vpc = (await api.vpc.createVpc({ name: 'ec-vpc', region: 'nyc1', ip_range: '10.40.0.0/20' })).data.vpc;
      await notFound(api.vpc.getVpc({ vpc_id: vpc.id }));
      expect((await api.vpc.listVpcs({})).data.vpcs).toEqual([]);
      const fw = (await api.firewall.createFirewall({ name: 'ec-fw', inbound_rules: [{ protocol: 'tcp', ports: '22', sources: { addresses: ['0.0.0.0/0'] } }], outbound_rules: [] })).data.firewall;
      await notFound(api.firewall.getFirewall({ firewall_id: fw.id as string }));
      const droplet = (await api.droplet.createDroplet({ name: 'ec-d', region: 'nyc1', size: 's-2vcpu-4gb', image: 'ubuntu-24-04-x64', vpc_uuid: vpc.id, tags: ['ec'] })).data.droplet;
      await notFound(api.droplet.getDroplet({ droplet_id: droplet.id }));
      expect((await api.droplet.listDroplets({ tag_name: 'ec' })).data.droplets).toEqual([]);
      expect((await api.firewall.listFirewalls({})).data.firewalls).toEqual([]);

      clock += DELAY;
      expect((await api.vpc.getVpc({ vpc_id: vpc.id })).data.vpc.name).toBe('ec-vpc');
      expect((await api.firewall.getFirewall({ firewall_id: fw.id as string })).data.firewall.name).toBe('ec-fw');
      expect((await api.droplet.listDroplets({ tag_name: 'ec' })).data.droplets.map((d) => d.id)).toEqual([droplet.id]);
    } finally {
      await setDelay('digitalocean', 0);
    }
  });
});

describe('call counter', () => {
  it('counts requests per cloud and call name, and resets', async () => {
    const g = gcpClients((await account('gcp')).gcp);
    const az = azureClients((await account('azure')).azure);
    const api = doClient((await account('digitalocean')).digitalocean);
    await g.networks.list({ project: g.project });
    await collect(az.resources.resourceGroups.list());
    expect((await admin('DELETE', '/admin/calls')).status).toBe(204);
    expect((await admin('GET', '/admin/calls')).body).toEqual({ calls: [], total: 0, byCloud: { aws: 0, gcp: 0, azure: 0, digitalocean: 0 }, unimplemented: [] });

    await ec2.send(new DescribeVpcsCommand({}));
    await ec2.send(new DescribeVpcsCommand({}));
    await fetch(emu.endpoints.aws as string, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'Action=Nope&Version=2016-11-15' });
    const [op] = await g.networks.insert({ project: g.project, networkResource: { name: 'counted', autoCreateSubnetworks: false } });
    await gcpDone(g, op);
    await g.networks.list({ project: g.project });
    await az.resources.resourceGroups.createOrUpdate('counted', { location: 'eastus' });
    await az.resources.resourceGroups.get('counted');
    await collect(az.network.virtualNetworks.list('counted'));
    await api.vpc.listVpcs({});
    await api.droplet.getDroplet({ droplet_id: 1 }).catch(() => undefined);

    const r = await admin('GET', '/admin/calls');
    expect(r.status).toBe(200);
    expect(r.body.calls).toEqual([
      { cloud: 'aws', call: '(unknown)', count: 1 },
      { cloud: 'aws', call: 'DescribeVpcs', count: 2 },
      { cloud: 'gcp', call: 'globalOperations.wait', count: 1 },
      { cloud: 'gcp', call: 'networks.insert', count: 1 },
      { cloud: 'gcp', call: 'networks.list', count: 1 },
      { cloud: 'azure', call: 'GET Microsoft.Resources/resourceGroups', count: 1 },
      { cloud: 'azure', call: 'LIST Microsoft.Network/virtualNetworks', count: 1 },
      { cloud: 'azure', call: 'PUT Microsoft.Resources/resourceGroups', count: 1 },
      { cloud: 'digitalocean', call: 'GET /v2/droplets/:id', count: 1 },
      { cloud: 'digitalocean', call: 'GET /v2/vpcs', count: 1 },
    ]);
    expect(r.body.total).toBe(11);
    expect(r.body.byCloud).toEqual({ aws: 3, gcp: 3, azure: 3, digitalocean: 2 });
    expect((await admin('GET', '/admin/calls?cloud=digitalocean')).body).toEqual({
      calls: [{ cloud: 'digitalocean', call: 'GET /v2/droplets/:id', count: 1 }, { cloud: 'digitalocean', call: 'GET /v2/vpcs', count: 1 }],
      total: 2,
      byCloud: { digitalocean: 2 },
      unimplemented: [],
    });
    expect(emu.calls.snapshot().total).toBe(11);
    expect(emu.calls.get('aws', 'DescribeVpcs')).toBe(2);

    expect((await admin('DELETE', '/admin/calls?cloud=aws')).status).toBe(204);
    expect((await admin('GET', '/admin/calls')).body.byCloud).toEqual({ aws: 0, gcp: 3, azure: 3, digitalocean: 2 });
    emu.calls.reset();
    expect((await admin('GET', '/admin/calls')).body.total).toBe(0);
  });

  it('counts the token endpoints under their own names', async () => {
    emu.calls.reset();
    const g = gcpClients((await account('gcp')).gcp);
    const az = azureClients((await account('azure')).azure);
    await g.networks.list({ project: g.project });
    await collect(az.resources.resourceGroups.list());
    expect(emu.calls.get('gcp', 'oauth2.token')).toBe(1);
    expect(emu.calls.get('azure', 'POST /{tenant}/oauth2/v2.0/token')).toBe(1);
    expect(emu.calls.get('azure', 'LIST Microsoft.Resources/resourceGroups')).toBe(1);
  });
});
