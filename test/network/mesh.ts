/**
 * `npm run test:network` — the real WireGuard test (issue 4). Needs root, `ip`, `tc`, `ping`, `wireguard-go`, `wg`.
 *
 * The sandbox cloud runs with `--vm-network netns`: every VM is a network namespace on a private bridge, holding its
 * cloud's VPC address, its public address held by the sandbox's NAT (a relay in the bridge's namespace), and node-agent runs its real executor, so `wireguard-go` comes up in each
 * VM with the platform's peer list. The test then:
 *  1. creates a cluster over the four clouds and waits for Ready;
 *  2. measures the sandbox's own overhead (cross-cloud round trips with no delay set), then delays traffic between
 *     clouds on the sandbox's WAN (3–7 ms round trips, as the seeds' regions measure, scaled down only when the
 *     overhead leaves less than that under the budget with a 2 ms margin; this
 *     kernel lacks `sch_netem`, so the sandbox's NAT relay adds the delay instead of `tc netem`);
 *  3. pings every node from every other over its 10.4.x.y address and prints the matrix of round trips;
 *  4. waits for the cluster's CrossCloudLatency condition (from the agents' own measurements) to be within budget;
 *  5. removes one worker and times how long its peers take to drop it from their WireGuard configuration;
 *  6. delays one cross-cloud pair beyond 10 ms and waits for the condition to turn false naming that pair;
 *  7. deletes the cluster and checks the sandbox is empty and every namespace is gone.
 * Last line: `mesh: N nodes, N*(N-1) pairs reachable, worst RTT X ms`. Traffic stays inside namespaces the sandbox
 * made for this run. Exit code 0 on success, 1 on any failed check.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { CLOUDS, CloudId, MAX_CROSS_CLOUD_LATENCY_MS, cloudPair } from '@skyweave/domain';
import { ensureLocalServices } from '@skyweave/tools/stack/services';
import { Stack, startStack } from '@skyweave/tools/stack/stack';
import { ApiClient, sandboxAccount, sandboxResources } from '@skyweave/tools/stack/api';
import { RTT_PROBES, medianRtt } from '@skyweave/node-agent/src/wireguard';

const run = promisify(execFile);
const t0 = Date.now();
const say = (m: string) => process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${m}\n`);

/** Round trips between the clouds' regions set on the sandbox's WAN, milliseconds (within the seeds' 5–7 ms range and below). */
const SEED_CLOUD_RTT_MS: Record<string, number> = {
  'aws|gcp': 3, 'aws|azure': 4, 'aws|digitalocean': 6, 'gcp|azure': 5, 'gcp|digitalocean': 7, 'azure|digitalocean': 5,
};
/**
 * Room kept between the slowest set round trip plus the sandbox's own overhead and the 10 ms budget, milliseconds. The
 * overhead (userspace wireguard-go on both ends, the relay's timers that fire on whole milliseconds, two cores shared
 * by five VMs and the platform) is measured in each run with no delay set; a real cloud has none of it.
 */
const MARGIN_MS = 2;
/** Rounds of overhead measurement: the worst is kept. */
const OVERHEAD_ROUNDS = 2;
/** The extra round trip given to one pair to break the budget, milliseconds. */
const SLOW_PAIR_RTT_MS = 14;
let CLOUD_RTT_MS: Record<string, number> = { ...SEED_CLOUD_RTT_MS };
/** How fast peers must drop a removed node, seconds. */
const DROP_WITHIN_S = 5;

interface NodeView { id: string; name: string; cloud: CloudId; role: string; phase: string; privateIp: string | null; publicIp: string | null; wireguardAddress: string | null }
interface ClusterView { id: string; phase: string; nodes: NodeView[]; conditions: { type: string; status: string; reason: string; message: string }[] }
interface VmView { cloud: string; instanceId: string; privateIp: string; publicIp?: string; netns?: string; wireguardInterface?: string }
interface MeshNode extends NodeView { netns: string; iface: string; instanceId: string }
interface KubeNodeList { items: { metadata: { name: string }; status: { conditions?: { type: string; status: string }[] } }[] }

