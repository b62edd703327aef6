import { randomUUID } from 'node:crypto';
import { Clock } from './clock';
import { Deployment, KubeEvent, KubeObject, Lease, Node, Pod, PodDisruptionBudget, ReplicaSet, StatefulSet } from './types';

/** The kinds kube-sim works on, with their API group/version and scope (Kubernetes API reference v1.34). */
export const RESOURCES = {
  nodes: { apiVersion: 'v1', kind: 'Node', namespaced: false, statusSubresource: true },
  pods: { apiVersion: 'v1', kind: 'Pod', namespaced: true, statusSubresource: true },
  events: { apiVersion: 'v1', kind: 'Event', namespaced: true, statusSubresource: false },
  leases: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespaced: true, statusSubresource: false },
  replicasets: { apiVersion: 'apps/v1', kind: 'ReplicaSet', namespaced: true, statusSubresource: true },
  deployments: { apiVersion: 'apps/v1', kind: 'Deployment', namespaced: true, statusSubresource: true },
  statefulsets: { apiVersion: 'apps/v1', kind: 'StatefulSet', namespaced: true, statusSubresource: true },
  poddisruptionbudgets: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespaced: true, statusSubresource: true },
} as const;

/** The plural resource names of RESOURCES, as in the REST paths (`/api/v1/pods`). */
export type ResourceName = keyof typeof RESOURCES;

/** The object type stored under each resource. */
export interface ResourceObjects {
  nodes: Node;
  pods: Pod;
  events: KubeEvent;
  leases: Lease;
  replicasets: ReplicaSet;
  deployments: Deployment;
  statefulsets: StatefulSet;
  poddisruptionbudgets: PodDisruptionBudget;
}

export interface ListOptions {
  /** Only objects in this namespace (all namespaces when absent; ignored for cluster-scoped kinds). */
  namespace?: string;
  /** Equality label selector (`labelSelector=a=b,c=d`). */
  labels?: Record<string, string>;
  /** Only pods with this `spec.nodeName` (`fieldSelector=spec.nodeName=…`). */
  nodeName?: string;
}

