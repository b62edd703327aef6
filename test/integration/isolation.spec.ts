import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import type { CloudCredentials } from '@skyweave/cloud-adapters';
import { CloudCredentialEntity, MembershipsRepository, NodeEntity, NodeOperationEntity, SecretBox, UsersRepository, hashToken, orgScope, systemScope } from '@skyweave/persistence';
import { createGateway } from '@skyweave/api-gateway/src/app';
import { RunningEmulator, startEmulator } from '@skyweave/cloud-emulator/src/emulator';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';
import { ApiClient } from '@skyweave/tools/stack/api';
import { freshDatabase } from '../support/db';

const log = pino({ level: 'silent' });
const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;
type Method = (typeof METHODS)[number];

/** The kinds of id a route can take, by the collection segment in front of the parameter (`/clusters/{id}` → cluster). */
const KIND_BY_COLLECTION = { clusters: 'cluster', nodes: 'node', 'cloud-credentials': 'credential', operations: 'operation', members: 'member', 'api-keys': 'apiKey' } as const;
type Kind = (typeof KIND_BY_COLLECTION)[keyof typeof KIND_BY_COLLECTION];

/**
 * A body that is valid for the route (so that a 404 can only come from the ownership check, and the control request of
 * an organisation on its own ids proves it is accepted), by `METHOD path`. A route of the document that takes a body
 * and has none here fails the suite.
 */
const BODIES: Record<string, (o: Org) => unknown> = {
  'patch /v1/clusters/{id}': () => ({ kubernetesVersion: '1.31.5' }),
  'post /v1/clusters/{id}/nodes': () => ({ cloud: 'gcp', count: 1 }),
  'put /v1/cloud-credentials/{id}': (o) => ({ credentials: o.freshAwsCredentials }),
  'post /v1/clusters/{id}/reconcile': () => undefined,
  'put /v1/clusters/{id}/policies': () => ({ enabled: true, clusterLimits: { cpu: { maxCores: 32 } } }),
  'patch /v1/members/{userId}': () => ({ role: 'viewer' }),
};
/** Agent routes: bodies for the ones that take one beyond `{}`. */
const AGENT_BODIES: Record<string, unknown> = {
  'post /agent/v1/nodes/{nodeId}/operations/{operationId}': { state: 'Succeeded', message: 'done' },
  'post /agent/v1/nodes/{nodeId}/status': { podCidr: '10.217.9.0/24', latencies: [] },
  'post /agent/v1/nodes/{nodeId}/register': { wireguardPublicKey: `${'K'.repeat(43)}=`, privateIp: '10.10.0.66' },
};

interface Org {
  name: string;
  organisationId: string;
  api: ApiClient;
  ids: Record<Kind, string>;
  clusterId: string;
  /** master-0, worker-0, worker-1 of its cluster. */
  nodes: NodeEntity[];
  /** Node tokens and (unused, valid) bootstrap tokens by node id. */
  nodeTokens: Map<string, string>;
  bootstrapTokens: Map<string, string>;
  /** Fresh sandbox AWS credentials: a body PUT accepts. */
  freshAwsCredentials: Record<string, unknown>;
}

/**
 * Every row of every table (but TypeORM's migrations, and the rate-limit counters: every request counts, refused or
 * not), as JSON text, by table: what "nothing changed" compares.
 */
