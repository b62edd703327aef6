import { DEFAULT_MAX_PODS, gkeReservation, nodeFor, nodeLabels as kubeletLabels } from '@skyweave/kube-sim';
import { allocatableOf, baselineScaleUp, decideScaleUp, nodeLabelsFor, offeringKey, type CapacityNode, type PodToPlace, type ScaleUpInput, type ScaleUpPolicy } from './index';
import { offering, pod, violations } from './testing';

const M5L = offering({ instanceType: 'm5.large', vcpu: 2, memoryMiB: 8192, usdPerHour: 0.096 });
const M5XL = offering({ instanceType: 'm5.xlarge', vcpu: 4, memoryMiB: 16384, usdPerHour: 0.192 });
const M5_2XL = offering({ instanceType: 'm5.2xlarge', vcpu: 8, memoryMiB: 32768, usdPerHour: 0.384 });
const M6G = offering({ instanceType: 'm6g.large', vcpu: 2, memoryMiB: 8192, usdPerHour: 0.077, architecture: 'arm64' });
const E2 = offering({ cloud: 'gcp', instanceType: 'e2-standard-2', vcpu: 2, memoryMiB: 8192, usdPerHour: 0.067, zone: 'us-east4-b' });
const D2 = offering({ cloud: 'azure', instanceType: 'Standard_D2s_v5', family: 'Dsv5', vcpu: 2, memoryMiB: 8192, usdPerHour: 0.096, zone: '2' });
const DO = offering({ cloud: 'digitalocean', instanceType: 's-2vcpu-4gb', family: 's', vcpu: 2, memoryMiB: 4096, usdPerHour: 0.0357 });
const CATALOGUE = [M5L, M5XL, M5_2XL, M6G, E2, D2, DO];

const POLICY: ScaleUpPolicy = { maxCores: null, workerCores: 0 };

function decide(pods: PodToPlace[], over: Partial<ScaleUpInput> = {}, policy: Partial<ScaleUpPolicy> = {}): ReturnType<typeof decideScaleUp> {
  const input: ScaleUpInput = { pods, offerings: CATALOGUE, nodes: [], ...over, policy: { ...POLICY, ...policy } };
  const d = decideScaleUp(input);
  expect(violations(input, d)).toEqual([]);
  return d;
}

const types = (d: ReturnType<typeof decideScaleUp>): string[] => d.launches.map((l) => l.offering.instanceType);

function existing(name: string, over: Partial<CapacityNode> = {}): CapacityNode {
  return { name, labels: { 'kubernetes.io/hostname': name, 'skyweave.io/cloud': 'aws' }, free: { cpuMillicores: 2000, memoryMiB: 4096, pods: 50 }, inFlight: false, ...over };
}

describe('offerings', () => {
  it('keys offerings by cloud, region and instance type', () => {
    expect(offeringKey(M5L)).toBe('aws/us-east-1/m5.large');
  });

  // libs/bootstrap nodeLabels() writes Azure's numeric zone as <region>-<n> (bootstrap is outside this lib's boundary)
  it("labels a new node as the kubelet does (Azure's numeric zone becomes <region>-<n>, as bootstrap writes it)", () => {
    for (const o of CATALOGUE) {
      const kubelet = kubeletLabels({ name: 'n', vcpu: o.vcpu, memoryMiB: o.memoryMiB, instanceType: o.instanceType, region: o.region, zone: nodeLabelsFor(o)['topology.kubernetes.io/zone'], cloud: o.cloud, nodeId: 'id', arch: o.architecture } as Parameters<typeof kubeletLabels>[0]);
      for (const [k, v] of Object.entries(nodeLabelsFor(o))) expect(kubelet[k]).toBe(v);
    }
    expect(nodeLabelsFor(D2)['topology.kubernetes.io/zone']).toBe('eastus-2');
  });

  it("computes allocatable with kube-sim's gkeReservation, as the sandbox kubelet reports it", () => {
    expect(allocatableOf({ vcpu: 2, memoryMiB: 4096 })).toEqual({ cpuMillicores: 1930, memoryMiB: 2972, pods: DEFAULT_MAX_PODS });
    const node = nodeFor({ name: 'n', vcpu: 8, memoryMiB: 32768, instanceType: 'x', region: 'r', zone: 'z', cloud: 'aws', nodeId: 'i', podCIDR: '10.0.0.0/24', internalIP: '10.0.0.1' } as Parameters<typeof nodeFor>[0], gkeReservation(8, 32768), '2026-01-01T00:00:00Z');
    const a = allocatableOf({ vcpu: 8, memoryMiB: 32768 });
    expect(node.status?.allocatable?.memory).toBe(`${a.memoryMiB * 1024}Ki`);
    expect(Number(String(node.status?.allocatable?.cpu).replace('m', ''))).toBe(a.cpuMillicores);
  });
});

