import { ROW_LOCK } from '../row-lock';
import type { EntityManager } from 'typeorm';
import { Not } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import type { CloudId } from '@skyweave/domain';
import { ClusterEntity } from '../entities/entities';
import { unsettledClustersSql } from '../lifecycle';
import { BaseRepository, OrgScope, SystemScope } from './scope';

/** A cluster named by id with its organisation (what the workers' sweeps return). */
export interface ClusterRef { id: string; organisationId: string }

/** The columns a new cluster row is written with (the organisation comes from the scope). */
export type NewCluster = Omit<ClusterEntity, 'organisationId' | 'version' | 'createdAt' | 'updatedAt' | 'nextReconcileAt' | 'lastReconciledAt' | 'reconcileLeaseHolder' | 'reconcileLeaseExpiresAt'>;

/**
 * The `clusters` table. Org-scoped methods filter by the scope's organisation: another organisation's cluster is
 * `null` / not counted / not changed. Phase changes go through LifecycleRepository (guarded transitions); conditions
 * through its `patchClusterConditions`. Row-lock order everywhere: the cluster row, then its networks, then its nodes.
 */
export class ClustersRepository extends BaseRepository {
  /** The cluster `id` of the organisation, or null (unknown, or another organisation's). Deleted clusters are returned too. */
  async findById(scope: OrgScope, id: string, em?: EntityManager): Promise<ClusterEntity | null> {
    return this.m(em).getRepository(ClusterEntity).findOneBy({ id, organisationId: scope.organisationId });
  }

  /** As findById. @throws EntityNotFoundError (TypeORM) when there is no such cluster in the organisation. */
  async getById(scope: OrgScope, id: string, em?: EntityManager): Promise<ClusterEntity> {
    return this.m(em).getRepository(ClusterEntity).findOneByOrFail({ id, organisationId: scope.organisationId });
  }

  /**
   * The cluster row locked for the rest of the caller's transaction `em` (`SELECT … FOR NO KEY UPDATE`, ROW_LOCK), or null. Take it
   * before any network or node row of the cluster (the one lock order).
   */
  async findForUpdate(scope: OrgScope, id: string, em: EntityManager): Promise<ClusterEntity | null> {
    return em.getRepository(ClusterEntity).findOne({ where: { id, organisationId: scope.organisationId }, lock: ROW_LOCK });
  }

  /** As findForUpdate. @throws EntityNotFoundError when there is no such cluster in the organisation. */
  async getForUpdate(scope: OrgScope, id: string, em: EntityManager): Promise<ClusterEntity> {
    return em.getRepository(ClusterEntity).findOneOrFail({ where: { id, organisationId: scope.organisationId }, lock: ROW_LOCK });
  }

  /** One page of the organisation's clusters that are not Deleted, newest first (`limit` rows from `offset`), and their total. */
  async listLive(scope: OrgScope, page: { limit: number; offset: number }): Promise<[ClusterEntity[], number]> {
    return this.ds.getRepository(ClusterEntity).findAndCount({
      where: { organisationId: scope.organisationId, phase: Not('Deleted') }, order: { createdAt: 'DESC', id: 'ASC' }, take: page.limit, skip: page.offset,
    });
  }

  /** How many of the organisation's clusters (not Deleted) span `cloud` (its spec's `clouds`). */
  async countLiveOnCloud(scope: OrgScope, cloud: CloudId): Promise<number> {
    return this.ds.getRepository(ClusterEntity).createQueryBuilder('c')
      .where('c.organisationId = :organisationId', { organisationId: scope.organisationId }).andWhere(`c.phase <> 'Deleted'`)
      .andWhere(`c.spec -> 'clouds' ? :cloud`, { cloud }).getCount();
  }

  /** Inserts a new cluster of the organisation (phase and conditions as given). @throws QueryFailedError 23505 on a duplicate name. */
  async insert(scope: OrgScope, row: NewCluster, em?: EntityManager): Promise<void> {
    await this.m(em).getRepository(ClusterEntity).insert({ ...row, organisationId: scope.organisationId });
  }

