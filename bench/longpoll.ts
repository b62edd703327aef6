import { randomBytes, randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { Client } from 'pg';
import pino from 'pino';
import { allocateWireguardAddresses } from '@skyweave/domain';
import { ClusterEntity, NodeEntity, SecretBox, createDataSource, hashToken, migrate, newToken } from '@skyweave/persistence';
import { createGateway } from '@skyweave/api-gateway/src/app';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';

/**
 * npm run bench:longpoll [-- --agents 300 --seconds 30 --change-every 5]
 *
 * How many queries PostgreSQL runs while the agents of one cluster wait in the long polls (issue 9 item 6).
 * A fresh database (`skyweave_bench_<hex>`, migrated, dropped at the end) holds one Ready cluster whose N nodes are
 * written directly (Joined, overlay addresses and keys, real node tokens: only their SHA-256 is stored). A real
 * api-gateway (`createGateway`, default windows: /mesh and /operations 25 s) listens on loopback; N agents each keep
 * one `/mesh` long poll (holding the revision of their last answer) and one `/operations` long poll open, re-asking
 * as soon as an answer comes, as node-agent does.
 *
 * Two windows of `--seconds`, after every agent holds its current revision:
 * 1. steady: nothing changes;
 * 2. changing: every `--change-every` seconds one node's addresses change (a direct UPDATE, as a provisioner's
 *    would be), so every other agent's mesh answer changes (peers in its cloud reach it by private IP, the others by public IP); the delay from the commit to each agent's new answer is measured.
 * Process CPU is the bench process's (api-gateway and the agents' HTTP clients share it; in the steady window the
 * clients are idle). Queries are counted by PostgreSQL itself: `pg_stat_database.xact_commit` of the bench database (every TypeORM
 * query outside a transaction is one transaction; the counter's own reads are subtracted). The counter is flushed by
 * backends at most once a second, so each figure is ±1 s of queries.
 *
 * Last line: `longpoll: N waiting agents, X queries/s` (steady window), with its ratio to the polling design it
 * replaced (each waiter re-read every 300 ms: `/mesh` 2 queries, `/operations` 1, i.e. 3,000 queries/s for 300).
 * Run it on the old code to measure that figure too (the bench only uses `createGateway`).
 */

const PG = process.env.SKYWEAVE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const OLD_POLL_MS = 300;
const OLD_QUERIES_PER_POLL = 2 + 1; // /mesh: cluster + nodes; /operations: the executor's operations

const o = new Command('bench:longpoll')
  .option('--agents <n>', 'waiting agents (nodes of one cluster)', (v) => Number(v), 300)
  .option('--seconds <n>', 'length of each measuring window', (v) => Number(v), 30)
  .option('--change-every <n>', 'seconds between node changes in the second window', (v) => Number(v), 5)
  .parse()
  .opts<{ agents: number; seconds: number; changeEvery: number }>();

const stderr = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Agent { id: string; token: string; revision?: string; stopped: boolean }

async function main(): Promise<void> {
  const dbName = `skyweave_bench_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: `${PG}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const ds = createDataSource(`${PG}/${dbName}`, { applicationName: 'api-gateway' });
  await ds.initialize();
  await migrate(ds);
  const { organisationId } = await createOrganisation(ds, 'bench');
  const clusterId = randomUUID();
  await ds.getRepository(ClusterEntity).insert({
    id: clusterId, organisationId, name: 'bench', phase: 'Ready', conditions: [], deletionRequestedAt: null,
    spec: { name: 'bench', region: 'us-east', clouds: ['aws', 'gcp'], controlPlane: { cloud: 'aws', count: 3, instanceType: 't3.medium' }, workers: [{ cloud: 'gcp', count: o.agents - 3, instanceType: 'e2-standard-2' }], kubernetesVersion: '1.31.4', mesh: 'full' },
  });
  const addresses = allocateWireguardAddresses([], o.agents);
  const agents: Agent[] = [];
  const rows = addresses.map((address, i) => {
    const master = i < 3;
    const agent: Agent = { id: randomUUID(), token: newToken('swnt'), stopped: false };
    agents.push(agent);
    return {
      id: agent.id, organisationId, clusterId, cloud: master ? 'aws' as const : 'gcp' as const, role: master ? 'master' as const : 'worker' as const,
      ordinal: master ? i : i - 3, name: master ? `bench-master-${i}` : `bench-worker-${i - 3}`, instanceType: master ? 't3.medium' : 'e2-standard-2',
      phase: 'Joined' as const, wireguardAddress: address, wireguardPublicKey: randomBytes(32).toString('base64'), agentTokenHash: hashToken(agent.token),
      privateIp: `10.${master ? 10 : 0}.${i >> 8}.${(i & 255) + 4}`, publicIp: `198.51.${100 + (i >> 8)}.${(i & 255) + 1}`, kubernetesVersion: '1.31.4',
      joinedAt: new Date(),
    };
  });
  await ds.getRepository(NodeEntity).insert(rows);

  const app = await createGateway({ ds, box: new SecretBox(randomBytes(32).toString('base64')), endpoints: {}, log: pino({ level: process.env.LOG_LEVEL ?? 'silent' }, pino.destination(2)) });
  await app.listen(0, '127.0.0.1');
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  await sleep(500);
  const listener = await admin.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE '%-listen'`, [dbName]);
  stderr(`api-gateway at ${base}; ${o.agents} nodes; change listener connections: ${listener.rows[0].n}`);

  let meshAnswers = 0;
  let opsAnswers = 0;
  let errors = 0;
  let changedAt = 0;
  const delays: number[] = [];
  const post = async (a: Agent, path: string, body: object) => {
    const r = await fetch(`${base}/agent/v1/nodes/${a.id}/${path}`, {
      method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
    return r.json() as Promise<{ revision?: string }>;
  };
  const meshLoop = async (a: Agent) => {
    while (!a.stopped) {
      try {
        const had = a.revision;
        const m = await post(a, 'mesh', a.revision ? { revision: a.revision } : {});
        meshAnswers++;
        if (had && m.revision !== had && changedAt) delays.push(Date.now() - changedAt);
        a.revision = m.revision;
      } catch (e) {
        errors++;
        if (errors <= 3) stderr(`agent error: ${(e as Error).message}`);
        await sleep(1000);
      }
    }
  };
  const opsLoop = async (a: Agent) => {
    while (!a.stopped) {
      try {
        await post(a, 'operations', {});
        opsAnswers++;
      } catch (e) {
        errors++;
        if (errors <= 3) stderr(`agent error: ${(e as Error).message}`);
        await sleep(1000);
      }
    }
  };
  const loops = agents.flatMap((a) => [meshLoop(a), opsLoop(a)]);
  const until = Date.now() + 120_000;
  while (agents.some((a) => !a.revision) && Date.now() < until) await sleep(100);
  if (agents.some((a) => !a.revision)) throw new Error('agents did not all get a first mesh answer within 2 minutes');
  await sleep(2_000); // every agent now waits with its current revision

  const commits = async () => {
    const r = await admin.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1', [dbName]);
    return Number(r.rows[0].n);
  };
  const measure = async (during: (stopAt: number) => Promise<number>) => {
    await sleep(1_100); // let the backends flush their counters
    const c0 = await commits();
    const m0 = meshAnswers;
    const p0 = opsAnswers;
    const t0 = Date.now();
    const cpu0 = process.cpuUsage();
    const extra = await during(t0 + o.seconds * 1000);
    await sleep(Math.max(0, t0 + o.seconds * 1000 - Date.now()));
    const secs = (Date.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await sleep(1_100);
    const c1 = await commits();
    return { cpu: ((cpu.user + cpu.system) / 1e6 / secs) * 100, qps: (c1 - c0 - extra) / secs, mesh: (meshAnswers - m0) / secs, ops: (opsAnswers - p0) / secs };
  };

  let errorsBeforeEnd = Infinity;
  stderr(`steady window: ${o.seconds} s, nothing changes`);
  const steady = await measure(async () => 0);
  stderr(`changing window: ${o.seconds} s, one node's IPs change every ${o.changeEvery} s`);
  let changes = 0;
  const changing = await measure(async (stopAt) => {
    let n = 0;
    while (Date.now() + o.changeEvery * 1000 <= stopAt) {
      await sleep(o.changeEvery * 1000);
      changedAt = Date.now();
      await ds.getRepository(NodeEntity).update({ id: agents[o.agents - 1].id }, { publicIp: `203.0.113.${++changes}`, privateIp: `10.0.200.${changes}` });
      n++;
    }
    return n; // the bench's own updates are not the api's queries
  });
  errorsBeforeEnd = errors; // dropping the database ends the held polls with errors

  for (const a of agents) a.stopped = true;
  errors = Math.min(errors, errorsBeforeEnd);
  void loops; // held polls end with the process
  await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await admin.end();

  delays.sort((a, b) => a - b);
  const pct = (p: number) => (delays.length ? delays[Math.min(delays.length - 1, Math.floor((p / 100) * delays.length))] : NaN);
  const old = (o.agents * OLD_QUERIES_PER_POLL * 1000) / OLD_POLL_MS;
  const f = (n: number) => n.toFixed(1).padStart(9);
  process.stdout.write([
    `window (${o.seconds} s)      queries/s   /mesh answers/s   /operations answers/s   process CPU %`,
    `steady             ${f(steady.qps)}   ${f(steady.mesh)}         ${f(steady.ops)}               ${f(steady.cpu)}`,
    `change every ${String(o.changeEvery).padEnd(2)} s   ${f(changing.qps)}   ${f(changing.mesh)}         ${f(changing.ops)}               ${f(changing.cpu)}`,
    `changed mesh answers: ${delays.length} (expected ${changes * (o.agents - 1)}), commit → answer p50 ${pct(50)} ms, p95 ${pct(95)} ms, max ${delays[delays.length - 1] ?? NaN} ms; agent errors ${errors}`,
    `longpoll: ${o.agents} waiting agents, ${steady.qps.toFixed(0)} queries/s (${(steady.qps / old * 100).toFixed(1)}% of the ${old.toFixed(0)} queries/s of polling every ${OLD_POLL_MS} ms, ${(old / Math.max(steady.qps, 0.001)).toFixed(0)}× fewer)`,
  ].join('\n') + '\n');
  process.exit(0);
}

main().catch((e: unknown) => {
  stderr(`bench:longpoll failed: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});
