import type { ExecutionContext } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { hashToken } from '@skyweave/persistence';
import { API_KEY_CACHE_TTL_MS, ApiKeyGuard, Caller } from './auth';

/** ApiKeyGuard alone: a stand-in repository counting its lookups, a hand-moved clock. */
describe('ApiKeyGuard', () => {
  const KEY = 'swk_abcdefghijklmnopqrstuvwxyz012345';
  const rows = new Map([[hashToken(KEY), { id: 'key-1', organisationId: 'org-1' }]]);
  let lookups = 0;
  const ds = { getRepository: () => ({ findOne: async (o: { where: { secretHash: string } }) => { lookups++; return rows.get(o.where.secretHash) ?? null; } }) } as unknown as DataSource;
  const clock = { t: 0, now() { return this.t; } };
  const request = (authorization?: string) => {
    const req: { headers: Record<string, string | undefined>; caller?: Caller } = { headers: { authorization } };
    const ctx = { switchToHttp: () => ({ getRequest: () => req }) } as unknown as ExecutionContext;
    return { req, ctx };
  };

  beforeEach(() => { lookups = 0; clock.t = 1_000; });

  it('looks a key up once and trusts it for API_KEY_CACHE_TTL_MS, then reads the database again', async () => {
    const guard = new ApiKeyGuard(ds, clock);
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const { req, ctx } = request(`${scheme} ${KEY}`);
      await expect(guard.canActivate(ctx)).resolves.toBe(true);
      expect(req.caller).toEqual({ organisationId: 'org-1', apiKeyId: 'key-1' });
    }
    expect(lookups).toBe(1);
    clock.t += API_KEY_CACHE_TTL_MS + 1;
    rows.delete(hashToken(KEY)); // the key was deleted meanwhile: refused once the cached entry expired
    await expect(guard.canActivate(request(`Bearer ${KEY}`).ctx)).rejects.toMatchObject({ status: 401 });
    expect(lookups).toBe(2);
    rows.set(hashToken(KEY), { id: 'key-1', organisationId: 'org-1' });
  });

  it('never caches an unknown key, and refuses a malformed header without a lookup', async () => {
    const guard = new ApiKeyGuard(ds, clock);
    const unknown = 'swk_unknownunknownunknownunknown00';
    await expect(guard.canActivate(request(`Bearer ${unknown}`).ctx)).rejects.toMatchObject({ status: 401 });
    await expect(guard.canActivate(request(`Bearer ${unknown}`).ctx)).rejects.toMatchObject({ status: 401 });
    expect(lookups).toBe(2);
    await expect(guard.canActivate(request('Basic dXNlcjpwYXNz').ctx)).rejects.toMatchObject({ status: 401 });
    await expect(guard.canActivate(request().ctx)).rejects.toMatchObject({ status: 401 });
    expect(lookups).toBe(2);
  });
});
