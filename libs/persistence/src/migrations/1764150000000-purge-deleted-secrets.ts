import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 10, finding 5: clusters in phase `Deleted` still held their sealed CA, admin and PKI keys (and their nodes
 * sealed bootstrap tokens and token hashes). From now on the move to `Deleted` purges them in the same transaction
 * (`LifecycleRepository.purgeClusterSecrets`); this purges those of clusters deleted before. Public certificates stay.
 * Not reversible: `down` restores nothing (the secrets are gone, as intended).
 */
export class PurgeDeletedSecrets1764150000000 implements MigrationInterface {
  name = 'PurgeDeletedSecrets1764150000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE "clusters" SET "caKeySealed" = NULL, "adminKeySealed" = NULL, "pkiSealed" = NULL
      WHERE "phase" = 'Deleted' AND ("caKeySealed" IS NOT NULL OR "adminKeySealed" IS NOT NULL OR "pkiSealed" IS NOT NULL)`);
    await q.query(`UPDATE "nodes" n SET "bootstrapTokenSealed" = NULL, "bootstrapTokenHash" = NULL, "agentTokenHash" = NULL
      FROM "clusters" c WHERE c."id" = n."clusterId" AND c."phase" = 'Deleted'
        AND (n."bootstrapTokenSealed" IS NOT NULL OR n."bootstrapTokenHash" IS NOT NULL OR n."agentTokenHash" IS NOT NULL)`);
  }

  async down(): Promise<void> {
    // nothing to restore
  }
}
