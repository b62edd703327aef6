import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AgentApi } from '@skyweave/contracts';
import { CommandResult, RecordingExecutor, RunOptions } from './executor';
import { parseCheckExpiration, runOperation, runOperationsLoop } from './operations';
import { AgentState, loadState, saveState } from './state';

const NODE_ID = '6f1c2a9e-0000-4000-8000-000000000001';
const TOKEN = 'node-token-abc';
const op = (id: string, kind: AgentApi.OperationKind, extra: Partial<AgentApi.NodeOperation> = {}): AgentApi.NodeOperation => ({
  id, kind, targetNodeName: 'sw-1a2b3c4d-worker-2', timeoutSeconds: 300, ...extra,
});
/** argv of every command the executor under `root` recorded, in order. */
const recorded = (root: string): string[][] => {
  const log = path.join(root, 'var/lib/skyweave/commands.jsonl');
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { argv: string[] }).argv) : [];
};

/** Records like the sandbox, but the real executor's answer for one command: it fails. */
class FailingOn extends RecordingExecutor {
  readonly opts: (RunOptions | undefined)[] = [];
  constructor(root: string, private readonly failing: string, private readonly stderr: string) {
    super(root);
  }
  override async capture(argv: string[], opts?: RunOptions): Promise<CommandResult | null> {
    this.opts.push(opts);
    await super.capture(argv);
    return argv.join(' ').startsWith(this.failing) ? { code: 1, stdout: '', stderr: this.stderr } : { code: 0, stdout: '', stderr: '' };
  }
}

/** Records like the sandbox, and answers each command with what `answer` gives (`null`: only recorded). */
class Scripted extends RecordingExecutor {
  constructor(root: string, private readonly answer: (argv: string[]) => CommandResult | null) {
    super(root);
  }
  override async capture(argv: string[]): Promise<CommandResult | null> {
    await super.capture(argv);
    return this.answer(argv);
  }
}

/** kubeadm's `certs check-expiration -o json` output (CertificateExpirationInfo, output.kubeadm.k8s.io/v1alpha3). */
const CHECK_EXPIRATION_JSON = JSON.stringify({
  kind: 'CertificateExpirationInfo', apiVersion: 'output.kubeadm.k8s.io/v1alpha3',
  certificates: [
    { name: 'admin.conf', expirationDate: '2027-12-03T19:20:00Z', residualTime: 31535999, certificateAuthority: 'ca', externallyManaged: false, missing: false },
    { name: 'apiserver', expirationDate: '2027-12-03T19:20:01Z', residualTime: 31536000, certificateAuthority: 'ca', externallyManaged: false, missing: false },
    { name: 'apiserver-etcd-client', expirationDate: '0001-01-01T00:00:00Z', residualTime: 0, certificateAuthority: 'etcd-ca', externallyManaged: false, missing: true },
  ],
  certificateAuthorities: [{ name: 'ca', expirationDate: '2036-11-30T18:00:00Z', residualTime: 315000000, externallyManaged: false, missing: false }],
});

describe('parseCheckExpiration', () => {
  it('takes each present certificate\'s name and expiry from kubeadm\'s JSON, and nothing from anything else', () => {
    expect(parseCheckExpiration(CHECK_EXPIRATION_JSON)).toEqual([
      { name: 'admin.conf', expiresAt: '2027-12-03T19:20:00Z' }, { name: 'apiserver', expiresAt: '2027-12-03T19:20:01Z' },
    ]);
    expect(parseCheckExpiration('CERTIFICATE   EXPIRES\nadmin.conf   Dec 03, 2027 19:20 UTC')).toEqual([]);
    expect(parseCheckExpiration('{"certificates":[{"name":"apiserver","expirationDate":"soon"}]}')).toEqual([]);
  });
});

