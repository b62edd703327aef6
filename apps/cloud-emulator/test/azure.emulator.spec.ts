import * as https from 'node:https';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { generateSshPublicKey } from '@skyweave/cloud-adapters/src/azure/azure-helpers';
import { RunningEmulator, startEmulator } from '../src/emulator';

/**
 * The sandbox Azure answers bad input the way ARM / Entra ID do, over raw HTTPS (no SDK in between), so that the
 * error codes and shapes checked here are the wire's.
 */

interface Res { status: number; headers: Record<string, string | string[] | undefined>; body: unknown; text: string }

let emu: RunningEmulator;
let base: string;
let ca: string;
let creds: { tenantId: string; clientId: string; clientSecret: string; subscriptionId: string };
let token: string;

function request(method: string, url: string, opts: { body?: unknown; form?: Record<string, string>; token?: string | null } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const u = new URL(url, base);
    const payload = opts.form ? new URLSearchParams(opts.form).toString() : opts.body !== undefined ? (typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body)) : undefined;
    const headers: Record<string, string> = {};
    if (payload !== undefined) headers['content-type'] = opts.form ? 'application/x-www-form-urlencoded' : 'application/json';
    const t = opts.token === undefined ? token : opts.token;
    if (t) headers.authorization = `Bearer ${t}`;
    const req = https.request(u, { method, ca, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let body: unknown;
        try { body = text ? JSON.parse(text) : undefined; } catch { body = text; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
      });
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

const NET = '2025-05-01';
const RES = '2025-04-01';
const COMP = '2026-03-01';
const sub = () => `/subscriptions/${creds.subscriptionId}`;
const rgPath = (rg: string) => `${sub()}/resourcegroups/${rg}?api-version=${RES}`;
const net = (rg: string, type: string, name: string) => `${sub()}/resourceGroups/${rg}/providers/Microsoft.Network/${type}/${name}?api-version=${NET}`;
const vmPath = (rg: string, name: string, q = '') => `${sub()}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${name}?api-version=${COMP}${q}`;
const err = (r: Res) => (r.body as { error?: { code?: string; message?: string; target?: string } }).error ?? {};

async function getToken(form: Record<string, string>, tenant = creds.tenantId): Promise<Res> {
  return request('POST', `/${tenant}/oauth2/v2.0/token`, { form, token: null });
}

/** Polls an Azure-AsyncOperation URL until done. */
async function settle(res: Res): Promise<void> {
  const url = res.headers['azure-asyncoperation'];
  if (typeof url !== 'string') return;
  for (let i = 0; i < 100; i++) {
    const r = await request('GET', url);
    if ((r.body as { status: string }).status !== 'InProgress') return;
    await new Promise((ok) => setTimeout(ok, 20));
  }
}

const SSH = generateSshPublicKey();
/** A VM PUT body (the parts these tests change). */
interface VmBody {
  location: string;
  tags: Record<string, string>;
  zones?: string[];
  properties: {
    hardwareProfile?: { vmSize: string };
    storageProfile: { imageReference: { publisher: string; offer: string; sku: string; version: string }; osDisk: Record<string, unknown> };
    osProfile: {
      computerName: string; adminUsername: string; customData?: string;
      linuxConfiguration: { disablePasswordAuthentication: boolean; ssh: { publicKeys: { path: string; keyData: string }[] } };
    };
    networkProfile: { networkInterfaces: { id: string; properties: Record<string, unknown> }[] };
  };
}
const vmBody = (nicId: string, patch: (b: VmBody) => void = () => undefined): VmBody => {
  const b: VmBody = {
    location: 'eastus',
    tags: { 'skyweave-cluster': 'c1' },
    zones: ['1'],
    properties: {
      hardwareProfile: { vmSize: 'Standard_B2s' },
      storageProfile: { imageReference: { publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server', version: 'latest' }, osDisk: { createOption: 'FromImage', deleteOption: 'Delete' } },
      osProfile: {
        computerName: 'vm1', adminUsername: 'skyweave', customData: Buffer.from('#cloud-config\nwrite_files: []\n').toString('base64'),
        linuxConfiguration: { disablePasswordAuthentication: true, ssh: { publicKeys: [{ path: '/home/skyweave/.ssh/authorized_keys', keyData: SSH }] } },
      },
      networkProfile: { networkInterfaces: [{ id: nicId, properties: { deleteOption: 'Delete' } }] },
    },
  };
  patch(b);
  return b;
};

beforeAll(async () => {
  emu = await startEmulator({
    ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 },
    latency: { 'instance.boot': 50 },
    // probed on purpose by 'unimplemented calls' below
    allowUnimplemented: ['azure POST Microsoft.Compute/virtualMachines/start', 'azure PUT Microsoft.Network/routeTables', 'azure LIST Microsoft.Storage/storageAccounts', 'azure PUT Microsoft.Resources/deployments'],
  });
  base = emu.endpoints.azure?.arm ?? '';
  ca = emu.endpoints.azure?.caPem ?? '';
  const c = emu.modules.azure.createAccount();
  if (c.cloud !== 'azure') throw new Error('expected azure credentials');
  creds = c.azure;
  const t = await getToken({ grant_type: 'client_credentials', client_id: creds.clientId, client_secret: creds.clientSecret, scope: 'https://management.azure.com/.default' });
  token = (t.body as { access_token: string }).access_token;
});
afterAll(async () => {
  await emu?.close();
});

describe('Entra ID token endpoint', () => {
  it('issues a bearer token for ARM', async () => {
    const t = await getToken({ grant_type: 'client_credentials', client_id: creds.clientId, client_secret: creds.clientSecret, scope: 'https://management.azure.com/.default' });
    expect(t.status).toBe(200);
    expect(t.body).toMatchObject({ token_type: 'Bearer', expires_in: expect.any(Number) });
  });
  it('refuses a wrong secret with 401 invalid_client AADSTS7000215', async () => {
    const t = await getToken({ grant_type: 'client_credentials', client_id: creds.clientId, client_secret: 'nope', scope: 'https://management.azure.com/.default' });
    expect(t.status).toBe(401);
    expect(t.body).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
  });
  it('refuses an unknown client with 400 unauthorized_client AADSTS700016', async () => {
    const t = await getToken({ grant_type: 'client_credentials', client_id: '00000000-0000-0000-0000-000000000000', client_secret: 'x', scope: 'https://management.azure.com/.default' });
    expect(t.status).toBe(400);
    expect(t.body).toMatchObject({ error: 'unauthorized_client', error_codes: [700016] });
  });
  it('refuses an unknown tenant (AADSTS90002) and a scope that is not ARM', async () => {
    const unknown = await getToken({ grant_type: 'client_credentials', client_id: creds.clientId, client_secret: creds.clientSecret, scope: 'https://management.azure.com/.default' }, '11111111-1111-1111-1111-111111111111');
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ error_codes: [90002] });
    const graph = await getToken({ grant_type: 'client_credentials', client_id: creds.clientId, client_secret: creds.clientSecret, scope: 'https://graph.microsoft.com/.default' });
    expect(graph.status).toBe(400);
    expect(graph.body).toMatchObject({ error: 'invalid_resource' });
  });
  it('serves the tenant OpenID configuration', async () => {
    const r = await request('GET', `/${creds.tenantId}/v2.0/.well-known/openid-configuration`, { token: null });
    expect(r.status).toBe(200);
    expect((r.body as { token_endpoint: string }).token_endpoint).toBe(`${base}/${creds.tenantId}/oauth2/v2.0/token`);
  });
});

