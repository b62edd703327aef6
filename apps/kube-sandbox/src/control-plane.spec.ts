import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import * as https from 'node:https';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  ClusterPki, apiServerSans, bootstrapTokenSecret, kubeadmCertsSecret, newBootstrapToken, newCertificateKey, caCertHash, clusterConfiguration, generateClusterPki, initConfiguration, issueApiServerCertificate, joinConfiguration,
  nodeLabels, pkiFiles, renderKubeadmConfig,
} from '@skyweave/bootstrap';
import { SandboxControlPlanes, SandboxMachine } from './control-plane';

/*
 * The sandbox's kubeadm against real API servers (in this process): what init and join check and make, the state the
 * masters share, and what is lost with the last master. The PKI and kubeadm configuration are made by the product's
 * own code (libs/bootstrap), as api-gateway hands them to agents.
 */

const ENDPOINT = '10.4.0.1:6443';
let dir: string;
let cps: SandboxControlPlanes;
let pki: ClusterPki;

const vm = (id: string, privateIp: string, publicIp: string): SandboxMachine => {
  const fsRoot = path.join(dir, id, 'fs');
  mkdirSync(fsRoot, { recursive: true });
  return { cloud: 'aws', instanceId: id, privateIp, publicIp, fsRoot, vcpu: 2, memoryMiB: 4096, instanceType: 't3.medium', arch: 'amd64', providerID: `aws:///us-east-1a/${id}` };
};
const write = (m: SandboxMachine, file: string, content: string) => {
  const p = path.join(m.fsRoot, file);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, content);
  return p;
};
const labels = (id: string) => nodeLabels({ cloud: 'aws', nodeId: id, instanceType: 't3.medium', region: 'us-east-1', zone: 'us-east-1a' });

/** GET on the API server that `host:6443` routes to, as kubernetes-admin. */
async function get(host: string, urlPath: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const target = cps.route(host, 6443);
  if (!target) throw new Error(`no route to ${host}`);
  return new Promise((resolve, reject) => {
    https.get({ host: target.host, port: target.port, path: urlPath, ca: pki.caCertificate, cert: pki.adminCertificate, key: pki.adminKey, servername: 'kubernetes' }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    }).on('error', reject);
  });
}

