import { randomUUID } from 'node:crypto';
import {
  FirewallsClient, GlobalOperationsClient, InstancesClient, NetworksClient, ProjectsClient, RegionOperationsClient,
  SubnetworksClient, ZoneOperationsClient, protos,
} from '@google-cloud/compute';
import { FirewallRule, NodeRole, TAG_CLUSTER, TAG_NODE, TAG_ROLE } from '@skyweave/domain';
import type {
  CloudEndpoints, CloudProvider, CloudProviderOptions, CloudResource, GcpCredentials, Instance, InstanceSpec, InstanceState,
  NetworkInspection, NetworkSpec, NetworkStatus,
} from '../cloud-provider';
import { DEFAULT_CONSISTENCY_WINDOW_MS, readBack, RecentlyMade, retryWhileMissing } from '../consistency';
import { CloudError, isCloudError, isNotFound } from '../errors';
import { recordCloudRetry, timeCloudRequest } from '../metrics';
import { CLOUD_CALL, withRetry } from '../retry';
import { computeClientOptions } from './gcp-client';
import { operationFailure, toCloudError } from './gcp-errors';
import { firewallPlanDrift, firewallToRules, planToFirewall } from './gcp-firewall';
import {
  anyClusterDescriptionFilter, DESC_VPC_CIDR, DESC_ZONE, descriptionFilter, firewallName, labelFilter, labelPresentFilter, lastSegment,
  nameFilter, networkName, ownedBy, ownershipDescription, parseDescription, regionOfZone, subnetworkName,
} from './gcp-naming';

type IOperation = protos.google.cloud.compute.v1.IOperation;
type INetwork = protos.google.cloud.compute.v1.INetwork;
type ISubnetwork = protos.google.cloud.compute.v1.ISubnetwork;
type IFirewall = protos.google.cloud.compute.v1.IFirewall;
type IInstance = protos.google.cloud.compute.v1.IInstance;

const ROLES: NodeRole[] = ['master', 'worker'];

/** Boot image of every node: Ubuntu 24.04 LTS (amd64), by image family. */
export const GCP_NODE_IMAGE = 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64';
/** The arm64 build of the same image, for Arm machine types (Compute refuses an x86_64 boot disk on them). */
export const GCP_NODE_IMAGE_ARM64 = 'projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-arm64';

/** Arm machine families of Compute Engine (T2A Ampere Altra, C4A and N4A Google Axion). */
const ARM_MACHINE_FAMILIES = new Set(['t2a', 'c4a', 'n4a']);

/** The node image for a machine type: arm64 for the Arm families, amd64 otherwise. */
export const gcpNodeImage = (machineType: string): string => (ARM_MACHINE_FAMILIES.has(machineType.split('-')[0]) ? GCP_NODE_IMAGE_ARM64 : GCP_NODE_IMAGE);
/** Boot disk size of every node, in GB. */
export const GCP_BOOT_DISK_GB = 20;

/** Longest wait for one long-running operation. */
const OPERATION_TIMEOUT_MS = 10 * 60_000;

/** Call options of the *Async list iterators: they page on demand (and gax warns unless autoPaginate is off). */
const PAGED = { autoPaginate: false };

/**
 * Google Cloud through the official Compute Engine client (`@google-cloud/compute`, REST transport) with a
 * service-account key (OAuth 2.0 JWT-bearer flow, google-auth-library).
 *
 * API reference: https://cloud.google.com/compute/docs/reference/rest/v1 — networks, subnetworks, firewalls,
 * instances (insert/get/list/aggregatedList/delete), globalOperations/regionOperations/zoneOperations.wait, projects.get.
 *
 * What a cluster gets on GCP (all in the key file's project):
 * - a custom-mode VPC network `sw-<8 hex>-net` (`autoCreateSubnetworks: false`, regional routing);
 * - a subnetwork `sw-<8 hex>-subnet` with the node subnet range in the cluster's region;
 * - one INGRESS firewall per role, `sw-<8 hex>-master` / `sw-<8 hex>-worker`, whose rules target instances carrying
 *   the network tag of the same name;
 * - instances labelled `skyweave-cluster`, `skyweave-node`, `skyweave-role`, tagged for their role's firewall, with an
 *   external IPv4 (ONE_TO_ONE_NAT) and the user-data in metadata key `user-data`.
 * Networks, subnetworks and firewalls have no labels in GCP: their description holds `skyweave-cluster=<id>`
 * (see gcp-naming.ts). Ids in this adapter are resource names, as GCP addresses resources by name:
 * `vpcId` = network name, `subnetId` = subnetwork name, `securityGroupIds` = firewall names, instance id = instance
 * name (unique per zone; looked up within the region).
 *
 * Errors: every cloud failure is thrown as CloudError (gcp-errors.ts): 403 `rateLimitExceeded` ⇒ Throttled,
 * 5xx ⇒ Unavailable (both retried here: retry.ts `CLOUD_CALL`, 3 attempts; google-gax's own retry is off, see
 * gcp-client.ts), `QUOTA_EXCEEDED` ⇒ QuotaExceeded,
 * `ZONE_RESOURCE_POOL_EXHAUSTED` ⇒ InsufficientCapacity, `invalid_grant` / 401 / 403 ⇒ InvalidCredentials,
 * `resourceInUseByAnotherResource` ⇒ Conflict, 404 ⇒ NotFound, other 4xx ⇒ InvalidRequest.
 */