describe('ARM front door', () => {
  it('requires a valid bearer token', async () => {
    const none = await request('GET', `${sub()}/resourcegroups?api-version=${RES}`, { token: null });
    expect(none.status).toBe(401);
    expect(err(none).code).toBe('AuthenticationFailed');
    const bad = await request('GET', `${sub()}/resourcegroups?api-version=${RES}`, { token: 'eyJhbGciOiJIUzI1NiJ9.e30.xxx' });
    expect(bad.status).toBe(401);
    expect(err(bad).code).toBe('InvalidAuthenticationToken');
    expect(bad.headers['www-authenticate']).toMatch(/^Bearer /);
  });
  it('requires a supported api-version', async () => {
    const missing = await request('GET', `${sub()}/resourcegroups`);
    expect(missing.status).toBe(400);
    expect(err(missing).code).toBe('MissingApiVersionParameter');
    const wrong = await request('GET', `${sub()}/resourcegroups?api-version=2099-01-01`);
    expect(wrong.status).toBe(400);
    expect(err(wrong).code).toBe('InvalidApiVersionParameter');
    await request('PUT', rgPath('apiv'), { body: { location: 'eastus' } });
    const rp = await request('GET', `${sub()}/resourceGroups/apiv/providers/Microsoft.Network/virtualNetworks/x?api-version=2099-01-01`);
    expect(rp.status).toBe(400);
    expect(err(rp).code).toBe('NoRegisteredProviderFound');
  });
  it('scopes the token to its own subscription', async () => {
    const other = emu.modules.azure.createAccount();
    if (other.cloud !== 'azure') throw new Error('expected azure');
    const foreign = await request('GET', `/subscriptions/${other.azure.subscriptionId}/resourcegroups?api-version=${RES}`);
    expect(foreign.status).toBe(401);
    expect(err(foreign).code).toBe('InvalidAuthenticationTokenTenant');
    const unknown = await request('GET', `/subscriptions/22222222-2222-2222-2222-222222222222/resourcegroups?api-version=${RES}`);
    expect(unknown.status).toBe(404);
    expect(err(unknown).code).toBe('SubscriptionNotFound');
  });
  it('answers malformed JSON with InvalidRequestContent', async () => {
    const r = await request('PUT', rgPath('badjson'), { body: '{"location": ' });
    expect(r.status).toBe(400);
    expect(err(r).code).toBe('InvalidRequestContent');
  });
});