async function snapshot(ds: DataSource): Promise<Record<string, string[]>> {
  const tables = (await ds.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT IN ('migrations', 'rate_limit_counters') ORDER BY 1`)) as { table_name: string }[];
  const out: Record<string, string[]> = {};
  for (const { table_name: t } of tables) {
    out[t] = ((await ds.query(`SELECT row_to_json(t)::text AS j FROM "${t}" t ORDER BY 1`)) as { j: string }[]).map((r) => r.j);
  }
  return out;
}

/** The routes the Nest application serves (including those left out of the OpenAPI document): `method /path/{param}`. */
function servedRoutes(app: INestApplication): { method: Method; path: string }[] {
  const routes: { method: Method; path: string }[] = [];
  for (const mod of app.get(ModulesContainer).values()) {
    for (const wrapper of mod.controllers.values()) {
      const cls = wrapper.metatype as (new (...a: never[]) => object) | null;
      if (!cls) continue;
      const base = [Reflect.getMetadata(PATH_METADATA, cls) as string | string[]].flat();
      const proto = cls.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(proto)) {
        const handler = proto[name];
        if (typeof handler !== 'function' || name === 'constructor') continue;
        const sub = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        const verb = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (sub === undefined || verb === undefined) continue;
        for (const b of base) {
          for (const s of [sub].flat()) {
            const p = `/${[b, s].map((x) => x.replace(/^\/+|\/+$/g, '')).filter(Boolean).join('/')}`.replace(/:(\w+)/g, '{$1}');
            routes.push({ method: RequestMethod[verb].toLowerCase() as Method, path: p });
          }
        }
      }
    }
  }
  return routes;
}

/** The parameters of a path template with the kind of id each takes (undefined: the suite has no id for it). */
function paramsOf(template: string): { name: string; kind: Kind | undefined }[] {
  const segs = template.split('/').filter(Boolean);
  return segs.flatMap((s, i) => {
    const m = /^\{(\w+)\}$/.exec(s);
    return m ? [{ name: m[1], kind: KIND_BY_COLLECTION[segs[i - 1] as keyof typeof KIND_BY_COLLECTION] as Kind | undefined }] : [];
  });
}

/** Every assignment of `owners` (A or B) to `n` parameters except all-B: at least one id belongs to the victim. */
function ownerCombos(n: number): ('A' | 'B')[][] {
  const out: ('A' | 'B')[][] = [];
  for (let mask = 0; mask < 2 ** n - 1; mask++) out.push(Array.from({ length: n }, (_, i) => ((mask >> i) & 1 ? 'B' : 'A')));
  return out;
}

const fill = (template: string, ids: string[]) => {
  let i = 0;
  return template.replace(/\{\w+\}/g, () => ids[i++]);
};

/**
 * Tenant isolation (issue 10, "tests that attack"): organisation B, with its own credentials, cluster and nodes, walks
 * EVERY route of the OpenAPI document with its API key against organisation A's ids, every method the route has, and
 * every agent route with another node's token (same cluster, and another organisation's node). Each answer must be a
 * problem (404 on the public API: never 200/204, never a 403 that confirms existence, and the same answer as for ids
 * that exist nowhere; 401/403/404 on the agent API), and no row of any table may change. A route added later is walked automatically; one whose id parameter the suite
 * cannot fill fails it.
 */
describe('tenant isolation: every route with another organisation\'s key, every agent route with another node\'s token', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let emu: RunningEmulator;
  let vmRoot: string;
  let app: INestApplication;
  let baseUrl: string;
  let A: Org;
  let B: Org;
  let doc: { paths: Record<string, Partial<Record<Method, { parameters?: { name: string; in: string }[]; requestBody?: unknown }>>> };
  const box = new SecretBox(randomBytes(32).toString('base64'));

  const awsCreds = () => (emu.modules.aws.createAccount() as Extract<CloudCredentials, { cloud: 'aws' }>).aws as unknown as Record<string, unknown>;

  const makeOrg = async (name: string): Promise<Org> => {
    const o = await createOrganisation(db.ds, name);
    const api = new ApiClient(baseUrl, o.apiKey);
    // AWS credentials through the API (checked against the sandbox); GCP's row directly (loading the GCP SDK costs ~15 s)
    const awsCredentialId = (await api.ok<{ id: string }>('POST', '/v1/cloud-credentials', { cloud: 'aws', credentials: awsCreds() })).id;
    await db.ds.getRepository(CloudCredentialEntity).insert({ id: randomUUID(), organisationId: o.organisationId, cloud: 'gcp', name: 'gcp', identity: `sa@${name}.iam.gserviceaccount.com`, ciphertext: box.seal('{}') });
    const clusterId = (await api.ok<{ id: string }>('POST', '/v1/clusters', {
      name: `${name}-prod`, region: 'us-east', clouds: ['aws', 'gcp'], controlPlane: { cloud: 'aws', count: 1 }, workers: [{ cloud: 'gcp', count: 2 }], kubernetesVersion: '1.31.4',
    })).id;
    const nodes = await db.ds.getRepository(NodeEntity).find({ where: { clusterId }, order: { role: 'ASC', ordinal: 'ASC' } });
    const nodeTokens = new Map<string, string>();
    const bootstrapTokens = new Map<string, string>();
    for (const [i, n] of nodes.entries()) {
      const t = `swnt_${randomBytes(32).toString('base64url')}`;
      const b = `swbt_${randomBytes(32).toString('base64url')}`;
      nodeTokens.set(n.id, t);
      bootstrapTokens.set(n.id, b);
      // a running cluster: every node joined, with a node token, and a still valid bootstrap token (so /register is live)
      await db.ds.getRepository(NodeEntity).update({ id: n.id }, {
        phase: 'Joined', agentTokenHash: hashToken(t), bootstrapTokenHash: hashToken(b), bootstrapTokenExpiresAt: new Date(Date.now() + 600_000),
        privateIp: `10.${n.cloud === 'aws' ? 10 : 0}.0.${10 + i}`, wireguardPublicKey: `${String.fromCharCode(65 + i).repeat(43)}=`, kubernetesVersion: '1.31.4',
      });
    }
    await db.ds.query(`UPDATE "clusters" SET "phase" = 'Ready' WHERE "id" = $1`, [clusterId]);
    // a member (a user of the organisation) and a second API key: ids for /v1/members/{userId} and /v1/api-keys/{id}
    const member = await new UsersRepository(db.ds).insert(systemScope('isolation fixture'), { email: `member@${name}.example.com` });
    await new MembershipsRepository(db.ds).add(orgScope(o.organisationId), member.id, 'member');
    const apiKeyId = (await api.ok<{ id: string }>('POST', '/v1/api-keys', { name: 'second', role: 'viewer' })).id;
    await db.ds.query(`UPDATE "cluster_networks" SET "phase" = 'Ready' WHERE "clusterId" = $1`, [clusterId]);
    // an agent operation: master-0 drains worker-1
    const operationId = randomUUID();
    await db.ds.getRepository(NodeOperationEntity).insert({
      id: operationId, organisationId: o.organisationId, clusterId, executorNodeId: nodes[0].id, targetNodeId: nodes[2].id, kind: 'drain', purpose: 'removal',
      kubernetesVersion: null, upgradeControlPlane: false, timeoutSeconds: 120, state: 'Running', message: null, deadlineAt: new Date(Date.now() + 600_000), finishedAt: null,
    });
    return {
      name, organisationId: o.organisationId, api, clusterId, nodes, nodeTokens, bootstrapTokens, freshAwsCredentials: awsCreds(),
      ids: { cluster: clusterId, node: nodes[2].id, credential: awsCredentialId, operation: operationId, member: member.id, apiKey: apiKeyId },
    };
  };

  beforeAll(async () => {
    vmRoot = mkdtempSync(path.join(os.tmpdir(), 'skyweave-it-iso-'));
    [db, emu] = await Promise.all([freshDatabase(), startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, vmRoot })]);
    // an events stream (GET /v1/clusters/{id}/events/stream) ends after 200 ms, so the control walk gets its answer
    app = await createGateway({ ds: db.ds, box, endpoints: emu.endpoints, log, joinLongPollMs: 200, meshLongPollMs: 200, sseMaxStreamMs: 200 });
    await app.listen(0, '127.0.0.1');
    baseUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    A = await makeOrg('alpha');
    B = await makeOrg('bravo');
    doc = (await (await fetch(`${baseUrl}/docs/openapi.json`)).json()) as typeof doc;
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    await emu?.close();
    if (vmRoot) rmSync(vmRoot, { recursive: true, force: true });
  });

  const documented = () => Object.entries(doc.paths).flatMap(([p, item]) => METHODS.filter((m) => item[m]).map((method) => ({ method, path: p, op: item[method]! })));
  /**
   * Routes that serve the same public artefact to everyone, without a key and with no organisation's data: the
   * node-agent packages (a package mirror; their parameters are a version and a file name, not ids). Left out of the
   * id checks below; that they hold nothing of an organisation is the agent-package integration test's subject.
   * And accepting an invitation: its parameter is the invitation's secret token, not an organisation's id, and it is
   * accepted by a signed-in user (never an API key) whose email it names; test/integration/identity.spec.ts covers it.
   */
  const UNSCOPED = new Set(['/v1/agent-packages/{version}/{file}', '/v1/invitations/{token}/accept']);
  const scoped = () => documented().filter((r) => !UNSCOPED.has(r.path));

  it('the OpenAPI document lists every public route the gateway serves, and the suite has an id for every id parameter', () => {
    // the web console's pages (ConsoleController: `/` and `/console/…`, static files, no data) are not API routes;
    // the single sign-on routes to cluster middleware are no API (left out of the document on purpose, every method):
    // they admit console sessions only (an API key of any organisation gets 403 session-required before any lookup),
    // and another organisation's session gets 404 there: test/integration/sso-gateway.spec.ts
    const SSO = /^\/clusters\/\{id\}\/(grafana|dashboard)(\/\*path)?$/;
    const served = servedRoutes(app).filter((r) => !r.path.startsWith('/agent/') && r.path !== '/' && !r.path.startsWith('/console') && !SSO.test(r.path));
    expect(servedRoutes(app).filter((r) => SSO.test(r.path)).map((r) => `${r.method} ${r.path}`)).toEqual(['all /clusters/{id}/grafana', 'all /clusters/{id}/grafana/*path', 'all /clusters/{id}/dashboard', 'all /clusters/{id}/dashboard/*path']);
    const listed = new Set(documented().map((r) => `${r.method} ${r.path}`));
    expect(served.map((r) => `${r.method} ${r.path}`).filter((r) => !listed.has(r))).toEqual([]);
    expect(documented().length).toBeGreaterThanOrEqual(15);
    const uncovered = scoped().flatMap((r) => paramsOf(r.path).filter((p) => !p.kind).map((p) => `${r.method} ${r.path}: {${p.name}}`));
    expect(uncovered).toEqual([]);
    const noBody = scoped().filter((r) => r.op.requestBody && paramsOf(r.path).length > 0 && !(`${r.method} ${r.path}` in BODIES)).map((r) => `${r.method} ${r.path}`);
    expect(noBody).toEqual([]);
    // the agent routes (not in the document) are found in the application itself
    expect(servedRoutes(app).filter((r) => r.path.startsWith('/agent/v1/nodes/{nodeId}')).length).toBeGreaterThanOrEqual(7);
  });

  it('answers organisation B 404 (a problem) on every route and method with organisation A\'s ids, and changes nothing', async () => {
    const before = await snapshot(db.ds);
    const seen: string[] = [];
    const wrong: string[] = [];
    const victimNames = [`${A.name}-prod`, ...A.nodes.map((n) => n.name)];
    for (const r of scoped()) {
      const params = paramsOf(r.path);
      const key = `${r.method} ${r.path}`;
      if (params.length === 0) {
        // no id to aim at: what B reads must not mention any of A's ids or names
        if (r.method !== 'get' || r.path.startsWith('/docs')) continue;
        const res = await B.api.call('GET', r.path);
        const text = JSON.stringify(res.body);
        for (const secret of [...Object.values(A.ids), A.organisationId, ...victimNames, ...A.nodes.map((n) => n.id)]) {
          if (text.includes(secret)) wrong.push(`${key} mentions ${secret}`);
        }
        seen.push(key);
        continue;
      }
      for (const combo of ownerCombos(params.length)) {
        const ids = params.map((p, i) => (combo[i] === 'A' ? A : B).ids[p.kind!]);
        const url = fill(r.path, ids);
        const res = await B.api.call<{ status?: number; type?: string }>(r.method.toUpperCase(), url, BODIES[key]?.(B));
        const what = `${r.method.toUpperCase()} ${url} (${combo.join('')})`;
        seen.push(what);
        if (res.status !== 404) wrong.push(`${what} → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        else if (!res.headers.get('content-type')?.includes('application/problem+json') || res.body.status !== 404) wrong.push(`${what}: 404 without a problem body`);
        const text = JSON.stringify(res.body);
        for (const name of victimNames) if (text.includes(name)) wrong.push(`${what} names ${name}`);
        // indistinguishable from ids that exist nowhere: same status and problem, ids aside (no existence oracle)
        const ghost = await B.api.call(r.method.toUpperCase(), fill(r.path, params.map((p, i) => (combo[i] === 'A' ? randomUUID() : B.ids[p.kind!]))), BODIES[key]?.(B));
        const shape = (b: unknown) => JSON.stringify(b).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>');
        if (ghost.status !== res.status || shape(ghost.body) !== shape(res.body)) wrong.push(`${what} differs from unknown ids: ${res.status} ${shape(res.body)} vs ${ghost.status} ${shape(ghost.body)}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(seen.length).toBeGreaterThanOrEqual(15);
    expect(await snapshot(db.ds)).toEqual(before);
  });

  it('refuses every agent route called with another node\'s token (same cluster, other organisation), an API key or a bootstrap token, and changes nothing', async () => {
    const before = await snapshot(db.ds);
    const agentRoutes = servedRoutes(app).filter((r) => r.path.startsWith('/agent/v1/nodes/{nodeId}'));
    const [victim, sameCluster] = A.nodes; // master-0 of A (runs A's operation), worker-0 of A
    const stranger = B.nodes[0];
    const credentials: [string, string][] = [
      ['node token of another node of the same cluster', A.nodeTokens.get(sameCluster.id)!],
      ['node token of another organisation\'s node', B.nodeTokens.get(stranger.id)!],
      ['bootstrap token of another node of the same cluster', A.bootstrapTokens.get(sameCluster.id)!],
      ['bootstrap token of another organisation\'s node', B.bootstrapTokens.get(stranger.id)!],
      ['API key of the other organisation', B.api.apiKey!],
      ['API key of the node\'s own organisation', A.api.apiKey!],
    ];
    const wrong: string[] = [];
    let calls = 0;
    const post = async (url: string, token: string, body: unknown) => {
      calls++;
      const res = await fetch(`${baseUrl}${url}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await res.text();
      return { status: res.status, type: res.headers.get('content-type') ?? '', text };
    };
    for (const r of agentRoutes) {
      expect(r.method).toBe('post');
      const key = `${r.method} ${r.path}`;
      const body = AGENT_BODIES[key] ?? {};
      const params = paramsOf(r.path);
      const uncovered = params.filter((p) => !p.kind);
      if (uncovered.length) wrong.push(`${key}: no id for ${uncovered.map((p) => p.name).join(', ')}`);
      // the victim's node id (and the victim's ids for any further parameter), with someone else's credential
      const victimIds = params.map((p) => (p.kind === 'node' ? victim.id : A.ids[p.kind!]));
      for (const [how, token] of credentials) {
        const res = await post(fill(r.path, victimIds), token, body);
        if (![401, 403, 404].includes(res.status) || !res.type.includes('application/problem+json')) wrong.push(`${key} with the ${how} → ${res.status} ${res.text.slice(0, 200)}`);
      }
      // a node with its own id and token, aiming at ids of another node (same cluster) or organisation in the other parameters
      if (params.length > 1) {
        for (const [who, caller] of [['same cluster', { node: sameCluster, token: A.nodeTokens.get(sameCluster.id)! }], ['other organisation', { node: stranger, token: B.nodeTokens.get(stranger.id)! }]] as const) {
          const ids = params.map((p) => (p.kind === 'node' ? caller.node.id : A.ids[p.kind!]));
          const res = await post(fill(r.path, ids), caller.token, body);
          if (![401, 403, 404].includes(res.status) || !res.type.includes('application/problem+json')) wrong.push(`${key} by a node of the ${who} on A's ids → ${res.status} ${res.text.slice(0, 200)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(calls).toBeGreaterThanOrEqual(agentRoutes.length * credentials.length);
    expect(await snapshot(db.ds)).toEqual(before);
  });

  it('controls: the same requests on an organisation\'s own ids are accepted (so each 404 above came from the ownership check)', async () => {
    const refused: string[] = [];
    const own = scoped().filter((r) => paramsOf(r.path).length > 0);
    // deletes last, the cluster's after its node's
    const order = (r: { method: string; path: string }) => (r.method === 'delete' ? (r.path.includes('{nodeId}') ? 1 : 2) : 0);
    for (const r of own.sort((a, b) => order(a) - order(b))) {
      const url = fill(r.path, paramsOf(r.path).map((p) => B.ids[p.kind!]));
      const res = await B.api.call(r.method.toUpperCase(), url, BODIES[`${r.method} ${r.path}`]?.(B));
      // 409 (a state rule: e.g. credentials still in use) is an accepted request; 400/401/403/404/422 would not be
      if ([400, 401, 403, 404, 422].includes(res.status) || res.status >= 500) refused.push(`${r.method.toUpperCase()} ${url} → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    }
    expect(refused).toEqual([]);
    // and a node's own token works on its own routes (a control for the agent walk)
    const master0 = A.nodes[0];
    const mine = await fetch(`${baseUrl}/agent/v1/nodes/${master0.id}/operations/${A.ids.operation}`, {
      method: 'POST', headers: { authorization: `Bearer ${A.nodeTokens.get(master0.id)}`, 'content-type': 'application/json' }, body: JSON.stringify({ state: 'Succeeded' }),
    });
    expect(mine.status).toBe(204);
  });
});