export class GcpProvider implements CloudProvider {
  readonly cloud = 'gcp' as const;
  /** instances.insert carries `requestId` (the launch's idempotency token) and instance names are unique per zone. */
  readonly idempotentCreate = true;
  private readonly project: string;
  private readonly windowMs: number;
  /** Instances inserted by this provider that no read has shown yet (eventual consistency of getInstance). */
  private readonly launched: RecentlyMade;
  private readonly networks: NetworksClient;
  private readonly subnetworks: SubnetworksClient;
  private readonly firewalls: FirewallsClient;
  private readonly instances: InstancesClient;
  private readonly globalOps: GlobalOperationsClient;
  private readonly regionOps: RegionOperationsClient;
  private readonly zoneOps: ZoneOperationsClient;
  private readonly projects: ProjectsClient;

  /**
   * @param credentials a service-account key file (its `project_id` is the project everything is built in).
   * @param endpoints `gcp`: Compute base URL of a sandbox (e.g. `http://127.0.0.1:4567`), which also serves the
   *   token endpoint at `/token`; absent ⇒ compute.googleapis.com and the key file's `token_uri`.
   * @param options `consistencyWindowMs`: how long a not-found of something just created is retried (default 30 s).
   */
  constructor(credentials: GcpCredentials, endpoints: CloudEndpoints = {}, options: CloudProviderOptions = {}) {
    this.project = credentials.project_id;
    this.windowMs = options.consistencyWindowMs ?? DEFAULT_CONSISTENCY_WINDOW_MS;
    this.launched = new RecentlyMade(this.windowMs);
    const opts = computeClientOptions(credentials, endpoints);
    this.networks = new NetworksClient({ ...opts });
    this.subnetworks = new SubnetworksClient({ ...opts });
    this.firewalls = new FirewallsClient({ ...opts });
    this.instances = new InstancesClient({ ...opts });
    this.globalOps = new GlobalOperationsClient({ ...opts });
    this.regionOps = new RegionOperationsClient({ ...opts });
    this.zoneOps = new ZoneOperationsClient({ ...opts });
    this.projects = new ProjectsClient({ ...opts });
  }

  /** `projects.get` on the key file's project. @throws CloudError `InvalidCredentials` when the key is refused. */
  async verifyCredentials(): Promise<void> {
    await this.call('projects.get', () => this.projects.get({ project: this.project }));
  }

  /**
   * The network first; then, concurrently, the subnetwork and both role firewalls (each insert waits for its own
   * operation; none needs another). Each part is looked up by name first (adopted when its description carries the
   * cluster id; `Conflict` when the name is taken by something else), created when missing (waiting for the
   * operation), firewalls patched when their rules drifted from `spec.firewall`. When one part fails the call rejects
   * with that part's CloudError (the other parts may still complete; a later call picks up from there). Repairs what
   * inspectNetwork reports: deleted parts are inserted again (all of them when the network is gone), a firewall whose
   * rules, target tag or enabled state drifted is patched back to the plan. A part just inserted that reads do not show
   * yet is waited for (consistency window). Names derive from `resourcePrefix(spec.clusterId)` (which is what `spec.namePrefix` holds), so that getNetwork/deleteNetwork,
   * which only know the cluster id, find the same resources.
   * @returns the network; `vpcId`, `subnetId` and `securityGroupIds` are resource names, `vpcCidr` is the planned
   *   range (kept in the network's description: GCP VPC networks have no range of their own).
   * @throws CloudError `Conflict` when a name is taken by a resource not described for this cluster;
   *   `InvalidRequest` for a firewall plan one GCP firewall per role cannot express (see planToFirewall);
   *   `QuotaExceeded` (operation error `QUOTA_EXCEEDED`), `Throttled`, `Unavailable`, `InvalidCredentials`.
   */
  async ensureNetwork(spec: NetworkSpec): Promise<NetworkStatus> {
    const { clusterId } = spec;
    const netName = networkName(clusterId);
    const net = await this.ensureNetworkResource(spec, netName);
    const [subnet, master, worker] = await Promise.all([
      this.ensureSubnetwork(spec, netName),
      this.ensureFirewall(spec, netName, 'master'),
      this.ensureFirewall(spec, netName, 'worker'),
    ]);
    return this.status(clusterId, spec.region, spec.zone, spec.vpcCidr, net, subnet, { master, worker });
  }

