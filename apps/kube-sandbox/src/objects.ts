import { randomBytes, randomUUID } from 'node:crypto';
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
 * Simplified (docs/kube-sandbox.md): validation is structural (names, pods' containers, workloads' selectors); no
 * admission, quotas, PodDisruptionBudget checks on eviction, or managedFields ownership for server-side apply;
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
   * `pods/eviction` (policy/v1 Eviction): deletes the pod with the eviction's deleteOptions (source: "API-initiated
   * Eviction", https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/). PodDisruptionBudgets are not
   * consulted (no disruption controller computes their status here).
   */
  async evict(t: ResourceType, namespace: string, name: string, body: unknown): Promise<void> {
    const b = rec(body);
    if (b['kind'] !== undefined && b['kind'] !== 'Eviction') throw badRequest(`expected kind Eviction, got ${String(b['kind'])}`);
    const evictionName = rec(b['metadata'])['name'];
    if (evictionName !== undefined && evictionName !== name) throw badRequest(`name in URL does not match name in Eviction object`);
    await this.delete(t, namespace, name, readDeleteOptions(rec(b['deleteOptions'])));
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
