import fc from 'fast-check';
import type { CloudId } from '@skyweave/domain';
import type { NodeSelectorTerm, Taint, Toleration } from '@skyweave/kube-sim';
import { baselineScaleUp, decideScaleUp, nodeLabelsFor, offeringKey, type CapacityNode, type Offering, type PodToPlace, type ScaleUpInput, type ScaleUpPolicy } from './index';
import { room, violations } from './testing';

/*
 * Property tests: random pods, offerings, existing nodes and policies. The checker (testing.ts) uses kube-sim's filters
 * and gkeReservation directly: every placement admits its node and fits it (allocatable minus DaemonSets and headroom,
 * or the existing node's free room), every pod is accounted for once, maxCores holds, every pod some allowed offering
 * could hold alone is placed unless maxCores binds (and then it fits nowhere that is left), and the decision never
 * costs more than the baseline (first-fit decreasing, cheapest type per opening node) on the same input.
 */

const SEED = 1313;
const CLOUDS: CloudId[] = ['aws', 'gcp', 'azure', 'digitalocean'];
const ZONES: Record<CloudId, { region: string; zones: string[] }> = {
  aws: { region: 'us-east-1', zones: ['us-east-1a', 'us-east-1b'] },
  gcp: { region: 'us-east4', zones: ['us-east4-a', 'us-east4-c'] },
  azure: { region: 'eastus', zones: ['1', '2'] },
  digitalocean: { region: 'nyc3', zones: ['nyc3'] },
};
const FAMILIES = ['m5', 'c5', 'e2', 'n2', 'Dsv5', 's', 'g'];

const offeringArb: fc.Arbitrary<Offering> = fc
  .record({
    cloud: fc.constantFrom(...CLOUDS),
    zoneIndex: fc.nat(1),
    family: fc.constantFrom(...FAMILIES),
    vcpu: fc.constantFrom(1, 2, 4, 8, 16),
    gibPerVcpu: fc.constantFrom(1, 2, 4, 8),
    arm: fc.boolean(),
    // price per vCPU-hour in tenths of a cent, and a per-type skew
    perVcpu: fc.integer({ min: 15, max: 60 }),
    skew: fc.integer({ min: -20, max: 20 }),
  })
  .map((r) => {
    const z = ZONES[r.cloud];
    const vcpu = r.vcpu;
    return {
      cloud: r.cloud,
      region: z.region,
      zone: z.zones[Math.min(r.zoneIndex, z.zones.length - 1)],
      instanceType: `${r.family}-${vcpu}x${r.gibPerVcpu}${r.arm ? 'g' : ''}`,
      family: r.family,
      vcpu,
      memoryMiB: vcpu * r.gibPerVcpu * 1024,
      architecture: r.arm ? 'arm64' : 'amd64',
      usdPerHour: Math.round(vcpu * r.perVcpu * (1 + r.gibPerVcpu / 8) * (100 + r.skew)) / 100000,
    } satisfies Offering;
  });

const tolerationArb: fc.Arbitrary<Toleration> = fc.constantFrom<Toleration>({ key: 'dedicated', operator: 'Equal', value: 'batch', effect: 'NoSchedule' }, { key: 'dedicated', operator: 'Exists' }, { operator: 'Exists' });
const affinityArb: fc.Arbitrary<NodeSelectorTerm[]> = fc.constantFrom<NodeSelectorTerm[]>(
  [{ matchExpressions: [{ key: 'skyweave.io/cloud', operator: 'NotIn', values: ['digitalocean'] }] }],
  [{ matchExpressions: [{ key: 'skyweave.io/cloud', operator: 'In', values: ['aws', 'gcp'] }] }],
  [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['arm64'] }] }, { matchExpressions: [{ key: 'skyweave.io/cloud', operator: 'In', values: ['azure'] }] }],
  [{ matchExpressions: [{ key: 'node.kubernetes.io/instance-type', operator: 'Exists' }, { key: 'topology.kubernetes.io/zone', operator: 'NotIn', values: ['us-east-1a', 'eastus-1'] }] }],
);
const selectorArb: fc.Arbitrary<Record<string, string>> = fc.oneof(
  fc.constantFrom(...CLOUDS).map((c) => ({ 'skyweave.io/cloud': c })),
  fc.constantFrom('amd64', 'arm64').map((a) => ({ 'kubernetes.io/arch': a })),
  fc.constantFrom('us-east-1a', 'us-east4-c', 'eastus-2', 'nyc3').map((z) => ({ 'topology.kubernetes.io/zone': z })),
  fc.constant({ 'kubernetes.io/os': 'linux', 'skyweave.io/cloud': 'gcp' }),
);

