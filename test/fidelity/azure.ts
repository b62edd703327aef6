import { ClientSecretCredential } from '@azure/identity';
import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import { ResourceManagementClient } from '@azure/arm-resources';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { AzureClients, createAzureClients } from '@skyweave/cloud-adapters/src/azure/azure-client';
import { parseArmId } from '@skyweave/cloud-adapters/src/azure/azure-helpers';
import { CloudFixture, FidelityCheck, check } from './types';

/**
 * Azure's checks of the fidelity suite (test/fidelity/main.ts): the common ARM reads a user's tooling makes around a
 * live cluster, and write/read edge cases, through the official SDKs (@azure/arm-compute, arm-network,
 * arm-resources), with clients built as the adapter builds them (azure-client.ts).
 */

const ARM_SCOPE = 'https://management.azure.com/.default';
const clients = new WeakMap<CloudFixture, AzureClients>();

function az(f: CloudFixture): AzureClients {
  let c = clients.get(f);
  if (!c) {
    if (f.credentials.cloud !== 'azure') throw new Error('expected azure credentials');
    c = createAzureClients(f.credentials.azure, f.endpoints, { maxRetries: 0 });
    clients.set(f, c);
  }
  return c;
}

/**
 * SDK clients whose requests carry `api-version=<v>` instead of what the SDK sends (as an older or mistyped client
 * would), made with the adapter's credential and endpoint handling.
 */
