import * as path from 'node:path';
import { Command } from 'commander';
import { MigrationExecutor } from 'typeorm';
import { createDataSource, migrate } from '@skyweave/persistence';

/** The database the services use when `DATABASE_URL` is unset (libs/service-kit/src/config.ts). */
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/skyweave';

/** What a migration run found and did: migration names (TypeORM `name`, e.g. `Initial1763700000000`), oldest first. */
export interface MigrationReport {
  /** Applied by this run (always empty with `check`). */
  applied: string[];
  /** Still pending after the run (with `check`: all that a run would apply). */
  pending: string[];
}

/** `postgres://user:secret@host/db` with the password masked, for messages. */
export const redactUrl = (url: string): string => url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');

/**
 * Applies the pending TypeORM migrations of libs/persistence to the database at `url` (serialised with any other
 * run by persistence's advisory lock), or with `check` only lists them.
 * @throws Error when the database cannot be reached or a migration fails (a failed migration is rolled back: the run
 *   uses one transaction for all).
 */
export async function runMigrations(url: string, opts: { check?: boolean } = {}): Promise<MigrationReport> {
  const ds = createDataSource(url, { poolSize: 2, applicationName: 'skyweave-migrate' });
  await ds.initialize();
  try {
    const executor = new MigrationExecutor(ds);
    const before = (await executor.getPendingMigrations()).map((m) => m.name);
    if (opts.check) return { applied: [], pending: before };
    await migrate(ds);
    const pending = (await executor.getPendingMigrations()).map((m) => m.name);
    return { applied: before.filter((n) => !pending.includes(n)), pending };
  } finally {
    await ds.destroy();
  }
}

// Run as a command: `npm run migrate [-- --check]` (tools/run-ts.js puts this file at argv[1]).
if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  const o = new Command('migrate')
    .description('Applies the pending database migrations to DATABASE_URL (default ' + DEFAULT_DATABASE_URL + ').')
    .option('--check', 'apply nothing; list the pending migrations and exit 1 when there are any')
    .parse().opts<{ check?: boolean }>();
  const url = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  runMigrations(url, { check: o.check }).then((r) => {
    if (o.check) {
      if (r.pending.length === 0) process.stdout.write(`${redactUrl(url)}: up to date\n`);
      else process.stdout.write(`${redactUrl(url)}: ${r.pending.length} pending migration(s):\n${r.pending.map((n) => `  ${n}\n`).join('')}`);
      process.exitCode = r.pending.length === 0 ? 0 : 1;
      return;
    }
    if (r.applied.length === 0) process.stdout.write(`${redactUrl(url)}: up to date, nothing applied\n`);
    else process.stdout.write(`${redactUrl(url)}: applied ${r.applied.length} migration(s):\n${r.applied.map((n) => `  ${n}\n`).join('')}`);
  }, (e: unknown) => {
    process.stderr.write(`migrate ${redactUrl(url)}: ${(e as Error).message}\n`);
    process.exitCode = 2;
  });
}
