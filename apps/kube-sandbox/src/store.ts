import { alreadyExists, conflict, expired, notFound } from './errors';
import { KubeObject, clone } from './types';

/** A resource type in the store: API group (`''` for core) and plural resource name (`pods`, `deployments`). */
export interface ResourceKey {
  group: string;
  resource: string;
}

/** One change, as a watch delivers it. `revision` is the store revision the change made (the object's resourceVersion). */
export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  key: ResourceKey;
  object: KubeObject;
  /** For MODIFIED: the object before the change (watches with selectors turn a change out of the selection into DELETED). */
  previous?: KubeObject;
  revision: number;
}

/** A running watch; `stop()` ends it (idempotent). */
export interface StoreWatch {
  stop(): void;
}

/**
 * The cluster's state, as etcd is kube-apiserver's: objects per resource type, namespace (`''` for cluster-scoped
 * kinds) and name, with ONE revision counter across all kinds that increases by one per write. Every write sets the
 * object's `metadata.resourceVersion` to the new revision (decimal string), as etcd's mod revision does (source:
 * "API Concepts", https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions). Objects passed in
 * and returned are copies.
 *
 * Errors: {@link KubeApiError} 404 NotFound, 409 AlreadyExists, 409 Conflict (stale `expectedResourceVersion`),
 * 410 Expired (a watch from a revision older than the retained history).
 */
export interface KubeStore {
  /** The latest revision (0 before the first write). */
  revision(): Promise<number>;
  get(key: ResourceKey, namespace: string, name: string): Promise<KubeObject | undefined>;
  /** Objects of one type (in one namespace, or all when `namespace` is undefined), by namespace then name, and the revision they were read at. */
  list(key: ResourceKey, namespace?: string): Promise<{ items: KubeObject[]; revision: number }>;
  /** Stores a new object (metadata.name required); throws 409 AlreadyExists. Returns it with its resourceVersion. */
  create(key: ResourceKey, object: KubeObject): Promise<KubeObject>;
  /**
   * Replaces an existing object. With `expectedResourceVersion`, throws 409 Conflict unless it is the stored one
   * (optimistic concurrency). Throws 404 when absent.
   */
  update(key: ResourceKey, object: KubeObject, expectedResourceVersion?: string): Promise<KubeObject>;
  /** Removes an object (same precondition rule as update); returns it as deleted, with the deleting revision. */
  delete(key: ResourceKey, namespace: string, name: string, expectedResourceVersion?: string): Promise<KubeObject>;
  /**
   * Delivers every change with a revision greater than `fromRevision` to `onEvent`, first the retained history, then
   * live changes, in revision order; for all types when `key` is undefined. Throws 410 Expired when `fromRevision` is
   * older than the history window.
   */
  watch(key: ResourceKey | undefined, fromRevision: number, onEvent: (e: StoreEvent) => void): Promise<StoreWatch>;
}

const copyEvent = (e: StoreEvent): StoreEvent => ({ ...e, object: clone(e.object), ...(e.previous ? { previous: clone(e.previous) } : {}) });
const typeKey = (k: ResourceKey) => `${k.group}/${k.resource}`;
const objectKey = (namespace: string, name: string) => `${namespace}/${name}`;

/**
 * {@link KubeStore} in memory. History: the last `historySize` events (default 10000) are kept for watches from a
 * revision; {@link compact} drops all history up to the current revision, as etcd compaction does, so a watch from
 * an older revision gets 410 Expired.
 */
export class MemoryKubeStore implements KubeStore {
  private rev = 0;
  /** Watches from a revision below this are expired (the earliest revision still in history is `compacted + 1`). */
  private compacted = 0;
  private readonly types = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly watchers = new Set<{ key?: ResourceKey; onEvent: (e: StoreEvent) => void }>();

  constructor(private readonly historySize = 10000) {}

  async revision(): Promise<number> {
    return this.rev;
  }

