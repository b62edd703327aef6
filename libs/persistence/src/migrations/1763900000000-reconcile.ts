import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keeping clusters in their declared state (issue 3):
 * - clusters: when the next full reconcile is due, and the reconcile lease (holder, expiry) that keeps two replicas
 *   from reconciling one cluster at once and makes user changes wait (409 `cluster-reconciling`);
 * - cluster_reconciles: one row per full reconcile (who, when, what it found, what it changed);
 * - nodes: the idempotency token and sealed bootstrap token of the launch under way (a re-entered launch sends the
 *   same request again), the backoff of quota and capacity failures, the Kubernetes version the node runs;
 * - cluster_networks: the same backoff;
 * - node_operations: drains, upgrades and uncordons asked of agents;
 * - leak_candidates: resources tagged for clusters that do not exist, and since when they were seen.
 */
export class Reconcile1763900000000 implements MigrationInterface {
  name = 'Reconcile1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "clusters" ADD COLUMN "nextReconcileAt" timestamptz, ADD COLUMN "lastReconciledAt" timestamptz,
      ADD COLUMN "reconcileLeaseHolder" text, ADD COLUMN "reconcileLeaseExpiresAt" timestamptz`);
    await q.query(`CREATE INDEX "clusters_next_reconcile" ON "clusters" ("nextReconcileAt") WHERE "phase" = 'Ready'`);
    await q.query(`CREATE TABLE "cluster_reconciles" (
      "id" bigserial PRIMARY KEY, "organisationId" uuid NOT NULL, "clusterId" uuid NOT NULL, "replica" text NOT NULL,
      "trigger" text NOT NULL, "startedAt" timestamptz NOT NULL, "finishedAt" timestamptz,
      "found" jsonb NOT NULL DEFAULT '[]', "changed" jsonb NOT NULL DEFAULT '[]', "error" text)`);
    await q.query(`CREATE INDEX "cluster_reconciles_cluster" ON "cluster_reconciles" ("clusterId", "id")`);
    await q.query(`ALTER TABLE "nodes" ADD COLUMN "launchToken" uuid, ADD COLUMN "launchStartedAt" timestamptz, ADD COLUMN "bootstrapTokenSealed" text,
      ADD COLUMN "retryAt" timestamptz, ADD COLUMN "attempts" int NOT NULL DEFAULT 0, ADD COLUMN "waitingReason" text,
      ADD COLUMN "kubernetesVersion" text`);
    await q.query(`UPDATE "nodes" n SET "kubernetesVersion" = c."spec"->>'kubernetesVersion' FROM "clusters" c WHERE c."id" = n."clusterId"`);
    await q.query(`UPDATE "clusters" SET "nextReconcileAt" = now() + interval '1 hour' * random() WHERE "phase" = 'Ready'`);
    await q.query(`ALTER TABLE "cluster_networks" ADD COLUMN "retryAt" timestamptz, ADD COLUMN "attempts" int NOT NULL DEFAULT 0, ADD COLUMN "waitingReason" text`);
    await q.query(`CREATE TABLE "node_operations" (
      "id" uuid PRIMARY KEY, "organisationId" uuid NOT NULL, "clusterId" uuid NOT NULL,
      "executorNodeId" uuid NOT NULL, "targetNodeId" uuid NOT NULL, "kind" text NOT NULL, "purpose" text NOT NULL,
      "kubernetesVersion" text, "upgradeControlPlane" boolean NOT NULL DEFAULT false, "timeoutSeconds" int NOT NULL,
      "state" text NOT NULL, "message" text, "createdAt" timestamptz NOT NULL DEFAULT now(), "deadlineAt" timestamptz NOT NULL,
      "finishedAt" timestamptz)`);
    await q.query(`CREATE INDEX "node_operations_cluster" ON "node_operations" ("clusterId", "createdAt")`);
    await q.query(`CREATE INDEX "node_operations_executor_active" ON "node_operations" ("executorNodeId") WHERE "state" IN ('Pending', 'Running')`);
    await q.query(`CREATE TABLE "leak_candidates" (
      "organisationId" uuid NOT NULL, "cloud" text NOT NULL, "region" text NOT NULL, "clusterId" uuid NOT NULL,
      "firstSeenAt" timestamptz NOT NULL, "lastSeenAt" timestamptz NOT NULL, "resources" jsonb NOT NULL DEFAULT '[]',
      PRIMARY KEY ("organisationId", "cloud", "region", "clusterId"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "leak_candidates"`);
    await q.query(`DROP TABLE "node_operations"`);
    await q.query(`ALTER TABLE "cluster_networks" DROP COLUMN "retryAt", DROP COLUMN "attempts", DROP COLUMN "waitingReason"`);
    await q.query(`ALTER TABLE "nodes" DROP COLUMN "launchToken", DROP COLUMN "launchStartedAt", DROP COLUMN "bootstrapTokenSealed",
      DROP COLUMN "retryAt", DROP COLUMN "attempts", DROP COLUMN "waitingReason", DROP COLUMN "kubernetesVersion"`);
    await q.query(`DROP TABLE "cluster_reconciles"`);
    await q.query(`DROP INDEX "clusters_next_reconcile"`);
    await q.query(`ALTER TABLE "clusters" DROP COLUMN "nextReconcileAt", DROP COLUMN "lastReconciledAt", DROP COLUMN "reconcileLeaseHolder", DROP COLUMN "reconcileLeaseExpiresAt"`);
  }
}
