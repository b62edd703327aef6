import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { allocatableOf, type Offering } from '@skyweave/autoscaling';
import { createPriceReaderFor, type CloudCredentials, type CloudEndpoints } from '@skyweave/cloud-adapters';
import { findRegion, type CloudId } from '@skyweave/domain';
import { ApiClient, sandboxAccount, sandboxResources } from '@skyweave/tools/stack/api';
import { kubectl } from '@skyweave/tools/stack/kubectl';
import { ensureLocalServices } from '@skyweave/tools/stack/services';
import { Stack, startStack } from '@skyweave/tools/stack/stack';
import { waitFor } from '../support/wait';

interface NodeView { id: string; name: string; cloud: CloudId; role: string; origin: string; phase: string; instanceType: string; removalRequested: boolean }
interface ClusterView { id: string; phase: string; nodes: NodeView[] }
interface EventItem { id: string; type: string; reason: string; message: string; createdAt?: string }
interface AutoscalerView {
  policy: { enabled: boolean; version: number }; hourlyCostUsd: number; costByCloud: Record<string, number>;
  inFlight: unknown[]; pendingPods: unknown[]; lastDecision: { kind: string; launches?: { cloud: CloudId; instanceType: string; usdPerHour: number }[] } | null;
  prices: Record<string, { source: string; stale: boolean }>;
}
interface PodList { items: { metadata: { name: string; deletionTimestamp?: string }; spec: { nodeName?: string }; status: { phase?: string } }[] }

const CLOUDS: CloudId[] = ['aws', 'gcp', 'azure'];

/**
 * The autoscaler end to end (issue 13): every service a separate process, the sandbox's kubeadm control plane and
 * kube-sim scheduler, the real kubectl. Pods that do not fit get a node on the cheapest offering across the cluster's
 * clouds (checked against the clouds' price APIs read here with the same readers), a quota refusal on that cloud makes
 * the next choice win within seconds, and a deployment scaled to 0 leaves empty nodes that are removed after the delay.
 */
