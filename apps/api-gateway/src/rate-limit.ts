import { ExecutionContext, Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions, InjectThrottlerStorage, ThrottlerGuard, type ThrottlerLimitDetail, type ThrottlerModuleOptions, type ThrottlerStorage,
} from '@nestjs/throttler';
import type { DataSource } from 'typeorm';
import { RateLimitCountersRepository, systemScope } from '@skyweave/persistence';
import type { Logger } from '@skyweave/service-kit';
import { type AccessRequest, Authenticator, type Principal } from './access';
import type { GatewayLimits } from './limits';
import { Problem } from './problem';

/** The counters are per API key, organisation or node, not one organisation's rows. */
const RATE_LIMITS = systemScope('rate-limit counters are keyed by subject (API key, organisation or node)');

/** What the library's storage answers for one hit (ThrottlerStorageRecord of @nestjs/throttler). */
export interface RateRecord { totalHits: number; timeToExpire: number; isBlocked: boolean; timeToBlockExpire: number }

/** One subject's count in one fixed window, as this replica knows it. */
interface Counter {
  /** Window end, ms since the epoch. */
  end: number;
  /** The shared count as last read from PostgreSQL (it includes this replica's flushed hits). */
  shared: number;
  /** This replica's hits not yet added to the shared count. */
  pending: number;
}

/** How often expired counter rows are deleted, ms. */
const SWEEP_MS = 60_000;

/**
 * A `ThrottlerStorage` (@nestjs/throttler) on PostgreSQL, so that every api-gateway replica counts against the same
 * limits. Fixed windows: a hit at time t counts in the window `[⌊t/ttl⌋·ttl, +ttl)` (wall clock; replicas' clocks
 * are assumed synchronised), row key `<throttler key>@<window start>` in the UNLOGGED table `rate_limit_counters`.
 *
 * Two modes, by `flushMs`:
 * - `0`: one atomic `INSERT … ON CONFLICT DO UPDATE SET hits = hits + 1 … RETURNING hits` per request: exact across
 *   replicas, one database round trip per request.
 * - `> 0` (the default, 250 ms): hits are counted in memory and added to the shared rows every `flushMs` by one
 *   statement for all subjects (`unnest` arrays, atomic per row), whose RETURNING gives each subject's shared count,
 *   other replicas' hits included. A request is judged on `shared + pending`. Exact with one replica; with R replicas
 *   a subject can exceed its limit by at most what the other replicas admitted in one flush interval (R−1 × its
 *   request rate × flushMs). bench:api measured the per-request write (see docs/limits.md).
 * A failed flush keeps the hits pending (retried at the next flush) and is logged; requests are still judged on what
 * is known, so PostgreSQL being down does not stop the API.
 */
export class PgRateLimitStore implements ThrottlerStorage, OnModuleInit, OnModuleDestroy {
  private readonly counters = new Map<string, Counter>();
  private flushTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private readonly counterRows: RateLimitCountersRepository;

  /**
   * @param flushMs see the class; 0 = write through.
   * @param clock wall-clock milliseconds (default Date.now).
   */
  constructor(ds: DataSource, private readonly flushMs: number, private readonly log?: Pick<Logger, 'warn'>, private readonly clock: () => number = Date.now) {
    this.counterRows = new RateLimitCountersRepository(ds);
  }

