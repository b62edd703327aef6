import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Registration retries (found by `npm run chaos`): the gateway could die between committing a node's registration and
 * answering it; the agent's retry then met "bootstrap token already used" and the node never joined. Agents now send
 * a secret registration id of their own with the bootstrap token; its SHA-256 is kept, so a retry by the same agent
 * (same token, same id) is answered again while the node has not asked to join, and nobody else's is.
 */
export class RegistrationRetry1764310000000 implements MigrationInterface {
  name = 'RegistrationRetry1764310000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "nodes" ADD COLUMN "registrationIdHash" text NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "nodes" DROP COLUMN "registrationIdHash"`);
  }
}
