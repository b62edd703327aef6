import { mkdirSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import * as path from 'node:path';
import { ApiClient, sandboxAccount, sandboxResources } from '../stack/api';
import { ensureLocalServices } from '../stack/services';
import { startStack, Stack } from '../stack/stack';
import { kubectl, kubectlInstalled, nodeReady, waitForNodes } from '../stack/kubectl';

/**
 * The demo: a platform engineer's session, driven through the public API only.
 * Registers credentials for AWS, GCP, Azure and DigitalOcean (sandbox accounts), creates one cluster in `us-east`
 * spanning all four, follows its progress, prints its resources, downloads the kubeconfig, deletes it, and counts
 * what is left in the sandbox. `--faults`: the same with 10% throttling and 5% 5xx injected into every cloud call.
 */
const CLOUDS = ['aws', 'gcp', 'azure', 'digitalocean'] as const;
const t0 = Date.now();
const say = (msg: string) => process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${msg}\n`);

interface ClusterView {
  id: string; name: string; phase: string; conditions: { type: string; status: string; reason: string; message: string }[];
  networks: { cloud: string; phase: string; region?: string; vpcId?: string; vpcCidr?: string; subnetCidr?: string; message: string | null }[];
  nodes: { name: string; cloud: string; role: string; phase: string; instanceId: string | null; privateIp: string | null; publicIp: string | null }[];
}
interface EventItem { id: string; type: string; reason: string; message: string }

async function follow(api: ApiClient, id: string, until: (c: ClusterView) => boolean, timeoutMs: number, cursor: { after?: string }): Promise<ClusterView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ev = await api.ok<{ items: EventItem[]; next: string | null }>('GET', `/v1/clusters/${id}/events${cursor.after ? `?after=${cursor.after}` : ''}`);
    for (const e of ev.items) say(`${e.type === 'Warning' ? '⚠ ' : ''}${e.reason}: ${e.message}`);
    if (ev.next) cursor.after = ev.next;
    const c = await api.ok<ClusterView>('GET', `/v1/clusters/${id}`);
    if (until(c)) return c;
    // a refusal no retry will cure in a demo (credentials, a rejected request) ends it at once; capacity waits
    const refused = c.conditions.find((x) => (x.type === 'CredentialsValid' || x.type === 'RequestsAccepted') && x.status === 'False');
    if (refused) throw new Error(`the cloud refused: ${refused.type}=False ${refused.reason}: ${refused.message}`);
    if (Date.now() > deadline) throw new Error(`timed out in phase ${c.phase}: ${c.conditions.filter((x) => x.status !== 'True').map((x) => `${x.type}=${x.status} ${x.message}`).join('; ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ')).join('\n');
}

const opts = new Command('demo')
  .option('--faults', 'inject 10% throttling and 5% server errors into every call of every cloud (in each cloud\'s own error shape)', false)
  .option('--autoscale', 'enable the autoscaling policy, run a deployment that does not fit, watch nodes added on the cheapest clouds, scale it to 0 and watch them removed', false)
  .option('--console', 'start an installation with the web console (local accounts, plain-http cookies) and keep it running until Ctrl-C (docs/console.md)', false)
  .parse().opts<{ faults: boolean; autoscale: boolean; console: boolean }>();

/** Arms the sandbox's rate faults: every call of every cloud throttled 10% of the time and failed (5xx) 5% of the time. */
/**
 * The cluster as its users see it: the real kubectl, with the kubeconfig the API handed out, lists the nodes once
 * every one is Ready (their clouds and instance types as labels). Without kubectl, says how to get it.
 */
