import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource, migrate } from '@skyweave/persistence';

const PG = process.env.SKYWEAVE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

/** A fresh, migrated database on the real PostgreSQL server, dropped by `drop()`. */
export async function freshDatabase(): Promise<{ ds: DataSource; url: string; drop(): Promise<void> }> {
  const name = `skyweave_test_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: `${PG}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = `${PG}/${name}`;
  const ds = createDataSource(url, { poolSize: 5 });
  await ds.initialize();
  await migrate(ds);
  return {
    ds, url,
    async drop() {
      await ds.destroy();
      const a = new Client({ connectionString: `${PG}/postgres` });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await a.end();
    },
  };
}
