import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AgentApi } from '@skyweave/contracts';
import { RecordingExecutor } from './executor';
import { runOperationsLoop } from './operations';
import { agentVersionOf, runAgentUpgrade } from './self-upgrade';
import { AgentState, loadState, saveState } from './state';

const NODE_ID = '6f1c2a9e-0000-4000-8000-000000000002';
const TOKEN = 'node-token-xyz';
const NODE = 'sw-1a2b3c4d-worker-0';
const OLD = '#!/usr/bin/env node\nconsole.log("old agent");\n';
const NEW = '#!/usr/bin/env node\nconsole.log("new agent");\n';
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const NEW_VERSION = `0.1.0-${sha(NEW).slice(0, 12)}`;
const OLD_VERSION = `0.1.0-${sha(OLD).slice(0, 12)}`;

/** The platform, as far as an agent upgrade needs it: the bundle at a versioned path, the operations long poll, results. */
class Platform {
  private server!: Server;
  url = '';
  /** What GET of the bundle's path answers (a test may serve other bytes than the manifest says). */
  bundle = NEW;
  bundleGets = 0;
  operations: AgentApi.NodeOperation[] = [];
  readonly results = new Map<string, AgentApi.OperationResult>();
  readonly versions: (string | undefined)[] = [];

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += String(chunk);
    const p = req.url ?? '';
    const send = (status: number, body: string, type = 'application/json') => { res.writeHead(status, { 'content-type': type }); res.end(body); };
    if (req.method === 'GET' && p === `/v1/agent-packages/${NEW_VERSION}/skyweave-node-agent-${NEW_VERSION}.js`) {
      this.bundleGets++;
      return send(200, this.bundle, 'text/javascript');
    }
    if (req.method === 'GET') return send(404, '{}');
    this.versions.push(req.headers[AgentApi.AGENT_VERSION_HEADER] as string | undefined);
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(401, '{}');
    const base = `/agent/v1/nodes/${NODE_ID}/operations`;
    if (p === base) {
      const pending = this.operations.filter((o) => !this.results.has(o.id));
      if (!pending.length) await new Promise((r) => setTimeout(r, 20));
      return send(200, JSON.stringify({ operations: pending }));
    }
    if (p.startsWith(`${base}/`)) {
      this.results.set(decodeURIComponent(p.slice(base.length + 1)), JSON.parse(text) as AgentApi.OperationResult);
      return send(204, '');
    }
    return send(404, '{}');
  }
}

const upgradeOp = (bytes = Buffer.byteLength(NEW), digest = sha(NEW)): AgentApi.NodeOperation => ({
  id: 'op-agent-1', kind: 'upgrade-agent', targetNodeName: NODE, timeoutSeconds: 300,
  agentPackage: { version: NEW_VERSION, url: `/v1/agent-packages/${NEW_VERSION}/skyweave-node-agent-${NEW_VERSION}.js`, sha256: digest, bytes },
});

