import { allocateDigitalOceanVpcRange, doTag, FirewallRule, NodeRole, TAG_CLUSTER, TAG_NODE, TAG_ROLE } from '@skyweave/domain';
import { createApiClient } from 'dots-wrapper';
import type {
  CloudEndpoints,
  CloudProvider,
  CloudProviderOptions,
  CloudResource,
  DigitalOceanCredentials,
  Instance,
  InstanceSpec,
  NetworkInspection,
  NetworkSpec,
  NetworkStatus,
} from '../cloud-provider';
import { DEFAULT_CONSISTENCY_WINDOW_MS, RecentlyMade, retryWhileMissing } from '../consistency';
import { firewallDrift } from '../drift';
import { CloudError, isCloudError } from '../errors';
import { instrumentClient, recordCloudRetry } from '../metrics';
import { CLOUD_CALL, CLOUD_CONSISTENCY, withRetry } from '../retry';
import { isMissingReference, toCloudError } from './digitalocean-errors';
import {
  ALLOW_ALL_OUTBOUND,
  clusterTag,
  DEFAULT_IMAGE,
  DoDropletLike,
  DoFirewallLike,
  DoInboundRule,
  DoVpcLike,
  dropletRegion,
  dropletResource,
  dropletToInstance,
  firewallName,
  firewallOwner,
  firewallResource,
  firewallTargetTag,
  inboundToFirewallRules,
  isOwnedVpc,
  ownedFirewallRole,
  planToInboundRules,
  ROLES,
  splitDoTags,
  vpcClusterId,
  vpcDescription,
  vpcName,
  vpcResource,
} from './digitalocean-mapping';

type DotsClient = ReturnType<typeof createApiClient>;

/** Page size for every list call (DigitalOcean's maximum). */
const PER_PAGE = 200;
/** A guard against a server that keeps announcing a next page. */
const MAX_PAGES = 500;

interface ListEnvelope { links?: { pages?: { next?: string } } }

export interface DigitalOceanProviderOptions extends CloudProviderOptions {
  /** Per-request timeout in milliseconds (default 30 000). */
  requestTimeoutMs?: number;
  /** Droplet image slug (default `ubuntu-24-04-x64`). */
  image?: string;
}

/**
 * `CloudProvider` for DigitalOcean, over API v2 through `dots-wrapper` (one API client per provider, i.e. per token).
 *
 * Resources and ownership (DigitalOcean has string tags on Droplets only):
 * - VPC: name `<prefix>-vpc`, description `skyweave-cluster=<clusterId>`, one /20 from 10.100.0.0–10.255.0.0 that
 *   overlaps no VPC of the account (`allocateDigitalOceanVpcRange`). Subnet = the VPC.
 * - Firewall per role: name `<prefix>-<role>`, inbound rules from the seed plan, outbound allow-all, targeting the tag
 *   `skyweave-<role>:<clusterId>` (a DigitalOcean firewall's `tags` are its targets).
 * - Droplet: tags `skyweave-cluster:<clusterId>`, `skyweave-node:<nodeId>`, `skyweave-role:<role>` and the role's
 *   firewall target tag. DigitalOcean has no idempotency token: the node tag is looked up before each create
 *   (`idempotentCreate` is false: a Droplet made just before a crash may not be listed yet, and is then made twice).
 *
 * Every method throws `CloudError` for cloud failures (see `digitalocean-errors.ts` for the mapping).
 * API reference: https://docs.digitalocean.com/reference/api/api-reference/ (Account, VPCs, Firewalls, Droplets, Tags).
 */
export class DigitalOceanProvider implements CloudProvider {
  readonly cloud = 'digitalocean' as const;
  /**
   * False: `POST /v2/droplets` takes no idempotency token. The node-tag look-up before a create can miss a Droplet
   * made just before a crash (the tag listing is eventually consistent), so a retried create may make a second one.
   */
  readonly idempotentCreate = false;
  private readonly api: DotsClient;
  private readonly image: string;
  private readonly windowMs: number;
  /** Droplets made by this provider that no read has shown yet (eventual consistency of getInstance). */
  private readonly launched: RecentlyMade;

