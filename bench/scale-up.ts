import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Command } from 'commander';
import { ApiClient, sandboxAccount } from '@skyweave/tools/stack/api';
import { ensureLocalServices } from '@skyweave/tools/stack/services';
import { startStack } from '@skyweave/tools/stack/stack';

/**
 * npm run bench:scale-up [-- --bursts 5 --replicas 3 --factor 10 --max-request-seconds S]
 *
 * The autoscaler's reaction time in the sandbox (issue 13), with the sandbox's realistic cloud latencies divided by
 * `factor` as in bench:provision (VM create 2 s and boot 40 s, /10). One cluster (AWS master, one t3.medium worker;
 * clouds AWS, GCP, Azure), autoscaling on (minCores 0, empty nodes removed after 1 s: between bursts every worker goes,
 * so each burst buys its nodes afresh). Each burst scales a deployment whose pods
 * ask 2.5 vCPU and 2 GiB (more than any existing node holds) from 0 to `replicas` and measures, from the scale request:
 * - **to the launch request**: the first `AutoscalerScaleUp` event (the node row's commit: the reconciler launches from
 *   there), i.e. scheduler → Unschedulable → watch → batch window (1 s idle) → tick (≤ 1 s) → decision → row;
 * - **to pods Running**: every pod of the burst Running (boot, join, kubelet included, at the scaled latencies).
 * Then scales to 0 and waits until the added nodes are gone before the next burst. Prints p50 / p99 of both.
 * Cluster Autoscaler's SLO is ≤ 30 s to the request on clusters under 100 nodes; the aim here is ≤ 2 s plus the batch window.
 */
const o = new Command('bench:scale-up')
  .option('--bursts <n>', 'measured bursts (after one warm-up)', '5')
  .option('--replicas <n>', 'pods per burst', '3')
  .option('--factor <n>', 'divide realistic latencies by', '10')
  .option('--max-request-seconds <s>', 'exit 1 when the p50 to the launch request is above this (a regression guard)')
  .parse().opts<{ bursts: string; replicas: string; factor: string; maxRequestSeconds?: string }>();
const bursts = Number(o.bursts);
const replicas = Number(o.replicas);
const factor = Number(o.factor);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function until<T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

