import { isRemovableEmpty, planUnderutilized, utilisationPercent, type DownscaleCandidate } from './index';
import { pod } from './testing';

function worker(name: string, over: Partial<DownscaleCandidate> = {}): DownscaleCandidate {
  return {
    name,
    labels: { 'kubernetes.io/hostname': name, 'skyweave.io/cloud': 'aws' },
    allocatable: { cpuMillicores: 3920, memoryMiB: 14000, pods: 110 },
    vcpu: 4,
    usdPerHour: 0.192,
    movablePods: [],
    requested: { cpuMillicores: 0, memoryMiB: 0, pods: 0 },
    doNotDisrupt: false,
    master: false,
    ...over,
  };
}

/** A worker running `pods` (plus 100m/100Mi of DaemonSets). */
function running(name: string, pods: ReturnType<typeof pod>[], over: Partial<DownscaleCandidate> = {}): DownscaleCandidate {
  const cpu = pods.reduce((s, p) => s + p.requests.cpuMillicores, 100);
  const mem = pods.reduce((s, p) => s + p.requests.memoryMiB, 100);
  return worker(name, { movablePods: pods, requested: { cpuMillicores: cpu, memoryMiB: mem, pods: pods.length + 1 }, ...over });
}

/** A worker too used to be a candidate itself (64%), with 1420m of room. */
const busy = (name: string, over: Partial<DownscaleCandidate> = {}): DownscaleCandidate => worker(name, { requested: { cpuMillicores: 2500, memoryMiB: 100, pods: 1 }, ...over });

const OPTS = { thresholdPercent: 50, minCores: 0, workerCores: 12 };

describe('utilisation', () => {
  it('is the larger of cpu and memory requested over allocatable', () => {
    expect(utilisationPercent(worker('n', { requested: { cpuMillicores: 1960, memoryMiB: 1400, pods: 3 } }))).toBeCloseTo(50);
    expect(utilisationPercent(worker('n', { requested: { cpuMillicores: 392, memoryMiB: 7000, pods: 3 } }))).toBeCloseTo(50);
  });
});

