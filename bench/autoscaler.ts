import { Command } from 'commander';
import { violations } from '@skyweave/autoscaling/src/testing';
import type { CloudId } from '@skyweave/domain';
import { baselineScaleUp, constraintClassKey, decideScaleUp, nodeLabelsFor, offeringKey, podObject, admits, nodeObject, usableCapacity, type Offering, type PodToPlace, type ScaleUpDecision, type ScaleUpInput } from '@skyweave/autoscaling';

/**
 * npm run bench:autoscaler [-- --batches 40 --seed 13 --runs 9 --max-median 1.05 --max-worst 1.15 --max-ms 500]
 *
 * The autoscaler's scale-up decision (libs/autoscaling decideScaleUp, issue 13) on a fixed-seed corpus of workloads in
 * the style of Karpenter's scheduling benchmark: deployments of small and large, cpu- and memory-heavy pods, some
 * with a nodeSelector on the cloud, the architecture or the zone, or a required node affinity keeping them off a
 * cloud, against a catalogue of the four clouds built below (57 AWS, 57 GCP, 57 Azure, 52 DigitalOcean instance types,
 * us-east list prices of late 2025, one offering per type and zone).
 *
 * 1. Cost over the exact optimum: `--batches` batches of 12–30 pending pods against 36 offerings each; the optimum is
 *    an integer program (pods grouped into classes with integer counts; one binary per possible node, at most
 *    floor(heuristic cost / price) nodes per type; dominated types dropped) solved by HiGHS (highs-js 1.15.3).
 *    Median and worst of decision/optimum, and the baseline's (first-fit decreasing, cheapest type per opening node).
 * 2. Decision time for 1,000 pending pods against 200 offerings (50 per cloud): median of `--runs` after warm-up.
 *
 * `--verbose` prints every batch; `--explain <batch>` prints its decision and the optimum's nodes.
 * Last line: `autoscaler: cost/optimum median X.XXX worst Y.YYY; 1000 pods x 200 types in Z ms`. With --max-* flags
 * the script exits 1 when a figure is above its limit (a CI guard: `--batches 10 --max-median 1.05 --max-worst 1.15
 * --max-ms 500`).
 */

const o = new Command('bench:autoscaler')
  .option('--batches <n>', 'batches compared with the exact optimum', (v) => Number(v), 40)
  .option('--seed <n>', 'corpus seed', (v) => Number(v), 13)
  .option('--runs <n>', 'timed runs of the 1000-pod decision (after 3 warm-ups)', (v) => Number(v), 9)
  .option('--pods <n>', 'pods in the timed decision', (v) => Number(v), 1000)
  .option('--types <n>', 'offerings in the timed decision', (v) => Number(v), 200)
  .option('--time-limit <s>', 'HiGHS time limit per batch, seconds', (v) => Number(v), 30)
  .option('--max-median <x>', 'fail when the median cost/optimum is above')
  .option('--max-worst <x>', 'fail when the worst cost/optimum is above')
  .option('--max-ms <x>', 'fail when the 1000-pod decision takes longer (ms)')
  .option('--verbose', 'print every batch')
  .option('--explain <batch>', "print a batch's decision and the MIP's optimal nodes")
  .parse()
  .opts<{ batches: number; seed: number; runs: number; pods: number; types: number; timeLimit: number; maxMedian?: string; maxWorst?: string; maxMs?: string; verbose?: boolean; explain?: string }>();