  onModuleInit(): void {
    if (this.flushMs > 0) {
      this.flushTimer = setInterval(() => void this.flush(), this.flushMs);
      this.flushTimer.unref();
    }
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.flushTimer);
    clearInterval(this.sweepTimer);
    await this.flush();
  }

  /**
   * Counts one hit of `key` (ThrottlerStorage): `ttl` is the window in milliseconds, `limit` the hits it allows.
   * Answers the count so far in the window, whether it is over the limit, and the seconds to the window's end.
   */
  async increment(key: string, ttl: number, limit: number): Promise<RateRecord> {
    const now = this.clock();
    const start = Math.floor(now / ttl) * ttl;
    const end = start + ttl;
    const rowKey = `${key}@${start}`;
    let total: number;
    if (this.flushMs === 0) {
      total = await this.counterRows.hit(RATE_LIMITS, rowKey, end);
    } else {
      let c = this.counters.get(rowKey);
      if (!c) this.counters.set(rowKey, (c = { end, shared: 0, pending: 0 }));
      c.pending++;
      total = c.shared + c.pending;
    }
    const timeToExpire = Math.max(1, Math.ceil((end - now) / 1000));
    const isBlocked = total > limit;
    return { totalHits: total, timeToExpire, isBlocked, timeToBlockExpire: isBlocked ? timeToExpire : 0 };
  }

  /**
   * Adds every pending count to the shared rows and reads back each subject's shared count (one statement); drops
   * counters of windows that have ended. Concurrent calls share one run. Never rejects (a failure is logged and the
   * hits stay pending).
   */
  flush(): Promise<void> {
    this.flushing ??= this.flushOnce().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async flushOnce(): Promise<void> {
    const now = this.clock();
    const keys: string[] = [];
    const deltas: number[] = [];
    const ends: number[] = [];
    for (const [k, c] of this.counters) {
      if (c.end <= now) {
        this.counters.delete(k);
        continue;
      }
      keys.push(k);
      deltas.push(c.pending);
      ends.push(c.end);
    }
    if (!keys.length) return;
    const sent = new Map(keys.map((k, i) => [k, deltas[i]]));
    for (const k of keys) this.counters.get(k)!.pending -= sent.get(k)!;
    try {
      const rows = await this.counterRows.add(RATE_LIMITS, keys, deltas, ends);
      for (const r of rows) {
        const c = this.counters.get(r.key);
        if (c) c.shared = r.hits;
      }
    } catch (e) {
      for (const k of keys) {
        const c = this.counters.get(k);
        if (c) c.pending += sent.get(k)!;
      }
      this.log?.warn({ err: (e as Error).message }, 'rate limit counters not flushed; kept for the next flush');
    }
  }

  /** Deletes counter rows whose window has ended (any replica may; harmless twice). Never rejects. */
  async sweep(): Promise<void> {
    await this.counterRows.sweep(RATE_LIMITS).catch((e: unknown) => {
      this.log?.warn({ err: (e as Error).message }, 'rate limit counters not swept');
    });
  }
}

/** The three throttlers: per API key, per organisation (on `/v1`), per node (on `/agent/v1/nodes/{id}`). */
type Subject = 'key' | 'org' | 'node';

/** What RateLimitGuard found out about a request, kept on it for the throttlers' `skipIf`/`getTracker`. */
interface RateSubjects { apiKeyId?: string; organisationId?: string; nodeId?: string }
type LimitedRequest = AccessRequest & { params?: Record<string, string | undefined>; path?: string; rateSubjects?: RateSubjects };

const subjectsOf = (ctx: ExecutionContext): RateSubjects => ctx.switchToHttp().getRequest<LimitedRequest>().rateSubjects ?? {};

/**
 * The @nestjs/throttler options of the gateway: three named throttlers in one window (`rateWindowMs`), each counting
 * per subject across all routes (key `<name>:<id>`), skipped for requests without that subject.
 */
export function throttlerOptions(limits: GatewayLimits, storage: ThrottlerStorage): ThrottlerModuleOptions {
  const one = (name: Subject, limit: number, id: (s: RateSubjects) => string | undefined) => ({
    name, limit, ttl: limits.rateWindowMs, blockDuration: limits.rateWindowMs,
    skipIf: (ctx: ExecutionContext) => id(subjectsOf(ctx)) === undefined,
    getTracker: (req: Record<string, unknown>) => id((req as unknown as LimitedRequest).rateSubjects ?? {}) ?? '',
    generateKey: (_ctx: ExecutionContext, tracker: string) => `${name}:${tracker}`,
  });
  return {
    storage,
    throttlers: [
      one('key', limits.perApiKey, (s) => s.apiKeyId),
      one('org', limits.perOrganisation, (s) => s.organisationId),
      one('node', limits.perNode, (s) => s.nodeId),
    ],
  };
}

