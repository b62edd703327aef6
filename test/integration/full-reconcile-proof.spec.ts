import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { networkSpecFor } from '@skyweave/cloud-adapters';
import { ClusterEntity, ClusterReconcileEntity, NodeEntity } from '@skyweave/persistence';
import { FullReconciler } from '@skyweave/reconciler/src/full';
import { RunningEmulator, startEmulator } from '@skyweave/cloud-emulator/src/emulator';
import { ProviderBook, REGION, SandboxCluster, SandboxOrg, createSandboxCluster, createSandboxOrg, spreadLayout } from '@skyweave/bench/reconcile';
import { freshDatabase } from '../support/db';

/**
 * Healing that looks (issue 9): the full reconcile calls a missing VM gone on proof that it existed — its agent
 * registered, or an earlier listing showed it — not after a launch grace; what it cannot decide yet is recorded as
 * undecided and looked at again within a minute. Real PostgreSQL, the sandbox through the official SDKs.
 */
describe('full reconcile: proof that a VM existed, not a launch grace', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let emu: RunningEmulator;
  let vmRoot: string;
  let org: SandboxOrg;
  let reconciler: FullReconciler;
  let cluster: SandboxCluster;

  beforeAll(async () => {
    vmRoot = mkdtempSync(path.join(os.tmpdir(), 'skyweave-it-proof-'));
    [db, emu] = await Promise.all([
      freshDatabase(),
      startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, vmRoot, latency: { 'instance.boot': 0 } }),
    ]);
    const book = new ProviderBook();
    org = await createSandboxOrg(db.ds, emu, 'proof');
    book.add(org);
    reconciler = new FullReconciler(db.ds, book, pino({ level: 'silent' }), { replica: 'it', recheckSeconds: 30, missingGraceSeconds: 120 });
    cluster = await createSandboxCluster(db.ds, org, spreadLayout(4), { name: 'proof' });
  }, 60_000);
  afterAll(async () => {
    await db?.drop();
    await emu?.close();
    if (vmRoot) rmSync(vmRoot, { recursive: true, force: true });
  });

  const run = async () => {
    expect(await reconciler.run(cluster.organisationId, cluster.clusterId, 'manual')).toBe('reconciled');
    return db.ds.getRepository(ClusterReconcileEntity).findOneOrFail({ where: { clusterId: cluster.clusterId }, order: { id: 'DESC' } });
  };
  const row = (id: string) => db.ds.getRepository(NodeEntity).findOneByOrFail({ id });
  const kill = async (n: NodeEntity) => {
    const region = networkSpecFor(cluster.clusterId, REGION, n.cloud).region;
    await org.providers[n.cloud].terminateInstance(cluster.clusterId, region, n.instanceId as string);
    const deadline = Date.now() + 10_000;
    while ((await org.providers[n.cloud].listInstances(cluster.clusterId, region)).some((i) => i.id === n.instanceId && i.state !== 'terminated')) {
      if (Date.now() > deadline) throw new Error(`${n.instanceId} still listed 10 s after its termination`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('replaces a young VM an earlier listing saw, leaves one nothing proves undecided and looks again within a minute', async () => {
    const [seen, unseen] = cluster.nodes.filter((n) => n.role === 'worker' && (n.cloud === 'gcp' || n.cloud === 'digitalocean'));
    // both launched moments ago, agents not registered yet
    for (const n of [seen, unseen]) {
      await db.ds.getRepository(NodeEntity).update({ id: n.id }, { phase: 'Booting', launchStartedAt: new Date(), bootstrapTokenUsedAt: null, instanceSeenAt: null });
    }
    const first = await run();
    expect(first.found).toEqual([]);
    expect(first.undecided).toEqual([]);
    expect((await row(seen.id)).instanceSeenAt).not.toBeNull();
    // the second one was never listed (say it came up after the listing): forget that the listing saw it
    await db.ds.getRepository(NodeEntity).update({ id: unseen.id }, { instanceSeenAt: null });
    await kill(seen);
    await kill(unseen);

    const second = await run();
    expect(second.found).toEqual([expect.stringContaining(`the VM of worker ${seen.name} (${seen.instanceId}) is gone`)]);
    expect((await row(seen.id)).phase).toBe('Pending');
    expect(second.undecided).toEqual([expect.stringContaining(`${unseen.name}`)]);
    expect((await row(unseen.id)).phase).toBe('Booting');
    const c = await db.ds.getRepository(ClusterEntity).findOneByOrFail({ id: cluster.clusterId });
    expect(c.nextReconcileAt!.getTime() - second.finishedAt!.getTime()).toBeLessThanOrEqual(30_000);
    expect(c.conditions.find((x) => x.type === 'InSync')).toMatchObject({ status: 'False', reason: 'Repairing' });

    // once its launch is past the grace with still no sign of it, it is gone too
    await db.ds.getRepository(NodeEntity).update({ id: unseen.id }, { launchStartedAt: new Date(Date.now() - 180_000) });
    const third = await run();
    expect(third.found).toEqual([expect.stringContaining(`the VM of worker ${unseen.name}`)]);
    expect(third.undecided).toEqual([]);
    expect((await row(unseen.id)).phase).toBe('Pending');
  });

  it('calls a VM gone at once when its agent registered, however young', async () => {
    const victim = cluster.nodes.find((n) => n.role === 'worker' && n.cloud === 'azure') as NodeEntity;
    await db.ds.getRepository(NodeEntity).update({ id: victim.id }, { phase: 'Registered', launchStartedAt: new Date(), bootstrapTokenUsedAt: new Date(), instanceSeenAt: null });
    await kill(victim);
    const r = await run();
    expect(r.found).toEqual([expect.stringContaining(`the VM of worker ${victim.name} (${victim.instanceId}) is gone`)]);
    expect(r.undecided).toEqual([]);
    expect((await row(victim.id)).phase).toBe('Pending');
  });
});
