import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as path from 'node:path';
import { Command } from 'commander';
import { apiServerSans, generateClusterPki, issueApiServerCertificate, issueClientCertificate } from '@skyweave/bootstrap';
import { startKubeApiServer } from '@skyweave/kube-sandbox/src/server';
import { MemoryKubeStore } from '@skyweave/kube-sandbox/src/store';
import type { KubeObject } from '@skyweave/kube-sandbox/src/types';
import { ClusterKubeView } from '@skyweave/kube-view';
import { ClusterWatch, WATCHER_USER } from '@skyweave/kube-view';

/**
 * npm run bench:kube-view [-- --clusters 100 --nodes 50 --pods-per-node 20 --samples 200 --idle-seconds 10]
 *
 * The kube watcher's view core at scale (issue 12, item 4): for every cluster one {@link ClusterWatch} (a Node and a
 * Pod informer of @kubernetes/client-node over TLS with a client certificate) feeding one {@link ClusterKubeView} —
 * what apps/kube-watcher runs per cluster, WITHOUT PostgreSQL (the coalesced flushes write at most once per cluster per
 * second and only on change; they are not measured here).
 *
 * The API servers run in a CHILD process (this script with `--child`), so their memory and CPU are not counted:
 * `--clusters` sandbox API servers (apps/kube-sandbox `startKubeApiServer`), each with its own MemoryKubeStore holding
 * `--nodes` Ready Nodes and nodes × `--pods-per-node` Running pods with requests. One cluster PKI is shared by all
 * servers (making 100 CAs would only slow the start; each server still checks the client certificate).
 *
 * Measured in this process: time to the initial sync of every view; RSS after it (MiB, after a GC when `--expose-gc`
 * is available); CPU while idle (user + system ms per second over `--idle-seconds`); event-to-view latency: `--samples`
 * changes asked of the child one at a time (alternately cordon/uncordon of a random node and create/delete of a pending
 * pod, in a random cluster), each timed from the request to the moment the view shows it; p50/p99/max.
 *
 * Last line: `kube view: C clusters x N nodes x P pods: RSS X MiB, CPU Y ms/s idle, event-to-view Z ms p99`.
 * `--clusters 5` is the short variant a CI guard can run in well under a minute.
 */

const o = new Command('bench:kube-view')
  .option('--clusters <n>', 'clusters (API servers)', (v) => Number(v), 100)
  .option('--nodes <n>', 'Nodes per cluster', (v) => Number(v), 50)
  .option('--pods-per-node <n>', 'pods per Node', (v) => Number(v), 20)
  .option('--samples <n>', 'event-to-view latency samples', (v) => Number(v), 200)
  .option('--idle-seconds <n>', 'idle CPU window, seconds', (v) => Number(v), 10)
  .option('--child', 'internal: run the API servers')
  .option('--pki <json>', 'internal: the PKI the child serves with')
  .parse()
  .opts<{ clusters: number; nodes: number; podsPerNode: number; samples: number; idleSeconds: number; child?: boolean; pki?: string }>();

const NODES = { group: '', resource: 'nodes' };
const PODS = { group: '', resource: 'pods' };
const stderr = (line: string) => process.stderr.write(`${line}\n`);

const nodeName = (i: number) => `node-${String(i).padStart(3, '0')}`;

