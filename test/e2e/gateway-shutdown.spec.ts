import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { jetstreamManager } from '@nats-io/jetstream';
import { Namespace, connectNats } from '@skyweave/messaging';
import { CloudCredentialEntity, NodeEntity, SecretBox, hashToken } from '@skyweave/persistence';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';
import { ApiClient } from '@skyweave/tools/stack/api';
import { distEntry } from '@skyweave/tools/stack/build';
import { freePort } from '@skyweave/tools/stack/stack';
import { freshDatabase } from '../support/db';

/** How long a `/mesh` poll on an unchanged revision is held by the built gateway (MESH_LONG_POLL_MS), ms. */
const MESH_WINDOW_MS = 25_000;

/**
 * The built api-gateway process (dist/, as tools/stack and Docker run it) stops on SIGTERM: before, it logged
 * "stopping" and stayed up while a node-agent's long poll was held (and while agents kept polling on their keep-alive
 * connections), until it was killed. Here a `/mesh` poll is held and a keep-alive connection sits idle when SIGTERM
 * arrives: the process must exit with code 0 well before the poll's 25 s window would have ended, and the poll must
 * get an HTTP answer (not a reset connection).
 */
describe('api-gateway process, SIGTERM', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let gateway: ChildProcess | undefined;
  const namespace = `swstop${randomBytes(4).toString('hex')}`;
  const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    if (gateway && gateway.exitCode === null && gateway.signalCode === null) gateway.kill('SIGKILL');
    await db?.drop();
    const nc = await connectNats(natsUrl, 'gateway-shutdown-cleanup');
    await (await jetstreamManager(nc)).streams.delete(new Namespace(namespace).stream).catch(() => undefined);
    await nc.close();
  });

  it('exits with code 0, long before a held /mesh poll\'s window ends, and answers that poll', async () => {
    const box = new SecretBox(randomBytes(32).toString('base64'));
    const org = await createOrganisation(db.ds, 'shutdown');
    await db.ds.getRepository(CloudCredentialEntity).insert({ id: randomUUID(), organisationId: org.organisationId, cloud: 'aws', name: 'aws', identity: 'aws', ciphertext: box.seal('{}') });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let output = '';
    gateway = spawn(process.execPath, [distEntry('api-gateway')], {
      env: { ...process.env, DATABASE_URL: db.url, NATS_URL: natsUrl, SKYWEAVE_NATS_NAMESPACE: namespace, SKYWEAVE_MASTER_KEY: randomBytes(32).toString('base64'), PORT: String(port), LOG_LEVEL: 'info',
        // rate-limit counts written through (one UPSERT per request, at the guard): the test sees when the poll arrived
        SKYWEAVE_RATE_LIMIT_FLUSH_MS: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    gateway.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    gateway.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => gateway?.once('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 60_000;
    while (!(await fetch(`${url}/health`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline || gateway.exitCode !== null) throw new Error(`the gateway did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // a node with a token, its mesh revision, then a poll on that revision: held for MESH_WINDOW_MS
    const api = new ApiClient(url, org.apiKey);
    const clusterId = (await api.ok<{ id: string }>('POST', '/v1/clusters', { name: 'stopping', region: 'us-east', clouds: ['aws'], controlPlane: { cloud: 'aws', count: 1 }, workers: [] })).id;
    const [node] = await db.ds.getRepository(NodeEntity).findBy({ clusterId });
    const token = 'swnt_' + randomBytes(32).toString('base64url');
    await db.ds.getRepository(NodeEntity).update({ id: node.id }, { agentTokenHash: hashToken(token) });
    const agent = new http.Agent({ keepAlive: true });
    const post = (body: object) => new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${url}/agent/v1/nodes/${node.id}/mesh`, {
        method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
    const first = await post({});
    expect(first.status).toBe(200);
    const { revision } = JSON.parse(first.body) as { revision: string };
    // an idle keep-alive connection besides the held poll
    const idle = await fetch(`${url}/health`);
    expect(idle.status).toBe(200);
    // the node's rate-limit counter rows (`node:<id>@<window start>` → hits): the held poll is counted when it has been
    // read and authenticated, before its handler holds it (SIGTERM sooner could find its connection idle and close it)
    const counts = async () => new Map((await db.ds.query<{ key: string; hits: number }[]>(
      `SELECT "key", "hits" FROM "rate_limit_counters" WHERE "key" LIKE $1`, [`node:${node.id}@%`])).map((r) => [r.key, r.hits]));
    const before = await counts();
    const held = post({ revision });
    const arrived = Date.now() + 30_000;
    for (;;) {
      const now = await counts();
      if ([...now].some(([k, hits]) => hits > (before.get(k) ?? 0))) break;
      if (Date.now() > arrived) throw new Error('the held /mesh poll was never counted by the gateway');
      await new Promise((r) => setTimeout(r, 20));
    }

    gateway.kill('SIGTERM');
    // a bound with a wide margin either way: the fix stops within its 3 s grace, the bug waited out the poll (25 s) and more
    let bound: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([exited, new Promise<string>((r) => (bound = setTimeout(() => r('still running'), MESH_WINDOW_MS - 10_000)))]);
    clearTimeout(bound);
    expect(outcome).toEqual({ code: 0, signal: null });
    // the held poll was answered (with its unchanged revision, or 503 when it arrived after the stop began), not reset
    const answer = await held;
    expect([200, 503]).toContain(answer.status);
    if (answer.status === 200) expect((JSON.parse(answer.body) as { revision: string }).revision).toBe(revision);
    expect(output).toContain('stopping');
    agent.destroy();
  }, 90_000);
});
