import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { KubeSimOptions } from '@skyweave/kube-sim';
import { SandboxControlPlanes, SandboxMachine } from '@skyweave/kube-sandbox/src/control-plane';
import { imageKubeadmScript, kubeadmArgv, kubeadmTextResult } from './kubeadm-image';
import { splice } from '@skyweave/kube-sandbox/src/splice';

/** The machine a VM runs on: its instance type's size and architecture, and the provider id a cloud controller would set. */
export interface VmMachine {
  instanceType: string;
  vcpu: number;
  memoryMiB: number;
  /** `amd64` or `arm64`. */
  arch: string;
  providerID?: string;
}

/** A booted VM as the guest side sees it. */
export interface GuestVm {
  cloud: string;
  instanceId: string;
  privateIp: string;
  publicIp?: string;
  fsRoot: string;
  machine?: VmMachine;
  /** The `netns` VM network: the VM's network namespace. */
  netns?: string;
}

/**
 * What runs inside the sandbox's VMs beyond their units: the VM runtime tells it when a VM boots and stops, and asks
 * it for environment to give the VM's units.
 */
export interface VmGuest {
  /** Environment for the units of `vm`; `path` is the PATH they would have without it. */
  unitEnv(vm: GuestVm, path: string): Record<string, string>;
  booted(vm: GuestVm): void;
  stopped(instanceId: string): void;
}

/** Options of {@link SandboxKubernetes}. */
export interface SandboxKubernetesOptions {
  /** argv that runs the sandbox's kubeadm (apps/kube-sandbox/src/kubeadm-main.ts). */
  kubeadmCommand: string[];
  /** Where the image's tools (`kubeadm`) are installed: a folder put first on the units' PATH. */
  imageBin: string;
  /** kube-sim timings (node grace period, default tolerations, pod start delay). */
  sim?: KubeSimOptions;
  /** The host's `kubectl`, run on VMs when present (default: looked up on PATH); `null`: none (kubectl is recorded only). */
  kubectl?: string | null;
  /** The host's `curl`, for the image's shell kubeadm (default: looked up on PATH); `null`: none (kubeadm runs on Node). */
  curl?: string | null;
  log?: (line: string) => void;
}

/**
 * Process VM network: where on a VM's disk the sandbox image keeps its network setting (`HTTPS_PROXY=<the proxy, with
 * the VM's secret>`), for commands run on the VM outside its units (see `SandboxKubernetes.unitEnv`).
 */
export const SANDBOX_PROXY_ENV = '/etc/skyweave-sandbox/proxy.env';

/** Looks `name` up on PATH. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The sandbox's Kubernetes (docs/kube-sandbox.md, "On the sandbox's VMs"): the VMs' `kubeadm` hands its work to the
 * control planes (`SandboxControlPlanes`), whose API servers listen on loopback; an HTTP CONNECT proxy (the
 * `kubernetes.proxyUrl` of the endpoints file) takes clients outside the VMs to them by the address a real client
 * would dial, a master's public or private IP.
 * - Process VM network: VMs share the host's network, so their units get the proxy as `HTTPS_PROXY` (authenticated
 *   with the VM's secret, which tells the proxy the VM's cluster: overlay addresses repeat across clusters),
 *   `SKYWEAVE_EXECUTOR=real` with `SKYWEAVE_RUN_ONLY=kubeadm[,kubectl]` (everything else the agent runs is recorded).
 * - `netns` VM network: commands run in the VM's namespace, which reaches the sandbox only through a Unix socket (file
 *   system namespaces are shared): kubeadm talks to it there, and each master's namespace gets a forwarder listening
 *   on 6443 (kube-apiserver's port) that pipes to its API server through a per-master socket, so kubectl on a VM
 *   reaches the API at the kubeconfig's address, over the real WireGuard mesh.
 */
export class SandboxKubernetes implements VmGuest {
  readonly controlPlanes: SandboxControlPlanes;
  private readonly tokens = new Map<string, GuestVm>();
  private readonly byInstance = new Map<string, string>();
  private readonly sockets = new Set<net.Socket>();
  private readonly kubectl: string | undefined;
  private proxy?: { server: http.Server; url: string };
  private adminUrl = '';
  /** netns mode: the Unix socket the VMs' kubeadm reaches the sandbox on. */
  private readonly adminSocket: string;
  private adminSocketServer?: http.Server;
  /** netns mode, per VM: the image's HAProxy service (its configuration as last started, the process, the poll timer). */
  private readonly haproxies = new Map<string, { netns: string; config: string; child?: ChildProcess; timer: NodeJS.Timeout }>();
  /** netns mode, per master VM: the socket its forwarder dials, the server behind it, the forwarder process. */
  private readonly forwarders = new Map<string, { socket: string; server: net.Server; child: ChildProcess }>();

