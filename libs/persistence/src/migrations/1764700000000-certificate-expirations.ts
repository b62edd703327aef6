import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 11, item 4: certificates renewed before they expire.
 * - `nodes.certificateExpirations`: a master's kubeadm certificates and when each expires, as its agent last reported
 *   them (`kubeadm certs check-expiration`: `[{ "name": "apiserver", "expiresAt": "2027-…Z" }, …]`); null until it
 *   reports. The reconciler renews a master's certificates when one of them is close to expiry.
 * - `node_operations.kind` gains `renew-certificates` and `purpose` gains `certificates` (text columns: no DDL).
 */
export class CertificateExpirations1764700000000 implements MigrationInterface {
  name = 'CertificateExpirations1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "nodes" ADD COLUMN "certificateExpirations" jsonb NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM "node_operations" WHERE "kind" = 'renew-certificates'`);
    await q.query(`ALTER TABLE "nodes" DROP COLUMN "certificateExpirations"`);
  }
}
