import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import pino from 'pino';
import { CloudCredentialEntity, ClusterEntity, NodeEntity, SecretBox, hashToken } from '@skyweave/persistence';
import type { CloudCredentials } from '@skyweave/cloud-adapters';
import { createGateway } from '@skyweave/api-gateway/src/app';
import { RunningEmulator, startEmulator } from '@skyweave/cloud-emulator/src/emulator';
import { generateClusterPki } from '@skyweave/bootstrap';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';
import { ApiClient } from '@skyweave/tools/stack/api';
import { freshDatabase } from '../support/db';

/**
 * Issue 10 (security and robustness probe): each finding reproduced with the probe's request, against the gateway
 * in-process on a real PostgreSQL database and the sandbox cloud. Every test failed before its fix.
 */
describe('api-gateway under attack (issue 10)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let emu: RunningEmulator;
  let vmRoot: string;
  /** A gateway as on a real installation: no endpoint overrides. */
  let plainApp: INestApplication;
  /** A gateway on the sandbox cloud, whose GCP endpoint (and token endpoint) is `tokenHost`. */
  let app: INestApplication;
  let plain: ApiClient;
  let api: ApiClient;
  let orgId: string;
  /** An HTTP listener standing for an internal service: records what reaches it, answers an OAuth error with its own text. */
  let tokenHost: http.Server;
  let tokenHostUrl: string;
  const hits: string[] = [];
  const logLines: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void logLines.push(s) });
  const box = new SecretBox(randomBytes(32).toString('base64'));

  beforeAll(async () => {
    vmRoot = mkdtempSync(path.join(os.tmpdir(), 'skyweave-it-sec-'));
    tokenHost = http.createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_grant', error_description: 'INTERNAL-SERVICE-SAYS: db=10.0.0.9 password=hunter2' })));
    });
    await new Promise<void>((r) => tokenHost.listen(0, '127.0.0.1', r));
    tokenHostUrl = `http://127.0.0.1:${(tokenHost.address() as AddressInfo).port}`;
    [db, emu] = await Promise.all([freshDatabase(), startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, vmRoot })]);
    plainApp = await createGateway({ ds: db.ds, box, endpoints: {}, log, joinLongPollMs: 300, meshLongPollMs: 300 });
    app = await createGateway({ ds: db.ds, box, endpoints: { ...emu.endpoints, gcp: tokenHostUrl }, log, joinLongPollMs: 300, meshLongPollMs: 300 });
    await plainApp.listen(0, '127.0.0.1');
    await app.listen(0, '127.0.0.1');
    const a = await createOrganisation(db.ds, 'acme');
    orgId = a.organisationId;
    plain = new ApiClient((await plainApp.getUrl()).replace('[::1]', '127.0.0.1'), a.apiKey);
    api = new ApiClient((await app.getUrl()).replace('[::1]', '127.0.0.1'), a.apiKey);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await plainApp?.close();
    await db?.drop();
    await emu?.close();
    await new Promise((r) => tokenHost?.close(r));
    if (vmRoot) rmSync(vmRoot, { recursive: true, force: true });
  });

  const gcpKey = (over: Record<string, unknown> = {}) => ({
    type: 'service_account', project_id: 'probe-project', private_key_id: 'k1',
    private_key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: 'probe@probe-project.iam.gserviceaccount.com', token_uri: 'https://oauth2.googleapis.com/token', ...over,
  });

  describe('finding 1: SSRF through a GCP key file token_uri', () => {
    it.each([
      [`http://127.0.0.1:PORT/token`],
      ['https://oauth2.googleapis.com.evil.test/token'],
      ['https://oauth2.googleapis.com/token?x=http://127.0.0.1/'],
      ['file:///etc/passwd'],
    ])('refuses token_uri %s with 422 naming the field and rule, and never calls it', async (uri) => {
      const before = hits.length;
      const r = await plain.call<{ type: string; detail: string; errors: { field: string; rule: string }[] }>('POST', '/v1/cloud-credentials', {
        cloud: 'gcp', credentials: gcpKey({ token_uri: uri.replace('PORT', String((tokenHost.address() as AddressInfo).port)) }),
      });
      expect(r.status).toBe(422);
      expect(r.body.errors).toEqual([expect.objectContaining({ field: 'credentials.token_uri', rule: 'google-token-endpoint' })]);
      expect(hits.length).toBe(before);
      expect(await db.ds.getRepository(CloudCredentialEntity).countBy({ organisationId: orgId, cloud: 'gcp' })).toBe(0);
    });

    it('never echoes what a token endpoint answered into the problem', async () => {
      const before = hits.length;
      const r = await api.call<{ type: string; detail: string }>('POST', '/v1/cloud-credentials', { cloud: 'gcp', credentials: gcpKey() });
      expect(hits.length).toBe(before + 1); // the configured (sandbox) endpoint was asked
      expect(r.status).toBe(422);
      expect(r.body.type).toMatch(/invalid-credentials$/);
      expect(JSON.stringify(r.body)).not.toMatch(/INTERNAL-SERVICE-SAYS|hunter2/);
    });
  });

  describe('findings 2–4: agent call-backs', () => {
    let clusterId: string;
    let nodes: NodeEntity[];
    const tokens = new Map<string, string>();
    beforeAll(async () => {
      for (const cloud of ['aws', 'gcp'] as const) {
        await db.ds.getRepository(CloudCredentialEntity).insert({ id: randomUUID(), organisationId: orgId, cloud, name: cloud, identity: cloud, ciphertext: box.seal('{}') });
      }
      clusterId = (await api.ok<{ id: string }>('POST', '/v1/clusters', {
        name: 'probe', region: 'us-east', clouds: ['aws', 'gcp'], controlPlane: { cloud: 'aws', count: 1 }, workers: [{ cloud: 'gcp', count: 2 }],
      })).id;
      nodes = await db.ds.getRepository(NodeEntity).find({ where: { clusterId }, order: { role: 'ASC', ordinal: 'ASC' } });
      for (const n of nodes) {
        const t = 'swnt_' + randomBytes(32).toString('base64url');
        tokens.set(n.id, t);
        await db.ds.getRepository(NodeEntity).update({ id: n.id }, { agentTokenHash: hashToken(t) });
      }
    });
    /** POST as node `nodeId`: with its token, with `auth`, or with no Authorization header when `auth` is null. */
    const post = (nodeId: string, p: string, body: string | object, auth: string | null = tokens.get(nodeId) ?? null) =>
      fetch(`${api.baseUrl}/agent/v1/nodes/${nodeId}/${p}`, {
        method: 'POST', headers: { ...(auth ? { authorization: `Bearer ${auth}` } : {}), 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const deepObject = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    const deepArray = (n: number) => '{"latencies":' + '['.repeat(n) + ']'.repeat(n) + '}';

    it('finding 2: answers deeply nested JSON with a 400 problem before transforming it, on every route, and logs no stack', async () => {
      const logsBefore = logLines.length;
      for (const body of [deepObject(10_000), deepArray(15_000)]) {
        const pub = await api.call<{ type: string }>('POST', '/v1/clusters', body);
        expect(pub.status).toBe(400);
        expect(pub.headers.get('content-type')).toContain('application/problem+json');
        expect(pub.body.type).toMatch(/body-too-deep$/);
        // an agent route authenticates first: no token, 401 whatever the body
        expect((await post(nodes[0].id, 'status', body, null)).status).toBe(401);
        expect((await post(nodes[0].id, 'status', body, 'swnt_wrong')).status).toBe(401);
        const agent = await post(nodes[0].id, 'status', body);
        expect(agent.status).toBe(400);
        expect(((await agent.json()) as { type: string }).type).toMatch(/body-too-deep$/);
      }
      // 33 levels is one too many; a body nested less deeply is judged by validation as before
      expect((await api.call('POST', '/v1/clusters', deepObject(33))).status).toBe(400);
      expect((await api.call('POST', '/v1/clusters', deepObject(20))).status).toBe(422);
      // brackets inside strings do not count
      expect((await api.call('POST', '/v1/clusters', { name: '['.repeat(5000) })).status).toBe(422);
      expect(logLines.slice(logsBefore).filter((l) => /unhandled error|RangeError|stack/i.test(l))).toEqual([]);
      expect((await fetch(`${api.baseUrl}/health`)).status).toBe(200);
    });

    it('finding 2: checks the node token of an agent route before the body is parsed (malformed JSON without a token is 401)', async () => {
      expect((await post(nodes[0].id, 'status', '{"latencies": ', null)).status).toBe(401);
      expect((await post(nodes[0].id, 'status', '{"latencies": ')).status).toBe(400);
      expect((await post('not-a-uuid', 'status', '{}', 'swnt_x')).status).toBe(400);
    });

    it('finding 3: takes only a /24 inside 10.217.0.0/16 as pod CIDR, unique in the cluster, set once', async () => {
      const [a, b] = nodes;
      const refused = async (nodeId: string, podCidr: string, status: number, rule: string) => {
        const r = await post(nodeId, 'status', { podCidr });
        expect(r.status).toBe(status);
        const body = (await r.json()) as { errors?: { field: string; rule: string }[]; type: string };
        expect(body.errors ?? []).toEqual([expect.objectContaining({ field: 'podCidr', rule })]);
      };
      await refused(a.id, '10.217.0.0/16', 422, 'pod-cidr-size');
      await refused(a.id, '10.217.0.0/23', 422, 'pod-cidr-size');
      await refused(a.id, '10.217.3.7/24', 422, 'pod-cidr-network');
      await refused(a.id, '10.218.3.0/24', 422, 'pod-cidr-range');
      expect((await post(a.id, 'status', { podCidr: '10.217.5.0/24' })).status).toBe(204);
      await refused(b.id, '10.217.5.0/24', 409, 'pod-cidr-taken');
      await refused(a.id, '10.217.6.0/24', 409, 'pod-cidr-fixed');
      expect((await post(a.id, 'status', { podCidr: '10.217.5.0/24' })).status).toBe(204);
      const rows = await db.ds.getRepository(NodeEntity).findBy({ clusterId });
      expect(rows.map((n) => n.podCidr).filter(Boolean)).toEqual(['10.217.5.0/24']);
    });

    it('finding 4: keeps round trips only for peers of the same cluster, a bounded number per report', async () => {
      const [a, b, c] = nodes;
      const strangers = Array.from({ length: 200 }, () => ({ peerNodeId: randomUUID(), rttMs: 1 }));
      for (let i = 0; i < 5; i++) {
        expect((await post(a.id, 'status', { latencies: [...strangers, { peerNodeId: b.id, rttMs: 3 }, { peerNodeId: a.id, rttMs: 0 }] })).status).toBe(204);
      }
      const row = await db.ds.getRepository(NodeEntity).findOneByOrFail({ id: a.id });
      expect(Object.keys(row.peerLatencies)).toEqual([b.id]);
      expect((await post(a.id, 'status', { latencies: [{ peerNodeId: c.id, rttMs: 4 }] })).status).toBe(204);
      expect(Object.keys((await db.ds.getRepository(NodeEntity).findOneByOrFail({ id: a.id })).peerLatencies).sort()).toEqual([b.id, c.id].sort());
      const tooMany = await post(a.id, 'status', { latencies: Array.from({ length: 1000 }, () => ({ peerNodeId: randomUUID(), rttMs: 1 })) });
      expect(tooMany.status).toBe(422);
      expect(((await tooMany.json()) as { errors: { field: string; rule: string }[] }).errors).toEqual([expect.objectContaining({ field: 'latencies', rule: 'arrayMaxSize' })]);
    });

    it('finding 7: serves the kubeconfig with Cache-Control: no-store', async () => {
      // a real PKI: the admin certificate is read (and renewed when it nears expiry) before it is handed out
      const pki = await generateClusterPki();
      await db.ds.getRepository(ClusterEntity).update({ id: clusterId }, {
        phase: 'Ready', caCertificate: pki.caCertificate, caKeySealed: box.seal(pki.caKey),
        adminCertificate: pki.adminCertificate, adminKeySealed: box.seal(pki.adminKey),
      });
      // the kubeconfig names a master's address (409 no-master-address while none has one)
      await db.ds.getRepository(NodeEntity).update({ clusterId, role: 'master' }, { privateIp: '10.10.0.5' });
      const r = await api.call('GET', `/v1/clusters/${clusterId}/kubeconfig`);
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-control')).toBe('no-store');
      // node tokens and key material handed to agents are not cached either
      const reg = await post(nodes[0].id, 'mesh', {});
      expect(reg.headers.get('cache-control')).toBe('no-store');
    });
  });

  it('finding 8: takes only released Kubernetes patch versions, with bounded numbers (422 naming the rule)', async () => {
    const cluster = (await api.ok<{ items: { id: string }[] }>('GET', '/v1/clusters')).items[0];
    for (const [version, rule] of [['1.31.99999999999999999999', 'matches'], ['1.31.99', 'released-version'], ['1.27.3', 'released-version']]) {
      const r = await api.call<{ errors: { field: string; rule: string }[] }>('PATCH', `/v1/clusters/${cluster.id}`, { kubernetesVersion: version });
      expect([version, r.status]).toEqual([version, 422]);
      expect(r.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'kubernetesVersion', rule })]));
    }
    const create = await api.call<{ errors: { field: string; rule: string }[] }>('POST', '/v1/clusters', {
      name: 'unreleased', region: 'us-east', clouds: ['aws'], controlPlane: { cloud: 'aws', count: 1 }, workers: [], kubernetesVersion: '1.31.77',
    });
    expect(create.status).toBe(422);
    expect(create.body.errors).toEqual([expect.objectContaining({ field: 'kubernetesVersion', rule: 'released-version' })]);
  });

  it('finding 6: bounds limit and offset of a list (400 problem, not bigint out of range)', async () => {
    for (const q of ['offset=1e20', 'offset=1000001', 'limit=0', 'limit=201', 'offset=-1', 'limit=1e3']) {
      const r = await api.call<{ type: string; errors: { field: string }[] }>('GET', `/v1/clusters?${q}`);
      expect([q, r.status]).toEqual([q, 400]);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      expect(r.body.errors[0].field).toBe(q.split('=')[0]);
    }
    expect((await api.call('GET', '/v1/clusters?limit=200&offset=1000000')).status).toBe(200);
  });

  it('finding 7 (concurrency): 20 concurrent POSTs of one cloud\'s credentials → one 201, nineteen 409 credentials-exist', async () => {
    const org = await createOrganisation(db.ds, 'burst');
    const burst = new ApiClient(api.baseUrl, org.apiKey);
    const creds = (emu.modules.aws.createAccount() as Extract<CloudCredentials, { cloud: 'aws' }>).aws;
    const rs = await Promise.all(Array.from({ length: 20 }, () => burst.call<{ type?: string }>('POST', '/v1/cloud-credentials', { cloud: 'aws', credentials: creds })));
    expect(rs.filter((r) => r.status === 201)).toHaveLength(1);
    const rest = rs.filter((r) => r.status !== 201);
    expect(rest.map((r) => r.status)).toEqual(Array(19).fill(409));
    for (const r of rest) expect(r.body.type).toMatch(/credentials-exist$/);
  }, 60_000);

  it('finding 7 (headers): security headers, no X-Powered-By, the Bearer scheme in any case', async () => {
    const r = await fetch(`${api.baseUrl}/v1/clusters`, { headers: { authorization: `bearer ${api.apiKey}` } });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-powered-by')).toBeNull();
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect((await fetch(`${api.baseUrl}/v1/clusters`, { headers: { authorization: `BEARER ${api.apiKey}` } })).status).toBe(200);
    expect((await fetch(`${api.baseUrl}/v1/clusters`, { headers: { authorization: `Basic ${api.apiKey}` } })).status).toBe(401);
  });
});
