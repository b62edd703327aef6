import type { EntityManager } from 'typeorm';
import type { AutoscalingPolicy } from '@skyweave/domain';
import type { AutoscalerStatusEntity } from '../entities/entities';
import { BaseRepository, OrgScope } from './scope';

/** A cluster's stored policy: its version (1, 2, 3 …), the policy, when it was stored. */
export interface StoredAutoscalingPolicy { version: number; policy: AutoscalingPolicy; updatedAt: Date }

/** What the autoscaler reports about one cluster (a row of `autoscaler_status`, without its keys). */
export type AutoscalerStatus = Omit<AutoscalerStatusEntity, 'clusterId' | 'organisationId'>;

/** The columns `upsertStatus` may write; `updatedAt` defaults to now(). */
export type AutoscalerStatusUpdate = Partial<AutoscalerStatus>;

/** The jsonb columns of `autoscaler_status`, in table order. */
const STATUS_JSON_COLUMNS = ['pendingPods', 'inFlight', 'lastDecision', 'costByCloud', 'prices'] as const;

/**
 * The autoscaler's tables (migration Autoscaling1764500000000): `autoscaling_policies` (written by the gateway,
 * read by both) and `autoscaler_status` (written by apps/autoscaler, read by the gateway). Every method is scoped by
 * the organisation: another organisation's cluster has no policy or status here, and nothing is written for it.
 */
export class AutoscalingRepository extends BaseRepository {
  /** The organisation's cluster's stored policy, or null when none was ever stored (the defaults at version 0 apply). */
  async getPolicy(scope: OrgScope, clusterId: string, em?: EntityManager): Promise<StoredAutoscalingPolicy | null> {
    const rows = (await this.m(em).query(`SELECT "version", "policy", "updatedAt" FROM "autoscaling_policies" WHERE "clusterId" = $1 AND "organisationId" = $2`,
      [clusterId, scope.organisationId])) as StoredAutoscalingPolicy[];
    return rows[0] ?? null;
  }

  /**
   * Stores `policy` as version `version` of the organisation's cluster, replacing the one before (version - 1; none for
   * version 1). Call it inside the caller's transaction holding the cluster row's lock (ClustersRepository.findForUpdate),
   * after reading the current version: the guard below makes a writer that skipped the lock fail, not overwrite.
   * @returns false, writing nothing, when the stored version is not `version - 1` (or the cluster is not the organisation's).
   */
  async putPolicy(scope: OrgScope, clusterId: string, version: number, policy: AutoscalingPolicy, em?: EntityManager): Promise<boolean> {
    const r = (await this.m(em).query(`INSERT INTO "autoscaling_policies" ("clusterId", "organisationId", "version", "policy", "updatedAt")
        SELECT c."id", c."organisationId", $3, $4::jsonb, now() FROM "clusters" c WHERE c."id" = $1 AND c."organisationId" = $2
      ON CONFLICT ("clusterId") DO UPDATE SET "version" = EXCLUDED."version", "policy" = EXCLUDED."policy", "updatedAt" = EXCLUDED."updatedAt"
        WHERE "autoscaling_policies"."organisationId" = EXCLUDED."organisationId" AND "autoscaling_policies"."version" = EXCLUDED."version" - 1
      RETURNING "version"`, [clusterId, scope.organisationId, version, JSON.stringify(policy)])) as unknown[];
    return r.length === 1;
  }

  /** What the autoscaler last reported about the organisation's cluster, or null before its first report. */
  async getStatus(scope: OrgScope, clusterId: string, em?: EntityManager): Promise<AutoscalerStatus | null> {
    const rows = (await this.m(em).query(`SELECT "pendingPods", "inFlight", "lastDecision", "costByCloud", "prices", "updatedAt"
      FROM "autoscaler_status" WHERE "clusterId" = $1 AND "organisationId" = $2`, [clusterId, scope.organisationId])) as AutoscalerStatus[];
    return rows[0] ?? null;
  }

  /**
   * Writes the given columns of the organisation's cluster's status in ONE statement (`INSERT … ON CONFLICT DO
   * UPDATE`): a first report creates the row (columns not given take their defaults: `[]`, `{}`, null), later ones
   * change only the columns given. `updatedAt` is `status.updatedAt` or now(). Values are stored as given (JSON).
   * @returns false, writing nothing, when the cluster is not the organisation's (or does not exist).
   */
  async upsertStatus(scope: OrgScope, clusterId: string, status: AutoscalerStatusUpdate, em?: EntityManager): Promise<boolean> {
    const given = STATUS_JSON_COLUMNS.filter((c) => status[c] !== undefined);
    const params: unknown[] = [clusterId, scope.organisationId, status.updatedAt ?? new Date()];
    const cols = given.map((c) => {
      params.push(status[c] === null ? null : JSON.stringify(status[c]));
      return { name: `"${c}"`, value: `$${params.length}::jsonb` };
    });
    const r = (await this.m(em).query(`INSERT INTO "autoscaler_status" ("clusterId", "organisationId", "updatedAt"${cols.map((c) => `, ${c.name}`).join('')})
        SELECT c."id", c."organisationId", $3${cols.map((c) => `, ${c.value}`).join('')} FROM "clusters" c WHERE c."id" = $1 AND c."organisationId" = $2
      ON CONFLICT ("clusterId") DO UPDATE SET "updatedAt" = EXCLUDED."updatedAt"${cols.map((c) => `, ${c.name} = EXCLUDED.${c.name}`).join('')}
        WHERE "autoscaler_status"."organisationId" = EXCLUDED."organisationId"
      RETURNING "clusterId"`, params)) as unknown[];
    return r.length === 1;
  }
}
