import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One node lifecycle, no terminal `Failed` (issue 9):
 * - rows left `Failed` by earlier versions go back to the phase in which they are retried: a node to `Pending` (or
 *   `Terminating` when its cluster is being deleted or it was removed), a network to `Provisioning` (or `Deleting`), a
 *   cluster to `Provisioning` (or `Deleting`); their backoff is cleared, so the next try records the real reason;
 *   the retired `DeleteFailed` condition is dropped;
 * - phases are checked by the database (the domain's transition tables name no other phase);
 * - nodes: `instanceSeenAt`, when a cloud listing last showed the VM (proof it existed, for the full reconcile);
 * - cluster_reconciles: `undecided`, what a full reconcile could not decide yet.
 */
export class Lifecycle1764000000000 implements MigrationInterface {
  name = 'Lifecycle1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE "nodes" n SET "phase" = CASE WHEN c."deletionRequestedAt" IS NOT NULL OR n."removalRequestedAt" IS NOT NULL THEN 'Terminating' ELSE 'Pending' END,
      "retryAt" = NULL, "attempts" = 0, "waitingReason" = NULL, "dispatchedAt" = NULL, "launchToken" = NULL, "bootstrapTokenSealed" = NULL
      FROM "clusters" c WHERE c."id" = n."clusterId" AND n."phase" = 'Failed'`);
    await q.query(`UPDATE "cluster_networks" w SET "phase" = CASE WHEN c."deletionRequestedAt" IS NOT NULL THEN 'Deleting' ELSE 'Provisioning' END,
      "retryAt" = NULL, "attempts" = 0, "waitingReason" = NULL, "dispatchedAt" = NULL
      FROM "clusters" c WHERE c."id" = w."clusterId" AND w."phase" = 'Failed'`);
    await q.query(`UPDATE "clusters" SET "phase" = CASE WHEN "deletionRequestedAt" IS NOT NULL THEN 'Deleting' ELSE 'Provisioning' END WHERE "phase" = 'Failed'`);
    await q.query(`UPDATE "clusters" SET "conditions" = COALESCE((SELECT jsonb_agg(x) FROM jsonb_array_elements("conditions") x WHERE x->>'type' <> 'DeleteFailed'), '[]'::jsonb)
      WHERE "conditions" @> '[{"type": "DeleteFailed"}]'`);
    await q.query(`ALTER TABLE "clusters" ADD CONSTRAINT "clusters_phase" CHECK ("phase" IN ('Pending', 'Provisioning', 'Ready', 'Deleting', 'Deleted'))`);
    await q.query(`ALTER TABLE "cluster_networks" ADD CONSTRAINT "cluster_networks_phase" CHECK ("phase" IN ('Pending', 'Provisioning', 'Ready', 'Deleting', 'Deleted'))`);
    await q.query(`ALTER TABLE "nodes" ADD CONSTRAINT "nodes_phase"
      CHECK ("phase" IN ('Pending', 'Launching', 'Booting', 'Registered', 'Joining', 'Joined', 'Terminating', 'Terminated'))`);
    await q.query(`ALTER TABLE "nodes" ADD COLUMN "instanceSeenAt" timestamptz`);
    await q.query(`ALTER TABLE "cluster_reconciles" ADD COLUMN "undecided" jsonb NOT NULL DEFAULT '[]'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "cluster_reconciles" DROP COLUMN "undecided"`);
    await q.query(`ALTER TABLE "nodes" DROP COLUMN "instanceSeenAt"`);
    await q.query(`ALTER TABLE "nodes" DROP CONSTRAINT "nodes_phase"`);
    await q.query(`ALTER TABLE "cluster_networks" DROP CONSTRAINT "cluster_networks_phase"`);
    await q.query(`ALTER TABLE "clusters" DROP CONSTRAINT "clusters_phase"`);
  }
}