  /**
   * @param credentials a DigitalOcean personal access token
   * @param endpoints `endpoints.digitalocean` is the API v2 base URL (default `https://api.digitalocean.com/v2`)
   * @param options timeout, image, and `consistencyWindowMs` (how long a create naming a just-made tag or VPC
   *   that DigitalOcean does not know yet is retried; default 30 s)
   */
  constructor(credentials: DigitalOceanCredentials, endpoints: CloudEndpoints, options: DigitalOceanProviderOptions = {}) {
    // every API request is counted and timed (metrics.ts) under its method's name, e.g. `droplet.createDroplet`
    this.api = instrumentClient('digitalocean', createApiClient({ token: credentials.token, endpoint: endpoints.digitalocean, requestTimeoutInMs: options.requestTimeoutMs ?? 30_000 }), toCloudError);
    this.image = options.image ?? DEFAULT_IMAGE;
    this.windowMs = options.consistencyWindowMs ?? DEFAULT_CONSISTENCY_WINDOW_MS;
    this.launched = new RecentlyMade(this.windowMs);
  }

  /**
   * A create that DigitalOcean refused because a tag or VPC it names is not known yet (just made: eventual
   * consistency) is retried with backoff within the consistency window. Safe: a refused create made nothing.
   */
  private createNaming<T>(fn: () => Promise<T>): Promise<T> {
    return retryWhileMissing(() => this.once(fn), { windowMs: this.windowMs, missing: isMissingReference });
  }

  /** `GET /v2/account`. @throws CloudError `InvalidCredentials` on 401. */
  async verifyCredentials(): Promise<void> {
    await this.call(() => this.api.account.getAccount());
  }

  /**
   * Finds or creates, concurrently, the VPC (`POST /v2/vpcs`) and each role's firewall (`POST /v2/firewalls`, after its
   * target tag `POST /v2/tags`): DigitalOcean firewalls target tags, not the VPC, so no part waits for another. A
   * firewall whose inbound rules drifted from the plan is replaced (`PUT /v2/firewalls/{id}`). `spec.vpcCidr`/
   * `spec.subnetCidr` are ignored: the range is allocated. A VPC create refused because another VPC took the range or
   * name meanwhile (or one made a moment ago is not listed yet) is retried, with backoff and a fresh listing and
   * allocation, within the consistency window. When one part fails the call rejects with that part's
   * CloudError (the other parts may still complete; a later call picks up from there). Repairs what inspectNetwork
   * reports: a deleted VPC or firewall is made again, a firewall whose inbound rules drifted is replaced with the plan.
   * @throws CloudError `Conflict` when a VPC of the same name exists in the region without this cluster's description.
   */
  async ensureNetwork(spec: NetworkSpec): Promise<NetworkStatus> {
    const [vpc, firewalls] = await Promise.all([this.ensureVpc(spec), this.ensureFirewalls(spec)]);
    const ids = {} as Record<NodeRole, string>;
    const resources: CloudResource[] = [vpcResource(vpc, spec.clusterId)];
    ROLES.forEach((role, i) => {
      ids[role] = firewalls[i].id ?? '';
      resources.push(firewallResource(firewalls[i], spec.clusterId));
    });
    return this.status(spec.region, vpc, ids, resources);
  }