async function showKubectlNodes(kubeconfig: string, expected: number, say: (msg: string) => void): Promise<void> {
  if (!kubectlInstalled()) {
    say('kubectl is not installed: skipping `kubectl get nodes` (apt-get install kubectl, or see https://kubernetes.io/docs/tasks/tools/)');
    return;
  }
  await waitForNodes(kubeconfig, (nodes) => nodes.length === expected && nodes.every(nodeReady), 60_000);
  const args = ['get', 'nodes', '-o', 'wide', '-L', 'skyweave.io/cloud,node.kubernetes.io/instance-type,topology.kubernetes.io/zone'];
  const r = await kubectl(kubeconfig, args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim()}`);
  say(`kubectl --kubeconfig ${path.relative(process.cwd(), kubeconfig)} ${args.join(' ')}`);
  process.stdout.write(`${r.stdout}\n`);
}

async function armFaults(adminUrl: string): Promise<void> {
  for (const cloud of CLOUDS) {
    for (const [kind, rate] of [['throttle', 0.1], ['server-error', 0.05]] as const) {
      const res = await fetch(`${adminUrl}/admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cloud, op: '*', kind, rate }) });
      if (!res.ok) throw new Error(`arming ${kind} on ${cloud}: ${res.status} ${await res.text()}`);
    }
  }
}

interface AutoscalerView { hourlyCostUsd: number; costByCloud: Record<string, number>; pendingPods: unknown[]; inFlight: unknown[]; lastDecision: { summary: string } | null }

/**
 * `--autoscale`: turns the cluster's autoscaling policy on (empty nodes removed after 10 s), creates a deployment of 6
 * pods asking 1.5 vCPU and 2 GiB each (more than the workers have), follows the autoscaler's decisions until every pod
 * runs, shows the nodes, scales the deployment to 0 and follows the scale-down until only the original nodes are left.
 */