/** What each throttler is called in a 429's detail. */
const SUBJECT_NAMES: Record<Subject, string> = { key: 'API key', org: 'organisation', node: 'node token' };

/**
 * Rate limits of the gateway (issue 10), a global guard on @nestjs/throttler with PgRateLimitStore:
 * - `/v1/…` with an API key: per key (`perApiKey`) and per organisation (`perOrganisation`) per window; with a
 *   session cookie: per user (`perApiKey`) and per organisation it acts for;
 * - `/agent/v1/nodes/{id}/…`: per node (`perNode`), the token checked before by agentAuthentication;
 * - anything else (health, `/metrics`, `/docs`, requests without a valid key, which ApiKeyGuard answers 401) is not
 *   counted. A long poll is one request, counted when it arrives.
 * Headers: the library's `X-RateLimit-Limit/Remaining/Reset` (Reset in seconds), and the same as `RateLimit-*`
 * (IETF draft names); the organisation's as `X-RateLimit-*-Org`. Over a limit: 429 problem `rate-limited` naming the
 * subject, the limit and the window, with `Retry-After` (seconds to the window's end).
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    @Inject(Authenticator) private readonly auth: Authenticator,
  ) {
    super(options, storage, reflector);
  }

  override async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<LimitedRequest>();
    req.rateSubjects = await this.subjectsOf(req);
    return super.canActivate(ctx);
  }

  private async subjectsOf(req: LimitedRequest): Promise<RateSubjects> {
    const nodeId = req.params?.nodeId;
    // agentAuthentication checked the node's token (or its bootstrap token for /register) before this guard runs
    if (nodeId && req.path?.startsWith('/agent/v1/nodes/')) return { nodeId };
    if (!req.path?.startsWith('/v1/') || (!req.headers.authorization && !req.headers.cookie)) return {};
    // the lookup AccessGuard then reuses (principalOf): one per request; AccessGuard answers the 401s
    const p: Principal | undefined = await this.auth.principalOf(req).catch(() => undefined);
    if (!p) return {};
    // a session counts as its user against the per-key limit, and against its organisation's
    if (p.kind === 'api-key') return { apiKeyId: p.apiKeyId, organisationId: p.organisationId };
    return { apiKeyId: `user:${p.userId}`, ...(p.organisationId && p.role ? { organisationId: p.organisationId } : {}) };
  }

  /** The library's `X-RateLimit-*-key`/`-node` as the standard names (and `RateLimit-*`); `-org` kept apart. */
  protected override setResponseHeader(res: Record<string, unknown>, name: string, value: string | number): void {
    const m = /^(X-RateLimit-(?:Limit|Remaining|Reset)|Retry-After)(?:-(key|org|node))?$/.exec(name);
    if (!m) return super.setResponseHeader(res, name, value);
    const [, base, subject] = m;
    if (subject === 'org') {
      super.setResponseHeader(res, base === 'Retry-After' ? 'Retry-After' : `${base}-Org`, value);
      return;
    }
    super.setResponseHeader(res, base, value);
    if (base.startsWith('X-')) super.setResponseHeader(res, base.slice(2), value);
  }

  protected override async throwThrottlingException(_ctx: ExecutionContext, d: ThrottlerLimitDetail): Promise<void> {
    const subject = d.key.slice(0, d.key.indexOf(':')) as Subject;
    const retry = Math.max(1, d.timeToBlockExpire);
    throw new Problem(429, 'rate-limited', 'Too many requests',
      `more than ${d.limit} requests in ${Math.round(d.ttl / 1000)} s for this ${d.key.startsWith('key:user:') ? 'user' : (SUBJECT_NAMES[subject] ?? subject)}; retry in ${retry} s`,
      undefined, { 'retry-after': String(retry) });
  }
}
