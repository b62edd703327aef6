import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '@skyweave/persistence';
import {
  ClusterPki, apiServerCertificateFits, apiServerSans, caCertHash, firstServiceIp, fromPkiColumn, generateClusterPki, issueApiServerCertificate,
  newBootstrapToken, newCertificateKey, openPkiSecrets, sealPkiSecrets, toPkiColumn,
} from './pki';

// openssl is a CI prerequisite (/usr/bin/openssl): a missing binary fails these tests, it does not skip them.
const openssl = (args: string[], input?: Buffer | string): Buffer => execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
const text = (args: string[], input?: Buffer | string) => openssl(args, input).toString().trim();

describe('cluster PKI (checked with openssl)', () => {
  let dir: string;
  let pki: ClusterPki;
  let apiServer: { certificate: string; key: string };
  const file = (name: string, content: string) => {
    const p = join(dir, name);
    writeFileSync(p, content, { mode: 0o600 });
    return p;
  };
  const sans = apiServerSans({ nodeName: 'sw-1a2b3c4d-master-0', masterAddresses: ['10.4.0.1', '10.4.0.2', '10.4.0.3'], extraIps: ['10.10.0.4', '198.51.100.7', null], extraDnsNames: ['control-plane.skyweave.internal'] });

  beforeAll(async () => {
    expect(text(['version'])).toMatch(/^OpenSSL /);
    dir = mkdtempSync(join(tmpdir(), 'skyweave-pki-'));
    // no wall-clock bound here (it failed at 3.8 s on a loaded 2-core machine): that creation stays fast is kept by
    // every key being ECDSA P-256, which 'pairs every certificate with its key' checks with openssl
    pki = await generateClusterPki();
    apiServer = await issueApiServerCertificate({ certificate: pki.caCertificate, key: pki.caKey }, sans);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('issues an admin client certificate (CN kubernetes-admin, O system:masters) that openssl verifies against the CA', () => {
    const ca = file('ca.crt', pki.caCertificate);
    const admin = file('admin.crt', pki.adminCertificate);
    expect(text(['verify', '-CAfile', ca, '-purpose', 'sslclient', admin])).toBe(`${admin}: OK`);
    expect(text(['x509', '-noout', '-subject', '-in', admin])).toBe('subject=CN = kubernetes-admin, O = system:masters');
    expect(text(['x509', '-noout', '-ext', 'extendedKeyUsage', '-in', admin])).toContain('TLS Web Client Authentication');
    expect(text(['x509', '-noout', '-subject', '-in', ca])).toBe('subject=CN = kubernetes');
  });

  it('issues an API server certificate for serverAuth naming the kubernetes service names, the control-plane endpoint, 10.96.0.1, the masters and master-0', () => {
    const ca = file('ca.crt', pki.caCertificate);
    const crt = file('apiserver.crt', apiServer.certificate);
    expect(text(['verify', '-CAfile', ca, '-purpose', 'sslserver', crt])).toBe(`${crt}: OK`);
    const san = text(['x509', '-noout', '-ext', 'subjectAltName', '-in', crt]);
    const names = san.split('\n')[1].trim().split(', ').sort();
    expect(names).toEqual([
      'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc', 'DNS:kubernetes.default.svc.cluster.local', 'DNS:sw-1a2b3c4d-master-0',
      'DNS:control-plane.skyweave.internal', 'IP Address:10.10.0.4', 'IP Address:10.4.0.1', 'IP Address:10.4.0.2', 'IP Address:10.4.0.3', 'IP Address:10.96.0.1', 'IP Address:198.51.100.7',
    ].sort());
    expect(text(['x509', '-noout', '-subject', '-in', crt])).toBe('subject=CN = kube-apiserver');
    expect(text(['x509', '-noout', '-ext', 'basicConstraints', '-in', crt])).toContain('CA:FALSE');
  });

  it('makes the front-proxy and etcd CAs self-signed CA certificates', () => {
    for (const [name, pem, cn] of [['front-proxy-ca.crt', pki.public.frontProxyCaCertificate, 'front-proxy-ca'], ['etcd-ca.crt', pki.public.etcdCaCertificate, 'etcd-ca']] as const) {
      const p = file(name, pem);
      expect(text(['x509', '-noout', '-ext', 'basicConstraints', '-in', p])).toMatch(/critical\s+CA:TRUE/);
      expect(text(['x509', '-noout', '-ext', 'keyUsage', '-in', p])).toContain('Certificate Sign');
      expect(text(['x509', '-noout', '-subject', '-in', p])).toBe(`subject=CN = ${cn}`);
      expect(text(['verify', '-CAfile', p, p])).toBe(`${p}: OK`);
    }
    // the cluster CA is valid 10 years, like kubeadm's
    const end = new Date(text(['x509', '-noout', '-enddate', '-in', file('ca.crt', pki.caCertificate)]).replace('notAfter=', ''));
    expect(end.getTime() - Date.now()).toBeGreaterThan(9.9 * 365 * 24 * 3600 * 1000);
  });

  it('pairs every certificate with its key (P-256, SEC1 PEM as kubeadm writes), and sa.pub with sa.key', () => {
    const pairs: [string, string][] = [
      [pki.caCertificate, pki.caKey], [pki.adminCertificate, pki.adminKey], [apiServer.certificate, apiServer.key],
      [pki.public.frontProxyCaCertificate, pki.secrets.frontProxyCaKey], [pki.public.etcdCaCertificate, pki.secrets.etcdCaKey],
    ];
    for (const [crt, key] of pairs) {
      expect(key).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
      expect(text(['pkey', '-pubout'], key)).toBe(text(['x509', '-pubkey', '-noout'], crt));
      expect(text(['x509', '-noout', '-text'], crt)).toMatch(/NIST CURVE: P-256[\s\S]*Signature Algorithm: ecdsa-with-SHA256/);
    }
    expect(pki.public.serviceAccountPublicKey).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(text(['pkey', '-pubout'], pki.secrets.serviceAccountKey)).toBe(pki.public.serviceAccountPublicKey.trim());
  });

  it('computes the CA pin as openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum does', () => {
    const spkiPem = openssl(['x509', '-pubkey', '-noout'], pki.caCertificate);
    const der = openssl(['pkey', '-pubin', '-outform', 'der'], spkiPem);
    const sum = execFileSync('sha256sum', [], { input: der }).toString().split(' ')[0];
    expect(caCertHash(pki.caCertificate)).toBe(`sha256:${sum}`);
    expect(caCertHash(pki.caCertificate)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('hands out the same API server certificate while it still fits, and not once the names or the CA change', async () => {
    expect(apiServerCertificateFits(apiServer.certificate, pki.caCertificate, sans)).toBe(true);
    // fewer names (e.g. the public IP unknown then) still fit; a new public IP does not
    expect(apiServerCertificateFits(apiServer.certificate, pki.caCertificate, apiServerSans({ nodeName: 'sw-1a2b3c4d-master-0', masterAddresses: ['10.4.0.1'] }))).toBe(true);
    expect(apiServerCertificateFits(apiServer.certificate, pki.caCertificate, { ...sans, ipAddresses: [...sans.ipAddresses, '203.0.113.9'] })).toBe(false);
    expect(apiServerCertificateFits(apiServer.certificate, pki.caCertificate, { ...sans, dnsNames: [...sans.dnsNames, 'other-node'] })).toBe(false);
    const other = await generateClusterPki();
    expect(apiServerCertificateFits(apiServer.certificate, other.caCertificate, sans)).toBe(false);
    // close to expiry: re-issued
    expect(apiServerCertificateFits(apiServer.certificate, pki.caCertificate, sans, new Date(Date.now() + 340 * 24 * 3600 * 1000))).toBe(false);
  });

  it('computes the first service IP and the SAN list without duplicates', () => {
    expect(firstServiceIp('10.96.0.0/12')).toBe('10.96.0.1');
    expect(firstServiceIp('10.100.7.9/16')).toBe('10.100.0.1');
    expect(() => firstServiceIp('10.0.0.0/32')).toThrow(/no room/);
    expect(apiServerSans({ nodeName: 'm0', masterAddresses: ['10.4.0.1', '10.4.0.1'], extraIps: [undefined, '10.4.0.1'] }).ipAddresses).toEqual(['10.96.0.1', '10.4.0.1']);
  });

  it('makes kubeadm-format bootstrap tokens and certificate keys from a CSPRNG', () => {
    const tokens = Array.from({ length: 200 }, newBootstrapToken);
    for (const t of tokens) expect(t).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(new Set(tokens).size).toBe(200);
    expect(pki.secrets.bootstrapToken).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    expect(newCertificateKey()).toMatch(/^[0-9a-f]{64}$/);
    expect(pki.secrets.certificateKey).toMatch(/^[0-9a-f]{64}$/);
    expect(newCertificateKey()).not.toBe(newCertificateKey());
  });

  it('stores the public document as a column and seals the private one', () => {
    const box = new SecretBox(randomBytes(32).toString('base64'));
    const column = toPkiColumn({ ...pki.public, apiServerCertificate: apiServer.certificate });
    expect(Object.keys(column).sort()).toEqual(['apiServerCertificate', 'etcdCaCertificate', 'frontProxyCaCertificate', 'serviceAccountPublicKey']);
    expect(fromPkiColumn(column)).toEqual({ ...pki.public, apiServerCertificate: apiServer.certificate });
    expect(fromPkiColumn(toPkiColumn(pki.public))).toEqual(pki.public);
    expect(() => fromPkiColumn(null)).toThrow(/frontProxyCaCertificate missing/);
    const sealed = sealPkiSecrets(box, { ...pki.secrets, apiServerKey: apiServer.key });
    for (const secret of [pki.secrets.frontProxyCaKey, pki.secrets.bootstrapToken, pki.secrets.certificateKey, 'PRIVATE KEY']) expect(sealed).not.toContain(secret);
    expect(openPkiSecrets(box, sealed)).toEqual({ ...pki.secrets, apiServerKey: apiServer.key });
    expect(openPkiSecrets(box, sealPkiSecrets(box, pki.secrets))).toEqual(pki.secrets);
    expect(() => openPkiSecrets(new SecretBox(randomBytes(32).toString('base64')), sealed)).toThrow();
  });
});
