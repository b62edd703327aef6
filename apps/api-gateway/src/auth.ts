import { CanActivate, ExecutionContext, Inject, Injectable, OnModuleDestroy, Optional, createParamDecorator } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { type ApiKeysRepository, type ChangeFeed, type ChangeSubscription, type Role, hashToken, systemScope } from '@skyweave/persistence';
import { Problem } from './problem';
import { CHANGE_FEED } from './tokens';

/**
 * The organisation a request acts for and the caller's role there, set by AccessGuard (access.ts) for an API key, or
 * for a session whose user is a member of the organisation it acts for; `apiKeyId` or `userId` says which.
 */
export interface Caller { organisationId: string; role: Role; apiKeyId?: string; userId?: string }

/** Injection token of the API-key lookup (an ApiKeysRepository in the application). */
export const API_KEYS = Symbol('API_KEYS');

const CALLER_LOOKUP = Symbol('callerLookup');
/** What callerOf needs of a request; the lookup's promise is kept on it (one lookup per request). */
export interface AuthenticatedRequest { headers: Record<string, string | string[] | undefined>; caller?: Caller; [CALLER_LOOKUP]?: Promise<Caller> }

/** API keys remembered at once (least recently used go first). */
const API_KEY_CACHE_MAX = 10_000;

/** Authentication reads a key before it knows the caller's organisation: it is the one cross-organisation read here. */
const AUTHENTICATION = systemScope('API key authentication: the key names the organisation');

/** A key found, and the change-feed subscription that says when it stops being true. */
interface KnownKey { caller: Caller; sub: ChangeSubscription }

/**
 * `Authorization: Bearer swk_…` (scheme in any case, RFC 7235) → the key's organisation. Keys are stored as SHA-256
 * only, and looked up at most once per request (callerOf, shared with RateLimitGuard).
 *
 * With a ChangeFeed (the application's), a key found is remembered until PostgreSQL says it changed: the feed's
 * `apiKeys` channel (migration ApiKeyNotify1764300000000) notifies the digest of every key updated or deleted when the
 * writing transaction commits, and the remembered entry is dropped. Nothing is remembered, and every request reads
 * the table, while the feed's listening connection is down, and every entry is dropped when it goes down or comes
 * back (notifications may have been missed meanwhile). The subscription is made before the read, so a deletion
 * committed after the read is never missed. A deleted key is therefore refused as soon as its notification arrives
 * (milliseconds after the commit), not after a TTL. Unknown keys are never remembered. Without a feed (unit tests),
 * every request reads the table.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate, OnModuleDestroy {
  private readonly known = new LRUCache<string, KnownKey>({ max: API_KEY_CACHE_MAX, dispose: (k) => k.sub.close() });
  /** The `*` key of the channel (the table was truncated): every entry goes. */
  private all?: ChangeSubscription;

  constructor(
    @Inject(API_KEYS) private readonly keys: Pick<ApiKeysRepository, 'findBySecretHash'>,
    @Optional() @Inject(CHANGE_FEED) private readonly feed?: Pick<ChangeFeed, 'listening' | 'subscribe'>,
  ) {}

  onModuleDestroy(): void {
    this.known.clear();
    this.all?.close();
  }

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    req.caller = { ...(await this.callerOf(req)) };
    return true;
  }

  /**
   * The caller a request's `Authorization` header names, looked up at most once per request: RateLimitGuard (which
   * runs first) and ApiKeyGuard share the answer. Each caller of this gets the same promise; do not mutate its value.
   * @throws Problem 401 when the header is not `Bearer swk_…` or the key is unknown; the driver's error when
   *   PostgreSQL cannot be reached.
   */
  callerOf(req: AuthenticatedRequest): Promise<Caller> {
    return (req[CALLER_LOOKUP] ??= this.lookup(req.headers.authorization));
  }

  private async lookup(authorization: string | string[] | undefined): Promise<Caller> {
    const m = typeof authorization === 'string' ? /^Bearer\s+(swk_[A-Za-z0-9_-]+)$/i.exec(authorization) : null;
    if (!m) throw Problem.unauthorized('send an API key as "Authorization: Bearer swk_…"');
    const digest = hashToken(m[1]);
    const feed = this.feed?.listening ? this.feed : undefined;
    if (feed) {
      if (!this.all || this.all.changed) {
        this.all?.close();
        this.all = feed.subscribe('apiKeys', '*');
        this.known.clear();
      }
      const k = this.known.get(digest);
      if (k && !k.sub.changed) return k.caller;
      if (k) this.known.delete(digest);
    }
    // subscribed before the read: a change committed after it is notified to this subscription
    const sub = feed?.subscribe('apiKeys', digest);
    const all = this.all;
    let key: Awaited<ReturnType<typeof this.keys.findBySecretHash>>;
    try {
      key = await this.keys.findBySecretHash(AUTHENTICATION, digest);
    } catch (e) {
      sub?.close();
      throw e;
    }
    if (!key) {
      sub?.close();
      throw Problem.unauthorized('unknown API key');
    }
    // keys made before roles existed are owners (migration Identity1764900000000); stand-ins of unit tests give none
    const caller: Caller = { organisationId: key.organisationId, apiKeyId: key.id, role: key.role ?? 'owner' };
    if (sub && this.feed?.listening && !sub.changed && all === this.all && !all?.changed) this.known.set(digest, { caller, sub });
    else sub?.close();
    return caller;
  }
}

export const CallerOrg = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const caller = ctx.switchToHttp().getRequest<{ caller?: Caller }>().caller;
  if (!caller) throw Problem.unauthorized('no caller');
  return caller.organisationId;
});