describe('runOperation', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(path.join(tmpdir(), 'sw-ops-')); });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('drains with the admin kubeconfig (cordon, evict, --timeout in seconds)', async () => {
    const r = await runOperation(new RecordingExecutor(root), op('a', 'drain', { timeoutSeconds: 120 }));
    expect(recorded(root)).toEqual([
      ['kubectl', '--kubeconfig', path.join(root, 'etc/kubernetes/admin.conf'), 'drain', 'sw-1a2b3c4d-worker-2', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=120s'],
    ]);
    expect(r).toEqual({ state: 'Succeeded', message: 'cordoned and drained sw-1a2b3c4d-worker-2 (1 of 1 commands only recorded, not run)' });
  });

  it('before a removal, deletes the Node once drained (kubeadm\'s "Remove the node")', async () => {
    const r = await runOperation(new RecordingExecutor(root), op('a', 'drain', { timeoutSeconds: 60, deleteNode: true }));
    const admin = path.join(root, 'etc/kubernetes/admin.conf');
    expect(recorded(root)).toEqual([
      ['kubectl', '--kubeconfig', admin, 'drain', 'sw-1a2b3c4d-worker-2', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=60s'],
      ['kubectl', '--kubeconfig', admin, 'delete', 'node', 'sw-1a2b3c4d-worker-2', '--ignore-not-found'],
    ]);
    expect(r).toEqual({ state: 'Succeeded', message: 'cordoned and drained sw-1a2b3c4d-worker-2, then deleted its Node (2 of 2 commands only recorded, not run)' });
  });

  it('uncordons with the admin kubeconfig', async () => {
    const r = await runOperation(new RecordingExecutor(root), op('a', 'uncordon'));
    expect(recorded(root)).toEqual([['kubectl', '--kubeconfig', path.join(root, 'etc/kubernetes/admin.conf'), 'uncordon', 'sw-1a2b3c4d-worker-2']]);
    expect(r.state).toBe('Succeeded');
  });

  const upgradeArgv = (root: string, node: string, kubeadm: string[]) => [
    ['apt-mark', 'unhold', 'kubeadm'],
    ['apt-get', 'update'],
    ['apt-get', 'install', '-y', 'kubeadm=1.31.5-*'],
    ['apt-mark', 'hold', 'kubeadm'],
    kubeadm,
    ['apt-mark', 'unhold', 'kubelet', 'kubectl'],
    ['apt-get', 'install', '-y', 'kubelet=1.31.5-*', 'kubectl=1.31.5-*'],
    ['apt-mark', 'hold', 'kubelet', 'kubectl'],
    ['systemctl', 'daemon-reload'],
    ['systemctl', 'restart', 'kubelet'],
    ['kubectl', '--kubeconfig', path.join(root, 'etc/kubernetes/kubelet.conf'), 'wait', '--for=condition=Ready', `node/${node}`, '--timeout=240s'],
  ];

  it('upgrades the first master with kubeadm upgrade apply, then kubelet and kubectl, then waits for Ready', async () => {
    const master = 'sw-1a2b3c4d-master-0';
    const r = await runOperation(new RecordingExecutor(root), op('a', 'upgrade', { targetNodeName: master, kubernetesVersion: '1.31.5', upgradeControlPlane: true, timeoutSeconds: 240 }), { nodeName: master });
    expect(recorded(root)).toEqual(upgradeArgv(root, master, ['kubeadm', 'upgrade', 'apply', '-y', 'v1.31.5']));
    expect(r).toMatchObject({ state: 'Succeeded', kubeletVersion: '1.31.5' });
    expect(r.message).toContain('upgraded sw-1a2b3c4d-master-0 to v1.31.5 (kubeadm upgrade apply)');
  });

  it('upgrades a worker with kubeadm upgrade node; apt runs non-interactive; long commands get their own kill timeout', async () => {
    const worker = 'sw-1a2b3c4d-worker-2';
    const ex = new FailingOn(root, 'never', '');
    const r = await runOperation(ex, op('a', 'upgrade', { kubernetesVersion: '1.31.5', timeoutSeconds: 240 }), { nodeName: worker });
    expect(recorded(root)).toEqual(upgradeArgv(root, worker, ['kubeadm', 'upgrade', 'node']));
    expect(r).toEqual({ state: 'Succeeded', message: 'upgraded sw-1a2b3c4d-worker-2 to v1.31.5 (kubeadm upgrade node)', kubeletVersion: '1.31.5' });
    expect(ex.opts[1]).toEqual({ env: { DEBIAN_FRONTEND: 'noninteractive' }, timeoutSeconds: 600 });
    expect(ex.opts[4]).toEqual({ timeoutSeconds: 1800 });
    expect(ex.opts[10]).toEqual({ timeoutSeconds: 300 });
  });

  it('stops at the first failing command: Failed, naming it, with the tail of its stderr', async () => {
    const stderr = `${'x'.repeat(2000)}\n[ERROR CoreDNSUnsupportedPlugins]: there are unsupported plugins\n`;
    const ex = new FailingOn(root, 'kubeadm upgrade', stderr);
    const r = await runOperation(ex, op('a', 'upgrade', { kubernetesVersion: '1.31.5' }), { nodeName: 'sw-1a2b3c4d-worker-2' });
    expect(r.state).toBe('Failed');
    expect(r.kubeletVersion).toBeUndefined();
    expect(r.message).toMatch(/^kubeadm upgrade node exited with 1: …x+\n\[ERROR CoreDNSUnsupportedPlugins\]: there are unsupported plugins$/);
    expect(r.message!.length).toBeLessThanOrEqual('kubeadm upgrade node exited with 1: '.length + 500);
    const argv = recorded(root);
    expect(argv[argv.length - 1]).toEqual(['kubeadm', 'upgrade', 'node']);
    expect(argv).toHaveLength(5);
  });

  it('a failing drain is Failed with the command and its stderr', async () => {
    const r = await runOperation(new FailingOn(root, 'kubectl', 'error: unable to drain node: Cannot evict pod as it would violate the pod\'s disruption budget.'), op('a', 'drain'));
    expect(r).toEqual({ state: 'Failed', message: `kubectl --kubeconfig ${path.join(root, 'etc/kubernetes/admin.conf')} drain sw-1a2b3c4d-worker-2 --ignore-daemonsets --delete-emptydir-data --timeout=300s exited with 1: error: unable to drain node: Cannot evict pod as it would violate the pod's disruption budget.` });
  });

  it('refuses malformed operations without running anything', async () => {
    const ex = new RecordingExecutor(root);
    expect(await runOperation(ex, op('a', 'upgrade', { kubernetesVersion: 'v1.31' }))).toMatchObject({ state: 'Failed', message: expect.stringContaining('invalid kubernetesVersion') });
    expect(await runOperation(ex, op('a', 'upgrade', { kubernetesVersion: '1.31.5' }), { nodeName: 'sw-1a2b3c4d-worker-3' })).toMatchObject({ state: 'Failed', message: expect.stringContaining('sent to the agent of sw-1a2b3c4d-worker-3') });
    expect(await runOperation(ex, op('a', 'drain', { targetNodeName: '--all' }))).toMatchObject({ state: 'Failed', message: expect.stringContaining('invalid targetNodeName') });
    expect(await runOperation(ex, op('a', 'drain', { timeoutSeconds: 0 }))).toMatchObject({ state: 'Failed', message: expect.stringContaining('invalid timeoutSeconds') });
    expect(await runOperation(ex, op('a', 'reboot' as AgentApi.OperationKind))).toMatchObject({ state: 'Failed', message: expect.stringContaining('unknown operation kind') });
    expect(recorded(root)).toEqual([]);
  });

  it('renews a master\'s certificates as kubeadm\'s guide says: renew, restart the API server\'s static pod, wait for it, report the new expiry', async () => {
    const master = 'sw-1a2b3c4d-master-0';
    let readyzCalls = 0;
    const ex = new Scripted(root, (argv) => {
      const cmd = argv.join(' ');
      if (cmd.endsWith('get --raw /readyz')) return ++readyzCalls < 2 ? { code: 1, stdout: '', stderr: 'connection refused' } : { code: 0, stdout: 'ok', stderr: '' };
      if (cmd === 'kubeadm certs check-expiration -o json') return { code: 0, stdout: CHECK_EXPIRATION_JSON, stderr: '' };
      if (argv[0] === 'mv' || argv[0] === 'sleep') return null;
      return { code: 0, stdout: '', stderr: '' };
    });
    const manifest = path.join(root, 'etc/kubernetes/manifests/kube-apiserver.yaml');
    const aside = path.join(root, 'etc/kubernetes/kube-apiserver.yaml.renewing');
    ex.writeFile('/etc/kubernetes/manifests/kube-apiserver.yaml', 'kind: Pod\n');
    // the kubelet sees the manifest gone during the first sleep, back during the second
    const during: boolean[] = [];
    const capture = ex.capture.bind(ex);
    ex.capture = async (argv: string[]) => {
      if (argv[0] === 'sleep') during.push(existsSync(manifest));
      return capture(argv);
    };
    const r = await runOperation(ex, op('r', 'renew-certificates', { targetNodeName: master, timeoutSeconds: 60 }), { nodeName: master });
    expect(during).toEqual([false, true]);
    expect(readFileSync(manifest, 'utf8')).toBe('kind: Pod\n');
    expect(existsSync(aside)).toBe(false);
    const readyz = ['kubectl', '--kubeconfig', path.join(root, 'etc/kubernetes/admin.conf'), 'get', '--raw', '/readyz'];
    expect(recorded(root)).toEqual([
      ['kubeadm', 'certs', 'renew', 'apiserver'], ['kubeadm', 'certs', 'renew', 'admin.conf'], ['sleep', '20'], ['sleep', '20'],
      readyz, readyz, ['kubeadm', 'certs', 'check-expiration', '-o', 'json'],
    ]);
    expect(r).toEqual({
      state: 'Succeeded', certificates: [{ name: 'admin.conf', expiresAt: '2027-12-03T19:20:00Z' }, { name: 'apiserver', expiresAt: '2027-12-03T19:20:01Z' }],
      message: `renewed the certificates of ${master} (apiserver until 2027-12-03T19:20:01Z, admin.conf until 2027-12-03T19:20:00Z) and restarted its API server (2 of 6 commands only recorded, not run)`,
    });
  });

  it('a renewal re-run after the agent died with the manifest aside puts it back first (the API server would stay stopped)', async () => {
    const master = 'sw-1a2b3c4d-master-0';
    new RecordingExecutor(root).writeFile('/etc/kubernetes/kube-apiserver.yaml.renewing', 'kind: Pod\n');
    const failing = new FailingOn(root, 'kubeadm certs renew apiserver', 'boom');
    expect(await runOperation(failing, op('r', 'renew-certificates', { targetNodeName: master }), { nodeName: master })).toEqual({ state: 'Failed', message: 'kubeadm certs renew apiserver exited with 1: boom' });
    // failed at renew, but the manifest is back where the kubelet reads it
    expect(readFileSync(path.join(root, 'etc/kubernetes/manifests/kube-apiserver.yaml'), 'utf8')).toBe('kind: Pod\n');
    expect(existsSync(path.join(root, 'etc/kubernetes/kube-apiserver.yaml.renewing'))).toBe(false);
  });

  it('fails a renewal at the failing kubeadm step, and refuses one meant for another master', async () => {
    const master = 'sw-1a2b3c4d-master-0';
    const r = await runOperation(new FailingOn(root, 'kubeadm certs renew apiserver', 'failed to renew certificate apiserver: unable to sign'), op('r', 'renew-certificates', { targetNodeName: master }), { nodeName: master });
    expect(r).toEqual({ state: 'Failed', message: 'kubeadm certs renew apiserver exited with 1: failed to renew certificate apiserver: unable to sign' });
    expect(recorded(root)).toEqual([['kubeadm', 'certs', 'renew', 'apiserver']]);
    const other = await runOperation(new RecordingExecutor(root), op('s', 'renew-certificates', { targetNodeName: 'sw-1a2b3c4d-master-1' }), { nodeName: master });
    expect(other).toEqual({ state: 'Failed', message: expect.stringMatching(/^renew-certificates: a certificate renewal of sw-1a2b3c4d-master-1 was sent to the agent of sw-1a2b3c4d-master-0.*; nothing was run$/) });
  });
});