async function autoscale(api: ApiClient, id: string, kubeconfig: string, original: number, cursor: { after?: string }): Promise<void> {
  if (!kubectlInstalled()) throw new Error('--autoscale needs kubectl (apt-get install kubectl, or see https://kubernetes.io/docs/tasks/tools/)');
  const k = async (...args: string[]) => {
    const r = await kubectl(kubeconfig, args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const policy = await api.ok<{ version: number; policy: Record<string, unknown> }>('GET', `/v1/clusters/${id}/policies`);
  await api.ok('PUT', `/v1/clusters/${id}/policies`, {
    ...policy.policy, enabled: true, clusterLimits: { cpu: { minCores: 8, maxCores: 48 } },
    nodeDownscaler: { enabled: true, emptyNodes: { enabled: true, delaySeconds: 10 }, underutilized: { enabled: false, thresholdPercent: 50, delaySeconds: 600 } },
  });
  say('autoscaling enabled: workers between 8 and 48 vCPU in all; empty workers removed after 10 s');
  // created empty, given its requests, then scaled: no pod ever runs without them
  await k('create', 'deployment', 'burst', '--image=nginx', '--replicas=0');
  await k('set', 'resources', 'deployment', 'burst', '--requests=cpu=1500m,memory=2Gi');
  await k('scale', 'deployment', 'burst', '--replicas=6');
  say('kubectl create deployment burst, 6 replicas of 1.5 vCPU and 2 GiB: more than the workers can hold');
  const running = async () => {
    const pods = JSON.parse(await k('get', 'pods', '-l', 'app=burst', '-o', 'json')) as { items: { status: { phase?: string } }[] };
    return pods.items.filter((p) => p.status.phase === 'Running').length;
  };
  const wait = async (what: string, ok: () => Promise<boolean>, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await ok())) {
      const ev = await api.ok<{ items: EventItem[]; next: string | null }>('GET', `/v1/clusters/${id}/events${cursor.after ? `?after=${cursor.after}` : ''}`);
      for (const e of ev.items) if (e.reason.startsWith('Autoscal') || e.reason === 'NodeJoined' || e.reason === 'InstanceTerminated') say(`${e.type === 'Warning' ? '⚠ ' : ''}${e.reason}: ${e.message}`);
      if (ev.next) cursor.after = ev.next;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  await wait('6 burst pods Running', async () => (await running()) === 6, 180_000);
  await wait('the autoscaler\'s prices', async () => Object.keys((await api.ok<AutoscalerView>('GET', `/v1/clusters/${id}/autoscaler`)).costByCloud).length > 0, 30_000);
  const up = await api.ok<AutoscalerView>('GET', `/v1/clusters/${id}/autoscaler`);
  say(`every burst pod runs; the cluster costs $${up.hourlyCostUsd.toFixed(4)}/h (${Object.entries(up.costByCloud).map(([c, v]) => `${c} $${v.toFixed(4)}`).join(', ')})`);
  const view = await api.ok<ClusterView>('GET', `/v1/clusters/${id}`);
  await showKubectlNodes(kubeconfig, view.nodes.filter((n) => n.phase !== 'Terminated').length, say);
  await k('scale', 'deployment', 'burst', '--replicas=0');
  say('kubectl scale deployment burst --replicas=0: the added nodes are now empty');
  // back to 8 worker vCPU (minCores): the dearest empty workers go first, so the cheapest four 2-vCPU workers stay
  await wait(`the cluster back to ${original} nodes`, async () => (await api.ok<ClusterView>('GET', `/v1/clusters/${id}`)).nodes.filter((n) => n.phase !== 'Terminated').length === original, 180_000);
  await wait('the status updated', async () => (await api.ok<AutoscalerView>('GET', `/v1/clusters/${id}/autoscaler`)).hourlyCostUsd < up.hourlyCostUsd, 30_000);
  const down = await api.ok<AutoscalerView>('GET', `/v1/clusters/${id}/autoscaler`);
  say(`scaled back down to minCores, the cheapest workers kept: $${down.hourlyCostUsd.toFixed(4)}/h (${Object.entries(down.costByCloud).map(([c, v]) => `${c} $${v.toFixed(4)}`).join(', ')})`);
}

/**
 * `--console`: an installation to try the web console in (docs/console.md). Local accounts are on, so the first user
 * signs up at the printed URL and owns a new organisation; cookies are not `Secure` (plain http on 127.0.0.1). The
 * sandbox's accounts for the four clouds are written to a file to paste into the credentials forms. Runs until
 * SIGINT/SIGTERM, then stops everything.
 */
async function consoleDemo(): Promise<number> {
  say('checking PostgreSQL and NATS');
  await ensureLocalServices(say);
  say('starting the sandbox cloud and the Skyweave services, with the web console');
  // with the add-ons (Grafana, Prometheus, the Kubernetes dashboard; sandbox stand-ins), so that the cluster page's links
  // through the single sign-on gateway lead somewhere (docs/sso-gateway.md)
  const stack = await startStack({ env: { SKYWEAVE_COOKIE_SECURE: 'false', SKYWEAVE_LOCAL_ACCOUNTS: 'true', SKYWEAVE_ADDONS: 'true' } });
  try {
    const accounts: Record<string, unknown> = {};
    for (const cloud of CLOUDS) accounts[cloud] = await sandboxAccount(stack.adminUrl, cloud);
    const file = path.join(stack.workDir, 'sandbox-credentials.json');
    writeFileSync(file, JSON.stringify(accounts, null, 2) + '\n', { mode: 0o600 });
    say(`web console: ${stack.apiUrl}/console/ — create the first account there (it owns a new organisation)`);
    say(`sandbox cloud accounts to paste into its credentials page: ${path.relative(process.cwd(), file)} (sandbox only, not real clouds)`);
    say('Ctrl-C stops the installation');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    say('stopping');
    return 0;
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<number> {
  if (opts.console) return consoleDemo();
  say('checking PostgreSQL and NATS');
  await ensureLocalServices(say);
  say('starting the sandbox cloud and the Skyweave services (separate processes)');
  const stack: Stack = await startStack({});
  try {
    const api = new ApiClient(stack.apiUrl, stack.apiKey);
    say(`API at ${stack.apiUrl} (OpenAPI: ${stack.apiUrl}/docs); logs in ${path.relative(process.cwd(), stack.workDir)}`);

    const regions = await api.ok<{ items: { id: string; name: string; clouds: Record<string, { region: string }> }[] }>('GET', '/v1/regions');
    const usEast = regions.items.find((r) => r.id === 'us-east');
    say(`region us-east "${usEast?.name}" → ${Object.entries(usEast?.clouds ?? {}).map(([c, v]) => `${c} ${v.region}`).join(', ')}`);

    for (const cloud of CLOUDS) {
      const credentials = await sandboxAccount(stack.adminUrl, cloud);
      const stored = await api.ok<{ id: string; identity: string }>('POST', '/v1/cloud-credentials', { cloud, name: `sandbox-${cloud}`, credentials });
      say(`credentials for ${cloud} checked by the cloud and stored encrypted (${stored.identity})`);
    }

    if (opts.faults) {
      await armFaults(stack.adminUrl);
      say('faults armed: every cloud call throttled 10% of the time and failed with a 5xx 5% of the time, in each cloud\'s own shape');
    }
    const created = await api.ok<ClusterView>('POST', '/v1/clusters', {
      name: 'demo', region: 'us-east', clouds: [...CLOUDS],
      controlPlane: { cloud: 'aws', count: 3 },
      workers: CLOUDS.map((cloud) => ({ cloud, count: 1 })),
    });
    say(`cluster ${created.name} (${created.id}) accepted: 3 masters on AWS, 1 worker on each cloud`);
    const cursor: { after?: string } = {};
    const ready = await follow(api, created.id, (c) => c.phase === 'Ready', 120_000, cursor);
    say(`cluster is Ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const resources = await sandboxResources(stack.adminUrl);
    const mine = resources.filter((r) => r.tags['skyweave-cluster'] === created.id);
    process.stdout.write('\nResources per cloud (tagged skyweave-cluster=' + created.id + '):\n');
    const kinds = [...new Set(mine.map((r) => `${r.cloud}\u0000${r.kind}`))].sort();
    process.stdout.write(table([['CLOUD', 'KIND', 'COUNT', 'IDS'], ...kinds.map((k) => {
      const [cloud, kind] = k.split('\u0000');
      const xs = mine.filter((r) => r.cloud === cloud && r.kind === kind);
      return [cloud, kind, String(xs.length), xs.map((x) => x.name ?? x.id).join(', ').slice(0, 70)];
    })]) + '\n\nNetworks:\n');
    // Azure ids are full ARM paths: show their last segment
    const short = (id: string | null | undefined) => (id ?? '').split('/').pop() ?? '';
    process.stdout.write(table([['CLOUD', 'REGION', 'VPC', 'VPC CIDR', 'SUBNET'], ...ready.networks.map((n) => [n.cloud, n.region ?? '', short(n.vpcId), n.vpcCidr ?? '', n.subnetCidr ?? ''])]) + '\n\nNodes:\n');
    process.stdout.write(table([['NAME', 'ROLE', 'CLOUD', 'PHASE', 'INSTANCE', 'PRIVATE IP', 'PUBLIC IP'], ...ready.nodes.map((n) => [n.name, n.role, n.cloud, n.phase, short(n.instanceId), n.privateIp ?? '', n.publicIp ?? ''])]) + '\n\n');

    const kc = await api.call<string>('GET', `/v1/clusters/${created.id}/kubeconfig`);
    if (kc.status !== 200) throw new Error(`kubeconfig: ${kc.status}`);
    const kcFile = path.join(process.cwd(), '.skyweave', 'demo-kubeconfig.yaml');
    mkdirSync(path.dirname(kcFile), { recursive: true });
    writeFileSync(kcFile, kc.body, { mode: 0o600 });
    say(`kubeconfig written to ${path.relative(process.cwd(), kcFile)}`);
    await showKubectlNodes(kcFile, ready.nodes.length, say);
    if (opts.autoscale) await autoscale(api, created.id, kcFile, ready.nodes.length, cursor);

    await api.ok('DELETE', `/v1/clusters/${created.id}`);
    say('delete requested: terminating every VM tagged for the cluster, then the networks');
    await follow(api, created.id, (c) => c.phase === 'Deleted', 120_000, cursor);
    say(`cluster deleted after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    if (opts.faults) {
      const calls = (await (await fetch(`${stack.adminUrl}/admin/calls`)).json()) as { total: number; byCloud: Record<string, number> };
      say(`cloud API calls in all: ${calls.total} (${Object.entries(calls.byCloud).map(([c, n]) => `${c} ${n}`).join(', ')}), about 15% of them refused by the injected faults`);
    }
    const left = (await sandboxResources(stack.adminUrl)).length;
    process.stdout.write(`left in sandbox: ${left} resources\n`);
    return left === 0 ? 0 : 1;
  } finally {
    await stack.stop();
  }
}

main().then((code) => process.exit(code), (e: unknown) => {
  process.stderr.write(`demo failed: ${(e as Error).message}\n`);
  process.exit(1);
});
