import type { EntityManager } from 'typeorm';
import { ClusterReconcileEntity } from '../entities/entities';
import { BaseRepository, OrgScope } from './scope';

/**
 * The `cluster_reconciles` table: one row per full reconcile of a cluster. Org-scoped: another organisation's
 * records are never listed or changed.
 */
export class ReconcilesRepository extends BaseRepository {
  /**
   * Records the start of a full reconcile of the organisation's cluster (`finishedAt` null, nothing found yet).
   * @returns the stored row, with its id (a bigint, as a string).
   */
  async start(scope: OrgScope, clusterId: string, run: { replica: string; trigger: 'schedule' | 'manual'; startedAt: Date }): Promise<ClusterReconcileEntity> {
    return this.ds.getRepository(ClusterReconcileEntity).save({
      organisationId: scope.organisationId, clusterId, replica: run.replica, trigger: run.trigger, startedAt: run.startedAt, finishedAt: null, found: [], changed: [], error: null,
    });
  }

  /** Records a run's end: what it found, changed and left undecided, and its error (null: none). @returns rows changed. */
  async finish(scope: OrgScope, id: string, end: Pick<ClusterReconcileEntity, 'finishedAt' | 'found' | 'changed' | 'undecided' | 'error'>, em?: EntityManager): Promise<number> {
    const res = await this.m(em).getRepository(ClusterReconcileEntity).update({ id, organisationId: scope.organisationId }, end);
    return res.affected ?? 0;
  }

  /** The latest `limit` full reconciles of the organisation's cluster, newest first. */
  async list(scope: OrgScope, clusterId: string, limit: number): Promise<ClusterReconcileEntity[]> {
    return this.ds.getRepository(ClusterReconcileEntity).find({ where: { clusterId, organisationId: scope.organisationId }, order: { id: 'DESC' }, take: limit });
  }
}
