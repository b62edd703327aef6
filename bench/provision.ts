import { Command } from 'commander';
import { REALISTIC_LATENCY, scaleProfile } from '@skyweave/cloud-emulator/src/core/latency';
import type { Operation } from '@skyweave/cloud-emulator/src/core/types';
import { ApiClient, sandboxAccount } from '@skyweave/tools/stack/api';
import { ensureLocalServices } from '@skyweave/tools/stack/services';
import { startStack } from '@skyweave/tools/stack/stack';
import { CpuSampler } from './cpu-sampler';

/**
 * npm run bench:provision [-- --factor 10 --runs 3 --max-ratio 2.0]
 *
 * Sets the sandbox's per-call latencies to realistic values (VPC 2 s, subnet/gateway/firewall 1 s, VM create 2 s,
 * VM boot 40 s …, see REALISTIC_LATENCY) divided by `factor`, then measures POST /v1/clusters → Ready for the demo's
 * 4-cloud cluster (3 masters on AWS, one worker per cloud) and compares it with the critical path those latencies imply.
 * The provision time ends at the cluster's ClusterReady event (the Ready transition's commit), polled every 100 ms.
 * Each run starts once the previous run's cluster is deleted. `--timeline` prints every event of the last run; `SKYWEAVE_CPU_PROF_DIR=<dir>` makes every process of the stack,
 * agents included, write a V8 CPU profile there when it exits (tools/stack/stack.ts). `--cpu` adds one run after the
 * measured ones (not in the median: its sampling costs CPU too) and prints the CPU time each part of the installation
 * used in each phase of it (CpuSampler: services, the sandbox, its VMs' agents and commands, PostgreSQL, NATS), what
 * the whole machine's cores did (`not attributed`: short-lived commands between two samples, the sampler's own `ps`,
 * this benchmark) and how many cores that is: on a 2-core machine the phases after the VMs boot are CPU-bound, and
 * this says by whom.
 *
 * Critical path: per cloud, the network is ready after its longest chain of dependent creates (a VPC before its subnet,
 * gateway and security groups, which can then be made in parallel); a node is running after `instance.create` +
 * `instance.boot`; workers and other masters join only after the first master, so the cluster cannot be Ready before
 * max over clouds of (network chain + create + boot). Everything else is Skyweave's overhead.
 */
const NETWORK_CHAINS: Record<string, Operation[][]> = {
  // each inner list is one chain of calls that must follow one another; the network is ready after the longest
  aws: [['network.create', 'subnet.create'], ['network.create', 'gateway.create'], ['network.create', 'firewall.create']],
  gcp: [['network.create', 'subnet.create'], ['network.create', 'firewall.create']],
  azure: [['network.create'], ['firewall.create']],
  digitalocean: [['network.create'], ['firewall.create']],
};

/** A run that is not Ready by then failed (a refusal, a regression): seconds of the 1/10 clock are plenty. */
const RUN_TIMEOUT_MS = 180_000;
/**
 * Deletes a cluster and waits until it is gone (its phase `Deleted`, or 404), so that the next run starts on a quiet
 * installation: a deletion still terminating VMs would take CPU from the next run's first second on this 2-core machine.
 * @throws Error when it is not gone within RUN_TIMEOUT_MS.
 */
