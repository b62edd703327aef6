import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Controller, Module } from '@nestjs/common';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Subjects, type ClusterChanged } from '@skyweave/contracts';
import { JetStreamHandler, JetStreamHandlerError, RetryLater } from '@skyweave/messaging';
import { ServiceRuntime, Worker, createWorker, readWorkerHttp, startRuntime } from '@skyweave/service-kit';
import { freshDatabase } from '../support/db';

// A worker as a hybrid application (SKYWEAVE_HTTP_PORT > 0): /health, /ready (real PostgreSQL + NATS) and /metrics.
const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  });
});
const handled: string[] = [];

@Controller()
class Handlers {
  @JetStreamHandler(Subjects.ClusterChanged, { durable: 'itops-changed' })
  async changed(p: ClusterChanged): Promise<void> {
    handled.push(p.clusterId);
    if (p.reason === 'throttle') throw new RetryLater(60_000, 'throttled');
  }
}
@Module({ controllers: [Handlers] })
class OpsTestModule {}

describe('a worker with its HTTP listener: health, readiness, metrics (real PostgreSQL and NATS)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let rt: ServiceRuntime;
  let worker: Worker;
  let base: string;
  const namespace = `itops${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    db = await freshDatabase();
    rt = await startRuntime('it-ops', {
      DATABASE_URL: db.url, NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222', SKYWEAVE_NATS_NAMESPACE: namespace,
      SKYWEAVE_MASTER_KEY: randomBytes(32).toString('base64'), LOG_LEVEL: 'silent',
    });
    worker = await createWorker(rt, { module: OpsTestModule, consumes: [Subjects.ClusterChanged] }, { port: await freePort(), host: '127.0.0.1' });
    base = `http://127.0.0.1:${await worker.start()}`;
  });
  afterAll(async () => {
    const nc = rt.nc;
    await (await jetstreamManager(nc)).streams.delete(rt.ns.stream).catch(() => undefined);
    await worker.app.close(); // closes the runtime too (RuntimeModule)
    await db.drop();
  });

  it('reads SKYWEAVE_HTTP_PORT (default 0 = no listener) and refuses a bad one', () => {
    expect(readWorkerHttp({})).toEqual({ port: 0, host: '127.0.0.1' });
    expect(readWorkerHttp({ SKYWEAVE_HTTP_PORT: '9464' }).port).toBe(9464);
    expect(() => readWorkerHttp({ SKYWEAVE_HTTP_PORT: 'x' })).toThrow('SKYWEAVE_HTTP_PORT must be an integer 0-65535');
  });

  it('answers /health and /ready with the database and NATS up', async () => {
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    const body = await ready.json() as { status: string; info: Record<string, { status: string }> };
    expect(body.status).toBe('ok');
    expect(body.info.database.status).toBe('up');
    expect(body.info.nats.status).toBe('up');
  });

  it('counts handled messages by subject and outcome at /metrics', async () => {
    const js = jetstream(rt.nc);
    const ok = randomUUID();
    const throttled = randomUUID();
    await js.publish(rt.ns.wire(Subjects.ClusterChanged), JSON.stringify({ organisationId: randomUUID(), clusterId: ok, reason: 'it' }));
    await js.publish(rt.ns.wire(Subjects.ClusterChanged), JSON.stringify({ organisationId: randomUUID(), clusterId: throttled, reason: 'throttle' }));
    await js.publish(rt.ns.wire(Subjects.ClusterChanged), JSON.stringify({ organisationId: 'not-a-uuid', clusterId: ok, reason: 'it' }));
    let text = '';
    const end = Date.now() + 15_000;
    while (Date.now() < end) {
      text = await (await fetch(`${base}/metrics`)).text();
      if (/outcome="term"/.test(text) && /outcome="retry"/.test(text) && /outcome="ack"/.test(text)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(text).toContain('skyweave_messages_handled_total{subject="skyweave.v1.cluster.changed",outcome="ack"} 1');
    expect(text).toContain('skyweave_messages_handled_total{subject="skyweave.v1.cluster.changed",outcome="retry"} 1');
    expect(text).toContain('skyweave_messages_handled_total{subject="skyweave.v1.cluster.changed",outcome="term"} 1');
    expect(text).toMatch(/skyweave_message_handling_seconds_count\{subject="skyweave.v1.cluster.changed",outcome="ack"\} 1/);
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(handled).toEqual([ok, throttled]);
  });

  it('fails start-up of a hybrid worker whose handlers do not match what it consumes', async () => {
    const shared: ServiceRuntime = { ...rt, close: async () => undefined }; // the runtime stays with the first worker
    const other = await createWorker(shared, { module: OpsTestModule, consumes: [Subjects.ClusterChanged, Subjects.NodeLaunch] }, { port: await freePort(), host: '127.0.0.1' });
    await expect(other.start()).rejects.toBeInstanceOf(JetStreamHandlerError);
    await other.app.close();
  });
});
