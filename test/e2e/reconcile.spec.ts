import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CLOUDS, CloudId, FIREWALL_PLAN, TAG_CLUSTER, ruleKeys } from '@skyweave/domain';
import { CloudCredentials, CloudEndpoints, CloudProvider, NetworkStatus, createCloudProvider, networkSpecFor } from '@skyweave/cloud-adapters';
import { OutOfBand, outOfBand } from '@skyweave/cloud-adapters/src/testing/out-of-band';
import { CloudCredentialEntity, ClusterNetworkEntity, ClusterReconcileEntity, SecretBox } from '@skyweave/persistence';
import { ApiClient, sandboxAccount, sandboxResources } from '@skyweave/tools/stack/api';
import { ensureLocalServices } from '@skyweave/tools/stack/services';
import { Stack, startStack } from '@skyweave/tools/stack/stack';

interface NodeView { id: string; name: string; cloud: CloudId; role: string; phase: string; instanceId: string | null; kubernetesVersion: string | null }
interface ClusterView {
  id: string; phase: string; spec: { kubernetesVersion: string };
  conditions: { type: string; status: string; reason: string; message: string }[];
  nodes: NodeView[];
  networks: { cloud: CloudId; phase: string }[];
  reconcile: { reconciling: boolean };
}
interface ReconcileRecord { id: string; replica: string; trigger: string; startedAt: string; finishedAt: string | null; found: string[]; changed: string[]; undecided: string[]; error: string | null }
interface EventItem { id: string; type: string; reason: string; object: string | null; message: string }

/**
 * Keeping a cluster in its declared state, end to end: every service a separate process (two reconciler replicas),
 * the official SDKs over the sandbox, and out-of-band changes made through those SDKs as a user would in a console.
 */
