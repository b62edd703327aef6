import { Clock } from './clock';
import { isoSeconds, parseTime } from './controller';
import { KubeObjects } from './objects';
import { isPodReady } from './replicaset';
import { matchesLabelSelector } from './selectors';
import { Deployment, IntOrPercent, LabelSelector, MetaCondition, OwnerReference, Pod, PodDisruptionBudget, ReplicaSet, StatefulSet } from './types';

/**
 * How long an entry of `status.disruptedPods` (an eviction the API server admitted) keeps its pod out of
 * `currentHealthy` while the pod is not seen deleting: `DeletionTimeout` of pkg/controller/disruption/disruption.go.
 */
export const PDB_DELETION_TIMEOUT_MS = 2 * 60_000;

/** `status.conditions[type=DisruptionAllowed]` reasons (k8s.io/api/policy/v1 types.go). */
export const DISRUPTION_ALLOWED = 'DisruptionAllowed';
export const SUFFICIENT_PODS = 'SufficientPods';
export const INSUFFICIENT_PODS = 'InsufficientPods';
export const SYNC_FAILED = 'SyncFailed';

/**
 * `intstr.GetScaledValueFromIntOrPercent(v, total, roundUp=true)`: an integer as is, "N%" as ceil(N × total / 100).
 * @throws Error on a string that is not a percentage (the real message: "invalid value for IntOrString: invalid type:
 *   string is not a percentage").
 */
export function pdbScaledValue(v: IntOrPercent, total: number): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
  return Math.ceil((Number(m[1]) * total) / 100);
}

/** `metav1.LabelSelectorAsSelector`: an absent selector matches nothing, an empty one ({}) everything. */
export function pdbSelects(selector: LabelSelector | undefined, pod: Pod): boolean {
  return selector !== undefined && matchesLabelSelector(selector, pod.metadata.labels);
}

/** Whether a selector has no requirement at all (`selector.Empty()`): the eviction handler treats such a PDB as matching no pod. */
export function isEmptySelector(selector: LabelSelector | undefined): boolean {
  return !selector || (!Object.keys(selector.matchLabels ?? {}).length && !(selector.matchExpressions ?? []).length);
}

/** The workloads whose scale a PDB's expected pod count is summed from (the controller's finders). */
export interface Workloads {
  replicasets: ReplicaSet[];
  deployments: Deployment[];
  statefulsets: StatefulSet[];
}

/**
 * The scale of a pod's controller, as the finders of pkg/controller/disruption do: a ReplicaSet owned by a Deployment
 * counts as the Deployment (`getPodDeployment`), otherwise the ReplicaSet (`getPodReplicaSet`), a StatefulSet
 * (`getPodStatefulSet`). Returns undefined when no such controller exists with that uid. ReplicationControllers are
 * not served by the sandbox; other owners (custom resources with a scale subresource) are not looked up
 * (`getScaleController` is not simulated): such a pod makes the sync fail, as a controller without scale does.
 */
function controllerScale(ref: OwnerReference, namespace: string | undefined, w: Workloads): { uid: string; scale: number } | undefined {
  const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : '';
  if (ref.kind === 'ReplicaSet' && (group === 'apps' || group === 'extensions')) {
    const rs = w.replicasets.find((r) => r.metadata.namespace === namespace && r.metadata.name === ref.name && r.metadata.uid === ref.uid);
    if (!rs) return undefined;
    const owner = rs.metadata.ownerReferences?.find((r) => r.controller);
    if (owner && owner.kind === 'Deployment') {
      const ownerGroup = owner.apiVersion.includes('/') ? owner.apiVersion.split('/')[0] : '';
      if (ownerGroup !== 'apps' && ownerGroup !== 'extensions') return undefined;
      const d = w.deployments.find((x) => x.metadata.namespace === namespace && x.metadata.name === owner.name && x.metadata.uid === owner.uid);
      return d ? { uid: d.metadata.uid ?? '', scale: d.spec.replicas ?? 1 } : undefined;
    }
    return { uid: rs.metadata.uid ?? '', scale: rs.spec.replicas ?? 1 };
  }
  if (ref.kind === 'StatefulSet' && group === 'apps') {
    const ss = w.statefulsets.find((s) => s.metadata.namespace === namespace && s.metadata.name === ref.name && s.metadata.uid === ref.uid);
    return ss ? { uid: ss.metadata.uid ?? '', scale: ss.spec.replicas ?? 1 } : undefined;
  }
  return undefined;
}

/**
 * `getExpectedScale`: the sum of the scales of the controllers of the pods (each controller once); pods without a
 * controller are returned as unmanaged. @throws Error `found no controllers for pod "x"` (or, for a DaemonSet,
 * `daemonsets.apps does not implement the scale subresource`) when a controller's scale cannot be found.
 */
