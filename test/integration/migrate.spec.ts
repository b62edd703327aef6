import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { MIGRATIONS } from '@skyweave/persistence';
import { redactUrl, runMigrations } from '@skyweave/tools/migrate';

const PG = process.env.SKYWEAVE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const ROOT = path.resolve(__dirname, '../..');
const NAMES = MIGRATIONS.map((m) => m.name);

/** `npm run migrate` as a user runs it: the same script, DATABASE_URL from the environment. */
async function migrateCommand(url: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['tools/run-ts.js', 'tools/migrate.ts', ...args], {
      cwd: ROOT, env: { ...process.env, DATABASE_URL: url }, timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** tools/migrate.ts (`npm run migrate`) on the real PostgreSQL: an empty database of its own, dropped afterwards. */
describe('npm run migrate', () => {
  const name = `skyweave_test_${randomBytes(4).toString('hex')}`;
  const url = `${PG}/${name}`;

  beforeAll(async () => {
    const admin = new Client({ connectionString: `${PG}/postgres` });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
  });
  afterAll(async () => {
    const admin = new Client({ connectionString: `${PG}/postgres` });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });

  it('--check on an empty database lists every migration as pending and exits 1, applying nothing', async () => {
    const r = await migrateCommand(url, '--check');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${NAMES.length} pending migration(s)`);
    for (const n of NAMES) expect(r.stdout).toContain(n);
    expect(await runMigrations(url, { check: true })).toEqual({ applied: [], pending: NAMES });
  });

  it('applies the pending migrations in order and prints which; a second run applies nothing', async () => {
    const r = await migrateCommand(url);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${redactUrl(url)}: applied ${NAMES.length} migration(s):\n${NAMES.map((n) => `  ${n}\n`).join('')}`);
    const c = new Client({ connectionString: url });
    await c.connect();
    const { rows } = await c.query<{ name: string }>('SELECT name FROM migrations ORDER BY id');
    await c.end();
    expect(rows.map((x) => x.name)).toEqual(NAMES);
    expect(await runMigrations(url)).toEqual({ applied: [], pending: [] });
  });

  it('--check exits 0 once the database is up to date', async () => {
    const r = await migrateCommand(url, '--check');
    expect([r.code, r.stdout.trim()]).toEqual([0, `${redactUrl(url)}: up to date`]);
  });

  it('names an unreachable database without its password, and exits 2', async () => {
    expect(redactUrl('postgres://u:s3cret@127.0.0.1:1/x')).toBe('postgres://u:***@127.0.0.1:1/x');
    const down = await migrateCommand('postgres://u:s3cret@127.0.0.1:1/x', '--check');
    expect(down.code).toBe(2);
    expect(down.stderr).toContain('migrate postgres://u:***@127.0.0.1:1/x:');
    expect(down.stderr + down.stdout).not.toContain('s3cret');
  });
});
