import { holdsResources, nodeAllocatable, podRequests, Requests } from './resources';
import { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, Toleration } from './types';

/**
 * The filter and score plugins of kube-scheduler's default profile that decide capacity, as pure functions.
 * Reason strings are the plugins' own (pkg/scheduler/framework/plugins/…), because autoscalers and people match them.
 */

/** How a filter failed: `unresolvable` (UnschedulableAndUnresolvable) means preemption could not help on that node. */
export interface FilterFailure {
  reasons: string[];
  unresolvable: boolean;
}

/** nodeunschedulable.ErrReasonUnschedulable */
export const REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
/** nodename.ErrReason */
export const REASON_NODE_NAME = "node(s) didn't match the requested node name";
/** nodeaffinity.ErrReasonPod */
export const REASON_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
/** noderesources: the pods limit (`Too many pods`) */
export const REASON_TOO_MANY_PODS = 'Too many pods';

/** v1.Toleration.ToleratesTaint (k8s.io/api core/v1 toleration.go): key, operator, value and effect rules. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (!t.key && t.operator !== 'Exists') return false;
  switch (t.operator ?? 'Equal') {
    case 'Exists':
      return true;
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
  }
}

/** The first taint with one of `effects` that no toleration tolerates (v1helper.FindMatchingUntoleratedTaint). */
export function findUntoleratedTaint(taints: Taint[] | undefined, tolerations: Toleration[] | undefined, effects: Taint['effect'][]): Taint | undefined {
  return (taints ?? []).find((taint) => effects.includes(taint.effect) && !(tolerations ?? []).some((t) => toleratesTaint(t, taint)));
}

/** NodeUnschedulable: `spec.unschedulable` (cordon) unless the pod tolerates node.kubernetes.io/unschedulable:NoSchedule. */
export function filterUnschedulable(pod: Pod, node: Node): FilterFailure | undefined {
  if (!node.spec?.unschedulable) return undefined;
  const taint: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };
  if ((pod.spec.tolerations ?? []).some((t) => toleratesTaint(t, taint))) return undefined;
  return { reasons: [REASON_UNSCHEDULABLE], unresolvable: true };
}

/** NodeName: a pod that names a node fits only there. */
export function filterNodeName(pod: Pod, node: Node): FilterFailure | undefined {
  if (!pod.spec.nodeName || pod.spec.nodeName === node.metadata.name) return undefined;
  return { reasons: [REASON_NODE_NAME], unresolvable: true };
}