  /** How far the VMs' clock runs ahead of the host's, ms (`PUT /admin/kubernetes/clock`). */
  private clockOffsetMs = 0;

  constructor(private readonly opts: SandboxKubernetesOptions) {
    this.controlPlanes = new SandboxControlPlanes({ sim: opts.sim, log: opts.log, clock: () => Date.now() + this.clockOffsetMs });
    this.kubectl = opts.kubectl === null ? undefined : (opts.kubectl ?? onPath('kubectl'));
    mkdirSync(opts.imageBin, { recursive: true });
    const script = path.join(opts.imageBin, 'kubeadm');
    writeFileSync(script, imageKubeadmScript(opts.kubeadmCommand, opts.curl === null ? undefined : (opts.curl ?? onPath('curl'))));
    chmodSync(script, 0o755);
    this.adminSocket = path.join(opts.imageBin, '..', 'sandbox.sock');
  }

  /**
   * Moves the VMs' clock to the host's plus `offsetSeconds` (≥ 0; a test living through a bootstrap token's day or a
   * certificate's year). What kubeadm judges and sets by it: bootstrap token and uploaded-certificate lifetimes, and
   * the certificates it issues and renews. TLS between the sandbox's API servers and their clients stays on the host's
   * clock. @returns the offset now in force, seconds.
   */
  setClockOffset(offsetSeconds: number): number {
    this.clockOffsetMs = offsetSeconds * 1000;
    this.opts.log?.(`kubernetes: the VMs' clock is ${offsetSeconds} s ahead of the host's`);
    return offsetSeconds;
  }

  /** The VMs' clock offset, seconds. */
  get clockOffsetSeconds(): number {
    return this.clockOffsetMs / 1000;
  }

  /** The proxy's URL (`http://host:port`), once listening. */
  get proxyUrl(): string | undefined {
    return this.proxy?.url;
  }

