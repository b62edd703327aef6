import type { Node, Pod } from '@skyweave/kube-sim';
import { admits, constraintClassKey, nodeObject, podObject } from './fit';
import { allocatableOf, nodeLabelsFor, offeringKey } from './offerings';
import type { Offering, PodToPlace, ScaleUpDecision, ScaleUpInput } from './types';

/*
 * Scale-up decision: pods first go to existing/in-flight capacity, the rest are packed onto new nodes. Several packing
 * strategies run on the same input and the cheapest plan wins; the baseline (first-fit decreasing, each new node the
 * cheapest type holding the pod that opens it) is always one of them, so the answer never costs more than it.
 *
 * Units inside: cpu in whole millicores, memory in whole bytes (pods' requests rounded up, capacities rounded down), so
 * sums are exact integers and "fits" means the same thing everywhere.
 */

const MiB = 1024 * 1024;
const podCpu = (m: number): number => Math.max(0, Math.ceil(m - 1e-9));
const podMem = (mib: number): number => Math.max(0, Math.ceil(mib * MiB - 1e-3));
const capCpu = (m: number): number => Math.floor(m + 1e-9);
const capMem = (mib: number): number => Math.floor(mib * MiB + 1e-3);

/** A pod inside the engine. */
interface P {
  key: string;
  src: PodToPlace;
  cpu: number;
  mem: number;
  cls: number;
  size: number;
  /** index of its item (pods of one class with equal requests) */
  item: number;
}

/** An offering inside the engine: usable capacity for pods after reservation, DaemonSets and headroom. */
interface T {
  o: Offering;
  key: string;
  price: number;
  vcpu: number;
  cpu: number;
  mem: number;
  pods: number;
  /** why policy/limits refuse it (null: allowed) */
  refusal: string | null;
  /** allowed by the policy but larger than what maxCores leaves */
  overBudget: boolean;
  /** per constraint class: 1 when the class's constraints admit the offering's node */
  compat: Uint8Array;
}

interface Bin {
  t: T;
  pods: P[];
  cpu: number;
  mem: number;
  /** pods per constraint class */
  classes: Map<number, number>;
}

interface Plan {
  bins: Bin[];
  unplaced: P[];
  cost: number;
  vcpu: number;
}

interface Item {
  cls: number;
  cpu: number;
  mem: number;
  size: number;
  count: number;
}

/** Everything the strategies share for one call (no module state: calls may run concurrently). */
interface Ctx {
  classes: Pod[];
  all: T[];
  /** allowed offerings, by price then key */
  allowed: T[];
  /** per class: allowed offerings it admits, by price then key */
  byClass: T[][];
  /** per class: the allowed offerings it admits that no other one with the same compatibility dominates */
  frontier: T[][];
  items: Item[];
  budget: number;
  /** running maxima of usable cpu and memory over `allowed` (index k: offerings 0..k) */
  maxCpuUpTo: number[];
  maxMemUpTo: number[];
  totalCpu: number;
  totalMem: number;
}

const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byPriceKey = (a: T, b: T): number => a.price - b.price || cmpStr(a.key, b.key) || cmpStr(a.o.zone, b.o.zone);

function fitsAlone(t: T, p: P): boolean {
  return t.compat[p.cls] === 1 && p.cpu <= t.cpu && p.mem <= t.mem && t.pods >= 1;
}

function fitsBin(b: Bin, p: P): boolean {
  return b.t.compat[p.cls] === 1 && b.cpu + p.cpu <= b.t.cpu && b.mem + p.mem <= b.t.mem && b.pods.length + 1 <= b.t.pods;
}

function addToBin(b: Bin, p: P): void {
  b.pods.push(p);
  b.cpu += p.cpu;
  b.mem += p.mem;
  b.classes.set(p.cls, (b.classes.get(p.cls) ?? 0) + 1);
}

function holds(t: T, classes: Iterable<number>, cpu: number, mem: number, pods: number): boolean {
  if (cpu > t.cpu || mem > t.mem || pods > t.pods) return false;
  for (const c of classes) if (t.compat[c] !== 1) return false;
  return true;
}

/** Chooses the offering of a new node for pod `p` (which does not fit any open node), or null. */
type Chooser = (p: P, remaining: Int32Array, budgetLeft: number) => T | null;

function cheapestChooser(ctx: Ctx): Chooser {
  return (p, _remaining, left) => ctx.byClass[p.cls].find((t) => t.vcpu <= left && p.cpu <= t.cpu && p.mem <= t.mem && t.pods >= 1) ?? null;
}

/**
 * Look-ahead: for each candidate type, fill a hypothetical node with `p` and then, greedily, the largest remaining
 * pods it admits; choose the type with the lowest price per packed value. `weight` values a pod (normalised demand).
 */
