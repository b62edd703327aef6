import { X509Certificate } from 'node:crypto';
import { parse } from 'yaml';
import { generateClusterPki } from './pki';
import { renderKubeconfig } from './kubeconfig';

describe('cluster PKI and kubeconfig', () => {
  it('issues an admin client certificate signed by the cluster CA, and a kubeconfig embedding both', async () => {
    const pki = await generateClusterPki(new Date('2026-11-21T00:00:00Z'));
    const ca = new X509Certificate(pki.caCertificate);
    const admin = new X509Certificate(pki.adminCertificate);
    expect(ca.ca).toBe(true);
    expect(admin.ca).toBe(false);
    expect(admin.checkIssued(ca)).toBe(true);
    expect(admin.verify(ca.publicKey)).toBe(true);
    expect(admin.subject).toContain('O=system:masters');
    expect(admin.keyUsage).toContain('1.3.6.1.5.5.7.3.2'); // clientAuth
    const kc = parse(renderKubeconfig({ clusterName: 'prod', server: 'https://198.51.100.7:6443', caCertificatePem: pki.caCertificate, adminCertificatePem: pki.adminCertificate, adminKeyPem: pki.adminKey })) as {
      clusters: { cluster: { server: string; 'certificate-authority-data': string } }[]; users: { user: Record<string, string> }[];
    };
    expect(kc.clusters[0].cluster.server).toBe('https://198.51.100.7:6443');
    expect(Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe(pki.caCertificate);
    expect(Buffer.from(kc.users[0].user['client-key-data'], 'base64').toString()).toBe(pki.adminKey);
  });
});
