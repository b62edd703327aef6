import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AgentApi } from '@skyweave/contracts';
import { runAgent } from './agent';
import { CommandResult, RecordingExecutor } from './executor';
import { loadState, saveState } from './state';

describe('runAgent after joining', () => {
  let root: string;
  let server: Server;
  let url: string;
  const seen: string[] = [];
  const held: NodeJS.Timeout[] = [];
  const hold = (f: () => void) => { held.push(setTimeout(f, 60_000)); };
  const results: Record<string, AgentApi.OperationResult> = {};
  const statuses: AgentApi.StatusReport[] = [];
  const op: AgentApi.NodeOperation = { id: 'op-1', kind: 'uncordon', targetNodeName: 'sw-1-worker-2', timeoutSeconds: 60 };
  const mesh: AgentApi.MeshConfig = { revision: 'r1', interface: { address: '10.4.0.1/16', listenPort: 51820, mtu: 1380 }, peers: [] };

  beforeEach(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'sw-agent-'));
    saveState(new RecordingExecutor(root), { nodeToken: 'tok', role: 'master', nodeName: 'sw-1-master-0', wireguardAddress: '10.4.0.1', joined: true });
    seen.length = 0;
    statuses.length = 0;
    for (const k of Object.keys(results)) delete results[k];
    // long polls are held for a minute when there is nothing new: stop() must not wait for them
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => { text += String(c); });
      req.on('end', () => {
        const p = (req.url ?? '').replace('/agent/v1/nodes/n1', '');
        seen.push(`${p} ${req.headers.authorization}`);
        const body = JSON.parse(text) as Record<string, unknown>;
        const answer = (value: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
        if (p === '/mesh') return body.revision === mesh.revision ? hold(() => answer(mesh)) : answer(mesh);
        if (p === '/operations') return results[op.id] ? hold(() => answer({ operations: [] })) : answer({ operations: [op] });
        if (p === `/operations/${op.id}`) results[op.id] = body as unknown as AgentApi.OperationResult;
        if (p === '/status') statuses.push(body as AgentApi.StatusReport);
        answer({});
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    held.splice(0).forEach(clearTimeout);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(root, { recursive: true, force: true });
  });

  it('runs the operations loop next to the others; stop() ends all three loops without waiting for the long polls', async () => {
    const agent = await runAgent({ apiUrl: url, nodeId: 'n1', nodeName: 'sw-1-master-0', bootstrapToken: 'used', executor: new RecordingExecutor(root), wireguard: { interface: 'wg0', userspace: false }, log: () => undefined });
    while (!results[op.id]) await new Promise((r) => setTimeout(r, 10));
    // the loops are now all waiting: mesh and operations long polls held by the server, probes asleep
    while (seen.filter((s) => s.startsWith('/operations ')).length < 2 || seen.filter((s) => s.startsWith('/mesh ')).length < 2) await new Promise((r) => setTimeout(r, 10));
    const t0 = Date.now();
    agent.stop();
    await agent.done;
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(results[op.id]).toMatchObject({ state: 'Succeeded' });
    expect(seen.every((s) => s.endsWith(' Bearer tok'))).toBe(true);
    expect(loadState(new RecordingExecutor(root))!.operations).toMatchObject({ 'op-1': { reported: true } });
    const argv = readFileSync(path.join(root, 'var/lib/skyweave/commands.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { argv: string[] }).argv);
    expect(argv.filter((a) => a[0] === 'kubectl' && a[3] === 'uncordon')).toEqual([['kubectl', '--kubeconfig', path.join(root, 'etc/kubernetes/admin.conf'), 'uncordon', 'sw-1-worker-2']]);
  });

  it('a master reports its kubeadm certificates\' expiry with its pod range after joining (kubeadm certs check-expiration -o json)', async () => {
    /** kubectl and kubeadm answer as on a master; everything else is recorded. */
    class Master extends RecordingExecutor {
      override async capture(argv: string[]): Promise<CommandResult | null> {
        await super.capture(argv);
        if (argv[0] === 'kubectl' && argv.includes('--raw')) return { code: 0, stdout: JSON.stringify({ spec: { podCIDR: '10.217.0.0/24' } }), stderr: '' };
        if (argv.join(' ') === 'kubeadm certs check-expiration -o json') {
          return { code: 0, stdout: JSON.stringify({ kind: 'CertificateExpirationInfo', certificates: [{ name: 'apiserver', expirationDate: '2027-12-03T19:20:01Z', missing: false }] }), stderr: '' };
        }
        return null;
      }
    }
    const agent = await runAgent({ apiUrl: url, nodeId: 'n1', nodeName: 'sw-1-master-0', bootstrapToken: 'used', executor: new Master(root), wireguard: { interface: 'wg0', userspace: false }, log: () => undefined });
    while (statuses.length === 0) await new Promise((r) => setTimeout(r, 10));
    agent.stop();
    await agent.done;
    expect(statuses[0]).toEqual({ latencies: [], podCidr: '10.217.0.0/24', certificates: [{ name: 'apiserver', expiresAt: '2027-12-03T19:20:01Z' }] });
  });
});

describe('runAgent restarted after reporting joined, before remembering it', () => {
  it('takes /join\'s 409 already-joined as joined: no kubeadm, no second /joined, the state says joined', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'sw-agent-'));
    const seen: string[] = [];
    const held: NodeJS.Timeout[] = [];
    saveState(new RecordingExecutor(root), { nodeToken: 'tok', role: 'worker', nodeName: 'sw-1-worker-0', wireguardAddress: '10.4.0.2', joined: false });
    const mesh: AgentApi.MeshConfig = { revision: 'r1', interface: { address: '10.4.0.2/16', listenPort: 51820, mtu: 1380 }, peers: [] };
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const p = (req.url ?? '').replace('/agent/v1/nodes/n2', '');
        seen.push(p);
        if (p === '/join') {
          res.writeHead(409, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'https://skyweave.dev/problems/already-joined', title: 'Node already joined', status: 409 }));
          return;
        }
        const answer = (value: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
        if (p === '/mesh' && seen.filter((s) => s === '/mesh').length > 1) return void held.push(setTimeout(() => answer(mesh), 60_000));
        if (p === '/operations') return void held.push(setTimeout(() => answer({ operations: [] }), 60_000));
        answer(p === '/mesh' ? mesh : {});
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const agent = await runAgent({ apiUrl: url, nodeId: 'n2', nodeName: 'sw-1-worker-0', bootstrapToken: 'used', executor: new RecordingExecutor(root), wireguard: { interface: 'wg0', userspace: false }, log: () => undefined });
      while (!seen.includes('/operations')) await new Promise((r) => setTimeout(r, 10));
      agent.stop();
      await agent.done;
      expect(loadState(new RecordingExecutor(root))!.joined).toBe(true);
      expect(seen.filter((s) => s === '/join')).toHaveLength(1);
      expect(seen).not.toContain('/joined');
      const commands = path.join(root, 'var/lib/skyweave/commands.jsonl');
      const argv = readFileSync(commands, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { argv: string[] }).argv);
      expect(argv.filter((a) => a[0] === 'kubeadm')).toEqual([]);
    } finally {
      held.splice(0).forEach(clearTimeout);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      rmSync(root, { recursive: true, force: true });
    }
  });
});
