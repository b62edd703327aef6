import { randomBytes, randomUUID } from 'node:crypto';
import * as net from 'node:net';
import type { INestApplication } from '@nestjs/common';
import pino from 'pino';
import { CloudCredentialEntity, SecretBox, SessionsRepository, hashToken, recordEvent, systemScope } from '@skyweave/persistence';
import { createGateway } from '@skyweave/api-gateway/src/app';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';
import { freshDatabase } from '../support/db';
import { Browser } from '../support/browser';
import { type RunningOidcProvider, startOidcProvider } from '../support/oidc-provider';

const log = pino({ level: 'silent' });

/** A free TCP port on 127.0.0.1 (the OIDC client's redirect URI names the gateway's port before it listens). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Me { via: string; user?: { id: string; email: string; hasPassword: boolean; hasOidc: boolean }; memberships?: { organisationId: string; role: string }[]; organisationId: string | null; role: string | null }
interface ProblemBody { type: string; status: number; detail: string; requiredRole?: string }

/**
 * Issue 14, the API side of sign-in and roles, against the gateway in-process on a real PostgreSQL database over real
 * HTTP: local accounts, sessions (cookies, CSRF), roles on every route, members, invitations, API keys, OIDC against
 * a real `oidc-provider`, and the events stream.
 */
