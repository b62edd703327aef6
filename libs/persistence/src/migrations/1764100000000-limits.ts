import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Limits (issue 10, "besides the fixes"):
 * - `rate_limit_counters`: the api-gateway rate limits' shared counters, one row per limited subject (API key,
 *   organisation, node) and fixed window; `key` names both, `expiresAt` is the window's end (rows past it are deleted
 *   by the gateways). UNLOGGED: no WAL for counters that are worthless after a crash (PostgreSQL empties an unlogged
 *   table on crash recovery: at worst a window's counts restart).
 * - per-organisation quotas: `organisations.maxClusters` and `maxNodes`, NULL = the gateway's defaults
 *   (SKYWEAVE_QUOTA_CLUSTERS, SKYWEAVE_QUOTA_NODES).
 */
export class Limits1764100000000 implements MigrationInterface {
  name = 'Limits1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE UNLOGGED TABLE "rate_limit_counters" ("key" text PRIMARY KEY, "hits" integer NOT NULL, "expiresAt" timestamptz NOT NULL)`);
    await q.query(`CREATE INDEX "rate_limit_counters_expires" ON "rate_limit_counters" ("expiresAt")`);
    await q.query(`ALTER TABLE "organisations" ADD COLUMN "maxClusters" integer NULL CHECK ("maxClusters" >= 0), ADD COLUMN "maxNodes" integer NULL CHECK ("maxNodes" >= 0)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "organisations" DROP COLUMN "maxClusters", DROP COLUMN "maxNodes"`);
    await q.query(`DROP TABLE "rate_limit_counters"`);
  }
}
