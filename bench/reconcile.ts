import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { Client } from 'pg';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import { CLOUDS, CloudId, DEFAULT_INSTANCE_TYPE, NodeRole, resourcePrefix } from '@skyweave/domain';
import { CloudProvider, NetworkStatus, createCloudProvider, networkSpecFor } from '@skyweave/cloud-adapters';
import { ClusterEntity, ClusterNetworkEntity, ClusterReconcileEntity, NodeEntity, createDataSource, migrate } from '@skyweave/persistence';
import { FullReconciler } from '@skyweave/reconciler/src/full';
import { RunningEmulator, startEmulator } from '@skyweave/cloud-emulator/src/emulator';
import type { CallSnapshot } from '@skyweave/cloud-emulator/src/core/calls';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';

/**
 * npm run bench:reconcile [-- --clusters 1000 --concurrency 8 --read-latency-ms 0]
 *
 * Everything in-process: the sandbox cloud (`startEmulator`, ports 0, VMs run no process), a fresh PostgreSQL database
 * (`skyweave_bench_<hex>`, migrated, dropped at the end) and FullReconciler with providers built straight from sandbox
 * credentials (no vault).
 *
 * 1. Cloud API calls of ONE full reconcile (the sandbox's call counter) for Ready clusters of 3, 30 and 300 Joined nodes
 *    spread over the four clouds (masters on AWS) — every network made by a real `ensureNetwork`, every VM by a real
 *    `createInstance`. The count must not depend on the node count, and the reconcile must find nothing.
 * 2. Full reconciles per hour one replica sustains: N small clusters (1 master + 2 workers on two clouds, the pair
 *    rotating over the four), all made due at once, then `runDue(50, concurrency)` rounds until none is due.
 *
 * The sandbox enforces the clouds' default quotas, which shape the setup (reported, not hidden):
 * - AWS: 5 VPCs and 5 internet gateways per account and region ⇒ part 2 uses one organisation per 8 clusters (4 of
 *   them on AWS), each with its own AWS, Azure and DigitalOcean account;
 * - one sandbox has 508 public IPv4 addresses for all clouds (254 for Azure) and a GCP project 50 networks ⇒ part 2
 *   starts one more sandbox per 10 organisations (80 clusters, 240 VMs), whose organisations share one GCP project;
 * - DigitalOcean: 25 Droplets per account, Azure: 100 regional cores per subscription ⇒ in part 1 (one organisation for
 *   all three sizes) the 300-node cluster puts at most 15 nodes on DigitalOcean and 35 on Azure, the rest on AWS and GCP.
 * Note that 300 nodes is beyond what the API accepts (3 masters + 50 workers): the rows are written directly.
 * Everything (sandboxes, SDKs, reconciler) shares one Node.js event loop: the rate is a lower bound for a replica
 * whose clouds are elsewhere.
 */

export const REGION = 'us-east';
export const KUBERNETES_VERSION = '1.31.4';
const PG = process.env.SKYWEAVE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

const stderr = (line: string) => process.stderr.write(`${line}\n`);

/** Runs `fn` over `items`, at most `concurrency` at a time; results in input order. */
export async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i], i);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return out;
}

// ------------------------------------------------------------------ the sandbox world

/** An organisation with one sandbox account (and provider) per cloud. */
export interface SandboxOrg {
  organisationId: string;
  providers: Record<CloudId, CloudProvider>;
  /** DigitalOcean network creations of this organisation, one at a time (see createSandboxCluster). */
  doNetworks?: Promise<unknown>;
}

/** FullReconciler's provider source: the providers of the sandbox organisations, by organisation and cloud. */
export class ProviderBook {
  private readonly orgs = new Map<string, Record<CloudId, CloudProvider>>();
  add(org: SandboxOrg): void {
    this.orgs.set(org.organisationId, org.providers);
  }
  async providerFor(organisationId: string, cloud: CloudId): Promise<CloudProvider> {
    const p = this.orgs.get(organisationId)?.[cloud];
    if (!p) throw new Error(`no sandbox provider for ${organisationId}/${cloud}`);
    return p;
  }
}

