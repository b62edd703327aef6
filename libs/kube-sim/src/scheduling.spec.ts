import { podRequests } from './resources';
import {
  emptyUsage,
  filterNodeAffinity,
  filterResources,
  filterTaints,
  filterUnschedulable,
  fitErrorMessage,
  intolerablePreferNoSchedule,
  leastAllocatedScore,
  runFilters,
  toleratesTaint,
} from './scheduling';
import { Node, NodeSelectorRequirement, Pod } from './types';

const node = (name: string, extra: Partial<Node['spec']> = {}, labels: Record<string, string> = {}): Node => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
  spec: { ...extra },
  status: { allocatable: { cpu: '1930m', memory: '3043328Ki', pods: '110' } },
});

const pod = (spec: Partial<Pod['spec']> = {}, cpu?: string, memory?: string): Pod => ({
  metadata: { name: 'p', namespace: 'default' },
  spec: { containers: [{ name: 'c', resources: { requests: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) } } }], ...spec },
});

describe('pod requests (Kubernetes PodRequests rules)', () => {
  it('sums app containers and takes the largest init container when larger', () => {
    const p: Pod = {
      metadata: { name: 'p' },
      spec: {
        containers: [
          { name: 'a', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
          { name: 'b', resources: { requests: { cpu: '200m', memory: '64Mi' } } },
        ],
        initContainers: [{ name: 'init', resources: { requests: { cpu: '500m', memory: '32Mi' } } }],
      },
    };
    expect(podRequests(p)).toEqual({ milliCPU: 500, memory: 128 * 1024 ** 2 });
  });

  it('adds sidecars (restartable init containers) to the app containers and to later init containers', () => {
    const p: Pod = {
      metadata: { name: 'p' },
      spec: {
        containers: [{ name: 'app', resources: { requests: { cpu: '100m' } } }],
        initContainers: [
          { name: 'sidecar', restartPolicy: 'Always', resources: { requests: { cpu: '50m' } } },
          { name: 'migrate', resources: { requests: { cpu: '300m' } } },
        ],
      },
    };
    // max(100 + 50, 300 + 50)
    expect(podRequests(p).milliCPU).toBe(350);
  });

  it('defaults requests to limits, adds overhead, and scores request-less containers with 100m / 200Mi', () => {
    const p: Pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', resources: { limits: { cpu: '1', memory: '1Gi' } } }], overhead: { cpu: '250m' } } };
    expect(podRequests(p)).toEqual({ milliCPU: 1250, memory: 1024 ** 3 });
    expect(podRequests(pod(), true)).toEqual({ milliCPU: 100, memory: 200 * 1024 ** 2 });
    expect(podRequests(pod())).toEqual({ milliCPU: 0, memory: 0 });
  });
});

describe('filter plugins', () => {
  it('TaintToleration: NoSchedule/NoExecute need a toleration; the reason names key and value', () => {
    const master = node('m', { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] });
    expect(filterTaints(pod(), master)).toEqual({ reasons: ['node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }'], unresolvable: true });
    expect(filterTaints(pod({ tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }] }), master)).toBeUndefined();
    expect(filterTaints(pod({ tolerations: [{ operator: 'Exists' }] }), master)).toBeUndefined();
    const dedicated = node('d', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoExecute' }] });
    expect(filterTaints(pod({ tolerations: [{ key: 'dedicated', value: 'cpu', effect: 'NoExecute' }] }), dedicated)?.reasons).toEqual(['node(s) had untolerated taint {dedicated: gpu}']);
    expect(filterTaints(pod({ tolerations: [{ key: 'dedicated', value: 'gpu' }] }), dedicated)).toBeUndefined();
    // PreferNoSchedule only lowers the score
    const soft = node('s', { taints: [{ key: 'spot', effect: 'PreferNoSchedule' }] });
    expect(filterTaints(pod(), soft)).toBeUndefined();
    expect(intolerablePreferNoSchedule(pod(), soft)).toBe(1);
    expect(intolerablePreferNoSchedule(pod({ tolerations: [{ key: 'spot', operator: 'Exists' }] }), soft)).toBe(0);
  });

  it('toleration matching follows core/v1 ToleratesTaint', () => {
    const taint = { key: 'k', value: 'v', effect: 'NoSchedule' as const };
    expect(toleratesTaint({ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule' }, taint)).toBe(true);
    expect(toleratesTaint({ key: 'k', operator: 'Exists' }, taint)).toBe(true);
    expect(toleratesTaint({ key: 'k', value: 'x' }, taint)).toBe(false);
    expect(toleratesTaint({ key: 'k', operator: 'Exists', effect: 'NoExecute' }, taint)).toBe(false);
    expect(toleratesTaint({ value: 'v' }, taint)).toBe(false); // empty key needs Exists
  });

  it('NodeUnschedulable: a cordoned node refuses pods unless they tolerate node.kubernetes.io/unschedulable', () => {
    const cordoned = node('c', { unschedulable: true });
    expect(filterUnschedulable(pod(), cordoned)?.reasons).toEqual(['node(s) were unschedulable']);
    expect(filterUnschedulable(pod({ tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }), cordoned)).toBeUndefined();
  });

  it('NodeAffinity: nodeSelector and required terms (ORed terms, ANDed expressions, all operators)', () => {
    const n = node('w1', {}, { 'skyweave.io/cloud': 'aws', 'example.com/cores': '8' });
    const withExpr = (...exprs: NodeSelectorRequirement[]): Pod =>
      pod({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: exprs }] } } } });
    expect(filterNodeAffinity(pod({ nodeSelector: { 'skyweave.io/cloud': 'aws' } }), n)).toBeUndefined();
    expect(filterNodeAffinity(pod({ nodeSelector: { 'skyweave.io/cloud': 'gcp' } }), n)?.reasons).toEqual(["node(s) didn't match Pod's node affinity/selector"]);
    expect(filterNodeAffinity(withExpr({ key: 'skyweave.io/cloud', operator: 'In', values: ['gcp', 'aws'] }), n)).toBeUndefined();
    expect(filterNodeAffinity(withExpr({ key: 'skyweave.io/cloud', operator: 'NotIn', values: ['aws'] }), n)).toBeDefined();
    expect(filterNodeAffinity(withExpr({ key: 'skyweave.io/cloud', operator: 'Exists' }), n)).toBeUndefined();
    expect(filterNodeAffinity(withExpr({ key: 'gpu', operator: 'DoesNotExist' }), n)).toBeUndefined();
    expect(filterNodeAffinity(withExpr({ key: 'example.com/cores', operator: 'Gt', values: ['4'] }), n)).toBeUndefined();
    expect(filterNodeAffinity(withExpr({ key: 'example.com/cores', operator: 'Lt', values: ['4'] }), n)).toBeDefined();
    expect(filterNodeAffinity(withExpr({ key: 'skyweave.io/cloud', operator: 'Gt', values: ['4'] }), n)).toBeDefined(); // not an integer
    expect(filterNodeAffinity(withExpr({ key: 'skyweave.io/cloud', operator: 'In', values: ['aws'] }, { key: 'gpu', operator: 'Exists' }), n)).toBeDefined();
    const byName = pod({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['w1'] }] }] } } } });
    expect(filterNodeAffinity(byName, n)).toBeUndefined();
    const noTerms = pod({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } } });
    expect(filterNodeAffinity(noTerms, n)).toBeDefined();
  });

  it('NodeResourcesFit: insufficient cpu, memory and pods against allocatable minus requested', () => {
    const n = node('w');
    const used = emptyUsage();
    used.requested = { milliCPU: 1500, memory: 0 };
    expect(filterResources(pod({}, '500m'), n, used)).toEqual({ reasons: ['Insufficient cpu'], unresolvable: false });
    expect(filterResources(pod({}, '400m', '3Gi'), n, used)).toEqual({ reasons: ['Insufficient memory'], unresolvable: true });
    expect(filterResources(pod({}, '3'), n, emptyUsage())?.unresolvable).toBe(true);
    expect(filterResources(pod({}, '430m'), n, used)).toBeUndefined();
    used.pods = 110;
    expect(filterResources(pod(), n, used)?.reasons).toEqual(['Too many pods']);
  });

  it('the first failing plugin decides (unschedulable before taints before affinity before resources)', () => {
    const n = node('x', { unschedulable: true, taints: [{ key: 'a', effect: 'NoSchedule' }] });
    expect(runFilters(pod({}, '99'), n, emptyUsage())?.reasons).toEqual(['node(s) were unschedulable']);
  });

  it('LeastAllocated prefers the emptier node', () => {
    const busy = emptyUsage();
    busy.nonZeroRequested = { milliCPU: 1000, memory: 1024 ** 3 };
    expect(leastAllocatedScore(pod({}, '100m', '128Mi'), node('a'), emptyUsage())).toBeGreaterThan(leastAllocatedScore(pod({}, '100m', '128Mi'), node('b'), busy));
  });
});

describe('FailedScheduling message (kube-scheduler FitError.Error)', () => {
  it('is the sorted reason histogram, then the preemption histogram', () => {
    const taint = { reasons: ['node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }'], unresolvable: true };
    const cpu = { reasons: ['Insufficient cpu'], unresolvable: false };
    const msg = fitErrorMessage(7, [taint, taint, taint, cpu, cpu, cpu, cpu]);
    expect(msg).toBe(
      '0/7 nodes are available: 3 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 4 Insufficient cpu. ' +
        'preemption: 0/7 nodes are available: 3 Preemption is not helpful for scheduling, 4 No preemption victims found for incoming pod.',
    );
  });

  it('counts every reason of a node (cpu and memory both short)', () => {
    const msg = fitErrorMessage(2, [
      { reasons: ['Insufficient cpu', 'Insufficient memory'], unresolvable: false },
      { reasons: ["node(s) didn't match Pod's node affinity/selector"], unresolvable: true },
    ]);
    expect(msg).toBe(
      "0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 node(s) didn't match Pod's node affinity/selector. " +
        'preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.',
    );
  });
});
