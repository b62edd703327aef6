import type { EntityManager, ObjectLiteral } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import {
  CLUSTER_ACTIVE_PHASES, CLUSTER_TRANSITIONS, ClusterPhase, CloudId, Condition, ConditionWriter, EventReasonName, EventType, NETWORK_SETTLED_PHASES,
  NETWORK_TRANSITIONS, NODE_SETTLED_PHASES, NODE_TRANSITIONS, NetworkPhase, NodePhase, OPERATION_ACTIVE_STATES,
  OPERATION_STOPPED_STATES, TransitionTable, WaitingReason, patchConditions, sourcesOf,
} from '@skyweave/domain';
import { ClusterEntity, ClusterNetworkEntity, NodeEntity } from './entities/entities';
import { recordEvent } from './events';
import type { OrgScope } from './repositories/scope';

/** An event recorded with a transition, in the same transaction, only when the row moved. */
export interface TransitionEvent { type?: EventType; reason: EventReasonName; message: string; object?: string }

export interface TransitionOptions<P extends string, E> {
  /** Narrows the allowed sources (each must be allowed by the table for the target; checked). Default: every allowed source. */
  from?: readonly P[];
  /** Columns written with the move. */
  set?: QueryDeepPartialEntity<E>;
  /** Also require this row version (optimistic check). */
  version?: number;
  event?: TransitionEvent;
}

/** The SET list that forgets a cluster row's secrets (sealed CA, admin and PKI keys). */
export const PURGED_CLUSTER_SECRETS = `"caKeySealed" = NULL, "adminKeySealed" = NULL, "pkiSealed" = NULL`;
/** The SET list that forgets a node row's secrets (sealed bootstrap token, bootstrap and node token hashes). */
export const PURGED_NODE_SECRETS = `"bootstrapTokenSealed" = NULL, "bootstrapTokenHash" = NULL, "agentTokenHash" = NULL, "registrationIdHash" = NULL`;

/** SQL literal list of phases (phase names are fixed identifiers from the domain tables, never user input). */
const sqlList = (xs: readonly string[]) => xs.map((x) => `'${x.replace(/'/g, "''")}'`).join(', ');

/**
 * The one place where cluster, network and node phases change. Every method takes the organisation's scope first
 * (OrgScope: every statement filters by it, so another organisation's row never moves). Each move is a guarded
 * transition: a conditional `UPDATE … SET phase = :to WHERE <row> AND phase IN (<allowed sources from the domain
 * table>)`, reporting whether the row moved (a writer that acted on a stale read moves nothing) and recording the
 * event in the same transaction. Also: conditions patched by type under the cluster row lock, and the rows that wait
 * on one cloud's credentials.
 */
export class LifecycleRepository {
  constructor(private readonly em: EntityManager) {}

  /** Moves a node to `to`. @returns whether it moved. @throws Error when `from` names a source the table forbids. */
  async moveNode(scope: OrgScope, node: { id: string; clusterId: string; name?: string }, to: NodePhase, opts: TransitionOptions<NodePhase, NodeEntity> = {}): Promise<boolean> {
    return this.move(NodeEntity, NODE_TRANSITIONS, to, opts, scope, node.clusterId, '"id" = :id', { id: node.id });
  }

  /** Moves one cloud's network of a cluster to `to`. @returns whether it moved. */
  async moveNetwork(scope: OrgScope, clusterId: string, cloud: CloudId, to: NetworkPhase, opts: TransitionOptions<NetworkPhase, ClusterNetworkEntity> = {}): Promise<boolean> {
    return this.move(ClusterNetworkEntity, NETWORK_TRANSITIONS, to, opts, scope, clusterId, '"clusterId" = :clusterId AND "cloud" = :cloud', { clusterId, cloud });
  }

  /**
   * Moves a cluster to `to`. A move to `Deleted` also purges the cluster's secrets (purgeClusterSecrets) with the same
   * entity manager: call it inside a transaction (the reconciler does) so both commit together.
   * @returns whether it moved.
   */
  async moveCluster(scope: OrgScope, clusterId: string, to: ClusterPhase, opts: TransitionOptions<ClusterPhase, ClusterEntity> = {}): Promise<boolean> {
    const moved = await this.move(ClusterEntity, CLUSTER_TRANSITIONS, to, opts, scope, clusterId, '"id" = :clusterId', { clusterId });
    if (moved && to === 'Deleted') await this.purgeClusterSecrets(scope, clusterId);
    return moved;
  }

