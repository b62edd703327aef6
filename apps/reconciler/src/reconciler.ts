import type { DataSource, EntityManager } from 'typeorm';
import { Subjects } from '@skyweave/contracts';
import { randomUUID } from 'node:crypto';
import { CONDITION_OWNERS, Condition } from '@skyweave/domain';
import {
  ClusterEntity, ClusterNetworkEntity, LifecycleRepository, NodeEntity, NodeOperationEntity, enqueue, recordEvent, unsettledClustersSql,
} from '@skyweave/persistence';
import type { Logger } from '@skyweave/service-kit';
import { DEFAULT_PLAN_OPTIONS, Plan, PlanOptions, planReconcile } from './plan';

/** Seconds an agent gets beyond an operation's own timeout to report its result (transport, retries). */
export const OPERATION_REPORT_MARGIN_SECONDS = 30;


/**
 * Applies reconcile passes. A pass reads the cluster with `SELECT … FOR UPDATE` (one pass per cluster at a time,
 * across replicas), plans, and writes state, outbox commands and events in the same transaction: a crash anywhere
 * leaves either the old state or the new one, and the re-drive picks it up again.
 */
export class Reconciler {
  constructor(
    private readonly ds: DataSource,
    private readonly log: Logger,
    private readonly clock: () => Date = () => new Date(),
    private readonly options: PlanOptions = DEFAULT_PLAN_OPTIONS,
    /** When a cluster that just became Ready is first fully reconciled (the full reconciler's interval with jitter). */
    private readonly firstFullReconcile: (readyAt: Date) => Date = (t) => new Date(t.getTime() + 3600_000),
  ) {}

  /** Reconciles one cluster of one organisation. Unknown cluster ⇒ nothing (it may have been deleted). */
  async reconcile(organisationId: string, clusterId: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      const cluster = await em.getRepository(ClusterEntity).findOne({ where: { id: clusterId, organisationId }, lock: { mode: 'pessimistic_write' } });
      if (!cluster) return;
      const networks = await em.getRepository(ClusterNetworkEntity).findBy({ clusterId, organisationId });
      const nodes = await em.getRepository(NodeEntity).find({ where: { clusterId, organisationId }, order: { role: 'ASC', ordinal: 'ASC' } });
      const operations = await em.getRepository(NodeOperationEntity).find({ where: { clusterId, organisationId }, order: { createdAt: 'ASC' } });
      const now = this.clock();
      const plan = planReconcile(
        { id: cluster.id, organisationId, phase: cluster.phase, conditions: cluster.conditions, deletionRequested: cluster.deletionRequestedAt !== null, kubernetesVersion: cluster.spec.kubernetesVersion },
        networks, nodes.map((n) => ({ ...n, removalRequested: n.removalRequestedAt !== null })), now, operations, this.options,
      );
      await this.apply(em, cluster, networks, nodes, plan, now);
    });
  }

  private async apply(em: EntityManager, cluster: ClusterEntity, networks: ClusterNetworkEntity[], nodes: NodeEntity[], plan: Plan, now: Date): Promise<void> {
    const { id: clusterId, organisationId } = cluster;
    const scope = { organisationId };
    const lc = new LifecycleRepository(em);
    if (plan.phase !== cluster.phase) {
      const moved = await lc.moveCluster(scope, clusterId, plan.phase);
      if (moved) this.log.info({ clusterId, from: cluster.phase, to: plan.phase }, 'cluster phase');
    }
    // only the reconciler's own condition types, patched by type under the row lock (held since the read above)
    const owned = CONDITION_OWNERS.reconciler as readonly string[];
    const mine = (cs: Condition[]) => cs.filter((c) => owned.includes(c.type));
    if (JSON.stringify(mine(plan.conditions)) !== JSON.stringify(mine(cluster.conditions)) || plan.removeConditions.some((t) => cluster.conditions.some((c) => c.type === t))) {
      await lc.patchClusterConditions(scope, clusterId, 'reconciler', { set: mine(plan.conditions), remove: plan.removeConditions }, now);
    }
    if (plan.phase === 'Ready' && cluster.nextReconcileAt === null) {
      await em.getRepository(ClusterEntity).update({ id: clusterId, organisationId }, { nextReconcileAt: this.firstFullReconcile(now) });
    }
    for (const id of plan.timedOut) {
      await em.createQueryBuilder().update(NodeOperationEntity).set({ state: 'TimedOut', message: 'no result from the agent within the deadline', finishedAt: now })
        .where('id = :id AND "state" IN (\'Pending\', \'Running\')', { id }).execute();
    }
    for (const o of plan.newOperations) {
      await em.getRepository(NodeOperationEntity).insert({
        id: randomUUID(), organisationId, clusterId, executorNodeId: o.executorNodeId, targetNodeId: o.targetNodeId, kind: o.kind, purpose: o.purpose,
        kubernetesVersion: o.kubernetesVersion, upgradeControlPlane: o.upgradeControlPlane, timeoutSeconds: o.timeoutSeconds, state: 'Pending', message: null,
        deadlineAt: new Date(now.getTime() + (o.timeoutSeconds + OPERATION_REPORT_MARGIN_SECONDS) * 1000), finishedAt: null,
      });
    }
    // a move to Deleting / Terminating starts a new step: what the row waited for before no longer applies
    const fresh = { retryAt: null, attempts: 0, waitingReason: null };
    for (const u of plan.networkUpdates) {
      const row = networks.find((n) => n.cloud === u.cloud);
      if (!row) continue;
      if (u.phase && u.phase !== row.phase) {
        await lc.moveNetwork(scope, clusterId, u.cloud, u.phase, { set: { dispatchedAt: now, ...(u.phase === 'Deleting' ? fresh : {}) } });
      } else {
        await em.getRepository(ClusterNetworkEntity).update({ organisationId, clusterId, cloud: u.cloud, phase: row.phase }, { dispatchedAt: now });
      }
    }
    for (const u of plan.nodeUpdates) {
      const row = nodes.find((n) => n.id === u.id);
      if (!row) continue;
      if (u.kubernetesVersion) {
        await em.getRepository(NodeEntity).update({ organisationId, id: u.id }, { kubernetesVersion: u.kubernetesVersion });
      } else if (u.phase && u.phase !== row.phase) {
        await lc.moveNode(scope, row, u.phase, { set: { dispatchedAt: now, ...(u.phase === 'Terminating' ? fresh : {}) } });
      } else {
        await em.getRepository(NodeEntity).update({ organisationId, id: u.id, phase: row.phase }, { dispatchedAt: now });
      }
    }
    for (const c of plan.commands) {
      if ('cloud' in c) await enqueue(em, c.subject, { organisationId, clusterId, cloud: c.cloud });
      else await enqueue(em, c.subject, { organisationId, clusterId, nodeId: c.nodeId });
    }
    for (const e of plan.events) await recordEvent(em, { organisationId, clusterId, ...e });
    // an upgrade step done with nothing else to wake the next one: look again at once
    if (plan.nodeUpdates.some((u) => u.kubernetesVersion)) await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId, reason: 'node upgraded' });
  }

  /**
   * Ids of clusters to re-drive: those for which `isUnsettled` (libs/domain lifecycle) holds — being created or
   * deleted, a node or network not settled and not waiting out a backoff, a removal under way, an agent operation
   * under way, or a node not at the declared Kubernetes version. The SQL is built from the same constants.
   */
  async unsettled(): Promise<{ id: string; organisationId: string }[]> {
    return (await this.ds.query(unsettledClustersSql())) as { id: string; organisationId: string }[];
  }
}