function lookaheadChooser(ctx: Ctx, weight: (cpu: number, mem: number) => number, capValue: (t: T) => number): Chooser {
  // candidates per class in order of a lower bound of their score (price over the value of a full node), so the
  // search stops as soon as no remaining candidate can beat the best found
  const bound = (t: T): number => t.price / Math.max(capValue(t), 1e-12);
  const lists = ctx.frontier.map((list) => list.map((t) => ({ t, lb: bound(t) })).sort((a, b) => a.lb - b.lb || byPriceKey(a.t, b.t)));
  return (p, remaining, left) => {
    let best: T | null = null;
    let bestScore = Infinity;
    for (const { t, lb } of lists[p.cls]) {
      if (lb > bestScore + 1e-12) break;
      if (t.vcpu > left || !fitsAlone(t, p)) continue;
      let cpu = p.cpu;
      let mem = p.mem;
      let n = 1;
      let value = weight(p.cpu, p.mem);
      for (let i = 0; i < ctx.items.length && n < t.pods; i++) {
        const it = ctx.items[i];
        let count = remaining[i] - (i === p.item ? 1 : 0);
        if (count <= 0 || t.compat[it.cls] !== 1) continue;
        if (it.cpu > 0) count = Math.min(count, Math.floor((t.cpu - cpu) / it.cpu));
        if (it.mem > 0) count = Math.min(count, Math.floor((t.mem - mem) / it.mem));
        count = Math.min(count, t.pods - n);
        if (count <= 0) continue;
        cpu += count * it.cpu;
        mem += count * it.mem;
        n += count;
        value += count * weight(it.cpu, it.mem);
      }
      const score = t.price / Math.max(value, 1e-12);
      if (score < bestScore - 1e-12 || (Math.abs(score - bestScore) <= 1e-12 && best && byPriceKey(t, best) < 0)) {
        best = t;
        bestScore = score;
      }
    }
    return best;
  };
}

/** New nodes are `fixed` whenever it admits and holds the pod, else what `fallback` picks. */
function fixedChooser(fixed: T, fallback: Chooser): Chooser {
  return (p, remaining, left) => (fixed.vcpu <= left && fitsAlone(fixed, p) ? fixed : fallback(p, remaining, left));
}

/** First-fit decreasing: each pod into the first open node that admits and holds it, else a new node from `choose`. */
function pack(ctx: Ctx, pods: P[], choose: Chooser, counts?: Int32Array, budget = ctx.budget): Plan {
  const remaining = counts ? Int32Array.from(counts) : Int32Array.from(ctx.items, (it) => it.count);
  const bins: Bin[] = [];
  const unplaced: P[] = [];
  let left = budget;
  // the smallest cpu and memory among the pods still to come: a node with less free room than both is closed
  const minCpu = new Float64Array(pods.length + 1).fill(Infinity);
  const minMem = new Float64Array(pods.length + 1).fill(Infinity);
  for (let k = pods.length - 1; k >= 0; k--) {
    minCpu[k] = Math.min(minCpu[k + 1], pods[k].cpu);
    minMem[k] = Math.min(minMem[k + 1], pods[k].mem);
  }
  let open: Bin[] = [];
  for (let k = 0; k < pods.length; k++) {
    const p = pods[k];
    let placed = false;
    for (const b of open) {
      if (fitsBin(b, p)) {
        addToBin(b, p);
        placed = true;
        break;
      }
    }
    if (!placed) {
      const t = choose(p, remaining, left);
      if (t) {
        const b: Bin = { t, pods: [], cpu: 0, mem: 0, classes: new Map() };
        addToBin(b, p);
        bins.push(b);
        open.push(b);
        left -= t.vcpu;
      } else {
        unplaced.push(p);
      }
    }
    remaining[p.item]--;
    if ((k & 31) === 31) open = open.filter((b) => b.t.cpu - b.cpu >= minCpu[k + 1] && b.t.mem - b.mem >= minMem[k + 1] && b.pods.length < b.t.pods);
  }
  return finish(bins, unplaced);
}

function finish(bins: Bin[], unplaced: P[]): Plan {
  let cost = 0;
  let vcpu = 0;
  for (const b of bins) {
    cost += b.t.price;
    vcpu += b.t.vcpu;
  }
  return { bins, unplaced, cost, vcpu };
}

/** The cheapest allowed offering that admits the classes of `bins` and holds their totals, within `vcpuLeft`, priced below `below`. */
function cheapestHolding(ctx: Ctx, bins: Bin[], cpu: number, mem: number, pods: number, vcpuLeft: number, below: number): T | null {
  // prune with the running maxima of capacity over the offerings cheaper than `below`
  let lo = 0;
  let hi = ctx.allowed.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ctx.allowed[mid].price < below) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0 || cpu > ctx.maxCpuUpTo[lo - 1] || mem > ctx.maxMemUpTo[lo - 1]) return null;
  next: for (let k = 0; k < lo; k++) {
    const t = ctx.allowed[k];
    if (t.vcpu > vcpuLeft || cpu > t.cpu || mem > t.mem || pods > t.pods) continue;
    for (const b of bins) for (const c of b.classes.keys()) if (t.compat[c] !== 1) continue next;
    return t;
  }
  return null;
}

const cloneBin = (b: Bin): Bin => ({ t: b.t, pods: [...b.pods], cpu: b.cpu, mem: b.mem, classes: new Map(b.classes) });
const binOf = (t: T, pods: P[]): Bin => {
  const b: Bin = { t, pods: [], cpu: 0, mem: 0, classes: new Map() };
  for (const p of pods) addToBin(b, p);
  return b;
};
const sumPrice = (bins: Bin[]): number => bins.reduce((s, b) => s + b.t.price, 0);
const sumVcpu = (bins: Bin[]): number => bins.reduce((s, b) => s + b.t.vcpu, 0);

/** Re-sizes each node to the cheapest offering holding its pods (never dearer, within the budget). */
function resizeAll(ctx: Ctx, bins: Bin[], vcpuOutside: number): void {
  let vcpu = vcpuOutside + sumVcpu(bins);
  for (const b of bins) {
    const t = cheapestHolding(ctx, [b], b.cpu, b.mem, b.pods.length, ctx.budget - vcpu + b.t.vcpu, b.t.price);
    if (t) {
      vcpu += t.vcpu - b.t.vcpu;
      b.t = t;
    }
  }
}