  /**
   * Forgets every secret of a deleted cluster (issue 10, finding 5: a secret is kept only while something needs it):
   * the sealed CA key, admin key and control-plane PKI (private keys, kubeadm bootstrap token, certificate key) on the
   * cluster row, and on its nodes the sealed bootstrap tokens and the hashes of bootstrap and node tokens (no agent of
   * a deleted cluster can call back). Public certificates stay (the record of what was issued).
   * The same statements purge clusters already Deleted in migration PurgeDeletedSecrets1764150000000.
   */
  async purgeClusterSecrets(scope: OrgScope, clusterId: string): Promise<void> {
    await this.em.query(
      `UPDATE "clusters" SET ${PURGED_CLUSTER_SECRETS} WHERE "organisationId" = $1 AND "id" = $2`, [scope.organisationId, clusterId],
    );
    await this.em.query(
      `UPDATE "nodes" SET ${PURGED_NODE_SECRETS} WHERE "organisationId" = $1 AND "clusterId" = $2`, [scope.organisationId, clusterId],
    );
  }

  private async move<P extends string, E extends ObjectLiteral>(
    entity: new () => E, table: TransitionTable<P>, to: P, opts: TransitionOptions<P, E>, scope: OrgScope, clusterId: string,
    where: string, params: Record<string, unknown>,
  ): Promise<boolean> {
    const allowed = sourcesOf(table, to);
    const from = opts.from ?? allowed;
    const forbidden = from.filter((p) => !allowed.includes(p));
    if (forbidden.length) throw new Error(`${entity.name}: ${forbidden.join(', ')} → ${to} is not an allowed transition`);
    if (from.length === 0) return false;
    const qb = this.em.createQueryBuilder().update(entity)
      .set({ ...(opts.set ?? {}), phase: to } as unknown as QueryDeepPartialEntity<E>)
      .where(`"organisationId" = :organisationId AND ${where}`, { ...params, organisationId: scope.organisationId })
      .andWhere(`"phase" IN (${sqlList(from)})`);
    if (opts.version !== undefined) qb.andWhere('"version" = :version', { version: opts.version });
    const res = await qb.execute();
    const moved = (res.affected ?? 0) > 0;
    if (moved && opts.event) await recordEvent(this.em, { organisationId: scope.organisationId, clusterId, ...opts.event });
    return moved;
  }

  /**
   * Patches a cluster's conditions by type under the row lock (`SELECT … FOR NO KEY UPDATE`, see ROW_LOCK, then UPDATE), touching only
   * the types `writer` owns (CONDITION_OWNERS in libs/domain). @returns the conditions after the patch, or undefined
   * when the cluster does not exist. @throws Error for a type the writer does not own.
   */
  async patchClusterConditions(
    scope: OrgScope, clusterId: string, writer: ConditionWriter,
    patch: { set?: readonly Omit<Condition, 'lastTransitionTime'>[]; remove?: readonly string[] }, now: Date = new Date(),
  ): Promise<Condition[] | undefined> {
    const rows = (await this.em.query(
      `SELECT "conditions" FROM "clusters" WHERE "organisationId" = $1 AND "id" = $2 FOR NO KEY UPDATE`, [scope.organisationId, clusterId],
    )) as { conditions: Condition[] }[];
    if (rows.length === 0) return undefined;
    const before = rows[0].conditions;
    const after = patchConditions(before, writer, patch, now);
    if (JSON.stringify(after) !== JSON.stringify(before)) {
      await this.em.query(`UPDATE "clusters" SET "conditions" = $3::jsonb, "updatedAt" = now() WHERE "organisationId" = $1 AND "id" = $2`, [scope.organisationId, clusterId, JSON.stringify(after)]);
    }
    return after;
  }