  /**
   * The cluster's VPC network (custom subnet mode, regional routing; planned range and zone kept in its description),
   * inserted when missing. No dependencies.
   * @throws CloudError `Conflict` when the name is taken by a network not described for this cluster.
   */
  private async ensureNetworkResource(spec: NetworkSpec, netName: string): Promise<INetwork> {
    const { clusterId } = spec;
    let net = await this.getNetworkResource(netName);
    if (net && !ownedBy(net.description, clusterId)) throw this.foreign('network', netName, clusterId);
    if (!net) {
      await this.insertOrAdopt('networks.insert', (requestId) => this.networks.insert({
        project: this.project,
        requestId,
        networkResource: {
          name: netName,
          description: ownershipDescription(clusterId, { [DESC_VPC_CIDR]: spec.vpcCidr, [DESC_ZONE]: spec.zone }),
          autoCreateSubnetworks: false,
          routingConfig: { routingMode: 'REGIONAL' },
        },
      }), () => this.getNetworkResource(netName));
      net = await this.readBack(() => this.getNetworkResource(netName));
      if (!net) throw new CloudError('NotFound', 'gcp', 'notFound', `network ${netName} is not visible ${this.windowMs} ms after its insert completed`);
      if (!ownedBy(net.description, clusterId)) throw this.foreign('network', netName, clusterId);
    }
    return net;
  }

  /**
   * The cluster's subnetwork in `spec.region` (`spec.subnetCidr`) of the network, inserted when missing. Needs: the
   * network. @throws CloudError `Conflict` when the name is taken by a subnetwork not described for this cluster or in
   * another network, or when it has another range (`subnetworkRangeMismatch`).
   */
  private async ensureSubnetwork(spec: NetworkSpec, netName: string): Promise<ISubnetwork> {
    const name = subnetworkName(spec.clusterId);
    let sub = await this.getSubnetworkResource(spec.region, name);
    if (sub && (!ownedBy(sub.description, spec.clusterId) || lastSegment(sub.network) !== netName)) throw this.foreign('subnetwork', name, spec.clusterId);
    if (sub && sub.ipCidrRange !== spec.subnetCidr) {
      throw new CloudError('Conflict', 'gcp', 'subnetworkRangeMismatch', `subnetwork ${name} has range ${sub.ipCidrRange}, not ${spec.subnetCidr}`);
    }
    if (!sub) {
      await this.insertOrAdopt('subnetworks.insert', (requestId) => this.subnetworks.insert({
        project: this.project,
        region: spec.region,
        requestId,
        subnetworkResource: {
          name,
          description: ownershipDescription(spec.clusterId),
          network: `projects/${this.project}/global/networks/${netName}`,
          ipCidrRange: spec.subnetCidr,
        },
      }), () => this.getSubnetworkResource(spec.region, name), true);
      sub = await this.readBack(() => this.getSubnetworkResource(spec.region, name));
      if (!sub) throw new CloudError('NotFound', 'gcp', 'notFound', `subnetwork ${name} is not visible ${this.windowMs} ms after its insert completed`);
    }
    return sub;
  }

  /**
   * The role's firewall (ingress, enabled, target tag = its own name) with rules exactly `spec.firewall[role]`:
   * inserted when missing, patched when it drifted (see firewallPlanDrift). Needs: the network; independent of the
   * subnetwork and of the other role's firewall. @throws CloudError `Conflict` when the name is taken by a firewall not
   * described for this cluster or in another network; `InvalidRequest` for a plan one firewall cannot express.
   */
  private async ensureFirewall(spec: NetworkSpec, netName: string, role: NodeRole): Promise<IFirewall> {
    const name = firewallName(spec.clusterId, role);
    const planned = planToFirewall(spec.firewall[role]);
    const wanted = { direction: 'INGRESS', priority: 1000, disabled: false, sourceRanges: planned.sourceRanges, allowed: planned.allowed, targetTags: [name] };
    let fw = await this.getFirewallResource(name);
    if (fw && (!ownedBy(fw.description, spec.clusterId) || lastSegment(fw.network) !== netName)) throw this.foreign('firewall', name, spec.clusterId);
    if (!fw) {
      await this.insertOrAdopt('firewalls.insert', (requestId) => this.firewalls.insert({
        project: this.project,
        requestId,
        firewallResource: { name, description: ownershipDescription(spec.clusterId), network: `projects/${this.project}/global/networks/${netName}`, ...wanted },
      }), () => this.getFirewallResource(name), true);
    } else if (firewallPlanDrift(fw, name, spec.firewall[role]).length) {
      await this.insert('firewalls.patch', (requestId) => this.firewalls.patch({ project: this.project, firewall: name, requestId, firewallResource: wanted }));
    } else {
      return fw;
    }
    fw = await this.readBack(() => this.getFirewallResource(name));
    if (!fw) throw new CloudError('NotFound', 'gcp', 'notFound', `firewall ${name} is not visible ${this.windowMs} ms after its insert completed`);
    return fw;
  }