/**
 * A new organisation row and a fresh sandbox account per cloud (`createAccount()` on the emulator's modules), each
 * with its own provider. `shared` reuses providers (and so accounts) instead: the benchmark's organisations share one
 * GCP project per sandbox, because a sandbox GCP account costs a 2048-bit RSA key (~0.5 s of CPU) and a GCP provider
 * ~0.35 s (each of its eight Compute clients parses the Compute protos, google-gax `protobufFromJSON`).
 */
export async function createSandboxOrg(ds: DataSource, emu: RunningEmulator, name: string, shared: Partial<Record<CloudId, CloudProvider>> = {}): Promise<SandboxOrg> {
  const { organisationId } = await createOrganisation(ds, name);
  const providers = Object.fromEntries(CLOUDS.map((c) => [c, shared[c] ?? createCloudProvider(emu.modules[c].createAccount(), emu.endpoints)])) as Record<CloudId, CloudProvider>;
  return { organisationId, providers };
}

/** Where a cluster's nodes go: the clouds it spans and one entry per node (masters first). */
export interface ClusterLayout { clouds: CloudId[]; nodes: { cloud: CloudId; role: NodeRole }[] }

/** Per-cloud ceilings of the part-1 spread (DigitalOcean 25 Droplets, Azure 100 cores per account; see above). */
export const SPREAD_CAPS: Partial<Record<CloudId, number>> = { digitalocean: 15, azure: 35 };

/**
 * `n` nodes over the four clouds: masters on AWS (1 below 30 nodes, else 3), workers dealt round-robin over GCP, Azure,
 * DigitalOcean and AWS, skipping a cloud once it holds its SPREAD_CAPS ceiling.
 */
export function spreadLayout(n: number): ClusterLayout {
  const masters = n >= 30 ? 3 : 1;
  const nodes: ClusterLayout['nodes'] = Array.from({ length: masters }, () => ({ cloud: 'aws' as CloudId, role: 'master' as NodeRole }));
  const order: CloudId[] = ['gcp', 'azure', 'digitalocean', 'aws'];
  const count: Record<CloudId, number> = { aws: masters, gcp: 0, azure: 0, digitalocean: 0 };
  for (let k = 0; nodes.length < n; k++) {
    const cloud = order[k % order.length];
    if (count[cloud] >= (SPREAD_CAPS[cloud] ?? Infinity)) continue;
    count[cloud]++;
    nodes.push({ cloud, role: 'worker' });
  }
  return { clouds: [...CLOUDS], nodes };
}

/** The pairs of clouds small clusters rotate over (each cloud is in two of them). */
export const PAIRS: [CloudId, CloudId][] = [['aws', 'gcp'], ['gcp', 'azure'], ['azure', 'digitalocean'], ['digitalocean', 'aws']];

/** A small cluster: 1 master + 1 worker on the pair's first cloud, 1 worker on its second. */
export function smallLayout(pair: [CloudId, CloudId]): ClusterLayout {
  return { clouds: [...pair], nodes: [{ cloud: pair[0], role: 'master' }, { cloud: pair[0], role: 'worker' }, { cloud: pair[1], role: 'worker' }] };
}

export interface SandboxCluster { clusterId: string; organisationId: string; nodes: NodeEntity[]; networks: ClusterNetworkEntity[] }

/**
 * A Ready cluster as provisioning would leave it: one real network per cloud (`ensureNetwork`), one real VM per node
 * (`createInstance`, at most `concurrency` at once), and the rows — cluster Ready, networks Ready with the status the
 * cloud returned, nodes Joined with their instance ids, launched an hour ago (past the reconciler's missing-VM grace).
 */
