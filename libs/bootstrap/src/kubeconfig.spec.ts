import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ClusterPki, apiServerSans, generateClusterPki, issueApiServerCertificate } from './pki';
import { renderKubeconfig } from './kubeconfig';

// kubectl and openssl are CI prerequisites (/usr/bin): a missing binary fails these tests, it does not skip them.
describe('admin kubeconfig (checked with kubectl and openssl)', () => {
  let dir: string;
  let pki: ClusterPki;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skyweave-kubeconfig-'));
    pki = await generateClusterPki();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const render = (clusterName: string) => renderKubeconfig({
    clusterName, server: 'https://198.51.100.7:6443', caCertificatePem: pki.caCertificate, adminCertificatePem: pki.adminCertificate, adminKeyPem: pki.adminKey,
  });

  it('is read by kubectl config view --minify: the server, the embedded CA, and a client certificate that verifies against it', () => {
    const kc = join(dir, 'kubeconfig');
    writeFileSync(kc, render('prod'), { mode: 0o600 });
    // HOME in the temp dir: kubectl must not read or write anything of the machine's.
    const out = execFileSync('kubectl', ['--kubeconfig', kc, 'config', 'view', '--minify', '--raw', '-o', 'json'], { env: { ...process.env, HOME: dir, KUBECONFIG: '' } }).toString();
    const view = JSON.parse(out) as {
      'current-context': string;
      clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[];
      users: { name: string; user: { 'client-certificate-data': string; 'client-key-data': string } }[];
    };
    expect(view['current-context']).toBe('prod-admin');
    expect(view.clusters).toHaveLength(1);
    expect(view.clusters[0].name).toBe('prod');
    expect(view.clusters[0].cluster.server).toBe('https://198.51.100.7:6443');
    const ca = Buffer.from(view.clusters[0].cluster['certificate-authority-data'], 'base64').toString();
    expect(ca).toBe(pki.caCertificate);
    const caFile = join(dir, 'ca.crt');
    const certFile = join(dir, 'client.crt');
    writeFileSync(caFile, ca);
    writeFileSync(certFile, Buffer.from(view.users[0].user['client-certificate-data'], 'base64'));
    expect(execFileSync('openssl', ['verify', '-CAfile', caFile, '-purpose', 'sslclient', certFile]).toString().trim()).toBe(`${certFile}: OK`);
    // the embedded key is the certificate's
    const key = Buffer.from(view.users[0].user['client-key-data'], 'base64');
    expect(execFileSync('openssl', ['pkey', '-pubout'], { input: key }).toString()).toBe(execFileSync('openssl', ['x509', '-pubkey', '-noout', '-in', certFile]).toString());
  });

  it('lets kubectl (Go TLS) reach an API server holding the issued serving certificate, authenticating as the admin', async () => {
    const apiServer = await issueApiServerCertificate({ certificate: pki.caCertificate, key: pki.caKey }, apiServerSans({ nodeName: 'm0', masterAddresses: ['10.4.0.1'], extraIps: ['127.0.0.1'] }));
    const seen: string[] = [];
    const server = createServer({ cert: apiServer.certificate, key: apiServer.key, ca: pki.caCertificate, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      seen.push(String((req.socket as TLSSocket).getPeerCertificate().subject.CN));
      res.setHeader('content-type', 'text/plain');
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const kc = join(dir, 'kubeconfig-tls');
      writeFileSync(kc, renderKubeconfig({
        clusterName: 'prod', server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caCertificatePem: pki.caCertificate, adminCertificatePem: pki.adminCertificate, adminKeyPem: pki.adminKey,
      }), { mode: 0o600 });
      // asynchronous: the server answers in this process
      const out = await new Promise<string>((resolve, reject) => execFile('kubectl', ['--kubeconfig', kc, 'get', '--raw', '/healthz'], { env: { ...process.env, HOME: dir, KUBECONFIG: '' }, timeout: 30_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))));
      expect(out.trim()).toBe('ok');
      expect(seen).toContain('kubernetes-admin');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('quotes a cluster name a YAML 1.1 parser would read as a boolean', () => {
    const doc = parse(render('on'), { version: '1.1' }) as { clusters: { name: unknown }[] };
    expect(doc.clusters[0].name).toBe('on');
  });
});