  /**
   * After an organisation's credentials for `cloud` were added or replaced: every node and network of its clusters on
   * that cloud waiting out a credentials refusal is due again now (backoff and dispatch cleared; the waiting reason
   * stays until a cloud call succeeds), and Ready clusters whose full reconcile failed on them are reconciled again now.
   * @returns the ids of the clusters concerned (the caller enqueues `cluster.changed` for each).
   */
  async wakeCredentialWaiters(scope: OrgScope, cloud: CloudId): Promise<string[]> {
    const reasons = [WaitingReason.InvalidCredentials, WaitingReason.MissingCredentials];
    const nodes = (await this.em.query(
      `UPDATE "nodes" SET "retryAt" = NULL, "dispatchedAt" = NULL WHERE "organisationId" = $1 AND "cloud" = $2 AND "waitingReason" = ANY($3) RETURNING "clusterId"`,
      [scope.organisationId, cloud, reasons],
    )) as [{ clusterId: string }[], number];
    const networks = (await this.em.query(
      `UPDATE "cluster_networks" SET "retryAt" = NULL, "dispatchedAt" = NULL WHERE "organisationId" = $1 AND "cloud" = $2 AND "waitingReason" = ANY($3) RETURNING "clusterId", "phase"`,
      [scope.organisationId, cloud, reasons],
    )) as [{ clusterId: string; phase: NetworkPhase }[], number];
    const fullReconcile = [...new Set(networks[0].filter((n) => n.phase === 'Ready').map((n) => n.clusterId))];
    if (fullReconcile.length) {
      await this.em.query(
        `UPDATE "clusters" SET "nextReconcileAt" = now() WHERE "organisationId" = $1 AND "id" = ANY($2::uuid[]) AND "phase" = 'Ready'`,
        [scope.organisationId, fullReconcile],
      );
    }
    return [...new Set([...nodes[0], ...networks[0]].map((r) => r.clusterId))];
  }
}

/**
 * The re-drive's query: ids of clusters for which `isUnsettled` (libs/domain) holds at the database's `now()`, written
 * from the same constants (active cluster phases, settled node / network phases, active and stopped operation states).
 * An integration test checks it against the predicate on the same rows.
 */
export function unsettledClustersSql(): string {
  return `SELECT c."id", c."organisationId" FROM "clusters" c WHERE c."phase" <> 'Deleted' AND (
    c."phase" IN (${sqlList(CLUSTER_ACTIVE_PHASES)}) OR c."deletionRequestedAt" IS NOT NULL
    OR EXISTS (SELECT 1 FROM "cluster_networks" w WHERE w."clusterId" = c.id AND w."phase" NOT IN (${sqlList(NETWORK_SETTLED_PHASES)})
               AND (w."retryAt" IS NULL OR w."retryAt" <= now()))
    OR EXISTS (SELECT 1 FROM "nodes" n WHERE n."clusterId" = c.id AND n."phase" NOT IN (${sqlList(NODE_SETTLED_PHASES)})
               AND (n."retryAt" IS NULL OR n."retryAt" <= now()))
    OR EXISTS (SELECT 1 FROM "nodes" n WHERE n."clusterId" = c.id AND n."removalRequestedAt" IS NOT NULL AND n."phase" <> 'Terminated'
               AND (n."retryAt" IS NULL OR n."retryAt" <= now()))
    OR EXISTS (SELECT 1 FROM "node_operations" o WHERE o."clusterId" = c.id AND o."state" IN (${sqlList(OPERATION_ACTIVE_STATES)}))
    OR (EXISTS (SELECT 1 FROM "nodes" n WHERE n."clusterId" = c.id AND n."phase" = 'Joined' AND n."removalRequestedAt" IS NULL
                AND n."kubernetesVersion" IS NOT NULL AND n."kubernetesVersion" <> c.spec->>'kubernetesVersion')
        AND NOT EXISTS (SELECT 1 FROM "node_operations" f WHERE f."clusterId" = c.id AND f."purpose" = 'upgrade'
                        AND f."kubernetesVersion" = c.spec->>'kubernetesVersion' AND f."state" IN (${sqlList(OPERATION_STOPPED_STATES)}))))`;
}