export function expectedScale(pods: Pod[], w: Workloads): { expected: number; unmanaged: string[] } {
  const scales = new Map<string, number>();
  const unmanaged: string[] = [];
  for (const pod of pods) {
    const ref = pod.metadata.ownerReferences?.find((r) => r.controller);
    if (!ref) {
      unmanaged.push(pod.metadata.name ?? '');
      continue;
    }
    if (scales.has(ref.uid)) continue;
    const found = controllerScale(ref, pod.metadata.namespace, w);
    if (!found) {
      if (ref.kind === 'DaemonSet' && ref.apiVersion.startsWith('apps/')) throw new Error('daemonsets.apps does not implement the scale subresource');
      throw new Error(`found no controllers for pod "${pod.metadata.name ?? ''}"`);
    }
    scales.set(found.uid, found.scale);
  }
  return { expected: [...scales.values()].reduce((a, b) => a + b, 0), unmanaged };
}

export type PdbStatus = NonNullable<PodDisruptionBudget['status']>;

/**
 * What the disruption controller computes for one PDB from the pods its selector matches in its namespace
 * (pkg/controller/disruption/disruption.go `trySync`, `getExpectedPodCount`, `buildDisruptedPodMap`,
 * `countHealthyPods`, `updatePdbStatus`):
 * - maxUnavailable (int or percent rounded up): expectedPods = the controllers' scale, desiredHealthy =
 *   max(0, expectedPods − maxUnavailable);
 * - minAvailable integer: expectedPods = the number of matching pods, desiredHealthy = minAvailable;
 * - minAvailable percent: expectedPods = the controllers' scale, desiredHealthy = ceil(percent × expectedPods);
 * - neither: 0 and 0;
 * - currentHealthy: matching pods that are Ready, not being deleted and not in `disruptedPods` (entries younger than
 *   PDB_DELETION_TIMEOUT_MS, for pods not yet deleting, are kept; the rest dropped);
 * - disruptionsAllowed = currentHealthy − desiredHealthy, 0 when negative or when expectedPods ≤ 0;
 * - observedGeneration = metadata.generation, and the DisruptionAllowed condition (True/SufficientPods when
 *   disruptions are allowed, else False/InsufficientPods), its lastTransitionTime moving only when its status does.
 * @returns the status, the pods without a controller (when the scale was needed), and when to look again (the
 *   earliest expiry of a kept disruptedPods entry). @throws Error when a controller's scale cannot be found or a
 *   value is not a percentage (the caller writes the fail-safe status).
 */
export function computePdbStatus(pdb: PodDisruptionBudget, pods: Pod[], workloads: Workloads, nowMs: number): { status: PdbStatus; unmanaged: string[]; recheckAtMs?: number } {
  const matching = pods.filter((p) => p.metadata.namespace === pdb.metadata.namespace && pdbSelects(pdb.spec.selector, p));
  let expected = 0;
  let desired = 0;
  let unmanaged: string[] = [];
  const { minAvailable, maxUnavailable } = pdb.spec;
  if (maxUnavailable !== undefined && maxUnavailable !== null) {
    ({ expected, unmanaged } = expectedScale(matching, workloads));
    desired = Math.max(0, expected - pdbScaledValue(maxUnavailable, expected));
  } else if (minAvailable !== undefined && minAvailable !== null) {
    if (typeof minAvailable === 'number') {
      desired = minAvailable;
      expected = matching.length;
    } else {
      ({ expected, unmanaged } = expectedScale(matching, workloads));
      desired = pdbScaledValue(minAvailable, expected);
    }
  }
  // buildDisruptedPodMap: keep the entries of pods that are not yet deleting and whose time has not run out
  const disrupted: Record<string, string> = {};
  let recheckAtMs: number | undefined;
  const previous = pdb.status?.disruptedPods ?? {};
  for (const pod of matching) {
    if (pod.metadata.deletionTimestamp) continue;
    const at = previous[pod.metadata.name ?? ''];
    const atMs = parseTime(at);
    if (at === undefined || atMs === undefined) continue;
    const expiry = atMs + PDB_DELETION_TIMEOUT_MS;
    if (expiry < nowMs) continue;
    disrupted[pod.metadata.name ?? ''] = at;
    if (recheckAtMs === undefined || expiry < recheckAtMs) recheckAtMs = expiry;
  }
  let healthy = 0;
  for (const pod of matching) {
    if (pod.metadata.deletionTimestamp) continue;
    const atMs = parseTime(disrupted[pod.metadata.name ?? '']);
    if (atMs !== undefined && atMs + PDB_DELETION_TIMEOUT_MS > nowMs) continue;
    if (isPodReady(pod)) healthy++;
  }
  let allowed = healthy - desired;
  if (expected <= 0 || allowed <= 0) allowed = 0;
  const generation = pdb.metadata.generation ?? 1;
  const status: PdbStatus = {
    ...(Object.keys(disrupted).length ? { disruptedPods: disrupted } : {}),
    disruptionsAllowed: allowed,
    currentHealthy: healthy,
    desiredHealthy: desired,
    expectedPods: expected,
    observedGeneration: generation,
    conditions: withDisruptionAllowed(pdb.status?.conditions, allowed, generation, isoSeconds(nowMs)),
  };
  return { status, unmanaged, ...(recheckAtMs !== undefined ? { recheckAtMs } : {}) };
}

