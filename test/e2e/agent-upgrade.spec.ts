import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { NodeOperationEntity } from '@skyweave/persistence';
import { ApiClient, sandboxAccount } from '@skyweave/tools/stack/api';
import { distEntry, ensureBuilt } from '@skyweave/tools/stack/build';
import { ensureLocalServices } from '@skyweave/tools/stack/services';
import { Stack, startStack } from '@skyweave/tools/stack/stack';

interface NodeView { id: string; name: string; role: string; phase: string; instanceId: string | null; agentVersion: string | null }
interface ClusterView {
  id: string; phase: string; nodes: NodeView[];
  conditions: { type: string; status: string; reason: string; message: string }[];
  agent: { desiredVersion: string | null; reported: number; upToDate: number };
}
interface EventItem { id: string; type: string; reason: string; object: string | null; message: string }

const ROOT = path.resolve(__dirname, '../..');
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const RELEASE = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * Agent upgrades roll out like node upgrades (issue 11, item 3), end to end: the sandbox's VM image ships an OLDER
 * build of node-agent (the current bundle with one line more, so another SHA-256 and version), while the platform
 * serves the current one (tools/agent-package.js's manifest and bundle in SKYWEAVE_AGENT_PACKAGES_DIR). Every node's
 * agent reports the old version; the reconciler asks one node's agent at a time (master first) to upgrade itself;
 * the agent downloads the bundle from the gateway, checks it, installs it over its own copy on the VM and exits 75;
 * the VM image restarts it, as systemd would, on the new bundle, which reports the new version.
 */
describe('agent upgrade: a cluster whose agents run an older build is rolled to the platform\'s, one node at a time', () => {
  let stack: Stack;
  let api: ApiClient;
  let work: string;
  let oldVersion: string;
  let newVersion: string;
  let clusterId: string;

  const get = () => api.ok<ClusterView>('GET', `/v1/clusters/${clusterId}`);
  const events = async () => (await api.ok<{ items: EventItem[] }>('GET', `/v1/clusters/${clusterId}/events?limit=1000`)).items;
  const waitFor = async <T>(what: string, fn: () => Promise<T | undefined | false | null>, timeoutMs = 240_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v) return v;
      if (Date.now() > deadline) {
        const c = await get();
        const ev = (await events()).slice(-30).map((e) => `  ${e.reason} ${e.object ?? ''} ${e.message}`).join('\n');
        throw new Error(`timed out waiting for ${what}\nphase ${c.phase}, nodes ${c.nodes.map((n) => `${n.name}:${n.phase}:${n.agentVersion}`).join(', ')}\n${JSON.stringify(c.conditions)}\n${ev}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  beforeAll(async () => {
    await ensureLocalServices(() => undefined);
    ensureBuilt((m) => process.stderr.write(`agent-upgrade: ${m}\n`));
    work = mkdtempSync(path.join(tmpdir(), 'sw-agent-upgrade-'));
    // the platform's packages: the current bundle (no runtime tarballs: the sandbox's image has Node.js already)
    const packages = path.join(work, 'packages');
    execFileSync(process.execPath, [path.join(ROOT, 'tools/agent-package.js'), '--arch=', '--out', packages], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    newVersion = (JSON.parse(readFileSync(path.join(packages, 'manifest.json'), 'utf8')) as { version: string }).version;
    expect(newVersion).toBe(`${RELEASE}-${sha256(distEntry('node-agent')).slice(0, 12)}`);
    // the VM image's older build: the same agent with one more line
    const oldBundle = path.join(work, 'node-agent-old.js');
    writeFileSync(oldBundle, `${readFileSync(distEntry('node-agent'), 'utf8')}\n// an older build of node-agent (test/e2e/agent-upgrade.spec.ts)\n`);
    oldVersion = `${RELEASE}-${sha256(oldBundle).slice(0, 12)}`;
    stack = await startStack({
      bootMs: 300,
      agentBundle: oldBundle,
      env: { SKYWEAVE_AGENT_PACKAGES_DIR: packages, SKYWEAVE_AGENT_UPGRADE_CHECK_SECONDS: '2', SKYWEAVE_REDRIVE_SECONDS: '1' },
    });
    api = new ApiClient(stack.apiUrl, stack.apiKey);
    for (const cloud of ['aws', 'gcp', 'digitalocean'] as const) {
      await api.ok('POST', '/v1/cloud-credentials', { cloud, credentials: await sandboxAccount(stack.adminUrl, cloud) });
    }
  }, 300_000);
  afterAll(async () => {
    await stack?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('rolls every node\'s agent from the old version to the new one, master first, one node at a time, each reporting its new version', async () => {
    const created = await api.ok<ClusterView>('POST', '/v1/clusters', {
      name: 'agents', region: 'us-east', clouds: ['aws', 'gcp', 'digitalocean'], controlPlane: { cloud: 'aws', count: 1 },
      workers: [{ cloud: 'gcp', count: 1 }, { cloud: 'digitalocean', count: 1 }],
    });
    clusterId = created.id;
    expect(created.agent).toEqual({ desiredVersion: newVersion, reported: 0, upToDate: 0 });

    // every node joins on the old agent, then is upgraded; the cluster ends with every agent at the new version
    const done = await waitFor('every agent at the new version', async () => {
      const c = await get();
      const ok = c.phase === 'Ready' && c.nodes.length === 3 && c.nodes.every((n) => n.phase === 'Joined' && n.agentVersion === newVersion)
        && c.conditions.some((x) => x.type === 'AgentUpgraded' && x.status === 'True');
      return ok && c;
    });
    expect(done.agent).toEqual({ desiredVersion: newVersion, reported: 3, upToDate: 3 });
    expect(done.conditions.find((x) => x.type === 'AgentUpgraded')).toMatchObject({ status: 'True', reason: 'AgentsUpToDate', message: `Every node's agent runs ${newVersion}` });

    // each node's reported version changed from the old one to the new one, in rollout order: the master first
    const ev = await events();
    const name = (o: string | null) => (o ?? '').replace(/^node\/sw-[0-9a-f]{8}-/, '');
    const changed = ev.filter((e) => e.reason === 'AgentVersionChanged');
    // (the restarted agent's first call records the version; the old one reported the install before it exited)
    expect(changed.map((e) => e.message.replace(/^sw-[0-9a-f]{8}-/, '').replace(/; its agent upgrade is done$/, ''))).toEqual(
      changed.map((e) => `${name(e.object)}'s agent runs ${newVersion} (was ${oldVersion})`),
    );
    const asked = ev.filter((e) => e.reason === 'AgentUpgrading').map((e) => name(e.object));
    expect(asked).toHaveLength(3);
    expect(asked[0]).toBe('master-0');
    expect(new Set(asked)).toEqual(new Set(['master-0', 'worker-0', 'worker-1']));
    expect(changed.map((e) => name(e.object))).toEqual(asked);
    expect(ev.filter((e) => e.reason === 'AgentUpgradeComplete')).toHaveLength(1);
    expect(ev.filter((e) => e.reason === 'AgentUpgradeFailed' || e.reason === 'NodeOperationFailed')).toEqual([]);

    // one at a time: each node's agent was asked only after the previous node reported its new version
    const position = (e: EventItem) => BigInt(e.id);
    const upgrading = ev.filter((e) => e.reason === 'AgentUpgrading');
    for (let i = 1; i < upgrading.length; i++) expect(position(upgrading[i]) > position(changed[i - 1])).toBe(true);
    for (let i = 0; i < upgrading.length; i++) expect(position(changed[i]) > position(upgrading[i])).toBe(true);
    const ops = (await stack.ds.getRepository(NodeOperationEntity).findBy({ clusterId, kind: 'upgrade-agent' })).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    expect(ops.map((o) => o.state)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
    expect(ops.every((o) => o.agentPackage?.version === newVersion && o.executorNodeId === o.targetNodeId)).toBe(true);
    for (let i = 1; i < ops.length; i++) expect(ops[i].createdAt.getTime()).toBeGreaterThanOrEqual(ops[i - 1].finishedAt!.getTime());

    // the binary each VM runs was swapped: its copy is the platform's bundle, and its agent was restarted on exit 75
    for (const n of done.nodes) {
      const root = path.join(stack.vmRoot, (n.instanceId as string).replace(/[^A-Za-z0-9._-]/g, '_'), 'fs');
      expect(sha256(path.join(root, 'opt/skyweave/node-agent/lib/node-agent.js'))).toBe(sha256(distEntry('node-agent')));
      expect(readFileSync(path.join(root, 'var/log/cloud-init-output.log'), 'utf8')).toMatch(/skyweave-node-agent(\.service)? exited \(75\); restarting in 5000 ms/);
      const agentLog = readFileSync(path.join(root, 'var/log/skyweave-node-agent.log'), 'utf8');
      expect(agentLog).toContain(`node-agent ${oldVersion}`);
      expect(agentLog).toContain(`node-agent ${newVersion}`);
      expect(existsSync(path.join(root, 'var/lib/skyweave/state.json'))).toBe(true);
    }
  });

  it('deletes the cluster with nothing left to wait for', async () => {
    await api.ok('DELETE', `/v1/clusters/${clusterId}`);
    await waitFor('the cluster deleted', async () => {
      const r = await api.call<ClusterView>('GET', `/v1/clusters/${clusterId}`);
      return r.status === 404 || (r.body as ClusterView).phase === 'Deleted';
    }, 180_000);
  });
});
