import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api, makeInformer, type Informer, type KubernetesObject, type ObjectCache, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { API_SERVER_NAME } from '@skyweave/bootstrap';
import type { AddonParams } from '@skyweave/bootstrap/src/addons';
import { installAddons } from './addons';
import type { ClusterKubeView } from './view';

/** The watcher's Kubernetes user: its own client certificate, not the admin's (RBAC: get/list/watch nodes and pods). */
export const WATCHER_USER = 'skyweave:kube-watcher';

/** How one cluster's API server is reached and with what. PEM strings. */
export interface ClusterWatchOptions {
  clusterId: string;
  /** Candidate API server URLs, tried in order (master-0 first); read again at every (re)connection. */
  servers: () => readonly string[];
  /** The cluster CA (trusted for the API server's certificate). */
  caCertificate: string;
  /** The watcher's client certificate and key (issued by the cluster CA, CN `skyweave:kube-watcher`); kept in memory only. */
  client: { certificate: string; key: string };
  /**
   * An admin credential (kept in memory only) with which the watcher's read access is granted once, before the first
   * watch (see `grantWatcherAccess`); absent ⇒ the access is assumed granted.
   */
  admin?: { certificate: string; key: string };
  /**
   * Install the cluster add-ons with `admin` (installAddons) once per watch, after the access grant and before the
   * watches, and record the outcome as the view's `AddonsInstalled` condition; absent (or without `admin`) ⇒ none.
   */
  addons?: AddonParams;
  /** An HTTP CONNECT proxy every API server is dialled through (`CloudEndpoints.kubernetes.proxyUrl`); absent ⇒ direct. */
  proxyUrl?: string;
  view: ClusterKubeView;
  /** Reconnection backoff after a failure: `baseMs · 2^(failures-1)`, capped at `capMs` (ms). */
  backoff: { baseMs: number; capMs: number };
  /** A fresh list of nodes and pods (relist) this often, ms; 0 = never. */
  resyncMs: number;
  /** A (re)connection whose lists have not answered in this long fails (ms; default 15 000). */
  connectTimeoutMs?: number;
  /** Called on each failure (for logs: the error's class and message, never credentials). */
  onError?: (e: { server: string; reason: string; message: string }) => void;
}

type Watched<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

/** The ClusterRole and ClusterRoleBinding that let WATCHER_USER read nodes and pods (and nothing else). */
export const WATCHER_CLUSTER_ROLE = {
  apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: WATCHER_USER, labels: { 'app.kubernetes.io/managed-by': 'skyweave' } },
  rules: [{ apiGroups: [''], resources: ['nodes', 'pods'], verbs: ['get', 'list', 'watch'] }],
};
export const WATCHER_CLUSTER_ROLE_BINDING = {
  apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: WATCHER_USER, labels: { 'app.kubernetes.io/managed-by': 'skyweave' } },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: WATCHER_USER },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: WATCHER_USER }],
};

/**
 * Grants WATCHER_USER its read access in the cluster (a real kube-apiserver authorizes with RBAC: without it every list
 * is 403): creates WATCHER_CLUSTER_ROLE and WATCHER_CLUSTER_ROLE_BINDING, leaving ones that exist (409) as they are.
 * @throws the API's error for anything else (the watch then backs off and tries again).
 */
export async function grantWatcherAccess(kc: KubeConfig): Promise<void> {
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const exists = (e: unknown) => (e as { code?: unknown }).code === 409;
  await rbac.createClusterRole({ body: WATCHER_CLUSTER_ROLE }).catch((e: unknown) => { if (!exists(e)) throw e; });
  await rbac.createClusterRoleBinding({ body: WATCHER_CLUSTER_ROLE_BINDING }).catch((e: unknown) => { if (!exists(e)) throw e; });
}

