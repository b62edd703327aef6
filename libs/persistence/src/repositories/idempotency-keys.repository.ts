import { IdempotencyKeyEntity } from '../entities/entities';
import { BaseRepository, OrgScope } from './scope';

/**
 * The `idempotency_keys` table: replays of writes sent with an `Idempotency-Key`, per organisation. Org-scoped: two
 * organisations using the same key never see each other's answers.
 */
export class IdempotencyKeysRepository extends BaseRepository {
  /** Deletes the organisation's keys older than `hours` hours. @returns rows deleted. */
  async purgeOlderThan(scope: OrgScope, hours: number): Promise<number> {
    const res = await this.ds.getRepository(IdempotencyKeyEntity).createQueryBuilder().delete()
      .where(`"createdAt" < now() - make_interval(hours => :h)`, { h: hours }).andWhere('"organisationId" = :organisationId', { organisationId: scope.organisationId })
      .execute();
    return res.affected ?? 0;
  }

  /**
   * Claims `key` for a request (`fingerprint`: SHA-256 hex of method, URL and body) as in progress (status 0).
   * @returns true when this call claimed it, false when the organisation already holds the key.
   */
  async claim(scope: OrgScope, key: string, fingerprint: string): Promise<boolean> {
    const inserted = (await this.ds.query(
      `INSERT INTO idempotency_keys ("organisationId", "key", "requestFingerprint", "status", "body") VALUES ($1, $2, $3, 0, 'null') ON CONFLICT DO NOTHING RETURNING "key"`,
      [scope.organisationId, key, fingerprint],
    )) as unknown[];
    return inserted.length > 0;
  }

  /** The organisation's record of `key`. @throws EntityNotFoundError (TypeORM) when it has none. */
  async get(scope: OrgScope, key: string): Promise<IdempotencyKeyEntity> {
    return this.ds.getRepository(IdempotencyKeyEntity).findOneByOrFail({ organisationId: scope.organisationId, key });
  }

  /** Stores the answer to replay for `key`: HTTP status and JSON body. @returns rows changed. */
  async complete(scope: OrgScope, key: string, status: number, body: unknown): Promise<number> {
    const res = await this.ds.getRepository(IdempotencyKeyEntity).update({ organisationId: scope.organisationId, key }, { status, body: (body ?? null) as object });
    return res.affected ?? 0;
  }

  /** Forgets `key` (the request failed: it may be retried with the same key). @returns rows deleted. */
  async release(scope: OrgScope, key: string): Promise<number> {
    const res = await this.ds.getRepository(IdempotencyKeyEntity).delete({ organisationId: scope.organisationId, key });
    return res.affected ?? 0;
  }
}
