import { filterNodeAffinity, filterTaints, filterUnschedulable, gkeReservation, type Node, type Pod } from '@skyweave/kube-sim';
import type { CapacityNode, Offering, PodToPlace, ScaleUpDecision, ScaleUpInput } from './types';

/*
 * Test helpers shared by the spec files (not exported from index.ts): builders, and an independent checker of a
 * decision that uses kube-sim's filters and gkeReservation directly (not the engine's internals).
 */

export function offering(o: Partial<Offering> & Pick<Offering, 'instanceType' | 'vcpu' | 'memoryMiB' | 'usdPerHour'>): Offering {
  const cloud = o.cloud ?? 'aws';
  const region = o.region ?? { aws: 'us-east-1', gcp: 'us-east4', azure: 'eastus', digitalocean: 'nyc3' }[cloud];
  const zone = o.zone ?? { aws: 'us-east-1a', gcp: 'us-east4-a', azure: '1', digitalocean: 'nyc3' }[cloud];
  return { cloud, region, zone, family: o.family ?? o.instanceType.split(/[.-]/)[0], architecture: o.architecture ?? 'amd64', ...o };
}

export function pod(key: string, cpuMillicores: number, memoryMiB: number, extra: Partial<PodToPlace> = {}): PodToPlace {
  return { key, requests: { cpuMillicores, memoryMiB }, ...extra };
}

export function podObj(p: PodToPlace): Pod {
  return {
    metadata: { name: p.key },
    spec: {
      containers: [],
      nodeSelector: p.nodeSelector,
      tolerations: p.tolerations,
      affinity: p.requiredNodeAffinity ? { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: p.requiredNodeAffinity } } } : undefined,
    },
  };
}

/** The labels the kubelet would set (kube-sim nodeLabels / bootstrap nodeLabels), written out again here. */
export function expectedLabels(o: Offering): Record<string, string> {
  return {
    'kubernetes.io/arch': o.architecture,
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': o.instanceType,
    'topology.kubernetes.io/region': o.region,
    'topology.kubernetes.io/zone': o.cloud === 'azure' && /^\d+$/.test(o.zone) ? `${o.region}-${o.zone}` : o.zone,
    'skyweave.io/cloud': o.cloud,
  };
}

const newNode = (o: Offering): Node => ({ metadata: { name: '', labels: expectedLabels(o) }, spec: {} });
const existingNode = (n: CapacityNode): Node => ({ metadata: { name: n.name, labels: n.labels }, spec: { taints: n.taints, unschedulable: n.unschedulable } });
const admitsNode = (p: PodToPlace, n: Node): boolean => !filterUnschedulable(podObj(p), n) && !filterTaints(podObj(p), n) && !filterNodeAffinity(podObj(p), n);

/** What a new node of `o` leaves for pending pods under the input's headroom and DaemonSets. */
export function room(o: Offering, input: ScaleUpInput): { cpu: number; mem: number; pods: number } {
  const r = gkeReservation(o.vcpu, o.memoryMiB);
  const h = input.policy.headroom;
  const ds = input.daemonSetOverhead;
  return {
    cpu: ((o.vcpu * 1000 - r.milliCPU) * (100 - (h?.cpuPercentage ?? 0))) / 100 - (ds?.cpuMillicores ?? 0),
    mem: ((o.memoryMiB - r.memoryMiB) * (100 - (h?.memoryPercentage ?? 0))) / 100 - (ds?.memoryMiB ?? 0),
    pods: 110 - (ds?.pods ?? 0),
  };
}

export function allowedByPolicy(o: Offering, input: ScaleUpInput): boolean {
  const { policy } = input;
  const nc = policy.nodeConstraints ?? {};
  const key = `${o.cloud}/${o.region}/${o.instanceType}`;
  return (
    (!policy.clouds || policy.clouds.includes(o.cloud)) &&
    (!policy.instanceFamilies?.include || policy.instanceFamilies.include.includes(o.family)) &&
    !policy.instanceFamilies?.exclude?.includes(o.family) &&
    (nc.minCpuCores === undefined || o.vcpu >= nc.minCpuCores) &&
    (nc.maxCpuCores === undefined || o.vcpu <= nc.maxCpuCores) &&
    (nc.minRamMib === undefined || o.memoryMiB >= nc.minRamMib) &&
    (nc.maxRamMib === undefined || o.memoryMiB <= nc.maxRamMib) &&
    !input.unavailable?.has(key)
  );
}

const EPS = 1e-6;
const fitsRoom = (pods: PodToPlace[], r: { cpu: number; mem: number; pods: number }): boolean =>
  pods.length <= r.pods &&
  pods.reduce((s, p) => s + p.requests.cpuMillicores, 0) <= r.cpu + EPS &&
  pods.reduce((s, p) => s + p.requests.memoryMiB, 0) <= r.mem + EPS;