  /** `GET /v2/vpcs` and `GET /v2/firewalls` (all pages); null when the cluster has no VPC in the region. */
  async getNetwork(clusterId: string, region: string): Promise<NetworkStatus | null> {
    const vpc = (await this.listVpcs()).find((v) => isOwnedVpc(v, clusterId, region));
    if (!vpc) return null;
    const ids = { master: '', worker: '' } as Record<NodeRole, string>;
    const resources: CloudResource[] = [vpcResource(vpc, clusterId)];
    for (const fw of await this.listFirewalls()) {
      const role = ownedFirewallRole(fw, clusterId);
      if (role && fw.id) {
        ids[role] = fw.id;
        resources.push(firewallResource(fw, clusterId));
      }
    }
    return this.status(region, vpc, ids, resources);
  }

  /**
   * Two paginated listings, `GET /v2/vpcs` and `GET /v2/firewalls`, compared with the spec: the cluster's VPC in the
   * region (found by its description; `spec.vpcCidr` is ignored, the range is allocated) and each role's firewall
   * (`<prefix>-<role>` targeting `skyweave-<role>:<clusterId>`) with its inbound rules against `spec.firewall[role]`
   * (non-address sources show as `tag:…`, `droplet:…`; see inboundToFirewallRules). Nothing is changed. DigitalOcean
   * has no subnet: none is reported.
   */
  async inspectNetwork(spec: NetworkSpec): Promise<NetworkInspection> {
    const [vpcs, firewalls] = await Promise.all([this.listVpcs(), this.listFirewalls()]);
    const vpc = vpcs.find((v) => isOwnedVpc(v, spec.clusterId, spec.region));
    const drift: string[] = [];
    if (!vpc) drift.push(`VPC ${vpcName(spec.namePrefix)} is missing`);
    const ids = { master: '', worker: '' } as Record<NodeRole, string>;
    const resources: CloudResource[] = vpc ? [vpcResource(vpc, spec.clusterId)] : [];
    for (const role of ROLES) {
      const label = `firewall ${firewallName(spec.namePrefix, role)}`;
      const fw = firewalls.find((f) => ownedFirewallRole(f, spec.clusterId, spec.namePrefix) === role);
      if (!fw?.id) {
        drift.push(`${label} is missing`);
        continue;
      }
      ids[role] = fw.id;
      resources.push(firewallResource(fw, spec.clusterId));
      drift.push(...firewallDrift(label, inboundToFirewallRules(fw.inbound_rules as DoInboundRule[] | undefined), spec.firewall[role]));
    }
    return { status: vpc ? this.status(spec.region, vpc, ids, resources) : null, drift };
  }

  /** `GET /v2/firewalls/{id}` per role; a missing firewall reports no rules. Only tcp/udp inbound rules are reported. */
  async describeFirewall(network: NetworkStatus): Promise<Record<NodeRole, FirewallRule[]>> {
    const out = { master: [], worker: [] } as Record<NodeRole, FirewallRule[]>;
    for (const role of ROLES) {
      const id = network.securityGroupIds[role];
      if (!id) continue;
      const fw = await this.getOrNull(() => this.api.firewall.getFirewall({ firewall_id: id }));
      out[role] = inboundToFirewallRules((fw?.data.firewall.inbound_rules ?? []) as DoInboundRule[]);
    }
    return out;
  }

  /**
   * Refuses while the VPC has members (`GET /v2/vpcs/{id}/members`), then deletes the cluster's firewalls and VPC
   * (`DELETE`, 404 = already gone) and, best effort, the cluster's tags no resource carries any more.
   * @throws CloudError `Conflict` when anything (tagged for the cluster or not) is still attached to the VPC.
   */
  async deleteNetwork(clusterId: string, region: string): Promise<void> {
    const vpc = (await this.listVpcs()).find((v) => isOwnedVpc(v, clusterId, region));
    if (vpc) {
      const members = await this.listAll((page) => this.api.vpc.listVpcResources({ vpc_id: vpc.id, page, per_page: PER_PAGE }), (d) => d.members);
      if (members.length > 0) {
        throw new CloudError('Conflict', 'digitalocean', 'vpc_has_members', `VPC ${vpc.name} (${vpc.id}) still has members: ${members.map((m) => m.urn).join(', ')}`);
      }
    }
    for (const fw of await this.listFirewalls()) {
      if (fw.id && ownedFirewallRole(fw, clusterId)) await this.deleteIgnoringNotFound(() => this.api.firewall.deleteFirewall({ firewall_id: fw.id as string }));
    }
    if (vpc) await this.deleteIgnoringNotFound(() => this.api.vpc.deleteVpc({ vpc_id: vpc.id }));
    for (const tag of [...ROLES.map((r) => firewallTargetTag(r, clusterId)), clusterTag(clusterId)]) await this.deleteTagIfUnused(tag);
  }

