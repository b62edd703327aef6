import type { ExecutionContext } from '@nestjs/common';
import type { ApiKeyIdentity, ChangeChannel, ChangeSubscription } from '@skyweave/persistence';
import { hashToken } from '@skyweave/persistence';
import { ApiKeyGuard, type AuthenticatedRequest } from './auth';

/** ApiKeyGuard alone: a stand-in key repository counting its lookups. */
describe('ApiKeyGuard', () => {
  const KEY = 'swk_abcdefghijklmnopqrstuvwxyz012345';
  const rows = new Map<string, ApiKeyIdentity>();
  let lookups = 0;
  const keys = { findBySecretHash: async (_s: unknown, h: string) => { lookups++; return rows.get(h) ?? null; } };
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
      await expect(guard.callerOf(req)).resolves.toEqual({ organisationId: 'org-1', apiKeyId: 'key-1', role: 'owner' });
      await expect(guard.canActivate(ctx)).resolves.toBe(true);
      expect(req.caller).toEqual({ organisationId: 'org-1', apiKeyId: 'key-1', role: 'owner' });
    }
    expect(lookups).toBe(3);
  });

  it('without a change feed, refuses a deleted key from the next request on (nothing remembered)', async () => {
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

  describe('with a change feed', () => {
    /** A stand-in feed: `listening` by hand, `change(key)` marks that key's open subscriptions changed. */
    const feed = {
      listening: true,
      subs: [] as { channel: ChangeChannel; key: string; changed: boolean; closed: boolean }[],
      subscribe(channel: ChangeChannel, key: string): ChangeSubscription {
        const s = { channel, key, changed: false, closed: false };
        this.subs.push(s);
        return { get changed() { return s.changed; }, next: async () => s.changed, close: () => { s.closed = true; } };
      },
      change(key: string) {
        for (const s of this.subs) if (s.key === key && !s.closed) s.changed = true;
      },
    };
    beforeEach(() => { feed.listening = true; feed.subs = []; });

    it('remembers a key found until its notification arrives, then reads the table again and refuses it', async () => {
      const guard = new ApiKeyGuard(keys, feed);
      for (let i = 0; i < 3; i++) await expect(guard.canActivate(request(`Bearer ${KEY}`).ctx)).resolves.toBe(true);
      expect(lookups).toBe(1);
      rows.delete(hashToken(KEY));
      await expect(guard.canActivate(request(`Bearer ${KEY}`).ctx)).resolves.toBe(true); // not notified yet
      feed.change(hashToken(KEY));
      await expect(guard.canActivate(request(`Bearer ${KEY}`).ctx)).rejects.toMatchObject({ status: 401 });
      expect(lookups).toBe(2);
      expect(feed.subs.filter((s) => s.key === hashToken(KEY)).every((s) => s.closed)).toBe(true);
    });

    it('forgets every key on `*` (TRUNCATE, or the feed\'s connection lost or regained)', async () => {
      const guard = new ApiKeyGuard(keys, feed);
      await guard.canActivate(request(`Bearer ${KEY}`).ctx);
      await guard.canActivate(request(`Bearer ${KEY}`).ctx);
      expect(lookups).toBe(1);
      feed.change('*');
      await guard.canActivate(request(`Bearer ${KEY}`).ctx);
      expect(lookups).toBe(2);
    });

    it('reads the table on every request while the feed is not listening (a deletion could go unnoticed)', async () => {
      const guard = new ApiKeyGuard(keys, feed);
      await guard.canActivate(request(`Bearer ${KEY}`).ctx);
      feed.listening = false;
      await guard.canActivate(request(`Bearer ${KEY}`).ctx);
      await guard.canActivate(request(`Bearer ${KEY}`).ctx);
      expect(lookups).toBe(3);
      rows.delete(hashToken(KEY));
      await expect(guard.canActivate(request(`Bearer ${KEY}`).ctx)).rejects.toMatchObject({ status: 401 });
    });

    it('does not remember a key whose change arrived while it was being read', async () => {
      const slow = { findBySecretHash: async (_s: unknown, h: string) => { lookups++; feed.change(h); return rows.get(h) ?? null; } };
      const guard = new ApiKeyGuard(slow, feed);
      await guard.canActivate(request(`Bearer ${KEY}`).ctx);
      await guard.canActivate(request(`Bearer ${KEY}`).ctx);
      expect(lookups).toBe(2);
    });
  });
});
