import { Body, Controller, Delete, Get, HttpCode, Inject, Injectable, OnModuleDestroy, OnModuleInit, Param, ParseUUIDPipe, Patch, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiConflictResponse, ApiCookieAuth, ApiCreatedResponse, ApiForbiddenResponse, ApiFoundResponse, ApiNoContentResponse, ApiOkResponse, ApiTags, ApiTooManyRequestsResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { InjectThrottlerStorage, type ThrottlerStorage } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { createHash } from 'node:crypto';
import { QueryFailedError, type DataSource } from 'typeorm';
import {
  ApiKeysRepository, InvitationsRepository, LastOwnerError, MembershipsRepository, type Role, SecretBox, SessionsRepository, UsersRepository,
  hashToken, newToken, orgScope, systemScope, toUserView,
} from '@skyweave/persistence';
import { type AccessRequest, MinRole, type Principal, Public, SignedIn } from './access';
import { CallerOrg } from './auth';
import {
  AddMemberDto, ApiKeyCreatedDto, ApiKeyDto, CreateApiKeyDto, CreateInvitationDto, InvitationCreatedDto, InvitationDto, LoginDto, MeDto, MemberDto, SignupDto,
  SwitchOrganisationDto, UpdateMemberDto,
} from './identity.dtos';
import { type CookieNames, type IdentityOptions, hashPassword, requestCookies, setCookie, verifyPassword } from './identity';
import { OidcError, OidcLogin, type PendingOidcLogin } from './oidc';
import { SecretAnswer } from './idempotency';
import { Problem } from './problem';
import { COOKIE_NAMES, DATA_SOURCE, IDENTITY, SECRET_BOX } from './tokens';

/** Users are found by email or OIDC identity before any organisation is known. */
const SIGN_IN = systemScope('sign-in: users are found by email or OIDC identity, sessions by cookie');
/** How often expired sessions are deleted, ms (they are refused anyway; this keeps the table small). */
const SESSION_SWEEP_MS = 3600_000;
/** How long an OIDC sign-in may take between the redirect and the callback, ms. */
const OIDC_PENDING_MS = 10 * 60_000;

const isUniqueViolation = (e: unknown) => e instanceof QueryFailedError && (e as QueryFailedError & { code?: string }).code === '23505';

/**
 * Sessions and what a caller sees of itself: shared by the sign-in routes (local and OIDC), `/v1/me` and invitations.
 * Never returns a secret: session ids and CSRF tokens travel only in cookies, and are stored as SHA-256.
 */
@Injectable()
export class IdentityService implements OnModuleInit, OnModuleDestroy {
  readonly users: UsersRepository;
  readonly sessions: SessionsRepository;
  private sweepTimer?: NodeJS.Timeout;

  constructor(
    @Inject(DATA_SOURCE) readonly ds: DataSource,
    @Inject(IDENTITY) readonly options: IdentityOptions,
    @Inject(COOKIE_NAMES) readonly cookies: CookieNames,
  ) {
    this.users = new UsersRepository(ds);
    this.sessions = new SessionsRepository(ds);
  }

  /** Deletes expired sessions every SESSION_SWEEP_MS (any replica may; harmless twice; a failure waits for the next). */
  onModuleInit(): void {
    this.sweepTimer = setInterval(() => void this.sessions.sweep(SIGN_IN).catch(() => undefined), SESSION_SWEEP_MS);
    this.sweepTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweepTimer);
  }

  /**
   * Starts a session for `userId` acting for `organisationId` (null: none yet): a random id in the HttpOnly session
   * cookie and a random CSRF token in a cookie the console reads (both SameSite=Lax, Secure and `__Host-` when
   * configured), valid `sessionTtlMs`; only their SHA-256 are stored.
   */
  async startSession(res: Response, userId: string, organisationId: string | null): Promise<void> {
    const token = newToken('sws');
    const csrf = newToken('swc');
    await this.sessions.create(SIGN_IN, { tokenHash: hashToken(token), csrfHash: hashToken(csrf), userId, organisationId, expiresAt: new Date(Date.now() + this.options.sessionTtlMs) });
    const o = { secure: this.options.secureCookies, maxAgeMs: this.options.sessionTtlMs };
    setCookie(res, this.cookies.session, token, o);
    setCookie(res, this.cookies.csrf, csrf, { ...o, readable: true });
  }

  /** Deletes both session cookies in the browser. */
  clearSession(res: Response): void {
    for (const name of [this.cookies.session, this.cookies.csrf]) setCookie(res, name, '', { secure: this.options.secureCookies, maxAgeMs: 0, readable: name === this.cookies.csrf });
  }

  /** What `GET /v1/me` answers for a user (sessions), acting for `organisationId`. */
  async meOfUser(userId: string, organisationId: string | null): Promise<MeDto> {
    const user = await this.users.findById(SIGN_IN, userId);
    if (!user) throw Problem.unauthorized('the session\'s user no longer exists; sign in again');
    const memberships = await this.users.memberships(SIGN_IN, userId);
    const current = memberships.find((m) => m.organisationId === organisationId);
    return { via: 'session', user: toUserView(user), memberships, organisationId: current ? organisationId : null, role: current?.role ?? null };
  }

  /** What `GET /v1/me` answers for any principal. */
  async me(p: Principal): Promise<MeDto> {
    if (p.kind === 'api-key') return { via: 'api-key', apiKeyId: p.apiKeyId, organisationId: p.organisationId, role: p.role };
    return this.meOfUser(p.userId, p.organisationId);
  }
}

