import { randomBytes, randomUUID } from 'node:crypto';
import * as net from 'node:net';
import * as http from 'node:http';
import type { Server } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { getStorageToken } from '@nestjs/throttler';
import pino from 'pino';
import { ApiKeyEntity, CloudCredentialEntity, ClusterEntity, NodeEntity, OrganisationEntity, SecretBox, hashToken } from '@skyweave/persistence';
import { createGateway, type GatewayDeps } from '@skyweave/api-gateway/src/app';
import { EventStreams } from '@skyweave/api-gateway/src/events-stream.controller';
import { LongPolls } from '@skyweave/api-gateway/src/long-polls';
import type { PgRateLimitStore } from '@skyweave/api-gateway/src/rate-limit';
import { LONG_POLLS } from '@skyweave/api-gateway/src/tokens';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';
import { ApiClient } from '@skyweave/tools/stack/api';
// test/ may reach into apps (eslint.config.mjs, type:test); Nx's app-import check misfires on this workspace package
// eslint-disable-next-line @nx/enforce-module-boundaries
import { PgAutoscalerStore } from '@skyweave/autoscaler/src/store-pg';
import { freshDatabase } from '../support/db';

/**
 * Issue 10, finding 10 and "besides the fixes": rate limits on a shared PostgreSQL store, per-organisation quotas,
 * the CORS policy, the HTTP server's limits, and one long poll per node and endpoint with a global bound. Gateways
 * in-process on a real PostgreSQL database, over real HTTP. Each test failed before its part was built.
 */