describe('agent self-upgrade (upgrade-agent)', () => {
  let dir: string;
  let bundle: string;
  let platform: Platform;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sw-self-upgrade-'));
    bundle = path.join(dir, 'opt/skyweave/node-agent/lib/node-agent.js');
    mkdirSync(path.dirname(bundle), { recursive: true });
    writeFileSync(bundle, OLD);
    chmodSync(bundle, 0o755);
    platform = new Platform();
    await platform.start();
  });
  afterEach(async () => {
    await platform.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const self = () => ({ path: bundle, version: agentVersionOf(bundle, '0.1.0') });
  const leftovers = () => readdirSync(path.dirname(bundle)).filter((f) => f !== 'node-agent.js');

  it('names its version as the package manifest does: release, then 12 hex digits of the bundle\'s SHA-256', () => {
    expect(agentVersionOf(bundle, '0.1.0')).toBe(OLD_VERSION);
  });

  it('downloads the bundle from the platform\'s versioned path, checks it, and installs it over its own file with its mode', async () => {
    const out = await runAgentUpgrade(upgradeOp(), self(), platform.url);
    expect(out).toEqual({ result: { state: 'Succeeded', message: expect.stringContaining(`installed ${NEW_VERSION}`), agentVersion: NEW_VERSION }, restart: true });
    expect(readFileSync(bundle, 'utf8')).toBe(NEW);
    expect(statSync(bundle).mode & 0o777).toBe(0o755);
    expect(agentVersionOf(bundle, '0.1.0')).toBe(NEW_VERSION);
    expect(leftovers()).toEqual([]); // the temporary file was renamed, nothing else left beside the bundle
  });

  it('fails on a SHA-256 mismatch with both digests named, and leaves the old bundle in place', async () => {
    platform.bundle = NEW.replace('new', 'bad'); // as long as the real one: only the digest tells
    const out = await runAgentUpgrade(upgradeOp(), self(), platform.url);
    expect(out.restart).toBe(false);
    expect(out.result.state).toBe('Failed');
    expect(out.result.message).toMatch(new RegExp(`sha256 mismatch for ${platform.url}/v1/agent-packages/.*: expected ${sha(NEW)} \\(\\d+ bytes\\), got ${sha(platform.bundle)} .*unchanged`));
    expect(readFileSync(bundle, 'utf8')).toBe(OLD);
    expect(leftovers()).toEqual([]);
  });

  it('fails when the download is larger than the manifest says, or answers an error, leaving the old bundle', async () => {
    expect((await runAgentUpgrade(upgradeOp(10), self(), platform.url)).result.message).toMatch(/more than the 10 bytes/);
    const missing = { ...upgradeOp(), agentPackage: { ...upgradeOp().agentPackage!, url: '/v1/agent-packages/nope.js' } };
    expect((await runAgentUpgrade(missing, self(), platform.url)).result.message).toMatch(/: HTTP 404; the installed agent is unchanged/);
    expect(readFileSync(bundle, 'utf8')).toBe(OLD);
    expect(leftovers()).toEqual([]);
  });

  it('refuses a malformed operation, and an agent not run from a bundle, installing nothing', async () => {
    const bad = { ...upgradeOp(), agentPackage: { ...upgradeOp().agentPackage!, sha256: 'abc' } };
    expect((await runAgentUpgrade(bad, self(), platform.url)).result).toMatchObject({ state: 'Failed', message: expect.stringContaining('not 64 lower-case hex digits') });
    expect((await runAgentUpgrade(upgradeOp(), {}, platform.url)).result).toMatchObject({ state: 'Failed', message: expect.stringContaining('single-file bundle') });
    expect(platform.bundleGets).toBe(0);
  });

  it('is idempotent: a bundle already installed is not fetched again; a restart is asked only if this process runs another version', async () => {
    writeFileSync(bundle, NEW);
    const dead = await runAgentUpgrade(upgradeOp(), { path: bundle, version: OLD_VERSION }, platform.url);
    expect(dead).toMatchObject({ result: { state: 'Succeeded', agentVersion: NEW_VERSION }, restart: true });
    const restarted = await runAgentUpgrade(upgradeOp(), { path: bundle, version: NEW_VERSION }, platform.url);
    expect(restarted).toMatchObject({ result: { state: 'Succeeded', agentVersion: NEW_VERSION }, restart: false });
    expect(platform.bundleGets).toBe(0);
  });

  it('in the operations loop: sends its version with every call, saves and reports the result, then asks to restart (exit 75) and stops', async () => {
    const root = path.join(dir, 'root');
    const state: AgentState = { nodeToken: TOKEN, role: 'worker', nodeName: NODE, wireguardAddress: '10.4.0.9', joined: true };
    saveState(new RecordingExecutor(root), state);
    platform.operations = [upgradeOp()];
    const restarts: string[] = [];
    const stopping = new AbortController();
    const ex = new RecordingExecutor(root);
    const loop = runOperationsLoop({
      apiUrl: platform.url, nodeId: NODE_ID, executor: ex, state: loadState(ex)!, signal: stopping.signal, log: () => undefined,
      agent: self(), onRestart: (v) => restarts.push(v), sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))),
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([loop, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('the loop did not end after the upgrade')), 10_000); })]);
    clearTimeout(timer);
    expect(restarts).toEqual([NEW_VERSION]);
    expect(AgentApi.AGENT_RESTART_EXIT_CODE).toBe(75);
    expect(platform.results.get('op-agent-1')).toMatchObject({ state: 'Succeeded', agentVersion: NEW_VERSION });
    expect(loadState(ex)?.operations?.['op-agent-1']).toMatchObject({ reported: true, result: { agentVersion: NEW_VERSION } });
    expect(new Set(platform.versions)).toEqual(new Set([OLD_VERSION]));
    expect(readFileSync(bundle, 'utf8')).toBe(NEW);
    stopping.abort();
  });
});
