import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 11, item 3 (last clause): agent upgrades roll out like node upgrades.
 * - `nodes.agentVersion`: the node-agent version the node's agent runs (`0.1.0-1a2b3c4d5e6f`), as the agent last sent
 *   it (`Skyweave-Agent-Version` header); null until it does.
 * - `node_operations.agentPackage`: for `upgrade-agent`, the bundle to install (`{ version, url, sha256, bytes }`).
 * - `node_operations.kind` gains `upgrade-agent` and `purpose` gains `agent-upgrade` (text columns: no DDL).
 */
export class AgentVersions1764800000000 implements MigrationInterface {
  name = 'AgentVersions1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "nodes" ADD COLUMN "agentVersion" text NULL`);
    await q.query(`ALTER TABLE "node_operations" ADD COLUMN "agentPackage" jsonb NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM "node_operations" WHERE "kind" = 'upgrade-agent'`);
    await q.query(`ALTER TABLE "node_operations" DROP COLUMN "agentPackage"`);
    await q.query(`ALTER TABLE "nodes" DROP COLUMN "agentVersion"`);
  }
}