/** How much polishing a plan gets (less for large batches, to stay fast). */
interface Effort {
  /** try every pair of nodes out when the plan has at most this many nodes */
  pairsUpTo: number;
  rounds: number;
  /** take single nodes out only when their utilisation is below this */
  victimUse: number;
  /** merge two nodes only when one of them is used below this */
  mergeUse: number;
  /** consolidate groups of nodes when the plan has at most this many */
  consolidateUpTo: number;
  /** try every three nodes out when the plan has at most this many */
  triplesUpTo: number;
}

const FULL: Effort = { pairsUpTo: 16, rounds: 4, victimUse: Infinity, mergeUse: Infinity, consolidateUpTo: 40, triplesUpTo: 12 };
const LIGHT: Effort = { pairsUpTo: 0, rounds: 2, victimUse: 0.8, mergeUse: 0.5, consolidateUpTo: 0, triplesUpTo: 0 };

const use = (b: Bin): number => Math.max(b.cpu / Math.max(b.t.cpu, 1), b.mem / Math.max(b.t.mem, 1), b.pods.length / Math.max(b.t.pods, 1));

/** Merges pairs of nodes into one cheaper node while some pair allows it (`bins` is changed in place). */
function mergePairs(ctx: Ctx, bins: Bin[], vcpuOutside: number, mergeUse = Infinity): boolean {
  let any = false;
  let vcpu = vcpuOutside + sumVcpu(bins);
  for (let i = 0; i < bins.length; i++) {
    for (let j = i + 1; j < bins.length; j++) {
      const a = bins[i];
      const b = bins[j];
      if (mergeUse !== Infinity && use(a) >= mergeUse && use(b) >= mergeUse) continue;
      const t = cheapestHolding(ctx, [a, b], a.cpu + b.cpu, a.mem + b.mem, a.pods.length + b.pods.length, ctx.budget - vcpu + a.t.vcpu + b.t.vcpu, a.t.price + b.t.price - 1e-9);
      if (!t) continue;
      vcpu += t.vcpu - a.t.vcpu - b.t.vcpu;
      bins[i] = binOf(t, [...a.pods, ...b.pods]);
      bins.splice(j, 1);
      any = true;
      j = i; // the merged node may absorb more
    }
  }
  return any;
}

/** Packs `pods` onto new nodes only, with each chooser, polished; the cheapest result. */
function repack(ctx: Ctx, pods: P[], choosers: Chooser[], vcpuLeft: number): Bin[] | null {
  let best: Bin[] | null = null;
  let bestCost = Infinity;
  const remaining = new Int32Array(ctx.items.length);
  for (const p of pods) remaining[p.item]++;
  for (const choose of choosers) {
    const plan = pack(ctx, pods, choose, remaining, vcpuLeft);
    if (plan.unplaced.length) continue;
    resizeAll(ctx, plan.bins, ctx.budget - vcpuLeft);
    mergePairs(ctx, plan.bins, ctx.budget - vcpuLeft);
    const cost = sumPrice(plan.bins);
    if (cost < bestCost - 1e-12) {
      best = plan.bins;
      bestCost = cost;
    }
  }
  return best;
}

/**
 * Consolidation: for each offering, the nodes whose pods it admits are added to one node of it (the dearest first,
 * while they fit); the offering whose node replaces the most expensive group, net of its own price, wins. Escapes what
 * pair moves cannot: seven 16-vCPU nodes each holding one 8-vCPU pod become one 72-vCPU node.
 */
function consolidate(ctx: Ctx, bins: Bin[]): boolean {
  const vcpuAll = sumVcpu(bins);
  const order = [...bins].sort((a, b) => b.t.price - a.t.price || b.cpu - a.cpu || b.mem - a.mem || cmpStr(a.t.key, b.t.key));
  let best: { group: Bin[]; t: T; gain: number } | null = null;
  for (const t of ctx.allowed) {
    const group: Bin[] = [];
    let cpu = 0;
    let mem = 0;
    let n = 0;
    let price = 0;
    let vcpu = 0;
    next: for (const b of order) {
      if (cpu + b.cpu > t.cpu || mem + b.mem > t.mem || n + b.pods.length > t.pods) continue;
      for (const c of b.classes.keys()) if (t.compat[c] !== 1) continue next;
      group.push(b);
      cpu += b.cpu;
      mem += b.mem;
      n += b.pods.length;
      price += b.t.price;
      vcpu += b.t.vcpu;
    }
    const gain = price - t.price;
    if (group.length < 2 || gain <= (best?.gain ?? 1e-9) || t.vcpu - vcpu > ctx.budget - vcpuAll) continue;
    best = { group, t, gain };
  }
  if (!best) return false;
  const { group, t } = best;
  const merged = binOf(t, group.flatMap((b) => b.pods));
  const rest = bins.filter((b) => !group.includes(b));
  bins.splice(0, bins.length, ...rest, merged);
  return true;
}

/**
 * Improves a plan without ever raising its cost (nor its vCPU past maxCores): re-size each node to the cheapest
 * offering holding its pods; merge two nodes into one cheaper node; (large-neighbourhood search) take one node out and
 * re-pack its pods — first into the others' free room, the rest onto new nodes with the choosers — keeping the result
 * when cheaper; for small plans also every pair and (first round) every triple of nodes out, and consolidation.
 */
