import { CanActivate, ExecutionContext, Inject, Injectable, createParamDecorator } from '@nestjs/common';
import { type ApiKeysRepository, hashToken } from '@skyweave/persistence';
import { Problem } from './problem';

/** The caller's organisation, set by ApiKeyGuard. */
export interface Caller { organisationId: string; apiKeyId: string }

/** Injection token of the API-key lookup (an ApiKeysRepository in the application). */
export const API_KEYS = Symbol('API_KEYS');

const CALLER_LOOKUP = Symbol('callerLookup');
/** What callerOf needs of a request; the lookup's promise is kept on it (one lookup per request). */
export interface AuthenticatedRequest { headers: Record<string, string | string[] | undefined>; caller?: Caller; [CALLER_LOOKUP]?: Promise<Caller> }

/**
 * `Authorization: Bearer swk_…` (scheme in any case, RFC 7235) → the key's organisation. Keys are stored as SHA-256
 * only. The key is looked up once per request (callerOf, shared with RateLimitGuard) and never cached across requests,
 * so a key deleted from `api_keys` is refused from the next request on.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(@Inject(API_KEYS) private readonly keys: Pick<ApiKeysRepository, 'findBySecretHash'>) {}

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
    const key = await this.keys.findBySecretHash(hashToken(m[1]));
    if (!key) throw Problem.unauthorized('unknown API key');
    return { organisationId: key.organisationId, apiKeyId: key.id };
  }
}

export const CallerOrg = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const caller = ctx.switchToHttp().getRequest<{ caller?: Caller }>().caller;
  if (!caller) throw Problem.unauthorized('no caller');
  return caller.organisationId;
});
