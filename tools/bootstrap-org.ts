import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { Command } from 'commander';
import type { DataSource } from 'typeorm';
import { ApiKeyEntity, OrganisationEntity, createDataSource, hashToken, migrate, newToken } from '@skyweave/persistence';

/**
 * Creates an organisation and its first API key. The key is shown once; only its SHA-256 is stored.
 * @returns the organisation id and the API key (`swk_…`).
 */
export async function createOrganisation(ds: DataSource, name: string): Promise<{ organisationId: string; apiKey: string }> {
  const organisationId = randomUUID();
  const apiKey = newToken('swk');
  await ds.transaction(async (em) => {
    await em.insert(OrganisationEntity, { id: organisationId, name });
    await em.insert(ApiKeyEntity, { id: randomUUID(), organisationId, name: 'first key', secretHash: hashToken(apiKey) });
  });
  return { organisationId, apiKey };
}

// Run as a command (tools/run-ts.js puts this file at argv[1]).
if (process.argv[1] && path.resolve(process.argv[1]) === __filename) {
  const o = new Command('bootstrap-org').requiredOption('--name <name>', 'organisation name').parse().opts<{ name: string }>();
  void (async () => {
    const ds = createDataSource(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/skyweave');
    await ds.initialize();
    await migrate(ds);
    const r = await createOrganisation(ds, o.name);
    await ds.destroy();
    process.stdout.write(`organisation: ${r.organisationId}\napi key (shown once): ${r.apiKey}\n`);
  })();
}