/** POST of a JSON object to the API server that `host:6443` routes to, as kubernetes-admin. */
async function post(host: string, urlPath: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const target = cps.route(host, 6443);
  if (!target) throw new Error(`no route to ${host}`);
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request({ method: 'POST', host: target.host, port: target.port, path: urlPath, ca: pki.caCertificate, cert: pki.adminCertificate, key: pki.adminKey, servername: 'kubernetes', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } }, (res) => {
      let out = '';
      res.on('data', (c: Buffer) => (out += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(out) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

async function initMaster0(): Promise<SandboxMachine> {
  const m = vm('i-master0', '10.10.0.4', '198.51.100.1');
  const serving = await issueApiServerCertificate({ certificate: pki.caCertificate, key: pki.caKey }, apiServerSans({ nodeName: 'm0', masterAddresses: ['10.4.0.1'], extraIps: [m.privateIp, m.publicIp] }));
  for (const f of pkiFiles({
    ca: { certificate: pki.caCertificate, key: pki.caKey },
    frontProxyCa: { certificate: pki.public.frontProxyCaCertificate, key: pki.secrets.frontProxyCaKey },
    etcdCa: { certificate: pki.public.etcdCaCertificate, key: pki.secrets.etcdCaKey },
    serviceAccount: { key: pki.secrets.serviceAccountKey, publicKey: pki.public.serviceAccountPublicKey },
    apiServer: serving,
  })) write(m, f.path, f.content);
  const config = write(m, '/etc/kubernetes/kubeadm.yaml', renderKubeadmConfig([
    initConfiguration({ node: { name: 'm0', address: '10.4.0.1', labels: labels('id-m0') }, bootstrapToken: pki.secrets.bootstrapToken, certificateKey: pki.secrets.certificateKey }),
    clusterConfiguration({ clusterName: 'demo', kubernetesVersion: '1.34.2', controlPlaneEndpoint: ENDPOINT }),
  ]));
  const r = await cps.kubeadm(m, ['init', '--config', config, '--upload-certs']);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  return m;
}

async function join(m: SandboxMachine, name: string, o: { token?: string; caHash?: string; certificateKey?: string; address: string }) {
  const config = write(m, '/etc/kubernetes/kubeadm.yaml', renderKubeadmConfig([joinConfiguration({
    node: { name, address: o.address, labels: labels(`id-${name}`) }, controlPlaneEndpoint: ENDPOINT,
    bootstrapToken: o.token ?? pki.secrets.bootstrapToken, caCertHash: o.caHash ?? caCertHash(pki.caCertificate),
    ...(o.certificateKey ? { certificateKey: o.certificateKey } : {}),
  })]));
  return cps.kubeadm(m, ['join', '--config', config]);
}

beforeAll(async () => {
  pki = await generateClusterPki();
});
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sw-cp-'));
  cps = new SandboxControlPlanes({ sim: { kubelet: { podStartDelayMs: 0 } } });
});
afterEach(async () => {
  await cps.closeAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('the sandbox kubeadm', () => {
  it('init starts an API server with the issued certificate, registers the master as kubelet would, and writes admin.conf and kubelet.conf', async () => {
    const m0 = await initMaster0();
    const version = await get('198.51.100.1', '/version');
    expect(version.body).toMatchObject({ major: '1', minor: '34', gitVersion: 'v1.34.2' });
    const node = (await get('10.10.0.4', '/api/v1/nodes/m0')).body as { metadata: { labels: Record<string, string> }; spec: { podCIDR: string; providerID: string; taints: unknown[] } };
    expect(node.metadata.labels).toMatchObject({
      'node-role.kubernetes.io/control-plane': '', 'skyweave.io/node-id': 'id-m0', 'skyweave.io/cloud': 'aws',
      'node.kubernetes.io/instance-type': 't3.medium', 'topology.kubernetes.io/zone': 'us-east-1a', 'kubernetes.io/hostname': 'm0',
    });
    expect(node.spec).toMatchObject({ podCIDR: '10.217.0.0/24', providerID: 'aws:///us-east-1a/i-master0', taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] });
    const admin = parseYaml(readFileSync(path.join(m0.fsRoot, 'etc/kubernetes/admin.conf'), 'utf8')) as { clusters: { cluster: { server: string } }[]; users: { name: string }[] };
    expect(admin.clusters[0].cluster.server).toBe(`https://${ENDPOINT}`);
    expect(readFileSync(path.join(m0.fsRoot, 'etc/kubernetes/kubelet.conf'), 'utf8')).toContain('system:node:m0');
    // the overlay address is reachable from the cluster's own VMs only; public and private IPs from anywhere
    expect(cps.route('10.4.0.1', 6443)).toBeUndefined();
    expect(cps.route('10.4.0.1', 6443, m0.instanceId)).toEqual(cps.route('198.51.100.1', 6443));
    expect(cps.route('198.51.100.1', 443)).toBeUndefined();
    // kubeadm's preflight: a second init on the same VM is refused
    const again = await cps.kubeadm(m0, ['init', '--config', path.join(m0.fsRoot, 'etc/kubernetes/kubeadm.yaml'), '--upload-certs']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/FileAvailable--etc-kubernetes-kubelet.conf/);
  });

  it('join checks the endpoint, the CA pin and the bootstrap token as kubeadm discovery does, and gives each node its own pod range', async () => {
    await initMaster0();
    const w = vm('i-worker0', '10.10.0.5', '198.51.100.2');
    expect((await join(w, 'w0', { address: '10.4.0.4', token: 'abcdef.0123456789abcdef' })).stderr).toMatch(/could not find a JWS signature in the cluster-info ConfigMap for token ID "abcdef"/);
    expect((await join(w, 'w0', { address: '10.4.0.4', caHash: `sha256:${'0'.repeat(64)}` })).stderr).toMatch(/none of the public keys .* are pinned/);
    expect(existsSync(path.join(w.fsRoot, 'etc/kubernetes/kubelet.conf'))).toBe(false);
    expect(await join(w, 'w0', { address: '10.4.0.4' })).toMatchObject({ code: 0 });
    const node = (await get('198.51.100.1', '/api/v1/nodes/w0')).body as { metadata: { labels: Record<string, string> }; spec: { podCIDR: string; taints?: unknown }; status: { addresses: { type: string; address: string }[] } };
    expect(node.spec.podCIDR).toBe('10.217.1.0/24');
    expect(node.spec.taints).toBeUndefined();
    expect(node.metadata.labels['node-role.kubernetes.io/control-plane']).toBeUndefined();
    expect(node.status.addresses).toContainEqual({ type: 'InternalIP', address: '10.4.0.4' });
    expect((await join(w, 'w0', { address: '10.4.0.4' })).stderr).toMatch(/kubelet.conf already exists/);
  });

  it('a control-plane join needs the certificate key, gets the shared certificates and serves the same state; the state goes with the last master', async () => {
    const m0 = await initMaster0();
    const m1 = vm('i-master1', '10.10.0.6', '198.51.100.4');
    expect((await join(m1, 'm1', { address: '10.4.0.2', certificateKey: 'ab'.repeat(32) })).stderr).toMatch(/message authentication failed/);
    expect(await join(m1, 'm1', { address: '10.4.0.2', certificateKey: pki.secrets.certificateKey })).toMatchObject({ code: 0 });
    expect(readFileSync(path.join(m1.fsRoot, 'etc/kubernetes/pki/ca.key'), 'utf8')).toBe(pki.caKey);
    // its own serving certificate names what kubeadm's would: the endpoint, its advertise address, `kubernetes`, not
    // its VM's public IP (a client dialling a master other than master-0 by IP verifies `kubernetes` instead)
    const served = new X509Certificate(readFileSync(path.join(m1.fsRoot, 'etc/kubernetes/pki/apiserver.crt'), 'utf8'));
    expect([served.checkIP('10.4.0.1'), served.checkIP('10.4.0.2'), served.checkHost('kubernetes'), served.checkIP('198.51.100.4')]).toEqual(['10.4.0.1', '10.4.0.2', 'kubernetes', undefined]);
    // master-1 serves what master-0 wrote; master-0's loss loses nothing
    expect((await get('198.51.100.4', '/api/v1/nodes')).body.items).toHaveLength(2);
    await cps.vmStopped(m0.instanceId);
    expect(cps.route('198.51.100.1', 6443)).toBeUndefined();
    expect((await get('198.51.100.4', '/api/v1/nodes/m0')).status).toBe(200);
    expect(cps.list()[0].masters.map((m) => m.nodeName)).toEqual(['m1']);
    // joining through master-0's address now finds nothing listening
    const w = vm('i-worker0', '10.10.0.5', '198.51.100.2');
    expect((await join(w, 'w0', { address: '10.4.0.4' })).stderr).toMatch(/connection refused/);
    await cps.vmStopped(m1.instanceId);
    expect(cps.list()).toEqual([]);
  });

  it('joins with tokens and certificates written later through the API (bootstrap token Secrets, kubeadm-certs), and not once they expired', async () => {
    await initMaster0();
    const secrets = '/api/v1/namespaces/kube-system/secrets';
    // a fresh, short-lived token for one join, as the platform makes one per join
    const fresh = newBootstrapToken();
    expect((await post('198.51.100.1', secrets, bootstrapTokenSecret(fresh, new Date(Date.now() + 600_000), 'join'))).status).toBe(201);
    const expired = newBootstrapToken();
    expect((await post('198.51.100.1', secrets, bootstrapTokenSecret(expired, new Date(Date.now() - 1000), 'join'))).status).toBe(201);
    const w = vm('i-worker0', '10.10.0.5', '198.51.100.2');
    expect((await join(w, 'w0', { address: '10.4.0.4', token: expired })).stderr).toMatch(/could not find a JWS signature .* token ID/);
    expect(await join(w, 'w0', { address: '10.4.0.4', token: fresh })).toMatchObject({ code: 0 });
    // certificates re-uploaded with a new key, owned by a token: a master joins with the new key; once the owner has
    // expired, kubeadm-certs is as good as gone
    const del = await new Promise<number>((resolve, reject) => {
      const target = cps.route('198.51.100.1', 6443)!;
      https.request({ method: 'DELETE', host: target.host, port: target.port, path: `${secrets}/kubeadm-certs`, ca: pki.caCertificate, cert: pki.adminCertificate, key: pki.adminKey, servername: 'kubernetes' }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject).end();
    });
    expect(del).toBe(200);
    const key = newCertificateKey();
    const ownerToken = newBootstrapToken();
    const owner = await post('198.51.100.1', secrets, bootstrapTokenSecret(ownerToken, new Date(Date.now() + 600_000), 'Proxy for managing TTL for the kubeadm-certs secret'));
    const meta = owner.body.metadata as { name: string; uid: string };
    const files = { 'ca.crt': pki.caCertificate, 'ca.key': pki.caKey, 'sa.key': pki.secrets.serviceAccountKey, 'sa.pub': pki.public.serviceAccountPublicKey };
    expect((await post('198.51.100.1', secrets, kubeadmCertsSecret(files, key, meta))).status).toBe(201);
    const m1 = vm('i-master1', '10.10.0.6', '198.51.100.4');
    expect((await join(m1, 'm1', { address: '10.4.0.2', token: fresh, certificateKey: pki.secrets.certificateKey })).stderr).toMatch(/message authentication failed/);
    expect(await join(m1, 'm1', { address: '10.4.0.2', token: fresh, certificateKey: key })).toMatchObject({ code: 0 });
    const m2 = vm('i-master2', '10.10.0.7', '198.51.100.5');
    const ownerGone = await new Promise<number>((resolve, reject) => {
      const target = cps.route('198.51.100.1', 6443)!;
      https.request({ method: 'DELETE', host: target.host, port: target.port, path: `${secrets}/${meta.name}`, ca: pki.caCertificate, cert: pki.adminCertificate, key: pki.adminKey, servername: 'kubernetes' }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).on('error', reject).end();
    });
    expect(ownerGone).toBe(200);
    expect((await join(m2, 'm2', { address: '10.4.0.3', token: fresh, certificateKey: key })).stderr).toMatch(/Secret "kubeadm-certs" was not found/);
  });

  it('upgrade apply changes the cluster version; upgrade node the kubelet version', async () => {
    const m0 = await initMaster0();
    expect(await cps.kubeadm(m0, ['upgrade', 'apply', '-y', 'v1.34.3'])).toMatchObject({ code: 0 });
    expect((await get('198.51.100.1', '/version')).body.gitVersion).toBe('v1.34.3');
    const node = (await get('198.51.100.1', '/api/v1/nodes/m0')).body as { status: { nodeInfo: { kubeletVersion: string } } };
    expect(node.status.nodeInfo.kubeletVersion).toBe('v1.34.3');
    const w = vm('i-worker0', '10.10.0.5', '198.51.100.2');
    expect((await cps.kubeadm(w, ['upgrade', 'node'])).stderr).toMatch(/not part of a cluster/);
  });

  it('judges token lifetimes by the VMs\' clock: a day later init\'s token is refused, a fresh one accepted', async () => {
    await cps.closeAll();
    let offsetMs = 0;
    cps = new SandboxControlPlanes({ sim: { kubelet: { podStartDelayMs: 0 } }, clock: () => Date.now() + offsetMs });
    await initMaster0();
    offsetMs = 25 * 3600_000;
    const w = vm('i-worker0', '10.10.0.5', '198.51.100.2');
    expect((await join(w, 'w0', { address: '10.4.0.5' })).stderr).toMatch(/could not find a JWS signature in the cluster-info ConfigMap for token ID/);
    const fresh = newBootstrapToken();
    // made as the platform makes it, valid for an hour from the moved time
    expect((await post('198.51.100.1', '/api/v1/namespaces/kube-system/secrets', bootstrapTokenSecret(fresh, new Date(Date.now() + offsetMs + 3600_000), 'join'))).status).toBe(201);
    expect(await join(w, 'w0', { address: '10.4.0.5', token: fresh })).toMatchObject({ code: 0 });
  });

  it('certs check-expiration lists admin.conf and apiserver by the VMs\' clock; certs renew issues them anew for a year and the API server serves the new one', async () => {
    await cps.closeAll();
    let offsetMs = 0;
    cps = new SandboxControlPlanes({ sim: { kubelet: { podStartDelayMs: 0 } }, clock: () => Date.now() + offsetMs });
    const m0 = await initMaster0();
    type Info = { kind: string; apiVersion: string; certificates: { name: string; expirationDate: string; residualTime: number; certificateAuthority: string; missing: boolean }[] };
    const check = async () => {
      const r = await cps.kubeadm(m0, ['certs', 'check-expiration', '-o', 'json']);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      return JSON.parse(r.stdout) as Info;
    };
    const served = () => new Promise<X509Certificate>((resolve, reject) => {
      const target = cps.route('198.51.100.1', 6443)!;
      https.get({ host: target.host, port: target.port, path: '/version', ca: pki.caCertificate, cert: pki.adminCertificate, key: pki.adminKey, servername: 'kubernetes', agent: false }, (res) => {
        resolve(new X509Certificate((res.socket as import('node:tls').TLSSocket).getPeerCertificate().raw));
        res.resume();
      }).on('error', reject);
    });
    const file = (f: string) => readFileSync(path.join(m0.fsRoot, f), 'utf8');
    const adminCert = () => new X509Certificate(Buffer.from((parseYaml(file('etc/kubernetes/admin.conf')) as { users: { user: Record<string, string> }[] }).users[0].user['client-certificate-data'], 'base64'));

    const before = await check();
    expect(before).toMatchObject({ kind: 'CertificateExpirationInfo', apiVersion: 'output.kubeadm.k8s.io/v1alpha3' });
    expect(before.certificates.map((c) => c.name)).toEqual(['admin.conf', 'apiserver']);
    const apiserverBefore = new X509Certificate(file('etc/kubernetes/pki/apiserver.crt'));
    expect(Date.parse(before.certificates[1].expirationDate)).toBe(Date.parse(apiserverBefore.validTo));
    expect(Date.parse(before.certificates[0].expirationDate)).toBe(Date.parse(adminCert().validTo));
    expect(before.certificates[1].residualTime).toBeGreaterThan(364 * 86400);

    // 340 days later: 25 days left by the VMs' clock
    offsetMs = 340 * 86400_000;
    const aged = await check();
    expect(aged.certificates[1].residualTime).toBeGreaterThan(24 * 86400);
    expect(aged.certificates[1].residualTime).toBeLessThan(26 * 86400);
    const text = await cps.kubeadm(m0, ['certs', 'check-expiration']);
    expect(text.stdout).toMatch(/^CERTIFICATE\s+EXPIRES\s+RESIDUAL TIME\s+CERTIFICATE AUTHORITY\s+EXTERNALLY MANAGED\n/);
    expect(text.stdout).toMatch(/\napiserver\s+.+\s+2[45]d\s+ca\s+no\n/);

    const adminBefore = parseYaml(file('etc/kubernetes/admin.conf')) as { clusters: unknown[]; users: { name: string }[] };
    const renewed = await cps.kubeadm(m0, ['certs', 'renew', 'apiserver']);
    expect(renewed).toMatchObject({ code: 0, stderr: '' });
    expect(renewed.stdout).toMatch(/certificate for serving the Kubernetes API renewed/);
    const apiserverAfter = new X509Certificate(file('etc/kubernetes/pki/apiserver.crt'));
    expect(Date.parse(apiserverAfter.validTo)).toBeGreaterThan(Date.now() + offsetMs + 364 * 86400_000);
    expect(apiserverAfter.subjectAltName).toBe(apiserverBefore.subjectAltName);
    expect(apiserverAfter.subject).toBe(apiserverBefore.subject);
    expect(apiserverAfter.checkIssued(new X509Certificate(pki.caCertificate))).toBe(true);
    // a new key pair, as kubeadm's renewal makes
    const spki = (c: X509Certificate) => c.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect(spki(apiserverAfter)).not.toBe(spki(apiserverBefore));
    expect(apiserverAfter.checkPrivateKey(createPrivateKey(file('etc/kubernetes/pki/apiserver.key')))).toBe(true);
    // already valid on the host's clock (TLS peers check it), and served at once
    expect(Date.parse(apiserverAfter.validFrom)).toBeLessThanOrEqual(Date.now());
    expect((await served()).fingerprint256).toBe(apiserverAfter.fingerprint256);

    expect(await cps.kubeadm(m0, ['certs', 'renew', 'admin.conf'])).toMatchObject({ code: 0 });
    expect(Date.parse(adminCert().validTo)).toBeGreaterThan(Date.now() + offsetMs + 364 * 86400_000);
    expect(adminCert().subject).toBe('CN=kubernetes-admin\nO=kubeadm:cluster-admins');
    const adminAfter = parseYaml(file('etc/kubernetes/admin.conf')) as { clusters: unknown[]; users: { name: string }[] };
    expect(adminAfter.clusters).toEqual(adminBefore.clusters);
    expect(adminAfter.users[0].name).toBe(adminBefore.users[0].name);
    expect((await check()).certificates.every((c) => c.residualTime > 364 * 86400)).toBe(true);

    expect((await cps.kubeadm(m0, ['certs', 'renew', 'etcd-server'])).stderr).toMatch(/unknown command "etcd-server" for "kubeadm certs renew"/);
    const w = vm('i-worker0', '10.10.0.5', '198.51.100.2');
    expect((await cps.kubeadm(w, ['certs', 'renew', 'all'])).stderr).toMatch(/not a control-plane node/);
  });
});

describe('a control-plane endpoint that survives a master: each VM dials it through its hosts file and its API server proxy', () => {
  const LB_ENDPOINT = 'control-plane.skyweave.internal:6444';
  /** What node-agent writes on every node from its mesh configuration (apiserver-proxy.ts), for `apiServers`. */
  const proxyOn = (m: SandboxMachine, apiServers: string[]) => {
    write(m, '/etc/hosts', '127.0.0.1 localhost\n127.0.0.1 control-plane.skyweave.internal # skyweave control-plane endpoint\n');
    write(m, '/etc/haproxy/haproxy.cfg', [
      'global', '  maxconn 4000', 'defaults', '  mode tcp', '  option redispatch', '  retries 3',
      'frontend kube-apiserver', '  bind 127.0.0.1:6444', '  default_backend kube-apiserver',
      'backend kube-apiserver', '  balance leastconn', '  default-server check inter 2s fall 2 rise 2', ...apiServers.map((a, i) => `  server master-${i} ${a}`), '',
    ].join('\n'));
  };
  const all = ['10.4.0.1:6443', '10.4.0.2:6443', '10.4.0.3:6443'];
  const lease = async (host: string, name: string) => ((await get(host, `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`)).body as { spec: { renewTime: string } }).spec.renewTime;
  const joinVia = (m: SandboxMachine, name: string, address: string, certificateKey?: string) => cps.kubeadm(m, ['join', '--config', write(m, '/etc/kubernetes/kubeadm.yaml', renderKubeadmConfig([joinConfiguration({
    node: { name, address, labels: labels(`id-${name}`) }, controlPlaneEndpoint: LB_ENDPOINT, bootstrapToken: pki.secrets.bootstrapToken, caCertHash: caCertHash(pki.caCertificate),
    ...(certificateKey ? { certificateKey } : {}),
  })]))]);

  it('three masters and two workers join through their own proxies; with master-0 gone, every node whose proxy lists the others still reaches the API and heartbeats, one whose proxy lists only master-0 does not', async () => {
    await cps.closeAll();
    cps = new SandboxControlPlanes({ sim: { kubelet: { podStartDelayMs: 0, leaseRenewMs: 100 } } });
    const m0 = vm('i-master0', '10.10.0.4', '198.51.100.1');
    proxyOn(m0, all);
    const serving = await issueApiServerCertificate({ certificate: pki.caCertificate, key: pki.caKey }, apiServerSans({ nodeName: 'm0', masterAddresses: ['10.4.0.1'], extraIps: [m0.privateIp, m0.publicIp], extraDnsNames: ['control-plane.skyweave.internal'] }));
    for (const f of pkiFiles({
      ca: { certificate: pki.caCertificate, key: pki.caKey },
      frontProxyCa: { certificate: pki.public.frontProxyCaCertificate, key: pki.secrets.frontProxyCaKey },
      etcdCa: { certificate: pki.public.etcdCaCertificate, key: pki.secrets.etcdCaKey },
      serviceAccount: { key: pki.secrets.serviceAccountKey, publicKey: pki.public.serviceAccountPublicKey },
      apiServer: serving,
    })) write(m0, f.path, f.content);
    expect(await cps.kubeadm(m0, ['init', '--upload-certs', '--config', write(m0, '/etc/kubernetes/kubeadm.yaml', renderKubeadmConfig([
      initConfiguration({ node: { name: 'm0', address: '10.4.0.1', labels: labels('id-m0') }, bootstrapToken: pki.secrets.bootstrapToken, certificateKey: pki.secrets.certificateKey }),
      clusterConfiguration({ clusterName: 'demo', kubernetesVersion: '1.34.2', controlPlaneEndpoint: LB_ENDPOINT }),
    ]))])).toMatchObject({ code: 0 });
    // a node without the hosts line cannot even resolve the endpoint: kubeadm join finds nothing there
    const stray = vm('i-stray', '10.10.0.9', '198.51.100.9');
    expect((await joinVia(stray, 'stray', '10.4.0.9')).stderr).toMatch(/dial tcp control-plane.skyweave.internal:6444: connect: connection refused/);
    const m1 = vm('i-master1', '10.10.0.6', '198.51.100.4');
    const m2 = vm('i-master2', '10.10.0.7', '198.51.100.5');
    const w0 = vm('i-worker0', '10.20.0.5', '198.51.100.2');
    const w1 = vm('i-worker1', '10.20.0.6', '198.51.100.3');
    for (const m of [m1, m2, w0]) proxyOn(m, all);
    proxyOn(w1, ['10.4.0.1:6443']);
    expect(await joinVia(m1, 'm1', '10.4.0.2', pki.secrets.certificateKey)).toMatchObject({ code: 0 });
    expect(await joinVia(m2, 'm2', '10.4.0.3', pki.secrets.certificateKey)).toMatchObject({ code: 0 });
    expect(await joinVia(w0, 'w0', '10.4.0.4')).toMatchObject({ code: 0 });
    expect(await joinVia(w1, 'w1', '10.4.0.5')).toMatchObject({ code: 0 });
    // kubelet.conf names the endpoint; every master's certificate names its host, as kubeadm adds it from controlPlaneEndpoint
    expect(readFileSync(path.join(w0.fsRoot, 'etc/kubernetes/kubelet.conf'), 'utf8')).toContain(`server: https://${LB_ENDPOINT}`);
    expect(new X509Certificate(readFileSync(path.join(m1.fsRoot, 'etc/kubernetes/pki/apiserver.crt'), 'utf8')).checkHost('control-plane.skyweave.internal')).toBe('control-plane.skyweave.internal');
    const via = (m: SandboxMachine) => cps.route('control-plane.skyweave.internal', 6444, { instanceId: m.instanceId, fsRoot: m.fsRoot });
    const server0 = cps.route('198.51.100.1', 6443);
    for (const m of [m0, m1, m2, w0, w1]) expect(via(m)).toBeDefined();
    // the proxy's first server is master-0 while it lives
    expect(via(w0)).toEqual(server0);

    await cps.vmStopped(m0.instanceId);
    expect(via(w0)).toBeDefined();
    expect(via(w0)).not.toEqual(server0);
    expect(via(w0)).toEqual(cps.route('198.51.100.4', 6443));
    for (const m of [m1, m2]) expect(via(m)).toBeDefined();
    expect(via(w1)).toBeUndefined();
    // heartbeats: renewed through the endpoint by every node that reaches it, not by the one that does not
    const before = { m1: await lease('198.51.100.4', 'm1'), m2: await lease('198.51.100.4', 'm2'), w0: await lease('198.51.100.4', 'w0'), w1: await lease('198.51.100.4', 'w1') };
    await new Promise((r) => setTimeout(r, 600));
    const after = { m1: await lease('198.51.100.4', 'm1'), m2: await lease('198.51.100.4', 'm2'), w0: await lease('198.51.100.4', 'w0'), w1: await lease('198.51.100.4', 'w1') };
    for (const n of ['m1', 'm2', 'w0'] as const) expect(after[n] > before[n]).toBe(true);
    expect(after.w1).toBe(before.w1);
    // its proxy rewritten with the live masters (what the agent does when the mesh configuration changes): back
    proxyOn(w1, all);
    expect(via(w1)).toBeDefined();
    await new Promise((r) => setTimeout(r, 400));
    expect((await lease('198.51.100.4', 'w1')) > after.w1).toBe(true);
  });
});