  /**
   * Looks the node up by its tag (`GET /v2/droplets?tag_name=skyweave-node:<nodeId>`), else `POST /v2/droplets` with
   * the plain-text user-data, in the network's VPC. A retried create looks the node up again first.
   * @throws CloudError `QuotaExceeded` (droplet limit), `InsufficientCapacity` (size not available in the region),
   *   `Conflict` when the node's Droplet belongs to another cluster.
   */
  async createInstance(spec: InstanceSpec): Promise<Instance> {
    const nodeTag = doTag(TAG_NODE, spec.nodeId);
    const droplet = await this.adoptOrCreate(
      async () => (await this.listDroplets(nodeTag))[0],
      async () =>
        (
          await this.createNaming(() => this.api.droplet.createDroplet({
            name: spec.name,
            region: spec.network.region,
            size: spec.instanceType,
            image: this.image,
            vpc_uuid: spec.network.vpcId,
            tags: [clusterTag(spec.clusterId), nodeTag, doTag(TAG_ROLE, spec.role), firewallTargetTag(spec.role, spec.clusterId)],
            user_data: spec.userData,
          }))
        ).data.droplet,
    );
    if (!(droplet.tags ?? []).includes(clusterTag(spec.clusterId))) {
      throw new CloudError('Conflict', 'digitalocean', 'node_owned_elsewhere', `Droplet ${droplet.id} carries ${nodeTag} but not ${clusterTag(spec.clusterId)}`);
    }
    this.launched.add(String(droplet.id));
    return dropletToInstance(droplet);
  }

  /**
   * `GET /v2/droplets/{id}`; null for 404 or a non-numeric id. Destroyed Droplets disappear (no `terminated` state).
   * A Droplet this provider made less than the consistency window ago that the API does not show yet is waited for.
   */
  async getInstance(_region: string, instanceId: string): Promise<Instance | null> {
    if (!/^\d+$/.test(instanceId)) return null;
    const got = await this.launched.read(instanceId, () => this.getOrNull(() => this.api.droplet.getDroplet({ droplet_id: Number(instanceId) })));
    return got ? dropletToInstance(got.data.droplet) : null;
  }

  /** `GET /v2/droplets?tag_name=skyweave-cluster:<id>` (all pages), in the region. */
  async listInstances(clusterId: string, region: string): Promise<Instance[]> {
    return (await this.listDroplets(clusterTag(clusterId))).filter((d) => dropletRegion(d) === region).map(dropletToInstance);
  }

  /** `GET /v2/droplets` (all pages; the API has no VPC filter) filtered on `vpc_uuid`. */
  async listInstancesInNetwork(network: NetworkStatus): Promise<Instance[]> {
    return (await this.listDroplets()).filter((d) => d.vpc_uuid === network.vpcId).map(dropletToInstance);
  }