  /**
   * Writes columns of the organisation's cluster `id` (never `phase`: LifecycleRepository moves phases).
   * @returns the number of rows changed (0: no such cluster in the organisation).
   */
  async update(scope: OrgScope, id: string, set: Omit<QueryDeepPartialEntity<ClusterEntity>, 'phase' | 'organisationId' | 'id'>, em?: EntityManager): Promise<number> {
    const res = await this.m(em).getRepository(ClusterEntity).update({ id, organisationId: scope.organisationId }, set);
    return res.affected ?? 0;
  }

  /**
   * Takes the full-reconcile lease of a Ready cluster not being deleted whose lease is free, for `seconds`, for
   * `holder` (a reconciler replica). @returns whether it was taken.
   */
  async acquireReconcileLease(scope: OrgScope, id: string, holder: string, seconds: number): Promise<boolean> {
    const res = (await this.ds.query(
      `UPDATE "clusters" SET "reconcileLeaseHolder" = $3, "reconcileLeaseExpiresAt" = now() + make_interval(secs => $4)
       WHERE "id" = $1 AND "organisationId" = $2 AND "phase" = 'Ready' AND "deletionRequestedAt" IS NULL
         AND ("reconcileLeaseExpiresAt" IS NULL OR "reconcileLeaseExpiresAt" < now())
       RETURNING "id"`, [id, scope.organisationId, holder, seconds],
    )) as [unknown[], number];
    return res[1] > 0;
  }

  /** Extends `holder`'s lease on the cluster by `seconds` from now (nothing when another holds it). */
  async renewReconcileLease(scope: OrgScope, id: string, holder: string, seconds: number): Promise<void> {
    await this.ds.query(
      `UPDATE "clusters" SET "reconcileLeaseExpiresAt" = now() + make_interval(secs => $4) WHERE "id" = $1 AND "organisationId" = $2 AND "reconcileLeaseHolder" = $3`,
      [id, scope.organisationId, holder, seconds],
    );
  }

  /** Ends `holder`'s lease and records the run's end (`lastReconciledAt`) and the next due time (nothing when another holds it). */
  async releaseReconcileLease(scope: OrgScope, id: string, holder: string, at: { lastReconciledAt: Date; nextReconcileAt: Date }, em?: EntityManager): Promise<void> {
    await this.m(em).query(
      `UPDATE "clusters" SET "reconcileLeaseHolder" = NULL, "reconcileLeaseExpiresAt" = NULL, "lastReconciledAt" = $4, "nextReconcileAt" = $5
       WHERE "id" = $1 AND "organisationId" = $2 AND "reconcileLeaseHolder" = $3`, [id, scope.organisationId, holder, at.lastReconciledAt, at.nextReconcileAt],
    );
  }

  /**
   * Across organisations (the reconciler's re-drive): clusters for which `isUnsettled` (libs/domain) holds now
   * (unsettledClustersSql). SystemScope: the re-drive finds work of every organisation.
   */
  async unsettled(_scope: SystemScope): Promise<ClusterRef[]> {
    return (await this.ds.query(unsettledClustersSql())) as ClusterRef[];
  }

  /**
   * Across organisations (the full reconcile's schedule): Ready clusters not being deleted whose full reconcile is
   * due and whose lease is free, oldest due first, at most `limit`. SystemScope: the schedule serves every organisation.
   */
  async dueForFullReconcile(_scope: SystemScope, limit: number): Promise<ClusterRef[]> {
    return (await this.ds.query(
      `SELECT "id", "organisationId" FROM "clusters" WHERE "phase" = 'Ready' AND "deletionRequestedAt" IS NULL
         AND "nextReconcileAt" <= now() AND ("reconcileLeaseExpiresAt" IS NULL OR "reconcileLeaseExpiresAt" < now())
       ORDER BY "nextReconcileAt" LIMIT $1`, [limit],
    )) as ClusterRef[];
  }

  /**
   * Across organisations (the leak sweep): which of `ids` are clusters not Deleted, of ANY organisation — two
   * organisations may share one cloud account, so another organisation's live cluster is never a leak.
   */
  async liveIds(_scope: SystemScope, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = (await this.ds.query(`SELECT "id" FROM "clusters" WHERE "id" = ANY($1::uuid[]) AND "phase" <> 'Deleted'`, [ids])) as { id: string }[];
    return new Set(rows.map((r) => r.id));
  }
}