describe('decideScaleUp: sizes and prices', () => {
  it('buys the cheapest offering that holds a pod, to the millicore and MiB of allocatable', () => {
    const a = allocatableOf(M5L);
    const d = decide([pod('a/exact', a.cpuMillicores, a.memoryMiB)], { offerings: [M5L, M5XL] });
    expect(types(d)).toEqual(['m5.large']);
    expect(d.costUsdPerHour).toBeCloseTo(0.096);
    expect(types(decide([pod('a/over', a.cpuMillicores + 1, 100)], { offerings: [M5L, M5XL] }))).toEqual(['m5.xlarge']);
    expect(types(decide([pod('a/over', 100, a.memoryMiB + 0.01)], { offerings: [M5L, M5XL] }))).toEqual(['m5.xlarge']);
  });

  it('packs many pods on few nodes and never costs more than the baseline', () => {
    const pods = Array.from({ length: 40 }, (_, i) => pod(`a/p${i}`, i % 2 ? 300 : 1200, i % 3 ? 700 : 3000));
    const input: ScaleUpInput = { pods, offerings: CATALOGUE, nodes: [], policy: POLICY };
    const d = decideScaleUp(input);
    expect(violations(input, d)).toEqual([]);
    expect(d.unplaceable).toEqual([]);
    expect(d.costUsdPerHour).toBeLessThanOrEqual(baselineScaleUp(input).costUsdPerHour + 1e-9);
  });

  it('respects the 110-pod limit of a node', () => {
    const d = decide(Array.from({ length: 111 }, (_, i) => pod(`a/tiny${i}`, 0, 0)), { offerings: [M5_2XL] });
    expect(d.launches.map((l) => l.pods.length).sort()).toEqual([1, 110]);
  });

  it('is deterministic: shuffled input, same decision', () => {
    const pods = Array.from({ length: 30 }, (_, i) => pod(`a/p${i}`, 250 * (1 + (i % 4)), 512 * (1 + (i % 3))));
    const d1 = decide(pods);
    const d2 = decide([...pods].reverse(), { offerings: [...CATALOGUE].reverse() });
    expect(d2).toEqual(d1);
  });
});

