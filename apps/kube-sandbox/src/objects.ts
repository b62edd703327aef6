import { randomBytes, randomUUID } from 'node:crypto';
import { isEmptySelector, matchesLabelSelector, MetaCondition, withDisruptionAllowed } from '@skyweave/kube-sim';
import { KubeApiError, badRequest, conflict, invalid, notFound } from './errors';
import { jsonPatch, mergePatch, strategicMerge } from './patch';
import { BUILTIN_TYPES, CRD_TYPE, ResourceRegistry, ResourceType, apiVersionOf } from './resources';
import { KubeStore, ResourceKey } from './store';
import { KubeObject, StatusBody, clone, isRecord } from './types';

/**
 * What the API does to objects between the HTTP layer and the store, as kube-apiserver's generic registry and the
 * kinds' strategies do (source: API conventions, "Metadata", "Idempotency", "Concurrency Control and Consistency";
 * "API Concepts"; the API reference's field documentation for defaults): names and `generateName`, `uid`,
 * `creationTimestamp`, `generation`, defaults, the few validations kubectl users meet, graceful deletion of pods,
 * finalizers, owner-reference garbage collection, and the status/scale/binding/eviction subresources.
 *
 * Simplified (docs/kube-sandbox.md): validation is structural (names, pods' containers, workloads' selectors,
 * PodDisruptionBudget values); no admission, quotas, or managedFields ownership for server-side apply;
 * deleting a namespace removes its objects at once (no Terminating phase); `propagationPolicy: Foreground` behaves
 * as Background.
 */

/** `dryRun=All`: validate and answer, store nothing. */
export interface WriteOptions {
  dryRun?: boolean;
}

/** `DeleteOptions` (meta/v1) as read from a DELETE body or query. */
export interface DeleteOptions extends WriteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** Patch media types (source: "API Concepts", "Patch and Apply"). */
export type PatchType = 'application/json-patch+json' | 'application/merge-patch+json' | 'application/strategic-merge-patch+json' | 'application/apply-patch+yaml';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const GENERATE_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
const PROTECTED_NAMESPACES = ['default', 'kube-system', 'kube-public'];

/** RFC 3339 in seconds, as metav1.Time marshals. */
export const rfc3339 = (ms = Date.now()): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

const keyOf = (t: ResourceType): ResourceKey => ({ group: t.group, resource: t.resource });
const rec = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});
const withoutMetaStatus = (o: KubeObject) => JSON.stringify({ ...o, metadata: undefined, status: undefined });

/** `Status` success body, as DELETE of most kinds and the binding/eviction subresources answer. */
export function successStatus(code: number, details?: StatusBody['details']): StatusBody {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}), code };
}

/**
 * A Secret's `stringData` is write-only: merged into `data` (base64), its values winning, and never stored (API
 * reference, Secret v1: "stringData … is merged into the data field on write, overwriting any existing values").
 */
function foldStringData(t: ResourceType, o: KubeObject): void {
  if (t.group || t.resource !== 'secrets' || !isRecord(o['stringData'])) return;
  const data: Record<string, unknown> = { ...rec(o['data']) };
  for (const [k, v] of Object.entries(o['stringData'])) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  o['data'] = data;
  delete o['stringData'];
}

export class ObjectApi {
  constructor(private readonly store: KubeStore, private readonly registry: ResourceRegistry) {}