  /**
   * The cluster's network (`networks.get` by its fixed name; `null` unless its description carries `clusterId`), with
   * the subnetwork of `region` and the role firewalls; parts not (yet) there are empty strings. `zone` and `vpcCidr`
   * come from the network's description.
   */
  async getNetwork(clusterId: string, region: string): Promise<NetworkStatus | null> {
    const net = await this.getNetworkResource(networkName(clusterId));
    if (!net || !ownedBy(net.description, clusterId)) return null;
    const desc = parseDescription(net.description);
    const [sub, master, worker] = await Promise.all([
      this.getSubnetworkResource(region, subnetworkName(clusterId)),
      this.getFirewallResource(firewallName(clusterId, 'master')),
      this.getFirewallResource(firewallName(clusterId, 'worker')),
    ]);
    const mine = <T extends { description?: string | null }>(r: T | null) => (r && ownedBy(r.description, clusterId) ? r : null);
    return this.status(clusterId, region, desc[DESC_ZONE] ?? `${region}-a`, desc[DESC_VPC_CIDR] ?? '', net, mine(sub), { master: mine(master), worker: mine(worker) });
  }

  /**
   * Four gets at once — `networks.get`, `subnetworks.get` (in `spec.region`), `firewalls.get` per role — compared with
   * the spec: the network (owned: its description carries the cluster id); the subnetwork, its network and range; each
   * firewall, its network, enabled state, target tag and rules (firewallPlanDrift). Nothing is changed.
   * @throws CloudError `InvalidRequest` for a firewall plan one GCP firewall cannot express (as ensureNetwork would).
   */
  async inspectNetwork(spec: NetworkSpec): Promise<NetworkInspection> {
    const { clusterId, region } = spec;
    const netName = networkName(clusterId);
    const subName = subnetworkName(clusterId);
    const [net, sub, master, worker] = await Promise.all([
      this.getNetworkResource(netName),
      this.getSubnetworkResource(region, subName),
      this.getFirewallResource(firewallName(clusterId, 'master')),
      this.getFirewallResource(firewallName(clusterId, 'worker')),
    ]);
    if (!net) return { status: null, drift: [`VPC network ${netName} (${spec.vpcCidr}) is missing`] };
    if (!ownedBy(net.description, clusterId)) return { status: null, drift: [`VPC network ${netName} exists but is not described ${TAG_CLUSTER}=${clusterId}`] };
    const drift: string[] = [];
    if (!sub) drift.push(`subnetwork ${subName} (${spec.subnetCidr}) is missing`);
    else if (!ownedBy(sub.description, clusterId)) drift.push(`subnetwork ${subName} exists but is not described ${TAG_CLUSTER}=${clusterId}`);
    else if (lastSegment(sub.network) !== netName) drift.push(`subnetwork ${subName} is in network ${lastSegment(sub.network)}, not ${netName}`);
    else if (sub.ipCidrRange !== spec.subnetCidr) drift.push(`subnetwork ${subName} is ${sub.ipCidrRange}, not ${spec.subnetCidr}`);
    const fws: Record<NodeRole, IFirewall | null> = { master, worker };
    for (const role of ROLES) {
      const name = firewallName(clusterId, role);
      const fw = fws[role];
      if (!fw) drift.push(`firewall ${name} is missing`);
      else if (!ownedBy(fw.description, clusterId)) drift.push(`firewall ${name} exists but is not described ${TAG_CLUSTER}=${clusterId}`);
      else if (lastSegment(fw.network) !== netName) drift.push(`firewall ${name} is in network ${lastSegment(fw.network)}, not ${netName}`);
      else drift.push(...firewallPlanDrift(fw, name, spec.firewall[role]));
    }
    const mine = <T extends { description?: string | null }>(r: T | null) => (r && ownedBy(r.description, clusterId) ? r : null);
    const desc = parseDescription(net.description);
    const status = this.status(clusterId, region, desc[DESC_ZONE] ?? spec.zone, desc[DESC_VPC_CIDR] ?? '', net, mine(sub), { master: mine(master), worker: mine(worker) });
    return { status, drift };
  }

  /** `firewalls.get` per role, as FirewallRules (tcp/udp × port range × source range). */
  async describeFirewall(network: NetworkStatus): Promise<Record<NodeRole, FirewallRule[]>> {
    const out: Record<NodeRole, FirewallRule[]> = { master: [], worker: [] };
    await Promise.all(ROLES.map(async (role) => {
      const name = network.securityGroupIds[role];
      const fw = name ? await this.getFirewallResource(name) : null;
      out[role] = fw ? firewallToRules(fw) : [];
    }));
    return out;
  }

