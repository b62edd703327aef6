import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CLOUDS, CloudId } from '@skyweave/domain';
import { CloudCredentials, CloudEndpoints, networkSpecFor } from '@skyweave/cloud-adapters';
import { OutOfBand, outOfBand } from '@skyweave/cloud-adapters/src/testing/out-of-band';
import { NodeEntity } from '@skyweave/persistence';
import { ApiClient, sandboxAccount } from '@skyweave/tools/stack/api';
import { KubectlNode, kubectl, nodeReady, waitForNodes } from '@skyweave/tools/stack/kubectl';
import { ensureLocalServices } from '@skyweave/tools/stack/services';
import { Stack, startStack } from '@skyweave/tools/stack/stack';
import { waitFor } from '../support/wait';
import { CNI_CONFIG_PATH } from '@skyweave/node-agent/src/cni';
import { KUBELET_CLIENT_PEM_PATH } from '@skyweave/node-agent/src/kubelet-api';

interface NodeKubernetes { kubeNodeName: string; ready: string; unschedulable: boolean; pods: number; requestedCpuMillicores: number; allocatableCpuMillicores: number }
interface NodeView { id: string; name: string; cloud: CloudId; role: string; phase: string; instanceId: string | null; kubernetes: NodeKubernetes | null }
interface ClusterView { id: string; phase: string; nodes: NodeView[]; pendingPods: number | null; conditions: { type: string; status: string; reason: string }[] }
interface ReconcileRecord { id: string; finishedAt: string | null; found: string[]; changed: string[] }
interface PodList { items: { metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string }; spec: { nodeName?: string }; status: { phase?: string } }[] }

/**
 * A sandbox cluster's Kubernetes API, end to end (issue 12): every service a separate process, the VMs' kubeadm making
 * the control plane, and the real kubectl with the kubeconfig `GET /v1/clusters/{id}/kubeconfig` hands out. The node
 * grace period and the not-ready toleration are shortened (4 s and 5 s instead of 40 s and 300 s) so that a lost node's
 * pods move within the test.
 */