  /** The namespaces every cluster has (kubeadm's), and the `kubernetes` service in `default`. */
  async seed(): Promise<void> {
    const ns = BUILTIN_TYPES.find((t) => t.resource === 'namespaces')!;
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      if (!(await this.store.get(keyOf(ns), '', name))) await this.create(ns, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
    const svc = BUILTIN_TYPES.find((t) => t.resource === 'services')!;
    if (!(await this.store.get(keyOf(svc), 'default', 'kubernetes'))) {
      await this.create(svc, 'default', {
        apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: { type: 'ClusterIP', clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }], sessionAffinity: 'None' },
      });
    }
  }

  async get(t: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject> {
    const o = await this.store.get(keyOf(t), namespace ?? '', name);
    if (!o) throw notFound(t.group, t.resource, name);
    return o;
  }

  /** POST to a collection. @throws KubeApiError 400 (kind/namespace mismatch), 404 (namespace), 409 AlreadyExists, 422 Invalid. */
  async create(t: ResourceType, namespace: string | undefined, body: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    const o = this.checkBody(t, namespace, body);
    const meta = o.metadata;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${[...randomBytes(5)].map((b) => GENERATE_CHARS[b % GENERATE_CHARS.length]).join('')}`;
    if (!meta.name) throw invalid(t.kind, t.group, '', [{ field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    if (t.namespaced && namespace && t.resource !== 'namespaces' && !(await this.store.get({ group: '', resource: 'namespaces' }, '', namespace))) {
      throw new KubeApiError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    }
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    meta.uid = randomUUID();
    meta.creationTimestamp = rfc3339();
    meta.generation = 1;
    await this.defaults(t, o);
    foldStringData(t, o);
    this.validate(t, o);
    if (opts.dryRun) return o;
    return this.store.create(keyOf(t), o);
  }

  /**
   * PUT of an object or its `status` subresource. The main resource keeps the stored status when the kind has a
   * status subresource; `status` changes only status. A `metadata.resourceVersion` in the body is a precondition.
   */
  async update(t: ResourceType, namespace: string | undefined, name: string, body: unknown, sub: string | undefined, opts: WriteOptions = {}): Promise<KubeObject> {
    const next = this.checkBody(t, namespace, body);
    if (next.metadata.name !== name) throw badRequest(`the name of the object (${next.metadata.name ?? ''}) does not match the name on the URL (${name})`);
    const current = await this.get(t, namespace, name);
    return this.replace(t, current, next, next.metadata.resourceVersion || undefined, sub, opts);
  }

  /**
   * PATCH of an object or its `status` subresource. Server-side apply (`application/apply-patch+yaml`) creates the
   * object when absent. Strategic merge patch is refused for custom resources (415), as kube-apiserver does.
   */
  async patch(t: ResourceType, namespace: string | undefined, name: string, type: PatchType, patch: unknown, sub: string | undefined, opts: WriteOptions = {}): Promise<{ object: KubeObject; created: boolean }> {
    // a patch applies to the latest object: a write between read and write is retried, as kube-apiserver's
    // GuaranteedUpdate does; a resourceVersion inside the patch still makes a stale patch a 409
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.patchOnce(t, namespace, name, type, patch, sub, opts);
      } catch (e) {
        if (!(e instanceof KubeApiError && e.reason === 'Conflict' && e.details?.kind === t.resource) || attempt >= 5 || patchCarriesVersion(patch)) throw e;
      }
    }
  }

  private async patchOnce(t: ResourceType, namespace: string | undefined, name: string, type: PatchType, patch: unknown, sub: string | undefined, opts: WriteOptions): Promise<{ object: KubeObject; created: boolean }> {
    if (type === 'application/strategic-merge-patch+json' && t.custom) {
      throw new KubeApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
    }
    const current = await this.store.get(keyOf(t), namespace ?? '', name);
    if (!current) {
      if (type !== 'application/apply-patch+yaml' || sub) throw notFound(t.group, t.resource, name);
      const o = this.checkBody(t, namespace, patch);
      if (o.metadata.name !== name) throw badRequest(`the name of the object (${o.metadata.name ?? ''}) does not match the name on the URL (${name})`);
      return { object: await this.create(t, namespace, o, opts), created: true };
    }
    let patched: unknown;
    switch (type) {
      case 'application/json-patch+json': patched = jsonPatch(current, patch); break;
      case 'application/merge-patch+json': patched = mergePatch(current, patch); break;
      case 'application/strategic-merge-patch+json': patched = strategicMerge(current, patch); break;
      case 'application/apply-patch+yaml': this.checkBody(t, namespace, patch); patched = t.custom ? mergePatch(current, patch) : strategicMerge(current, patch); break;
    }
    const next = this.checkBody(t, namespace, patched);
    const rv = next.metadata.resourceVersion;
    // a resourceVersion in the patch is a precondition (source: API conventions, "Concurrency Control and Consistency")
    if (rv && rv !== current.metadata.resourceVersion) throw conflict(t.group, t.resource, name);
    return { object: await this.replace(t, current, next, current.metadata.resourceVersion, sub, opts), created: false };
  }

  private async replace(t: ResourceType, current: KubeObject, next: KubeObject, expectedRv: string | undefined, sub: string | undefined, opts: WriteOptions): Promise<KubeObject> {
    if (expectedRv !== undefined && expectedRv !== current.metadata.resourceVersion) throw conflict(t.group, t.resource, current.metadata.name ?? '');
    let out: KubeObject;
    if (sub === 'status') {
      out = { ...clone(current), status: next['status'] };
    } else {
      out = { ...next, metadata: { ...next.metadata } };
      for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'namespace', 'name'] as const) {
        const meta: Record<string, unknown> = out.metadata;
        if (current.metadata[k] === undefined) delete meta[k];
        else meta[k] = current.metadata[k];
      }
      if (t.subresources.includes('status')) {
        if (current['status'] === undefined) delete out['status'];
        else out['status'] = current['status'];
      }
      foldStringData(t, out);
      out.metadata.generation = (current.metadata.generation ?? 1) + (withoutMetaStatus(out) === withoutMetaStatus(current) ? 0 : 1);
      this.validate(t, out);
    }
    delete out.metadata.resourceVersion;
    // a write that changes nothing is no write: same resourceVersion, no watch event (as kube-apiserver's GuaranteedUpdate)
    if (JSON.stringify(sortKeys(out)) === JSON.stringify(sortKeys({ ...current, metadata: { ...current.metadata, resourceVersion: undefined } }))) return current;
    if (opts.dryRun) return { ...out, metadata: { ...out.metadata, resourceVersion: current.metadata.resourceVersion } };
    // the last finalizer removed from an object being deleted completes its deletion
    if (out.metadata.deletionTimestamp && !(out.metadata.finalizers ?? []).length && (t.resource !== 'pods' || t.group || out.metadata.deletionGracePeriodSeconds === 0)) {
      return this.store.delete(keyOf(t), out.metadata.namespace ?? '', out.metadata.name ?? '', current.metadata.resourceVersion);
    }
    return this.store.update(keyOf(t), out, current.metadata.resourceVersion);
  }

  /**
   * DELETE. Pods bound to a node are deleted gracefully (deletionTimestamp = now + grace, the kubelet removes them; source:
   * "Pod Lifecycle", "Termination of Pods"); objects with finalizers get a deletionTimestamp; others go at once and
   * their dependents (ownerReferences) are deleted (Background, Foreground) or orphaned (Orphan), as the garbage
   * collector does. @returns the object (`deleted` false while deletion is pending).
   */
  async delete(t: ResourceType, namespace: string | undefined, name: string, o: DeleteOptions = {}): Promise<{ object: KubeObject; deleted: boolean }> {
    const current = await this.get(t, namespace, name);
    const p = o.preconditions ?? {};
    if (p.uid && p.uid !== current.metadata.uid) {
      throw new KubeApiError(409, 'Conflict', `Precondition failed: UID in precondition: ${p.uid}, UID in object meta: ${current.metadata.uid ?? ''}`, { name, group: t.group, kind: t.resource });
    }
    if (p.resourceVersion && p.resourceVersion !== current.metadata.resourceVersion) {
      throw new KubeApiError(409, 'Conflict', `Precondition failed: ResourceVersion in precondition: ${p.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion ?? ''}`, { name, group: t.group, kind: t.resource });
    }
    if (t.resource === 'namespaces' && !t.group && PROTECTED_NAMESPACES.includes(name)) {
      throw new KubeApiError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
    }
    if (o.dryRun) return { object: current, deleted: true };
    let grace = 0;
    if (t.resource === 'pods' && !t.group) {
      const spec = rec(current['spec']);
      const phase = rec(current['status'])['phase'];
      grace = o.gracePeriodSeconds ?? (typeof spec['terminationGracePeriodSeconds'] === 'number' ? spec['terminationGracePeriodSeconds'] : 30);
      if (!spec['nodeName'] || phase === 'Succeeded' || phase === 'Failed') grace = 0;
    }
    if (grace > 0 || (current.metadata.finalizers ?? []).length) {
      const pendingUntil = current.metadata.deletionTimestamp ? Date.parse(current.metadata.deletionTimestamp) : Infinity;
      const until = Date.now() + grace * 1000;
      if (until < pendingUntil || current.metadata.deletionGracePeriodSeconds !== grace) {
        const marked = clone(current);
        marked.metadata.deletionTimestamp = rfc3339(Math.min(until, pendingUntil));
        marked.metadata.deletionGracePeriodSeconds = grace;
        if (grace === 0 && !(marked.metadata.finalizers ?? []).length) return { object: await this.store.delete(keyOf(t), current.metadata.namespace ?? '', name), deleted: true };
        return { object: await this.store.update(keyOf(t), marked, current.metadata.resourceVersion), deleted: false };
      }
      return { object: current, deleted: false };
    }
    if (t.resource === 'namespaces' && !t.group) await this.emptyNamespace(name);
    if (t === CRD_TYPE || (t.group === CRD_TYPE.group && t.resource === CRD_TYPE.resource)) await this.deleteCustomObjects(current);
    const deleted = await this.store.delete(keyOf(t), current.metadata.namespace ?? '', name, current.metadata.resourceVersion);
    await this.collectDependents(current.metadata.uid ?? '', o.propagationPolicy ?? 'Background');
    return { object: deleted, deleted: true };
  }

  /** `pods/binding`: sets spec.nodeName once (409 if already bound), as the scheduler's Bind does. */
  async bind(t: ResourceType, namespace: string, name: string, body: unknown): Promise<void> {
    const target = rec(rec(body)['target']);
    if (typeof target['name'] !== 'string' || !target['name']) throw invalid('Binding', '', name, [{ field: 'target.name', message: 'Required value' }]);
    const pod = await this.get(t, namespace, name);
    const spec = rec(pod['spec']);
    if (spec['nodeName']) throw new KubeApiError(409, 'Conflict', `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is already assigned to node "${String(spec['nodeName'])}"`, { name, kind: 'pods/binding' });
    if (pod.metadata.deletionTimestamp) throw new KubeApiError(409, 'Conflict', `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is being deleted, cannot be assigned to a host`, { name, kind: 'pods/binding' });
    const status = rec(pod['status']);
    const conditions = (Array.isArray(status['conditions']) ? status['conditions'] : []).filter((c) => rec(c)['type'] !== 'PodScheduled');
    conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339() });
    await this.store.update({ group: '', resource: 'pods' }, { ...pod, spec: { ...spec, nodeName: target['name'] }, status: { ...status, conditions } }, pod.metadata.resourceVersion);
  }

  /**
   * `pods/eviction` (policy/v1 or v1beta1 Eviction), as kube-apiserver 1.32's eviction REST handler
   * (pkg/registry/core/pod/storage/eviction.go, `EvictionREST.Create`; "API-initiated Eviction"):
   * - the Eviction's name must be the pod's (400 "name in URL does not match name in Eviction object"); the request's
   *   `dryRun` and the deleteOptions' must agree (`propagateDryRun`);
   * - a pod that is Succeeded, Failed, Pending or already being deleted is deleted without consulting any
   *   PodDisruptionBudget (`canIgnorePDB`; a Pending one with a resourceVersion precondition, so it cannot turn
   *   Running in between), conflicts retried;
   * - otherwise the PDBs of its namespace whose non-empty selector matches its labels: more than one → 500 "This pod
   *   has more than one PodDisruptionBudget, which the eviction subresource does not support."; a pod that is not
   *   Ready is deleted without decrementing when the PDB's `unhealthyPodEvictionPolicy` is AlwaysAllow or when
   *   currentHealthy ≥ desiredHealthy > 0 (with the pod's resourceVersion as precondition: a conflict is a 429);
   *   else `checkAndDecrement`: observedGeneration < generation → 429 "still being processed" (Retry-After 10);
   *   disruptionsAllowed < 0 or more than 2000 disruptedPods → 403; disruptionsAllowed 0 → 429 "Cannot evict pod as it
   *   would violate the pod's disruption budget." with a DisruptionBudget cause; else disruptionsAllowed − 1 and the pod
   *   in `status.disruptedPods` are written with the PDB's resourceVersion (conflicts re-read and retried);
   * - then the pod gets the `DisruptionTarget` condition (reason EvictionByEvictionAPI; not on dry runs) and is
   *   deleted with the eviction's deleteOptions (`addConditionAndDeletePod`).
   * Conflict retries are immediate (kube-apiserver waits 500 ms between its 20 attempts).
   * @throws KubeApiError 400, 403, 404, 409, 429, 500, 504 as above.
   */
  async evict(t: ResourceType, namespace: string, name: string, body: unknown, request: { dryRun?: string[] } = {}): Promise<void> {
    const b = rec(body);
    if (b['kind'] !== undefined && b['kind'] !== 'Eviction') throw badRequest(`expected kind Eviction, got ${String(b['kind'])}`);
    if (b['apiVersion'] !== undefined && b['apiVersion'] !== 'policy/v1' && b['apiVersion'] !== 'policy/v1beta1') {
      throw badRequest(`the API version in the data (${String(b['apiVersion'])}) does not match the expected API version (policy/v1)`);
    }
    if ((rec(b['metadata'])['name'] ?? '') !== name) throw badRequest('name in URL does not match name in Eviction object');
    // propagateDryRun: the request's dryRun applies unless the deleteOptions carry their own, which must then agree
    const raw = isRecord(b['deleteOptions']) ? b['deleteOptions'] : undefined;
    const queryDry = request.dryRun ?? [];
    const bodyDry = raw && Array.isArray(raw['dryRun']) ? raw['dryRun'].map(String) : [];
    if (raw && bodyDry.length && queryDry.length && JSON.stringify(bodyDry) !== JSON.stringify(queryDry)) {
      throw new KubeApiError(500, '', `Non-matching dry-run options in request and content: [${queryDry.join(' ')}] and [${bodyDry.join(' ')}]`);
    }
    const opts = readDeleteOptions({ ...raw, dryRun: bodyDry.length ? bodyDry : queryDry });
    const rvUnset = !opts.preconditions?.resourceVersion;
    const withRv = (rv: string | undefined): DeleteOptions => ({ ...opts, preconditions: { ...opts.preconditions, resourceVersion: rv } });

    let pod: KubeObject | undefined;
    for (let attempt = 1; ; attempt++) {
      pod = await this.get(t, namespace, name);
      if (!canIgnorePdb(pod)) break;
      try {
        await this.addConditionAndDeletePod(t, namespace, name, shouldEnforceResourceVersion(pod) && rvUnset ? withRv(pod.metadata.resourceVersion) : opts);
        return;
      } catch (e) {
        if (!(isConflictError(e) && rvUnset && attempt < EVICTION_RETRIES)) throw e;
      }
    }

    const pdbType = BUILTIN_TYPES.find((x) => x.group === 'policy' && x.resource === 'poddisruptionbudgets')!;
    const labels = pod.metadata.labels ?? {};
    const pdbs = (await this.store.list(keyOf(pdbType), namespace)).items.filter((p) => {
      const selector = rec(p['spec'])['selector'];
      return isRecord(selector) && !isEmptySelector(selector) && matchesLabelSelector(selector, labels);
    });
    if (pdbs.length > 1) {
      // returned as a Failure Status, which the handler's finisher turns into the error: HTTP 500, no reason
      throw new KubeApiError(500, '', 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
    }
    let pdbName = '';
    let skipBudget = false;
    if (pdbs.length === 1) {
      let pdb = pdbs[0];
      pdbName = pdb.metadata.name ?? '';
      const status = rec(pdb['status']);
      const current = num(status['currentHealthy']);
      const desired = num(status['desiredHealthy']);
      if (!isReady(pod) && (rec(pdb['spec'])['unhealthyPodEvictionPolicy'] === 'AlwaysAllow' || (current >= desired && desired > 0))) {
        // the pod does not count as healthy: deleting it disrupts nothing, and decrements nothing
        skipBudget = true;
      } else {
        for (let attempt = 1; ; attempt++) {
          try {
            await this.checkAndDecrement(pdbType, pdb, name, opts.dryRun === true);
            break;
          } catch (e) {
            if (!isConflictError(e)) throw e;
            if (attempt >= EVICTION_RETRIES) throw new KubeApiError(504, 'Timeout', `Timeout: couldn't update PodDisruptionBudget "${pdbName}" due to conflicts`, { retryAfterSeconds: 10 });
            pdb = await this.get(pdbType, namespace, pdbName);
          }
        }
      }
    }
    try {
      // an unready pod deleted outside the budget must not have turned Ready since it was read
      await this.addConditionAndDeletePod(t, namespace, name, skipBudget ? withRv(pod.metadata.resourceVersion) : opts);
    } catch (e) {
      if (isConflictError(e) && skipBudget && rvUnset) throw tooManyRequestsStillProcessing(pdbName);
      throw e;
    }
  }

  /**
   * `checkAndDecrement` (eviction.go): refuses when the PDB's status is stale or allows no disruption, else writes
   * disruptionsAllowed − 1 (and the DisruptionAllowed condition when it reaches 0) with the pod in
   * `status.disruptedPods`, guarded by the PDB's resourceVersion. A dry run writes nothing.
   * @throws KubeApiError 429, 403, or 409 Conflict (re-read the PDB and call again).
   */
  private async checkAndDecrement(pdbType: ResourceType, pdb: KubeObject, podName: string, dryRun: boolean): Promise<void> {
    const name = pdb.metadata.name ?? '';
    const status = rec(pdb['status']);
    const allowed = num(status['disruptionsAllowed']);
    if (num(status['observedGeneration']) < (pdb.metadata.generation ?? 0)) throw tooManyRequestsStillProcessing(name);
    const forbidden = (why: string) => new KubeApiError(403, 'Forbidden', `poddisruptionbudget.policy "${name}" is forbidden: ${why}`, { name, group: 'policy', kind: 'poddisruptionbudget' });
    if (allowed < 0) throw forbidden('pdb disruptions allowed is negative');
    if (Object.keys(rec(status['disruptedPods'])).length > MAX_DISRUPTED_POD_SIZE) throw forbidden('DisruptedPods map too big - too many evictions not confirmed by PDB controller');
    if (allowed === 0) {
      throw new KubeApiError(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", {
        causes: [{ reason: 'DisruptionBudget', message: `The disruption budget ${name} needs ${num(status['desiredHealthy'])} healthy pods and has ${num(status['currentHealthy'])} currently` }],
      });
    }
    if (dryRun) return;
    const next: Record<string, unknown> = { ...status, disruptionsAllowed: allowed - 1, disruptedPods: { ...rec(status['disruptedPods']), [podName]: rfc3339() } };
    if (allowed - 1 === 0) {
      next['conditions'] = withDisruptionAllowed(Array.isArray(status['conditions']) ? (status['conditions'] as MetaCondition[]) : undefined, 0, num(status['observedGeneration']), rfc3339());
    }
    await this.replace(pdbType, pdb, { ...clone(pdb), status: next }, pdb.metadata.resourceVersion, 'status', {});
  }

  /**
   * `addConditionAndDeletePod` (eviction.go): unless dry run, the latest pod (checked against the preconditions)
   * gets `DisruptionTarget=True` (reason EvictionByEvictionAPI, message "Eviction API: evicting"; lastTransitionTime
   * kept when it was already True) through its status, a resourceVersion precondition following that write; then
   * the pod is deleted with `opts`.
   */
  private async addConditionAndDeletePod(t: ResourceType, namespace: string, name: string, opts: DeleteOptions): Promise<void> {
    let options = opts;
    if (!opts.dryRun) {
      for (let attempt = 1; ; attempt++) {
        const latest = await this.get(t, namespace, name);
        const p = opts.preconditions ?? {};
        const conflictOn = (why: string) => new KubeApiError(409, 'Conflict', `Operation cannot be fulfilled on Pod "${name}": ${why}`, { name, kind: 'Pod' });
        if (p.uid && p.uid !== latest.metadata.uid) throw conflictOn(`the UID in the precondition (${p.uid}) does not match the UID in record (${latest.metadata.uid ?? ''}). The object might have been deleted and then recreated`);
        if (p.resourceVersion && p.resourceVersion !== latest.metadata.resourceVersion) throw conflictOn(`the ResourceVersion in the precondition (${p.resourceVersion}) does not match the ResourceVersion in record (${latest.metadata.resourceVersion ?? ''}). The object might have been modified`);
        const status = rec(latest['status']);
        const conditions = (Array.isArray(status['conditions']) ? status['conditions'] : []).map((c) => clone(c as KubeObject) as unknown as Record<string, unknown>);
        const i = conditions.findIndex((c) => c['type'] === 'DisruptionTarget');
        const kept = i >= 0 && conditions[i]['status'] === 'True' ? conditions[i]['lastTransitionTime'] : undefined;
        const condition = { type: 'DisruptionTarget', status: 'True', lastProbeTime: null, lastTransitionTime: kept ?? rfc3339(), reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting' };
        if (i >= 0) conditions[i] = condition;
        else conditions.push(condition);
        try {
          const updated = await this.replace(t, latest, { ...clone(latest), status: { ...status, conditions } }, latest.metadata.resourceVersion, 'status', {});
          if (p.resourceVersion) options = { ...opts, preconditions: { ...p, resourceVersion: updated.metadata.resourceVersion } };
          break;
        } catch (e) {
          // GuaranteedUpdate re-reads the latest pod on a conflict
          if (!isConflictError(e) || attempt >= EVICTION_RETRIES) throw e;
        }
      }
    }
    await this.delete(t, namespace, name, options);
  }

  /** The autoscaling/v1 Scale of a workload (`.spec.replicas`, `.status.replicas`, `.spec.selector` as a string). */
  scaleOf(t: ResourceType, o: KubeObject): KubeObject {
    const sel = rec(rec(o['spec'])['selector']);
    const labels = isRecord(sel['matchLabels']) ? sel['matchLabels'] : {};
    return {
      kind: 'Scale', apiVersion: 'autoscaling/v1',
      metadata: { name: o.metadata.name, namespace: o.metadata.namespace, uid: o.metadata.uid, resourceVersion: o.metadata.resourceVersion, creationTimestamp: o.metadata.creationTimestamp },
      spec: { replicas: rec(o['spec'])['replicas'] ?? 0 },
      status: { replicas: rec(o['status'])['replicas'] ?? 0, selector: Object.entries(labels).map(([k, v]) => `${k}=${String(v)}`).join(',') },
    };
  }

  /** PUT/PATCH of `scale`: writes `spec.replicas` of the workload (a `metadata.resourceVersion` is a precondition). */
  async writeScale(t: ResourceType, namespace: string | undefined, name: string, scale: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.writeScaleOnce(t, namespace, name, scale, opts);
      } catch (e) {
        if (!(e instanceof KubeApiError && e.reason === 'Conflict') || attempt >= 5 || patchCarriesVersion(scale)) throw e;
      }
    }
  }

  private async writeScaleOnce(t: ResourceType, namespace: string | undefined, name: string, scale: unknown, opts: WriteOptions): Promise<KubeObject> {
    const current = await this.get(t, namespace, name);
    const s = rec(scale);
    const replicas = rec(s['spec'])['replicas'];
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) throw invalid('Scale', 'autoscaling', name, [{ field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0` }]);
    const rv = rec(s['metadata'])['resourceVersion'];
    if (typeof rv === 'string' && rv && rv !== current.metadata.resourceVersion) throw conflict(t.group, t.resource, name);
    const next = { ...clone(current), spec: { ...rec(current['spec']), replicas } };
    return this.scaleOf(t, await this.replace(t, current, next, current.metadata.resourceVersion, undefined, opts));
  }

  private checkBody(t: ResourceType, namespace: string | undefined, body: unknown): KubeObject {
    if (!isRecord(body)) throw badRequest('the body of the request must be a JSON object');
    const o = clone(body) as KubeObject;
    const apiVersion = apiVersionOf(t);
    if (o.apiVersion !== undefined && o.apiVersion !== apiVersion) throw badRequest(`the API version in the data (${String(o.apiVersion)}) does not match the expected API version (${apiVersion})`);
    if (o.kind !== undefined && o.kind !== t.kind) throw badRequest(`the kind in the data (${String(o.kind)}) does not match the expected kind (${t.kind})`);
    o.apiVersion = apiVersion;
    o.kind = t.kind;
    o.metadata = isRecord(o.metadata) ? o.metadata : {};
    if (t.namespaced) {
      if (o.metadata.namespace && namespace && o.metadata.namespace !== namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      o.metadata.namespace = namespace ?? o.metadata.namespace;
    } else delete o.metadata.namespace;
    return o;
  }

  private async defaults(t: ResourceType, o: KubeObject): Promise<void> {
    const spec = rec(o['spec']);
    const id = t.group ? `${t.group}/${t.resource}` : t.resource;
    switch (id) {
      case 'namespaces':
        o.metadata.labels = { ...o.metadata.labels, 'kubernetes.io/metadata.name': o.metadata.name ?? '' };
        o['spec'] = { finalizers: ['kubernetes'], ...spec };
        o['status'] = { phase: 'Active' };
        break;
      case 'pods':
        o['spec'] = { restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', ...spec };
        o['status'] = { phase: 'Pending', ...rec(o['status']) };
        break;
      case 'services':
        o['spec'] = { type: 'ClusterIP', sessionAffinity: 'None', ...spec };
        if (!rec(o['spec'])['clusterIP']) {
          const ip = await this.freeServiceIp();
          Object.assign(rec(o['spec']), { clusterIP: ip, clusterIPs: [ip] });
        }
        if (['NodePort', 'LoadBalancer'].includes(String(rec(o['spec'])['type']))) await this.assignNodePorts(rec(o['spec']));
        break;
      case 'apps/deployments':
        o['spec'] = { replicas: 1, revisionHistoryLimit: 10, progressDeadlineSeconds: 600, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } }, ...spec };
        break;
      case 'apps/replicasets':
      case 'apps/statefulsets':
        o['spec'] = { replicas: 1, ...spec };
        break;
      case 'policy/poddisruptionbudgets':
        // the PDB strategy's PrepareForCreate clears status: the disruption controller fills it in
        o['status'] = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
        break;
      case 'apiextensions.k8s.io/customresourcedefinitions': {
        const versions = Array.isArray(spec['versions']) ? spec['versions'].filter(isRecord) : [];
        const storage = versions.find((v) => v['storage'] === true) ?? versions[0];
        const now = rfc3339();
        o['status'] = {
          acceptedNames: spec['names'] ?? {}, storedVersions: storage ? [storage['name']] : [],
          conditions: [
            { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: now },
            { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: now },
          ],
        };
        break;
      }
      default:
    }
  }

  private validate(t: ResourceType, o: KubeObject): void {
    const name = o.metadata.name ?? '';
    const causes: { field: string; message: string }[] = [];
    if (t.group === 'rbac.authorization.k8s.io') {
      // RBAC names are path segments (ValidateRBACName: `system:node`, `skyweave:kube-watcher`), not DNS subdomains
      if (!name || name === '.' || name === '..' || /[/%]/.test(name)) {
        causes.push({ field: 'metadata.name', message: `Invalid value: "${name}": may not be '.' or '..' and may not contain '/' or '%'` });
      }
    } else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
      causes.push({ field: 'metadata.name', message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character` });
    }
    const spec = rec(o['spec']);
    const id = t.group ? `${t.group}/${t.resource}` : t.resource;
    if (id === 'pods') {
      const containers = Array.isArray(spec['containers']) ? spec['containers'] : [];
      if (!containers.length) causes.push({ field: 'spec.containers', message: 'Required value' });
      containers.forEach((c, i) => {
        if (!rec(c)['name']) causes.push({ field: `spec.containers[${i}].name`, message: 'Required value' });
        if (!rec(c)['image']) causes.push({ field: `spec.containers[${i}].image`, message: 'Required value' });
      });
    }
    if (['apps/deployments', 'apps/replicasets', 'apps/daemonsets', 'apps/statefulsets'].includes(id)) {
      const selector = rec(rec(spec['selector'])['matchLabels']);
      const labels = rec(rec(rec(spec['template'])['metadata'])['labels']);
      if (!isRecord(spec['selector'])) causes.push({ field: 'spec.selector', message: 'Required value' });
      else if (!Object.entries(selector).every(([k, v]) => labels[k] === v)) {
        causes.push({ field: 'spec.template.metadata.labels', message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\`` });
      }
      if (spec['replicas'] !== undefined && (typeof spec['replicas'] !== 'number' || spec['replicas'] < 0)) causes.push({ field: 'spec.replicas', message: 'Invalid value: must be greater than or equal to 0' });
    }
    if (id === 'policy/poddisruptionbudgets') causes.push(...pdbSpecCauses(spec));
    if (id === 'apiextensions.k8s.io/customresourcedefinitions') {
      const names = rec(spec['names']);
      if (name !== `${String(names['plural'])}.${String(spec['group'])}`) causes.push({ field: 'metadata.name', message: `Invalid value: "${name}": must be spec.names.plural+"."+spec.group` });
      if (!names['kind']) causes.push({ field: 'spec.names.kind', message: 'Required value' });
      if (!Array.isArray(spec['versions']) || !spec['versions'].length) causes.push({ field: 'spec.versions', message: 'Invalid value: must have exactly one version marked as storage version' });
      if (spec['scope'] !== 'Namespaced' && spec['scope'] !== 'Cluster') causes.push({ field: 'spec.scope', message: `Unsupported value: "${String(spec['scope'])}": supported values: "Cluster", "Namespaced"` });
    }
    if (causes.length) throw invalid(t.kind, t.group, name, causes);
  }

  private async freeServiceIp(): Promise<string> {
    const used = new Set((await this.store.list({ group: '', resource: 'services' })).items.map((s) => String(rec(s['spec'])['clusterIP'] ?? '')));
    for (let n = 10; n < 65536; n++) {
      const ip = `10.96.${n >> 8}.${n & 255}`;
      if (!used.has(ip)) return ip;
    }
    throw new KubeApiError(500, 'InternalError', 'Internal error occurred: failed to allocate a serviceIP: range is full');
  }

  /** Gives every port of a NodePort/LoadBalancer service without one a free node port from 30000-32767 (the default range). */
  private async assignNodePorts(spec: Record<string, unknown>): Promise<void> {
    const used = new Set((await this.store.list({ group: '', resource: 'services' })).items.flatMap((svc) => (Array.isArray(rec(svc['spec'])['ports']) ? (rec(svc['spec'])['ports'] as unknown[]) : []).map((p) => rec(p)['nodePort'])));
    const ports = Array.isArray(spec['ports']) ? spec['ports'].filter(isRecord) : [];
    for (const p of ports) {
      if (typeof p['nodePort'] === 'number') continue;
      let n = 30000;
      while (used.has(n) && n <= 32767) n++;
      if (n > 32767) throw invalid('Service', '', '', [{ field: 'spec.ports.nodePort', message: 'Invalid value: range is full' }]);
      p['nodePort'] = n;
      used.add(n);
    }
  }

  /** Each stored type once (custom types can have several served versions). */
  private storedTypes(): ResourceType[] {
    const seen = new Set<string>();
    return this.registry.all().filter((t) => {
      const k = `${t.group}/${t.resource}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  private async emptyNamespace(namespace: string): Promise<void> {
    for (const t of this.storedTypes().filter((x) => x.namespaced)) {
      for (const o of (await this.store.list(keyOf(t), namespace)).items) await this.store.delete(keyOf(t), namespace, o.metadata.name ?? '').catch(ignoreNotFound);
    }
  }

  private async deleteCustomObjects(crd: KubeObject): Promise<void> {
    const spec = rec(crd['spec']);
    const key = { group: String(spec['group'] ?? ''), resource: String(rec(spec['names'])['plural'] ?? '') };
    for (const o of (await this.store.list(key)).items) await this.store.delete(key, o.metadata.namespace ?? '', o.metadata.name ?? '').catch(ignoreNotFound);
  }

  private async collectDependents(uid: string, policy: 'Orphan' | 'Background' | 'Foreground'): Promise<void> {
    if (!uid) return;
    for (const t of this.storedTypes()) {
      for (const o of (await this.store.list(keyOf(t))).items) {
        const refs = o.metadata.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === uid)) continue;
        const others = refs.filter((r) => r.uid !== uid);
        if (policy === 'Orphan' || others.length) {
          await this.store.update(keyOf(t), { ...o, metadata: { ...o.metadata, ownerReferences: others } }).catch(ignoreNotFound);
        } else {
          await this.delete(t, o.metadata.namespace, o.metadata.name ?? '', { propagationPolicy: policy }).catch(ignoreNotFound);
        }
      }
    }
  }
}

/** The value with object keys sorted (for comparing JSON regardless of key order; undefined members dropped). */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isRecord(v)) return v;
  return Object.fromEntries(Object.keys(v).filter((k) => v[k] !== undefined).sort().map((k) => [k, sortKeys(v[k])]));
}

/** Whether a patch (or Scale) body names a metadata.resourceVersion, which makes it a precondition. */
function patchCarriesVersion(patch: unknown): boolean {
  if (Array.isArray(patch)) return patch.some((op) => isRecord(op) && op['path'] === '/metadata/resourceVersion');
  return typeof rec(rec(patch)['metadata'])['resourceVersion'] === 'string';
}

/**
 * `ValidatePodDisruptionBudgetSpec` (pkg/apis/policy/validation): minAvailable and maxUnavailable exclusive, each a
 * non-negative integer or a percentage of at most 100 %, a known unhealthyPodEvictionPolicy.
 */
function pdbSpecCauses(spec: Record<string, unknown>): { field: string; message: string }[] {
  const causes: { field: string; message: string }[] = [];
  if (spec['minAvailable'] !== undefined && spec['maxUnavailable'] !== undefined) causes.push({ field: 'spec', message: 'Invalid value: "object": minAvailable and maxUnavailable cannot be both set' });
  for (const k of ['minAvailable', 'maxUnavailable']) {
    const v = spec[k];
    if (v === undefined) continue;
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 0) causes.push({ field: `spec.${k}`, message: `Invalid value: ${v}: must be greater than or equal to 0` });
    } else if (typeof v !== 'string' || !/^[0-9]+%$/.test(v)) {
      causes.push({ field: `spec.${k}`, message: `Invalid value: ${JSON.stringify(v)}: must be an integer or percentage (e.g '5%')` });
    } else if (Number.parseInt(v, 10) > 100) {
      causes.push({ field: `spec.${k}`, message: `Invalid value: "${v}": must not be greater than 100%` });
    }
  }
  const policy = spec['unhealthyPodEvictionPolicy'];
  if (policy !== undefined && policy !== 'AlwaysAllow' && policy !== 'IfHealthyBudget') {
    causes.push({ field: 'spec.unhealthyPodEvictionPolicy', message: `Unsupported value: ${JSON.stringify(policy)}: supported values: "AlwaysAllow", "IfHealthyBudget"` });
  }
  return causes;
}

/** Conflict attempts of the eviction handler (`EvictionsRetry.Steps` in eviction.go). */
const EVICTION_RETRIES = 20;
/** `MaxDisruptedPodSize` (eviction.go): more unconfirmed evictions than this and the PDB refuses more. */
const MAX_DISRUPTED_POD_SIZE = 2000;

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
const isConflictError = (e: unknown): boolean => e instanceof KubeApiError && e.code === 409 && e.reason === 'Conflict';

/** Whether the pod's Ready condition is True (podutil.IsPodReady). */
function isReady(pod: KubeObject): boolean {
  const conditions = rec(pod['status'])['conditions'];
  return Array.isArray(conditions) && conditions.some((c) => rec(c)['type'] === 'Ready' && rec(c)['status'] === 'True');
}

/** `canIgnorePDB` (eviction.go): a terminal or Pending pod, or one already being deleted, is evicted without a budget. */
function canIgnorePdb(pod: KubeObject): boolean {
  const phase = rec(pod['status'])['phase'];
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || !!pod.metadata.deletionTimestamp;
}

/** `shouldEnforceResourceVersion` (eviction.go): not for terminal pods or pods being deleted. */
function shouldEnforceResourceVersion(pod: KubeObject): boolean {
  const phase = rec(pod['status'])['phase'];
  return !(phase === 'Succeeded' || phase === 'Failed' || pod.metadata.deletionTimestamp);
}

/** `createTooManyRequestsError` (eviction.go): 429 with Retry-After 10 while the PDB's status lags its spec. */
function tooManyRequestsStillProcessing(pdbName: string): KubeApiError {
  return new KubeApiError(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", {
    causes: [{ reason: 'DisruptionBudget', message: `The disruption budget ${pdbName} is still being processed by the server.` }], retryAfterSeconds: 10,
  });
}

function ignoreNotFound(e: unknown): void {
  if (!(e instanceof KubeApiError && e.code === 404)) throw e;
}

/** DeleteOptions from a body (or the query's gracePeriodSeconds/propagationPolicy/dryRun). */
export function readDeleteOptions(body: Record<string, unknown>, query?: URLSearchParams): DeleteOptions {
  const grace = body['gracePeriodSeconds'] ?? (query?.get('gracePeriodSeconds') ? Number(query.get('gracePeriodSeconds')) : undefined);
  const policy = body['propagationPolicy'] ?? query?.get('propagationPolicy') ?? (body['orphanDependents'] === true ? 'Orphan' : undefined);
  if (grace !== undefined && (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0)) throw badRequest('gracePeriodSeconds must be a non-negative integer');
  if (policy !== undefined && policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') throw badRequest(`propagationPolicy must be Orphan, Background or Foreground`);
  const pre = rec(body['preconditions']);
  const dryRun = Array.isArray(body['dryRun']) ? body['dryRun'].includes('All') : query?.get('dryRun') === 'All';
  return {
    ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}), ...(policy ? { propagationPolicy: policy } : {}), dryRun,
    preconditions: { ...(typeof pre['uid'] === 'string' ? { uid: pre['uid'] } : {}), ...(typeof pre['resourceVersion'] === 'string' ? { resourceVersion: pre['resourceVersion'] } : {}) },
  };
}
