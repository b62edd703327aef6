import { createHash } from 'node:crypto';
import stringify from 'safe-stable-stringify';
import { Clock } from './clock';
import { isoSeconds, recordEvent } from './controller';
import { isConflict, isNotFound, KubeObjects } from './objects';
import { controllerRef, controllerUid, sameFields } from './replicaset';
import { Condition, Deployment, IntOrPercent, PodTemplateSpec, ReplicaSet } from './types';

/** Label that ties a ReplicaSet and its pods to one template of a Deployment. */
export const POD_TEMPLATE_HASH = 'pod-template-hash';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
const DESIRED_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
const MAX_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
const COMPONENT = 'deployment-controller';

/**
 * A template's hash as the pod-template-hash label: a 32-bit hash of the template, printed in decimal and mapped
 * onto the alphabet "bcdfghjklmnpqrstvwxz2456789" (k8s.io/apimachinery rand.SafeEncodeString), as
 * controller.ComputeHash does. The 32-bit hash here is the first 4 bytes of SHA-256 over the template's canonical JSON
 * (Kubernetes uses FNV-32a over a spew dump), so values differ from a real cluster's; stable for equal templates.
 */
export function templateHash(template: PodTemplateSpec): string {
  const digest = createHash('sha256').update(stringify(template) ?? '').digest();
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  return [...String(digest.readUInt32BE(0))].map((ch) => alphabet[ch.charCodeAt(0) % alphabet.length]).join('');
}

/** The template without the pod-template-hash label, for comparing a ReplicaSet's template with a Deployment's. */
function withoutHash(template: PodTemplateSpec): string {
  const labels = { ...template.metadata?.labels };
  delete labels[POD_TEMPLATE_HASH];
  return stringify({ ...template, metadata: { ...template.metadata, labels } }) ?? '';
}

/**
 * An IntOrString against `total` (intstr.GetScaledValueFromIntOrPercent): a number as is, "25%" as 25% of total,
 * rounded up for maxSurge and down for maxUnavailable.
 */
export function scaledValue(value: IntOrPercent, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(value);
  if (!m) return Number.parseInt(value, 10) || 0;
  const v = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(v) : Math.floor(v);
}

function revision(rs: ReplicaSet): number {
  return Number.parseInt(rs.metadata.annotations?.[REVISION_ANNOTATION] ?? '0', 10) || 0;
}

/**
 * The Deployment controller: one ReplicaSet per template (named `<deployment>-<pod-template-hash>`), a rolling update
 * (maxSurge/maxUnavailable, default 25%/25%) or Recreate from the old ReplicaSets to the new one, scaling, history
 * cleanup (`revisionHistoryLimit`, default 10), and `status` (observedGeneration, replicas, updatedReplicas,
 * readyReplicas, availableReplicas, unavailableReplicas, Available and Progressing conditions) as `kubectl rollout
 * status` reads it. Simplified: no progress deadline, no proportional scaling during a rollout, no rollback API,
 * no adoption; paused deployments only get status.
 */
export class DeploymentController {
  constructor(
    private readonly objects: KubeObjects,
    private readonly clock: Clock,
  ) {}