  /**
   * `GET /v2/droplets/{id}` to check ownership, then `DELETE /v2/droplets/{id}` (404 = already gone) and, best effort,
   * the node's own tag. @throws CloudError `Conflict` when the Droplet is not tagged `skyweave-cluster:<clusterId>`.
   */
  async terminateInstance(clusterId: string, _region: string, instanceId: string): Promise<void> {
    if (!/^\d+$/.test(instanceId)) return;
    const got = await this.launched.read(instanceId, () => this.getOrNull(() => this.api.droplet.getDroplet({ droplet_id: Number(instanceId) })));
    if (!got) return;
    const tags = got.data.droplet.tags ?? [];
    if (!tags.includes(clusterTag(clusterId))) {
      throw new CloudError('Conflict', 'digitalocean', 'not_owned', `Droplet ${instanceId} is not tagged ${clusterTag(clusterId)}; not deleting it`);
    }
    await this.deleteIgnoringNotFound(() => this.api.droplet.deleteDroplet({ droplet_id: Number(instanceId) }));
    this.launched.forget(instanceId);
    for (const t of tags.filter((x) => x.startsWith(`${TAG_NODE}:`))) await this.deleteTagIfUnused(t);
  }

  /**
   * Every cluster's VPCs in the region (description `skyweave-cluster=<id>`), Skyweave firewalls (name and target tag
   * `skyweave-<role>:<id>`, see firewallOwner; firewalls are global) and Droplets in the region tagged
   * `skyweave-cluster:<id>` — three paginated listings (`GET /v2/vpcs`, `/v2/firewalls`, `/v2/droplets`).
   */
  async listAllTaggedResources(region: string): Promise<CloudResource[]> {
    const [vpcs, firewalls, droplets] = await Promise.all([this.listVpcs(), this.listFirewalls(), this.listDroplets()]);
    const out: CloudResource[] = [];
    for (const v of vpcs) {
      const id = v.region === region ? vpcClusterId(v) : undefined;
      if (id) out.push(vpcResource(v, id));
    }
    for (const f of firewalls) {
      const owner = firewallOwner(f);
      if (owner) out.push(firewallResource(f, owner.clusterId));
    }
    for (const d of droplets) {
      if (dropletRegion(d) === region && splitDoTags(d.tags ?? [])[TAG_CLUSTER]) out.push(dropletResource(d));
    }
    return out;
  }

  /** The cluster's VPC in the region, its firewalls, and its Droplets in the region. */
  async listTaggedResources(clusterId: string, region: string): Promise<CloudResource[]> {
    const out: CloudResource[] = [];
    for (const v of await this.listVpcs()) if (isOwnedVpc(v, clusterId, region)) out.push(vpcResource(v, clusterId));
    for (const f of await this.listFirewalls()) if (ownedFirewallRole(f, clusterId)) out.push(firewallResource(f, clusterId));
    for (const d of await this.listDroplets(clusterTag(clusterId))) if (dropletRegion(d) === region) out.push(dropletResource(d));
    return out;
  }

  // ---- parts ----

  /**
   * The cluster's VPC in the region (found by its description; a fresh non-overlapping /20 allocated when it has to be
   * created). No dependencies. @throws CloudError `Conflict` when its name is taken in the region by another VPC.
   */
  private async ensureVpc(spec: NetworkSpec): Promise<DoVpcLike> {
    const name = vpcName(spec.namePrefix);
    let all: DoVpcLike[] = [];
    return this.adoptOrCreate(
      async () => {
        all = await this.listVpcs();
        const mine = all.find((v) => isOwnedVpc(v, spec.clusterId, spec.region));
        if (mine) return mine;
        const squatter = all.find((v) => v.region === spec.region && v.name.toLowerCase() === name.toLowerCase());
        if (squatter) {
          throw new CloudError('Conflict', 'digitalocean', 'vpc_name_taken', `VPC ${name} in ${spec.region} exists but is not described as ${vpcDescription(spec.clusterId)}`);
        }
        return undefined;
      },
      async () => {
        const ipRange = allocateDigitalOceanVpcRange(all.map((v) => v.ip_range));
        return (await this.api.vpc.createVpc({ name, region: spec.region, ip_range: ipRange, description: vpcDescription(spec.clusterId) })).data.vpc;
      },
      Math.max(this.windowMs, 1),
    );
  }