/** mulberry32: a small seeded PRNG, so the corpus is the same on every machine. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Catalogue: instance types with vCPU, memory and on-demand Linux list prices (USD per hour) in us-east regions.
// ---------------------------------------------------------------------------------------------------------------

interface TypeSpec {
  cloud: CloudId;
  instanceType: string;
  family: string;
  vcpu: number;
  memoryGiB: number;
  usdPerHour: number;
  architecture?: 'amd64' | 'arm64';
}

const round = (x: number, d = 5): number => Math.round(x * 10 ** d) / 10 ** d;

function aws(): TypeSpec[] {
  const out: TypeSpec[] = [];
  const t3: [string, number, number, number][] = [['nano', 2, 0.5, 0.0052], ['micro', 2, 1, 0.0104], ['small', 2, 2, 0.0208], ['medium', 2, 4, 0.0416], ['large', 2, 8, 0.0832], ['xlarge', 4, 16, 0.1664], ['2xlarge', 8, 32, 0.3328]];
  for (const [s, v, m, p] of t3) out.push({ cloud: 'aws', instanceType: `t3.${s}`, family: 't3', vcpu: v, memoryGiB: m, usdPerHour: p });
  const size = (v: number): string => (v === 2 ? 'large' : v === 4 ? 'xlarge' : `${v / 4}xlarge`);
  // family, GiB per vCPU, price per vCPU-hour, sizes, architecture
  const fams: [string, number, number, number[], ('amd64' | 'arm64')?][] = [
    ['m5', 4, 0.048, [2, 4, 8, 16, 32, 48, 64, 96]],
    ['m6i', 4, 0.048, [2, 4, 8, 16, 32, 48, 64, 96, 128]],
    ['c5', 2, 0.0425, [2, 4, 8, 16, 36, 48, 72, 96]],
    ['c6i', 2, 0.0425, [2, 4, 8, 16, 32, 48, 64, 96, 128]],
    ['r5', 8, 0.063, [2, 4, 8, 16, 32, 48, 64, 96]],
    ['m6g', 4, 0.0385, [1, 2, 4, 8, 16, 32, 48, 64], 'arm64'],
  ];
  for (const [f, gib, pv, sizes, arch] of fams) {
    for (const v of sizes) out.push({ cloud: 'aws', instanceType: `${f}.${v === 1 ? 'medium' : size(v)}`, family: f, vcpu: v, memoryGiB: v * gib, usdPerHour: round(v * pv), architecture: arch });
  }
  return out;
}

function gcp(): TypeSpec[] {
  const out: TypeSpec[] = [];
  // us-east4 shared-core e2 and per-vCPU / per-GiB prices
  for (const [t, v, m, p] of [['e2-micro', 2, 1, 0.00943], ['e2-small', 2, 2, 0.01886], ['e2-medium', 2, 4, 0.03772]] as [string, number, number, number][]) out.push({ cloud: 'gcp', instanceType: t, family: 'e2', vcpu: v, memoryGiB: m, usdPerHour: p });
  const fams: [string, number, number, [string, number, number[]][]][] = [
    ['e2', 0.024566, 0.003293, [['standard', 4, [2, 4, 8, 16, 32]], ['highmem', 8, [2, 4, 8, 16]], ['highcpu', 1, [2, 4, 8, 16, 32]]]],
    ['n2', 0.035605, 0.004772, [['standard', 4, [2, 4, 8, 16, 32, 48, 64, 80]], ['highmem', 8, [2, 4, 8, 16, 32, 48, 64]], ['highcpu', 1, [2, 4, 8, 16, 32, 48, 64]]]],
    ['n2d', 0.030979, 0.004152, [['standard', 4, [2, 4, 8, 16, 32, 48, 64]], ['highcpu', 1, [2, 4, 8, 16, 32, 48, 64]]]],
    ['c3', 0.03903, 0.005232, [['standard', 4, [4, 8, 22, 44]]]],
  ];
  for (const [f, pv, pg, shapes] of fams) {
    for (const [shape, gib, sizes] of shapes) for (const v of sizes) out.push({ cloud: 'gcp', instanceType: `${f}-${shape}-${v}`, family: f, vcpu: v, memoryGiB: v * gib, usdPerHour: round(v * pv + v * gib * pg) });
  }
  return out;
}

function azure(): TypeSpec[] {
  const out: TypeSpec[] = [];
  for (const [t, v, m, p] of [['B1s', 1, 1, 0.0104], ['B1ms', 1, 2, 0.0207], ['B2s', 2, 4, 0.0416], ['B2ms', 2, 8, 0.0832], ['B4ms', 4, 16, 0.166], ['B8ms', 8, 32, 0.333], ['B12ms', 12, 48, 0.499], ['B16ms', 16, 64, 0.666], ['B20ms', 20, 80, 0.832]] as [string, number, number, number][]) {
    out.push({ cloud: 'azure', instanceType: `Standard_${t}`, family: 'B', vcpu: v, memoryGiB: m, usdPerHour: p });
  }
  // family, name pattern, GiB per vCPU, price per vCPU-hour, sizes
  const fams: [string, (v: number) => string, number, number, number[], ('amd64' | 'arm64')?][] = [
    ['Dsv5', (v) => `Standard_D${v}s_v5`, 4, 0.048, [2, 4, 8, 16, 32, 48, 64, 96]],
    ['Dasv5', (v) => `Standard_D${v}as_v5`, 4, 0.043, [2, 4, 8, 16, 32, 48, 64, 96]],
    ['Fsv2', (v) => `Standard_F${v}s_v2`, 2, 0.0423, [2, 4, 8, 16, 32, 48, 64, 72]],
    ['Esv5', (v) => `Standard_E${v}s_v5`, 8, 0.063, [2, 4, 8, 16, 20, 32, 48, 64, 96]],
    ['Easv5', (v) => `Standard_E${v}as_v5`, 8, 0.0565, [2, 4, 8, 16, 20, 32, 48, 64]],
    ['Dpsv5', (v) => `Standard_D${v}ps_v5`, 4, 0.0385, [2, 4, 8, 16, 32, 48, 64], 'arm64'],
  ];
  for (const [f, name, gib, pv, sizes, arch] of fams) for (const v of sizes) out.push({ cloud: 'azure', instanceType: name(v), family: f, vcpu: v, memoryGiB: v * gib, usdPerHour: round(v * pv), architecture: arch });
  return out;
}

function digitalocean(): TypeSpec[] {
  // monthly list prices; DigitalOcean bills hourly at monthly / 672
  const sizes: [string, string, number, number, number][] = [
    ['s-1vcpu-512mb-10gb', 's', 1, 0.5, 4], ['s-1vcpu-1gb', 's', 1, 1, 6], ['s-1vcpu-2gb', 's', 1, 2, 12], ['s-2vcpu-2gb', 's', 2, 2, 18], ['s-2vcpu-4gb', 's', 2, 4, 24], ['s-4vcpu-8gb', 's', 4, 8, 48], ['s-8vcpu-16gb', 's', 8, 16, 96],
    ['s-1vcpu-1gb-amd', 's', 1, 1, 7], ['s-1vcpu-2gb-amd', 's', 1, 2, 14], ['s-2vcpu-2gb-amd', 's', 2, 2, 21], ['s-2vcpu-4gb-amd', 's', 2, 4, 28], ['s-2vcpu-8gb-amd', 's', 2, 8, 42], ['s-4vcpu-8gb-amd', 's', 4, 8, 56], ['s-4vcpu-16gb-amd', 's', 4, 16, 84], ['s-8vcpu-16gb-amd', 's', 8, 16, 112], ['s-8vcpu-32gb-amd', 's', 8, 32, 168],
  ];
  const fam = (prefix: string, family: string, gib: number, monthlyPerVcpu: number, vcpus: number[]): void => {
    for (const v of vcpus) sizes.push([`${prefix}-${v}vcpu-${v * gib}gb`, family, v, v * gib, v * monthlyPerVcpu]);
  };
  fam('g', 'g', 4, 31.5, [2, 4, 8, 16, 32, 40]);
  fam('gd', 'gd', 4, 34, [2, 4, 8, 16, 32, 40]);
  fam('c', 'c', 2, 21, [2, 4, 8, 16, 32, 48]);
  fam('c2', 'c2', 2, 23.5, [2, 4, 8, 16, 32, 48]);
  fam('m', 'm', 8, 42, [2, 4, 8, 16, 24, 32]);
  fam('m3', 'm3', 8, 52, [2, 4, 8, 16, 24, 32]);
  return sizes.map(([t, f, v, m, monthly]) => ({ cloud: 'digitalocean', instanceType: t, family: f, vcpu: v, memoryGiB: m, usdPerHour: round(monthly / 672) }));
}

const REGIONS: Record<CloudId, { region: string; zones: string[] }> = {
  aws: { region: 'us-east-1', zones: ['us-east-1a', 'us-east-1b', 'us-east-1c'] },
  gcp: { region: 'us-east4', zones: ['us-east4-a', 'us-east4-b', 'us-east4-c'] },
  azure: { region: 'eastus', zones: ['1', '2', '3'] },
  digitalocean: { region: 'nyc3', zones: ['nyc3'] },
};

const TYPES: TypeSpec[] = [...aws(), ...gcp(), ...azure(), ...digitalocean()];

function offering(t: TypeSpec, zone: string): Offering {
  return { cloud: t.cloud, region: REGIONS[t.cloud].region, zone, instanceType: t.instanceType, family: t.family, vcpu: t.vcpu, memoryMiB: t.memoryGiB * 1024, architecture: t.architecture ?? 'amd64', usdPerHour: t.usdPerHour };
}

/** Every type in every zone of its region. */
const CATALOGUE: Offering[] = TYPES.flatMap((t) => REGIONS[t.cloud].zones.map((z) => offering(t, z)));