function improve(ctx: Ctx, plan: Plan, choosers: Chooser[], effort: Effort): Plan {
  let bins = plan.bins.map(cloneBin);
  const outside = 0;
  resizeAll(ctx, bins, outside);
  mergePairs(ctx, bins, outside, effort.mergeUse);
  for (let round = 0; round < effort.rounds; round++) {
    let improved = false;
    // one node out
    const order = bins.filter((b) => use(b) < effort.victimUse).sort((a, b) => b.t.price - a.t.price || cmpStr(a.t.key, b.t.key));
    for (const victim of order) {
      const at = bins.indexOf(victim);
      if (at < 0) continue;
      // where the victim's pods would go in the others' free room (tentative: extra use per node)
      const extraCpu = new Float64Array(bins.length);
      const extraMem = new Float64Array(bins.length);
      const extraN = new Int32Array(bins.length);
      const dest = new Int32Array(victim.pods.length).fill(-1);
      const left: P[] = [];
      victim.pods.forEach((p, k) => {
        for (let i = 0; i < bins.length; i++) {
          const b = bins[i];
          if (i === at || b.t.compat[p.cls] !== 1) continue;
          if (b.cpu + extraCpu[i] + p.cpu > b.t.cpu || b.mem + extraMem[i] + p.mem > b.t.mem || b.pods.length + extraN[i] + 1 > b.t.pods) continue;
          extraCpu[i] += p.cpu;
          extraMem[i] += p.mem;
          extraN[i] += 1;
          dest[k] = i;
          return;
        }
        left.push(p);
      });
      const vcpuLeft = ctx.budget - sumVcpu(bins) + victim.t.vcpu;
      const fresh = left.length ? repack(ctx, left, choosers, vcpuLeft) : [];
      if (!fresh || sumPrice(fresh) >= victim.t.price - 1e-9) continue;
      const next = bins.map((b, i) => (extraN[i] ? cloneBin(b) : b));
      victim.pods.forEach((p, k) => {
        if (dest[k] >= 0) addToBin(next[dest[k]], p);
      });
      next.splice(at, 1);
      bins = [...next, ...fresh];
      improved = true;
    }
    // two nodes out, when the plan is small enough to try every pair
    if (bins.length <= effort.pairsUpTo) {
      for (let i = 0; i < bins.length; i++) {
        for (let j = i + 1; j < bins.length; j++) {
          const rest = bins.filter((_, k) => k !== i && k !== j);
          const pods = [...bins[i].pods, ...bins[j].pods].sort(bySize);
          const fresh = repack(ctx, pods, choosers, ctx.budget - sumVcpu(rest));
          if (!fresh || sumPrice(fresh) >= bins[i].t.price + bins[j].t.price - 1e-9) continue;
          bins = [...rest, ...fresh];
          improved = true;
          j = bins.length; // indices moved: restart from the next i
        }
      }
    }
    // three nodes out, for small plans
    if (round === 0 && bins.length <= effort.triplesUpTo) {
      triples: for (let i = 0; i < bins.length; i++) {
        for (let j = i + 1; j < bins.length; j++) {
          for (let k = j + 1; k < bins.length; k++) {
            const out = [bins[i], bins[j], bins[k]];
            const rest = bins.filter((b) => !out.includes(b));
            const pods = out.flatMap((b) => b.pods).sort(bySize);
            const fresh = repack(ctx, pods, choosers, ctx.budget - sumVcpu(rest));
            if (!fresh || sumPrice(fresh) >= sumPrice(out) - 1e-9) continue;
            bins = [...rest, ...fresh];
            improved = true;
            break triples;
          }
        }
      }
    }
    if (mergePairs(ctx, bins, outside, effort.mergeUse)) improved = true;
    if (bins.length <= effort.consolidateUpTo) for (let k = 0; k < 8 && consolidate(ctx, bins); k++) improved = true;
    if (!improved) break;
  }
  resizeAll(ctx, bins, outside);
  return finish(bins, plan.unplaced);
}

const bySize = (a: P, b: P): number => b.size - a.size || b.cpu - a.cpu || b.mem - a.mem || cmpStr(a.key, b.key);

/** With maxCores binding: put what is left into open nodes' free room, then new nodes while the budget allows. */
function fillUnplaced(ctx: Ctx, plan: Plan): Plan {
  if (!plan.unplaced.length) return plan;
  const bins = plan.bins;
  let left = ctx.budget - plan.vcpu;
  const unplaced: P[] = [];
  const cheapest = cheapestChooser(ctx);
  for (const p of plan.unplaced) {
    const b = bins.find((x) => fitsBin(x, p));
    if (b) {
      addToBin(b, p);
      continue;
    }
    const t = cheapest(p, new Int32Array(0), left);
    if (!t) {
      unplaced.push(p);
      continue;
    }
    const nb: Bin = { t, pods: [], cpu: 0, mem: 0, classes: new Map() };
    addToBin(nb, p);
    bins.push(nb);
    left -= t.vcpu;
  }
  return finish(bins, unplaced);
}

const better = (a: Plan, b: Plan): boolean => a.unplaced.length < b.unplaced.length || (a.unplaced.length === b.unplaced.length && a.cost < b.cost - 1e-9);

