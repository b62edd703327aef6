import { ROW_LOCK } from '../row-lock';
import type { EntityManager } from 'typeorm';
import { In } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import type { NodePhase, NodeRole } from '@skyweave/domain';
import { NodeEntity } from '../entities/entities';
import { BaseRepository, OrgScope, SystemScope } from './scope';

/**
 * The columns a new node row is written with (the organisation comes from the scope; the rest take their defaults;
 * `origin` defaults to `user`).
 */
export type NewNode = Pick<NodeEntity, 'id' | 'clusterId' | 'cloud' | 'role' | 'ordinal' | 'name' | 'instanceType' | 'phase' | 'wireguardAddress' | 'kubernetesVersion'>
  & Partial<Pick<NodeEntity, 'origin'>>;

/** Columns a caller may write with `update` (phases move only through LifecycleRepository). */
export type NodeUpdate = Omit<QueryDeepPartialEntity<NodeEntity>, 'phase' | 'organisationId' | 'id' | 'clusterId'>;

/**
 * The `nodes` table. Org-scoped methods filter by the scope's organisation: another organisation's node is `null`,
 * absent from lists and never changed. Phase moves: LifecycleRepository. Lock order: the cluster row before its nodes.
 */
export class NodesRepository extends BaseRepository {
  /** The organisation's node `id` (of `clusterId` when given), or null. */
  async findById(scope: OrgScope, id: string, em?: EntityManager, clusterId?: string): Promise<NodeEntity | null> {
    return this.m(em).getRepository(NodeEntity).findOneBy({ id, organisationId: scope.organisationId, ...(clusterId ? { clusterId } : {}) });
  }

  /** As findById. @throws EntityNotFoundError (TypeORM) when the organisation has no such node. */
  async getById(scope: OrgScope, id: string, em?: EntityManager): Promise<NodeEntity> {
    return this.m(em).getRepository(NodeEntity).findOneByOrFail({ id, organisationId: scope.organisationId });
  }

  /** The node row locked for the rest of the caller's transaction (`FOR NO KEY UPDATE`, ROW_LOCK), or null. Lock its cluster first if you lock both. */
  async findForUpdate(scope: OrgScope, id: string, em: EntityManager): Promise<NodeEntity | null> {
    return em.getRepository(NodeEntity).findOne({ where: { id, organisationId: scope.organisationId }, lock: ROW_LOCK });
  }

  /**
   * Every node of the organisation's cluster (Terminated included). `order: 'role-ordinal'` sorts masters then
   * workers, each by ordinal; `lock` takes their row locks (`FOR NO KEY UPDATE`, inside `em`'s transaction, after the cluster row's).
   */
  async listByCluster(scope: OrgScope, clusterId: string, em?: EntityManager, opts: { order?: 'role-ordinal'; lock?: boolean } = {}): Promise<NodeEntity[]> {
    return this.m(em).getRepository(NodeEntity).find({
      where: { clusterId, organisationId: scope.organisationId },
      ...(opts.order ? { order: { role: 'ASC', ordinal: 'ASC' } } : {}),
      ...(opts.lock ? { lock: ROW_LOCK } : {}),
    });
  }

  /** The node of the organisation's cluster with this role and ordinal (`master`, 0: the first master), or null. */
  async findByOrdinal(scope: OrgScope, clusterId: string, role: NodeRole, ordinal: number): Promise<NodeEntity | null> {
    return this.ds.getRepository(NodeEntity).findOneBy({ clusterId, organisationId: scope.organisationId, role, ordinal });
  }

  /** Names of the organisation's nodes among `ids`, by id (ids of other organisations are absent). */
  async namesByIds(scope: OrgScope, ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.ds.getRepository(NodeEntity).findBy({ id: In([...ids]), organisationId: scope.organisationId });
    return new Map(rows.map((n) => [n.id, n.name]));
  }

  /** Inserts new nodes of the organisation (none: nothing). */
  async insertMany(scope: OrgScope, rows: readonly NewNode[], em?: EntityManager): Promise<void> {
    if (rows.length === 0) return;
    await this.m(em).getRepository(NodeEntity).insert(rows.map((r) => ({ ...r, organisationId: scope.organisationId })));
  }

  /**
   * Writes columns of the organisation's node `id`, only while it is in one of `inPhases` when given (a guard: a node
   * that moved on meanwhile is left alone). @returns the number of rows changed (0 or 1).
   */
  async update(scope: OrgScope, id: string, set: NodeUpdate, em?: EntityManager, inPhases?: readonly NodePhase[]): Promise<number> {
    const res = await this.m(em).getRepository(NodeEntity).update(
      { id, organisationId: scope.organisationId, ...(inPhases ? { phase: In([...inPhases]) } : {}) }, set,
    );
    return res.affected ?? 0;
  }