/** A fake of the two agent endpoints: hands out every operation it has no result for; long-polls briefly when there is none. */
class FakeOperationsApi {
  readonly requests: { path: string; authorization?: string; body: unknown }[] = [];
  readonly results = new Map<string, AgentApi.OperationResult[]>();
  /** Operations handed out until a result is accepted for them (or always, with `redeliver`). */
  operations: AgentApi.NodeOperation[] = [];
  redeliver = false;
  /** Answers for the next result POSTs (then 200). */
  resultStatuses: number[] = [];
  /** Every result POST answers 500. */
  resultsDown = false;
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req).then(([status, body]) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    }));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  /** `requests.length` at each accepted result POST, in order. */
  private readonly acceptedAt: number[] = [];

  /**
   * Resolves once `n` result POSTs have been accepted **and the agent has read the answer to the n-th**: it has sent
   * another request since (the loop marks a result reported and saves its state before its next request). Waiting
   * only for the n-th acceptance would race a stop with the agent reading that answer: the aborted report would stay
   * unreported in the agent's state (and rightly so: it never saw the answer).
   */
  async accepted(n: number): Promise<void> {
    while (this.acceptedAt.length < n || this.requests.length <= this.acceptedAt[n - 1]) await new Promise((r) => setTimeout(r, 10));
  }

  private pending(): AgentApi.NodeOperation[] {
    return this.operations.filter((o) => this.redeliver || !this.results.has(o.id));
  }

  private async handle(req: IncomingMessage): Promise<[number, unknown]> {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    const body = JSON.parse(text || 'null') as unknown;
    const p = req.url ?? '';
    this.requests.push({ path: p, authorization: req.headers.authorization, body });
    if (req.method !== 'POST' || req.headers.authorization !== `Bearer ${TOKEN}`) return [401, { message: 'no' }];
    const base = `/agent/v1/nodes/${NODE_ID}/operations`;
    if (p === base) {
      for (let i = 0; i < 10 && !this.pending().length; i++) await new Promise((r) => setTimeout(r, 10));
      return [200, { operations: this.pending() } satisfies AgentApi.OperationsResponse];
    }
    if (p.startsWith(`${base}/`)) {
      const status = this.resultsDown ? 500 : this.resultStatuses.shift() ?? 200;
      if (status !== 200) return [status, { message: 'unavailable' }];
      const id = decodeURIComponent(p.slice(base.length + 1));
      this.results.set(id, [...(this.results.get(id) ?? []), body as AgentApi.OperationResult]);
      this.acceptedAt.push(this.requests.length);
      return [200, {}];
    }
    return [404, { message: 'not found' }];
  }
}

