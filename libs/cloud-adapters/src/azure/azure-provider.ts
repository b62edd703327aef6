import type { ResourceGroup, ResourceManagementClient } from '@azure/arm-resources';
import type { NetworkInterface, NetworkManagementClient, NetworkSecurityGroup, PublicIPAddress, Subnet, VirtualNetwork } from '@azure/arm-network';
import type { ComputeManagementClient, VirtualMachine } from '@azure/arm-compute';
import { FirewallRule, NodeRole, TAG_CLUSTER, TAG_NAME, TAG_NODE, TAG_ROLE } from '@skyweave/domain';
import type {
  AzureCredentials, CloudEndpoints, CloudProvider, CloudProviderOptions, CloudResource, Instance, InstanceSpec, NetworkInspection,
  NetworkSpec, NetworkStatus,
} from '../cloud-provider';
import { DEFAULT_CONSISTENCY_WINDOW_MS, RecentlyMade, retryWhileMissing } from '../consistency';
import { CloudError, isCloudError, isNotFound } from '../errors';
import { createAzureClients } from './azure-client';
import { azureArchitecture } from '../pricing/azure-prices';
import {
  azureNames, fromNsgRules, generateSshPublicKey, isAzureNotFound, nicName, nsgDrift, parseArmId, powerStateOf, publicIpName, sameId, sameRegion,
  toCloudError, toNsgRules, vmState,
} from './azure-helpers';

/** Tuning of the Azure adapter. */
export interface AzureProviderOptions extends CloudProviderOptions {
  /** Interval between polls of long-running operations, ms. Default: 250 against a sandbox endpoint, the SDK's 2000 otherwise. */
  pollIntervalMs?: number;
  /** SDK retries of throttled (429, honouring Retry-After) and 5xx answers. Default retry.ts `SDK_RETRY.maxRetries` (2: 3 attempts). */
  maxRetries?: number;
}

const ADMIN_USER = 'skyweave';
/**
 * The node image for a VM size: Canonical's Ubuntu 24.04 LTS, SKU `server-arm64` for the Arm (Cobalt/Ampere) sizes
 * (`p` in the size's features, e.g. Standard_D2ps_v5, Standard_B2pls_v2), `server` otherwise — Azure refuses an x64
 * image on an Arm size. Source: Virtual Machine Images - List Skus for publisher Canonical, offer ubuntu-24_04-lts.
 */
export const azureNodeImage = (vmSize: string) =>
  ({ publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: azureArchitecture(vmSize) === 'arm64' ? 'server-arm64' : 'server', version: 'latest' }) as const;
/** Resource-group tag remembering the zone the network was ensured for (Azure networks are regional; VMs are zonal). */
const TAG_ZONE = 'skyweave-zone';

type Tags = Record<string, string>;

/** Collects a paged SDK listing. */
async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/**
 * CloudProvider on Azure Resource Manager, through the official SDKs: `@azure/identity` (client-secret service principal),
 * `@azure/arm-resources` 7 (resource groups, generic tag listing), `@azure/arm-network` 36 (VNet, subnet, NSGs, public IPs,
 * NICs) and `@azure/arm-compute` 24 (VMs). One client set per instance (per credential set).
 *
 * Layout (one resource group per cluster × cloud, in the network's region):
 * - resource group `sw-<8hex>-rg`, VNet `sw-<8hex>-vnet` (`spec.vpcCidr`), subnet `sw-<8hex>-nodes` (`spec.subnetCidr`),
 *   NSGs `sw-<8hex>-master-nsg` / `sw-<8hex>-worker-nsg` whose security rules are exactly `spec.firewall` (inbound,
 *   Allow, priorities 100+); all tagged `skyweave-cluster=<clusterId>` (subnets cannot carry tags).
 * - per VM: Standard static public IP `<vm>-pip`, NIC `<vm>-nic` (subnet + the role's NSG + the public IP), VM `<vm>`
 *   (Ubuntu 24.04 LTS, OS disk / NIC / public IP deleted with the VM, cloud-init user-data as `customData`, an ed25519
 *   SSH key generated per provider instance whose private half is discarded). Azure has no idempotency token: names are
 *   deterministic, so a retried create finds (GET) or re-PUTs the same resource.
 * - Instance ids are VM ARM resource ids (`/subscriptions/…/virtualMachines/<name>`); a bare VM name is also accepted
 *   by `getInstance` / `terminateInstance` (looked up across the subscription).
 *
 * Every failure is thrown as CloudError (see `toCloudError` for the ARM code → kind table).
 * References: https://learn.microsoft.com/rest/api/resources/, https://learn.microsoft.com/rest/api/virtualnetwork/,
 * https://learn.microsoft.com/rest/api/compute/virtual-machines
 */
export class AzureProvider implements CloudProvider {
  readonly cloud = 'azure' as const;
  /** Every create is a PUT by a deterministic name: repeating it updates the same resource, never makes a second. */
  readonly idempotentCreate = true;
  private readonly resources: ResourceManagementClient;
  private readonly network: NetworkManagementClient;
  private readonly compute: ComputeManagementClient;
  private readonly poll: { updateIntervalInMs?: number };
  private readonly windowMs: number;
  /** VMs (`<rg>/<name>`, lower case) made by this provider that no read has shown yet (eventual consistency of getInstance). */
  private readonly launched: RecentlyMade;
  private sshKey?: string;

