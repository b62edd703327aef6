import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CloudId } from '@skyweave/domain';
import { CloudCredentials, CloudEndpoints, networkSpecFor } from '@skyweave/cloud-adapters';
import { OutOfBand, outOfBand } from '@skyweave/cloud-adapters/src/testing/out-of-band';
import { SANDBOX_PROXY_ENV } from '@skyweave/cloud-emulator/src/core/kube';
import { HAPROXY_CONFIG_PATH, HOSTS_PATH } from '@skyweave/node-agent/src/apiserver-proxy';
import { ApiClient, sandboxAccount } from '@skyweave/tools/stack/api';
import { KubectlNode, kubectl, nodeReady, waitForNodes } from '@skyweave/tools/stack/kubectl';
import { ensureLocalServices } from '@skyweave/tools/stack/services';
import { Stack, startStack } from '@skyweave/tools/stack/stack';
import { waitFor } from '../support/wait';

interface NodeView { id: string; name: string; cloud: CloudId; role: string; phase: string; instanceId: string | null; publicIp: string | null }
interface ClusterView { id: string; phase: string; nodes: NodeView[] }
interface ReconcileRecord { id: string; finishedAt: string | null; found: string[] }
interface ControlPlanes { controlPlanes: { masters: { nodeName: string; instanceId: string }[] }[] }
interface Lease { spec: { renewTime: string } }

const ENDPOINT = 'https://control-plane.skyweave.internal:6444';

/**
 * A control-plane endpoint that survives a master (issue 11, item 5), end to end: a three-master cluster whose every
 * node dials `control-plane.skyweave.internal:6444`, its own HAProxy to every master over the mesh. master-0's VM is
 * terminated out of band; the sandbox then serves the API on masters 1 and 2 only (docs/kube-sandbox.md), so every
 * call below that succeeds went through a live master: kubectl on each remaining VM with its own kubelet.conf (as the
 * VM's processes dial, through its hosts file and HAProxy configuration), every remaining node's Lease renewed (the
 * sandbox's kubelets heartbeat only while their kubelet.conf reaches a live master) and Ready past the grace period,
 * and the user's kubeconfig fetched again. Then the reconciler replaces master-0, which rejoins through its own proxy.
 */