function policyRefusal(o: Offering, input: ScaleUpInput): string | null {
  const { policy } = input;
  if (policy.clouds && !policy.clouds.includes(o.cloud)) return `cloud ${o.cloud} is not allowed (policy clouds: ${policy.clouds.join(', ') || 'none'})`;
  const fam = policy.instanceFamilies;
  if (fam?.include && !fam.include.includes(o.family)) return `family ${o.family} is not in instanceFamilies.include`;
  if (fam?.exclude?.includes(o.family)) return `family ${o.family} is in instanceFamilies.exclude`;
  const nc = policy.nodeConstraints;
  if (nc?.minCpuCores !== undefined && o.vcpu < nc.minCpuCores) return `${o.vcpu} vCPU is below nodeConstraints.minCpuCores ${nc.minCpuCores}`;
  if (nc?.maxCpuCores !== undefined && o.vcpu > nc.maxCpuCores) return `${o.vcpu} vCPU is above nodeConstraints.maxCpuCores ${nc.maxCpuCores}`;
  if (nc?.minRamMib !== undefined && o.memoryMiB < nc.minRamMib) return `${o.memoryMiB} MiB is below nodeConstraints.minRamMib ${nc.minRamMib}`;
  if (nc?.maxRamMib !== undefined && o.memoryMiB > nc.maxRamMib) return `${o.memoryMiB} MiB is above nodeConstraints.maxRamMib ${nc.maxRamMib}`;
  if (input.unavailable?.has(offeringKey(o))) return 'unavailable (refused recently: quota or capacity)';
  return null;
}

function budgetRefusal(o: Offering, input: ScaleUpInput): string | null {
  const { maxCores, workerCores } = input.policy;
  return maxCores !== null && workerCores + o.vcpu > maxCores ? `${o.vcpu} vCPU would exceed maxCores ${maxCores} (workers have ${workerCores} vCPU)` : null;
}

/** The usable capacity of a new node of `o` for pending pods: allocatable × (100 − headroom)% − DaemonSet overhead. */
export function usableCapacity(o: Pick<Offering, 'vcpu' | 'memoryMiB'>, input: Pick<ScaleUpInput, 'policy' | 'daemonSetOverhead'>): { cpuMillicores: number; memoryMiB: number; pods: number } {
  const a = allocatableOf(o);
  const h = input.policy.headroom;
  const ds = input.daemonSetOverhead;
  return {
    cpuMillicores: (a.cpuMillicores * (100 - (h?.cpuPercentage ?? 0))) / 100 - (ds?.cpuMillicores ?? 0),
    memoryMiB: (a.memoryMiB * (100 - (h?.memoryPercentage ?? 0))) / 100 - (ds?.memoryMiB ?? 0),
    pods: a.pods - (ds?.pods ?? 0),
  };
}

type Mode = 'best' | 'baseline';

interface Prepared {
  ctx: Ctx;
  onExisting: Map<string, string[]>;
  existingOrder: string[];
  toPack: P[];
  unplaceable: { pod: string; reason: string }[];
}

