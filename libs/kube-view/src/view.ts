import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { Condition, NodePhase } from '@skyweave/domain';
import { holdsResources, nodeAllocatable, podRequests, type Node as SimNode, type NodeSelectorTerm, type Pod as SimPod, type Requests, type Taint, type Toleration } from '@skyweave/kube-sim';
import type { KubeNodeStatusRow, KubeStatusFlush } from '@skyweave/persistence';

const MiB = 1024 * 1024;
/** The label kube-sim's kubelet (and Skyweave's node-agent) puts on a Node: the Skyweave node's id. */
export const NODE_ID_LABEL = 'skyweave.io/node-id';
/** On a Node or a Pod: the autoscaler never disrupts it (value "true"; issue 13, as Karpenter's `karpenter.sh/do-not-disrupt`). */
export const DO_NOT_DISRUPT_ANNOTATION = 'autoscaling.skyweave.io/do-not-disrupt';
/** Static pods' mirror pods carry this annotation (kubelet; k8s.io/kubernetes pkg/kubelet/types). */
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

/** A Kubernetes `Ready` status. */
export type ReadyStatus = 'True' | 'False' | 'Unknown';

/** A Skyweave node of the cluster, as the view joins Kubernetes Nodes to it (from the `nodes` rows). */
export interface SkyweaveNodeRef {
  id: string;
  name: string;
  phase: NodePhase;
  removalRequested: boolean;
}

/** One Kubernetes Node with its usage, for the autoscaler (cpu in millicores, memory in MiB, pods as counts). */
export interface KubeNodeUsage {
  /** Kubernetes Node name. */
  name: string;
  /** The Skyweave node it was joined to (label `skyweave.io/node-id`, else same name), or null. */
  skyweaveNodeId: string | null;
  ready: ReadyStatus;
  /** Cordoned (`spec.unschedulable`). */
  unschedulable: boolean;
  /** `status.allocatable`: memory rounded down to whole MiB. */
  allocatable: { cpuMillicores: number; memoryMiB: number; pods: number };
  /** Effective requests (libs/kube-sim `podRequests`) of the non-terminal pods bound to it: memory rounded up to whole MiB. */
  requested: { cpuMillicores: number; memoryMiB: number };
  /** Non-terminal pods bound to it. */
  pods: number;
}

/** What the scheduler matches a pod against a node with (kube-sim's types, the API's JSON shape). */
export interface PodPlacement {
  nodeSelector?: Record<string, string>;
  /** `spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms` (ORed). */
  requiredNodeAffinity?: NodeSelectorTerm[];
  tolerations?: Toleration[];
}

/** A pod Kubernetes has not placed (cpu millicores, memory MiB rounded up). */
export interface PendingPod extends PodPlacement {
  namespace: string;
  name: string;
  requests: { cpuMillicores: number; memoryMiB: number };
  /** The scheduler said it cannot place it (PodScheduled=False, reason Unschedulable), with its message. */
  unschedulable: boolean;
  message: string | null;
}

/** A pod bound to a node, as the autoscaler's scale-down sees it (cpu millicores, memory MiB rounded up). */
export interface BoundPod extends PodPlacement {
  namespace: string;
  name: string;
  requests: { cpuMillicores: number; memoryMiB: number };
  /** Owned by a DaemonSet (it goes with its node; never moved). */
  daemonSet: boolean;
  /** A static pod's mirror (never moved). */
  mirror: boolean;
  /** Annotated `autoscaling.skyweave.io/do-not-disrupt: "true"`. */
  doNotDisrupt: boolean;
  /** Being deleted (`metadata.deletionTimestamp`). */
  deleting: boolean;
}

/** A Node's labels, taints and annotations the autoscaler matches pods and policies against. */
export interface KubeNodeDetail extends KubeNodeUsage {
  labels: Record<string, string>;
  taints: Taint[];
  /** Annotated `autoscaling.skyweave.io/do-not-disrupt: "true"`. */
  doNotDisrupt: boolean;
}

/** Whether the cluster's API server answers the watches (the `KubernetesApiReachable` condition, without its time). */
export type Reachability = Omit<Condition, 'lastTransitionTime' | 'type'>;

interface NodeState {
  name: string;
  labelledId: string | null;
  ready: ReadyStatus;
  readyReason: string | null;
  /** Ready condition's lastTransitionTime (ms) when not True, else null. */
  notReadyTransition: number | null;
  unschedulable: boolean;
  allocatable: Requests & { pods: number };
  kubeletVersion: string | null;
  labels: Record<string, string>;
  taints: Taint[];
  doNotDisrupt: boolean;
}

