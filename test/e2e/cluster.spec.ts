import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CLOUDS, CloudId, FIREWALL_PLAN, TAG_CLUSTER, cidrContains, isInDigitalOceanPool, ruleKeys } from '@skyweave/domain';
import { CloudCredentials, CloudEndpoints, CloudProvider, NetworkStatus, createCloudProvider } from '@skyweave/cloud-adapters';
import { ClusterNetworkEntity, NodeEntity } from '@skyweave/persistence';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';
import { ApiClient, sandboxAccount, sandboxResources } from '@skyweave/tools/stack/api';
import { ensureLocalServices } from '@skyweave/tools/stack/services';
import { Stack, startStack } from '@skyweave/tools/stack/stack';

interface ClusterView {
  id: string; phase: string;
  conditions: { type: string; status: string; reason: string; message: string }[];
  nodes: { id: string; name: string; cloud: CloudId; role: string; phase: string; instanceId: string; privateIp: string; publicIp: string | null }[];
  networks: { cloud: CloudId; phase: string; vpcCidr: string; subnetCidr: string }[];
}
interface EventItem { id: string; reason: string; object: string | null; message: string }

const EXPECTED_CIDRS: Record<Exclude<CloudId, 'digitalocean'>, [string, string]> = {
  aws: ['10.10.0.0/16', '10.10.0.0/24'], gcp: ['10.0.0.0/16', '10.0.0.0/24'], azure: ['10.20.0.0/16', '10.20.0.0/24'],
};

