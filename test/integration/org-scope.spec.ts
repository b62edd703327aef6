import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { DEFAULT_AUTOSCALING_POLICY, type ClusterSpec } from '@skyweave/domain';
import {
  ClusterEntity, ClusterNetworkEntity, KubeNodeStatusRow, LeakCandidateEntity, NodeEntity, NodeOperationEntity, OrgScope, Repositories, orgScope, systemScope,
} from '@skyweave/persistence';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';
import { freshDatabase } from '../support/db';

/**
 * Issue 9, item 4: every repository method that takes an OrgScope filters by the organisation. Two organisations on
 * real PostgreSQL, each with a cluster (networks, nodes, an operation, a reconcile record, events, credentials, a
 * leak candidate, an idempotency key): organisation B, holding every id of A's rows, reads none of them (by id, by
 * list) and changes none (update, delete). Each probe is also run as A, on the same ids, and must see or change the
 * row — so a probe that found nothing for B because its ids were wrong cannot pass.
 */
describe('organisation scope of the repositories (issue 9, item 4)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let repos: Repositories;

  /** One organisation's rows, by id. */
  interface Fixture {
    scope: OrgScope;
    clusterId: string;
    masterId: string;
    workerId: string;
    operationId: string;
    reconcileId: string;
    credentialsId: string;
    leakClusterId: string;
    idempotencyKey: string;
  }
  let a: Fixture;
  let b: Fixture;

  const tx = <T>(fn: (em: EntityManager) => Promise<T>): Promise<T> => db.ds.transaction(fn);
  /** Runs `fn` in a transaction that is rolled back, so a control write by the owner leaves the rows as they were. */
  const rolledBack = async <T>(fn: (em: EntityManager) => Promise<T>): Promise<T> => {
    let out: T | undefined;
    await db.ds.transaction(async (em) => {
      out = await fn(em);
      throw new RolledBack();
    }).catch((e: unknown) => { if (!(e instanceof RolledBack)) throw e; });
    return out as T;
  };
  class RolledBack extends Error {}

  /** The organisation's rows, as stored (read with plain SQL, not through the repositories under test). */
  const snapshot = async (f: Fixture) => ({
    cluster: await db.ds.getRepository(ClusterEntity).findOneByOrFail({ id: f.clusterId }),
    networks: await db.ds.getRepository(ClusterNetworkEntity).find({ where: { clusterId: f.clusterId }, order: { cloud: 'ASC' } }),
    nodes: await db.ds.getRepository(NodeEntity).find({ where: { clusterId: f.clusterId }, order: { name: 'ASC' } }),
    operations: await db.ds.getRepository(NodeOperationEntity).findBy({ clusterId: f.clusterId }),
    reconciles: await db.ds.query(`SELECT * FROM "cluster_reconciles" WHERE "clusterId" = $1`, [f.clusterId]),
    events: await db.ds.query(`SELECT * FROM "cluster_events" WHERE "clusterId" = $1 ORDER BY "id"`, [f.clusterId]),
    credentials: await db.ds.query(`SELECT * FROM "cloud_credentials" WHERE "organisationId" = $1 ORDER BY "id"`, [f.scope.organisationId]),
    leaks: await db.ds.getRepository(LeakCandidateEntity).findBy({ organisationId: f.scope.organisationId }),
    idempotency: await db.ds.query(`SELECT * FROM "idempotency_keys" WHERE "organisationId" = $1 ORDER BY "key"`, [f.scope.organisationId]),
  });

  const spec = (name: string): ClusterSpec => ({
    name, region: 'eu-central', clouds: ['aws', 'gcp'], controlPlane: { cloud: 'aws', count: 1, instanceType: 't3.medium' },
    workers: [{ cloud: 'gcp', count: 1, instanceType: 'e2-medium' }], kubernetesVersion: '1.31.4', mesh: 'full',
  });

  /** An organisation with one Ready cluster on AWS and GCP and one row of every kind. */
  async function seed(name: string): Promise<Fixture> {
    const { organisationId } = await createOrganisation(db.ds, name);
    const scope = orgScope(organisationId);
    const clusterId = randomUUID();
    const masterId = randomUUID();
    const workerId = randomUUID();
    const operationId = randomUUID();
    const leakClusterId = randomUUID();
    let credentialsId = '';
    await tx(async (em) => {
      await repos.clusters.insert(scope, {
        id: clusterId, name, spec: spec(name), phase: 'Ready', conditions: [], deletionRequestedAt: null, caCertificate: null, caKeySealed: null,
        adminCertificate: null, adminKeySealed: null, pki: null, pkiSealed: null,
      }, em);
      await repos.networks.insertMany(scope, (['aws', 'gcp'] as const).map((cloud) => ({ id: randomUUID(), clusterId, cloud, phase: 'Ready' as const, status: null, message: null, dispatchedAt: null })), em);
      await repos.nodes.insertMany(scope, [
        { id: masterId, clusterId, cloud: 'aws', role: 'master', ordinal: 0, name: `${name}-master-0`, instanceType: 't3.medium', phase: 'Joined', wireguardAddress: '10.4.0.1', kubernetesVersion: '1.31.4' },
        { id: workerId, clusterId, cloud: 'gcp', role: 'worker', ordinal: 0, name: `${name}-worker-0`, instanceType: 'e2-medium', phase: 'Joined', wireguardAddress: '10.4.0.2', kubernetesVersion: '1.31.4' },
      ], em);
      await repos.operations.insert(scope, {
        id: operationId, clusterId, executorNodeId: masterId, targetNodeId: workerId, kind: 'drain', purpose: 'removal', kubernetesVersion: null,
        upgradeControlPlane: false, timeoutSeconds: 60, state: 'Pending', message: null, deadlineAt: new Date(Date.now() + 3600_000), finishedAt: null,
      }, em);
      await repos.events.record(scope, clusterId, { reason: 'Created', message: `${name} created` }, em);
      credentialsId = (await repos.credentials.insert(scope, { id: randomUUID(), cloud: 'gcp', name: 'gcp', identity: `${name}@example.iam`, ciphertext: 'sealed' }, em)).id;
    });
    // a network and a node waiting out a credentials refusal, and a terminating node waiting out a backoff
    await db.ds.query(`UPDATE "cluster_networks" SET "waitingReason" = 'InvalidCredentials' WHERE "clusterId" = $1 AND "cloud" = 'gcp'`, [clusterId]);
    const reconcileId = (await repos.reconciles.start(scope, clusterId, { replica: 'it', trigger: 'manual', startedAt: new Date() })).id;
    await repos.leakCandidates.insert(scope, { cloud: 'gcp', region: 'europe-west3' }, leakClusterId, ['instance/i-1'], new Date());
    const idempotencyKey = `key-of-${name}`;
    expect(await repos.idempotencyKeys.claim(scope, idempotencyKey, 'f'.repeat(64))).toBe(true);
    return { scope, clusterId, masterId, workerId, operationId, reconcileId, credentialsId, leakClusterId, idempotencyKey };
  }

  beforeAll(async () => {
    db = await freshDatabase();
    repos = new Repositories(db.ds);
    a = await seed('org-a');
    b = await seed('org-b');
    // B's rows differ from A's where a count would not tell them apart
    await db.ds.query(`UPDATE "organisations" SET "maxClusters" = 7 WHERE "id" = $1`, [a.scope.organisationId]);
    await db.ds.query(`DELETE FROM "cloud_credentials" WHERE "organisationId" = $1`, [b.scope.organisationId]);
    await db.ds.query(`UPDATE "clusters" SET "spec" = jsonb_set("spec", '{clouds}', '["aws"]') WHERE "id" = $1`, [b.clusterId]);
  }, 60_000);
  afterAll(async () => {
    await db?.drop();
  });

  /**
   * A probe of one repository method on A's ids: run as B it must find / change nothing (`foreign`), run as A (in a
   * rolled-back transaction when it writes) it must find / change A's row (`own`); A's rows are unchanged after B's call.
   */
  interface Probe<T> { call: (scope: OrgScope, em: EntityManager) => Promise<T>; foreign: (r: T) => void; own: (r: T) => void }
  const probes: Record<string, Probe<unknown>> = {};
  const probe = <T>(name: string, p: Probe<T>) => { probes[name] = p as Probe<unknown>; };
  const none = (r: unknown) => expect(r).toBeNull();
  const some = (r: unknown) => expect(r).not.toBeNull();
  const zero = (r: unknown) => expect(r).toBe(0);
  const one = (r: unknown) => expect(r).toBe(1);
  const empty = (r: unknown) => expect(r).toHaveLength(0);
  const rejected = (r: unknown) => expect(r).toBe('rejected');
  const resolved = (r: unknown) => expect(r).toBe('resolved');
  const settle = (p: Promise<unknown>) => p.then(() => 'resolved', () => 'rejected');

  // clusters
  probe('clusters.findById', { call: (s, em) => repos.clusters.findById(s, a.clusterId, em), foreign: none, own: some });
  probe('clusters.getById', { call: (s, em) => settle(repos.clusters.getById(s, a.clusterId, em)), foreign: rejected, own: resolved });
  probe('clusters.findForUpdate', { call: (s, em) => repos.clusters.findForUpdate(s, a.clusterId, em), foreign: none, own: some });
  probe('clusters.getForUpdate', { call: (s, em) => settle(repos.clusters.getForUpdate(s, a.clusterId, em)), foreign: rejected, own: resolved });
  probe('clusters.listLive', {
    call: async (s) => (await repos.clusters.listLive(s, { limit: 50, offset: 0 }))[0].map((c) => c.id),
    foreign: (ids) => expect(ids).not.toContain(a.clusterId), own: (ids) => expect(ids).toContain(a.clusterId),
  });
  probe('clusters.countLiveOnCloud', { call: (s) => repos.clusters.countLiveOnCloud(s, 'gcp'), foreign: zero, own: one });
  probe('clusters.update', { call: (s, em) => repos.clusters.update(s, a.clusterId, { deletionRequestedAt: new Date() }, em), foreign: zero, own: one });
  probe('clusters.acquireReconcileLease', { call: (s) => repos.clusters.acquireReconcileLease(s, a.clusterId, 'intruder', 600), foreign: (r) => expect(r).toBe(false), own: (r) => expect(r).toBe(true) });
  probe('clusters.renewReconcileLease', {
    // A holds the lease (taken by the probe above as A); B renewing it changes nothing
    call: async (s) => {
      await repos.clusters.renewReconcileLease(s, a.clusterId, 'intruder', 86_400);
      return (await db.ds.getRepository(ClusterEntity).findOneByOrFail({ id: a.clusterId })).reconcileLeaseExpiresAt!.getTime() - Date.now();
    },
    foreign: (ms) => expect(ms).toBeLessThan(3600_000), own: (ms) => expect(ms).toBeGreaterThan(3600_000),
  });
  probe('clusters.releaseReconcileLease', {
    call: async (s, em) => {
      await repos.clusters.releaseReconcileLease(s, a.clusterId, 'intruder', { lastReconciledAt: new Date(), nextReconcileAt: new Date() }, em);
      return (await em.getRepository(ClusterEntity).findOneByOrFail({ id: a.clusterId })).reconcileLeaseHolder;
    },
    foreign: (h) => expect(h).toBe('intruder'), own: (h) => expect(h).toBeNull(),
  });
  // nodes
  probe('nodes.findById', { call: (s, em) => repos.nodes.findById(s, a.workerId, em), foreign: none, own: some });
  probe('nodes.findById (in cluster)', { call: (s, em) => repos.nodes.findById(s, a.workerId, em, a.clusterId), foreign: none, own: some });
  probe('nodes.getById', { call: (s, em) => settle(repos.nodes.getById(s, a.workerId, em)), foreign: rejected, own: resolved });
  probe('nodes.findForUpdate', { call: (s, em) => repos.nodes.findForUpdate(s, a.workerId, em), foreign: none, own: some });
  probe('nodes.listByCluster', { call: (s, em) => repos.nodes.listByCluster(s, a.clusterId, em, { order: 'role-ordinal' }), foreign: empty, own: (r) => expect(r).toHaveLength(2) });
  probe('nodes.listByCluster (locked)', { call: (s, em) => repos.nodes.listByCluster(s, a.clusterId, em, { lock: true }), foreign: empty, own: (r) => expect(r).toHaveLength(2) });
  probe('nodes.findByOrdinal', { call: (s) => repos.nodes.findByOrdinal(s, a.clusterId, 'master', 0), foreign: none, own: some });
  probe('nodes.namesByIds', { call: async (s) => [...(await repos.nodes.namesByIds(s, [a.masterId, a.workerId])).keys()], foreign: empty, own: (r) => expect(r).toHaveLength(2) });
  probe('nodes.recordAgentVersion', { call: (s, em) => repos.nodes.recordAgentVersion(s, a.workerId, '0.1.0-probe', em), foreign: (r) => expect(r).toBeUndefined(), own: none });
  probe('nodes.update', { call: (s, em) => repos.nodes.update(s, a.workerId, { removalRequestedAt: new Date() }, em), foreign: zero, own: one });
  probe('nodes.update (in phase)', { call: (s, em) => repos.nodes.update(s, a.workerId, { message: 'x' }, em, ['Joined']), foreign: zero, own: one });
  probe('nodes.updateMany', { call: (s, em) => repos.nodes.updateMany(s, [a.masterId, a.workerId], { instanceSeenAt: new Date() }, em), foreign: zero, own: (r) => expect(r).toBe(2) });
  probe('nodes.retryTerminatingNow', {
    call: async (s, em) => {
      await em.query(`UPDATE "nodes" SET "phase" = 'Terminating', "retryAt" = now() + interval '1 hour' WHERE "id" = $1`, [a.workerId]);
      return repos.nodes.retryTerminatingNow(s, a.clusterId, em);
    },
    foreign: zero, own: one,
  });
  // networks
  probe('networks.findByCloud', { call: (s, em) => repos.networks.findByCloud(s, a.clusterId, 'aws', em), foreign: none, own: some });
  probe('networks.findByCloud (locked, in phase)', { call: (s, em) => repos.networks.findByCloud(s, a.clusterId, 'aws', em, { inPhase: 'Ready', lock: true }), foreign: none, own: some });
  probe('networks.listByCluster', { call: (s, em) => repos.networks.listByCluster(s, a.clusterId, em, { lock: true }), foreign: empty, own: (r) => expect(r).toHaveLength(2) });
  probe('networks.update', { call: (s, em) => repos.networks.update(s, a.clusterId, 'aws', { dispatchedAt: new Date() }, em, 'Ready'), foreign: zero, own: one });
  probe('networks.clearWaiting', { call: (s, em) => repos.networks.clearWaiting(s, a.clusterId, 'Ready', ['InvalidCredentials'], em), foreign: zero, own: one });
  probe('networks.retryDeletingNow', {
    call: async (s, em) => {
      await em.query(`UPDATE "cluster_networks" SET "phase" = 'Deleting', "retryAt" = now() + interval '1 hour' WHERE "clusterId" = $1 AND "cloud" = 'aws'`, [a.clusterId]);
      return repos.networks.retryDeletingNow(s, a.clusterId, em);
    },
    foreign: zero, own: one,
  });
  // node operations
  probe('operations.listByCluster', { call: (s, em) => repos.operations.listByCluster(s, a.clusterId, em), foreign: empty, own: (r) => expect(r).toHaveLength(1) });
  probe('operations.listActiveForExecutor', { call: (s) => repos.operations.listActiveForExecutor(s, a.masterId), foreign: empty, own: (r) => expect(r).toHaveLength(1) });
  probe('operations.markRunning', { call: (s) => repos.operations.markRunning(s, [a.operationId]), foreign: zero, own: one });
  probe('operations.findForExecutorForUpdate', { call: (s, em) => repos.operations.findForExecutorForUpdate(s, a.operationId, a.masterId, em), foreign: none, own: some });
  probe('operations.update', { call: (s, em) => repos.operations.update(s, a.operationId, { message: 'x' }, em, { onlyActive: true }), foreign: zero, own: one });
  probe('operations.completeAgentUpgrades', {
    // an upgrade-agent operation of A's worker to `v2`, made for this probe and removed after it
    call: async (s, em) => {
      const id = randomUUID();
      await em.query(`INSERT INTO "node_operations" ("id", "organisationId", "clusterId", "executorNodeId", "targetNodeId", "kind", "purpose", "timeoutSeconds", "state", "deadlineAt", "agentPackage")
        VALUES ($1, $2, $3, $4, $4, 'upgrade-agent', 'agent-upgrade', 60, 'Running', now() + interval '1 hour', '{"version":"v2","url":"/x","sha256":"0","bytes":1}')`, [id, a.scope.organisationId, a.clusterId, a.workerId]);
      const done = await repos.operations.completeAgentUpgrades(s, a.workerId, 'v2', em);
      await em.query('DELETE FROM "node_operations" WHERE "id" = $1', [id]);
      return done.length;
    },
    foreign: zero, own: one,
  });
  probe('operations.failActiveOfNode', { call: (s, em) => repos.operations.failActiveOfNode(s, a.clusterId, a.workerId, 'replaced', em), foreign: zero, own: one });
  // reconciles
  probe('reconciles.finish', {
    call: (s, em) => repos.reconciles.finish(s, a.reconcileId, { finishedAt: new Date(), found: ['x'], changed: [], undecided: [], error: null }, em), foreign: zero, own: one,
  });
  probe('reconciles.list', { call: (s) => repos.reconciles.list(s, a.clusterId, 10), foreign: empty, own: (r) => expect(r).toHaveLength(1) });
  // events
  probe('events.list', { call: (s) => repos.events.list(s, a.clusterId, undefined, 100), foreign: empty, own: (r) => expect(r).toHaveLength(1) });
  // cloud credentials
  probe('credentials.findById', { call: (s) => repos.credentials.findById(s, a.credentialsId), foreign: none, own: some });
  probe('credentials.findByCloud', { call: (s) => repos.credentials.findByCloud(s, 'gcp'), foreign: none, own: some });
  probe('credentials.findByClouds', { call: (s) => repos.credentials.findByClouds(s, ['gcp']), foreign: empty, own: (r) => expect(r).toHaveLength(1) });
  probe('credentials.list', { call: (s) => repos.credentials.list(s), foreign: empty, own: (r) => expect(r).toHaveLength(1) });
  probe('credentials.replace', { call: (s, em) => repos.credentials.replace(s, a.credentialsId, { name: 'stolen', identity: 'x', ciphertext: 'x' }, em), foreign: zero, own: one });
  // leak candidates
  const at = { cloud: 'gcp' as const, region: 'europe-west3' };
  probe('leakCandidates.list', { call: (s) => repos.leakCandidates.list(s, at), foreign: (r) => expect((r as LeakCandidateEntity[]).map((k) => k.clusterId)).not.toContain(a.leakClusterId), own: (r) => expect((r as LeakCandidateEntity[]).map((k) => k.clusterId)).toContain(a.leakClusterId) });
  probe('leakCandidates.seenAgain', { call: (s) => repos.leakCandidates.seenAgain(s, at, a.leakClusterId, [], new Date()), foreign: zero, own: one });
  // idempotency keys
  probe('idempotencyKeys.get', { call: (s) => settle(repos.idempotencyKeys.get(s, a.idempotencyKey)), foreign: rejected, own: resolved });
  probe('idempotencyKeys.complete', { call: (s) => repos.idempotencyKeys.complete(s, a.idempotencyKey, 201, { stolen: true }), foreign: zero, own: one });
  // organisations
  probe('organisations.lockQuotas', { call: (s, em) => repos.organisations.lockQuotas(s, em), foreign: (q) => expect(q).toEqual({ maxClusters: null, maxNodes: null }), own: (q) => expect(q).toEqual({ maxClusters: 7, maxNodes: null }) });
  probe('organisations.usage', {
    call: async (s, em) => {
      await em.query(`UPDATE "nodes" SET "phase" = 'Terminated' WHERE "clusterId" = $1`, [b.clusterId]);
      return repos.organisations.usage(s, em);
    },
    foreign: (u) => expect(u).toEqual({ clusters: 1, nodes: 0 }), own: (u) => expect(u).toEqual({ clusters: 1, nodes: 2 }),
  });

  // the kube watcher's status (apps/kube-watcher): A's cluster made watchable and its lease taken by `probe-replica`
  // inside the probe's (rolled-back) transaction, then each OrgScope method called
  const watchedByProbe = async (em: EntityManager) => {
    await em.query(`UPDATE "clusters" SET "caCertificate" = 'ca', "caKeySealed" = 'sealed' WHERE "id" = $1`, [a.clusterId]);
    await repos.kubeStatus.claim(systemScope('org-scope probe'), 'probe-replica', 60, em);
  };
  const kubeRow = (): KubeNodeStatusRow => ({
    nodeId: a.workerId, kubeNodeName: 'w', ready: 'True', readyReason: 'KubeletReady', unschedulable: false, allocatableCpuMillicores: 1930,
    allocatableMemoryMiB: 2972, allocatablePods: 110, requestedCpuMillicores: 100, requestedMemoryMiB: 128, pods: 1, kubeletVersion: 'v1.32.0',
    notReadySince: null, notReadyReportedAt: null, observedAt: new Date().toISOString(),
  });
  probe('kubeStatus.flush', {
    call: async (s, em) => {
      await watchedByProbe(em);
      return repos.kubeStatus.flush(s, a.clusterId, 'probe-replica', {
        upsert: [kubeRow()], remove: [], pendingPods: 3, condition: { type: 'KubernetesApiReachable', status: 'True', reason: 'Watching', message: 'probe' }, events: [],
      }, em);
    },
    foreign: (r) => expect(r).toBe(false), own: (r) => expect(r).toBe(true),
  });
  probe('kubeStatus.nodeStatuses', {
    call: async (s, em) => {
      await watchedByProbe(em);
      await repos.kubeStatus.flush(a.scope, a.clusterId, 'probe-replica', { upsert: [kubeRow()], remove: [], events: [] }, em);
      return repos.kubeStatus.nodeStatuses(s, a.clusterId, em);
    },
    foreign: empty, own: (r) => expect(r).toHaveLength(1),
  });
  probe('kubeStatus.release', {
    call: async (s, em) => {
      await watchedByProbe(em);
      return repos.kubeStatus.release(s, a.clusterId, 'probe-replica', em);
    },
    foreign: zero, own: one,
  });

  // the autoscaler's tables (issue 13): A's policy and status written as A inside the probe's (rolled-back) transaction
  const yes = (r: unknown) => expect(r).toBe(true);
  const no = (r: unknown) => expect(r).toBe(false);
  const policyOfA = (em: EntityManager) => repos.autoscaling.putPolicy(a.scope, a.clusterId, 1, DEFAULT_AUTOSCALING_POLICY, em);
  const statusOfA = (em: EntityManager) => repos.autoscaling.upsertStatus(a.scope, a.clusterId, { costByCloud: { gcp: 0.1 } }, em);
  probe('autoscaling.putPolicy', { call: (s, em) => repos.autoscaling.putPolicy(s, a.clusterId, 1, { ...DEFAULT_AUTOSCALING_POLICY, enabled: true }, em), foreign: no, own: yes });
  probe('autoscaling.putPolicy (next version)', {
    call: async (s, em) => (await policyOfA(em)) && repos.autoscaling.putPolicy(s, a.clusterId, 2, { ...DEFAULT_AUTOSCALING_POLICY, enabled: true }, em), foreign: no, own: yes,
  });
  probe('autoscaling.getPolicy', { call: async (s, em) => (await policyOfA(em)) && repos.autoscaling.getPolicy(s, a.clusterId, em), foreign: none, own: some });
  probe('autoscaling.upsertStatus', { call: (s, em) => repos.autoscaling.upsertStatus(s, a.clusterId, { pendingPods: [] }, em), foreign: no, own: yes });
  probe('autoscaling.upsertStatus (over a row)', {
    call: async (s, em) => (await statusOfA(em)) && repos.autoscaling.upsertStatus(s, a.clusterId, { costByCloud: { gcp: 99 } }, em), foreign: no, own: yes,
  });
  probe('autoscaling.getStatus', { call: async (s, em) => (await statusOfA(em)) && repos.autoscaling.getStatus(s, a.clusterId, em), foreign: none, own: some });

  it.each(Object.keys(probes))('%s: organisation B neither reads nor changes organisation A\'s rows; A does', async (name) => {
    const p = probes[name];
    const before = await snapshot(a);
    // B's call, then A's control call, each rolled back so that probes stay independent
    const foreign = await rolledBack((em) => p.call(b.scope, em));
    const afterForeign = await snapshot(a);
    const own = await rolledBack((em) => p.call(a.scope, em));
    p.foreign(foreign);
    p.own(own);
    expect(afterForeign).toEqual(before);
  });

  // Deletes outside the caller's transaction (no EntityManager parameter): B's call must leave A's rows as they were.
  // `deleted`: what B's call deletes of its own (the purge takes B's key, older than 0 hours, and only it).
  it.each([
    ['leakCandidates.delete', (s: OrgScope) => repos.leakCandidates.delete(s, at, a.leakClusterId), 0],
    ['credentials.delete', (s: OrgScope) => repos.credentials.delete(s, a.credentialsId), 0],
    ['idempotencyKeys.release', (s: OrgScope) => repos.idempotencyKeys.release(s, a.idempotencyKey), 0],
    ['idempotencyKeys.purgeOlderThan', (s: OrgScope) => repos.idempotencyKeys.purgeOlderThan(s, 0), 1],
  ] as const)('%s: organisation B deletes nothing of organisation A\'s', async (_name, call, deleted) => {
    const before = await snapshot(a);
    expect(await call(b.scope)).toBe(deleted);
    expect(await snapshot(a)).toEqual(before);
  });

  it('the same Idempotency-Key in two organisations is two keys', async () => {
    expect(await repos.idempotencyKeys.claim(b.scope, a.idempotencyKey, '0'.repeat(64))).toBe(true);
    expect((await repos.idempotencyKeys.get(a.scope, a.idempotencyKey)).requestFingerprint).toBe('f'.repeat(64));
    expect(await repos.idempotencyKeys.claim(a.scope, a.idempotencyKey, '1'.repeat(64))).toBe(false);
  });

  // Last: the owner's deletes, showing the probes above named real rows.
  it('organisation A deletes its own rows by the same calls', async () => {
    expect(await repos.leakCandidates.delete(a.scope, at, a.leakClusterId)).toBe(1);
    expect(await repos.credentials.delete(a.scope, a.credentialsId)).toBe(1);
    expect(await repos.idempotencyKeys.release(a.scope, a.idempotencyKey)).toBe(1);
  });

  it('every repository method is probed here (a new method without a probe fails this test)', () => {
    const probed = new Set([...Object.keys(probes).map((n) => n.replace(/ \(.*\)$/, '')),
      'leakCandidates.delete', 'credentials.delete', 'idempotencyKeys.release', 'idempotencyKeys.purgeOlderThan']);
    // writes that create the organisation's own rows (used by seed above), and the SystemScope sweeps and lookups
    const creators = ['clusters.insert', 'nodes.insertMany', 'networks.insertMany', 'operations.insert', 'reconciles.start', 'events.record',
      'credentials.insert', 'leakCandidates.insert', 'idempotencyKeys.claim'];
    const system = ['clusters.unsettled', 'clusters.dueForFullReconcile', 'clusters.liveIds', 'nodes.findForAgent', 'nodes.clustersWithCertificatesExpiringBefore', 'nodes.clustersWithAgentVersionOtherThan', 'credentials.accounts', 'kubeStatus.claim', 'kubeStatus.leave'];
    const all = Object.entries(repos).filter(([k]) => k !== 'ds').flatMap(([k, repo]) =>
      Object.getOwnPropertyNames(Object.getPrototypeOf(repo)).filter((m) => m !== 'constructor').map((m) => `${k}.${m}`));
    expect(all).toEqual(expect.arrayContaining(['clusters.findById', 'nodes.update', 'organisations.usage', ...creators, ...system]));
    expect(all.filter((m) => !probed.has(m) && !creators.includes(m) && !system.includes(m))).toEqual([]);
  });

  it('a scope is made from an organisation id only, a system scope only with its reason', () => {
    expect(() => orgScope('not-a-uuid')).toThrow(/not an organisation id/);
    expect(() => systemScope(' ')).toThrow(/give the reason/);
    expect(systemScope('leak sweep')).toMatchObject({ kind: 'system', reason: 'leak sweep' });
  });
});