/**
 * `pdbhelper.UpdateDisruptionAllowedCondition` with `apimeta.SetStatusCondition` (k8s.io/component-helpers
 * apps/poddisruptionbudget/helpers.go): True/SufficientPods when disruptions are allowed, else False/InsufficientPods;
 * lastTransitionTime moves only when the status changes. Returns a new array.
 */
export function withDisruptionAllowed(conditions: MetaCondition[] | undefined, allowed: number, observedGeneration: number, nowIso: string, failure?: string): MetaCondition[] {
  const next: Omit<MetaCondition, 'lastTransitionTime'> = failure !== undefined
    ? { type: DISRUPTION_ALLOWED, status: 'False', reason: SYNC_FAILED, message: failure, observedGeneration }
    : allowed > 0
      ? { type: DISRUPTION_ALLOWED, status: 'True', reason: SUFFICIENT_PODS, message: '', observedGeneration }
      : { type: DISRUPTION_ALLOWED, status: 'False', reason: INSUFFICIENT_PODS, message: '', observedGeneration };
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === DISRUPTION_ALLOWED);
  const old = i >= 0 ? list[i] : undefined;
  const merged: MetaCondition = { ...next, lastTransitionTime: old && old.status === next.status && old.lastTransitionTime ? old.lastTransitionTime : nowIso };
  if (i >= 0) list[i] = merged;
  else list.push(merged);
  return list;
}

/** Whether two statuses say the same (updatePdbStatus's comparison, with `pdbhelper.ConditionsAreUpToDate`). */
function sameStatus(have: PdbStatus | undefined, want: PdbStatus, generation: number): boolean {
  if (!have) return false;
  const cond = have.conditions?.find((c) => c.type === DISRUPTION_ALLOWED);
  const condOk = !!cond && have.observedGeneration === generation
    && (have.disruptionsAllowed > 0 ? cond.status === 'True' && cond.reason === SUFFICIENT_PODS : cond.status === 'False' && cond.reason === INSUFFICIENT_PODS);
  return have.currentHealthy === want.currentHealthy && have.desiredHealthy === want.desiredHealthy && have.expectedPods === want.expectedPods
    && have.disruptionsAllowed === want.disruptionsAllowed && JSON.stringify(have.disruptedPods ?? {}) === JSON.stringify(want.disruptedPods ?? {})
    && have.observedGeneration === generation && condOk;
}

/**
 * The disruption controller (kube-controller-manager's pkg/controller/disruption): keeps every policy/v1
 * PodDisruptionBudget's status current (see computePdbStatus), which the API server's eviction handler reads and
 * decrements. Status is written with the read resourceVersion (a Conflict re-runs the pass). A sync that fails
 * (a controller without a scale, a malformed value) writes the fail-safe status: disruptionsAllowed 0 and
 * DisruptionAllowed False/SyncFailed with the error, as `failSafe` does.
 * Simplified: every pass recomputes every PDB (no per-PDB queue); no events (NoPods, UnmanagedPods,
 * CalculateExpectedPodCountFailed); stale DisruptionTarget pod conditions are not reset.
 */
export class DisruptionController {
  /**
   * @param requeue called with a delay in ms when a disruptedPods entry expires without any event announcing it;
   *   the caller runs syncAll again then.
   */
  constructor(
    private readonly objects: KubeObjects,
    private readonly clock: Clock,
    private readonly requeue: (ms: number) => void = () => undefined,
  ) {}

  /** One pass over every PDB. Throws KubeApiError (Conflict: run again). */
  async syncAll(): Promise<void> {
    const pdbs = await this.objects.list('poddisruptionbudgets');
    if (!pdbs.length) return;
    const [pods, replicasets, deployments, statefulsets] = await Promise.all([
      this.objects.list('pods'), this.objects.list('replicasets'), this.objects.list('deployments'), this.objects.list('statefulsets'),
    ]);
    const nowMs = this.clock.now();
    for (const pdb of pdbs) {
      if (pdb.metadata.deletionTimestamp) continue;
      let status: PdbStatus;
      try {
        const r = computePdbStatus(pdb, pods, { replicasets, deployments, statefulsets }, nowMs);
        status = r.status;
        if (r.recheckAtMs !== undefined) this.requeue(Math.max(1, r.recheckAtMs - nowMs));
      } catch (err) {
        const generation = pdb.status?.observedGeneration ?? 0;
        status = {
          ...(pdb.status ?? { currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 }),
          disruptionsAllowed: 0,
          conditions: withDisruptionAllowed(pdb.status?.conditions, 0, generation, isoSeconds(nowMs), (err as Error).message),
        } as PdbStatus;
        if (JSON.stringify(status) === JSON.stringify(pdb.status)) continue;
        await this.objects.updateStatus('poddisruptionbudgets', { ...pdb, status });
        continue;
      }
      if (sameStatus(pdb.status, status, pdb.metadata.generation ?? 1)) continue;
      await this.objects.updateStatus('poddisruptionbudgets', { ...pdb, status });
    }
  }
}