/** Violations of the decision's contract (empty when it holds). */
export function violations(input: ScaleUpInput, d: ScaleUpDecision): string[] {
  const out: string[] = [];
  const byKey = new Map(input.pods.map((p) => [p.key, p]));
  const seen = new Map<string, number>();
  const count = (k: string): void => {
    seen.set(k, (seen.get(k) ?? 0) + 1);
  };
  const budget = input.policy.maxCores === null ? Infinity : input.policy.maxCores - input.policy.workerCores;
  let vcpu = 0;
  let cost = 0;
  const leftovers: { admit: (p: PodToPlace) => boolean; cpu: number; mem: number; pods: number }[] = [];
  d.launches.forEach((l, i) => {
    const pods = l.pods.map((k) => byKey.get(k) as PodToPlace);
    l.pods.forEach(count);
    if (!input.offerings.includes(l.offering)) out.push(`launch ${i}: offering not from the input`);
    if (!allowedByPolicy(l.offering, input)) out.push(`launch ${i}: ${l.offering.instanceType} not allowed`);
    if (!pods.length) out.push(`launch ${i}: no pods`);
    const r = room(l.offering, input);
    if (!fitsRoom(pods, r)) out.push(`launch ${i}: pods do not fit ${l.offering.instanceType}`);
    for (const p of pods) if (!admitsNode(p, newNode(l.offering))) out.push(`launch ${i}: ${p.key} does not admit ${l.offering.instanceType}`);
    vcpu += l.offering.vcpu;
    cost += l.offering.usdPerHour;
    const node = newNode(l.offering);
    leftovers.push({ admit: (p) => admitsNode(p, node), cpu: r.cpu - pods.reduce((s, p) => s + p.requests.cpuMillicores, 0), mem: r.mem - pods.reduce((s, p) => s + p.requests.memoryMiB, 0), pods: r.pods - pods.length });
  });
  const nodes = new Map(input.nodes.map((n) => [n.name, n]));
  for (const e of d.onExisting) {
    const n = nodes.get(e.node);
    if (!n) {
      out.push(`onExisting: unknown node ${e.node}`);
      continue;
    }
    const pods = e.pods.map((k) => byKey.get(k) as PodToPlace);
    e.pods.forEach(count);
    if (!fitsRoom(pods, { cpu: n.free.cpuMillicores, mem: n.free.memoryMiB, pods: n.free.pods })) out.push(`onExisting ${e.node}: pods do not fit`);
    for (const p of pods) if (!admitsNode(p, existingNode(n))) out.push(`onExisting ${e.node}: ${p.key} not admitted`);
  }
  for (const n of input.nodes) {
    const pods = (d.onExisting.find((e) => e.node === n.name)?.pods ?? []).map((k) => byKey.get(k) as PodToPlace);
    const node = existingNode(n);
    leftovers.push({ admit: (p) => admitsNode(p, node), cpu: n.free.cpuMillicores - pods.reduce((s, p) => s + p.requests.cpuMillicores, 0), mem: n.free.memoryMiB - pods.reduce((s, p) => s + p.requests.memoryMiB, 0), pods: n.free.pods - pods.length });
  }
  for (const u of d.unplaceable) {
    count(u.pod);
    if (!u.reason) out.push(`unplaceable ${u.pod}: no reason`);
  }
  for (const p of input.pods) if (seen.get(p.key) !== 1) out.push(`${p.key} appears ${seen.get(p.key) ?? 0} times`);
  if (vcpu > budget + EPS) out.push(`maxCores: launched ${vcpu} vCPU, budget ${budget}`);
  if (Math.abs(cost - d.costUsdPerHour) > 1e-6) out.push(`cost ${d.costUsdPerHour} != sum of prices ${cost}`);
  // An unplaced pod never fits the leftover of an existing node. A pod some allowed offering alone could hold (within
  // maxCores) is placed, unless maxCores binds: then it fits nowhere, neither in any node's leftover nor on a new node
  // within what the limit leaves.
  for (const u of d.unplaceable) {
    const p = byKey.get(u.pod) as PodToPlace;
    const fitsLeftover = (l: (typeof leftovers)[number]): boolean => l.admit(p) && l.pods >= 1 && p.requests.cpuMillicores <= l.cpu + EPS && p.requests.memoryMiB <= l.mem + EPS;
    if (leftovers.slice(d.launches.length).some(fitsLeftover)) out.push(`${p.key} unplaced but fits an existing node's leftover`);
    const holders = input.offerings.filter((o) => allowedByPolicy(o, input) && admitsNode(p, newNode(o)) && fitsRoom([p], room(o, input)));
    if (!holders.some((o) => o.vcpu <= budget)) continue;
    if (input.policy.maxCores === null) {
      out.push(`${p.key} is placeable but unplaced (${u.reason})`);
      continue;
    }
    if (!/maxCores/.test(u.reason)) out.push(`${p.key} unplaced with reason "${u.reason}", not maxCores`);
    if (leftovers.slice(0, d.launches.length).some(fitsLeftover)) out.push(`${p.key} unplaced but fits a launched node's leftover`);
    if (holders.some((o) => o.vcpu <= budget - vcpu)) out.push(`${p.key} unplaced but a new node within maxCores could hold it`);
  }
  return out;
}