describe('every sandbox cluster answers kubectl', () => {
  let stack: Stack;
  let api: ApiClient;
  let clusterId: string;
  let dir: string;
  let kubeconfig: string;
  const oob = {} as Record<CloudId, OutOfBand>;

  const get = () => api.ok<ClusterView>('GET', `/v1/clusters/${clusterId}`);
  const k = async (...args: string[]) => {
    const r = await kubectl(kubeconfig, args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited with ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const pods = async () => (JSON.parse(await k('get', 'pods', '-l', 'app=web', '-o', 'json')) as PodList).items;
  /**
   * `count` pods of the deployment Running, none of them on `avoid`. Pods being deleted are left out unless
   * `terminating` is false: an unreachable node's evicted pods stay Terminating until its kubelet returns (or the Node
   * is deleted), as on a real cluster.
   */
  const running = (count: number, avoid: string[] = [], o: { terminating?: boolean } = {}) => waitFor(`${count} web pods Running${avoid.length ? ` off ${avoid.join(', ')}` : ''}`, async () => {
    const ps = (await pods()).filter((p) => o.terminating === false || !p.metadata.deletionTimestamp);
    const ok = ps.length === count && ps.every((p) => p.status.phase === 'Running' && p.spec.nodeName && !avoid.includes(p.spec.nodeName));
    return ok && ps;
  });

  beforeAll(async () => {
    await ensureLocalServices(() => undefined);
    stack = await startStack({
      bootMs: 300,
      kube: { nodeGraceSeconds: 4, tolerationSeconds: 5 },
      env: { SKYWEAVE_RECONCILE_POLL_SECONDS: '1', SKYWEAVE_REDRIVE_SECONDS: '1' },
    });
    api = new ApiClient(stack.apiUrl, stack.apiKey);
    const endpoints = JSON.parse(readFileSync(path.join(stack.workDir, 'endpoints.json'), 'utf8')) as CloudEndpoints;
    for (const cloud of CLOUDS) {
      const c = await sandboxAccount(stack.adminUrl, cloud);
      await api.ok('POST', '/v1/cloud-credentials', { cloud, credentials: c });
      oob[cloud] = outOfBand({ cloud, [cloud]: c } as unknown as CloudCredentials, endpoints);
    }
    dir = mkdtempSync(path.join(tmpdir(), 'sw-kube-e2e-'));
    kubeconfig = path.join(dir, 'kubeconfig');
  });
  afterAll(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists every node Ready with its cloud, instance type and zone, masters tainted, through the kubeconfig the API hands out', async () => {
    const created = await api.ok<ClusterView>('POST', '/v1/clusters', {
      name: 'kube', region: 'us-east', clouds: ['aws', 'gcp', 'azure'], controlPlane: { cloud: 'aws', count: 1 },
      workers: [{ cloud: 'aws', count: 1 }, { cloud: 'gcp', count: 1 }, { cloud: 'azure', count: 1 }],
    });
    clusterId = created.id;
    const ready = await waitFor('the cluster Ready', async () => {
      const c = await get();
      return c.phase === 'Ready' && c;
    });
    const res = await api.call<string>('GET', `/v1/clusters/${clusterId}/kubeconfig`);
    expect(res.status).toBe(200);
    writeFileSync(kubeconfig, res.body, { mode: 0o600 });
    const kc = parseYaml(res.body) as { clusters: { cluster: { server: string; 'proxy-url'?: string; 'tls-server-name'?: string } }[] };
    const master = ready.nodes.find((n) => n.role === 'master')!;
    expect(kc.clusters[0].cluster['proxy-url']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // verified as `kubernetes`, a name every master's certificate has (a replaced master-0's new IP is in none)
    expect(kc.clusters[0].cluster['tls-server-name']).toBe('kubernetes');

    const nodes = await waitForNodes(kubeconfig, (ns) => ns.length === 4 && ns.every(nodeReady), 30_000);
    const byName = new Map(nodes.map((n) => [n.metadata.name, n]));
    for (const n of ready.nodes) {
      const kn = byName.get(n.name) as KubectlNode;
      expect(kn.metadata.labels).toMatchObject({ 'skyweave.io/cloud': n.cloud, 'skyweave.io/node-id': n.id, 'kubernetes.io/hostname': n.name });
      expect(kn.metadata.labels?.['topology.kubernetes.io/region']).toBe(networkSpecFor(clusterId, 'us-east', n.cloud).region);
      if (n.role === 'master') {
        expect(kn.spec.taints).toEqual([{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
        expect(kn.metadata.labels).toHaveProperty(['node-role.kubernetes.io/control-plane'], '');
      } else {
        expect(kn.spec.taints ?? []).toEqual([]);
      }
    }
    expect(byName.get(master.name)?.metadata.labels?.['node.kubernetes.io/instance-type']).toBe('t3.medium');
    expect(byName.get(ready.nodes.find((n) => n.cloud === 'azure')!.name)?.metadata.labels?.['topology.kubernetes.io/zone']).toBe('eastus-1');
    // the wide table, as a user runs it
    const wide = await k('get', 'nodes', '-o', 'wide');
    expect(wide.split('\n')[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP/);
    expect(wide).toMatch(new RegExp(`${master.name}\\s+Ready\\s+control-plane`));

    // each node's agent read its pod range from its Node (in-process, with kubelet's client certificate, through the
    // sandbox's network: node-agent kubelet-api.ts) and reported it: the platform's mesh carries the ranges Kubernetes assigned
    await waitFor('every pod range reported', async () => {
      const rows = await stack.ds.getRepository(NodeEntity).findBy({ clusterId });
      return rows.every((r) => r.podCidr === byName.get(r.name)?.spec.podCIDR) && rows;
    }, 60_000);
    expect(new Set(nodes.map((n) => n.spec.podCIDR)).size).toBe(4);
    // and each set up its pod network from that range: the CNI conflist where containerd reads it (node-agent cni.ts),
    // written by the agent into its VM's file system
    for (const n of ready.nodes) {
      const file = path.join(stack.vmRoot, String(n.instanceId).replace(/[^A-Za-z0-9._-]/g, '_'), 'fs', CNI_CONFIG_PATH);
      const conf = await waitFor(`${n.name}'s CNI configuration`, async () => {
        const c = JSON.parse(readFileSync(file, 'utf8')) as { plugins: { type: string; ipam?: { ranges: { subnet: string }[][] } }[] };
        return c.plugins[0].ipam?.ranges[0][0].subnet === byName.get(n.name)?.spec.podCIDR && c;
      }, 30_000);
      expect(conf.plugins.map((p) => p.type)).toEqual(['bridge', 'portmap']);
      // read without a kubectl process: kubelet's credential files are where kubelet keeps them, and no `kubectl get` ran
      const fsRoot = path.join(stack.vmRoot, String(n.instanceId).replace(/[^A-Za-z0-9._-]/g, '_'), 'fs');
      expect(readFileSync(path.join(fsRoot, KUBELET_CLIENT_PEM_PATH), 'utf8')).toMatch(/-----BEGIN CERTIFICATE-----[\s\S]+-----BEGIN EC PRIVATE KEY-----/);
      const commands = readFileSync(path.join(fsRoot, 'var/lib/skyweave/commands.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { argv: string[] }).argv);
      expect(commands.filter((a) => a[0] === 'kubectl' && a.includes('get'))).toEqual([]);
    }
  });

  it('runs a deployment of 20 pods on the workers only; cordon and drain move them off a node', async () => {
    await k('create', 'deployment', 'web', '--image=nginx', '--replicas=20');
    await k('set', 'resources', 'deployment', 'web', '--requests=cpu=50m,memory=64Mi');
    const masters = (await get()).nodes.filter((n) => n.role === 'master').map((n) => n.name);
    await running(20, masters);
    const worker = (await get()).nodes.find((n) => n.role === 'worker' && n.cloud === 'aws')!.name;
    await k('cordon', worker);
    expect(await k('drain', worker, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=60s')).toMatch(/drained/);
    const after = await running(20, [...masters, worker]);
    expect(new Set(after.map((p) => p.spec.nodeName)).size).toBe(2);
    // the platform's own view (kube-watcher, its own credential): the API reachable, the cordoned node, the pods per node
    const seen = await waitFor('the platform to see the drained node', async () => {
      const c = await get();
      const reachable = c.conditions.find((x) => x.type === 'KubernetesApiReachable')?.status === 'True';
      const drained = c.nodes.find((n) => n.name === worker)?.kubernetes;
      const total = c.nodes.reduce((sum, n) => sum + (n.kubernetes?.pods ?? 0), 0);
      return reachable && drained?.unschedulable && drained.pods === 0 && total === 20 && c.pendingPods === 0 && c;
    }, 30_000);
    for (const n of seen.nodes) {
      expect(n.kubernetes).toMatchObject({ kubeNodeName: n.name, ready: 'True' });
      if (n.role === 'master') expect(n.kubernetes?.pods).toBe(0);
      else if (n.name !== worker) expect(n.kubernetes?.requestedCpuMillicores).toBe(50 * (n.kubernetes?.pods ?? 0));
    }
    await k('uncordon', worker);
    // pods that fit nowhere are pending, as an autoscaler would read them
    const huge = path.join(dir, 'huge.yaml');
    writeFileSync(huge, [
      'apiVersion: apps/v1', 'kind: Deployment', 'metadata: { name: huge }',
      'spec:', '  replicas: 2', '  selector: { matchLabels: { app: huge } }',
      '  template:', '    metadata: { labels: { app: huge } }',
      '    spec: { containers: [{ name: c, image: nginx, resources: { requests: { cpu: "64" } } }] }', '',
    ].join('\n'));
    await k('apply', '-f', huge);
    await waitFor('2 pending pods in the platform\'s view', async () => (await get()).pendingPods === 2, 30_000);
    await k('delete', 'deployment', 'huge');
    const node = JSON.parse(await k('get', 'node', worker, '-o', 'json')) as KubectlNode;
    expect(node.spec.unschedulable).toBeUndefined();
  });

  it('a worker VM terminated out of band turns its Node NotReady, its pods move, and the reconciler brings it back', async () => {
    const victim = (await get()).nodes.find((n) => n.role === 'worker' && n.cloud === 'gcp')!;
    const events = async () => (await api.ok<{ items: { id: string; reason: string; object: string | null }[] }>('GET', `/v1/clusters/${clusterId}/events?limit=1000`)).items;
    const cursor = BigInt((await events()).at(-1)?.id ?? '0');
    const region = networkSpecFor(clusterId, 'us-east', 'gcp').region;
    await oob.gcp.terminateInstance(region, victim.instanceId as string);
    await waitForNodes(kubeconfig, (ns) => ns.some((n) => n.metadata.name === victim.name && !nodeReady(n)), 30_000);
    const masters = (await get()).nodes.filter((n) => n.role === 'master').map((n) => n.name);
    // after the toleration the node's pods are evicted (Terminating: no kubelet confirms) and the ReplicaSet makes new ones elsewhere
    await running(20, [...masters, victim.name]);
    expect((await pods()).filter((p) => p.metadata.deletionTimestamp).every((p) => p.spec.nodeName === victim.name)).toBe(true);
    // the reconciler replaces the VM; its kubelet registers the Node again
    const before = new Set((await api.ok<{ items: ReconcileRecord[] }>('GET', `/v1/clusters/${clusterId}/reconciles?limit=200`)).items.map((r) => r.id));
    await waitFor('the reconcile request taken', async () => (await api.ok<{ status: string }>('POST', `/v1/clusters/${clusterId}/reconcile`)).status === 'scheduled');
    const record = await waitFor('a full reconcile recorded', async () => (await api.ok<{ items: ReconcileRecord[] }>('GET', `/v1/clusters/${clusterId}/reconciles?limit=200`)).items.find((r) => !before.has(r.id) && r.finishedAt !== null));
    expect(record.found.join('\n')).toContain(`the VM of worker ${victim.name}`);
    // (a GCP VM made again keeps its name, so its instance id: the launch event tells the new one)
    await waitFor(`${victim.name} replaced and joined`, async () => {
      const launched = (await events()).some((e) => BigInt(e.id) > cursor && e.reason === 'InstanceLaunched' && e.object === `node/${victim.name}`);
      const n = (await get()).nodes.find((x) => x.id === victim.id);
      return launched && n?.phase === 'Joined' && n;
    });
    await waitForNodes(kubeconfig, (ns) => ns.length === 4 && ns.every(nodeReady), 30_000);
    // the returning kubelet finishes the evicted pods' deletion: 20 pods in all again, none Terminating
    await running(20, masters, { terminating: false });
  });

  it('removing a worker drains it and deletes its Node: its pods run elsewhere and kubectl no longer lists it', async () => {
    const c = await get();
    const leaving = c.nodes.find((n) => n.role === 'worker' && n.cloud === 'azure')!;
    const masters = c.nodes.filter((n) => n.role === 'master').map((n) => n.name);
    expect((await api.call('DELETE', `/v1/clusters/${clusterId}/nodes/${leaving.id}`)).status).toBe(202);
    await waitFor(`${leaving.name} terminated`, async () => (await get()).nodes.find((n) => n.id === leaving.id)?.phase === 'Terminated');
    const nodes = await waitForNodes(kubeconfig, (ns) => ns.length === 3 && ns.every(nodeReady), 30_000);
    expect(nodes.map((n) => n.metadata.name)).not.toContain(leaving.name);
    await running(20, [...masters, leaving.name], { terminating: false });
  });

  it('the control plane goes with the cluster: deleting it leaves no API server behind', async () => {
    await api.ok('DELETE', `/v1/clusters/${clusterId}`);
    await waitFor('the cluster Deleted', async () => (await get()).phase === 'Deleted');
    const state = (await (await fetch(`${stack.adminUrl}/admin/kubernetes`)).json()) as { controlPlanes: unknown[] };
    expect(state.controlPlanes).toEqual([]);
    const r = await kubectl(kubeconfig, ['get', 'nodes'], 20_000);
    expect(r.code).not.toBe(0);
  });
});