describe('the autoscaler scales a cluster across clouds at the lowest price', () => {
  let stack: Stack;
  let api: ApiClient;
  let clusterId: string;
  let dir: string;
  let kubeconfig: string;
  let endpoints: CloudEndpoints;
  const credentials = {} as Record<CloudId, Record<string, unknown>>;

  const get = () => api.ok<ClusterView>('GET', `/v1/clusters/${clusterId}`);
  const events = async () => (await api.ok<{ items: EventItem[] }>('GET', `/v1/clusters/${clusterId}/events?limit=500`)).items;
  const k = async (...args: string[]) => {
    const r = await kubectl(kubeconfig, args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited with ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const runningPods = async (app: string) => (JSON.parse(await k('get', 'pods', '-l', `app=${app}`, '-o', 'json')) as PodList).items.filter((p) => p.status.phase === 'Running' && !p.metadata.deletionTimestamp);
  const live = (c: ClusterView) => c.nodes.filter((n) => n.phase !== 'Terminated' && !n.removalRequested);

  /** Every offering of the cluster's clouds, read through the clouds' price APIs as the autoscaler reads them. */
  async function offerings(): Promise<Offering[]> {
    const region = findRegion('us-east');
    const out: Offering[] = [];
    for (const cloud of CLOUDS) {
      const place = region?.clouds[cloud];
      if (!place) continue;
      const list = await createPriceReaderFor({ cloud, [cloud]: credentials[cloud] } as unknown as CloudCredentials, endpoints).read(place.region);
      out.push(...list.map((o) => ({ ...o, zone: place.zone })));
    }
    return out;
  }

  beforeAll(async () => {
    await ensureLocalServices(() => undefined);
    stack = await startStack({
      bootMs: 300,
      env: { SKYWEAVE_RECONCILE_POLL_SECONDS: '1', SKYWEAVE_REDRIVE_SECONDS: '1', SKYWEAVE_AUTOSCALER_TICK_MS: '250' },
    });
    api = new ApiClient(stack.apiUrl, stack.apiKey);
    endpoints = JSON.parse(readFileSync(path.join(stack.workDir, 'endpoints.json'), 'utf8')) as CloudEndpoints;
    for (const cloud of CLOUDS) {
      credentials[cloud] = await sandboxAccount(stack.adminUrl, cloud);
      await api.ok('POST', '/v1/cloud-credentials', { cloud, credentials: credentials[cloud] });
    }
    dir = mkdtempSync(path.join(tmpdir(), 'sw-autoscaler-e2e-'));
    kubeconfig = path.join(dir, 'kubeconfig');
    const created = await api.ok<ClusterView>('POST', '/v1/clusters', {
      name: 'autoscale', region: 'us-east', clouds: CLOUDS, controlPlane: { cloud: 'aws', count: 1 }, workers: [{ cloud: 'aws', count: 1 }],
    });
    clusterId = created.id;
    await waitFor('the cluster Ready', async () => (await get()).phase === 'Ready');
    const res = await api.call<string>('GET', `/v1/clusters/${clusterId}/kubeconfig`);
    writeFileSync(kubeconfig, res.body, { mode: 0o600 });
  });
  afterAll(async () => {
    if (clusterId && api) {
      await api.call('DELETE', `/v1/clusters/${clusterId}`);
      await waitFor('the cluster deleted', async () => (await get()).phase === 'Deleted', 120_000).catch(() => undefined);
    }
    const left = stack ? (await sandboxResources(stack.adminUrl)).length : 0;
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(left).toBe(0);
  });

  it('is off until enabled; once enabled, a pod that fits no node gets a node on the cheapest offering of the three clouds and runs', async () => {
    await k('create', 'deployment', 'big', '--image=nginx', '--replicas=1');
    // more than the worker (t3.medium: 1930m allocatable) can hold
    await k('set', 'resources', 'deployment', 'big', '--requests=cpu=2500m,memory=2Gi');
    await waitFor('the pod Unschedulable', async () => (await api.ok<AutoscalerView>('GET', `/v1/clusters/${clusterId}/autoscaler`)).pendingPods.length === 1);
    await new Promise((r) => setTimeout(r, 2000));
    expect(live(await get()).filter((n) => n.origin === 'autoscaler')).toEqual([]); // the policy is off by default

    const policy = await api.ok<{ version: number; policy: Record<string, unknown> }>('GET', `/v1/clusters/${clusterId}/policies`);
    await api.ok('PUT', `/v1/clusters/${clusterId}/policies`, {
      ...policy.policy, enabled: true, clusterLimits: { cpu: { minCores: 2, maxCores: 32 } },
      nodeDownscaler: { enabled: true, emptyNodes: { enabled: true, delaySeconds: 5 }, underutilized: { enabled: false, thresholdPercent: 50, delaySeconds: 600 } },
    });
    const added = await waitFor('an autoscaler node', async () => live(await get()).find((n) => n.origin === 'autoscaler'), 30_000);
    // the cheapest amd64 offering (the pod names no architecture) whose allocatable holds 2.5 vCPU and 2 GiB, across
    // every cloud's price API
    const fits = (await offerings()).filter((o) => o.architecture === 'amd64' && allocatableOf(o).cpuMillicores >= 2500 && allocatableOf(o).memoryMiB >= 2048);
    const cheapest = Math.min(...fits.map((o) => o.usdPerHour));
    const chosen = fits.find((o) => o.cloud === added.cloud && o.instanceType === added.instanceType);
    expect(chosen?.usdPerHour).toBe(cheapest);
    const ev = (await events()).find((e) => e.reason === 'AutoscalerScaleUp');
    expect(ev?.message).toContain(`${added.name}, ${added.instanceType}`);
    expect(ev?.message).toMatch(/default\/big-/);

    await waitFor('the pod Running on the new node', async () => {
      const ps = await runningPods('big');
      return ps.length === 1 && ps[0].spec.nodeName === added.name;
    }, 90_000);
    const status = await api.ok<AutoscalerView>('GET', `/v1/clusters/${clusterId}/autoscaler`);
    expect(status.policy.enabled).toBe(true);
    expect(Object.keys(status.prices).sort()).toEqual([...CLOUDS].sort());
    expect(status.costByCloud[added.cloud]).toBeGreaterThan(0);
    // the first worker, empty, may already be gone (5 s delay, cores above minCores): then the last decision is that
    // scale-down — never one of the node just added, which still runs the pod
    const last = status.lastDecision?.kind;
    expect(['scale-up', 'scale-down']).toContain(last);
    if (last === 'scale-down') expect(live(await get()).map((n) => n.name)).toContain(added.name);
  });

  it('when the cheapest cloud refuses the launch for quota, the next choice is launched within seconds and the pod runs', async () => {
    const before = live(await get()).find((n) => n.origin === 'autoscaler') as NodeView;
    const refused = before.cloud;
    const fault = await fetch(`${stack.adminUrl}/admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cloud: refused, op: 'instance.create', kind: 'quota', rate: 1 }) });
    expect(fault.status).toBe(201);
    try {
      await k('scale', 'deployment', 'big', '--replicas=2');
      const refusal = await waitFor('the launch refused', async () => (await events()).find((e) => e.reason === 'AutoscalerLaunchRefused'), 60_000);
      expect(refusal.message).toMatch(/QuotaExceeded/);
      const t0 = Date.now();
      const other = await waitFor('a node on another cloud', async () => live(await get()).find((n) => n.origin === 'autoscaler' && n.cloud !== refused), 30_000);
      expect(Date.now() - t0).toBeLessThan(15_000);
      await waitFor('both pods Running', async () => (await runningPods('big')).length === 2 && (await runningPods('big')).some((p) => p.spec.nodeName === other.name), 90_000);
    } finally {
      await fetch(`${stack.adminUrl}/admin/faults?cloud=${refused}`, { method: 'DELETE' });
    }
  });

  it('scaled to 0, the empty workers are removed after the delay, down to minCores', async () => {
    await k('scale', 'deployment', 'big', '--replicas=0');
    const done = await waitFor('the empty workers removed', async () => {
      const c = await get();
      const workers = live(c).filter((n) => n.role === 'worker');
      return workers.length === 1 && c;
    }, 90_000);
    expect(live(done).filter((n) => n.role === 'master')).toHaveLength(1);
    const downs = (await events()).filter((e) => e.reason === 'AutoscalerScaleDown');
    expect(downs.length).toBeGreaterThanOrEqual(2);
    expect(downs[0].message).toMatch(/has run no pods but DaemonSet and mirror pods for \d+ s \(emptyNodes\.delaySeconds 5\); cordoned and removed/);
    await waitFor('removed nodes terminated', async () => (await get()).nodes.every((n) => !n.removalRequested || n.phase === 'Terminated'), 60_000);
  });
});