describe('runOperationsLoop against the agent API', () => {
  let root: string;
  let api: FakeOperationsApi;
  const logs: string[] = [];
  beforeEach(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'sw-ops-'));
    api = new FakeOperationsApi();
    await api.start();
    logs.length = 0;
    const state: AgentState = { nodeToken: TOKEN, role: 'master', nodeName: 'sw-1a2b3c4d-master-0', wireguardAddress: '10.4.0.1', joined: true };
    saveState(new RecordingExecutor(root), state);
  });
  afterEach(async () => {
    await api.stop();
    rmSync(root, { recursive: true, force: true });
  });

  /**
   * Starts a loop as a (re)started agent would: a fresh executor and the state read back from the node.
   * `sleep` replaces the loop's waits (default: at most 5 ms); it gets the loop's abort controller.
   */
  const start = (sleep: (ms: number, stopping: AbortController) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5)))) => {
    const ex = new RecordingExecutor(root);
    const stopping = new AbortController();
    const done = runOperationsLoop({ apiUrl: api.url, nodeId: NODE_ID, executor: ex, state: loadState(ex)!, signal: stopping.signal, log: (m) => logs.push(m), sleep: (ms) => sleep(ms, stopping) });
    return { done, stop: async () => { stopping.abort(); await done; } };
  };
  const results = () => Object.fromEntries(api.results);

  it('long-polls with the node token, runs each operation once in order, posts its result', async () => {
    api.operations = [op('op-1', 'drain', { timeoutSeconds: 60 }), op('op-2', 'uncordon')];
    const loop = start();
    await api.accepted(2);
    await loop.stop();
    expect(api.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(api.requests.filter((r) => r.path.endsWith('/operations')).every((r) => JSON.stringify(r.body) === '{}')).toBe(true);
    expect(recorded(root).map((a) => a[3])).toEqual(['drain', 'uncordon']);
    expect(results()).toEqual({
      'op-1': [{ state: 'Succeeded', message: expect.stringContaining('drained sw-1a2b3c4d-worker-2') }],
      'op-2': [{ state: 'Succeeded', message: expect.stringContaining('uncordoned sw-1a2b3c4d-worker-2') }],
    });
    expect(loadState(new RecordingExecutor(root))!.operations).toMatchObject({ 'op-1': { reported: true }, 'op-2': { reported: true } });
  });

  it('re-reports instead of re-running: an operation handed out again, and after a restart with the same state file', async () => {
    const master = 'sw-1a2b3c4d-master-0';
    api.operations = [op('up-1', 'upgrade', { targetNodeName: master, kubernetesVersion: '1.31.5', upgradeControlPlane: true })];
    api.redeliver = true; // the platform "loses" results: it keeps handing the operation out
    api.resultStatuses = [503, 502]; // and the first report attempts fail (retried with backoff)
    let loop = start();
    await api.accepted(2);
    await loop.stop();
    loop = start();
    await api.accepted(4);
    await loop.stop();
    expect(recorded(root).filter((a) => a[0] === 'kubeadm')).toEqual([['kubeadm', 'upgrade', 'apply', '-y', 'v1.31.5']]);
    expect(recorded(root)).toHaveLength(11);
    const reports = api.results.get('up-1')!;
    expect(reports.length).toBeGreaterThanOrEqual(4);
    for (const r of reports) expect(r).toEqual(reports[0]);
    expect(reports[0]).toMatchObject({ state: 'Succeeded', kubeletVersion: '1.31.5' });
    expect(logs.some((l) => l.includes('HTTP 503'))).toBe(true);
    expect(logs.some((l) => l.includes('already Succeeded; reporting it again'))).toBe(true);
  });

  it('a result whose report never got through is sent by the restarted agent, without running the operation again', async () => {
    api.operations = [op('op-1', 'uncordon')];
    api.resultsDown = true; // the platform is down for results
    // stopped while it waits to retry its first report (no report in flight, which the platform would still take in)
    let loop = start((_ms, stopping) => { stopping.abort(); return Promise.resolve(); });
    await loop.done;
    expect(api.requests.filter((r) => r.path.endsWith('/op-1'))).toHaveLength(1);
    expect(logs.some((l) => l.includes('HTTP 500'))).toBe(true);
    expect(loadState(new RecordingExecutor(root))!.operations).toMatchObject({ 'op-1': { reported: false, result: { state: 'Succeeded' } } });
    api.resultsDown = false;
    api.operations = []; // and it no longer hands the operation out
    loop = start();
    await api.accepted(1);
    await loop.stop();
    expect(recorded(root)).toHaveLength(1);
    expect(results()).toEqual({ 'op-1': [{ state: 'Succeeded', message: expect.stringContaining('uncordoned') }] });
    expect(loadState(new RecordingExecutor(root))!.operations!['op-1'].reported).toBe(true);
  });

  it('a platform without the endpoint (4xx) is retried later, not fatal; stop ends the loop at once', async () => {
    const ex = new RecordingExecutor(root);
    const stopping = new AbortController();
    const sleeps: number[] = [];
    const done = runOperationsLoop({ apiUrl: `${api.url}/nowhere`, nodeId: NODE_ID, executor: ex, state: loadState(ex)!, signal: stopping.signal, log: () => undefined,
      sleep: (ms) => { sleeps.push(ms); stopping.abort(); return Promise.resolve(); } });
    await done;
    expect(sleeps).toEqual([30_000]);
  });
});
