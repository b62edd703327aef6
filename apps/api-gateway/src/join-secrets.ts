import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { CloudEndpoints } from '@skyweave/cloud-adapters';
import {
  BOOTSTRAP_TOKEN_NAMESPACE, KUBEADM_CERTS_SECRET, KUBEADM_CERTS_TTL_MS, SHARED_CONTROL_PLANE_FILES, bootstrapTokenSecret, bootstrapTokenValid,
  kubeadmCertsSecret, newBootstrapToken, openKubeadmCertsSecret,
} from '@skyweave/bootstrap';
import { API_SERVER_NAME, API_SERVER_PORT } from '@skyweave/bootstrap';

/** How long a join's bootstrap token lives, ms: long enough for one kubeadm join, short enough not to matter if it leaks. */
export const JOIN_TOKEN_TTL_MS = 3600_000;
/** Uploaded certificates with less than this left are uploaded again before a master joins, ms. */
const CERTS_MIN_LEFT_MS = 30 * 60_000;

/** What the join secrets writer needs of a cluster: its name, CA and admin credential, and its masters' addresses. */
export interface ClusterApiAccess {
  clusterName: string;
  caCertificate: string;
  adminCertificate: string;
  adminKey: string;
  /**
   * Hosts of the cluster's API servers, tried in order until one answers (a master whose VM is gone but not yet
   * replaced refuses connections): each joined master's public IP, else its private IP.
   */
  apiHosts: string[];
}

/** The control-plane files a joining master downloads (path under /etc/kubernetes/pki → PEM). */
export type SharedControlPlaneFiles = Record<(typeof SHARED_CONTROL_PLANE_FILES)[number], string>;

/** A failure to reach or write the cluster's API; the agent's /join then gets a 503 and asks again. */
export class ClusterApiUnavailable extends Error {
  /** The HTTP status the API answered with; undefined when it could not be reached at all. */
  constructor(message: string, readonly httpStatus?: number) {
    super(message);
    this.name = 'ClusterApiUnavailable';
  }
}

/**
 * Writes what one join needs into the cluster, through its own Kubernetes API (issue 11, item 4: the cluster stays
 * joinable for its whole life, not for the 24 h of kubeadm init's token and the 2 h of its uploaded certificates):
 * - every join gets a fresh bootstrap token Secret (TTL JOIN_TOKEN_TTL_MS) — `kubeadm token create`'s effect;
 * - a master's join finds the `kubeadm-certs` Secret decryptable with the cluster's certificate key and with at least
 *   30 min left, or uploads it again first (`kubeadm init phase upload-certs --upload-certs --certificate-key K`'s
 *   effect: the shared files encrypted with K, owned by a 2 h token). The key stays the cluster's, so masters joining
 *   at the same time never invalidate each other's download.
 * With `endpoints.kubernetes.proxyUrl` (the sandbox) the API is dialled through that proxy. Credentials are the
 * cluster's admin certificate; nothing is logged.
 */
export class JoinSecrets {
  constructor(private readonly endpoints: CloudEndpoints, private readonly now: () => number = Date.now) {}