class CheckFailed extends Error {}
function check(ok: boolean, what: string): void {
  if (!ok) throw new CheckFailed(what);
  say(`ok: ${what}`);
}

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new CheckFailed(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const inNs = (ns: string, argv: string[]) => run('ip', ['netns', 'exec', ns, ...argv], { timeout: 30_000 });

/**
 * Round trip from `from` to `address` as the node-agents measure it (median of RTT_PROBES pings, milliseconds), or
 * null when nothing answered.
 */
async function ping(from: MeshNode, address: string): Promise<number | null> {
  try {
    const { stdout } = await inNs(from.netns, ['ping', '-n', '-c', String(RTT_PROBES), '-i', '0.2', '-W', '1', address]);
    return medianRtt(stdout);
  } catch (e) {
    // ping exits 1 when some replies were lost: what did answer still counts
    return medianRtt(String((e as { stdout?: unknown }).stdout ?? ''));
  }
}

/**
 * Sets the round trips between clouds (and, optionally, one pair of VMs) on the sandbox's WAN: the relay that carries
 * WireGuard between public addresses adds half of each round trip per direction. (This kernel has no `sch_netem`,
 * so `tc netem` cannot be used; the relay plays its part at the clouds' NAT.)
 */
async function setWan(adminUrl: string, pairs: Record<string, number> = {}): Promise<void> {
  const res = await fetch(`${adminUrl}/admin/wan`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clouds: CLOUD_RTT_MS, pairs }) });
  if (res.status !== 204) throw new CheckFailed(`PUT /admin/wan: ${res.status} ${await res.text()}`);
}

