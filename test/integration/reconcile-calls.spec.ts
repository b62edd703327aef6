import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { networkSpecFor } from '@skyweave/cloud-adapters';
import { NodeEntity } from '@skyweave/persistence';
import { FullReconciler } from '@skyweave/reconciler/src/full';
import { RunningEmulator, startEmulator } from '@skyweave/cloud-emulator/src/emulator';
import type { CallSnapshot } from '@skyweave/cloud-emulator/src/core/calls';
import {
  MeasuredReconcile, ProviderBook, REGION, SandboxCluster, SandboxOrg, createSandboxCluster, createSandboxOrg, measureReconcile, spreadLayout,
} from '@skyweave/bench/reconcile';
import { freshDatabase } from '../support/db';

/** At most this many calls of one name per full reconcile (a few reads per network part, never one per node). */
const MAX_CALLS_PER_NAME = 3;

const callList = (s: CallSnapshot) => s.calls.map((c) => `${c.cloud} ${c.call} ×${c.count}`);

/**
 * The full reconcile's cloud API calls do not grow with the node count (DESIGN §2.6): measured with the sandbox's call
 * counter on real PostgreSQL, against clusters whose networks and VMs were made by the real adapters in the sandbox.
 */
describe('full reconcile: cloud API calls independent of the node count (sandbox, real PostgreSQL)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let emu: RunningEmulator;
  let vmRoot: string;
  let org: SandboxOrg;
  let reconciler: FullReconciler;
  let small: SandboxCluster;
  let big: SandboxCluster;
  let first: MeasuredReconcile;

  beforeAll(async () => {
    vmRoot = mkdtempSync(path.join(os.tmpdir(), 'skyweave-it-vms-'));
    [db, emu] = await Promise.all([
      freshDatabase(),
      startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, vmRoot, latency: { 'instance.boot': 0 } }),
    ]);
    const book = new ProviderBook();
    org = await createSandboxOrg(db.ds, emu, 'reconcile calls');
    book.add(org);
    reconciler = new FullReconciler(db.ds, book, pino({ level: 'silent' }), { replica: 'it' });
    small = await createSandboxCluster(db.ds, org, spreadLayout(3), { name: 'calls-3' });
    big = await createSandboxCluster(db.ds, org, spreadLayout(30), { name: 'calls-30' });
  }, 60_000);

  afterAll(async () => {
    await db?.drop();
    await emu?.close();
    if (vmRoot) rmSync(vmRoot, { recursive: true, force: true });
  });

  it('makes the same calls for 3 and 30 nodes, none per instance, and finds nothing in a cluster as built', async () => {
    const a = await measureReconcile(db.ds, emu, reconciler, small);
    const b = await measureReconcile(db.ds, emu, reconciler, big);
    for (const m of [a, b]) {
      expect(m.outcome).toBe('reconciled');
      expect(m.record.error).toBeNull();
      expect(m.record.found).toEqual([]);
      expect(m.record.changed).toEqual([]);
      // every cloud of the cluster was looked at
      for (const cloud of ['aws', 'gcp', 'azure', 'digitalocean'] as const) expect(m.calls.byCloud[cloud]).toBeGreaterThan(0);
      for (const c of m.calls.calls) expect({ call: `${c.cloud} ${c.call}`, count: c.count <= MAX_CALLS_PER_NAME }).toEqual({ call: `${c.cloud} ${c.call}`, count: true });
    }
    expect(b.calls.total).toBe(a.calls.total);
    expect(b.calls.byCloud).toEqual(a.calls.byCloud);
    expect(callList(b.calls)).toEqual(callList(a.calls));
    // 30 nodes: 10× the instances, not 10× the calls
    expect(b.calls.total).toBeLessThan(big.nodes.length);
    first = b;
  });

  it('finds a VM terminated out of band and sends its node back to Pending, with the same number of calls', async () => {
    expect(first).toBeDefined();
    const victim = big.nodes.find((n) => n.cloud === 'aws' && n.role === 'worker') as NodeEntity;
    const provider = org.providers[victim.cloud];
    const region = networkSpecFor(big.clusterId, REGION, victim.cloud).region;
    await provider.terminateInstance(big.clusterId, region, victim.instanceId as string);
    // EC2 answers `shutting-down` first; wait until the cloud no longer lists the VM as live
    const deadline = Date.now() + 10_000;
    while ((await provider.listInstances(big.clusterId, region)).some((i) => i.id === victim.instanceId)) {
      if (Date.now() > deadline) throw new Error(`${victim.instanceId} still listed 10 s after its termination`);
      await new Promise((r) => setTimeout(r, 50));
    }

    const m = await measureReconcile(db.ds, emu, reconciler, big);
    expect(m.outcome).toBe('reconciled');
    expect(m.record.error).toBeNull();
    expect(m.record.found).toHaveLength(1);
    expect(m.record.found[0]).toContain(victim.name);
    expect(m.record.found[0]).toContain(victim.instanceId);
    expect(m.record.changed.join('\n')).toContain(`replacing worker ${victim.name}`);
    const row = await db.ds.getRepository(NodeEntity).findOneByOrFail({ id: victim.id });
    expect(row.phase).toBe('Pending');
    expect(row.instanceId).toBeNull();
    // no other node was touched
    const others = await db.ds.getRepository(NodeEntity).findBy({ clusterId: big.clusterId });
    expect(others.filter((n) => n.id !== victim.id).every((n) => n.phase === 'Joined')).toBe(true);
    // the repair is handed to the level-triggered pass: the reconcile itself made no extra cloud call
    expect(m.calls.total).toBe(first.calls.total);
    expect(callList(m.calls)).toEqual(callList(first.calls));
  });
});