  async get(key: ResourceKey, namespace: string, name: string): Promise<KubeObject | undefined> {
    const o = this.types.get(typeKey(key))?.get(objectKey(namespace, name));
    return o ? clone(o) : undefined;
  }

  async list(key: ResourceKey, namespace?: string): Promise<{ items: KubeObject[]; revision: number }> {
    const all = [...(this.types.get(typeKey(key))?.values() ?? [])];
    const items = all.filter((o) => namespace === undefined || (o.metadata.namespace ?? '') === namespace).map((o) => clone(o));
    items.sort((a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    return { items, revision: this.rev };
  }

  async create(key: ResourceKey, object: KubeObject): Promise<KubeObject> {
    const ns = object.metadata.namespace ?? '';
    const name = object.metadata.name ?? '';
    let objects = this.types.get(typeKey(key));
    if (!objects) this.types.set(typeKey(key), (objects = new Map()));
    if (objects.has(objectKey(ns, name))) throw alreadyExists(key.group, key.resource, name);
    return this.write(key, objects, ns, name, object, undefined);
  }

  async update(key: ResourceKey, object: KubeObject, expectedResourceVersion?: string): Promise<KubeObject> {
    const ns = object.metadata.namespace ?? '';
    const name = object.metadata.name ?? '';
    const objects = this.types.get(typeKey(key));
    const current = objects?.get(objectKey(ns, name));
    if (!objects || !current) throw notFound(key.group, key.resource, name);
    if (expectedResourceVersion !== undefined && expectedResourceVersion !== current.metadata.resourceVersion) throw conflict(key.group, key.resource, name);
    return this.write(key, objects, ns, name, object, current);
  }

  async delete(key: ResourceKey, namespace: string, name: string, expectedResourceVersion?: string): Promise<KubeObject> {
    const objects = this.types.get(typeKey(key));
    const current = objects?.get(objectKey(namespace, name));
    if (!objects || !current) throw notFound(key.group, key.resource, name);
    if (expectedResourceVersion !== undefined && expectedResourceVersion !== current.metadata.resourceVersion) throw conflict(key.group, key.resource, name);
    objects.delete(objectKey(namespace, name));
    const deleted = clone(current);
    deleted.metadata.resourceVersion = String(++this.rev);
    this.emit({ type: 'DELETED', key, object: deleted, revision: this.rev });
    return clone(deleted);
  }

  async watch(key: ResourceKey | undefined, fromRevision: number, onEvent: (e: StoreEvent) => void): Promise<StoreWatch> {
    if (fromRevision < this.compacted) throw expired(fromRevision, this.compacted + 1);
    const same = (e: StoreEvent) => !key || typeKey(e.key) === typeKey(key);
    for (const e of this.history) if (e.revision > fromRevision && same(e)) onEvent(copyEvent(e));
    const watcher = { key, onEvent };
    this.watchers.add(watcher);
    return { stop: () => this.watchers.delete(watcher) };
  }

  /** Drops the whole event history (etcd compaction at the current revision): watches from older revisions get 410. */
  compact(): void {
    this.compacted = this.rev;
    this.history.length = 0;
  }

  private write(key: ResourceKey, objects: Map<string, KubeObject>, ns: string, name: string, object: KubeObject, previous: KubeObject | undefined): KubeObject {
    const stored = clone(object);
    stored.metadata.resourceVersion = String(++this.rev);
    objects.set(objectKey(ns, name), stored);
    this.emit({ type: previous ? 'MODIFIED' : 'ADDED', key, object: stored, ...(previous ? { previous } : {}), revision: this.rev });
    return clone(stored);
  }

  private emit(e: StoreEvent): void {
    this.history.push(e);
    if (this.history.length > this.historySize) {
      const dropped = this.history.splice(0, this.history.length - this.historySize);
      this.compacted = dropped[dropped.length - 1].revision;
    }
    for (const w of this.watchers) {
      if (!w.key || typeKey(w.key) === typeKey(e.key)) w.onEvent(copyEvent(e));
    }
  }
}
