import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AgentApi } from '@skyweave/contracts';
import { ApiServerProxy, HAPROXY_CONFIG_PATH, HOSTS_PATH, renderHaproxyConfig, withEndpointHostsLine } from './apiserver-proxy';
import { CommandResult, Executor, RecordingExecutor } from './executor';

const access = (apiServers: string[], port = 6444): AgentApi.ControlPlaneAccess => ({ host: 'control-plane.skyweave.internal', port, apiServers });
const commands = (root: string) => readFileSync(path.join(root, 'var/lib/skyweave/commands.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { argv: string[] }).argv.join(' '));

/** A free TCP port on 127.0.0.1. */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A stand-in API server: answers every connection with its name, then closes it. */
async function nameServer(name: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const s = net.createServer((c) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
    c.end(name);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return {
    port: (s.address() as net.AddressInfo).port,
    close: () => new Promise<void>((r) => {
      for (const c of sockets) c.destroy();
      s.close(() => r());
    }),
  };
}

/** Connects to `port`, returns what the server sent before closing ('' when the connection failed or was cut). */
function ask(port: number): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const c = net.connect(port, '127.0.0.1');
    c.on('data', (d: Buffer) => (got += d.toString('utf8')));
    c.on('close', () => resolve(got));
    c.on('error', () => resolve(''));
    c.setTimeout(10_000, () => c.destroy());
  });
}