  /** Writes the same columns on several of the organisation's nodes. @returns the number of rows changed. */
  async updateMany(scope: OrgScope, ids: readonly string[], set: NodeUpdate, em?: EntityManager): Promise<number> {
    if (ids.length === 0) return 0;
    const res = await this.m(em).getRepository(NodeEntity).update({ id: In([...ids]), organisationId: scope.organisationId }, set);
    return res.affected ?? 0;
  }

  /**
   * A repeated delete: the cluster's Terminating nodes waiting out a backoff are due now (`retryAt`, `dispatchedAt`
   * cleared). @returns how many were.
   */
  async retryTerminatingNow(scope: OrgScope, clusterId: string, em: EntityManager): Promise<number> {
    const res = await em.createQueryBuilder().update(NodeEntity).set({ retryAt: null, dispatchedAt: null })
      .where('"organisationId" = :organisationId AND "clusterId" = :clusterId AND "phase" = \'Terminating\' AND "retryAt" IS NOT NULL', { organisationId: scope.organisationId, clusterId })
      .execute();
    return res.affected ?? 0;
  }

  /**
   * Node-agent authentication: the node `id` of whatever organisation, or null; `em` with `lock` takes its row lock.
   * SystemScope: an agent's call names only its node; the token checked against this row proves which organisation
   * it acts for (the caller then works in `orgScope(node.organisationId)`).
   */
  async findForAgent(_scope: SystemScope, id: string, em?: EntityManager, opts: { lock?: boolean } = {}): Promise<NodeEntity | null> {
    return this.m(em).getRepository(NodeEntity).findOne({ where: { id }, ...(opts.lock ? { lock: ROW_LOCK } : {}) });
  }

  /**
   * Across organisations (the reconciler's certificate check): Ready clusters not being deleted with a Joined master
   * that reported a certificate expiring before `before` (RFC 3339 strings compare as instants: the agent reports UTC
   * `Z` times). SystemScope: the check serves every organisation.
   */
  async clustersWithCertificatesExpiringBefore(_scope: SystemScope, before: Date): Promise<{ id: string; organisationId: string }[]> {
    return (await this.ds.query(
      `SELECT DISTINCT c."id", c."organisationId" FROM "clusters" c JOIN "nodes" n ON n."clusterId" = c."id"
         WHERE c."phase" = 'Ready' AND c."deletionRequestedAt" IS NULL AND n."role" = 'master' AND n."phase" = 'Joined'
           AND n."removalRequestedAt" IS NULL AND n."certificateExpirations" IS NOT NULL
           AND EXISTS (SELECT 1 FROM jsonb_array_elements(n."certificateExpirations") e WHERE (e->>'expiresAt')::timestamptz < $1)`,
      [before],
    )) as { id: string; organisationId: string }[];
  }

  /**
   * Records the node-agent version `nodeId`'s agent sent, when it differs from the recorded one (one conditional
   * `UPDATE`, without touching the row's optimistic-lock version: the agent's loops call concurrently and only one of
   * them moves it).
   * @returns the version recorded before (null: none) when this call changed it; `undefined` when nothing changed.
   */
  async recordAgentVersion(scope: OrgScope, nodeId: string, agentVersion: string, em: EntityManager): Promise<string | null | undefined> {
    const rows = (await em.query(
      `UPDATE "nodes" n SET "agentVersion" = $1 FROM (SELECT "id", "agentVersion" AS "before" FROM "nodes" WHERE "id" = $2 AND "organisationId" = $3 FOR NO KEY UPDATE) o
         WHERE n."id" = o."id" AND n."agentVersion" IS DISTINCT FROM $1 RETURNING o."before"`,
      [agentVersion, nodeId, scope.organisationId],
    )) as [{ before: string | null }[], number] | { before: string | null }[];
    const list = Array.isArray(rows[0]) ? (rows[0] as { before: string | null }[]) : (rows as { before: string | null }[]);
    return list.length ? list[0].before : undefined;
  }

  /**
   * Ready clusters (any organisation) with a Joined node whose agent reported a version other than `version` (nodes
   * that reported none are not counted): the reconciler's periodic look for agent upgrades to roll out.
   */
  async clustersWithAgentVersionOtherThan(_scope: SystemScope, version: string): Promise<{ id: string; organisationId: string }[]> {
    return (await this.ds.query(
      `SELECT DISTINCT c."id", c."organisationId" FROM "clusters" c JOIN "nodes" n ON n."clusterId" = c."id"
         WHERE c."phase" = 'Ready' AND c."deletionRequestedAt" IS NULL AND n."phase" = 'Joined' AND n."removalRequestedAt" IS NULL
           AND n."agentVersion" IS NOT NULL AND n."agentVersion" <> $1`,
      [version],
    )) as { id: string; organisationId: string }[];
  }
}
