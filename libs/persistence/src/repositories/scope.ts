import type { DataSource, EntityManager } from 'typeorm';

declare const orgBrand: unique symbol;
declare const systemBrand: unique symbol;

/**
 * The organisation a repository call acts for. Branded: made only by `orgScope()` — called by the auth layer (the
 * API key's or node token's organisation) and by the workers for the organisation a command names — so a repository
 * query cannot be written without saying whose rows it touches. Every org-scoped query filters by `organisationId`:
 * a row of another organisation is "not found", never read or changed.
 */
export interface OrgScope {
  readonly kind: 'org';
  /** The organisation's id (UUID). */
  readonly organisationId: string;
  readonly [orgBrand]: true;
}

/**
 * A call that acts across organisations on purpose: the workers' sweeps (re-drive, full-reconcile schedule, leak
 * sweep) and node-agent authentication, which finds a node by its id before its organisation is known. Made only by
 * `systemScope(reason)`, so every such place is found with `grep -rn systemScope`.
 */
export interface SystemScope {
  readonly kind: 'system';
  /** Why this call may see every organisation's rows (for readers and logs). */
  readonly reason: string;
  readonly [systemBrand]: true;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The scope of one organisation. @param organisationId the organisation's UUID, as the auth layer found it (API key,
 * node token) or as a platform command names it. @throws Error when it is not a UUID (a programming error: ids come
 * from the database or from validated commands, never from raw user input).
 */
export function orgScope(organisationId: string): OrgScope {
  if (!UUID.test(organisationId)) throw new Error(`orgScope: ${JSON.stringify(organisationId)} is not an organisation id`);
  return Object.freeze({ kind: 'org', organisationId }) as OrgScope;
}

/** A scope across every organisation, with the reason why (non-empty). @throws Error without a reason. */
export function systemScope(reason: string): SystemScope {
  if (!reason.trim()) throw new Error('systemScope: give the reason this call acts across organisations');
  return Object.freeze({ kind: 'system', reason }) as SystemScope;
}

/**
 * What every repository shares: the data source, and the entity manager of a call — the caller's, inside its
 * transaction (row locks, outbox rows and events then commit together), or the data source's own.
 */
export abstract class BaseRepository {
  constructor(protected readonly ds: DataSource) {}

  /** The caller's transaction's manager when given, else the data source's (each statement its own transaction). */
  protected m(em?: EntityManager): EntityManager {
    return em ?? this.ds.manager;
  }
}
