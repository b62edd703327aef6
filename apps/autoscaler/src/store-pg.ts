import type { DataSource } from 'typeorm';
import { DEFAULT_AUTOSCALING_POLICY, DEFAULT_ORGANISATION_QUOTAS, EventReason, MAX_CLUSTER_WORKERS, validateAutoscalingPolicy, type CloudId } from '@skyweave/domain';
import { Repositories, addWorkers, orgScope, recordEvent, removeWorker } from '@skyweave/persistence';
import type { AutoscalerEvent, AutoscalerStatus, AutoscalerStore, ClusterSnapshot, LaunchOutcome, NodeRow } from './store';

/** {@link AutoscalerStore} on PostgreSQL through libs/persistence's repositories (every query scoped by organisation). */
export class PgAutoscalerStore implements AutoscalerStore {
  private readonly repos: Repositories;

  /**
   * @param quotas.maxNodes the organisations' node quota where their row says nothing (SKYWEAVE_QUOTA_NODES, as the
   *   gateway; default DEFAULT_ORGANISATION_QUOTAS.maxNodes)
   */
  constructor(
    private readonly ds: DataSource,
    private readonly quotas: { maxNodes: number } = { maxNodes: DEFAULT_ORGANISATION_QUOTAS.maxNodes },
  ) {
    this.repos = new Repositories(ds);
  }

  async cluster(organisationId: string, clusterId: string): Promise<{ cluster: ClusterSnapshot; nodes: NodeRow[] } | null> {
    const scope = orgScope(organisationId);
    const c = await this.repos.clusters.findById(scope, clusterId);
    if (!c || c.phase === 'Deleted') return null;
    const rows = await this.repos.nodes.listByCluster(scope, clusterId);
    return {
      cluster: { id: c.id, organisationId: c.organisationId, name: c.name, phase: c.phase, spec: c.spec, deleting: c.deletionRequestedAt !== null },
      nodes: rows.filter((n) => n.phase !== 'Terminated').map((n) => ({
        id: n.id, name: n.name, role: n.role, cloud: n.cloud, instanceType: n.instanceType, phase: n.phase, origin: n.origin,
        removalRequested: n.removalRequestedAt !== null, instanceId: n.instanceId, waitingReason: n.waitingReason, createdAt: n.createdAt, joinedAt: n.joinedAt,
      })),
    };
  }

  /** The stored policy read back through the domain's validation (defaults for fields added since); defaults when none. */
  async policy(organisationId: string, clusterId: string, clouds: readonly CloudId[]) {
    const stored = await this.repos.autoscaling.getPolicy(orgScope(organisationId), clusterId);
    if (!stored) return { version: 0, policy: DEFAULT_AUTOSCALING_POLICY };
    const checked = validateAutoscalingPolicy(stored.policy, clouds);
    return { version: stored.version, policy: checked.policy ?? { ...stored.policy } };
  }

  async launch(organisationId: string, clusterId: string, req: { cloud: CloudId; instanceType: string; message: (name: string) => string }): Promise<LaunchOutcome> {
    const scope = orgScope(organisationId);
    return this.ds.transaction(async (em): Promise<LaunchOutcome> => {
      const c = await this.repos.clusters.findForUpdate(scope, clusterId, em);
      if (!c || c.phase === 'Deleted' || c.deletionRequestedAt) return { ok: false, reason: 'the cluster is being deleted' };
      if (c.phase !== 'Ready') return { ok: false, reason: `the cluster is ${c.phase}` };
      if (c.reconcileLeaseExpiresAt && c.reconcileLeaseExpiresAt.getTime() > Date.now()) return { ok: false, reason: 'the cluster is being reconciled' };
      if (!c.spec.clouds.includes(req.cloud)) return { ok: false, reason: `${req.cloud} is not one of the cluster's clouds` };
      const nodes = await this.repos.nodes.listByCluster(scope, clusterId, em);
      if (nodes.filter((n) => n.role === 'worker' && n.phase !== 'Terminated' && !n.removalRequestedAt).length + 1 > MAX_CLUSTER_WORKERS) return { ok: false, reason: `the cluster has ${MAX_CLUSTER_WORKERS} workers` };
      // the organisation's own quota, else the installation's default (as the gateway's checkQuota)
      const quota = await this.repos.organisations.lockQuotas(scope, em);
      const maxNodes = quota?.maxNodes ?? this.quotas.maxNodes;
      const use = await this.repos.organisations.usage(scope, em);
      if (use.nodes + 1 > maxNodes) return { ok: false, reason: `the organisation's nodes quota is ${maxNodes}; it has ${use.nodes}` };
      const [row] = await addWorkers(em, this.repos, scope, c, {
        cloud: req.cloud, instanceType: req.instanceType, count: 1, origin: 'autoscaler',
        event: { reason: EventReason.AutoscalerScaleUp, message: ([name]) => req.message(name) },
      });
      return { ok: true, nodeId: row.id, name: row.name };
    });
  }

  async remove(organisationId: string, clusterId: string, nodeId: string, event: AutoscalerEvent): Promise<boolean> {
    const scope = orgScope(organisationId);
    return this.ds.transaction(async (em) => {
      const c = await this.repos.clusters.findForUpdate(scope, clusterId, em);
      if (!c || c.phase === 'Deleted' || c.deletionRequestedAt) return false;
      const n = await this.repos.nodes.findById(scope, nodeId, em, clusterId);
      if (!n || n.role !== 'worker' || n.phase === 'Terminated') return false;
      return removeWorker(em, this.repos, scope, c, n, event);
    });
  }

  async event(organisationId: string, clusterId: string, e: AutoscalerEvent): Promise<void> {
    await this.ds.transaction((em) => recordEvent(em, { organisationId, clusterId, type: e.type, reason: e.reason, message: e.message, object: e.object }));
  }

  async status(organisationId: string, clusterId: string, s: AutoscalerStatus): Promise<void> {
    await this.repos.autoscaling.upsertStatus(orgScope(organisationId), clusterId, s);
  }
}