  /**
   * Deletes, in order, the cluster's firewalls, its subnetworks in `region` and its network — only resources whose
   * description carries the cluster id (`firewalls.list` / `subnetworks.list` with a description filter, then
   * `…delete`, each operation waited). Idempotent: what is already gone is skipped.
   * @throws CloudError `Conflict` while any instance (labelled or not) is still attached to the network (checked before
   *   anything is deleted), or when GCP refuses a delete with `resourceInUseByAnotherResource` (e.g. a firewall or
   *   subnetwork of someone else still in the network).
   */
  async deleteNetwork(clusterId: string, region: string): Promise<void> {
    const netName = networkName(clusterId);
    const net = await this.getNetworkResource(netName);
    const ownNet = !!net && ownedBy(net.description, clusterId);
    if (ownNet) {
      const attached = await this.instancesAttachedTo(netName);
      if (attached.length) {
        throw new CloudError('Conflict', 'gcp', 'resourceInUseByAnotherResource',
          `network ${netName} is still used by instance(s) ${attached.map((i) => i.name).join(', ')}`);
      }
    }
    const filter = descriptionFilter(clusterId);
    const fws = (await this.call('firewalls.list', () => collect(this.firewalls.listAsync({ project: this.project, filter }, PAGED))))
      .filter((f) => ownedBy(f.description, clusterId));
    await Promise.all(fws.map((f) => this.remove('firewalls.delete', (requestId) => this.firewalls.delete({ project: this.project, firewall: String(f.name), requestId }))));
    const subs = (await this.call('subnetworks.list', () => collect(this.subnetworks.listAsync({ project: this.project, region, filter }, PAGED))))
      .filter((s) => ownedBy(s.description, clusterId));
    await Promise.all(subs.map((s) => this.remove('subnetworks.delete', (requestId) => this.subnetworks.delete({ project: this.project, region, subnetwork: String(s.name), requestId }))));
    if (ownNet) await this.remove('networks.delete', (requestId) => this.networks.delete({ project: this.project, network: netName, requestId }));
  }

  /**
   * Returns the instance labelled `skyweave-node=<nodeId>` in the network's zone if there is one; otherwise
   * `instances.insert` with `requestId = nodeId`, waiting for the zonal operation (so quota and capacity errors, which
   * GCP reports in the operation, surface here). The instance is tagged with the role's firewall name
   * (`spec.network.securityGroupIds[role]`, which is also that firewall's target tag), gets an ephemeral external IPv4,
   * an Ubuntu 24.04 boot disk of the machine type's architecture (gcpNodeImage, GCP_BOOT_DISK_GB) and the user-data as metadata `user-data` (plain text).
   * A launch the label look-up cannot see yet (eventual consistency) is caught by the `requestId` (GCP answers the
   * first operation again) or by the name (`alreadyExists` ⇒ adopted when it carries this node's label); the instance
   * is then read back, retried while it is not visible (consistency window).
   * @returns the instance; `id` is its name.
   * @throws CloudError `QuotaExceeded` (`QUOTA_EXCEEDED`), `InsufficientCapacity` (`ZONE_RESOURCE_POOL_EXHAUSTED`),
   *   `Conflict` when the name is taken by an instance of another node, `InvalidRequest` (e.g. unknown machine type).
   */
  async createInstance(spec: InstanceSpec): Promise<Instance> {
    const zone = spec.network.zone;
    const region = spec.network.region;
    const found = await this.call('instances.list', () =>
      collect(this.instances.listAsync({ project: this.project, zone, filter: labelFilter(TAG_NODE, spec.nodeId) }, PAGED)));
    if (found[0]) return toInstance(found[0]);
    const networkTag = spec.network.securityGroupIds[spec.role];
    try {
      await this.insert('instances.insert', () => this.instances.insert({
        project: this.project,
        zone,
        requestId: spec.idempotencyToken ?? spec.nodeId,
        instanceResource: {
          name: spec.name,
          machineType: `zones/${zone}/machineTypes/${spec.instanceType}`,
          labels: { [TAG_CLUSTER]: spec.clusterId, [TAG_NODE]: spec.nodeId, [TAG_ROLE]: spec.role },
          tags: { items: networkTag ? [networkTag] : [] },
          metadata: { items: [{ key: 'user-data', value: spec.userData }] },
          disks: [{ boot: true, autoDelete: true, initializeParams: { sourceImage: gcpNodeImage(spec.instanceType), diskSizeGb: GCP_BOOT_DISK_GB } }],
          networkInterfaces: [{
            subnetwork: `projects/${this.project}/regions/${region}/subnetworks/${spec.network.subnetId}`,
            accessConfigs: [{ type: 'ONE_TO_ONE_NAT', name: 'External NAT' }],
          }],
        },
      }), spec.idempotencyToken ?? spec.nodeId, true);
    } catch (e) {
      if (!isCloudError(e, 'Conflict') || e.code !== 'alreadyExists') throw e;
      // The name is taken: ours (an earlier launch of this node, maybe not visible yet) or someone else's.
      const existing = await this.readBack(() => this.getInstanceIn(zone, spec.name));
      if (!existing || existing.labels?.[TAG_NODE] !== spec.nodeId) throw e;
      return toInstance(existing);
    }
    const created = await this.readBack(() => this.getInstanceIn(zone, spec.name));
    if (!created) throw new CloudError('NotFound', 'gcp', 'notFound', `instance ${spec.name} is not visible ${this.windowMs} ms after its insert completed`);
    this.launched.add(spec.name);
    return toInstance(created);
  }

