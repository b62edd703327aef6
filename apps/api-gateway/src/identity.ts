import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { Response } from 'express';
import { parse as parseCookies } from 'cookie';

/** The OpenID Connect provider console users sign in with (all four from configuration). */
export interface OidcOptions {
  /** The issuer URL (`SKYWEAVE_OIDC_ISSUER`); its `/.well-known/openid-configuration` is read on first use. */
  issuer: string;
  /** `SKYWEAVE_OIDC_CLIENT_ID`. */
  clientId: string;
  /** `SKYWEAVE_OIDC_CLIENT_SECRET` (client_secret_basic); never logged. */
  clientSecret: string;
  /** This API's callback, as registered at the provider (`SKYWEAVE_OIDC_REDIRECT_URI`, e.g. https://skyweave.example.com/v1/auth/oidc/callback). */
  redirectUri: string;
  /** Where the browser goes after signing in (`SKYWEAVE_OIDC_AFTER_LOGIN`, default `/`: the console). */
  afterLogin?: string;
  /** Scopes asked for (default `openid email profile`). */
  scope?: string;
  /** Allow an `http:` issuer (tests and the sandbox only; `SKYWEAVE_OIDC_ALLOW_HTTP=true`). */
  allowHttp?: boolean;
}

/**
 * How console users sign in (issue 14). Built by `identityOptionsFromEnv` in main.ts, or given by tests;
 * DEFAULT_IDENTITY for what is absent.
 */
export interface IdentityOptions {
  /**
   * Cookies are `Secure` and named with the `__Host-` prefix (`SKYWEAVE_COOKIE_SECURE`, default true). Set false only
   * when the API is reached over plain http (the sandbox on http://127.0.0.1): browsers drop Secure cookies there.
   */
  secureCookies: boolean;
  /** Lifetime of a session, ms (`SKYWEAVE_SESSION_HOURS`, default 12 h). */
  sessionTtlMs: number;
  /** Local accounts (email + password) may sign up and sign in (`SKYWEAVE_LOCAL_ACCOUNTS=true`; default false: OIDC only). */
  localAccounts: boolean;
  /** Sign-in attempts per email and client address per window (`SKYWEAVE_LOGIN_ATTEMPTS`, default 10). */
  loginAttempts: number;
  /** The window of `loginAttempts`, ms (`SKYWEAVE_LOGIN_WINDOW_SECONDS`, default 900 s). */
  loginWindowMs: number;
  /** How long an invitation can be accepted, ms (default 7 days). */
  invitationTtlMs: number;
  /** The OIDC provider; absent: `/v1/auth/oidc/*` answer 404 `oidc-not-configured`. */
  oidc?: OidcOptions;
  /** scrypt cost of new password hashes (N, a power of two; default 2^15 = 32 MiB, ~0.1 s). Existing hashes keep theirs. */
  scryptN: number;
}

export const DEFAULT_IDENTITY: Readonly<IdentityOptions> = {
  secureCookies: true,
  sessionTtlMs: 12 * 3600_000,
  localAccounts: false,
  loginAttempts: 10,
  loginWindowMs: 900_000,
  invitationTtlMs: 7 * 24 * 3600_000,
  scryptN: 2 ** 15,
};

/**
 * The identity options from the environment (names in IdentityOptions and docs/identity.md).
 * @throws Error naming the variable when a value is malformed, or when only part of the OIDC settings is given.
 */
