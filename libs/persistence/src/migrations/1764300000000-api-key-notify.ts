import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tells api-gateway replicas when an API key stops being what they remember (read by `ChangeFeed`'s `apiKeys`
 * channel; the reader is ApiKeyGuard's cache of keys it found). Row triggers on DELETE and UPDATE notify with the
 * key's old `secretHash` (the digest the gateway caches by); TRUNCATE notifies `*` (every key). Delivered when the
 * writing transaction commits, never for a rolled-back one. Inserted keys need no notification (unknown keys are never
 * cached).
 */
export class ApiKeyNotify1764300000000 implements MigrationInterface {
  name = 'ApiKeyNotify1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE FUNCTION "skyweave_notify_api_key"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'TRUNCATE' THEN PERFORM pg_notify('skyweave_api_keys', '*');
        ELSE PERFORM pg_notify('skyweave_api_keys', OLD."secretHash");
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER "api_keys_notify_update_delete" AFTER UPDATE OR DELETE ON "api_keys" FOR EACH ROW EXECUTE FUNCTION "skyweave_notify_api_key"()`);
    await q.query(`CREATE TRIGGER "api_keys_notify_truncate" AFTER TRUNCATE ON "api_keys" FOR EACH STATEMENT EXECUTE FUNCTION "skyweave_notify_api_key"()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER "api_keys_notify_truncate" ON "api_keys"`);
    await q.query(`DROP TRIGGER "api_keys_notify_update_delete" ON "api_keys"`);
    await q.query(`DROP FUNCTION "skyweave_notify_api_key"()`);
  }
}