  /**
   * The instance named `instanceId` (GCP addresses instances by name) in any zone of `region` — one
   * `instances.aggregatedList` filtered by name — or `null`. Deleted instances are gone in GCP, so never `terminated`.
   * One this provider inserted less than the consistency window ago that the list does not show yet is waited for.
   */
  async getInstance(region: string, instanceId: string): Promise<Instance | null> {
    const found = await this.launched.read(instanceId, async () => (await this.aggregated(nameFilter(instanceId), region))[0] ?? null);
    return found ? toInstance(found) : null;
  }

  /** Instances labelled for the cluster in `region`: one `instances.aggregatedList` (paginated) with a label filter. */
  async listInstances(clusterId: string, region: string): Promise<Instance[]> {
    return (await this.aggregated(labelFilter(TAG_CLUSTER, clusterId), region)).map(toInstance);
  }

  /** Every instance with a network interface in the network, labelled or not (`instances.aggregatedList`, all zones). */
  async listInstancesInNetwork(network: NetworkStatus): Promise<Instance[]> {
    return (await this.instancesAttachedTo(network.vpcId)).map(toInstance);
  }

  /**
   * `instances.delete`, waiting for the operation. Resolves when the instance is gone or was never there.
   * @throws CloudError `Conflict` when the instance is not labelled `skyweave-cluster=<clusterId>` (nothing deleted).
   */
  async terminateInstance(clusterId: string, region: string, instanceId: string): Promise<void> {
    // Names are unique per zone: prefer the cluster's instance if several zones of the region have one of that name.
    const found = (await this.launched.read(instanceId, async () => {
      const list = await this.aggregated(nameFilter(instanceId), region);
      return list.length ? list : null;
    })) ?? [];
    const inst = found.find((i) => i.labels?.[TAG_CLUSTER] === clusterId) ?? found[0];
    if (!inst) return;
    if (inst.labels?.[TAG_CLUSTER] !== clusterId) {
      throw new CloudError('Conflict', 'gcp', 'notTaggedForCluster', `instance ${instanceId} is not labelled ${TAG_CLUSTER}=${clusterId}; not deleting it`);
    }
    const zone = lastSegment(inst.zone);
    await this.remove('instances.delete', (requestId) => this.instances.delete({ project: this.project, zone, instance: instanceId, requestId }));
    this.launched.forget(instanceId);
  }

  /**
   * Every network, subnetwork (in `region`) and firewall whose description carries a `skyweave-cluster=<id>` marker
   * of any value, and every instance of the region labelled `skyweave-cluster` — four list calls (paginated):
   * `networks.list`, `subnetworks.list`, `firewalls.list` (regular-expression filter on the description) and
   * `instances.aggregatedList` (`labels.skyweave-cluster:*`). Tags: the description's `key=value` tokens, or the labels.
   */
  async listAllTaggedResources(region: string): Promise<CloudResource[]> {
    const filter = anyClusterDescriptionFilter();
    const [nets, subs, fws, insts] = await Promise.all([
      this.call('networks.list', () => collect(this.networks.listAsync({ project: this.project, filter }, PAGED))),
      this.call('subnetworks.list', () => collect(this.subnetworks.listAsync({ project: this.project, region, filter }, PAGED))),
      this.call('firewalls.list', () => collect(this.firewalls.listAsync({ project: this.project, filter }, PAGED))),
      this.aggregated(labelPresentFilter(TAG_CLUSTER), region),
    ]);
    const described = (kind: string, r: { name?: string | null; description?: string | null }): CloudResource =>
      ({ kind, id: String(r.name), name: String(r.name), tags: parseDescription(r.description) });
    return [
      ...nets.map((n) => described('network', n)),
      ...subs.map((s) => described('subnetwork', s)),
      ...fws.map((f) => described('firewall', f)),
      ...insts.map((i): CloudResource => ({ kind: 'instance', id: String(i.name), name: String(i.name), tags: { ...(i.labels ?? {}) } })),
    ].filter((r) => !!r.tags[TAG_CLUSTER]);
  }