/** The principal AccessGuard found (routes marked SignedIn or MinRole always have one). */
function principalOf(req: Request): Principal {
  const p = (req as unknown as AccessRequest).principal;
  if (!p) throw Problem.unauthorized('no caller');
  return p;
}

/**
 * Sign-in (issue 14): local accounts (when the installation allows them), OpenID Connect, sign-out. Answers set the
 * session cookies; bodies never carry a secret.
 */
@ApiTags('auth')
@Controller('v1/auth')
export class AuthController {
  private readonly oidc?: OidcLogin;

  constructor(
    private readonly identity: IdentityService,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    @InjectThrottlerStorage() private readonly counters: ThrottlerStorage,
  ) {
    if (identity.options.oidc) this.oidc = new OidcLogin(identity.options.oidc);
  }

  private requireLocal(): void {
    if (!this.identity.options.localAccounts) throw new Problem(403, 'local-accounts-disabled', 'Local accounts disabled', 'this installation signs in with OpenID Connect only (SKYWEAVE_LOCAL_ACCOUNTS)');
  }

  /**
   * How this installation signs users in, for the console's sign-in page: local accounts, OpenID Connect, and whether
   * the first user of a fresh installation may still sign up without an invitation. Names no secret.
   */
  @Get('methods')
  @Public()
  @ApiOkResponse({ description: '`{ localAccounts, oidc, firstUserSignup }`' })
  async methods(): Promise<{ localAccounts: boolean; oidc: boolean; firstUserSignup: boolean }> {
    const localAccounts = this.identity.options.localAccounts;
    const firstUserSignup = localAccounts && (await this.identity.ds.transaction((em) => this.identity.users.none(SIGN_IN, em)));
    return { localAccounts, oidc: this.oidc !== undefined, firstUserSignup };
  }