describe('reconcile, heal, clean up, scale and upgrade (two reconciler replicas)', () => {
  let stack: Stack;
  let api: ApiClient;
  let endpoints: CloudEndpoints;
  const providers = {} as Record<CloudId, CloudProvider>;
  const oob = {} as Record<CloudId, OutOfBand>;
  const credentials = {} as Record<CloudId, CloudCredentials>;
  let clusterId: string;
  /** The stack's key-encryption key, so a test can play a cloud revoking the stored keys. */
  const masterKey = randomBytes(32).toString('base64');

  const get = () => api.ok<ClusterView>('GET', `/v1/clusters/${clusterId}`);
  const events = async () => (await api.ok<{ items: EventItem[] }>('GET', `/v1/clusters/${clusterId}/events?limit=1000`)).items;
  const records = async () => (await api.ok<{ items: ReconcileRecord[] }>('GET', `/v1/clusters/${clusterId}/reconciles?limit=200`)).items;
  const network = async (cloud: CloudId) => (await stack.ds.getRepository(ClusterNetworkEntity).findOneByOrFail({ clusterId, cloud })).status as NetworkStatus;
  const region = (cloud: CloudId) => networkSpecFor(clusterId, 'us-east', cloud).region;

  const waitFor = async <T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs = 90_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > deadline) {
        const c = await get();
        const ev = (await events()).slice(-25).map((e) => `  ${e.reason} ${e.object ?? ''} ${e.message}`).join('\n');
        throw new Error(`timed out waiting for ${what}\nphase ${c.phase}, nodes ${c.nodes.map((n) => `${n.name}:${n.phase}`).join(', ')}\n${JSON.stringify(c.conditions)}\n${ev}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  /** Ready, every network Ready and every node Joined. */
  const settled = () => waitFor('the cluster settled', async () => {
    const c = await get();
    const ready = c.phase === 'Ready' && c.conditions.some((x) => x.type === 'Ready' && x.status === 'True')
      && c.networks.every((n) => n.phase === 'Ready') && c.nodes.filter((n) => n.phase !== 'Terminated').every((n) => n.phase === 'Joined');
    return ready && c;
  });
  /** Asks for a full reconcile and waits for its record. */
  const reconcileNow = async (): Promise<ReconcileRecord> => {
    const before = new Set((await records()).map((r) => r.id));
    await waitFor('the reconcile request taken', async () => (await api.ok<{ status: string }>('POST', `/v1/clusters/${clusterId}/reconcile`)).status === 'scheduled');
    // the request sends a message and makes the cluster due: the run is the manual handler's or the schedule loop's,
    // whichever replica gets to it first
    const record = await waitFor('a full reconcile recorded', async () => (await records()).find((r) => !before.has(r.id) && r.finishedAt !== null));
    // none of these runs should fail: a failed run reports nothing found, so say why it failed (stop 21's CI: a deadlock)
    expect({ record: record.id, error: record.error }).toEqual({ record: record.id, error: null });
    return record;
  };
  const nodeNamed = async (suffix: string) => (await get()).nodes.find((n) => n.name.endsWith(suffix) && n.phase !== 'Terminated') as NodeView;
  const commandsOf = (instanceId: string): string[][] => {
    const file = path.join(stack.vmRoot, instanceId.replace(/[^A-Za-z0-9._-]/g, '_'), 'fs/var/lib/skyweave/commands.jsonl');
    return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { argv: string[] }).argv) : [];
  };
  /**
   * Waits for a node to be healed after `cursor` (an event id): it joined again with a new VM. (GCP and Azure name
   * a replacement VM as the lost one, so the instance id alone cannot tell.)
   */
  const healed = async (before: NodeView, cursor: string): Promise<NodeView> => waitFor(`${before.name} replaced and joined`, async () => {
    const ev = await events();
    const replaced = ev.some((e) => BigInt(e.id) > BigInt(cursor) && e.reason === 'InstanceLaunched' && e.object === `node/${before.name}`);
    const rejoined = ev.some((e) => BigInt(e.id) > BigInt(cursor) && e.reason === 'NodeJoined' && e.message.includes(before.name));
    const n = (await get()).nodes.find((x) => x.id === before.id);
    return replaced && rejoined && n?.phase === 'Joined' && n;
  });
  const cursorNow = async () => (await events()).at(-1)?.id ?? '0';

  beforeAll(async () => {
    await ensureLocalServices(() => undefined);
    stack = await startStack({
      bootMs: 300,
      // no short launch grace: a VM lost out of band is found by proof that it existed (its agent registered)
      env: {
        SKYWEAVE_MASTER_KEY: masterKey,
        SKYWEAVE_RECONCILE_POLL_SECONDS: '1', SKYWEAVE_RECONCILE_LEASE_SECONDS: '20',
        SKYWEAVE_LEAK_SWEEP_SECONDS: '1', SKYWEAVE_LEAK_GRACE_SECONDS: '2', SKYWEAVE_DRAIN_TIMEOUT_SECONDS: '20',
        SKYWEAVE_REDRIVE_SECONDS: '1',
      },
    });
    stack.startService('reconciler', { replica: 'r2' });
    api = new ApiClient(stack.apiUrl, stack.apiKey);
    endpoints = JSON.parse(readFileSync(path.join(stack.workDir, 'endpoints.json'), 'utf8')) as CloudEndpoints;
    for (const cloud of CLOUDS) {
      const c = await sandboxAccount(stack.adminUrl, cloud);
      await api.ok('POST', '/v1/cloud-credentials', { cloud, credentials: c });
      credentials[cloud] = { cloud, [cloud]: c } as unknown as CloudCredentials;
      providers[cloud] = createCloudProvider(credentials[cloud], endpoints);
      oob[cloud] = outOfBand(credentials[cloud], endpoints);
    }
    const created = await api.ok<ClusterView>('POST', '/v1/clusters', {
      name: 'heal', region: 'us-east', clouds: [...CLOUDS], controlPlane: { cloud: 'aws', count: 3 },
      workers: [{ cloud: 'gcp', count: 1 }, { cloud: 'azure', count: 1 }, { cloud: 'digitalocean', count: 1 }],
      kubernetesVersion: '1.31.4', // upgraded to 1.31.5 below
    });
    clusterId = created.id;
    await settled();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('reconciles a healthy cluster on demand and finds nothing out of place', async () => {
    const requestedAt = Date.now();
    const r = await reconcileNow();
    expect(r).toMatchObject({ found: [], changed: [], error: null });
    expect(['manual', 'schedule']).toContain(r.trigger); // the message's handler or the schedule loop (see reconcileNow)
    expect(new Date(r.startedAt).getTime()).toBeGreaterThanOrEqual(requestedAt - 1000); // a run after the request
    const c = await get();
    expect(c.conditions.find((x) => x.type === 'InSync')).toMatchObject({ status: 'True', reason: 'NoDrift' });
    const ev = await events();
    expect(ev.filter((e) => e.reason === 'ReconcileStarted').length).toBeGreaterThanOrEqual(1);
    expect(ev.find((e) => e.reason === 'Reconciled')?.message).toMatch(/found nothing out of place; changed nothing/);
  });

  it('replaces a worker whose VM was terminated by hand', async () => {
    const before = await nodeNamed('worker-0');
    const cursor = await cursorNow();
    await oob[before.cloud].terminateInstance(region(before.cloud), before.instanceId as string);
    const r = await reconcileNow();
    expect(r.found).toEqual([expect.stringContaining(`the VM of worker ${before.name} (${before.instanceId}) is gone`)]);
    expect(r.changed).toEqual([expect.stringContaining(`replacing worker ${before.name}`)]);
    await healed(before, cursor);
    expect(await providers[before.cloud].listInstances(clusterId, region(before.cloud))).toHaveLength(1);
    await settled();
  });

  it('replaces a master whose VM was terminated by hand; it rejoins the surviving control plane', async () => {
    const before = await nodeNamed('master-0');
    const cursor = await cursorNow();
    await oob.aws.terminateInstance(region('aws'), before.instanceId as string);
    const r = await reconcileNow();
    expect(r.found.join('\n')).toContain(`the VM of master ${before.name}`);
    const after = await healed(before, cursor);
    expect(after.instanceId).not.toBe(before.instanceId);
    // it joined (never init); its agent's certificate report (`kubeadm certs check-expiration`, read-only) may run
    // before this reads the commands, so that one is left out
    const kubeadm = commandsOf(after.instanceId as string)
      .filter((a) => a[0] === 'kubeadm' && !(a[1] === 'certs' && a[2] === 'check-expiration'))
      .map((a) => a.slice(0, 2).join(' '));
    expect(kubeadm).toEqual(['kubeadm join']);
    const config = readFileSync(path.join(stack.vmRoot, (after.instanceId as string).replace(/[^A-Za-z0-9._-]/g, '_'), 'fs/etc/kubernetes/kubeadm.yaml'), 'utf8');
    expect(config).toMatch(/kind: JoinConfiguration[\s\S]*controlPlane:/);
    await settled();
  });

  it('replaces a VM deleted out of band right after its agent registered (proof it existed, not a launch grace)', async () => {
    const added = await api.ok<{ nodes: NodeView[] }>('POST', `/v1/clusters/${clusterId}/nodes`, { cloud: 'aws', count: 1 });
    const id = added.nodes[0].id;
    const name = added.nodes[0].name;
    const registered = await waitFor(`${name} registered`, async () => {
      const n = (await get()).nodes.find((x) => x.id === id);
      return (await events()).some((e) => e.reason === 'NodeRegistered' && e.object === `node/${name}`) && n?.instanceId ? n : undefined;
    });
    const cursor = await cursorNow();
    await oob.aws.terminateInstance(region('aws'), registered.instanceId as string);
    // seconds after its launch, far inside the former two-minute grace: gone, because its agent registered
    const r = await reconcileNow();
    expect(r.found).toEqual([expect.stringContaining(`the VM of worker ${name} (${registered.instanceId}) is gone`)]);
    expect(r.undecided).toEqual([]);
    const after = await healed(registered, cursor);
    expect(after.instanceId).not.toBe(registered.instanceId);
    await settled();
  });

  it('restores a deleted firewall rule (AWS security group) and a changed one (Azure NSG)', async () => {
    const deleted = await oob.aws.deleteFirewallRule(await network('aws'), 'master');
    const changed = await oob.azure.changeFirewallRule(await network('azure'), 'worker');
    const r = await reconcileNow();
    expect(r.found.some((f) => f.startsWith('AWS'))).toBe(true);
    expect(r.found.some((f) => f.startsWith('Azure'))).toBe(true);
    expect(r.changed).toEqual(expect.arrayContaining(['AWS: restoring the network to the plan', 'Azure: restoring the network to the plan']));
    await settled();
    for (const cloud of ['aws', 'azure'] as const) {
      const fw = await providers[cloud].describeFirewall(await network(cloud));
      expect([cloud, ruleKeys(fw.master), ruleKeys(fw.worker)]).toEqual([cloud, ruleKeys(FIREWALL_PLAN.master), ruleKeys(FIREWALL_PLAN.worker)]);
    }
    expect((await reconcileNow()).found).toEqual([]);
    expect([deleted, changed].every((d) => typeof d === 'string' && d.length > 0)).toBe(true);
  });

  it('rebuilds a deleted subnet (GCP) and relaunches the worker that was in it', async () => {
    const worker = (await get()).nodes.find((n) => n.cloud === 'gcp' && n.phase === 'Joined') as NodeView;
    const cursor = await cursorNow();
    // a subnet in use cannot be deleted: the user removed the VM first, as the cloud requires
    await oob.gcp.terminateInstance(region('gcp'), worker.instanceId as string);
    await waitFor('the GCP VM gone', async () => (await providers.gcp.listInstances(clusterId, region('gcp'))).length === 0);
    await oob.gcp.deleteSubnet(await network('gcp'));
    const r = await reconcileNow();
    expect(r.found.join('\n')).toMatch(/GCP: .*subnet/i);
    await healed(worker, cursor);
    await settled();
    expect((await providers.gcp.inspectNetwork(networkSpecFor(clusterId, 'us-east', 'gcp'))).drift).toEqual([]);
  });

  it('rebuilds a deleted resource group (Azure: the VMs in it go with it) and recreates its nodes', async () => {
    const worker = (await get()).nodes.find((n) => n.cloud === 'azure' && n.phase === 'Joined') as NodeView;
    const cursor = await cursorNow();
    await oob.azure.deleteNetwork(await network('azure'));
    const r = await reconcileNow();
    expect(r.found.join('\n')).toMatch(/Azure: the network .* is gone/);
    expect(r.changed).toEqual(expect.arrayContaining(['Azure: rebuilding the network', expect.stringContaining(`replacing worker ${worker.name}`)]));
    await healed(worker, cursor);
    await settled();
  });

  it('refuses a change while a reconcile runs (409 cluster-reconciling + Retry-After), and takes it after', async () => {
    await fetch(`${stack.adminUrl}/admin/latency`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ read: 400 }) });
    try {
      await api.ok('POST', `/v1/clusters/${clusterId}/reconcile`);
      await waitFor('the reconcile under way', async () => (await get()).reconcile.reconciling, 20_000);
      const refused = await api.call<{ type: string }>('POST', `/v1/clusters/${clusterId}/nodes`, { cloud: 'aws', count: 1 });
      expect(refused.status).toBe(409);
      expect(refused.body.type).toMatch(/cluster-reconciling$/);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await api.call('GET', `/v1/clusters/${clusterId}`)).status).toBe(200);
      await waitFor('the reconcile over', async () => !(await get()).reconcile.reconciling, 30_000);
    } finally {
      await fetch(`${stack.adminUrl}/admin/latency`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ read: 0 }) });
    }
    expect((await api.call('POST', `/v1/clusters/${clusterId}/nodes`, { cloud: 'aws', count: 1 })).status).toBe(202);
    await settled();
  });

  it('adds workers by hand and removes one after a master\'s agent drained it', async () => {
    const added = await api.ok<{ nodes: NodeView[] }>('POST', `/v1/clusters/${clusterId}/nodes`, { cloud: 'digitalocean', count: 2 });
    expect(added.nodes).toHaveLength(2);
    await settled();
    const leaving = (await get()).nodes.find((n) => n.id === added.nodes[0].id) as NodeView;
    expect(leaving.phase).toBe('Joined');
    expect((await api.call('DELETE', `/v1/clusters/${clusterId}/nodes/${leaving.id}`)).status).toBe(202);
    await waitFor('the worker terminated', async () => (await get()).nodes.find((n) => n.id === leaving.id)?.phase === 'Terminated');
    const ev = await events();
    const reasons = ev.filter((e) => e.object === `node/${leaving.name}`).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['NodeDraining', 'NodeDrained', 'NodeRemoving', 'InstanceTerminated']));
    expect(reasons.indexOf('NodeDrained')).toBeLessThan(reasons.indexOf('NodeRemoving'));
    // the drain ran on a master, with its admin kubeconfig
    const masters = (await get()).nodes.filter((n) => n.role === 'master');
    const drains = masters.flatMap((m) => commandsOf(m.instanceId as string)).filter((a) => a[0] === 'kubectl' && a.includes('drain'));
    expect(drains).toEqual([expect.arrayContaining(['drain', leaving.name, '--ignore-daemonsets'])]);
    expect((await providers.digitalocean.listInstances(clusterId, region('digitalocean'))).map((i) => i.id)).not.toContain(leaving.instanceId);
    const removeMaster = await api.call<{ type: string }>('DELETE', `/v1/clusters/${clusterId}/nodes/${masters[0].id}`);
    expect(removeMaster.status).toBe(422);
  });

  it('rolls a patch upgrade one node at a time, masters first, each drained, upgraded and uncordoned', async () => {
    const c = await api.ok<ClusterView>('PATCH', `/v1/clusters/${clusterId}`, { kubernetesVersion: '1.31.5' });
    expect(c.spec.kubernetesVersion).toBe('1.31.5');
    await waitFor('every node at 1.31.5', async () => {
      const v = await get();
      return v.conditions.some((x) => x.type === 'Upgraded' && x.status === 'True') && v.nodes.filter((n) => n.phase === 'Joined').every((n) => n.kubernetesVersion === '1.31.5');
    }, 120_000);
    const upgraded = (await events()).filter((e) => e.reason === 'NodeUpgraded').map((e) => e.object?.replace(/^node\/sw-[0-9a-f]{8}-/, ''));
    const joined = (await get()).nodes.filter((n) => n.phase === 'Joined');
    expect(upgraded).toHaveLength(joined.length);
    expect(upgraded.slice(0, 3)).toEqual(['master-0', 'master-1', 'master-2']);
    const master0 = joined.find((n) => n.name.endsWith('master-0')) as NodeView;
    const worker = joined.find((n) => n.role === 'worker') as NodeView;
    expect(commandsOf(master0.instanceId as string)).toContainEqual(['kubeadm', 'upgrade', 'apply', '-y', 'v1.31.5']);
    expect(commandsOf(worker.instanceId as string)).toContainEqual(['kubeadm', 'upgrade', 'node']);
  });

  it('lets two reconciler replicas share the clusters, never reconciling one cluster at once', async () => {
    const replicas = [...stack.processes.entries()].filter(([k]) => k.startsWith('reconciler'));
    expect(replicas).toHaveLength(2);
    // each replica alone (the other paused), then both racing for the same due cluster
    for (const [, paused] of replicas) {
      paused.kill('SIGSTOP');
      try {
        await reconcileNow();
      } finally {
        paused.kill('SIGCONT');
      }
    }
    for (let i = 0; i < 6; i++) {
      await stack.ds.query(`UPDATE clusters SET "nextReconcileAt" = now() WHERE id = $1`, [clusterId]);
      await new Promise((r) => setTimeout(r, 700));
    }
    await waitFor('no reconcile under way', async () => !(await get()).reconcile.reconciling);
    const all = await stack.ds.getRepository(ClusterReconcileEntity).find({ where: { clusterId }, order: { startedAt: 'ASC' } });
    expect(new Set(all.map((r) => r.replica)).size).toBe(2);
    for (let i = 1; i < all.length; i++) {
      expect(all[i].startedAt.getTime()).toBeGreaterThanOrEqual((all[i - 1].finishedAt as Date).getTime());
    }
  });

  it('sweeps resources tagged for a cluster that does not exist, and nothing else', async () => {
    const ghost = randomUUID();
    const spec = networkSpecFor(ghost, 'us-east', 'digitalocean');
    const net = await providers.digitalocean.ensureNetwork(spec);
    await providers.digitalocean.createInstance({ clusterId: ghost, nodeId: randomUUID(), name: 'ghost-worker-0', role: 'worker', instanceType: 's-2vcpu-4gb', userData: '#cloud-config\n{}\n', network: net });
    const mine = (await sandboxResources(stack.adminUrl)).filter((r) => r.tags[TAG_CLUSTER] === clusterId || r.tags[`${TAG_CLUSTER}:${clusterId}`] !== undefined).length;
    await waitFor('the leak swept', async () => (await providers.digitalocean.listTaggedResources(ghost, spec.region)).length === 0, 60_000);
    expect((await sandboxResources(stack.adminUrl)).filter((r) => r.tags[TAG_CLUSTER] === clusterId || r.tags[`${TAG_CLUSTER}:${clusterId}`] !== undefined).length).toBe(mine);
    await settled();
  });

  it('deletes the cluster with revoked keys (CredentialsValid=False), proceeds once they are replaced, and leaves nothing behind', async () => {
    // the cloud revokes the stored AWS keys: from now on it refuses them (same key id, a secret it no longer accepts)
    const good = (credentials.aws as Extract<CloudCredentials, { cloud: 'aws' }>).aws;
    const stored = await stack.ds.getRepository(CloudCredentialEntity).findOneByOrFail({ organisationId: stack.organisationId, cloud: 'aws' });
    const revoked = { cloud: 'aws', aws: { ...good, secretAccessKey: good.secretAccessKey.split('').reverse().join('') } };
    await stack.ds.getRepository(CloudCredentialEntity).update({ id: stored.id }, { ciphertext: new SecretBox(masterKey).seal(JSON.stringify(revoked)) });
    await api.ok('DELETE', `/v1/clusters/${clusterId}`);
    const stuck = await waitFor('CredentialsValid=False naming AWS', async () => {
      const c = await get();
      const cond = c.conditions.find((x) => x.type === 'CredentialsValid');
      return c.phase === 'Deleting' && cond?.status === 'False' && cond.reason === 'InvalidCredentials' && cond.message.includes('AWS') && c;
    });
    expect(stuck.nodes.filter((n) => n.cloud === 'aws' && n.phase === 'Terminating').length).toBeGreaterThan(0);
    expect((await providers.aws.listInstances(clusterId, region('aws'))).length).toBeGreaterThan(0);
    // replaced: the delete goes on by itself
    const put = await api.call<Record<string, unknown>>('PUT', `/v1/cloud-credentials/${stored.id}`, { credentials: good });
    expect(put.status).toBe(200);
    expect(JSON.stringify(put.body)).not.toContain(good.secretAccessKey);
    await waitFor('deleted', async () => (await get()).phase === 'Deleted', 90_000);
    expect((await get()).conditions.find((x) => x.type === 'CredentialsValid')?.status).toBe('True');
    expect(await sandboxResources(stack.adminUrl)).toEqual([]);
  });
});