  private api(c: ClusterApiAccess, host: string): CoreV1Api {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{
        // every API server's certificate names `kubernetes` (kubeadm's); not every one names its master's public IP
        name: c.clusterName, server: `https://${host}:${API_SERVER_PORT}`, caData: Buffer.from(c.caCertificate).toString('base64'), skipTLSVerify: false, tlsServerName: API_SERVER_NAME,
        ...(this.endpoints.kubernetes?.proxyUrl ? { proxyUrl: this.endpoints.kubernetes.proxyUrl } : {}),
      }],
      users: [{ name: 'skyweave', certData: Buffer.from(c.adminCertificate).toString('base64'), keyData: Buffer.from(c.adminKey).toString('base64') }],
      contexts: [{ name: 'skyweave', cluster: c.clusterName, user: 'skyweave' }],
      currentContext: 'skyweave',
    });
    return kc.makeApiClient(CoreV1Api);
  }

  /**
   * Runs `work` against the first of the cluster's API servers that can be reached: a transport failure (refused,
   * reset, TLS) moves on to the next host; an HTTP answer is the cluster's and ends the search.
   */
  private async withApi<T>(c: ClusterApiAccess, work: (api: CoreV1Api) => Promise<T>): Promise<T> {
    let last: unknown = new ClusterApiUnavailable('the cluster has no master with an address');
    for (const host of c.apiHosts) {
      try {
        return await work(this.api(c, host));
      } catch (e) {
        if (!(e instanceof ClusterApiUnavailable) || e.httpStatus !== undefined) throw e;
        last = e;
      }
    }
    throw last;
  }

  /**
   * Creates a fresh bootstrap token for one join.
   * @returns the token (`<id>.<secret>`). @throws ClusterApiUnavailable when the API cannot be reached or refuses.
   */
  async tokenForJoin(c: ClusterApiAccess, nodeName: string): Promise<string> {
    const token = newBootstrapToken();
    await this.withApi(c, (api) => call(`create the bootstrap token for ${nodeName}`, () => api.createNamespacedSecret({
      namespace: BOOTSTRAP_TOKEN_NAMESPACE, body: bootstrapTokenSecret(token, new Date(this.now() + JOIN_TOKEN_TTL_MS), `Skyweave: join of ${nodeName}`),
    })));
    return token;
  }

  /**
   * Makes sure `kubeadm-certs` holds `files` encrypted with `certificateKey` for at least 30 more minutes, uploading
   * them again (with a new 2 h owner token) when not. @throws ClusterApiUnavailable.
   */
  async ensureCertificatesUploaded(c: ClusterApiAccess, files: SharedControlPlaneFiles, certificateKey: string): Promise<void> {
    await this.withApi(c, (api) => this.ensureUploadedOn(api, files, certificateKey));
  }

  private async ensureUploadedOn(api: CoreV1Api, files: SharedControlPlaneFiles, certificateKey: string): Promise<void> {
    const current = await readSecret(api, KUBEADM_CERTS_SECRET);
    const owner = current?.metadata?.ownerReferences?.[0];
    const ownerSecret = owner ? await readSecret(api, owner.name) : undefined;
    if (current && ownerSecret && ownerSecret.metadata?.uid === owner?.uid && decrypts(current, certificateKey)) {
      const get = (k: string) => Buffer.from(ownerSecret.data?.[k] ?? '', 'base64').toString('utf8');
      const token = `${get('token-id')}.${get('token-secret')}`;
      if (bootstrapTokenValid(ownerSecret, token, new Date(this.now() + CERTS_MIN_LEFT_MS))) return;
    }
    if (current) await call('delete the expiring kubeadm-certs', () => api.deleteNamespacedSecret({ namespace: BOOTSTRAP_TOKEN_NAMESPACE, name: KUBEADM_CERTS_SECRET }), [404]);
    const ownerToken = await call('create the kubeadm-certs owner token', () => api.createNamespacedSecret({
      namespace: BOOTSTRAP_TOKEN_NAMESPACE, body: bootstrapTokenSecret(newBootstrapToken(), new Date(this.now() + KUBEADM_CERTS_TTL_MS), 'Proxy for managing TTL for the kubeadm-certs secret'),
    }));
    // a concurrent upload (another master joining) may have made it first: same key, so either copy serves
    await call('upload the control-plane certificates', () => api.createNamespacedSecret({
      namespace: BOOTSTRAP_TOKEN_NAMESPACE, body: kubeadmCertsSecret(files, certificateKey, { name: ownerToken?.metadata?.name ?? '', uid: ownerToken?.metadata?.uid ?? '' }),
    }), [409]);
  }
}

type SecretRead = { metadata?: { name?: string; uid?: string; ownerReferences?: { name: string; uid: string }[] }; type?: string; data?: Record<string, string> };

function decrypts(secret: SecretRead, key: string): boolean {
  try {
    return Object.keys(openKubeadmCertsSecret(secret, key)).length > 0;
  } catch {
    return false;
  }
}

async function readSecret(api: CoreV1Api, name: string): Promise<SecretRead | undefined> {
  return call(`read ${name}`, async () => (await api.readNamespacedSecret({ namespace: BOOTSTRAP_TOKEN_NAMESPACE, name })) as SecretRead, [404]);
}

/** Runs one API call; `tolerated` status codes resolve to undefined; anything else is ClusterApiUnavailable. */
async function call<T>(what: string, work: () => Promise<T>, tolerated: number[] = []): Promise<T | undefined> {
  try {
    return await work();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number' && tolerated.includes(code)) return undefined;
    throw new ClusterApiUnavailable(`the cluster's Kubernetes API: could not ${what}: ${typeof code === 'number' ? `HTTP ${code}` : (e as Error).message}`, typeof code === 'number' ? code : undefined);
  }
}
