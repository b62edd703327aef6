import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { clusterRequest, parseGroup } from './cluster-spec';
import { exitCodeOf, formatProblem } from './api';
import { mergeKubeconfig, renamed } from './kubeconfig';
import { changes } from './wait';
import { bashCompletion } from './completion';
import { buildProgram } from './program';
import type { ClusterView } from './views';

describe('cluster requests from flags and files', () => {
  it('builds the API body from flags, clouds from the groups named', () => {
    expect(clusterRequest({ name: 'prod', region: 'us-east', controlPlane: 'aws:3', worker: ['aws', 'gcp:2', 'azure:1:Standard_D2s_v5'] })).toEqual({
      name: 'prod', region: 'us-east', clouds: ['aws', 'gcp', 'azure'], controlPlane: { cloud: 'aws', count: 3 },
      workers: [{ cloud: 'aws', count: 1 }, { cloud: 'gcp', count: 2 }, { cloud: 'azure', count: 1, instanceType: 'Standard_D2s_v5' }],
    });
  });
  it('reads -f (YAML) and lets flags override it', () => {
    const yaml = 'name: a\nregion: eu-west\nclouds: [aws, gcp]\ncontrolPlane: {cloud: aws, count: 1}\nworkers:\n  - {cloud: gcp, count: 1}\n';
    expect(clusterRequest({ file: '-', name: 'b' }, () => yaml)).toMatchObject({ name: 'b', region: 'eu-west', clouds: ['aws', 'gcp'], workers: [{ cloud: 'gcp', count: 1 }] });
  });
  it('names what is missing or wrong as usage errors', () => {
    expect(() => clusterRequest({ name: 'x' })).toThrow('a cluster needs --region, --control-plane (or -f cluster.yaml)');
    expect(() => parseGroup('ibm:1', '--worker', 1)).toThrow('--worker: ibm is not a cloud (aws, gcp, azure, digitalocean)');
    expect(() => parseGroup('aws:0', '--worker', 1)).toThrow(/must be a whole number/);
  });
});

describe('problems and exit codes', () => {
  it('prints each broken rule of a problem', () => {
    expect(formatProblem('POST', '/v1/clusters', 422, { title: 'The request is not valid', detail: 'x', errors: [{ field: 'controlPlane.count', rule: 'isIn', message: 'count must be 1 or 3 (etcd quorum)' }] }))
      .toBe('The request is not valid (422, POST /v1/clusters)\n  controlPlane.count: count must be 1 or 3 (etcd quorum)  [isIn]');
  });
  it('maps 401/403 to 3 (but a quota to 1), 404 to 4, the rest to 1', () => {
    expect(exitCodeOf(401)).toBe(3);
    expect(exitCodeOf(403, { type: 'https://skyweave.dev/problems/forbidden' })).toBe(3);
    expect(exitCodeOf(403, { type: 'https://skyweave.dev/problems/quota-exceeded' })).toBe(1);
    expect(exitCodeOf(404)).toBe(4);
    expect(exitCodeOf(409)).toBe(1);
  });
});

describe('kubeconfig merge', () => {
  const api = 'apiVersion: v1\nkind: Config\nclusters: [{name: prod, cluster: {server: "https://1.2.3.4:6443"}}]\nusers: [{name: prod-admin, user: {client-key-data: k}}]\ncontexts: [{name: prod-admin, context: {cluster: prod, user: prod-admin}}]\ncurrent-context: prod-admin\n';
  it('renames the entries and adds them beside the existing ones, replacing a same-named context', () => {
    const add = renamed(api, 'skyweave-prod');
    const base = { apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'kind', cluster: {} }], users: [{ name: 'kind', user: {} }], contexts: [{ name: 'kind', context: {} }], 'current-context': 'kind' };
    const once = mergeKubeconfig(base, add, false);
    expect(once.contexts?.map((c) => c.name)).toEqual(['kind', 'skyweave-prod']);
    expect(once['current-context']).toBe('kind');
    const twice = mergeKubeconfig(once, add, true);
    expect(twice.clusters?.map((c) => c.name)).toEqual(['kind', 'skyweave-prod']);
    expect(twice.contexts?.[1]).toEqual({ name: 'skyweave-prod', context: { cluster: 'skyweave-prod', user: 'skyweave-prod' } });
    expect(twice['current-context']).toBe('skyweave-prod');
    expect(mergeKubeconfig(null, add, false)['current-context']).toBe('skyweave-prod');
  });
});