describe('a multi-cloud cluster, end to end (every service a separate process, official SDKs over the sandbox)', () => {
  let stack: Stack;
  let api: ApiClient;
  const providers = {} as Record<CloudId, CloudProvider>;
  let clusterId: string;
  let cluster: ClusterView;

  const waitForPhase = async (phase: string, timeoutMs = 120_000): Promise<ClusterView> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = await api.ok<ClusterView>('GET', `/v1/clusters/${clusterId}`);
      if (c.phase === phase) return c;
      if (Date.now() > deadline) {
        const ev = (await api.ok<{ items: EventItem[] }>('GET', `/v1/clusters/${clusterId}/events`)).items;
        const nodes = c.nodes.map((n) => `${n.name}/${n.cloud}: ${n.phase}`).join(', ');
        throw new Error(`cluster stuck in ${c.phase}: ${JSON.stringify(c.conditions)}\nnodes: ${nodes}\nevents:\n${ev.map((e) => `  ${(e as EventItem & { createdAt: string }).createdAt} ${e.reason} ${e.message}`).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const networkStatus = async (cloud: CloudId): Promise<NetworkStatus> =>
    (await stack.ds.getRepository(ClusterNetworkEntity).findOneByOrFail({ clusterId, cloud })).status as NetworkStatus;

  beforeAll(async () => {
    await ensureLocalServices(() => undefined);
    stack = await startStack({ bootMs: 300 });
    api = new ApiClient(stack.apiUrl, stack.apiKey);
    const endpoints = JSON.parse(readFileSync(path.join(stack.workDir, 'endpoints.json'), 'utf8')) as CloudEndpoints;
    for (const cloud of CLOUDS) {
      const credentials = await sandboxAccount(stack.adminUrl, cloud);
      await api.ok('POST', '/v1/cloud-credentials', { cloud, credentials });
      // The test's own view of each cloud, through the same official SDKs, as a user with a cloud console would.
      providers[cloud] = createCloudProvider({ cloud, [cloud]: credentials } as unknown as CloudCredentials, endpoints);
    }
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('never returns stored credentials', async () => {
    const list = await api.ok<{ items: Record<string, unknown>[] }>('GET', '/v1/cloud-credentials');
    expect(list.items.map((c) => c.cloud).sort()).toEqual([...CLOUDS].sort());
    const text = JSON.stringify(list);
    expect(text).not.toMatch(/secretAccessKey|private_key"|clientSecret|dop_v1_/);
  });

  it('creates a cluster spanning AWS, GCP, Azure and DigitalOcean and makes it Ready', async () => {
    const created = await api.ok<ClusterView>('POST', '/v1/clusters', {
      name: 'e2e', region: 'us-east', clouds: [...CLOUDS], controlPlane: { cloud: 'aws', count: 3 },
      workers: CLOUDS.map((cloud) => ({ cloud, count: 1 })),
    });
    clusterId = created.id;
    cluster = await waitForPhase('Ready');
    expect(cluster.nodes).toHaveLength(7);
    expect(cluster.nodes.every((n) => n.phase === 'Joined')).toBe(true);
    expect(cluster.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('builds every network on the seed address plan, with every node in its subnet', async () => {
    for (const n of cluster.networks) {
      if (n.cloud === 'digitalocean') {
        expect(isInDigitalOceanPool(n.vpcCidr)).toBe(true);
      } else {
        expect([n.vpcCidr, n.subnetCidr]).toEqual(EXPECTED_CIDRS[n.cloud]);
      }
      for (const node of cluster.nodes.filter((x) => x.cloud === n.cloud)) expect(cidrContains(n.subnetCidr, node.privateIp)).toBe(true);
    }
  });

  it('opens exactly the seed firewall ports per role on every cloud, as the clouds report them', async () => {
    for (const cloud of CLOUDS) {
      const fw = await providers[cloud].describeFirewall(await networkStatus(cloud));
      expect({ cloud, master: ruleKeys(fw.master), worker: ruleKeys(fw.worker) }).toEqual({ cloud, master: ruleKeys(FIREWALL_PLAN.master), worker: ruleKeys(FIREWALL_PLAN.worker) });
    }
  });

  it('tags every resource in the sandbox with the cluster UUID', async () => {
    const all = await sandboxResources(stack.adminUrl);
    expect(all.length).toBeGreaterThan(20);
    // Azure creates a VM's OS disk implicitly and gives it none of the VM's tags (ARM behaviour); it is deleted with
    // its VM (deleteOption Delete), and is named after it.
    const vmNames = cluster.nodes.map((n) => n.name);
    const untagged = all.filter((r) => r.tags[TAG_CLUSTER] !== clusterId);
    expect(untagged.filter((r) => !(r.cloud === 'azure' && r.kind === 'disk' && vmNames.some((v) => r.name?.startsWith(`${v}_OsDisk`))))).toEqual([]);
    expect(new Set(all.map((r) => r.cloud))).toEqual(new Set(CLOUDS));
    for (const cloud of CLOUDS) {
      // what the cloud reports is what Skyweave recorded: one VM per node, same ids
      const listed = await providers[cloud].listInstances(clusterId, (await networkStatus(cloud)).region);
      expect(listed.map((i) => i.id).sort()).toEqual(cluster.nodes.filter((n) => n.cloud === cloud).map((n) => n.instanceId).sort());
    }
  });

  it('orders the node-agent call-backs: register, then the first master initialises, then the others join', async () => {
    const ev = (await api.ok<{ items: EventItem[] }>('GET', `/v1/clusters/${clusterId}/events`)).items;
    const at = (reason: string, node: string) => ev.findIndex((e) => e.reason === reason && e.object === `node/${node}`);
    const master0 = cluster.nodes.find((n) => n.role === 'master' && n.name.endsWith('master-0'))!;
    expect(at('ControlPlaneInitialising', master0.name)).toBeGreaterThan(at('NodeRegistered', master0.name));
    for (const n of cluster.nodes) {
      // the launch is recorded once (a fast VM may register before the record lands: no order between the two)
      expect(ev.filter((e) => e.reason === 'InstanceLaunched' && e.object === `node/${n.name}`)).toHaveLength(1);
      expect(at('NodeRegistered', n.name)).toBeGreaterThanOrEqual(0);
      expect(at('NodeJoined', n.name)).toBeGreaterThan(at('NodeRegistered', n.name));
      if (n.id !== master0.id) {
        expect(at('NodeJoining', n.name)).toBeGreaterThan(at('NodeJoined', master0.name));
      }
    }
    expect(ev.findIndex((e) => e.reason === 'ClusterReady')).toBeGreaterThan(Math.max(...cluster.nodes.map((n) => at('NodeJoined', n.name))));
  });

  /** The VM's root folder in the sandbox, found by the node id in the agent config that its user-data wrote. */
  const vmRootOf = (nodeId: string): string => {
    for (const vm of readdirSync(stack.vmRoot)) {
      const cfg = path.join(stack.vmRoot, vm, 'fs/etc/skyweave/node-agent.json');
      if (existsSync(cfg) && (JSON.parse(readFileSync(cfg, 'utf8')) as { nodeId: string }).nodeId === nodeId) return path.join(stack.vmRoot, vm, 'fs');
    }
    throw new Error(`no VM found for node ${nodeId}`);
  };

  it('boots each VM from its user-data only: WireGuard first, then kubeadm init on the first master and kubeadm join elsewhere', () => {
    for (const n of cluster.nodes) {
      const root = vmRootOf(n.id);
      const commands = readFileSync(path.join(root, 'var/lib/skyweave/commands.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { argv: string[] }).argv);
      // one init or join; besides it, only a master's agent reading its certificates' expiry (kubeadm certs check-expiration)
      const kubeadm = commands.filter((a) => a[0] === 'kubeadm');
      const expiryReads = kubeadm.filter((a) => a[1] === 'certs' && a[2] === 'check-expiration');
      expect(kubeadm.filter((a) => !expiryReads.includes(a)).map((a) => a.slice(0, 2).join(' '))).toEqual([n.name.endsWith('master-0') ? 'kubeadm init' : 'kubeadm join']);
      if (!n.name.includes('-master-')) expect(expiryReads).toEqual([]);
      // the overlay is configured before the node joins (kubelet advertises its WireGuard address)
      const syncconf = commands.findIndex((a) => a[0] === 'wg' && a[1] === 'syncconf');
      expect(syncconf).toBeGreaterThanOrEqual(0);
      expect(syncconf).toBeLessThan(commands.findIndex((a) => a[0] === 'kubeadm'));
      expect(commands).toContainEqual(['ip', 'address', 'replace', expect.stringMatching(/^10\.4\.\d+\.\d+\/16$/), 'dev', 'wg0']);
      // the WireGuard private key stays on the node, and is in its wg(8) configuration
      const key = readFileSync(path.join(root, 'etc/wireguard/private.key'), 'utf8').trim();
      expect(readFileSync(path.join(root, 'etc/wireguard/wg0.conf'), 'utf8')).toContain(`PrivateKey = ${key}`);
    }
  });

  it('gives every node every other node as a WireGuard peer: same cloud over private IPs, other clouds over public IPs', async () => {
    const nodes = await stack.ds.getRepository(NodeEntity).findBy({ clusterId });
    const deadline = Date.now() + 15_000;
    for (const n of nodes) {
      const conf = path.join(vmRootOf(n.id), 'etc/wireguard/wg0.conf');
      // peers that registered after this node's first configuration arrive through the long poll
      let text = readFileSync(conf, 'utf8');
      while ((text.match(/\[Peer\]/g) ?? []).length < nodes.length - 1 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        text = readFileSync(conf, 'utf8');
      }
      for (const p of nodes.filter((x) => x.id !== n.id)) {
        const ip = p.cloud === n.cloud ? p.privateIp : p.publicIp;
        expect(text).toContain(`PublicKey = ${p.wireguardPublicKey}\nEndpoint = ${ip}:51820\nAllowedIPs = ${p.wireguardAddress}/32`);
      }
      expect(n.wireguardAddress).toMatch(/^10\.4\.0\.\d+$/);
    }
    expect(new Set(nodes.map((n) => n.wireguardAddress)).size).toBe(nodes.length);
  });

  it('refuses a bootstrap token on reuse', async () => {
    const n = cluster.nodes[1];
    const { bootstrapToken } = JSON.parse(readFileSync(path.join(vmRootOf(n.id), 'etc/skyweave/node-agent.json'), 'utf8')) as { bootstrapToken: string };
    const res = await fetch(`${stack.apiUrl}/agent/v1/nodes/${n.id}/register`, { method: 'POST', headers: { authorization: `Bearer ${bootstrapToken}`, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(401);
  });

  it('hides the cluster from another organisation', async () => {
    const other = await createOrganisation(stack.ds, 'globex');
    const them = new ApiClient(stack.apiUrl, other.apiKey);
    expect((await them.call('GET', `/v1/clusters/${clusterId}`)).status).toBe(404);
    expect((await them.call('GET', `/v1/clusters/${clusterId}/kubeconfig`)).status).toBe(404);
    expect((await them.ok<{ items: unknown[] }>('GET', '/v1/clusters')).items).toEqual([]);
  });

  it('serves a kubeconfig pointing at the first master', async () => {
    const r = await api.call<string>('GET', `/v1/clusters/${clusterId}/kubeconfig`);
    expect(r.status).toBe(200);
    const kc = parseYaml(r.body) as { clusters: { cluster: { server: string } }[]; 'current-context': string };
    const master0 = cluster.nodes.find((n) => n.name.endsWith('master-0'))!;
    expect(kc.clusters[0].cluster.server).toBe(`https://${master0.publicIp ?? master0.privateIp}:6443`);
    expect(kc['current-context']).toBe('e2e-admin');
    // kubectl reads it, and its CA is the one kubeadm got on master-0, which signed master-0's API server certificate
    const dir = mkdtempSync(path.join(tmpdir(), 'sw-kc-'));
    try {
      writeFileSync(path.join(dir, 'config'), r.body, { mode: 0o600 });
      const view = JSON.parse(execFileSync('kubectl', ['--kubeconfig', path.join(dir, 'config'), 'config', 'view', '--minify', '--raw', '-o', 'json'], { encoding: 'utf8' })) as { clusters: { cluster: { server: string; 'certificate-authority-data': string } }[] };
      expect(view.clusters[0].cluster.server).toBe(kc.clusters[0].cluster.server);
      const pki = path.join(vmRootOf(master0.id), 'etc/kubernetes/pki');
      expect(Buffer.from(view.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe(readFileSync(path.join(pki, 'ca.crt'), 'utf8'));
      execFileSync('openssl', ['verify', '-CAfile', path.join(pki, 'ca.crt'), path.join(pki, 'apiserver.crt')]);
      const sans = execFileSync('openssl', ['x509', '-noout', '-ext', 'subjectAltName', '-in', path.join(pki, 'apiserver.crt')], { encoding: 'utf8' });
      expect(sans).toContain(`IP Address:${master0.publicIp}`);
      expect(sans).toContain('IP Address:10.4.0.1');
      expect(sans).toContain('DNS:kubernetes.default.svc');
      // kubeadm got InitConfiguration + ClusterConfiguration on master-0, a JoinConfiguration pinned to that CA elsewhere
      expect(readFileSync(path.join(vmRootOf(master0.id), 'etc/kubernetes/kubeadm.yaml'), 'utf8')).toMatch(/kind: InitConfiguration[\s\S]*kind: ClusterConfiguration/);
      for (const n of cluster.nodes.filter((x) => x.id !== master0.id)) {
        expect(readFileSync(path.join(vmRootOf(n.id), 'etc/kubernetes/kubeadm.yaml'), 'utf8')).toMatch(/kind: JoinConfiguration[\s\S]*sha256:[0-9a-f]{64}/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  let intruder: { id: string; clusterId: string };
  it('refuses to finish the delete while a VM that is not the cluster\'s sits in its network, and deletes nothing of it', async () => {
    const aws = await networkStatus('aws');
    const otherCluster = randomUUID();
    const vm = await providers.aws.createInstance({
      clusterId: otherCluster, nodeId: randomUUID(), name: 'someone-elses-vm', role: 'worker', instanceType: 't3.medium', userData: '#cloud-config\n{}\n', network: aws,
    });
    intruder = { id: vm.id, clusterId: otherCluster };
    expect((await api.call('DELETE', `/v1/clusters/${clusterId}`)).status).toBe(202);
    // the delete is blocked, not failed: it stays Deleting, says which VM blocks it, and keeps retrying with backoff
    let blocked = await waitForPhase('Deleting');
    for (const deadline = Date.now() + 120_000; !blocked.conditions.some((c) => c.type === 'DeleteBlocked' && c.status === 'True') && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 250));
      blocked = await api.ok<ClusterView>('GET', `/v1/clusters/${clusterId}`);
    }
    expect(blocked.phase).toBe('Deleting');
    const cond = blocked.conditions.find((c) => c.type === 'DeleteBlocked');
    expect(cond?.status).toBe('True');
    expect(cond?.message).toContain(vm.id);
    expect((await providers.aws.getInstance(aws.region, vm.id))?.state).not.toBe('terminated');
    expect(await providers.aws.getNetwork(clusterId, aws.region)).not.toBeNull();
    // every VM of the cluster itself is gone (fastest teardown, no drain)
    for (const cloud of CLOUDS) expect(await providers[cloud].listInstances(clusterId, (await networkStatus(cloud)).region)).toEqual([]);
  });

  it('deletes cleanly once the foreign VM is gone, leaving zero resources in the sandbox', async () => {
    const aws = await networkStatus('aws');
    await providers.aws.terminateInstance(intruder.clusterId, aws.region, intruder.id);
    expect((await api.call('DELETE', `/v1/clusters/${clusterId}`)).status).toBe(202);
    await waitForPhase('Deleted');
    expect(await sandboxResources(stack.adminUrl)).toEqual([]);
    expect((await api.call('GET', `/v1/clusters/${clusterId}`)).status).toBe(200);
    expect((await api.ok<{ items: unknown[] }>('GET', '/v1/clusters')).items).toEqual([]);
  });
});