// ---------------------------------------------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------------------------------------------

const DAEMONSETS = { cpuMillicores: 150, memoryMiB: 200, pods: 3 };

/** A workload of deployments (replicas share requests and constraints) drawn against `offerings`. */
function workload(r: () => number, pods: number, offerings: Offering[], prefix: string): PodToPlace[] {
  const pick = <X>(xs: readonly X[]): X => xs[Math.floor(r() * xs.length)];
  const out: PodToPlace[] = [];
  let d = 0;
  while (out.length < pods) {
    const shape = r();
    let cpu: number;
    let mem: number;
    if (shape < 0.35) [cpu, mem] = [pick([100, 250, 500]), pick([128, 256, 512])]; // small web pods
    else if (shape < 0.6) [cpu, mem] = [pick([1000, 1500, 2000]), pick([1024, 2048, 4096])]; // medium
    else if (shape < 0.72) [cpu, mem] = [pick([4000, 6000, 8000]), pick([8192, 16384, 32768])]; // large
    else if (shape < 0.86) [cpu, mem] = [pick([2000, 3000, 4000]), pick([512, 1024])]; // cpu-heavy
    else [cpu, mem] = [pick([250, 500, 1000]), pick([6144, 8192, 16384])]; // memory-heavy
    const c = r();
    const o = pick(offerings);
    const labels = nodeLabelsFor(o);
    let constraint: Partial<PodToPlace> = {};
    if (c < 0.15) constraint = { nodeSelector: { 'skyweave.io/cloud': o.cloud } };
    else if (c < 0.22) constraint = { nodeSelector: { 'kubernetes.io/arch': 'arm64' } };
    else if (c < 0.3) constraint = { nodeSelector: { 'topology.kubernetes.io/zone': labels['topology.kubernetes.io/zone'] } };
    else if (c < 0.36) constraint = { requiredNodeAffinity: [{ matchExpressions: [{ key: 'skyweave.io/cloud', operator: 'NotIn', values: ['digitalocean'] }] }] };
    const replicas = Math.min(pods - out.length, 1 + Math.floor(r() * r() * 12));
    for (let i = 0; i < replicas; i++) out.push({ key: `${prefix}/d${d}-${i}`, requests: { cpuMillicores: cpu, memoryMiB: mem }, ...constraint });
    d++;
  }
  return out;
}