async function deleted(api: ApiClient, id: string): Promise<void> {
  await api.ok('DELETE', `/v1/clusters/${id}`);
  const t0 = Date.now();
  for (;;) {
    const r = await api.call<{ phase?: string }>('GET', `/v1/clusters/${id}`);
    if (r.status === 404 || r.body.phase === 'Deleted') return;
    if (Date.now() - t0 > RUN_TIMEOUT_MS) throw new Error(`cluster ${id} not deleted after ${RUN_TIMEOUT_MS / 1000} s (${r.body.phase})`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

/**
 * Waits until the autoscaler has read the price list of every cloud of the warm-up cluster (its status names a source
 * per cloud). It reads them once the cluster is Ready, then keeps them for an hour (SKYWEAVE_PRICE_REFRESH_SECONDS): a
 * long-running installation has them already. Measured on 2026-12-04: this first read (GCP's Billing Catalog through
 * google-gax's protos, four price APIs) took 3.5 s of wall time and most of a core, and it fell into the first measured
 * run when the warm-up ended at Ready. A read that fails is not waited for beyond PRICES_TIMEOUT_MS (said on stderr).
 */
async function pricesRead(api: ApiClient, id: string, clouds: string[]): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const v = await api.ok<{ prices: Record<string, unknown> }>('GET', `/v1/clusters/${id}/autoscaler`);
    const missing = clouds.filter((c) => !v.prices[c]);
    if (!missing.length) return;
    if (Date.now() - t0 > PRICES_TIMEOUT_MS) {
      process.stderr.write(`bench:provision: the autoscaler has no prices for ${missing.join(', ')} after ${PRICES_TIMEOUT_MS / 1000} s; measuring anyway\n`);
      return;
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
}
/** How long the warm-up waits for the autoscaler's first price reads (ms). */
const PRICES_TIMEOUT_MS = 60_000;

/**
 * The `--cpu` table: CPU ms each part of the installation used in each phase of one run (from the POST at `t0`, epoch
 * ms, through its events: last NetworkReady, last InstanceLaunched, first and last NodeRegistered, last NodeJoined,
 * ClusterReady), with each phase's wall time, the whole machine's busy CPU ms (CpuSampler.machineBusy), what of it no
 * part accounts for, and the cores the machine's figure amounts to.
 * @returns the table as text, one line per row, ending in a newline.
 */
function cpuByPhase(sampler: CpuSampler, t0: number, ev: { reason: string; createdAt: string }[]): string {
  const times = (reason: string) => ev.filter((e) => e.reason === reason).map((e) => new Date(e.createdAt).getTime());
  const edges: [string, number][] = [
    ['networks', Math.max(...times('NetworkReady'))], ['launch', Math.max(...times('InstanceLaunched'))],
    ['boot wait', Math.min(...times('NodeRegistered'))], ['registration', Math.max(...times('NodeRegistered'))],
    ['join', Math.max(...times('NodeJoined'))], ['ready', Math.max(...times('ClusterReady'))],
  ];
  const phases = edges.map(([name, end], k) => ({ name, from: k ? edges[k - 1][1] : t0, to: end }));
  const used = phases.map((p) => sampler.between(p.from, p.to));
  const machine = phases.map((p) => sampler.machineBusy(p.from, p.to));
  const sum = (u: Map<string, number>) => [...u.values()].reduce((s, x) => s + x, 0);
  const groups = [...new Set(used.flatMap((u) => [...u.keys()]))].sort((a, b) => used.reduce((s, u) => s + (u.get(b) ?? 0), 0) - used.reduce((s, u) => s + (u.get(a) ?? 0), 0));
  const rows: string[][] = [
    ['CPU ms by part and phase', ...phases.map((p) => p.name)],
    ['  (phase wall time, ms)', ...phases.map((p) => String(p.to - p.from))],
    ...groups.map((g) => [`  ${g}`, ...used.map((u) => String(Math.round(u.get(g) ?? 0)))]),
    ['  total', ...used.map((u) => String(Math.round(sum(u))))],
    ['  not attributed', ...used.map((u, k) => String(Math.max(0, Math.round(machine[k] - sum(u)))))],
    ['  whole machine (all cores)', ...machine.map((m) => String(Math.round(m)))],
    ['  cores busy (machine)', ...phases.map((p, k) => (machine[k] / Math.max(1, p.to - p.from)).toFixed(2))],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return `CPU of the run after the measured ones (--cpu; sampled every 200 ms):\n${rows.map((r) => r.map((x, c) => (c ? x.padStart(widths[c]) : x.padEnd(widths[c]))).join('  ')).join('\n')}\n`;
}

const o = new Command('bench:provision').option('--factor <n>', 'divide realistic latencies by', '10').option('--runs <n>', 'measured clusters (after one warm-up)', '3')
  .option('--timeline', 'print every event of the last measured run with its time since the first event')
  .option('--max-ratio <r>', 'exit 1 when provision/critical-path is above this (a regression guard, as CI runs it)')
  .option('--cpu', 'one more run, not measured, sampling every process\'s CPU time: a table of CPU ms by part and phase')
  .parse().opts<{ factor: string; runs: string; maxRatio?: string; timeline?: boolean; cpu?: boolean }>();
const factor = Number(o.factor);
const runs = Number(o.runs);

void (async () => {
  await ensureLocalServices(() => undefined);
  const latency = scaleProfile(REALISTIC_LATENCY, factor) as Record<Operation, number>;
  const chain = (ops: Operation[]) => ops.reduce((s, op) => s + latency[op], 0);
  const networkMs = Object.fromEntries(Object.entries(NETWORK_CHAINS).map(([c, chains]) => [c, Math.max(...chains.map(chain))]));
  const criticalMs = Math.max(...Object.values(networkMs)) + latency['instance.create'] + latency['instance.boot'];

  const stack = await startStack({ realistic: factor, redriveSeconds: 5 });
  const measured: number[] = [];
  const phases: Record<string, number[]> = {};
  let timeline = '';
  let cpuTable = '';
  try {
    const api = new ApiClient(stack.apiUrl, stack.apiKey);
    for (const cloud of Object.keys(NETWORK_CHAINS)) {
      await api.ok('POST', '/v1/cloud-credentials', { cloud, credentials: await sandboxAccount(stack.adminUrl, cloud) });
    }
    // run 0 warms the services up (SDK modules loaded, connections open, the autoscaler's price lists read), as in a
    // long-running installation; not measured
    for (let i = 0; i <= runs + (o.cpu ? 1 : 0); i++) {
      const sampler = i > runs ? new CpuSampler(
        new Map([...stack.processes].flatMap(([name, child]) => (child.pid ? [[child.pid, name] as [number, string]] : []))),
        stack.processes.get('cloud-emulator')?.pid ?? -1,
      ) : undefined;
      await sampler?.start();
      const t0 = Date.now();
      const c = await api.ok<{ id: string }>('POST', '/v1/clusters', {
        name: `bench-${i}`, region: 'us-east', clouds: Object.keys(NETWORK_CHAINS), controlPlane: { cloud: 'aws', count: 3 },
        workers: Object.keys(NETWORK_CHAINS).map((cloud) => ({ cloud, count: 1 })),
      });
      for (;;) {
        const v = await api.ok<{
          phase: string; conditions: { type: string; status: string; message: string }[];
          nodes: { name: string; cloud: string; phase: string; message: string | null; waiting: unknown }[];
        }>('GET', `/v1/clusters/${c.id}`);
        if (v.phase === 'Ready') break;
        if (Date.now() - t0 > RUN_TIMEOUT_MS) {
          // name what is stuck, so that a failure in CI can be read without the stack (its database is dropped)
          const stuck = v.nodes.filter((n) => n.phase !== 'Joined').map((n) => `${n.name} (${n.cloud}) ${n.phase}: ${n.message ?? ''} ${JSON.stringify(n.waiting)}`);
          throw new Error(`run ${i}: not Ready after ${RUN_TIMEOUT_MS / 1000} s (${v.phase}): ${v.conditions.filter((x) => x.status !== 'True').map((x) => `${x.type}=${x.status} ${x.message}`).join('; ')}\n  ${stuck.join('\n  ')}`);
        }
        // polled gently: the time taken is the ClusterReady event's (below), so polling faster would only add load
        await new Promise((r) => setTimeout(r, 100));
      }
      await sampler?.stop();
      if (i === 0) {
        await pricesRead(api, c.id, Object.keys(NETWORK_CHAINS));
        await deleted(api, c.id);
        continue;
      }
      const ev = (await api.ok<{ items: { reason: string; object: string | null; createdAt: string }[] }>('GET', `/v1/clusters/${c.id}/events`)).items;
      if (sampler) {
        cpuTable = cpuByPhase(sampler, t0, ev);
        await deleted(api, c.id);
        continue;
      }
      // provision time: from the POST to the commit of the cluster's move to Ready (its ClusterReady event, stamped by
      // PostgreSQL on this same machine's clock), not to when this loop happened to see it
      const ready = ev.find((e) => e.reason === 'ClusterReady');
      if (!ready) throw new Error(`run ${i}: Ready without a ClusterReady event`);
      measured.push(new Date(ready.createdAt).getTime() - t0);
      const start = new Date(ev[0].createdAt).getTime();
      const last = (reason: string) => Math.max(...ev.filter((e) => e.reason === reason).map((e) => new Date(e.createdAt).getTime() - start));
      for (const r of ['NetworkReady', 'InstanceLaunched', 'NodeRegistered', 'NodeJoined', 'ClusterReady']) (phases[r] ??= []).push(last(r));
      for (const e of ev.filter((x) => x.reason === 'NetworkReady')) (phases[`NetworkReady ${e.object?.split('/')[1]}`] ??= []).push(new Date(e.createdAt).getTime() - start);
      const master0 = ev.find((x) => x.reason === 'NodeJoined' && x.object?.endsWith('master-0'));
      if (master0) (phases['first master joined'] ??= []).push(new Date(master0.createdAt).getTime() - start);
      if (o.timeline && i === runs) {
        timeline = `events of run ${i}, from ${new Date(start).toISOString()}:\n` + ev.map((e) => `${String(new Date(e.createdAt).getTime() - start).padStart(6)} ms  ${e.reason.padEnd(22)} ${e.object ?? ''}`).join('\n') + '\n';
      }
      await deleted(api, c.id);
    }
  } finally {
    await stack.stop();
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : Math.round((s[s.length / 2 - 1] + s[s.length / 2]) / 2);
  };
  const rows: [string, string][] = [
    ['latency factor', `1/${factor} of realistic`],
    ...Object.entries(latency).map(([op, ms]) => [`  ${op}`, `${ms} ms`] as [string, string]),
    ...Object.entries(networkMs).map(([c, ms]) => [`network chain ${c}`, `${ms} ms`] as [string, string]),
    ['critical path', `${criticalMs} ms`],
    ...Object.entries(phases).map(([r, xs]) => [`last ${r} (median)`, `${median(xs)} ms`] as [string, string]),
    ['provision, runs', measured.map((m) => `${m} ms`).join(', ')],
    ['provision (median)', `${median(measured)} ms`],
  ];
  process.stdout.write(timeline + cpuTable);
  const w = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n');
  const ratio = median(measured) / criticalMs;
  const limit = o.maxRatio === undefined ? undefined : Number(o.maxRatio);
  process.stdout.write(`provision/critical-path ratio: ${ratio.toFixed(2)}${limit === undefined ? '' : ` (limit ${limit.toFixed(2)})`}\n`);
  if (limit !== undefined && ratio > limit) {
    process.stderr.write(`bench:provision: ratio ${ratio.toFixed(2)} is above the ${limit.toFixed(2)} limit: provisioning regressed\n`);
    process.exit(1);
  }
  process.exit(0);
})().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).message}\n`);
  process.exit(1);
});