describe("the node's API server proxy (HAProxy to every master over the mesh)", () => {
  it('renders a TCP frontend on loopback and one health-checked server per master, master-0 first, retried elsewhere on a failed connect', () => {
    const cfg = renderHaproxyConfig(access(['10.4.0.1:6443', '10.4.0.2:6443', '10.4.0.3:6443']));
    expect(cfg).toContain('\nfrontend kube-apiserver\n  bind 127.0.0.1:6444\n  default_backend kube-apiserver\n');
    expect(cfg).toContain('\n  mode tcp\n');
    expect(cfg).toContain('\n  option redispatch\n  retries 3\n');
    expect(cfg).toContain('\n  default-server check inter 2s fall 2 rise 2\n  server master-0 10.4.0.1:6443\n  server master-1 10.4.0.2:6443\n  server master-2 10.4.0.3:6443\n');
    expect(() => renderHaproxyConfig(access([]))).toThrow(/no API server/);
    expect(() => renderHaproxyConfig(access(['10.4.0.1']))).toThrow(/invalid API server address/);
    expect(() => renderHaproxyConfig(access(['10.4.0.1:6443'], 0))).toThrow(/invalid port/);
  });

  it("maps the endpoint's name to 127.0.0.1 in /etc/hosts in one line of its own, keeping every other line", () => {
    const hosts = '127.0.0.1 localhost\n::1 localhost ip6-localhost\n';
    const once = withEndpointHostsLine(hosts, 'control-plane.skyweave.internal');
    expect(once).toBe('127.0.0.1 localhost\n::1 localhost ip6-localhost\n127.0.0.1 control-plane.skyweave.internal # skyweave control-plane endpoint\n');
    expect(withEndpointHostsLine(once, 'control-plane.skyweave.internal')).toBe(once);
    expect(withEndpointHostsLine('', 'control-plane.skyweave.internal')).toBe('127.0.0.1 control-plane.skyweave.internal # skyweave control-plane endpoint\n');
    expect(() => withEndpointHostsLine(hosts, 'bad name\n1.2.3.4 evil')).toThrow(/invalid host name/);
  });

  it('the configuration is one real HAProxy accepts (haproxy -c); a broken one it refuses', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'haproxy-'));
    try {
      const good = path.join(dir, 'good.cfg');
      writeFileSync(good, renderHaproxyConfig(access(['10.4.0.1:6443', '10.4.0.2:6443'])));
      expect(() => execFileSync('haproxy', ['-c', '-q', '-f', good], { stdio: 'pipe' })).not.toThrow();
      const bad = path.join(dir, 'bad.cfg');
      writeFileSync(bad, readFileSync(good, 'utf8').replace('balance leastconn', 'balance nonsense'));
      expect(() => execFileSync('haproxy', ['-c', '-q', '-f', bad], { stdio: 'pipe' })).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('run for real with HAProxy', () => {
    let dir: string;
    let haproxy: ChildProcess | undefined;
    const servers: { port: number; close(): Promise<void> }[] = [];
    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'haproxy-run-'));
    });
    afterAll(async () => {
      haproxy?.kill('SIGTERM');
      for (const s of servers) await s.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    });

    it('spreads connections over the masters, and when one dies every connection still reaches a live one', async () => {
      const a = await nameServer('master-0');
      const b = await nameServer('master-1');
      servers.push(a, b);
      const port = await freePort();
      const cfg = path.join(dir, 'haproxy.cfg');
      writeFileSync(cfg, renderHaproxyConfig(access([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], port)));
      haproxy = spawn('haproxy', ['-db', '-f', cfg], { stdio: 'ignore' });
      // listening once a connection gets an answer
      for (let i = 0; i < 100 && (await ask(port)) === ''; i++) await new Promise((r) => setTimeout(r, 100));
      const before = new Set<string>();
      for (let i = 0; i < 8; i++) before.add(await ask(port));
      expect([...before].sort()).toEqual(['master-0', 'master-1']);
      // master-0 goes: at once (before a health check has noticed) and after, every connection reaches master-1
      await a.close();
      const after: string[] = [];
      for (let i = 0; i < 8; i++) after.push(await ask(port));
      await new Promise((r) => setTimeout(r, 4500));
      for (let i = 0; i < 4; i++) after.push(await ask(port));
      expect(after).toEqual(Array(12).fill('master-1'));
    }, 30_000);
  });

  describe('apply', () => {
    let root: string;
    beforeEach(() => {
      root = mkdtempSync(path.join(tmpdir(), 'apiproxy-'));
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    it('writes the hosts line and the configuration, checks it before it replaces the old one, reloads HAProxy; the same again runs nothing', async () => {
      const ex = new RecordingExecutor(root);
      ex.writeFile(HOSTS_PATH, '127.0.0.1 localhost\n');
      const proxy = new ApiServerProxy(ex);
      expect(await proxy.apply(undefined)).toBe(false);
      expect(await proxy.apply(access(['10.4.0.1:6443', '10.4.0.2:6443', '10.4.0.3:6443']))).toBe(true);
      expect(readFileSync(path.join(root, HOSTS_PATH), 'utf8')).toBe('127.0.0.1 localhost\n127.0.0.1 control-plane.skyweave.internal # skyweave control-plane endpoint\n');
      expect(readFileSync(path.join(root, HAPROXY_CONFIG_PATH), 'utf8')).toBe(renderHaproxyConfig(access(['10.4.0.1:6443', '10.4.0.2:6443', '10.4.0.3:6443'])));
      expect(commands(root)).toEqual([`haproxy -c -q -f ${path.join(root, HAPROXY_CONFIG_PATH)}.new`, 'systemctl reload-or-restart haproxy']);
      expect(await new ApiServerProxy(ex).apply(access(['10.4.0.1:6443', '10.4.0.2:6443', '10.4.0.3:6443']))).toBe(false);
      expect(commands(root)).toHaveLength(2);
      // the masters change: the backend list is rewritten and HAProxy reloaded
      expect(await proxy.apply(access(['10.4.0.2:6443', '10.4.0.3:6443']))).toBe(true);
      expect(readFileSync(path.join(root, HAPROXY_CONFIG_PATH), 'utf8')).not.toContain('10.4.0.1:6443');
      expect(commands(root).slice(2)).toEqual([`haproxy -c -q -f ${path.join(root, HAPROXY_CONFIG_PATH)}.new`, 'systemctl reload-or-restart haproxy']);
    });

    it('keeps the old configuration, and reloads nothing, when haproxy -c refuses the new one', async () => {
      const rec = new RecordingExecutor(root);
      const ran: string[] = [];
      const refusing: Executor = {
        path: (f) => rec.path(f),
        writeFile: (f, c, m) => rec.writeFile(f, c, m),
        run: async (argv) => void ran.push(argv.join(' ')),
        capture: async (argv): Promise<CommandResult> => {
          ran.push(argv.join(' '));
          return { code: 1, stdout: '', stderr: '[ALERT] parsing error' };
        },
      };
      rec.writeFile(HAPROXY_CONFIG_PATH, 'old\n');
      await expect(new ApiServerProxy(refusing).apply(access(['10.4.0.1:6443']))).rejects.toThrow(/haproxy -c refused the configuration: \[ALERT\] parsing error/);
      expect(readFileSync(path.join(root, HAPROXY_CONFIG_PATH), 'utf8')).toBe('old\n');
      expect(ran.some((c) => c.startsWith('systemctl'))).toBe(false);
    });
  });
});