  /** Networks, subnetworks (in `region`) and firewalls whose description carries the cluster id, and the cluster's instances. */
  async listTaggedResources(clusterId: string, region: string): Promise<CloudResource[]> {
    const filter = descriptionFilter(clusterId);
    const [nets, subs, fws, insts] = await Promise.all([
      this.call('networks.list', () => collect(this.networks.listAsync({ project: this.project, filter }, PAGED))),
      this.call('subnetworks.list', () => collect(this.subnetworks.listAsync({ project: this.project, region, filter }, PAGED))),
      this.call('firewalls.list', () => collect(this.firewalls.listAsync({ project: this.project, filter }, PAGED))),
      this.aggregated(labelFilter(TAG_CLUSTER, clusterId), region),
    ]);
    const described = (kind: string, r: { name?: string | null; description?: string | null }): CloudResource =>
      ({ kind, id: String(r.name), name: String(r.name), tags: parseDescription(r.description) });
    return [
      ...nets.filter((n) => ownedBy(n.description, clusterId)).map((n) => described('network', n)),
      ...subs.filter((s) => ownedBy(s.description, clusterId)).map((s) => described('subnetwork', s)),
      ...fws.filter((f) => ownedBy(f.description, clusterId)).map((f) => described('firewall', f)),
      ...insts.map((i): CloudResource => ({ kind: 'instance', id: String(i.name), name: String(i.name), tags: { ...(i.labels ?? {}) } })),
    ];
  }

  // ---------------------------------------------------------------- helpers

  private status(
    clusterId: string, region: string, zone: string, vpcCidr: string, net: INetwork, sub: ISubnetwork | null,
    fws: Record<NodeRole, IFirewall | null>,
  ): NetworkStatus {
    const described = (kind: string, r: { name?: string | null; description?: string | null }): CloudResource =>
      ({ kind, id: String(r.name), name: String(r.name), tags: parseDescription(r.description) });
    return {
      cloud: 'gcp',
      region,
      zone,
      vpcId: String(net.name),
      vpcCidr,
      subnetId: sub?.name ?? '',
      subnetCidr: sub?.ipCidrRange ?? '',
      securityGroupIds: { master: fws.master?.name ?? '', worker: fws.worker?.name ?? '' },
      resources: [
        described('network', net),
        ...(sub ? [described('subnetwork', sub)] : []),
        ...ROLES.flatMap((r) => (fws[r] ? [described('firewall', fws[r] as IFirewall)] : [])),
      ].filter((r) => r.tags[TAG_CLUSTER] === clusterId),
    };
  }

  /** Reads back what was just inserted: a get answering null is retried with backoff within the consistency window. */
  private readBack<T>(get: () => Promise<T | null>): Promise<T | null> {
    return readBack(get, { windowMs: this.windowMs });
  }

  private foreign(kind: string, name: string, clusterId: string): CloudError {
    return new CloudError('Conflict', 'gcp', 'resourceOwnedElsewhere', `${kind} ${name} exists but its description does not carry ${TAG_CLUSTER}=${clusterId}`);
  }

  private getNetworkResource(name: string): Promise<INetwork | null> {
    return this.orNull('networks.get', () => this.networks.get({ project: this.project, network: name }));
  }

  private getSubnetworkResource(region: string, name: string): Promise<ISubnetwork | null> {
    return this.orNull('subnetworks.get', () => this.subnetworks.get({ project: this.project, region, subnetwork: name }));
  }

  private getFirewallResource(name: string): Promise<IFirewall | null> {
    return this.orNull('firewalls.get', () => this.firewalls.get({ project: this.project, firewall: name }));
  }

  private getInstanceIn(zone: string, name: string): Promise<IInstance | null> {
    return this.orNull('instances.get', () => this.instances.get({ project: this.project, zone, instance: name }));
  }