export function identityOptionsFromEnv(env: NodeJS.ProcessEnv): IdentityOptions {
  const bool = (name: string, dflt: boolean): boolean => {
    const v = env[name]?.trim().toLowerCase();
    if (v === undefined || v === '') return dflt;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw new Error(`${name} must be true or false, got ${JSON.stringify(env[name])}`);
  };
  const positive = (name: string, dflt: number, scale: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(v)}`);
    return Math.round(n * scale);
  };
  const o: IdentityOptions = {
    ...DEFAULT_IDENTITY,
    secureCookies: bool('SKYWEAVE_COOKIE_SECURE', true),
    localAccounts: bool('SKYWEAVE_LOCAL_ACCOUNTS', false),
    sessionTtlMs: positive('SKYWEAVE_SESSION_HOURS', DEFAULT_IDENTITY.sessionTtlMs, 3600_000),
    loginAttempts: positive('SKYWEAVE_LOGIN_ATTEMPTS', DEFAULT_IDENTITY.loginAttempts, 1),
    loginWindowMs: positive('SKYWEAVE_LOGIN_WINDOW_SECONDS', DEFAULT_IDENTITY.loginWindowMs, 1000),
  };
  const oidc = ['SKYWEAVE_OIDC_ISSUER', 'SKYWEAVE_OIDC_CLIENT_ID', 'SKYWEAVE_OIDC_CLIENT_SECRET', 'SKYWEAVE_OIDC_REDIRECT_URI'].map((n) => env[n]?.trim() || undefined);
  if (oidc.some(Boolean)) {
    if (!oidc.every(Boolean)) throw new Error('SKYWEAVE_OIDC_ISSUER, SKYWEAVE_OIDC_CLIENT_ID, SKYWEAVE_OIDC_CLIENT_SECRET and SKYWEAVE_OIDC_REDIRECT_URI are set together');
    const [issuer, clientId, clientSecret, redirectUri] = oidc as string[];
    o.oidc = { issuer, clientId, clientSecret, redirectUri, afterLogin: env.SKYWEAVE_OIDC_AFTER_LOGIN?.trim() || '/', allowHttp: bool('SKYWEAVE_OIDC_ALLOW_HTTP', false) };
  }
  return o;
}

/** The cookies of a session: its id (HttpOnly) and the CSRF token the console copies into `X-CSRF-Token` (readable by script). */
export interface CookieNames { session: string; csrf: string; oidc: string }

/** `__Host-` names with Secure cookies (the browser then refuses them unless Secure, Path=/ and no Domain), plain names without. */
export function cookieNames(secure: boolean): CookieNames {
  const p = secure ? '__Host-' : '';
  return { session: `${p}skyweave_session`, csrf: `${p}skyweave_csrf`, oidc: `${p}skyweave_oidc` };
}

/** The request headers of the CSRF token (double submit: it must equal the CSRF cookie and the session's token) and of the organisation a session request acts for (libs/contracts). */
export { CSRF_HEADER, ORGANISATION_HEADER } from '@skyweave/contracts';

/** A request's cookies by name (`Cookie` header; RFC 6265), empty without one. */
export function requestCookies(header: string | undefined): Record<string, string | undefined> {
  return header ? parseCookies(header) : {};
}

/**
 * Sets a cookie with the gateway's attributes: Path=/, SameSite=Lax, HttpOnly unless `readable`, Secure when
 * `secure`; `maxAgeMs` 0 deletes it.
 */
export function setCookie(res: Response, name: string, value: string, o: { secure: boolean; maxAgeMs: number; readable?: boolean }): void {
  const attrs = { path: '/', sameSite: 'lax', httpOnly: !o.readable, secure: o.secure } as const;
  // Express's clearCookie: an empty value that expired in 1970
  if (o.maxAgeMs === 0) res.clearCookie(name, attrs);
  else res.cookie(name, value, { ...attrs, maxAge: o.maxAgeMs });
}

const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SCRYPT_KEYLEN = 32;
const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password.normalize('NFKC'), salt, keylen, opts, (e, k) => (e ? reject(e) : resolve(k))));
const maxmem = (n: number, r: number) => 128 * n * r * 2;

/**
 * Hashes a password with scrypt (node:crypto; N = `cost`, r = 8, p = 1, 16-byte random salt, 32-byte key).
 * @returns `scrypt$<N>$<r>$<p>$<salt b64>$<key b64>`: the parameters travel with the hash, so the cost can rise later.
 */
export async function hashPassword(password: string, cost: number): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT_KEYLEN, { N: cost, r: SCRYPT_R, p: SCRYPT_P, maxmem: maxmem(cost, SCRYPT_R) });
  return ['scrypt', cost, SCRYPT_R, SCRYPT_P, salt.toString('base64'), key.toString('base64')].join('$');
}

/** A hash no password matches, verified when the email is unknown so that the answer takes as long as for a known one. */
let decoy: Promise<string> | undefined;

/**
 * Whether `password` matches `stored` (hashPassword's format), compared in constant time (timingSafeEqual). With
 * `stored` null (unknown email, or an account without a password) a decoy hash of the same cost is checked and the
 * answer is false, so timing does not tell which emails exist.
 */
export async function verifyPassword(password: string, stored: string | null, cost: number): Promise<boolean> {
  const hash = stored ?? (await (decoy ??= hashPassword(randomBytes(16).toString('hex'), cost)));
  const [kind, n, r, p, saltB64, keyB64] = hash.split('$');
  if (kind !== 'scrypt') return false;
  const expected = Buffer.from(keyB64 ?? '', 'base64');
  const N = Number(n);
  const R = Number(r);
  const key = await scrypt(password, Buffer.from(saltB64 ?? '', 'base64'), expected.length || SCRYPT_KEYLEN, { N, r: R, p: Number(p), maxmem: maxmem(N, R) });
  return stored !== null && expected.length === key.length && timingSafeEqual(expected, key);
}