function withApiVersion(f: CloudFixture, v: string): { network: NetworkManagementClient; resources: ResourceManagementClient; compute: ComputeManagementClient } {
  if (f.credentials.cloud !== 'azure') throw new Error('expected azure credentials');
  const creds = f.credentials.azure;
  const e = f.endpoints.azure;
  const tlsOptions = e?.caPem ? { ca: e.caPem } : undefined;
  const credential = new ClientSecretCredential(creds.tenantId, creds.clientId, creds.clientSecret, {
    ...(e ? { authorityHost: e.authorityHost, disableInstanceDiscovery: true } : {}),
    ...(tlsOptions ? { tlsOptions } : {}),
  });
  const policy: PipelinePolicy = { name: 'fidelityApiVersion', sendRequest: (req, next) => { req.url = req.url.replace(/api-version=[^&]*/, `api-version=${v}`); return next(req); } };
  const common = { ...(e ? { endpoint: e.arm } : {}), ...(tlsOptions ? { tlsOptions } : {}), retryOptions: { maxRetries: 0 }, additionalPolicies: [{ policy, position: 'perCall' as const }] };
  return {
    network: new NetworkManagementClient(credential, creds.subscriptionId, { ...common, credentialScopes: [ARM_SCOPE] }),
    resources: new ResourceManagementClient(credential, creds.subscriptionId, { ...common, credentialScopes: [ARM_SCOPE] }),
    compute: new ComputeManagementClient(credential, creds.subscriptionId, { ...common, credentials: { scopes: [ARM_SCOPE] } }),
  };
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** The fixture's VM: resource group and name (from its ARM id). */
function vmOf(f: CloudFixture): { rg: string; name: string } {
  const id = parseArmId(f.instance.id);
  if (!id) throw new Error(`instance id ${f.instance.id} is not an ARM id`);
  return { rg: id.resourceGroup, name: id.name };
}

/** The OS disk the fixture's VM names. */
async function osDisk(f: CloudFixture): Promise<{ rg: string; name: string; id: string }> {
  const { rg, name } = vmOf(f);
  const vm = await az(f).compute.virtualMachines.get(rg, name);
  const id = vm.storageProfile?.osDisk?.managedDisk?.id;
  const diskName = vm.storageProfile?.osDisk?.name;
  check(id && diskName, 'the VM names no managed OS disk');
  return { rg: id.split('/')[4], name: diskName, id };
}

interface RestErrorLike { statusCode?: number; code?: string; message?: string; details?: unknown }

/** Runs `call`, which must fail with HTTP `status` and ARM error `code` (and a message matching `message`, if given). */
async function expectError(call: () => Promise<unknown>, status: number, code: string, message?: RegExp): Promise<void> {
  let err: RestErrorLike | undefined;
  try {
    await call();
  } catch (e) {
    err = e as RestErrorLike;
  }
  check(err, `expected ${status} ${code}, but the call succeeded`);
  const detailCode = (err.details as { error?: { code?: string } } | undefined)?.error?.code;
  const got = err.code ?? detailCode;
  check(err.statusCode === status && (got === code || detailCode === code), `expected ${status} ${code}, got ${String(err.statusCode)} ${String(got)}: ${String(err.message)}`);
  if (message) check(message.test(String(err.message)), `message ${JSON.stringify(err.message)} does not match ${String(message)}`);
}

const REF = 'https://learn.microsoft.com/rest/api';

const reads: FidelityCheck[] = [
  {
    kind: 'read',
    operation: 'Virtual Machine Sizes - List',
    reference: `${REF}/compute/virtual-machine-sizes/list`,
    async run(f) {
      const sizes = await all(az(f).compute.virtualMachineSizes.list(f.region));
      check(sizes.length >= 50, `${sizes.length} sizes, want >= 50`);
      const b2s = sizes.find((s) => s.name === 'Standard_B2s');
      check(b2s?.numberOfCores === 2 && b2s.memoryInMB === 4096, `Standard_B2s: ${JSON.stringify(b2s)}`);
      check(sizes.every((s) => s.name && s.numberOfCores && s.memoryInMB && s.osDiskSizeInMB !== undefined && s.maxDataDiskCount !== undefined), 'a size lacks a documented field');
    },
  },
  {
    kind: 'read',
    operation: 'Resource Skus - List',
    reference: `${REF}/compute/resource-skus/list`,
    async run(f) {
      const skus = (await all(az(f).compute.resourceSkus.list({ filter: `location eq '${f.region}'` }))).filter((s) => s.resourceType === 'virtualMachines');
      check(skus.length >= 50, `${skus.length} VM SKUs, want >= 50`);
      const cap = (s: (typeof skus)[number], n: string) => s.capabilities?.find((c) => c.name === n)?.value;
      for (const s of skus) {
        check(s.name && s.tier && s.size && s.family, `SKU ${s.name}: name/tier/size/family`);
        check(Number(cap(s, 'vCPUs')) > 0 && Number(cap(s, 'MemoryGB')) > 0, `SKU ${s.name}: vCPUs/MemoryGB`);
        check(['x64', 'Arm64'].includes(String(cap(s, 'CpuArchitectureType'))), `SKU ${s.name}: CpuArchitectureType ${String(cap(s, 'CpuArchitectureType'))}`);
        check(s.locations?.length === 1 && s.locations[0] === f.region, `SKU ${s.name}: locations ${JSON.stringify(s.locations)}`);
        check(s.locationInfo?.[0]?.zones?.includes(f.zone), `SKU ${s.name}: zones`);
        check(Array.isArray(s.restrictions) && s.restrictions.length === 0, `SKU ${s.name}: restrictions`);
      }
      check(skus.some((s) => cap(s, 'CpuArchitectureType') === 'Arm64'), 'no Arm64 SKU');
      // unfiltered: every size in every location, over several pages (nextLink)
      const everywhere = await all(az(f).compute.resourceSkus.list());
      check(everywhere.length > skus.length * 20 && new Set(everywhere.flatMap((s) => s.locations ?? [])).size >= 20, `${everywhere.length} SKUs without a filter`);
    },
  },
  {
    kind: 'read',
    operation: 'Virtual Machine Images - List Offers / List Skus',
    reference: `${REF}/compute/virtual-machine-images/list-offers`,
    async run(f) {
      const offers = await az(f).compute.virtualMachineImages.listOffers(f.region, 'Canonical');
      check(offers.some((o) => o.name === 'ubuntu-24_04-lts'), `offers: ${offers.map((o) => o.name).join(', ')}`);
      const skus = await az(f).compute.virtualMachineImages.listSkus(f.region, 'Canonical', 'ubuntu-24_04-lts');
      const names = skus.map((s) => s.name);
      check(names.includes('server') && names.includes('server-arm64'), `skus: ${names.join(', ')}`);
    },
  },
  {
    kind: 'read',
    operation: 'Virtual Machine Images - List',
    reference: `${REF}/compute/virtual-machine-images/list`,
    async run(f) {
      const versions = await az(f).compute.virtualMachineImages.list(f.region, 'Canonical', 'ubuntu-24_04-lts', 'server');
      check(versions.length > 0, 'no versions');
      for (const v of versions) {
        check(/^24\.04\.\d{9}$/.test(String(v.name)), `version ${String(v.name)}`);
        check(v.location === f.region && v.id?.endsWith(`/Skus/server/Versions/${String(v.name)}`), `version ${String(v.name)}: location/id ${String(v.id)}`);
      }
      const image = await az(f).compute.virtualMachineImages.get(f.region, 'Canonical', 'ubuntu-24_04-lts', 'server-arm64', String(versions[versions.length - 1].name));
      check(image.architecture === 'Arm64' && image.osDiskImage?.operatingSystem === 'Linux', `image: ${JSON.stringify(image)}`);
    },
  },
  {
    kind: 'read',
    operation: 'Usage - List',
    reference: `${REF}/compute/usage/list`,
    async run(f) {
      const usages = await all(az(f).compute.usage.list(f.region));
      const cores = usages.find((u) => u.name?.value === 'cores');
      check(cores?.unit === 'Count' && cores.limit > 0 && cores.name?.localizedValue === 'Total Regional vCPUs', `cores: ${JSON.stringify(cores)}`);
      check(cores.currentValue === 2, `cores in use ${cores.currentValue}, want 2 (the fixture's Standard_B2s)`);
      const family = usages.find((u) => u.name?.value === 'standardBSFamily');
      check(family?.currentValue === 2 && family.name?.localizedValue === 'Standard BS Family vCPUs', `standardBSFamily: ${JSON.stringify(family)}`);
      const vms = usages.find((u) => u.name?.value === 'virtualMachines');
      check(vms?.currentValue === 1, `virtualMachines: ${JSON.stringify(vms)}`);
    },
  },
  {
    kind: 'read',
    operation: 'Disks - Get',
    reference: `${REF}/compute/disks/get`,
    async run(f) {
      const d = await osDisk(f);
      const disk = await az(f).compute.disks.get(d.rg, d.name);
      check(disk.id === d.id && disk.name === d.name && disk.type === 'Microsoft.Compute/disks' && disk.location === f.region, `disk: ${disk.id} ${disk.type}`);
      check(disk.managedBy?.toLowerCase() === f.instance.id.toLowerCase(), `managedBy ${String(disk.managedBy)}`);
      check(disk.diskState === 'Attached' && disk.osType === 'Linux' && (disk.diskSizeGB ?? 0) >= 30, `disk: ${JSON.stringify(disk)}`);
      check(disk.creationData?.createOption === 'FromImage' && disk.sku?.name, 'creationData / sku');
      check(disk.provisioningState === 'Succeeded' && disk.timeCreated instanceof Date, 'provisioningState / timeCreated');
    },
  },
  {
    kind: 'read',
    operation: 'Disks - List By Resource Group',
    reference: `${REF}/compute/disks/list-by-resource-group`,
    async run(f) {
      const d = await osDisk(f);
      const disks = await all(az(f).compute.disks.listByResourceGroup(d.rg));
      check(disks.some((x) => x.id === d.id), `the OS disk is not listed (${disks.length} disks)`);
    },
  },
  {
    kind: 'read',
    operation: 'Disks - List',
    reference: `${REF}/compute/disks/list`,
    async run(f) {
      const d = await osDisk(f);
      const disks = await all(az(f).compute.disks.list());
      check(disks.some((x) => x.id === d.id), `the OS disk is not listed (${disks.length} disks)`);
    },
  },
  {
    kind: 'read',
    operation: 'Virtual Machines - Instance View',
    reference: `${REF}/compute/virtual-machines/instance-view`,
    async run(f) {
      const { rg, name } = vmOf(f);
      const view = await az(f).compute.virtualMachines.instanceView(rg, name);
      const codes = (view.statuses ?? []).map((s) => s.code);
      check(codes.includes('ProvisioningState/succeeded') && codes.includes('PowerState/running'), `statuses: ${codes.join(', ')}`);
      check(view.computerName && view.osName && view.disks?.length === 1 && view.vmAgent?.vmAgentVersion, 'computerName / osName / disks / vmAgent');
    },
  },
  {
    kind: 'read',
    operation: 'Virtual Machines - List All',
    reference: `${REF}/compute/virtual-machines/list-all`,
    async run(f) {
      const vms = await all(az(f).compute.virtualMachines.listAll());
      const vm = vms.find((v) => v.id?.toLowerCase() === f.instance.id.toLowerCase());
      check(vm?.hardwareProfile?.vmSize === 'Standard_B2s' && vm.provisioningState === 'Succeeded', `vm: ${JSON.stringify(vm?.hardwareProfile)}`);
    },
  },
  {
    kind: 'read',
    operation: 'Providers - List',
    reference: `${REF}/resources/providers/list`,
    async run(f) {
      const providers = await all(az(f).resources.providers.list());
      for (const ns of ['Microsoft.Compute', 'Microsoft.Network', 'Microsoft.Resources']) {
        const p = providers.find((x) => x.namespace === ns);
        check(p?.registrationState === 'Registered' && p.id?.endsWith(`/providers/${ns}`), `${ns}: ${JSON.stringify(p?.registrationState)}`);
      }
    },
  },
  {
    kind: 'read',
    operation: 'Providers - Get',
    reference: `${REF}/resources/providers/get`,
    async run(f) {
      const p = await az(f).resources.providers.get('Microsoft.Compute');
      check(p.namespace === 'Microsoft.Compute' && p.registrationState === 'Registered', `provider ${p.namespace} ${p.registrationState}`);
      const vms = p.resourceTypes?.find((t) => t.resourceType === 'virtualMachines');
      check(vms?.locations?.includes('East US') && vms.apiVersions?.includes('2026-03-01'), `virtualMachines: ${JSON.stringify(vms?.apiVersions)}`);
      const disks = p.resourceTypes?.find((t) => t.resourceType === 'disks');
      check(disks?.apiVersions?.includes('2025-01-02'), `disks: ${JSON.stringify(disks?.apiVersions)}`);
    },
  },
  {
    kind: 'read',
    operation: 'Resource Groups - List',
    reference: `${REF}/resources/resource-groups/list`,
    async run(f) {
      const { rg } = vmOf(f);
      const groups = await all(az(f).resources.resourceGroups.list());
      check(groups.some((g) => g.name?.toLowerCase() === rg.toLowerCase() && g.location === f.region && g.properties?.provisioningState === 'Succeeded'), `group ${rg} not listed`);
    },
  },
  {
    kind: 'read',
    operation: 'Virtual Networks - List All',
    reference: `${REF}/virtualnetwork/virtual-networks/list-all`,
    async run(f) {
      const vnets = await all(az(f).network.virtualNetworks.listAll());
      const v = vnets.find((x) => x.id?.toLowerCase() === f.network.vpcId.toLowerCase());
      check(v?.addressSpace?.addressPrefixes?.includes(f.network.vpcCidr), `vnet ${f.network.vpcId} not listed with ${f.network.vpcCidr}`);
    },
  },
  {
    kind: 'read',
    operation: 'Network Security Groups - List All',
    reference: `${REF}/virtualnetwork/network-security-groups/list-all`,
    async run(f) {
      const nsgs = await all(az(f).network.networkSecurityGroups.listAll());
      check(nsgs.some((n) => n.id?.toLowerCase() === f.network.securityGroupIds.worker.toLowerCase() && (n.defaultSecurityRules?.length ?? 0) === 6), 'the worker NSG is not listed with its 6 default rules');
    },
  },
  {
    kind: 'read',
    operation: 'Security Rules - List / Default Security Rules - List',
    reference: `${REF}/virtualnetwork/security-rules/list`,
    async run(f) {
      const nsg = parseArmId(f.network.securityGroupIds.worker);
      check(nsg, `NSG id ${f.network.securityGroupIds.worker}`);
      const rules = await all(az(f).network.securityRules.list(nsg.resourceGroup, nsg.name));
      check(rules.length > 0 && rules.every((r) => r.priority && r.direction && r.access && r.protocol && r.id?.includes('/securityRules/')), `rules: ${rules.length}`);
      const defaults = await all(az(f).network.defaultSecurityRules.list(nsg.resourceGroup, nsg.name));
      check(defaults.map((r) => r.name).sort().join() === 'AllowAzureLoadBalancerInBound,AllowInternetOutBound,AllowVnetInBound,AllowVnetOutBound,DenyAllInBound,DenyAllOutBound', `default rules: ${defaults.map((r) => r.name).join()}`);
    },
  },
  {
    kind: 'read',
    operation: 'Virtual Machines - List Available Sizes',
    reference: `${REF}/compute/virtual-machines/list-available-sizes`,
    async run(f) {
      const { rg, name } = vmOf(f);
      const sizes = await all(az(f).compute.virtualMachines.listAvailableSizes(rg, name));
      check(sizes.some((s) => s.name === 'Standard_B2s' && s.numberOfCores === 2), `${sizes.length} sizes, Standard_B2s missing`);
    },
  },
  {
    kind: 'read',
    operation: 'Network Interfaces - List All',
    reference: `${REF}/virtualnetwork/network-interfaces/list-all`,
    async run(f) {
      const nics = await all(az(f).network.networkInterfaces.listAll());
      const nic = nics.find((n) => n.virtualMachine?.id?.toLowerCase() === f.instance.id.toLowerCase());
      check(nic?.ipConfigurations?.[0]?.privateIPAddress === f.instance.privateIp, `the VM's NIC: ${JSON.stringify(nic?.ipConfigurations?.[0]?.privateIPAddress)}`);
    },
  },
  {
    kind: 'read',
    operation: 'Public IP Addresses - List All',
    reference: `${REF}/virtualnetwork/public-ip-addresses/list-all`,
    async run(f) {
      const pips = await all(az(f).network.publicIPAddresses.listAll());
      for (const p of pips) check(p.id && p.sku?.name && p.publicIPAllocationMethod, `public IP ${String(p.id)}: sku / allocation`);
      if (f.instance.publicIp) check(pips.some((p) => p.ipAddress === f.instance.publicIp), `the VM's public IP ${f.instance.publicIp} is not listed`);
    },
  },
  {
    kind: 'read',
    operation: 'Route Tables - List All',
    reference: `${REF}/virtualnetwork/route-tables/list-all`,
    async run(f) {
      const tables = await all(az(f).network.routeTables.listAll());
      check(tables.length === 0, `${tables.length} route tables in an account that made none`);
    },
  },
  {
    kind: 'read',
    operation: 'Load Balancers - List All',
    reference: `${REF}/load-balancer/load-balancers/list-all`,
    async run(f) {
      const lbs = await all(az(f).network.loadBalancers.listAll());
      check(lbs.length === 0, `${lbs.length} load balancers in an account that made none`);
    },
  },
];

/** A small NSG / VNet body in the fixture's region. */
const vnetBody = (f: CloudFixture, prefix: string) => ({ location: f.region, addressSpace: { addressPrefixes: [prefix] } });

const errors: FidelityCheck[] = [
  {
    kind: 'error',
    operation: 'Virtual Machines - Get',
    case: 'a VM that does not exist',
    reference: `${REF}/compute/virtual-machines/get`,
    async run(f) {
      const { rg } = vmOf(f);
      await expectError(() => az(f).compute.virtualMachines.get(rg, 'no-such-vm'), 404, 'ResourceNotFound',
        new RegExp(`^The Resource 'Microsoft\\.Compute/virtualMachines/no-such-vm' under resource group '${rg}' was not found\\.`));
    },
  },
  {
    kind: 'error',
    operation: 'Virtual Machines - Instance View',
    case: 'a VM that does not exist',
    reference: `${REF}/compute/virtual-machines/instance-view`,
    async run(f) {
      await expectError(() => az(f).compute.virtualMachines.instanceView(vmOf(f).rg, 'no-such-vm'), 404, 'ResourceNotFound');
    },
  },
  {
    kind: 'error',
    operation: 'Disks - Get',
    case: 'a disk that does not exist',
    reference: `${REF}/compute/disks/get`,
    async run(f) {
      await expectError(() => az(f).compute.disks.get(vmOf(f).rg, 'no-such-disk'), 404, 'ResourceNotFound', /^The Resource 'Microsoft\.Compute\/disks\/no-such-disk' under resource group/);
    },
  },
  {
    kind: 'error',
    operation: 'Resource Groups - Get',
    case: 'a resource group that does not exist',
    reference: `${REF}/resources/resource-groups/get`,
    async run(f) {
      await expectError(() => az(f).resources.resourceGroups.get('no-such-group'), 404, 'ResourceGroupNotFound', /^Resource group 'no-such-group' could not be found\.$/);
    },
  },
  {
    kind: 'error',
    operation: 'Virtual Networks - List',
    case: 'a resource group that does not exist',
    reference: `${REF}/virtualnetwork/virtual-networks/list`,
    async run(f) {
      await expectError(() => all(az(f).network.virtualNetworks.list('no-such-group')), 404, 'ResourceGroupNotFound');
    },
  },
  {
    kind: 'error',
    operation: 'Resource Groups - List',
    case: 'an api-version the resource type does not have',
    reference: 'https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-invalid-api-version',
    async run(f) {
      await expectError(() => all(withApiVersion(f, '2099-01-01').resources.resourceGroups.list()), 400, 'InvalidApiVersionParameter', /^The api-version '2099-01-01' is invalid\./);
    },
  },
  {
    kind: 'error',
    operation: 'Virtual Networks - List All',
    case: 'an api-version the resource provider does not have',
    reference: 'https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-no-registered-provider-found',
    async run(f) {
      await expectError(() => all(withApiVersion(f, '2099-01-01').network.virtualNetworks.listAll()), 400, 'NoRegisteredProviderFound',
        /^No registered resource provider found for location '.*' and API version '2099-01-01' for type 'virtualNetworks'\./);
    },
  },
  {
    kind: 'error',
    operation: 'Virtual Networks - Create Or Update',
    case: 'an address prefix that is not CIDR',
    reference: `${REF}/virtualnetwork/virtual-networks/create-or-update`,
    async run(f) {
      await expectError(() => az(f).network.virtualNetworks.beginCreateOrUpdateAndWait(vmOf(f).rg, 'fidelity-bad-cidr', vnetBody(f, '10.300.0.0/16'), az(f).poll), 400, 'InvalidAddressPrefixFormat',
        /Address prefix 10\.300\.0\.0\/16 of resource .* is not formatted correctly/);
    },
  },
  {
    kind: 'error',
    operation: 'Subnets - Create Or Update',
    case: 'a subnet outside the virtual network\'s address space',
    reference: `${REF}/virtualnetwork/subnets/create-or-update`,
    async run(f) {
      const vnet = parseArmId(f.network.vpcId);
      check(vnet, `VNet id ${f.network.vpcId}`);
      await expectError(() => az(f).network.subnets.beginCreateOrUpdateAndWait(vnet.resourceGroup, vnet.name, 'fidelity-outside', { addressPrefix: '192.168.77.0/24' }, az(f).poll), 400, 'NetcfgSubnetRangeOutsideVnet',
        new RegExp(`^Subnet 'fidelity-outside' is not valid because its IP address range is outside the IP address range of virtual network '${vnet.name}'\\.`));
    },
  },
  {
    kind: 'error',
    operation: 'Network Security Groups - Delete',
    case: 'an NSG still associated with a subnet or NIC',
    reference: `${REF}/virtualnetwork/network-security-groups/delete`,
    async run(f) {
      const nsg = parseArmId(f.network.securityGroupIds.worker);
      check(nsg, `NSG id ${f.network.securityGroupIds.worker}`);
      await expectError(() => az(f).network.networkSecurityGroups.beginDeleteAndWait(nsg.resourceGroup, nsg.name, az(f).poll), 400, 'InUseNetworkSecurityGroupCannotBeDeleted',
        /^Network security group .* cannot be deleted because it is in use by the following resources: /);
    },
  },
  {
    kind: 'error',
    operation: 'Network Security Groups - Create Or Update',
    case: 'two rules with the same priority and direction',
    reference: `${REF}/virtualnetwork/network-security-groups/create-or-update`,
    async run(f) {
      const rule = (name: string) => ({ name, protocol: 'Tcp', access: 'Allow', direction: 'Inbound', priority: 200, sourceAddressPrefix: '*', sourcePortRange: '*', destinationAddressPrefix: '*', destinationPortRange: name === 'a' ? '22' : '443' });
      await expectError(() => az(f).network.networkSecurityGroups.beginCreateOrUpdateAndWait(vmOf(f).rg, 'fidelity-conflict', { location: f.region, securityRules: [rule('a'), rule('b')] }, az(f).poll), 400, 'SecurityRuleConflict',
        /^Security rule b conflicts with rule a\. Rules cannot have the same Priority and Direction\./);
    },
  },
  {
    kind: 'error',
    operation: 'Virtual Machines - Create Or Update',
    case: 'a VM size that does not exist',
    reference: `${REF}/compute/virtual-machines/create-or-update`,
    async run(f) {
      const { rg, name } = vmOf(f);
      const vm = await az(f).compute.virtualMachines.get(rg, name);
      const body = { location: f.region, hardwareProfile: { vmSize: 'Standard_Nope_v9' }, storageProfile: { imageReference: vm.storageProfile?.imageReference }, osProfile: vm.osProfile, networkProfile: vm.networkProfile };
      await expectError(() => az(f).compute.virtualMachines.createOrUpdate(rg, 'fidelity-bad-size', body, az(f).poll), 400, 'InvalidParameter',
        /Standard_Nope_v9/);
    },
  },
  {
    kind: 'error',
    operation: 'Virtual Machine Images - List',
    case: 'an offer the publisher does not have',
    reference: `${REF}/compute/virtual-machine-images/list`,
    async run(f) {
      await expectError(() => az(f).compute.virtualMachineImages.list(f.region, 'Canonical', 'no-such-offer', 'server'), 404, 'NotFound', /^Artifact: VMImage was not found\.$/);
    },
  },
  {
    kind: 'error',
    operation: 'Network Interfaces - Create Or Update',
    case: 'a subnet that does not exist',
    reference: `${REF}/virtualnetwork/network-interfaces/create-or-update`,
    async run(f) {
      const missing = `${f.network.vpcId}/subnets/no-such-subnet`;
      await expectError(() => az(f).network.networkInterfaces.beginCreateOrUpdateAndWait(vmOf(f).rg, 'fidelity-nic', { location: f.region, ipConfigurations: [{ name: 'ipconfig1', subnet: { id: missing } }] }, az(f).poll), 400, 'InvalidResourceReference',
        /^Resource .*\/subnets\/no-such-subnet referenced by resource .* was not found\./);
    },
  },
];

export const checks: FidelityCheck[] = [...reads, ...errors];
