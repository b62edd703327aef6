import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Change notifications for the agent long polls (issue 9 item 6; read by `ChangeFeed` in `../change-feed.ts`).
 *
 * Triggers, not writers, send them, so no writer (reconciler, node-provisioner, network-provisioner, api-gateway, a
 * person at `psql`) can forget: `pg_notify` inside a trigger belongs to the writing transaction, is delivered only
 * when it commits, and repeated identical payloads of one transaction are delivered once (a 300-node insert wakes a
 * cluster's waiters once).
 * - `skyweave_cluster`, payload the cluster id: a node of the cluster was added or removed, or changed a column that
 *   `/join` or `/mesh` answer from (name, cloud, role, ordinal, phase, overlay address and key, IPs, pod range); or
 *   the cluster's `spec` changed (mesh mode, clouds). Columns no long poll reads (`peerLatencies`, written by every
 *   agent's `/status`; backoff, launch bookkeeping, messages) send nothing, so the many `/status` reports wake no one.
 * - `skyweave_node_operations`, payload the executor node id: an operation for that node's agent was added, or its
 *   state or executor changed.
 */
export class ChangeNotify1764050000000 implements MigrationInterface {
  name = 'ChangeNotify1764050000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE FUNCTION "skyweave_notify_node_cluster"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN PERFORM pg_notify('skyweave_cluster', OLD."clusterId"::text);
        ELSE PERFORM pg_notify('skyweave_cluster', NEW."clusterId"::text);
          IF TG_OP = 'UPDATE' AND OLD."clusterId" IS DISTINCT FROM NEW."clusterId" THEN PERFORM pg_notify('skyweave_cluster', OLD."clusterId"::text); END IF;
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER "nodes_notify_insert_delete" AFTER INSERT OR DELETE ON "nodes" FOR EACH ROW EXECUTE FUNCTION "skyweave_notify_node_cluster"()`);
    await q.query(`CREATE TRIGGER "nodes_notify_update" AFTER UPDATE ON "nodes" FOR EACH ROW
      WHEN ((OLD."clusterId", OLD."name", OLD."cloud", OLD."role", OLD."ordinal", OLD."phase", OLD."wireguardAddress", OLD."wireguardPublicKey",
             OLD."privateIp", OLD."publicIp", OLD."podCidr")
        IS DISTINCT FROM (NEW."clusterId", NEW."name", NEW."cloud", NEW."role", NEW."ordinal", NEW."phase", NEW."wireguardAddress", NEW."wireguardPublicKey",
             NEW."privateIp", NEW."publicIp", NEW."podCidr"))
      EXECUTE FUNCTION "skyweave_notify_node_cluster"()`);

    await q.query(`CREATE FUNCTION "skyweave_notify_cluster"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('skyweave_cluster', (CASE WHEN TG_OP = 'DELETE' THEN OLD."id" ELSE NEW."id" END)::text);
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER "clusters_notify_update" AFTER UPDATE ON "clusters" FOR EACH ROW
      WHEN (OLD."spec" IS DISTINCT FROM NEW."spec") EXECUTE FUNCTION "skyweave_notify_cluster"()`);
    await q.query(`CREATE TRIGGER "clusters_notify_delete" AFTER DELETE ON "clusters" FOR EACH ROW EXECUTE FUNCTION "skyweave_notify_cluster"()`);

    await q.query(`CREATE FUNCTION "skyweave_notify_node_operation"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('skyweave_node_operations', NEW."executorNodeId"::text);
        IF TG_OP = 'UPDATE' AND OLD."executorNodeId" IS DISTINCT FROM NEW."executorNodeId" THEN PERFORM pg_notify('skyweave_node_operations', OLD."executorNodeId"::text); END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER "node_operations_notify_insert" AFTER INSERT ON "node_operations" FOR EACH ROW EXECUTE FUNCTION "skyweave_notify_node_operation"()`);
    await q.query(`CREATE TRIGGER "node_operations_notify_update" AFTER UPDATE ON "node_operations" FOR EACH ROW
      WHEN ((OLD."state", OLD."executorNodeId") IS DISTINCT FROM (NEW."state", NEW."executorNodeId")) EXECUTE FUNCTION "skyweave_notify_node_operation"()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER "node_operations_notify_update" ON "node_operations"`);
    await q.query(`DROP TRIGGER "node_operations_notify_insert" ON "node_operations"`);
    await q.query(`DROP FUNCTION "skyweave_notify_node_operation"()`);
    await q.query(`DROP TRIGGER "clusters_notify_delete" ON "clusters"`);
    await q.query(`DROP TRIGGER "clusters_notify_update" ON "clusters"`);
    await q.query(`DROP FUNCTION "skyweave_notify_cluster"()`);
    await q.query(`DROP TRIGGER "nodes_notify_update" ON "nodes"`);
    await q.query(`DROP TRIGGER "nodes_notify_insert_delete" ON "nodes"`);
    await q.query(`DROP FUNCTION "skyweave_notify_node_cluster"()`);
  }
}