const podSpecArb = fc.record({
  cpu: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 500 }), fc.integer({ min: 500, max: 4000 }), fc.integer({ min: 4000, max: 20000 })),
  mem: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 1024 }), fc.integer({ min: 1024, max: 16384 }), fc.integer({ min: 16384, max: 140000 }).map((m) => m + 0.5)),
  selector: fc.option(selectorArb, { freq: 3 }),
  affinity: fc.option(affinityArb, { freq: 4 }),
  tolerations: fc.option(fc.array(tolerationArb, { maxLength: 2 }), { freq: 3 }),
  replicas: fc.integer({ min: 1, max: 6 }),
  // sized to fill 1/div of an offering's room exactly (boundaries are where packing bugs hide)
  fill: fc.option(fc.record({ of: fc.nat(13), div: fc.integer({ min: 1, max: 4 }), cpuOnly: fc.boolean() }), { freq: 3 }),
});

const nodeArb = (offerings: Offering[]): fc.Arbitrary<Omit<CapacityNode, 'name'>> =>
  fc.record({
    of: fc.nat(Math.max(0, offerings.length - 1)),
    taint: fc.option(fc.constantFrom<Taint>({ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }, { key: 'dedicated', value: 'batch', effect: 'PreferNoSchedule' }, { key: 'x', effect: 'NoExecute' }), { freq: 3 }),
    unschedulable: fc.boolean(),
    cpu: fc.integer({ min: 0, max: 6000 }),
    mem: fc.integer({ min: 0, max: 12000 }),
    pods: fc.integer({ min: 0, max: 20 }),
    inFlight: fc.boolean(),
  }).map((r) => ({
    labels: offerings.length ? nodeLabelsFor(offerings[r.of]) : { 'skyweave.io/cloud': 'aws' },
    ...(r.taint ? { taints: [r.taint] } : {}),
    unschedulable: r.unschedulable && r.of % 3 === 0,
    free: { cpuMillicores: r.cpu, memoryMiB: r.mem, pods: r.pods },
    inFlight: r.inFlight,
  }));

