import { filterNodeAffinity, filterTaints, filterUnschedulable, type Node, type Pod, type Taint } from '@skyweave/kube-sim';
import type { PodToPlace } from './types';

/**
 * "Does this pod's placement constraints admit this (possibly hypothetical) node": kube-scheduler's own filters from
 * kube-sim (NodeUnschedulable, TaintToleration, NodeAffinity: nodeSelector and required node affinity), so the
 * autoscaler and the scheduler agree. Resources are checked separately (see scale-up.ts, in integer units).
 */

/** The scheduler's view of a PodToPlace (no containers: requests are handled by the packer). */
export function podObject(p: PodToPlace): Pod {
  return {
    metadata: { name: p.key },
    spec: {
      containers: [],
      ...(p.nodeSelector ? { nodeSelector: p.nodeSelector } : {}),
      ...(p.requiredNodeAffinity ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: p.requiredNodeAffinity } } } } : {}),
      ...(p.tolerations ? { tolerations: p.tolerations } : {}),
    },
  };
}

/** A Node object with the given name, labels, taints and cordon flag (a new node: name '' and no taints). */
export function nodeObject(n: { name: string; labels: Record<string, string>; taints?: Taint[]; unschedulable?: boolean }): Node {
  return { metadata: { name: n.name, labels: n.labels }, spec: { ...(n.taints ? { taints: n.taints } : {}), ...(n.unschedulable ? { unschedulable: true } : {}) } };
}

/** Whether the pod's constraints admit the node (cordon, taints, nodeSelector, required node affinity). */
export function admits(pod: Pod, node: Node): boolean {
  return !filterUnschedulable(pod, node) && !filterTaints(pod, node) && !filterNodeAffinity(pod, node);
}

/** Pods with equal keys have identical constraints: the packer decides compatibility once per class. */
export function constraintClassKey(p: PodToPlace): string {
  const sel = Object.entries(p.nodeSelector ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([sel, p.requiredNodeAffinity ?? null, p.tolerations ?? null]);
}
