import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { ApiKeyEntity, type Role } from '../entities/entities';
import type { OrgScope, SystemScope } from './scope';

/** An API key as authentication needs it: its id, its organisation and its role (absent only in stand-ins of tests: owner). */
export interface ApiKeyIdentity { id: string; organisationId: string; role?: Role }

/** An API key as the API lists it: never the secret or its hash. */
export interface ApiKeyView { id: string; name: string; role: Role; createdAt: Date }

/**
 * The API-key lookup of every authenticated request (api-gateway's ApiKeyGuard). Keys are stored as SHA-256 digests
 * (`api_keys.secretHash`, unique index); a key deleted from the table stops working with the next request (nothing is
 * cached). One round trip on the data source's pool as a named prepared statement: PostgreSQL parses and plans it
 * once per connection instead of once per request (bench/api.ts measures it).
 */
export class ApiKeysRepository {
  private readonly pool: Pool;

  /** @param ds an initialized TypeORM data source on PostgreSQL (its `pg` pool is used). */
  constructor(private readonly ds: DataSource) {
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
      text: 'SELECT "id", "organisationId", "role" FROM "api_keys" WHERE "secretHash" = $1',
      values: [secretHash],
    });
    return r.rows[0] ?? null;
  }

  /** The organisation's keys, oldest first. */
  async list(scope: OrgScope): Promise<ApiKeyView[]> {
    const rows = await this.ds.manager.find(ApiKeyEntity, { where: { organisationId: scope.organisationId }, order: { createdAt: 'ASC', id: 'ASC' } });
    return rows.map((k) => ({ id: k.id, name: k.name, role: k.role, createdAt: k.createdAt }));
  }

  /** Stores a key of the organisation: `secretHash` = hashToken(secret); the secret itself is never stored. */
  async create(scope: OrgScope, k: { name: string; role: Role; secretHash: string }): Promise<ApiKeyView> {
    const id = randomUUID();
    await this.ds.manager.insert(ApiKeyEntity, { id, organisationId: scope.organisationId, name: k.name, role: k.role, secretHash: k.secretHash });
    const row = await this.ds.manager.findOneByOrFail(ApiKeyEntity, { id });
    return { id: row.id, name: row.name, role: row.role, createdAt: row.createdAt };
  }

  /**
   * Deletes (revokes) one of the organisation's keys. Its trigger notifies every gateway replica (ApiKeyNotify), so
   * the key is refused from the next request on. @returns whether a key was deleted (false: unknown, or another organisation's).
   */
  async revoke(scope: OrgScope, id: string): Promise<boolean> {
    const r = await this.ds.manager.delete(ApiKeyEntity, { id, organisationId: scope.organisationId });
    return (r.affected ?? 0) > 0;
  }
}