void (async () => {
  await ensureLocalServices(() => undefined);
  const stack = await startStack({ realistic: factor, redriveSeconds: 5 });
  const toRequest: number[] = [];
  const toRunning: number[] = [];
  const nodesAdded: number[] = [];
  try {
    const api = new ApiClient(stack.apiUrl, stack.apiKey);
    const clouds = ['aws', 'gcp', 'azure'];
    for (const cloud of clouds) await api.ok('POST', '/v1/cloud-credentials', { cloud, credentials: await sandboxAccount(stack.adminUrl, cloud) });
    const c = await api.ok<{ id: string }>('POST', '/v1/clusters', { name: 'bench-scale-up', region: 'us-east', clouds, controlPlane: { cloud: 'aws', count: 1 }, workers: [{ cloud: 'aws', count: 1 }] });
    await until('the cluster Ready', async () => (await api.ok<{ phase: string }>('GET', `/v1/clusters/${c.id}`)).phase === 'Ready', 300_000, 250);
    const policy = await api.ok<{ policy: Record<string, unknown> }>('GET', `/v1/clusters/${c.id}/policies`);
    await api.ok('PUT', `/v1/clusters/${c.id}/policies`, {
      ...policy.policy, enabled: true, clusterLimits: { cpu: { minCores: 0, maxCores: 256 } },
      nodeDownscaler: { enabled: true, emptyNodes: { enabled: true, delaySeconds: 1 }, underutilized: { enabled: false, thresholdPercent: 50, delaySeconds: 600 } },
    });
    const kc = new KubeConfig();
    kc.loadFromString((await api.call<string>('GET', `/v1/clusters/${c.id}/kubeconfig`)).body);
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    await apps.createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'burst' },
        spec: {
          replicas: 0, selector: { matchLabels: { app: 'burst' } },
          template: { metadata: { labels: { app: 'burst' } }, spec: { containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: '2500m', memory: '2Gi' } } }] } },
        },
      },
    });
    const scale = (n: number) => apps.patchNamespacedDeploymentScale({ namespace: 'default', name: 'burst', body: { spec: { replicas: n } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    const workers = async () => (await api.ok<{ nodes: { role: string; phase: string; removalRequested: boolean }[] }>('GET', `/v1/clusters/${c.id}`)).nodes.filter((n) => n.role === 'worker' && n.phase !== 'Terminated');
    const q = (after?: string) => `/v1/clusters/${c.id}/events?limit=500${after ? `&after=${after}` : ''}`;
    /** The id of the cluster's newest event (pages followed to the end). */
    const latest = async (from?: string) => {
      let at = from;
      for (;;) {
        const ev = await api.ok<{ items: unknown[]; next: string | null }>('GET', q(at));
        if (!ev.items.length || !ev.next) return at;
        at = ev.next;
      }
    };
    let after: string | undefined;
    for (let i = 0; i <= bursts; i++) {
      after = await latest(after);
      const t0 = Date.now();
      await scale(replicas);
      const up = await until('the launch request', async () => {
        const ev = await api.ok<{ items: { reason: string; createdAt: string }[] }>('GET', q(after));
        const first = ev.items.find((e) => e.reason === 'AutoscalerScaleUp');
        return first && new Date(first.createdAt).getTime();
      }, 60_000, 50);
      await until('every pod Running', async () => {
        const pods = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=burst' });
        return pods.items.filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp).length === replicas;
      }, 300_000, 100);
      const running = Date.now();
      const added = (await workers()).filter((n) => !n.removalRequested).length;
      if (i > 0) {
        toRequest.push(up - t0);
        toRunning.push(running - t0);
        nodesAdded.push(added);
      }
      process.stdout.write(`burst ${i}${i === 0 ? ' (warm-up)' : ''}: launch requested after ${up - t0} ms, ${replicas} pods Running after ${running - t0} ms, ${added} node(s) added\n`);
      await scale(0);
      await until('the added nodes removed', async () => (await workers()).filter((n) => !n.removalRequested).length === 0, 120_000, 250);
      // the removed nodes' VMs terminate (at the scaled latency) before the next burst starts on a quiet installation
      await until('the removed nodes terminated', async () => (await workers()).length === 0, 120_000, 250);
    }
    await api.ok('DELETE', `/v1/clusters/${c.id}`);
    await until('the cluster deleted', async () => (await api.ok<{ phase: string }>('GET', `/v1/clusters/${c.id}`)).phase === 'Deleted', 180_000, 250);
  } finally {
    await stack.stop();
  }
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const rows: [string, string][] = [
    ['latency factor', `1/${factor} of realistic`],
    ['bursts x pods', `${bursts} x ${replicas} (2.5 vCPU, 2 GiB each)`],
    ['nodes added per burst', nodesAdded.join(', ')],
    ['to launch request p50 / p99', `${s(pct(toRequest, 50))} / ${s(pct(toRequest, 99))}`],
    ['to pods Running p50 / p99', `${s(pct(toRunning, 50))} / ${s(pct(toRunning, 99))}`],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n');
  process.stdout.write(`scale-up: pods to launch request p50 ${s(pct(toRequest, 50))} p99 ${s(pct(toRequest, 99))}; to Running p50 ${s(pct(toRunning, 50))} p99 ${s(pct(toRunning, 99))}\n`);
  const limit = o.maxRequestSeconds === undefined ? undefined : Number(o.maxRequestSeconds) * 1000;
  if (limit !== undefined && pct(toRequest, 50) > limit) {
    process.stderr.write(`bench:scale-up: p50 to the launch request ${s(pct(toRequest, 50))} is above the ${s(limit)} limit\n`);
    process.exit(1);
  }
  process.exit(0);
})().catch((e: unknown) => {
  process.stderr.write(`bench:scale-up failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
