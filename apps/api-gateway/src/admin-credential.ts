import { X509Certificate } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { EventReason } from '@skyweave/domain';
import { issueClientCertificate } from '@skyweave/bootstrap';
import { ClusterEntity, Repositories, SecretBox, orgScope, recordEvent } from '@skyweave/persistence';

/** An admin certificate with less than this left is renewed before it is handed out or used, ms (kubeadm's `certs check-expiration` warns at 30 days). */
export const ADMIN_RENEW_BEFORE_MS = 30 * 24 * 3600_000;

/** The cluster's admin credential (kubeconfig user, and the platform's own calls to the cluster), PEM. */
export interface AdminCredential {
  certificate: string;
  key: string;
}

/**
 * The cluster's admin client certificate and key, renewed first when it has under 30 days left (or has expired): a
 * new one (CN `kubernetes-admin`, O `system:masters`, 1 year) signed by the cluster CA, stored with its key sealed, and
 * an `AdminCertificateRenewed` event — under the cluster's row lock, so concurrent callers renew once. kubeadm renews
 * `admin.conf` on masters itself during upgrades (`kubeadm certs renew`); the platform's copy is its own to renew.
 * @returns undefined when the cluster has no admin credential (made without a PKI) or no CA key to renew it with.
 */
export async function adminCredential(ds: DataSource, box: SecretBox, cluster: ClusterEntity, now = new Date()): Promise<AdminCredential | undefined> {
  if (!cluster.adminCertificate || !cluster.adminKeySealed) return undefined;
  if (!due(cluster.adminCertificate, now)) return { certificate: cluster.adminCertificate, key: box.open(cluster.adminKeySealed) };
  const scope = orgScope(cluster.organisationId);
  const repos = new Repositories(ds);
  return ds.transaction(async (em) => {
    const c = await repos.clusters.getForUpdate(scope, cluster.id, em);
    if (!c.adminCertificate || !c.adminKeySealed) return undefined;
    if (!due(c.adminCertificate, now)) return { certificate: c.adminCertificate, key: box.open(c.adminKeySealed) };
    if (!c.caCertificate || !c.caKeySealed) return { certificate: c.adminCertificate, key: box.open(c.adminKeySealed) };
    const renewed = await issueClientCertificate({ certificate: c.caCertificate, key: box.open(c.caKeySealed) }, { commonName: 'kubernetes-admin', organizations: ['system:masters'] }, now);
    await repos.clusters.update(scope, c.id, { adminCertificate: renewed.certificate, adminKeySealed: box.seal(renewed.key) }, em);
    const until = new X509Certificate(renewed.certificate).validTo;
    await recordEvent(em, { organisationId: c.organisationId, clusterId: c.id, reason: EventReason.AdminCertificateRenewed, message: `admin client certificate renewed (the previous one expired ${new X509Certificate(c.adminCertificate).validTo}); valid until ${until}` });
    return renewed;
  });
}

function due(certificate: string, now: Date): boolean {
  return new Date(new X509Certificate(certificate).validTo).getTime() - now.getTime() < ADMIN_RENEW_BEFORE_MS;
}
