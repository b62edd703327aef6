import { randomBytes, randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import pino from 'pino';
import { DEFAULT_AUTOSCALING_POLICY } from '@skyweave/domain';
import { Subjects } from '@skyweave/contracts';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AutoscalingRepository, CloudCredentialEntity, ClusterEntity, MIGRATIONS, OutboxEntity, SecretBox, orgScope } from '@skyweave/persistence';
import { createGateway } from '@skyweave/api-gateway/src/app';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';
import { ApiClient } from '@skyweave/tools/stack/api';
import { freshDatabase } from '../support/db';

const log = pino({ level: 'silent' });

interface PolicyView { version: number; policy: typeof DEFAULT_AUTOSCALING_POLICY & { unschedulablePods: { clouds?: string[] } }; updatedAt: string | null }
interface ProblemBody { type: string; status: number; errors?: { field: string; rule: string; message: string }[]; currentVersion?: number }
interface EventsBody { items: { reason: string; message: string }[] }

/** Issue 13: the autoscaling policy API and the autoscaler's status, over HTTP on the real PostgreSQL. */
describe('autoscaling policies and status (api-gateway)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let app: INestApplication;
  let api: ApiClient;
  let other: ApiClient;
  let orgId: string;
  let otherOrgId: string;
  let clusterId: string;
  const box = new SecretBox(randomBytes(32).toString('base64'));

  beforeAll(async () => {
    db = await freshDatabase();
    app = await createGateway({ ds: db.ds, box, endpoints: {}, log, joinLongPollMs: 300, meshLongPollMs: 300 });
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const a = await createOrganisation(db.ds, 'acme');
    const b = await createOrganisation(db.ds, 'globex');
    orgId = a.organisationId;
    otherOrgId = b.organisationId;
    api = new ApiClient(url, a.apiKey);
    other = new ApiClient(url, b.apiKey);
    // credentials stored directly: creation is validated without a cloud (as api.spec does)
    for (const cloud of ['aws', 'gcp'] as const) {
      await db.ds.getRepository(CloudCredentialEntity).insert({ id: randomUUID(), organisationId: orgId, cloud, name: cloud, identity: cloud, ciphertext: box.seal('{}') });
    }
    const c = await api.ok<{ id: string }>('POST', '/v1/clusters', { name: 'prod', region: 'us-east', clouds: ['aws', 'gcp'], controlPlane: { cloud: 'aws', count: 1 }, workers: [{ cloud: 'gcp', count: 2 }] });
    clusterId = c.id;
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const policies = () => `/v1/clusters/${clusterId}/policies`;
  const events = async () => (await api.ok<EventsBody>('GET', `/v1/clusters/${clusterId}/events`)).items.filter((e) => e.reason === 'AutoscalingPolicyChanged');
  const outbox = () => db.ds.getRepository(OutboxEntity).findBy({ subject: Subjects.AutoscalingPolicyChanged });

  it('shows who made each node: spec for the cluster\'s own, user for those added', async () => {
    const created = await api.ok<{ nodes: { role: string; origin: string }[] }>('GET', `/v1/clusters/${clusterId}`);
    expect(created.nodes.map((n) => `${n.role}/${n.origin}`)).toEqual(['master/spec', 'worker/spec', 'worker/spec']);
    await db.ds.getRepository(ClusterEntity).update({ id: clusterId }, { phase: 'Ready' });
    const added = await api.call<{ nodes: { origin: string }[] }>('POST', `/v1/clusters/${clusterId}/nodes`, { cloud: 'aws', count: 1 });
    expect(added.status).toBe(202);
    expect(added.body.nodes.map((n) => n.origin)).toEqual(['user']);
    const after = await api.ok<{ nodes: { role: string; origin: string }[] }>('GET', `/v1/clusters/${clusterId}`);
    expect(after.nodes.map((n) => `${n.role}/${n.origin}`)).toEqual(['master/spec', 'worker/spec', 'worker/spec', 'worker/user']);
  });

  it('answers the defaults at version 0 for a cluster that never had a policy', async () => {
    const r = await api.call<PolicyView>('GET', policies());
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ version: 0, policy: DEFAULT_AUTOSCALING_POLICY, updatedAt: null });
    expect(r.headers.get('etag')).toBe('"0"');
  });

  it('stores a valid PUT as version 1, then 2 (If-Match the current version), with an event naming each change and a message for the autoscaler', async () => {
    const first = await api.call<PolicyView>('PUT', policies(), { enabled: true, clusterLimits: { cpu: { maxCores: 32 } } });
    expect(first.status).toBe(200);
    expect(first.body.version).toBe(1);
    expect(first.body.policy).toEqual({ ...DEFAULT_AUTOSCALING_POLICY, enabled: true, clusterLimits: { cpu: { minCores: 0, maxCores: 32 } } });
    expect(Date.parse(first.body.updatedAt!)).toBeGreaterThan(Date.now() - 60_000);
    expect(first.headers.get('etag')).toBe('"1"');
    expect((await events()).map((e) => e.message)).toEqual(['Autoscaling policy version 1: enabled: false → true; clusterLimits.cpu.maxCores: 64 → 32']);

    const second = await api.call<PolicyView>('PUT', policies(), {
      enabled: true, clusterLimits: { cpu: { minCores: 2, maxCores: 32 } },
      unschedulablePods: { headroom: { cpuPercentage: 10 }, clouds: ['gcp'], instanceFamilies: { exclude: ['t3'] } },
    }, { 'if-match': '"1"' });
    expect(second.status).toBe(200);
    expect(second.body.version).toBe(2);
    expect(second.body.policy.unschedulablePods).toEqual({
      enabled: true, headroom: { cpuPercentage: 10, memoryPercentage: 0 }, nodeConstraints: {}, clouds: ['gcp'], instanceFamilies: { exclude: ['t3'] },
    });
    const read = await api.ok<PolicyView>('GET', policies());
    expect(read.version).toBe(2);
    // in the type's field order (jsonb keeps its own)
    expect(Object.keys(read.policy)).toEqual(['enabled', 'clusterLimits', 'unschedulablePods', 'nodeDownscaler']);
    expect((await events()).map((e) => e.message)).toContain(
      'Autoscaling policy version 2: clusterLimits.cpu.minCores: 0 → 2; unschedulablePods.headroom.cpuPercentage: 0 → 10; unschedulablePods.clouds: unset → ["gcp"]; '
      + 'unschedulablePods.instanceFamilies: unset → {"exclude":["t3"]}',
    );
    expect((await outbox()).map((o) => o.payload)).toEqual([{ organisationId: orgId, clusterId, version: 1 }, { organisationId: orgId, clusterId, version: 2 }]);
  });

  it('keeps the version, records nothing and sends nothing when the policy is the same', async () => {
    const same = await api.call<PolicyView>('PUT', policies(), {
      enabled: true, clusterLimits: { cpu: { minCores: 2, maxCores: 32 } },
      unschedulablePods: { headroom: { cpuPercentage: 10 }, clouds: ['gcp'], instanceFamilies: { exclude: ['t3'] } },
    });
    expect([same.status, same.body.version]).toEqual([200, 2]);
    expect(await events()).toHaveLength(2);
    expect(await outbox()).toHaveLength(2);
  });

  /** After each refused PUT: still version 2, the same policy, no new event. */
  const unchanged = async () => {
    const now = await api.ok<PolicyView>('GET', policies());
    expect(now.version).toBe(2);
    expect(now.policy.clusterLimits.cpu).toEqual({ minCores: 2, maxCores: 32 });
    expect(now.policy.unschedulablePods.clouds).toEqual(['gcp']);
    expect(await events()).toHaveLength(2);
  };

  it.each([
    ['enabled not a boolean', { enabled: 'yes' }, 'enabled', 'boolean'],
    ['minCores negative', { clusterLimits: { cpu: { minCores: -1 } } }, 'clusterLimits.cpu.minCores', 'min'],
    ['maxCores above 10000', { clusterLimits: { cpu: { maxCores: 10_001 } } }, 'clusterLimits.cpu.maxCores', 'max'],
    ['maxCores fractional', { clusterLimits: { cpu: { maxCores: 2.5 } } }, 'clusterLimits.cpu.maxCores', 'integer'],
    ['minCores above maxCores', { clusterLimits: { cpu: { minCores: 8, maxCores: 4 } } }, 'clusterLimits.cpu.minCores', 'min-not-above-max'],
    ['cpu headroom above 50', { unschedulablePods: { headroom: { cpuPercentage: 60 } } }, 'unschedulablePods.headroom.cpuPercentage', 'max'],
    ['memory headroom negative', { unschedulablePods: { headroom: { memoryPercentage: -1 } } }, 'unschedulablePods.headroom.memoryPercentage', 'min'],
    ['node CPU min above max', { unschedulablePods: { nodeConstraints: { minCpuCores: 8, maxCpuCores: 2 } } }, 'unschedulablePods.nodeConstraints.minCpuCores', 'min-not-above-max'],
    ['node RAM zero', { unschedulablePods: { nodeConstraints: { minRamMib: 0 } } }, 'unschedulablePods.nodeConstraints.minRamMib', 'min'],
    ['empty clouds', { unschedulablePods: { clouds: [] } }, 'unschedulablePods.clouds', 'non-empty'],
    ['a repeated cloud', { unschedulablePods: { clouds: ['gcp', 'gcp'] } }, 'unschedulablePods.clouds[1]', 'unique'],
    ['an unknown cloud', { unschedulablePods: { clouds: ['ibm'] } }, 'unschedulablePods.clouds[0]', 'known-cloud'],
    ['a cloud the cluster does not span', { unschedulablePods: { clouds: ['gcp', 'azure'] } }, 'unschedulablePods.clouds[1]', 'cloud-in-cluster'],
    ['include and exclude together', { unschedulablePods: { instanceFamilies: { include: ['m5'], exclude: ['t3'] } } }, 'unschedulablePods.instanceFamilies', 'include-or-exclude'],
    ['an empty family name', { unschedulablePods: { instanceFamilies: { include: [''] } } }, 'unschedulablePods.instanceFamilies.include[0]', 'non-empty'],
    ['empty-node delay above a day', { nodeDownscaler: { emptyNodes: { delaySeconds: 90_000 } } }, 'nodeDownscaler.emptyNodes.delaySeconds', 'max'],
    ['underutilized threshold 0', { nodeDownscaler: { underutilized: { thresholdPercent: 0 } } }, 'nodeDownscaler.underutilized.thresholdPercent', 'min'],
    ['an unknown field', { enabled: true, autoscale: 'yes' }, 'autoscale', 'unknown-field'],
    ['an unknown nested field', { nodeDownscaler: { emptyNodes: { delay: 5 } } }, 'nodeDownscaler.emptyNodes.delay', 'unknown-field'],
    ['a body that is a list', [1, 2], '(body)', 'object'],
    ['no body at all', undefined, '(body)', 'object'],
  ])('refuses %s with a 422 naming the field and rule, changing nothing', async (_what, body, field, rule) => {
    const r = await api.call<ProblemBody>('PUT', policies(), body);
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.body.type).toBe('https://skyweave.dev/problems/validation-failed');
    expect(r.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field, rule })]));
    await unchanged();
  });

  it('refuses a PUT whose If-Match names another version with 412, changing nothing', async () => {
    for (const ifMatch of ['"1"', 'W/"2"', '"7", "3"']) {
      const r = await api.call<ProblemBody>('PUT', policies(), { enabled: false }, { 'if-match': ifMatch });
      expect(r.status).toBe(412);
      expect(r.body.type).toBe('https://skyweave.dev/problems/precondition-failed');
      expect(r.body.currentVersion).toBe(2);
      expect(r.headers.get('etag')).toBe('"2"');
    }
    await unchanged();
    // `*` and a list holding the current version match
    const star = await api.call<PolicyView>('PUT', policies(), { enabled: true, clusterLimits: { cpu: { minCores: 2, maxCores: 32 } }, unschedulablePods: { headroom: { cpuPercentage: 10 }, clouds: ['gcp'], instanceFamilies: { exclude: ['t3'] } } }, { 'if-match': '*' });
    expect([star.status, star.body.version]).toEqual([200, 2]);
    const listed = await api.call<PolicyView>('PUT', policies(), { enabled: false }, { 'if-match': '"1", "2"' });
    expect([listed.status, listed.body.version, listed.body.policy.enabled]).toEqual([200, 3, false]);
  });

  it('answers 404 for another organisation\'s cluster and changes nothing there', async () => {
    expect((await other.call('GET', policies())).status).toBe(404);
    expect((await other.call('PUT', policies(), { enabled: true })).status).toBe(404);
    expect((await other.call('GET', `/v1/clusters/${clusterId}/autoscaler`)).status).toBe(404);
    expect((await api.call('GET', `/v1/clusters/${randomUUID()}/policies`)).status).toBe(404);
    const mine = await api.ok<PolicyView>('GET', policies());
    expect([mine.version, mine.policy.enabled]).toEqual([3, false]);
    const repo = new AutoscalingRepository(db.ds);
    expect(await repo.getPolicy(orgScope(otherOrgId), clusterId)).toBeNull();
    expect(await repo.putPolicy(orgScope(otherOrgId), clusterId, 4, DEFAULT_AUTOSCALING_POLICY)).toBe(false);
    // a version that does not follow the stored one is refused, not overwritten
    expect(await repo.putPolicy(orgScope(orgId), clusterId, 9, DEFAULT_AUTOSCALING_POLICY)).toBe(false);
    expect((await repo.getPolicy(orgScope(orgId), clusterId))?.version).toBe(3);
  });

  it('refuses a PUT on a cluster being deleted with 409', async () => {
    const doomed = await api.ok<{ id: string }>('POST', '/v1/clusters', { name: 'doomed', region: 'us-east', clouds: ['aws'], controlPlane: { cloud: 'aws', count: 1 }, workers: [] });
    expect((await api.call('DELETE', `/v1/clusters/${doomed.id}`)).status).toBe(202);
    const r = await api.call<ProblemBody>('PUT', `/v1/clusters/${doomed.id}/policies`, { enabled: true });
    expect(r.status).toBe(409);
    expect(r.body.type).toBe('https://skyweave.dev/problems/cluster-deleting');
    expect((await api.ok<PolicyView>('GET', `/v1/clusters/${doomed.id}/policies`)).version).toBe(0);
  });

  it('answers the autoscaler\'s status: empty before its first report, then what it wrote (partial writes keep the rest)', async () => {
    const path = `/v1/clusters/${clusterId}/autoscaler`;
    expect(await api.ok('GET', path)).toEqual({
      policy: { enabled: false, version: 3 }, pendingPods: [], inFlight: [], lastDecision: null, costByCloud: {}, hourlyCostUsd: 0, prices: {}, updatedAt: null,
    });
    const repo = new AutoscalingRepository(db.ds);
    const pendingPods = [{ namespace: 'default', name: 'web-1', cpuMillicores: 500, memoryMiB: 256, message: '0/4 nodes are available: 4 Insufficient cpu.' }];
    const inFlight = [{ nodeId: randomUUID(), name: 'sw-x-worker-9', cloud: 'gcp' as const, instanceType: 'e2-standard-4', usdPerHour: 0.134, since: '2026-12-03T12:00:00.000Z' }];
    const lastDecision = { at: '2026-12-03T12:00:00.000Z', kind: 'scale-up' as const, summary: '1 × e2-standard-4 on GCP for 1 pod', pods: 1 };
    const prices = { aws: { source: 'aws-pricing-api', pricedAt: '2026-12-03T11:00:00.000Z', stale: false }, gcp: { source: 'catalogue', pricedAt: '2026-12-01T00:00:00.000Z', stale: true } };
    expect(await repo.upsertStatus(orgScope(orgId), clusterId, { pendingPods, inFlight, lastDecision, costByCloud: { aws: 0.1, gcp: 0.2 }, prices })).toBe(true);
    const first = await api.ok<Record<string, unknown>>('GET', path);
    expect(first).toEqual({
      policy: { enabled: false, version: 3 }, pendingPods, inFlight, lastDecision, costByCloud: { aws: 0.1, gcp: 0.2 }, hourlyCostUsd: 0.3, prices, updatedAt: expect.any(String),
    });
    // a later report with some columns: the others stay
    expect(await repo.upsertStatus(orgScope(orgId), clusterId, { pendingPods: [], lastDecision: null, updatedAt: new Date('2026-12-03T12:05:00.000Z') })).toBe(true);
    const second = await api.ok<Record<string, unknown>>('GET', path);
    expect(second).toMatchObject({ pendingPods: [], inFlight, lastDecision: null, costByCloud: { aws: 0.1, gcp: 0.2 }, prices, updatedAt: '2026-12-03T12:05:00.000Z' });
    // never for another organisation's cluster, nor a cluster that does not exist
    expect(await repo.upsertStatus(orgScope(otherOrgId), clusterId, { pendingPods: [] })).toBe(false);
    expect(await repo.upsertStatus(orgScope(orgId), randomUUID(), { pendingPods: [] })).toBe(false);
    expect(await repo.getStatus(orgScope(otherOrgId), clusterId)).toBeNull();
    expect((await repo.getStatus(orgScope(orgId), clusterId))?.inFlight).toEqual(inFlight);
  });

  it('lets one of two concurrent PUTs based on the same version through; the other gets 412', async () => {
    const put = (maxCores: number) => api.call<PolicyView>('PUT', policies(), { clusterLimits: { cpu: { maxCores } } }, { 'if-match': '"3"' });
    const answers = await Promise.all([put(10), put(20)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 412]);
    const won = answers.find((a) => a.status === 200)!.body;
    expect(won.version).toBe(4);
    expect(await api.ok<PolicyView>('GET', policies())).toEqual(won);
    expect((await outbox()).map((o) => (o.payload as { version: number }).version)).toEqual([1, 2, 3, 4]);
  });

  it('lists the endpoints in the OpenAPI document', async () => {
    const doc = await api.ok<{ paths: Record<string, Record<string, unknown>> }>('GET', '/docs/openapi.json');
    expect(Object.keys(doc.paths['/v1/clusters/{id}/policies']).sort()).toEqual(['get', 'put']);
    expect(Object.keys(doc.paths['/v1/clusters/{id}/autoscaler'])).toEqual(['get']);
  });

  it('migrates existing nodes: masters and workers made with their cluster are spec, the others user', async () => {
    const PG = process.env.SKYWEAVE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
    const name = `skyweave_test_${randomBytes(4).toString('hex')}`;
    const admin = new Client({ connectionString: `${PG}/postgres` });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    // the schema just before and just after this migration (later migrations left out)
    const at = MIGRATIONS.findIndex((m) => m.name === 'Autoscaling1764500000000');
    expect(at).toBeGreaterThan(0);
    const before = new DataSource({ type: 'postgres', url: `${PG}/${name}`, migrations: MIGRATIONS.slice(0, at) });
    const after = new DataSource({ type: 'postgres', url: `${PG}/${name}`, migrations: MIGRATIONS.slice(0, at + 1) });
    try {
      await before.initialize();
      await before.runMigrations({ transaction: 'all' });
      const [org, cluster] = [randomUUID(), randomUUID()];
      await before.query(`INSERT INTO "organisations" ("id", "name") VALUES ($1, 'old')`, [org]);
      await before.query(`INSERT INTO "clusters" ("id", "organisationId", "name", "spec", "phase", "version", "createdAt") VALUES ($1, $2, 'old', '{}', 'Ready', 1, '2026-01-01T00:00:00Z')`, [cluster, org]);
      const node = (ordinal: number, role: string, createdAt: string) => before.query(`INSERT INTO "nodes" ("id", "organisationId", "clusterId", "cloud", "role", "ordinal", "name", "instanceType", "phase", "version", "createdAt")
        VALUES ($1, $2, $3, 'aws', $4, $5, $6, 't3.medium', 'Joined', 1, $7)`, [randomUUID(), org, cluster, role, ordinal, `n-${role}-${ordinal}`, createdAt]);
      await node(0, 'master', '2026-01-01T00:00:00Z');
      await node(0, 'worker', '2026-01-01T00:00:00Z');
      await node(1, 'worker', '2026-01-02T00:00:00Z');
      await before.destroy();
      await after.initialize();
      await after.runMigrations({ transaction: 'all' });
      const rows = (await after.query(`SELECT "name", "origin" FROM "nodes" ORDER BY "name"`)) as { name: string; origin: string }[];
      expect(rows).toEqual([{ name: 'n-master-0', origin: 'spec' }, { name: 'n-worker-0', origin: 'spec' }, { name: 'n-worker-1', origin: 'user' }]);
      await expect(after.query(`UPDATE "nodes" SET "origin" = 'robot'`)).rejects.toThrow(/nodes_origin_check/);
      // and back down
      await after.undoLastMigration({ transaction: 'all' });
      expect(await after.query(`SELECT to_regclass('autoscaling_policies') AS t`)).toEqual([{ t: null }]);
    } finally {
      for (const ds of [before, after]) if (ds.isInitialized) await ds.destroy();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  });
});
