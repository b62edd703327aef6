import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { type Role, InvitationEntity, MembershipEntity, OrganisationEntity, SessionEntity, UserEntity } from '../entities/entities';
import { BaseRepository, type OrgScope, type SystemScope } from './scope';

/** A user as the API shows it: never the password hash or the OIDC subject. */
export interface UserView { id: string; email: string; hasPassword: boolean; hasOidc: boolean; createdAt: Date }
/** One organisation a user belongs to, and the role there. */
export interface MembershipOfUser { organisationId: string; organisationName: string; role: Role }
/** One member of an organisation. */
export interface MemberView { userId: string; email: string; role: Role; createdAt: Date }
/** A session found by its cookie: who, which organisation it acts for, that organisation's role (null: not a member). */
export interface SessionIdentity {
  sessionId: string;
  userId: string;
  csrfHash: string;
  /** The organisation asked for (header) or chosen on the session; null when neither. */
  organisationId: string | null;
  /** The user's role in `organisationId`; null when the user is not a member of it (or there is none). */
  role: Role | null;
}

/** Key of the advisory lock serialising sign-ups (UsersRepository.lockSignups). */
const SIGNUP_LOCK = 7_243_014;

/** What a change of members may not do: leave an organisation without an owner. */
export class LastOwnerError extends Error {
  constructor() {
    super('an organisation keeps at least one owner');
  }
}

export const toUserView = (u: UserEntity): UserView => ({ id: u.id, email: u.email, hasPassword: u.passwordHash !== null, hasOidc: u.oidcIssuer !== null, createdAt: u.createdAt });

/**
 * Users (issue 14). A user is not an organisation's row (one person may belong to several), so lookups by email,
 * OIDC identity or id take a SystemScope; what a user may see of an organisation goes through MembershipsRepository.
 */
export class UsersRepository extends BaseRepository {
  /** The user with this email (compared lower-case), or null. */
  async findByEmail(_scope: SystemScope, email: string, em?: EntityManager): Promise<UserEntity | null> {
    return this.m(em).findOneBy(UserEntity, { email: email.toLowerCase() });
  }

  /** The user linked to this OIDC identity (`iss`, `sub`), or null. */
  async findByOidc(_scope: SystemScope, issuer: string, subject: string, em?: EntityManager): Promise<UserEntity | null> {
    return this.m(em).findOneBy(UserEntity, { oidcIssuer: issuer, oidcSubject: subject });
  }

  async findById(_scope: SystemScope, id: string, em?: EntityManager): Promise<UserEntity | null> {
    return this.m(em).findOneBy(UserEntity, { id });
  }

  /**
   * Serialises sign-ups for the rest of the caller's transaction (a transaction-scoped advisory lock), so that two
   * first users of a fresh installation cannot both see "no user yet".
   */
  async lockSignups(_scope: SystemScope, em: EntityManager): Promise<void> {
    await em.query('SELECT pg_advisory_xact_lock($1)', [SIGNUP_LOCK]);
  }

  /** Creates an organisation named `name` owned by `ownerUserId`, in the caller's transaction. @returns its id. */
  async createOrganisation(_scope: SystemScope, name: string, ownerUserId: string, em: EntityManager): Promise<string> {
    const id = randomUUID();
    await em.insert(OrganisationEntity, { id, name });
    await em.insert(MembershipEntity, { userId: ownerUserId, organisationId: id, role: 'owner' });
    return id;
  }