describe('a control-plane endpoint that survives a master', () => {
  let stack: Stack;
  let api: ApiClient;
  let clusterId: string;
  let dir: string;
  const oob = {} as Record<CloudId, OutOfBand>;

  const get = () => api.ok<ClusterView>('GET', `/v1/clusters/${clusterId}`);
  const vmFs = (n: NodeView) => path.join(stack.vmRoot, String(n.instanceId).replace(/[^A-Za-z0-9._-]/g, '_'), 'fs');
  /** kubectl as `n`'s VM runs it: its kubelet.conf, its network (the sandbox image's proxy setting on its disk). */
  const onVm = async (n: NodeView, args: string[]) => {
    const conf = path.join(dir, `${n.name}-${String(n.instanceId).replace(/[^A-Za-z0-9._-]/g, '_')}.conf`);
    copyFileSync(path.join(vmFs(n), 'etc/kubernetes/kubelet.conf'), conf);
    const proxy = /^HTTPS_PROXY=(\S+)$/m.exec(readFileSync(path.join(vmFs(n), SANDBOX_PROXY_ENV), 'utf8'))?.[1] ?? '';
    return kubectl(conf, args, 30_000, { HTTPS_PROXY: proxy, https_proxy: proxy });
  };
  /** The user's kubeconfig as the API hands it out now, written to a file. */
  const userKubeconfig = async (name: string) => {
    const res = await api.call<string>('GET', `/v1/clusters/${clusterId}/kubeconfig`);
    expect(res.status).toBe(200);
    const file = path.join(dir, name);
    writeFileSync(file, res.body, { mode: 0o600 });
    return { file, server: (parseYaml(res.body) as { clusters: { cluster: { server: string } }[] }).clusters[0].cluster.server };
  };
  const leases = async (kubeconfig: string) => {
    const r = await kubectl(kubeconfig, ['get', 'leases', '-n', 'kube-node-lease', '-o', 'json']);
    if (r.code !== 0) throw new Error(`kubectl get leases: ${r.stderr}`);
    return new Map((JSON.parse(r.stdout) as { items: (Lease & { metadata: { name: string } })[] }).items.map((l) => [l.metadata.name, l.spec.renewTime]));
  };

  beforeAll(async () => {
    await ensureLocalServices(() => undefined);
    stack = await startStack({
      bootMs: 300,
      kube: { nodeGraceSeconds: 4, tolerationSeconds: 5 },
      env: { SKYWEAVE_RECONCILE_POLL_SECONDS: '1', SKYWEAVE_REDRIVE_SECONDS: '1' },
    });
    api = new ApiClient(stack.apiUrl, stack.apiKey);
    const endpoints = JSON.parse(readFileSync(path.join(stack.workDir, 'endpoints.json'), 'utf8')) as CloudEndpoints;
    for (const cloud of ['aws', 'gcp'] as const) {
      const c = await sandboxAccount(stack.adminUrl, cloud);
      await api.ok('POST', '/v1/cloud-credentials', { cloud, credentials: c });
      oob[cloud] = outOfBand({ cloud, [cloud]: c } as unknown as CloudCredentials, endpoints);
    }
    dir = mkdtempSync(path.join(tmpdir(), 'sw-cp-e2e-'));
  });
  afterAll(async () => {
    if (clusterId) {
      await api.call('DELETE', `/v1/clusters/${clusterId}`).catch(() => undefined);
      await waitFor('the cluster Deleted', async () => (await get()).phase === 'Deleted', 120_000).catch(() => undefined);
    }
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every node dials the endpoint through its own proxy to all three masters', async () => {
    const created = await api.ok<ClusterView>('POST', '/v1/clusters', {
      name: 'ha-cp', region: 'us-east', clouds: ['aws', 'gcp'], controlPlane: { cloud: 'aws', count: 3 },
      workers: [{ cloud: 'aws', count: 1 }, { cloud: 'gcp', count: 1 }],
    });
    clusterId = created.id;
    const ready = await waitFor('the cluster Ready', async () => {
      const c = await get();
      return c.phase === 'Ready' && c;
    });
    const user = await userKubeconfig('user-1');
    const master0 = ready.nodes.find((n) => n.role === 'master' && n.name.endsWith('master-0'))!;
    expect(user.server).toBe(`https://${master0.publicIp}:6443`);
    await waitForNodes(user.file, (ns) => ns.length === 5 && ns.every(nodeReady), 30_000);
    for (const n of ready.nodes) {
      const fs = vmFs(n);
      // kubeadm wrote the endpoint into the node's kubelet.conf; the agent mapped its name and configured HAProxy
      expect(readFileSync(path.join(fs, 'etc/kubernetes/kubelet.conf'), 'utf8')).toContain(`server: ${ENDPOINT}`);
      expect(readFileSync(path.join(fs, HOSTS_PATH), 'utf8')).toMatch(/^127\.0\.0\.1 control-plane\.skyweave\.internal /m);
      const servers = [...readFileSync(path.join(fs, HAPROXY_CONFIG_PATH), 'utf8').matchAll(/^ {2}server (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
      expect(servers).toEqual(['master-0 10.4.0.1:6443', 'master-1 10.4.0.2:6443', 'master-2 10.4.0.3:6443']);
      const self = await onVm(n, ['get', '--raw', `/api/v1/nodes/${n.name}`]);
      expect(self.stderr).toBe('');
      expect((JSON.parse(self.stdout) as KubectlNode).metadata.name).toBe(n.name);
    }
  });

  it('master-0 terminated: every other node still reaches the API through the endpoint, heartbeats, stays Ready; the user\'s kubeconfig names a live master', async () => {
    const before = await get();
    const master0 = before.nodes.find((n) => n.role === 'master' && n.name.endsWith('master-0'))!;
    const others = before.nodes.filter((n) => n.id !== master0.id);
    const oldUser = await userKubeconfig('user-old');
    await oob.aws.terminateInstance(networkSpecFor(clusterId, 'us-east', 'aws').region, master0.instanceId as string);
    // the sandbox serves the API only on live masters: master-0's API server is gone
    await waitFor('master-0\'s API server stopped', async () => {
      const state = (await (await fetch(`${stack.adminUrl}/admin/kubernetes`)).json()) as ControlPlanes;
      const masters = state.controlPlanes.flatMap((c) => c.masters.map((m) => m.nodeName));
      return masters.length === 2 && !masters.includes(master0.name);
    }, 60_000);
    // the kubeconfig handed out before names master-0's address, where nothing answers any more
    expect((await kubectl(oldUser.file, ['get', '--raw', '/version'], 20_000)).code).not.toBe(0);
    // handed out now, it names a live master (the platform sees master-0's Node NotReady after the grace period)
    const user = await waitFor('the kubeconfig to name a live master', async () => {
      const u = await userKubeconfig('user-2');
      return u.server !== oldUser.server && (await kubectl(u.file, ['get', '--raw', '/version'], 20_000)).code === 0 && u;
    }, 60_000);
    expect(others.filter((n) => n.role === 'master').map((n) => `https://${n.publicIp}:6443`)).toContain(user.server);

    // every other node, as its VM: kubectl through its kubelet.conf's endpoint
    for (const n of others) {
      const r = await onVm(n, ['get', '--raw', `/api/v1/nodes/${n.name}`]);
      expect({ node: n.name, code: r.code, stderr: r.stderr }).toEqual({ node: n.name, code: 0, stderr: '' });
    }
    // every other node's kubelet keeps renewing its Lease through the endpoint; master-0's does not
    const first = await leases(user.file);
    await new Promise((r) => setTimeout(r, 6000));
    const second = await leases(user.file);
    for (const n of others) expect({ node: n.name, renewed: (second.get(n.name) ?? '') > (first.get(n.name) ?? '') }).toEqual({ node: n.name, renewed: true });
    expect(second.get(master0.name)).toBe(first.get(master0.name));
    // past the node grace period (4 s here): the others Ready, master-0 not
    const nodes = await waitForNodes(user.file, (ns) => ns.length === 5 && ns.filter(nodeReady).length === 4, 30_000);
    expect(nodes.filter((n) => !nodeReady(n)).map((n) => n.metadata.name)).toEqual([master0.name]);
  });

  it('the reconciler replaces master-0, which rejoins the control plane through its own proxy; all five nodes Ready', async () => {
    const master0 = (await get()).nodes.find((n) => n.role === 'master' && n.name.endsWith('master-0'))!;
    const before = new Set((await api.ok<{ items: ReconcileRecord[] }>('GET', `/v1/clusters/${clusterId}/reconciles?limit=200`)).items.map((r) => r.id));
    await waitFor('the reconcile request taken', async () => (await api.ok<{ status: string }>('POST', `/v1/clusters/${clusterId}/reconcile`)).status === 'scheduled');
    const record = await waitFor('a full reconcile recorded', async () => (await api.ok<{ items: ReconcileRecord[] }>('GET', `/v1/clusters/${clusterId}/reconciles?limit=200`)).items.find((r) => !before.has(r.id) && r.finishedAt !== null));
    expect(record.found.join('\n')).toContain(`the VM of master ${master0.name}`);
    const replaced = await waitFor(`${master0.name} replaced and joined`, async () => {
      const n = (await get()).nodes.find((x) => x.id === master0.id);
      return n?.phase === 'Joined' && n.instanceId !== master0.instanceId && n;
    }, 180_000);
    const user = await userKubeconfig('user-3');
    await waitForNodes(user.file, (ns) => ns.length === 5 && ns.every(nodeReady), 60_000);
    expect(readFileSync(path.join(vmFs(replaced), 'etc/kubernetes/kubelet.conf'), 'utf8')).toContain(`server: ${ENDPOINT}`);
    const self = await onVm(replaced, ['get', '--raw', `/api/v1/nodes/${replaced.name}`]);
    expect({ code: self.code, stderr: self.stderr }).toEqual({ code: 0, stderr: '' });
    const state = (await (await fetch(`${stack.adminUrl}/admin/kubernetes`)).json()) as ControlPlanes;
    expect(state.controlPlanes.flatMap((c) => c.masters.map((m) => m.nodeName)).sort()).toEqual((await get()).nodes.filter((n) => n.role === 'master').map((n) => n.name).sort());
  });
});
