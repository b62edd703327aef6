import { CanActivate, ExecutionContext, Inject, Injectable, RequestMethod, SetMetadata, type Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { METHOD_METADATA } from '@nestjs/common/constants';
import { createHash, timingSafeEqual } from 'node:crypto';
import { type Role, type SessionsRepository, hashToken, systemScope } from '@skyweave/persistence';
import { ApiKeyGuard, type AuthenticatedRequest, type Caller } from './auth';
import { CSRF_HEADER, ORGANISATION_HEADER, type CookieNames, requestCookies } from './identity';
import { Problem } from './problem';
import { COOKIE_NAMES, SESSIONS } from './tokens';

/** Roles weakest first; a role may do everything a weaker one may. */
const RANK: Record<Role, number> = { viewer: 0, member: 1, owner: 2 };
/** Whether `role` is at least `needed`. */
export const roleAtLeast = (role: Role, needed: Role): boolean => RANK[role] >= RANK[needed];

/**
 * Who a route admits, declared with one of the decorators below (metadata read by AccessGuard on the handler, then
 * its controller):
 * - `public`: anyone; no caller is looked up (health, metrics, regions, sign-in);
 * - `node`: node-agent routes, authenticated by their node token before the guards run (agentAuthentication);
 * - `signed-in`: any API key or session, with or without an organisation (`/v1/me`, logout, accepting an invitation);
 * - `role`: an API key or session acting for an organisation with at least this role;
 * - `session`: a person's session (never an API key: 403 `session-required`) acting for an organisation with at least
 *   this role; its writes are checked by origin instead of the CSRF token (403 `csrf-refused` unless `Origin` is this
 *   gateway's own): the single sign-on routes to cluster middleware (sso-proxy.controller.ts), whose pages (Grafana's)
 *   cannot send our token.
 * Undeclared routes: GET needs `viewer`; any other method is refused (and createGateway refuses to start).
 */
export type Access = { kind: 'public' } | { kind: 'node' } | { kind: 'signed-in' } | { kind: 'role'; role: Role } | { kind: 'session'; role: Role };
export const ACCESS = 'skyweave:access';

/** Anyone may call this route: no API key or session is looked up. */
export const Public = () => SetMetadata(ACCESS, { kind: 'public' } satisfies Access);
/** A node-agent route: its node token was checked by agentAuthentication (app.ts) before the guards. */
export const NodeRoute = () => SetMetadata(ACCESS, { kind: 'node' } satisfies Access);
/** Any signed-in caller (API key or session), whether or not it acts for an organisation. */
export const SignedIn = () => SetMetadata(ACCESS, { kind: 'signed-in' } satisfies Access);
/** Callers acting for an organisation with at least `role` there (403 `insufficient-role` naming it otherwise). */
export const MinRole = (role: Role) => SetMetadata(ACCESS, { kind: 'role', role } satisfies Access);

/** Only a person's session acting for an organisation with at least `role` (API keys: 403 `session-required`); writes same-origin only. */
export const SessionRole = (role: Role) => SetMetadata(ACCESS, { kind: 'session', role } satisfies Access);

/** Methods that change nothing: no minimum role needs declaring (viewer), no CSRF token is asked for. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Who is calling: an API key (always for one organisation) or a session (for the organisation chosen, if any). */
export type Principal =
  | { kind: 'api-key'; apiKeyId: string; organisationId: string; role: Role }
  | { kind: 'session'; sessionId: string; userId: string; csrfHash: string; organisationId: string | null; role: Role | null };

const PRINCIPAL_LOOKUP = Symbol('principalLookup');
/** A request as AccessGuard and RateLimitGuard see it. */
export type AccessRequest = AuthenticatedRequest & {
  method: string;
  principal?: Principal;
  [PRINCIPAL_LOOKUP]?: Promise<Principal | undefined>;
};

const SESSION_LOOKUP = systemScope('session authentication: the session names the user and organisation');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Finds who a request comes from, at most once per request (RateLimitGuard, which runs first, and AccessGuard share
 * the answer): `Authorization: Bearer swk_…` (ApiKeyGuard's lookup, cached until revoked), else the session cookie
 * (the `sessions` row by the SHA-256 of its id, unexpired, with the role in the organisation named by
 * `X-Skyweave-Organisation` or chosen on the session), else nobody.
 */
@Injectable()
export class Authenticator {
  constructor(
    @Inject(ApiKeyGuard) private readonly apiKeys: ApiKeyGuard,
    @Inject(SESSIONS) private readonly sessions: Pick<SessionsRepository, 'find'>,
    @Inject(COOKIE_NAMES) private readonly cookies: CookieNames,
  ) {}

  /**
   * @returns undefined when the request carries neither an Authorization header nor a session cookie.
   * @throws Problem 401 for an unknown or malformed key, or an unknown or expired session; 400 `invalid-organisation`
   *   when X-Skyweave-Organisation is not a UUID.
   */
  principalOf(req: AccessRequest): Promise<Principal | undefined> {
    return (req[PRINCIPAL_LOOKUP] ??= this.lookup(req));
  }

  private async lookup(req: AccessRequest): Promise<Principal | undefined> {
    if (req.headers.authorization !== undefined) {
      const c = await this.apiKeys.callerOf(req);
      return { kind: 'api-key', apiKeyId: c.apiKeyId ?? '', organisationId: c.organisationId, role: c.role };
    }
    const cookieHeader = req.headers.cookie;
    const token = requestCookies(typeof cookieHeader === 'string' ? cookieHeader : undefined)[this.cookies.session];
    if (!token) return undefined;
    const asked = req.headers[ORGANISATION_HEADER];
    if (asked !== undefined && (typeof asked !== 'string' || !UUID.test(asked))) {
      throw new Problem(400, 'invalid-organisation', 'Invalid organisation', `${ORGANISATION_HEADER} must be an organisation id (UUID)`);
    }
    const s = await this.sessions.find(SESSION_LOOKUP, hashToken(token), asked);
    if (!s) throw new Problem(401, 'unauthorized', 'Unauthorized', 'the session has ended or expired; sign in again', undefined, { 'www-authenticate': 'Bearer' });
    return { kind: 'session', sessionId: s.sessionId, userId: s.userId, csrfHash: s.csrfHash, organisationId: s.organisationId, role: s.role };
  }
}

/**
 * The gateway's one authorisation point (issue 14), a global guard after RateLimitGuard, so a new route cannot
 * forget it: it reads the route's Access, authenticates (Authenticator), refuses a cookie-authenticated write without
 * the CSRF token (`X-CSRF-Token` equal to the CSRF cookie and to the session's token: 403 `csrf-refused`), sets
 * `req.caller` (organisation, role) when the caller acts for an organisation it belongs to, and checks the role.
 * Refusals are RFC 9457 problems: 401 `unauthorized` without a caller; 403 `no-organisation` (a session that chose
 * none), `not-a-member` (X-Skyweave-Organisation names one the user is not in), `insufficient-role` with
 * `requiredRole` and `role` members, `route-not-declared` (a non-GET route without a declared minimum role).
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(private readonly reflector: Reflector, private readonly auth: Authenticator, @Inject(COOKIE_NAMES) private readonly cookies: CookieNames) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS, [ctx.getHandler(), ctx.getClass()]);
    if (access?.kind === 'public' || access?.kind === 'node') return true;
    const req = ctx.switchToHttp().getRequest<AccessRequest>();
    const safe = SAFE_METHODS.has(req.method);
    const needed: Role | undefined = access?.kind === 'role' || access?.kind === 'session' ? access.role : safe ? 'viewer' : undefined;
    if (!access && !needed) {
      throw new Problem(403, 'route-not-declared', 'Forbidden', 'this route declares no minimum role, so nobody may call it', undefined, {}, { requiredRole: 'owner' });
    }
    const p = await this.auth.principalOf(req);
    if (!p) throw Problem.unauthorized('send an API key as "Authorization: Bearer swk_…", or sign in (session cookie)');
    req.principal = p;
    if (access?.kind === 'session') {
      if (p.kind !== 'session') throw new Problem(403, 'session-required', 'Forbidden', 'this route is for people signed in to the console (a session cookie), not API keys');
      if (!safe) checkSameOrigin(req);
    } else if (p.kind === 'session' && !safe) this.checkCsrf(req, p.csrfHash);
    if (p.organisationId && p.role) {
      const caller: Caller = p.kind === 'api-key'
        ? { organisationId: p.organisationId, role: p.role, apiKeyId: p.apiKeyId }
        : { organisationId: p.organisationId, role: p.role, userId: p.userId };
      req.caller = caller;
    }
    if (access?.kind === 'signed-in') return true;
    const role = needed as Role;
    if (!req.caller) {
      if (p.organisationId) throw new Problem(403, 'not-a-member', 'Forbidden', `you are not a member of organisation ${p.organisationId}`, undefined, {}, { requiredRole: role });
      throw new Problem(403, 'no-organisation', 'Forbidden', `choose an organisation first (${ORGANISATION_HEADER} header, or PATCH /v1/me)`, undefined, {}, { requiredRole: role });
    }
    if (!roleAtLeast(req.caller.role, role)) {
      throw new Problem(403, 'insufficient-role', 'Forbidden', `this needs the ${role} role; you are ${req.caller.role === 'owner' ? 'an' : 'a'} ${req.caller.role}`, undefined, {}, { requiredRole: role, role: req.caller.role });
    }
    return true;
  }

  /** Double submit, bound to the session: the header equals the CSRF cookie, and its SHA-256 is the session's. */
  private checkCsrf(req: AccessRequest, csrfHash: string): void {
    const header = req.headers[CSRF_HEADER];
    const cookieHeader = req.headers.cookie;
    const cookie = requestCookies(typeof cookieHeader === 'string' ? cookieHeader : undefined)[this.cookies.csrf];
    const digest = (s: string) => createHash('sha256').update(s).digest();
    const ok = typeof header === 'string' && header.length > 0 && cookie !== undefined
      && timingSafeEqual(digest(header), digest(cookie)) && timingSafeEqual(digest(header), Buffer.from(csrfHash, 'hex'));
    if (!ok) throw new Problem(403, 'csrf-refused', 'Forbidden', `a signed-in browser's change needs the ${CSRF_HEADER} header, equal to the ${this.cookies.csrf} cookie`);
  }
}

/**
 * A cookie-authenticated write through a `session` route must come from a page of this gateway: `Origin` (sent by
 * browsers on every cross-origin request and on same-origin POST/PUT/PATCH/DELETE) equal to `http(s)://<Host>`, or,
 * without `Origin`, `Sec-Fetch-Site: same-origin`. Together with SameSite=Lax session cookies (not sent on cross-site
 * writes) this is OWASP's "verifying origin with standard headers". @throws Problem 403 `csrf-refused`.
 */
function checkSameOrigin(req: AccessRequest): void {
  const origin = req.headers.origin;
  const host = req.headers.host;
  const fetchSite = req.headers['sec-fetch-site'];
  let ok = false;
  if (typeof origin === 'string' && origin !== 'null' && typeof host === 'string') {
    try {
      ok = new URL(origin).host === host.toLowerCase();
    } catch {
      ok = false;
    }
  } else if (origin === undefined) ok = fetchSite === 'same-origin';
  if (!ok) throw new Problem(403, 'csrf-refused', 'Forbidden', 'a change through the single sign-on gateway must come from one of its own pages (Origin)');
}

/**
 * Checks at start-up that every route changing something (POST, PUT, PATCH, DELETE) declares who may call it
 * (MinRole, SignedIn, Public or NodeRoute on the handler or its controller). @throws Error naming the routes that do not.
 */
export function assertAccessDeclared(controllers: readonly Type[]): void {
  const missing: string[] = [];
  for (const c of controllers) {
    const onClass = Reflect.getMetadata(ACCESS, c) as Access | undefined;
    for (const name of Object.getOwnPropertyNames(c.prototype)) {
      const handler = Object.getOwnPropertyDescriptor(c.prototype, name)?.value as unknown;
      if (typeof handler !== 'function' || name === 'constructor') continue;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      if (method === undefined || method === RequestMethod.GET || method === RequestMethod.HEAD) continue;
      if (!onClass && !Reflect.getMetadata(ACCESS, handler)) missing.push(`${c.name}.${name}`);
    }
  }
  if (missing.length) throw new Error(`routes that change something must declare who may call them (MinRole, SignedIn, Public, NodeRoute): ${missing.join(', ')}`);
}