export async function createSandboxCluster(ds: DataSource, org: SandboxOrg, layout: ClusterLayout, opts: { concurrency?: number; name?: string } = {}): Promise<SandboxCluster> {
  const clusterId = randomUUID();
  const prefix = resourcePrefix(clusterId);
  const { organisationId } = org;
  const ensure = (cloud: CloudId) => org.providers[cloud].ensureNetwork(networkSpecFor(clusterId, REGION, cloud));
  const statuses = Object.fromEntries(await Promise.all(layout.clouds.map(async (cloud) => {
    if (cloud !== 'digitalocean') return [cloud, await ensure(cloud)] as const;
    // The DigitalOcean adapter picks the VPC's /20 from the ranges it lists: two clusters of one account ensured at
    // once pick the same range and one fails (Conflict, "overlaps"). Provisioning retries that; the setup serialises.
    const mine = (org.doNetworks ?? Promise.resolve()).catch(() => undefined).then(() => ensure(cloud));
    org.doNetworks = mine;
    return [cloud, await mine] as const;
  }))) as Partial<Record<CloudId, NetworkStatus>>;
  const ordinals: Record<NodeRole, number> = { master: 0, worker: 0 };
  const planned = layout.nodes.map((n, i) => {
    const ordinal = ordinals[n.role]++;
    return { ...n, id: randomUUID(), ordinal, name: `${prefix}-${n.role}-${ordinal}`, instanceType: DEFAULT_INSTANCE_TYPE[n.cloud], wireguardAddress: `10.4.${1 + Math.floor(i / 250)}.${1 + (i % 250)}` };
  });
  const instances = await pool(planned, opts.concurrency ?? 16, (n) => org.providers[n.cloud].createInstance({
    clusterId, nodeId: n.id, idempotencyToken: randomUUID(), name: n.name, role: n.role, instanceType: n.instanceType,
    userData: '#cloud-config\n{}\n', network: statuses[n.cloud] as NetworkStatus,
  }));
  const masters = layout.nodes.filter((n) => n.role === 'master');
  const workerClouds = [...new Set(layout.nodes.filter((n) => n.role === 'worker').map((n) => n.cloud))];
  const hourAgo = new Date(Date.now() - 3600_000);
  return ds.transaction(async (em) => {
    await em.insert(ClusterEntity, {
      id: clusterId, organisationId, name: opts.name ?? prefix, phase: 'Ready', nextReconcileAt: null, conditions: [],
      spec: {
        name: opts.name ?? prefix, region: REGION, clouds: layout.clouds, kubernetesVersion: KUBERNETES_VERSION, mesh: 'full',
        controlPlane: { cloud: masters[0].cloud, count: masters.length === 3 ? 3 : 1, instanceType: DEFAULT_INSTANCE_TYPE[masters[0].cloud] },
        workers: workerClouds.map((cloud) => ({ cloud, count: layout.nodes.filter((n) => n.role === 'worker' && n.cloud === cloud).length, instanceType: DEFAULT_INSTANCE_TYPE[cloud] })),
      },
    });
    const networks = layout.clouds.map((cloud) => em.create(ClusterNetworkEntity, { id: randomUUID(), organisationId, clusterId, cloud, phase: 'Ready', status: statuses[cloud] ?? null }));
    await em.insert(ClusterNetworkEntity, networks);
    const nodes = planned.map((n, i) => em.create(NodeEntity, {
      id: n.id, organisationId, clusterId, cloud: n.cloud, role: n.role, ordinal: n.ordinal, name: n.name, instanceType: n.instanceType,
      phase: 'Joined', instanceId: instances[i].id, privateIp: instances[i].privateIp ?? null, publicIp: instances[i].publicIp ?? null,
      wireguardAddress: n.wireguardAddress, launchStartedAt: hourAgo, joinedAt: hourAgo, kubernetesVersion: KUBERNETES_VERSION,
    }));
    await em.insert(NodeEntity, nodes);
    return { clusterId, organisationId, nodes, networks };
  });
}

export interface MeasuredReconcile { outcome: string; calls: CallSnapshot; record: ClusterReconcileEntity }

/** Resets the sandbox call counter, runs one manual full reconcile of the cluster and reads the calls it made. */
export async function measureReconcile(ds: DataSource, emu: RunningEmulator, reconciler: FullReconciler, cluster: { organisationId: string; clusterId: string }): Promise<MeasuredReconcile> {
  emu.calls.reset();
  const outcome = await reconciler.run(cluster.organisationId, cluster.clusterId, 'manual');
  const calls = emu.calls.snapshot();
  const record = await ds.getRepository(ClusterReconcileEntity).findOneOrFail({ where: { clusterId: cluster.clusterId }, order: { id: 'DESC' } });
  return { outcome, calls, record };
}

