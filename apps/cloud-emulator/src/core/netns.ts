import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/**
 * The `netns` VM network: every sandbox VM is a Linux network namespace, and all of them hang off one bridge.
 *
 *   hub namespace  <prefix>-<pid>-<id>-hub      bridge `br0`, one port `v<seq>` per VM
 *                  and every VM's <publicIp>/32 (the clouds' 1:1 NAT), with the WAN relay (core/wan.ts) on udp 51820
 *   VM namespace   <prefix>-<pid>-<id>-<seq>-<cloud>   `lo` and `eth0` (the veth peer of `v<seq>`), with
 *                  <privateIp>/32 on eth0 and on-link routes for 10.0.0.0/8, 198.51.100.0/24 and 203.0.113.0/24 only
 *
 * So VMs of any cloud reach each other's private addresses over the bridge, and each other's public addresses through
 * the relay, which adds the latency between their clouds (setWanLatency); nothing in the root namespace
 * changes (no address, no route, no interface: the veth pair is created straight into the hub and the VM namespace),
 * and a VM namespace has no default route: traffic to anything else fails at once instead of leaving the machine.
 * Real WireGuard (wireguard-go) can run inside the VM namespaces; each VM gets its own interface name because
 * wireguard-go's control socket `/var/run/wireguard/<name>.sock` is shared by all namespaces of the machine.
 *
 * On a real cloud the packet path between two nodes is the kernel's (the WireGuard module, the clouds' NAT), which no
 * busy process delays. Here two of its parts are processes: the WAN relay and wireguard-go. Both run at real-time
 * priority (SCHED_FIFO KERNEL_STANDIN_PRIORITY, through `chrt`) when the machine allows it, so that two cores shared
 * by the platform and every VM's agent do not add milliseconds of scheduling delay to each hop; wireguard-go gets it
 * from a `wireguard-go` on the VM image's PATH (VmNetwork.env) that starts the real one under `chrt`.
 */

/** First part of every namespace name the fabric creates; the sweep of dead emulators' leftovers matches it. */
export const NETNS_PREFIX = 'skyweave';
/** Name of the bridge in the hub namespace (the hub is private to one fabric, so a fixed name cannot collide). */
export const HUB_BRIDGE = 'br0';
/** The only destinations a VM namespace has routes for (on-link via eth0). */
export const VM_ROUTES: readonly string[] = ['10.0.0.0/8', '198.51.100.0/24', '203.0.113.0/24'];
/** Where wireguard-go puts its control sockets (one folder for every namespace of the machine). */
export const WIREGUARD_SOCKET_DIR = '/var/run/wireguard';

/** Linux limit for interface names (IFNAMSIZ 16 including the terminating NUL). */
const IFNAME_MAX = 15;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const WG_NAME_RE = /^wg[0-9a-f]{8}$/;

/** A VM's addresses, as the cloud assigned them. */
export interface VmAddressing {
  cloud: string;
  instanceId: string;
  /** Dotted IPv4; reachable from other VMs when inside 10.0.0.0/8 (the only private route). */
  privateIp: string;
  /** Dotted IPv4 from the sandbox's public ranges; absent when the VM has none. */
  publicIp?: string;
}

/**
 * Real-time priority (SCHED_FIFO, 1–99) of the sandbox's stand-ins for kernel packet paths: the WAN relay and each
 * VM's wireguard-go. Low among real-time priorities (the kernel's own threads run at 50); above every normal process.
 */
export const KERNEL_STANDIN_PRIORITY = 10;

/** What a VM got from the fabric. */
export interface VmNetwork {
  /** Name of the VM's network namespace (`ip netns exec <netns> …` runs a command "on the VM"). */
  netns: string;
  /** WireGuard interface name reserved for this VM: `wg` + 8 hex, unique on the machine, ≤ 15 characters. */
  wireguardInterface: string;
  /** Things that work but are unlike a real cloud (e.g. a private address another VM on the bridge also has). */
  warnings: string[];
  /** Environment the VM's image gives its units (PATH with the sandbox's wireguard-go), when it adds any. */
  env?: Record<string, string>;
}

/** The VM network as VmRuntime uses it (NetnsFabric, or a stand-in in tests). */
export interface VmNetworkFabric {
  /** Creates the VM's network; rejects (having undone any partial work) when a step fails. */
  createVm(vm: VmAddressing): Promise<VmNetwork>;
  /** Kills every process in the VM's namespace and deletes it; a namespace this fabric does not hold is a no-op. */
  destroyVm(netns: string): Promise<void>;
  /** Destroys every VM namespace and the hub. Idempotent. */
  close(): Promise<void>;
}

