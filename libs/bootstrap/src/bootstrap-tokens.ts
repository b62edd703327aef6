import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/*
 * What joining needs inside the cluster, as Kubernetes objects the platform writes through the cluster's own API:
 * - a bootstrap token is a Secret `kube-system/bootstrap-token-<id>` of type `bootstrap.kubernetes.io/token`
 *   (source: "Authenticating with Bootstrap Tokens", https://kubernetes.io/docs/reference/access-authn-authz/bootstrap-tokens/,
 *   "Bootstrap Token Secret Format"); kube-controller-manager's token cleaner deletes it after `expiration`;
 * - the control-plane certificates a joining master downloads are the Secret `kube-system/kubeadm-certs`, each file
 *   AES-256-GCM-encrypted with the certificate key (32 bytes, hex), the 12-byte nonce before the ciphertext, under the
 *   file's name with `/` as `-` (kubeadm's cmd/kubeadm/app/phases/copycerts/copycerts.go and util/crypto), owned by a
 *   short-lived bootstrap token so that it is collected when that token expires (kubeadm: 2 h).
 * Pure functions over plain JSON objects (the caller sends them with its Kubernetes client).
 */

/** The namespace and type of bootstrap token Secrets. */
export const BOOTSTRAP_TOKEN_NAMESPACE = 'kube-system';
export const BOOTSTRAP_TOKEN_TYPE = 'bootstrap.kubernetes.io/token';
/** The group kubeadm's join tokens authenticate as (kubeadm's default node token group). */
export const KUBEADM_NODE_TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
/** The Secret holding the encrypted control-plane certificates for joining masters. */
export const KUBEADM_CERTS_SECRET = 'kubeadm-certs';
/** kubeadm's lifetime of uploaded certificates (`kubeadm.DefaultCertTokenDuration`), ms. */
export const KUBEADM_CERTS_TTL_MS = 2 * 3600_000;
/** The files `kubeadm init --upload-certs` shares (copycerts.certsToTransfer), as paths under the PKI directory. */
export const SHARED_CONTROL_PLANE_FILES = ['ca.crt', 'ca.key', 'sa.key', 'sa.pub', 'front-proxy-ca.crt', 'front-proxy-ca.key', 'etcd/ca.crt', 'etcd/ca.key'] as const;

/** A Kubernetes Secret as JSON (the fields used here). */
export interface SecretObject {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace: string; ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[] };
  type: string;
  /** Values base64-encoded. */
  data: Record<string, string>;
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
/** RFC 3339 in seconds, as Kubernetes writes times. */
const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The Secret of bootstrap token `token` (`<6>.<16>` of `[a-z0-9]`), valid until `expiresAt`, usable to authenticate
 * (`usage-bootstrap-authentication`) and to sign the `cluster-info` ConfigMap for discovery (`usage-bootstrap-signing`),
 * in kubeadm's node token group.
 * @throws Error when `token` is not a bootstrap token.
 */
export function bootstrapTokenSecret(token: string, expiresAt: Date, description: string): SecretObject {
  const m = /^([a-z0-9]{6})\.([a-z0-9]{16})$/.exec(token);
  if (!m) throw new Error('a bootstrap token is [a-z0-9]{6}.[a-z0-9]{16}');
  return {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name: `bootstrap-token-${m[1]}`, namespace: BOOTSTRAP_TOKEN_NAMESPACE },
    type: BOOTSTRAP_TOKEN_TYPE,
    data: {
      description: b64(description), 'token-id': b64(m[1]), 'token-secret': b64(m[2]), expiration: b64(rfc3339(expiresAt)),
      'usage-bootstrap-authentication': b64('true'), 'usage-bootstrap-signing': b64('true'), 'auth-extra-groups': b64(KUBEADM_NODE_TOKEN_GROUP),
    },
  };
}

/**
 * Whether `secret` (a Secret as read from the API) is a bootstrap token Secret for `token` that is valid at `now`
 * for authentication (the bootstrap token authenticator's checks: type, name, id and secret, expiration, usage).
 */
export function bootstrapTokenValid(secret: { metadata?: { name?: string }; type?: string; data?: Record<string, string> } | undefined, token: string, now = new Date()): boolean {
  const m = /^([a-z0-9]{6})\.([a-z0-9]{16})$/.exec(token);
  if (!m || !secret || secret.type !== BOOTSTRAP_TOKEN_TYPE || secret.metadata?.name !== `bootstrap-token-${m[1]}`) return false;
  const get = (k: string) => (secret.data?.[k] === undefined ? undefined : Buffer.from(secret.data[k], 'base64').toString('utf8'));
  if (get('token-id') !== m[1] || get('token-secret') !== m[2] || get('usage-bootstrap-authentication') !== 'true') return false;
  const expiration = get('expiration');
  return expiration === undefined || Date.parse(expiration) > now.getTime();
}

/** The Secret data key of a PKI file: `etcd/ca.crt` → `etcd-ca.crt`. */
export const kubeadmCertsKey = (file: string): string => file.replace(/\//g, '-');

/**
 * The `kubeadm-certs` Secret: each of `files` (path under the PKI directory → PEM) encrypted with `certificateKey`
 * (64 hex characters), owned by the bootstrap token Secret `owner` (its name and uid), so it goes when that expires.
 * @throws Error when the key is not 32 bytes of hex.
 */
export function kubeadmCertsSecret(files: Record<string, string>, certificateKey: string, owner?: { name: string; uid: string }): SecretObject {
  const key = certificateKeyBytes(certificateKey);
  const data: Record<string, string> = {};
  for (const [file, content] of Object.entries(files)) {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    const sealed = Buffer.concat([nonce, cipher.update(content, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    data[kubeadmCertsKey(file)] = sealed.toString('base64');
  }
  return {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name: KUBEADM_CERTS_SECRET, namespace: BOOTSTRAP_TOKEN_NAMESPACE, ...(owner ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Secret', name: owner.name, uid: owner.uid }] } : {}) },
    type: 'Opaque',
    data,
  };
}

/**
 * Decrypts the files of a `kubeadm-certs` Secret with `certificateKey`, as `kubeadm join --control-plane` does.
 * @returns PKI file path (`etcd/ca.crt`) → PEM, for every file of SHARED_CONTROL_PLANE_FILES present.
 * @throws Error "message authentication failed" when the key is not the one the files were encrypted with.
 */
export function openKubeadmCertsSecret(secret: { data?: Record<string, string> }, certificateKey: string): Record<string, string> {
  const key = certificateKeyBytes(certificateKey);
  const out: Record<string, string> = {};
  for (const file of SHARED_CONTROL_PLANE_FILES) {
    const value = secret.data?.[kubeadmCertsKey(file)];
    if (value === undefined) continue;
    const sealed = Buffer.from(value, 'base64');
    if (sealed.length < 12 + 16) throw new Error('cipher: message authentication failed');
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    try {
      out[file] = Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('cipher: message authentication failed');
    }
  }
  return out;
}

function certificateKeyBytes(certificateKey: string): Buffer {
  if (!/^[0-9a-f]{64}$/.test(certificateKey)) throw new Error('the certificate key must be 32 bytes, hex-encoded (64 characters)');
  return Buffer.from(certificateKey, 'hex');
}
