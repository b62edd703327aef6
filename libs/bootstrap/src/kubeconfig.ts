import { stringify } from 'yaml';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/**
 * A kubeconfig (`apiVersion: v1`, `kind: Config`; source: the kubeconfig reference,
 * https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/) for the cluster's admin: one cluster named
 * `clusterName` at `server` (`https://host:6443`) with the cluster CA embedded (`certificate-authority-data`), one user
 * `<clusterName>-admin` with the admin client certificate and key embedded, and a current context joining them.
 * The file holds a private key: it is served only to the cluster's organisation and written 0600 by the CLI.
 * With `proxyUrl` the cluster entry names an HTTP CONNECT proxy (`proxy-url`, honoured by kubectl and
 * @kubernetes/client-node): the sandbox's API servers are reached through one, as a private control plane would be
 * through a bastion. `userName` names the user entry (default `<clusterName>-admin`). `tlsServerName`
 * (`tls-server-name`): the name the API server's certificate is verified against instead of the server's address.
 * Rendered as YAML 1.1-safe text (strings a YAML 1.1 parser would read as booleans or numbers are quoted), since
 * kubectl's parser follows YAML 1.1.
 * @param o PEM strings for the certificates and key.
 * @returns the YAML document.
 */
export function renderKubeconfig(o: { clusterName: string; server: string; caCertificatePem: string; adminCertificatePem: string; adminKeyPem: string; proxyUrl?: string; userName?: string; tlsServerName?: string }): string {
  const user = o.userName ?? `${o.clusterName}-admin`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: o.clusterName, cluster: { server: o.server, 'certificate-authority-data': b64(o.caCertificatePem), ...(o.proxyUrl ? { 'proxy-url': o.proxyUrl } : {}), ...(o.tlsServerName ? { 'tls-server-name': o.tlsServerName } : {}) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(o.adminCertificatePem), 'client-key-data': b64(o.adminKeyPem) } }],
    contexts: [{ name: user, context: { cluster: o.clusterName, user } }],
    'current-context': user,
    preferences: {},
  }, { version: '1.1' });
}
