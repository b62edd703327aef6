import { randomBytes, randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import pino from 'pino';
import { type ChangeFeed, CloudCredentialEntity, SecretBox } from '@skyweave/persistence';
import { createGateway } from '@skyweave/api-gateway/src/app';
import { CHANGE_FEED } from '@skyweave/api-gateway/src/tokens';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';
import { freshDatabase } from '../support/db';

/**
 * ApiKeyGuard remembers keys it found until PostgreSQL notifies that they changed (migration
 * ApiKeyNotify1764300000000, ChangeFeed channel `apiKeys`): a key deleted or moved is refused once its notification
 * arrives, with no TTL to wait out. A gateway in-process on a real PostgreSQL database, over real HTTP; before the
 * trigger existed the remembered key kept working (nothing would ever have dropped it).
 */
describe('API key revocation (ApiKeyGuard and the change feed)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let app: INestApplication;
  let url: string;
  const box = new SecretBox(randomBytes(32).toString('base64'));

  beforeAll(async () => {
    db = await freshDatabase();
    app = await createGateway({ ds: db.ds, box, endpoints: {}, log: pino({ level: 'silent' }) });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const feed = app.get<ChangeFeed>(CHANGE_FEED);
    await until('the change feed to listen', () => feed.listening);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await fn())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const list = (apiKey: string) => fetch(`${url}/v1/clusters`, { headers: { authorization: `Bearer ${apiKey}` } });

  it('refuses a deleted key once the deletion is notified, while the organisation\'s other key keeps working', async () => {
    const org = await createOrganisation(db.ds, 'revoked');
    const other = await createOrganisation(db.ds, 'kept');
    for (let i = 0; i < 3; i++) expect((await list(org.apiKey)).status).toBe(200);
    expect((await list(other.apiKey)).status).toBe(200);
    await db.ds.query(`DELETE FROM "api_keys" WHERE "organisationId" = $1`, [org.organisationId]);
    await until('the deleted key to be refused', async () => (await list(org.apiKey)).status === 401);
    const refused = await list(org.apiKey);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ status: 401, detail: 'unknown API key' });
    expect((await list(other.apiKey)).status).toBe(200);
  });

  it('follows a key moved to another organisation (UPDATE notifies too)', async () => {
    const a = await createOrganisation(db.ds, 'first-owner');
    const b = await createOrganisation(db.ds, 'second-owner');
    await db.ds.getRepository(CloudCredentialEntity).insert({ id: randomUUID(), organisationId: b.organisationId, cloud: 'aws', name: 'owned-by-b', identity: 'aws', ciphertext: box.seal('{}') });
    const names = async () => {
      const r = await fetch(`${url}/v1/cloud-credentials`, { headers: { authorization: `Bearer ${a.apiKey}` } });
      return ((await r.json()) as { items: { name: string }[] }).items.map((c) => c.name);
    };
    expect(await names()).toEqual([]);
    expect(await names()).toEqual([]);
    await db.ds.query(`UPDATE "api_keys" SET "organisationId" = $1 WHERE "organisationId" = $2`, [b.organisationId, a.organisationId]);
    await until('the moved key to act for its new organisation', async () => (await names()).includes('owned-by-b'));
  });
});