  /** Whether no user exists yet (a fresh installation), read under the caller's transaction. */
  async none(_scope: SystemScope, em: EntityManager): Promise<boolean> {
    const [r] = await em.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM (SELECT 1 FROM "users" LIMIT 1) x`);
    return r.n === 0;
  }

  /**
   * Inserts a user (email lower-cased). @throws the driver's unique violation (23505) when the email, or the OIDC
   * pair, is taken.
   */
  async insert(_scope: SystemScope, u: { email: string; passwordHash?: string | null; oidcIssuer?: string | null; oidcSubject?: string | null }, em?: EntityManager): Promise<UserEntity> {
    const row: Partial<UserEntity> = { id: randomUUID(), email: u.email.toLowerCase(), passwordHash: u.passwordHash ?? null, oidcIssuer: u.oidcIssuer ?? null, oidcSubject: u.oidcSubject ?? null };
    await this.m(em).insert(UserEntity, row);
    return this.m(em).findOneByOrFail(UserEntity, { id: row.id });
  }

  /** Links an existing user to an OIDC identity (first OIDC sign-in of a user known by email). */
  async linkOidc(_scope: SystemScope, userId: string, issuer: string, subject: string, em?: EntityManager): Promise<void> {
    await this.m(em).update(UserEntity, { id: userId }, { oidcIssuer: issuer, oidcSubject: subject });
  }

  /** The organisations the user belongs to, by name. */
  async memberships(_scope: SystemScope, userId: string, em?: EntityManager): Promise<MembershipOfUser[]> {
    return this.m(em).query<MembershipOfUser[]>(
      `SELECT m."organisationId", o."name" AS "organisationName", m."role" FROM "memberships" m JOIN "organisations" o ON o."id" = m."organisationId"
       WHERE m."userId" = $1 ORDER BY o."name", m."organisationId"`, [userId]);
  }
}

/** Memberships of one organisation (org-scoped: another organisation's members are never read or changed). */
export class MembershipsRepository extends BaseRepository {
  async list(scope: OrgScope): Promise<MemberView[]> {
    return this.ds.query<MemberView[]>(
      `SELECT m."userId", u."email", m."role", m."createdAt" FROM "memberships" m JOIN "users" u ON u."id" = m."userId"
       WHERE m."organisationId" = $1 ORDER BY u."email"`, [scope.organisationId]);
  }

  /** The user's role in the organisation, or null when not a member. */
  async roleOf(scope: OrgScope, userId: string, em?: EntityManager): Promise<Role | null> {
    const r = await this.m(em).findOneBy(MembershipEntity, { organisationId: scope.organisationId, userId });
    return r?.role ?? null;
  }

  /** Adds the user with `role`; a user already a member keeps the existing row. @returns whether a row was added. */
  async add(scope: OrgScope, userId: string, role: Role, em?: EntityManager): Promise<boolean> {
    const r = await this.m(em).query<unknown[]>(
      `INSERT INTO "memberships" ("userId", "organisationId", "role") VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1`, [userId, scope.organisationId, role]);
    return r.length === 1;
  }

  /**
   * Sets a member's role, in one transaction with the organisation's owner rows locked (`FOR UPDATE`), so two owners
   * demoting each other at once cannot both succeed. @returns false when the user is not a member.
   * @throws LastOwnerError when this would leave no owner.
   */
  async setRole(scope: OrgScope, userId: string, role: Role): Promise<boolean> {
    return this.ds.transaction(async (em) => {
      const owners = await this.lockOwners(scope, em);
      const current = await this.roleOf(scope, userId, em);
      if (current === null) return false;
      if (current === 'owner' && role !== 'owner' && owners.length === 1) throw new LastOwnerError();
      await em.update(MembershipEntity, { organisationId: scope.organisationId, userId }, { role });
      return true;
    });
  }

  /**
   * Removes a member (and ends the user's sessions acting for this organisation: they choose another). Same locking
   * as setRole. @returns false when the user is not a member. @throws LastOwnerError when it is the last owner.
   */
  async remove(scope: OrgScope, userId: string): Promise<boolean> {
    return this.ds.transaction(async (em) => {
      const owners = await this.lockOwners(scope, em);
      const current = await this.roleOf(scope, userId, em);
      if (current === null) return false;
      if (current === 'owner' && owners.length === 1) throw new LastOwnerError();
      await em.delete(MembershipEntity, { organisationId: scope.organisationId, userId });
      await em.update(SessionEntity, { organisationId: scope.organisationId, userId }, { organisationId: null });
      return true;
    });
  }

  private async lockOwners(scope: OrgScope, em: EntityManager): Promise<string[]> {
    const rows = await em.query<{ userId: string }[]>(
      `SELECT "userId" FROM "memberships" WHERE "organisationId" = $1 AND "role" = 'owner' ORDER BY "userId" FOR UPDATE`, [scope.organisationId]);
    return rows.map((r) => r.userId);
  }
}

/** An invitation as the API shows it (never the token or its hash). */
export interface InvitationView { id: string; email: string; role: Role; expiresAt: Date; acceptedAt: Date | null; createdAt: Date }
const toInvitationView = (i: InvitationEntity): InvitationView => ({ id: i.id, email: i.email, role: i.role, expiresAt: i.expiresAt, acceptedAt: i.acceptedAt, createdAt: i.createdAt });

/** Why an invitation cannot be used. */
export type InvitationRefusal = 'unknown' | 'expired' | 'accepted' | 'other-email';

/** Invitations (org-scoped, except the lookup by token, which is how the invited person names one). */
export class InvitationsRepository extends BaseRepository {
  /** Stores an invitation of `email` (lower-cased) with `role`, valid until `expiresAt`; `tokenHash` = SHA-256 of the token handed out. */
  async create(scope: OrgScope, i: { email: string; role: Role; tokenHash: string; expiresAt: Date; createdBy: string | null }): Promise<InvitationView> {
    const id = randomUUID();
    await this.ds.manager.insert(InvitationEntity, { id, organisationId: scope.organisationId, email: i.email.toLowerCase(), role: i.role, tokenHash: i.tokenHash, expiresAt: i.expiresAt, createdBy: i.createdBy });
    return toInvitationView(await this.ds.manager.findOneByOrFail(InvitationEntity, { id }));
  }

  async list(scope: OrgScope): Promise<InvitationView[]> {
    const rows = await this.ds.manager.find(InvitationEntity, { where: { organisationId: scope.organisationId }, order: { createdAt: 'DESC' } });
    return rows.map(toInvitationView);
  }

  /**
   * Uses the invitation whose token hashes to `tokenHash` for user `userId` (email `email`): in the caller's
   * transaction, the invitation row locked, marked accepted and the membership added (a user already a member keeps
   * the role held). @returns the organisation and role, or why it cannot be used.
   */
  async accept(_scope: SystemScope, tokenHash: string, user: { id: string; email: string }, now: Date, em: EntityManager):
    Promise<{ ok: true; organisationId: string; role: Role } | { ok: false; reason: InvitationRefusal }> {
    const [inv] = await em.query<InvitationEntity[]>(`SELECT * FROM "invitations" WHERE "tokenHash" = $1 FOR UPDATE`, [tokenHash]);
    if (!inv) return { ok: false, reason: 'unknown' };
    if (inv.acceptedAt) return { ok: false, reason: 'accepted' };
    if (new Date(inv.expiresAt).getTime() <= now.getTime()) return { ok: false, reason: 'expired' };
    if (inv.email !== user.email.toLowerCase()) return { ok: false, reason: 'other-email' };
    await em.update(InvitationEntity, { id: inv.id }, { acceptedAt: now, acceptedBy: user.id });
    await em.query(`INSERT INTO "memberships" ("userId", "organisationId", "role") VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [user.id, inv.organisationId, inv.role]);
    return { ok: true, organisationId: inv.organisationId, role: inv.role };
  }
}

