import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, AckPolicy, DeliverPolicy, JetStreamClient, JsMsg, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { Subject, Payloads, parsePayload } from '@skyweave/contracts';
// the one retry policy's redelivery delays (this path loads cockatiel only, not the cloud SDKs)
import { redeliveryDelayMs } from '@skyweave/cloud-adapters/src/retry';
import type { Logger } from 'pino';

/** Connects to NATS (env `NATS_URL`, e.g. `nats://127.0.0.1:4222`), reconnecting forever. */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({ servers: url, name, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
}

/**
 * A namespace isolates one Skyweave installation's messages on a shared NATS server (stream `<NS>`, subjects
 * `<ns>.v1.…`). The default `skyweave` gives stream `SKYWEAVE` and the subjects of @skyweave/contracts unchanged;
 * demos, tests and benchmarks use their own so that they never consume each other's messages.
 */
export class Namespace {
  readonly stream: string;
  constructor(readonly name: string = 'skyweave') {
    if (!/^[a-z][a-z0-9-]{0,40}$/.test(name)) throw new Error(`NATS namespace ${name}: lowercase letters, digits, dashes`);
    this.stream = name.toUpperCase().replace(/-/g, '_');
  }
  /** Wire subject of a logical subject (`skyweave.v1.x` → `<ns>.v1.x`). */
  wire(subject: string): string {
    return subject.replace(/^skyweave\./, `${this.name}.`);
  }
}

/**
 * Creates the Skyweave stream if missing (work-queue-like: limits retention, 2-minute duplicate window for
 * `Nats-Msg-Id` de-duplication). Idempotent; safe from several processes.
 */
export async function ensureStream(nc: NatsConnection, ns: Namespace): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(ns.stream);
  } catch {
    try {
      await jsm.streams.add({
        name: ns.stream, subjects: [`${ns.name}.>`], retention: RetentionPolicy.Limits, storage: StorageType.File,
        duplicate_window: 120_000_000_000, max_age: 7 * 24 * 3600 * 1_000_000_000,
      });
    } catch (e) {
      // another process created it between our info and add
      await jsm.streams.info(ns.stream).catch(() => { throw e; });
    }
  }
}

export interface HandlerOptions<S extends Subject> {
  namespace: Namespace;
  subject: S;
  /** Durable consumer name, shared by a service's replicas (each message handled once per service). */
  durable: string;
  /** Handles one validated payload; `msg` is the JetStream message (headers, delivery count), for context only. */
  handle: (payload: Payloads[S], msg: JsMsg) => Promise<void>;
  /** Redelivery attempts before the message is given up (the reconciler's re-drive covers it). */
  maxDeliver?: number;
  /** Messages handled at once by this process. */
  concurrency?: number;
  /** Told of every message's outcome (for metrics); must not throw. */
  observe?: (event: HandledMessage) => void;
}

/** One message's outcome: `ack` (handled), `retry` (nak: RetryLater or error), `term` (malformed payload). */
export interface HandledMessage {
  subject: Subject;
  outcome: 'ack' | 'retry' | 'term';
  /** Wall time from receipt to ack/nak/term, seconds. */
  seconds: number;
}

/** Error a handler throws to ask for a later redelivery after `delayMs` (throttling, transient 5xx). */
export class RetryLater extends Error {
  constructor(public readonly delayMs: number, message: string) {
    super(message);
  }
}

/**
 * Runs a durable JetStream consumer with explicit ack. A handler that resolves acks; `RetryLater` naks with its
 * delay; any other error naks with the one retry policy's backoff (MESSAGE_REDELIVERY: doubling with half jitter, 1–2 s → 15–30 s) until `maxDeliver`; a malformed payload is
 * terminated at once. Handlers must be idempotent: redelivery and duplicates happen.
 * @returns a function that stops consuming.
 */
export async function consume<S extends Subject>(nc: NatsConnection, log: Logger, opts: HandlerOptions<S>): Promise<() => Promise<void>> {
  const jsm = await jetstreamManager(nc);
  const maxDeliver = opts.maxDeliver ?? 20;
  const config = {
    durable_name: opts.durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All,
    filter_subject: opts.namespace.wire(opts.subject), ack_wait: 120_000_000_000, max_deliver: maxDeliver, max_ack_pending: 1000,
  };
  try {
    await jsm.consumers.info(opts.namespace.stream, opts.durable);
  } catch {
    await jsm.consumers.add(opts.namespace.stream, config).catch(async (e: unknown) => {
      await jsm.consumers.info(opts.namespace.stream, opts.durable).catch(() => { throw e; });
    });
  }
  const js: JetStreamClient = jetstream(nc);
  const consumer = await js.consumers.get(opts.namespace.stream, opts.durable);
  const messages = await consumer.consume({ max_messages: Math.max(8, (opts.concurrency ?? 8) * 2) });
  const concurrency = opts.concurrency ?? 8;
  let inFlight = 0;
  const waiters: (() => void)[] = [];
  const observe = (outcome: HandledMessage['outcome'], started: number) =>
    opts.observe?.({ subject: opts.subject, outcome, seconds: (performance.now() - started) / 1000 });
  const handleOne = async (m: JsMsg) => {
    const started = performance.now();
    let payload: Payloads[S];
    try {
      payload = parsePayload(opts.subject, m.json());
    } catch (e) {
      log.error({ subject: m.subject, err: (e as Error).message }, 'malformed message terminated');
      m.term();
      observe('term', started);
      return;
    }
    try {
      await opts.handle(payload, m);
      m.ack();
      observe('ack', started);
    } catch (e) {
      const attempt = m.info.deliveryCount;
      const delay = e instanceof RetryLater ? e.delayMs : redeliveryDelayMs(attempt);
      log.warn({ subject: m.subject, attempt, delayMs: delay, err: (e as Error).message }, 'handler failed; will retry');
      m.nak(delay);
      observe('retry', started);
    }
  };
  const loop = (async () => {
    for await (const m of messages) {
      while (inFlight >= concurrency) await new Promise<void>((r) => waiters.push(r));
      inFlight++;
      void handleOne(m).finally(() => {
        inFlight--;
        waiters.shift()?.();
      });
    }
  })();
  return async () => {
    await messages.close();
    await loop.catch(() => undefined);
  };
}