const inputArb: fc.Arbitrary<ScaleUpInput> = fc
  .uniqueArray(offeringArb, { minLength: 0, maxLength: 14, selector: (o) => `${offeringKey(o)}/${o.zone}` })
  .chain((offerings) =>
    fc.record({
      offerings: fc.constant(offerings),
      pods: fc.array(podSpecArb, { maxLength: 10 }),
      nodes: fc.array(nodeArb(offerings), { maxLength: 4 }),
      maxCores: fc.option(fc.integer({ min: 0, max: 60 }), { freq: 2 }),
      workerCores: fc.integer({ min: 0, max: 24 }),
      clouds: fc.option(fc.subarray(CLOUDS, { minLength: 1 }), { freq: 3 }),
      include: fc.option(fc.subarray(FAMILIES, { minLength: 2 }), { freq: 4 }),
      exclude: fc.option(fc.subarray(FAMILIES, { maxLength: 2 }), { freq: 4 }),
      constraints: fc.option(fc.record({ minCpuCores: fc.option(fc.constantFrom(2, 4), { nil: undefined }), maxCpuCores: fc.option(fc.constantFrom(4, 8, 16), { nil: undefined }), minRamMib: fc.option(fc.constantFrom(2048, 8192), { nil: undefined }), maxRamMib: fc.option(fc.constantFrom(32768, 65536), { nil: undefined }) }), { freq: 3 }),
      headroom: fc.option(fc.record({ cpuPercentage: fc.integer({ min: 0, max: 40 }), memoryPercentage: fc.integer({ min: 0, max: 40 }) }), { freq: 3 }),
      unavailable: fc.subarray(offerings.map(offeringKey), { maxLength: Math.min(2, offerings.length) }),
      overhead: fc.option(fc.record({ cpuMillicores: fc.integer({ min: 0, max: 300 }), memoryMiB: fc.integer({ min: 0, max: 400 }), pods: fc.integer({ min: 0, max: 5 }) }), { freq: 2 }),
    }),
  )
  .map((r) => {
    const policy: ScaleUpPolicy = {
      maxCores: r.maxCores === null ? null : r.workerCores + r.maxCores,
      workerCores: r.workerCores,
      ...(r.clouds ? { clouds: r.clouds } : {}),
      ...(r.include || r.exclude ? { instanceFamilies: { ...(r.include ? { include: r.include } : {}), ...(r.exclude ? { exclude: r.exclude } : {}) } } : {}),
      ...(r.constraints ? { nodeConstraints: r.constraints } : {}),
      ...(r.headroom ? { headroom: r.headroom } : {}),
    };
    const pods: PodToPlace[] = [];
    r.pods.forEach((s, d) => {
      let requests = { cpuMillicores: s.cpu, memoryMiB: s.mem };
      if (s.fill && r.offerings.length) {
        const o = r.offerings[s.fill.of % r.offerings.length];
        const u = room(o, { policy, daemonSetOverhead: r.overhead ?? undefined, pods: [], offerings: [], nodes: [] });
        requests = { cpuMillicores: Math.max(0, Math.floor(u.cpu / s.fill.div)), memoryMiB: s.fill.cpuOnly ? s.mem : Math.max(0, Math.floor(u.mem / s.fill.div)) };
      }
      for (let i = 0; i < s.replicas; i++) {
        pods.push({
          key: `ns/d${d}-${i}`,
          requests,
          ...(s.selector ? { nodeSelector: s.selector } : {}),
          ...(s.affinity ? { requiredNodeAffinity: s.affinity } : {}),
          ...(s.tolerations ? { tolerations: s.tolerations } : {}),
        });
      }
    });
    return {
      pods,
      offerings: r.offerings,
      nodes: r.nodes.map((n, i) => ({ ...n, name: `node-${i}` })),
      policy,
      unavailable: new Set(r.unavailable),
      ...(r.overhead ? { daemonSetOverhead: r.overhead } : {}),
    };
  });

const placedCount = (d: ReturnType<typeof decideScaleUp>): number => d.launches.reduce((s, l) => s + l.pods.length, 0) + d.onExisting.reduce((s, e) => s + e.pods.length, 0);

describe('decideScaleUp properties', () => {
  it('places every placeable pod, violates no constraint or limit, and never costs more than the baseline', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const d = decideScaleUp(input);
        const base = baselineScaleUp(input);
        expect(violations(input, d)).toEqual([]);
        expect(violations(input, base)).toEqual([]);
        expect(placedCount(d)).toBeGreaterThanOrEqual(placedCount(base));
        if (placedCount(d) === placedCount(base)) expect(d.costUsdPerHour).toBeLessThanOrEqual(base.costUsdPerHour + 1e-9);
        for (const a of d.alternatives) {
          expect(a.launch).toBeLessThan(d.launches.length);
          expect(a.offering).not.toBe(d.launches[a.launch].offering);
          expect(a.refusedBecause).not.toBe('');
        }
      }),
      { seed: SEED, numRuns: 250 },
    );
  });

  it('is deterministic: the same input in another order gives the same decision', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const d = decideScaleUp(input);
        const shuffled: ScaleUpInput = { ...input, pods: [...input.pods].reverse(), offerings: [...input.offerings].reverse(), nodes: [...input.nodes].reverse() };
        expect(decideScaleUp(shuffled)).toEqual(d);
      }),
      { seed: SEED + 1, numRuns: 100 },
    );
  });

  it('without maxCores no pod is ever refused for maxCores', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const free: ScaleUpInput = { ...input, policy: { ...input.policy, maxCores: null } };
        const d = decideScaleUp(free);
        expect(d.unplaceable.every((u) => !/maxCores/.test(u.reason))).toBe(true);
      }),
      { seed: SEED + 2, numRuns: 100 },
    );
  });
});