describe('unimplemented calls', () => {
  it('answers a real ARM operation the sandbox lacks with 501 (never 404), and a type that does not exist with InvalidResourceType', async () => {
    await request('PUT', rgPath('unimpl'), { body: { location: 'eastus' } });
    const rt = await request('PUT', net('unimpl', 'routeTables', 'rt'), { body: { location: 'eastus' } });
    expect(rt.status).toBe(501);
    expect(rt.headers['x-skyweave-sandbox-unimplemented']).toBe('PUT Microsoft.Network/routeTables');
    expect(rt.body).toMatchObject({ error: 'NotImplementedBySandbox', cloud: 'azure', operation: 'PUT Microsoft.Network/routeTables' });
    const start = await request('POST', `${sub()}/resourceGroups/unimpl/providers/Microsoft.Compute/virtualMachines/vm/start?api-version=${COMP}`);
    expect(start.status).toBe(501);
    const storage = await request('GET', `${sub()}/providers/Microsoft.Storage/storageAccounts?api-version=2023-05-01`);
    expect(storage.status).toBe(501);
    // Microsoft.Resources spans SDK packages not installed here (deployments …): unknown types there are 501 too
    const deployment = await request('PUT', `${sub()}/resourcegroups/unimpl/providers/Microsoft.Resources/deployments/d?api-version=${RES}`, { body: { properties: {} } });
    expect(deployment.status).toBe(501);
    const locations = await request('GET', `${sub()}/locations?api-version=2022-12-01`);
    expect(locations.status).toBe(200);
    expect((locations.body as { value: { name: string; displayName: string }[] }).value).toContainEqual(expect.objectContaining({ name: 'eastus', displayName: 'East US' }));
    // served reads of types the account has none of are empty lists, not 501
    const lbs = await request('GET', `${sub()}/providers/Microsoft.Network/loadBalancers?api-version=${NET}`);
    expect(lbs.status).toBe(200);
    expect(lbs.body).toEqual({ value: [] });
    // bogus types in an emulated provider keep ARM's answer
    const bogus = await request('GET', net('unimpl', 'fooBars', 'x'));
    expect(bogus.status).toBe(404);
    expect(err(bogus).code).toBe('InvalidResourceType');
    // a method a real type does not take
    const post = await request('POST', `${sub()}/resourcegroups?api-version=${RES}`);
    expect(post.status).toBe(405);
    const calls = emu.calls.snapshot('azure').unimplemented.map((u) => u.call).sort();
    expect(calls).toEqual(['LIST Microsoft.Storage/storageAccounts', 'POST Microsoft.Compute/virtualMachines/start', 'PUT Microsoft.Network/routeTables', 'PUT Microsoft.Resources/deployments']);
  });
});