describe('decideScaleUp: node selectors and affinity on the well-known labels', () => {
  const cases: [string, string, string][] = [
    ['kubernetes.io/arch', 'arm64', 'm6g.large'],
    ['node.kubernetes.io/instance-type', 'm5.xlarge', 'm5.xlarge'],
    ['topology.kubernetes.io/region', 'eastus', 'Standard_D2s_v5'],
    ['topology.kubernetes.io/zone', 'eastus-2', 'Standard_D2s_v5'],
    ['topology.kubernetes.io/zone', 'us-east4-b', 'e2-standard-2'],
    ['skyweave.io/cloud', 'digitalocean', 's-2vcpu-4gb'],
  ];
  it.each(cases)('nodeSelector %s=%s buys %s', (key, value, type) => {
    expect(types(decide([pod('a/p', 500, 512, { nodeSelector: { [key]: value } })]))).toEqual([type]);
  });

  it('nodeSelector kubernetes.io/os=linux matches every offering; windows none', () => {
    expect(types(decide([pod('a/p', 500, 512, { nodeSelector: { 'kubernetes.io/os': 'linux' } })]))).toEqual(['s-2vcpu-4gb']);
    const d = decide([pod('a/w', 500, 512, { nodeSelector: { 'kubernetes.io/os': 'windows' } })]);
    expect(d.unplaceable).toEqual([{ pod: 'a/w', reason: 'no offering matches nodeSelector kubernetes.io/os=windows' }]);
  });

  it('a selector on the hostname or an unknown label never buys', () => {
    const d = decide([pod('a/h', 100, 100, { nodeSelector: { 'kubernetes.io/hostname': 'node-1' } })]);
    expect(d.launches).toEqual([]);
    expect(d.unplaceable[0].reason).toMatch(/no offering matches nodeSelector kubernetes.io\/hostname=node-1/);
  });

  it('required affinity: In, NotIn, Exists, DoesNotExist; terms are ORed', () => {
    const aff = (...terms: PodToPlace['requiredNodeAffinity'][]): Partial<PodToPlace> => ({ requiredNodeAffinity: terms.flatMap((t) => t ?? []) });
    expect(types(decide([pod('a/in', 500, 512, aff([{ matchExpressions: [{ key: 'skyweave.io/cloud', operator: 'In', values: ['gcp', 'azure'] }] }]))]))).toEqual(['e2-standard-2']);
    expect(types(decide([pod('a/notin', 500, 512, aff([{ matchExpressions: [{ key: 'skyweave.io/cloud', operator: 'NotIn', values: ['digitalocean', 'gcp'] }] }]))]))).toEqual(['m6g.large']);
    expect(types(decide([pod('a/exists', 500, 512, aff([{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'Exists' }] }]))]))).toEqual(['s-2vcpu-4gb']);
    expect(decide([pod('a/dne', 500, 512, aff([{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'DoesNotExist' }] }]))]).unplaceable[0].reason).toMatch(/no offering matches required node affinity kubernetes.io\/arch DoesNotExist/);
    const or = aff([{ matchExpressions: [{ key: 'skyweave.io/cloud', operator: 'In', values: ['azure'] }] }, { matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['arm64'] }] }]);
    expect(types(decide([pod('a/or', 500, 512, or)]))).toEqual(['m6g.large']);
  });

  it('pods of different classes share a node their constraints all admit', () => {
    const d = decide([pod('a/aws', 400, 400, { nodeSelector: { 'skyweave.io/cloud': 'aws' } }), pod('a/arm', 400, 400, { nodeSelector: { 'kubernetes.io/arch': 'arm64' } })]);
    expect(types(d)).toEqual(['m6g.large']);
    expect(d.launches[0].pods.sort()).toEqual(['a/arm', 'a/aws']);
  });
});

