import { Inject, Injectable, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import {
  CLOUD_NAMES, ClusterSpec, DEFAULT_INSTANCE_TYPE, findInstanceType, resourcePrefix, allocateWireguardAddresses, comparePatchUpgrade, EventReason, NodeOrigin, MAX_CLUSTER_WORKERS,
} from '@skyweave/domain';
import { Subjects } from '@skyweave/contracts';
import {
  ClusterEntity, ClusterViewNodeKubernetes, ClusterViewRepository, NewNode, NodeEntity, OrgScope, Repositories, SecretBox, addWorkers, enqueue, orgScope, recordEvent, removeWorker,
} from '@skyweave/persistence';
import type { AddNodesDto, CreateClusterDto, UpdateClusterDto } from './dtos';
import { Problem, Violation } from './problem';
import { validateClusterRequest } from './cluster-request';
import type { GatewayLimits } from './limits';
import { AGENT_PACKAGES, DATA_SOURCE, GATEWAY_LIMITS, SECRET_BOX } from './tokens';
import type { ServedAgentPackages } from './agent-packages.controller';
import { NodeSoftware, generateClusterPki, nodeSoftware, sealPkiSecrets, toPkiColumn } from '@skyweave/bootstrap';


/**
 * The reconcile lock (seeds 000–002: "during the time of reconciliation, no instant changes to the cluster are
 * allowed; they can be applied after"): a user change while a full reconcile holds the cluster's lease is refused
 * with 409 `cluster-reconciling` and `Retry-After` (seconds until the lease ends).
 */
export function assertNotReconciling(c: ClusterEntity, now: Date = new Date()): void {
  const until = c.reconcileLeaseExpiresAt;
  if (!until || until.getTime() <= now.getTime()) return;
  const seconds = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
  throw new Problem(409, 'cluster-reconciling', 'Cluster is reconciling',
    `cluster ${c.name} is being reconciled; changes are refused until it ends — retry in ${seconds} s`, undefined, { 'retry-after': String(seconds) });
}

/** A node's or network's wait after a cloud's refusal: why (WaitingReason), the next try, and how many so far. */
export interface WaitingView { reason: string; retryAt: Date | null; attempts: number }
const waitingOf = (r: { waitingReason: string | null; retryAt: Date | null; attempts: number }): WaitingView | null =>
  r.waitingReason ? { reason: r.waitingReason, retryAt: r.retryAt, attempts: r.attempts } : null;

/** The cluster view's `software`: nodeSoftware of the spec's version, or null for a version it cannot read. */
function softwareOf(kubernetesVersion: string): NodeSoftware | null {
  try {
    return nodeSoftware(kubernetesVersion);
  } catch {
    return null;
  }
}

/** The public view of a cluster. */
export interface ClusterView {
  id: string;
  name: string;
  phase: string;
  spec: ClusterSpec;
  conditions: ClusterEntity['conditions'];
  networks: { cloud: string; phase: string; region?: string; vpcId?: string; vpcCidr?: string; subnetCidr?: string; message: string | null; waiting: WaitingView | null; resources: { kind: string; id: string; name?: string }[] }[];
  /**
   * Each node; `origin`: who made it (`spec` with the cluster, `user` by POST …/nodes, `autoscaler`); `kubernetes`: what the cluster's Kubernetes API says about it (apps/kube-watcher; cpu millicores,
   * memory MiB, timestamps ISO-8601), null until the watcher has seen the node.
   */
  nodes: { id: string; name: string; cloud: string; role: string; origin: NodeOrigin; phase: string; instanceType: string; instanceId: string | null; privateIp: string | null; publicIp: string | null; wireguardAddress: string | null; removalRequested: boolean; kubernetesVersion: string | null; agentVersion: string | null; message: string | null; waiting: WaitingView | null; kubernetes: ClusterViewNodeKubernetes | null }[];
  /**
   * The node-agent versions (issue 11, item 3): `desiredVersion` is the platform's current agent package
   * (SKYWEAVE_AGENT_PACKAGES_DIR's manifest; null when the installation serves none, or a manifest without the agent
   * bundle: no agent upgrades); each node's
   * `agentVersion` is what its agent last reported (null: not yet, or an agent older than agent upgrades).
   * `upToDate`/`reported`: nodes (not Terminated) whose agent runs the desired version / has reported one. The
   * rollout's progress and failures are the AgentUpgraded condition.
   */
  agent: { desiredVersion: string | null; upToDate: number; reported: number };
  /** Pods Kubernetes cannot place (Pending without a node, or PodScheduled=False `Unschedulable`); null until the watcher counted them. */
  pendingPods: number | null;
  /**
   * What the cluster's nodes are built from at `spec.kubernetesVersion` (libs/bootstrap versions.ts): the image, the
   * pkgs.k8s.io repository and the pinned kubelet/kubeadm/kubectl package version, containerd and crictl. Computed,
   * not stored; null only for a spec whose version is not `MAJOR.MINOR.PATCH` (none the API accepts).
   */
  software: NodeSoftware | null;
  /** The full reconcile: whether one runs now, the last one's end and when the next is due. */
  reconcile: { reconciling: boolean; lastReconciledAt: Date | null; nextReconcileAt: Date | null };
  createdAt: Date;
  updatedAt: Date;
}

@Injectable()
export class ClustersService {
  private readonly repos: Repositories;
  private readonly views: ClusterViewRepository;

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    @Inject(GATEWAY_LIMITS) private readonly limits: Pick<GatewayLimits, 'maxClusters' | 'maxNodes'>,
    @Optional() @Inject(AGENT_PACKAGES) private readonly agentPackages?: ServedAgentPackages,
  ) {
    this.repos = new Repositories(ds);
    this.views = new ClusterViewRepository(ds);
  }

  /**
   * The organisation's quotas (issue 10): at most `maxClusters` clusters not Deleted and `maxNodes` nodes not
   * Terminated (the organisation row's columns, or GatewayLimits' defaults when they are NULL). Takes the
   * organisation row's lock (`FOR NO KEY UPDATE`: creates and scale-ups of one organisation run one at a time, while
   * foreign-key checks of other writers are not blocked) for the rest of the transaction `em`, so two concurrent
   * requests cannot both pass; lock order: after the cluster row (addNodes), never before it.
   * @throws Problem 403 `quota-exceeded` naming the quota, its limit, the current use and what was asked, in
   *   `detail` and in the extension member `quota: {name, limit, used, requested}`.
   */
  private async checkQuota(em: EntityManager, scope: OrgScope, ask: { clusters: number; nodes: number }): Promise<void> {
    const org = await this.repos.organisations.lockQuotas(scope, em);
    if (!org) throw Problem.unauthorized('the API key\'s organisation no longer exists');
    const use = await this.repos.organisations.usage(scope, em);
    const quotas = [
      { name: 'clusters', limit: org.maxClusters ?? this.limits.maxClusters, used: use.clusters, requested: ask.clusters },
      { name: 'nodes', limit: org.maxNodes ?? this.limits.maxNodes, used: use.nodes, requested: ask.nodes },
    ];
    for (const q of quotas) {
      if (q.requested === 0 || q.used + q.requested <= q.limit) continue;
      const message = `the organisation's ${q.name} quota is ${q.limit}; it has ${q.used} and this asks for ${q.requested} more`;
      throw new Problem(403, 'quota-exceeded', 'Quota exceeded', message, [{ field: q.name === 'clusters' ? 'organisation.clusters' : 'organisation.nodes', rule: `quota-${q.name}`, message }], {}, { quota: q });
    }
  }

  /**
   * Validates a cluster request against the domain rules (validateClusterRequest: region mapping per cloud,
   * credentials per cloud, control-plane cloud among the clouds, instance types, latency budget) and stores it with its networks, nodes
   * and a `cluster.changed` outbox row in one transaction, within the organisation's quotas (checkQuota).
   * @throws Problem 422 naming each broken rule; 409 on a duplicate name; 403 `quota-exceeded`.
   */
  async create(organisationId: string, dto: CreateClusterDto): Promise<ClusterView> {
    const scope = orgScope(organisationId);
    // the same rules, and the same 422s, as POST /v1/clusters/plan
    const { spec, totalWorkers } = await validateClusterRequest(this.repos, scope, dto);
    const id = randomUUID();
    const prefix = resourcePrefix(id);
    const pki = await generateClusterPki();
    try {
      await this.ds.transaction(async (em) => {
        await this.checkQuota(em, scope, { clusters: 1, nodes: spec.controlPlane.count + totalWorkers });
        await this.repos.clusters.insert(scope, { id, name: spec.name, spec, phase: 'Pending', conditions: [], deletionRequestedAt: null,
          caCertificate: pki.caCertificate, caKeySealed: this.box.seal(pki.caKey), adminCertificate: pki.adminCertificate, adminKeySealed: this.box.seal(pki.adminKey),
          pki: toPkiColumn(pki.public), pkiSealed: sealPkiSecrets(this.box, pki.secrets),
        }, em);
        await this.repos.networks.insertMany(scope, spec.clouds.map((cloud) => ({ id: randomUUID(), clusterId: id, cloud, phase: 'Pending' as const, status: null, message: null, dispatchedAt: null })), em);
        const nodes: Pick<NodeEntity, 'cloud' | 'role' | 'ordinal' | 'name' | 'instanceType'>[] = [];
        for (let i = 0; i < spec.controlPlane.count; i++) {
          nodes.push({ cloud: spec.controlPlane.cloud, role: 'master', ordinal: i, name: `${prefix}-master-${i}`, instanceType: spec.controlPlane.instanceType });
        }
        let ordinal = 0;
        for (const w of spec.workers) {
          for (let i = 0; i < w.count; i++) nodes.push({ cloud: w.cloud, role: 'worker', ordinal: ordinal++, name: `${prefix}-worker-${ordinal - 1}`, instanceType: w.instanceType });
        }
        // WireGuard addresses are allocated with the rows (same transaction): masters first, so master-0 is 10.4.0.1.
        const addresses = allocateWireguardAddresses([], nodes.length);
        await this.repos.nodes.insertMany(scope, nodes.map((n, i): NewNode => ({ ...n, id: randomUUID(), clusterId: id, phase: 'Pending', wireguardAddress: addresses[i], kubernetesVersion: spec.kubernetesVersion, origin: 'spec' })), em);
        await recordEvent(em, { organisationId, clusterId: id, reason: EventReason.Created, message: `Cluster ${spec.name} created in ${spec.region}: ${spec.controlPlane.count} master(s) on ${CLOUD_NAMES[spec.controlPlane.cloud]}, ${totalWorkers} worker(s) on ${spec.clouds.map((c) => CLOUD_NAMES[c]).join(', ')}` });
        await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId: id, reason: 'created' });
      });
    } catch (e) {
      if ((e as { code?: string }).code === '23505') {
        throw new Problem(409, 'cluster-name-taken', 'Name taken', `a cluster named ${dto.name} already exists in this organisation`, [{ field: 'name', rule: 'unique', message: `${dto.name} is taken` }]);
      }
      throw e;
    }
    return this.get(organisationId, id);
  }

  async list(organisationId: string, limit: number, offset: number) {
    const [rows, total] = await this.repos.clusters.listLive(orgScope(organisationId), { limit, offset });
    return { items: rows.map((c) => ({ id: c.id, name: c.name, phase: c.phase, region: c.spec.region, clouds: c.spec.clouds, createdAt: c.createdAt })), total, limit, offset };
  }

  /**
   * The cluster's public view, in one round trip (ClusterViewRepository: a named prepared statement aggregating the
   * networks and nodes as JSON). Not the sealed PKI, certificates, token hashes or the nodes' latency maps (which grow
   * with the cluster). bench/api.ts measures it.
   * @throws Problem 404 when the cluster is not the organisation's (another organisation's is a 404 too).
   */
  async get(organisationId: string, id: string): Promise<ClusterView> {
    const c = await this.views.find(orgScope(organisationId), id);
    if (!c) throw Problem.notFound(`cluster ${id}`);
    const date = (v: string | null): Date | null => (v === null ? null : new Date(v));
    const waiting = (r: { waitingReason: string | null; retryAt: string | null; attempts: number }) => waitingOf({ ...r, retryAt: date(r.retryAt) });
    return {
      id: c.id, name: c.name, phase: c.phase, spec: c.spec, conditions: c.conditions, createdAt: c.createdAt, updatedAt: c.updatedAt,
      networks: c.networks.map((n) => ({
        cloud: n.cloud, phase: n.phase, message: n.message, waiting: waiting(n), region: n.status?.region, vpcId: n.status?.vpcId, vpcCidr: n.status?.vpcCidr, subnetCidr: n.status?.subnetCidr,
        resources: (n.status?.resources ?? []).map((r) => ({ kind: r.kind, id: r.id, name: r.name })),
      })),
      nodes: c.nodes.map((n) => ({ id: n.id, name: n.name, cloud: n.cloud, role: n.role, origin: n.origin, phase: n.phase, instanceType: n.instanceType, instanceId: n.instanceId, privateIp: n.privateIp, publicIp: n.publicIp, wireguardAddress: n.wireguardAddress, removalRequested: n.removalRequestedAt !== null, kubernetesVersion: n.kubernetesVersion, agentVersion: n.agentVersion ?? null, message: n.message, waiting: waiting(n), kubernetes: n.kubernetes ?? null })),
      agent: this.agentSummary(c.nodes),
      pendingPods: c.pendingPods ?? null,
      software: softwareOf(c.spec.kubernetesVersion),
      reconcile: { reconciling: (c.reconcileLeaseExpiresAt?.getTime() ?? 0) > Date.now(), lastReconciledAt: c.lastReconciledAt, nextReconcileAt: c.nextReconcileAt },
    };
  }

  /** The view's `agent`: the desired version and how many live nodes reported a version / run it. */
  private agentSummary(nodes: { phase: string; agentVersion?: string | null }[]): ClusterView['agent'] {
    // a manifest without the agent bundle (written before agent upgrades) names no version agents can be upgraded to
    const m = this.agentPackages?.manifest;
    const desiredVersion = m?.agent ? m.version : null;
    const live = nodes.filter((n) => n.phase !== 'Terminated' && n.agentVersion);
    return { desiredVersion, reported: live.length, upToDate: live.filter((n) => n.agentVersion === desiredVersion).length };
  }

  async events(organisationId: string, id: string, after: string | undefined, limit: number) {
    await this.get(organisationId, id);
    const rows = await this.repos.events.list(orgScope(organisationId), id, after, limit);
    return { items: rows.map((e) => ({ id: e.id, type: e.type, reason: e.reason, object: e.object, message: e.message, createdAt: e.createdAt })), next: rows.length ? rows[rows.length - 1].id : after ?? null };
  }

  /**
   * Requests deletion (seed 003: fastest teardown, no drain). Idempotent, and always proceeds: a delete that waits
   * (a VM not ours in a network — DeleteBlocked —, or credentials the cloud refuses — CredentialsValid=False) is
   * retried by itself with backoff; deleting again retries its waiting steps at once.
   */
  async delete(organisationId: string, id: string): Promise<ClusterView> {
    const scope = orgScope(organisationId);
    await this.ds.transaction(async (em) => {
      const c = await this.repos.clusters.findForUpdate(scope, id, em);
      if (!c || c.phase === 'Deleted') throw Problem.notFound(`cluster ${id}`);
      assertNotReconciling(c);
      if (c.deletionRequestedAt) {
        // again: what waits out a backoff is tried now
        const nodes = await this.repos.nodes.retryTerminatingNow(scope, id, em);
        const networks = await this.repos.networks.retryDeletingNow(scope, id, em);
        if (!nodes && !networks) return;
      } else {
        await this.repos.clusters.update(scope, id, { deletionRequestedAt: new Date() }, em);
      }
      await recordEvent(em, { organisationId, clusterId: id, reason: EventReason.DeleteRequested, message: c.deletionRequestedAt ? 'Delete requested again: waiting steps retried now' : 'Delete requested' });
      await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId: id, reason: 'delete requested' });
    });
    return this.get(organisationId, id);
  }

  /**
   * Removes one worker (seed 001: workers can be added and removed later; masters are fixed at creation). A master's
   * agent cordons and drains it (bounded by the drain timeout), then the reconciler terminates its VM and it leaves
   * the WireGuard mesh; the spec's worker count for its cloud and instance type goes down by one. Idempotent.
   * @throws Problem 404 unknown cluster or node; 409 `cluster-deleting` while the cluster is being deleted,
   *   409 `cluster-reconciling` during a full reconcile; 422 `workers-only` for a master.
   */
  async removeNode(organisationId: string, clusterId: string, nodeId: string): Promise<ClusterView['nodes'][number]> {
    const scope = orgScope(organisationId);
    await this.ds.transaction(async (em) => {
      const c = await this.repos.clusters.findForUpdate(scope, clusterId, em);
      if (!c || c.phase === 'Deleted') throw Problem.notFound(`cluster ${clusterId}`);
      const n = await this.repos.nodes.findById(scope, nodeId, em, clusterId);
      if (!n || n.phase === 'Terminated') throw Problem.notFound(`node ${nodeId}`);
      if (c.deletionRequestedAt) throw new Problem(409, 'cluster-deleting', 'Cluster is being deleted', `cluster ${c.name} is being deleted; its nodes go with it`);
      if (n.role === 'master') {
        throw new Problem(422, 'workers-only', 'Masters are fixed', `${n.name} is a master; the number of masters is fixed at creation`, [{ field: 'nodeId', rule: 'workers-only', message: 'only workers can be removed' }]);
      }
      if (n.removalRequestedAt) return;
      assertNotReconciling(c);
      await removeWorker(em, this.repos, scope, c, n, { reason: EventReason.NodeRemovalRequested, message: `Removal of worker ${n.name} requested` });
    });
    const view = await this.get(organisationId, clusterId);
    const node = view.nodes.find((x) => x.id === nodeId);
    if (!node) throw Problem.notFound(`node ${nodeId}`);
    return node;
  }

  /** Locks the cluster row for a user change. @throws Problem 404 unknown or deleted; 409 `cluster-deleting`; 409 `cluster-reconciling`. */
  private async lockForChange(em: EntityManager, scope: OrgScope, id: string): Promise<ClusterEntity> {
    const c = await this.repos.clusters.findForUpdate(scope, id, em);
    if (!c || c.phase === 'Deleted') throw Problem.notFound(`cluster ${id}`);
    if (c.deletionRequestedAt) throw new Problem(409, 'cluster-deleting', 'Cluster is being deleted', `cluster ${c.name} is being deleted`);
    assertNotReconciling(c);
    return c;
  }

  /**
   * Adds `count` workers of one cloud and instance type (seeds: no node pools; workers are added one by one). Each
   * gets a row (name `<prefix>-worker-<n>`, next free ordinal and overlay address) and is launched by the reconciler;
   * the spec's worker count goes up. @throws Problem 422 (`masters-fixed`, `cloud-in-cluster`, `known-instance-type`,
   * `max-workers`), 409 `cluster-not-ready` before the cluster was first Ready, 409 `cluster-reconciling`, 403
   * `quota-exceeded` beyond the organisation's node quota (checkQuota).
   */
  async addNodes(organisationId: string, clusterId: string, dto: AddNodesDto): Promise<{ nodes: ClusterView['nodes'] }> {
    const ids: string[] = [];
    const scope = orgScope(organisationId);
    await this.ds.transaction(async (em) => {
      const c = await this.lockForChange(em, scope, clusterId);
      const v: Violation[] = [];
      if (dto.role !== undefined && dto.role !== 'worker') v.push({ field: 'role', rule: 'masters-fixed', message: 'only workers can be added; the number of masters is fixed at creation' });
      if (!c.spec.clouds.includes(dto.cloud)) v.push({ field: 'cloud', rule: 'cloud-in-cluster', message: `${dto.cloud} is not one of the cluster's clouds (${c.spec.clouds.join(', ')})` });
      const type = dto.instanceType ?? DEFAULT_INSTANCE_TYPE[dto.cloud];
      if (!findInstanceType(dto.cloud, type)) v.push({ field: 'instanceType', rule: 'known-instance-type', message: `${type} is not offered on ${CLOUD_NAMES[dto.cloud]}` });
      const all = await this.repos.nodes.listByCluster(scope, clusterId, em);
      const live = all.filter((n) => n.phase !== 'Terminated' && !n.removalRequestedAt);
      const workers = live.filter((n) => n.role === 'worker').length;
      if (workers + dto.count > MAX_CLUSTER_WORKERS) v.push({ field: 'count', rule: 'max-workers', message: `the cluster has ${workers} worker(s); at most ${MAX_CLUSTER_WORKERS} in all` });
      if (v.length) throw Problem.validation(v);
      if (c.phase !== 'Ready') throw new Problem(409, 'cluster-not-ready', 'Cluster not ready', `workers can be added once the cluster is Ready (it is ${c.phase})`);
      await this.checkQuota(em, scope, { clusters: 0, nodes: dto.count });
      const rows = await addWorkers(em, this.repos, scope, c, {
        cloud: dto.cloud, instanceType: type, count: dto.count, origin: 'user',
        event: { reason: EventReason.NodesAdded, message: (names) => `${dto.count} ${type} worker(s) added on ${CLOUD_NAMES[dto.cloud]}: ${names.join(', ')}` },
      });
      ids.push(...rows.map((r) => r.id));
    });
    const view = await this.get(organisationId, clusterId);
    return { nodes: view.nodes.filter((n) => ids.includes(n.id)) };
  }

  /**
   * Changes the declared state: today the Kubernetes version, by a newer patch of the same minor (rolled out one node
   * at a time, masters first, by the reconciler). Asking the current version changes nothing.
   * @throws Problem 422 (`masters-fixed` for controlPlane, `patch-upgrade-only`, `nothing-to-change`), 409
   *   `cluster-not-ready` unless Ready, 409 `cluster-reconciling`.
   */
  async update(organisationId: string, id: string, dto: UpdateClusterDto): Promise<ClusterView> {
    const scope = orgScope(organisationId);
    await this.ds.transaction(async (em) => {
      const c = await this.lockForChange(em, scope, id);
      if (dto.controlPlane !== undefined) throw Problem.validation([{ field: 'controlPlane', rule: 'masters-fixed', message: 'the count and size of masters are fixed at creation' }]);
      if (dto.kubernetesVersion === undefined) throw Problem.validation([{ field: 'kubernetesVersion', rule: 'nothing-to-change', message: 'give the kubernetesVersion to upgrade to' }]);
      const verdict = comparePatchUpgrade(c.spec.kubernetesVersion, dto.kubernetesVersion);
      if (verdict === 'same') return;
      if (verdict !== 'patch') throw Problem.validation([{ field: 'kubernetesVersion', rule: 'patch-upgrade-only', message: verdict }]);
      if (c.phase !== 'Ready') throw new Problem(409, 'cluster-not-ready', 'Cluster not ready', `a cluster can be upgraded once it is Ready (it is ${c.phase})`);
      await this.repos.clusters.update(scope, c.id, { spec: { ...c.spec, kubernetesVersion: dto.kubernetesVersion } }, em);
      await recordEvent(em, { organisationId, clusterId: id, reason: EventReason.UpgradeRequested, message: `Upgrade from Kubernetes ${c.spec.kubernetesVersion} to ${dto.kubernetesVersion} requested: one node at a time, masters first` });
      await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId: id, reason: `upgrade to ${dto.kubernetesVersion}` });
    });
    return this.get(organisationId, id);
  }

  /**
   * Asks for a full reconcile now (it also runs hourly). @returns `scheduled`, or `running` when one is under way.
   * @throws Problem 404; 409 `cluster-not-ready` unless the cluster is Ready (creation and deletion are reconciled continuously).
   */
  async requestReconcile(organisationId: string, id: string): Promise<{ status: 'scheduled' | 'running' }> {
    const scope = orgScope(organisationId);
    return this.ds.transaction(async (em) => {
      const c = await this.repos.clusters.findForUpdate(scope, id, em);
      if (!c || c.phase === 'Deleted') throw Problem.notFound(`cluster ${id}`);
      if (c.phase !== 'Ready' || c.deletionRequestedAt) throw new Problem(409, 'cluster-not-ready', 'Cluster not ready', `a full reconcile runs on a Ready cluster (it is ${c.deletionRequestedAt ? 'being deleted' : c.phase})`);
      if ((c.reconcileLeaseExpiresAt?.getTime() ?? 0) > Date.now()) return { status: 'running' as const };
      await this.repos.clusters.update(scope, id, { nextReconcileAt: new Date() }, em);
      await recordEvent(em, { organisationId, clusterId: id, reason: EventReason.ReconcileRequested, message: 'Full reconcile requested' });
      await enqueue(em, Subjects.ClusterReconcile, { organisationId, clusterId: id });
      return { status: 'scheduled' as const };
    });
  }

  /** The latest full reconciles, newest first (who ran it, when, what it found and changed). */
  async reconciles(organisationId: string, id: string, limit: number) {
    await this.get(organisationId, id);
    const rows = await this.repos.reconciles.list(orgScope(organisationId), id, limit);
    return { items: rows.map((r) => ({ id: r.id, replica: r.replica, trigger: r.trigger, startedAt: r.startedAt, finishedAt: r.finishedAt, found: r.found, changed: r.changed, undecided: r.undecided, error: r.error })) };
  }
}