describe('resource groups and generic listing', () => {
  it('validates location and answers 404 ResourceGroupNotFound', async () => {
    expect(err(await request('PUT', rgPath('noloc'), { body: {} })).code).toBe('LocationRequired');
    expect(err(await request('PUT', rgPath('mars'), { body: { location: 'marsnorth' } })).code).toBe('LocationNotAvailableForResourceGroup');
    const missing = await request('GET', rgPath('nope'));
    expect(missing.status).toBe(404);
    expect(err(missing).code).toBe('ResourceGroupNotFound');
    const created = await request('PUT', rgPath('rg-a'), { body: { location: 'East US', tags: { team: 'x' } } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'rg-a', location: 'eastus', properties: { provisioningState: 'Succeeded' } });
    expect((await request('PUT', rgPath('rg-a'), { body: { location: 'eastus' } })).status).toBe(200);
    expect(err(await request('PUT', rgPath('rg-a'), { body: { location: 'westeurope' } })).code).toBe('InvalidResourceGroupLocation');
    expect(err(await request('PUT', rgPath('rg-a'), { body: { location: 'eastus', tags: { 'a/b': 'x' } } })).code).toBe('InvalidTagNameCharacters');
  });
  it('filters by tag strictly and, as ARM, omits tags from a tag-filtered listing', async () => {
    await request('PUT', rgPath('rg-tags'), { body: { location: 'eastus' } });
    const v = await request('PUT', net('rg-tags', 'virtualNetworks', 'v1'), { body: { location: 'eastus', tags: { 'skyweave-cluster': 'c9', other: 'y' }, properties: { addressSpace: { addressPrefixes: ['10.1.0.0/16'] } } } });
    expect(v.status).toBe(201);
    await request('PUT', net('rg-tags', 'networkSecurityGroups', 'n1'), { body: { location: 'eastus', tags: { 'skyweave-cluster': 'other' } } });
    const q = encodeURIComponent("tagName eq 'skyweave-cluster' and tagValue eq 'c9'");
    const r = await request('GET', `${sub()}/resources?api-version=${RES}&$filter=${q}`);
    expect(r.status).toBe(200);
    const value = (r.body as { value: { name: string; tags?: unknown }[] }).value;
    expect(value.map((x) => x.name)).toEqual(['v1']);
    expect(value[0].tags).toBeUndefined();
    const plain = await request('GET', `${sub()}/resourceGroups/rg-tags/resources?api-version=${RES}`);
    expect((plain.body as { value: { name: string; tags?: unknown }[] }).value.find((x) => x.name === 'v1')?.tags).toEqual({ 'skyweave-cluster': 'c9', other: 'y' });
    const combined = encodeURIComponent("tagName eq 'skyweave-cluster' and tagValue eq 'c9' and resourceType eq 'Microsoft.Network/virtualNetworks'");
    const bad = await request('GET', `${sub()}/resources?api-version=${RES}&$filter=${combined}`);
    expect(bad.status).toBe(400);
    expect(err(bad).code).toBe('InvalidFilterInQueryString');
    const byType = encodeURIComponent("resourceType eq 'Microsoft.Network/networkSecurityGroups'");
    expect((await request('GET', `${sub()}/resources?api-version=${RES}&$filter=${byType}`)).body).toMatchObject({ value: [{ name: 'n1' }] });
  });
});