/** Runs a program (argv, no shell) and resolves its stdout; see runCommand. */
export type CommandRunner = (file: string, args: readonly string[]) => Promise<string>;

/** A command the fabric ran failed. The message names the whole command line and its stderr, for a useful log line. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    /** Exit code, the error code of a spawn failure (`ENOENT`), or `timeout`. */
    readonly exitCode: number | string,
    readonly stderr: string,
  ) {
    super(`\`${argv.join(' ')}\` failed (${typeof exitCode === 'number' ? `exit code ${exitCode}` : exitCode})${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
    this.name = 'CommandError';
  }
}

/**
 * Runs `file args…` with execFile — argv, never a shell, so addresses and names cannot be interpreted as shell
 * syntax — and resolves stdout. Rejects with a CommandError (command line, exit code, stderr) on a non-zero exit,
 * a spawn failure, or after `timeoutMs` (a hung `ip` must not hang the emulator).
 */
export function runCommand(file: string, args: readonly string[], timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const e = err as NodeJS.ErrnoException & { killed?: boolean };
      const code = e.killed ? 'timeout' : typeof e.code === 'number' ? e.code : (e.code ?? 'failed');
      reject(new CommandError([file, ...args], code, stderr || (typeof e.code === 'string' ? e.message : '')));
    });
  });
}

/** Whether a process id is alive (EPERM: it exists but belongs to someone else — alive too). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Names of all network namespaces (`ip netns list` prints `name` or `name (id: N)` per line). */
async function listNamespaces(run: CommandRunner): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  return out.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter((n): n is string => !!n);
}

/**
 * Ends every process in a namespace: SIGTERM, up to `graceMs` to exit (wireguard-go removes its socket and
 * interface on SIGTERM), then SIGKILL. Deleting a namespace that still has processes would only unlink its name:
 * the processes — and the namespace with its addresses — would live on, unreachable for cleanup.
 */
async function killNamespaceProcesses(run: CommandRunner, netns: string, graceMs: number): Promise<void> {
  const pids = async (): Promise<number[]> => {
    try {
      return (await run('ip', ['netns', 'pids', netns])).split(/\s+/).filter(Boolean).map(Number)
        .filter((p) => Number.isInteger(p) && p > 1 && p !== process.pid);
    } catch {
      return []; // the namespace is gone already
    }
  };
  const signal = (list: number[], sig: NodeJS.Signals) => {
    for (const p of list) {
      try {
        process.kill(p, sig);
      } catch {
        // exited meanwhile
      }
    }
  };
  let left = await pids();
  if (left.length === 0) return;
  signal(left, 'SIGTERM');
  for (const deadline = Date.now() + graceMs; left.length > 0 && Date.now() < deadline; left = await pids()) await sleep(50);
  if (left.length === 0) return;
  signal(left, 'SIGKILL');
  for (const deadline = Date.now() + 2000; left.length > 0 && Date.now() < deadline; left = await pids()) await sleep(50);
}

/** Deletes a namespace by name; one that no longer exists counts as deleted. */
async function deleteNamespace(run: CommandRunner, netns: string): Promise<void> {
  try {
    await run('ip', ['netns', 'delete', netns]);
  } catch (e) {
    if (e instanceof CommandError && /No such file|does not exist/i.test(e.stderr)) return;
    throw e;
  }
}

/** wireguard-go interfaces (`wg` + 8 hex) in a namespace, to clear their sockets after a kill. */
async function wireguardLinks(run: CommandRunner, netns: string): Promise<string[]> {
  try {
    const out = await run('ip', ['-n', netns, '-o', 'link', 'show']);
    return [...out.matchAll(/^\d+:\s+([^:@\s]+)/gm)].map((m) => m[1]).filter((n) => WG_NAME_RE.test(n));
  } catch {
    return [];
  }
}

/** Removes a stale control socket (left when wireguard-go was SIGKILLed), so no client finds a dead interface. */
function removeWireguardSocket(name: string): void {
  if (!WG_NAME_RE.test(name)) return;
  rmSync(path.join(WIREGUARD_SOCKET_DIR, `${name}.sock`), { force: true });
}

/**
 * Fails early, with one clear message, when this machine cannot run the `netns` VM network: not Linux, not root
 * (namespaces, veth pairs and bridges need CAP_SYS_ADMIN and CAP_NET_ADMIN; the sandbox asks for root rather than
 * guess capabilities), or no `ip` (iproute2). Checked before anything is created, so a misconfigured run does not
 * end in VMs without network later.
 * @param host platform and uid to judge (default this process's; tests pass others).
 * @throws Error naming what is missing.
 */
export async function assertNetnsSupported(
  run: CommandRunner = (f, a) => runCommand(f, a),
  host: { platform: string; uid: number | undefined } = { platform: process.platform, uid: process.getuid?.() },
): Promise<void> {
  if (host.platform !== 'linux') throw new Error(`vmNetwork "netns" needs Linux network namespaces; this is ${host.platform}`);
  if (host.uid !== 0) {
    throw new Error(`vmNetwork "netns" needs root (creating network namespaces, veth pairs and bridges needs CAP_SYS_ADMIN and CAP_NET_ADMIN); running as uid ${host.uid}`);
  }
  try {
    await run('ip', ['-V']);
  } catch (e) {
    if (e instanceof CommandError && e.exitCode === 'ENOENT') throw new Error('vmNetwork "netns" needs the `ip` command (iproute2), which is not on PATH');
    throw new Error(`vmNetwork "netns": \`ip -V\` failed: ${(e as Error).message}`);
  }
}