/** TaintToleration: NoSchedule and NoExecute taints must be tolerated; the message names the taint's key and value. */
export function filterTaints(pod: Pod, node: Node): FilterFailure | undefined {
  const taint = findUntoleratedTaint(node.spec?.taints, pod.spec.tolerations, ['NoSchedule', 'NoExecute']);
  if (!taint) return undefined;
  return { reasons: [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`], unresolvable: true };
}

function matchesRequirement(req: NodeSelectorRequirement, value: string | undefined): boolean {
  const present = value !== undefined;
  switch (req.operator) {
    case 'In':
      return present && (req.values ?? []).includes(value);
    case 'NotIn':
      return !present || !(req.values ?? []).includes(value);
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
    case 'Gt':
    case 'Lt': {
      // exactly one integer value; a label that is not an integer does not match (component-helpers nodeaffinity)
      const want = Number.parseInt((req.values ?? [])[0] ?? '', 10);
      const have = present && /^-?\d+$/.test(value) ? Number.parseInt(value, 10) : Number.NaN;
      if (Number.isNaN(want) || Number.isNaN(have)) return false;
      return req.operator === 'Gt' ? have > want : have < want;
    }
  }
}

/** A NodeSelectorTerm: all expressions and fields hold; a term with neither matches nothing. */
export function matchesNodeSelectorTerm(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  const label = (k: string): string | undefined => (Object.prototype.hasOwnProperty.call(labels, k) ? labels[k] : undefined);
  return (
    exprs.every((r) => matchesRequirement(r, label(r.key))) &&
    // the only supported field is metadata.name (core/v1 validation)
    fields.every((r) => r.key === 'metadata.name' && matchesRequirement(r, node.metadata.name))
  );
}

/** NodeAffinity: `spec.nodeSelector` (all pairs) and required node affinity (any term; no terms matches nothing). */
export function filterNodeAffinity(pod: Pod, node: Node): FilterFailure | undefined {
  const labels = node.metadata.labels ?? {};
  const selectorOk = Object.entries(pod.spec.nodeSelector ?? {}).every(([k, v]) => labels[k] === v);
  const required = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const affinityOk = !required || required.nodeSelectorTerms.some((t) => matchesNodeSelectorTerm(t, node));
  return selectorOk && affinityOk ? undefined : { reasons: [REASON_NODE_AFFINITY], unresolvable: true };
}

/** What is already placed on a node: summed requests (exact and non-zero-defaulted) and the pod count. */
export interface NodeUsage {
  requested: Requests;
  nonZeroRequested: Requests;
  pods: number;
}

export function emptyUsage(): NodeUsage {
  return { requested: { milliCPU: 0, memory: 0 }, nonZeroRequested: { milliCPU: 0, memory: 0 }, pods: 0 };
}

/** Adds `pod` to `usage` (in place) when it holds resources. */
export function addPodUsage(usage: NodeUsage, pod: Pod): void {
  if (!holdsResources(pod)) return;
  const r = podRequests(pod);
  const nz = podRequests(pod, true);
  usage.requested.milliCPU += r.milliCPU;
  usage.requested.memory += r.memory;
  usage.nonZeroRequested.milliCPU += nz.milliCPU;
  usage.nonZeroRequested.memory += nz.memory;
  usage.pods += 1;
}

/**
 * NodeResourcesFit: pods, cpu and memory against allocatable minus requested (noderesources/fit.go `fitsRequest`);
 * every insufficient resource is a reason. Unresolvable when the pod alone exceeds the node's allocatable.
 */
export function filterResources(pod: Pod, node: Node, usage: NodeUsage): FilterFailure | undefined {
  const alloc = nodeAllocatable(node);
  const req = podRequests(pod);
  const reasons: string[] = [];
  let unresolvable = false;
  if (usage.pods + 1 > alloc.pods) reasons.push(REASON_TOO_MANY_PODS);
  if (req.milliCPU > 0 && req.milliCPU > alloc.milliCPU - usage.requested.milliCPU) {
    reasons.push('Insufficient cpu');
    unresolvable ||= req.milliCPU > alloc.milliCPU;
  }
  if (req.memory > 0 && req.memory > alloc.memory - usage.requested.memory) {
    reasons.push('Insufficient memory');
    unresolvable ||= req.memory > alloc.memory;
  }
  return reasons.length ? { reasons, unresolvable } : undefined;
}

/** The filters in the default profile's order; a node fails on the first that rejects it (framework RunFilterPlugins). */
export function runFilters(pod: Pod, node: Node, usage: NodeUsage): FilterFailure | undefined {
  return filterUnschedulable(pod, node) ?? filterNodeName(pod, node) ?? filterTaints(pod, node) ?? filterNodeAffinity(pod, node) ?? filterResources(pod, node, usage);
}

/**
 * NodeResourcesFit's LeastAllocated score (0–100): the mean over cpu and memory of free/allocatable after adding the
 * pod, with non-zero defaults (noderesources/least_allocated.go).
 */
export function leastAllocatedScore(pod: Pod, node: Node, usage: NodeUsage): number {
  const alloc = nodeAllocatable(node);
  const req = podRequests(pod, true);
  const score = (capacity: number, requested: number): number => (capacity <= 0 || requested > capacity ? 0 : ((capacity - requested) * 100) / capacity);
  return (score(alloc.milliCPU, usage.nonZeroRequested.milliCPU + req.milliCPU) + score(alloc.memory, usage.nonZeroRequested.memory + req.memory)) / 2;
}

/** TaintToleration's score input: PreferNoSchedule taints the pod does not tolerate (fewer is better). */
export function intolerablePreferNoSchedule(pod: Pod, node: Node): number {
  const tolerations = (pod.spec.tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
  return (node.spec?.taints ?? []).filter((taint) => taint.effect === 'PreferNoSchedule' && !tolerations.some((t) => toleratesTaint(t, taint))).length;
}

/**
 * The FailedScheduling message kube-scheduler writes (pkg/scheduler/framework/types.go `FitError.Error`: "0/%v nodes are
 * available:" + " <sorted histogram>." + " " + PostFilter message). The PostFilter part is DefaultPreemption's
 * ("preemption: " + a FitError over its own per-node statuses): nodes failing with UnschedulableAndUnresolvable are
 * "Preemption is not helpful for scheduling"; the rest "No preemption victims found for incoming pod" (this simulation
 * never preempts). Histogram entries are "<count> <reason>", sorted as strings.
 */
export function fitErrorMessage(totalNodes: number, failures: FilterFailure[]): string {
  const histogram = (reasons: string[]): string => {
    const counts = new Map<string, number>();
    for (const r of reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
    const entries = [...counts].map(([reason, n]) => `${n} ${reason}`).sort();
    return entries.length ? ` ${entries.join(', ')}.` : '';
  };
  const filter = histogram(failures.flatMap((f) => f.reasons));
  const preemption = histogram(failures.map((f) => (f.unresolvable ? 'Preemption is not helpful for scheduling' : 'No preemption victims found for incoming pod')));
  return `0/${totalNodes} nodes are available:${filter} preemption: 0/${totalNodes} nodes are available:${preemption}`;
}
