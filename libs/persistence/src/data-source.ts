import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ENTITIES } from './entities/entities';
import { Initial1763700000000 } from './migrations/1763700000000-initial';

export const MIGRATIONS = [Initial1763700000000];

/**
 * A TypeORM data source on PostgreSQL. Never synchronizes: the schema comes from migrations only.
 * @param url `postgres://user@host:port/db` (env `DATABASE_URL`).
 */
export function createDataSource(url: string, opts: { poolSize?: number; applicationName?: string } = {}): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    poolSize: opts.poolSize ?? 10,
    applicationName: opts.applicationName,
  });
}

/** Applies pending migrations; safe to call from several processes at once (TypeORM takes a lock per migration run). */
export async function migrate(ds: DataSource): Promise<void> {
  await ds.runMigrations({ transaction: 'all' });
}
