import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { Offering } from '@skyweave/autoscaling';
import { DEFAULT_AUTOSCALING_POLICY, type AutoscalingPolicy, type CloudId } from '@skyweave/domain';
import { ClusterKubeView, NODE_ID_LABEL } from '@skyweave/kube-view';
import type { WatchedCluster } from '@skyweave/persistence';
import { Autoscaler, DEFAULT_AUTOSCALER_SETTINGS, withDefaultArchitecture, type OfferingSource } from './autoscaler';
import type { EvictionOutcome, KubeActions } from './kube-actions';
import type { AutoscalerEvent, AutoscalerStatus, AutoscalerStore, ClusterSnapshot, LaunchOutcome, NodeRow } from './store';

const CLUSTER = 'c1';
const ORG = 'o1';

const offering = (cloud: CloudId, instanceType: string, vcpu: number, memoryMiB: number, usdPerHour: number): Offering => ({
  cloud, region: cloud === 'aws' ? 'us-east-1' : 'us-east4', zone: cloud === 'aws' ? 'us-east-1a' : 'us-east4-a', instanceType, family: instanceType.split(/[.-]/)[0], vcpu, memoryMiB, architecture: 'amd64', usdPerHour,
});
const arm = (o: Offering): Offering => ({ ...o, architecture: 'arm64' });
const OFFERINGS = [
  arm(offering('aws', 't4g.medium', 2, 4096, 0.0336)),
  offering('aws', 't3.medium', 2, 4096, 0.0416), offering('aws', 'm5.xlarge', 4, 16384, 0.192),
  offering('gcp', 'e2-standard-2', 2, 8192, 0.067), offering('gcp', 'e2-standard-4', 4, 16384, 0.134),
];

class FakeStore implements AutoscalerStore {
  nodes: NodeRow[] = [];
  events: AutoscalerEvent[] = [];
  statuses: AutoscalerStatus[] = [];
  policyValue: AutoscalingPolicy = { ...DEFAULT_AUTOSCALING_POLICY, enabled: true };
  cluster = async (): Promise<{ cluster: ClusterSnapshot; nodes: NodeRow[] }> => ({
    cluster: { id: CLUSTER, organisationId: ORG, name: 'c', phase: 'Ready', deleting: false, spec: { name: 'c', region: 'us-east', clouds: ['aws', 'gcp'], controlPlane: { cloud: 'aws', count: 1, instanceType: 't3.medium' }, workers: [], kubernetesVersion: '1.31.4' } },
    nodes: this.nodes.map((n) => ({ ...n })),
  });
  policy = async () => ({ version: 1, policy: this.policyValue });
  launch = async (_o: string, _c: string, req: { cloud: CloudId; instanceType: string; message: (name: string) => string }): Promise<LaunchOutcome> => {
    const name = `c-worker-${this.nodes.length}`;
    const id = `n${this.nodes.length}`;
    this.nodes.push(row(id, name, req.cloud, req.instanceType, { origin: 'autoscaler', phase: 'Pending' }));
    this.events.push({ type: 'Normal', reason: 'AutoscalerScaleUp', message: req.message(name) });
    return { ok: true, nodeId: id, name };
  };
  remove = async (_o: string, _c: string, nodeId: string, e: AutoscalerEvent) => {
    const n = this.nodes.find((x) => x.id === nodeId);
    if (!n || n.removalRequested) return false;
    n.removalRequested = true;
    this.events.push(e);
    return true;
  };
  event = async (_o: string, _c: string, e: AutoscalerEvent) => {
    this.events.push(e);
  };
  status = async (_o: string, _c: string, s: AutoscalerStatus) => {
    this.statuses.push(s);
  };
}

class FakeKube implements KubeActions {
  cordoned = new Set<string>();
  evicted: string[] = [];
  blocked = false;
  setUnschedulable = async (_c: WatchedCluster, node: string, on: boolean) => {
    if (on) this.cordoned.add(node);
    else this.cordoned.delete(node);
  };
  evict = async (_c: WatchedCluster, namespace: string, name: string): Promise<EvictionOutcome> => {
    if (this.blocked) return { kind: 'blocked', message: 'Cannot evict pod as it would violate the pod\'s disruption budget.' };
    this.evicted.push(`${namespace}/${name}`);
    return { kind: 'evicted' };
  };
  forget = () => undefined;
}

function row(id: string, name: string, cloud: CloudId, instanceType: string, o: Partial<NodeRow> = {}): NodeRow {
  return { id, name, role: 'worker', cloud, instanceType, phase: 'Joined', origin: 'spec', removalRequested: false, instanceId: `i-${id}`, waitingReason: null, createdAt: new Date(0), joinedAt: new Date(0), ...o };
}

