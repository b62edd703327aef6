import { Client, type ClientConfig, type Notification } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * PostgreSQL channels written by the triggers of migration `ChangeNotify1764050000000` (see there for which row
 * changes notify), `OutboxNotify1764230000000` (`outbox`) and `ApiKeyNotify1764300000000` (`apiKeys`). Payload: the
 * cluster id (`cluster`), the executor node id (`nodeOperations`), `new` (`outbox`: a message was written; key
 * {@link OUTBOX_KEY}), or the `secretHash` of an API key updated or deleted, `*` when the table was truncated (`apiKeys`); and (`Identity1764900000000`) the cluster id of
 * an event recorded (`clusterEvents`).
 */
export const CHANGE_CHANNELS = { cluster: 'skyweave_cluster', nodeOperations: 'skyweave_node_operations', outbox: 'skyweave_outbox', apiKeys: 'skyweave_api_keys', clusterEvents: 'skyweave_cluster_events' } as const;
export type ChangeChannel = keyof typeof CHANGE_CHANNELS;
/** The one key of the `outbox` channel. */
export const OUTBOX_KEY = 'new';

/** Where the feed logs its connection changes (a pino logger fits). */
export interface ChangeFeedLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ChangeFeedOptions {
  /** Longest wait without a notification while listening, ms (default 15 s): a lost notification delays at most this. */
  safetyRecheckMs?: number;
  /** Longest wait while the listening connection is down (not yet connected, or reconnecting), ms (default 1 s). */
  degradedRecheckMs?: number;
  /** Pause between reconnection attempts, ms (default 1 s). */
  reconnectDelayMs?: number;
  log?: ChangeFeedLog;
}

/** One waiter's interest in a key, from before its first read until it answers (so no change can fall in between). */
export interface ChangeSubscription {
  /**
   * Resolves when the key changed since the subscription was made or `next` last returned (at once if it already
   * did), or after `timeoutMs`, or sooner: after the feed's safety re-check interval, or its degraded interval while
   * it is not listening. Never rejects. @returns whether a change (or a reconnect, after which changes may have been missed) woke it.
   */
  next(timeoutMs: number): Promise<boolean>;
  /** Whether a change (or a lost or regained connection) happened since the subscription was made or `next` last returned; does not reset it. */
  readonly changed: boolean;
  close(): void;
}

class Subscription implements ChangeSubscription {
  pending = false;
  private wake?: () => void;

  constructor(private readonly feed: ChangeFeed, private readonly set: Set<Subscription>, private readonly onEmpty: () => void) {}

  notify(): void {
    this.pending = true;
    this.wake?.();
  }

  get changed(): boolean {
    return this.pending;
  }

  async next(timeoutMs: number): Promise<boolean> {
    if (!this.pending) {
      const ms = Math.max(0, Math.min(timeoutMs, this.feed.listening ? this.feed.safetyRecheckMs : this.feed.degradedRecheckMs));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.wake = undefined;
          resolve();
        }, ms);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
    }
    const changed = this.pending;
    this.pending = false;
    return changed;
  }

  close(): void {
    this.wake?.();
    if (this.set.delete(this) && this.set.size === 0) this.onEmpty();
  }
}

/**
 * Wakes long polls when the rows they answer from change (issue 9 item 6), instead of each waiter re-querying every
 * few hundred milliseconds (about 3,000 queries/s for one 300-node cluster before).
 *
 * Why PostgreSQL `LISTEN/NOTIFY` and not a NATS subject: the notification is sent by a trigger in the writing
 * transaction and delivered only when it commits, so it cannot be forgotten by a writer, cannot arrive before the
 * change is visible, and is not sent for a rolled-back change; a NATS subject would need every writer (four
 * services, and the outbox relay's delay) to publish after commit. The cost is one dedicated connection per
 * api-gateway process, held here outside TypeORM's pool.
 *
 * One listening connection per process fans notifications out in-process to subscriptions keyed by channel and id.
 * When the connection drops (PostgreSQL restarted, connection killed) every subscription is woken, waiters fall back
 * to re-checking every `degradedRecheckMs`, the feed reconnects every `reconnectDelayMs`, and on reconnect wakes
 * everyone again (notifications sent meanwhile are lost). While listening, a waiter still re-checks every
 * `safetyRecheckMs`, so a lost notification only delays an answer.
 *
 * `shared` lets the waiters a change woke run one query for all of them (300 agents of a cluster, one read).
 *
 * Has `onModuleInit`/`onModuleDestroy`, so a Nest provider holding it is started and stopped with the application.
 */
export class ChangeFeed {
  readonly safetyRecheckMs: number;
  readonly degradedRecheckMs: number;
  private readonly reconnectDelayMs: number;
  private readonly log?: ChangeFeedLog;
  private readonly subs = new Map<string, Set<Subscription>>();
  private readonly loads = new Map<string, Map<string, Promise<unknown>>>();
  private client?: Client;
  private isListening = false;
  private stopped = true;
  private retryTimer?: NodeJS.Timeout;
  private connecting?: Promise<void>;
  /** Notifications received since start (for tests and benchmarks). */
  received = 0;

  constructor(private readonly clientConfig: () => ClientConfig, opts: ChangeFeedOptions = {}) {
    this.safetyRecheckMs = opts.safetyRecheckMs ?? 15_000;
    this.degradedRecheckMs = opts.degradedRecheckMs ?? 1_000;
    this.reconnectDelayMs = opts.reconnectDelayMs ?? 1_000;
    this.log = opts.log;
  }

