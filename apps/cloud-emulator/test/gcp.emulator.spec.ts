import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { SignJWT, importPKCS8 } from 'jose';
import type { GcpCredentials } from '@skyweave/cloud-adapters';
import { RunningEmulator, startEmulator } from '../src/emulator';

/**
 * Strictness of the sandbox's Google Cloud, over raw HTTP: the OAuth 2.0 JWT-bearer exchange, bearer checks, and
 * Compute's validation and error shapes (https://cloud.google.com/compute/docs/reference/rest/v1).
 */
describe('gcp sandbox: wire strictness', () => {
  let emu: RunningEmulator;
  let base: string;
  let key: GcpCredentials;
  let token: string;
  let P: string;

  const assertion = async (k: GcpCredentials, claims: Record<string, unknown> = {}, lifetime = 3600) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ scope: 'https://www.googleapis.com/auth/cloud-platform', ...claims })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(k.client_email)
      .setAudience('https://oauth2.googleapis.com/token')
      .setIssuedAt(now)
      .setExpirationTime(now + lifetime)
      .sign(await importPKCS8(k.private_key, 'RS256'));
  };
  const exchange = async (form: Record<string, string>) => {
    const r = await fetch(`${base}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const api = async (method: string, p: string, body?: unknown, bearer: string | null = token) => {
    const r = await fetch(`${base}/compute/v1/${p}`, {
      method,
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: r.status, body: (await r.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const done = async (op: Record<string, any>) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const scope = op.zone ? `zones/${String(op.zone).split('/').pop()}` : op.region ? `regions/${String(op.region).split('/').pop()}` : 'global';
    const r = await api('POST', `projects/${P}/${scope}/operations/${op.name}/wait`, '');
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('DONE');
    return r.body;
  };
  const reason = (r: { body: Record<string, any> }) => r.body.error?.errors?.[0]?.reason; // eslint-disable-line @typescript-eslint/no-explicit-any

  beforeAll(async () => {
    // instances.setMetadata is probed on purpose: a real method the sandbox lacks (501)
    emu = await startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, latency: { 'instance.boot': 50 }, allowUnimplemented: ['gcp instances.setMetadata'] });
    base = emu.endpoints.gcp ?? '';
    const c = emu.modules.gcp.createAccount();
    if (c.cloud !== 'gcp') throw new Error('expected gcp credentials');
    key = c.gcp;
    P = key.project_id;
    const r = await exchange({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await assertion(key) });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ token_type: 'Bearer', expires_in: 3599 });
    token = String(r.body.access_token);
  });
  afterAll(async () => {
    await emu?.close();
  });

  describe('OAuth 2.0 token endpoint', () => {
    it('issues key files in the service-account shape', () => {
      expect(key).toMatchObject({ type: 'service_account', token_uri: 'https://oauth2.googleapis.com/token' });
      expect(key.client_email).toMatch(new RegExp(`@${P}\\.iam\\.gserviceaccount\\.com$`));
      expect(key.private_key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    });
    it('refuses an unknown service account with invalid_grant', async () => {
      const r = await exchange({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await assertion({ ...key, client_email: `nobody@${P}.iam.gserviceaccount.com` }) });
      expect(r).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'Invalid grant: account not found' } });
    });
    it('refuses a JWT signed with another key', async () => {
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const r = await exchange({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await assertion({ ...key, private_key: other }) });
      expect(r).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' } });
    });
    it('refuses long-lived assertions, missing scopes and other grant types', async () => {
      expect((await exchange({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await assertion(key, {}, 7200) })).body.error).toBe('invalid_grant');
      expect((await exchange({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await assertion(key, { scope: '' }) })).body.error).toBe('invalid_scope');
      expect(await exchange({ grant_type: 'client_credentials' })).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    });
  });

  describe('bearer tokens and projects', () => {
    it('answers 401 UNAUTHENTICATED without or with a bad token, 403 on another project', async () => {
      const none = await api('GET', `projects/${P}`, undefined, null);
      expect(none.status).toBe(401);
      expect(none.body.error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED', errors: [{ reason: 'required' }] });
      const bad = await api('GET', `projects/${P}`, undefined, 'ya29.bogus');
      expect(bad.status).toBe(401);
      expect(reason(bad)).toBe('authError');
      const other = await api('GET', 'projects/someone-else/global/networks');
      expect(other.status).toBe(403);
      expect(reason(other)).toBe('forbidden');
      expect((await api('GET', `projects/${P}`)).body).toMatchObject({ kind: 'compute#project', name: P });
    });
  });

  describe('gaps and defaults', () => {
    it('answers a real Compute method it does not serve with the sandbox\'s 501, a bogus path with Google\'s 404', async () => {
      const r = await fetch(`${base}/compute/v1/projects/${P}/zones/us-east4-a/instances/vm-x/setMetadata`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
      expect(r.status).toBe(501);
      expect(r.headers.get('x-skyweave-sandbox-unimplemented')).toBe('instances.setMetadata');
      expect(await r.json()).toMatchObject({ sandbox: 'skyweave-cloud-emulator', cloud: 'gcp', operation: 'instances.setMetadata' });
      const bogus = await api('GET', `projects/${P}/global/nonsense`);
      expect(bogus.status).toBe(404);
      expect(reason(bogus)).toBe('notFound');
      const calls = (await (await fetch(`${emu.adminUrl}/admin/calls`)).json()) as { unimplemented: { cloud: string; call: string }[] };
      expect(calls.unimplemented).toEqual([expect.objectContaining({ cloud: 'gcp', call: 'instances.setMetadata' })]);
    });
    it('starts a project with the default network (auto mode, a subnet per region, four firewall rules), not counted as leftovers', async () => {
      const n = await api('GET', `projects/${P}/global/networks/default`);
      expect(n.body).toMatchObject({ kind: 'compute#network', name: 'default', autoCreateSubnetworks: true });
      expect(n.body.subnetworks.length).toBeGreaterThanOrEqual(40);
      const sub = await api('GET', `projects/${P}/regions/us-central1/subnetworks/default`);
      expect(sub.body).toMatchObject({ ipCidrRange: '10.128.0.0/20', gatewayAddress: '10.128.0.1' });
      const fws = await api('GET', `projects/${P}/global/firewalls`);
      expect(fws.body.items.map((f: { name: string }) => f.name)).toEqual(['default-allow-icmp', 'default-allow-internal', 'default-allow-rdp', 'default-allow-ssh']);
      expect(n.body.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-0[78]:00$/);
      expect(emu.modules.gcp.inventory()).toEqual([]);
    });
  });

  describe('networks', () => {
    const net = `n-${randomUUID().slice(0, 8)}`;
    it('refuses fields the Network resource does not have (labels) and bad names', async () => {
      const r = await api('POST', `projects/${P}/global/networks`, { name: 'x', autoCreateSubnetworks: false, labels: { a: 'b' } });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toBe('Invalid JSON payload received. Unknown name "labels" at \'resource\': Cannot find field.');
      expect(reason(await api('POST', `projects/${P}/global/networks`, { autoCreateSubnetworks: false }))).toBe('required');
      expect((await api('POST', `projects/${P}/global/networks`, { name: 'Bad_Name', autoCreateSubnetworks: false })).body.error.message).toMatch(/Must be a match of regex/);
      expect((await api('POST', `projects/${P}/global/networks`, { name: 'x', autoCreateSubnetworks: 'no' })).status).toBe(400);
      expect((await api('POST', `projects/${P}/global/networks?bogus=1`, { name: 'x', autoCreateSubnetworks: false })).body.error.message).toMatch(/Cannot bind query parameter/);
      expect((await api('POST', `projects/${P}/global/networks?requestId=not-a-uuid`, { name: 'x', autoCreateSubnetworks: false })).body.error.message).toMatch(/request ID must be a valid UUID/);
    });
    it('is idempotent by requestId and refuses a second network of the same name', async () => {
      const rid = randomUUID();
      const a = await api('POST', `projects/${P}/global/networks?requestId=${rid}`, { name: net, autoCreateSubnetworks: false, description: 'skyweave-cluster=t1' });
      const b = await api('POST', `projects/${P}/global/networks?requestId=${rid}`, { name: net, autoCreateSubnetworks: false, description: 'skyweave-cluster=t1' });
      expect(a.status).toBe(200);
      expect(b.body.name).toBe(a.body.name);
      await done(a.body);
      const dup = await api('POST', `projects/${P}/global/networks?requestId=${randomUUID()}`, { name: net, autoCreateSubnetworks: false });
      expect(dup.status).toBe(409);
      expect(reason(dup)).toBe('alreadyExists');
      expect(emu.modules.gcp.inventory().filter((i) => i.kind === 'network')).toEqual([expect.objectContaining({ id: net, tags: { 'skyweave-cluster': 't1' } })]);
    });
    it('validates subnetworks: CIDR, overlap, network, region', async () => {
      const sub = (body: Record<string, unknown>, region = 'us-east4') => api('POST', `projects/${P}/regions/${region}/subnetworks`, { name: 's1', network: `global/networks/${net}`, ipCidrRange: '10.0.0.0/24', ...body });
      expect((await sub({ ipCidrRange: '10.0.0.0/33' })).status).toBe(400);
      expect((await sub({ ipCidrRange: '10.0.0.1/24' })).status).toBe(400);
      expect((await sub({ ipCidrRange: 'banana' })).status).toBe(400);
      expect(reason(await sub({ ipCidrRange: undefined }))).toBe('required');
      expect((await sub({ network: 'global/networks/nope' })).status).toBe(404);
      expect((await sub({}, 'mars-1')).body.error.message).toMatch(/Unknown region/);
      expect((await sub({ labels: { a: 'b' } })).body.error.message).toMatch(/Unknown name "labels"/);
      await done((await sub({})).body);
      const overlap = await sub({ name: 's2', ipCidrRange: '10.0.0.0/16' }, 'us-east1');
      expect(overlap.status).toBe(400);
      expect(overlap.body.error.message).toMatch(/conflicts with existing subnetwork 's1'/);
    });
    it('validates firewalls', async () => {
      const fw = (body: Record<string, unknown>) => api('POST', `projects/${P}/global/firewalls`, { name: 'f1', network: `global/networks/${net}`, allowed: [{ IPProtocol: 'tcp', ports: ['22'] }], ...body });
      expect((await fw({ labels: { a: 'b' } })).body.error.message).toMatch(/Unknown name "labels"/);
      expect((await fw({ allowed: [{ IPProtocol: 'icmp', ports: ['1'] }] })).status).toBe(400);
      expect((await fw({ allowed: [{ IPProtocol: 'tcp', ports: ['70000'] }] })).status).toBe(400);
      expect((await fw({ denied: [{ IPProtocol: 'udp' }] })).status).toBe(400);
      expect((await fw({ sourceRanges: ['300.0.0.0/8'] })).status).toBe(400);
      expect((await fw({ direction: 'SIDEWAYS' })).status).toBe(400);
      const ok = await fw({ description: 'skyweave-cluster=t1', targetTags: ['web'] });
      await done(ok.body);
      const got = await api('GET', `projects/${P}/global/firewalls/f1`);
      expect(got.body).toMatchObject({ direction: 'INGRESS', priority: 1000, sourceRanges: ['0.0.0.0/0'], allowed: [{ IPProtocol: 'tcp', ports: ['22'] }] });
    });
  });

  describe('instances', () => {
    const zone = 'us-east4-a';
    const netOf = () => emu.modules.gcp.inventory().find((i) => i.kind === 'network')?.id ?? '';
    const body = (extra: Record<string, unknown> = {}) => ({
      name: 'vm-1',
      machineType: `zones/${zone}/machineTypes/e2-standard-2`,
      labels: { 'skyweave-cluster': 't1' },
      metadata: { items: [{ key: 'user-data', value: '#cloud-config\n{}\n' }] },
      disks: [{ boot: true, autoDelete: true, initializeParams: { sourceImage: 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64' } }],
      networkInterfaces: [{ subnetwork: 'regions/us-east4/subnetworks/s1', accessConfigs: [{ type: 'ONE_TO_ONE_NAT' }] }],
      ...extra,
    });
    const insert = (b: Record<string, unknown>) => api('POST', `projects/${P}/zones/${zone}/instances?requestId=${randomUUID()}`, b);

    it('validates machine type, image, labels, disks and network interfaces', async () => {
      expect((await insert(body({ machineType: `zones/${zone}/machineTypes/huge-1` }))).body.error.message).toMatch(/Machine type with name 'huge-1' does not exist/);
      expect((await insert(body({ machineType: 'zones/us-east1-b/machineTypes/e2-standard-2' }))).status).toBe(400);
      expect((await insert(body({ disks: [{ boot: true, initializeParams: { sourceImage: 'projects/ubuntu-os-cloud/global/images/family/windows-95' } }] }))).status).toBe(404);
      expect((await insert(body({ disks: [] }))).status).toBe(400);
      expect((await insert(body({ labels: { Cluster: 'x' } }))).body.error.message).toMatch(/Label key 'Cluster' violates format constraints/);
      expect((await insert(body({ labels: { a: 'UPPER' } }))).body.error.message).toMatch(/Label value 'UPPER' violates format constraints/);
      expect((await insert(body({ networkInterfaces: [{ subnetwork: 'regions/us-east4/subnetworks/nope' }] }))).status).toBe(404);
      expect((await insert(body({ networkInterfaces: [{ network: `global/networks/${netOf()}` }] }))).body.error.message).toMatch(/Subnetwork should be specified/);
      expect((await insert(body({ metadata: { items: [{ key: 'a', value: '1' }, { key: 'a', value: '2' }] } }))).status).toBe(400);
      expect((await api('POST', `projects/${P}/zones/us-east4-z/instances`, body())).body.error.message).toMatch(/Unknown zone/);
    });

    it('reports quota and capacity in the operation, creating nothing', async () => {
      emu.faults.arm({ cloud: 'gcp', op: 'instance.create', kind: 'quota', count: 1 });
      const q = await done((await insert(body({ name: 'vm-q' }))).body);
      expect(q.error.errors[0]).toMatchObject({ code: 'QUOTA_EXCEEDED' });
      expect(q.httpErrorStatusCode).toBe(403);
      emu.faults.arm({ cloud: 'gcp', op: 'instance.create', kind: 'capacity', count: 1 });
      const c = await done((await insert(body({ name: 'vm-c' }))).body);
      expect(c.error.errors[0]).toMatchObject({ code: 'ZONE_RESOURCE_POOL_EXHAUSTED' });
      expect((await api('GET', `projects/${P}/zones/${zone}/instances`)).body.items).toBeUndefined();
    });

    it('answers throttling and server errors in Compute\'s shape', async () => {
      emu.faults.arm({ cloud: 'gcp', op: 'read', kind: 'throttle', count: 1 });
      const t = await api('GET', `projects/${P}/global/networks`);
      expect(t.status).toBe(403);
      expect(t.body.error.errors[0]).toMatchObject({ domain: 'usageLimits', reason: 'rateLimitExceeded' });
      emu.faults.arm({ cloud: 'gcp', op: 'read', kind: 'server-error', count: 1 });
      const s = await api('GET', `projects/${P}/global/networks`);
      expect(s.status).toBe(503);
      expect(reason(s)).toBe('backendError');
    });

    it('creates, boots with the user-data, lists by label and by page', async () => {
      const rid = randomUUID();
      const op = await api('POST', `projects/${P}/zones/${zone}/instances?requestId=${rid}`, body());
      expect(op.body).toMatchObject({ kind: 'compute#operation', operationType: 'insert', status: 'RUNNING' });
      const again = await api('POST', `projects/${P}/zones/${zone}/instances?requestId=${rid}`, body());
      expect(again.body.name).toBe(op.body.name);
      await done(op.body);
      await done((await insert(body({ name: 'vm-2', labels: { 'skyweave-cluster': 't2' } }))).body);
      const deadline = Date.now() + 5000;
      let vm: Record<string, any> = {}; // eslint-disable-line @typescript-eslint/no-explicit-any
      while (Date.now() < deadline && vm.status !== 'RUNNING') {
        vm = (await api('GET', `projects/${P}/zones/${zone}/instances/vm-1`)).body;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(vm.status).toBe('RUNNING');
      expect(vm.networkInterfaces[0].networkIP).toBe('10.0.0.2');
      expect(vm.networkInterfaces[0].accessConfigs[0].natIP).toMatch(/^198\.51\.100\./);
      const userData = path.join(emu.vms.fsRoot('vm-1'), 'var/lib/cloud/instance/user-data.txt');
      expect(existsSync(userData) && readFileSync(userData, 'utf8')).toBe('#cloud-config\n{}\n');

      const byLabel = await api('GET', `projects/${P}/zones/${zone}/instances?filter=${encodeURIComponent('labels.skyweave-cluster = "t1"')}`);
      expect(byLabel.body.items.map((i: { name: string }) => i.name)).toEqual(['vm-1']);
      expect((await api('GET', `projects/${P}/zones/${zone}/instances?filter=${encodeURIComponent('labels.a = "x" labels.b = "y"')}`)).body.error.message).toMatch(/Invalid list filter expression/);
      const page1 = await api('GET', `projects/${P}/zones/${zone}/instances?maxResults=1`);
      expect(page1.body.items).toHaveLength(1);
      const page2 = await api('GET', `projects/${P}/zones/${zone}/instances?maxResults=1&pageToken=${page1.body.nextPageToken}`);
      expect(page2.body.items.map((i: { name: string }) => i.name)).toEqual(['vm-2']);
      expect(page2.body.nextPageToken).toBeUndefined();
      const agg = await api('GET', `projects/${P}/aggregated/instances?filter=${encodeURIComponent('name = "vm-2"')}`);
      expect(agg.body.items[`zones/${zone}`].instances).toHaveLength(1);
      expect(agg.body.items['zones/us-east4-b'].warning.code).toBe('NO_RESULTS_ON_PAGE');
    });

    it('refuses to delete what is in use, then deletes in order and leaves nothing', async () => {
      const net = netOf();
      const inUseNet = await api('DELETE', `projects/${P}/global/networks/${net}`);
      expect(inUseNet.status).toBe(400);
      expect(reason(inUseNet)).toBe('resourceInUseByAnotherResource');
      const inUseSub = await api('DELETE', `projects/${P}/regions/us-east4/subnetworks/s1`);
      expect(reason(inUseSub)).toBe('resourceInUseByAnotherResource');
      for (const vm of ['vm-1', 'vm-2']) await done((await api('DELETE', `projects/${P}/zones/${zone}/instances/${vm}`)).body);
      expect((await api('GET', `projects/${P}/zones/${zone}/instances/vm-1`)).status).toBe(404);
      await done((await api('DELETE', `projects/${P}/regions/us-east4/subnetworks/s1`)).body);
      await done((await api('DELETE', `projects/${P}/global/firewalls/f1`)).body);
      await done((await api('DELETE', `projects/${P}/global/networks/${net}`)).body);
      expect((await api('DELETE', `projects/${P}/global/networks/${net}`)).status).toBe(404);
      expect((await api('POST', `projects/${P}/global/operations/operation-nope/wait`, '')).status).toBe(404);
      expect(emu.modules.gcp.inventory()).toEqual([]);
    });
  });
});
