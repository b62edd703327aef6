import type { DataSource, EntityManager } from 'typeorm';
import { Subjects } from '@skyweave/contracts';
import { randomUUID } from 'node:crypto';
import { ClusterEntity, ClusterNetworkEntity, NodeEntity, NodeOperationEntity, enqueue, recordEvent } from '@skyweave/persistence';
import type { Logger } from '@skyweave/service-kit';
import { DEFAULT_PLAN_OPTIONS, Plan, PlanOptions, planReconcile } from './plan';

/** Seconds an agent gets beyond an operation's own timeout to report its result (transport, retries). */
export const OPERATION_REPORT_MARGIN_SECONDS = 30;

/** Phases the periodic re-drive looks at: clusters not yet in their desired state. */
export const UNSETTLED_PHASES = ['Pending', 'Provisioning', 'Deleting'] as const;

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
      await this.apply(em, cluster, plan, now);
    });
  }

  private async apply(em: EntityManager, cluster: ClusterEntity, plan: Plan, now: Date): Promise<void> {
    const { id: clusterId, organisationId } = cluster;
    const changed = plan.phase !== cluster.phase || JSON.stringify(plan.conditions) !== JSON.stringify(cluster.conditions);
    const firstReady = plan.phase === 'Ready' && cluster.nextReconcileAt === null;
    if (changed || firstReady) {
      await em.getRepository(ClusterEntity).update({ id: clusterId, organisationId }, {
        phase: plan.phase, conditions: plan.conditions, ...(firstReady ? { nextReconcileAt: this.firstFullReconcile(now) } : {}),
      });
      if (plan.phase !== cluster.phase) this.log.info({ clusterId, from: cluster.phase, to: plan.phase }, 'cluster phase');
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
    for (const u of plan.networkUpdates) {
      await em.getRepository(ClusterNetworkEntity).update({ clusterId, organisationId, cloud: u.cloud }, { dispatchedAt: now, ...(u.phase ? { phase: u.phase } : {}) });
    }
    for (const u of plan.nodeUpdates) {
      await em.getRepository(NodeEntity).update({ id: u.id, organisationId }, u.kubernetesVersion
        ? { kubernetesVersion: u.kubernetesVersion }
        : { dispatchedAt: now, ...(u.phase ? { phase: u.phase } : {}) });
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
   * Ids of clusters to re-drive: not in their desired state yet — being created or deleted, a node or network not
   * settled (launching, healing, waiting out a quota refusal, being removed), an agent operation under way, or a node
   * not at the declared Kubernetes version.
   */
  async unsettled(): Promise<{ id: string; organisationId: string }[]> {
    return this.ds.getRepository(ClusterEntity).createQueryBuilder('c').select(['c.id', 'c.organisationId'])
      .where('c.phase IN (:...phases)', { phases: [...UNSETTLED_PHASES] })
      .orWhere(`c.phase = 'Ready' AND (
        EXISTS (SELECT 1 FROM "nodes" n WHERE n."clusterId" = c.id AND n."phase" NOT IN ('Joined', 'Terminated', 'Failed'))
        OR EXISTS (SELECT 1 FROM "nodes" n WHERE n."clusterId" = c.id AND n."removalRequestedAt" IS NOT NULL AND n."phase" <> 'Terminated')
        OR EXISTS (SELECT 1 FROM "cluster_networks" w WHERE w."clusterId" = c.id AND w."phase" <> 'Ready')
        OR EXISTS (SELECT 1 FROM "node_operations" o WHERE o."clusterId" = c.id AND o."state" IN ('Pending', 'Running'))
        OR EXISTS (SELECT 1 FROM "nodes" n WHERE n."clusterId" = c.id AND n."phase" = 'Joined' AND n."removalRequestedAt" IS NULL
                   AND n."kubernetesVersion" <> c.spec->>'kubernetesVersion'
                   AND NOT EXISTS (SELECT 1 FROM "node_operations" f WHERE f."clusterId" = c.id AND f."purpose" = 'upgrade'
                                   AND f."kubernetesVersion" = c.spec->>'kubernetesVersion' AND f."state" IN ('Failed', 'TimedOut'))))`)
      .getMany();
  }
}
