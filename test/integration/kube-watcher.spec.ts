import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import pino from 'pino';
import { ADDON_IMAGES, apiServerSans, generateClusterPki, issueApiServerCertificate, type ClusterPki } from '@skyweave/bootstrap';
import { ClusterEntity, ClusterViewRepository, KubeStatusRepository, NodeEntity, Repositories, SecretBox, orgScope, type OrgScope } from '@skyweave/persistence';
import { startKubeApiServer, type KubeApiServer } from '@skyweave/kube-sandbox/src/server';
import { MemoryKubeStore } from '@skyweave/kube-sandbox/src/store';
import type { KubeObject } from '@skyweave/kube-sandbox/src/types';
import { KubeWatcher, type KubeWatcherSettings } from '@skyweave/kube-view';
import { ClustersService } from '@skyweave/api-gateway/src/clusters.service';
import { createOrganisation } from '@skyweave/tools/bootstrap-org';
import { freshDatabase } from '../support/db';
import { nodeManifest, until } from '../kube/support';

/**
 * Issue 12, item 4: apps/kube-watcher against real parts — PostgreSQL, in-process sandbox Kubernetes API servers
 * (apps/kube-sandbox, TLS with certificates made by libs/bootstrap, client-certificate authentication), the real
 * @kubernetes/client-node informers, and a real HTTP CONNECT proxy. The test writes Nodes and Pods into the API
 * servers' stores as kubelets and the scheduler would.
 */
const NODES = { group: '', resource: 'nodes' };
const PODS = { group: '', resource: 'pods' };
const log = pino({ level: 'silent' });

/** A sandbox API server whose serving certificate names 127.0.0.1 and `masterIp`, trusting client certificates of `clientCa`. */
async function apiServer(pki: ClusterPki, o: { clientCa?: string; port?: number; store?: MemoryKubeStore; masterIp?: string } = {}): Promise<KubeApiServer> {
  const cert = await issueApiServerCertificate({ certificate: pki.caCertificate, key: pki.caKey }, apiServerSans({ nodeName: 'master-0', masterAddresses: ['127.0.0.1', o.masterIp ?? '10.255.0.1'] }));
  return startKubeApiServer({ port: o.port ?? 0, host: '127.0.0.1', tlsCert: cert.certificate, tlsKey: cert.key, clientCa: o.clientCa ?? pki.caCertificate, store: o.store ?? new MemoryKubeStore() });
}

const portOf = (url: string) => Number(new URL(url).port);

function kubeNode(name: string, nodeId: string, o: { cpu?: string; memory?: string } = {}): KubeObject {
  const n = nodeManifest(name, '10.0.0.10') as unknown as KubeObject & { metadata: { labels: Record<string, string> }; status: { allocatable: Record<string, string> } };
  n.metadata.labels['skyweave.io/node-id'] = nodeId;
  n.status.allocatable = { cpu: o.cpu ?? '1930m', memory: o.memory ?? '3043328Ki', pods: '110' };
  return n;
}

function kubePod(name: string, o: { node?: string; cpu?: string; memory?: string; unschedulable?: boolean } = {}): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' },
    spec: { ...(o.node ? { nodeName: o.node } : {}), containers: [{ name: 'app', image: 'nginx', resources: { requests: { cpu: o.cpu ?? '100m', memory: o.memory ?? '128Mi' } } }] },
    status: {
      phase: o.node ? 'Running' : 'Pending',
      conditions: o.unschedulable ? [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient cpu.' }] : [],
    },
  } as KubeObject;
}

async function patch(store: MemoryKubeStore, key: typeof NODES, name: string, fn: (o: Record<string, unknown>) => void): Promise<void> {
  const o = (await store.get(key, '', name)) as unknown as Record<string, unknown>;
  fn(o);
  await store.update(key, o as unknown as KubeObject);
}

const settings = (replica: string, over: Partial<KubeWatcherSettings> = {}): KubeWatcherSettings => ({
  replica, flushIntervalMs: 200, notReadyThresholdMs: 1500, pollIntervalMs: 300, leaseSeconds: 3, resyncMs: 0, backoffBaseMs: 100, backoffCapMs: 400, connectTimeoutMs: 5000, ...over,
});

