import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Wakes the outbox relays when a message is written (read by `ChangeFeed`'s `outbox` channel; the relay is
 * `startOutboxRelay` in libs/messaging). Before, every service's relay polled the `outbox` table every 50 ms: about
 * 80 transactions per second for an idle installation of four services, and 25 ms on average added to every hop of a
 * cluster's provisioning (API → reconciler → network-provisioner → reconciler → node-provisioner …).
 *
 * A statement-level trigger: one notification per inserting statement, delivered only when the writing transaction
 * commits (so the relay never wakes before the row is visible), and identical notifications of one transaction are
 * delivered once. Payload `new` (the relay reads every unpublished row anyway).
 */
export class OutboxNotify1764230000000 implements MigrationInterface {
  name = 'OutboxNotify1764230000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE FUNCTION "skyweave_notify_outbox"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('skyweave_outbox', 'new');
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER "outbox_notify_insert" AFTER INSERT ON "outbox" FOR EACH STATEMENT EXECUTE FUNCTION "skyweave_notify_outbox"()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER "outbox_notify_insert" ON "outbox"`);
    await q.query(`DROP FUNCTION "skyweave_notify_outbox"()`);
  }
}
