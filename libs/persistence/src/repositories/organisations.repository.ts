import type { EntityManager } from 'typeorm';
import { BaseRepository, OrgScope } from './scope';

/** An organisation's quotas: null = the gateway's default. */
export interface OrganisationQuotas { maxClusters: number | null; maxNodes: number | null }

/** The `organisations` table and what an organisation holds. Org-scoped: only the scope's own organisation. */
export class OrganisationsRepository extends BaseRepository {
  /**
   * The organisation's quotas, taking its row lock (`FOR NO KEY UPDATE`: creates and scale-ups of one organisation
   * run one at a time, foreign-key checks of other writers are not blocked) for the rest of `em`'s transaction.
   * Lock order: after the cluster row, never before it. @returns undefined when the organisation does not exist.
   */
  async lockQuotas(scope: OrgScope, em: EntityManager): Promise<OrganisationQuotas | undefined> {
    const [org] = await em.query<OrganisationQuotas[]>(`SELECT "maxClusters", "maxNodes" FROM "organisations" WHERE "id" = $1 FOR NO KEY UPDATE`, [scope.organisationId]);
    return org;
  }

  /** What the organisation holds against its quotas: clusters not Deleted and nodes not Terminated. */
  async usage(scope: OrgScope, em?: EntityManager): Promise<{ clusters: number; nodes: number }> {
    const [use] = await this.m(em).query<{ clusters: number; nodes: number }[]>(
      `SELECT (SELECT count(*)::int FROM "clusters" WHERE "organisationId" = $1 AND "phase" <> 'Deleted') AS "clusters",
              (SELECT count(*)::int FROM "nodes" WHERE "organisationId" = $1 AND "phase" <> 'Terminated') AS "nodes"`, [scope.organisationId]);
    return use;
  }
}

/** One round trip to PostgreSQL (`SELECT 1`), for health checks. @throws the driver's error when it is unreachable. */
export async function pingDatabase(ds: { query: (sql: string) => Promise<unknown> }): Promise<void> {
  await ds.query('SELECT 1');
}
