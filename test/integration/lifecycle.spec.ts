import { randomUUID } from 'node:crypto';
import { EventReasonName, SettlementSnapshot, isUnsettled } from '@skyweave/domain';
import {
  ClusterEntity, ClusterEventEntity, ClusterNetworkEntity, LifecycleRepository, NodeEntity, NodeOperationEntity, orgScope, unsettledClustersSql,
} from '@skyweave/persistence';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';
import { freshDatabase } from '../support/db';

/** The guarded transitions, condition patches and the re-drive query, on the real PostgreSQL. */
describe('node lifecycle on a real database', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let organisationId: string;
  const spec = { name: 'c', region: 'us-east', clouds: ['aws' as const], controlPlane: { cloud: 'aws' as const, count: 1 as const, instanceType: 't3.medium' }, workers: [], kubernetesVersion: '1.31.4' };

  beforeAll(async () => {
    db = await freshDatabase();
    organisationId = (await createOrganisation(db.ds, 'acme')).organisationId;
  });
  afterAll(async () => {
    await db.drop();
  });

  const newCluster = async (phase: ClusterEntity['phase'] = 'Ready', over: Partial<ClusterEntity> = {}) => {
    const id = randomUUID();
    await db.ds.getRepository(ClusterEntity).insert({ id, organisationId, name: `c-${id.slice(0, 8)}`, spec, phase, conditions: [], deletionRequestedAt: null, ...over });
    return id;
  };
  const newNode = async (clusterId: string, phase: NodeEntity['phase'], over: Partial<NodeEntity> = {}) => {
    const id = randomUUID();
    await db.ds.getRepository(NodeEntity).insert({ id, organisationId, clusterId, cloud: 'aws', role: 'worker', ordinal: 0, name: `n-${id.slice(0, 8)}`, instanceType: 't3.medium', phase, kubernetesVersion: '1.31.4', ...over });
    return id;
  };
  const newNetwork = async (clusterId: string, phase: ClusterNetworkEntity['phase'], over: Partial<ClusterNetworkEntity> = {}) => {
    await db.ds.getRepository(ClusterNetworkEntity).insert({ id: randomUUID(), organisationId, clusterId, cloud: 'aws', phase, status: null, message: null, dispatchedAt: null, ...over });
  };

  it('lets exactly one of two concurrent writers move a node, and records only the winner\'s event', async () => {
    for (let round = 0; round < 5; round++) {
      const clusterId = await newCluster();
      const id = await newNode(clusterId, 'Launching');
      // node-provisioner recording the launched VM (Launching → Booting) races a replica recording the cloud's refusal
      // of the same launch (Launching → Pending): both act on a read that said Launching
      const writer = (to: 'Booting' | 'Pending', reason: EventReasonName) => db.ds.transaction(async (em) => {
        const moved = await new LifecycleRepository(em).moveNode(orgScope(organisationId), { id, clusterId }, to, { from: ['Launching'], event: { reason, message: reason } });
        await new Promise((r) => setTimeout(r, 50)); // hold the row lock while the other writer waits on it
        return moved;
      });
      const [a, b] = await Promise.all(round % 2 ? [writer('Booting', 'InstanceLaunched'), writer('Pending', 'RequestRejected')] : [writer('Pending', 'RequestRejected'), writer('Booting', 'InstanceLaunched')].reverse());
      expect([a, b].filter(Boolean)).toHaveLength(1);
      const row = await db.ds.getRepository(NodeEntity).findOneByOrFail({ id });
      expect(row.phase).toBe(a ? 'Booting' : 'Pending');
      const events = await db.ds.getRepository(ClusterEventEntity).findBy({ clusterId });
      expect(events.map((e) => e.reason)).toEqual([a ? 'InstanceLaunched' : 'RequestRejected']);
    }
  });

  it('moves nothing from a phase the table forbids, and refuses to be asked for a forbidden move', async () => {
    const clusterId = await newCluster();
    const id = await newNode(clusterId, 'Terminated');
    await db.ds.transaction(async (em) => {
      const lc = new LifecycleRepository(em);
      expect(await lc.moveNode(orgScope(organisationId), { id, clusterId }, 'Joined')).toBe(false);
      await expect(lc.moveNode(orgScope(organisationId), { id, clusterId }, 'Joined', { from: ['Terminated'] })).rejects.toThrow(/not an allowed transition/);
    });
    // another organisation's scope moves nothing
    const other = (await createOrganisation(db.ds, 'globex')).organisationId;
    const live = await newNode(clusterId, 'Joined');
    expect(await db.ds.transaction((em) => new LifecycleRepository(em).moveNode(orgScope(other), { id: live, clusterId }, 'Terminating'))).toBe(false);
    // and the database itself refuses a phase outside the tables
    await expect(db.ds.getRepository(NodeEntity).update({ id: live }, { phase: 'Failed' as NodeEntity['phase'] })).rejects.toThrow(/nodes_phase/);
  });

  it('patches conditions by type under the row lock: concurrent writers of different types keep each other\'s', async () => {
    const clusterId = await newCluster();
    const patch = (writer: 'reconciler' | 'full-reconcile', type: string, i: number) => db.ds.transaction(async (em) => {
      await new LifecycleRepository(em).patchClusterConditions(orgScope(organisationId), clusterId, writer, { set: [{ type, status: 'True', reason: 'R', message: `${i}` }] });
      await new Promise((r) => setTimeout(r, 20));
    });
    await Promise.all([patch('full-reconcile', 'InSync', 1), patch('reconciler', 'Ready', 2), patch('reconciler', 'CredentialsValid', 3)]);
    const c = await db.ds.getRepository(ClusterEntity).findOneByOrFail({ id: clusterId });
    expect(c.conditions.map((x) => `${x.type}=${x.message}`)).toEqual(['CredentialsValid=3', 'InSync=1', 'Ready=2']);
    await expect(db.ds.transaction((em) => new LifecycleRepository(em).patchClusterConditions(orgScope(organisationId), clusterId, 'full-reconcile', { remove: ['Ready'] })))
      .rejects.toThrow(/not owned/);
  });

  it('selects exactly the clusters isUnsettled calls unsettled (one SQL, one predicate, same constants)', async () => {
    const past = new Date(Date.now() - 60_000);
    const future = new Date(Date.now() + 600_000);
    const made: string[] = [];
    const add = async (phase: ClusterEntity['phase'], rows: (id: string) => Promise<unknown>, over: Partial<ClusterEntity> = {}) => {
      const id = await newCluster(phase, over);
      await rows(id);
      made.push(id);
    };
    await add('Ready', async (id) => { await newNetwork(id, 'Ready'); await newNode(id, 'Joined'); });
    await add('Ready', async (id) => { await newNetwork(id, 'Provisioning', { retryAt: future, waitingReason: 'InvalidCredentials' }); await newNode(id, 'Joined'); });
    await add('Ready', async (id) => { await newNetwork(id, 'Provisioning', { retryAt: past, waitingReason: 'InvalidCredentials' }); });
    await add('Ready', async (id) => { await newNetwork(id, 'Ready'); await newNode(id, 'Pending'); });
    await add('Ready', async (id) => { await newNetwork(id, 'Ready'); await newNode(id, 'Pending', { retryAt: future, waitingReason: 'QuotaExceeded' }); });
    await add('Ready', async (id) => { await newNetwork(id, 'Ready'); await newNode(id, 'Terminating', { removalRequestedAt: past, retryAt: future }); });
    await add('Ready', async (id) => { await newNetwork(id, 'Ready'); await newNode(id, 'Joined', { removalRequestedAt: past }); });
    await add('Ready', async (id) => { await newNetwork(id, 'Ready'); await newNode(id, 'Joined', { kubernetesVersion: '1.31.3' }); });
    await add('Ready', async (id) => {
      await newNetwork(id, 'Ready');
      const n = await newNode(id, 'Joined', { kubernetesVersion: '1.31.3' });
      await db.ds.getRepository(NodeOperationEntity).insert({ id: randomUUID(), organisationId, clusterId: id, executorNodeId: n, targetNodeId: n, kind: 'upgrade', purpose: 'upgrade', kubernetesVersion: '1.31.4', timeoutSeconds: 60, state: 'Failed', deadlineAt: past });
    });
    await add('Ready', async (id) => { await newNetwork(id, 'Ready'); }, { deletionRequestedAt: past });
    await add('Provisioning', async (id) => { await newNetwork(id, 'Provisioning', { retryAt: future }); });
    await add('Deleting', async (id) => { await newNetwork(id, 'Deleting', { retryAt: future, waitingReason: 'ForeignResourcesInNetwork' }); });
    await add('Deleted', async (id) => { await newNetwork(id, 'Deleted'); }, { deletionRequestedAt: past });

    const expected: string[] = [];
    for (const id of made) {
      const c = await db.ds.getRepository(ClusterEntity).findOneByOrFail({ id });
      const snapshot: SettlementSnapshot = {
        phase: c.phase, deletionRequested: c.deletionRequestedAt !== null, kubernetesVersion: c.spec.kubernetesVersion,
        networks: await db.ds.getRepository(ClusterNetworkEntity).findBy({ clusterId: id }),
        nodes: (await db.ds.getRepository(NodeEntity).findBy({ clusterId: id })).map((n) => ({ ...n, removalRequested: n.removalRequestedAt !== null })),
        operations: await db.ds.getRepository(NodeOperationEntity).findBy({ clusterId: id }),
      };
      if (isUnsettled(snapshot, new Date())) expected.push(id);
    }
    const selected = ((await db.ds.query(unsettledClustersSql())) as { id: string }[]).map((r) => r.id).filter((id) => made.includes(id));
    expect(selected.sort()).toEqual(expected.sort());
    // the cases are not all one way: settled ones (incl. the refused network waiting its backoff) are left out
    expect(expected.length).toBeGreaterThan(3);
    expect(made.length - expected.length).toBeGreaterThan(3);
    expect(selected).not.toContain(made[1]);
  });

  it('wakes what waits on one cloud\'s credentials, and schedules a full reconcile of Ready clusters refused by them', async () => {
    const clusterId = await newCluster('Ready', { nextReconcileAt: new Date(Date.now() + 3600_000) });
    await newNetwork(clusterId, 'Ready', { waitingReason: 'InvalidCredentials', message: 'aws: AuthFailure' });
    const nodeId = await newNode(clusterId, 'Terminating', { waitingReason: 'InvalidCredentials', retryAt: new Date(Date.now() + 600_000), dispatchedAt: new Date() });
    const quota = await newNode(clusterId, 'Pending', { waitingReason: 'QuotaExceeded', retryAt: new Date(Date.now() + 600_000) });
    const woken = await db.ds.transaction((em) => new LifecycleRepository(em).wakeCredentialWaiters(orgScope(organisationId), 'aws'));
    expect(woken).toContain(clusterId);
    expect(await db.ds.getRepository(NodeEntity).findOneByOrFail({ id: nodeId })).toMatchObject({ retryAt: null, dispatchedAt: null, waitingReason: 'InvalidCredentials' });
    expect((await db.ds.getRepository(NodeEntity).findOneByOrFail({ id: quota })).retryAt).not.toBeNull();
    expect((await db.ds.getRepository(ClusterEntity).findOneByOrFail({ id: clusterId })).nextReconcileAt!.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
  });
});

