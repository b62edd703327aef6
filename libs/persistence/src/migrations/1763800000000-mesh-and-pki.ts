import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Real node bootstrap and the WireGuard mesh: each node's overlay address, pod range, measured round trips to its
 * peers and removal request; each cluster's control-plane PKI beyond the CA (public parts, and the private parts
 * plus the kubeadm bootstrap token and certificate key sealed in one envelope).
 */
export class MeshAndPki1763800000000 implements MigrationInterface {
  name = 'MeshAndPki1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "nodes" ADD COLUMN "wireguardAddress" text, ADD COLUMN "podCidr" text, ADD COLUMN "peerLatencies" jsonb NOT NULL DEFAULT '{}', ADD COLUMN "removalRequestedAt" timestamptz`);
    await q.query(`CREATE UNIQUE INDEX "nodes_cluster_wireguard_address" ON "nodes" ("clusterId", "wireguardAddress") WHERE "wireguardAddress" IS NOT NULL AND "phase" <> 'Terminated'`);
    await q.query(`ALTER TABLE "clusters" ADD COLUMN "pki" jsonb, ADD COLUMN "pkiSealed" text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "clusters" DROP COLUMN "pki", DROP COLUMN "pkiSealed"`);
    await q.query(`DROP INDEX "nodes_cluster_wireguard_address"`);
    await q.query(`ALTER TABLE "nodes" DROP COLUMN "wireguardAddress", DROP COLUMN "podCidr", DROP COLUMN "peerLatencies", DROP COLUMN "removalRequestedAt"`);
  }
}
