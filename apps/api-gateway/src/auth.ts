import { CanActivate, ExecutionContext, Inject, Injectable, Optional, createParamDecorator } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import type { DataSource } from 'typeorm';
import { ApiKeyEntity, hashToken } from '@skyweave/persistence';
import { Problem } from './problem';
import { DATA_SOURCE } from './tokens';

/** The caller's organisation, set by ApiKeyGuard. */
export interface Caller { organisationId: string; apiKeyId: string }

/**
 * How long a found API key is trusted without reading the database again, milliseconds: a key deleted from the
 * database stops working within this time. Unknown keys are never cached (each is looked up).
 */
export const API_KEY_CACHE_TTL_MS = 10_000;
/** Injection token of ApiKeyGuard's clock (tests only; absent in the application). */
export const API_KEY_CLOCK = Symbol('API_KEY_CLOCK');
/** API keys remembered at once (least recently used go first). */
const API_KEY_CACHE_MAX = 10_000;

/**
 * `Authorization: Bearer swk_…` (scheme in any case, RFC 7235) → the key's organisation. Keys are stored as SHA-256
 * only; the digest of a key found is remembered for API_KEY_CACHE_TTL_MS (a lookup per request was a quarter of the
 * queries of a `GET /v1/clusters/{id}`, see bench/api.ts).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly known: LRUCache<string, Caller>;

  /** @param clock milliseconds, monotonic (default `performance`); injected by tests of the cache's expiry. */
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource, @Optional() @Inject(API_KEY_CLOCK) clock?: { now(): number }) {
    this.known = new LRUCache<string, Caller>({ max: API_KEY_CACHE_MAX, ttl: API_KEY_CACHE_TTL_MS, ...(clock ? { perf: clock, ttlResolution: 0 } : {}) });
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; caller?: Caller }>();
    req.caller = await this.callerFor(req.headers.authorization);
    return true;
  }

  /**
   * The caller an `Authorization` header names (a fresh object each time; also used by RateLimitGuard).
   * @throws Problem 401 when the header is not `Bearer swk_…` or the key is unknown.
   */
  async callerFor(authorization: string | undefined): Promise<Caller> {
    const m = /^Bearer\s+(swk_[A-Za-z0-9_-]+)$/i.exec(authorization ?? '');
    if (!m) throw Problem.unauthorized('send an API key as "Authorization: Bearer swk_…"');
    const digest = hashToken(m[1]);
    let caller = this.known.get(digest);
    if (!caller) {
      const key = await this.ds.getRepository(ApiKeyEntity).findOne({ select: { id: true, organisationId: true }, where: { secretHash: digest } });
      if (!key) throw Problem.unauthorized('unknown API key');
      caller = { organisationId: key.organisationId, apiKeyId: key.id };
      this.known.set(digest, caller);
    }
    return { ...caller };
  }
}

export const CallerOrg = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const caller = ctx.switchToHttp().getRequest<{ caller?: Caller }>().caller;
  if (!caller) throw Problem.unauthorized('no caller');
  return caller.organisationId;
});