/** A fresh migrated database `skyweave_bench_<hex>` on the local server; `drop()` removes it (forcing connections off). */
export async function benchDatabase(poolSize = 20): Promise<{ ds: DataSource; name: string; drop(): Promise<void> }> {
  const name = `skyweave_bench_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new Client({ connectionString: `${PG}/postgres` });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const ds = createDataSource(`${PG}/${name}`, { poolSize, applicationName: 'bench-reconcile' });
  const drop = async () => {
    if (ds.isInitialized) await ds.destroy().catch(() => undefined);
    await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  };
  try {
    await ds.initialize();
    await migrate(ds);
  } catch (e) {
    await drop();
    throw e;
  }
  return { ds, name, drop };
}

// ------------------------------------------------------------------ the benchmark

interface Options { clusters: number; concurrency: number; readLatencyMs: number; setupConcurrency: number }

const ZERO_PORTS = { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 };

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

async function main(o: Options): Promise<void> {
  const started = Date.now();
  const log = pino({ level: 'warn' }, pino.destination(2));
  const vmRoot = mkdtempSync(path.join(os.tmpdir(), 'skyweave-bench-vms-'));
  const emu = await startEmulator({ ports: ZERO_PORTS, vmRoot: mkdtempSync(path.join(vmRoot, 'calls-')), latency: { 'instance.boot': 0 } });
  /** The throughput run's sandboxes (one per 10 organisations, see there). */
  const sandboxes: RunningEmulator[] = [];
  let db: Awaited<ReturnType<typeof benchDatabase>> | undefined;
  const onSignal = () => {
    stderr('interrupted: dropping the bench database');
    void (db?.drop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    db = await benchDatabase();
    const { ds } = db;
    stderr(`database ${db.name}, sandbox admin ${emu.adminUrl}`);
    const book = new ProviderBook();
    const reconciler = new FullReconciler(ds, book, log, { replica: 'bench' });

    // ---- 1. calls per full reconcile by cluster size
    const org = await createSandboxOrg(ds, emu, 'bench calls');
    book.add(org);
    const sizes = [3, 30, 300];
    const rows: { size: number; nodes: Record<CloudId, number>; m: MeasuredReconcile }[] = [];
    for (const size of sizes) {
      const t = Date.now();
      const layout = spreadLayout(size);
      const cluster = await createSandboxCluster(ds, org, layout, { concurrency: o.setupConcurrency, name: `calls-${size}` });
      const m = await measureReconcile(ds, emu, reconciler, cluster);
      if (m.outcome !== 'reconciled' || m.record.error) throw new Error(`${size}-node cluster: reconcile ${m.outcome}: ${m.record.error ?? ''}`);
      if (m.record.found.length) throw new Error(`${size}-node cluster: the reconcile found drift in a freshly built cluster: ${m.record.found.join('; ')}`);
      const nodes = Object.fromEntries(CLOUDS.map((c) => [c, layout.nodes.filter((n) => n.cloud === c).length])) as Record<CloudId, number>;
      rows.push({ size, nodes, m });
      stderr(`${size}-node cluster: built and reconciled in ${((Date.now() - t) / 1000).toFixed(1)} s, ${m.calls.total} calls`);
    }
    const names = (s: CallSnapshot) => s.calls.map((c) => `${c.cloud} ${c.call} ×${c.count}`);
    const sameCalls = rows.every((r) => JSON.stringify(names(r.m.calls)) === JSON.stringify(names(rows[0].m.calls)));

    // ---- 2. full reconciles per hour per replica
    // Quotas of the sandbox shape the setup: 8 clusters per organisation (4 on AWS: 5 VPCs / internet gateways per AWS
    // account and region); 10 organisations per sandbox (4 GCP networks each in ONE shared GCP project and provider —
    // a project allows 50 networks; 240 VMs, within the sandbox-wide pool of 508 public addresses, 254 for Azure).
    const perOrg = 8;
    const orgsPerSandbox = 10;
    const orgs: SandboxOrg[] = [];
    let t = Date.now();
    const nOrgs = Math.ceil(o.clusters / perOrg);
    for (let e = 0; e < Math.ceil(nOrgs / orgsPerSandbox); e++) {
      const sandbox = await startEmulator({ ports: ZERO_PORTS, vmRoot: mkdtempSync(path.join(vmRoot, `sandbox-${e}-`)), latency: { 'instance.boot': 0 } });
      sandboxes.push(sandbox);
      const gcp = createCloudProvider(sandbox.modules.gcp.createAccount(), sandbox.endpoints);
      for (let k = e * orgsPerSandbox; k < Math.min(nOrgs, (e + 1) * orgsPerSandbox); k++) {
        const x = await createSandboxOrg(ds, sandbox, `bench throughput ${k}`, { gcp });
        book.add(x);
        orgs.push(x);
      }
    }
    const accounts = orgs.length * 3 + sandboxes.length;
    stderr(`${sandboxes.length} sandboxes, ${orgs.length} organisations (${accounts} sandbox accounts) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
    let made = 0;
    const small = await pool(Array.from({ length: o.clusters }, (_, i) => i), o.setupConcurrency, async (i) => {
      const c = await createSandboxCluster(ds, orgs[Math.floor(i / perOrg)], smallLayout(PAIRS[(i % perOrg) % PAIRS.length]), { concurrency: 3, name: `small-${i}` });
      if (++made % 100 === 0 || made === o.clusters) stderr(`  ${made}/${o.clusters} small clusters built (${((Date.now() - t) / 1000).toFixed(1)} s)`);
      return c.clusterId;
    });
    const setupSeconds = (Date.now() - t) / 1000;

    if (o.readLatencyMs > 0) for (const x of sandboxes) x.latency.read = o.readLatencyMs;
    await ds.query(`UPDATE "clusters" SET "nextReconcileAt" = now() WHERE "id" = ANY($1::uuid[])`, [small]);
    const sinceId = (await ds.query(`SELECT coalesce(max("id"), 0) AS id FROM "cluster_reconciles"`))[0].id as string;
    stderr(`timing runDue(50, ${o.concurrency}) over ${o.clusters} due clusters, sandbox read latency ${o.readLatencyMs} ms`);
    for (const x of sandboxes) x.calls.reset();
    t = Date.now();
    let rounds = 0;
    const outcomes: Record<string, number> = {};
    for (;;) {
      const got = await reconciler.runDue(50, o.concurrency);
      if (got.length === 0) break;
      rounds++;
      for (const x of got) outcomes[x] = (outcomes[x] ?? 0) + 1;
      if (rounds % 4 === 0) stderr(`  round ${rounds}: ${Object.values(outcomes).reduce((a, b) => a + b, 0)} reconciled (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    }
    const seconds = (Date.now() - t) / 1000;
    const throughputCalls = sandboxes.reduce((a, x) => a + x.calls.snapshot().total, 0);
    const records = (await ds.query(
      `SELECT "clusterId", "error", "found", EXTRACT(EPOCH FROM ("finishedAt" - "startedAt")) * 1000 AS ms FROM "cluster_reconciles" WHERE "id" > $1 AND "trigger" = 'schedule'`, [sinceId],
    )) as { clusterId: string; error: string | null; found: string[]; ms: string }[];
    const failed = records.filter((r) => r.error !== null);
    const drifted = records.filter((r) => r.found.length > 0);
    const covered = new Set(records.map((r) => r.clusterId));
    if (records.length !== o.clusters || covered.size !== o.clusters) throw new Error(`expected one scheduled reconcile per cluster (${o.clusters}), got ${records.length} records for ${covered.size} clusters`);
    if (failed.length) throw new Error(`${failed.length} reconciles failed, e.g. ${failed[0].error}`);
    if (drifted.length) throw new Error(`${drifted.length} reconciles found drift, e.g. ${drifted[0].found.join('; ')}`);
    const ms = records.map((r) => Number(r.ms)).sort((a, b) => a - b);
    const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
    const rate = (o.clusters / seconds) * 3600;

    // ---- report
    const header = ['size', 'nodes', 'calls total', ...CLOUDS];
    const table = [header, ...rows.map((r) => [String(r.size), `${r.size} (${CLOUDS.map((c) => r.nodes[c]).join('/')})`, String(r.m.calls.total), ...CLOUDS.map((c) => String(r.m.calls.byCloud[c] ?? 0))])];
    const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
    const line = (row: string[]) => row.map((v, i) => v.padEnd(widths[i])).join(' | ');
    const out: string[] = [
      'calls per full reconcile (nodes column: total (aws/gcp/azure/digitalocean)); sandbox call counter',
      line(table[0]), widths.map((w) => '-'.repeat(w)).join('-|-'), ...table.slice(1).map(line),
      `same call names and counts for every size: ${sameCalls ? 'yes' : 'NO'}`,
      `calls of one reconcile (${rows[0].size} nodes): ${names(rows[0].m.calls).join(', ')}`,
      ...rows.slice(1).filter((r) => JSON.stringify(names(r.m.calls)) !== JSON.stringify(names(rows[0].m.calls))).map((r) => `calls of one reconcile (${r.size} nodes): ${names(r.m.calls).join(', ')}`),
      '',
      `throughput: ${o.clusters} clusters (1 master + 2 workers on 2 clouds, ${orgs.length} organisations, ${accounts} sandbox accounts in ${sandboxes.length} sandboxes), built in ${setupSeconds.toFixed(1)} s`,
      `  runDue(limit 50, concurrency ${o.concurrency}), sandbox read latency ${o.readLatencyMs} ms: ${rounds} rounds, ${seconds.toFixed(2)} s, outcomes ${JSON.stringify(outcomes)}`,
      `  one reconcile: mean ${mean.toFixed(1)} ms, p95 ${percentile(ms, 95).toFixed(1)} ms, max ${ms[ms.length - 1].toFixed(1)} ms`,
      `  cloud calls: ${throughputCalls} (${(throughputCalls / o.clusters).toFixed(2)} per reconcile); records: ${records.length}, errors ${failed.length}, found drift ${drifted.length}`,
      `  rate: ${o.clusters} / ${seconds.toFixed(2)} s × 3600 = ${Math.round(rate)} full reconciles/hour/replica`,
      `whole run: ${((Date.now() - started) / 1000).toFixed(1)} s`,
      `reconciles/hour/replica: ${Math.round(rate)}; calls per reconcile (3/30/300 nodes): ${rows.map((r) => r.m.calls.total).join('/')}`,
    ];
    process.stdout.write(`${out.join('\n')}\n`);
    if (!sameCalls) process.exitCode = 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await db?.drop().catch((e: unknown) => stderr(`could not drop the bench database: ${(e as Error).message}`));
    await Promise.all([emu, ...sandboxes].map((x) => x.close().catch(() => undefined)));
    rmSync(vmRoot, { recursive: true, force: true });
  }
}

// Runs only when executed (tools/run-ts.js puts this file at argv[1]); importing it (the integration test) starts nothing.
if (require.main === module || (process.argv[1] && path.resolve(process.argv[1]) === __filename)) {
  const o = new Command('bench:reconcile')
    .option('--clusters <n>', 'small clusters for the throughput run', '1000')
    .option('--concurrency <n>', 'reconciles at once within a runDue round', '8')
    .option('--read-latency-ms <ms>', 'sandbox latency of every read call during the throughput run', '0')
    .option('--setup-concurrency <n>', 'clusters (and VMs of one cluster) built at once', '16')
    .parse()
    .opts<{ clusters: string; concurrency: string; readLatencyMs: string; setupConcurrency: string }>();
  const opts: Options = { clusters: Number(o.clusters), concurrency: Number(o.concurrency), readLatencyMs: Number(o.readLatencyMs), setupConcurrency: Number(o.setupConcurrency) };
  for (const [k, v] of Object.entries(opts)) {
    if (!Number.isInteger(v) || v < (k === 'readLatencyMs' ? 0 : 1)) {
      stderr(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be an integer ≥ ${k === 'readLatencyMs' ? 0 : 1}`);
      process.exit(2);
    }
  }
  main(opts).then(() => process.exit(process.exitCode ?? 0), (e: unknown) => {
    stderr(`bench failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  });
}
