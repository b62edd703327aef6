import { generate } from 'selfsigned';

/** A cluster's certificate authority and its admin client certificate (PEM). */
export interface ClusterPki {
  caCertificate: string;
  caKey: string;
  adminCertificate: string;
  adminKey: string;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

/**
 * Generates the cluster CA (CN `kubernetes`, 10 years, as kubeadm's) and the admin client certificate
 * (CN `kubernetes-admin`, O `system:masters`, client auth, 1 year), ECDSA P-256 / SHA-256.
 * The full control-plane PKI (API server serving cert, front-proxy, etcd, service-account keys) comes with node
 * bootstrap; kubeadm on the first master is given this CA.
 */
export async function generateClusterPki(now = new Date()): Promise<ClusterPki> {
  const ca = await generate([{ name: 'commonName', value: 'kubernetes' }], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notBeforeDate: now, notAfterDate: new Date(now.getTime() + 10 * YEAR_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  } as Parameters<typeof generate>[1]);
  const admin = await generate([{ name: 'commonName', value: 'kubernetes-admin' }, { name: 'organizationName', value: 'system:masters' }], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notBeforeDate: now, notAfterDate: new Date(now.getTime() + YEAR_MS),
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
  } as Parameters<typeof generate>[1]);
  return { caCertificate: ca.cert, caKey: ca.private, adminCertificate: admin.cert, adminKey: admin.private };
}