export interface NetnsFabricOptions {
  /** First part of namespace names; default NETNS_PREFIX. Only `[a-z0-9]` (it goes into file names under /run/netns). */
  prefix?: string;
  /** How commands are run; default runCommand. */
  run?: CommandRunner;
  /** Time processes in a namespace get between SIGTERM and SIGKILL, ms; default 2000. */
  killGraceMs?: number;
  /** Command (argv) that runs the WAN relay inside the hub namespace; default node + wan-main.js beside the emulator's bundle (built), or tools/run-ts.js + src/wan-main.ts (from source). */
  wanCommand?: string[];
}

/** WireGuard's port: the one the WAN relay carries between public addresses (seed 004 firewall: udp 51820). */
export const WAN_PORT = 51820;
// Built (dist/apps/cloud-emulator/main.js bundles this file), the relay is wan-main.js beside the bundle; from source, run-ts.
const DEFAULT_WAN_COMMAND = __filename.endsWith('.js')
  ? [process.execPath, path.join(__dirname, 'wan-main.js'), String(WAN_PORT)]
  : [process.execPath, path.resolve(__dirname, '../../../../tools/run-ts.js'), path.resolve(__dirname, '../wan-main.ts'), String(WAN_PORT)];

/**
 * `chrt -f KERNEL_STANDIN_PRIORITY` when this machine lets us use real-time scheduling (root, or CAP_SYS_NICE, and a
 * kernel with real-time bandwidth left), else nothing: the sandbox still works, with more jitter on busy machines.
 */
async function realtimePrefix(run: CommandRunner): Promise<string[]> {
  const prefix = ['chrt', '-f', String(KERNEL_STANDIN_PRIORITY)];
  try {
    await run(prefix[0], [...prefix.slice(1), 'true']);
    return prefix;
  } catch {
    return [];
  }
}

/**
 * Writes the folder the VMs' image puts first on PATH: a `wireguard-go` that runs the machine's own under
 * `realtime` (Debian's `wireguard-go`; it forks into the background, and the fork keeps the priority).
 * @returns the folder, or undefined when wireguard-go is not installed (node-agent then names it when it needs it).
 */
async function imageBin(run: CommandRunner, realtime: readonly string[]): Promise<string | undefined> {
  const real = (await run('sh', ['-c', 'command -v wireguard-go']).catch(() => '')).trim();
  if (!real.startsWith('/')) return undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'skyweave-vm-bin-'));
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  writeFileSync(path.join(dir, 'wireguard-go'), `#!/bin/sh\n# the sandbox's stand-in for the WireGuard kernel module: wireguard-go at real-time priority\nexec ${[...realtime, real].map(quote).join(' ')} "$@"\n`);
  chmodSync(path.join(dir, 'wireguard-go'), 0o755);
  return dir;
}

/** The WAN relay child process: one JSON command line at a time, answered by one JSON line. */
class WanControl {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly answers: ((line: string) => void)[] = [];
  private buffer = '';

