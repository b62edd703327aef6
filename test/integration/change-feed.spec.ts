import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { ChangeFeed, ClusterEntity, NodeEntity, NodeOperationEntity } from '@skyweave/persistence';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';
import { freshDatabase } from '../support/db';

/** ChangeFeed against real PostgreSQL: the triggers of migration ChangeNotify notify, and the listener survives a lost connection. */
describe('ChangeFeed (LISTEN/NOTIFY from triggers)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let feed: ChangeFeed;
  let orgId: string;
  const clusterId = randomUUID();
  const nodeId = randomUUID();

  const waitFor = async (cond: () => boolean, ms: number) => {
    const until = Date.now() + ms;
    while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return cond();
  };

  beforeAll(async () => {
    db = await freshDatabase();
    orgId = (await createOrganisation(db.ds, 'acme')).organisationId;
    await db.ds.getRepository(ClusterEntity).insert({
      id: clusterId, organisationId: orgId, name: 'c', phase: 'Pending', conditions: [], deletionRequestedAt: null,
      spec: { name: 'c', region: 'us-east', clouds: ['aws'], controlPlane: { cloud: 'aws', count: 1, instanceType: 't3.medium' }, workers: [], kubernetesVersion: '1.31.4', mesh: 'full' },
    });
    await db.ds.getRepository(NodeEntity).insert({
      id: nodeId, organisationId: orgId, clusterId, cloud: 'aws', role: 'master', ordinal: 0, name: 'm0', instanceType: 't3.medium', phase: 'Pending', wireguardAddress: '10.4.0.1',
    });
    // safety re-check far beyond the waits below, so a wake-up can only come from a notification
    feed = ChangeFeed.forDataSource(db.ds, { safetyRecheckMs: 60_000, degradedRecheckMs: 60_000, reconnectDelayMs: 100, log: pino({ level: 'silent' }) });
    await feed.start();
  });
  afterAll(async () => {
    await feed.stop();
    await db.drop();
  });

  it('wakes a cluster subscription when a node changes a column the long polls answer from, and not for round-trip reports', async () => {
    expect(feed.listening).toBe(true);
    const sub = feed.subscribe('cluster', clusterId);
    try {
      await db.ds.getRepository(NodeEntity).update({ id: nodeId }, { peerLatencies: { x: { rttMs: 3, at: new Date().toISOString() } } });
      expect(await sub.next(400)).toBe(false);
      const started = Date.now();
      const woken = sub.next(5_000);
      await db.ds.getRepository(NodeEntity).update({ id: nodeId }, { phase: 'Joined' });
      expect(await woken).toBe(true);
      expect(Date.now() - started).toBeLessThan(1_000);
      // a change between two waits is not lost: the next wait returns at once
      await db.ds.getRepository(ClusterEntity).update({ id: clusterId }, { spec: () => `jsonb_set("spec", '{mesh}', '"hub"')` });
      await waitFor(() => false, 200);
      expect(await sub.next(5_000)).toBe(true);
      // a cluster change no long poll reads (conditions) wakes no one
      await db.ds.getRepository(ClusterEntity).update({ id: clusterId }, { conditions: [] , phase: 'Provisioning' });
      expect(await sub.next(400)).toBe(false);
    } finally {
      sub.close();
    }
  });

  it('wakes the executor of a new node operation only', async () => {
    const mine = feed.subscribe('nodeOperations', nodeId);
    const other = feed.subscribe('nodeOperations', randomUUID());
    try {
      const woken = mine.next(5_000);
      await db.ds.getRepository(NodeOperationEntity).insert({
        id: randomUUID(), organisationId: orgId, clusterId, executorNodeId: nodeId, targetNodeId: nodeId, kind: 'drain', purpose: 'removal',
        kubernetesVersion: null, upgradeControlPlane: false, timeoutSeconds: 60, state: 'Pending', message: null, deadlineAt: new Date(Date.now() + 60_000), finishedAt: null,
      });
      expect(await woken).toBe(true);
      expect(await other.next(300)).toBe(false);
    } finally {
      mine.close();
      other.close();
    }
  });

  it('shares one load among the waiters a change woke, and never joins a load begun before the latest change', async () => {
    let loads = 0;
    const slow = () => new Promise<number>((r) => setTimeout(() => r(++loads), 200));
    const [a, b] = await Promise.all([feed.shared('cluster', clusterId, 'x', slow), feed.shared('cluster', clusterId, 'x', slow)]);
    expect([a, b]).toEqual([1, 1]);
    const first = feed.shared('cluster', clusterId, 'x', slow);
    const sub = feed.subscribe('cluster', clusterId);
    await db.ds.getRepository(NodeEntity).update({ id: nodeId }, { publicIp: '203.0.113.9' });
    expect(await sub.next(5_000)).toBe(true);
    sub.close();
    const second = feed.shared('cluster', clusterId, 'x', slow);
    expect(await first).toBe(2);
    expect(await second).toBe(3);
  });

  it('reconnects when its connection is killed, waking every waiter, and hears changes again', async () => {
    const sub = feed.subscribe('cluster', clusterId);
    try {
      await db.ds.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE '%-listen'`);
      expect(await sub.next(5_000)).toBe(true); // woken by the loss
      expect(await waitFor(() => feed.listening, 5_000)).toBe(true);
      await sub.next(0); // the wake-up of the reconnect itself
      const woken = sub.next(5_000);
      await db.ds.getRepository(NodeEntity).update({ id: nodeId }, { podCidr: '10.217.1.0/24' });
      expect(await woken).toBe(true);
    } finally {
      sub.close();
    }
  });
});