describe('decideScaleUp: existing and in-flight capacity', () => {
  it('in-flight capacity absorbs pods: nothing is bought', () => {
    const d = decide([pod('a/1', 500, 1000), pod('a/2', 500, 1000)], { nodes: [existing('launching', { inFlight: true })] });
    expect(d.launches).toEqual([]);
    expect(d.onExisting).toEqual([{ node: 'launching', pods: ['a/1', 'a/2'] }]);
    expect(d.costUsdPerHour).toBe(0);
  });

  it('only what does not fit the free capacity buys nodes', () => {
    const d = decide([pod('a/1', 1500, 1000), pod('a/2', 1500, 1000)], { nodes: [existing('n1')] });
    expect(d.onExisting).toEqual([{ node: 'n1', pods: ['a/1'] }]);
    expect(d.launches.flatMap((l) => l.pods)).toEqual(['a/2']);
  });

  it('tainted existing nodes take only pods that tolerate the taint (NoSchedule, NoExecute; PreferNoSchedule does not block)', () => {
    const taints = [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' as const }];
    const nodes = [existing('gpu', { taints })];
    expect(decide([pod('a/plain', 100, 100)], { nodes }).onExisting).toEqual([]);
    const tol = [{ key: 'dedicated', operator: 'Equal' as const, value: 'gpu', effect: 'NoSchedule' as const }];
    expect(decide([pod('a/tol', 100, 100, { tolerations: tol })], { nodes }).onExisting).toEqual([{ node: 'gpu', pods: ['a/tol'] }]);
    expect(decide([pod('a/any', 100, 100, { tolerations: [{ operator: 'Exists' }] })], { nodes: [existing('x', { taints: [{ key: 'k', effect: 'NoExecute' }] })] }).onExisting).toHaveLength(1);
    expect(decide([pod('a/plain', 100, 100)], { nodes: [existing('soft', { taints: [{ key: 'k', effect: 'PreferNoSchedule' }] })] }).onExisting).toHaveLength(1);
  });

  it('cordoned nodes take no pods', () => {
    const d = decide([pod('a/p', 100, 100)], { nodes: [existing('cordoned', { unschedulable: true })] });
    expect(d.onExisting).toEqual([]);
    expect(d.launches).toHaveLength(1);
  });

  it("existing nodes' labels are matched like the scheduler does", () => {
    const d = decide([pod('a/gcp', 100, 100, { nodeSelector: { 'skyweave.io/cloud': 'gcp' } }), pod('a/aws', 100, 100, { nodeSelector: { 'skyweave.io/cloud': 'aws' } })], { nodes: [existing('n1')] });
    expect(d.onExisting).toEqual([{ node: 'n1', pods: ['a/aws'] }]);
    expect(types(d)).toEqual(['e2-standard-2']);
  });

  it('pods no offering can hold get existing capacity first', () => {
    const nodes = [existing('big', { free: { cpuMillicores: 4000, memoryMiB: 8000, pods: 10 } })];
    // a/huge fits nothing for sale (offerings limited to m5.large), a/small could go either way: huge gets the node
    const d = decide([pod('a/small', 3000, 1000), pod('a/huge', 3500, 7000)], { nodes, offerings: [M5L] });
    expect(d.onExisting).toEqual([{ node: 'big', pods: ['a/huge'] }]);
  });
});

describe('decideScaleUp: policy', () => {
  it('clouds', () => {
    expect(types(decide([pod('a/p', 500, 512)], {}, { clouds: ['azure'] }))).toEqual(['Standard_D2s_v5']);
    const d = decide([pod('a/p', 500, 512, { nodeSelector: { 'skyweave.io/cloud': 'aws' } })], {}, { clouds: ['gcp'] });
    expect(d.unplaceable[0].reason).toMatch(/^no offering matches nodeSelector skyweave.io\/cloud=aws \(aws\/us-east-1\/.* would, but cloud aws is not allowed/);
  });

  it('instance families include and exclude', () => {
    expect(types(decide([pod('a/p', 500, 512)], {}, { instanceFamilies: { include: ['m5'] } }))).toEqual(['m5.large']);
    expect(types(decide([pod('a/p', 500, 512)], {}, { instanceFamilies: { exclude: ['s', 'e2', 'm6g'] } }))).toEqual(['m5.large']);
  });

  it('nodeConstraints bound the offering, not the pod', () => {
    expect(types(decide([pod('a/p', 500, 512)], {}, { nodeConstraints: { minCpuCores: 4 } }))).toEqual(['m5.xlarge']);
    expect(types(decide([pod('a/p', 500, 512)], {}, { nodeConstraints: { minRamMib: 20000 } }))).toEqual(['m5.2xlarge']);
    const d = decide([pod('a/big', 6000, 512)], {}, { nodeConstraints: { maxCpuCores: 4 } });
    expect(d.unplaceable).toEqual([{ pod: 'a/big', reason: expect.stringMatching(/^needs 6 vCPU; the largest allowed offering \(aws\/us-east-1\/m5.xlarge, 4 vCPU\) holds 3.9\d* vCPU after reservations/) as string }]);
    expect(types(decide([pod('a/p', 500, 512)], {}, { nodeConstraints: { maxRamMib: 4096 } }))).toEqual(['s-2vcpu-4gb']);
  });

  it('an unavailable offering falls to the next cheapest, and the event says why the cheaper one lost', () => {
    const d = decide([pod('a/p', 500, 512)], { unavailable: new Set([offeringKey(DO)]) });
    expect(types(d)).toEqual(['e2-standard-2']);
    expect(d.alternatives).toEqual([{ launch: 0, offering: DO, refusedBecause: 'unavailable (refused recently: quota or capacity)' }]);
  });

  it('alternatives name the next cheapest holder and its price difference', () => {
    const d = decide([pod('a/p', 500, 512)], { offerings: [M5L, M5XL] });
    expect(d.alternatives).toEqual([{ launch: 0, offering: M5XL, refusedBecause: 'costs $0.1920/h, $0.0960/h more than aws/us-east-1/m5.large' }]);
  });

  it('headroom: each new node keeps the percentage free', () => {
    const a = allocatableOf(M5L);
    const p = pod('a/p', Math.floor(a.cpuMillicores * 0.85), 512);
    expect(types(decide([p], { offerings: [M5L, M5XL] }))).toEqual(['m5.large']);
    expect(types(decide([p], { offerings: [M5L, M5XL] }, { headroom: { cpuPercentage: 20, memoryPercentage: 0 } }))).toEqual(['m5.xlarge']);
    const q = pod('a/q', 100, Math.floor(a.memoryMiB * 0.85));
    expect(types(decide([q], { offerings: [M5L, M5XL] }, { headroom: { cpuPercentage: 0, memoryPercentage: 20 } }))).toEqual(['m5.xlarge']);
  });

  it("DaemonSet overhead comes off every new node's allocatable", () => {
    const a = allocatableOf(M5L);
    const p = pod('a/p', a.cpuMillicores - 100, 512);
    expect(types(decide([p], { offerings: [M5L, M5XL] }))).toEqual(['m5.large']);
    expect(types(decide([p], { offerings: [M5L, M5XL], daemonSetOverhead: { cpuMillicores: 150, memoryMiB: 100, pods: 2 } }))).toEqual(['m5.xlarge']);
    const d = decide(Array.from({ length: 110 }, (_, i) => pod(`a/t${i}`, 0, 0)), { offerings: [M5_2XL], daemonSetOverhead: { cpuMillicores: 0, memoryMiB: 0, pods: 3 } });
    expect(d.launches.map((l) => l.pods.length).sort()).toEqual([107, 3]);
  });
});

describe('decideScaleUp: maxCores', () => {
  it('launches what fits within the limit and reports the rest', () => {
    const pods = Array.from({ length: 6 }, (_, i) => pod(`a/p${i}`, 1800, 1000));
    const d = decide(pods, { offerings: [M5L, M5XL] }, { maxCores: 10, workerCores: 6 });
    expect(d.launches.reduce((s, l) => s + l.offering.vcpu, 0)).toBeLessThanOrEqual(4);
    expect(d.launches.flatMap((l) => l.pods)).toHaveLength(2);
    expect(d.unplaceable).toHaveLength(4);
    expect(d.unplaceable[0].reason).toMatch(/^maxCores 10 reached: workers would have 10 vCPU/);
  });

  it('when the limit is already reached nothing is bought', () => {
    const d = decide([pod('a/p', 100, 100)], {}, { maxCores: 16, workerCores: 16 });
    expect(d.launches).toEqual([]);
    expect(d.unplaceable).toEqual([{ pod: 'a/p', reason: expect.stringMatching(/^maxCores 16 reached: workers have 16 vCPU/) as string }]);
  });

  it('a node larger than what the limit leaves is never bought; a smaller one is', () => {
    const d = decide([pod('a/p', 3000, 1000)], { offerings: [M5XL, M5_2XL] }, { maxCores: 8, workerCores: 2 });
    expect(types(d)).toEqual(['m5.xlarge']);
  });
});

describe('decideScaleUp: unplaceable reasons', () => {
  it('too large for every allowed offering', () => {
    const d = decide([pod('a/huge', 64000, 1000)]);
    expect(d.unplaceable[0].reason).toMatch(/^needs 64 vCPU; the largest allowed offering \(aws\/us-east-1\/m5.2xlarge, 8 vCPU\) holds 7.9\d* vCPU/);
    const m = decide([pod('a/mem', 100, 64000)]);
    expect(m.unplaceable[0].reason).toMatch(/^needs 64000 MiB; the largest allowed offering \(aws\/us-east-1\/m5.2xlarge, 32768 MiB\)/);
  });

  it('no offering at all', () => {
    expect(decide([pod('a/p', 1, 1)], { offerings: [] }).unplaceable[0].reason).toBe('no offerings are known (empty catalogue)');
    expect(decide([pod('a/p', 1, 1)], {}, { clouds: [] }).unplaceable[0].reason).toMatch(/^no offering is allowed: cloud .* is not allowed/);
  });
});
