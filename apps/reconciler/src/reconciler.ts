import type { DataSource, EntityManager } from 'typeorm';
import { ClusterEntity, ClusterNetworkEntity, NodeEntity, enqueue, recordEvent } from '@skyweave/persistence';
import type { Logger } from '@skyweave/service-kit';
import { planReconcile } from './plan';

/** Phases the periodic re-drive looks at: clusters not yet in their desired state. */
export const UNSETTLED_PHASES = ['Pending', 'Provisioning', 'Deleting'] as const;

/**
 * Applies reconcile passes. A pass reads the cluster with `SELECT … FOR UPDATE` (one pass per cluster at a time,
 * across replicas), plans, and writes state, outbox commands and events in the same transaction: a crash anywhere
 * leaves either the old state or the new one, and the re-drive picks it up again.
 */
export class Reconciler {
  constructor(private readonly ds: DataSource, private readonly log: Logger, private readonly clock: () => Date = () => new Date()) {}

  /** Reconciles one cluster of one organisation. Unknown cluster ⇒ nothing (it may have been deleted). */
  async reconcile(organisationId: string, clusterId: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      const cluster = await em.getRepository(ClusterEntity).findOne({ where: { id: clusterId, organisationId }, lock: { mode: 'pessimistic_write' } });
      if (!cluster) return;
      const networks = await em.getRepository(ClusterNetworkEntity).findBy({ clusterId, organisationId });
      const nodes = await em.getRepository(NodeEntity).find({ where: { clusterId, organisationId }, order: { role: 'ASC', ordinal: 'ASC' } });
      const now = this.clock();
      const plan = planReconcile(
        { id: cluster.id, organisationId, phase: cluster.phase, conditions: cluster.conditions, deletionRequested: cluster.deletionRequestedAt !== null },
        networks, nodes.map((n) => ({ ...n, removalRequested: n.removalRequestedAt !== null })), now,
      );
      await this.apply(em, cluster, plan, now);
    });
  }

  private async apply(em: EntityManager, cluster: ClusterEntity, plan: ReturnType<typeof planReconcile>, now: Date): Promise<void> {
    const { id: clusterId, organisationId } = cluster;
    const changed = plan.phase !== cluster.phase || JSON.stringify(plan.conditions) !== JSON.stringify(cluster.conditions);
    if (changed) {
      await em.getRepository(ClusterEntity).update({ id: clusterId, organisationId }, { phase: plan.phase, conditions: plan.conditions });
      if (plan.phase !== cluster.phase) this.log.info({ clusterId, from: cluster.phase, to: plan.phase }, 'cluster phase');
    }
    for (const u of plan.networkUpdates) {
      await em.getRepository(ClusterNetworkEntity).update({ clusterId, organisationId, cloud: u.cloud }, { dispatchedAt: now, ...(u.phase ? { phase: u.phase } : {}) });
    }
    for (const u of plan.nodeUpdates) {
      await em.getRepository(NodeEntity).update({ id: u.id, organisationId }, { dispatchedAt: now, ...(u.phase ? { phase: u.phase } : {}) });
    }
    for (const c of plan.commands) {
      if ('cloud' in c) await enqueue(em, c.subject, { organisationId, clusterId, cloud: c.cloud });
      else await enqueue(em, c.subject, { organisationId, clusterId, nodeId: c.nodeId });
    }
    for (const e of plan.events) await recordEvent(em, { organisationId, clusterId, ...e });
  }

  /** Ids of clusters to re-drive: not in their desired state yet, or with a node removal under way. */
  async unsettled(): Promise<{ id: string; organisationId: string }[]> {
    return this.ds.getRepository(ClusterEntity).createQueryBuilder('c').select(['c.id', 'c.organisationId'])
      .where('c.phase IN (:...phases)', { phases: [...UNSETTLED_PHASES] })
      .orWhere(`EXISTS (SELECT 1 FROM "nodes" n WHERE n."clusterId" = c.id AND n."removalRequestedAt" IS NOT NULL AND n."phase" <> 'Terminated')`)
      .getMany();
  }
}
