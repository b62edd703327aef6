import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The initial schema. Written by hand: services never `synchronize`. */
export class Initial1763700000000 implements MigrationInterface {
  name = 'Initial1763700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "organisations" ("id" uuid PRIMARY KEY, "name" text NOT NULL, "createdAt" timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE TABLE "api_keys" ("id" uuid PRIMARY KEY, "organisationId" uuid NOT NULL REFERENCES "organisations"("id") ON DELETE CASCADE, "name" text NOT NULL, "secretHash" text NOT NULL, "createdAt" timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE UNIQUE INDEX "api_keys_secret_hash" ON "api_keys" ("secretHash")`);
    await q.query(`CREATE TABLE "cloud_credentials" ("id" uuid PRIMARY KEY, "organisationId" uuid NOT NULL REFERENCES "organisations"("id") ON DELETE CASCADE, "cloud" text NOT NULL, "name" text NOT NULL, "identity" text NOT NULL, "ciphertext" text NOT NULL, "createdAt" timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE UNIQUE INDEX "cloud_credentials_org_cloud" ON "cloud_credentials" ("organisationId", "cloud")`);
    await q.query(`CREATE TABLE "clusters" ("id" uuid PRIMARY KEY, "organisationId" uuid NOT NULL REFERENCES "organisations"("id"), "name" text NOT NULL, "spec" jsonb NOT NULL, "phase" text NOT NULL, "conditions" jsonb NOT NULL DEFAULT '[]', "deletionRequestedAt" timestamptz, "caCertificate" text, "caKeySealed" text, "adminCertificate" text, "adminKeySealed" text, "version" integer NOT NULL, "createdAt" timestamptz NOT NULL DEFAULT now(), "updatedAt" timestamptz NOT NULL DEFAULT now())`);
    // A name is unique among an organisation's clusters that are not yet deleted.
    await q.query(`CREATE UNIQUE INDEX "clusters_org_name_live" ON "clusters" ("organisationId", "name") WHERE "phase" <> 'Deleted'`);
    await q.query(`CREATE INDEX "clusters_phase" ON "clusters" ("phase")`);
    await q.query(`CREATE TABLE "cluster_networks" ("id" uuid PRIMARY KEY, "organisationId" uuid NOT NULL, "clusterId" uuid NOT NULL REFERENCES "clusters"("id"), "cloud" text NOT NULL, "phase" text NOT NULL, "status" jsonb, "message" text, "dispatchedAt" timestamptz, "version" integer NOT NULL, "updatedAt" timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE UNIQUE INDEX "cluster_networks_cluster_cloud" ON "cluster_networks" ("clusterId", "cloud")`);
    await q.query(`CREATE TABLE "nodes" ("id" uuid PRIMARY KEY, "organisationId" uuid NOT NULL, "clusterId" uuid NOT NULL REFERENCES "clusters"("id"), "cloud" text NOT NULL, "role" text NOT NULL, "ordinal" integer NOT NULL, "name" text NOT NULL, "instanceType" text NOT NULL, "phase" text NOT NULL, "instanceId" text, "privateIp" text, "publicIp" text, "bootstrapTokenHash" text, "bootstrapTokenExpiresAt" timestamptz, "bootstrapTokenUsedAt" timestamptz, "agentTokenHash" text, "wireguardPublicKey" text, "message" text, "dispatchedAt" timestamptz, "joinedAt" timestamptz, "version" integer NOT NULL, "createdAt" timestamptz NOT NULL DEFAULT now(), "updatedAt" timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE UNIQUE INDEX "nodes_cluster_name" ON "nodes" ("clusterId", "name")`);
    await q.query(`CREATE TABLE "cluster_events" ("id" bigserial PRIMARY KEY, "organisationId" uuid NOT NULL, "clusterId" uuid NOT NULL REFERENCES "clusters"("id"), "type" text NOT NULL, "reason" text NOT NULL, "message" text NOT NULL, "object" text, "createdAt" timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE INDEX "cluster_events_cluster" ON "cluster_events" ("clusterId", "id")`);
    await q.query(`CREATE TABLE "outbox" ("id" bigserial PRIMARY KEY, "subject" text NOT NULL, "payload" jsonb NOT NULL, "createdAt" timestamptz NOT NULL DEFAULT now(), "publishedAt" timestamptz)`);
    await q.query(`CREATE INDEX "outbox_unpublished" ON "outbox" ("id") WHERE "publishedAt" IS NULL`);
    await q.query(`CREATE TABLE "idempotency_keys" ("organisationId" uuid NOT NULL, "key" text NOT NULL, "requestFingerprint" text NOT NULL, "status" integer NOT NULL, "body" jsonb NOT NULL, "createdAt" timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ("organisationId", "key"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['idempotency_keys', 'outbox', 'cluster_events', 'nodes', 'cluster_networks', 'clusters', 'cloud_credentials', 'api_keys', 'organisations']) {
      await q.query(`DROP TABLE IF EXISTS "${t}"`);
    }
  }
}
