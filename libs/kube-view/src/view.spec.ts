import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { KubeNodeStatusRow } from '@skyweave/persistence';
import { ClusterKubeView, NODE_ID_LABEL, type SkyweaveNodeRef } from './view';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function node(name: string, o: { id?: string; ready?: 'True' | 'False' | 'Unknown'; reason?: string; since?: string; cordoned?: boolean; cpu?: string; memory?: string } = {}): V1Node {
  return {
    metadata: { name, resourceVersion: '1', labels: o.id ? { [NODE_ID_LABEL]: o.id } : {} },
    spec: { unschedulable: o.cordoned },
    status: {
      conditions: [{ type: 'Ready', status: o.ready ?? 'True', reason: o.reason ?? 'KubeletReady', lastTransitionTime: (o.since ?? '2026-01-01T00:00:00Z') as unknown as Date }],
      allocatable: { cpu: o.cpu ?? '1930m', memory: o.memory ?? '3043328Ki', pods: '110' },
      nodeInfo: { kubeletVersion: 'v1.32.0' } as V1Node['status'] extends infer S ? S extends { nodeInfo?: infer I } ? I : never : never,
    },
  };
}

function pod(name: string, o: { node?: string; cpu?: string; memory?: string; phase?: string; unschedulable?: boolean; init?: { cpu: string; sidecar?: boolean }[] } = {}): V1Pod {
  return {
    metadata: { name, namespace: 'default', resourceVersion: '1' },
    spec: {
      nodeName: o.node,
      containers: [{ name: 'c', image: 'nginx', resources: { requests: { ...(o.cpu ? { cpu: o.cpu } : {}), ...(o.memory ? { memory: o.memory } : {}) } } }],
      initContainers: o.init?.map((c, i) => ({ name: `i${i}`, image: 'busybox', restartPolicy: c.sidecar ? 'Always' : undefined, resources: { requests: { cpu: c.cpu } } })),
    },
    status: {
      phase: o.phase ?? (o.node ? 'Running' : 'Pending'),
      conditions: o.unschedulable ? [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient cpu.' }] : [],
    },
  };
}

const sw = (id: string, name: string, phase: SkyweaveNodeRef['phase'] = 'Joined'): SkyweaveNodeRef => ({ id, name, phase, removalRequested: false });

describe('ClusterKubeView', () => {
  let now: number;
  let view: ClusterKubeView;
  beforeEach(() => {
    now = T0;
    view = new ClusterKubeView(() => now);
    view.setSkyweaveNodes([sw('id-m0', 'c-master-0'), sw('id-w0', 'c-worker-0'), sw('id-w1', 'c-worker-1')]);
  });

  it('joins Kubernetes Nodes to Skyweave nodes by the skyweave.io/node-id label, else by name; others stay unjoined', () => {
    view.upsertNode(node('ip-10-0-0-1', { id: 'id-m0' }));
    view.upsertNode(node('c-worker-0'));
    view.upsertNode(node('stranger'));
    expect(view.nodes().map((n) => [n.name, n.skyweaveNodeId])).toEqual([['c-worker-0', 'id-w0'], ['ip-10-0-0-1', 'id-m0'], ['stranger', null]]);
    const plan = view.planFlush(120_000)!;
    expect(plan.batch.upsert.map((r) => [r.nodeId, r.kubeNodeName]).sort()).toEqual([['id-m0', 'ip-10-0-0-1'], ['id-w0', 'c-worker-0']]);
  });

  it('sums the requests of non-terminal bound pods with kube-sim\'s rules (limits default requests, sidecars, init peaks) and units', () => {
    view.upsertNode(node('c-worker-0', { cpu: '2', memory: '4Gi' }));
    view.upsertPod(pod('a', { node: 'c-worker-0', cpu: '250m', memory: '100Mi' }));
    view.upsertPod(pod('b', { node: 'c-worker-0', cpu: '0.5', memory: '1.5Gi' }));
    // init 1 cpu alone, then sidecar 100m + app 250m = 350m: the init peak (1000m) wins
    view.upsertPod(pod('c', { node: 'c-worker-0', cpu: '250m', init: [{ cpu: '1' }, { cpu: '100m', sidecar: true }] }));
    view.upsertPod(pod('done', { node: 'c-worker-0', cpu: '4', phase: 'Succeeded' }));
    const [n] = view.nodes();
    expect(n.allocatable).toEqual({ cpuMillicores: 2000, memoryMiB: 4096, pods: 110 });
    expect(n.requested).toEqual({ cpuMillicores: 250 + 500 + 1000, memoryMiB: 100 + 1536 });
    expect(n.pods).toBe(3);
    // a pod moving phase to Failed releases its requests; a deleted pod too
    view.upsertPod(pod('b', { node: 'c-worker-0', cpu: '0.5', memory: '1.5Gi', phase: 'Failed' }));
    view.deletePod(pod('a'));
    expect(view.nodes()[0].requested).toEqual({ cpuMillicores: 1000, memoryMiB: 0 });
    expect(view.nodes()[0].pods).toBe(1);
  });

  it('counts pending pods: Pending without a node, and PodScheduled=False Unschedulable, each once', () => {
    view.upsertPod(pod('p1'));
    view.upsertPod(pod('p2', { unschedulable: true, cpu: '3', memory: '1Gi' }));
    view.upsertPod(pod('bound', { node: 'c-worker-0' }));
    expect(view.pendingPods()).toBe(2);
    expect(view.pendingPodList()).toEqual([
      { namespace: 'default', name: 'p1', requests: { cpuMillicores: 0, memoryMiB: 0 }, unschedulable: false, message: null },
      { namespace: 'default', name: 'p2', requests: { cpuMillicores: 3000, memoryMiB: 1024 }, unschedulable: true, message: '0/3 nodes are available: 3 Insufficient cpu.' },
    ]);
    view.upsertPod(pod('p1', { node: 'c-worker-1' }));
    expect(view.pendingPods()).toBe(1);
  });

  it('shows a cordon and writes only rows that changed, the pending count and the condition only when they change', () => {
    view.upsertNode(node('c-worker-0'));
    view.upsertNode(node('c-worker-1'));
    const first = view.planFlush(120_000)!;
    expect(first.batch.upsert).toHaveLength(2);
    expect(first.batch.pendingPods).toBe(0);
    expect(first.batch.condition).toEqual({ type: 'KubernetesApiReachable', status: 'Unknown', reason: 'Connecting', message: expect.any(String) });
    view.commit(first);
    expect(view.planFlush(120_000)).toBeNull();
    view.upsertNode(node('c-worker-1', { cordoned: true }));
    view.setReachability({ status: 'True', reason: 'Watching', message: 'watching' });
    const second = view.planFlush(120_000)!;
    expect(second.batch.upsert.map((r) => [r.nodeId, r.unschedulable])).toEqual([['id-w1', true]]);
    expect(second.batch.pendingPods).toBeUndefined();
    expect(second.batch.condition?.status).toBe('True');
    view.commit(second);
    view.deleteNode(node('c-worker-0'));
    expect(view.planFlush(120_000)!.batch).toMatchObject({ upsert: [], remove: ['id-w0'] });
  });

  it('a plan not committed (failed write) is planned again', () => {
    view.upsertNode(node('c-worker-0'));
    expect(view.planFlush(120_000)!.batch.upsert).toHaveLength(1);
    expect(view.planFlush(120_000)!.batch.upsert).toHaveLength(1);
  });

  it('NotReady past the threshold gives ONE event per episode for a Joined node, timed from the Ready transition', () => {
    view.upsertNode(node('c-worker-0', { ready: 'Unknown', reason: 'NodeStatusUnknown', since: '2026-01-01T00:00:00Z' }));
    now = T0 + 119_000;
    let plan = view.planFlush(120_000)!;
    expect(plan.batch.events).toEqual([]);
    expect(plan.batch.upsert[0]).toMatchObject({ ready: 'Unknown', readyReason: 'NodeStatusUnknown', notReadySince: '2026-01-01T00:00:00.000Z', notReadyReportedAt: null });
    view.commit(plan);
    now = T0 + 121_000;
    plan = view.planFlush(120_000)!;
    expect(plan.batch.events).toEqual([{
      type: 'Warning', reason: 'NodeNotReady', object: 'node/c-worker-0',
      message: 'node c-worker-0 is running but Kubernetes has reported it not Ready (Ready=Unknown, reason NodeStatusUnknown) for 121 s (Kubernetes node c-worker-0)',
    }]);
    view.commit(plan);
    now = T0 + 600_000;
    expect(view.planFlush(120_000)).toBeNull();
    // Ready again ends the episode; the next NotReady is a new one
    view.upsertNode(node('c-worker-0'));
    view.commit(view.planFlush(120_000)!);
    view.upsertNode(node('c-worker-0', { ready: 'False', reason: 'KubeletNotReady', since: new Date(now).toISOString() }));
    now += 130_000;
    expect(view.planFlush(120_000)!.batch.events.map((e) => e.message)).toEqual([expect.stringContaining('Ready=False, reason KubeletNotReady) for 130 s')]);
  });

  it('no NotReady event for a node that is not Joined or is being removed; without a transition time the episode starts when first seen', () => {
    view.setSkyweaveNodes([sw('id-w0', 'c-worker-0', 'Joining'), { ...sw('id-w1', 'c-worker-1'), removalRequested: true }, sw('id-w2', 'c-worker-2')]);
    const noTime = node('c-worker-2', { ready: 'False' });
    delete noTime.status!.conditions![0].lastTransitionTime;
    for (const n of [node('c-worker-0', { ready: 'False' }), node('c-worker-1', { ready: 'False' }), noTime]) view.upsertNode(n);
    now = T0 + 3600_000;
    const plan = view.planFlush(120_000)!;
    expect(plan.batch.events).toEqual([]);
    expect(plan.batch.upsert.find((r) => r.nodeId === 'id-w2')?.notReadySince).toBe(new Date(now).toISOString());
    view.commit(plan);
    now += 120_000;
    expect(view.planFlush(120_000)!.batch.events.map((e) => e.object)).toEqual(['node/c-worker-2']);
  });

  it('a replica taking over continues the recorded episode (no second event) and rewrites nothing unchanged', () => {
    view.upsertNode(node('c-worker-0', { ready: 'Unknown', reason: 'NodeStatusUnknown' }));
    now = T0 + 200_000;
    const plan = view.planFlush(120_000)!;
    expect(plan.batch.events).toHaveLength(1);
    const rows: KubeNodeStatusRow[] = plan.batch.upsert.map((r) => ({ ...r }));
    const next = new ClusterKubeView(() => now);
    next.seed(rows, 0);
    next.setSkyweaveNodes([sw('id-w0', 'c-worker-0')]);
    next.upsertNode(node('c-worker-0', { ready: 'Unknown', reason: 'NodeStatusUnknown' }));
    now += 300_000;
    const b = next.planFlush(120_000)!.batch;
    expect(b).toMatchObject({ upsert: [], remove: [], events: [] });
    expect(b.pendingPods).toBeUndefined();
  });

  it('a relist replaces the view: objects missing from it are gone', () => {
    view.upsertNode(node('c-worker-0'));
    view.upsertNode(node('c-worker-1'));
    view.upsertPod(pod('a', { node: 'c-worker-0', cpu: '1' }));
    view.upsertPod(pod('p'));
    view.replaceNodes([node('c-worker-1')]);
    view.replacePods([pod('b', { node: 'c-worker-1', cpu: '100m' })]);
    expect(view.nodes().map((n) => [n.name, n.requested.cpuMillicores, n.pods])).toEqual([['c-worker-1', 100, 1]]);
    expect(view.pendingPods()).toBe(0);
  });

  it('gives the autoscaler each node\'s labels, taints and do-not-disrupt, the pods bound to it (DaemonSet, mirror, do-not-disrupt) and the pending pods\' constraints', () => {
    const n = node('c-worker-0', { id: 'id-w0' });
    n.metadata!.labels!['skyweave.io/cloud'] = 'aws';
    n.metadata!.annotations = { 'autoscaling.skyweave.io/do-not-disrupt': 'true' };
    n.spec!.taints = [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }];
    view.upsertNode(n);
    const ds = pod('ds-1', { node: 'c-worker-0', cpu: '100m' });
    ds.metadata!.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ds', uid: 'u1', controller: true }];
    const mirror = pod('etcd', { node: 'c-worker-0' });
    mirror.metadata!.annotations = { 'kubernetes.io/config.mirror': 'abc' };
    const keep = pod('keep', { node: 'c-worker-0', cpu: '200m', memory: '64Mi' });
    keep.metadata!.annotations = { 'autoscaling.skyweave.io/do-not-disrupt': 'true' };
    const done = pod('done', { node: 'c-worker-0', phase: 'Succeeded' });
    const waiting = pod('web', { cpu: '3', unschedulable: true });
    waiting.spec!.nodeSelector = { 'skyweave.io/cloud': 'gcp' };
    waiting.spec!.tolerations = [{ key: 'dedicated', operator: 'Exists' }];
    waiting.spec!.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['arm64'] }] }] } } };
    for (const p of [ds, mirror, keep, done, waiting]) view.upsertPod(p);

    const [d] = view.nodeDetails();
    expect(d.labels['skyweave.io/cloud']).toBe('aws');
    expect(d.taints).toEqual([{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }]);
    expect(d.doNotDisrupt).toBe(true);
    expect(view.podsOn('c-worker-0').map((p) => [p.name, p.daemonSet, p.mirror, p.doNotDisrupt])).toEqual([
      ['ds-1', true, false, false], ['etcd', false, true, false], ['keep', false, false, true],
    ]);
    expect(view.podsOn('c-worker-0')[2].requests).toEqual({ cpuMillicores: 200, memoryMiB: 64 });
    const [pending] = view.pendingPodList();
    expect(pending).toMatchObject({ name: 'web', nodeSelector: { 'skyweave.io/cloud': 'gcp' }, tolerations: [{ key: 'dedicated', operator: 'Exists' }] });
    expect(pending.requiredNodeAffinity).toEqual([{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['arm64'] }] }]);

    // a pod that moves off the node, or is deleted, leaves its list
    view.deletePod(keep);
    view.upsertPod(pod('ds-1', { cpu: '100m' }));
    expect(view.podsOn('c-worker-0').map((p) => p.name)).toEqual(['etcd']);
  });
});