interface PodState {
  nodeName: string | null;
  requests: Requests;
  holds: boolean;
  pending: boolean;
  unschedulable: boolean;
  message: string | null;
  placement: PodPlacement;
  daemonSet: boolean;
  mirror: boolean;
  doNotDisrupt: boolean;
  deleting: boolean;
}

interface Usage { milliCPU: number; memory: number; pods: number }

/** The NotReady episode of a Skyweave node: since when (ms) and when it was reported (ms, null = not yet). */
interface Episode { since: number; reportedAt: number | null }

/** A planned write: the batch, and what the view remembers once it is committed. */
export interface FlushPlan {
  batch: KubeStatusFlush;
  /** Rows as written (without observedAt) by node id. */
  rows: Map<string, string>;
  reported: Map<string, number>;
  pendingPods: number;
  condition: string;
  addons: string | null;
}

const toMs = (v: unknown): number | null => {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : null;
  }
  return null;
};

const safeRequests = (pod: V1Pod): Requests => {
  try {
    return pod.spec ? podRequests(pod as unknown as SimPod) : { milliCPU: 0, memory: 0 };
  } catch {
    return { milliCPU: 0, memory: 0 }; // a malformed quantity (the API server refuses those): counted as nothing
  }
};

const podKey = (p: V1Pod) => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`;

/** The pod's scheduling constraints, only the fields set (client-node's objects are the API's JSON). */
const placementOf = (p: V1Pod): PodPlacement => {
  const out: PodPlacement = {};
  const spec = p.spec;
  if (spec?.nodeSelector && Object.keys(spec.nodeSelector).length) out.nodeSelector = { ...spec.nodeSelector };
  const terms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms?.length) out.requiredNodeAffinity = terms as unknown as NodeSelectorTerm[];
  if (spec?.tolerations?.length) out.tolerations = spec.tolerations as unknown as Toleration[];
  return out;
};

/**
 * The watcher's view of one cluster's Kubernetes API: its Nodes and Pods as the informers deliver them, reduced to what
 * the platform records (per node: Ready, cordon, allocatable, requested, pods, kubelet version; per cluster: pending
 * pods; whether the API answers) and, for the autoscaler, read in-process through {@link nodes},
 * {@link pendingPods} and {@link pendingPodList}. Per-node sums are kept incrementally: an event costs one pod's or
 * node's work, never a pass over the cluster.
 *
 * Time comes from `clock` (ms since the epoch) so NotReady timing is tested without sleeping.
 */
export class ClusterKubeView {
  private readonly kubeNodes = new Map<string, NodeState>();
  private readonly pods = new Map<string, PodState>();
  private readonly usage = new Map<string, Usage>();
  private readonly pending = new Set<string>();
  /** Node name → keys of the pods bound to it (terminal ones included). */
  private readonly byNode = new Map<string, Set<string>>();
  private skyweave: SkyweaveNodeRef[] = [];
  private reach: Reachability = { status: 'Unknown', reason: 'Connecting', message: 'the watcher has not reached the API server yet' };
  private readonly episodes = new Map<string, Episode>();
  private readonly written = new Map<string, string>();
  private writtenPending: number | null = null;
  private writtenCondition: string | null = null;
  private addons: Reachability | null = null;
  private writtenAddons: string | null = null;
  private readonly listeners = new Set<() => void>();
  /** Increases with every change the view applies (an event that changed nothing does not count). */
  version = 0;

  constructor(private readonly clock: () => number = Date.now) {}

  /** Calls `fn` synchronously after every change applied (e.g. to schedule a flush). @returns a function removing it. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // ---- feeding (the informers) ----

  /** A Node was added or changed. */
  upsertNode(n: V1Node): void {
    const name = n.metadata?.name;
    if (!name) return;
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
    const status: ReadyStatus = ready?.status === 'True' || ready?.status === 'False' ? ready.status : 'Unknown';
    let allocatable: Requests & { pods: number };
    try {
      allocatable = nodeAllocatable(n as unknown as SimNode);
    } catch {
      allocatable = { milliCPU: 0, memory: 0, pods: 0 };
    }
    this.kubeNodes.set(name, {
      name,
      labelledId: n.metadata?.labels?.[NODE_ID_LABEL] ?? null,
      ready: status,
      readyReason: ready?.reason ?? null,
      notReadyTransition: status === 'True' ? null : toMs(ready?.lastTransitionTime),
      unschedulable: n.spec?.unschedulable === true,
      allocatable,
      kubeletVersion: n.status?.nodeInfo?.kubeletVersion ?? null,
      labels: { ...(n.metadata?.labels ?? {}) },
      taints: (n.spec?.taints ?? []) as unknown as Taint[],
      doNotDisrupt: n.metadata?.annotations?.[DO_NOT_DISRUPT_ANNOTATION] === 'true',
    });
    this.changed();
  }

  /** A Node was deleted. */
  deleteNode(n: V1Node): void {
    if (n.metadata?.name && this.kubeNodes.delete(n.metadata.name)) this.changed();
  }

  /** A Pod was added or changed. */
  upsertPod(p: V1Pod): void {
    const key = podKey(p);
    this.removePod(key);
    const sched = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
    const nodeName = p.spec?.nodeName || null;
    const unschedulable = sched?.status === 'False' && sched.reason === 'Unschedulable';
    const s: PodState = {
      nodeName,
      requests: safeRequests(p),
      holds: p.spec ? holdsResources(p as unknown as SimPod) : false,
      pending: (p.status?.phase === 'Pending' && !nodeName) || unschedulable,
      unschedulable,
      message: unschedulable ? sched?.message ?? null : null,
      placement: placementOf(p),
      daemonSet: (p.metadata?.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet' && o.controller === true),
      mirror: p.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined,
      doNotDisrupt: p.metadata?.annotations?.[DO_NOT_DISRUPT_ANNOTATION] === 'true',
      deleting: !!p.metadata?.deletionTimestamp,
    };
    this.pods.set(key, s);
    if (nodeName) {
      let set = this.byNode.get(nodeName);
      if (!set) this.byNode.set(nodeName, (set = new Set()));
      set.add(key);
    }
    if (s.holds && nodeName) {
      const u = this.usage.get(nodeName) ?? { milliCPU: 0, memory: 0, pods: 0 };
      u.milliCPU += s.requests.milliCPU;
      u.memory += s.requests.memory;
      u.pods += 1;
      this.usage.set(nodeName, u);
    }
    if (s.pending) this.pending.add(key);
    this.changed();
  }

  /** A Pod was deleted. */
  deletePod(p: V1Pod): void {
    if (this.removePod(podKey(p))) this.changed();
  }

  /** A fresh list of every Node (the informer's initial list or a resync): the view becomes exactly it. */
  replaceNodes(list: readonly V1Node[]): void {
    const names = new Set(list.map((n) => n.metadata?.name));
    for (const name of [...this.kubeNodes.keys()]) if (!names.has(name)) this.kubeNodes.delete(name);
    for (const n of list) this.upsertNode(n);
    this.changed();
  }

  /** A fresh list of every Pod: the view becomes exactly it. */
  replacePods(list: readonly V1Pod[]): void {
    const keys = new Set(list.map(podKey));
    for (const key of [...this.pods.keys()]) if (!keys.has(key)) this.removePod(key);
    for (const p of list) this.upsertPod(p);
    this.changed();
  }

  /** The cluster's Skyweave nodes (re-read from the database by the watcher's poll). */
  setSkyweaveNodes(nodes: readonly SkyweaveNodeRef[]): void {
    this.skyweave = [...nodes];
    this.changed();
  }

  /**
   * The outcome of the latest add-on install (the `AddonsInstalled` condition, without its time); never set when the
   * watcher installs no add-ons, so no such condition is written.
   */
  setAddons(r: Reachability): void {
    if (this.addons && r.status === this.addons.status && r.reason === this.addons.reason && r.message === this.addons.message) return;
    this.addons = { ...r };
    this.changed();
  }

  /** Whether the API server answers (the watch's outcome). */
  setReachability(r: Reachability): void {
    if (r.status === this.reach.status && r.reason === this.reach.reason && r.message === this.reach.message) return;
    this.reach = { ...r };
    this.changed();
  }

  /**
   * What was last recorded (a replica taking the cluster over starts from the database): rows are not re-written
   * unless they change, and an open NotReady episode keeps its start and whether it was reported.
   */
  seed(rows: readonly KubeNodeStatusRow[], pendingPods: number | null = null): void {
    for (const r of rows) {
      this.written.set(r.nodeId, rowKey(r));
      if (r.notReadySince) this.episodes.set(r.nodeId, { since: Date.parse(r.notReadySince), reportedAt: r.notReadyReportedAt ? Date.parse(r.notReadyReportedAt) : null });
    }
    this.writtenPending = pendingPods;
  }

  // ---- reading (in-process API for the autoscaler) ----

  /** Pods not placed: Pending without a node, plus those the scheduler marked Unschedulable (each counted once). */
  pendingPods(): number {
    return this.pending.size;
  }

  /** The pending pods with their requests (cpu millicores, memory MiB rounded up), by namespace/name. */
  pendingPodList(): PendingPod[] {
    return [...this.pending].sort().map((key) => {
      const p = this.pods.get(key) as PodState;
      const [namespace, name] = splitKey(key);
      return { namespace, name, requests: { cpuMillicores: p.requests.milliCPU, memoryMiB: Math.ceil(p.requests.memory / MiB) }, unschedulable: p.unschedulable, message: p.message, ...p.placement };
    });
  }

  /** Every Kubernetes Node as {@link nodes} gives it, with its labels, taints and do-not-disrupt annotation. */
  nodeDetails(): KubeNodeDetail[] {
    const byName = new Map([...this.kubeNodes.values()].map((n) => [n.name, n]));
    return this.nodes().map((u) => {
      const n = byName.get(u.name) as NodeState;
      return { ...u, labels: { ...n.labels }, taints: [...n.taints], doNotDisrupt: n.doNotDisrupt };
    });
  }

  /** The non-terminal pods bound to Kubernetes Node `nodeName`, by namespace/name. */
  podsOn(nodeName: string): BoundPod[] {
    const keys = [...(this.byNode.get(nodeName) ?? [])].sort();
    const out: BoundPod[] = [];
    for (const key of keys) {
      const p = this.pods.get(key);
      if (!p || !p.holds) continue;
      const [namespace, name] = splitKey(key);
      out.push({
        namespace, name, requests: { cpuMillicores: p.requests.milliCPU, memoryMiB: Math.ceil(p.requests.memory / MiB) },
        daemonSet: p.daemonSet, mirror: p.mirror, doNotDisrupt: p.doNotDisrupt, deleting: p.deleting, ...p.placement,
      });
    }
    return out;
  }

  /** Every Kubernetes Node with allocatable and requested resources, by name. */
  nodes(): KubeNodeUsage[] {
    const join = this.joiner();
    return [...this.kubeNodes.values()].sort((a, b) => a.name.localeCompare(b.name)).map((n) => {
      const u = this.usage.get(n.name) ?? { milliCPU: 0, memory: 0, pods: 0 };
      return {
        name: n.name, skyweaveNodeId: join(n)?.id ?? null, ready: n.ready, unschedulable: n.unschedulable,
        allocatable: { cpuMillicores: n.allocatable.milliCPU, memoryMiB: Math.floor(n.allocatable.memory / MiB), pods: n.allocatable.pods },
        requested: { cpuMillicores: u.milliCPU, memoryMiB: Math.ceil(u.memory / MiB) }, pods: u.pods,
      };
    });
  }

  /** The API's reachability as the view last heard it. */
  reachability(): Reachability {
    return { ...this.reach };
  }

  // ---- flushing ----

  /**
   * What to write now: node rows that changed since the last committed flush (and removals), the pending pods and the
   * condition when they changed, and a `NodeNotReady` event for each Joined node (not being removed) whose NotReady
   * episode has lasted `notReadyThresholdMs` and was not reported yet. Null when there is nothing to write.
   * Nothing is remembered until {@link commit}: a failed write is planned again.
   */
  planFlush(notReadyThresholdMs: number): FlushPlan | null {
    const now = this.clock();
    const join = this.joiner();
    const rows = new Map<string, string>();
    const upsert: KubeNodeStatusRow[] = [];
    const events: KubeStatusFlush['events'][number][] = [];
    const reported = new Map<string, number>();
    const seen = new Set<string>();
    for (const n of this.kubeNodes.values()) {
      const sw = join(n);
      if (!sw || seen.has(sw.id)) continue;
      seen.add(sw.id);
      let ep = this.episodes.get(sw.id);
      if (n.ready === 'True') {
        this.episodes.delete(sw.id);
        ep = undefined;
      } else {
        const since = n.notReadyTransition ?? ep?.since ?? now;
        ep = { since, reportedAt: ep?.reportedAt ?? null };
        this.episodes.set(sw.id, ep);
      }
      let reportedAt = ep?.reportedAt ?? null;
      if (ep && reportedAt === null && sw.phase === 'Joined' && !sw.removalRequested && now - ep.since >= notReadyThresholdMs) {
        reportedAt = now;
        reported.set(sw.id, now);
        events.push({
          type: 'Warning', reason: 'NodeNotReady', object: `node/${sw.name}`,
          message: `node ${sw.name} is running but Kubernetes has reported it not Ready (Ready=${n.ready}, reason ${n.readyReason ?? 'none'}) for ${Math.round((now - ep.since) / 1000)} s (Kubernetes node ${n.name})`,
        });
      }
      const u = this.usage.get(n.name) ?? { milliCPU: 0, memory: 0, pods: 0 };
      const row: KubeNodeStatusRow = {
        nodeId: sw.id, kubeNodeName: n.name, ready: n.ready, readyReason: n.readyReason, unschedulable: n.unschedulable,
        allocatableCpuMillicores: n.allocatable.milliCPU, allocatableMemoryMiB: Math.floor(n.allocatable.memory / MiB), allocatablePods: n.allocatable.pods,
        requestedCpuMillicores: u.milliCPU, requestedMemoryMiB: Math.ceil(u.memory / MiB), pods: u.pods, kubeletVersion: n.kubeletVersion,
        notReadySince: ep ? new Date(ep.since).toISOString() : null, notReadyReportedAt: reportedAt === null ? null : new Date(reportedAt).toISOString(),
        observedAt: new Date(now).toISOString(),
      };
      const key = rowKey(row);
      rows.set(sw.id, key);
      if (this.written.get(sw.id) !== key) upsert.push(row);
    }
    for (const id of [...this.episodes.keys()]) if (!seen.has(id)) this.episodes.delete(id);
    const remove = [...this.written.keys()].filter((id) => !seen.has(id));
    const pendingPods = this.pending.size;
    const condition = JSON.stringify(this.reach);
    const addons = this.addons ? JSON.stringify(this.addons) : null;
    const batch: KubeStatusFlush = {
      upsert, remove, events,
      ...(pendingPods !== this.writtenPending ? { pendingPods } : {}),
      ...(condition !== this.writtenCondition ? { condition: { type: 'KubernetesApiReachable', ...this.reach } } : {}),
      ...(this.addons && addons !== this.writtenAddons ? { addonsCondition: { type: 'AddonsInstalled', ...this.addons } } : {}),
    };
    if (!upsert.length && !remove.length && !events.length && batch.pendingPods === undefined && !batch.condition && !batch.addonsCondition) return null;
    return { batch, rows, reported, pendingPods, condition, addons };
  }

  /** The plan was written: remember it (rows, reported episodes, pending pods, condition). */
  commit(plan: FlushPlan): void {
    this.written.clear();
    for (const [id, key] of plan.rows) this.written.set(id, key);
    for (const [id, at] of plan.reported) {
      const ep = this.episodes.get(id);
      if (ep) ep.reportedAt = at;
    }
    this.writtenPending = plan.pendingPods;
    this.writtenCondition = plan.condition;
    this.writtenAddons = plan.addons;
  }

  /** Whether a NotReady episode is open and not reported yet (a flush may be due with no event arriving). */
  hasOpenEpisode(): boolean {
    for (const n of this.kubeNodes.values()) if (n.ready !== 'True') return true;
    return false;
  }

  private removePod(key: string): boolean {
    const old = this.pods.get(key);
    if (!old) return false;
    this.pods.delete(key);
    this.pending.delete(key);
    if (old.nodeName) {
      const set = this.byNode.get(old.nodeName);
      set?.delete(key);
      if (set && !set.size) this.byNode.delete(old.nodeName);
    }
    if (old.holds && old.nodeName) {
      const u = this.usage.get(old.nodeName);
      if (u) {
        u.milliCPU -= old.requests.milliCPU;
        u.memory -= old.requests.memory;
        u.pods -= 1;
        if (u.pods <= 0) this.usage.delete(old.nodeName);
      }
    }
    return true;
  }

  /** Kubernetes Node → Skyweave node: by the `skyweave.io/node-id` label, else by the same name. */
  private joiner(): (n: NodeState) => SkyweaveNodeRef | undefined {
    const byId = new Map(this.skyweave.map((s) => [s.id, s]));
    const byName = new Map(this.skyweave.map((s) => [s.name, s]));
    return (n) => (n.labelledId ? byId.get(n.labelledId) : undefined) ?? byName.get(n.name);
  }

  private changed(): void {
    this.version++;
    for (const fn of this.listeners) fn();
  }
}

/** A row's content without its observation time (what decides whether it changed). */
function rowKey(r: KubeNodeStatusRow): string {
  return JSON.stringify([r.kubeNodeName, r.ready, r.readyReason, r.unschedulable, r.allocatableCpuMillicores, r.allocatableMemoryMiB, r.allocatablePods,
    r.requestedCpuMillicores, r.requestedMemoryMiB, r.pods, r.kubeletVersion, r.notReadySince, r.notReadyReportedAt]);
}

function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
}