export interface DeleteOptions {
  /**
   * Seconds to wait before the object is removed. For a pod bound to a node and a value > 0 (default: the pod's
   * `spec.terminationGracePeriodSeconds`, else 30), the API server only sets `metadata.deletionTimestamp` and the
   * kubelet removes it with 0 once its containers have stopped; 0 removes at once (a force delete).
   */
  gracePeriodSeconds?: number;
  /** Delete only if the object still has this uid / resourceVersion (else Conflict). */
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent<T> {
  type: WatchEventType;
  object: T;
}

/** An RFC 7386 JSON merge patch: objects merge, `null` removes a field, anything else replaces. */
export type MergePatch = { [key: string]: unknown };

/**
 * What kube-sim needs from a Kubernetes object store: the verbs of the Kubernetes API on plain JSON objects.
 * The sandbox API server's store implements it in production; InMemoryKubeObjects in tests.
 *
 * Every method resolves to deep copies (callers may mutate them) and rejects with a KubeApiError:
 * - NotFound (404) for a missing object (get resolves `undefined` instead);
 * - AlreadyExists (409) from create when the name is taken;
 * - Conflict (409) from update/updateStatus/delete when `metadata.resourceVersion` (or a precondition) is stale:
 *   re-read and retry, as client-go's RetryOnConflict does.
 * `update` writes metadata and spec and keeps the stored status; `updateStatus` writes only status (the `/status`
 * subresource), for the kinds that have one. Both bump `metadata.resourceVersion`; `update` bumps
 * `metadata.generation` when the spec changes. `create` fills `metadata.name` from `generateName`, `uid`,
 * `creationTimestamp`, `generation` 1 and `resourceVersion`.
 */
export interface KubeObjects {
  get<R extends ResourceName>(resource: R, name: string, namespace?: string): Promise<ResourceObjects[R] | undefined>;
  list<R extends ResourceName>(resource: R, options?: ListOptions): Promise<ResourceObjects[R][]>;
  create<R extends ResourceName>(resource: R, object: ResourceObjects[R]): Promise<ResourceObjects[R]>;
  update<R extends ResourceName>(resource: R, object: ResourceObjects[R]): Promise<ResourceObjects[R]>;
  updateStatus<R extends ResourceName>(resource: R, object: ResourceObjects[R]): Promise<ResourceObjects[R]>;
  /** Applies `patch` (RFC 7386 merge patch) to the object's `status`; no resourceVersion check (last writer wins). */
  patchStatus<R extends ResourceName>(resource: R, name: string, namespace: string | undefined, patch: MergePatch): Promise<ResourceObjects[R]>;
  delete<R extends ResourceName>(resource: R, name: string, namespace?: string, options?: DeleteOptions): Promise<void>;
  /** Calls `handler` for every change of the resource from now on (no initial list); returns the stop function. */
  watch<R extends ResourceName>(resource: R, handler: (event: WatchEvent<ResourceObjects[R]>) => void): () => void;
}

export type KubeErrorReason = 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Invalid';

/** An error answer of the Kubernetes API: `code` and `reason` as in a `Status` body (API conventions, "Response Status Kind"). */
export class KubeApiError extends Error {
  constructor(
    readonly code: 404 | 409 | 422,
    readonly reason: KubeErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** 409 Conflict: the object was modified since it was read (stale resourceVersion) — re-read and retry. */
export class ConflictError extends KubeApiError {
  constructor(what: string) {
    super(409, 'Conflict', `Operation cannot be fulfilled on ${what}: the object has been modified; please apply your changes to the latest version and try again`);
    this.name = 'ConflictError';
  }
}

export function isConflict(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && err.reason === 'Conflict';
}

export function isNotFound(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && err.reason === 'NotFound';
}

export function isAlreadyExists(err: unknown): err is KubeApiError {
  return err instanceof KubeApiError && err.reason === 'AlreadyExists';
}

/** RFC 7386 merge of `patch` into `target` (returns a new value; `target` is not modified). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Five random characters from the alphabet the API server uses for `generateName` (k8s.io/apimachinery util/rand). */
export function randomSuffix(length = 5): string {
  let s = '';
  for (let i = 0; i < length; i++) s += NAME_ALPHABET[Math.floor(Math.random() * NAME_ALPHABET.length)];
  return s;
}

type Stored = KubeObject & { spec?: unknown; status?: unknown };

/**
 * KubeObjects in memory, for unit tests and as the reference behaviour the API server's store must match.
 * Not a validating API server: it checks names and resourceVersions only.
 */
export class InMemoryKubeObjects implements KubeObjects {
  private readonly stores = new Map<ResourceName, Map<string, Stored>>();
  private readonly watchers = new Map<ResourceName, Set<(e: WatchEvent<Stored>) => void>>();
  private version = 1;

  constructor(private readonly clock: Clock) {}

  private store(resource: ResourceName): Map<string, Stored> {
    let s = this.stores.get(resource);
    if (!s) this.stores.set(resource, (s = new Map()));
    return s;
  }

  private key(resource: ResourceName, name: string, namespace?: string): string {
    return RESOURCES[resource].namespaced ? `${namespace ?? 'default'}/${name}` : name;
  }

  private describe(resource: ResourceName, name: string): string {
    const { apiVersion } = RESOURCES[resource];
    const group = apiVersion.includes('/') ? `.${apiVersion.split('/')[0]}` : '';
    return `${resource}${group} "${name}"`;
  }

  private emit(resource: ResourceName, type: WatchEventType, object: Stored): void {
    for (const handler of this.watchers.get(resource) ?? []) handler({ type, object: structuredClone(object) });
  }

  private iso(): string {
    return new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  private existing(resource: ResourceName, name: string | undefined, namespace: string | undefined): Stored {
    const found = name === undefined ? undefined : this.store(resource).get(this.key(resource, name, namespace));
    if (!found) throw new KubeApiError(404, 'NotFound', `${this.describe(resource, name ?? '')} not found`);
    return found;
  }

  async get<R extends ResourceName>(resource: R, name: string, namespace?: string): Promise<ResourceObjects[R] | undefined> {
    const found = this.store(resource).get(this.key(resource, name, namespace));
    return found ? (structuredClone(found) as ResourceObjects[R]) : undefined;
  }

  async list<R extends ResourceName>(resource: R, options: ListOptions = {}): Promise<ResourceObjects[R][]> {
    const out: ResourceObjects[R][] = [];
    for (const obj of this.store(resource).values()) {
      if (options.namespace !== undefined && RESOURCES[resource].namespaced && obj.metadata.namespace !== options.namespace) continue;
      if (options.labels && !Object.entries(options.labels).every(([k, v]) => obj.metadata.labels?.[k] === v)) continue;
      if (options.nodeName !== undefined && (obj as Pod).spec?.nodeName !== options.nodeName) continue;
      out.push(structuredClone(obj) as ResourceObjects[R]);
    }
    return out;
  }

  async create<R extends ResourceName>(resource: R, object: ResourceObjects[R]): Promise<ResourceObjects[R]> {
    const obj = structuredClone(object) as Stored;
    const { apiVersion, kind, namespaced } = RESOURCES[resource];
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) {
      do meta.name = `${meta.generateName}${randomSuffix()}`;
      while (this.store(resource).has(this.key(resource, meta.name, meta.namespace)));
    }
    if (!meta.name) throw new KubeApiError(422, 'Invalid', `${kind} is invalid: metadata.name: Required value: name or generateName is required`);
    if (namespaced) meta.namespace = meta.namespace ?? 'default';
    else delete meta.namespace;
    const key = this.key(resource, meta.name, meta.namespace);
    if (this.store(resource).has(key)) throw new KubeApiError(409, 'AlreadyExists', `${this.describe(resource, meta.name)} already exists`);
    Object.assign(obj, { apiVersion, kind });
    meta.uid = randomUUID();
    meta.creationTimestamp = this.iso();
    meta.generation = 1;
    meta.resourceVersion = String(++this.version);
    delete meta.deletionTimestamp;
    this.store(resource).set(key, obj);
    this.emit(resource, 'ADDED', obj);
    return structuredClone(obj) as ResourceObjects[R];
  }

  private checkVersion(resource: ResourceName, current: Stored, given: string | undefined): void {
    if (given !== undefined && given !== '' && given !== current.metadata.resourceVersion) {
      throw new ConflictError(this.describe(resource, current.metadata.name ?? ''));
    }
  }

  async update<R extends ResourceName>(resource: R, object: ResourceObjects[R]): Promise<ResourceObjects[R]> {
    const obj = structuredClone(object) as Stored;
    const current = this.existing(resource, obj.metadata.name, obj.metadata.namespace);
    this.checkVersion(resource, current, obj.metadata.resourceVersion);
    const next: Stored = { ...obj, apiVersion: current.apiVersion, kind: current.kind };
    next.metadata = {
      ...obj.metadata,
      namespace: current.metadata.namespace,
      uid: current.metadata.uid,
      creationTimestamp: current.metadata.creationTimestamp,
      deletionTimestamp: current.metadata.deletionTimestamp,
      deletionGracePeriodSeconds: current.metadata.deletionGracePeriodSeconds,
      generation: current.metadata.generation,
      resourceVersion: String(++this.version),
    };
    for (const k of Object.keys(next.metadata) as (keyof typeof next.metadata)[]) if (next.metadata[k] === undefined) delete next.metadata[k];
    if (RESOURCES[resource].statusSubresource) next.status = current.status;
    if (JSON.stringify(next.spec) !== JSON.stringify(current.spec)) next.metadata.generation = (current.metadata.generation ?? 1) + 1;
    this.store(resource).set(this.key(resource, next.metadata.name ?? '', next.metadata.namespace), next);
    this.emit(resource, 'MODIFIED', next);
    return structuredClone(next) as ResourceObjects[R];
  }

  async updateStatus<R extends ResourceName>(resource: R, object: ResourceObjects[R]): Promise<ResourceObjects[R]> {
    const obj = object as Stored;
    const current = this.existing(resource, obj.metadata.name, obj.metadata.namespace);
    this.checkVersion(resource, current, obj.metadata.resourceVersion);
    return this.writeStatus(resource, current, structuredClone(obj.status));
  }

  async patchStatus<R extends ResourceName>(resource: R, name: string, namespace: string | undefined, patch: MergePatch): Promise<ResourceObjects[R]> {
    const current = this.existing(resource, name, namespace);
    return this.writeStatus(resource, current, mergePatch(current.status, patch));
  }

  private writeStatus<R extends ResourceName>(resource: R, current: Stored, status: unknown): ResourceObjects[R] {
    const next: Stored = { ...structuredClone(current), status };
    next.metadata.resourceVersion = String(++this.version);
    this.store(resource).set(this.key(resource, next.metadata.name ?? '', next.metadata.namespace), next);
    this.emit(resource, 'MODIFIED', next);
    return structuredClone(next) as ResourceObjects[R];
  }

  async delete<R extends ResourceName>(resource: R, name: string, namespace?: string, options: DeleteOptions = {}): Promise<void> {
    const current = this.existing(resource, name, namespace);
    const pre = options.preconditions ?? {};
    if (pre.uid !== undefined && pre.uid !== current.metadata.uid) throw new ConflictError(this.describe(resource, name));
    this.checkVersion(resource, current, pre.resourceVersion);
    if (resource === 'pods') {
      const pod = current as Pod;
      const grace = options.gracePeriodSeconds ?? pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      const terminal = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
      if (pod.spec.nodeName && grace > 0 && !terminal) {
        // graceful deletion (registry/core/pod/strategy.go CheckGracefulDelete): the kubelet finishes it
        if (pod.metadata.deletionTimestamp && (pod.metadata.deletionGracePeriodSeconds ?? 0) <= grace) return;
        const next = structuredClone(current);
        next.metadata.deletionTimestamp = new Date(this.clock.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        next.metadata.deletionGracePeriodSeconds = grace;
        next.metadata.resourceVersion = String(++this.version);
        this.store(resource).set(this.key(resource, name, namespace), next);
        this.emit(resource, 'MODIFIED', next);
        return;
      }
    }
    this.store(resource).delete(this.key(resource, name, namespace));
    const gone = structuredClone(current);
    gone.metadata.resourceVersion = String(++this.version);
    this.emit(resource, 'DELETED', gone);
  }

  watch<R extends ResourceName>(resource: R, handler: (event: WatchEvent<ResourceObjects[R]>) => void): () => void {
    let set = this.watchers.get(resource);
    if (!set) this.watchers.set(resource, (set = new Set()));
    const h = handler as unknown as (e: WatchEvent<Stored>) => void;
    set.add(h);
    return () => set.delete(h);
  }
}
