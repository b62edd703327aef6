import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import autocannon from 'autocannon';
import { Command } from 'commander';
import { Client } from 'pg';
import { ApiClient, sandboxAccount } from '@skyweave/tools/stack/api';
import { freePort } from '@skyweave/tools/stack/stack';
import { ensureLocalServices } from '@skyweave/tools/stack/services';
import { startStack } from '@skyweave/tools/stack/stack';

/**
 * npm run bench:api [-- --connections 16 --seconds 10 --rounds 2 --min-percent P]
 *
 * Requests per second of `GET /v1/clusters/{id}` (API key, tenancy, database, view assembly) for a Ready cluster of
 * 2 nodes, against a bare NestJS endpoint (bench/bare-nest.ts) started the same way, in the same run: autocannon on
 * loopback, `connections` keep-alive connections, `rounds` alternating rounds of `seconds` each (their mean is
 * reported). Also counts database transactions per API request (pg_stat_database of the installation's database:
 * every query outside a transaction is one), and where the CPU goes: CPU milliseconds per request of the server
 * process (the gateway, or the bare endpoint; /proc/<pid>/stat), of the PostgreSQL backends serving the installation's
 * database, and of the load generator (this process). Prints a table; last line `api: N req/s, X% of bare NestJS`.
 * With `--min-percent`, exits 1 below it (a regression guard). `--breakdown` adds rows for `GET /v1/regions` (a constant
 * body, no handler query) without a key (the gateway's middleware chain, guards skipped) and with the key (plus the
 * key lookup and the rate limits), to split the gateway's CPU per request by stage.
 *
 * The gateway's rate limits stay on (every request is counted, as in production) with limits far above what the
 * bench sends, so that no request is refused; `--rate-flush-ms 0` measures the write-through store (one UPSERT per
 * request) instead of the default local counting flushed every 250 ms (docs/limits.md).
 */
const o = new Command('bench:api')
  .option('--connections <n>', 'concurrent keep-alive connections', '16')
  .option('--seconds <n>', 'duration of one round, seconds', '10')
  .option('--rounds <n>', 'rounds per target (alternating)', '2')
  .option('--min-percent <p>', 'exit 1 when the API reaches less than this percentage of the bare endpoint')
  .option('--rate-flush-ms <ms>', 'SKYWEAVE_RATE_LIMIT_FLUSH_MS of the gateway (0 = one UPSERT per request)', '250')
  .option('--breakdown', 'also measure GET /v1/regions without and with the API key (the gateway\'s middleware alone; plus the key lookup and rate limits)')
  .parse().opts<{ connections: string; seconds: string; rounds: string; minPercent?: string; rateFlushMs: string; breakdown?: boolean }>();

const ROOT = path.resolve(__dirname, '..');

interface Round { rps: number; p50: number; p99: number; non2xx: number; errors: number; serverCpuMs: number; pgCpuMs: number; loadCpuMs: number }