function prepare(input: ScaleUpInput): Prepared {
  const budget = input.policy.maxCores === null ? Infinity : input.policy.maxCores - input.policy.workerCores;
  // constraint classes
  const classIndex = new Map<string, number>();
  const classes: Pod[] = [];
  const clsOf = input.pods.map((p) => {
    const k = constraintClassKey(p);
    let c = classIndex.get(k);
    if (c === undefined) {
      c = classes.length;
      classIndex.set(k, c);
      classes.push(podObject(p));
    }
    return c;
  });
  // offerings (deduplicated by key and zone: the first one given wins)
  const seen = new Set<string>();
  const all: T[] = [];
  for (const o of input.offerings) {
    const key = offeringKey(o);
    if (seen.has(`${key}/${o.zone}`)) continue;
    seen.add(`${key}/${o.zone}`);
    const cap = usableCapacity(o, input);
    const node = nodeObject({ name: '', labels: nodeLabelsFor(o) });
    const compat = new Uint8Array(classes.length);
    for (let c = 0; c < classes.length; c++) compat[c] = admits(classes[c], node) ? 1 : 0;
    const policyNo = policyRefusal(o, input);
    const budgetNo = budgetRefusal(o, input);
    all.push({ o, key, price: o.usdPerHour, vcpu: o.vcpu, cpu: capCpu(cap.cpuMillicores), mem: capMem(cap.memoryMiB), pods: Math.floor(cap.pods), refusal: policyNo ?? budgetNo, overBudget: !policyNo && !!budgetNo, compat });
  }
  all.sort(byPriceKey);
  const allowed = all.filter((t) => t.refusal === null && t.cpu >= 0 && t.mem >= 0 && t.pods >= 1);
  const maxCpu = Math.max(1, ...allowed.map((t) => t.cpu));
  const maxMem = Math.max(1, ...allowed.map((t) => t.mem));
  const pods: P[] = input.pods.map((src, i) => {
    const cpu = podCpu(src.requests.cpuMillicores);
    const mem = podMem(src.requests.memoryMiB);
    return { key: src.key, src, cpu, mem, cls: clsOf[i], size: Math.max(cpu / maxCpu, mem / maxMem), item: -1 };
  });
  pods.sort(bySize);

  const byClass = classes.map((_, c) => allowed.filter((t) => t.compat[c] === 1));
  // frontier: drop an offering when another with the same compatibility is no dearer and at least as large
  const sig = new Map<T, string>(allowed.map((t) => [t, Array.from(t.compat).join('')]));
  const dominated = new Set<T>();
  for (const a of allowed) {
    for (const b of allowed) {
      if (a === b || sig.get(a) !== sig.get(b)) continue;
      if (b.price <= a.price && b.cpu >= a.cpu && b.mem >= a.mem && b.pods >= a.pods && b.vcpu <= a.vcpu && (b.price < a.price || b.cpu > a.cpu || b.mem > a.mem || byPriceKey(b, a) < 0)) {
        dominated.add(a);
        break;
      }
    }
  }
  const frontier = byClass.map((list) => list.filter((t) => !dominated.has(t)));
  const maxCpuUpTo: number[] = [];
  const maxMemUpTo: number[] = [];
  allowed.forEach((t, k) => {
    maxCpuUpTo.push(Math.max(t.cpu, k ? maxCpuUpTo[k - 1] : 0));
    maxMemUpTo.push(Math.max(t.mem, k ? maxMemUpTo[k - 1] : 0));
  });

  // existing and in-flight capacity first (first fit, nodes by name)
  const nodes = [...input.nodes].sort((a, b) => cmpStr(a.name, b.name));
  const nodeObjs: Node[] = nodes.map((n) => nodeObject(n));
  const free = nodes.map((n) => ({ cpu: capCpu(n.free.cpuMillicores), mem: capMem(n.free.memoryMiB), pods: Math.floor(n.free.pods) }));
  const admitCache = new Map<string, boolean>();
  const onExisting = new Map<string, string[]>();
  const rest: P[] = [];
  // pods no allowed offering can hold go first: existing capacity is their only chance
  const hasHolder = (p: P): boolean => byClass[p.cls].some((t) => p.cpu <= t.cpu && p.mem <= t.mem);
  const firstOrder = [...pods.filter((p) => !hasHolder(p)), ...pods.filter(hasHolder)];
  for (const p of firstOrder) {
    let placed = false;
    for (let i = 0; i < nodes.length; i++) {
      const f = free[i];
      if (f.pods < 1 || (p.cpu > 0 && p.cpu > f.cpu) || (p.mem > 0 && p.mem > f.mem)) continue;
      const ck = `${p.cls}/${i}`;
      let ok = admitCache.get(ck);
      if (ok === undefined) {
        ok = admits(classes[p.cls], nodeObjs[i]);
        admitCache.set(ck, ok);
      }
      if (!ok) continue;
      f.cpu -= p.cpu;
      f.mem -= p.mem;
      f.pods -= 1;
      const list = onExisting.get(nodes[i].name) ?? [];
      list.push(p.key);
      onExisting.set(nodes[i].name, list);
      placed = true;
      break;
    }
    if (!placed) rest.push(p);
  }
  rest.sort(bySize);

  const unplaceable: { pod: string; reason: string }[] = [];
  const toPack: P[] = [];
  for (const p of rest) {
    const fitting = byClass[p.cls].find((t) => p.cpu <= t.cpu && p.mem <= t.mem);
    if (fitting) toPack.push(p);
    else unplaceable.push({ pod: p.key, reason: explain(p, all, input) });
  }
  // items: pods of one class with equal requests, in the pods' order
  const items: Item[] = [];
  const itemIndex = new Map<string, number>();
  let totalCpu = 0;
  let totalMem = 0;
  for (const p of toPack) {
    const k = `${p.cls}/${p.cpu}/${p.mem}`;
    let i = itemIndex.get(k);
    if (i === undefined) {
      i = items.length;
      itemIndex.set(k, i);
      items.push({ cls: p.cls, cpu: p.cpu, mem: p.mem, size: p.size, count: 0 });
    }
    items[i].count++;
    p.item = i;
    totalCpu += p.cpu;
    totalMem += p.mem;
  }
  return {
    ctx: { classes, all, allowed, byClass, frontier, items, budget, maxCpuUpTo, maxMemUpTo, totalCpu, totalMem },
    onExisting,
    existingOrder: nodes.map((n) => n.name).filter((n) => onExisting.has(n)),
    toPack,
    unplaceable,
  };
}

const fmtCpu = (m: number): string => `${+(m / 1000).toFixed(3)} vCPU`;
const fmtMem = (b: number): string => `${+(b / MiB).toFixed(1)} MiB`;

function describeAffinity(p: PodToPlace): string {
  return (p.requiredNodeAffinity ?? [])
    .map((t) => (t.matchExpressions ?? []).map((e) => `${e.key} ${e.operator}${e.values?.length ? ` (${e.values.join(', ')})` : ''}`).join(' and ') || '(empty term)')
    .join(' or ');
}