  /** A feed listening on the database of a TypeORM PostgreSQL data source (same URL and credentials, its own connection). */
  static forDataSource(ds: DataSource, opts: ChangeFeedOptions = {}): ChangeFeed {
    return new ChangeFeed(() => clientConfigOf(ds), opts);
  }

  /** Whether the listening connection is up and subscribed to every channel. */
  get listening(): boolean {
    return this.isListening;
  }

  /** Connects and listens; resolves after the first attempt, which may have failed (it is retried in the background). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.connecting;
    const c = this.client;
    this.client = undefined;
    this.isListening = false;
    this.wakeAll();
    if (c) await c.end().catch(() => undefined);
  }

  async onModuleInit(): Promise<void> {
    await this.start();
  }
  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  /** Starts watching one key. Subscribe before the first read, and close when answering (try/finally). */
  subscribe(channel: ChangeChannel, key: string): ChangeSubscription {
    const id = `${channel}:${key}`;
    let set = this.subs.get(id);
    if (!set) this.subs.set(id, (set = new Set()));
    const s: Set<Subscription> = set;
    const sub = new Subscription(this, s, () => {
      if (this.subs.get(id) === s) this.subs.delete(id);
    });
    s.add(sub);
    return sub;
  }

  /**
   * Runs `load` once for every caller asking the same `name` of the same key until it settles; a load begun before
   * the key's latest notification is never joined, so the result is at least as new as the change that woke the caller.
   * Call it only after a wake-up (a request's first read should be its own, to see what its caller just wrote).
   */
  shared<T>(channel: ChangeChannel, key: string, name: string, load: () => Promise<T>): Promise<T> {
    const id = `${channel}:${key}`;
    let byName = this.loads.get(id);
    const running = byName?.get(name);
    if (running) return running as Promise<T>;
    if (!byName) this.loads.set(id, (byName = new Map()));
    const m: Map<string, Promise<unknown>> = byName;
    const p = load().finally(() => {
      if (m.get(name) === p) m.delete(name);
      if (m.size === 0 && this.loads.get(id) === m) this.loads.delete(id);
    });
    m.set(name, p);
    return p;
  }

  private onNotification(n: Notification): void {
    const channel = (Object.keys(CHANGE_CHANNELS) as ChangeChannel[]).find((c) => CHANGE_CHANNELS[c] === n.channel);
    if (!channel || !n.payload) return;
    this.received++;
    const id = `${channel}:${n.payload}`;
    this.loads.delete(id);
    for (const s of this.subs.get(id) ?? []) s.notify();
  }

  private wakeAll(): void {
    this.loads.clear();
    for (const set of this.subs.values()) for (const s of set) s.notify();
  }

  private connect(): Promise<void> {
    this.connecting = (async () => {
      const c = new Client({ ...this.clientConfig(), keepAlive: true });
      c.on('notification', (n) => this.onNotification(n));
      c.on('error', (e) => this.lost(c, e));
      c.on('end', () => this.lost(c));
      try {
        await c.connect();
        for (const ch of Object.values(CHANGE_CHANNELS)) await c.query(`LISTEN "${ch}"`);
      } catch (e) {
        this.lost(c, e as Error);
        await c.end().catch(() => undefined);
        return;
      }
      if (this.stopped) {
        await c.end().catch(() => undefined);
        return;
      }
      this.client = c;
      this.isListening = true;
      this.log?.info({ channels: Object.values(CHANGE_CHANNELS) }, 'listening for changes');
      // changes made while no connection listened were not delivered: everyone looks again
      this.wakeAll();
    })().finally(() => {
      this.connecting = undefined;
      if (!this.isListening && !this.stopped) this.scheduleReconnect();
    });
    return this.connecting;
  }

  private lost(c: Client, e?: Error): void {
    if (this.client !== undefined && this.client !== c) return; // an earlier connection's late event
    const wasListening = this.isListening && this.client === c;
    if (!wasListening) return; // a failed attempt: connect() schedules the next one
    this.client = undefined;
    this.isListening = false;
    this.log?.warn({ err: e?.message }, 'change listener lost its connection; waiters re-check every second until it is back');
    this.wakeAll();
    c.end().catch(() => undefined);
    if (!this.stopped) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.retryTimer || this.connecting) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopped && !this.isListening && !this.connecting) void this.connect();
    }, this.reconnectDelayMs);
  }
}

/** pg client settings of a TypeORM PostgreSQL data source (URL or host/port/user/password/database, TLS, application name). */
function clientConfigOf(ds: DataSource): ClientConfig {
  const o = ds.options as {
    url?: string; host?: string; port?: number; username?: string; password?: string | (() => string | Promise<string>); database?: string;
    ssl?: ClientConfig['ssl']; applicationName?: string;
  };
  return {
    ...(o.url ? { connectionString: o.url } : {}),
    ...(o.host ? { host: o.host } : {}), ...(o.port ? { port: o.port } : {}),
    ...(o.username ? { user: o.username } : {}), ...(o.password ? { password: o.password } : {}),
    ...(o.database ? { database: o.database } : {}), ...(o.ssl ? { ssl: o.ssl } : {}),
    application_name: `${o.applicationName ?? 'skyweave'}-listen`,
  };
}