  /**
   * @param credentials a service principal and its subscription (never logged).
   * @param endpoints `endpoints.azure`: the sandbox's ARM endpoint, authority host and CA (see azure-client.ts).
   * @param options poll interval, SDK retries, and `consistencyWindowMs` (how long a not-found of something just
   *   created is retried; default 30 s).
   */
  constructor(credentials: AzureCredentials, endpoints: CloudEndpoints = {}, options: AzureProviderOptions = {}) {
    const clients = createAzureClients(credentials, endpoints, options);
    this.resources = clients.resources;
    this.network = clients.network;
    this.compute = clients.compute;
    this.poll = clients.poll;
    this.windowMs = options.consistencyWindowMs ?? DEFAULT_CONSISTENCY_WINDOW_MS;
    this.launched = new RecentlyMade(this.windowMs);
  }

  // -------------------------------------------------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------------------------------------------------

  /** Runs an SDK call; "not found" ⇒ null; other failures ⇒ CloudError. */
  private async orNull<T>(what: string, fn: () => Promise<T>): Promise<T | null> {
    try {
      return await fn();
    } catch (e) {
      if (isAzureNotFound(e)) return null;
      throw toCloudError(e, what);
    }
  }

  /** Runs an SDK call; failures ⇒ CloudError. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toCloudError(e, what);
    }
  }

  /**
   * Runs a call naming something made a moment ago (a PUT into a just-made resource group or VNet, a NIC naming a new
   * NSG/subnet/public IP, a GET of a just-made VM): ARM may not see it yet and answer 404 (`ResourceNotFound`,
   * `ResourceGroupNotFound`, `ParentResourceNotFound`) or `InvalidResourceReference`, also from the final GET of a
   * PUT's long-running operation; retried with backoff within the consistency window. Only for calls safe to repeat
   * (GETs, PUTs by name).
   */
  private fresh<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return retryWhileMissing(() => this.call(what, fn), { windowMs: this.windowMs, missing: (e) => isNotFound(e) || (isCloudError(e) && e.code === 'InvalidResourceReference') });
  }

  /** Runs a delete; "already gone" resolves. */
  private async gone(what: string, fn: () => Promise<unknown>): Promise<void> {
    await this.orNull(what, fn);
  }

  private owned(tags: Tags | undefined, clusterId: string): boolean {
    return tags?.[TAG_CLUSTER] === clusterId;
  }

  private refuse(what: string, id: string | undefined, clusterId: string): CloudError {
    return new CloudError('Conflict', 'azure', 'NotOwnedByCluster', `${what} ${id ?? ''} exists but is not tagged ${TAG_CLUSTER}=${clusterId}; refusing to adopt or change it`);
  }

  /**
   * Waits until an adopted resource (found by GET, maybe left mid-provisioning by a crashed run) has finished its
   * operation: polls while its provisioning state is Creating / Updating. @throws CloudError `Conflict` when it is
   * being deleted, `Unavailable` when it does not settle within 10 minutes.
   */
  private async settled<T extends { id?: string; provisioningState?: string }>(what: string, r: T, reread: () => Promise<T>): Promise<T> {
    let cur = r;
    const deadline = Date.now() + 10 * 60_000;
    for (;;) {
      const state = cur.provisioningState?.toLowerCase() ?? 'succeeded';
      if (state === 'deleting') throw new CloudError('Conflict', 'azure', 'ResourceBeingDeleted', `${what} ${cur.id ?? ''} is being deleted`);
      if (state !== 'creating' && state !== 'updating') return cur;
      if (Date.now() > deadline) throw new CloudError('Unavailable', 'azure', 'ProvisioningTimeout', `${what} ${cur.id ?? ''} is still ${state}`);
      await new Promise((ok) => setTimeout(ok, this.poll.updateIntervalInMs ?? 2000));
      cur = await this.call(`get ${what}`, reread);
    }
  }

  private publicKey(): string {
    this.sshKey ??= generateSshPublicKey();
    return this.sshKey;
  }

  // -------------------------------------------------------------------------------------------------------------------
  // Credentials
  // -------------------------------------------------------------------------------------------------------------------

  /** Acquires a token and reads one page of resource groups. @throws CloudError `InvalidCredentials` when AAD or ARM refuses. */
  async verifyCredentials(): Promise<void> {
    try {
      await this.resources.resourceGroups.list().byPage().next();
    } catch (e) {
      const err = toCloudError(e, 'verify credentials');
      if (err.code === 'SubscriptionNotFound') throw new CloudError('InvalidCredentials', 'azure', err.code, err.message, { cause: e });
      throw err;
    }
  }

  // -------------------------------------------------------------------------------------------------------------------
  // Network
  // -------------------------------------------------------------------------------------------------------------------

  /**
   * Resource group first; then, concurrently, the VNet (then its subnet) and the two NSGs (master, worker; rules
   * restored when they drifted) — the subnet carries no NSG (NICs do), so nothing else waits for anything. Each part is
   * read first and created (PUT, long-running operations waited) only when missing. When one part fails the call
   * rejects with that part's CloudError (the other parts may still complete; a later call picks up from there).
   * Repairs what inspectNetwork reports: deleted parts are PUT again (everything when the resource group or VNet is
   * gone), an NSG whose rules drifted is re-PUT with exactly the plan (rules not in it removed). Parts just made that
   * ARM does not show yet are waited for (consistency window).
   * @throws CloudError `Conflict` when a part exists without the cluster tag or with another address range.
   */
  async ensureNetwork(spec: NetworkSpec): Promise<NetworkStatus> {
    const tags: Tags = { [TAG_CLUSTER]: spec.clusterId };
    const group = await this.ensureResourceGroup(spec, tags);
    const rg = azureNames(spec.clusterId).resourceGroup;
    const [{ vnet, subnet }, master, worker] = await Promise.all([
      this.ensureVnetAndSubnet(rg, spec, tags),
      this.ensureNsg(rg, spec, 'master', tags),
      this.ensureNsg(rg, spec, 'worker', tags),
    ]);
    return this.status(spec.region, spec.zone, group, vnet, subnet, master, worker);
  }

  /**
   * The cluster's resource group (`sw-<8hex>-rg` in `spec.region`, tagged with the zone), created when missing. No
   * dependencies. @throws CloudError `Conflict` when it exists without the cluster tag or is being deleted.
   */
  private async ensureResourceGroup(spec: NetworkSpec, tags: Tags): Promise<ResourceGroup> {
    const rg = azureNames(spec.clusterId).resourceGroup;
    const group = await this.orNull('get resource group', () => this.resources.resourceGroups.get(rg));
    if (group && !this.owned(group.tags, spec.clusterId)) throw this.refuse('resource group', group.id, spec.clusterId);
    if (group?.properties?.provisioningState?.toLowerCase() === 'deleting') {
      throw new CloudError('Conflict', 'azure', 'ResourceGroupBeingDeleted', `resource group ${rg} is being deleted; ensure the network again once it is gone`);
    }
    if (group) return group;
    return this.call('create resource group', () => this.resources.resourceGroups.createOrUpdate(rg, { location: spec.region, tags: { ...tags, [TAG_NAME]: rg, [TAG_ZONE]: spec.zone } }));
  }

  /**
   * The VNet, then its subnet (a child of the VNet): see ensureVnet and ensureSubnet. A VNet made here is created with
   * its subnet inline (one long-running PUT instead of two, as ARM templates do: `properties.subnets` of
   * https://learn.microsoft.com/rest/api/virtualnetwork/virtual-networks/create-or-update); a VNet whose answer already
   * lists the subnet, settled and with `spec.subnetCidr`, needs no second call. Needs: the resource group.
   */
  private async ensureVnetAndSubnet(rg: string, spec: NetworkSpec, tags: Tags): Promise<{ vnet: VirtualNetwork; subnet: Subnet }> {
    const vnet = await this.ensureVnet(rg, spec, tags);
    const name = azureNames(spec.clusterId).subnet.toLowerCase();
    const listed = vnet.subnets?.find((s) => s.name?.toLowerCase() === name);
    const settled = listed?.provisioningState?.toLowerCase() === 'succeeded' && (listed.addressPrefix ?? listed.addressPrefixes?.[0]) === spec.subnetCidr;
    const subnet = settled && listed ? listed : await this.ensureSubnet(rg, spec);
    return { vnet, subnet };
  }

  /**
   * The cluster's VNet (`sw-<8hex>-vnet`, address space `spec.vpcCidr`), created with its subnet (`sw-<8hex>-nodes`, `spec.subnetCidr`) when missing; an existing one is
   * waited for until it has finished provisioning. Needs: the resource group.
   * @throws CloudError `Conflict` when it exists without the cluster tag or without `spec.vpcCidr` in its address space.
   */
  private async ensureVnet(rg: string, spec: NetworkSpec, tags: Tags): Promise<VirtualNetwork> {
    const name = azureNames(spec.clusterId).vnet;
    const vnet = await this.orNull('get virtual network', () => this.network.virtualNetworks.get(rg, name));
    if (vnet && !this.owned(vnet.tags, spec.clusterId)) throw this.refuse('virtual network', vnet.id, spec.clusterId);
    if (!vnet) {
      return this.fresh('create virtual network', () =>
        this.network.virtualNetworks.beginCreateOrUpdateAndWait(rg, name, {
          location: spec.region, tags: { ...tags, [TAG_NAME]: name }, addressSpace: { addressPrefixes: [spec.vpcCidr] },
          subnets: [{ name: azureNames(spec.clusterId).subnet, addressPrefix: spec.subnetCidr }],
        }, this.poll));
    }
    if (!vnet.addressSpace?.addressPrefixes?.includes(spec.vpcCidr)) {
      throw new CloudError('Conflict', 'azure', 'AddressSpaceMismatch', `virtual network ${vnet.id} has ${vnet.addressSpace?.addressPrefixes?.join(',')}, not ${spec.vpcCidr}`);
    }
    return this.settled('virtual network', vnet, () => this.network.virtualNetworks.get(rg, name));
  }

  /**
   * The nodes' subnet (`sw-<8hex>-nodes`, `spec.subnetCidr`) of the VNet, created when missing; an existing one is
   * waited for until it has finished provisioning. Needs: the VNet.
   * @throws CloudError `Conflict` (`AddressPrefixMismatch`) when it exists with another prefix.
   */
  private async ensureSubnet(rg: string, spec: NetworkSpec): Promise<Subnet> {
    const n = azureNames(spec.clusterId);
    const subnet = await this.orNull('get subnet', () => this.network.subnets.get(rg, n.vnet, n.subnet));
    if (!subnet) {
      return this.fresh('create subnet', () => this.network.subnets.beginCreateOrUpdateAndWait(rg, n.vnet, n.subnet, { addressPrefix: spec.subnetCidr }, this.poll));
    }
    if ((subnet.addressPrefix ?? subnet.addressPrefixes?.[0]) !== spec.subnetCidr) {
      throw new CloudError('Conflict', 'azure', 'AddressPrefixMismatch', `subnet ${subnet.id} has ${subnet.addressPrefix}, not ${spec.subnetCidr}`);
    }
    return this.settled('subnet', subnet, () => this.network.subnets.get(rg, n.vnet, n.subnet));
  }

  /**
   * The role's NSG (`sw-<8hex>-<role>-nsg`) with security rules exactly `spec.firewall[role]` (inbound Allow): created
   * when missing, re-PUT (keeping its other tags) when its rules drifted, otherwise waited for until it has finished
   * provisioning. Needs: the resource group; independent of the VNet, the subnet and the other role's NSG.
   * @throws CloudError `Conflict` when it exists without the cluster tag.
   */
  private async ensureNsg(rg: string, spec: NetworkSpec, role: NodeRole, tags: Tags): Promise<NetworkSecurityGroup> {
    const name = azureNames(spec.clusterId).nsg(role);
    const desired = spec.firewall[role];
    const nsg = await this.orNull('get network security group', () => this.network.networkSecurityGroups.get(rg, name));
    if (nsg && !this.owned(nsg.tags, spec.clusterId)) throw this.refuse('network security group', nsg.id, spec.clusterId);
    if (nsg && !nsgDrift(`network security group ${name}`, nsg.securityRules ?? [], desired).length) {
      return this.settled('network security group', nsg, () => this.network.networkSecurityGroups.get(rg, name));
    }
    return this.fresh(`${nsg ? 'restore' : 'create'} network security group`, () =>
      this.network.networkSecurityGroups.beginCreateOrUpdateAndWait(rg, name, { location: spec.region, tags: { ...(nsg?.tags ?? {}), ...tags, [TAG_NAME]: name, [TAG_ROLE]: role }, securityRules: toNsgRules(desired) }, this.poll));
  }

  private status(region: string, zone: string, group: ResourceGroup, vnet: VirtualNetwork, subnet: Subnet | null, master: NetworkSecurityGroup | null, worker: NetworkSecurityGroup | null): NetworkStatus {
    const res = (kind: string, r: { id?: string; name?: string; tags?: Tags } | null): CloudResource[] =>
      r?.id ? [{ kind, id: r.id, name: r.name, tags: { ...(r.tags ?? {}) } }] : [];
    return {
      cloud: 'azure',
      region,
      zone,
      vpcId: vnet.id ?? '',
      vpcCidr: vnet.addressSpace?.addressPrefixes?.[0] ?? '',
      subnetId: subnet?.id ?? '',
      subnetCidr: subnet?.addressPrefix ?? subnet?.addressPrefixes?.[0] ?? '',
      securityGroupIds: { master: master?.id ?? '', worker: worker?.id ?? '' },
      resources: [
        ...res('resource-group', group),
        ...res('virtual-network', vnet),
        ...res('subnet', subnet),
        ...res('network-security-group', master),
        ...res('network-security-group', worker),
      ],
    };
  }

  /** The cluster's network, or null when its resource group or VNet does not exist (or is not tagged for the cluster / lies in another region). Missing subnet / NSG ⇒ empty id. */
  async getNetwork(clusterId: string, region: string): Promise<NetworkStatus | null> {
    const n = azureNames(clusterId);
    const group = await this.orNull('get resource group', () => this.resources.resourceGroups.get(n.resourceGroup));
    if (!group || !this.owned(group.tags, clusterId) || !sameRegion(group.location, region)) return null;
    const vnet = await this.orNull('get virtual network', () => this.network.virtualNetworks.get(n.resourceGroup, n.vnet));
    if (!vnet || !this.owned(vnet.tags, clusterId)) return null;
    const [subnet, master, worker] = await Promise.all([
      this.orNull('get subnet', () => this.network.subnets.get(n.resourceGroup, n.vnet, n.subnet)),
      this.orNull('get network security group', () => this.network.networkSecurityGroups.get(n.resourceGroup, n.nsg('master'))),
      this.orNull('get network security group', () => this.network.networkSecurityGroups.get(n.resourceGroup, n.nsg('worker'))),
    ]);
    return this.status(group.location, group.tags?.[TAG_ZONE] ?? '', group, vnet, subnet, master, worker);
  }

  /**
   * Five GETs at once — the resource group, the VNet, its subnet and each role's NSG — compared with the spec: the
   * resource group (tagged for the cluster, in the region), the VNet (tagged, its address space holding
   * `spec.vpcCidr`), the subnet and its prefix, each NSG (tagged) and its security rules (see nsgDrift). Nothing is
   * changed. `status` is null when the resource group or the VNet is gone (as getNetwork).
   */
  async inspectNetwork(spec: NetworkSpec): Promise<NetworkInspection> {
    const { clusterId, region } = spec;
    const n = azureNames(clusterId);
    const untagged = (what: string) => `${what} exists but is not tagged ${TAG_CLUSTER}=${clusterId}`;
    const [group, vnet, subnet, master, worker] = await Promise.all([
      this.orNull('get resource group', () => this.resources.resourceGroups.get(n.resourceGroup)),
      this.orNull('get virtual network', () => this.network.virtualNetworks.get(n.resourceGroup, n.vnet)),
      this.orNull('get subnet', () => this.network.subnets.get(n.resourceGroup, n.vnet, n.subnet)),
      this.orNull('get network security group', () => this.network.networkSecurityGroups.get(n.resourceGroup, n.nsg('master'))),
      this.orNull('get network security group', () => this.network.networkSecurityGroups.get(n.resourceGroup, n.nsg('worker'))),
    ]);
    if (!group) return { status: null, drift: [`resource group ${n.resourceGroup} is missing`] };
    if (!this.owned(group.tags, clusterId)) return { status: null, drift: [untagged(`resource group ${n.resourceGroup}`)] };
    if (!sameRegion(group.location, region)) return { status: null, drift: [`resource group ${n.resourceGroup} is in ${group.location}, not ${region}`] };
    const drift: string[] = [];
    if (!vnet) drift.push(`virtual network ${n.vnet} (${spec.vpcCidr}) is missing`);
    else if (!this.owned(vnet.tags, clusterId)) drift.push(untagged(`virtual network ${n.vnet}`));
    else {
      if (!vnet.addressSpace?.addressPrefixes?.includes(spec.vpcCidr)) drift.push(`virtual network ${n.vnet} is ${vnet.addressSpace?.addressPrefixes?.join(', ') ?? 'empty'}, not ${spec.vpcCidr}`);
      const prefix = subnet?.addressPrefix ?? subnet?.addressPrefixes?.[0];
      if (!subnet) drift.push(`subnet ${n.subnet} (${spec.subnetCidr}) is missing`);
      else if (prefix !== spec.subnetCidr) drift.push(`subnet ${n.subnet} is ${prefix}, not ${spec.subnetCidr}`);
    }
    const nsgs: Record<NodeRole, NetworkSecurityGroup | null> = { master, worker };
    for (const role of ['master', 'worker'] as const) {
      const nsg = nsgs[role];
      const label = `network security group ${n.nsg(role)}`;
      if (!nsg) drift.push(`${label} is missing`);
      else if (!this.owned(nsg.tags, clusterId)) drift.push(untagged(label));
      else drift.push(...nsgDrift(label, nsg.securityRules ?? [], spec.firewall[role]));
    }
    const own = <T extends { tags?: Record<string, string> }>(r: T | null) => (r && this.owned(r.tags, clusterId) ? r : null);
    const ownVnet = own(vnet);
    const status = ownVnet ? this.status(group.location, group.tags?.[TAG_ZONE] ?? spec.zone, group, ownVnet, subnet, own(master), own(worker)) : null;
    return { status, drift };
  }

  /** Inbound Allow rules of each role's NSG (default rules excluded). @throws CloudError `NotFound` when an NSG is missing. */
  async describeFirewall(network: NetworkStatus): Promise<Record<NodeRole, FirewallRule[]>> {
    const read = async (role: NodeRole): Promise<FirewallRule[]> => {
      const id = parseArmId(network.securityGroupIds[role]);
      if (!id) throw new CloudError('NotFound', 'azure', 'ResourceNotFound', `no network security group for ${role}`);
      const nsg = await this.call('get network security group', () => this.network.networkSecurityGroups.get(id.resourceGroup, id.name));
      return fromNsgRules(nsg.securityRules ?? []);
    };
    const [master, worker] = await Promise.all([read('master'), read('worker')]);
    return { master, worker };
  }

  /**
   * Deletes the cluster's resource group (everything in it goes with it) and waits. Refuses (CloudError `Conflict`)
   * when the group holds a resource not tagged for the cluster (OS disks excepted: Azure creates them untagged), or when
   * a NIC outside the group is attached to the cluster's VNet.
   */
  async deleteNetwork(clusterId: string, region: string): Promise<void> {
    const n = azureNames(clusterId);
    const group = await this.orNull('get resource group', () => this.resources.resourceGroups.get(n.resourceGroup));
    if (!group) return;
    if (!this.owned(group.tags, clusterId)) throw this.refuse('resource group', group.id, clusterId);
    if (!sameRegion(group.location, region)) return;
    const [members, nics] = await Promise.all([
      this.call('list resource group', () => all(this.resources.resources.listByResourceGroup(n.resourceGroup))),
      this.call('list network interfaces', () => all(this.network.networkInterfaces.listAll())),
    ]);
    const foreign = members.filter((r) => !this.owned(r.tags, clusterId) && r.type?.toLowerCase() !== 'microsoft.compute/disks');
    if (foreign.length) {
      throw new CloudError('Conflict', 'azure', 'ForeignResourcesInNetwork', `resource group ${n.resourceGroup} holds resources not tagged for cluster ${clusterId}: ${foreign.map((r) => `${r.type}/${r.name}`).join(', ')}`);
    }
    const vnetId = members.find((r) => r.type?.toLowerCase() === 'microsoft.network/virtualnetworks' && r.name?.toLowerCase() === n.vnet.toLowerCase())?.id;
    const outside = vnetId
      ? nics.filter((nic) => parseArmId(nic.id ?? '')?.resourceGroup.toLowerCase() !== n.resourceGroup.toLowerCase() && (nic.ipConfigurations ?? []).some((c) => c.subnet?.id?.toLowerCase().startsWith(`${vnetId.toLowerCase()}/subnets/`)))
      : [];
    if (outside.length) {
      throw new CloudError('Conflict', 'azure', 'ForeignResourcesInNetwork', `network ${vnetId} is used by ${outside.map((x) => x.virtualMachine?.id ?? x.id).join(', ')}`);
    }
    await this.gone('delete resource group', () => this.resources.resourceGroups.beginDeleteAndWait(n.resourceGroup, this.poll));
  }

  // -------------------------------------------------------------------------------------------------------------------
  // Instances
  // -------------------------------------------------------------------------------------------------------------------

  /**
   * Public IP → NIC → VM, in the network's resource group. Returns the VM already launched for `spec.nodeId` when the
   * name is taken by it (GET first). Resolves once ARM accepted the VM (state `pending`); does not wait for the
   * provisioning. When the VM is refused (quota, capacity, bad request) the NIC and public IP made for it are removed.
   * @throws CloudError `Conflict` when the name belongs to another node or another cluster, `QuotaExceeded`,
   * `InsufficientCapacity`, …
   */
  async createInstance(spec: InstanceSpec): Promise<Instance> {
    const vnet = parseArmId(spec.network.vpcId);
    if (!vnet) throw new CloudError('InvalidRequest', 'azure', 'InvalidNetwork', `network ${spec.network.vpcId} is not an Azure virtual network id`);
    const rg = vnet.resourceGroup;
    const location = spec.network.region;
    const tags: Tags = { [TAG_CLUSTER]: spec.clusterId, [TAG_NODE]: spec.nodeId, [TAG_ROLE]: spec.role, [TAG_NAME]: spec.name };

    const existing = await this.orNull('get virtual machine', () => this.compute.virtualMachines.get(rg, spec.name, { expand: 'instanceView' }));
    if (existing) {
      if (existing.tags?.[TAG_NODE] !== spec.nodeId || existing.tags?.[TAG_CLUSTER] !== spec.clusterId) {
        throw new CloudError('Conflict', 'azure', 'NameInUse', `virtual machine ${existing.id} belongs to node ${existing.tags?.[TAG_NODE] ?? '?'} of cluster ${existing.tags?.[TAG_CLUSTER] ?? '?'}, not node ${spec.nodeId}`);
      }
      return this.describe(existing);
    }

    const pipName = publicIpName(spec.name);
    const nName = nicName(spec.name);
    const [oldPip, oldNic] = await Promise.all([
      this.orNull('get public IP address', () => this.network.publicIPAddresses.get(rg, pipName)),
      this.orNull('get network interface', () => this.network.networkInterfaces.get(rg, nName)),
    ]);
    if (oldPip && !this.owned(oldPip.tags, spec.clusterId)) throw this.refuse('public IP address', oldPip.id, spec.clusterId);
    if (oldNic && !this.owned(oldNic.tags, spec.clusterId)) throw this.refuse('network interface', oldNic.id, spec.clusterId);
    if (oldNic?.virtualMachine?.id) throw new CloudError('Conflict', 'azure', 'NicInUse', `network interface ${oldNic.id} is attached to ${oldNic.virtualMachine.id}`);

    const pip = await this.fresh('create public IP address', () =>
      this.network.publicIPAddresses.beginCreateOrUpdateAndWait(rg, pipName, {
        location, tags, sku: { name: 'Standard', tier: 'Regional' }, publicIPAllocationMethod: 'Static', publicIPAddressVersion: 'IPv4',
      }, this.poll));
    const nic = await this.fresh('create network interface', () =>
      this.network.networkInterfaces.beginCreateOrUpdateAndWait(rg, nName, {
        location,
        tags,
        networkSecurityGroup: { id: spec.network.securityGroupIds[spec.role] },
        ipConfigurations: [{
          name: 'ipconfig1', primary: true, privateIPAllocationMethod: 'Dynamic', subnet: { id: spec.network.subnetId },
          publicIPAddress: { id: pip.id, deleteOption: 'Delete' },
        }],
      }, this.poll));

    const zone = /^[1-9]$/.test(spec.network.zone) ? spec.network.zone : undefined;
    const vm: VirtualMachine = {
      location,
      tags,
      ...(zone ? { zones: [zone] } : {}),
      hardwareProfile: { vmSize: spec.instanceType },
      storageProfile: {
        imageReference: azureNodeImage(spec.instanceType),
        osDisk: { createOption: 'FromImage', deleteOption: 'Delete', caching: 'ReadWrite', managedDisk: { storageAccountType: 'StandardSSD_LRS' } },
      },
      osProfile: {
        computerName: spec.name,
        adminUsername: ADMIN_USER,
        customData: Buffer.from(spec.userData, 'utf8').toString('base64'),
        linuxConfiguration: {
          disablePasswordAuthentication: true,
          ssh: { publicKeys: [{ path: `/home/${ADMIN_USER}/.ssh/authorized_keys`, keyData: this.publicKey() }] },
        },
      },
      networkProfile: { networkInterfaces: [{ id: nic.id, primary: true, deleteOption: 'Delete' }] },
    };
    try {
      await this.fresh('create virtual machine', async () => {
        const poller = this.compute.virtualMachines.createOrUpdate(rg, spec.name, vm, this.poll);
        await poller.submitted();
      });
    } catch (e) {
      const err = toCloudError(e, 'create virtual machine');
      if (!err.retryable) await this.cleanupAttachments(rg, nName, pipName);
      throw err;
    }
    const created = await this.fresh('get virtual machine', () => this.compute.virtualMachines.get(rg, spec.name, { expand: 'instanceView' }));
    this.launched.add(vmKey(rg, spec.name));
    return this.toInstance(created, nic, pip);
  }

  /** Best effort: removes the NIC and public IP of a VM that was refused. */
  private async cleanupAttachments(rg: string, nic: string, pip: string): Promise<void> {
    try {
      await this.gone('delete network interface', () => this.network.networkInterfaces.beginDeleteAndWait(rg, nic, this.poll));
      await this.gone('delete public IP address', () => this.network.publicIPAddresses.beginDeleteAndWait(rg, pip, this.poll));
    } catch {
      // Left for deleteNetwork (it removes the whole resource group).
    }
  }

  private toInstance(vm: VirtualMachine, nic: NetworkInterface | null | undefined, pip: PublicIPAddress | null | undefined, status?: VirtualMachine): Instance {
    const cfg = nic?.ipConfigurations?.find((c) => c.primary) ?? nic?.ipConfigurations?.[0];
    const subnetId = cfg?.subnet?.id;
    const vnetId = subnetId ? subnetId.replace(/\/subnets\/[^/]+$/i, '') : undefined;
    const statuses = (status ?? vm).instanceView?.statuses;
    return {
      id: vm.id ?? '',
      name: vm.name ?? '',
      state: vmState(vm.provisioningState, powerStateOf(statuses)),
      instanceType: vm.hardwareProfile?.vmSize ?? '',
      ...(cfg?.privateIPAddress ? { privateIp: cfg.privateIPAddress } : {}),
      ...(pip?.ipAddress ? { publicIp: pip.ipAddress } : {}),
      ...(vnetId ? { vpcId: vnetId } : {}),
      tags: { ...(vm.tags ?? {}) },
    };
  }

  private primaryNicId(vm: VirtualMachine): string | undefined {
    const nics = vm.networkProfile?.networkInterfaces ?? [];
    return (nics.find((n) => n.primary) ?? nics[0])?.id;
  }

  /** VM → Instance with its NIC and public IP read one by one (single-instance paths). */
  private async describe(vm: VirtualMachine): Promise<Instance> {
    const nicId = parseArmId(this.primaryNicId(vm) ?? '');
    const nic = nicId ? await this.orNull('get network interface', () => this.network.networkInterfaces.get(nicId.resourceGroup, nicId.name)) : null;
    const cfg = nic?.ipConfigurations?.find((c) => c.primary) ?? nic?.ipConfigurations?.[0];
    const pipId = parseArmId(cfg?.publicIPAddress?.id ?? '');
    const pip = pipId ? await this.orNull('get public IP address', () => this.network.publicIPAddresses.get(pipId.resourceGroup, pipId.name)) : null;
    return this.toInstance(vm, nic, pip);
  }

  /** Resolves an instance id (VM ARM id, or a bare VM name looked up across the subscription) to resource group + name. */
  private async locate(instanceId: string): Promise<{ rg: string; name: string } | null> {
    const id = parseArmId(instanceId);
    if (id) {
      if (id.namespace.toLowerCase() !== 'microsoft.compute' || id.type.toLowerCase() !== 'virtualmachines' || id.child) return null;
      return { rg: id.resourceGroup, name: id.name };
    }
    if (instanceId.startsWith('/')) return null;
    const vms = await this.call('list virtual machines', () => all(this.compute.virtualMachines.listAll()));
    const hits = vms.filter((v) => v.name?.toLowerCase() === instanceId.toLowerCase());
    if (hits.length > 1) throw new CloudError('InvalidRequest', 'azure', 'AmbiguousInstanceName', `${hits.length} virtual machines are named ${instanceId}; use the resource id`);
    const hit = hits.length ? parseArmId(hits[0].id ?? '') : undefined;
    return hit ? { rg: hit.resourceGroup, name: hit.name } : null;
  }

  /**
   * One VM (with its power state, private and public IP), or null when it does not exist in `region`. A VM this
   * provider made less than the consistency window ago that ARM does not show yet is waited for.
   */
  async getInstance(region: string, instanceId: string): Promise<Instance | null> {
    const where = await this.locate(instanceId);
    if (!where) return null;
    const vm = await this.launched.read(vmKey(where.rg, where.name), () => this.orNull('get virtual machine', () => this.compute.virtualMachines.get(where.rg, where.name, { expand: 'instanceView' })));
    if (!vm || !sameRegion(vm.location, region)) return null;
    return this.describe(vm);
  }

  /**
   * Lists VMs subscription-wide in bulk — models, run-time statuses (`statusOnly=true`), NICs and public IPs: four paged
   * list calls whatever the number of VMs — and joins them.
   */
  private async bulkInstances(select: (vm: VirtualMachine, nicsById: Map<string, NetworkInterface>) => boolean): Promise<Instance[]> {
    const [models, statuses, nics, pips] = await Promise.all([
      this.call('list virtual machines', () => all(this.compute.virtualMachines.listAll())),
      this.call('list virtual machine statuses', () => all(this.compute.virtualMachines.listAll({ statusOnly: 'true' }))),
      this.call('list network interfaces', () => all(this.network.networkInterfaces.listAll())),
      this.call('list public IP addresses', () => all(this.network.publicIPAddresses.listAll())),
    ]);
    const nicsById = new Map(nics.map((n) => [(n.id ?? '').toLowerCase(), n]));
    const pipsById = new Map(pips.map((p) => [(p.id ?? '').toLowerCase(), p]));
    const statusById = new Map(statuses.map((s) => [(s.id ?? '').toLowerCase(), s]));
    return models.filter((vm) => select(vm, nicsById)).map((vm) => {
      const nic = nicsById.get((this.primaryNicId(vm) ?? '').toLowerCase());
      const cfg = nic?.ipConfigurations?.find((c) => c.primary) ?? nic?.ipConfigurations?.[0];
      const pip = pipsById.get((cfg?.publicIPAddress?.id ?? '').toLowerCase());
      return this.toInstance(vm, nic, pip, statusById.get((vm.id ?? '').toLowerCase()));
    }).filter((i) => i.state !== 'terminated');
  }

  /** VMs tagged for the cluster in `region` (bulk listing, see `bulkInstances`). */
  async listInstances(clusterId: string, region: string): Promise<Instance[]> {
    return this.bulkInstances((vm) => this.owned(vm.tags, clusterId) && sameRegion(vm.location, region));
  }

  /** Every VM with a NIC in a subnet of the network's VNet, tagged or not. */
  async listInstancesInNetwork(network: NetworkStatus): Promise<Instance[]> {
    const prefix = `${network.vpcId.toLowerCase()}/subnets/`;
    return this.bulkInstances((vm, nics) =>
      (vm.networkProfile?.networkInterfaces ?? []).some((ref) =>
        (nics.get((ref.id ?? '').toLowerCase())?.ipConfigurations ?? []).some((c) => (c.subnet?.id ?? '').toLowerCase().startsWith(prefix))));
  }

  /**
   * Deletes the VM (waits; its OS disk, NIC and public IP go with it by their delete options), then deletes its NICs and
   * public IPs if any are left and tagged for the cluster. Idempotent. @throws CloudError `Conflict` when the VM is not
   * tagged for `clusterId` (nothing is deleted).
   */
  async terminateInstance(clusterId: string, region: string, instanceId: string): Promise<void> {
    const where = await this.locate(instanceId);
    if (!where) return;
    const vm = await this.launched.read(vmKey(where.rg, where.name), () => this.orNull('get virtual machine', () => this.compute.virtualMachines.get(where.rg, where.name)));
    if (!vm || !sameRegion(vm.location, region)) return;
    if (!this.owned(vm.tags, clusterId)) {
      throw new CloudError('Conflict', 'azure', 'NotOwnedByCluster', `virtual machine ${vm.id} is not tagged ${TAG_CLUSTER}=${clusterId} (it has ${vm.tags?.[TAG_CLUSTER] ?? 'none'}); refusing to terminate it`);
    }
    const nicIds = (vm.networkProfile?.networkInterfaces ?? []).map((r) => r.id).filter((x): x is string => !!x);
    const nics = (await Promise.all(nicIds.map((id) => {
      const p = parseArmId(id);
      return p ? this.orNull('get network interface', () => this.network.networkInterfaces.get(p.resourceGroup, p.name)) : Promise.resolve(null);
    }))).filter((x): x is NetworkInterface => x !== null);
    const pipIds = nics.flatMap((nic) => (nic.ipConfigurations ?? []).map((c) => c.publicIPAddress?.id).filter((x): x is string => !!x));

    await this.gone('delete virtual machine', () => this.compute.virtualMachines.delete(where.rg, where.name, this.poll).pollUntilDone());
    this.launched.forget(vmKey(where.rg, where.name));

    for (const nic of nics) {
      const p = parseArmId(nic.id ?? '');
      if (!p) continue;
      const left = await this.orNull('get network interface', () => this.network.networkInterfaces.get(p.resourceGroup, p.name));
      if (left && this.owned(left.tags, clusterId) && (!left.virtualMachine?.id || sameId(left.virtualMachine.id, vm.id))) {
        await this.gone('delete network interface', () => this.network.networkInterfaces.beginDeleteAndWait(p.resourceGroup, p.name, this.poll));
      }
    }
    for (const id of pipIds) {
      const p = parseArmId(id);
      if (!p) continue;
      const left = await this.orNull('get public IP address', () => this.network.publicIPAddresses.get(p.resourceGroup, p.name));
      if (left && this.owned(left.tags, clusterId) && !left.ipConfiguration?.id) {
        await this.gone('delete public IP address', () => this.network.publicIPAddresses.beginDeleteAndWait(p.resourceGroup, p.name, this.poll));
      }
    }
  }

  /**
   * Resource groups and resources tagged `skyweave-cluster=<clusterId>` in `region` (Resource Groups - List and
   * Resources - List with `$filter=tagName eq … and tagValue eq …`). ARM does not return tags on a tag-filtered listing,
   * so resources carry `{ skyweave-cluster: clusterId }` only; resource groups carry all their tags. Subnets (no tags)
   * are not listed.
   */
  async listTaggedResources(clusterId: string, region: string): Promise<CloudResource[]> {
    const filter = `tagName eq '${TAG_CLUSTER}' and tagValue eq '${clusterId.replace(/'/g, "''")}'`;
    const [groups, resources] = await Promise.all([
      this.call('list resource groups', () => all(this.resources.resourceGroups.list({ filter }))),
      this.call('list resources', () => all(this.resources.resources.list({ filter }))),
    ]);
    return [
      ...groups.filter((g) => sameRegion(g.location, region)).map((g) => ({ kind: 'resource-group', id: g.id ?? '', name: g.name, tags: { ...(g.tags ?? {}), [TAG_CLUSTER]: clusterId } })),
      ...resources.filter((r) => sameRegion(r.location, region)).map((r) => ({ kind: resourceKind(r.type), id: r.id ?? '', name: r.name, tags: { ...(r.tags ?? {}), [TAG_CLUSTER]: clusterId } })),
    ];
  }

  /**
   * Resource groups and resources of the subscription in `region` carrying a `skyweave-cluster` tag of any value: two
   * paginated listings (Resource Groups - List and Resources - List, unfiltered, because ARM leaves tags out of
   * tag-filtered listings), filtered here. Subnets (no tags) and untagged OS disks are not listed.
   */
  async listAllTaggedResources(region: string): Promise<CloudResource[]> {
    const [groups, resources] = await Promise.all([
      this.call('list resource groups', () => all(this.resources.resourceGroups.list())),
      this.call('list resources', () => all(this.resources.resources.list())),
    ]);
    const tagged = (r: { location?: string; tags?: Tags }) => !!r.tags?.[TAG_CLUSTER] && sameRegion(r.location, region);
    return [
      ...groups.filter(tagged).map((g) => ({ kind: 'resource-group', id: g.id ?? '', name: g.name, tags: { ...(g.tags ?? {}) } })),
      ...resources.filter(tagged).map((r) => ({ kind: resourceKind(r.type), id: r.id ?? '', name: r.name, tags: { ...(r.tags ?? {}) } })),
    ];
  }
}

/** Key of a VM in `AzureProvider.launched`. */
const vmKey = (rg: string, name: string) => `${rg}/${name}`.toLowerCase();

/** CloudResource `kind` of an ARM resource type. */
function resourceKind(type: string | undefined): string {
  return {
    'microsoft.network/virtualnetworks': 'virtual-network',
    'microsoft.network/networksecuritygroups': 'network-security-group',
    'microsoft.network/publicipaddresses': 'public-ip',
    'microsoft.network/networkinterfaces': 'network-interface',
    'microsoft.compute/virtualmachines': 'virtual-machine',
    'microsoft.compute/disks': 'disk',
  }[(type ?? '').toLowerCase()] ?? type ?? 'resource';
}
