import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { SystemScope } from './scope';

/** An API key as authentication needs it: its id and its organisation. */
export interface ApiKeyIdentity { id: string; organisationId: string }

/**
 * The API-key lookup of every authenticated request (api-gateway's ApiKeyGuard). Keys are stored as SHA-256 digests
 * (`api_keys.secretHash`, unique index); a key deleted from the table stops working with the next request (nothing is
 * cached). One round trip on the data source's pool as a named prepared statement: PostgreSQL parses and plans it
 * once per connection instead of once per request (bench/api.ts measures it).
 */
export class ApiKeysRepository {
  private readonly pool: Pool;

  /** @param ds an initialized TypeORM data source on PostgreSQL (its `pg` pool is used). */
  constructor(ds: DataSource) {
    this.pool = (ds.driver as unknown as { master: Pool }).master;
  }

  /**
   * The key whose digest is `secretHash` (hex SHA-256 of the token, hashToken), or null when there is none. A
   * SystemScope: authentication finds the organisation from the key, so it cannot be scoped to one yet.
   * @throws the driver's error when PostgreSQL cannot be reached.
   */
  async findBySecretHash(_scope: SystemScope, secretHash: string): Promise<ApiKeyIdentity | null> {
    const r = await this.pool.query<ApiKeyIdentity>({
      name: 'skyweave_api_key_by_hash',
      text: 'SELECT "id", "organisationId" FROM "api_keys" WHERE "secretHash" = $1',
      values: [secretHash],
    });
    return r.rows[0] ?? null;
  }
}