describe('the lifecycle migration', () => {
  it('moves rows left Failed by an older version back to the phase they are retried in, and drops DeleteFailed', async () => {
    const db = await freshDatabase();
    try {
      // back to the schema before the lifecycle migration (undoing the migrations that came after it first)
      while ((await db.ds.query(`SELECT 1 FROM "migrations" WHERE "name" = 'Lifecycle1764000000000'`)).length > 0) await db.ds.undoLastMigration({ transaction: 'all' });
      // the organisation as the schema of then has it (the entity has columns added since)
      const organisationId = randomUUID();
      await db.ds.query(`INSERT INTO "organisations" ("id", "name") VALUES ($1, 'old')`, [organisationId]);
      const provisioning = randomUUID();
      const deleting = randomUUID();
      const deleteFailed = [{ type: 'DeleteFailed', status: 'True', reason: 'ForeignResourcesInNetwork', message: 'i-1', lastTransitionTime: new Date().toISOString() }];
      await db.ds.query(`INSERT INTO "clusters" ("id", "organisationId", "name", "spec", "phase", "conditions", "deletionRequestedAt", "version")
        VALUES ($1, $3, 'a', '{}', 'Failed', '[]', NULL, 1), ($2, $3, 'b', '{}', 'Failed', $4::jsonb, now(), 1)`, [provisioning, deleting, organisationId, JSON.stringify(deleteFailed)]);
      for (const c of [provisioning, deleting]) {
        await db.ds.query(`INSERT INTO "nodes" ("id", "organisationId", "clusterId", "cloud", "role", "ordinal", "name", "instanceType", "phase", "version")
          VALUES ($1, $2, $3, 'aws', 'master', 0, $4, 't3.medium', 'Failed', 1)`, [randomUUID(), organisationId, c, `n-${c}`]);
        await db.ds.query(`INSERT INTO "cluster_networks" ("id", "organisationId", "clusterId", "cloud", "phase", "version") VALUES ($1, $2, $3, 'aws', 'Failed', 1)`, [randomUUID(), organisationId, c]);
      }
      await db.ds.runMigrations({ transaction: 'all' });
      const phases = async (table: string, key: string) => Object.fromEntries(((await db.ds.query(`SELECT "${key}" AS k, "phase" FROM "${table}"`)) as { k: string; phase: string }[]).map((r) => [r.k, r.phase]));
      expect(await phases('clusters', 'id')).toEqual({ [provisioning]: 'Provisioning', [deleting]: 'Deleting' });
      expect(await phases('nodes', 'clusterId')).toEqual({ [provisioning]: 'Pending', [deleting]: 'Terminating' });
      expect(await phases('cluster_networks', 'clusterId')).toEqual({ [provisioning]: 'Provisioning', [deleting]: 'Deleting' });
      expect((await db.ds.getRepository(ClusterEntity).findOneByOrFail({ id: deleting })).conditions).toEqual([]);
    } finally {
      await db.drop();
    }
  });
});