function kubeNode(name: string, id: string, cloud: CloudId, type: string, o: { cpu?: string; memory?: string; master?: boolean; doNotDisrupt?: boolean } = {}): V1Node {
  return {
    metadata: {
      name, labels: { [NODE_ID_LABEL]: id, 'skyweave.io/cloud': cloud, 'node.kubernetes.io/instance-type': type, 'kubernetes.io/arch': 'amd64', 'kubernetes.io/os': 'linux' },
      annotations: o.doNotDisrupt ? { 'autoscaling.skyweave.io/do-not-disrupt': 'true' } : {},
    },
    spec: o.master ? { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] } : {},
    status: { conditions: [{ type: 'Ready', status: 'True' }], allocatable: { cpu: o.cpu ?? '1930m', memory: o.memory ?? '2972Mi', pods: '110' } },
  };
}

function pod(name: string, o: { node?: string; cpu?: string; memory?: string; daemonSet?: boolean; selector?: Record<string, string> } = {}): V1Pod {
  return {
    metadata: { name, namespace: 'default', ownerReferences: o.daemonSet ? [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ds', uid: 'u', controller: true }] : [] },
    spec: { nodeName: o.node, nodeSelector: o.selector, containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: o.cpu ?? '100m', memory: o.memory ?? '64Mi' } } }] },
    status: o.node ? { phase: 'Running' } : { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/2 nodes are available: 2 Insufficient cpu.' }] },
  };
}

