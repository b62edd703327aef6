import { Clock } from './clock';
import { parseTime, recordEvent } from './controller';
import { isConflict, isNotFound, KubeObjects } from './objects';
import { matchesLabelSelector } from './selectors';
import { OwnerReference, Pod, ReplicaSet } from './types';

/** The owner reference a controller puts on what it creates (`controller: true`, `blockOwnerDeletion: true`). */
export function controllerRef(owner: { apiVersion?: string; kind?: string; metadata: { name?: string; uid?: string } }): OwnerReference {
  return { apiVersion: owner.apiVersion ?? '', kind: owner.kind ?? '', name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

/** The uid of the object's controlling owner, if any. */
export function controllerUid(obj: { metadata: { ownerReferences?: OwnerReference[] } }): string | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller)?.uid;
}

/** Whether the pod is Ready (condition Ready=True). */
export function isPodReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Ready for at least `minReadySeconds` at `nowMs` (podutil.IsPodAvailable). */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True');
  if (!ready) return false;
  if (minReadySeconds <= 0) return true;
  const since = parseTime(ready.lastTransitionTime) ?? nowMs;
  return since + minReadySeconds * 1000 <= nowMs;
}

/** Counted by a ReplicaSet: not terminal and not being deleted (controller.FilterActivePods). */
export function isActivePod(pod: Pod): boolean {
  return pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

/**
 * Which pods go first when scaling down (controller.ActivePods ordering, simplified): unassigned before assigned,
 * Pending before Running, not Ready before Ready, then the newest first.
 */
export function deletionOrder(a: Pod, b: Pod): number {
  const rank = (p: Pod): number[] => [p.spec.nodeName ? 1 : 0, p.status?.phase === 'Running' ? 1 : 0, isPodReady(p) ? 1 : 0];
  const ra = rank(a);
  const rb = rank(b);
  for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
  return (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '');
}

/**
 * The ReplicaSet controller: keeps `spec.replicas` active pods from `spec.template` (owned through a controller
 * ownerReference, named `<replicaset>-<5 chars>`), deleting the surplus in deletionOrder, and writes
 * `status.replicas/fullyLabeledReplicas/readyReplicas/availableReplicas/observedGeneration`.
 * Simplified: no adoption of orphans, no slow-start batching, no expectations cache (every pass lists the truth).
 */
export class ReplicaSetController {
  /**
   * @param requeue called with a delay in ms when a pod will become available (`minReadySeconds`) without any event
   *   announcing it; the caller runs syncAll again then.
   */
  constructor(
    private readonly objects: KubeObjects,
    private readonly clock: Clock,
    private readonly requeue: (ms: number) => void = () => undefined,
  ) {}

  /** One pass over every ReplicaSet. Throws KubeApiError (Conflict: run again). */
  async syncAll(): Promise<void> {
    const pods = await this.objects.list('pods');
    for (const rs of await this.objects.list('replicasets')) {
      if (rs.metadata.deletionTimestamp) continue;
      await this.sync(rs, pods.filter((p) => p.metadata.namespace === rs.metadata.namespace && controllerUid(p) === rs.metadata.uid));
    }
    await this.collectOrphans(pods);
  }

  private async sync(rs: ReplicaSet, owned: Pod[]): Promise<void> {
    const active = owned.filter(isActivePod);
    const want = rs.spec.replicas ?? 1;
    const diff = want - active.length;
    if (diff > 0) {
      for (let i = 0; i < diff; i++) {
        const pod = await this.objects.create('pods', {
          metadata: {
            generateName: `${rs.metadata.name}-`,
            namespace: rs.metadata.namespace,
            labels: { ...rs.spec.template.metadata?.labels },
            ...(rs.spec.template.metadata?.annotations ? { annotations: { ...rs.spec.template.metadata.annotations } } : {}),
            ownerReferences: [controllerRef(rs)],
          },
          spec: structuredClone(rs.spec.template.spec),
          status: { phase: 'Pending' },
        });
        active.push(pod);
        await recordEvent(this.objects, this.clock, 'replicaset-controller', rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
      }
    } else if (diff < 0) {
      for (const pod of [...active].sort(deletionOrder).slice(0, -diff)) {
        try {
          await this.objects.delete('pods', pod.metadata.name ?? '', pod.metadata.namespace, { preconditions: { uid: pod.metadata.uid } });
        } catch (err) {
          if (!isNotFound(err) && !isConflict(err)) throw err;
        }
        active.splice(active.indexOf(pod), 1);
        await recordEvent(this.objects, this.clock, 'replicaset-controller', rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
      }
    }
    const nowMs = this.clock.now();
    const minReady = rs.spec.minReadySeconds ?? 0;
    if (minReady > 0) {
      const waits = active
        .map((p) => p.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime)
        .map((t) => parseTime(t))
        .filter((t): t is number => t !== undefined)
        .map((t) => t + minReady * 1000 - nowMs)
        .filter((ms) => ms > 0);
      if (waits.length) this.requeue(Math.min(...waits));
    }
    const labels = rs.spec.template.metadata?.labels ?? {};
    const status = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) => matchesLabelSelector({ matchLabels: labels }, p.metadata.labels)).length,
      readyReplicas: active.filter(isPodReady).length,
      availableReplicas: active.filter((p) => isPodAvailable(p, rs.spec.minReadySeconds ?? 0, nowMs)).length,
      observedGeneration: rs.metadata.generation ?? 1,
    };
    if (!sameFields(rs.status, status)) {
      await this.objects.updateStatus('replicasets', { ...rs, status });
    }
  }

  /** Pods whose controlling ReplicaSet is gone are deleted (what the garbage collector does for dependents). */
  private async collectOrphans(pods: Pod[]): Promise<void> {
    const rsUids = new Set((await this.objects.list('replicasets')).map((r) => r.metadata.uid));
    for (const pod of pods) {
      const ref = pod.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'ReplicaSet');
      if (!ref || rsUids.has(ref.uid) || pod.metadata.deletionTimestamp) continue;
      try {
        await this.objects.delete('pods', pod.metadata.name ?? '', pod.metadata.namespace, { preconditions: { uid: pod.metadata.uid } });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    }
  }
}

/** Whether every field of `want` has the same (primitive) value in `have`. */
export function sameFields<T extends object>(have: Partial<T> | undefined, want: T): boolean {
  return Object.entries(want).every(([k, v]) => (have as Record<string, unknown> | undefined)?.[k] === v);
}
