import { randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import {
  type ClusterPki, apiServerSans, caCertHash, clusterConfiguration, generateClusterPki, initConfiguration, issueApiServerCertificate, joinConfiguration, pkiFiles, renderKubeadmConfig,
} from '@skyweave/bootstrap';
import { CloudCredentialEntity, ClusterEntity, NodeEntity, SecretBox } from '@skyweave/persistence';
import { createGateway } from '@skyweave/api-gateway/src/app';
import { installAddons } from '@skyweave/kube-view/src/addons';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';
import { freshDatabase } from '../support/db';
import { Browser } from '../support/browser';
import { type SandboxKube, startSandboxKube } from '../support/sandbox-kube';

const log = pino({ level: 'silent' });
interface ProblemBody { type: string; status: number; detail: string }
interface GrafanaUser { id: number; login: string; email: string }
interface Echo { standIn: string; method: string; path: string; query: string; headers: string[]; webauth: Record<string, string> }

/*
 * Issue 14 item 4, the single sign-on gateway to cluster middleware, end to end on this machine: the gateway in-process
 * on a real PostgreSQL over real HTTP; a sandbox cluster (its real-wire API server, kube-sim as scheduler and kubelets,
 * reached through the sandbox's CONNECT proxy as the platform reaches it); the add-ons applied by the same function the
 * kube-watcher runs (server-side apply); Grafana and the dashboard are the sandbox's stand-ins behind the API server's
 * service proxy (docs/kube-sandbox.md). No mocks.
 */
describe('single sign-on to cluster middleware (issue 14, item 4)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let kube: SandboxKube;
  let pki: ClusterPki;
  let app: INestApplication;
  let url: string;
  let clusterId: string;
  const box = new SecretBox(randomBytes(32).toString('base64'));
  const password = 'correct horse battery staple';
  const alice = new Browser();
  const bob = new Browser();
  let globex: { organisationId: string; apiKey: string };
  let aliceKey: string;

  beforeAll(async () => {
    [db, kube, pki] = await Promise.all([freshDatabase(), startSandboxKube(), generateClusterPki()]);
    // the cluster's control plane: master-0 (public IP 198.51.100.7), and one worker for the add-ons' pods
    const apiServer = await issueApiServerCertificate({ certificate: pki.caCertificate, key: pki.caKey }, apiServerSans({ nodeName: 'm0', masterAddresses: ['10.4.0.1'], extraIps: ['10.10.0.4', '198.51.100.7'] }));
    await kube.init({
      kubeadmConfig: renderKubeadmConfig([
        initConfiguration({ node: { name: 'm0', address: '10.4.0.1' }, bootstrapToken: pki.secrets.bootstrapToken, certificateKey: pki.secrets.certificateKey }),
        clusterConfiguration({ clusterName: 'prod', kubernetesVersion: '1.34.2', controlPlaneEndpoint: '10.4.0.1:6443' }),
      ]),
      files: pkiFiles({
        ca: { certificate: pki.caCertificate, key: pki.caKey },
        frontProxyCa: { certificate: pki.public.frontProxyCaCertificate, key: pki.secrets.frontProxyCaKey },
        etcdCa: { certificate: pki.public.etcdCaCertificate, key: pki.secrets.etcdCaKey },
        serviceAccount: { key: pki.secrets.serviceAccountKey, publicKey: pki.public.serviceAccountPublicKey },
        apiServer,
      }),
    }, { instanceId: 'i-m0', privateIp: '10.10.0.4', publicIp: '198.51.100.7' });
    await kube.join(renderKubeadmConfig([joinConfiguration({
      node: { name: 'w0', address: '10.4.0.10' }, controlPlaneEndpoint: '10.4.0.1:6443', bootstrapToken: pki.secrets.bootstrapToken, caCertHash: caCertHash(pki.caCertificate),
    })]), { instanceId: 'i-w0', privateIp: '10.10.0.6' });

    app = await createGateway({ ds: db.ds, box, endpoints: kube.endpoints, log, identity: { secureCookies: false, localAccounts: true, scryptN: 2 ** 12 }, limits: { rateFlushMs: 0 } });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;

    // alice owns acme and its cluster; bob is a viewer of globex only
    const signup = await alice.request<{ organisationId: string }>('POST', `${url}/v1/auth/local/signup`, { body: { email: 'Alice@Example.com', password, organisationName: 'acme' } });
    expect(signup.status).toBe(201);
    const acmeId = signup.body.organisationId;
    for (const cloud of ['aws', 'gcp'] as const) {
      await db.ds.getRepository(CloudCredentialEntity).insert({ id: randomUUID(), organisationId: acmeId, cloud, name: cloud, identity: cloud, ciphertext: box.seal('{}') });
    }
    const created = await alice.request<{ id: string }>('POST', `${url}/v1/clusters`, { body: { name: 'prod', region: 'us-east', clouds: ['aws', 'gcp'], controlPlane: { cloud: 'aws', count: 1 }, workers: [{ cloud: 'gcp', count: 1 }] } });
    expect(created.status).toBe(202);
    clusterId = created.body.id;
    // no reconciler runs here: the cluster is made Ready on the control plane above, as provisioning would leave it
    await db.ds.getRepository(ClusterEntity).update({ id: clusterId }, {
      phase: 'Ready', caCertificate: pki.caCertificate, caKeySealed: box.seal(pki.caKey), adminCertificate: pki.adminCertificate, adminKeySealed: box.seal(pki.adminKey),
    });
    await db.ds.getRepository(NodeEntity).update({ clusterId, role: 'master', ordinal: 0 }, { phase: 'Joined', publicIp: '198.51.100.7', privateIp: '10.10.0.4' });

    globex = await createOrganisation(db.ds, 'globex');
    const inv = await fetch(`${url}/v1/invitations`, { method: 'POST', headers: { authorization: `Bearer ${globex.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bob@example.com', role: 'viewer' }) });
    const { token } = (await inv.json()) as { token: string };
    expect((await bob.request('POST', `${url}/v1/auth/local/signup`, { body: { email: 'bob@example.com', password, invitationToken: token } })).status).toBe(201);
    const key = await alice.request<{ key: string }>('POST', `${url}/v1/api-keys`, { body: { name: 'ci', role: 'viewer' } });
    expect(key.status).toBe(201);
    aliceKey = key.body.key;

    // the platform's install (what the kube-watcher runs after the access grant), then the pods start in kube-sim
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'prod', server: 'https://198.51.100.7:6443', caData: Buffer.from(pki.caCertificate).toString('base64'), tlsServerName: 'kubernetes', proxyUrl: kube.endpoints.kubernetes.proxyUrl }],
      users: [{ name: 'admin', certData: Buffer.from(pki.adminCertificate).toString('base64'), keyData: Buffer.from(pki.adminKey).toString('base64') }],
      contexts: [{ name: 'admin', cluster: 'prod', user: 'admin' }], currentContext: 'admin',
    });
    await installAddons(kc, { clusterId });
    await installAddons(kc, { clusterId }); // idempotent
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [g, d] = await Promise.all([
        alice.request('GET', `${url}/clusters/${clusterId}/grafana/api/health`),
        alice.request('GET', `${url}/clusters/${clusterId}/dashboard/`),
      ]);
      if (g.status === 200 && d.status === 200) break;
      if (Date.now() > deadline) throw new Error(`add-ons not served after 60 s: grafana ${g.status} ${JSON.stringify(g.body)}, dashboard ${d.status}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await kube?.close();
    await db?.drop();
  });

  it('signs a member of the organisation in to Grafana as themselves (X-WEBAUTH-USER), through the API server\'s service proxy', async () => {
    const r = await alice.request<GrafanaUser>('GET', `${url}/clusters/${clusterId}/grafana/api/user`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ login: 'alice@example.com', email: 'alice@example.com' });
  });

  it('overwrites an X-WEBAUTH-USER the client sends', async () => {
    const r = await alice.request<GrafanaUser>('GET', `${url}/clusters/${clusterId}/grafana/api/user`, { headers: { 'X-WEBAUTH-USER': 'admin', 'x-webauth-email': 'admin@example.com' } });
    expect([r.status, r.body.login]).toEqual([200, 'alice@example.com']);
  });

  it('keeps the path under the prefix and the query string (Grafana from its sub path, the dashboard at its root)', async () => {
    const g = await alice.request<string>('GET', `${url}/clusters/${clusterId}/grafana/d/abc/my-board?orgId=1&var-x=a%20b`, { headers: { accept: 'text/html' } });
    expect(g.status).toBe(200);
    expect(g.body).toContain(`<p id="path">/clusters/${clusterId}/grafana/d/abc/my-board</p>`);
    expect(g.body).toContain('<p id="user">alice@example.com</p>');
    const d = await alice.request<Echo>('GET', `${url}/clusters/${clusterId}/dashboard/api/v1/pod/default?itemsPerPage=10&x=a%20b`, { headers: { accept: 'application/json' } });
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ standIn: 'kubernetes-dashboard', method: 'GET', path: '/api/v1/pod/default', query: '?itemsPerPage=10&x=a%20b' });
    // the user's cookies and credentials stay at the gateway; the identity is the gateway's
    expect(d.body.headers).not.toEqual(expect.arrayContaining(['cookie']));
    expect(d.body.headers).not.toContain('authorization');
    expect(d.body.webauth).toEqual({ 'x-webauth-user': 'alice@example.com' });
    const page = await alice.request<string>('GET', `${url}/clusters/${clusterId}/dashboard/`, { headers: { accept: 'text/html' } });
    expect([page.status, page.body]).toEqual([200, expect.stringContaining('<title>Kubernetes Dashboard</title>')]);
    const bare = await alice.request('GET', `${url}/clusters/${clusterId}/grafana?orgId=1`);
    expect([bare.status, bare.headers.get('location')]).toEqual([308, `/clusters/${clusterId}/grafana/?orgId=1`]);
  });

  it('refuses signed-out users (401), with an RFC 9457 problem', async () => {
    for (const app of ['grafana/api/user', 'dashboard/']) {
      const r = await new Browser().request<ProblemBody>('GET', `${url}/clusters/${clusterId}/${app}`);
      expect([r.status, r.body.type, r.headers.get('content-type')]).toEqual([401, 'https://skyweave.dev/problems/unauthorized', expect.stringContaining('application/problem+json')]);
    }
  });

  it('refuses a session of another organisation on this cluster (404, as any cross-organisation read)', async () => {
    for (const app of ['grafana/api/user', 'dashboard/']) {
      const r = await bob.request<ProblemBody>('GET', `${url}/clusters/${clusterId}/${app}`);
      expect([r.status, r.body.type]).toEqual([404, 'https://skyweave.dev/problems/not-found']);
    }
    // and an unknown cluster looks the same
    const r = await alice.request<ProblemBody>('GET', `${url}/clusters/${randomUUID()}/grafana/`);
    expect(r.status).toBe(404);
  });

  it('refuses API keys, of this organisation or another (403 session-required): the gateway signs in people', async () => {
    for (const key of [aliceKey, globex.apiKey]) {
      const r = await fetch(`${url}/clusters/${clusterId}/grafana/api/user`, { headers: { authorization: `Bearer ${key}` } });
      expect(r.status).toBe(403);
      expect(((await r.json()) as ProblemBody).type).toBe('https://skyweave.dev/problems/session-required');
    }
  });

  it('forwards writes from the gateway\'s own pages only (Origin), with their body', async () => {
    const refused = await alice.request<ProblemBody>('POST', `${url}/clusters/${clusterId}/dashboard/api/v1/csrftoken/login`, { body: { a: 1 }, headers: { accept: 'application/json', origin: 'https://evil.example' } });
    expect([refused.status, refused.body.type]).toEqual([403, 'https://skyweave.dev/problems/csrf-refused']);
    const ok = await alice.request<Echo>('POST', `${url}/clusters/${clusterId}/dashboard/api/v1/csrftoken/login`, { body: { a: 1 }, headers: { accept: 'application/json', origin: url } });
    expect([ok.status, ok.body.method, ok.body.path]).toEqual([200, 'POST', '/api/v1/csrftoken/login']);
  });

  it('refuses paths that would climb out of the service proxy', async () => {
    // sent raw (fetch would resolve the dot segments itself, as browsers do)
    const raw = (path: string) => new Promise<{ status: number; body: ProblemBody }>((resolve, reject) => {
      const { hostname, port } = new URL(url);
      const req = request({ hostname, port, path, headers: { cookie: `skyweave_session=${alice.cookie(url, 'skyweave_session') ?? ''}` } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as ProblemBody }));
      });
      req.on('error', reject);
      req.end();
    });
    for (const p of ['dashboard/../../../api/v1/secrets', 'dashboard/%2e%2e/%2e%2e/secrets', 'dashboard/a%2F..%2F..%2Fsecrets', 'grafana/..%5c..%5csecrets']) {
      const r = await raw(`/clusters/${clusterId}/${p}`);
      expect([p, r.status, r.body.type]).toEqual([p, 400, 'https://skyweave.dev/problems/invalid-path']);
    }
  });
});