describe('kube-watcher (issue 12, item 4)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let organisationId: string;
  let scope: OrgScope;
  let box: SecretBox;
  let repos: Repositories;
  let views: ClusterViewRepository;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    db = await freshDatabase();
    organisationId = (await createOrganisation(db.ds, 'kw')).organisationId;
    scope = orgScope(organisationId);
    box = new SecretBox(randomBytes(32).toString('base64'));
    repos = new Repositories(db.ds);
    views = new ClusterViewRepository(db.ds);
  }, 60_000);
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await db?.drop();
  });

  /** A Ready cluster with the PKI's CA (key sealed) and master-0 at `masterIp`, plus `workers` Joined workers. */
  async function cluster(pki: ClusterPki, o: { masterIp?: string; workers?: number } = {}): Promise<{ id: string; nodes: { id: string; name: string }[] }> {
    const id = randomUUID();
    const name = `c-${id.slice(0, 8)}`;
    await db.ds.getRepository(ClusterEntity).insert({
      id, organisationId, name, phase: 'Ready', conditions: [], deletionRequestedAt: null, caCertificate: pki.caCertificate, caKeySealed: box.seal(pki.caKey),
      spec: { name, region: 'us-east', clouds: ['aws'], controlPlane: { cloud: 'aws', count: 1, instanceType: 't3.medium' }, workers: [{ cloud: 'aws', count: o.workers ?? 2, instanceType: 't3.medium' }], kubernetesVersion: '1.32.0' },
    });
    const nodes: { id: string; name: string; role: 'master' | 'worker'; ordinal: number; privateIp: string }[] = [{ id: randomUUID(), name: `${name}-master-0`, role: 'master', ordinal: 0, privateIp: o.masterIp ?? '10.255.0.1' }];
    for (let i = 0; i < (o.workers ?? 2); i++) nodes.push({ id: randomUUID(), name: `${name}-worker-${i}`, role: 'worker' as const, ordinal: i, privateIp: `10.255.1.${i + 1}` });
    await db.ds.getRepository(NodeEntity).insert(nodes.map((n) => ({ ...n, organisationId, clusterId: id, cloud: 'aws' as const, instanceType: 't3.medium', phase: 'Joined' as const, kubernetesVersion: '1.32.0' })));
    return { id, nodes };
  }

  /** A watcher replica; `resolve`: cluster id → API server URLs (tests' servers listen on 127.0.0.1), else the production resolver. */
  function watcher(replica: string, resolve: Record<string, string | string[]> | undefined, over: Partial<KubeWatcherSettings> = {}, proxyUrl?: string): KubeWatcher {
    const w = new KubeWatcher({
      repo: new KubeStatusRepository(db.ds), box, log, settings: settings(replica, over), proxyUrl,
      ...(resolve ? { resolveServers: (c) => [resolve[c.id] ?? []].flat() } : {}),
    });
    closers.push(() => w.stop());
    return w;
  }

  const view = (id: string) => views.find(scope, id);
  const condition = async (id: string) => (await view(id))?.conditions.find((c) => c.type === 'KubernetesApiReachable');
  const notReadyEvents = async (id: string) => (await repos.events.list(scope, id, undefined, 200)).filter((e) => e.reason === 'NodeNotReady');

  describe('one cluster, two replicas', () => {
    let pki: ClusterPki;
    let store: MemoryKubeStore;
    let server: KubeApiServer;
    let c: Awaited<ReturnType<typeof cluster>>;
    const resolve: Record<string, string> = {};
    let a: KubeWatcher;
    let b: KubeWatcher;

    beforeAll(async () => {
      pki = await generateClusterPki();
      store = new MemoryKubeStore();
      server = await apiServer(pki, { store });
      closers.push(() => server.close());
      c = await cluster(pki);
      resolve[c.id] = server.url;
      // master-0 and worker-0 registered (by label), worker-1 not yet
      await store.create(NODES, kubeNode('ip-10-255-0-1', c.nodes[0].id, { cpu: '2', memory: '4Gi' }));
      await store.create(NODES, kubeNode('ip-10-255-1-1', c.nodes[1].id, { cpu: '2', memory: '8Gi' }));
      await store.create(PODS, kubePod('web-1', { node: 'ip-10-255-1-1', cpu: '500m', memory: '256Mi' }));
      await store.create(PODS, kubePod('web-2', { node: 'ip-10-255-1-1', cpu: '250m', memory: '1Gi' }));
      await store.create(PODS, kubePod('queued'));
      await store.create(PODS, kubePod('too-big', { cpu: '64', unschedulable: true }));
      a = watcher('replica-a', resolve);
      b = watcher('replica-b', resolve);
      a.start();
    }, 60_000);
    afterAll(async () => {
      await a.stop();
      await b.stop();
      await server.close();
    });

    it('records each node\'s Kubernetes status and the pending pods, shown by GET /v1/clusters/{id}\'s view; the condition turns True', async () => {
      const v = await until(async () => {
        const r = await view(c.id);
        return r && r.pendingPods === 2 && r.nodes.filter((n) => n.kubernetes).length === 2 ? r : undefined;
      }, 'statuses in the database', 30_000);
      const byName = new Map(v.nodes.map((n) => [n.name, n.kubernetes]));
      expect(byName.get(c.nodes[0].name)).toMatchObject({ kubeNodeName: 'ip-10-255-0-1', ready: 'True', readyReason: 'KubeletReady', unschedulable: false, allocatableCpuMillicores: 2000, allocatableMemoryMiB: 4096, allocatablePods: 110, requestedCpuMillicores: 0, pods: 0, kubeletVersion: 'v1.32.0', notReadySince: null });
      expect(byName.get(c.nodes[1].name)).toMatchObject({ requestedCpuMillicores: 750, requestedMemoryMiB: 256 + 1024, pods: 2, allocatableMemoryMiB: 8192 });
      expect(byName.get(c.nodes[2].name)).toBeNull();
      expect(await until(async () => ((await condition(c.id))?.status === 'True' ? condition(c.id) : undefined), 'condition True')).toMatchObject({ reason: 'Watching' });
      // what GET /v1/clusters/{id} answers (api-gateway ClustersService.get, on the same prepared statement)
      const api = await new ClustersService(db.ds, box, { maxClusters: 20, maxNodes: 200 }).get(organisationId, c.id);
      expect(api.pendingPods).toBe(2);
      expect(api.nodes.find((n) => n.id === c.nodes[1].id)?.kubernetes).toMatchObject({ ready: 'True', unschedulable: false, requestedCpuMillicores: 750, pods: 2 });
      expect(api.nodes.find((n) => n.id === c.nodes[2].id)?.kubernetes).toBeNull();
      expect(api.conditions.find((x) => x.type === 'KubernetesApiReachable')).toMatchObject({ status: 'True', reason: 'Watching' });
      // before watching, the watcher granted its own user read access (what a real API server's RBAC needs)
      const role = (await store.get({ group: 'rbac.authorization.k8s.io', resource: 'clusterroles' }, '', 'skyweave:kube-watcher')) as unknown as { rules: unknown } | undefined;
      expect(role?.rules).toEqual([{ apiGroups: [''], resources: ['nodes', 'pods'], verbs: ['get', 'list', 'watch'] }]);
      const binding = (await store.get({ group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' }, '', 'skyweave:kube-watcher')) as unknown as { subjects: unknown; roleRef: unknown } | undefined;
      expect(binding).toMatchObject({ roleRef: { kind: 'ClusterRole', name: 'skyweave:kube-watcher' }, subjects: [{ kind: 'User', name: 'skyweave:kube-watcher' }] });
      // the in-process read API (for the autoscaler)
      expect(a.view(c.id)?.pendingPods()).toBe(2);
      expect(a.view(c.id)?.nodes().find((n) => n.name === 'ip-10-255-1-1')?.requested).toEqual({ cpuMillicores: 750, memoryMiB: 1280 });
    });

    it('a second replica takes nothing while the first holds the lease', async () => {
      b.start();
      await new Promise((r) => setTimeout(r, 1000)); // three polls of B
      expect(b.clusterIds()).toEqual([]);
      expect(a.clusterIds()).toEqual([c.id]);
      const [lease] = (await db.ds.query(`SELECT "watcher" FROM "cluster_kube_status" WHERE "clusterId" = $1`, [c.id])) as { watcher: string }[];
      expect(lease.watcher).toBe('replica-a');
    });

    it('a node registering later, a cordon and a pod bound later show', async () => {
      await store.create(NODES, kubeNode(c.nodes[2].name, 'not-a-skyweave-id')); // joined by name
      await patch(store, NODES, 'ip-10-255-1-1', (n) => { (n.spec as Record<string, unknown>).unschedulable = true; });
      await store.delete(PODS, 'default', 'queued');
      await store.create(PODS, kubePod('queued', { node: c.nodes[2].name, cpu: '1', memory: '1Gi' }));
      const v = await until(async () => {
        const r = await view(c.id);
        const w0 = r?.nodes.find((n) => n.id === c.nodes[1].id)?.kubernetes;
        const w1 = r?.nodes.find((n) => n.id === c.nodes[2].id)?.kubernetes;
        return r?.pendingPods === 1 && w0?.unschedulable && w1?.pods === 1 ? r : undefined;
      }, 'cordon and new node in the database');
      expect(v.nodes.find((n) => n.id === c.nodes[2].id)?.kubernetes).toMatchObject({ kubeNodeName: c.nodes[2].name, requestedCpuMillicores: 1000, requestedMemoryMiB: 1024 });
    });

    it('a node NotReady past the threshold yields exactly one NodeNotReady event', async () => {
      const since = new Date().toISOString();
      await patch(store, NODES, 'ip-10-255-1-1', (n) => {
        (n.status as { conditions: unknown[] }).conditions = [{ type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: since }];
      });
      const k = await until(async () => {
        const s = (await view(c.id))?.nodes.find((n) => n.id === c.nodes[1].id)?.kubernetes;
        return s?.ready === 'Unknown' ? s : undefined;
      }, 'NotReady recorded');
      expect(Date.parse(k.notReadySince as string)).toBe(Date.parse(since));
      const [e] = await until(async () => ((await notReadyEvents(c.id)).length ? notReadyEvents(c.id) : undefined), 'NodeNotReady event');
      expect(e).toMatchObject({ type: 'Warning', object: `node/${c.nodes[1].name}` });
      expect(e.message).toMatch(new RegExp(`^node ${c.nodes[1].name} is running but Kubernetes has reported it not Ready \\(Ready=Unknown, reason NodeStatusUnknown\\) for \\d+ s`));
      await new Promise((r) => setTimeout(r, 1500)); // more flushes, still one event
      expect(await notReadyEvents(c.id)).toHaveLength(1);
    });

    it('when the first replica stops, the second takes over without a second event for the same episode', async () => {
      await a.stop();
      await until(async () => (b.clusterIds().includes(c.id) ? true : undefined), 'replica B holds the cluster', 10_000);
      await patch(store, NODES, 'ip-10-255-0-1', (n) => { (n.spec as Record<string, unknown>).unschedulable = true; });
      await until(async () => ((await view(c.id))?.nodes.find((n) => n.id === c.nodes[0].id)?.kubernetes?.unschedulable ? true : undefined), 'B writes');
      await new Promise((r) => setTimeout(r, 1000));
      expect(await notReadyEvents(c.id)).toHaveLength(1);
      const [lease] = (await db.ds.query(`SELECT "watcher" FROM "cluster_kube_status" WHERE "clusterId" = $1`, [c.id])) as { watcher: string }[];
      expect(lease.watcher).toBe('replica-b');
    });

    it('a replica that lost its lease writes nothing (the flush is fenced)', async () => {
      const repo = new KubeStatusRepository(db.ds);
      const wrote = await repo.flush(scope, c.id, 'replica-a', { upsert: [], remove: [], pendingPods: 99, events: [] });
      expect(wrote).toBe(false);
      expect((await view(c.id))?.pendingPods).not.toBe(99);
    });

    it('the API server going away turns KubernetesApiReachable False with the reason; back, True again', async () => {
      const port = portOf(server.url);
      await server.close();
      const down = await until(async () => {
        const cond = await condition(c.id);
        return cond?.status === 'False' ? cond : undefined;
      }, 'condition False');
      expect(down.reason).toBe('Unreachable');
      expect(down.message).toContain(`https://127.0.0.1:${port}`);
      expect(down.message).toMatch(/ECONNREFUSED|socket hang up|ECONNRESET/);
      server = await apiServer(pki, { store, port });
      closers.push(() => server.close());
      // changes made while it was down arrive with the relist
      await store.delete(PODS, 'default', 'too-big');
      const up = await until(async () => {
        const cond = await condition(c.id);
        return cond?.status === 'True' ? cond : undefined;
      }, 'condition True again');
      expect(up.reason).toBe('Watching');
      await until(async () => ((await view(c.id))?.pendingPods === 0 ? true : undefined), 'pending pods after the relist');
    });
  });

  it('a master that accepts connections but never answers times out, and the next master is used', async () => {
    const pki = await generateClusterPki();
    const server = await apiServer(pki);
    closers.push(() => server.close());
    const held = new Set<Socket>();
    const silent = createTcpServer((s: Socket) => { held.add(s); }); // accepts, never says a word (no TLS handshake)
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise((r) => { for (const s of held) s.destroy(); silent.close(r); }));
    const c = await cluster(pki, { workers: 0 });
    await server.store.create(NODES, kubeNode('m0', c.nodes[0].id));
    // master-0 silent, master-1 the real server
    const w = watcher('replica-t', { [c.id]: [`https://127.0.0.1:${(silent.address() as AddressInfo).port}`, server.url] }, { connectTimeoutMs: 1500 });
    w.start();
    try {
      await until(async () => ((await view(c.id))?.nodes[0]?.kubernetes ? true : undefined), 'status via the second master');
      const cond = await until(async () => {
        const x = await condition(c.id);
        return x?.status === 'True' ? x : undefined;
      }, 'condition True');
      expect(cond.message).toBe(`watching nodes and pods at ${server.url}`);
      expect(held.size).toBeGreaterThanOrEqual(1); // master-0 was dialled first
    } finally {
      await w.stop();
    }
  });

  it('a client certificate from another CA is refused by the API server, and the watcher reports it', async () => {
    const pki = await generateClusterPki();
    const other = await generateClusterPki();
    // the server trusts only `other`'s client certificates; the watcher's is issued from the cluster's (recorded) CA
    const server = await apiServer(pki, { clientCa: other.caCertificate });
    closers.push(() => server.close());
    const c = await cluster(pki, { workers: 0 });
    const w = watcher('replica-x', { [c.id]: server.url });
    w.start();
    try {
      const cond = await until(async () => {
        const x = await condition(c.id);
        return x?.status === 'False' ? x : undefined;
      }, 'condition False Unauthorized');
      expect(cond.reason).toBe('Unauthorized');
      expect(cond.message).toContain('401');
    } finally {
      await w.stop();
    }
  });

  it('dials the master\'s address through the CONNECT proxy of cloudEndpoints.kubernetes.proxyUrl', async () => {
    const pki = await generateClusterPki();
    const masterIp = '10.255.77.1'; // not on this machine: only the proxy knows where it is
    const server = await apiServer(pki, { masterIp });
    closers.push(() => server.close());
    const connects: string[] = [];
    const sockets = new Set<Socket>();
    const proxy: Server = createServer((_req, res) => { res.writeHead(405).end(); });
    proxy.on('connect', (req, client: Socket) => {
      connects.push(req.url ?? '');
      sockets.add(client);
      const [host, port] = (req.url ?? '').split(':');
      if (host !== masterIp || port !== '6443') {
        client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
        return;
      }
      const upstream = connect(portOf(server.url), '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise((r) => { for (const s of sockets) s.destroy(); proxy.close(r); }));
    const c = await cluster(pki, { masterIp, workers: 1 });
    // the other tests' clusters are being deleted: not watched (their masters are not behind this proxy)
    await db.ds.query(`UPDATE "clusters" SET "deletionRequestedAt" = now() WHERE "id" <> $1`, [c.id]);
    await server.store.create(NODES, kubeNode('proxied-worker', c.nodes[1].id));
    // production resolver (master-0's address, https://10.255.77.1:6443) and the proxy from the endpoints
    const w = watcher('replica-p', undefined, {}, `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
    w.start();
    try {
      await until(async () => ((await view(c.id))?.nodes.find((n) => n.id === c.nodes[1].id)?.kubernetes ? true : undefined), 'status through the proxy');
      const cond = await until(async () => {
        const x = await condition(c.id);
        return x?.status === 'True' ? x : undefined;
      }, 'condition True');
      expect(cond).toMatchObject({ reason: 'Watching', message: `watching nodes and pods at https://${masterIp}:6443` });
      expect(connects.length).toBeGreaterThanOrEqual(2); // the lists and watches of nodes and pods
      expect(new Set(connects)).toEqual(new Set([`${masterIp}:6443`]));
      expect(w.clusterIds()).toEqual([c.id]);
      // a cluster leaving the watched phases (delete requested) is no longer watched
      await db.ds.query(`UPDATE "clusters" SET "deletionRequestedAt" = now() WHERE "id" = $1`, [c.id]);
      await until(async () => (w.clusterIds().length === 0 ? true : undefined), 'watch stopped');
    } finally {
      await w.stop();
    }
  });

  it('live replicas share the clusters out (fair share), and the rest take over when one stops', async () => {
    // every earlier cluster is being deleted by now (the proxy test): only these four are watchable
    const pki = await generateClusterPki();
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await cluster(pki, { workers: 0 })).id);
    const p = watcher('replica-p1', {});
    const q = watcher('replica-p2', {});
    p.start();
    q.start();
    const split = await until(async () => (p.clusterIds().length === 2 && q.clusterIds().length === 2 ? [p.clusterIds(), q.clusterIds()] : undefined), 'two clusters each', 20_000);
    expect([...split[0], ...split[1]].sort()).toEqual([...ids].sort());
    await new Promise((r) => setTimeout(r, 1000)); // more polls: no cluster changes hands while both live
    expect([p.clusterIds(), q.clusterIds()]).toEqual(split);
    const leases = (await db.ds.query(`SELECT "clusterId", "watcher" FROM "cluster_kube_status" WHERE "clusterId" = ANY($1::uuid[])`, [ids])) as { clusterId: string; watcher: string }[];
    expect(Object.fromEntries(leases.map((l) => [l.clusterId, l.watcher]))).toEqual(Object.fromEntries([...split[0].map((id) => [id, 'replica-p1']), ...split[1].map((id) => [id, 'replica-p2'])]));
    await p.stop();
    await until(async () => (q.clusterIds().length === 4 ? true : undefined), 'the other replica holds all four', 20_000);
    await q.stop();
  });

  it('installs the cluster add-ons by server-side apply after its access grant, and records AddonsInstalled (issue 14, item 4)', async () => {
    const pki = await generateClusterPki();
    const store = new MemoryKubeStore();
    const server = await apiServer(pki, { store });
    closers.push(() => server.close());
    const c = await cluster(pki, { workers: 0 });
    const w = new KubeWatcher({
      repo: new KubeStatusRepository(db.ds), box, log, settings: settings('replica-addons', {}),
      resolveServers: (x) => (x.id === c.id ? [server.url] : []), addons: { publicUrl: 'https://skyweave.example.com' },
    });
    closers.push(() => w.stop());
    w.start();
    const installed = await until(async () => (await view(c.id))?.conditions.find((x) => x.type === 'AddonsInstalled'), 'AddonsInstalled', 30_000);
    expect(installed).toMatchObject({ status: 'True', reason: 'Applied', message: expect.stringContaining('applied') });
    const grafana = await store.get({ group: 'apps', resource: 'deployments' }, 'skyweave-monitoring', 'grafana');
    expect((grafana?.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0].image).toBe(ADDON_IMAGES.grafana);
    const ini = ((await store.get({ group: '', resource: 'configmaps' }, 'skyweave-monitoring', 'grafana-config'))?.data as Record<string, string>)['grafana.ini'];
    expect(ini).toContain(`root_url = https://skyweave.example.com/clusters/${c.id}/grafana/`);
    for (const [ns, name] of [['kubernetes-dashboard', 'kubernetes-dashboard'], ['skyweave-monitoring', 'prometheus']]) {
      expect(await store.get({ group: 'apps', resource: 'deployments' }, ns, name)).toBeDefined();
    }
    await w.stop();
  });
});
