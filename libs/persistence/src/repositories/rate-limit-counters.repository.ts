import { BaseRepository, SystemScope } from './scope';

/**
 * The `rate_limit_counters` table (UNLOGGED; docs/limits.md): hits per rate-limit subject and window, shared by the
 * gateway's replicas. Keys are `<throttler>:<subject id>@<window start ms>`; a subject is an API key, an organisation
 * or a node, so the rows are not one organisation's and every method takes a SystemScope.
 */
export class RateLimitCountersRepository extends BaseRepository {
  /**
   * Adds one hit to `key` (created with `expiresAtMs`, epoch milliseconds, when missing) in one UPSERT.
   * @returns the key's hits in the window after this one. @throws the driver's error when PostgreSQL cannot be reached.
   */
  async hit(_scope: SystemScope, key: string, expiresAtMs: number): Promise<number> {
    const rows = await this.ds.query<{ hits: number }[]>(
      `INSERT INTO "rate_limit_counters" ("key", "hits", "expiresAt") VALUES ($1, 1, to_timestamp($2 / 1000.0))
       ON CONFLICT ("key") DO UPDATE SET "hits" = "rate_limit_counters"."hits" + 1 RETURNING "hits"`, [key, expiresAtMs]);
    return rows[0].hits;
  }

  /**
   * Adds `deltas[i]` hits to `keys[i]` (created with `expiresAtMs[i]` when missing), all in one statement.
   * @returns each key's hits in its window afterwards. @throws the driver's error when PostgreSQL cannot be reached.
   */
  async add(_scope: SystemScope, keys: string[], deltas: number[], expiresAtMs: number[]): Promise<{ key: string; hits: number }[]> {
    return this.ds.query<{ key: string; hits: number }[]>(
      `INSERT INTO "rate_limit_counters" ("key", "hits", "expiresAt")
       SELECT k, d, to_timestamp(e / 1000.0) FROM unnest($1::text[], $2::int[], $3::float8[]) AS t(k, d, e)
       ON CONFLICT ("key") DO UPDATE SET "hits" = "rate_limit_counters"."hits" + EXCLUDED."hits" RETURNING "key", "hits"`,
      [keys, deltas, expiresAtMs]);
  }

  /** Deletes the rows whose window has ended (harmless when two replicas do it at once). @throws the driver's error. */
  async sweep(_scope: SystemScope): Promise<void> {
    await this.ds.query(`DELETE FROM "rate_limit_counters" WHERE "expiresAt" < now()`);
  }
}
