import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { Command } from 'commander';
import type { DataSource } from 'typeorm';
import { ApiKeyEntity, OrganisationEntity, createDataSource, hashToken, migrate, newToken } from '@skyweave/persistence';

/** The shape of an API key: `swk_` and URL-safe base64 (what newToken('swk') makes and ApiKeyGuard accepts). */
const API_KEY_RE = /^swk_[A-Za-z0-9_-]{20,}$/;

/**
 * Creates an organisation and its first API key. The key is shown once; only its SHA-256 is stored.
 * @param apiKey the key to register (an installer that chose it, e.g. docker compose's SKYWEAVE_FIRST_API_KEY);
 *   default a new random one.
 * @returns the organisation id and the API key (`swk_…`).
 * @throws Error when `apiKey` is not of the `swk_…` shape.
 */
export async function createOrganisation(ds: DataSource, name: string, apiKey: string = newToken('swk')): Promise<{ organisationId: string; apiKey: string }> {
  if (!API_KEY_RE.test(apiKey)) throw new Error('an API key is "swk_" followed by at least 20 characters of A-Z a-z 0-9 _ -');
  const organisationId = randomUUID();
  await ds.transaction(async (em) => {
    await em.insert(OrganisationEntity, { id: organisationId, name });
    await em.insert(ApiKeyEntity, { id: randomUUID(), organisationId, name: 'first key', secretHash: hashToken(apiKey) });
  });
  return { organisationId, apiKey };
}

// Run as a command (tools/run-ts.js puts this file at argv[1]).
if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  const o = new Command('bootstrap-org')
    .requiredOption('--name <name>', 'organisation name')
    .option('--if-none', 'do nothing when an organisation already exists (a one-shot installer step run at every start)')
    .option('--api-key-env <var>', 'register the API key held by this environment variable instead of a new random one')
    .parse().opts<{ name: string; ifNone?: boolean; apiKeyEnv?: string }>();
  void (async () => {
    const given = o.apiKeyEnv ? process.env[o.apiKeyEnv] : undefined;
    if (o.apiKeyEnv && !given) throw new Error(`--api-key-env ${o.apiKeyEnv}: the variable is not set`);
    const ds = createDataSource(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/skyweave');
    await ds.initialize();
    try {
      await migrate(ds);
      if (o.ifNone && (await ds.getRepository(OrganisationEntity).count()) > 0) {
        process.stdout.write('bootstrap-org: an organisation exists; nothing to do\n');
        return;
      }
      const r = await createOrganisation(ds, o.name, given);
      process.stdout.write(`organisation: ${r.organisationId}\n${given ? `api key: the one in ${o.apiKeyEnv}` : `api key (shown once): ${r.apiKey}`}\n`);
    } finally {
      await ds.destroy();
    }
  })().catch((e: unknown) => {
    process.stderr.write(`bootstrap-org: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
