import { CoreV1Api, KubeConfig, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions } from '@kubernetes/client-node';
import { API_SERVER_NAME, issueClientCertificate } from '@skyweave/bootstrap';
import type { WatchedCluster } from '@skyweave/persistence';
import { masterServers } from '@skyweave/kube-view';

/** The autoscaler's Kubernetes user: its own client certificate (RBAC below), never the admin's. */
export const AUTOSCALER_USER = 'skyweave:autoscaler';

/**
 * What the autoscaler may do in a cluster (and nothing else): read nodes and pods, cordon nodes (patch), evict pods
 * (`pods/eviction` create, which kube-apiserver checks against PodDisruptionBudgets), read PodDisruptionBudgets.
 */
export const AUTOSCALER_CLUSTER_ROLE = {
  apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: AUTOSCALER_USER, labels: { 'app.kubernetes.io/managed-by': 'skyweave' } },
  rules: [
    { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch', 'patch'] },
    { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
    { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
    { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['get', 'list'] },
  ],
};
export const AUTOSCALER_CLUSTER_ROLE_BINDING = {
  apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: AUTOSCALER_USER, labels: { 'app.kubernetes.io/managed-by': 'skyweave' } },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: AUTOSCALER_USER },
  subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: AUTOSCALER_USER }],
};

/** The outcome of one eviction: done (or the pod is already gone), refused by a PodDisruptionBudget (429), or failed. */
export type EvictionOutcome = { kind: 'evicted' } | { kind: 'blocked'; message: string } | { kind: 'failed'; message: string };

/** Opens sealed secrets (libs/persistence SecretBox). */
export interface Opener { open(sealed: string): string }

/** The cordon and eviction calls scale-down makes; an interface so the decision loop is tested without a cluster. */
export interface KubeActions {
  /** Sets `spec.unschedulable` (cordon: true, uncordon: false) on Kubernetes Node `node`. @throws the API's error. */
  setUnschedulable(cluster: WatchedCluster, node: string, unschedulable: boolean): Promise<void>;
  /** Evicts one pod through `pods/eviction` (policy/v1 Eviction): 429 ⇒ blocked by a PodDisruptionBudget, 404 ⇒ evicted already. */
  evict(cluster: WatchedCluster, namespace: string, name: string): Promise<EvictionOutcome>;
  /** Forgets a cluster's credentials (when the autoscaler stops deciding for it). */
  forget(clusterId: string): void;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const statusOf = (e: unknown): number | undefined => {
  const x = e as { code?: unknown; statusCode?: unknown };
  return typeof x?.code === 'number' ? x.code : typeof x?.statusCode === 'number' ? x.statusCode : undefined;
};
const messageOf = (e: unknown): string => {
  const x = e as { body?: unknown; message?: unknown };
  const body = typeof x?.body === 'string' ? (() => { try { return JSON.parse(x.body as string) as { message?: string }; } catch { return undefined; } })() : (x?.body as { message?: string } | undefined);
  return (body?.message ?? (typeof x?.message === 'string' ? x.message.split('\n')[0] : String(e))).slice(0, 300);
};

/**
 * {@link KubeActions} against the cluster's API server through @kubernetes/client-node, as the user
 * {@link AUTOSCALER_USER} (a client certificate issued from the cluster CA, kept in memory only). Before its first call
 * in a cluster it grants that user {@link AUTOSCALER_CLUSTER_ROLE} with a second in-memory certificate in group
 * `system:masters` (used for nothing else), as kube-view's watcher does for its own read access. Masters are tried in
 * {@link masterServers} order, through `proxyUrl` when the sandbox gives one.
 */
export class ClientNodeKubeActions implements KubeActions {
  private readonly creds = new Map<string, Promise<{ user: { certificate: string; key: string }; granted: boolean; admin: { certificate: string; key: string } }>>();

  constructor(private readonly box: Opener, private readonly proxyUrl?: string) {}

  async setUnschedulable(cluster: WatchedCluster, node: string, unschedulable: boolean): Promise<void> {
    await this.call(cluster, (api) => api.patchNode({ name: node, body: { spec: { unschedulable: unschedulable || null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)));
  }

  async evict(cluster: WatchedCluster, namespace: string, name: string): Promise<EvictionOutcome> {
    try {
      await this.call(cluster, (api) => api.createNamespacedPodEviction({ name, namespace, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } } }));
      return { kind: 'evicted' };
    } catch (e) {
      const status = statusOf(e);
      if (status === 404) return { kind: 'evicted' };
      if (status === 429) return { kind: 'blocked', message: messageOf(e) };
      return { kind: 'failed', message: status ? `HTTP ${status}: ${messageOf(e)}` : messageOf(e) };
    }
  }

  forget(clusterId: string): void {
    this.creds.delete(clusterId);
  }

  private async call<T>(cluster: WatchedCluster, fn: (api: CoreV1Api) => Promise<T>): Promise<T> {
    const c = await this.credentials(cluster);
    const servers = masterServers(cluster.nodes);
    if (!servers.length) throw new Error('no master of the cluster has an address yet');
    let last: unknown;
    for (const server of servers) {
      try {
        if (!c.granted) {
          await grant(this.kubeConfig(cluster, server, c.admin));
          c.granted = true;
        }
        return await fn(this.kubeConfig(cluster, server, c.user).makeApiClient(CoreV1Api));
      } catch (e) {
        last = e;
        if (statusOf(e) !== undefined) throw e; // the API answered: another master would answer the same
      }
    }
    throw last;
  }

  private credentials(cluster: WatchedCluster) {
    let p = this.creds.get(cluster.id);
    if (!p) {
      const ca = { certificate: cluster.caCertificate, key: this.box.open(cluster.caKeySealed) };
      p = Promise.all([
        issueClientCertificate(ca, { commonName: AUTOSCALER_USER, organizations: [] }),
        issueClientCertificate(ca, { commonName: 'skyweave:autoscaler-bootstrap', organizations: ['system:masters'] }),
      ]).then(([user, admin]) => ({ user, admin, granted: false }));
      p.catch(() => this.creds.delete(cluster.id));
      this.creds.set(cluster.id, p);
    }
    return p;
  }

  private kubeConfig(cluster: WatchedCluster, server: string, user: { certificate: string; key: string }): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: cluster.id, server, caData: b64(cluster.caCertificate), skipTLSVerify: false, tlsServerName: API_SERVER_NAME, ...(this.proxyUrl ? { proxyUrl: this.proxyUrl } : {}) }],
      users: [{ name: 'user', certData: b64(user.certificate), keyData: b64(user.key) }],
      contexts: [{ name: 'autoscaler', cluster: cluster.id, user: 'user' }],
      currentContext: 'autoscaler',
    });
    return kc;
  }
}

/** Creates the autoscaler's ClusterRole and binding, leaving existing ones (409) as they are. */
async function grant(kc: KubeConfig): Promise<void> {
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const exists = (e: unknown) => statusOf(e) === 409;
  await rbac.createClusterRole({ body: AUTOSCALER_CLUSTER_ROLE }).catch((e: unknown) => { if (!exists(e)) throw e; });
  await rbac.createClusterRoleBinding({ body: AUTOSCALER_CLUSTER_ROLE_BINDING }).catch((e: unknown) => { if (!exists(e)) throw e; });
}