function node(i: number): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: nodeName(i), labels: { 'kubernetes.io/hostname': nodeName(i), 'skyweave.io/node-id': `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` } },
    spec: {},
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      addresses: [{ type: 'InternalIP', address: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}` }],
      nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Debian GNU/Linux 12 (bookworm)', containerRuntimeVersion: 'containerd://1.7.24', architecture: 'amd64', operatingSystem: 'linux' },
      capacity: { cpu: '4', memory: '16Gi', pods: '110' }, allocatable: { cpu: '3920m', memory: '13948Mi', pods: '110' },
    },
  } as KubeObject;
}

function pod(name: string, nodeIndex?: number): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'bench' } },
    spec: {
      ...(nodeIndex === undefined ? {} : { nodeName: nodeName(nodeIndex) }),
      containers: [{ name: 'app', image: 'nginx:1.27', resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } } }],
    },
    status: nodeIndex === undefined ? { phase: 'Pending' } : { phase: 'Running', podIP: '10.217.0.2', conditions: [{ type: 'Ready', status: 'True' }] },
  } as KubeObject;
}

/** The child: API servers with populated stores; reads `<cluster> cordon|uncordon <node>` and `<cluster> add|del <pod>` lines. */
async function child(): Promise<void> {
  const pki = JSON.parse(o.pki as string) as { caCertificate: string; caKey: string };
  const cert = await issueApiServerCertificate({ certificate: pki.caCertificate, key: pki.caKey }, apiServerSans({ nodeName: 'bench', masterAddresses: ['127.0.0.1'] }));
  const stores: MemoryKubeStore[] = [];
  const urls: string[] = [];
  for (let c = 0; c < o.clusters; c++) {
    const store = new MemoryKubeStore(1000);
    for (let i = 0; i < o.nodes; i++) await store.create(NODES, node(i));
    for (let i = 0; i < o.nodes; i++) for (let p = 0; p < o.podsPerNode; p++) await store.create(PODS, pod(`web-${i}-${p}`, i));
    const server = await startKubeApiServer({ port: 0, host: '127.0.0.1', tlsCert: cert.certificate, tlsKey: cert.key, clientCa: pki.caCertificate, store });
    stores.push(store);
    urls.push(server.url);
  }
  process.stdout.write(`ready ${JSON.stringify(urls)}\n`);
  for await (const line of createInterface(process.stdin)) {
    const [c, op, name] = line.split(' ');
    const store = stores[Number(c)];
    if (op === 'cordon' || op === 'uncordon') {
      const n = (await store.get(NODES, '', name)) as KubeObject & { spec: Record<string, unknown> };
      n.spec.unschedulable = op === 'cordon';
      await store.update(NODES, n);
    } else if (op === 'add') {
      await store.create(PODS, pod(name));
    } else if (op === 'del') {
      await store.delete(PODS, 'default', name);
    }
  }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function main(): Promise<void> {
  const t0 = Date.now();
  const pki = await generateClusterPki();
  const client = await issueClientCertificate({ certificate: pki.caCertificate, key: pki.caKey }, { commonName: WATCHER_USER, organizations: [] });
  const kid: ChildProcess = spawn(process.execPath, [path.join(__dirname, '../tools/run-ts.js'), path.join(__dirname, 'kube-view.ts'), '--child',
    '--clusters', String(o.clusters), '--nodes', String(o.nodes), '--pods-per-node', String(o.podsPerNode), '--pki', JSON.stringify({ caCertificate: pki.caCertificate, caKey: pki.caKey })],
  { stdio: ['pipe', 'pipe', 'inherit'] });
  const killChild = () => { if (kid.exitCode === null) kid.kill('SIGKILL'); };
  process.on('exit', killChild);
  const lines = createInterface(kid.stdout!);
  const urls = await new Promise<string[]>((resolve, reject) => {
    lines.once('line', (l) => (l.startsWith('ready ') ? resolve(JSON.parse(l.slice(6)) as string[]) : reject(new Error(`child said: ${l}`))));
    kid.once('exit', (code) => reject(new Error(`the API servers' process exited (${code})`)));
  });
  stderr(`${o.clusters} API servers with ${o.nodes} nodes and ${o.nodes * o.podsPerNode} pods each, in a child process (${Date.now() - t0} ms)`);

  const views: ClusterKubeView[] = [];
  const watches: ClusterWatch[] = [];
  const failures: string[] = [];
  const syncStart = Date.now();
  for (let c = 0; c < o.clusters; c++) {
    const view = new ClusterKubeView();
    const watch = new ClusterWatch({
      clusterId: `bench-${c}`, servers: () => [urls[c]], caCertificate: pki.caCertificate, client, view,
      backoff: { baseMs: 500, capMs: 5000 }, resyncMs: 0, onError: (e) => failures.push(`${c}: ${e.reason} ${e.message}`),
    });
    views.push(view);
    watches.push(watch);
    watch.start();
  }
  const synced = () => views.every((v) => v.reachability().status === 'True' && v.nodes().length === o.nodes && v.nodes().every((n) => n.pods === o.podsPerNode));
  while (!synced()) {
    if (Date.now() - syncStart > 300_000) throw new Error(`no initial sync in 300 s; failures: ${failures.slice(0, 5).join('; ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const syncMs = Date.now() - syncStart;
  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 500));
  const rssMiB = process.memoryUsage().rss / 2 ** 20;
  stderr(`initial sync of ${o.clusters} views: ${syncMs} ms; RSS ${rssMiB.toFixed(0)} MiB (heap used ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB${(globalThis as { gc?: unknown }).gc ? ', after GC' : ''})`);

  const cpu0 = process.cpuUsage();
  const idle0 = Date.now();
  await new Promise((r) => setTimeout(r, o.idleSeconds * 1000));
  const cpu = process.cpuUsage(cpu0);
  const cpuMsPerS = (cpu.user + cpu.system) / 1000 / ((Date.now() - idle0) / 1000);
  stderr(`idle for ${o.idleSeconds} s: ${cpuMsPerS.toFixed(2)} CPU ms/s`);

  const latencies: number[] = [];
  let seq = 0;
  for (let s = 0; s < o.samples; s++) {
    const c = Math.floor(Math.random() * o.clusters);
    const view = views[c];
    let check: () => boolean;
    let command: string;
    let undo: string | undefined;
    if (s % 2 === 0) {
      const name = nodeName(Math.floor(Math.random() * o.nodes));
      const cordon = !view.nodes().find((n) => n.name === name)?.unschedulable;
      command = `${c} ${cordon ? 'cordon' : 'uncordon'} ${name}`;
      check = () => view.nodes().find((n) => n.name === name)?.unschedulable === cordon;
    } else {
      const name = `pending-${seq++}`;
      const before = view.pendingPods();
      command = `${c} add ${name}`;
      undo = `${c} del ${name}`;
      check = () => view.pendingPods() === before + 1;
    }
    const started = performance.now();
    const seen = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => { off(); reject(new Error(`not in the view after 10 s: ${command}`)); }, 10_000);
      const off = view.onChange(() => {
        if (check()) { clearTimeout(t); off(); resolve(); }
      });
    });
    kid.stdin!.write(`${command}\n`);
    await seen;
    latencies.push(performance.now() - started);
    if (undo) {
      const back = view.pendingPods() - 1;
      const gone = new Promise<void>((resolve) => { const off = view.onChange(() => { if (view.pendingPods() === back) { off(); resolve(); } }); });
      kid.stdin!.write(`${undo}\n`);
      await gone;
    }
  }
  const p50 = pct(latencies, 50);
  const p99 = pct(latencies, 99);
  stderr(`event-to-view over ${latencies.length} changes: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms; watch failures: ${failures.length}`);

  await Promise.all(watches.map((w) => w.stop()));
  killChild();
  process.stdout.write(`kube view: ${o.clusters} clusters x ${o.nodes} nodes x ${o.podsPerNode} pods: RSS ${rssMiB.toFixed(0)} MiB, CPU ${cpuMsPerS.toFixed(2)} ms/s idle, event-to-view ${p99.toFixed(1)} ms p99\n`);
  process.exit(0);
}

(o.child ? child() : main()).catch((e: unknown) => {
  stderr(`bench:kube-view failed: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});
