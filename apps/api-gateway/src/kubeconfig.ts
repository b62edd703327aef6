import { stringify } from 'yaml';

/**
 * A kubeconfig (v1 Config) for the cluster's admin. The embedded CA is the cluster's; client credentials come with
 * the cluster PKI (a later issue) — until then the user entry is left for `kubectl config set-credentials`.
 */
export function renderKubeconfig(o: { clusterName: string; server: string; caCertificatePem: string | null }): string {
  const context = `${o.clusterName}-admin`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: o.clusterName, cluster: { server: o.server, ...(o.caCertificatePem ? { 'certificate-authority-data': Buffer.from(o.caCertificatePem).toString('base64') } : { 'insecure-skip-tls-verify': true }) } }],
    users: [{ name: `${o.clusterName}-admin`, user: {} }],
    contexts: [{ name: context, context: { cluster: o.clusterName, user: `${o.clusterName}-admin` } }],
    'current-context': context,
    preferences: {},
  });
}