describe('sign-in, sessions and roles (issue 14)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let app: INestApplication;
  let secureApp: INestApplication;
  let op: RunningOidcProvider;
  let url: string;
  let secureUrl: string;
  const box = new SecretBox(randomBytes(32).toString('base64'));
  const password = 'correct horse battery staple';
  const valid = { name: 'prod', region: 'us-east', clouds: ['aws', 'gcp'], controlPlane: { cloud: 'aws', count: 1 }, workers: [{ cloud: 'gcp', count: 1 }] };
  /** The owner of acme (the first user), the organisation B (bootstrap-org, API key only). */
  const alice = new Browser();
  let acmeId: string;
  let globex: { organisationId: string; apiKey: string };
  let globexCluster: string;
  let acmeCluster: string;

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const redirectUri = `${url}/v1/auth/oidc/callback`;
    [db, op] = await Promise.all([freshDatabase(), startOidcProvider({ clientId: 'skyweave', clientSecret: 'skyweave-test-secret', redirectUri })]);
    const identity = {
      secureCookies: false, localAccounts: true, loginAttempts: 4, loginWindowMs: 60_000, scryptN: 2 ** 12,
      oidc: { issuer: op.issuer, clientId: 'skyweave', clientSecret: 'skyweave-test-secret', redirectUri, afterLogin: '/console/', allowHttp: true },
    };
    app = await createGateway({ ds: db.ds, box, endpoints: {}, log, identity, sseHeartbeatMs: 300, limits: { rateFlushMs: 0 } });
    await app.listen(port, '127.0.0.1');
    secureApp = await createGateway({ ds: db.ds, box, endpoints: {}, log, identity: { ...identity, secureCookies: true, oidc: undefined } });
    await secureApp.listen(0, '127.0.0.1');
    secureUrl = (await secureApp.getUrl()).replace('[::1]', '127.0.0.1');
    globex = await createOrganisation(db.ds, 'globex');
    for (const cloud of ['aws', 'gcp'] as const) {
      await db.ds.getRepository(CloudCredentialEntity).insert({ id: randomUUID(), organisationId: globex.organisationId, cloud, name: cloud, identity: cloud, ciphertext: box.seal('{}') });
    }
    const r = await fetch(`${url}/v1/clusters`, { method: 'POST', headers: { authorization: `Bearer ${globex.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(valid) });
    expect(r.status).toBe(202);
    globexCluster = ((await r.json()) as { id: string }).id;
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await secureApp?.close();
    await op?.close();
    await db?.drop();
  });

  it('the first user of a fresh installation signs up, creating an organisation it owns; its session cookie is HttpOnly and SameSite=Lax', async () => {
    const r = await alice.request<Me>('POST', `${url}/v1/auth/local/signup`, { body: { email: 'Alice@Example.com', password, organisationName: 'acme' } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ via: 'session', user: { email: 'alice@example.com', hasPassword: true, hasOidc: false }, role: 'owner' });
    acmeId = r.body.organisationId as string;
    expect(r.body.memberships).toEqual([{ organisationId: acmeId, organisationName: 'acme', role: 'owner' }]);
    const cookies = r.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith('skyweave_session='))!;
    const csrf = cookies.find((c) => c.startsWith('skyweave_csrf='))!;
    expect(session.split('; ')).toEqual(expect.arrayContaining(['Path=/', 'HttpOnly', 'SameSite=Lax', 'Max-Age=43200']));
    expect(session).not.toMatch(/Secure/);
    expect(csrf).not.toMatch(/HttpOnly/);
    // nothing secret in the body, and only digests in the database
    const text = JSON.stringify(r.body);
    expect(text).not.toMatch(/scrypt|passwordHash|sws_|swc_/);
    const [row] = await db.ds.query(`SELECT "tokenHash", "csrfHash" FROM "sessions"`);
    expect(row.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.tokenHash).not.toBe(alice.cookie(url, 'skyweave_session'));
    const [user] = await db.ds.query(`SELECT "passwordHash" FROM "users"`);
    expect(user.passwordHash).toMatch(/^scrypt\$4096\$8\$1\$/);
    expect((await alice.request<Me>('GET', `${url}/v1/me`)).body).toMatchObject({ via: 'session', organisationId: acmeId, role: 'owner' });
  });

  it('refuses a second sign-up without an invitation (403 signup-closed)', async () => {
    const r = await new Browser().request<ProblemBody>('POST', `${url}/v1/auth/local/signup`, { body: { email: 'mallory@example.com', password, organisationName: 'evil' } });
    expect([r.status, r.body.type]).toEqual([403, 'https://skyweave.dev/problems/signup-closed']);
  });

  it('marks cookies Secure with the __Host- prefix when secure cookies are configured', async () => {
    const b = new Browser('__Host-skyweave_csrf');
    const r = await b.request('POST', `${secureUrl}/v1/auth/local/login`, { body: { email: 'alice@example.com', password } });
    expect(r.status).toBe(200);
    const session = r.headers.getSetCookie().find((c) => c.startsWith('__Host-skyweave_session='))!;
    for (const attr of ['Path=/', 'HttpOnly', 'Secure', 'SameSite=Lax']) expect(session.split('; ')).toContain(attr);
    expect(session).not.toMatch(/Domain=/i);
    const csrf = r.headers.getSetCookie().find((c) => c.startsWith('__Host-skyweave_csrf='))!;
    expect(csrf.split('; ')).toEqual(expect.arrayContaining(['Path=/', 'Secure', 'SameSite=Lax']));
    expect(csrf).not.toMatch(/HttpOnly/);
    // the same session works on the secure gateway with its own cookie names
    expect((await b.request<Me>('GET', `${secureUrl}/v1/me`)).body.role).toBe('owner');
  });

  it('refuses a cookie-authenticated change without the CSRF token, or with a wrong one (403 csrf-refused); an API key needs none', async () => {
    const none = await alice.request<ProblemBody>('POST', `${url}/v1/api-keys`, { body: { name: 'ci' }, csrf: false });
    expect([none.status, none.body.type]).toEqual([403, 'https://skyweave.dev/problems/csrf-refused']);
    const wrong = await alice.request<ProblemBody>('POST', `${url}/v1/api-keys`, { body: { name: 'ci' }, csrf: 'swc_forged' });
    expect(wrong.status).toBe(403);
    // another session's CSRF token (cookie and header both the attacker's own) is refused too: it is bound to the session
    const other = new Browser();
    await other.request('POST', `${url}/v1/auth/local/login`, { body: { email: 'alice@example.com', password } });
    const forged = other.cookie(url, 'skyweave_csrf')!;
    const crossed = new Browser();
    crossed.put(url, 'skyweave_session', alice.cookie(url, 'skyweave_session'));
    crossed.put(url, 'skyweave_csrf', forged);
    expect((await crossed.request('POST', `${url}/v1/api-keys`, { body: { name: 'ci' } })).status).toBe(403);
    expect(await db.ds.query(`SELECT count(*)::int AS n FROM "api_keys" WHERE "organisationId" = $1`, [acmeId])).toEqual([{ n: 0 }]);
    const ok = await fetch(`${url}/v1/api-keys`, { headers: { authorization: `Bearer ${globex.apiKey}` } });
    expect(ok.status).toBe(200);
  });

  const viewer = new Browser();
  const member = new Browser();
  it('invites a viewer and a member (tokens shown once, stored hashed); they sign up with the tokens', async () => {
    const invites: Record<string, string> = {};
    for (const [email, role] of [['vera@example.com', 'viewer'], ['max@example.com', 'member']]) {
      const r = await alice.request<{ token: string; role: string; email: string; expiresAt: string }>('POST', `${url}/v1/invitations`, { body: { email, role } });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ email, role });
      expect(r.body.token).toMatch(/^swi_[A-Za-z0-9_-]{43}$/);
      invites[email] = r.body.token;
    }
    const listed = await alice.request<{ items: object[] }>('GET', `${url}/v1/invitations`);
    expect(JSON.stringify(listed.body)).not.toMatch(/swi_|tokenHash/);
    const stored: { tokenHash: string }[] = await db.ds.query(`SELECT "tokenHash" FROM "invitations"`);
    expect(stored.map((s) => s.tokenHash)).not.toContain(invites['vera@example.com']);
    // the invitation names its email: another address cannot use it
    const stolen = await new Browser().request<ProblemBody>('POST', `${url}/v1/auth/local/signup`, { body: { email: 'eve@example.com', password, invitationToken: invites['vera@example.com'] } });
    expect([stolen.status, stolen.body.type]).toEqual([403, 'https://skyweave.dev/problems/invitation-other-email']);
    const v = await viewer.request<Me>('POST', `${url}/v1/auth/local/signup`, { body: { email: 'vera@example.com', password, invitationToken: invites['vera@example.com'] } });
    expect(v.status).toBe(201);
    expect(v.body).toMatchObject({ organisationId: acmeId, role: 'viewer' });
    const m = await member.request<Me>('POST', `${url}/v1/auth/local/signup`, { body: { email: 'max@example.com', password, invitationToken: invites['max@example.com'] } });
    expect(m.body).toMatchObject({ organisationId: acmeId, role: 'member' });
    // the email has an account now (409 email-taken), and the invitation has been used
    const again = await new Browser().request<ProblemBody>('POST', `${url}/v1/auth/local/signup`, { body: { email: 'max@example.com', password, invitationToken: invites['max@example.com'] } });
    expect([again.status, again.body.type]).toEqual([409, 'https://skyweave.dev/problems/email-taken']);
  });

  it('lets a viewer read but refuses every change with 403 naming the role needed', async () => {
    expect((await viewer.request('GET', `${url}/v1/clusters`)).status).toBe(200);
    expect((await viewer.request('GET', `${url}/v1/members`)).status).toBe(200);
    for (const [method, path, body, role] of [
      ['POST', '/v1/clusters', valid, 'member'], ['POST', '/v1/cloud-credentials', { cloud: 'aws', credentials: {} }, 'member'],
      ['DELETE', `/v1/clusters/${randomUUID()}`, undefined, 'member'], ['POST', '/v1/api-keys', { name: 'x' }, 'owner'],
      ['POST', '/v1/invitations', { email: 'x@example.com', role: 'owner' }, 'owner'],
    ] as const) {
      const r = await viewer.request<ProblemBody>(method, `${url}${path}`, { body });
      expect([method, path, r.status, r.body.type, r.body.requiredRole]).toEqual([method, path, 403, 'https://skyweave.dev/problems/insufficient-role', role]);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
    }
  });

  it('lets a member change clusters but not members, invitations or keys', async () => {
    // past the role check: the body is validated (422), not refused (403)
    expect((await member.request('POST', `${url}/v1/clusters`, { body: { name: 'x' } })).status).toBe(422);
    const add = await member.request<ProblemBody>('POST', `${url}/v1/members`, { body: { email: 'vera@example.com', role: 'owner' } });
    expect([add.status, add.body.requiredRole]).toEqual([403, 'owner']);
    const me = (await member.request<Me>('GET', `${url}/v1/me`)).body;
    expect((await member.request('PATCH', `${url}/v1/members/${me.user!.id}`, { body: { role: 'owner' } })).status).toBe(403);
    expect((await member.request('DELETE', `${url}/v1/members/${me.user!.id}`)).status).toBe(403);
    expect((await member.request('POST', `${url}/v1/api-keys`, { body: { name: 'x' } })).status).toBe(403);
  });

  it('keeps the last owner: demoting or removing them is 409 last-owner; with a second owner it works', async () => {
    const aliceId = (await alice.request<Me>('GET', `${url}/v1/me`)).body.user!.id;
    const maxId = (await member.request<Me>('GET', `${url}/v1/me`)).body.user!.id;
    const demote = await alice.request<ProblemBody>('PATCH', `${url}/v1/members/${aliceId}`, { body: { role: 'member' } });
    expect([demote.status, demote.body.type]).toEqual([409, 'https://skyweave.dev/problems/last-owner']);
    expect((await alice.request('DELETE', `${url}/v1/members/${aliceId}`)).status).toBe(409);
    expect((await alice.request<{ role: string }>('PATCH', `${url}/v1/members/${maxId}`, { body: { role: 'owner' } })).body.role).toBe('owner');
    expect((await alice.request('PATCH', `${url}/v1/members/${aliceId}`, { body: { role: 'member' } })).status).toBe(200);
    // Max, now the only owner, cannot leave; he gives Alice back her role and becomes a member again
    expect((await member.request('DELETE', `${url}/v1/members/${maxId}`)).status).toBe(409);
    expect((await member.request('PATCH', `${url}/v1/members/${aliceId}`, { body: { role: 'owner' } })).status).toBe(200);
    expect((await alice.request('PATCH', `${url}/v1/members/${maxId}`, { body: { role: 'member' } })).status).toBe(200);
    const members = (await alice.request<{ items: { email: string; role: string }[] }>('GET', `${url}/v1/members`)).body.items;
    expect(members.map((m) => `${m.email}:${m.role}`)).toEqual(['alice@example.com:owner', 'max@example.com:member', 'vera@example.com:viewer']);
  });

  it('makes API keys with a role (secret shown once, stored hashed); a revoked key is refused with 401', async () => {
    const made = await alice.request<{ id: string; key: string; role: string }>('POST', `${url}/v1/api-keys`, { body: { name: 'dashboards', role: 'viewer' } });
    expect(made.status).toBe(201);
    expect(made.body.key).toMatch(/^swk_/);
    const listed = await alice.request<{ items: { id: string; role: string }[] }>('GET', `${url}/v1/api-keys`);
    expect(listed.body.items).toEqual([expect.objectContaining({ id: made.body.id, role: 'viewer' })]);
    expect(JSON.stringify(listed.body)).not.toMatch(/swk_|secretHash/);
    const withKey = (method: string, path: string, body?: unknown) =>
      fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${made.body.key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    expect((await withKey('GET', '/v1/clusters')).status).toBe(200);
    expect((await withKey('POST', '/v1/clusters', valid)).status).toBe(403);
    // another organisation's owner key can neither revoke this key nor remove acme's members (404: not theirs)
    const asGlobex = (method: string, path: string) => fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${globex.apiKey}` } });
    expect((await asGlobex('DELETE', `/v1/api-keys/${made.body.id}`)).status).toBe(404);
    const maxId = (await member.request<Me>('GET', `${url}/v1/me`)).body.user!.id;
    expect((await asGlobex('DELETE', `/v1/members/${maxId}`)).status).toBe(404);
    expect(await (await asGlobex('GET', '/v1/members')).json()).toEqual({ items: [] });
    expect((await withKey('GET', '/v1/clusters')).status).toBe(200);
    expect((await alice.request('DELETE', `${url}/v1/api-keys/${made.body.id}`)).status).toBe(204);
    const deadline = Date.now() + 5_000;
    let status = 0;
    while (Date.now() < deadline && (status = (await withKey('GET', '/v1/clusters')).status) !== 401) await new Promise((r) => setTimeout(r, 20));
    expect(status).toBe(401);
    // another organisation's key id is not found
    expect((await alice.request('DELETE', `${url}/v1/api-keys/${randomUUID()}`)).status).toBe(404);
  });

  it('accepts an invitation into a second organisation; a session of one organisation gets 404 for the other\'s cluster', async () => {
    const inv = await fetch(`${url}/v1/invitations`, { method: 'POST', headers: { authorization: `Bearer ${globex.apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ email: 'alice@example.com', role: 'viewer' }) });
    const { token } = (await inv.json()) as { token: string };
    // acting for acme: globex's cluster does not exist for this session
    expect((await alice.request('GET', `${url}/v1/clusters/${globexCluster}`)).status).toBe(404);
    expect((await alice.request<ProblemBody>('GET', `${url}/v1/clusters`, { headers: { 'x-skyweave-organisation': globex.organisationId } })).body.type).toBe('https://skyweave.dev/problems/not-a-member');
    const accepted = await alice.request<Me>('POST', `${url}/v1/invitations/${token}/accept`);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ organisationId: globex.organisationId, role: 'viewer' });
    expect(accepted.body.memberships!.map((m) => m.role).sort()).toEqual(['owner', 'viewer']);
    expect((await alice.request('POST', `${url}/v1/invitations/${token}/accept`)).status).toBe(409);
    // now acting for globex (as a viewer): its cluster reads, changes are refused
    expect((await alice.request('GET', `${url}/v1/clusters/${globexCluster}`)).status).toBe(200);
    expect((await alice.request('DELETE', `${url}/v1/clusters/${globexCluster}`)).status).toBe(403);
    // per request, by header, or back for good with PATCH /v1/me
    expect((await alice.request('GET', `${url}/v1/clusters/${globexCluster}`, { headers: { 'x-skyweave-organisation': acmeId } })).status).toBe(404);
    expect((await alice.request<Me>('PATCH', `${url}/v1/me`, { body: { organisationId: acmeId } })).body).toMatchObject({ organisationId: acmeId, role: 'owner' });
    expect((await alice.request('GET', `${url}/v1/clusters/${globexCluster}`)).status).toBe(404);
  });

  it('rate-limits sign-in per email and address (429 with Retry-After), even with the right password; another email is unaffected', async () => {
    const b = new Browser();
    for (let i = 0; i < 4; i++) {
      const r = await b.request<ProblemBody>('POST', `${url}/v1/auth/local/login`, { body: { email: 'vera@example.com', password: 'wrong password!!' } });
      expect([r.status, r.body.type]).toEqual([401, 'https://skyweave.dev/problems/invalid-credentials']);
    }
    const limited = await b.request<ProblemBody>('POST', `${url}/v1/auth/local/login`, { body: { email: 'vera@example.com', password } });
    expect([limited.status, limited.body.type]).toEqual([429, 'https://skyweave.dev/problems/rate-limited']);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await b.request('POST', `${url}/v1/auth/local/login`, { body: { email: 'max@example.com', password } })).status).toBe(200);
    // unknown email: the same 401 as a wrong password
    const unknown = await b.request<ProblemBody>('POST', `${url}/v1/auth/local/login`, { body: { email: 'nobody@example.com', password } });
    expect([unknown.status, unknown.body.detail]).toEqual([401, 'the email or the password is wrong']);
  });

  it('signs out: the session row is gone, cookies are cleared, the old cookie is refused', async () => {
    const b = new Browser();
    await b.request('POST', `${url}/v1/auth/local/login`, { body: { email: 'max@example.com', password } });
    const cookie = b.cookie(url, 'skyweave_session')!;
    expect((await b.request('POST', `${url}/v1/auth/logout`, { csrf: false })).status).toBe(403);
    const out = await b.request('POST', `${url}/v1/auth/logout`);
    expect(out.status).toBe(204);
    expect(await db.ds.query(`SELECT count(*)::int AS n FROM "sessions" WHERE "tokenHash" = $1`, [hashToken(cookie)])).toEqual([{ n: 0 }]);
    expect(out.headers.getSetCookie().join('\n')).toMatch(/skyweave_session=; .*Expires=Thu, 01 Jan 1970/);
    expect(b.cookie(url, 'skyweave_session')).toBeUndefined();
    const replay = new Browser();
    replay.put(url, 'skyweave_session', cookie);
    expect((await replay.request('GET', `${url}/v1/me`)).status).toBe(401);
  });

  it('refuses an expired session (401), and the sweep deletes it', async () => {
    const s = new Browser();
    s.put(url, 'skyweave_session', 'sws_expired-session-of-this-test-0000000000000');
    const hash = hashToken('sws_expired-session-of-this-test-0000000000000');
    const [{ userId }] = await db.ds.query(`SELECT "userId" FROM "memberships" WHERE "organisationId" = $1 LIMIT 1`, [acmeId]);
    await new SessionsRepository(db.ds).create(systemScope('test'), { tokenHash: hash, csrfHash: hashToken('x'), userId, organisationId: acmeId, expiresAt: new Date(Date.now() - 1000) });
    const r = await s.request<ProblemBody>('GET', `${url}/v1/me`);
    expect([r.status, r.body.detail]).toEqual([401, 'the session has ended or expired; sign in again']);
    expect(r.headers.get('www-authenticate')).toBeTruthy();
    expect(await new SessionsRepository(db.ds).sweep(systemScope('test'))).toBeGreaterThanOrEqual(1);
    expect(await db.ds.query(`SELECT count(*)::int AS n FROM "sessions" WHERE "expiresAt" <= now()`)).toEqual([{ n: 0 }]);
  });

  it('signs in with OpenID Connect (authorization code + PKCE against oidc-provider), creating the user, then linking by verified email', async () => {
    op.signInAs({ sub: 'op-olivia', email: 'olivia@example.com' });
    const b = new Browser();
    const start = await b.request('GET', `${url}/v1/auth/oidc/login`);
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get('location')!);
    expect(authorize.origin).toBe(op.issuer);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('state')).toBeTruthy();
    expect(authorize.searchParams.get('nonce')).toBeTruthy();
    const back = await b.follow(authorize.href, `${url}/v1/auth/oidc/callback`);
    expect(back.url).toContain('code=');
    const done = await b.request('GET', back.url);
    expect([done.status, done.headers.get('location')]).toEqual([302, '/console/']);
    const me = await b.request<Me>('GET', `${url}/v1/me`);
    expect(me.body).toMatchObject({ via: 'session', user: { email: 'olivia@example.com', hasOidc: true, hasPassword: false }, organisationId: null, memberships: [] });
    // no organisation yet: organisation routes say so
    expect((await b.request<ProblemBody>('GET', `${url}/v1/clusters`)).body.type).toBe('https://skyweave.dev/problems/no-organisation');
    // a replayed callback (its one-time login cookie is gone) is refused
    expect((await b.request<ProblemBody>('GET', back.url)).status).toBe(400);

    // Alice (local account) signs in with the provider: linked by her verified email, her organisations kept
    op.signInAs({ sub: 'op-alice', email: 'alice@example.com' });
    const a = new Browser();
    const s2 = await a.request('GET', `${url}/v1/auth/oidc/login`);
    const back2 = await a.follow(s2.headers.get('location')!, `${url}/v1/auth/oidc/callback`);
    expect((await a.request('GET', back2.url)).status).toBe(302);
    expect((await a.request<Me>('GET', `${url}/v1/me`)).body).toMatchObject({ user: { email: 'alice@example.com', hasOidc: true, hasPassword: true }, organisationId: acmeId, role: 'owner' });
  });

  /** Reads server-sent events from a stream until `until` says enough (or `ms` pass). */
  async function readEvents(res: Response, until: (raw: string) => boolean, ms = 10_000): Promise<string> {
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let raw = '';
    const deadline = Date.now() + ms;
    while (!until(raw) && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const chunk = await Promise.race([reader.read(), new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), Math.max(1, deadline - Date.now())); })]);
      clearTimeout(timer);
      if (!chunk || chunk.done) break;
      raw += dec.decode(chunk.value, { stream: true });
    }
    await reader.cancel();
    return raw;
  }
  const ids = (raw: string) => [...raw.matchAll(/^id: (\d+)$/gm)].map((m) => m[1]);

  it('streams a cluster\'s events as server-sent events: one recorded after connecting arrives; Last-Event-ID resumes after it', async () => {
    for (const cloud of ['aws', 'gcp'] as const) {
      await db.ds.getRepository(CloudCredentialEntity).insert({ id: randomUUID(), organisationId: acmeId, cloud, name: cloud, identity: cloud, ciphertext: box.seal('{}') });
    }
    const made = await alice.request<{ id: string }>('POST', `${url}/v1/clusters`, { body: valid });
    expect(made.status).toBe(202);
    acmeCluster = made.body.id;
    const cookie = `skyweave_session=${alice.cookie(url, 'skyweave_session')}`;
    const open = (headers: Record<string, string>) => fetch(`${url}/v1/clusters/${acmeCluster}/events/stream`, { headers });
    const first = await open({ cookie });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const record = (message: string) => db.ds.transaction((em) => recordEvent(em, { organisationId: acmeId, clusterId: acmeCluster, reason: 'Created', message }));
    const reading = readEvents(first, (raw) => raw.includes('recorded after connecting'));
    await new Promise((r) => setTimeout(r, 200));
    await record('recorded after connecting');
    const raw = await reading;
    expect(raw).toContain('event: cluster-event');
    const seen = ids(raw);
    const last = seen[seen.length - 1];
    const data = raw.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)) as { id: string; message: string });
    expect(data[data.length - 1]).toMatchObject({ id: last, message: 'recorded after connecting', reason: 'Created', type: 'Normal' });

    // resume with an API key: only what came after Last-Event-ID, then the next one, with heartbeats while idle
    await record('while disconnected');
    const key = await alice.request<{ key: string }>('POST', `${url}/v1/api-keys`, { body: { name: 'stream', role: 'viewer' } });
    const again = await open({ authorization: `Bearer ${key.body.key}`, 'last-event-id': last });
    const reading2 = readEvents(again, (raw2) => raw2.includes('after resuming') && raw2.includes(': heartbeat'));
    await new Promise((r) => setTimeout(r, 400));
    await record('after resuming');
    const raw2 = await reading2;
    expect(raw2).not.toContain('recorded after connecting');
    expect(raw2).toContain('while disconnected');
    expect(raw2).toContain('after resuming');
    expect(raw2).toContain(': heartbeat');
    expect(ids(raw2).every((id) => BigInt(id) > BigInt(last))).toBe(true);
    // organisation-scoped: globex's key does not see acme's cluster
    const foreign = await open({ authorization: `Bearer ${globex.apiKey}` });
    expect([foreign.status, ((await foreign.json()) as ProblemBody).type]).toEqual([404, 'https://skyweave.dev/problems/not-found']);
  });
});
