import { admits, constraintClassKey, nodeObject, podObject } from './fit';
import type { DownscaleCandidate, PodToPlace } from './types';

/*
 * Scale-down decisions. The simulation uses the same rules as scale-up: kube-scheduler's filters from kube-sim for
 * constraints, integer millicores and bytes for resources, first-fit decreasing for the pods to move.
 */

const MiB = 1024 * 1024;
const cmpStr = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Utilisation in percent: the larger of cpu and memory requested/allocatable (0 when nothing is allocatable). */
export function utilisationPercent(n: Pick<DownscaleCandidate, 'allocatable' | 'requested'>): number {
  const pct = (used: number, alloc: number): number => (alloc > 0 ? (used * 100) / alloc : used > 0 ? 100 : 0);
  return Math.max(pct(n.requested.cpuMillicores, n.allocatable.cpuMillicores), pct(n.requested.memoryMiB, n.allocatable.memoryMiB));
}

/** Empty-node rule: no movable pods, not a master nor do-not-disrupt, and workers keep at least minCores vCPU. */
export function isRemovableEmpty(n: DownscaleCandidate, opts: { minCores: number; workerCores: number }): boolean {
  return n.movablePods.length === 0 && !n.master && !n.doNotDisrupt && opts.workerCores - n.vcpu >= opts.minCores;
}

/**
 * Whether `pods` can all move to `targets`' free capacity (allocatable − requested), first-fit decreasing, each pod
 * where kube-scheduler's filters admit it (cordoned nodes and untolerated taints excluded).
 */
export function fitsElsewhere(pods: PodToPlace[], targets: DownscaleCandidate[]): boolean {
  const nodes = targets.map((n) => ({
    obj: nodeObject(n),
    cpu: Math.floor(n.allocatable.cpuMillicores - n.requested.cpuMillicores + 1e-9),
    mem: Math.floor((n.allocatable.memoryMiB - n.requested.memoryMiB) * MiB + 1e-3),
    pods: Math.floor(n.allocatable.pods - n.requested.pods),
  }));
  const items = pods
    .map((p) => ({ p, cpu: Math.max(0, Math.ceil(p.requests.cpuMillicores - 1e-9)), mem: Math.max(0, Math.ceil(p.requests.memoryMiB * MiB - 1e-3)) }))
    .sort((a, b) => b.cpu - a.cpu || b.mem - a.mem || cmpStr(a.p.key, b.p.key));
  const cache = new Map<string, boolean>();
  for (const it of items) {
    const cls = constraintClassKey(it.p);
    const pod = podObject(it.p);
    const dest = nodes.find((n, i) => {
      if (n.pods < 1 || (it.cpu > 0 && it.cpu > n.cpu) || (it.mem > 0 && it.mem > n.mem)) return false;
      const k = `${i}\u0000${cls}`;
      let ok = cache.get(k);
      if (ok === undefined) {
        ok = admits(pod, n.obj);
        cache.set(k, ok);
      }
      return ok;
    });
    if (!dest) return false;
    dest.cpu -= it.cpu;
    dest.mem -= it.mem;
    dest.pods -= 1;
  }
  return true;
}

/**
 * Underutilized rule: the ONE node to remove now, or null. A node qualifies when its utilisation is below
 * `thresholdPercent`, it is no master and not do-not-disrupt, removing it keeps workers' vCPU >= minCores, and its
 * movable pods all fit on the other nodes' free capacity. Cheapest to remove first: fewest movable pods, then the most
 * expensive per hour (unknown price last), then by name.
 */
export function planUnderutilized(nodes: DownscaleCandidate[], opts: { thresholdPercent: number; minCores: number; workerCores: number }): { node: string; reason: string } | null {
  const candidates = nodes
    .filter((n) => !n.master && !n.doNotDisrupt && opts.workerCores - n.vcpu >= opts.minCores && utilisationPercent(n) < opts.thresholdPercent)
    .sort((a, b) => a.movablePods.length - b.movablePods.length || (b.usdPerHour ?? -1) - (a.usdPerHour ?? -1) || cmpStr(a.name, b.name));
  for (const n of candidates) {
    const targets = nodes.filter((o) => o !== n && o.name !== n.name);
    if (!fitsElsewhere(n.movablePods, targets)) continue;
    const pods = n.movablePods.length;
    return {
      node: n.name,
      reason: `utilisation ${utilisationPercent(n).toFixed(1)}% is below ${opts.thresholdPercent}%; ${pods === 0 ? 'no pods to move' : `its ${pods} movable pod${pods === 1 ? '' : 's'} fit on the other nodes`}${n.usdPerHour !== null ? `; saves $${n.usdPerHour.toFixed(4)}/h` : ''}`,
    };
  }
  return null;
}