  constructor(private readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let i = this.buffer.indexOf('\n'); i >= 0; i = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 1);
        this.answers.shift()?.(line);
      }
    });
  }

  /** Sends one command. @throws Error with the relay's message when it refuses, or when it has exited. */
  send(command: Record<string, unknown>): Promise<void> {
    const next = this.queue.then(() => new Promise<void>((resolve, reject) => {
      if (this.child.exitCode !== null || !this.child.stdin?.writable) return reject(new Error('the WAN relay is not running'));
      const timer = setTimeout(() => reject(new Error(`the WAN relay did not answer ${JSON.stringify(command)}`)), 30_000);
      this.answers.push((line) => {
        clearTimeout(timer);
        const a = JSON.parse(line) as { ok: boolean; error?: string };
        if (a.ok) resolve();
        else reject(new Error(`WAN relay: ${a.error}`));
      });
      this.child.stdin.write(`${JSON.stringify(command)}\n`);
    }));
    this.queue = next.catch(() => undefined);
    return next;
  }

  stop(): void {
    this.child.stdin?.end();
    this.child.kill('SIGTERM');
  }
}

interface VmRecord {
  seq: number;
  cloud: string;
  instanceId: string;
  privateIp: string;
  publicIp?: string;
  wireguardInterface: string;
}

/**
 * One emulator's `netns` VM network (see the top of this file). Create with `NetnsFabric.create()`, close with
 * `close()`; a fabric that was never closed (crash, SIGKILL) is swept by the next `create()` on the machine.
 *
 * Naming: `<prefix>-<pid>-<6 hex>-hub` and `<prefix>-<pid>-<6 hex>-<seq>-<cloud>`. The pid lets the sweep tell dead
 * emulators' leftovers from namespaces of emulators still running; the random part keeps two fabrics of one process
 * (two emulators in one Jest worker) apart.
 */
export class NetnsFabric implements VmNetworkFabric {
  private readonly vms = new Map<string, VmRecord>();
  private readonly destroying = new Map<string, Promise<void>>();
  private seq = 0;
  private closed: Promise<void> | undefined;

  private constructor(
    /** Name of the hub namespace (holds the bridge). */
    readonly hub: string,
    private readonly base: string,
    private readonly run: CommandRunner,
    private readonly killGraceMs: number,
    private readonly wan: WanControl,
    /** Folder put first on the VMs' PATH (the sandbox's wireguard-go at real-time priority); removed by close(). */
    private readonly imageBin?: string,
  ) {}

  /**
   * Sets the round trips the WAN relay adds between public addresses: per pair of clouds (`aws|gcp`, either order)
   * and per pair of VMs by public address (`198.51.100.1|203.0.113.4`), which wins. Milliseconds.
   */
  setWanLatency(clouds: Record<string, number>, pairs: Record<string, number> = {}): Promise<void> {
    return this.wan.send({ op: 'latency', clouds, pairs });
  }

  /**
   * Checks the machine (assertNetnsSupported), sweeps leftovers of dead emulators, and creates the hub namespace with
   * its bridge.
   * @throws Error when not on Linux, not root, or `ip` is missing (see assertNetnsSupported), before anything is made.
   * @throws CommandError when creating the hub fails (the partial hub is removed first).
   */
  static async create(opts: NetnsFabricOptions = {}): Promise<NetnsFabric> {
    const run = opts.run ?? ((file, args) => runCommand(file, args));
    const prefix = opts.prefix ?? NETNS_PREFIX;
    if (!/^[a-z0-9]{1,20}$/.test(prefix)) throw new Error(`netns prefix must be 1-20 characters [a-z0-9], got ${JSON.stringify(prefix)}`);
    await assertNetnsSupported(run);
    await NetnsFabric.sweep(run, prefix, opts.killGraceMs ?? 2000);
    const realtime = await realtimePrefix(run);
    const image = realtime.length ? await imageBin(run, realtime) : undefined;

    const base = `${prefix}-${process.pid}-${randomBytes(3).toString('hex')}`;
    const hub = `${base}-hub`;
    await run('ip', ['netns', 'add', hub]);
    let wan: WanControl;
    try {
      await run('ip', ['-n', hub, 'link', 'add', HUB_BRIDGE, 'type', 'bridge']);
      await run('ip', ['-n', hub, 'link', 'set', HUB_BRIDGE, 'up']);
      await run('ip', ['-n', hub, 'link', 'set', 'lo', 'up']);
      await run('ip', ['-n', hub, 'route', 'add', '10.0.0.0/8', 'dev', HUB_BRIDGE, 'scope', 'link']);
      const [cmd, ...args] = opts.wanCommand ?? DEFAULT_WAN_COMMAND;
      wan = new WanControl(spawn('ip', ['netns', 'exec', hub, ...realtime, cmd, ...args], { stdio: ['pipe', 'pipe', 'inherit'] }));
      await wan.send({ op: 'latency', clouds: {}, pairs: {} });
    } catch (e) {
      await deleteNamespace(run, hub).catch(() => undefined);
      if (image) rmSync(image, { recursive: true, force: true });
      throw e;
    }
    return new NetnsFabric(hub, base, run, opts.killGraceMs ?? 2000, wan, image);
  }

