import type { ExecutionContext } from '@nestjs/common';
import type { ApiKeyIdentity } from '@skyweave/persistence';
import { hashToken } from '@skyweave/persistence';
import { ApiKeyGuard, type AuthenticatedRequest } from './auth';

/** ApiKeyGuard alone: a stand-in key repository counting its lookups. */
describe('ApiKeyGuard', () => {
  const KEY = 'swk_abcdefghijklmnopqrstuvwxyz012345';
  const rows = new Map<string, ApiKeyIdentity>();
  let lookups = 0;
  const keys = { findBySecretHash: async (h: string) => { lookups++; return rows.get(h) ?? null; } };
  const request = (authorization?: string) => {
    const req: AuthenticatedRequest = { headers: { authorization } };
    const ctx = { switchToHttp: () => ({ getRequest: () => req }) } as unknown as ExecutionContext;
    return { req, ctx };
  };

  beforeEach(() => {
    lookups = 0;
    rows.clear();
    rows.set(hashToken(KEY), { id: 'key-1', organisationId: 'org-1' });
  });

  it('looks the key up once per request (callerOf shared with RateLimitGuard), whatever the scheme\'s case', async () => {
    const guard = new ApiKeyGuard(keys);
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const { req, ctx } = request(`${scheme} ${KEY}`);
      await expect(guard.callerOf(req)).resolves.toEqual({ organisationId: 'org-1', apiKeyId: 'key-1' });
      await expect(guard.canActivate(ctx)).resolves.toBe(true);
      expect(req.caller).toEqual({ organisationId: 'org-1', apiKeyId: 'key-1' });
    }
    expect(lookups).toBe(3);
  });

  it('refuses a deleted key from the next request on (nothing cached across requests)', async () => {
    const guard = new ApiKeyGuard(keys);
    await expect(guard.canActivate(request(`Bearer ${KEY}`).ctx)).resolves.toBe(true);
    rows.delete(hashToken(KEY));
    await expect(guard.canActivate(request(`Bearer ${KEY}`).ctx)).rejects.toMatchObject({ status: 401 });
    expect(lookups).toBe(2);
  });

  it('refuses an unknown key after one lookup, and a malformed header without any', async () => {
    const guard = new ApiKeyGuard(keys);
    const unknown = request('Bearer swk_unknownunknownunknownunknown00');
    await expect(guard.callerOf(unknown.req)).rejects.toMatchObject({ status: 401 });
    await expect(guard.canActivate(unknown.ctx)).rejects.toMatchObject({ status: 401 });
    expect(lookups).toBe(1);
    await expect(guard.canActivate(request('Basic dXNlcjpwYXNz').ctx)).rejects.toMatchObject({ status: 401 });
    await expect(guard.canActivate(request().ctx)).rejects.toMatchObject({ status: 401 });
    expect(lookups).toBe(1);
  });
});
