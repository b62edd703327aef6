import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { Controller, INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, Payload } from '@nestjs/microservices';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import pino from 'pino';
import { Subjects, type ClusterChanged, type NetworkCommand, type NodeCommand } from '@skyweave/contracts';
import {
  JetStreamContext, JetStreamHandler, JetStreamServer, Namespace, RetryLater, connectNats, ensureStream,
} from '@skyweave/messaging';

// JetStreamServer against a real NATS (127.0.0.1:4222, env NATS_URL): what consume() guarantees, through Nest handlers.
const log = pino({ level: process.env.IT_LOG ?? 'silent' });
const ns = new Namespace(`itnest${randomBytes(3).toString('hex')}`);
const waitUntil = async (cond: () => boolean, ms = 15000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

/** What the handlers saw: per cluster id, delivery times (ms) and delivery counts. */
const seen = new Map<string, { at: number; count: number }[]>();
const note = (clusterId: string, ctx: JetStreamContext) => {
  const list = seen.get(clusterId) ?? [];
  list.push({ at: Date.now(), count: ctx.getDeliveryCount() });
  seen.set(clusterId, list);
};
const behaviour = new Map<string, 'ok' | 'retry-later' | 'fail-once'>();
let inFlight = 0;
let maxInFlight = 0;

@Controller()
class Handlers {
  @JetStreamHandler(Subjects.ClusterChanged, { durable: 'itnest-changed' })
  async changed(@Payload() p: ClusterChanged, @Ctx() ctx: JetStreamContext): Promise<void> {
    note(p.clusterId, ctx);
    const b = behaviour.get(p.clusterId) ?? 'ok';
    if (b === 'retry-later' && ctx.getDeliveryCount() === 1) throw new RetryLater(1500, 'throttled');
    if (b === 'fail-once' && ctx.getDeliveryCount() === 1) throw new Error('transient');
  }

  @JetStreamHandler(Subjects.NetworkEnsure, { durable: 'itnest-ensure' })
  async ensure(@Payload() p: NetworkCommand, @Ctx() ctx: JetStreamContext): Promise<void> {
    note(p.clusterId, ctx);
  }

  @JetStreamHandler(Subjects.NodeLaunch, { durable: 'itnest-launch', concurrency: 2 })
  async launch(@Payload() p: NodeCommand, @Ctx() ctx: JetStreamContext): Promise<void> {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 150));
    inFlight--;
    note(p.clusterId, ctx);
  }
}

@Module({ controllers: [Handlers] })
class TestModule {}

describe('JetStreamServer: Nest event handlers on durable JetStream consumers (real NATS)', () => {
  let nc: NatsConnection;
  let app: INestMicroservice;
  const publish = async (subject: string, payload: object) => jetstream(nc).publish(ns.wire(subject), JSON.stringify(payload));

  beforeAll(async () => {
    nc = await connectNats(process.env.NATS_URL ?? 'nats://127.0.0.1:4222', 'it-nest');
    await ensureStream(nc, ns);
    const strategy = new JetStreamServer({
      service: 'it-nest', nc, namespace: ns, log, consumes: [Subjects.ClusterChanged, Subjects.NetworkEnsure, Subjects.NodeLaunch],
    });
    app = await NestFactory.createMicroservice(TestModule, { strategy, logger: false, abortOnError: false });
    await app.listen();
  });
  afterAll(async () => {
    await app?.close();
    await (await jetstreamManager(nc)).streams.delete(ns.stream).catch(() => undefined);
    await nc.drain();
  });

  it('creates one durable explicit-ack consumer per subject and acks a handled message', async () => {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.consumers.info(ns.stream, 'itnest-changed');
    expect(info.config.ack_policy).toBe('explicit');
    expect(info.config.filter_subject).toBe(ns.wire(Subjects.ClusterChanged));
    const clusterId = randomUUID();
    await publish(Subjects.ClusterChanged, { organisationId: randomUUID(), clusterId, reason: 'it' });
    await waitUntil(() => (seen.get(clusterId)?.length ?? 0) === 1);
    await waitUntil(() => false, 300).catch(() => undefined);
    const after = await jsm.consumers.info(ns.stream, 'itnest-changed');
    expect(after.num_ack_pending).toBe(0);
    expect(after.num_pending).toBe(0);
    expect(seen.get(clusterId)).toHaveLength(1);
  });

  it('redelivers after RetryLater’s own delay (the error reaches the transport unchanged)', async () => {
    const clusterId = randomUUID();
    behaviour.set(clusterId, 'retry-later');
    await publish(Subjects.ClusterChanged, { organisationId: randomUUID(), clusterId, reason: 'it' });
    await waitUntil(() => (seen.get(clusterId)?.length ?? 0) === 2);
    const [first, second] = seen.get(clusterId)!;
    expect(second.count).toBe(2);
    expect(second.at - first.at).toBeGreaterThanOrEqual(1400);
  });

  it('redelivers after any other error with backoff (MESSAGE_REDELIVERY: 1–2 s before the second delivery)', async () => {
    const clusterId = randomUUID();
    behaviour.set(clusterId, 'fail-once');
    await publish(Subjects.ClusterChanged, { organisationId: randomUUID(), clusterId, reason: 'it' });
    await waitUntil(() => (seen.get(clusterId)?.length ?? 0) === 2);
    const [first, second] = seen.get(clusterId)!;
    expect(second.count).toBe(2);
    expect(second.at - first.at).toBeGreaterThanOrEqual(950); // 1 s floor, less the timers' granularity
  });

  it('terminates a malformed payload without calling the handler', async () => {
    const bad = randomUUID();
    const good = randomUUID();
    await publish(Subjects.NetworkEnsure, { organisationId: randomUUID(), clusterId: bad, cloud: 'mars' });
    await publish(Subjects.NetworkEnsure, { organisationId: randomUUID(), clusterId: good, cloud: 'aws' });
    await waitUntil(() => seen.has(good));
    const info = await (await jetstreamManager(nc)).consumers.info(ns.stream, 'itnest-ensure');
    expect(seen.has(bad)).toBe(false);
    expect(info.num_ack_pending).toBe(0); // terminated, not waiting for redelivery
  });

  it('keeps at most `concurrency` messages of a subject in flight', async () => {
    const ids = Array.from({ length: 6 }, () => randomUUID());
    for (const clusterId of ids) await publish(Subjects.NodeLaunch, { organisationId: randomUUID(), clusterId, nodeId: randomUUID() });
    await waitUntil(() => ids.every((id) => seen.has(id)));
    expect(maxInFlight).toBe(2);
  });
});
