import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 14: console users, their organisations and roles.
 * - `users`: one person. `email` is stored lower-case and unique; `passwordHash` is a scrypt hash
 *   (`scrypt$N$r$p$<salt b64>$<hash b64>`, local accounts only, null otherwise); `oidcIssuer` + `oidcSubject` (the
 *   provider's `iss` and `sub`) are unique together, null for local-only users.
 * - `memberships`: a user's role in an organisation (`owner` | `member` | `viewer`), one row per pair.
 * - `invitations`: an owner's invitation of an email address with a role; only the SHA-256 of its token is stored;
 *   `expiresAt`, and `acceptedAt`/`acceptedBy` once used (an invitation is used once).
 * - `sessions`: a signed-in browser. Only the SHA-256 of the cookie's random id is stored (`tokenHash`), and the
 *   SHA-256 of its CSRF token (`csrfHash`); `organisationId` is the organisation the session acts for (null until
 *   chosen); rows past `expiresAt` are refused and swept.
 * - `api_keys.role`: what a key may do, as a member's role; existing keys are `owner` (they could do everything).
 * - `cluster_events` inserts notify `skyweave_cluster_events` with the cluster id (ChangeFeed channel
 *   `clusterEvents`): the events stream (`GET /v1/clusters/{id}/events/stream`) wakes on commit instead of polling.
 */
export class Identity1764900000000 implements MigrationInterface {
  name = 'Identity1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "users" ("id" uuid PRIMARY KEY, "email" text NOT NULL, "passwordHash" text, "oidcIssuer" text, "oidcSubject" text,
      "createdAt" timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT "users_email_lower" CHECK ("email" = lower("email")),
      CONSTRAINT "users_oidc_pair" CHECK (("oidcIssuer" IS NULL) = ("oidcSubject" IS NULL)))`);
    await q.query(`CREATE UNIQUE INDEX "users_email" ON "users" ("email")`);
    await q.query(`CREATE UNIQUE INDEX "users_oidc" ON "users" ("oidcIssuer", "oidcSubject") WHERE "oidcIssuer" IS NOT NULL`);
    await q.query(`CREATE TABLE "memberships" ("userId" uuid NOT NULL REFERENCES "users"("id") ON DELETE CASCADE,
      "organisationId" uuid NOT NULL REFERENCES "organisations"("id") ON DELETE CASCADE, "role" text NOT NULL,
      "createdAt" timestamptz NOT NULL DEFAULT now(), PRIMARY KEY ("userId", "organisationId"),
      CONSTRAINT "memberships_role" CHECK ("role" IN ('owner', 'member', 'viewer')))`);
    await q.query(`CREATE INDEX "memberships_organisation" ON "memberships" ("organisationId")`);
    await q.query(`CREATE TABLE "invitations" ("id" uuid PRIMARY KEY, "organisationId" uuid NOT NULL REFERENCES "organisations"("id") ON DELETE CASCADE,
      "email" text NOT NULL, "role" text NOT NULL, "tokenHash" text NOT NULL, "expiresAt" timestamptz NOT NULL,
      "acceptedAt" timestamptz, "acceptedBy" uuid REFERENCES "users"("id") ON DELETE SET NULL, "createdBy" uuid REFERENCES "users"("id") ON DELETE SET NULL,
      "createdAt" timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT "invitations_role" CHECK ("role" IN ('owner', 'member', 'viewer')), CONSTRAINT "invitations_email_lower" CHECK ("email" = lower("email")))`);
    await q.query(`CREATE UNIQUE INDEX "invitations_token" ON "invitations" ("tokenHash")`);
    await q.query(`CREATE INDEX "invitations_organisation" ON "invitations" ("organisationId")`);
    await q.query(`CREATE TABLE "sessions" ("id" uuid PRIMARY KEY, "tokenHash" text NOT NULL, "csrfHash" text NOT NULL,
      "userId" uuid NOT NULL REFERENCES "users"("id") ON DELETE CASCADE, "organisationId" uuid REFERENCES "organisations"("id") ON DELETE SET NULL,
      "expiresAt" timestamptz NOT NULL, "createdAt" timestamptz NOT NULL DEFAULT now())`);
    await q.query(`CREATE UNIQUE INDEX "sessions_token" ON "sessions" ("tokenHash")`);
    await q.query(`CREATE INDEX "sessions_user" ON "sessions" ("userId")`);
    await q.query(`CREATE INDEX "sessions_expires" ON "sessions" ("expiresAt")`);
    await q.query(`ALTER TABLE "api_keys" ADD COLUMN "role" text NOT NULL DEFAULT 'owner' CONSTRAINT "api_keys_role" CHECK ("role" IN ('owner', 'member', 'viewer'))`);

    await q.query(`CREATE FUNCTION "skyweave_notify_cluster_event"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('skyweave_cluster_events', NEW."clusterId"::text);
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER "cluster_events_notify_insert" AFTER INSERT ON "cluster_events" FOR EACH ROW EXECUTE FUNCTION "skyweave_notify_cluster_event"()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER "cluster_events_notify_insert" ON "cluster_events"`);
    await q.query(`DROP FUNCTION "skyweave_notify_cluster_event"()`);
    await q.query(`ALTER TABLE "api_keys" DROP COLUMN "role"`);
    await q.query(`DROP TABLE "sessions"`);
    await q.query(`DROP TABLE "invitations"`);
    await q.query(`DROP TABLE "memberships"`);
    await q.query(`DROP TABLE "users"`);
  }
}