  /**
   * Best effort: deletes namespaces named `<prefix>-<pid>-…` whose pid is no longer alive (an emulator that was killed
   * before it could close), after killing their processes and removing their wireguard sockets. Namespaces of live
   * processes are left alone — another emulator may be using them. Errors are swallowed (never blocks a start).
   * @returns the namespaces deleted.
   */
  static async sweep(run: CommandRunner = (f, a) => runCommand(f, a), prefix = NETNS_PREFIX, killGraceMs = 2000): Promise<string[]> {
    const re = new RegExp(`^${prefix}-(\\d+)-[0-9a-f]{6}-`);
    const swept: string[] = [];
    let names: string[];
    try {
      names = await listNamespaces(run);
    } catch {
      return swept;
    }
    for (const ns of names) {
      const pid = Number(re.exec(ns)?.[1] ?? NaN);
      if (!Number.isInteger(pid) || pid === process.pid || pidAlive(pid)) continue;
      try {
        const wg = await wireguardLinks(run, ns);
        await killNamespaceProcesses(run, ns, killGraceMs);
        await deleteNamespace(run, ns);
        wg.forEach(removeWireguardSocket);
        swept.push(ns);
      } catch {
        // best effort
      }
    }
    return swept;
  }

  /** Namespaces of the VMs this fabric holds now. */
  vmNamespaces(): string[] {
    return [...this.vms.keys()];
  }

  /**
   * Creates a VM's namespace: veth pair (`v<seq>` on the hub's bridge, `eth0` in the VM), `lo` and `eth0` up, the
   * private address /32 and the public one /32 on eth0, and on-link routes for VM_ROUTES only. Each route carries a
   * source address — the private one for 10.0.0.0/8, the public one (when there is one) for the public ranges — so
   * a VM talks to other VMs' public addresses from its own public address, as through a cloud's 1:1 NAT: WireGuard
   * peers then see each other's public endpoint. /32 addresses plus on-link routes need no subnet prefix and reach
   * every VM of every cloud over the one bridge.
   * @throws Error on an address that is not dotted IPv4, or a public address another VM holds (the shared public
   *   pool never hands one out twice, so that is a bug, and two owners on one bridge would split ARP answers).
   * @throws CommandError when an `ip` step fails (the namespace is deleted again first).
   */
  async createVm(vm: VmAddressing): Promise<VmNetwork> {
    if (this.closed) throw new Error('the netns fabric is closed');
    if (!IPV4_RE.test(vm.privateIp)) throw new Error(`VM ${vm.instanceId}: private address ${JSON.stringify(vm.privateIp)} is not dotted IPv4`);
    if (vm.publicIp !== undefined && !IPV4_RE.test(vm.publicIp)) throw new Error(`VM ${vm.instanceId}: public address ${JSON.stringify(vm.publicIp)} is not dotted IPv4`);
    const warnings: string[] = [];
    for (const [ns, other] of this.vms) {
      if (vm.publicIp && (other.publicIp === vm.publicIp || other.privateIp === vm.publicIp)) {
        throw new Error(`VM ${vm.instanceId}: public address ${vm.publicIp} is already on ${other.cloud} VM ${other.instanceId} (${ns})`);
      }
      if (other.privateIp === vm.privateIp) {
        warnings.push(`private address ${vm.privateIp} is also on ${other.cloud} VM ${other.instanceId} (${ns}); the bridge cannot tell them apart (use non-overlapping private ranges per cloud)`);
      }
    }
    const seq = (this.seq += 1);
    const cloudTag = vm.cloud.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 12) || 'vm';
    const netns = `${this.base}-${seq}-${cloudTag}`;
    const hubPort = `v${seq}`;
    if (hubPort.length > IFNAME_MAX) throw new Error(`too many VMs for interface names (${hubPort})`);
    const wireguardInterface = this.newWireguardName();
    const record: VmRecord = { seq, cloud: vm.cloud, instanceId: vm.instanceId, privateIp: vm.privateIp, publicIp: vm.publicIp, wireguardInterface };
    this.vms.set(netns, record);