  /**
   * Both role firewalls (in ROLES order), concurrently, from one listing of the account's firewalls. No dependencies:
   * DigitalOcean firewalls target tags, not the VPC.
   */
  private async ensureFirewalls(spec: NetworkSpec): Promise<DoFirewallLike[]> {
    const listed = await this.listFirewalls();
    return Promise.all(ROLES.map((role) => this.ensureFirewall(spec, role, listed)));
  }

  /**
   * The role's firewall (`<prefix>-<role>`, outbound allow-all, targeting `skyweave-<role>:<clusterId>`), created when
   * missing — its target tag first, as DigitalOcean refuses a firewall targeting a tag that does not exist — and
   * replaced when its inbound rules drifted from the plan. `listed` (optional) answers the first look-up. Needs:
   * nothing else of the network; independent of the other role's firewall.
   */
  private async ensureFirewall(spec: NetworkSpec, role: NodeRole, listed?: DoFirewallLike[]): Promise<DoFirewallLike> {
    const target = firewallTargetTag(role, spec.clusterId);
    const inbound = planToInboundRules(spec.firewall[role]);
    let first = listed;
    const fw = await this.adoptOrCreate(
      async () => {
        const all = first ?? (await this.listFirewalls());
        first = undefined;
        return all.find((f) => ownedFirewallRole(f, spec.clusterId, spec.namePrefix) === role);
      },
      async () => {
        await this.ensureTag(target);
        return (await this.createNaming(() => this.api.firewall.createFirewall({ name: firewallName(spec.namePrefix, role), inbound_rules: inbound, outbound_rules: ALLOW_ALL_OUTBOUND, tags: [target] }))).data.firewall;
      },
    );
    if (fw.id && firewallDrift('', inboundToFirewallRules(fw.inbound_rules as DoInboundRule[] | undefined), spec.firewall[role]).length) {
      // Drift: replace the definition (PUT replaces everything), keeping its outbound rules, droplets and targets.
      const cur = (await this.call(() => this.api.firewall.getFirewall({ firewall_id: fw.id as string }))).data.firewall;
      const outbound = cur.outbound_rules && cur.outbound_rules.length > 0 ? cur.outbound_rules : ALLOW_ALL_OUTBOUND;
      const updated = await this.call(() =>
        this.api.firewall.updateFirewall({ id: cur.id, name: cur.name, inbound_rules: inbound, outbound_rules: outbound, droplet_ids: cur.droplet_ids, tags: cur.tags }),
      );
      return updated.data.firewall;
    }
    return fw;
  }

  private status(region: string, vpc: DoVpcLike, ids: Record<NodeRole, string>, resources: CloudResource[]): NetworkStatus {
    return { cloud: 'digitalocean', region, zone: region, vpcId: vpc.id, vpcCidr: vpc.ip_range, subnetId: vpc.id, subnetCidr: vpc.ip_range, securityGroupIds: ids, resources };
  }

  private async ensureTag(name: string): Promise<void> {
    try {
      await this.call(() => this.api.tag.createTag({ name }));
    } catch (e) {
      if (!isCloudError(e, 'Conflict')) throw e;
    }
  }

  /** Deletes a tag no resource carries any more; failures are ignored (tags cost nothing, this is tidiness). */
  private async deleteTagIfUnused(name: string): Promise<void> {
    try {
      const got = await this.getOrNull(() => this.api.tag.getTag({ tag_name: encodeURIComponent(name) }));
      if (got && (got.data.tag.resources?.count ?? 0) === 0) await this.deleteIgnoringNotFound(() => this.api.tag.deleteTag({ tag_name: encodeURIComponent(name) }));
    } catch (e) {
      if (!isCloudError(e)) throw e;
    }
  }

  // ---- listing ----

  private listVpcs(): Promise<DoVpcLike[]> {
    return this.listAll((page) => this.api.vpc.listVpcs({ page, per_page: PER_PAGE }), (d) => d.vpcs);
  }

