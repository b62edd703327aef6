import { ROW_LOCK } from '../row-lock';
import type { EntityManager } from 'typeorm';
import { In } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import type { CloudId, NetworkPhase } from '@skyweave/domain';
import { ClusterNetworkEntity } from '../entities/entities';
import { BaseRepository, OrgScope } from './scope';

/** The columns a new network row is written with (the organisation comes from the scope). */
export type NewNetwork = Pick<ClusterNetworkEntity, 'id' | 'clusterId' | 'cloud' | 'phase' | 'status' | 'message' | 'dispatchedAt'>;

/** Columns a caller may write with `update` (phases move only through LifecycleRepository). */
export type NetworkUpdate = Omit<QueryDeepPartialEntity<ClusterNetworkEntity>, 'phase' | 'organisationId' | 'id' | 'clusterId' | 'cloud'>;

/**
 * The `cluster_networks` table: one row per cloud of a cluster. Org-scoped: another organisation's network is never
 * read or changed. Phase moves: LifecycleRepository. Lock order: the cluster row, then its networks, then its nodes.
 */
export class NetworksRepository extends BaseRepository {
  /**
   * The network of the organisation's cluster on `cloud`, or null; with `inPhase`, only while in that phase; with
   * `lock`, its row lock inside `em`'s transaction.
   */
  async findByCloud(scope: OrgScope, clusterId: string, cloud: CloudId, em?: EntityManager, opts: { inPhase?: NetworkPhase; lock?: boolean } = {}): Promise<ClusterNetworkEntity | null> {
    return this.m(em).getRepository(ClusterNetworkEntity).findOne({
      where: { organisationId: scope.organisationId, clusterId, cloud, ...(opts.inPhase ? { phase: opts.inPhase } : {}) },
      ...(opts.lock ? { lock: ROW_LOCK } : {}),
    });
  }

  /** Every network of the organisation's cluster; `lock` takes their row locks (after the cluster row's). */
  async listByCluster(scope: OrgScope, clusterId: string, em?: EntityManager, opts: { lock?: boolean } = {}): Promise<ClusterNetworkEntity[]> {
    return this.m(em).getRepository(ClusterNetworkEntity).find({
      where: { clusterId, organisationId: scope.organisationId }, ...(opts.lock ? { lock: ROW_LOCK } : {}),
    });
  }

  /** Inserts the networks of a new cluster of the organisation. */
  async insertMany(scope: OrgScope, rows: readonly NewNetwork[], em?: EntityManager): Promise<void> {
    if (rows.length === 0) return;
    await this.m(em).getRepository(ClusterNetworkEntity).insert(rows.map((r) => ({ ...r, organisationId: scope.organisationId })));
  }

  /**
   * Writes columns of the organisation's cluster network on `cloud`, only while in `inPhase` when given (a network
   * that moved on meanwhile is left alone). @returns the number of rows changed (0 or 1).
   */
  async update(scope: OrgScope, clusterId: string, cloud: CloudId, set: NetworkUpdate, em?: EntityManager, inPhase?: NetworkPhase): Promise<number> {
    const res = await this.m(em).getRepository(ClusterNetworkEntity).update(
      { organisationId: scope.organisationId, clusterId, cloud, ...(inPhase ? { phase: inPhase } : {}) }, set,
    );
    return res.affected ?? 0;
  }

  /**
   * Clears the waiting reason and message of the cluster's networks in `phase` whose waiting reason is one of
   * `reasons` (the cloud accepted what it refused before). @returns how many changed.
   */
  async clearWaiting(scope: OrgScope, clusterId: string, phase: NetworkPhase, reasons: readonly string[], em?: EntityManager): Promise<number> {
    const res = await this.m(em).getRepository(ClusterNetworkEntity).update(
      { organisationId: scope.organisationId, clusterId, phase, waitingReason: In([...reasons]) }, { waitingReason: null, message: null },
    );
    return res.affected ?? 0;
  }

  /** A repeated delete: the cluster's Deleting networks waiting out a backoff are due now. @returns how many were. */
  async retryDeletingNow(scope: OrgScope, clusterId: string, em: EntityManager): Promise<number> {
    const res = await em.createQueryBuilder().update(ClusterNetworkEntity).set({ retryAt: null, dispatchedAt: null })
      .where('"organisationId" = :organisationId AND "clusterId" = :clusterId AND "phase" = \'Deleting\' AND "retryAt" IS NOT NULL', { organisationId: scope.organisationId, clusterId })
      .execute();
    return res.affected ?? 0;
  }
}