describe('Microsoft.Network', () => {
  beforeAll(async () => {
    await request('PUT', rgPath('rg-net'), { body: { location: 'eastus' } });
  });
  it('validates address prefixes of VNets and subnets', async () => {
    const vnet = (prefix: string) => request('PUT', net('rg-net', 'virtualNetworks', 'vx'), { body: { location: 'eastus', properties: { addressSpace: { addressPrefixes: [prefix] } } } });
    expect(err(await vnet('10.20.0.0/33')).code).toBe('InvalidAddressPrefixFormat');
    expect(err(await vnet('10.20.1.0/16')).code).toBe('InvalidCIDRNotation');
    expect((await request('PUT', net('nope-rg', 'virtualNetworks', 'vx'), { body: { location: 'eastus', properties: { addressSpace: { addressPrefixes: ['10.0.0.0/16'] } } } })).status).toBe(404);
    const ok = await vnet('10.20.0.0/16');
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ properties: { provisioningState: 'Updating', addressSpace: { addressPrefixes: ['10.20.0.0/16'] } } });
    expect(ok.headers['azure-asyncoperation']).toMatch(/\/providers\/Microsoft.Network\/locations\/eastus\/operations\//);
    await settle(ok);
    const subnet = (name: string, prefix: string) => request('PUT', `${sub()}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vx/subnets/${name}?api-version=${NET}`, { body: { properties: { addressPrefix: prefix } } });
    expect(err(await subnet('s0', '10.30.0.0/24')).code).toBe('NetcfgSubnetRangeOutsideVnet');
    expect((await subnet('s1', '10.20.0.0/24')).status).toBe(201);
    expect(err(await subnet('s2', '10.20.0.128/25')).code).toBe('NetcfgSubnetRangesOverlap');
    const missingVnet = await request('PUT', `${sub()}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/none/subnets/s?api-version=${NET}`, { body: { properties: { addressPrefix: '10.0.0.0/24' } } });
    expect(missingVnet.status).toBe(404);
    expect(err(missingVnet).code).toBe('ResourceNotFound');
  });
  it('runs a PUT as a long-running operation: InProgress until the latency has passed, then Succeeded', async () => {
    emu.latency['network.create'] = 150;
    try {
      const put = await request('PUT', net('rg-net', 'virtualNetworks', 'slow'), { body: { location: 'eastus', properties: { addressSpace: { addressPrefixes: ['10.9.0.0/16'] } } } });
      expect(put.status).toBe(201);
      const op = String(put.headers['azure-asyncoperation']);
      expect((await request('GET', op)).body).toEqual({ status: 'InProgress' });
      expect((await request('GET', net('rg-net', 'virtualNetworks', 'slow'))).body).toMatchObject({ properties: { provisioningState: 'Updating' } });
      await new Promise((ok) => setTimeout(ok, 200));
      expect((await request('GET', op)).body).toEqual({ status: 'Succeeded' });
      expect((await request('GET', net('rg-net', 'virtualNetworks', 'slow'))).body).toMatchObject({ properties: { provisioningState: 'Succeeded' } });
      const noVersion = await request('GET', op.replace(/\?api-version=.*$/, ''));
      expect(err(noVersion).code).toBe('MissingApiVersionParameter');
    } finally {
      emu.latency['network.create'] = 0;
    }
  });
  it('validates NSG security rules', async () => {
    const rule = (p: Record<string, unknown>, name = 'r1') => ({ name, properties: { protocol: 'Tcp', sourcePortRange: '*', destinationPortRange: '6443', sourceAddressPrefix: '0.0.0.0/0', destinationAddressPrefix: '*', access: 'Allow', priority: 100, direction: 'Inbound', ...p } });
    const nsg = (rules: unknown[]) => request('PUT', net('rg-net', 'networkSecurityGroups', 'nsg1'), { body: { location: 'eastus', properties: { securityRules: rules } } });
    expect(err(await nsg([rule({ priority: 50 })])).code).toBe('SecurityRuleInvalidPriority');
    expect(err(await nsg([rule({ destinationPortRange: '70000' })])).code).toBe('SecurityRuleInvalidPortRange');
    expect(err(await nsg([rule({ sourceAddressPrefix: 'nowhere/99' })])).code).toBe('SecurityRuleInvalidAddressPrefix');
    expect(err(await nsg([rule({ protocol: 'Sctp' })])).code).toBe('InvalidRequestFormat');
    expect(err(await nsg([rule({}), rule({ destinationPortRange: '80' }, 'r2')])).code).toBe('SecurityRuleConflict');
    const ok = await nsg([rule({}), rule({ protocol: 'Udp', destinationPortRange: '51820', priority: 101 }, 'r2')]);
    expect(ok.status).toBe(201);
    const body = ok.body as { properties: { securityRules: unknown[]; defaultSecurityRules: { name: string }[] } };
    expect(body.properties.securityRules).toHaveLength(2);
    expect(body.properties.defaultSecurityRules.map((r) => r.name)).toContain('DenyAllInBound');
  });
  it('requires Standard public IPs to be static, and refuses deleting what is in use', async () => {
    const dyn = await request('PUT', net('rg-net', 'publicIPAddresses', 'p1'), { body: { location: 'eastus', sku: { name: 'Standard' }, properties: { publicIPAllocationMethod: 'Dynamic' } } });
    expect(err(dyn).code).toBe('StandardSkuPublicIPAddressesMustBeStatic');
    const pip = await request('PUT', net('rg-net', 'publicIPAddresses', 'p1'), { body: { location: 'eastus', sku: { name: 'Standard' }, properties: { publicIPAllocationMethod: 'Static' } } });
    expect(pip.status).toBe(201);
    expect((pip.body as { properties: { ipAddress: string } }).properties.ipAddress).toMatch(/^203\.0\.113\./);
    const subnetId = `${sub()}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vx/subnets/s1`;
    const badNic = await request('PUT', net('rg-net', 'networkInterfaces', 'nic0'), { body: { location: 'eastus', properties: { ipConfigurations: [{ name: 'c', properties: { subnet: { id: `${subnetId}-missing` } } }] } } });
    expect(err(badNic).code).toBe('InvalidResourceReference');
    const nic = await request('PUT', net('rg-net', 'networkInterfaces', 'nic1'), {
      body: {
        location: 'eastus',
        properties: {
          networkSecurityGroup: { id: `${sub()}/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/nsg1` },
          ipConfigurations: [{ name: 'c', properties: { subnet: { id: subnetId }, publicIPAddress: { id: (pip.body as { id: string }).id } } }],
        },
      },
    });
    expect(nic.status).toBe(201);
    expect((nic.body as { properties: { ipConfigurations: { properties: { privateIPAddress: string } }[] } }).properties.ipConfigurations[0].properties.privateIPAddress).toBe('10.20.0.4');
    expect(err(await request('DELETE', net('rg-net', 'networkSecurityGroups', 'nsg1'))).code).toBe('InUseNetworkSecurityGroupCannotBeDeleted');
    expect(err(await request('DELETE', net('rg-net', 'publicIPAddresses', 'p1'))).code).toBe('PublicIPAddressCannotBeDeleted');
    expect(err(await request('DELETE', `${sub()}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vx/subnets/s1?api-version=${NET}`)).code).toBe('InUseSubnetCannotBeDeleted');
    expect((await request('DELETE', net('rg-net', 'publicIPAddresses', 'never-existed'))).status).toBe(204);
  });
});

