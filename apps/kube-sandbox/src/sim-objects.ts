import {
  KubeApiError as SimApiError, KubeObjects, ListOptions, MergePatch, RESOURCES, ResourceName, ResourceObjects, DeleteOptions as SimDeleteOptions, WatchEvent,
} from '@skyweave/kube-sim';
import { KubeApiError } from './errors';
import { ObjectApi } from './objects';
import { BUILTIN_TYPES, ResourceType } from './resources';
import { KubeStore, StoreWatch } from './store';
import { KubeObject } from './types';

/**
 * kube-sim's `KubeObjects` port on the sandbox API server's own object layer (`ObjectApi` over a `KubeStore`), so the
 * simulated scheduler, controllers and kubelets write exactly what a client of the HTTP API would: the same defaults,
 * graceful pod deletion, finalizers, garbage collection and optimistic concurrency. The contract kube-sim relies on is
 * checked by `describeKubeObjectsContract` (sim-objects.spec.ts).
 *
 * Errors: the API's 404/409/422 become kube-sim's `KubeApiError` (NotFound, AlreadyExists, Conflict, Invalid); any
 * other API error is rethrown as it is.
 */
export class ApiKubeObjects implements KubeObjects {
  constructor(private readonly api: ObjectApi, private readonly store: KubeStore) {}

  private type(resource: ResourceName): ResourceType {
    const { apiVersion } = RESOURCES[resource];
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    const t = BUILTIN_TYPES.find((x) => x.group === group && x.version === version && x.resource === resource);
    if (!t) throw new Error(`kube-sandbox serves no ${resource} in ${apiVersion}`);
    return t;
  }

  private ns(resource: ResourceName, namespace: string | undefined): string | undefined {
    return RESOURCES[resource].namespaced ? (namespace ?? 'default') : undefined;
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      if (e instanceof KubeApiError && (e.code === 404 || e.code === 409 || e.code === 422)) {
        const reason = e.code === 404 ? 'NotFound' : e.code === 422 ? 'Invalid' : e.reason === 'AlreadyExists' ? 'AlreadyExists' : 'Conflict';
        throw new SimApiError(e.code, reason, e.message);
      }
      throw e;
    }
  }

  async get<R extends ResourceName>(resource: R, name: string, namespace?: string): Promise<ResourceObjects[R] | undefined> {
    const t = this.type(resource);
    const o = await this.store.get({ group: t.group, resource: t.resource }, this.ns(resource, namespace) ?? '', name);
    return o ? (structuredClone(o) as unknown as ResourceObjects[R]) : undefined;
  }

  async list<R extends ResourceName>(resource: R, options: ListOptions = {}): Promise<ResourceObjects[R][]> {
    const t = this.type(resource);
    const { items } = await this.store.list({ group: t.group, resource: t.resource }, RESOURCES[resource].namespaced ? options.namespace : undefined);
    return items
      .filter((o) => !options.labels || Object.entries(options.labels).every(([k, v]) => o.metadata.labels?.[k] === v))
      .filter((o) => options.nodeName === undefined || (o['spec'] as { nodeName?: string } | undefined)?.nodeName === options.nodeName)
      .map((o) => structuredClone(o) as unknown as ResourceObjects[R]);
  }

  async create<R extends ResourceName>(resource: R, object: ResourceObjects[R]): Promise<ResourceObjects[R]> {
    const t = this.type(resource);
    const { apiVersion, kind } = RESOURCES[resource];
    const body = { ...structuredClone(object), apiVersion, kind } as unknown as KubeObject;
    return this.call(async () => (await this.api.create(t, this.ns(resource, object.metadata.namespace), body)) as unknown as ResourceObjects[R]);
  }

  async update<R extends ResourceName>(resource: R, object: ResourceObjects[R]): Promise<ResourceObjects[R]> {
    return this.put(resource, object, undefined);
  }

  async updateStatus<R extends ResourceName>(resource: R, object: ResourceObjects[R]): Promise<ResourceObjects[R]> {
    return this.put(resource, object, 'status');
  }

  private async put<R extends ResourceName>(resource: R, object: ResourceObjects[R], sub: 'status' | undefined): Promise<ResourceObjects[R]> {
    const t = this.type(resource);
    const { apiVersion, kind } = RESOURCES[resource];
    const body = { ...structuredClone(object), apiVersion, kind } as unknown as KubeObject;
    return this.call(async () => (await this.api.update(t, this.ns(resource, object.metadata.namespace), object.metadata.name ?? '', body, sub)) as unknown as ResourceObjects[R]);
  }

  async patchStatus<R extends ResourceName>(resource: R, name: string, namespace: string | undefined, patch: MergePatch): Promise<ResourceObjects[R]> {
    const t = this.type(resource);
    return this.call(async () => (await this.api.patch(t, this.ns(resource, namespace), name, 'application/merge-patch+json', { status: patch }, 'status')).object as unknown as ResourceObjects[R]);
  }

  async delete<R extends ResourceName>(resource: R, name: string, namespace?: string, options: SimDeleteOptions = {}): Promise<void> {
    const t = this.type(resource);
    await this.call(() => this.api.delete(t, this.ns(resource, namespace), name, {
      ...(options.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: options.gracePeriodSeconds } : {}),
      ...(options.preconditions ? { preconditions: options.preconditions } : {}),
    }));
  }

  /**
   * Every change of `resource` from the store's current revision on. The store's watch starts asynchronously: a change
   * made in the same tick as this call may be missed (kube-sim's controllers also re-list on their monitor period).
   */
  watch<R extends ResourceName>(resource: R, handler: (event: WatchEvent<ResourceObjects[R]>) => void): () => void {
    const t = this.type(resource);
    let stopped = false;
    let w: StoreWatch | undefined;
    void (async () => {
      const from = await this.store.revision();
      const started = await this.store.watch({ group: t.group, resource: t.resource }, from, (e) => {
        if (!stopped) handler({ type: e.type, object: structuredClone(e.object) as unknown as ResourceObjects[R] });
      });
      if (stopped) started.stop();
      else w = started;
    })();
    return () => {
      stopped = true;
      w?.stop();
    };
  }
}
