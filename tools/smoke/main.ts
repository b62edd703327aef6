/**
 * `npm run smoke -- --cloud aws|gcp|azure|digitalocean [--sandbox] [--if-credentials] [--region us-east]`
 * (issue 11, item 7): for users with a real account. Starts an installation (PostgreSQL, NATS, every service; the
 * node-agent packages built and served), creates a one-master, one-worker cluster in the account the environment's
 * credentials name, waits until `kubectl get nodes` through the platform's kubeconfig shows both nodes Ready, deletes
 * the cluster and checks through the cloud's own API (the adapter's tag sweep) that nothing tagged for it is left.
 * Prints progress (phase changes and events) and ends `smoke: <cloud>: … (N s)`; exits 1 on any failure.
 *
 * Credentials, in each cloud's usual variables:
 * - aws: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
 * - gcp: `GOOGLE_APPLICATION_CREDENTIALS` (a service account key file)
 * - azure: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_SUBSCRIPTION_ID`
 * - digitalocean: `DIGITALOCEAN_TOKEN`
 * and `SKYWEAVE_PUBLIC_API_URL`: the URL the cloud's VMs reach this machine's gateway at (a public address or a
 * tunnel to port `SKYWEAVE_SMOKE_API_PORT`, default 8080). Real VMs download node-agent from there too.
 *
 * `--if-credentials`: without them, print why it is skipped and exit 0 (CI, which has none). `--sandbox`: the same
 * journey against the sandbox cloud with a fresh sandbox account, which is how this script is tested here (no real
 * cloud is reachable from this machine).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { createCloudProvider, networkSpecFor, type CloudCredentials, type CloudEndpoints } from '@skyweave/cloud-adapters';
import { CLOUDS, CloudId, TAG_CLUSTER, findRegion } from '@skyweave/domain';
import { ApiClient, sandboxAccount, sandboxResources } from '../stack/api';
import { kubectl, kubectlInstalled, nodeReady, waitForNodes } from '../stack/kubectl';
import { startStack, Stack } from '../stack/stack';

const ROOT = path.resolve(__dirname, '../..');

/** The variables each cloud's credentials come from (see above). */
export const CREDENTIAL_ENV: Record<CloudId, readonly string[]> = {
  aws: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
  gcp: ['GOOGLE_APPLICATION_CREDENTIALS'],
  azure: ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_SUBSCRIPTION_ID'],
  digitalocean: ['DIGITALOCEAN_TOKEN'],
};

/**
 * The cloud's credentials from the environment, in the shape `POST /v1/cloud-credentials` takes, or `undefined`
 * naming nothing when a variable is missing. @throws Error when the GCP key file cannot be read as JSON.
 */
export function credentialsFromEnv(cloud: CloudId, env: NodeJS.ProcessEnv): Record<string, unknown> | undefined {
  if (CREDENTIAL_ENV[cloud].some((v) => !env[v])) return undefined;
  const e = (name: string) => env[name] ?? '';
  switch (cloud) {
    case 'aws':
      return { accessKeyId: e('AWS_ACCESS_KEY_ID'), secretAccessKey: e('AWS_SECRET_ACCESS_KEY') };
    case 'gcp':
      return JSON.parse(readFileSync(e('GOOGLE_APPLICATION_CREDENTIALS'), 'utf8')) as Record<string, unknown>;
    case 'azure':
      return { tenantId: e('AZURE_TENANT_ID'), clientId: e('AZURE_CLIENT_ID'), clientSecret: e('AZURE_CLIENT_SECRET'), subscriptionId: e('AZURE_SUBSCRIPTION_ID') };
    case 'digitalocean':
      return { token: e('DIGITALOCEAN_TOKEN') };
  }
}

const say = (m: string) => process.stdout.write(`smoke: ${m}\n`);

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

interface ClusterView { phase: string; nodes: { name: string; role: string; phase: string }[]; conditions?: { type: string; status: string; message?: string }[] }

