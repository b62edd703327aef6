import { randomBytes, randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import pino from 'pino';
import { CloudCredentialEntity, ClusterEntity, ClusterNetworkEntity, MIGRATIONS, NodeEntity, SecretBox, hashToken } from '@skyweave/persistence';
import { createGateway } from '@skyweave/api-gateway/src/app';
import { X509Certificate } from 'node:crypto';
import { issueClientCertificate, openPkiSecrets } from '@skyweave/bootstrap';
import { Reconciler } from '@skyweave/reconciler/src/reconciler';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';
import { ApiClient } from '@skyweave/tools/stack/api';
import { freshDatabase } from '../support/db';
import { SandboxKube, startSandboxKube } from '../support/sandbox-kube';

const log = pino({ level: 'silent' });

interface Problem { type: string; status: number; detail: string }
interface JoinAnswer { action: string; kubeadmConfig?: string; files?: { path: string; content: string }[] }

/**
 * Issue 10, finding 5: each secret is handed out once, to the node that needs it, while it needs it; a deleted
 * cluster keeps none. In-process gateway and reconciler on a real PostgreSQL database. Every test failed before the fix.
 */
describe('secrets handed out once (issue 10, finding 5)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let app: INestApplication;
  let api: ApiClient;
  let orgId: string;
  const box = new SecretBox(randomBytes(32).toString('base64'));
  // joins write their token (and a master's certificates) into the cluster through its API: master-0's kubeadm init
  // makes one (the sandbox's, in this process)
  let kube: SandboxKube;
  let publicIps = 0;

  beforeAll(async () => {
    db = await freshDatabase();
    kube = await startSandboxKube();
    app = await createGateway({ ds: db.ds, box, endpoints: kube.endpoints, log, joinLongPollMs: 200, meshLongPollMs: 200 });
    await app.listen(0, '127.0.0.1');
    const org = await createOrganisation(db.ds, 'secrets');
    orgId = org.organisationId;
    api = new ApiClient((await app.getUrl()).replace('[::1]', '127.0.0.1'), org.apiKey);
    for (const cloud of ['aws', 'gcp'] as const) {
      await db.ds.getRepository(CloudCredentialEntity).insert({ id: randomUUID(), organisationId: orgId, cloud, name: cloud, identity: cloud, ciphertext: box.seal('{}') });
    }
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await kube?.close();
    await db?.drop();
  });

  /** A cluster of 3 masters (AWS) and 1 worker (GCP) whose nodes have registered: each has a node token. */
  const registeredCluster = async (name: string) => {
    const id = (await api.ok<{ id: string }>('POST', '/v1/clusters', {
      name, region: 'us-east', clouds: ['aws', 'gcp'], controlPlane: { cloud: 'aws', count: 3 }, workers: [{ cloud: 'gcp', count: 1 }],
    })).id;
    const nodes = await db.ds.getRepository(NodeEntity).find({ where: { clusterId: id }, order: { role: 'ASC', ordinal: 'ASC' } });
    const tokens = new Map<string, string>();
    for (const n of nodes) {
      const t = 'swnt_' + randomBytes(32).toString('base64url');
      tokens.set(n.id, t);
      // master-0 with a public IP of its own: the gateway reaches its API server there
      await db.ds.getRepository(NodeEntity).update({ id: n.id }, { agentTokenHash: hashToken(t), phase: 'Registered', privateIp: '10.10.0.9', ...(n.role === 'master' && n.ordinal === 0 ? { publicIp: `198.51.100.${++publicIps}` } : {}) });
    }
    return { id, nodes, tokens };
  };
  /** master-0's agent: initialise (kubeadm init in the sandbox), then `joined`. */
  const initialise = async (call: ReturnType<typeof agent>, master0: NodeEntity) => {
    const answer = await call<JoinAnswer & { files?: { path: string; content: string; mode?: number }[] }>(master0.id, 'join');
    expect(answer.body.action).toBe('initialise');
    const row = await db.ds.getRepository(NodeEntity).findOneByOrFail({ id: master0.id });
    await kube.init(answer.body, { instanceId: master0.id, privateIp: row.privateIp ?? '', publicIp: row.publicIp ?? undefined });
    expect((await call(master0.id, 'joined')).status).toBe(204);
  };
  const agent = (tokens: Map<string, string>) => async <T>(nodeId: string, p: string): Promise<{ status: number; body: T; text: string; headers: Headers }> => {
    const r = await fetch(`${api.baseUrl}/agent/v1/nodes/${nodeId}/${p}`, {
      method: 'POST', headers: { authorization: `Bearer ${tokens.get(nodeId)}`, 'content-type': 'application/json' }, body: '{}',
    });
    const text = await r.text();
    return { status: r.status, body: (text ? JSON.parse(text) : {}) as T, text, headers: r.headers };
  };

  it('gives master-0 the cluster PKI private keys while it initialises (again after a crash), and never once it has joined', async () => {
    const { id, nodes, tokens } = await registeredCluster('pki-once');
    const call = agent(tokens);
    const [master0] = nodes;
    const sealed = (await db.ds.getRepository(ClusterEntity).findOneByOrFail({ id })).pkiSealed!;
    const secrets = openPkiSecrets(box, sealed);

    const first = await call<JoinAnswer>(master0.id, 'join');
    expect(first.status).toBe(200);
    expect(first.body.action).toBe('initialise');
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.text).toContain('PRIVATE KEY');
    // an agent that crashed before reporting `joined` still needs them: the same answer again
    const again = await call<JoinAnswer>(master0.id, 'join');
    expect(again.status).toBe(200);
    expect(again.body.files).toEqual(first.body.files);

    expect((await call(master0.id, 'joined')).status).toBe(204);
    for (let i = 0; i < 2; i++) {
      const after = await call<Problem>(master0.id, 'join');
      expect(after.status).toBe(409);
      expect(after.headers.get('content-type')).toContain('application/problem+json');
      expect(after.body.type).toMatch(/already-joined$/);
      for (const secret of [secrets.etcdCaKey, secrets.frontProxyCaKey, secrets.serviceAccountKey, secrets.bootstrapToken, secrets.certificateKey]) {
        expect(after.text).not.toContain(secret);
      }
      expect(after.text).not.toMatch(/PRIVATE KEY/);
    }
  });

  it("gives a joining master the certificate key and each join a fresh bootstrap token, only before the node has joined", async () => {
    const { id, nodes, tokens } = await registeredCluster('join-once');
    const call = agent(tokens);
    const [master0, master1, master2, worker] = nodes;
    expect([master1.role, master2.role, worker.role]).toEqual(['master', 'master', 'worker']);
    const secrets = openPkiSecrets(box, (await db.ds.getRepository(ClusterEntity).findOneByOrFail({ id })).pkiSealed!);
    await initialise(call, master0);
    const tokenOf = (config: string | undefined) => /token: "?([a-z0-9]{6}\.[a-z0-9]{16})/.exec(config ?? '')?.[1];
    const handedOut = new Set<string>();

    for (const [node, secret] of [[master1, secrets.certificateKey], [worker, undefined]] as const) {
      const join = await call<JoinAnswer>(node.id, 'join');
      expect([node.name, join.status, join.body.action]).toEqual([node.name, 200, 'join']);
      if (secret) expect(join.body.kubeadmConfig).toContain(secret);
      // a token of its own, not kubeadm init's 24 h one
      const token = tokenOf(join.body.kubeadmConfig);
      expect(token).toBeDefined();
      expect(token).not.toBe(secrets.bootstrapToken);
      expect(handedOut.has(token ?? '')).toBe(false);
      handedOut.add(token ?? '');
      expect(join.text).not.toMatch(/PRIVATE KEY/);
      expect((await call(node.id, 'joined')).status).toBe(204);
      const after = await call<Problem>(node.id, 'join');
      expect([node.name, after.status]).toEqual([node.name, 409]);
      expect(after.body.type).toMatch(/already-joined$/);
      for (const t of handedOut) expect(after.text).not.toContain(t);
      expect(after.text).not.toContain(secrets.certificateKey);
    }
    // a node whose VM was lost goes back to Pending and registers anew from a new VM: that one needs them again
    await db.ds.getRepository(NodeEntity).update({ id: worker.id }, { phase: 'Registered', joinedAt: null });
    const rejoin = await call<JoinAnswer>(worker.id, 'join');
    expect([rejoin.status, rejoin.body.action]).toEqual([200, 'join']);
    expect(handedOut.has(tokenOf(rejoin.body.kubeadmConfig) ?? '')).toBe(false);
    // a node being removed never gets them either
    await db.ds.getRepository(NodeEntity).update({ id: master2.id }, { phase: 'Terminating' });
    const removed = await call<Problem>(master2.id, 'join');
    expect(removed.status).toBe(409);
    expect(removed.body.type).toMatch(/not-joinable$/);
    expect(removed.text).not.toContain(secrets.certificateKey);
  });

  it('purges a cluster\'s sealed CA, admin and PKI keys and its nodes\' tokens in the transaction that marks it Deleted', async () => {
    const { id, nodes, tokens } = await registeredCluster('purge-on-delete');
    const other = await registeredCluster('kept');
    await db.ds.getRepository(NodeEntity).update({ clusterId: id }, { bootstrapTokenSealed: box.seal('swbt_x'), bootstrapTokenHash: hashToken('swbt_x') });
    // the teardown done: every VM terminated, every network deleted; the reconciler's next pass marks it Deleted
    await db.ds.getRepository(ClusterEntity).update({ id }, { phase: 'Deleting', deletionRequestedAt: new Date() });
    await db.ds.getRepository(NodeEntity).update({ clusterId: id }, { phase: 'Terminated' });
    await db.ds.getRepository(ClusterNetworkEntity).update({ clusterId: id }, { phase: 'Deleted' });
    await new Reconciler(db.ds, log).reconcile(orgId, id);

    const c = await db.ds.getRepository(ClusterEntity).findOneByOrFail({ id });
    expect(c.phase).toBe('Deleted');
    expect({ caKeySealed: c.caKeySealed, adminKeySealed: c.adminKeySealed, pkiSealed: c.pkiSealed }).toEqual({ caKeySealed: null, adminKeySealed: null, pkiSealed: null });
    expect(c.caCertificate).toContain('BEGIN CERTIFICATE'); // the public record stays
    for (const n of await db.ds.getRepository(NodeEntity).findBy({ clusterId: id })) {
      expect({ s: n.bootstrapTokenSealed, b: n.bootstrapTokenHash, a: n.agentTokenHash }).toEqual({ s: null, b: null, a: null });
    }
    // no agent of a deleted cluster can call back
    expect((await agent(tokens)(nodes[0].id, 'join')).status).toBe(401);
    // another cluster keeps its own
    const kept = await db.ds.getRepository(ClusterEntity).findOneByOrFail({ id: other.id });
    expect([kept.caKeySealed, kept.adminKeySealed, kept.pkiSealed].every((x) => typeof x === 'string')).toBe(true);
    expect((await api.call('GET', `/v1/clusters/${id}/kubeconfig`)).status).toBe(404);
  });

  it('migration PurgeDeletedSecrets purges the secrets of clusters deleted before it, and only theirs', async () => {
    const gone = await registeredCluster('deleted-long-ago');
    const live = await registeredCluster('still-here');
    // a cluster deleted by an earlier version: Deleted with every secret still sealed
    await db.ds.query(`UPDATE "clusters" SET "phase" = 'Deleted' WHERE "id" = $1`, [gone.id]);
    await db.ds.query(`UPDATE "nodes" SET "phase" = 'Terminated', "bootstrapTokenSealed" = $2, "bootstrapTokenHash" = 'h' WHERE "clusterId" = $1`, [gone.id, box.seal('swbt_y')]);
    await db.ds.query(`UPDATE "nodes" SET "bootstrapTokenSealed" = $2 WHERE "clusterId" = $1`, [live.id, box.seal('swbt_z')]);
    const qr = db.ds.createQueryRunner();
    try {
      const Purge = MIGRATIONS.find((m) => m.name === 'PurgeDeletedSecrets1764150000000');
      expect(Purge).toBeDefined();
      await new Purge!().up(qr);
    } finally {
      await qr.release();
    }
    const rows = (await db.ds.query(`SELECT "id", "caKeySealed", "adminKeySealed", "pkiSealed" FROM "clusters" WHERE "id" = ANY($1::uuid[])`, [[gone.id, live.id]])) as
      { id: string; caKeySealed: string | null; adminKeySealed: string | null; pkiSealed: string | null }[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(gone.id)).toEqual({ id: gone.id, caKeySealed: null, adminKeySealed: null, pkiSealed: null });
    expect([byId.get(live.id)?.caKeySealed, byId.get(live.id)?.adminKeySealed, byId.get(live.id)?.pkiSealed].every((x) => typeof x === 'string')).toBe(true);
    const nodes = (await db.ds.query(`SELECT "clusterId", "bootstrapTokenSealed", "bootstrapTokenHash", "agentTokenHash" FROM "nodes" WHERE "clusterId" = ANY($1::uuid[])`, [[gone.id, live.id]])) as
      { clusterId: string; bootstrapTokenSealed: string | null; bootstrapTokenHash: string | null; agentTokenHash: string | null }[];
    for (const n of nodes.filter((x) => x.clusterId === gone.id)) expect([n.bootstrapTokenSealed, n.bootstrapTokenHash, n.agentTokenHash]).toEqual([null, null, null]);
    for (const n of nodes.filter((x) => x.clusterId === live.id)) expect(typeof n.bootstrapTokenSealed === 'string' && typeof n.agentTokenHash === 'string').toBe(true);
  });

  it('serves the kubeconfig (the admin private key) with Cache-Control: no-store', async () => {
    const { id } = await registeredCluster('kubeconfig');
    await db.ds.getRepository(ClusterEntity).update({ id }, { phase: 'Ready' });
    const r = await api.call<string>('GET', `/v1/clusters/${id}/kubeconfig`);
    expect(r.status).toBe(200);
    expect(String(r.body)).toContain('client-key-data');
    expect(r.headers.get('cache-control')).toBe('no-store');
  });

  it('renews the admin certificate before it is handed out when under 30 days are left, once, with an event', async () => {
    const { id } = await registeredCluster('admin-renewal');
    const row = await db.ds.getRepository(ClusterEntity).findOneByOrFail({ id });
    // an admin certificate issued 350 days ago: 15 days left
    const old = await issueClientCertificate({ certificate: row.caCertificate!, key: box.open(row.caKeySealed!) }, { commonName: 'kubernetes-admin', organizations: ['system:masters'] }, new Date(Date.now() - 350 * 86400_000));
    await db.ds.getRepository(ClusterEntity).update({ id }, { phase: 'Ready', adminCertificate: old.certificate, adminKeySealed: box.seal(old.key) });
    const certOf = (yaml: string) => Buffer.from(/client-certificate-data: (\S+)/.exec(yaml)?.[1] ?? '', 'base64').toString();
    const [a, b] = await Promise.all([api.call<string>('GET', `/v1/clusters/${id}/kubeconfig`), api.call<string>('GET', `/v1/clusters/${id}/kubeconfig`)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const served = new X509Certificate(certOf(String(a.body)));
    expect(certOf(String(b.body))).toBe(certOf(String(a.body)));
    expect(served.subject).toContain('CN=kubernetes-admin');
    expect(new Date(served.validTo).getTime() - Date.now()).toBeGreaterThan(300 * 86400_000);
    expect(served.checkIssued(new X509Certificate(row.caCertificate!))).toBe(true);
    const stored = await db.ds.getRepository(ClusterEntity).findOneByOrFail({ id });
    expect(stored.adminCertificate).toBe(certOf(String(a.body)));
    const events = (await api.ok<{ items: { reason: string }[] }>('GET', `/v1/clusters/${id}/events?limit=200`)).items;
    expect(events.filter((e) => e.reason === 'AdminCertificateRenewed')).toHaveLength(1);
  });
});