function shuffled<X>(r: () => number, xs: X[]): X[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** `n` offerings: an equal share per cloud, random types in a random zone each, arm types included where a cloud has them. */
function offeringSubset(r: () => number, n: number): Offering[] {
  const clouds: CloudId[] = ['aws', 'gcp', 'azure', 'digitalocean'];
  return clouds.flatMap((c) => shuffled(r, TYPES.filter((t) => t.cloud === c)).slice(0, n / 4).map((t) => offering(t, REGIONS[c].zones[Math.floor(r() * REGIONS[c].zones.length)])));
}

// ---------------------------------------------------------------------------------------------------------------
// The exact optimum (HiGHS)
// ---------------------------------------------------------------------------------------------------------------

interface Highs {
  solve(lp: string, options?: Record<string, unknown>): { Status: string; ObjectiveValue: number };
}

interface Exact {
  cost: number;
  status: string;
  vars: number;
  ms: number;
}

/** Minimum cost of new nodes holding every pod of `input` (no existing nodes, no maxCores in the corpus). */
let debugBatch = -1;
function optimum(highs: Highs, input: ScaleUpInput, upper: number, timeLimit: number): Exact {
  // items: pods with equal constraints and requests
  const items = new Map<string, { pod: PodToPlace; count: number }>();
  for (const p of input.pods) {
    const k = `${constraintClassKey(p)}|${p.requests.cpuMillicores}|${p.requests.memoryMiB}`;
    const it = items.get(k);
    if (it) it.count++;
    else items.set(k, { pod: p, count: 1 });
  }
  const its = [...items.values()];
  interface Ty { o: Offering; cpu: number; mem: number; pods: number; compat: boolean[] }
  let types: Ty[] = input.offerings
    .filter((o) => o.usdPerHour <= upper + 1e-9)
    .map((o) => {
      const cap = usableCapacity(o, input);
      const node = nodeObject({ name: '', labels: nodeLabelsFor(o) });
      return { o, cpu: Math.floor(cap.cpuMillicores + 1e-9), mem: Math.floor(cap.memoryMiB + 1e-9), pods: cap.pods, compat: its.map((it) => admits(podObject(it.pod), node) && it.pod.requests.cpuMillicores <= cap.cpuMillicores && it.pod.requests.memoryMiB <= cap.memoryMiB) };
    })
    .filter((t) => t.compat.some(Boolean));
  // a type another one dominates (admits at least the same items, no smaller, no dearer) is never needed
  types = types.filter((a, ai) => !types.some((b, bi) => bi !== ai && b.o.usdPerHour <= a.o.usdPerHour && b.cpu >= a.cpu && b.mem >= a.mem && b.pods >= a.pods && a.compat.every((c, i) => !c || b.compat[i]) && (b.o.usdPerHour < a.o.usdPerHour || b.cpu > a.cpu || b.mem > a.mem || bi < ai)));
  const obj: string[] = [];
  const rows: string[] = [];
  const bins: string[] = [];
  const general: string[] = [];
  const bounds: string[] = [];
  const demand: string[][] = its.map(() => []);
  types.forEach((t, ti) => {
    const compatPods = its.reduce((s, it, i) => s + (t.compat[i] ? it.count : 0), 0);
    const n = Math.min(compatPods, Math.floor(upper / t.o.usdPerHour + 1e-9));
    for (let k = 0; k < n; k++) {
      const y = `y_${ti}_${k}`;
      bins.push(y);
      obj.push(`${t.o.usdPerHour} ${y}`);
      const cpu: string[] = [];
      const mem: string[] = [];
      const cnt: string[] = [];
      its.forEach((it, i) => {
        if (!t.compat[i]) return;
        const x = `x_${ti}_${k}_${i}`;
        general.push(x);
        bounds.push(`0 <= ${x} <= ${it.count}`);
        demand[i].push(x);
        if (it.pod.requests.cpuMillicores > 0) cpu.push(`${it.pod.requests.cpuMillicores} ${x}`);
        if (it.pod.requests.memoryMiB > 0) mem.push(`${it.pod.requests.memoryMiB} ${x}`);
        cnt.push(x);
      });
      if (cpu.length) rows.push(`c_${ti}_${k}: ${cpu.join(' + ')} - ${t.cpu} ${y} <= 0`);
      if (mem.length) rows.push(`m_${ti}_${k}: ${mem.join(' + ')} - ${t.mem} ${y} <= 0`);
      rows.push(`p_${ti}_${k}: ${cnt.join(' + ')} - ${t.pods} ${y} <= 0`);
      if (k > 0) rows.push(`s_${ti}_${k}: y_${ti}_${k} - y_${ti}_${k - 1} <= 0`);
    }
  });
  its.forEach((it, i) => rows.push(`d_${i}: ${demand[i].join(' + ')} = ${it.count}`));
  const lp = ['Minimize', ` obj: ${obj.join(' + ')}`, 'Subject To', ...rows.map((r) => ` ${r}`), 'Bounds', ...bounds.map((b) => ` ${b}`), 'General', ` ${general.join(' ')}`, 'Binary', ` ${bins.join(' ')}`, 'End', ''].join('\n');
  const t0 = performance.now();
  const res = highs.solve(lp, { time_limit: timeLimit, mip_rel_gap: 0, mip_abs_gap: 1e-7, output_flag: false }) as ReturnType<Highs['solve']> & { Columns?: Record<string, { Primal: number }> };
  if (o.explain !== undefined && Number(o.explain) === debugBatch) {
    for (const [name, c] of Object.entries(res.Columns ?? {})) if (c.Primal > 0.5) { const [, ti, , i] = name.split('_'); console.log(name, c.Primal, name.startsWith('y') ? `${offeringKey(types[Number(ti)].o)} ${types[Number(ti)].o.usdPerHour} cap ${types[Number(ti)].cpu}/${types[Number(ti)].mem}` : JSON.stringify(its[Number(i)].pod)); }
  }
  return { cost: res.ObjectiveValue, status: res.Status, vars: bins.length + general.length, ms: performance.now() - t0 };
}

// ---------------------------------------------------------------------------------------------------------------

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pad = (s: string | number, n: number): string => String(s).padStart(n);

/** Every pod placed and no placement breaking a rule (the spec's independent checker), so a wrong "cheap" answer cannot pass as a good ratio. */
function placedAll(input: ScaleUpInput, d: ScaleUpDecision): boolean {
  const placed = d.launches.reduce((s, l) => s + l.pods.length, 0) + d.onExisting.reduce((s, e) => s + e.pods.length, 0);
  const wrong = violations(input, d);
  if (wrong.length) console.log(`!! invalid decision: ${wrong.slice(0, 3).join('; ')}`);
  return placed === input.pods.length && d.unplaceable.length === 0 && wrong.length === 0;
}

async function main(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loader = require('highs') as (opts?: object) => Promise<Highs>;
  const highs = await loader();
  const r = rng(o.seed);
  console.log(`catalogue: ${TYPES.length} instance types (${(['aws', 'gcp', 'azure', 'digitalocean'] as const).map((c) => `${c} ${TYPES.filter((t) => t.cloud === c).length}`).join(', ')}), ${CATALOGUE.length} offerings with zones`);
  console.log(`\ncost over the exact optimum (${o.batches} batches of 12-30 pods, 36 offerings each, DaemonSets ${DAEMONSETS.cpuMillicores}m/${DAEMONSETS.memoryMiB}Mi/${DAEMONSETS.pods} pods per node)`);
  if (o.verbose) console.log(`${pad('batch', 5)} ${pad('pods', 4)} ${pad('items', 5)} ${pad('optimum $/h', 11)} ${pad('decision', 9)} ${pad('baseline', 9)} ${pad('vars', 6)} ${pad('MIP ms', 7)} status`);
  const ratios: number[] = [];
  const baseRatios: number[] = [];
  let notOptimal = 0;
  let broken = 0;
  for (let b = 0; b < o.batches; b++) {
    const offerings = offeringSubset(r, 36);
    const pods = workload(r, 12 + Math.floor(r() * 19), offerings, `b${b}`);
    const input: ScaleUpInput = { pods, offerings, nodes: [], policy: { maxCores: null, workerCores: 0 }, daemonSetOverhead: DAEMONSETS };
    debugBatch = b;
    const d = decideScaleUp(input);
    if (o.explain !== undefined && Number(o.explain) === b) {
      for (const l of d.launches) console.log('launch', offeringKey(l.offering), l.offering.usdPerHour, l.pods.map((k) => { const p = pods.find((x) => x.key === k) as PodToPlace; return `${p.requests.cpuMillicores}/${p.requests.memoryMiB}${p.nodeSelector ? JSON.stringify(p.nodeSelector) : ''}`; }).join(' '));
    }
    const base = baselineScaleUp(input);
    if (!placedAll(input, d) || !placedAll(input, base)) {
      broken++;
      continue;
    }
    const ex = optimum(highs, input, Math.min(d.costUsdPerHour, base.costUsdPerHour), o.timeLimit);
    if (ex.status !== 'Optimal') notOptimal++;
    // an unfinished MIP's incumbent is an upper bound of the optimum: the ratio is then a lower estimate
    const opt = Math.min(ex.status === 'Optimal' || Number.isFinite(ex.cost) ? ex.cost : d.costUsdPerHour, d.costUsdPerHour);
    if (ex.status === 'Optimal' && d.costUsdPerHour < ex.cost - 1e-6) console.log(`!! batch ${b}: decision $${d.costUsdPerHour} below the MIP optimum $${ex.cost}: the MIP model is wrong`);
    ratios.push(d.costUsdPerHour / opt);
    baseRatios.push(base.costUsdPerHour / opt);
    if (o.verbose) console.log(`${pad(b, 5)} ${pad(pods.length, 4)} ${pad(new Set(pods.map((p) => `${constraintClassKey(p)}${p.requests.cpuMillicores}/${p.requests.memoryMiB}`)).size, 5)} ${pad(opt.toFixed(4), 11)} ${pad(d.costUsdPerHour.toFixed(4), 9)} ${pad(base.costUsdPerHour.toFixed(4), 9)} ${pad(ex.vars, 6)} ${pad(ex.ms.toFixed(0), 7)} ${ex.status}`);
  }
  const med = ratios.length ? median(ratios) : NaN;
  const worst = ratios.length ? Math.max(...ratios) : NaN;
  const optimalCount = ratios.filter((x) => x <= 1 + 1e-9).length;
  console.log(`| ${'plan'.padEnd(28)} | median | p90   | worst | optimal |`);
  console.log(`|${'-'.repeat(30)}|--------|-------|-------|---------|`);
  const p90 = (xs: number[]): number => xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.9) - 1)];
  console.log(`| ${'decideScaleUp'.padEnd(28)} | ${med.toFixed(3)}  | ${p90(ratios).toFixed(3)} | ${worst.toFixed(3)} | ${pad(`${optimalCount}/${ratios.length}`, 7)} |`);
  console.log(`| ${'baseline FFD (cheapest type)'.padEnd(28)} | ${median(baseRatios).toFixed(3)}  | ${p90(baseRatios).toFixed(3)} | ${(baseRatios.length ? Math.max(...baseRatios) : NaN).toFixed(3)} | ${pad(`${baseRatios.filter((x) => x <= 1 + 1e-9).length}/${baseRatios.length}`, 7)} |`);
  if (notOptimal) console.log(`(${notOptimal} MIP(s) hit the time limit: their incumbent is used, so those ratios are lower estimates)`);
  if (broken) console.log(`!! ${broken} batch(es) left pods unplaced`);

  // timing: the headline size, and two small batches (which get the full polishing: every pair and triple of nodes out)
  const tr = rng(o.seed + 1);
  const offerings = offeringSubset(tr, o.types);
  const workloadFor = (n: number): PodToPlace[] => workload(rng(o.seed + 2 + n), n, offerings, `big${n}`);
  const pods = workload(tr, o.pods, offerings, 'big');
  const timeIt = (ps: PodToPlace[], runs: number): { ms: number; d: ScaleUpDecision; baseMs: number; base: ScaleUpDecision } => {
    const input: ScaleUpInput = { pods: ps, offerings, nodes: [], policy: { maxCores: null, workerCores: 0 }, daemonSetOverhead: DAEMONSETS };
    for (let i = 0; i < 3; i++) decideScaleUp(input);
    const times: number[] = [];
    let d = decideScaleUp(input);
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      d = decideScaleUp(input);
      times.push(performance.now() - t0);
    }
    const t0 = performance.now();
    const base = baselineScaleUp(input);
    return { ms: median(times), d, baseMs: performance.now() - t0, base };
  };
  const main = timeIt(pods, o.runs);
  const ms = main.ms;
  const loadavg = (await import('node:os')).loadavg()[0];
  console.log(`\ndecision time against ${offerings.length} offerings (${o.pods} pods: ${new Set(pods.map((p) => `${constraintClassKey(p)}${p.requests.cpuMillicores}/${p.requests.memoryMiB}`)).size} distinct), median of ${o.runs} runs after 3 warm-ups; load average ${loadavg.toFixed(1)} on ${(await import('node:os')).cpus().length} cores`);
  console.log(`| pods  | decision ms | pods/s    | nodes | $/h      | baseline ms | baseline nodes | baseline $/h |`);
  console.log(`|-------|-------------|-----------|-------|----------|-------------|----------------|--------------|`);
  const row = (n: number, r: ReturnType<typeof timeIt>): void =>
    console.log(`| ${pad(n, 5)} | ${pad(r.ms.toFixed(1), 11)} | ${pad(Math.round((n * 1000) / r.ms), 9)} | ${pad(r.d.launches.length, 5)} | ${pad(r.d.costUsdPerHour.toFixed(3), 8)} | ${pad(r.baseMs.toFixed(1), 11)} | ${pad(r.base.launches.length, 14)} | ${pad(r.base.costUsdPerHour.toFixed(3), 12)} |`);
  for (const n of [50, 200]) if (n < o.pods) row(n, timeIt(workloadFor(n), o.runs));
  row(o.pods, main);

  const failures: string[] = [];
  if (o.maxMedian !== undefined && med > Number(o.maxMedian)) failures.push(`median ${med.toFixed(3)} > ${o.maxMedian}`);
  if (o.maxWorst !== undefined && worst > Number(o.maxWorst)) failures.push(`worst ${worst.toFixed(3)} > ${o.maxWorst}`);
  if (o.maxMs !== undefined && ms > Number(o.maxMs)) failures.push(`${ms.toFixed(0)} ms > ${o.maxMs} ms`);
  if (broken) failures.push(`${broken} batch(es) left pods unplaced`);
  if (failures.length) console.log(`FAILED: ${failures.join('; ')}`);
  console.log(`autoscaler: cost/optimum median ${med.toFixed(3)} worst ${worst.toFixed(3)}; ${o.pods} pods x ${offerings.length} types in ${ms.toFixed(0)} ms`);
  if (failures.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