describe('Autoscaler', () => {
  let now: number;
  let store: FakeStore;
  let kube: FakeKube;
  let view: ClusterKubeView;
  let a: Autoscaler;
  let offerings: Offering[];
  let priceCalls: CloudId[];
  let failing: Set<CloudId>;
  const watched: WatchedCluster = { id: CLUSTER, organisationId: ORG, caCertificate: '', caKeySealed: '', nodes: [] };

  beforeEach(() => {
    now = 1_000_000;
    store = new FakeStore();
    kube = new FakeKube();
    view = new ClusterKubeView(() => now);
    offerings = [...OFFERINGS];
    priceCalls = [];
    failing = new Set();
    const source: OfferingSource = {
      offerings: async (_o, cloud) => {
        priceCalls.push(cloud);
        if (failing.has(cloud)) throw new Error(`AccessDeniedException: not authorized to perform pricing:GetProducts`);
        return { offerings: offerings.filter((x) => x.cloud === cloud), source: `${cloud} price API`, pricedAt: '2026-12-03T00:00:00Z', stale: false };
      },
    };
    a = new Autoscaler({
      views: { clusterIds: () => [CLUSTER], view: () => view, watched: () => watched },
      store, offerings: source, kube, log: { info: () => undefined, warn: () => undefined }, settings: DEFAULT_AUTOSCALER_SETTINGS, clock: () => now,
    });
    store.nodes.push(row('m0', 'c-master-0', 'aws', 't3.medium', { role: 'master' }), row('w0', 'c-worker-0', 'aws', 't3.medium'));
    view.upsertNode(kubeNode('c-master-0', 'm0', 'aws', 't3.medium', { master: true }));
    view.upsertNode(kubeNode('c-worker-0', 'w0', 'aws', 't3.medium'));
    view.upsertPod(pod('keep', { node: 'c-worker-0', cpu: '1500m' }));
  });

  const launches = () => store.events.filter((e) => e.reason === 'AutoscalerScaleUp');

  it('batches unschedulable pods (1 s idle), buys the cheapest node that holds them, and counts it as capacity afterwards', async () => {
    view.upsertPod(pod('web-1', { cpu: '1500m', memory: '1Gi' }));
    await a.tick();
    expect(launches()).toHaveLength(0); // inside the batch window
    now += 1000;
    await a.tick();
    expect(launches()).toHaveLength(1);
    expect(store.nodes.at(-1)).toMatchObject({ cloud: 'aws', instanceType: 't3.medium', origin: 'autoscaler' });
    expect(launches()[0].message).toMatch(/Scale-up: 1 unschedulable pod\(s\) \(default\/web-1\) → c-worker-2, t3\.medium .* on AWS us-east-1 at \$0\.0416\/h/);
    // the pod is still pending while the node boots: the in-flight node takes it, nothing more is bought
    now += 5000;
    await a.tick();
    now += 5000;
    await a.tick();
    expect(launches()).toHaveLength(1);
    const status = store.statuses.at(-1) as AutoscalerStatus;
    expect(status.inFlight).toEqual([expect.objectContaining({ name: 'c-worker-2', cloud: 'aws', instanceType: 't3.medium', usdPerHour: 0.0416 })]);
    expect(status.costByCloud).toEqual({ aws: 0.1248 });
    expect(status.pendingPods).toEqual([expect.objectContaining({ name: 'web-1', cpuMillicores: 1500 })]);
  });

  it('decides at the latest 10 s after the first pending pod even when pods keep arriving', async () => {
    for (let i = 0; i < 12; i++) {
      view.upsertPod(pod(`p-${i}`, { cpu: '1500m' }));
      await a.tick();
      if (i === 10) expect(launches()).toHaveLength(0); // 9 s: still batching
      now += 900;
    }
    await a.tick(); // 10.8 s after the first, 0.9 s after the last
    expect(launches().length).toBeGreaterThan(0);
  });

  it('honours the policy: off ⇒ nothing; allowed clouds; nodeSelector on skyweave.io/cloud', async () => {
    store.policyValue = { ...store.policyValue, enabled: false };
    view.upsertPod(pod('web-1', { cpu: '1500m' }));
    await a.tick();
    now += 2000;
    await a.tick();
    expect(launches()).toHaveLength(0);
    store.policyValue = { ...store.policyValue, enabled: true };
    view.upsertPod(pod('gcp-only', { cpu: '1500m', selector: { 'skyweave.io/cloud': 'gcp' } }));
    await a.tick();
    now += 1000;
    await a.tick();
    expect(store.nodes.filter((n) => n.origin === 'autoscaler').map((n) => n.cloud).sort()).toEqual(['aws', 'gcp']);
  });

  it('falls back to the next cheapest choice when the cloud refuses the launch for quota, and avoids it for a while', async () => {
    view.upsertPod(pod('web-1', { cpu: '1500m' }));
    await a.tick();
    now += 1000;
    await a.tick();
    const first = store.nodes.at(-1) as NodeRow;
    expect(first.instanceType).toBe('t3.medium');
    first.waitingReason = 'QuotaExceeded';
    first.instanceId = null;
    now += 500;
    await a.tick();
    expect(store.events.find((e) => e.reason === 'AutoscalerLaunchRefused')?.message).toMatch(/AWS refused t3\.medium for c-worker-2 \(QuotaExceeded\)/);
    expect(first.removalRequested).toBe(true);
    const second = store.nodes.at(-1) as NodeRow;
    expect(second).toMatchObject({ cloud: 'gcp', instanceType: 'e2-standard-2' });
    expect(launches()[1].message).toContain('e2-standard-2');
  });

  it('removes an empty worker after emptyNodes.delaySeconds (cordoned first), never a master, never below minCores, never do-not-disrupt', async () => {
    store.policyValue = { ...store.policyValue, nodeDownscaler: { enabled: true, emptyNodes: { enabled: true, delaySeconds: 60 }, underutilized: { enabled: false, thresholdPercent: 50, delaySeconds: 600 } } };
    store.nodes.push(row('w1', 'c-worker-1', 'aws', 't3.medium'), row('w2', 'c-worker-2', 'gcp', 'e2-standard-2'));
    view.upsertNode(kubeNode('c-worker-1', 'w1', 'aws', 't3.medium', { doNotDisrupt: true }));
    view.upsertNode(kubeNode('c-worker-2', 'w2', 'gcp', 'e2-standard-2'));
    view.upsertPod(pod('ds-a', { node: 'c-worker-2', daemonSet: true }));
    await a.tick();
    now += 59_000;
    await a.tick();
    expect(store.events.filter((e) => e.reason === 'AutoscalerScaleDown')).toHaveLength(0);
    now += 1000;
    await a.tick();
    const downs = store.events.filter((e) => e.reason === 'AutoscalerScaleDown');
    expect(downs).toHaveLength(1);
    expect(downs[0].message).toMatch(/c-worker-2 .* has run no pods but DaemonSet and mirror pods for 60 s/);
    expect(kube.cordoned.has('c-worker-2')).toBe(true);
    expect(store.nodes.find((n) => n.id === 'w2')?.removalRequested).toBe(true);
    expect(store.nodes.find((n) => n.id === 'm0')?.removalRequested).toBe(false);
    expect(store.nodes.find((n) => n.id === 'w1')?.removalRequested).toBe(false);

    // minCores: the workers' 4 vCPU left may not go below 4
    store.policyValue = { ...store.policyValue, clusterLimits: { cpu: { minCores: 4, maxCores: 64 } } };
    view.upsertNode(kubeNode('c-worker-1', 'w1', 'aws', 't3.medium'));
    view.deletePod(pod('keep', { node: 'c-worker-0' }));
    now += 120_000;
    await a.tick();
    now += 120_000;
    await a.tick();
    expect(store.nodes.filter((n) => n.removalRequested).map((n) => n.id)).toEqual(['w2']);
  });

  it('drains an underutilized worker whose pods fit elsewhere through evictions, waits while a budget refuses, and removes it once empty', async () => {
    store.policyValue = { ...store.policyValue, nodeDownscaler: { enabled: true, emptyNodes: { enabled: true, delaySeconds: 60 }, underutilized: { enabled: true, thresholdPercent: 50, delaySeconds: 30 } } };
    store.nodes.push(row('w1', 'c-worker-1', 'gcp', 'e2-standard-4'));
    view.upsertNode(kubeNode('c-worker-1', 'w1', 'gcp', 'e2-standard-4', { cpu: '3920m', memory: '13000Mi' }));
    view.upsertPod(pod('small', { node: 'c-worker-1', cpu: '200m' }));
    await a.tick();
    now += 30_000;
    kube.blocked = true;
    await a.tick();
    expect(kube.cordoned.has('c-worker-1')).toBe(true);
    expect(store.events.find((e) => e.reason === 'AutoscalerDrainBlocked')?.message).toMatch(/Eviction of default\/small from c-worker-1 refused: Cannot evict pod/);
    kube.blocked = false;
    now += 1000;
    await a.tick();
    expect(kube.evicted).toEqual(['default/small']);
    view.deletePod(pod('small', { node: 'c-worker-1' }));
    now += 1000;
    await a.tick();
    expect(store.nodes.find((n) => n.id === 'w1')?.removalRequested).toBe(true);
    expect(store.events.at(-1)?.message).toMatch(/c-worker-1 drained in \d+ s .*; removed/);
  });

  it('removes the dearest empty worker first, so the cheapest stays when minCores keeps one', async () => {
    store.policyValue = { ...store.policyValue, clusterLimits: { cpu: { minCores: 4, maxCores: 64 } }, nodeDownscaler: { enabled: true, emptyNodes: { enabled: true, delaySeconds: 10 }, underutilized: { enabled: false, thresholdPercent: 50, delaySeconds: 600 } } };
    view.deletePod(pod('keep', { node: 'c-worker-0' }));
    store.nodes.push(row('w1', 'c-worker-1', 'aws', 'm5.xlarge'), row('w2', 'c-worker-2', 'gcp', 'e2-standard-4'));
    view.upsertNode(kubeNode('c-worker-1', 'w1', 'aws', 'm5.xlarge', { cpu: '3920m' }));
    view.upsertNode(kubeNode('c-worker-2', 'w2', 'gcp', 'e2-standard-4', { cpu: '3920m' }));
    await a.tick();
    now += 10_000;
    await a.tick();
    // 10 vCPU of workers, minCores 4: dearest first, the m5.xlarge ($0.192) goes (6 left); the e2-standard-4 ($0.134)
    // would leave 2, so it stays; the t3.medium ($0.0416) goes (4 left): the cheapest set holding minCores remains
    expect(store.nodes.filter((n) => n.removalRequested).map((n) => n.id).sort()).toEqual(['w0', 'w1']);
    now += 10_000;
    await a.tick();
    expect(store.nodes.filter((n) => n.removalRequested).map((n) => n.id).sort()).toEqual(['w0', 'w1']);
  });

  it('buys amd64 for a pod that says nothing of its architecture, arm64 when the pod allows it', async () => {
    view.upsertPod(pod('any', { cpu: '1500m' }));
    const armPod = pod('arm', { cpu: '1500m', selector: { 'kubernetes.io/arch': 'arm64' } });
    view.upsertPod(armPod);
    await a.tick();
    now += 1000;
    await a.tick();
    expect(store.nodes.filter((n) => n.origin === 'autoscaler').map((n) => n.instanceType).sort()).toEqual(['t3.medium', 't4g.medium']);
    expect(withDefaultArchitecture({ key: 'a/b', requests: { cpuMillicores: 1, memoryMiB: 1 }, requiredNodeAffinity: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] }] }] }).nodeSelector).toBeUndefined();
  });

  it('leaves a cloud whose price API refuses out of decisions, and asks it again after a minute, not every tick', async () => {
    failing.add('aws');
    view.upsertPod(pod('web-1', { cpu: '1500m' }));
    await a.tick();
    now += 1000;
    await a.tick();
    expect(store.nodes.filter((n) => n.origin === 'autoscaler').map((n) => n.cloud)).toEqual(['gcp']);
    expect(priceCalls.filter((c) => c === 'aws')).toHaveLength(1);
    for (let i = 0; i < 30; i++) {
      now += 1000;
      await a.tick();
    }
    expect(priceCalls.filter((c) => c === 'aws')).toHaveLength(1);
    now += 30_000;
    await a.tick();
    expect(priceCalls.filter((c) => c === 'aws')).toHaveLength(2);
    expect((store.statuses.at(-1) as AutoscalerStatus).prices).toEqual({ gcp: expect.objectContaining({ source: 'gcp price API' }) });
  });
});
