import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { sandboxAccount } from '@skyweave/tools/stack/api';
import { ensureLocalServices } from '@skyweave/tools/stack/services';
import { Stack, startStack } from '@skyweave/tools/stack/stack';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/apps/cli/main.js');

interface Run { code: number; stdout: string; stderr: string }
interface NodeView { id: string; name: string; cloud: string; role: string; phase: string }
interface ClusterView { id: string; name: string; phase: string; nodes: NodeView[]; networks: { cloud: string; phase: string }[] }
interface ClusterEvent { id: string; reason: string; type: string; message: string }

/**
 * The `skyweave` CLI (apps/cli, issue 14) end to end: the built binary (dist/apps/cli/main.js, one self-contained
 * file) run as real processes against a running installation with the sandbox cloud, with its own HOME, config file
 * and KUBECONFIG in a temporary folder. Credentials come from files in the formats users have (an AWS profile, a GCP
 * key file, an Azure service principal's JSON) and DIGITALOCEAN_TOKEN; a kubeconfig is merged and read by the real kubectl.
 */
describe('the skyweave CLI against a running installation', () => {
  let stack: Stack;
  let dir: string;
  let home: string;
  let configFile: string;
  let kubeconfig: string;
  let clusterId: string;

  /** The environment of a user's shell: no SKYWEAVE_/cloud variables of the test process, HOME and KUBECONFIG of the temp folder. */
  const baseEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^(SKYWEAVE_|AWS_|GOOGLE_|AZURE_|DIGITALOCEAN_|KUBECONFIG$|XDG_CONFIG_HOME$)/.test(k)) env[k] = v;
    return { ...env, HOME: home, SKYWEAVE_CONFIG: configFile, KUBECONFIG: kubeconfig };
  };
  const spawnCli = (args: string[], o: { input?: string; env?: Record<string, string> } = {}): ChildProcess => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...baseEnv(), ...o.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin?.end(o.input ?? '');
    return child;
  };
  const finished = (child: ChildProcess): Promise<Run> => new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  const cli = (args: string[], o: { input?: string; env?: Record<string, string> } = {}) => finished(spawnCli(args, o));
  /** Runs the CLI and expects exit 0; the run otherwise fails with what it printed. */
  const ok = async (args: string[], o: { input?: string; env?: Record<string, string> } = {}): Promise<Run> => {
    const r = await cli(args, o);
    if (r.code !== 0) throw new Error(`skyweave ${args.join(' ')} exited with ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r;
  };
  const json = async <T>(args: string[], o: { input?: string; env?: Record<string, string> } = {}): Promise<T> => JSON.parse((await ok([...args, '-o', 'json'], o)).stdout) as T;
  const kubectl = (args: string[]) => new Promise<Run>((resolve) => {
    execFile('kubectl', args, { env: baseEnv(), timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }));
  });

  beforeAll(async () => {
    await ensureLocalServices(() => undefined);
    execFileSync(process.execPath, [path.join(ROOT, 'tools/build.js'), 'cli'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    stack = await startStack({ bootMs: 300, env: { SKYWEAVE_RECONCILE_POLL_SECONDS: '1', SKYWEAVE_REDRIVE_SECONDS: '1' } });
    dir = mkdtempSync(path.join(tmpdir(), 'sw-cli-e2e-'));
    home = path.join(dir, 'home');
    mkdirSync(home);
    configFile = path.join(home, '.config', 'skyweave', 'config.yaml');
    kubeconfig = path.join(home, '.kube', 'config');
  });
  afterAll(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers --help everywhere, refuses bad usage with 2, and prints a bash completion script', async () => {
    for (const args of [['--help'], ['cluster', '--help'], ['cluster', 'create', '--help'], ['nodes', 'add', '--help'], ['credentials', 'add', 'aws', '--help'], ['events', '--help']]) {
      expect((await ok(args)).stdout).toMatch(/^Usage: skyweave/);
    }
    expect((await cli(['cluster', 'list', '-o', 'xml'])).code).toBe(2);
    expect((await cli(['cluster', 'frobnicate'])).code).toBe(2);
    const script = path.join(dir, 'completion.bash');
    writeFileSync(script, (await ok(['completion', 'bash'])).stdout);
    execFileSync('bash', ['-n', script]);
  });

  it('is not logged in at first (3), refuses a wrong key (3), then logs in and stores the key 0600', async () => {
    const before = await cli(['cluster', 'list']);
    expect(before.code).toBe(3);
    expect(before.stderr).toMatch(/not logged in: run `skyweave login/);
    const wrong = await cli(['login', '--url', stack.apiUrl, '--api-key-stdin'], { input: 'swk_not_a_key\n' });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/Unauthorized \(401, GET \/v1\/cloud-credentials\)/);
    const r = await ok(['login', '--url', `${stack.apiUrl}/v1/`, '--api-key-stdin'], { input: `${stack.apiKey}\n` });
    expect(r.stdout).toMatch(/^Logged in to http:\/\/127\.0\.0\.1:\d+: 0 cloud credential set\(s\), 0 cluster\(s\)/);
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(configFile)).mode & 0o777).toBe(0o700);
    expect(parseYaml(readFileSync(configFile, 'utf8'))).toEqual({ apiUrl: stack.apiUrl, apiKey: stack.apiKey });
  });

  it('adds credentials of the four clouds from an AWS profile, a GCP key file, an Azure service principal and DIGITALOCEAN_TOKEN', async () => {
    const aws = await sandboxAccount(stack.adminUrl, 'aws');
    mkdirSync(path.join(home, '.aws'));
    writeFileSync(path.join(home, '.aws', 'credentials'), [
      '[default]', 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE', 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '',
      '[sandbox]', `aws_access_key_id = ${String(aws.accessKeyId)}`, `aws_secret_access_key = ${String(aws.secretAccessKey)}`, 'region = us-east-1', '',
    ].join('\n'), { mode: 0o600 });
    const added = await json<{ cloud: string; identity: string }>(['credentials', 'add', 'aws', '--profile', 'sandbox']);
    expect(added).toMatchObject({ cloud: 'aws', identity: aws.accessKeyId });

    // a key file as gcloud writes it: fields the API does not take (auth_uri, cert URLs, universe_domain) are left out by the CLI
    const gcp = await sandboxAccount(stack.adminUrl, 'gcp');
    const keyFile = path.join(dir, 'gcp-key.json');
    writeFileSync(keyFile, JSON.stringify({ ...gcp, auth_uri: 'https://accounts.google.com/o/oauth2/auth', auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs', client_x509_cert_url: 'https://www.googleapis.com/robot/v1/metadata/x509/sa', universe_domain: 'googleapis.com' }, null, 2));
    expect((await ok(['credentials', 'add', 'gcp', '--key-file', keyFile])).stdout).toMatch(new RegExp(`^Added gcp credentials [0-9a-f-]{36} \\(${String(gcp.client_email).replace(/[.+]/g, '\\$&')}\\)`));

    // `az ad sp create-for-rbac` output; the subscription from the environment
    const azure = await sandboxAccount(stack.adminUrl, 'azure');
    const spFile = path.join(dir, 'sp.json');
    writeFileSync(spFile, JSON.stringify({ appId: azure.clientId, displayName: 'skyweave-e2e', password: azure.clientSecret, tenant: azure.tenantId }, null, 2));
    await ok(['credentials', 'add', 'azure', '--sp-file', spFile], { env: { AZURE_SUBSCRIPTION_ID: String(azure.subscriptionId) } });

    const digitalocean = await sandboxAccount(stack.adminUrl, 'digitalocean');
    await ok(['credentials', 'add', 'digitalocean'], { env: { DIGITALOCEAN_TOKEN: String(digitalocean.token) } });

    const list = await json<{ cloud: string }[]>(['credentials', 'list']);
    expect(list.map((c) => c.cloud).sort()).toEqual(['aws', 'azure', 'digitalocean', 'gcp']);
    // a second set for a cloud is a 409 problem, printed readably (exit 1); --replace rotates it
    const again = await cli(['credentials', 'add', 'digitalocean'], { env: { DIGITALOCEAN_TOKEN: String(digitalocean.token) } });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/Credentials already exist \(409, POST \/v1\/cloud-credentials\)\n {2}this organisation already has digitalocean credentials/);
    expect((await ok(['credentials', 'add', 'digitalocean', '--replace'], { env: { DIGITALOCEAN_TOKEN: String(digitalocean.token) } })).stdout).toMatch(/^Replaced digitalocean credentials/);
    // a profile that is not there: named, with the ones there are
    const missing = await cli(['credentials', 'add', 'aws', '--profile', 'staging']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('has no profile [staging] (profiles: default, sandbox)');
  });

  it('plans a cluster from -f cluster.yaml (JSON and a table with each cloud\'s cost), and names broken rules', async () => {
    writeFileSync(path.join(dir, 'cluster.yaml'), [
      'name: cli', 'region: us-east', 'clouds: [aws, gcp, azure, digitalocean]', 'controlPlane: {cloud: aws, count: 1}',
      'workers:', '  - {cloud: gcp, count: 1}', '  - {cloud: digitalocean, count: 1}', '',
    ].join('\n'));
    const plan = JSON.parse((await ok(['cluster', 'plan', '-f', 'cluster.yaml', '-o', 'json'])).stdout) as { clouds: { cloud: string; cost: { usdPerHour: number } }[]; cost: { usdPerHour: number } };
    expect(plan.clouds.map((c) => c.cloud).sort()).toEqual(['aws', 'azure', 'digitalocean', 'gcp']);
    expect(plan.cost.usdPerHour).toBeCloseTo(plan.clouds.reduce((a, c) => a + c.cost.usdPerHour, 0), 6);
    expect(plan.cost.usdPerHour).toBeGreaterThan(0);
    const shown = (await ok(['cluster', 'plan', '-f', 'cluster.yaml'])).stdout;
    expect(shown).toMatch(/^plan for cli in .* \(nothing is created\)/);
    expect(shown).toMatch(/\ntotal[\s-]+\$\d+\.\d{4}\s+\$\d+\.\d{2}/);
    expect(shown).toMatch(/worst cross-cloud latency: .* ms \(budget 10 ms/);
    const bad = await cli(['cluster', 'create', '-f', 'cluster.yaml', '--control-plane', 'aws:2']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('The request is not valid (422, POST /v1/clusters)\n  controlPlane.count: count must be 1 or 3 (etcd quorum)  [isIn]');
  });

  it('creates the cluster with --wait, showing its plan and cost first, then progress per cloud and per node, and prints it as JSON', async () => {
    const r = await ok(['cluster', 'create', '-f', 'cluster.yaml', '--wait', '--timeout', '5m', '-o', 'json']);
    const view = JSON.parse(r.stdout) as ClusterView;
    clusterId = view.id;
    expect(view).toMatchObject({ name: 'cli', phase: 'Ready' });
    // the plan and its cost, shown before the create (stderr; not a terminal, so nobody is asked)
    expect(r.stderr).toMatch(/^plan for cli in .* \(nothing is created\)\n/);
    expect(r.stderr.indexOf('\ntotal')).toBeLessThan(r.stderr.indexOf('created:'));
    for (const cloud of ['aws', 'gcp', 'azure', 'digitalocean']) expect(r.stderr).toMatch(new RegExp(`^\\[ *\\d+\\.\\ds\\] network ${cloud}: Ready`, 'm'));
    for (const n of view.nodes) expect(r.stderr).toMatch(new RegExp(`\\] node ${n.name} \\(${n.cloud} ${n.role}\\): Joined`));
    expect(r.stderr).toMatch(/\] cluster cli Ready in \d+\.\ds: 1 master\(s\), 2 worker\(s\) on aws, gcp, azure, digitalocean\n$/);
  }, 360_000);

  it('lists and gets the cluster as JSON and YAML, by name or id; an unknown one is exit 4', async () => {
    const list = await json<{ id: string; name: string; phase: string }[]>(['cluster', 'list']);
    expect(list).toEqual([expect.objectContaining({ id: clusterId, name: 'cli', phase: 'Ready' })]);
    const byName = await json<ClusterView>(['cluster', 'get', 'cli']);
    expect(byName.id).toBe(clusterId);
    const yaml = parseYaml((await ok(['cluster', 'get', clusterId, '-o', 'yaml'])).stdout) as ClusterView;
    expect(yaml.networks.map((n) => n.phase)).toEqual(['Ready', 'Ready', 'Ready', 'Ready']);
    expect((await ok(['cluster', 'get', 'cli'])).stdout).toMatch(/^Name: +cli\nID: +[0-9a-f-]{36}\nPhase: +Ready\n/);
    const unknown = await cli(['cluster', 'get', '00000000-0000-4000-8000-000000000000']);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('Not found (404, GET /v1/clusters/00000000-0000-4000-8000-000000000000)');
    expect((await cli(['cluster', 'get', 'nope'])).code).toBe(4);
  });

  it('merges the kubeconfig into ~/.kube/config as a new context, beside the one there, and kubectl uses it', async () => {
    mkdirSync(path.dirname(kubeconfig), { recursive: true });
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster: {server: "https://10.9.9.9:6443"}\nusers:\n- name: other\n  user: {token: x}\ncontexts:\n- name: other\n  context: {cluster: other, user: other}\ncurrent-context: other\n');
    expect((await ok(['cluster', 'kubeconfig', 'cli'])).stdout).toBe(`Context skyweave-cli merged into ${kubeconfig} (current context)\n`);
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    const contexts = await kubectl(['config', 'get-contexts', '-o', 'name']);
    expect(contexts.code).toBe(0);
    expect(contexts.stdout.trim().split('\n').sort()).toEqual(['other', 'skyweave-cli']);
    expect((await kubectl(['config', 'current-context'])).stdout.trim()).toBe('skyweave-cli');
    const nodes = await kubectl(['get', 'nodes', '-o', 'name']);
    expect(nodes.code).toBe(0);
    expect(nodes.stdout).toMatch(/^node\//);
    // or a file of its own
    await ok(['cluster', 'kubeconfig', 'cli', '--file', 'cli.kubeconfig']);
    expect((parseYaml(readFileSync(path.join(dir, 'cli.kubeconfig'), 'utf8')) as { 'current-context': string })['current-context']).toBe('skyweave-cli');
  });

  it('adds a worker with --wait, gives up a wait with exit 5, runs a full reconcile, and removes the worker with --wait', async () => {
    const add = await ok(['nodes', 'add', 'cli', '--cloud', 'azure', '--count', '1', '--wait', '--timeout', '3m', '-o', 'json']);
    const added = JSON.parse(add.stdout) as NodeView[];
    expect(added).toEqual([expect.objectContaining({ cloud: 'azure', role: 'worker', phase: 'Joined' })]);
    expect(add.stderr).toMatch(new RegExp(`\\] node ${added[0].name} \\(azure worker\\): Joined`));
    expect(add.stderr).toMatch(/\] 1 worker\(s\) joined in \d+\.\ds\n$/);

    // a wait that gives up is exit 5; the operation goes on, and `cluster get --wait` follows it until settled
    const late = await cli(['nodes', 'add', 'cli', '--cloud', 'gcp', '--wait', '--timeout', '1ms']);
    expect(late.code).toBe(5);
    expect(late.stderr).toMatch(/error: timed out after 0 s \(cluster cli is Ready\); the operation goes on: `skyweave cluster get [0-9a-f-]{36}`/);
    const settled = await json<ClusterView>(['cluster', 'get', 'cli', '--wait', '--timeout', '3m']);
    expect(settled.nodes.filter((n) => n.cloud === 'gcp').map((n) => n.phase)).toEqual(['Joined', 'Joined']);

    const rec = await ok(['cluster', 'reconcile', 'cli', '--wait', '--timeout', '3m', '-o', 'json']);
    expect(rec.stderr).toMatch(/\] Reconciled/);
    expect(JSON.parse(rec.stdout)).toHaveProperty('finishedAt');

    const rm = await ok(['nodes', 'remove', 'cli', added[0].name, '--wait', '--timeout', '3m', '-o', 'json']);
    expect(JSON.parse(rm.stdout)).toMatchObject({ id: added[0].id, phase: 'Terminated' });
    expect(rm.stderr).toMatch(new RegExp(`\\] node ${added[0].name} \\(azure worker\\): Terminated`));
    const nodes = await json<NodeView[]>(['nodes', 'list', 'cli']);
    expect(nodes.map((n) => n.id)).not.toContain(added[0].id);
    expect((await cli(['nodes', 'remove', 'cli', added[0].name])).code).toBe(4);
  }, 600_000);

  it('deletes the cluster with --wait while `events --follow` prints every event as JSON lines until Deleted', async () => {
    expect((await cli(['cluster', 'delete', 'cli'])).code).toBe(2);
    const follow = finished(spawnCli(['events', 'cli', '--follow', '-o', 'json', '--interval', '500ms']));
    const del = await ok(['cluster', 'delete', 'cli', '--yes', '--wait', '--timeout', '5m', '-o', 'json']);
    expect(JSON.parse(del.stdout)).toMatchObject({ id: clusterId, phase: 'Deleted' });
    expect(del.stderr).toMatch(/\] network gcp: Deleted/);
    expect(del.stderr).toMatch(/\] cluster cli deleted in \d+\.\ds\n$/);
    const events = await follow;
    expect(events.code).toBe(0);
    const reasons = events.stdout.trim().split('\n').map((l) => (JSON.parse(l) as ClusterEvent).reason);
    expect(reasons).toEqual(expect.arrayContaining(['Created', 'ClusterReady', 'NodesAdded', 'ReconcileStarted', 'Reconciled', 'NodeRemovalRequested', 'DeleteRequested', 'Deleted']));
    expect(reasons[reasons.length - 1]).toBe('Deleted');
    expect(await json<unknown[]>(['cluster', 'list'])).toEqual([]);
  }, 360_000);
});