  private listFirewalls(): Promise<DoFirewallLike[]> {
    return this.listAll((page) => this.api.firewall.listFirewalls({ page, per_page: PER_PAGE }), (d) => d.firewalls);
  }

  private listDroplets(tagName?: string): Promise<DoDropletLike[]> {
    return this.listAll((page) => this.api.droplet.listDroplets({ page, per_page: PER_PAGE, tag_name: tagName }), (d) => d.droplets as DoDropletLike[]);
  }

  /** Every page of a list call: follows `links.pages.next` (its `page` parameter) until there is none. */
  private async listAll<D extends ListEnvelope, T>(fetchPage: (page: number) => Promise<{ data: D }>, items: (d: D) => readonly T[] | undefined): Promise<T[]> {
    const out: T[] = [];
    let page = 1;
    for (let n = 0; n < MAX_PAGES; n++) {
      const { data } = await this.call(() => fetchPage(page));
      out.push(...(items(data) ?? []));
      const next = data.links?.pages?.next;
      if (!next) return out;
      const nextPage = Number(new URL(next, 'https://api.digitalocean.com/v2/').searchParams.get('page'));
      page = Number.isInteger(nextPage) && nextPage > page ? nextPage : page + 1;
    }
    throw new CloudError('Unavailable', 'digitalocean', 'too_many_pages', `list did not end after ${MAX_PAGES} pages`);
  }

  // ---- calling ----

  /**
   * One API call with the CLOUD_CALL retry (throttling, 5xx, no answer: 3 attempts, jittered backoff; dots-wrapper
   * itself never retries, so this is the only layer); failures as CloudError.
   */
  private call<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(CLOUD_CALL, () => this.once(fn), { onRetry: ({ error }) => recordCloudRetry('digitalocean', error) });
  }

  /** One API call, no retry; failures as CloudError (other errors rethrown as they are). */
  private async once<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toCloudError(e) ?? e;
    }
  }

  /**
   * Create without an idempotency token: look up, create once; on a retryable failure (the create may or may not have
   * happened) wait and look up again before creating again. For `conflictWindowMs` after the first attempt a
   * `Conflict` (the name or range is taken by something the listing did not show: made meanwhile by someone else, or
   * just made and not listed yet) is followed by a backoff and another round, look-up first.
   */
  private adoptOrCreate<T>(lookup: () => Promise<T | undefined>, create: () => Promise<T>, conflictWindowMs = 0): Promise<T> {
    const fromCreate = new WeakSet<object>();
    // one round: look up, else create once; a retryable failure of the create (it may or may not have happened) is
    // retried (CLOUD_CALL), look-up first; a failed look-up has had its own retries and is not retried again
    const round = () => withRetry({ ...CLOUD_CALL, retryOn: (e) => typeof e === 'object' && e !== null && fromCreate.has(e) && CLOUD_CALL.retryOn(e) }, async () => {
      const found = await lookup();
      if (found) return found;
      try {
        return await this.once(create);
      } catch (e) {
        if (typeof e === 'object' && e !== null) fromCreate.add(e);
        throw e;
      }
    }, { onRetry: ({ error }) => recordCloudRetry('digitalocean', error) });
    // a Conflict within the window: another round after a CLOUD_CONSISTENCY backoff
    return withRetry({ ...CLOUD_CONSISTENCY, retryOn: (e) => isCloudError(e, 'Conflict') }, round, { deadline: Date.now() + conflictWindowMs });
  }

  private async getOrNull<T>(fn: () => Promise<T>): Promise<T | null> {
    try {
      return await this.call(fn);
    } catch (e) {
      if (isCloudError(e, 'NotFound')) return null;
      throw e;
    }
  }

  private async deleteIgnoringNotFound(fn: () => Promise<unknown>): Promise<void> {
    await this.getOrNull(fn);
  }
}

