import { stringify } from 'yaml';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/**
 * A kubeconfig (v1 Config) for the cluster's admin: the API server on the first master, the cluster CA, and the
 * admin client certificate and key (so the file is a secret: served only to the organisation, written 0600 by the CLI).
 */
export function renderKubeconfig(o: { clusterName: string; server: string; caCertificatePem: string; adminCertificatePem: string; adminKeyPem: string }): string {
  const user = `${o.clusterName}-admin`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: o.clusterName, cluster: { server: o.server, 'certificate-authority-data': b64(o.caCertificatePem) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(o.adminCertificatePem), 'client-key-data': b64(o.adminKeyPem) } }],
    contexts: [{ name: user, context: { cluster: o.clusterName, user } }],
    'current-context': user,
    preferences: {},
  });
}
