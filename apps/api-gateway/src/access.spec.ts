import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { hashToken } from '@skyweave/persistence';
import { ACCESS, type Access, AccessGuard, type AccessRequest, type Authenticator, type Principal } from './access';
import { cookieNames } from './identity';

/** AccessGuard alone: a stand-in Authenticator answering a fixed principal, routes declared by hand. */
describe('AccessGuard', () => {
  const names = cookieNames(false);
  const csrf = 'swc_token-of-this-session';
  const session = (role: Principal['role'] | null, organisationId: string | null = 'org-1'): Principal =>
    ({ kind: 'session', sessionId: 's-1', userId: 'u-1', csrfHash: hashToken(csrf), organisationId, role: role as 'owner' | 'member' | 'viewer' | null });
  const key = (role: 'owner' | 'member' | 'viewer'): Principal => ({ kind: 'api-key', apiKeyId: 'k-1', organisationId: 'org-1', role });

  async function run(method: string, access: Access | undefined, principal: Principal | undefined, headers: Record<string, string> = {}) {
    const auth = { principalOf: async () => principal } as unknown as Authenticator;
    const guard = new AccessGuard(new Reflector(), auth, names);
    const handler = () => undefined;
    if (access) Reflect.defineMetadata(ACCESS, access, handler);
    const req = { method, headers } as unknown as AccessRequest;
    const ctx = { getType: () => 'http', getHandler: () => handler, getClass: () => class {}, switchToHttp: () => ({ getRequest: () => req }) } as unknown as ExecutionContext;
    try {
      return { ok: await guard.canActivate(ctx), req };
    } catch (e) {
      return { ok: false, req, error: e as { status?: number; problemType?: string; extensions?: Record<string, unknown> } };
    }
  }
  const withCsrf = { cookie: `${names.session}=x; ${names.csrf}=${csrf}`, 'x-csrf-token': csrf };

  it('lets a viewer GET an undeclared route, and refuses any write it does not have the role for, naming the role', async () => {
    expect((await run('GET', undefined, key('viewer'))).ok).toBe(true);
    const r = await run('POST', { kind: 'role', role: 'member' }, key('viewer'));
    expect([r.error?.status, r.error?.problemType, r.error?.extensions]).toEqual([403, 'insufficient-role', { requiredRole: 'member', role: 'viewer' }]);
    expect((await run('POST', { kind: 'role', role: 'member' }, key('member'))).ok).toBe(true);
    expect((await run('DELETE', { kind: 'role', role: 'owner' }, key('member'))).error?.status).toBe(403);
    expect((await run('DELETE', { kind: 'role', role: 'owner' }, key('owner'))).ok).toBe(true);
  });

  it('refuses an undeclared write to everyone, the owner too (deny by default)', async () => {
    const r = await run('POST', undefined, key('owner'));
    expect([r.error?.status, r.error?.problemType]).toEqual([403, 'route-not-declared']);
  });

  it('asks for no caller on public and node routes, and 401 without one elsewhere', async () => {
    expect((await run('POST', { kind: 'public' }, undefined)).ok).toBe(true);
    expect((await run('POST', { kind: 'node' }, undefined)).ok).toBe(true);
    expect((await run('GET', undefined, undefined)).error?.status).toBe(401);
  });

  it('requires the session\'s CSRF token, in the header and the cookie, on a cookie-authenticated write only', async () => {
    expect((await run('GET', undefined, session('owner'), { cookie: `${names.session}=x` })).ok).toBe(true);
    expect((await run('POST', { kind: 'role', role: 'member' }, session('owner'), withCsrf)).ok).toBe(true);
    for (const headers of [
      { cookie: `${names.session}=x; ${names.csrf}=${csrf}` } as Record<string, string>, // no header
      { cookie: `${names.session}=x`, 'x-csrf-token': csrf }, // no cookie
      { cookie: `${names.session}=x; ${names.csrf}=swc_other`, 'x-csrf-token': 'swc_other' }, // matching pair, another session's
    ]) {
      const r = await run('POST', { kind: 'role', role: 'member' }, session('owner'), headers);
      expect([r.error?.status, r.error?.problemType]).toEqual([403, 'csrf-refused']);
    }
    // an API key needs none
    expect((await run('POST', { kind: 'role', role: 'member' }, key('owner'))).ok).toBe(true);
  });

  it('sets the caller only for a member of the organisation acted for, and says why otherwise', async () => {
    const ok = await run('GET', undefined, session('viewer'));
    expect(ok.req.caller).toEqual({ organisationId: 'org-1', role: 'viewer', userId: 'u-1' });
    expect((await run('GET', undefined, session(null, null))).error?.problemType).toBe('no-organisation');
    expect((await run('GET', undefined, session(null, 'org-2'))).error?.problemType).toBe('not-a-member');
    const signedIn = await run('POST', { kind: 'signed-in' }, session(null, null), withCsrf);
    expect([signedIn.ok, signedIn.req.caller]).toEqual([true, undefined]);
  });
});