  /** Instances of the project matching `filter`, in zones of `region` (one aggregatedList, paginated). */
  private async aggregated(filter: string | undefined, region?: string): Promise<IInstance[]> {
    const pairs = await this.call('instances.aggregatedList', () =>
      collect(this.instances.aggregatedListAsync({ project: this.project, ...(filter ? { filter } : {}), returnPartialSuccess: false }, PAGED)));
    const out: IInstance[] = [];
    for (const [scope, list] of pairs) {
      const zone = scope.replace(/^zones\//, '');
      if (region && regionOfZone(zone) !== region) continue;
      out.push(...(list.instances ?? []));
    }
    return out;
  }

  private async instancesAttachedTo(networkName: string): Promise<IInstance[]> {
    const all = await this.aggregated(undefined);
    return all.filter((i) => (i.networkInterfaces ?? []).some((n) => {
      const ref = n.network ?? '';
      return lastSegment(ref) === networkName && ref.includes(`projects/${this.project}/`);
    }));
  }

  private async orNull<T>(what: string, fn: () => Promise<[T, ...unknown[]]>): Promise<T | null> {
    try {
      return (await this.call(what, fn))[0];
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  /**
   * One SDK call (`what`: the Compute method, e.g. `instances.insert`), recorded in the cloud metrics, with error
   * mapping; throttling, 5xx and network failures are retried (retry.ts `CLOUD_CALL`: 3 attempts, jittered backoff).
   */
  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(CLOUD_CALL, () => timeCloudRequest('gcp', what, fn, (e) => toCloudError(e, what)), {
      onRetry: ({ error }) => recordCloudRetry('gcp', error, what),
    });
  }

  /**
   * Starts a long-running insert/patch (same `requestId` on retries, so a retried call cannot create twice) and waits
   * for its operation. With `freshParent` (the insert names a resource made a moment ago: a network, a subnetwork),
   * a refused call answering 404 is retried with backoff within the consistency window, with the same `requestId`.
   * @throws CloudError from the call or from the operation's error.
   */
  private async insert(what: string, fn: (requestId: string) => Promise<readonly unknown[]>, requestId: string = randomUUID(), freshParent = false): Promise<void> {
    const start = () => this.call(what, () => fn(requestId));
    const [lro] = freshParent ? await retryWhileMissing(start, { windowMs: this.windowMs }) : await start();
    await this.waitFor(what, operationOf(lro));
  }

  /**
   * Like insert, for a named resource that a concurrent caller may be creating at the same time: `alreadyExists`
   * means adopt — wait (backoff, at least 60 s or the consistency window) until `get` sees it; the caller then checks
   * its ownership.
   */
  private async insertOrAdopt(what: string, fn: (requestId: string) => Promise<readonly unknown[]>, get: () => Promise<unknown>, freshParent = false): Promise<void> {
    try {
      await this.insert(what, fn, randomUUID(), freshParent);
    } catch (e) {
      if (!isCloudError(e, 'Conflict') || e.code !== 'alreadyExists') throw e;
      if (!(await readBack(async () => (await get()) || null, { windowMs: Math.max(60_000, this.windowMs) }))) throw e;
    }
  }

  /** Like insert, for deletes: a resource that is already gone counts as deleted. */
  private async remove(what: string, fn: (requestId: string) => Promise<readonly unknown[]>): Promise<void> {
    try {
      await this.insert(what, fn);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Polls `operations.wait` (global, regional or zonal, from the operation's own scope) until DONE. */
  private async waitFor(what: string, first: IOperation): Promise<void> {
    let op = first;
    const deadline = Date.now() + OPERATION_TIMEOUT_MS;
    while (String(op.status) !== 'DONE') {
      if (Date.now() > deadline) throw new CloudError('Unavailable', 'gcp', 'operationTimeout', `${what}: operation ${op.name} not done after ${OPERATION_TIMEOUT_MS} ms`);
      const operation = String(op.name);
      const [next] = op.zone
        ? await this.call(`${what} (wait)`, () => this.zoneOps.wait({ project: this.project, zone: lastSegment(op.zone), operation }))
        : op.region
          ? await this.call(`${what} (wait)`, () => this.regionOps.wait({ project: this.project, region: lastSegment(op.region), operation }))
          : await this.call(`${what} (wait)`, () => this.globalOps.wait({ project: this.project, operation }));
      op = next;
    }
    const failure = operationFailure(op);
    if (failure) throw failure;
  }
}

/** The Operation behind an SDK long-running call's first result (`LROperation.latestResponse`). */
function operationOf(lro: unknown): IOperation {
  const latest = typeof lro === 'object' && lro !== null ? (lro as { latestResponse?: unknown }).latestResponse : undefined;
  if (typeof latest !== 'object' || latest === null) throw new CloudError('Unavailable', 'gcp', 'noOperation', 'the API answered no operation');
  return latest as IOperation;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Compute instance `status` (https://cloud.google.com/compute/docs/instances/instance-life-cycle) as InstanceState. */
export function instanceState(status: string | null | undefined): InstanceState {
  switch (status) {
    case 'RUNNING':
      return 'running';
    case 'STOPPING':
    case 'SUSPENDING':
      return 'stopping';
    case 'STOPPED':
    case 'SUSPENDED':
    case 'TERMINATED': // GCP's TERMINATED is "stopped", not deleted
      return 'stopped';
    default: // PROVISIONING, STAGING, REPAIRING
      return 'pending';
  }
}

function toInstance(i: IInstance): Instance {
  const nic = i.networkInterfaces?.[0];
  return {
    id: String(i.name),
    name: String(i.name),
    state: instanceState(i.status),
    instanceType: lastSegment(i.machineType),
    privateIp: nic?.networkIP ?? undefined,
    publicIp: nic?.accessConfigs?.[0]?.natIP ?? undefined,
    vpcId: nic?.network ? lastSegment(nic.network) : undefined,
    tags: { ...(i.labels ?? {}) },
  };
}