  /**
   * Creates a local account and signs it in (201, session cookies, body as `GET /v1/me`). Either with an invitation
   * token for this email (the account joins that organisation with the invited role), or, as the first user of a
   * fresh installation (no user exists), with `organisationName`: a new organisation it owns.
   * @throws Problem 403 `local-accounts-disabled`; 403 `signup-closed` (users exist and no invitation); 409
   *   `email-taken`; 404/409/410/403 for an unknown, used, expired or other-email invitation; 422 validation.
   */
  @Post('local/signup')
  @Public()
  @HttpCode(201)
  @ApiCreatedResponse({ type: MeDto, description: 'Signed in: `Set-Cookie` carries the session and CSRF cookies' })
  @ApiForbiddenResponse({ description: '`local-accounts-disabled`, `signup-closed`, `invitation-other-email`' })
  @ApiConflictResponse({ description: '`email-taken`, `invitation-used`' })
  async signup(@Body() dto: SignupDto, @Res({ passthrough: true }) res: Response): Promise<MeDto> {
    this.requireLocal();
    const passwordHash = await hashPassword(dto.password, this.identity.options.scryptN);
    const invitations = new InvitationsRepository(this.identity.ds);
    let created: { userId: string; organisationId: string };
    try {
      created = await this.identity.ds.transaction(async (em) => {
        await this.identity.users.lockSignups(SIGN_IN, em);
        if (dto.invitationToken) {
          const user = await this.identity.users.insert(SIGN_IN, { email: dto.email, passwordHash }, em);
          const r = await invitations.accept(SIGN_IN, hashToken(dto.invitationToken), user, new Date(), em);
          if (!r.ok) throw invitationRefused(r.reason);
          return { userId: user.id, organisationId: r.organisationId };
        }
        if (!(await this.identity.users.none(SIGN_IN, em))) {
          throw new Problem(403, 'signup-closed', 'Sign-up closed', 'this installation has users: ask an owner of your organisation for an invitation');
        }
        if (!dto.organisationName) throw Problem.validation([{ field: 'organisationName', rule: 'first-user', message: 'the first user names the organisation to create' }]);
        const user = await this.identity.users.insert(SIGN_IN, { email: dto.email, passwordHash }, em);
        return { userId: user.id, organisationId: await this.identity.users.createOrganisation(SIGN_IN, dto.organisationName, user.id, em) };
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw new Problem(409, 'email-taken', 'Email taken', 'an account with this email exists: sign in instead');
      throw e;
    }
    await this.identity.startSession(res, created.userId, created.organisationId);
    return this.identity.meOfUser(created.userId, created.organisationId);
  }

  /**
   * Signs a local account in: 200 with the session cookies and the body of `GET /v1/me`; the session acts for the
   * user's first organisation (by name). The password is checked with scrypt in constant time, and as long for an
   * unknown email. At most `loginAttempts` attempts per email and client address per `loginWindowMs`, counted on
   * the gateway's shared rate-limit counters (PgRateLimitStore), successful or not.
   * @throws Problem 401 `invalid-credentials` (email or password wrong, one answer for both); 429 `rate-limited` with
   *   Retry-After; 403 `local-accounts-disabled`.
   */
  @Post('local/login')
  @Public()
  @HttpCode(200)
  @ApiOkResponse({ type: MeDto, description: 'Signed in: `Set-Cookie` carries the session and CSRF cookies' })
  @ApiUnauthorizedResponse({ description: '`invalid-credentials`' })
  @ApiTooManyRequestsResponse({ description: '`rate-limited`: too many attempts for this email from this address' })
  async login(@Body() dto: LoginDto, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<MeDto> {
    this.requireLocal();
    const o = this.identity.options;
    const email = dto.email.toLowerCase();
    const subject = createHash('sha256').update(`${email}\n${req.ip ?? req.socket.remoteAddress ?? ''}`).digest('base64url');
    const hit = await this.counters.increment(`login:${subject}`, o.loginWindowMs, o.loginAttempts, o.loginWindowMs, 'login');
    if (hit.isBlocked) {
      const retry = Math.max(1, hit.timeToExpire);
      throw new Problem(429, 'rate-limited', 'Too many requests', `more than ${o.loginAttempts} sign-in attempts in ${Math.round(o.loginWindowMs / 1000)} s for this email from this address; retry in ${retry} s`,
        undefined, { 'retry-after': String(retry) });
    }
    const user = await this.identity.users.findByEmail(SIGN_IN, email);
    const ok = await verifyPassword(dto.password, user?.passwordHash ?? null, o.scryptN);
    if (!user || !ok) throw new Problem(401, 'invalid-credentials', 'Unauthorized', 'the email or the password is wrong', undefined, { 'www-authenticate': 'Bearer' });
    const [first] = await this.identity.users.memberships(SIGN_IN, user.id);
    await this.identity.startSession(res, user.id, first?.organisationId ?? null);
    return this.identity.meOfUser(user.id, first?.organisationId ?? null);
  }

  /** Ends the session (its row is deleted, both cookies cleared): 204. With an API key nothing changes. */
  @Post('logout')
  @SignedIn()
  @HttpCode(204)
  @ApiCookieAuth()
  @ApiNoContentResponse({ description: 'Signed out' })
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<void> {
    const p = principalOf(req);
    if (p.kind === 'session') await this.identity.sessions.delete(SIGN_IN, p.sessionId);
    this.identity.clearSession(res);
  }

  private requireOidc(): OidcLogin {
    if (!this.oidc) throw new Problem(404, 'oidc-not-configured', 'Not found', 'this installation has no OpenID Connect provider (SKYWEAVE_OIDC_ISSUER)');
    return this.oidc;
  }

  /**
   * Starts an OpenID Connect sign-in: 302 to the provider's authorization endpoint (code flow, PKCE S256, state,
   * nonce). What the callback checks is kept sealed (AES-256-GCM, SecretBox) in a 10-minute HttpOnly cookie.
   * @throws Problem 404 `oidc-not-configured`; 502 `oidc-unavailable` when the provider's metadata cannot be read.
   */
  @Get('oidc/login')
  @Public()
  @ApiFoundResponse({ description: 'Redirect to the provider' })
  async oidcLogin(@Res() res: Response): Promise<void> {
    const oidc = this.requireOidc();
    let started: Awaited<ReturnType<OidcLogin['start']>>;
    try {
      started = await oidc.start(OIDC_PENDING_MS);
    } catch {
      throw new Problem(502, 'oidc-unavailable', 'Provider unavailable', 'the OpenID Connect provider\'s metadata could not be read');
    }
    setCookie(res, this.identity.cookies.oidc, this.box.seal(JSON.stringify(started.pending)), { secure: this.identity.options.secureCookies, maxAgeMs: OIDC_PENDING_MS });
    res.redirect(302, started.url);
  }

  /**
   * The provider's redirect back: checks the answer (state, nonce, PKCE, ID token), then finds the user by
   * (issuer, subject), else by a verified email (and links it), else creates one; starts a session (acting for the
   * user's first organisation, or none) and redirects (302) to `afterLogin`.
   * @throws Problem 400 `oidc-failed` naming the reason (`no-pending-login`, `expired`, `rejected`, `no-email`,
   *   `provider-error:<code>`); 409 `email-taken` when the email belongs to another, unverified identity.
   */
  @Get('oidc/callback')
  @Public()
  @ApiFoundResponse({ description: 'Signed in: redirect to the console, with the session cookies' })
  async oidcCallback(@Req() req: Request, @Res() res: Response): Promise<void> {
    const oidc = this.requireOidc();
    const sealed = requestCookies(req.headers.cookie)[this.identity.cookies.oidc];
    setCookie(res, this.identity.cookies.oidc, '', { secure: this.identity.options.secureCookies, maxAgeMs: 0 });
    let pending: PendingOidcLogin;
    try {
      pending = JSON.parse(this.box.open(sealed ?? '')) as PendingOidcLogin;
    } catch {
      throw new Problem(400, 'oidc-failed', 'Sign-in failed', 'OpenID Connect sign-in failed: no-pending-login (start at /v1/auth/oidc/login)');
    }
    const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
    let who: Awaited<ReturnType<OidcLogin['finish']>>;
    try {
      who = await oidc.finish(query, pending);
    } catch (e) {
      if (e instanceof OidcError) throw new Problem(400, 'oidc-failed', 'Sign-in failed', e.message);
      throw e;
    }
    const users = this.identity.users;
    let user = await users.findByOidc(SIGN_IN, who.issuer, who.subject);
    if (!user && who.email) {
      const byEmail = await users.findByEmail(SIGN_IN, who.email);
      if (byEmail && (!who.emailVerified || byEmail.oidcIssuer !== null)) {
        throw new Problem(409, 'email-taken', 'Email taken', 'an account with this email exists; the provider did not verify the email, or it is linked to another identity');
      }
      if (byEmail) {
        await users.linkOidc(SIGN_IN, byEmail.id, who.issuer, who.subject);
        user = byEmail;
      } else {
        user = await users.insert(SIGN_IN, { email: who.email, oidcIssuer: who.issuer, oidcSubject: who.subject });
      }
    }
    if (!user) throw new Problem(400, 'oidc-failed', 'Sign-in failed', 'OpenID Connect sign-in failed: no-email');
    const [first] = await users.memberships(SIGN_IN, user.id);
    await this.identity.startSession(res, user.id, first?.organisationId ?? null);
    res.redirect(302, this.identity.options.oidc?.afterLogin ?? '/');
  }
}

/** The caller itself: a user's profile and organisations, or an API key's organisation and role. */
@ApiTags('auth')
@ApiBearerAuth()
@ApiCookieAuth()
@Controller('v1/me')
export class MeController {
  constructor(private readonly identity: IdentityService) {}

  /** Who is calling: `via` session (user, memberships, the organisation acted for and the role there) or api-key. */
  @Get()
  @SignedIn()
  @ApiOkResponse({ type: MeDto })
  me(@Req() req: Request): Promise<MeDto> {
    return this.identity.me(principalOf(req));
  }

  /**
   * Makes the session act for another of the user's organisations (it stays so until changed; a request may also
   * name one with `X-Skyweave-Organisation`). @throws Problem 403 `not-a-member`; 400 `not-a-session` with an API key.
   */
  @Patch()
  @SignedIn()
  @ApiOkResponse({ type: MeDto })
  async switchOrganisation(@Req() req: Request, @Body() dto: SwitchOrganisationDto): Promise<MeDto> {
    const p = principalOf(req);
    if (p.kind !== 'session') throw new Problem(400, 'not-a-session', 'Not a session', 'an API key belongs to one organisation; sign in to switch');
    const role = await new MembershipsRepository(this.identity.ds).roleOf(orgScope(dto.organisationId), p.userId);
    if (!role) throw new Problem(403, 'not-a-member', 'Forbidden', `you are not a member of organisation ${dto.organisationId}`);
    await this.identity.sessions.setOrganisation(SIGN_IN, p.sessionId, dto.organisationId);
    return this.identity.meOfUser(p.userId, dto.organisationId);
  }
}

/** The organisation's members and their roles. Reading: any member; changes: owners. */
@ApiTags('members')
@ApiBearerAuth()
@ApiCookieAuth()
@Controller('v1/members')
export class MembersController {
  private readonly members: MembershipsRepository;
  private readonly users: UsersRepository;

  constructor(@Inject(DATA_SOURCE) ds: DataSource) {
    this.members = new MembershipsRepository(ds);
    this.users = new UsersRepository(ds);
  }

  /** Every member (email, role, since), by email. */
  @Get()
  @ApiOkResponse({ type: [MemberDto] })
  async list(@CallerOrg() org: string): Promise<{ items: MemberDto[] }> {
    return { items: await this.members.list(orgScope(org)) };
  }

  /** Adds an existing user (by email) with a role: 201. @throws Problem 404 `user-not-found` (invite them instead), 409 `already-a-member`. */
  @Post()
  @MinRole('owner')
  @HttpCode(201)
  @ApiCreatedResponse({ type: MemberDto })
  async add(@CallerOrg() org: string, @Body() dto: AddMemberDto): Promise<MemberDto> {
    const scope = orgScope(org);
    const user = await this.users.findByEmail(SIGN_IN, dto.email);
    if (!user) throw new Problem(404, 'user-not-found', 'Not found', 'no user has this email: send an invitation (POST /v1/invitations)');
    if (!(await this.members.add(scope, user.id, dto.role))) throw new Problem(409, 'already-a-member', 'Conflict', `${user.email} is a member already; change the role with PATCH /v1/members/${user.id}`);
    const row = (await this.members.list(scope)).find((m) => m.userId === user.id);
    return row as MemberDto;
  }

  /** Changes a member's role. @throws Problem 404 not a member; 409 `last-owner` when it would leave no owner. */
  @Patch(':userId')
  @MinRole('owner')
  @ApiOkResponse({ type: MemberDto })
  async update(@CallerOrg() org: string, @Param('userId', new ParseUUIDPipe()) userId: string, @Body() dto: UpdateMemberDto): Promise<MemberDto> {
    const scope = orgScope(org);
    try {
      if (!(await this.members.setRole(scope, userId, dto.role))) throw Problem.notFound(`member ${userId}`);
    } catch (e) {
      throw e instanceof LastOwnerError ? lastOwner() : e;
    }
    return (await this.members.list(scope)).find((m) => m.userId === userId) as MemberDto;
  }

  /** Removes a member (their sessions stop acting for this organisation): 204. @throws Problem 404; 409 `last-owner`. */
  @Delete(':userId')
  @MinRole('owner')
  @HttpCode(204)
  async remove(@CallerOrg() org: string, @Param('userId', new ParseUUIDPipe()) userId: string): Promise<void> {
    try {
      if (!(await this.members.remove(orgScope(org), userId))) throw Problem.notFound(`member ${userId}`);
    } catch (e) {
      throw e instanceof LastOwnerError ? lastOwner() : e;
    }
  }
}

const lastOwner = () => new Problem(409, 'last-owner', 'Conflict', 'an organisation keeps at least one owner: make someone else owner first');

/** An invitation that cannot be used, as a problem. */
function invitationRefused(reason: 'unknown' | 'expired' | 'accepted' | 'other-email'): Problem {
  switch (reason) {
    case 'unknown': return Problem.notFound('this invitation');
    case 'accepted': return new Problem(409, 'invitation-used', 'Conflict', 'this invitation has been accepted already');
    case 'expired': return new Problem(410, 'invitation-expired', 'Gone', 'this invitation has expired: ask for a new one');
    case 'other-email': return new Problem(403, 'invitation-other-email', 'Forbidden', 'this invitation is for another email address');
  }
}

/** Invitations into the organisation (owners), and accepting one (any signed-in user whose email it names). */
@ApiTags('members')
@ApiBearerAuth()
@ApiCookieAuth()
@Controller('v1/invitations')
export class InvitationsController {
  private readonly invitations: InvitationsRepository;

  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource, @Inject(IDENTITY) private readonly options: IdentityOptions, private readonly identity: IdentityService) {
    this.invitations = new InvitationsRepository(ds);
  }

  /** The organisation's invitations, newest first (never their tokens). */
  @Get()
  @ApiOkResponse({ type: [InvitationDto] })
  async list(@CallerOrg() org: string): Promise<{ items: InvitationDto[] }> {
    return { items: await this.invitations.list(orgScope(org)) };
  }

  /**
   * Invites an email address with a role: 201 with the accept token (`swi_…`), shown once (only its SHA-256 is
   * stored). The invited person signs up with it (`POST /v1/auth/local/signup`) or, signed in, accepts it.
   */
  @Post()
  @MinRole('owner')
  @SecretAnswer()
  @HttpCode(201)
  @ApiCreatedResponse({ type: InvitationCreatedDto })
  async create(@CallerOrg() org: string, @Req() req: Request, @Body() dto: CreateInvitationDto): Promise<InvitationCreatedDto> {
    const token = newToken('swi');
    const ttl = dto.expiresInHours !== undefined ? dto.expiresInHours * 3600_000 : this.options.invitationTtlMs;
    const p = principalOf(req);
    const view = await this.invitations.create(orgScope(org), { email: dto.email, role: dto.role, tokenHash: hashToken(token), expiresAt: new Date(Date.now() + ttl), createdBy: p.kind === 'session' ? p.userId : null });
    return { ...view, token };
  }

  /**
   * Accepts an invitation as the signed-in user (a session; its email must be the invited one): the user joins with
   * the invited role and the session acts for that organisation. Body as `GET /v1/me`.
   * @throws Problem 404 unknown token; 409 `invitation-used`; 410 `invitation-expired`; 403 `invitation-other-email`,
   *   or `not-a-session` with an API key.
   */
  @Post(':token/accept')
  @SignedIn()
  @HttpCode(200)
  @ApiOkResponse({ type: MeDto })
  async accept(@Req() req: Request, @Param('token') token: string): Promise<MeDto> {
    const p = principalOf(req);
    if (p.kind !== 'session') throw new Problem(403, 'not-a-session', 'Forbidden', 'an invitation is accepted by a signed-in user, not an API key');
    if (!/^swi_[A-Za-z0-9_-]{43}$/.test(token)) throw Problem.notFound('this invitation');
    const user = await this.identity.users.findById(SIGN_IN, p.userId);
    if (!user) throw Problem.unauthorized('the session\'s user no longer exists; sign in again');
    const r = await this.ds.transaction((em) => this.invitations.accept(SIGN_IN, hashToken(token), user, new Date(), em));
    if (!r.ok) throw invitationRefused(r.reason);
    await this.identity.sessions.setOrganisation(SIGN_IN, p.sessionId, r.organisationId);
    return this.identity.meOfUser(user.id, r.organisationId);
  }
}

/** The organisation's API keys: listed by members, made and revoked by owners; a key's secret is shown once. */
@ApiTags('api-keys')
@ApiBearerAuth()
@ApiCookieAuth()
@Controller('v1/api-keys')
export class ApiKeysController {
  private readonly keys: ApiKeysRepository;

  constructor(@Inject(DATA_SOURCE) ds: DataSource) {
    this.keys = new ApiKeysRepository(ds);
  }

  /** Every key of the organisation (id, name, role, created), never a secret. */
  @Get()
  @ApiOkResponse({ type: [ApiKeyDto] })
  async list(@CallerOrg() org: string): Promise<{ items: ApiKeyDto[] }> {
    return { items: await this.keys.list(orgScope(org)) };
  }

  /** Makes a key (`role` default member): 201 with the key (`swk_…`), shown once; only its SHA-256 is stored. */
  @Post()
  @MinRole('owner')
  @SecretAnswer()
  @HttpCode(201)
  @ApiCreatedResponse({ type: ApiKeyCreatedDto })
  async create(@CallerOrg() org: string, @Body() dto: CreateApiKeyDto): Promise<ApiKeyCreatedDto> {
    const key = newToken('swk');
    const role: Role = dto.role ?? 'member';
    const view = await this.keys.create(orgScope(org), { name: dto.name, role, secretHash: hashToken(key) });
    return { ...view, key };
  }

  /** Revokes a key: 204; it is refused (401) from the next request on, on every gateway replica. @throws Problem 404. */
  @Delete(':id')
  @MinRole('owner')
  @HttpCode(204)
  async revoke(@CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    if (!(await this.keys.revoke(orgScope(org), id))) throw Problem.notFound(`API key ${id}`);
  }
}

