import { Clock } from './clock';
import { isoSeconds, parseTime, recordEvent } from './controller';
import { NODE_LEASE_NAMESPACE } from './kubelet';
import { isConflict, isNotFound, KubeObjects } from './objects';
import { findUntoleratedTaint, toleratesTaint } from './scheduling';
import { Condition, Node, Pod, Taint, Toleration } from './types';

export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
/** Put on cordoned nodes (`spec.unschedulable`) by the node lifecycle controller's TaintNodesByCondition pass. */
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

export interface NodeLifecycleOptions {
  /** How long a node's Lease may go unrenewed before its Ready turns Unknown, in ms (`--node-monitor-grace-period`, 40 s). */
  gracePeriodMs: number;
  /** How often nodes are checked, in ms (`--node-monitor-period`, 5 s); also the eviction timing's resolution. */
  monitorPeriodMs: number;
  /**
   * `tolerationSeconds` of the not-ready/unreachable NoExecute tolerations the DefaultTolerationSeconds admission plugin
   * adds to pods that have none (`--default-unreachable-toleration-seconds`, 300). Pods without such a toleration are
   * treated as if they had it (the API server is expected to add it: see withDefaultTolerations).
   */
  defaultTolerationSeconds: number;
}

export const DEFAULT_NODE_LIFECYCLE_OPTIONS: NodeLifecycleOptions = { gracePeriodMs: 40_000, monitorPeriodMs: 5_000, defaultTolerationSeconds: 300 };

/**
 * The pod's tolerations with the DefaultTolerationSeconds admission plugin's additions
 * (plugin/pkg/admission/defaulttolerationseconds): `node.kubernetes.io/not-ready` and `…/unreachable`, Exists, NoExecute,
 * `tolerationSeconds` = `seconds`, each added only when no existing toleration tolerates that taint.
 */
export function withDefaultTolerations(tolerations: Toleration[] | undefined, seconds: number): Toleration[] {
  const out = [...(tolerations ?? [])];
  for (const key of [TAINT_NOT_READY, TAINT_UNREACHABLE]) {
    const taint: Taint = { key, effect: 'NoExecute' };
    if (!out.some((t) => toleratesTaint(t, taint))) out.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds });
  }
  return out;
}

/**
 * When a pod on a node with these NoExecute taints is to be evicted, in epoch ms: now for an untolerated taint, else the
 * earliest `timeAdded + tolerationSeconds` over the taints (the taint eviction controller's rule); undefined = never.
 */
export function evictionTime(taints: Taint[], tolerations: Toleration[], nowMs: number): number | undefined {
  const noExecute = taints.filter((t) => t.effect === 'NoExecute');
  if (findUntoleratedTaint(noExecute, tolerations, ['NoExecute'])) return nowMs;
  let due: number | undefined;
  for (const taint of noExecute) {
    const seconds = tolerations.filter((t) => toleratesTaint(t, taint)).map((t) => t.tolerationSeconds);
    if (seconds.some((s) => s === undefined)) continue; // tolerated forever
    const min = Math.max(0, Math.min(...(seconds as number[])));
    const added = parseTime(taint.timeAdded) ?? nowMs;
    due = Math.min(due ?? Infinity, added + min * 1000);
  }
  return due;
}

/**
 * The node lifecycle controller, taint eviction and pod GC of kube-controller-manager, as far as node loss goes:
 * - a node whose Lease (kube-node-lease/<node>) was not renewed for `gracePeriodMs` gets Ready (and the pressure
 *   conditions) Unknown, reason NodeStatusUnknown, "Kubelet stopped posting node status.", and its pods Ready=False;
 * - nodes get `node.kubernetes.io/unreachable` (Ready Unknown) or `node.kubernetes.io/not-ready` (Ready False) taints,
 *   NoSchedule and NoExecute, removed when Ready is True again; cordoned nodes `node.kubernetes.io/unschedulable`
 *   NoSchedule, removed on uncordon;
 * - pods on a node with NoExecute taints are deleted (gracefully, with a DisruptionTarget condition) when their
 *   tolerations run out (evictionTime);
 * - pods bound to a node that no longer exists are deleted at once (pod GC's orphan rule).
 */
export class NodeLifecycleController {
  readonly options: NodeLifecycleOptions;

  constructor(
    private readonly objects: KubeObjects,
    private readonly clock: Clock,
    options: Partial<NodeLifecycleOptions> = {},
  ) {
    this.options = { ...DEFAULT_NODE_LIFECYCLE_OPTIONS, ...options };
  }

  /** One monitoring pass. Throws KubeApiError (Conflict: run again). */
  async monitor(): Promise<void> {
    const nowMs = this.clock.now();
    const nodes = await this.objects.list('nodes');
    for (const node of nodes) {
      const current = await this.checkHealth(node, nowMs);
      await this.reconcileTaints(current, nowMs);
    }
    await this.evict(nowMs);
  }