async function main(): Promise<void> {
  const o = new Command('smoke')
    .addOption(new Option('--cloud <cloud>', 'the cloud to smoke-test').choices([...CLOUDS]).makeOptionMandatory())
    .option('--region <id>', 'Skyweave region (GET /v1/regions)', 'us-east')
    .option('--sandbox', 'run against the sandbox cloud with a fresh sandbox account (tests this script)', false)
    .option('--if-credentials', 'without credentials in the environment, say so and exit 0', false)
    .parse()
    .opts<{ cloud: CloudId; region: string; sandbox: boolean; ifCredentials: boolean }>();
  const cloud = o.cloud;
  const mapped = findRegion(o.region)?.clouds[cloud];
  if (!mapped) throw new Error(`--region ${o.region} is not available on ${cloud} (GET /v1/regions lists the mapping)`);
  const started = Date.now();
  const realTimeout = (sandboxMs: number, realMs: number) => (o.sandbox ? sandboxMs : realMs);

  let credentials: Record<string, unknown> | undefined;
  let realClouds: { publicApiUrl: string; apiPort: number } | undefined;
  if (!o.sandbox) {
    credentials = credentialsFromEnv(cloud, process.env);
    const publicApiUrl = process.env.SKYWEAVE_PUBLIC_API_URL;
    const missing = [...(credentials ? [] : CREDENTIAL_ENV[cloud].filter((v) => !process.env[v])), ...(publicApiUrl ? [] : ['SKYWEAVE_PUBLIC_API_URL'])];
    if (missing.length > 0) {
      const why = `${cloud}: skipped, not set: ${missing.join(', ')}`;
      if (o.ifCredentials) {
        say(why);
        return;
      }
      throw new Error(why);
    }
    realClouds = { publicApiUrl: publicApiUrl ?? '', apiPort: Number(process.env.SKYWEAVE_SMOKE_API_PORT ?? 8080) };
  }
  if (!kubectlInstalled()) throw new Error('kubectl is not installed (bash tools/validators.sh installs it)');

  const dir = mkdtempSync(path.join(os.tmpdir(), `skyweave-smoke-${cloud}-`));
  // the node-agent packages a stock image downloads (both architectures, Node.js from the npm registry); the sandbox's
  // image ships the agent, so there one package with this machine's Node.js does (nothing fetched)
  const packages = path.join(dir, 'agent-packages');
  say('building the node-agent packages');
  const packageArgs = o.sandbox ? ['--arch', 'amd64', '--runtime', `amd64=${process.execPath}`] : [];
  execFileSync(process.execPath, [path.join(ROOT, 'tools/agent-package.js'), ...packageArgs, '--out', packages], { stdio: ['ignore', 'ignore', 'inherit'] });

  let stack: Stack | undefined;
  let api: ApiClient | undefined;
  let clusterId: string | undefined;
  let failed: unknown;
  try {
    stack = await startStack({ ...(realClouds ? { realClouds } : {}), env: { SKYWEAVE_AGENT_PACKAGES_DIR: packages } });
    const client = new ApiClient(stack.apiUrl, stack.apiKey);
    api = client;
    const creds = credentials ?? (await sandboxAccount(stack.adminUrl, cloud));
    await client.ok('POST', '/v1/cloud-credentials', { cloud, credentials: creds });
    say(`${cloud} credentials accepted`);
    const created = await client.ok<{ id: string }>('POST', '/v1/clusters', {
      name: `smoke-${cloud}`, region: o.region, clouds: [cloud], controlPlane: { cloud, count: 1 }, workers: [{ cloud, count: 1 }],
    });
    const id = created.id;
    clusterId = id;
    say(`cluster ${id} in ${mapped.region}: creating`);
    let last = '';
    const view = () => client.ok<ClusterView>('GET', `/v1/clusters/${id}`);
    await until('the cluster Ready', async () => {
      const c = await view();
      const line = `${c.phase}; ${c.nodes.map((n) => `${n.name} ${n.phase}`).join(', ')}`;
      if (line !== last) say((last = line));
      if (c.phase === 'Failed') throw new Error(`cluster Failed: ${JSON.stringify(c.conditions)}`);
      return c.phase === 'Ready' ? c : undefined;
    }, realTimeout(180_000, 1_200_000));

    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, (await client.call<string>('GET', `/v1/clusters/${id}/kubeconfig`)).body, { mode: 0o600 });
    const nodes = await waitForNodes(kubeconfig, (ns) => ns.length === 2 && ns.every(nodeReady), realTimeout(120_000, 600_000));
    say(`kubectl get nodes: ${nodes.map((n) => `${n.metadata.name} Ready`).join(', ')}`);
    process.stdout.write((await kubectl(kubeconfig, ['get', 'nodes', '-o', 'wide'])).stdout);

    // a delete refused for now (409 while a reconcile holds the cluster, with Retry-After) is asked again until accepted
    await until('the delete accepted', async () => {
      const r = await client.call('DELETE', `/v1/clusters/${id}`);
      if (r.status >= 400 && r.status !== 409) throw new Error(`DELETE /v1/clusters/${id}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.status < 300 ? true : undefined;
    }, realTimeout(60_000, 600_000));
    say('deleting');
    await until('the cluster Deleted', async () => ((await view()).phase === 'Deleted' ? true : undefined), realTimeout(180_000, 1_200_000));

    // nothing tagged for the cluster is left, as the cloud's own API sees it (the adapter's leak sweep, by tag)
    const endpoints: CloudEndpoints = o.sandbox ? (JSON.parse(readFileSync(path.join(stack.workDir, 'endpoints.json'), 'utf8')) as CloudEndpoints) : {};
    const provider = createCloudProvider({ cloud, [cloud]: creds } as unknown as CloudCredentials, endpoints);
    const region = networkSpecFor(id, o.region, cloud).region;
    const left = (await provider.listAllTaggedResources(region)).filter((r) => r.tags[TAG_CLUSTER] === id);
    if (left.length > 0) throw new Error(`left in ${cloud} ${region}: ${left.map((r) => `${r.kind} ${r.id}`).join(', ')}`);
    if (o.sandbox) {
      const sandboxLeft = await sandboxResources(stack.adminUrl);
      if (sandboxLeft.length > 0) throw new Error(`left in the sandbox: ${sandboxLeft.length} resources`);
    }
    clusterId = undefined;
    say(`${cloud}${o.sandbox ? ' (sandbox)' : ''}: cluster Ready, 2 nodes Ready in kubectl, deleted, 0 resources tagged for it left in ${region} (${Math.round((Date.now() - started) / 1000)} s)`);
  } catch (e) {
    failed = e;
  } finally {
    if (clusterId && api) {
      say(`cleaning up: deleting cluster ${clusterId}`);
      await api.call('DELETE', `/v1/clusters/${clusterId}`).catch(() => undefined);
      const c = api;
      const id = clusterId;
      await until('the cluster Deleted', async () => ((await c.ok<ClusterView>('GET', `/v1/clusters/${id}`)).phase === 'Deleted' ? true : undefined), realTimeout(180_000, 1_200_000))
        .catch((e: unknown) => say(`cleanup failed: ${(e as Error).message}: delete what is tagged skyweave-cluster=${id} by hand`));
    }
    await stack?.stop().catch((e: unknown) => { failed ??= e; });
    rmSync(dir, { recursive: true, force: true });
  }
  if (failed) throw failed;
}

main().catch((e: unknown) => {
  process.stderr.write(`smoke: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