async function wgPeers(n: MeshNode): Promise<string[]> {
  const { stdout } = await inNs(n.netns, ['wg', 'show', n.iface, 'peers']);
  return stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

async function preflight(): Promise<void> {
  if (process.getuid?.() !== 0) throw new CheckFailed('test:network needs root (network namespaces, wireguard-go)');
  for (const bin of ['ip', 'ping', 'wireguard-go', 'wg']) {
    await run('sh', ['-c', `command -v ${bin}`]).catch(() => { throw new CheckFailed(`${bin} is not installed (Debian: iproute2, iputils-ping, wireguard-go, wireguard-tools)`); });
  }
}

function printMatrix(nodes: MeshNode[], rtt: Map<string, number | null>): void {
  const w = Math.max(...nodes.map((n) => n.name.length)) + 2;
  const head = `${'from \\ to'.padEnd(w + 10)}${nodes.map((n) => n.name.replace(/^sw-[0-9a-f]{8}-/, '').padStart(12)).join('')}`;
  process.stdout.write(`\nRound trips over WireGuard (ms, median of ${RTT_PROBES} pings):\n${head}\n`);
  for (const a of nodes) {
    const cells = nodes.map((b) => (a === b ? '—' : (() => { const v = rtt.get(`${a.id}>${b.id}`); return v === null || v === undefined ? 'LOST' : v.toFixed(2); })()).padStart(12));
    process.stdout.write(`${`${a.name} (${a.cloud})`.padEnd(w + 10)}${cells.join('')}\n`);
  }
  process.stdout.write('\n');
}

async function main(): Promise<number> {
  await preflight();
  await ensureLocalServices(say);
  say('starting the sandbox cloud (VMs as network namespaces) and the Skyweave services');
  const stack: Stack = await startStack({ vmNetwork: 'netns', bootMs: 200, env: { SKYWEAVE_PROBE_INTERVAL_SECONDS: '2' } });
  let summary = '';
  try {
    const api = new ApiClient(stack.apiUrl, stack.apiKey);
    for (const cloud of CLOUDS) {
      await api.ok('POST', '/v1/cloud-credentials', { cloud, name: `sandbox-${cloud}`, credentials: await sandboxAccount(stack.adminUrl, cloud) });
    }
    const created = await api.ok<ClusterView>('POST', '/v1/clusters', {
      name: 'mesh', region: 'us-east', clouds: [...CLOUDS], controlPlane: { cloud: 'aws', count: 1 },
      workers: CLOUDS.map((cloud) => ({ cloud, count: 1 })),
    });
    say(`cluster ${created.id}: 1 master on AWS, 1 worker on each of ${CLOUDS.join(', ')}`);
    const ready = await waitUntil('the cluster to be Ready', async () => {
      const c = await api.ok<ClusterView>('GET', `/v1/clusters/${created.id}`);
      const refused = c.conditions.find((x) => (x.type === 'CredentialsValid' || x.type === 'RequestsAccepted') && x.status === 'False');
      if (refused) throw new CheckFailed(`the sandbox refused: ${refused.type}=False ${refused.reason}: ${refused.message}`);
      return c.phase === 'Ready' ? c : undefined;
    }, 180_000);
    say(`cluster Ready with ${ready.nodes.length} nodes`);

    const { vms: vmList } = (await (await fetch(`${stack.adminUrl}/admin/vms`)).json()) as { vms: VmView[] };
    const nodes: MeshNode[] = ready.nodes.map((n) => {
      const vm = vmList.find((v) => v.cloud === n.cloud && v.privateIp === n.privateIp);
      if (!vm?.netns || !vm.wireguardInterface) throw new CheckFailed(`no namespace-VM for node ${n.name} (${n.cloud} ${n.privateIp})`);
      return { ...n, netns: vm.netns, iface: vm.wireguardInterface, instanceId: vm.instanceId };
    });
    check(nodes.every((n) => /^10\.4\.\d+\.\d+$/.test(n.wireguardAddress ?? '')), 'every node has an overlay address in 10.4.0.0/16');

    // every agent has every other node as a WireGuard peer
    await waitUntil('every node to list every other node as a peer', async () => {
      const counts = await Promise.all(nodes.map(async (n) => (await wgPeers(n)).length));
      return counts.every((c) => c === nodes.length - 1) ? true : undefined;
    }, 30_000);
    check(true, `each of ${nodes.length} WireGuard interfaces has ${nodes.length - 1} peers`);

    // WireGuard retries a lost handshake after 5 s (REKEY_TIMEOUT): a peer whose first initiation arrived before the
    // other side knew its key needs one retry. Wait until every tunnel has shaken hands, then measure.
    const handshakeStart = Date.now();
    await waitUntil('every tunnel to complete its handshake', async () => {
      const stamps = await Promise.all(nodes.map(async (n) => (await inNs(n.netns, ['wg', 'show', n.iface, 'latest-handshakes'])).stdout.trim().split('\n').map((l) => Number(l.split('\t')[1] ?? 0))));
      return stamps.every((s) => s.length === nodes.length - 1 && s.every((t) => t > 0)) ? true : undefined;
    }, 30_000);
    check(true, `all ${nodes.length * (nodes.length - 1) / 2} tunnels have shaken hands (${((Date.now() - handshakeStart) / 1000).toFixed(1)} s after the last peer was configured)`);
    // The sandbox's own overhead: cross-cloud round trips with no WAN delay set (relay, wireguard-go, shared CPU).
    const crossPairs = nodes.flatMap((a) => nodes.filter((b) => b.cloud !== a.cloud && a.name < b.name).map((b) => [a, b] as const));
    let overheadMs = 0;
    for (let round = 0; round < OVERHEAD_ROUNDS; round++) {
      for (const [a, b] of crossPairs) overheadMs = Math.max(overheadMs, (await ping(a, b.wireguardAddress ?? '')) ?? 0);
    }
    const room = MAX_CROSS_CLOUD_LATENCY_MS - MARGIN_MS - overheadMs;
    const slowest = Math.max(...Object.values(SEED_CLOUD_RTT_MS));
    if (room < slowest) {
      if (room < 2) throw new CheckFailed(`the sandbox alone adds ${overheadMs.toFixed(2)} ms to a cross-cloud round trip: no room under the ${MAX_CROSS_CLOUD_LATENCY_MS} ms budget (is the machine busy?)`);
      const scale = room / slowest;
      CLOUD_RTT_MS = Object.fromEntries(Object.entries(SEED_CLOUD_RTT_MS).map(([k, v]) => [k, Math.max(1, Math.floor(v * scale))]));
    }
    say(`sandbox overhead: worst cross-cloud round trip with no delay set ${overheadMs.toFixed(2)} ms (median of ${RTT_PROBES} pings, ${OVERHEAD_ROUNDS} rounds); ` +
      (room < slowest ? `the seeds' delays scaled by ${(room / slowest).toFixed(2)} to keep ${MARGIN_MS} ms under the budget` : `the seeds' delays leave ${(room - slowest).toFixed(2)} ms more than the ${MARGIN_MS} ms margin`));
    await setWan(stack.adminUrl);
    say('WAN: cross-cloud round trips ' + Object.entries(CLOUD_RTT_MS).map(([k, v]) => `${k} ${v} ms`).join(', '));

    const rtt = new Map<string, number | null>();
    // one pair at a time, so the measurements do not compete for the machine's two cores
    for (const a of nodes) for (const b of nodes) if (a !== b) rtt.set(`${a.id}>${b.id}`, await ping(a, b.wireguardAddress ?? ''));
    // A pair that lost every probe gets up to 15 s more (WireGuard re-keys a stuck session after 5 s), and is reported.
    for (const [key, v] of [...rtt.entries()].filter(([, x]) => x === null)) {
      const [a, b] = key.split('>').map((id) => nodes.find((n) => n.id === id) as MeshNode);
      const retried = await waitUntil(`${a.name} → ${b.name} to answer`, async () => (await ping(a, b.wireguardAddress ?? '')) ?? undefined, 15_000).catch(() => null);
      say(`${a.name} → ${b.name}: no answer at first, ${retried === null ? 'still none' : `${retried.toFixed(2)} ms`} after retrying`);
      rtt.set(key, retried ?? v);
    }
    printMatrix(nodes, rtt);
    const lost = [...rtt.entries()].filter(([, v]) => v === null);
    check(lost.length === 0, `all ${nodes.length * (nodes.length - 1)} ordered pairs reach each other over 10.4.x.y`);
    for (const a of nodes) {
      for (const b of nodes) {
        if (a === b || a.cloud === b.cloud) continue;
        const want = CLOUD_RTT_MS[cloudPair(a.cloud, b.cloud)];
        const got = rtt.get(`${a.id}>${b.id}`) ?? 0;
        // timers fire on whole milliseconds, so a direction may come up to 1 ms short
        if (got < want - 1.5) throw new CheckFailed(`${a.name} → ${b.name}: ${got} ms is below the ${want} ms WAN delay: the traffic did not cross the clouds' public addresses`);
      }
    }
    check(true, 'every cross-cloud round trip includes its WAN delay (tunnels run between public addresses)');
    const worst = Math.max(...[...rtt.values()].map((v) => v ?? 0));
    summary = `mesh: ${nodes.length} nodes, ${nodes.length * (nodes.length - 1)} pairs reachable, worst RTT ${worst.toFixed(2)} ms`;

    let lastSeen = 'no CrossCloudLatency condition yet';
    const within = await waitUntil('CrossCloudLatency within budget', async () => {
      const c = await api.ok<ClusterView>('GET', `/v1/clusters/${created.id}`);
      const cond = c.conditions.find((x) => x.type === 'CrossCloudLatency');
      if (cond) lastSeen = `${cond.status} (${cond.reason}): ${cond.message}`;
      return cond?.status === 'True' ? cond : undefined;
    }, 30_000).catch((e: unknown) => { throw new CheckFailed(`${(e as Error).message}; last seen ${lastSeen}`); });
    check(true, `CrossCloudLatency True from the agents' own probes: ${within.message}`);

    // the cluster's Kubernetes API from inside a worker, over the mesh: kubectl with the node's own kubelet.conf, whose
    // server is the control-plane endpoint (control-plane.skyweave.internal:6444, the VM's hosts file → 127.0.0.1, the
    // real HAProxy in the worker's namespace on the agent's configuration → every master's overlay address:6443, where
    // the master's namespace listens as kube-apiserver would)
    const kubeNodes = async (from: MeshNode): Promise<KubeNodeList['items']> => {
      const fs = path.join(stack.vmRoot, from.instanceId.replace(/[^A-Za-z0-9._-]/g, '_'), 'fs');
      const r = await inNs(from.netns, ['kubectl', '--kubeconfig', path.join(fs, 'etc/kubernetes/kubelet.conf'), '--cache-dir', path.join(fs, 'root/.kube/cache'), 'get', 'nodes', '-o', 'json']);
      return (JSON.parse(r.stdout) as KubeNodeList).items;
    };
    const isReady = (n: KubeNodeList['items'][number]) => n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    const viewer = nodes.find((n) => n.role === 'worker' && n.cloud === 'gcp') ?? nodes[nodes.length - 1];
    const kube = await waitUntil('kubectl on a worker to list every node Ready', async () => {
      const items = await kubeNodes(viewer).catch(() => []);
      return items.length === nodes.length && items.every(isReady) ? items : undefined;
    }, 30_000);
    check(kube.length === nodes.length, `kubectl on ${viewer.name}, through its API server proxy and WireGuard to ${nodes.find((n) => n.role === 'master')?.wireguardAddress}:6443: ${kube.length} nodes Ready`);

    // a worker leaves: its peers drop it within seconds
    const leaving = nodes.find((n) => n.role === 'worker' && n.cloud === 'digitalocean') ?? nodes[nodes.length - 1];
    const leavingKey = (await inNs(leaving.netns, ['wg', 'show', leaving.iface, 'public-key'])).stdout.trim();
    const stayed = nodes.filter((n) => n !== leaving);
    const removedAt = Date.now();
    await api.ok('DELETE', `/v1/clusters/${created.id}/nodes/${leaving.id}`);
    await waitUntil(`every peer to drop ${leaving.name}`, async () => {
      const lists = await Promise.all(stayed.map(wgPeers));
      return lists.every((l) => !l.includes(leavingKey)) ? true : undefined;
    }, DROP_WITHIN_S * 1000);
    const dropS = (Date.now() - removedAt) / 1000;
    check(dropS <= DROP_WITHIN_S, `${stayed.length} peers dropped ${leaving.name} within ${dropS.toFixed(2)} s of its removal`);
    await waitUntil(`${leaving.name} to be terminated`, async () => {
      const c = await api.ok<ClusterView>('GET', `/v1/clusters/${created.id}`);
      return c.nodes.find((n) => n.id === leaving.id)?.phase === 'Terminated' ? true : undefined;
    }, 30_000);
    check(true, `${leaving.name}'s VM terminated by the reconciler`);
    const afterRemoval = await kubeNodes(viewer);
    check(afterRemoval.length === stayed.length && !afterRemoval.some((n) => n.metadata.name === leaving.name), `${leaving.name}'s Node deleted once drained (kubectl lists ${afterRemoval.length})`);

    // one cross-cloud pair goes over budget: the condition turns false and names it
    const a = stayed.find((n) => n.cloud === 'aws' && n.role === 'worker') ?? stayed[0];
    const b = stayed.find((n) => n.cloud === 'gcp') ?? stayed[1];
    await setWan(stack.adminUrl, { [`${a.publicIp}|${b.publicIp}`]: SLOW_PAIR_RTT_MS });
    say(`WAN: ${a.name} ↔ ${b.name} now ${SLOW_PAIR_RTT_MS} ms apart`);
    const over = await waitUntil('CrossCloudLatency to turn False', async () => {
      const c = await api.ok<ClusterView>('GET', `/v1/clusters/${created.id}`);
      const cond = c.conditions.find((x) => x.type === 'CrossCloudLatency');
      return cond?.status === 'False' ? cond : undefined;
    }, 30_000);
    check(over.reason === 'OverBudget' && over.message.includes(a.name) && over.message.includes(b.name),
      `CrossCloudLatency False (${over.reason}) naming the slow pair: ${over.message}`);
    // the agents' probes just measured it; a single round of three pings can still go unanswered on a loaded machine
    let measured: number | null = null;
    for (let attempt = 0; attempt < 5 && measured === null; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, 2000));
      measured = await ping(a, b.wireguardAddress ?? '');
    }
    check(measured !== null && measured > MAX_CROSS_CLOUD_LATENCY_MS, `${a.name} → ${b.name} measures ${measured?.toFixed(2)} ms over WireGuard`);

    await api.ok('DELETE', `/v1/clusters/${created.id}`);
    await waitUntil('the cluster to be deleted', async () => {
      const c = await api.call<ClusterView>('GET', `/v1/clusters/${created.id}`);
      return c.status === 404 || c.body.phase === 'Deleted' ? true : undefined;
    }, 120_000);
    const left = (await sandboxResources(stack.adminUrl)).filter((r) => r.tags['skyweave-cluster'] === created.id);
    check(left.length === 0, 'cluster deleted; nothing tagged for it left in the sandbox');
    // the sandbox's hypervisor tears a terminated VM's namespace down after the cloud API says it is terminated (as a
    // real cloud frees a host after the API call returns): wait for it rather than race it
    const gone = await waitUntil('every VM namespace to go', async () => {
      const { stdout: netns } = await run('ip', ['netns', 'list']);
      return nodes.every((n) => !netns.includes(n.netns)) ? true : undefined;
    }, 15_000).catch(() => false);
    check(gone === true, 'every VM namespace is gone');
  } catch (e) {
    process.stdout.write(`\nFAILED: ${(e as Error).message}\n(logs in ${stack.workDir})\n`);
    await stack.stop();
    return 1;
  }
  await stack.stop();
  process.stdout.write(`${summary}\n`);
  return 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  process.stdout.write(`FAILED: ${(e as Error).message}\n`);
  process.exit(1);
});