describe('Microsoft.Compute', () => {
  let nicId: string;
  beforeAll(async () => {
    await request('PUT', rgPath('rg-vm'), { body: { location: 'eastus' } });
    await settle(await request('PUT', net('rg-vm', 'virtualNetworks', 'v'), { body: { location: 'eastus', properties: { addressSpace: { addressPrefixes: ['10.20.0.0/16'] }, subnets: [{ name: 's', properties: { addressPrefix: '10.20.0.0/24' } }] } } }));
    const pip = await request('PUT', net('rg-vm', 'publicIPAddresses', 'p'), { body: { location: 'eastus', sku: { name: 'Standard' }, properties: { publicIPAllocationMethod: 'Static' } } });
    const nic = await request('PUT', net('rg-vm', 'networkInterfaces', 'n'), {
      body: { location: 'eastus', properties: { ipConfigurations: [{ name: 'c', properties: { subnet: { id: `${sub()}/resourceGroups/rg-vm/providers/Microsoft.Network/virtualNetworks/v/subnets/s` }, publicIPAddress: { id: (pip.body as { id: string }).id, properties: { deleteOption: 'Delete' } } } }] } },
    });
    nicId = (nic.body as { id: string }).id;
  });

  it('validates the VM model as the Compute RP does', async () => {
    const put = (patch: (b: VmBody) => void) => request('PUT', vmPath('rg-vm', 'vm1'), { body: vmBody(nicId, patch) });
    expect(err(await put((b) => { b.properties.osProfile.customData = 'not base64!'; }))).toMatchObject({ code: 'InvalidParameter', target: 'customData' });
    expect(err(await put((b) => { b.properties.osProfile.adminUsername = 'admin'; }))).toMatchObject({ code: 'InvalidParameter', target: 'adminUsername' });
    expect(err(await put((b) => { delete b.properties.hardwareProfile; }))).toMatchObject({ code: 'InvalidParameter', target: 'hardwareProfile.vmSize' });
    expect(err(await put((b) => { b.properties.hardwareProfile = { vmSize: 'Standard_Nope' }; }))).toMatchObject({ code: 'InvalidParameter', target: 'vmSize' });
    expect(err(await put((b) => { b.properties.osProfile.linuxConfiguration.ssh.publicKeys[0].path = '/root/.ssh/authorized_keys'; }))).toMatchObject({ target: 'linuxConfiguration.ssh.publicKeys.path' });
    expect(err(await put((b) => { b.properties.osProfile.linuxConfiguration.ssh.publicKeys[0].keyData = 'ssh-rsa AAAA'; }))).toMatchObject({ target: 'linuxConfiguration.ssh.publicKeys.keyData' });
    expect(err(await put((b) => { b.zones = ['4']; }))).toMatchObject({ code: 'InvalidParameter', target: 'zones' });
    const img = await put((b) => { b.properties.storageProfile.imageReference.sku = 'no-such-sku'; });
    expect(img.status).toBe(404);
    expect(err(img).code).toBe('PlatformImageNotFound');
  });

  it('creates a VM as an LRO, boots it with its decoded custom data, and deletes it with its NIC and public IP', async () => {
    const created = await request('PUT', vmPath('rg-vm', 'vm1'), { body: vmBody(nicId) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ properties: { provisioningState: 'Creating' } });
    expect((created.body as { properties: { osProfile: Record<string, unknown> } }).properties.osProfile.customData).toBeUndefined();
    await settle(created);
    const vmId = (created.body as { id: string }).id;
    let view: Res;
    for (let i = 0; ; i++) {
      view = await request('GET', vmPath('rg-vm', 'vm1', '&$expand=instanceView'));
      const statuses = (view.body as { properties: { instanceView: { statuses: { code: string }[] } } }).properties.instanceView.statuses;
      if (statuses.some((s) => s.code === 'PowerState/running')) break;
      if (i > 100) throw new Error('VM never ran');
      await new Promise((ok) => setTimeout(ok, 20));
    }
    expect(readFileSync(path.join(emu.vms.fsRoot(vmId), 'var/lib/cloud/instance/user-data.txt'), 'utf8')).toBe('#cloud-config\nwrite_files: []\n');
    const changed = await request('PUT', vmPath('rg-vm', 'vm1'), { body: vmBody(nicId, (b) => { b.properties.osProfile.computerName = 'other'; }) });
    expect(changed.status).toBe(409);
    expect(err(changed).code).toBe('PropertyChangeNotAllowed');
    expect(err(await request('DELETE', net('rg-vm', 'networkInterfaces', 'n'))).code).toBe('NicInUse');
    const status = await request('GET', `${sub()}/providers/Microsoft.Compute/virtualMachines?api-version=${COMP}&statusOnly=true`);
    const entry = (status.body as { value: { tags?: unknown; properties: { instanceView?: unknown } }[] }).value[0];
    expect(entry.properties.instanceView).toBeDefined();
    expect(entry.tags).toBeUndefined();
    const expandNoFilter = await request('GET', `${sub()}/providers/Microsoft.Compute/virtualMachines?api-version=${COMP}&$expand=instanceView`);
    expect(err(expandNoFilter).code).toBe('InvalidParameter');
    // its managed OS disk, as Disks - Get and the instance view show it
    const diskId = (view.body as { properties: { storageProfile: { osDisk: { managedDisk: { id: string } } } } }).properties.storageProfile.osDisk.managedDisk.id;
    const disk = await request('GET', `${diskId}?api-version=2025-01-02`);
    expect(disk.status).toBe(200);
    expect(disk.body).toMatchObject({ id: diskId, managedBy: vmId, properties: { diskState: 'Attached', osType: 'Linux', diskSizeGB: 30 } });
    expect((disk.body as { properties: { timeCreated: string } }).properties.timeCreated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00$/);
    const iv = await request('GET', `${sub()}/resourceGroups/rg-vm/providers/Microsoft.Compute/virtualMachines/vm1/instanceView?api-version=${COMP}`);
    expect((iv.body as { statuses: { code: string }[] }).statuses.map((s) => s.code)).toContain('PowerState/running');
    expect((await request('GET', `${diskId}?api-version=${COMP}`)).status).toBe(400); // disks have their own api-version line
    const del = await request('DELETE', vmPath('rg-vm', 'vm1'));
    expect(del.status).toBe(202);
    await settle(del);
    expect((await request('GET', vmPath('rg-vm', 'vm1'))).status).toBe(404);
    expect(err(await request('GET', `${diskId}?api-version=2025-01-02`)).code).toBe('ResourceNotFound'); // deleteOption: Delete
    expect((await request('GET', net('rg-vm', 'networkInterfaces', 'n'))).status).toBe(404);
    expect((await request('GET', net('rg-vm', 'publicIPAddresses', 'p'))).status).toBe(404);
    expect((await request('DELETE', vmPath('rg-vm', 'vm1'))).status).toBe(204);
  });

  it('boots a VM that a second PUT updated before it booted (a client retrying its create), as Azure does', async () => {
    emu.latency['instance.boot'] = 1500;
    try {
      const nic2 = await request('PUT', net('rg-vm', 'networkInterfaces', 'n2'), {
        body: { location: 'eastus', properties: { ipConfigurations: [{ name: 'c', properties: { subnet: { id: `${sub()}/resourceGroups/rg-vm/providers/Microsoft.Network/virtualNetworks/v/subnets/s` } } }] } },
      });
      await settle(nic2);
      const nic2Id = (nic2.body as { id: string }).id;
      const created = await request('PUT', vmPath('rg-vm', 'vm2'), { body: vmBody(nic2Id) });
      expect(created.status).toBe(201);
      await settle(created);
      const vmId = (created.body as { id: string }).id;
      const again = await request('PUT', vmPath('rg-vm', 'vm2'), { body: vmBody(nic2Id, (b) => { b.tags = { retried: 'yes' }; }) });
      expect(again.status).toBe(200);
      await settle(again);
      const running = async () => ((await request('GET', vmPath('rg-vm', 'vm2', '&$expand=instanceView'))).body as { properties: { instanceView: { statuses: { code: string }[] } } })
        .properties.instanceView.statuses.some((x) => x.code === 'PowerState/running');
      expect(await running()).toBe(false);
      for (let i = 0; !(await running()); i++) {
        if (i > 200) throw new Error('VM never ran');
        await new Promise((ok) => setTimeout(ok, 20));
      }
      // cloud-init ran: the VM's disk has its user data, which only a boot writes
      for (let i = 0; !existsSync(path.join(emu.vms.fsRoot(vmId), 'var/lib/cloud/instance/user-data.txt')); i++) {
        if (i > 200) throw new Error('the VM was running but never booted');
        await new Promise((ok) => setTimeout(ok, 20));
      }
      await settle(await request('DELETE', vmPath('rg-vm', 'vm2')));
    } finally {
      emu.latency['instance.boot'] = 50;
    }
  });

  it('answers injected faults in ARM shapes', async () => {
    emu.faults.arm({ cloud: 'azure', op: 'read', kind: 'throttle', count: 1 });
    const t = await request('GET', `${sub()}/resourcegroups?api-version=${RES}`);
    expect(t.status).toBe(429);
    expect(t.headers['retry-after']).toBe('1');
    expect(err(t).code).toBe('TooManyRequests');
    emu.faults.arm({ cloud: 'azure', op: 'read', kind: 'server-error', count: 1 });
    const s = await request('GET', `${sub()}/resourcegroups?api-version=${RES}`);
    expect(s.status).toBe(500);
    expect(err(s).code).toBe('InternalServerError');
    emu.faults.arm({ cloud: 'azure', op: 'instance.create', kind: 'quota', count: 1 });
    const q = await request('PUT', vmPath('rg-vm', 'vmq'), { body: vmBody(nicId) });
    expect(q.status).toBe(409);
    expect(err(q)).toMatchObject({ code: 'OperationNotAllowed', message: expect.stringContaining('Total Regional Cores quota') });
    emu.faults.arm({ cloud: 'azure', op: 'instance.create', kind: 'capacity', count: 1 });
    const c = await request('PUT', vmPath('rg-vm', 'vmq'), { body: vmBody(nicId) });
    expect(c.status).toBe(409);
    expect(err(c).code).toBe('SkuNotAvailable');
  });
});