  /** One pass over every Deployment. Throws KubeApiError (Conflict: run again). */
  async syncAll(): Promise<void> {
    const deployments = await this.objects.list('deployments');
    const replicaSets = await this.objects.list('replicasets');
    const uids = new Set(deployments.map((d) => d.metadata.uid));
    for (const d of deployments) {
      if (d.metadata.deletionTimestamp) continue;
      await this.sync(d, replicaSets.filter((rs) => rs.metadata.namespace === d.metadata.namespace && controllerUid(rs) === d.metadata.uid));
    }
    // garbage collection of ReplicaSets whose Deployment is gone (cascading delete)
    for (const rs of replicaSets) {
      const ref = rs.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'Deployment');
      if (ref && !uids.has(ref.uid)) await this.deleteReplicaSet(rs);
    }
  }

  private async sync(d: Deployment, owned: ReplicaSet[]): Promise<void> {
    const replicas = d.spec.replicas ?? 1;
    const wanted = withoutHash(d.spec.template);
    let newRS = owned.find((rs) => withoutHash(rs.spec.template) === wanted);
    const olds = owned.filter((rs) => rs !== newRS).sort((a, b) => revision(a) - revision(b) || (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
    const rolling = (d.spec.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    let maxSurge = scaledValue(d.spec.strategy?.rollingUpdate?.maxSurge ?? '25%', replicas, true);
    let maxUnavailable = scaledValue(d.spec.strategy?.rollingUpdate?.maxUnavailable ?? '25%', replicas, false);
    if (!rolling) [maxSurge, maxUnavailable] = [0, replicas];
    else if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
    let created = false;

    if (!d.spec.paused) {
      if (!newRS) {
        // created at its first size (deploymentutil.NewRSNewReplicas), so a fresh Deployment's ReplicaSet stays generation 1
        const oldTotal = olds.reduce((n, rs) => n + (rs.spec.replicas ?? 0), 0);
        const initial = oldTotal === 0 ? replicas : rolling ? Math.max(0, Math.min(replicas, replicas + maxSurge - oldTotal)) : 0;
        newRS = await this.createReplicaSet(d, Math.max(0, ...owned.map(revision)) + 1, initial, maxSurge);
        owned = [...owned, newRS];
        created = true;
      }
      const maxOld = Math.max(0, ...olds.map(revision));
      if (revision(newRS) <= maxOld) {
        // a template seen before (kubectl rollout undo): its ReplicaSet becomes the newest revision again
        newRS = await this.objects.update('replicasets', { ...newRS, metadata: { ...newRS.metadata, annotations: { ...newRS.metadata.annotations, [REVISION_ANNOTATION]: String(maxOld + 1) } } });
      }
      const spec = (rs: ReplicaSet): number => rs.spec.replicas ?? 0;
      const activeOlds = olds.filter((rs) => spec(rs) > 0);
      const oldPodsLeft = olds.some((rs) => (rs.status?.replicas ?? 0) > 0);
      if (activeOlds.length === 0) {
        // Recreate brings the new ReplicaSet up only once every old pod is gone
        if (spec(newRS) !== replicas && (rolling || !oldPodsLeft)) newRS = await this.scale(d, newRS, replicas, maxSurge);
      } else if (!rolling) {
        for (const rs of activeOlds) await this.scale(d, rs, 0, maxSurge);
      } else {
        // reconcileNewReplicaSet: surge up to replicas + maxSurge pods in all
        const total = owned.reduce((n, rs) => n + spec(rs), 0);
        if (spec(newRS) < replicas && total < replicas + maxSurge) {
          newRS = await this.scale(d, newRS, Math.min(spec(newRS) + replicas + maxSurge - total, replicas), maxSurge);
        } else if (spec(newRS) > replicas) {
          newRS = await this.scale(d, newRS, replicas, maxSurge);
        }
        // reconcileOldReplicaSets: scale old down while keeping replicas - maxUnavailable available
        const all = [newRS, ...olds];
        const allPods = all.reduce((n, rs) => n + spec(rs), 0);
        const minAvailable = replicas - maxUnavailable;
        const newUnavailable = spec(newRS) - (newRS.status?.availableReplicas ?? 0);
        const target = new Map<ReplicaSet, number>(activeOlds.map((rs) => [rs, spec(rs)]));
        let budget = allPods - minAvailable - newUnavailable;
        for (const rs of budget > 0 ? activeOlds : []) {
          // unhealthy old replicas go first (cleanupUnhealthyReplicas)
          const cut = Math.min(spec(rs) - (rs.status?.availableReplicas ?? 0), budget);
          if (cut > 0) {
            target.set(rs, spec(rs) - cut);
            budget -= cut;
          }
        }
        // then available ones, as long as minAvailable stay (scaleDownOldReplicaSetsForRollingUpdate)
        let room = budget > 0 || allPods - minAvailable - newUnavailable > 0 ? all.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0) - minAvailable : 0;
        for (const rs of activeOlds) {
          const cut = Math.min(target.get(rs) ?? 0, room);
          if (cut <= 0) break;
          target.set(rs, (target.get(rs) ?? 0) - cut);
          room -= cut;
        }
        for (const [rs, to] of target) if (to !== spec(rs)) await this.scale(d, rs, to, maxSurge);
      }
      await this.cleanupHistory(d, olds);
    }
    await this.writeStatus(d, newRS, await this.ownedNow(d), replicas, maxUnavailable, created);
  }

  private async ownedNow(d: Deployment): Promise<ReplicaSet[]> {
    return (await this.objects.list('replicasets', { namespace: d.metadata.namespace })).filter((rs) => controllerUid(rs) === d.metadata.uid);
  }

  private async createReplicaSet(d: Deployment, rev: number, replicas: number, maxSurge: number): Promise<ReplicaSet> {
    const hash = templateHash(d.spec.template);
    const template: PodTemplateSpec = structuredClone(d.spec.template);
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [POD_TEMPLATE_HASH]: hash } };
    const rs = await this.objects.create('replicasets', {
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...template.metadata.labels },
        annotations: { [REVISION_ANNOTATION]: String(rev), [DESIRED_ANNOTATION]: String(d.spec.replicas ?? 1), [MAX_ANNOTATION]: String((d.spec.replicas ?? 1) + maxSurge) },
        ownerReferences: [controllerRef(d)],
      },
      spec: {
        replicas,
        minReadySeconds: d.spec.minReadySeconds ?? 0,
        selector: { ...d.spec.selector, matchLabels: { ...d.spec.selector.matchLabels, [POD_TEMPLATE_HASH]: hash } },
        template,
      },
    });
    if (replicas > 0) await recordEvent(this.objects, this.clock, COMPONENT, d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${rs.metadata.name} from 0 to ${replicas}`);
    return rs;
  }

  private async scale(d: Deployment, rs: ReplicaSet, to: number, maxSurge: number): Promise<ReplicaSet> {
    const from = rs.spec.replicas ?? 0;
    const replicas = d.spec.replicas ?? 1;
    const annotations = { ...rs.metadata.annotations, [DESIRED_ANNOTATION]: String(replicas), [MAX_ANNOTATION]: String(replicas + maxSurge) };
    const updated = await this.objects.update('replicasets', { ...rs, metadata: { ...rs.metadata, annotations }, spec: { ...rs.spec, replicas: to } });
    if (from !== to) {
      await recordEvent(this.objects, this.clock, COMPONENT, d, 'Normal', 'ScalingReplicaSet', `Scaled ${to > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${to}`);
    }
    return updated;
  }

  private async cleanupHistory(d: Deployment, olds: ReplicaSet[]): Promise<void> {
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const idle = olds.filter((rs) => (rs.spec.replicas ?? 0) === 0 && (rs.status?.replicas ?? 0) === 0);
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) await this.deleteReplicaSet(rs);
  }

  private async deleteReplicaSet(rs: ReplicaSet): Promise<void> {
    try {
      await this.objects.delete('replicasets', rs.metadata.name ?? '', rs.metadata.namespace, { preconditions: { uid: rs.metadata.uid } });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  private async writeStatus(d: Deployment, newRS: ReplicaSet | undefined, all: ReplicaSet[], replicas: number, maxUnavailable: number, created: boolean): Promise<void> {
    const current = all.find((rs) => rs.metadata.uid === newRS?.metadata.uid);
    const sum = (f: (rs: ReplicaSet) => number | undefined): number => all.reduce((n, rs) => n + (f(rs) ?? 0), 0);
    const available = sum((rs) => rs.status?.availableReplicas);
    const status = {
      observedGeneration: d.metadata.generation ?? 1,
      replicas: sum((rs) => rs.status?.replicas),
      updatedReplicas: current?.status?.replicas ?? 0,
      readyReplicas: sum((rs) => rs.status?.readyReplicas),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, sum((rs) => rs.spec.replicas) - available),
    };
    const now = isoSeconds(this.clock.now());
    const name = newRS?.metadata.name ?? '';
    const complete = status.updatedReplicas === replicas && status.replicas === replicas && available >= replicas && (current?.spec.replicas ?? 0) === replicas;
    const conditions = [
      available >= replicas - maxUnavailable
        ? { type: 'Available', status: 'True' as const, reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
        : { type: 'Available', status: 'False' as const, reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
      complete
        ? { type: 'Progressing', status: 'True' as const, reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}" has successfully progressed.` }
        : created
          ? { type: 'Progressing', status: 'True' as const, reason: 'NewReplicaSetCreated', message: `Created new replica set "${name}"` }
          : { type: 'Progressing', status: 'True' as const, reason: 'ReplicaSetUpdated', message: `ReplicaSet "${name}" is progressing.` },
    ];
    const old = d.status?.conditions ?? [];
    const merged: Condition[] = conditions.map((c) => {
      const prev = old.find((o) => o.type === c.type);
      if (prev && prev.status === c.status && prev.reason === c.reason && prev.message === c.message) return prev;
      return { ...c, lastUpdateTime: now, lastTransitionTime: prev && prev.status === c.status ? (prev.lastTransitionTime ?? now) : now };
    });
    let latest = d;
    const rev = newRS?.metadata.annotations?.[REVISION_ANNOTATION];
    if (rev && d.metadata.annotations?.[REVISION_ANNOTATION] !== rev) {
      latest = await this.objects.update('deployments', { ...d, metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, [REVISION_ANNOTATION]: rev } } });
    }
    const conditionsSame = merged.every((c, i) => c === old[i]) && merged.length === old.length;
    if (latest !== d || !conditionsSame || !sameFields(d.status, status)) {
      await this.objects.updateStatus('deployments', { ...latest, status: { ...status, conditions: merged } });
    }
  }
}