/** Why no allowed offering can hold `p` alone: the first constraint that leaves nothing. */
function explain(p: P, all: T[], input: ScaleUpInput): string {
  const pod = podObject(p.src);
  // allowed by the policy (maxCores is looked at last)
  const allowed = all.filter((t) => t.refusal === null || t.overBudget);
  if (!all.length) return 'no offerings are known (empty catalogue)';
  if (!allowed.length) return `no offering is allowed: ${[...new Set(all.map((t) => t.refusal))].slice(0, 3).join('; ')}`;
  const labelsOf = (t: T): Record<string, string> => nodeLabelsFor(t.o);
  const sel = Object.entries(p.src.nodeSelector ?? {});
  for (const [k, v] of sel) {
    if (!allowed.some((t) => labelsOf(t)[k] === v)) {
      const refused = all.find((t) => t.refusal !== null && labelsOf(t)[k] === v);
      return `no offering matches nodeSelector ${k}=${v}${refused ? ` (${refused.key} would, but ${refused.refusal})` : ''}`;
    }
  }
  if (sel.length > 1 && !allowed.some((t) => sel.every(([k, v]) => labelsOf(t)[k] === v))) return `no offering matches nodeSelector ${sel.map(([k, v]) => `${k}=${v}`).join(',')} (each pair alone does)`;
  const compatible = allowed.filter((t) => admits(pod, nodeObject({ name: '', labels: labelsOf(t) })));
  if (!compatible.length) {
    if (p.src.requiredNodeAffinity) {
      const refused = all.find((t) => t.refusal !== null && admits(pod, nodeObject({ name: '', labels: labelsOf(t) })));
      return `no offering matches required node affinity ${describeAffinity(p.src)}${refused ? ` (${refused.key} would, but ${refused.refusal})` : ''}`;
    }
    return 'no offering matches the pod\'s node selector';
  }
  const holding = compatible.filter((t) => p.cpu <= t.cpu && p.mem <= t.mem && t.pods >= 1).sort((a, b) => a.vcpu - b.vcpu || byPriceKey(a, b));
  if (holding.length) {
    const { maxCores, workerCores } = input.policy;
    return `maxCores ${maxCores} reached: workers have ${workerCores} vCPU and the smallest allowed offering holding it (${holding[0].key}) has ${holding[0].vcpu} vCPU`;
  }
  const maxCpu = compatible.reduce((a, t) => (t.cpu > a.cpu ? t : a));
  const maxMem = compatible.reduce((a, t) => (t.mem > a.mem ? t : a));
  const overhead = input.daemonSetOverhead || input.policy.headroom ? ' after reservations, DaemonSets and headroom' : ' after reservations';
  if (p.cpu > maxCpu.cpu) return `needs ${fmtCpu(p.cpu)}; the largest allowed offering (${maxCpu.key}, ${maxCpu.vcpu} vCPU) holds ${fmtCpu(Math.max(0, maxCpu.cpu))}${overhead}`;
  if (p.mem > maxMem.mem) return `needs ${fmtMem(p.mem)}; the largest allowed offering (${maxMem.key}, ${maxMem.o.memoryMiB} MiB) holds ${fmtMem(Math.max(0, maxMem.mem))}${overhead}`;
  if (compatible.every((t) => t.pods < 1)) return `no pod slot left on new nodes (DaemonSets take ${input.daemonSetOverhead?.pods ?? 0} of ${allocatableOf({ vcpu: 1, memoryMiB: 1024 }).pods})`;
  return `needs ${fmtCpu(p.cpu)} and ${fmtMem(p.mem)} together; no allowed offering holds both${overhead}`;
}

/** How many nodes of `t` the pods it admits and holds would need, in fractions (total demand over capacity). */
function fractionalNodesOf(ctx: Ctx, t: T): { units: number; cnt: number } {
  let cpu = 0;
  let mem = 0;
  let cnt = 0;
  for (const it of ctx.items) {
    if (t.compat[it.cls] !== 1 || it.cpu > t.cpu || it.mem > t.mem) continue;
    cpu += it.cpu * it.count;
    mem += it.mem * it.count;
    cnt += it.count;
  }
  return { units: Math.max(cpu / t.cpu, mem / t.mem, cnt / t.pods), cnt };
}

/** How many whole nodes of `t` the pods it admits and holds would need, filling each greedily (largest first). */
function nodesOf(ctx: Ctx, t: T): { units: number; cnt: number } {
  const left = ctx.items.map((it) => (t.compat[it.cls] === 1 && it.cpu <= t.cpu && it.mem <= t.mem ? it.count : 0));
  const cnt = left.reduce((s, c) => s + c, 0);
  let todo = cnt;
  let nodes = 0;
  while (todo > 0 && nodes < 10_000) {
    nodes++;
    let cpu = 0;
    let mem = 0;
    let k = 0;
    for (let i = 0; i < ctx.items.length && k < t.pods; i++) {
      const it = ctx.items[i];
      let c = left[i];
      if (c <= 0) continue;
      if (it.cpu > 0) c = Math.min(c, Math.floor((t.cpu - cpu) / it.cpu));
      if (it.mem > 0) c = Math.min(c, Math.floor((t.mem - mem) / it.mem));
      c = Math.min(c, t.pods - k);
      if (c <= 0) continue;
      left[i] -= c;
      todo -= c;
      cpu += c * it.cpu;
      mem += c * it.mem;
      k += c;
    }
  }
  return { units: nodes, cnt };
}