/** The condition reason and message for a failed list or watch (status codes from the API, else a connection failure). */
export function describeError(err: unknown): { reason: 'Unauthorized' | 'Forbidden' | 'ApiError' | 'Unreachable'; message: string } {
  const e = err as { code?: unknown; statusCode?: unknown; body?: unknown; message?: unknown };
  const status = typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  const bodyMessage = (() => {
    const b = typeof e?.body === 'string' ? safeParse(e.body) : e?.body;
    return b && typeof b === 'object' && typeof (b as { message?: unknown }).message === 'string' ? (b as { message: string }).message : undefined;
  })();
  const text = (bodyMessage ?? (typeof e?.message === 'string' ? e.message.split('\n')[0] : String(err))).slice(0, 300);
  if (status === 401) return { reason: 'Unauthorized', message: `401 Unauthorized: ${text}` };
  if (status === 403) return { reason: 'Forbidden', message: `403 Forbidden: ${text}` };
  if (status !== undefined) return { reason: 'ApiError', message: `HTTP ${status}: ${text}` };
  return { reason: 'Unreachable', message: text };
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The watches of one cluster: one Node informer and one Pod informer (@kubernetes/client-node `makeInformer`: list,
 * then watch from the list's resourceVersion; a watch the server ends is resumed from the last resourceVersion, a
 * `410 Expired` relists). They feed the view. On a failure of either (connection refused, TLS, 401/403, a watch
 * broken), both stop, the view's reachability turns False with the reason, and after a capped exponential backoff both
 * start again against the next API server. Every `resyncMs` both are replaced by fresh informers (a full relist), which
 * also repairs anything a lost event left wrong. Built from a KubeConfig made in code (`loadFromOptions`), never a file.
 */
export class ClusterWatch {
  private generation = 0;
  private serverIndex = 0;
  private failures = 0;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private informers: { nodes: Watched<V1Node>; pods: Watched<V1Pod> } | undefined;

  constructor(private readonly o: ClusterWatchOptions) {}

  /** Starts watching (returns at once; the first connection runs in the background). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /**
   * Stops the informers and any pending reconnection. Does not wait for a connection attempt in progress (a list to an
   * unreachable address can hang for minutes): that attempt sees it is stale when it returns and stops its informers.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.stopInformers();
  }

  /** The API server URL in use (or to be tried next). */
  currentServer(): string | undefined {
    const servers = this.o.servers();
    return servers.length ? servers[this.serverIndex % servers.length] : undefined;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, ms);
  }

  private kubeConfig(server: string, user: { certificate: string; key: string } = this.o.client): KubeConfig {
    const kc = new KubeConfig();
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    kc.loadFromOptions({
      // any master, dialled by an IP its certificate may not name, is verified as `kubernetes` (every one names it)
      clusters: [{ name: this.o.clusterId, server, caData: b64(this.o.caCertificate), skipTLSVerify: false, tlsServerName: API_SERVER_NAME, ...(this.o.proxyUrl ? { proxyUrl: this.o.proxyUrl } : {}) }],
      users: [{ name: 'user', certData: b64(user.certificate), keyData: b64(user.key) }],
      contexts: [{ name: 'watcher', cluster: this.o.clusterId, user: 'user' }],
      currentContext: 'watcher',
    });
    return kc;
  }

  private accessGranted = false;
  private addonsInstalled = false;

  /**
   * Installs the add-ons (bounded by the connection timeout). A failure is recorded as `AddonsInstalled=False` and
   * does not stop the watches: the install is tried again at the next (re)connection or resync.
   */
  private async installAddonsOnce(server: string): Promise<void> {
    if (!this.o.addons || !this.o.admin || this.addonsInstalled) return;
    const limitMs = this.o.connectTimeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      const message = await Promise.race([
        installAddons(this.kubeConfig(server, this.o.admin), this.o.addons),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer in ${limitMs} ms`)), limitMs); }),
      ]);
      this.addonsInstalled = true;
      this.o.view.setAddons({ status: 'True', reason: 'Applied', message });
    } catch (e) {
      const { reason, message } = describeError(e);
      this.o.onError?.({ server, reason, message: `add-ons: ${message}` });
      this.o.view.setAddons({ status: 'False', reason: reason === 'Unreachable' ? 'Unreachable' : 'ApplyFailed', message: `${server}: ${message}` });
    } finally {
      clearTimeout(timer);
    }
  }

  private async connect(): Promise<void> {
    const gen = ++this.generation;
    await this.stopInformers();
    const server = this.currentServer();
    if (!server) {
      this.fail(gen, '', new Error('no master has an address yet'));
      return;
    }
    if (this.o.admin && !this.accessGranted) {
      const limitMs = this.o.connectTimeoutMs ?? 15_000;
      let timer: NodeJS.Timeout | undefined;
      try {
        // bounded like the lists: a master that accepts connections but never answers must not hold the watch
        await Promise.race([
          grantWatcherAccess(this.kubeConfig(server, this.o.admin)),
          new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer in ${limitMs} ms`)), limitMs); }),
        ]);
        this.accessGranted = true;
      } catch (e) {
        this.fail(gen, server, e);
        return;
      } finally {
        clearTimeout(timer);
      }
      if (gen !== this.generation || this.stopped) return;
    }
    await this.installAddonsOnce(server);
    if (gen !== this.generation || this.stopped) return;
    const kc = this.kubeConfig(server);
    const core = kc.makeApiClient(CoreV1Api);
    const nodes = makeInformer<V1Node>(kc, '/api/v1/nodes', () => core.listNode());
    const pods = makeInformer<V1Pod>(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
    this.informers = { nodes, pods };
    const view = this.o.view;
    let failed = false;
    const live = () => gen === this.generation && !this.stopped;
    const onError = (err: unknown) => {
      failed = true;
      if (live()) this.fail(gen, server, err);
    };
    nodes.on('add', (n) => { if (live()) view.upsertNode(n); });
    nodes.on('update', (n) => { if (live()) view.upsertNode(n); });
    nodes.on('delete', (n) => { if (live()) view.deleteNode(n); });
    pods.on('add', (p) => { if (live()) view.upsertPod(p); });
    pods.on('update', (p) => { if (live()) view.upsertPod(p); });
    pods.on('delete', (p) => { if (live()) view.deletePod(p); });
    nodes.on('error', onError);
    pods.on('error', onError);
    // a list to an address that drops packets waits for the OS's TCP timeout: give up earlier (the late answer is ignored)
    const timeout = setTimeout(() => onError(new Error(`no answer in ${this.o.connectTimeoutMs ?? 15_000} ms`)), this.o.connectTimeoutMs ?? 15_000);
    const abandon = async () => {
      clearTimeout(timeout);
      if (this.informers?.nodes === nodes) this.informers = undefined;
      await Promise.allSettled([nodes.stop(), pods.stop()]); // an informer whose list returned after stop() still opened its watch
    };
    try {
      // start() lists, then opens the watch; a failure is reported through 'error', not thrown
      await nodes.start();
      if (failed || !live()) return await abandon();
      await pods.start();
      if (failed || !live()) return await abandon();
    } catch (e) {
      onError(e);
      return await abandon();
    }
    clearTimeout(timeout);
    // what the lists returned replaces the view (objects gone while the watch was down disappear)
    view.replaceNodes(nodes.list());
    view.replacePods(pods.list());
    this.failures = 0;
    view.setReachability({ status: 'True', reason: 'Watching', message: `watching nodes and pods at ${server}` });
    if (this.o.resyncMs > 0) this.schedule(this.o.resyncMs);
  }

  private fail(gen: number, server: string, err: unknown): void {
    if (gen !== this.generation || this.stopped) return;
    this.generation++; // the failed informers' later callbacks are ignored
    const { reason, message } = describeError(err);
    this.o.onError?.({ server, reason, message });
    this.o.view.setReachability({ status: 'False', reason, message: server ? `${server}: ${message}` : message });
    void this.stopInformers();
    this.failures++;
    this.serverIndex++; // the next master, if there is another
    this.schedule(Math.min(this.o.backoff.capMs, this.o.backoff.baseMs * 2 ** (this.failures - 1)));
  }

  private async stopInformers(): Promise<void> {
    const i = this.informers;
    this.informers = undefined;
    if (!i) return;
    await Promise.allSettled([i.nodes.stop(), i.pods.stop()]);
  }
}