describe('progress lines', () => {
  const view = (over: Partial<ClusterView>): ClusterView => ({
    id: 'c', name: 'prod', phase: 'Provisioning', spec: { name: 'prod', region: 'us-east', clouds: ['aws'], controlPlane: { cloud: 'aws', count: 1, instanceType: 't3.medium' }, workers: [], kubernetesVersion: '1.36.4' },
    conditions: [], networks: [{ cloud: 'aws', phase: 'Provisioning', message: null, waiting: null }],
    nodes: [{ id: 'n', name: 'prod-master-0', cloud: 'aws', role: 'master', phase: 'Launching', instanceType: 't3.medium', instanceId: null, privateIp: null, publicIp: null, removalRequested: false, kubernetesVersion: null, message: null, waiting: null }],
    createdAt: '', updatedAt: '', ...over,
  });
  it('says one line per change: cluster phase, network per cloud, node phase, refusals', () => {
    const a = view({});
    expect(changes(undefined, a)).toEqual(['cluster prod: Provisioning', 'network aws: Provisioning', 'node prod-master-0 (aws master): Launching']);
    const b = view({
      networks: [{ cloud: 'aws', phase: 'Ready', region: 'us-east-1', vpcCidr: '10.1.0.0/16', subnetCidr: '10.1.0.0/20', message: null, waiting: null }],
      nodes: [{ ...a.nodes[0], phase: 'Joined', privateIp: '10.1.0.5' }],
      conditions: [{ type: 'CredentialsValid', status: 'False', reason: 'InvalidCredentials', message: 'aws refused' }],
    });
    expect(changes(a, b)).toEqual(['network aws: Ready (us-east-1 10.1.0.0/16, subnet 10.1.0.0/20)', 'node prod-master-0 (aws master): Joined (10.1.0.5)', 'condition CredentialsValid=False (InvalidCredentials): aws refused']);
    expect(changes(b, b)).toEqual([]);
    expect(changes(a, b, new Set(['other']))).toEqual(['condition CredentialsValid=False (InvalidCredentials): aws refused']);
  });
});

describe('the command tree', () => {
  const program = buildProgram({ out: () => undefined, err: () => undefined, env: {}, stdin: () => '' });
  it('has every command of the issue', () => {
    const paths = (c: typeof program, p = ''): string[] => c.commands.flatMap((s) => [`${p}${s.name()}`, ...paths(s, `${p}${s.name()} `)]);
    expect(paths(program)).toEqual(expect.arrayContaining([
      'login', 'credentials add aws', 'credentials add gcp', 'credentials add azure', 'credentials add digitalocean', 'cluster plan', 'cluster create', 'cluster list',
      'cluster get', 'cluster delete', 'cluster reconcile', 'cluster kubeconfig', 'nodes add', 'nodes remove', 'events', 'completion',
    ]));
  });
  it('completes subcommands, flags and --output values in bash', () => {
    const script = bashCompletion(program);
    expect(script).toContain('"cluster") echo "plan create list get delete reconcile kubeconfig" ;;');
    expect(script).toMatch(/"nodes add"\) echo "[^"]*--cloud[^"]*--wait/);
    expect(script).toContain('--output) echo "table json yaml" ;;');
    expect(script).toContain('complete -o default -F _skyweave skyweave');
  });
});

describe('cluster create shows the plan first', () => {
  /** A stand-in API answering the plan and the create, recording which paths were called. */
  async function api(): Promise<{ url: string; calls: string[]; close: () => Promise<void> }> {
    const calls: string[] = [];
    const server = createServer((req, res) => {
      calls.push(`${req.method} ${req.url}`);
      req.resume();
      res.setHeader('content-type', 'application/json');
      if (req.url === '/v1/clusters/plan') {
        res.end(JSON.stringify({ name: 'p', region: { name: 'us-east' }, clouds: [], latency: { worst: null, budgetMs: 10, withinBudget: true }, warnings: [], cost: { usdPerHour: 0.25, usdPerMonth: 182.5 } }));
      } else {
        res.statusCode = 201;
        res.end(JSON.stringify({ id: '3f1e0c1a-0000-4000-8000-000000000001', name: 'p', phase: 'Pending', spec: { clouds: ['aws'] }, nodes: [] }));
      }
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, calls, close: () => new Promise((ok) => server.close(() => ok())) };
  }
  const args = ['node', 'skyweave', 'cluster', 'create', '--name', 'p', '--region', 'us-east', '--control-plane', 'aws:1'];

  it('asks on a terminal after showing the plan, and creates nothing when the answer is no', async () => {
    const a = await api();
    try {
      let err = '';
      const questions: string[] = [];
      const program = buildProgram({ out: () => undefined, err: (s) => { err += s; }, env: { SKYWEAVE_API_URL: a.url, SKYWEAVE_API_KEY: 'swk_test' }, stdin: () => '',
        confirm: async (q) => { questions.push(q); return false; } });
      await expect(program.parseAsync(args)).rejects.toThrow('not created');
      expect(err).toMatch(/^plan for p in us-east \(nothing is created\)/);
      expect(questions).toEqual(['Create cluster p at about $0.2500/hour? [y/N] ']);
      expect(a.calls).toEqual(['POST /v1/clusters/plan']);
    } finally {
      await a.close();
    }
  });

  it('creates after the plan when the answer is yes, and without asking with --yes', async () => {
    const a = await api();
    try {
      const asked: string[] = [];
      const io = { out: () => undefined, err: () => undefined, env: { SKYWEAVE_API_URL: a.url, SKYWEAVE_API_KEY: 'swk_test' }, stdin: () => '', confirm: async (q: string) => { asked.push(q); return true; } };
      await buildProgram(io).parseAsync(args);
      await buildProgram(io).parseAsync([...args, '--yes']);
      expect(asked).toHaveLength(1);
      expect(a.calls).toEqual(['POST /v1/clusters/plan', 'POST /v1/clusters', 'POST /v1/clusters/plan', 'POST /v1/clusters']);
    } finally {
      await a.close();
    }
  });
});