/** CPU time (user + system) of a process so far, ms, from /proc (Linux); 0 when it is gone. */
function cpuMsOf(pid: number): number {
  try {
    // fields after the command's closing parenthesis: state is the 3rd field of stat, utime the 14th, stime the 15th
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
/** USER_HZ of /proc/<pid>/stat times (100 on Linux for every architecture Node runs on). */
const CLOCK_TICKS = 100;

/**
 * One round of load on `url`; CPU per request (ms) of `serverPid`, of the processes `pgPids()` names (backends of the
 * pool: those there before and after the round; one that started during it counts whole, one that ended during it is
 * missed) and of this process (autocannon).
 */
async function load(url: string, headers: Record<string, string>, serverPid: number, pgPids: () => Promise<number[]>, seconds = Number(o.seconds)): Promise<Round> {
  const pgBefore = new Map((await pgPids()).map((p) => [p, cpuMsOf(p)]));
  const serverBefore = cpuMsOf(serverPid);
  const self = process.cpuUsage();
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    autocannon({ url, headers, connections: Number(o.connections), duration: seconds, pipelining: 1 }, (err, res) => (err ? reject(err) : resolve(res)));
  });
  const own = process.cpuUsage(self);
  const serverAfter = cpuMsOf(serverPid);
  const pgAfter = await pgPids();
  const pgMs = pgAfter.reduce((sum, p) => sum + Math.max(0, cpuMsOf(p) - (pgBefore.get(p) ?? 0)), 0);
  const n = Math.max(1, r.requests.total);
  return {
    rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts,
    serverCpuMs: (serverAfter - serverBefore) / n, pgCpuMs: pgMs / n, loadCpuMs: (own.user + own.system) / 1000 / n,
  };
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

void (async () => {
  await ensureLocalServices(() => undefined);
  const stack = await startStack({
    bootMs: 200,
    env: { SKYWEAVE_RATE_LIMIT_KEY: '1000000000', SKYWEAVE_RATE_LIMIT_ORG: '1000000000', SKYWEAVE_RATE_LIMIT_FLUSH_MS: o.rateFlushMs },
  });
  let bare: ChildProcess | undefined;
  try {
    const api = new ApiClient(stack.apiUrl, stack.apiKey);
    await api.ok('POST', '/v1/cloud-credentials', { cloud: 'aws', credentials: await sandboxAccount(stack.adminUrl, 'aws') });
    const c = await api.ok<{ id: string }>('POST', '/v1/clusters', {
      name: 'bench-api', region: 'us-east', clouds: ['aws'], controlPlane: { cloud: 'aws', count: 1 }, workers: [{ cloud: 'aws', count: 1 }],
    });
    await until('the cluster to be Ready', async () => (await api.ok<{ phase: string }>('GET', `/v1/clusters/${c.id}`)).phase === 'Ready', 120_000);

    const barePort = await freePort();
    bare = spawn(process.execPath, [path.join(ROOT, 'tools/run-ts.js'), 'bench/bare-nest.ts'], { cwd: ROOT, env: { ...process.env, PORT: String(barePort) }, stdio: 'inherit' });
    const bareUrl = `http://127.0.0.1:${barePort}/v1/bare`;
    await until('the bare NestJS endpoint', async () => (await fetch(bareUrl)).ok, 60_000);

    const apiUrl = `${stack.apiUrl}/v1/clusters/${c.id}`;
    const auth = { authorization: `Bearer ${stack.apiKey}` };
    const db = new Client({ connectionString: stack.databaseUrl });
    await db.connect();
    const gatewayPid = stack.processes.get('api-gateway')?.pid ?? 0;
    // the backends of the gateway's pool (application_name api-gateway), looked up before each round (the pool grows)
    const gatewayBackends = async () => (await db.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'api-gateway'`)).rows.map((r) => r.pid);
    const noBackends = async () => [] as number[];
    const barePid = bare.pid ?? 0;
    const transactions = async () => Number((await db.query<{ n: string }>('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0].n);
    // warm both up (JIT, pools) for 2 s each, not measured
    await load(bareUrl, {}, barePid, noBackends, 2);
    await load(apiUrl, auth, gatewayPid, gatewayBackends, 2);
    const apiRounds: Round[] = [];
    const bareRounds: Round[] = [];
    const regionsRounds: Round[] = [];
    const regionsKeyRounds: Round[] = [];
    let txPerRequest = 0;
    for (let i = 0; i < Number(o.rounds); i++) {
      bareRounds.push(await load(bareUrl, {}, barePid, noBackends));
      if (o.breakdown) {
        regionsRounds.push(await load(`${stack.apiUrl}/v1/regions`, {}, gatewayPid, gatewayBackends));
        regionsKeyRounds.push(await load(`${stack.apiUrl}/v1/regions`, auth, gatewayPid, gatewayBackends));
      }
      await db.query('SELECT pg_stat_clear_snapshot()');
      const before = await transactions();
      const r = await load(apiUrl, auth, gatewayPid, gatewayBackends);
      await new Promise((res) => setTimeout(res, 600)); // the statistics collector flushes every 500 ms
      await db.query('SELECT pg_stat_clear_snapshot()');
      txPerRequest = (await transactions() - before) / Math.max(1, r.rps * Number(o.seconds));
      apiRounds.push(r);
    }
    await db.end();
    const mean = (rs: Round[], k: keyof Round) => rs.reduce((s, r) => s + r[k], 0) / rs.length;
    const rows = [
      ['target', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'server CPU ms/req', 'PostgreSQL CPU ms/req', 'autocannon CPU ms/req'],
      ...([
        ['GET /v1/clusters/{id}', apiRounds], ['bare NestJS', bareRounds],
        ...(o.breakdown ? [['GET /v1/regions, no key', regionsRounds], ['GET /v1/regions, API key', regionsKeyRounds]] as const : []),
      ] as const).map(([name, rs]) => [
        name, mean(rs, 'rps').toFixed(0), mean(rs, 'p50').toFixed(1), mean(rs, 'p99').toFixed(1), String(mean(rs, 'non2xx')), String(mean(rs, 'errors')),
        mean(rs, 'serverCpuMs').toFixed(3), mean(rs, 'pgCpuMs').toFixed(3), mean(rs, 'loadCpuMs').toFixed(3),
      ]),
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    process.stdout.write(`${rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ')).join('\n')}\n`);
    process.stdout.write(`${o.connections} connections, ${o.rounds} round(s) of ${o.seconds} s each; rate-limit flush ${o.rateFlushMs} ms; database transactions per API request: ${txPerRequest.toFixed(2)}\n`);
    const apiRps = mean(apiRounds, 'rps');
    const percent = (100 * apiRps) / mean(bareRounds, 'rps');
    if (mean(apiRounds, 'non2xx') > 0) throw new Error('the API answered non-2xx under load: the figure would be meaningless');
    process.stdout.write(`api: ${apiRps.toFixed(0)} req/s, ${percent.toFixed(0)}% of bare NestJS\n`);
    if (o.minPercent !== undefined && percent < Number(o.minPercent)) {
      process.stderr.write(`bench:api: ${percent.toFixed(0)}% is below the ${o.minPercent}% limit\n`);
      process.exitCode = 1;
    }
  } finally {
    bare?.kill('SIGTERM');
    await stack.stop();
  }
})().then(() => process.exit(process.exitCode ?? 0), (e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).message}\n`);
  process.exit(1);
});