describe('api-gateway limits (issue 10)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  const apps: INestApplication[] = [];
  const log = pino({ level: 'silent' });
  const box = new SecretBox(randomBytes(32).toString('base64'));
  /** A fixed wall clock for the rate-limit windows: the counts of one test never straddle two windows. */
  const FIXED_NOW = Date.UTC(2030, 0, 1, 12, 0, 30);

  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    for (const a of apps) await a.close();
    await db?.drop();
  });

  async function gateway(over: Partial<GatewayDeps> = {}): Promise<{ app: INestApplication; url: string }> {
    const app = await createGateway({ ds: db.ds, box, endpoints: {}, log, joinLongPollMs: 300, meshLongPollMs: 300, rateLimitClock: () => FIXED_NOW, ...over });
    await app.listen(0, '127.0.0.1');
    apps.push(app);
    return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
  }

  /** An organisation with AWS credentials (a row: clusters can be created without a cloud). */
  async function organisation(name: string): Promise<{ organisationId: string; apiKey: string }> {
    const o = await createOrganisation(db.ds, name);
    await db.ds.getRepository(CloudCredentialEntity).insert({ id: randomUUID(), organisationId: o.organisationId, cloud: 'aws', name: 'aws', identity: 'aws', ciphertext: box.seal('{}') });
    return o;
  }

  const clusterBody = (name: string, workers = 1) => ({ name, region: 'us-east', clouds: ['aws'], controlPlane: { cloud: 'aws', count: 1 }, workers: [{ cloud: 'aws', count: workers }] });

  /** A cluster whose nodes have node tokens (returned by node id). */
  async function clusterWithTokens(api: ApiClient, name: string, workers: number): Promise<{ clusterId: string; nodes: NodeEntity[]; tokens: Map<string, string> }> {
    const clusterId = (await api.ok<{ id: string }>('POST', '/v1/clusters', clusterBody(name, workers))).id;
    const nodes = await db.ds.getRepository(NodeEntity).find({ where: { clusterId }, order: { role: 'ASC', ordinal: 'ASC' } });
    const tokens = new Map<string, string>();
    for (const n of nodes) {
      const t = 'swnt_' + randomBytes(32).toString('base64url');
      tokens.set(n.id, t);
      await db.ds.getRepository(NodeEntity).update({ id: n.id }, { agentTokenHash: hashToken(t) });
    }
    return { clusterId, nodes, tokens };
  }

  const agentPost = (url: string, nodeId: string, token: string, p: string, body: object) => fetch(`${url}/agent/v1/nodes/${nodeId}/${p}`, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });

  async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await fn())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  describe('rate limits', () => {
    it('limits an API key across two replicas sharing the PostgreSQL counters (write-through), with 429, Retry-After and RateLimit headers', async () => {
      const limits = { perApiKey: 6, perOrganisation: 1000, rateFlushMs: 0 };
      const [a, b] = [await gateway({ limits }), await gateway({ limits })];
      const o = await organisation('rl-shared');
      const [ca, cb] = [new ApiClient(a.url, o.apiKey), new ApiClient(b.url, o.apiKey)];
      const remaining: string[] = [];
      for (const c of [ca, cb, ca, cb, ca, cb]) {
        const r = await c.call('GET', '/v1/clusters');
        expect(r.status).toBe(200);
        expect(r.headers.get('x-ratelimit-limit')).toBe('6');
        expect(r.headers.get('ratelimit-limit')).toBe('6');
        remaining.push(r.headers.get('x-ratelimit-remaining') ?? '');
      }
      expect(remaining).toEqual(['5', '4', '3', '2', '1', '0']);
      for (const c of [ca, cb]) {
        const r = await c.call<{ type: string; status: number; detail: string }>('GET', '/v1/clusters');
        expect(r.status).toBe(429);
        expect(r.headers.get('content-type')).toContain('application/problem+json');
        expect(r.body.type).toMatch(/rate-limited$/);
        expect(r.body.detail).toMatch(/more than 6 requests in 60 s for this API key/);
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(Number(r.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      }
      // one row per subject and window, in the shared table
      const rows = await db.ds.query<{ key: string; hits: number }[]>(`SELECT "key", "hits" FROM "rate_limit_counters" WHERE "key" LIKE 'key:%'`);
      expect(rows.map((r) => r.hits)).toEqual([8]);
      // another key of another organisation is not affected; health and metrics are never limited
      const other = await organisation('rl-other');
      expect((await new ApiClient(a.url, other.apiKey).call('GET', '/v1/clusters')).status).toBe(200);
      for (let i = 0; i < 8; i++) {
        const h = await fetch(`${a.url}/health`);
        expect(h.status).toBe(200);
        expect(h.headers.get('x-ratelimit-limit')).toBeNull();
      }
      expect((await fetch(`${a.url}/metrics`)).status).toBe(200);
    });

    it('counts locally and flushes to PostgreSQL: a replica learns the others\' hits at its next flush', async () => {
      // flush timers far away: the test flushes by hand, so what each replica knows is exact
      const limits = { perApiKey: 6, perOrganisation: 1000, rateFlushMs: 3_600_000 };
      const [a, b] = [await gateway({ limits }), await gateway({ limits })];
      const store = (g: { app: INestApplication }) => g.app.get<PgRateLimitStore>(getStorageToken());
      const o = await organisation('rl-flush');
      const [ca, cb] = [new ApiClient(a.url, o.apiKey), new ApiClient(b.url, o.apiKey)];
      for (let i = 0; i < 4; i++) expect((await ca.call('GET', '/v1/clusters')).status).toBe(200);
      await store(a).flush();
      expect((await cb.call('GET', '/v1/clusters')).status).toBe(200); // B knew nothing yet: 1 of 6
      await store(b).flush(); // B adds its 1 and reads 5
      const r = await cb.call('GET', '/v1/clusters');
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-remaining')).toBe('0');
      expect((await cb.call('GET', '/v1/clusters')).status).toBe(429);
      // A learns B's hits (flushed by B) at its own flush
      await store(b).flush();
      await store(a).flush();
      expect((await ca.call('GET', '/v1/clusters')).status).toBe(429);
    });

    it('limits an organisation over all its keys, and a node token on the agent routes', async () => {
      const { url } = await gateway({ limits: { perApiKey: 100, perOrganisation: 4, perNode: 3, rateFlushMs: 0 } });
      const o = await organisation('rl-org');
      const second = 'swk_' + randomBytes(24).toString('base64url');
      await db.ds.getRepository(ApiKeyEntity).insert({ id: randomUUID(), organisationId: o.organisationId, name: 'second', secretHash: hashToken(second) });
      const [k1, k2] = [new ApiClient(url, o.apiKey), new ApiClient(url, second)];
      for (const c of [k1, k2, k1, k2]) expect((await c.call('GET', '/v1/regions')).status).toBe(200);
      const over = await k2.call<{ detail: string }>('GET', '/v1/regions');
      expect(over.status).toBe(429);
      expect(over.body.detail).toMatch(/for this organisation/);
      expect(over.headers.get('retry-after')).toMatch(/^\d+$/);

      const o2 = await organisation('rl-node');
      const { url: url2 } = await gateway({ limits: { perNode: 3, rateFlushMs: 0 } });
      const { nodes, tokens } = await clusterWithTokens(new ApiClient(url2, o2.apiKey), 'rl-node', 1);
      const [n1, n2] = nodes;
      for (let i = 0; i < 3; i++) expect((await agentPost(url2, n1.id, tokens.get(n1.id)!, 'status', {})).status).toBe(204);
      const limited = await agentPost(url2, n1.id, tokens.get(n1.id)!, 'status', {});
      expect(limited.status).toBe(429);
      expect(((await limited.json()) as { detail: string }).detail).toMatch(/for this node token/);
      expect((await agentPost(url2, n2.id, tokens.get(n2.id)!, 'status', {})).status).toBe(204);
    });

    it('sweeps counter rows whose window has ended', async () => {
      const { app } = await gateway();
      await db.ds.query(`INSERT INTO "rate_limit_counters" ("key", "hits", "expiresAt") VALUES ('key:old@0', 3, now() - interval '1 minute'), ('key:new@0', 3, now() + interval '1 minute')`);
      await app.get<PgRateLimitStore>(getStorageToken()).sweep();
      const keys = (await db.ds.query<{ key: string }[]>(`SELECT "key" FROM "rate_limit_counters" WHERE "key" IN ('key:old@0', 'key:new@0')`)).map((r) => r.key);
      expect(keys).toEqual(['key:new@0']);
    });
  });

  describe('quotas', () => {
    it('lets concurrent creates pass the cluster quota only up to it, and answers 403 quota-exceeded naming it', async () => {
      const { url } = await gateway({ limits: { maxClusters: 2 } });
      const o = await organisation('quota-clusters');
      const api = new ApiClient(url, o.apiKey);
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => api.call<{ id: string; name: string; type: string; detail: string; quota?: Record<string, unknown> }>('POST', '/v1/clusters', clusterBody(`quota-${i}`))));
      expect(answers.map((a) => a.status).sort()).toEqual([202, 202, 403, 403, 403, 403]);
      for (const a of answers.filter((x) => x.status === 403)) {
        expect(a.headers.get('content-type')).toContain('application/problem+json');
        expect(a.body.type).toMatch(/quota-exceeded$/);
        expect(a.body.quota).toEqual({ name: 'clusters', limit: 2, used: 2, requested: 1 });
        expect(a.body.detail).toMatch(/clusters quota is 2; it has 2/);
      }
      expect(await db.ds.getRepository(ClusterEntity).countBy({ organisationId: o.organisationId })).toBe(2);
      // a Deleted cluster no longer counts
      const one = answers.find((a) => a.status === 202)!.body;
      await db.ds.getRepository(ClusterEntity).update({ id: one.id }, { phase: 'Deleted' });
      await db.ds.getRepository(NodeEntity).update({ clusterId: one.id }, { phase: 'Terminated' });
      expect((await api.call('POST', '/v1/clusters', clusterBody(one.name))).status).toBe(202);
      expect((await api.call('POST', '/v1/clusters', clusterBody('quota-9'))).status).toBe(403);
    });

    it('applies the node quota of the organisation row to creates and scale-ups', async () => {
      const { url } = await gateway();
      const o = await organisation('quota-nodes');
      await db.ds.getRepository(OrganisationEntity).update({ id: o.organisationId }, { maxNodes: 4 });
      const api = new ApiClient(url, o.apiKey);
      const big = await api.call<{ type: string; quota: Record<string, unknown>; errors: { field: string; rule: string }[] }>('POST', '/v1/clusters', clusterBody('big', 4));
      expect(big.status).toBe(403);
      expect(big.body.quota).toEqual({ name: 'nodes', limit: 4, used: 0, requested: 5 });
      expect(big.body.errors).toEqual([expect.objectContaining({ field: 'organisation.nodes', rule: 'quota-nodes' })]);
      const c = await api.ok<{ id: string }>('POST', '/v1/clusters', clusterBody('small', 2));
      await db.ds.getRepository(ClusterEntity).update({ id: c.id }, { phase: 'Ready' });
      const more = await api.call<{ quota: Record<string, unknown> }>('POST', `/v1/clusters/${c.id}/nodes`, { cloud: 'aws', count: 2 });
      expect(more.status).toBe(403);
      expect(more.body.quota).toEqual({ name: 'nodes', limit: 4, used: 3, requested: 2 });
      expect((await api.call('POST', `/v1/clusters/${c.id}/nodes`, { cloud: 'aws', count: 1 })).status).toBe(202);
      expect(await db.ds.getRepository(NodeEntity).countBy({ organisationId: o.organisationId })).toBe(4);
    });

    it("the autoscaler keeps to the same node quota: the organisation's row, else the installation's default (SKYWEAVE_QUOTA_NODES)", async () => {
      const { url } = await gateway();
      const o = await organisation('quota-autoscaler');
      const api = new ApiClient(url, o.apiKey);
      const c = await api.ok<{ id: string }>('POST', '/v1/clusters', clusterBody('auto', 1));
      await db.ds.getRepository(ClusterEntity).update({ id: c.id }, { phase: 'Ready' });
      const launch = (maxNodes: number) => new PgAutoscalerStore(db.ds, { maxNodes }).launch(o.organisationId, c.id, { cloud: 'aws', instanceType: 't3.medium', message: (n) => `added ${n}` });
      // no row quota: the installation's default decides (2 nodes held)
      expect(await launch(2)).toEqual({ ok: false, reason: "the organisation's nodes quota is 2; it has 2" });
      expect(await launch(3)).toMatchObject({ ok: true });
      // the row's quota wins over the default
      await db.ds.getRepository(OrganisationEntity).update({ id: o.organisationId }, { maxNodes: 3 });
      expect(await launch(200)).toEqual({ ok: false, reason: "the organisation's nodes quota is 3; it has 3" });
      expect(await db.ds.getRepository(NodeEntity).countBy({ organisationId: o.organisationId })).toBe(3);
    });
  });

  describe('CORS', () => {
    /** A raw request (fetch would not send `Origin` as given). */
    const raw = (url: string, method: string, path: string, headers: Record<string, string>) => new Promise<{ status: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const req = http.request(`${url}${path}`, { method, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      });
      req.on('error', reject);
      req.end();
    });
    const CONSOLE = 'https://console.skyweave.test';

    it('allows only the console origin, with listed methods, headers and credentials', async () => {
      const { url } = await gateway({ limits: { consoleOrigin: CONSOLE } });
      const pre = await raw(url, 'OPTIONS', '/v1/clusters', { origin: CONSOLE, 'access-control-request-method': 'POST', 'access-control-request-headers': 'Authorization, Content-Type' });
      expect(pre.status).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe(CONSOLE);
      expect(pre.headers['access-control-allow-credentials']).toBe('true');
      expect(pre.headers['access-control-allow-methods']).toBe('GET, POST, PUT, PATCH, DELETE');
      expect(pre.headers['access-control-allow-headers']).toBe('authorization, content-type, idempotency-key, x-csrf-token, x-skyweave-organisation, last-event-id');
      const get = await raw(url, 'GET', '/health', { origin: CONSOLE });
      expect(get.headers['access-control-allow-origin']).toBe(CONSOLE);
      expect(get.headers['access-control-expose-headers']).toMatch(/Retry-After/);
      expect(get.headers.vary).toMatch(/Origin/);

      for (const [origin, method, hdrs] of [['https://evil.test', 'POST', 'content-type'], [CONSOLE, 'TRACE', ''], [CONSOLE, 'GET', 'x-evil']]) {
        const r = await raw(url, 'OPTIONS', '/v1/clusters', { origin, 'access-control-request-method': method, ...(hdrs ? { 'access-control-request-headers': hdrs } : {}) });
        expect(r.status).toBe(403);
        expect(r.headers['content-type']).toContain('application/problem+json');
        expect(r.headers['access-control-allow-origin']).toBeUndefined();
      }
      expect((await raw(url, 'GET', '/health', { origin: 'https://evil.test' })).headers['access-control-allow-origin']).toBeUndefined();
    });

    it('sends no CORS headers at all and refuses preflights when no console origin is configured', async () => {
      const { url } = await gateway();
      const pre = await raw(url, 'OPTIONS', '/v1/clusters', { origin: CONSOLE, 'access-control-request-method': 'GET' });
      expect(pre.status).toBe(403);
      const get = await raw(url, 'GET', '/health', { origin: CONSOLE });
      expect(get.status).toBe(200);
      expect(Object.keys(get.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    });
  });

  describe('HTTP server limits', () => {
    it('sets the timeouts and the connection cap on the server, instead of Node\'s defaults', async () => {
      const { app } = await gateway({ limits: { headersTimeoutMs: 4000, requestTimeoutMs: 8000, keepAliveTimeoutMs: 3000, maxConnections: 77 } });
      const server = app.getHttpServer() as Server;
      expect([server.headersTimeout, server.requestTimeout, server.keepAliveTimeout, server.maxConnections]).toEqual([4000, 8000, 3000, 77]);
      const plain = (await gateway()).app.getHttpServer() as Server;
      expect([plain.headersTimeout, plain.requestTimeout, plain.keepAliveTimeout, plain.maxConnections]).toEqual([10_000, 30_000, 65_000, 10_000]);
    });

    it('closes a connection whose headers never finish (slow loris), and still answers a long poll held longer than the request timeout', async () => {
      const o = await organisation('timeouts');
      const { url } = await gateway({ meshLongPollMs: 2500, limits: { headersTimeoutMs: 600, requestTimeoutMs: 1000, connectionsCheckingIntervalMs: 100 } });
      const port = Number(new URL(url).port);
      const closed = await new Promise<string>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => s.write('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: '));
        let got = '';
        s.on('data', (d) => (got += d.toString()));
        s.on('close', () => resolve(got));
        s.on('error', reject);
      });
      expect(closed).toMatch(/^HTTP\/1\.1 408/);
      // a /mesh poll on an unchanged revision is held for its whole window (2.5 s > the 1 s request timeout)
      const { nodes, tokens } = await clusterWithTokens(new ApiClient(url, o.apiKey), 'timeouts', 1);
      const first = (await (await agentPost(url, nodes[0].id, tokens.get(nodes[0].id)!, 'mesh', {})).json()) as { revision: string };
      const started = Date.now();
      const held = await agentPost(url, nodes[0].id, tokens.get(nodes[0].id)!, 'mesh', { revision: first.revision });
      expect(held.status).toBe(200);
      expect(((await held.json()) as { revision: string }).revision).toBe(first.revision);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2400); // it was held, not cut (a lower bound only)
    }, 20_000); // Node's defaults would close the slow connection only after 60-90 s

    it('closes connections beyond maxConnections', async () => {
      const { url } = await gateway({ limits: { maxConnections: 3 } });
      const port = Number(new URL(url).port);
      const open = (): Promise<net.Socket> => new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s));
        s.on('error', reject);
      });
      const sockets = [await open(), await open(), await open()];
      const extra = await open();
      const closedBeforeAnswer = await new Promise<boolean>((resolve) => {
        let answered = false;
        extra.on('data', () => (answered = true));
        extra.on('close', () => resolve(!answered));
        extra.on('error', () => undefined);
        extra.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      expect(closedBeforeAnswer).toBe(true);
      // the first three still work
      const answered = await new Promise<string>((resolve) => {
        let got = '';
        sockets[0].on('data', (d) => {
          got += d.toString();
          if (got.includes('"ok"')) resolve(got);
        });
        sockets[0].write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      expect(answered).toMatch(/^HTTP\/1\.1 200/);
      for (const s of sockets) s.destroy();
    }, 20_000);
  });

  describe('finding 10: long polls', () => {
    it('holds one /mesh poll per node: of 200 concurrent polls by one node token exactly one is held, and other calls are answered', async () => {
      const o = await organisation('polls');
      const { app, url } = await gateway({ meshLongPollMs: 20_000, limits: { maxLongPolls: 3 } });
      const polls = app.get<LongPolls>(LONG_POLLS);
      const api = new ApiClient(url, o.apiKey);
      const { clusterId, nodes, tokens } = await clusterWithTokens(api, 'polls', 2);
      const [n1, n2, n3] = nodes;
      const mesh = (n: NodeEntity, body: object) => agentPost(url, n.id, tokens.get(n.id)!, 'mesh', body);
      const { revision } = (await (await mesh(n1, {})).json()) as { revision: string };

      let answered = 0;
      const all = Array.from({ length: 200 }, () => mesh(n1, { revision }).then(async (r) => {
        answered++;
        return { status: r.status, revision: ((await r.json()) as { revision: string }).revision };
      }));
      // each newer poll ends the one before: 199 answer at once (with what they have), one is held
      await until('199 of the 200 polls to be answered', () => answered === 199);
      expect(polls.held).toBe(1);
      // other calls are answered meanwhile (not timed: answered at all while the poll is held)
      expect((await api.call('GET', `/v1/clusters/${clusterId}`)).status).toBe(200);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect(answered).toBe(199);

      // the global bound: n2 and n3 hold one each (3 in all); a fourth is refused with 503 and Retry-After
      const first2 = (await (await mesh(n2, {})).json()) as { revision: string };
      const h2 = mesh(n2, { revision: first2.revision });
      const first3 = (await (await mesh(n3, {})).json()) as { revision: string };
      const h3 = mesh(n3, { revision: first3.revision });
      await until('three polls held', () => polls.held === 3);
      const refused = await agentPost(url, n1.id, tokens.get(n1.id)!, 'operations', {});
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(((await refused.json()) as { type: string }).type).toMatch(/long-polls-exhausted$/);
      // a node replacing its own poll is not refused at the bound
      const again = mesh(n1, { revision });
      const results = await Promise.all(all);
      expect(results.every((r) => r.status === 200 && r.revision === revision)).toBe(true);
      expect(polls.held).toBe(3);

      // end the held polls: a poll without a revision ends each one and is answered at once
      for (const n of [n1, n2, n3]) expect((await mesh(n, {})).status).toBe(200);
      for (const p of [again, h2, h3]) expect((await p).status).toBe(200);
      expect(polls.held).toBe(0);
    });

    it('ends a node\'s earlier /operations and /join polls when it polls again', async () => {
      const o = await organisation('polls-ops');
      const { app, url } = await gateway({ meshLongPollMs: 20_000, joinLongPollMs: 20_000 });
      const polls = app.get<LongPolls>(LONG_POLLS);
      const { nodes, tokens } = await clusterWithTokens(new ApiClient(url, o.apiKey), 'polls-ops', 1);
      const worker = nodes[1]; // a worker waits at /join until master-0 has joined
      // as its agent would have: registered (only a Registered or Joining node may ask to join, issue 10 finding 5)
      await db.ds.getRepository(NodeEntity).update({ id: worker.id }, { phase: 'Registered' });
      const post = (p: string) => agentPost(url, worker.id, tokens.get(worker.id)!, p, {});
      const ops1 = post('operations');
      const join1 = post('join');
      await until('two polls held', () => polls.held === 2);
      const ops2 = post('operations');
      expect(await (await ops1).json()).toEqual({ operations: [] });
      const join2 = post('join');
      expect(((await (await join1).json()) as { action: string }).action).toBe('wait');
      await until('the newer polls held', () => polls.held === 2);
      // a fresh long poll ends each (nothing else would for 20 s)
      const [ops3, join3] = [post('operations'), post('join')];
      await Promise.all([ops2, join2]);
      await until('the newest polls held', () => polls.held === 2);
      polls.begin('operations', worker.id).release();
      polls.begin('join', worker.id).release();
      expect((await ops3).status).toBe(200);
      expect((await join3).status).toBe(200);
    });
  });
  describe('event streams (issue 14)', () => {
    /** Opens the cluster's event stream; resolves when its headers arrive (status 200) or the refusal is read. */
    async function openStream(url: string, apiKey: string, clusterId: string): Promise<{ status: number; retryAfter: string | null; type?: string; close: () => void }> {
      const ac = new AbortController();
      const r = await fetch(`${url}/v1/clusters/${clusterId}/events/stream`, { headers: { authorization: `Bearer ${apiKey}` }, signal: ac.signal });
      if (r.status !== 200) return { status: r.status, retryAfter: r.headers.get('retry-after'), type: ((await r.json()) as { type: string }).type, close: () => ac.abort() };
      return { status: 200, retryAfter: null, close: () => ac.abort() };
    }

    it('bounds the open streams per organisation and per process with 503 too-many-event-streams, and frees a place when a stream closes', async () => {
      const a = await organisation('streams-a');
      const b = await organisation('streams-b');
      const { app, url } = await gateway({ limits: { maxEventStreams: 3, maxEventStreamsPerOrganisation: 2 } });
      const streams = app.get(EventStreams);
      const ca = (await new ApiClient(url, a.apiKey).ok<{ id: string }>('POST', '/v1/clusters', clusterBody('streams-a'))).id;
      const cb = (await new ApiClient(url, b.apiKey).ok<{ id: string }>('POST', '/v1/clusters', clusterBody('streams-b'))).id;

      const a1 = await openStream(url, a.apiKey, ca);
      const a2 = await openStream(url, a.apiKey, ca);
      expect([a1.status, a2.status]).toEqual([200, 200]);
      // the organisation's bound: a third of A's is refused, with Retry-After, and holds nothing
      const a3 = await openStream(url, a.apiKey, ca);
      expect(a3).toMatchObject({ status: 503, retryAfter: '30' });
      expect(a3.type).toMatch(/too-many-event-streams$/);
      expect(streams.count(a.organisationId)).toBe(2);
      // the process's bound: B opens one (3 in all), its second is refused although B has only one
      const b1 = await openStream(url, b.apiKey, cb);
      expect(b1.status).toBe(200);
      expect((await openStream(url, b.apiKey, cb)).status).toBe(503);
      expect(streams.count()).toBe(3);

      // a stream that closes gives its place back
      a1.close();
      await until('the closed stream to be forgotten', () => streams.count(a.organisationId) === 1);
      const a4 = await openStream(url, a.apiKey, ca);
      expect(a4.status).toBe(200);
      for (const s of [a2, a4, b1]) s.close();
      await until('every stream to be forgotten', () => streams.count() === 0);
    });
  });
});
