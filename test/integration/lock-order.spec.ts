import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import pino from 'pino';
import { FullReconciler } from '@skyweave/reconciler/src/full';
import { RunningEmulator, startEmulator } from '@skyweave/cloud-emulator/src/emulator';
import { ProviderBook, SandboxCluster, createSandboxCluster, createSandboxOrg, spreadLayout } from '@skyweave/bench/reconcile';
import { freshDatabase } from '../support/db';

/**
 * Issue 10, finding 9: a full reconcile failed with `deadlock detected` while a node's `/status` ran. `/status` locks
 * the cluster row, then writes its node row; the full reconcile's repair locked the networks and nodes first and the
 * cluster last (for its conditions). One order everywhere: cluster, networks, nodes. Shown on real PostgreSQL: with
 * the cluster's network rows held by another transaction, the repair (blocked on them) already holds the cluster row.
 */
describe('lock order: cluster row before its networks and nodes (issue 10, finding 9)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let emu: RunningEmulator;
  let vmRoot: string;
  let cluster: SandboxCluster;
  let reconciler: FullReconciler;
  const clients: Client[] = [];
  const client = async () => {
    const c = new Client({ connectionString: db.url });
    await c.connect();
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    vmRoot = mkdtempSync(path.join(os.tmpdir(), 'skyweave-it-locks-'));
    [db, emu] = await Promise.all([
      freshDatabase(),
      startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, vmRoot, latency: { 'instance.boot': 0 } }),
    ]);
    const book = new ProviderBook();
    const org = await createSandboxOrg(db.ds, emu, 'locks');
    book.add(org);
    reconciler = new FullReconciler(db.ds, book, pino({ level: 'silent' }), { replica: 'it', recheckSeconds: 30, missingGraceSeconds: 120 });
    cluster = await createSandboxCluster(db.ds, org, spreadLayout(2), { name: 'locks' });
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => undefined);
    await db?.drop();
    await emu?.close();
    if (vmRoot) rmSync(vmRoot, { recursive: true, force: true });
  });

  it('the full reconcile\'s repair holds the cluster row before it waits for the network and node rows', async () => {
    const holder = await client();
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM "cluster_networks" WHERE "clusterId" = $1 FOR UPDATE`, [cluster.clusterId]);
    const run = reconciler.run(cluster.organisationId, cluster.clusterId, 'manual');
    // wait until the repair is blocked on the network rows held here
    const watcher = await client();
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { rows } = await watcher.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%ClusterNetworkEntity%'`,
      );
      if ((rows[0] as { n: number }).n > 0) break;
      if (Date.now() > deadline) {
        const act = await watcher.query(`SELECT wait_event_type, wait_event, state, left(query, 120) AS q FROM pg_stat_activity WHERE datname = current_database()`);
        throw new Error(`the full reconcile never waited for the network rows: ${await Promise.race([run, Promise.resolve('still running')])} ${JSON.stringify(act.rows)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    // a /status now would wait for the cluster row (held by the repair) instead of taking it and then waiting on a node row
    const probe = await client();
    await probe.query('BEGIN');
    await expect(probe.query(`SELECT 1 FROM "clusters" WHERE "id" = $1 FOR UPDATE NOWAIT`, [cluster.clusterId])).rejects.toMatchObject({ code: '55P03' });
    await probe.query('ROLLBACK');
    await holder.query('ROLLBACK');
    expect(await run).toBe('reconciled');
  }, 60_000);

  /**
   * Stop 21's CI: the full reconcile recorded nothing for a deleted AWS firewall rule. A writer that holds a node row
   * and then records an event (the node-provisioner's recordLaunched, a moveNode with an event) needs a `KEY SHARE`
   * lock on the cluster row for the event's foreign key; `SELECT … FOR UPDATE` on the cluster conflicts with it, so
   * with the repair holding the cluster and waiting for that node, PostgreSQL found a deadlock and aborted one of
   * them. Row locks are `FOR NO KEY UPDATE` (no key of these rows is ever changed, no row deleted): still exclusive
   * between lockers, never in the way of a foreign-key check.
   */
  it('a writer holding a node row can record an event while the repair holds the cluster row (no deadlock)', async () => {
    const node = await client();
    const { rows } = await node.query(`SELECT "id" FROM "nodes" WHERE "clusterId" = $1 ORDER BY "ordinal" LIMIT 1`, [cluster.clusterId]);
    const nodeId = (rows[0] as { id: string }).id;
    await node.query('BEGIN');
    await node.query(`UPDATE "nodes" SET "message" = 'launched' WHERE "id" = $1`, [nodeId]);
    const run = reconciler.run(cluster.organisationId, cluster.clusterId, 'manual');
    const watcher = await client();
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { rows: waiting } = await watcher.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%NodeEntity%'`,
      );
      if ((waiting[0] as { n: number }).n > 0) break;
      if (Date.now() > deadline) throw new Error(`the full reconcile never waited for the node rows: ${await Promise.race([run, Promise.resolve('still running')])}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // the repair holds the cluster row and waits for this node row; the event's foreign-key check must not wait for it
    await expect(node.query(
      `INSERT INTO "cluster_events" ("organisationId", "clusterId", "type", "reason", "message") VALUES ($1, $2, 'Normal', 'InstanceLaunched', 'probe')`,
      [cluster.organisationId, cluster.clusterId],
    )).resolves.toBeDefined();
    await node.query('COMMIT');
    expect(await run).toBe('reconciled');
  }, 60_000);
});