  private async checkHealth(node: Node, nowMs: number): Promise<Node> {
    const name = node.metadata.name ?? '';
    const lease = await this.objects.get('leases', name, NODE_LEASE_NAMESPACE);
    const renewed = parseTime(lease?.spec.renewTime) ?? parseTime(node.metadata.creationTimestamp) ?? nowMs;
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    if (nowMs - renewed <= this.options.gracePeriodMs || ready?.status === 'Unknown') return node;
    const now = isoSeconds(nowMs);
    const types = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];
    const conditions: Condition[] = (node.status?.conditions ?? []).map((c) =>
      types.includes(c.type) ? { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: now } : c,
    );
    if (!conditions.some((c) => c.type === 'Ready')) {
      conditions.push({ type: 'Ready', status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastTransitionTime: now, lastHeartbeatTime: now });
    }
    const updated = await this.objects.updateStatus('nodes', { ...node, status: { ...node.status, conditions } });
    await recordEvent(this.objects, this.clock, 'node-controller', updated, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
    await this.markPodsNotReady(name, now);
    return updated;
  }

  /** MarkPodsNotReady (nodelifecycle/scheduler util): the node's pods get Ready=False, so they stop counting as available. */
  private async markPodsNotReady(nodeName: string, nowIso: string): Promise<void> {
    for (const pod of await this.objects.list('pods', { nodeName })) {
      const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
      if (!ready || ready.status === 'False') continue;
      const conditions = (pod.status?.conditions ?? []).map((c) => (c.type === 'Ready' ? { ...c, status: 'False' as const, lastTransitionTime: nowIso } : c));
      try {
        await this.objects.updateStatus('pods', { ...pod, status: { ...pod.status, conditions } });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    }
  }

  private async reconcileTaints(node: Node, nowMs: number): Promise<void> {
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    const wantKey = ready === 'Unknown' ? TAINT_UNREACHABLE : ready === 'False' ? TAINT_NOT_READY : undefined;
    const cordoned = !!node.spec?.unschedulable;
    const taints = node.spec?.taints ?? [];
    const managed = (t: Taint): boolean => t.key === TAINT_UNREACHABLE || t.key === TAINT_NOT_READY || t.key === TAINT_UNSCHEDULABLE;
    const next = taints.filter((t) => !managed(t) || (t.key === wantKey && t.effect !== 'PreferNoSchedule') || (t.key === TAINT_UNSCHEDULABLE && cordoned && t.effect === 'NoSchedule'));
    const want: Taint[] = [];
    // TaintNodesByCondition (NoSchedule, no timeAdded) and the NoExecute taint the eviction counts from
    if (wantKey) want.push({ key: wantKey, effect: 'NoSchedule' }, { key: wantKey, effect: 'NoExecute', timeAdded: isoSeconds(nowMs) });
    if (cordoned) want.push({ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' });
    for (const t of want) if (!next.some((n) => n.key === t.key && n.effect === t.effect)) next.push(t);
    if (next.length === taints.length && next.every((t, i) => t === taints[i])) return;
    await this.objects.update('nodes', { ...node, spec: { ...node.spec, taints: next } });
  }

  private async evict(nowMs: number): Promise<void> {
    const nodes = new Map((await this.objects.list('nodes')).map((n) => [n.metadata.name ?? '', n]));
    for (const pod of await this.objects.list('pods')) {
      if (!pod.spec.nodeName) continue;
      const node = nodes.get(pod.spec.nodeName);
      if (!node) {
        await this.remove(pod, 0); // pod GC: orphaned by a deleted node, Terminating or not (force delete)
        continue;
      }
      if (pod.metadata.deletionTimestamp) continue;
      const taints = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
      if (!taints.length) continue;
      const due = evictionTime(taints, withDefaultTolerations(pod.spec.tolerations, this.options.defaultTolerationSeconds), nowMs);
      if (due !== undefined && due <= nowMs) await this.taintEvict(pod);
    }
  }

  private async taintEvict(pod: Pod): Promise<void> {
    const now = isoSeconds(this.clock.now());
    try {
      const conditions: Condition[] = [
        ...(pod.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget'),
        { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint', lastTransitionTime: now },
      ];
      await this.objects.updateStatus('pods', { ...pod, status: { ...pod.status, conditions } });
    } catch (err) {
      if (isNotFound(err)) return;
      if (!isConflict(err)) throw err;
    }
    await recordEvent(this.objects, this.clock, 'taint-eviction-controller', pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`);
    await this.remove(pod, undefined);
  }

  private async remove(pod: Pod, gracePeriodSeconds: number | undefined): Promise<void> {
    try {
      await this.objects.delete('pods', pod.metadata.name ?? '', pod.metadata.namespace, { gracePeriodSeconds, preconditions: { uid: pod.metadata.uid } });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }
}
