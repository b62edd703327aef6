import * as k8s from '@kubernetes/client-node';
import { KubeHarness, nodeManifest, startHarness, until } from './support';

/**
 * PodDisruptionBudgets and the Eviction API, through the HTTP API with @kubernetes/client-node 1.4.0 and the real
 * kubectl. Expected answers are kube-apiserver's eviction handler's (pkg/registry/core/pod/storage/eviction.go) and
 * kube-controller-manager's disruption controller's (pkg/controller/disruption/disruption.go).
 *
 * The first part runs the API server alone and writes PDB statuses itself, standing in for the disruption
 * controller, so every rule of the handler is checked against a known status. The second runs kube-sim with it
 * (controllers and kubelets), as the sandbox's control plane does, and drains a node with kubectl.
 */

const MSG = "Cannot evict pod as it would violate the pod's disruption budget.";
type Fail = { code: number; body: Record<string, unknown>; headers: Record<string, string> };
const failure = (e: unknown): Fail => {
  const x = e as k8s.ApiException<string>;
  return { code: x.code, body: JSON.parse(x.body) as Record<string, unknown>, headers: x.headers };
};

describe('PodDisruptionBudgets and pods/eviction (API server alone, statuses written by the test)', () => {
  let h: KubeHarness;
  let core: k8s.CoreV1Api;
  let policy: k8s.PolicyV1Api;

  beforeAll(async () => {
    h = await startHarness();
    const kc = new k8s.KubeConfig();
    kc.loadFromString(h.kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
    policy = kc.makeApiClient(k8s.PolicyV1Api);
    await core.createNode({ body: nodeManifest('node-a', '10.5.0.11') as k8s.V1Node });
  });
  afterAll(async () => {
    await h.close();
  });

  /** A pod bound to node-a, Running, Ready or not (what its kubelet would have written). */
  async function runningPod(name: string, app: string, ready = true): Promise<void> {
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name, labels: { app } }, spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'nginx' }] } } });
    const p = await core.readNamespacedPod({ namespace: 'default', name });
    p.status = { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] };
    await core.replaceNamespacedPodStatus({ namespace: 'default', name, body: p });
  }
  /** Writes a PDB's status as the disruption controller would (observedGeneration = generation unless given). */
  async function setStatus(name: string, s: Partial<k8s.V1PodDisruptionBudgetStatus>): Promise<void> {
    const b = await policy.readNamespacedPodDisruptionBudget({ namespace: 'default', name });
    b.status = { observedGeneration: b.metadata!.generation, disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0, ...s };
    await policy.replaceNamespacedPodDisruptionBudgetStatus({ namespace: 'default', name, body: b });
  }
  const pdb = (name: string, app: string, spec: Partial<k8s.V1PodDisruptionBudgetSpec>): k8s.V1PodDisruptionBudget => ({ metadata: { name }, spec: { selector: { matchLabels: { app } }, ...spec } });
  const evict = (name: string, dryRun?: string) => core.createNamespacedPodEviction({ namespace: 'default', name, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'default' } }, ...(dryRun ? { dryRun } : {}) });
  const evictFails = (name: string) => evict(name).then(() => { throw new Error(`eviction of ${name} succeeded`); }, failure);
  const readPod = (name: string) => core.readNamespacedPod({ namespace: 'default', name });

  it('a new PDB has an empty status; one not yet processed (observedGeneration < generation) answers 429 "still being processed" with Retry-After 10', async () => {
    await runningPod('r1', 'r');
    await runningPod('r2', 'r');
    const created = await policy.createNamespacedPodDisruptionBudget({ namespace: 'default', body: pdb('r-pdb', 'r', { minAvailable: 1 }) });
    expect(created.metadata!.generation).toBe(1);
    expect(created.status).toEqual({ disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 });
    const f = await evictFails('r1');
    expect(f.code).toBe(429);
    expect(f.headers['retry-after']).toBe('10');
    expect(f.body).toEqual({
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: MSG, reason: 'TooManyRequests', code: 429,
      details: { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget r-pdb is still being processed by the server.' }], retryAfterSeconds: 10 },
    });
  });

  it('disruptionsAllowed 0: 429 with the budget\'s numbers, and the pod is left alone', async () => {
    await setStatus('r-pdb', { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 2 });
    const f = await evictFails('r1');
    expect(f.code).toBe(429);
    expect(f.headers['retry-after']).toBeUndefined();
    expect(f.body).toEqual({
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: MSG, reason: 'TooManyRequests', code: 429,
      details: { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget r-pdb needs 1 healthy pods and has 1 currently' }] },
    });
    const p = await readPod('r1');
    expect(p.metadata!.deletionTimestamp).toBeUndefined();
    expect(p.status!.conditions!.map((c) => c.type)).toEqual(['Ready']);
  });

  it('a dry run changes nothing; an eviction decrements disruptionsAllowed, records the pod in disruptedPods and marks it DisruptionTarget', async () => {
    await setStatus('r-pdb', { disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2, conditions: [{ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '', lastTransitionTime: new Date('2026-01-01T00:00:00Z') }] });
    const before = await policy.readNamespacedPodDisruptionBudget({ namespace: 'default', name: 'r-pdb' });
    await evict('r1', 'All');
    expect((await policy.readNamespacedPodDisruptionBudget({ namespace: 'default', name: 'r-pdb' })).metadata!.resourceVersion).toBe(before.metadata!.resourceVersion);
    expect((await readPod('r1')).metadata!.deletionTimestamp).toBeUndefined();

    // 201 with a Success Status (client-node reads it as a V1Eviction)
    await evict('r1');
    const after = await policy.readNamespacedPodDisruptionBudget({ namespace: 'default', name: 'r-pdb' });
    expect(after.status).toMatchObject({ disruptionsAllowed: 0, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2, observedGeneration: 1 });
    expect(Object.keys(after.status!.disruptedPods!)).toEqual(['r1']);
    expect(after.status!.conditions).toEqual([expect.objectContaining({ type: 'DisruptionAllowed', status: 'False', reason: 'InsufficientPods' })]);
    const p = await readPod('r1');
    expect(p.metadata!.deletionTimestamp).toBeDefined();
    expect(p.metadata!.deletionGracePeriodSeconds).toBe(30);
    expect(p.status!.conditions).toContainEqual(expect.objectContaining({ type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting' }));
    // a pod already being deleted is evicted again without consulting the (now exhausted) budget
    await evict('r1');
  });

  it('a pod covered by two PDBs: 500 "more than one PodDisruptionBudget" (no reason)', async () => {
    await policy.createNamespacedPodDisruptionBudget({ namespace: 'default', body: pdb('r-pdb-2', 'r', { maxUnavailable: 1 }) });
    const f = await evictFails('r2');
    expect(f.code).toBe(500);
    expect(f.body).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.', code: 500 });
    await policy.deleteNamespacedPodDisruptionBudget({ namespace: 'default', name: 'r-pdb-2' });
  });

  it('a negative disruptionsAllowed is 403; a Pending pod is evicted without consulting the budget', async () => {
    await setStatus('r-pdb', { disruptionsAllowed: -1, currentHealthy: 0, desiredHealthy: 1, expectedPods: 2 });
    const f = await evictFails('r2');
    expect(f.code).toBe(403);
    expect(f.body).toMatchObject({ reason: 'Forbidden', message: 'poddisruptionbudget.policy "r-pdb" is forbidden: pdb disruptions allowed is negative' });
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'r-pending', labels: { app: 'r' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } });
    await evict('r-pending');
    expect(await readPod('r-pending').then(() => 200, (e: k8s.ApiException<string>) => e.code)).toBe(404);
  });

  it('a pod that is not Ready goes without decrementing while the budget is met; otherwise only with unhealthyPodEvictionPolicy AlwaysAllow', async () => {
    await runningPod('u1', 'u', false);
    await runningPod('u2', 'u', false);
    await runningPod('u3', 'u');
    await policy.createNamespacedPodDisruptionBudget({ namespace: 'default', body: pdb('u-pdb', 'u', { minAvailable: 1 }) });
    await setStatus('u-pdb', { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 3 });
    await evict('u1');
    expect((await readPod('u1')).metadata!.deletionTimestamp).toBeDefined();
    expect((await policy.readNamespacedPodDisruptionBudget({ namespace: 'default', name: 'u-pdb' })).status).toMatchObject({ disruptionsAllowed: 0 });
    // the budget is not met: an unready pod is then held like any other
    await setStatus('u-pdb', { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 1, expectedPods: 3 });
    expect((await evictFails('u2')).body).toMatchObject({ code: 429, details: { causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget u-pdb needs 1 healthy pods and has 0 currently' }] } });
    await policy.patchNamespacedPodDisruptionBudget({ namespace: 'default', name: 'u-pdb', body: { spec: { unhealthyPodEvictionPolicy: 'AlwaysAllow' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await evict('u2');
    expect((await readPod('u2')).metadata!.deletionTimestamp).toBeDefined();
    // a Ready pod still needs the budget
    expect((await evictFails('u3')).code).toBe(429);
  });

  it('refuses a malformed PDB (422) and an Eviction naming another pod (400)', async () => {
    const both = await policy.createNamespacedPodDisruptionBudget({ namespace: 'default', body: pdb('bad', 'x', { minAvailable: 1, maxUnavailable: 1 }) }).then(() => undefined, failure);
    expect(both?.code).toBe(422);
    expect(String(both?.body['message'])).toContain('minAvailable and maxUnavailable cannot be both set');
    const pct = await policy.createNamespacedPodDisruptionBudget({ namespace: 'default', body: pdb('bad', 'x', { maxUnavailable: '150%' }) }).then(() => undefined, failure);
    expect(pct?.body['message']).toBe('PodDisruptionBudget.policy "bad" is invalid: spec.maxUnavailable: Invalid value: "150%": must not be greater than 100%');
    const other = await core.createNamespacedPodEviction({ namespace: 'default', name: 'r2', body: { metadata: { name: 'u3' } } }).then(() => undefined, failure);
    expect(other).toMatchObject({ code: 400, body: { reason: 'BadRequest', message: 'name in URL does not match name in Eviction object' } });
  });
});

describe('PodDisruptionBudgets with kube-sim\'s disruption controller, and kubectl drain', () => {
  let h: KubeHarness;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let policy: k8s.PolicyV1Api;

  beforeAll(async () => {
    // a pod start long enough that a drain's parallel evictions always meet the exhausted budget first
    h = await startHarness({ sim: { kubelet: { podStartDelayMs: 1500 }, batchMs: 50, onError: () => undefined } });
    const kc = new k8s.KubeConfig();
    kc.loadFromString(h.kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    policy = kc.makeApiClient(k8s.PolicyV1Api);
    for (const [i, name] of ['worker-a', 'worker-b'].entries()) {
      await h.sim!.joinNode({ name, vcpu: 2, memoryMiB: 4096, instanceType: 't3.medium', region: 'us-east-1', zone: 'us-east-1a', cloud: 'aws', nodeId: `node-${i}`, controlPlane: false, internalIP: `10.6.0.${10 + i}`, podCIDR: `10.244.${i}.0/24` });
    }
  });
  afterAll(async () => {
    await h.close();
  });

  const status = async (name: string) => (await policy.readNamespacedPodDisruptionBudget({ namespace: 'default', name })).status;
  const readyPods = async (app: string) => (await core.listNamespacedPod({ namespace: 'default', labelSelector: `app=${app}` })).items
    .filter((p) => !p.metadata!.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  const deployment = (name: string, replicas: number): k8s.V1Deployment => ({
    metadata: { name }, spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] } } },
  });

  it('computes status from the Deployment\'s scale: minAvailable 50% of 3 needs 2, of 5 needs 3', async () => {
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('api', 3) });
    await policy.createNamespacedPodDisruptionBudget({ namespace: 'default', body: { metadata: { name: 'api' }, spec: { minAvailable: '50%', selector: { matchLabels: { app: 'api' } } } } });
    const want = (expectedPods: number, desiredHealthy: number) => until(async () => {
      const s = await status('api');
      return s?.expectedPods === expectedPods && s.currentHealthy === expectedPods && s.desiredHealthy === desiredHealthy ? s : undefined;
    }, `api PDB with ${expectedPods} expected pods`);
    const s = await want(3, 2);
    expect(s).toMatchObject({ disruptionsAllowed: 1, observedGeneration: 1 });
    expect(s.conditions).toEqual([expect.objectContaining({ type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '' })]);
    await apps.patchNamespacedDeploymentScale({ namespace: 'default', name: 'api', body: { spec: { replicas: 5 } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    expect(await want(5, 3)).toMatchObject({ disruptionsAllowed: 2 });
    await apps.deleteNamespacedDeployment({ namespace: 'default', name: 'api' });
    await policy.deleteNamespacedPodDisruptionBudget({ namespace: 'default', name: 'api' });
  });

  it('kubectl drain of a node whose two pods a maxUnavailable 1 PDB covers: one eviction at a time, the second retried after 429 until the replacement is Ready', async () => {
    expect((await h.kubectl('cordon', 'worker-b')).code).toBe(0);
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('web', 2) });
    await until(async () => ((await readyPods('web')).length === 2 ? true : undefined), 'two Ready web pods');
    expect((await readyPods('web')).map((p) => p.spec!.nodeName)).toEqual(['worker-a', 'worker-a']);
    expect((await h.kubectl('uncordon', 'worker-b')).code).toBe(0);
    await policy.createNamespacedPodDisruptionBudget({ namespace: 'default', body: { metadata: { name: 'web' }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } } } });
    await until(async () => ((await status('web'))?.disruptionsAllowed === 1 ? true : undefined), 'web PDB allowing one disruption');
    expect(await status('web')).toMatchObject({ expectedPods: 2, currentHealthy: 2, desiredHealthy: 1, disruptionsAllowed: 1, observedGeneration: 1 });
    const table = (await h.kubectl('get', 'pdb', 'web')).stdout.trim().split('\n').map((l) => l.trim().split(/\s{2,}/));
    expect(table[0]).toEqual(['NAME', 'MIN AVAILABLE', 'MAX UNAVAILABLE', 'ALLOWED DISRUPTIONS', 'AGE']);
    expect(table[1].slice(0, 4)).toEqual(['web', 'N/A', '1', '1']);

    const r = await h.kubectl('drain', 'worker-a', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=90s');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('node/worker-a drained');
    expect((r.stdout.match(/pod\/web-[a-z0-9-]+ evicted/g) ?? []).length).toBe(2);
    // the second eviction met the exhausted budget and kubectl retried it
    expect(r.stderr).toMatch(/error when evicting pods\/"web-[a-z0-9-]+" -n "default" \(will retry after 5s\): Cannot evict pod as it would violate the pod's disruption budget\./);

    await until(async () => ((await readyPods('web')).length === 2 ? true : undefined), 'two Ready web pods again');
    expect((await readyPods('web')).map((p) => p.spec!.nodeName)).toEqual(['worker-b', 'worker-b']);
    await until(async () => ((await status('web'))?.disruptionsAllowed === 1 ? true : undefined), 'web PDB allowing one disruption again');
    expect(await status('web')).toMatchObject({ expectedPods: 2, currentHealthy: 2, desiredHealthy: 1 });
    expect((await status('web'))?.disruptedPods ?? {}).toEqual({});
  });
});