describe('planUnderutilized', () => {
  it("removes a node whose pods fit on the others' free capacity", () => {
    const nodes = [running('a', [pod('x/1', 500, 500)]), running('b', [pod('x/2', 3000, 4000)]), running('c', [pod('x/3', 3000, 4000)])];
    expect(planUnderutilized(nodes, OPTS)).toEqual({ node: 'a', reason: expect.stringMatching(/^utilisation 15\.3% is below 50%; its 1 movable pod fit on the other nodes; saves \$0\.1920\/h$/) as string });
  });

  it("keeps a node whose pods do not fit elsewhere", () => {
    const nodes = [running('a', [pod('x/1', 1500, 500)]), running('b', [pod('x/2', 3000, 4000)])];
    expect(planUnderutilized(nodes, OPTS)).toBeNull();
  });

  it('simulates constraints: a pod bound to its cloud stays when only other clouds have room', () => {
    const gcp = { 'kubernetes.io/hostname': 'g', 'skyweave.io/cloud': 'gcp' };
    const pinned = pod('x/1', 500, 500, { nodeSelector: { 'skyweave.io/cloud': 'aws' } });
    expect(planUnderutilized([running('a', [pinned]), busy('g', { labels: gcp })], OPTS)).toBeNull();
    expect(planUnderutilized([running('a', [pod('x/1', 500, 500)]), busy('g', { labels: gcp })], OPTS)?.node).toBe('a');
  });

  it('never moves pods to cordoned nodes or past untolerated taints', () => {
    const p = pod('x/1', 500, 500);
    expect(planUnderutilized([running('a', [p]), busy('b')], OPTS)?.node).toBe('a');
    expect(planUnderutilized([running('a', [p]), busy('b', { unschedulable: true })], OPTS)).toBeNull();
    expect(planUnderutilized([running('a', [p]), busy('b', { taints: [{ key: 'dedicated', effect: 'NoSchedule' }] })], OPTS)).toBeNull();
    const tolerant = pod('x/1', 500, 500, { tolerations: [{ key: 'dedicated', operator: 'Exists' }] });
    expect(planUnderutilized([running('a', [tolerant]), busy('b', { taints: [{ key: 'dedicated', effect: 'NoSchedule' }] })], OPTS)?.node).toBe('a');
  });

  it('packs the moved pods together: two pods that each fit but not both on one node', () => {
    const nodes = [running('a', [pod('x/1', 1200, 100), pod('x/2', 1200, 100)], { allocatable: { cpuMillicores: 7840, memoryMiB: 28000, pods: 110 } }), running('b', [pod('x/3', 2000, 100)])];
    expect(planUnderutilized(nodes, OPTS)).toBeNull();
  });

  it('never a master, never do-not-disrupt', () => {
    const p = pod('x/1', 100, 100);
    expect(planUnderutilized([running('m', [p]), busy('w')], OPTS)?.node).toBe('m');
    expect(planUnderutilized([running('m', [p], { master: true }), busy('w')], OPTS)).toBeNull();
    expect(planUnderutilized([running('d', [p], { doNotDisrupt: true }), busy('w')], OPTS)).toBeNull();
  });

  it('never takes the workers below minCores', () => {
    const nodes = [running('a', [pod('x/1', 100, 100)]), busy('b')];
    expect(planUnderutilized(nodes, { thresholdPercent: 50, minCores: 6, workerCores: 8 })).toBeNull();
    expect(planUnderutilized(nodes, { thresholdPercent: 50, minCores: 4, workerCores: 8 })?.node).toBe('a');
  });

  it('only below the threshold', () => {
    const nodes = [running('a', [pod('x/1', 1900, 100)]), worker('b', { vcpu: 8, allocatable: { cpuMillicores: 7840, memoryMiB: 28000, pods: 110 }, requested: { cpuMillicores: 5000, memoryMiB: 100, pods: 3 } })];
    expect(planUnderutilized(nodes, { ...OPTS, thresholdPercent: 50 })).toBeNull();
    expect(planUnderutilized(nodes, { ...OPTS, thresholdPercent: 60 })?.node).toBe('a');
  });

  it('orders by fewest movable pods, then the most expensive, then the name', () => {
    const big = { vcpu: 16, allocatable: { cpuMillicores: 15000, memoryMiB: 60000, pods: 110 } };
    const two = running('two', [pod('x/1', 100, 100), pod('x/2', 100, 100)], { usdPerHour: 5 });
    const cheap = running('cheap', [pod('x/3', 100, 100)], { usdPerHour: 0.1 });
    const dear = running('dear', [pod('x/4', 100, 100)], { usdPerHour: 0.5 });
    const unknown = running('unknown', [pod('x/5', 100, 100)], { usdPerHour: null });
    const opts = { thresholdPercent: 50, minCores: 0, workerCores: 100 };
    const sink = worker('sink', { ...big, requested: { cpuMillicores: 7600, memoryMiB: 100, pods: 1 } });
    expect(planUnderutilized([two, cheap, unknown, dear, sink], opts)?.node).toBe('dear');
    expect(planUnderutilized([two, cheap, unknown, sink], opts)?.node).toBe('cheap');
    expect(planUnderutilized([two, unknown, sink], opts)?.node).toBe('unknown');
    expect(planUnderutilized([two, worker('empty2', big), sink], opts)?.node).toBe('empty2');
    expect(planUnderutilized([running('b', [pod('x/6', 100, 100)]), running('a', [pod('x/7', 100, 100)]), sink], opts)?.node).toBe('a');
  });

  it('falls to the next candidate when the first cannot be emptied', () => {
    const opts = { thresholdPercent: 60, minCores: 0, workerCores: 100 };
    const stuck = running('stuck', [pod('x/1', 1800, 100, { nodeSelector: { 'skyweave.io/cloud': 'aws' } })], { usdPerHour: 9 });
    const gcp = running('gcp', [pod('x/2', 100, 100)], { labels: { 'skyweave.io/cloud': 'gcp' }, usdPerHour: 0.1 });
    const sink = busy('sink', { labels: { 'skyweave.io/cloud': 'gcp' } });
    expect(planUnderutilized([stuck, gcp, sink], opts)?.node).toBe('gcp');
  });
});

describe('isRemovableEmpty', () => {
  const opts = { minCores: 4, workerCores: 12 };
  it('an empty worker above minCores', () => {
    expect(isRemovableEmpty(worker('n', { requested: { cpuMillicores: 300, memoryMiB: 300, pods: 3 } }), opts)).toBe(true);
  });
  it('not with movable pods, not a master, not do-not-disrupt, not below minCores', () => {
    expect(isRemovableEmpty(running('n', [pod('x/1', 1, 1)]), opts)).toBe(false);
    expect(isRemovableEmpty(worker('n', { master: true }), opts)).toBe(false);
    expect(isRemovableEmpty(worker('n', { doNotDisrupt: true }), opts)).toBe(false);
    expect(isRemovableEmpty(worker('n', { vcpu: 8 }), { minCores: 5, workerCores: 12 })).toBe(false);
    expect(isRemovableEmpty(worker('n', { vcpu: 8 }), { minCores: 4, workerCores: 12 })).toBe(true);
  });
});
