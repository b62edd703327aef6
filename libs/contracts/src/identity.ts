/**
 * The shapes of the sign-in, members, API-key and live-events API (issue 14), shared by api-gateway (which answers
 * them) and the web console (which will call them). Times are ISO 8601 strings on the wire (`Date` in the gateway).
 * See docs/identity.md.
 */

/** A member's role in an organisation, weakest first: viewer reads; member also changes clusters, nodes, credentials; owner also manages members, invitations, API keys. */
export const ROLES = ['viewer', 'member', 'owner'] as const;
export type Role = (typeof ROLES)[number];

/** Request header carrying the CSRF token on cookie-authenticated writes (equal to the CSRF cookie). */
export const CSRF_HEADER = 'x-csrf-token';
/** Request header naming the organisation a session request acts for (UUID). */
export const ORGANISATION_HEADER = 'x-skyweave-organisation';
/** The `event:` name of a cluster event in `GET /v1/clusters/{id}/events/stream`. */
export const CLUSTER_EVENT_SSE = 'cluster-event';

type Time = Date | string;

/** A user: never a password hash or an OIDC subject. */
export interface UserView { id: string; email: string; hasPassword: boolean; hasOidc: boolean; createdAt: Time }
/** One organisation of a user. */
export interface MembershipView { organisationId: string; organisationName: string; role: Role }
/** `GET /v1/me` (and the sign-in answers). */
export interface MeView {
  via: 'session' | 'api-key';
  /** Sessions only. */
  user?: UserView;
  /** Sessions only: every organisation of the user. */
  memberships?: MembershipView[];
  /** API keys only. */
  apiKeyId?: string;
  /** The organisation acted for, and the role there (null: none chosen, or not a member). */
  organisationId: string | null;
  role: Role | null;
}
/** `GET /v1/members` items. */
export interface MemberView { userId: string; email: string; role: Role; createdAt: Time }
/** `GET /v1/invitations` items. */
export interface InvitationView { id: string; email: string; role: Role; expiresAt: Time; acceptedAt: Time | null; createdAt: Time }
/** `POST /v1/invitations`: the token (`swi_…`) is shown this once. */
export interface InvitationCreated extends InvitationView { token: string }
/** `GET /v1/api-keys` items. */
export interface ApiKeyView { id: string; name: string; role: Role; createdAt: Time }
/** `POST /v1/api-keys`: the key (`swk_…`) is shown this once. */
export interface ApiKeyCreated extends ApiKeyView { key: string }
/** The `data:` of one `cluster-event` message of the events stream (its `id:` is `id`). */
export interface ClusterEventMessage { id: string; type: 'Normal' | 'Warning'; reason: string; object: string | null; message: string; createdAt: Time }