  /** Starts the CONNECT proxy on `host:port` (0: any); `advertised` is the host name clients use. */
  async listen(host: string, port: number, advertised: string, adminUrl: string): Promise<http.Server> {
    this.adminUrl = adminUrl;
    const server = http.createServer((_req, res) => {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'CONNECT' }).end('the sandbox\'s Kubernetes proxy only tunnels (CONNECT host:6443)\n');
    });
    server.on('connect', (req: IncomingMessage, client: net.Socket, head: Buffer) => this.tunnel(req, client, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.proxy = { server, url: `http://${advertised}:${(server.address() as AddressInfo).port}` };
    // the namespace-VMs' kubeadm: the same kubeadm call on a Unix socket
    rmSync(this.adminSocket, { force: true });
    const unix = http.createServer((req, res) => {
      if (req.method !== 'POST' || req.url !== '/admin/vm-kubeadm') return void res.writeHead(404).end();
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString('utf8')));
      req.on('end', () => {
        let body: unknown = text;
        if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
        }
        this.handleKubeadm(Object.assign(req, { body }), res).catch((e: unknown) => res.writeHead(500).end((e as Error).message));
      });
    });
    await new Promise<void>((resolve, reject) => {
      unix.once('error', reject);
      unix.listen(this.adminSocket, () => resolve());
    });
    this.adminSocketServer = unix;
    return server;
  }

  private tunnel(req: IncomingMessage, client: net.Socket, head: Buffer): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(req.url ?? '');
    const auth = /^Basic\s+(.+)$/i.exec(req.headers['proxy-authorization'] ?? '')?.[1];
    const secret = auth ? Buffer.from(auth, 'base64').toString('utf8').split(':').slice(1).join(':') : undefined;
    const from = secret ? this.tokens.get(secret) : undefined;
    // a VM's connection goes where its own network sends it (its hosts file, its API server proxy)
    const target = m ? this.controlPlanes.route(m[1], Number(m[2]), from ? { instanceId: from.instanceId, fsRoot: from.fsRoot } : undefined) : undefined;
    if (!target) {
      // what a client of an unreachable address sees, as an HTTP proxy reports it
      client.end(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\n\r\ndial tcp ${req.url ?? ''}: connect: connection refused\n`);
      return;
    }
    const upstream = net.connect(target.port, target.host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    this.sockets.add(upstream);
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  }

  /**
   * `POST /admin/vm-kubeadm` `{argv}` (JSON) or `argv=…` form fields, with `authorization: Bearer <VM secret>` → 200
   * `{code, stdout, stderr}`, or with `accept: text/plain` the same as text (kubeadmTextResult); 400 without an argv;
   * 401 for an unknown secret.
   */
  async handleKubeadm(req: IncomingMessage & { body?: unknown }, res: ServerResponse): Promise<void> {
    const secret = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const vm = secret ? this.tokens.get(secret) : undefined;
    if (!vm) {
      res.writeHead(401, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'about:blank', title: 'Unknown VM', status: 401, detail: 'authorization must be the VM\'s SKYWEAVE_SANDBOX_VM_TOKEN (a VM that was stopped has none)' }));
      return;
    }
    const argv = kubeadmArgv(req.headers['content-type'], req.body);
    if (!argv) {
      res.writeHead(400, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ type: 'about:blank', title: 'Bad request', status: 400, detail: 'argv must be an array of strings (JSON), or argv form fields', 'invalid-params': [{ name: 'argv', reason: 'must be an array of strings' }] }));
      return;
    }
    const started = Date.now();
    const result = await this.controlPlanes.kubeadm(this.machineOf(vm), argv);
    this.opts.log?.(`kubeadm ${argv.slice(0, 2).join(' ')} on ${vm.instanceId}: exit ${result.code} in ${Date.now() - started} ms`);
    if (result.code === 0 && vm.netns) await this.ensureForwarder(vm.instanceId, vm.netns);
    if (/\btext\/plain\b/.test(req.headers.accept ?? '')) res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(kubeadmTextResult(result));
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
  }

  private machineOf(vm: GuestVm): SandboxMachine {
    const m = vm.machine ?? { instanceType: 'unknown', vcpu: 2, memoryMiB: 4096, arch: 'amd64' };
    return {
      cloud: vm.cloud, instanceId: vm.instanceId, privateIp: vm.privateIp, ...(vm.publicIp ? { publicIp: vm.publicIp } : {}), fsRoot: vm.fsRoot,
      vcpu: m.vcpu, memoryMiB: m.memoryMiB, instanceType: m.instanceType, arch: m.arch, ...(m.providerID ? { providerID: m.providerID } : {}),
    };
  }

  unitEnv(vm: GuestVm, basePath: string): Record<string, string> {
    let secret = this.byInstance.get(vm.instanceId);
    if (!secret) {
      secret = randomBytes(24).toString('base64url');
      this.byInstance.set(vm.instanceId, secret);
    }
    this.tokens.set(secret, vm);
    const common = {
      PATH: `${this.opts.imageBin}${path.delimiter}${basePath}`,
      HOME: path.join(vm.fsRoot, 'root'),
      SKYWEAVE_SANDBOX_VM_TOKEN: secret,
    };
    if (vm.netns) {
      this.ensureHaproxy(vm.instanceId, vm.netns, vm.fsRoot);
      // kubeadm and kubectl run in the VM's namespace (kubectl over the mesh); the rest stays recorded
      return { ...common, SKYWEAVE_SANDBOX_ADMIN_URL: `unix:${this.adminSocket}`, SKYWEAVE_RECORD_ONLY: this.kubectl ? 'apt-get,apt-mark,systemctl,iptables' : 'kubectl,apt-get,apt-mark,systemctl,iptables' };
    }
    const proxy = this.proxy ? new URL(this.proxy.url) : undefined;
    const proxyWithSecret = proxy ? `http://vm:${secret}@${proxy.host}` : undefined;
    if (proxyWithSecret) {
      // the image's network setting on the VM's disk (as /etc/environment would hold it), so that a command run "on
      // the VM" by hand or by a test dials as the VM's own processes do
      const file = path.join(vm.fsRoot, SANDBOX_PROXY_ENV);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, `HTTPS_PROXY=${proxyWithSecret}\n`, { mode: 0o600 });
    }
    return {
      ...common,
      SKYWEAVE_SANDBOX_ADMIN_URL: this.adminUrl,
      ...(proxyWithSecret ? { HTTPS_PROXY: proxyWithSecret, https_proxy: proxyWithSecret } : {}),
      SKYWEAVE_EXECUTOR: 'real',
      SKYWEAVE_RUN_ONLY: this.kubectl ? 'kubeadm,kubectl' : 'kubeadm',
    };
  }

  /**
   * netns mode: a master's API server reachable inside its namespace on 6443, as kube-apiserver would listen: a
   * per-master Unix socket piping to the API server, and a forwarder in the namespace (the image's kubeadm program in
   * its `--sandbox-apiserver-forward` mode) listening on 0.0.0.0:6443 and dialling that socket.
   */
  private async ensureForwarder(instanceId: string, netns: string): Promise<void> {
    if (this.forwarders.has(instanceId)) return;
    const target = this.controlPlanes.list().flatMap((c) => c.masters).find((m) => m.instanceId === instanceId);
    if (!target) return;
    const url = new URL(target.url);
    const socket = path.join(this.opts.imageBin, '..', `apiserver-${randomBytes(6).toString('hex')}.sock`);
    const server = net.createServer((c) => splice(c, net.connect(Number(url.port), url.hostname)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => resolve());
    });
    const child = spawn('ip', ['netns', 'exec', netns, ...this.opts.kubeadmCommand, '--sandbox-apiserver-forward', '0.0.0.0:6443', socket], { stdio: 'ignore' });
    child.on('error', (e) => this.opts.log?.(`API server forwarder in ${netns}: ${e.message}`));
    this.forwarders.set(instanceId, { socket, server, child });
  }

  /**
   * netns mode: what the image's `haproxy` package and its systemd unit do on a VM, for the API server proxy node-agent
   * configures (docs/node-bootstrap.md): the host's real HAProxy runs in the VM's namespace on the VM's
   * `/etc/haproxy/haproxy.cfg`, started when the file appears and restarted when it changes (the agent's `systemctl
   * reload-or-restart haproxy` is recorded there); and the namespace resolves names by the VM's `/etc/hosts`
   * (`/etc/netns/<namespace>/hosts`, which `ip netns exec` mounts over /etc/hosts, links to it). Without a `haproxy` on
   * the host nothing is started (kubectl on the VM then reaches nothing at the endpoint).
   */
  private ensureHaproxy(instanceId: string, netns: string, fsRoot: string): void {
    if (this.haproxies.has(instanceId) || !onPath('haproxy')) return;
    const etc = path.join('/etc/netns', netns);
    try {
      mkdirSync(etc, { recursive: true });
      rmSync(path.join(etc, 'hosts'), { force: true });
      symlinkSync(path.join(fsRoot, 'etc/hosts'), path.join(etc, 'hosts'));
    } catch (e) {
      this.opts.log?.(`hosts file of ${netns}: ${(e as Error).message}`);
    }
    const file = path.join(fsRoot, 'etc/haproxy/haproxy.cfg');
    const entry: { netns: string; config: string; child?: ChildProcess; timer: NodeJS.Timeout } = { netns, config: '', timer: setInterval(() => {
      let config = '';
      try {
        config = readFileSync(file, 'utf8');
      } catch {
        return;
      }
      if (config === entry.config) return;
      entry.config = config;
      entry.child?.kill('SIGTERM');
      const child = spawn('ip', ['netns', 'exec', netns, 'haproxy', '-db', '-f', file], { stdio: 'ignore' });
      child.on('error', (e) => this.opts.log?.(`haproxy in ${netns}: ${e.message}`));
      entry.child = child;
    }, 500) };
    entry.timer.unref();
    this.haproxies.set(instanceId, entry);
  }

  private stopHaproxy(instanceId: string): void {
    const h = this.haproxies.get(instanceId);
    if (!h) return;
    this.haproxies.delete(instanceId);
    clearInterval(h.timer);
    h.child?.kill('SIGTERM');
    rmSync(path.join('/etc/netns', h.netns), { recursive: true, force: true });
  }

  private stopForwarder(instanceId: string): void {
    const f = this.forwarders.get(instanceId);
    if (!f) return;
    this.forwarders.delete(instanceId);
    f.child.kill('SIGTERM');
    f.server.close();
    rmSync(f.socket, { force: true });
  }

  booted(vm: GuestVm): void {
    const netns = vm.netns;
    this.controlPlanes.vmBooted(this.machineOf(vm))
      .then(() => (netns ? this.ensureForwarder(vm.instanceId, netns) : undefined)).catch((e: unknown) => this.opts.log?.(`kubernetes on ${vm.instanceId}: ${(e as Error).message}`));
  }

  stopped(instanceId: string): void {
    const secret = this.byInstance.get(instanceId);
    if (secret) this.tokens.delete(secret);
    this.byInstance.delete(instanceId);
    this.stopForwarder(instanceId);
    this.stopHaproxy(instanceId);
    this.controlPlanes.vmStopped(instanceId).catch((e: unknown) => this.opts.log?.(`kubernetes on ${instanceId}: ${(e as Error).message}`));
  }

  /** Closes the proxy, its tunnels, and every control plane. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const id of [...this.forwarders.keys()]) this.stopForwarder(id);
    for (const id of [...this.haproxies.keys()]) this.stopHaproxy(id);
    await new Promise<void>((r) => (this.proxy ? this.proxy.server.close(() => r()) : r()));
    await new Promise<void>((r) => (this.adminSocketServer ? this.adminSocketServer.close(() => r()) : r()));
    rmSync(this.adminSocket, { force: true });
    await this.controlPlanes.closeAll();
  }
}
