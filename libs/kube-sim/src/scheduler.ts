import { Clock } from './clock';
import { isoSeconds, recordEvent, setCondition } from './controller';
import { isNotFound, KubeObjects } from './objects';
import {
  addPodUsage,
  emptyUsage,
  FilterFailure,
  fitErrorMessage,
  intolerablePreferNoSchedule,
  leastAllocatedScore,
  NodeUsage,
  runFilters,
} from './scheduling';
import { Node, Pod } from './types';

/** The scheduler name pods get by default (`spec.schedulerName`), and the component name on its events. */
export const DEFAULT_SCHEDULER = 'default-scheduler';

/** What one pass decided for one pod. */
export type Placement = { pod: string; node: string } | { pod: string; node: undefined; message: string };

/**
 * kube-scheduler's capacity behaviour: binds every pending pod of `default-scheduler` (no `spec.nodeName`, not being
 * deleted) to a node that passes NodeUnschedulable, NodeName, TaintToleration, NodeAffinity and NodeResourcesFit,
 * choosing by fewest untolerated PreferNoSchedule taints, then highest LeastAllocated score, then name.
 * Pods are taken by `spec.priority` (higher first), then creation time, as the scheduling queue orders them.
 * A pod that fits nowhere gets PodScheduled=False, reason Unschedulable and kube-scheduler's message, and a Warning
 * FailedScheduling event; it is tried again on the next pass (any pod or node change).
 * Simplified: no preemption, no inter-pod affinity or topology spread, no preferred node affinity, no volumes or ports.
 */
export class Scheduler {
  constructor(
    private readonly objects: KubeObjects,
    private readonly clock: Clock,
  ) {}

  /** One pass over all pending pods; returns what it decided. Throws KubeApiError (Conflict: run again). */
  async schedulePending(): Promise<Placement[]> {
    const nodes = (await this.objects.list('nodes')).sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    const pods = await this.objects.list('pods');
    const usage = new Map<string, NodeUsage>(nodes.map((n) => [n.metadata.name ?? '', emptyUsage()]));
    for (const p of pods) {
      const u = p.spec.nodeName ? usage.get(p.spec.nodeName) : undefined;
      if (u) addPodUsage(u, p);
    }
    const pending = pods
      .filter((p) => !p.spec.nodeName && !p.metadata.deletionTimestamp && (p.spec.schedulerName ?? DEFAULT_SCHEDULER) === DEFAULT_SCHEDULER)
      .filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
      .sort((a, b) => (b.spec.priority ?? 0) - (a.spec.priority ?? 0) || (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    const out: Placement[] = [];
    for (const pod of pending) {
      const decision = this.place(pod, nodes, usage);
      const name = `${pod.metadata.namespace}/${pod.metadata.name}`;
      if (decision.node) {
        if (await this.bind(pod, decision.node)) {
          addPodUsage(usage.get(decision.node.metadata.name ?? '')!, { ...pod, spec: { ...pod.spec, nodeName: decision.node.metadata.name } });
          out.push({ pod: name, node: decision.node.metadata.name ?? '' });
        }
      } else {
        const message = fitErrorMessage(nodes.length, decision.failures);
        await this.markUnschedulable(pod, message);
        out.push({ pod: name, node: undefined, message });
      }
    }
    return out;
  }

  private place(pod: Pod, nodes: Node[], usage: Map<string, NodeUsage>): { node: Node; failures?: undefined } | { node?: undefined; failures: FilterFailure[] } {
    const failures: FilterFailure[] = [];
    let best: { node: Node; taints: number; score: number } | undefined;
    for (const node of nodes) {
      const u = usage.get(node.metadata.name ?? '') ?? emptyUsage();
      const failure = runFilters(pod, node, u);
      if (failure) {
        failures.push(failure);
        continue;
      }
      const candidate = { node, taints: intolerablePreferNoSchedule(pod, node), score: leastAllocatedScore(pod, node, u) };
      if (!best || candidate.taints < best.taints || (candidate.taints === best.taints && candidate.score > best.score)) best = candidate;
    }
    return best ? { node: best.node } : { failures };
  }

  /** The pods/binding write: sets `spec.nodeName` (guarded by resourceVersion) and PodScheduled=True. */
  private async bind(pod: Pod, node: Node): Promise<boolean> {
    const nodeName = node.metadata.name ?? '';
    let bound: Pod;
    try {
      bound = await this.objects.update('pods', { ...pod, spec: { ...pod.spec, nodeName } });
    } catch (err) {
      if (isNotFound(err)) return false; // deleted meanwhile
      throw err;
    }
    const now = isoSeconds(this.clock.now());
    const conditions = [...(bound.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled'), { type: 'PodScheduled', status: 'True' as const, lastProbeTime: null, lastTransitionTime: now }];
    await this.objects.updateStatus('pods', { ...bound, status: { phase: 'Pending', ...bound.status, conditions } });
    await recordEvent(this.objects, this.clock, DEFAULT_SCHEDULER, bound, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`);
    return true;
  }

  private async markUnschedulable(pod: Pod, message: string): Promise<void> {
    const now = isoSeconds(this.clock.now());
    const { conditions, changed } = setCondition(pod.status?.conditions, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null }, now);
    if (!changed) return;
    try {
      await this.objects.updateStatus('pods', { ...pod, status: { phase: 'Pending', ...pod.status, conditions } });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    await recordEvent(this.objects, this.clock, DEFAULT_SCHEDULER, pod, 'Warning', 'FailedScheduling', message);
  }
}
