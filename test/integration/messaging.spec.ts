import { randomBytes, randomUUID } from 'node:crypto';
import pino from 'pino';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Subjects } from '@skyweave/contracts';
import { Namespace, RetryLater, connectNats, consume, ensureStream, startOutboxRelay } from '@skyweave/messaging';
import { ChangeFeed, OUTBOX_KEY, enqueue } from '@skyweave/persistence';
import { freshDatabase } from '../support/db';

const log = pino({ level: 'silent' });
const waitUntil = async (cond: () => boolean, ms = 10000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('outbox relay and JetStream consumers (real PostgreSQL and NATS)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let nc: NatsConnection;
  const ns = new Namespace(`it${randomBytes(3).toString('hex')}`);

  beforeAll(async () => {
    db = await freshDatabase();
    nc = await connectNats(process.env.NATS_URL ?? 'nats://127.0.0.1:4222', 'integration');
    await ensureStream(nc, ns);
  });
  afterAll(async () => {
    await (await jetstreamManager(nc)).streams.delete(ns.stream).catch(() => undefined);
    await nc.drain();
    await db.drop();
  });

  it('publishes committed outbox rows once each, in order, and never rolled-back ones', async () => {
    const got: string[] = [];
    const stop = await consume(nc, log, { namespace: ns, subject: Subjects.ClusterChanged, durable: 'it-order', concurrency: 1, handle: async (p) => { got.push(p.reason); } });
    const org = randomUUID();
    const cluster = randomUUID();
    await db.ds.transaction(async (em) => {
      await enqueue(em, Subjects.ClusterChanged, { organisationId: org, clusterId: cluster, reason: 'one' });
      await enqueue(em, Subjects.ClusterChanged, { organisationId: org, clusterId: cluster, reason: 'two' });
    });
    await db.ds.transaction(async (em) => {
      await enqueue(em, Subjects.ClusterChanged, { organisationId: org, clusterId: cluster, reason: 'rolled-back' });
      throw new Error('abort');
    }).catch(() => undefined);
    const stopRelay = startOutboxRelay(db.ds, nc, ns, log);
    await waitUntil(() => got.length >= 2);
    await new Promise((r) => setTimeout(r, 300));
    await stopRelay();
    await stop();
    expect(got).toEqual(['one', 'two']);
    const [{ count }] = await db.ds.query(`SELECT count(*)::int AS count FROM outbox WHERE "publishedAt" IS NULL`);
    expect(count).toBe(0);
  });

  it('an idle relay woken by the outbox NOTIFY publishes at once, not after its fallback interval', async () => {
    const got: string[] = [];
    const stop = await consume(nc, log, { namespace: ns, subject: Subjects.ClusterChanged, durable: 'it-wake', concurrency: 1, handle: async (p) => { got.push(p.reason); } });
    const feed = ChangeFeed.forDataSource(db.ds);
    await feed.start();
    const sub = feed.subscribe('outbox', OUTBOX_KEY);
    // a fallback of 10 minutes: only the notification can wake it within the test's time
    const stopRelay = startOutboxRelay(db.ds, nc, ns, log, { wakeup: sub, pollMs: 600_000 });
    try {
      await new Promise((r) => setTimeout(r, 300)); // the relay has drained the empty outbox and sleeps
      const org = randomUUID();
      for (const reason of ['woken-1', 'woken-2']) {
        await db.ds.transaction((em) => enqueue(em, Subjects.ClusterChanged, { organisationId: org, clusterId: randomUUID(), reason }));
        await waitUntil(() => got.includes(reason), 5000); // throws when only the 10-minute fallback would have published it
      }
    } finally {
      await stopRelay();
      sub.close();
      await feed.stop();
      await stop();
    }
    expect(got.filter((r) => r.startsWith('woken-'))).toEqual(['woken-1', 'woken-2']);
  });

  it('drops a re-published row (same Nats-Msg-Id) — a relay crash between publish and mark is harmless', async () => {
    const js = jetstream(nc);
    const payload = JSON.stringify({ organisationId: randomUUID(), clusterId: randomUUID(), reason: 'dup' });
    const a = await js.publish(ns.wire(Subjects.ClusterChanged), payload, { msgID: 'outbox-999999' });
    const b = await js.publish(ns.wire(Subjects.ClusterChanged), payload, { msgID: 'outbox-999999' });
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(true);
  });

  it('redelivers after a failure and terminates malformed payloads', async () => {
    let attempts = 0;
    const clusterId = randomUUID();
    const stop = await consume(nc, log, {
      namespace: ns, subject: Subjects.NetworkEnsure, durable: 'it-retry',
      handle: async (p) => {
        if (p.clusterId !== clusterId) return;
        attempts++;
        if (attempts < 3) throw new RetryLater(50, 'throttled');
      },
    });
    const js = jetstream(nc);
    await js.publish(ns.wire(Subjects.NetworkEnsure), JSON.stringify({ organisationId: randomUUID(), clusterId, cloud: 'mars' }));
    await js.publish(ns.wire(Subjects.NetworkEnsure), JSON.stringify({ organisationId: randomUUID(), clusterId, cloud: 'aws' }));
    await waitUntil(() => attempts >= 3);
    await stop();
    expect(attempts).toBe(3); // the malformed one ('mars') never reached the handler
  });
});