describe('resource group deletion', () => {
  it('deletes everything inside as a Location-polled operation, but not what another group still uses', async () => {
    await request('PUT', rgPath('rg-shared'), { body: { location: 'eastus' } });
    await request('PUT', rgPath('rg-user'), { body: { location: 'eastus' } });
    await settle(await request('PUT', net('rg-shared', 'virtualNetworks', 'v'), { body: { location: 'eastus', properties: { addressSpace: { addressPrefixes: ['10.50.0.0/16'] }, subnets: [{ name: 's', properties: { addressPrefix: '10.50.0.0/24' } }] } } }));
    await request('PUT', net('rg-shared', 'networkSecurityGroups', 'lonely'), { body: { location: 'eastus' } });
    await request('PUT', net('rg-user', 'networkInterfaces', 'n'), {
      body: { location: 'eastus', properties: { ipConfigurations: [{ name: 'c', properties: { subnet: { id: `${sub()}/resourceGroups/rg-shared/providers/Microsoft.Network/virtualNetworks/v/subnets/s` } } }] } },
    });
    const del = await request('DELETE', rgPath('rg-shared'));
    expect(del.status).toBe(202);
    const location = del.headers.location;
    expect(typeof location).toBe('string');
    const result = await request('GET', String(location));
    expect(result.status).toBe(409);
    expect(err(result).code).toBe('InUseSubnetCannotBeDeleted');
    expect((await request('GET', net('rg-shared', 'virtualNetworks', 'v'))).status).toBe(200);
    expect((await request('GET', net('rg-shared', 'networkSecurityGroups', 'lonely'))).status).toBe(404);
    await request('DELETE', net('rg-user', 'networkInterfaces', 'n'));
    const again = await request('DELETE', rgPath('rg-shared'));
    expect((await request('GET', String(again.headers.location))).status).toBe(200);
    expect((await request('GET', rgPath('rg-shared'))).status).toBe(404);
  });
});
