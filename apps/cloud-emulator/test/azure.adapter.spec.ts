import { randomUUID } from 'node:crypto';
import { ClientSecretCredential } from '@azure/identity';
import { NetworkManagementClient } from '@azure/arm-network';
import { AzureCredentials, CloudProvider, NetworkSpec, NetworkStatus, createCloudProvider, isCloudError } from '@skyweave/cloud-adapters';
import { FIREWALL_PLAN, fixedNetworkCidrs, resourcePrefix, ruleKeys } from '@skyweave/domain';
import { RunningEmulator, startEmulator } from '../src/emulator';

/**
 * Behaviour of the Azure adapter beyond the shared contract, against the sandbox: drifted NSG rules are restored,
 * the delete guard refuses untagged resources, bare VM names work as instance ids, names taken by another node are
 * refused. A second, independent SDK client plays "someone else" changing the cloud.
 */
describe('AzureProvider against the sandbox', () => {
  let emu: RunningEmulator;
  let provider: CloudProvider;
  let creds: AzureCredentials;
  let other: NetworkManagementClient;
  const clusterId = randomUUID();
  const prefix = resourcePrefix(clusterId);
  let spec: NetworkSpec;
  let network: NetworkStatus;

  beforeAll(async () => {
    emu = await startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, latency: { 'instance.boot': 50 } });
    const c = emu.modules.azure.createAccount();
    if (c.cloud !== 'azure') throw new Error('expected azure');
    creds = c.azure;
    provider = createCloudProvider(c, emu.endpoints);
    const az = emu.endpoints.azure;
    if (!az?.caPem) throw new Error('expected a CA');
    const credential = new ClientSecretCredential(creds.tenantId, creds.clientId, creds.clientSecret, { authorityHost: az.authorityHost, disableInstanceDiscovery: true, tlsOptions: { ca: az.caPem } });
    other = new NetworkManagementClient(credential, creds.subscriptionId, { endpoint: az.arm, tlsOptions: { ca: az.caPem }, credentialScopes: ['https://management.azure.com/.default'] });
    spec = { clusterId, namePrefix: prefix, region: 'eastus', zone: '1', ...fixedNetworkCidrs('azure'), firewall: FIREWALL_PLAN };
    network = await provider.ensureNetwork(spec);
  });
  afterAll(async () => {
    await emu?.close();
  });

  it('restores drifted NSG rules on ensureNetwork', async () => {
    const rg = `${prefix}-rg`;
    const nsg = await other.networkSecurityGroups.get(rg, `${prefix}-worker-nsg`);
    await other.networkSecurityGroups.beginCreateOrUpdateAndWait(rg, `${prefix}-worker-nsg`, {
      location: nsg.location, tags: nsg.tags,
      securityRules: [{ name: 'ssh', protocol: 'Tcp', sourcePortRange: '*', destinationPortRange: '22', sourceAddressPrefix: '*', destinationAddressPrefix: '*', access: 'Allow', priority: 200, direction: 'Inbound' }],
    }, { updateIntervalInMs: 10 });
    expect(ruleKeys((await provider.describeFirewall(network)).worker)).toEqual(['tcp:22-22:*']);
    const again = await provider.ensureNetwork(spec);
    expect(again.securityGroupIds).toEqual(network.securityGroupIds);
    expect(ruleKeys((await provider.describeFirewall(network)).worker)).toEqual(ruleKeys(FIREWALL_PLAN.worker));
  });

  it('accepts a bare VM name as instance id and refuses a name taken by another node', async () => {
    const ispec = { clusterId, nodeId: randomUUID(), name: `${prefix}-master-0`, role: 'master' as const, instanceType: 'Standard_B2s', userData: '#cloud-config\n{}\n', network };
    const vm = await provider.createInstance(ispec);
    expect(vm.id).toMatch(/\/providers\/Microsoft\.Compute\/virtualMachines\/sw-[0-9a-f]{8}-master-0$/);
    expect(vm.state).toBe('pending');
    expect((await provider.getInstance('eastus', ispec.name))?.id).toBe(vm.id);
    expect(await provider.getInstance('westeurope', vm.id)).toBeNull();
    const taken = await provider.createInstance({ ...ispec, nodeId: randomUUID() }).then(() => undefined, (e: unknown) => e);
    expect(isCloudError(taken, 'Conflict')).toBe(true);
    await provider.terminateInstance(clusterId, 'eastus', ispec.name);
    expect(await provider.getInstance('eastus', vm.id)).toBeNull();
    expect(emu.modules.azure.inventory().filter((i) => i.kind !== 'resource-group' && !i.id.includes('/virtualNetworks/') && !i.id.includes('/networkSecurityGroups/'))).toEqual([]);
  });

  it('refuses to delete a network holding an untagged resource, then deletes it once that is gone', async () => {
    const rg = `${prefix}-rg`;
    await other.networkSecurityGroups.beginCreateOrUpdateAndWait(rg, 'someone-elses', { location: 'eastus' }, { updateIntervalInMs: 10 });
    const refused = await provider.deleteNetwork(clusterId, 'eastus').then(() => undefined, (e: unknown) => e);
    expect(isCloudError(refused, 'Conflict')).toBe(true);
    expect(await provider.getNetwork(clusterId, 'eastus')).not.toBeNull();
    await other.networkSecurityGroups.beginDeleteAndWait(rg, 'someone-elses', { updateIntervalInMs: 10 });
    await provider.deleteNetwork(clusterId, 'eastus');
    expect(await provider.getNetwork(clusterId, 'eastus')).toBeNull();
    expect(emu.modules.azure.inventory()).toEqual([]);
  });
});