    const ip = (...args: string[]) => this.run('ip', args);
    try {
      await ip('netns', 'add', netns);
      await ip('-n', this.hub, 'link', 'add', hubPort, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
      await ip('-n', this.hub, 'link', 'set', hubPort, 'master', HUB_BRIDGE, 'up');
      await ip('-n', netns, 'link', 'set', 'lo', 'up');
      await ip('-n', netns, 'addr', 'add', `${vm.privateIp}/32`, 'dev', 'eth0');
      await ip('-n', netns, 'link', 'set', 'eth0', 'up');
      for (const dest of VM_ROUTES) await ip('-n', netns, 'route', 'add', dest, 'dev', 'eth0', 'scope', 'link', 'src', vm.privateIp);
      if (vm.publicIp) {
        await ip('-n', this.hub, 'addr', 'add', `${vm.publicIp}/32`, 'dev', HUB_BRIDGE);
        await this.wan.send({ op: 'add', cloud: vm.cloud, privateIp: vm.privateIp, publicIp: vm.publicIp });
      }
    } catch (e) {
      this.vms.delete(netns);
      await deleteNamespace(this.run, netns).catch(() => undefined);
      await this.run('ip', ['-n', this.hub, 'link', 'delete', hubPort]).catch(() => undefined);
      if (vm.publicIp) await this.releasePublic(vm.publicIp);
      throw e;
    }
    if (this.closed) {
      // close() ran while this VM was being made: it did not see the namespace yet.
      await this.destroyVm(netns);
      throw new Error('the netns fabric was closed while the VM network was being created');
    }
    return { netns, wireguardInterface, warnings, ...(this.imageBin ? { env: { PATH: `${this.imageBin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` } } : {}) };
  }

  /**
   * Kills every process in the namespace (SIGTERM, then SIGKILL after the grace time), deletes it (the veth pair and
   * its bridge port go with it) and removes the VM's stale wireguard socket, if any. Concurrent calls for one
   * namespace share one teardown; a namespace this fabric does not hold is a no-op.
   * @throws CommandError when `ip netns delete` fails for another reason than "already gone".
   */
  destroyVm(netns: string): Promise<void> {
    const pending = this.destroying.get(netns);
    if (pending) return pending;
    const record = this.vms.get(netns);
    if (!record) return Promise.resolve();
    const p = (async () => {
      await killNamespaceProcesses(this.run, netns, this.killGraceMs);
      await deleteNamespace(this.run, netns);
      removeWireguardSocket(record.wireguardInterface);
      if (record.publicIp) await this.releasePublic(record.publicIp);
    })().finally(() => {
      this.vms.delete(netns);
      this.destroying.delete(netns);
    });
    this.destroying.set(netns, p);
    return p;
  }

  /**
   * Destroys every VM namespace, then the hub. Idempotent (later calls share the first one's promise).
   * @throws AggregateError listing every step that failed (each step is still tried).
   */
  close(): Promise<void> {
    this.closed ??= (async () => {
      const results = await Promise.allSettled([...this.vms.keys(), ...this.destroying.keys()].map((ns) => this.destroyVm(ns)));
      const errors = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
      this.wan.stop();
      try {
        await killNamespaceProcesses(this.run, this.hub, this.killGraceMs);
        await deleteNamespace(this.run, this.hub);
      } catch (e) {
        errors.push(e);
      }
      if (this.imageBin) rmSync(this.imageBin, { recursive: true, force: true });
      if (errors.length > 0) throw new AggregateError(errors, `closing the netns fabric failed: ${errors.map((e) => (e as Error).message).join('; ')}`);
    })();
    return this.closed;
  }

  /** Takes a public address off the hub and out of the relay (best effort: the hub may be going away). */
  private async releasePublic(publicIp: string): Promise<void> {
    if (this.closed) return;
    await this.wan.send({ op: 'remove', publicIp }).catch(() => undefined);
    await this.run('ip', ['-n', this.hub, 'addr', 'del', `${publicIp}/32`, 'dev', HUB_BRIDGE]).catch(() => undefined);
  }

  /** `wg` + 8 random hex: not used by this fabric, and no wireguard-go socket of that name exists on the machine. */
  private newWireguardName(): string {
    const taken = new Set([...this.vms.values()].map((v) => v.wireguardInterface));
    for (;;) {
      const name = `wg${randomBytes(4).toString('hex')}`;
      if (!taken.has(name) && !existsSync(path.join(WIREGUARD_SOCKET_DIR, `${name}.sock`))) return name;
    }
  }
}