/** Sessions: looked up by the SHA-256 of the cookie's id (SystemScope: the session names the user and organisation). */
export class SessionsRepository extends BaseRepository {
  /** Stores a session of `userId` acting for `organisationId` until `expiresAt`. @returns its id. */
  async create(_scope: SystemScope, s: { tokenHash: string; csrfHash: string; userId: string; organisationId: string | null; expiresAt: Date }, em?: EntityManager): Promise<string> {
    const id = randomUUID();
    await this.m(em).insert(SessionEntity, { id, ...s });
    return id;
  }

  /**
   * The unexpired session whose cookie id hashes to `tokenHash`, with the user's role in `organisationId` (when
   * given: the `X-Skyweave-Organisation` header) or else in the session's chosen organisation. One round trip.
   */
  async find(_scope: SystemScope, tokenHash: string, organisationId?: string): Promise<SessionIdentity | null> {
    const [r] = await this.ds.query<SessionIdentity[]>(
      `SELECT s."id" AS "sessionId", s."userId", s."csrfHash", COALESCE($2::uuid, s."organisationId") AS "organisationId", m."role"
       FROM "sessions" s LEFT JOIN "memberships" m ON m."userId" = s."userId" AND m."organisationId" = COALESCE($2::uuid, s."organisationId")
       WHERE s."tokenHash" = $1 AND s."expiresAt" > now()`, [tokenHash, organisationId ?? null]);
    return r ?? null;
  }

  /** Ends a session. */
  async delete(_scope: SystemScope, sessionId: string): Promise<void> {
    await this.ds.manager.delete(SessionEntity, { id: sessionId });
  }

  /** Makes the session act for `organisationId` (the caller checked the membership). */
  async setOrganisation(_scope: SystemScope, sessionId: string, organisationId: string): Promise<void> {
    await this.ds.manager.update(SessionEntity, { id: sessionId }, { organisationId });
  }

  /** Deletes expired sessions. @returns how many. */
  async sweep(_scope: SystemScope): Promise<number> {
    const r = await this.ds.createQueryBuilder().delete().from(SessionEntity).where(`"expiresAt" <= now()`).execute();
    return r.affected ?? 0;
  }
}
