import { Controller, Get, Post } from '@nestjs/common';
import { MinRole, Public, assertAccessDeclared, roleAtLeast } from './access';
import { GATEWAY_CONTROLLERS } from './app';
import { DEFAULT_IDENTITY, cookieNames, hashPassword, identityOptionsFromEnv, verifyPassword } from './identity';
import { redactUrl } from './problem';

describe('passwords (scrypt)', () => {
  const N = 2 ** 10;
  it('verifies the password a hash was made from, in the stored format, and nothing else', async () => {
    const h = await hashPassword('correct horse battery staple', N);
    expect(h).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(await hashPassword('correct horse battery staple', N)).not.toBe(h); // salted
    await expect(verifyPassword('correct horse battery staple', h, N)).resolves.toBe(true);
    await expect(verifyPassword('correct horse battery stapl', h, N)).resolves.toBe(false);
    await expect(verifyPassword('', h, N)).resolves.toBe(false);
  });
  it('answers false for an account without a password (and for a hash of another kind)', async () => {
    await expect(verifyPassword('anything at all', null, N)).resolves.toBe(false);
    await expect(verifyPassword('anything at all', 'bcrypt$whatever', N)).resolves.toBe(false);
  });
});

describe('identity options from the environment', () => {
  it('defaults to secure cookies, no local accounts, no OIDC', () => {
    expect(identityOptionsFromEnv({})).toEqual(DEFAULT_IDENTITY);
  });
  it('reads every variable, and refuses malformed or partial settings', () => {
    const o = identityOptionsFromEnv({
      SKYWEAVE_COOKIE_SECURE: 'false', SKYWEAVE_LOCAL_ACCOUNTS: 'true', SKYWEAVE_SESSION_HOURS: '2', SKYWEAVE_LOGIN_ATTEMPTS: '3', SKYWEAVE_LOGIN_WINDOW_SECONDS: '60',
      SKYWEAVE_OIDC_ISSUER: 'https://id.example.com', SKYWEAVE_OIDC_CLIENT_ID: 'c', SKYWEAVE_OIDC_CLIENT_SECRET: 's', SKYWEAVE_OIDC_REDIRECT_URI: 'https://sw.example.com/v1/auth/oidc/callback',
    });
    expect(o).toMatchObject({ secureCookies: false, localAccounts: true, sessionTtlMs: 7_200_000, loginAttempts: 3, loginWindowMs: 60_000, oidc: { issuer: 'https://id.example.com', afterLogin: '/', allowHttp: false } });
    expect(() => identityOptionsFromEnv({ SKYWEAVE_COOKIE_SECURE: 'yes' })).toThrow(/SKYWEAVE_COOKIE_SECURE must be true or false/);
    expect(() => identityOptionsFromEnv({ SKYWEAVE_SESSION_HOURS: '0' })).toThrow(/SKYWEAVE_SESSION_HOURS/);
    expect(() => identityOptionsFromEnv({ SKYWEAVE_OIDC_ISSUER: 'https://id.example.com' })).toThrow(/set together/);
  });
  it('names cookies with __Host- only when they are Secure', () => {
    expect(cookieNames(true)).toEqual({ session: '__Host-skyweave_session', csrf: '__Host-skyweave_csrf', oidc: '__Host-skyweave_oidc' });
    expect(cookieNames(false).session).toBe('skyweave_session');
  });
});

describe('route access declarations', () => {
  it('ranks roles viewer < member < owner', () => {
    expect([roleAtLeast('owner', 'member'), roleAtLeast('member', 'member'), roleAtLeast('viewer', 'member'), roleAtLeast('member', 'owner')]).toEqual([true, true, false, false]);
  });
  it('every write route of the gateway declares who may call it', () => {
    expect(() => assertAccessDeclared(GATEWAY_CONTROLLERS)).not.toThrow();
  });
  it('refuses to start with a write route that declares nothing (a GET needs no declaration: viewer)', () => {
    @Controller('x')
    class Forgetful {
      @Get() read() { return 1; }
      @Post() write() { return 1; }
      @Post('ok') @MinRole('member') declared() { return 1; }
    }
    @Controller('y')
    @Public()
    class Open {
      @Post() write() { return 1; }
    }
    expect(() => assertAccessDeclared([Forgetful, Open])).toThrow(/Forgetful\.write$/);
  });
});

describe('URLs in logs', () => {
  it('hide invitation tokens and the OIDC callback\'s code and state', () => {
    expect(redactUrl('/v1/invitations/swi_abcDEF-123_x/accept')).toBe('/v1/invitations/swi_***/accept');
    expect(redactUrl('/v1/auth/oidc/callback?code=xyz&state=abc&iss=https%3A%2F%2Fid')).toBe('/v1/auth/oidc/callback?code=***&state=***&iss=https%3A%2F%2Fid');
    expect(redactUrl('/v1/clusters/5b3c0e3e-0000-4000-8000-000000000000')).toBe('/v1/clusters/5b3c0e3e-0000-4000-8000-000000000000');
  });
});