/** Which plans to try: the baseline, look-ahead packings and one packing per promising "node type"; the best few polished. */
function strategies(ctx: Ctx, toPack: P[], mode: Mode): Plan[] {
  const baseline = pack(ctx, toPack, cheapestChooser(ctx));
  if (mode === 'baseline') return [baseline];
  const tc = Math.max(ctx.totalCpu, 1);
  const tm = Math.max(ctx.totalMem, 1);
  const capValue = (t: T): number => Math.max(t.cpu, 0) / tc + Math.max(t.mem, 0) / tm;
  const sum = lookaheadChooser(ctx, (c, m) => c / tc + m / tm, capValue);
  const dom = lookaheadChooser(ctx, (c, m) => Math.max(c / tc, m / tm), capValue);
  const raw: Plan[] = [baseline, pack(ctx, toPack, sum), pack(ctx, toPack, dom)];
  // "the" node type: the few offerings that would carry the whole batch cheapest on their own
  const n = toPack.length;
  const small = n <= 200;
  const usable = ctx.allowed.filter((t) => t.cpu > 0 && t.mem > 0 && toPack.some((p) => fitsAlone(t, p)));
  const rank = (estimate: (ctx: Ctx, t: T) => { units: number; cnt: number }, k: number): T[] =>
    usable
      .map((t) => {
        const { units, cnt } = estimate(ctx, t);
        return { t, score: (t.price * Math.max(units, 1e-9)) / Math.max(cnt / n, 1e-9) };
      })
      .sort((a, b) => a.score - b.score || byPriceKey(a.t, b.t))
      .slice(0, k)
      .map((r) => r.t);
  // fractional estimates (demand over capacity) miss granularity (one 8-vCPU pod per 16-vCPU node); whole-node
  // estimates, affordable for small batches, catch it
  const ranked = small ? [...new Set([...rank(fractionalNodesOf, 6), ...rank(nodesOf, 6)])] : rank(fractionalNodesOf, 4);
  for (const t of ranked) raw.push(pack(ctx, toPack, fixedChooser(t, sum)));
  if (small) {
    // other orders than the dominant share: cpu first, memory first
    const byCpu = [...toPack].sort((a, b) => b.cpu - a.cpu || b.mem - a.mem || cmpStr(a.key, b.key));
    const byMem = [...toPack].sort((a, b) => b.mem - a.mem || b.cpu - a.cpu || cmpStr(a.key, b.key));
    raw.push(pack(ctx, byCpu, sum), pack(ctx, byMem, sum), pack(ctx, byCpu, dom), pack(ctx, byMem, dom));
  }
  // polish the best raw plans (all of them for small batches); the raw baseline stays a candidate
  // identical raw plans (strategies often agree) are polished once
  const seen = new Set<string>();
  const unique = raw.filter((p) => {
    const sig = p.bins.map((b) => `${b.t.key}/${b.t.o.zone}:${b.pods.map((x) => x.key).join(',')}`).sort().join('|');
    if (seen.has(sig)) return false;
    seen.add(sig);
    return true;
  });
  const order = unique.map((p, i) => ({ p, i })).sort((a, b) => a.p.unplaced.length - b.p.unplaced.length || a.p.cost - b.p.cost || a.i - b.i);
  const polished = order.slice(0, small ? 5 : 2).map(({ p }) => improve(ctx, p, [sum, cheapestChooser(ctx)], small ? FULL : LIGHT));
  return [baseline, ...polished];
}

function decide(input: ScaleUpInput, mode: Mode): ScaleUpDecision {
  const prep = prepare(input);
  const { ctx } = prep;
  let best: Plan | null = null;
  for (const plan of strategies(ctx, prep.toPack, mode)) {
    const filled = fillUnplaced(ctx, plan);
    if (!best || better(filled, best)) best = filled;
  }
  const plan = best ?? finish([], []);
  const launchedVcpu = plan.vcpu;
  const unplaceable = [...prep.unplaceable];
  for (const p of plan.unplaced) {
    const smallest = ctx.byClass[p.cls].filter((t) => p.cpu <= t.cpu && p.mem <= t.mem && t.pods >= 1).reduce<T | null>((a, t) => (!a || t.vcpu < a.vcpu ? t : a), null);
    const max = input.policy.maxCores ?? Infinity;
    unplaceable.push({
      pod: p.key,
      reason: `maxCores ${max} reached: workers would have ${input.policy.workerCores + launchedVcpu} vCPU with this decision's launches; the smallest allowed offering holding it (${smallest?.key ?? 'none'}) has ${smallest?.vcpu ?? '?'} vCPU`,
    });
  }
  // offerings any pod of the batch could never use do not count as alternatives
  const launches = plan.bins.map((b) => ({ offering: b.t.o, pods: b.pods.map((p) => p.key) }));
  const alternatives: ScaleUpDecision['alternatives'] = [];
  plan.bins.forEach((b, i) => {
    for (const t of ctx.all) {
      if (t === b.t || (t.key === b.t.key && t.o.zone === b.t.o.zone)) continue;
      if (!holds(t, b.classes.keys(), b.cpu, b.mem, b.pods.length)) continue;
      let why: string;
      if (t.refusal !== null) why = t.refusal;
      else if (launchedVcpu - b.t.vcpu + t.vcpu > ctx.budget) why = `would take workers above maxCores ${input.policy.maxCores} with the other launches`;
      else if (t.price > b.t.price) why = `costs $${t.price.toFixed(4)}/h, $${(t.price - b.t.price).toFixed(4)}/h more than ${b.t.key}`;
      else why = `same price as ${b.t.key} ($${t.price.toFixed(4)}/h); ties go to the lower offering key`;
      alternatives.push({ launch: i, offering: t.o, refusedBecause: why });
      break;
    }
  });
  return {
    launches,
    onExisting: prep.existingOrder.map((node) => ({ node, pods: prep.onExisting.get(node) ?? [] })),
    unplaceable,
    costUsdPerHour: plan.cost,
    alternatives,
  };
}

/** The scale-up decision (see docs/autoscaler-decisions.md). Pure and deterministic. */
export function decideScaleUp(input: ScaleUpInput): ScaleUpDecision {
  return decide(input, 'best');
}

/**
 * The baseline the decision is measured against: first-fit decreasing, each new node the cheapest allowed type that
 * admits and holds the pod opening it (same existing-capacity pass, same limits).
 */
export function baselineScaleUp(input: ScaleUpInput): ScaleUpDecision {
  return decide(input, 'baseline');
}
