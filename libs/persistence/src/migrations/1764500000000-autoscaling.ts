import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 13, items 2 and 6: the autoscaler's policy and status, and who made each node.
 * - `autoscaling_policies`: one row per cluster that ever had a policy stored (PUT /v1/clusters/{id}/policies): the
 *   whole policy (jsonb) and its version (1, 2, 3 …). No row: the defaults at version 0.
 * - `autoscaler_status`: what apps/autoscaler last reported about a cluster (pending pods, nodes launched and not yet
 *   joined, its last decision, cost and prices by cloud); read by GET /v1/clusters/{id}/autoscaler.
 * - `nodes.origin`: `spec` (made with the cluster), `user` (POST /v1/clusters/{id}/nodes) or `autoscaler`. Existing
 *   rows: masters, and workers inserted in the cluster's own creating transaction (same `createdAt` as the cluster:
 *   `now()` is the transaction's start), are `spec`; every other worker `user`, the column's default.
 */
export class Autoscaling1764500000000 implements MigrationInterface {
  name = 'Autoscaling1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "autoscaling_policies" (
      "clusterId" uuid PRIMARY KEY REFERENCES "clusters"("id") ON DELETE CASCADE,
      "organisationId" uuid NOT NULL,
      "version" integer NOT NULL CHECK ("version" >= 1),
      "policy" jsonb NOT NULL,
      "updatedAt" timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE TABLE "autoscaler_status" (
      "clusterId" uuid PRIMARY KEY REFERENCES "clusters"("id") ON DELETE CASCADE,
      "organisationId" uuid NOT NULL,
      "pendingPods" jsonb NOT NULL DEFAULT '[]',
      "inFlight" jsonb NOT NULL DEFAULT '[]',
      "lastDecision" jsonb NULL,
      "costByCloud" jsonb NOT NULL DEFAULT '{}',
      "prices" jsonb NOT NULL DEFAULT '{}',
      "updatedAt" timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`ALTER TABLE "nodes" ADD COLUMN "origin" text NOT NULL DEFAULT 'user'
      CONSTRAINT "nodes_origin_check" CHECK ("origin" IN ('spec', 'user', 'autoscaler'))`);
    await q.query(`UPDATE "nodes" n SET "origin" = 'spec' FROM "clusters" c
      WHERE c."id" = n."clusterId" AND (n."role" = 'master' OR n."createdAt" = c."createdAt")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "nodes" DROP COLUMN "origin"`);
    await q.query(`DROP TABLE "autoscaler_status"`);
    await q.query(`DROP TABLE "autoscaling_policies"`);
  }
}
