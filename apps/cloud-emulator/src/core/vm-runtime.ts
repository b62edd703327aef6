import { spawn, ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync, existsSync, appendFileSync, openSync, closeSync, renameSync, copyFileSync, chmodSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { VmHost } from './types';
import type { VmNetwork, VmNetworkFabric } from './netns';
import type { GuestVm, VmGuest, VmMachine } from './kube';

/** A VM the runtime has booted (and not stopped), as `GET /admin/vms` lists it. */
export interface BootedVm {
  cloud: string;
  instanceId: string;
  privateIp: string;
  publicIp?: string;
  /** `netns` VM network only: the VM's network namespace. */
  netns?: string;
  /** `netns` VM network only: the WireGuard interface name node-agent must use (unique on the machine). */
  wireguardInterface?: string;
  /** `netns` VM network only: why the VM has no network (its units were not started). */
  networkError?: string;
}

/**
 * A VM to boot. `diskId` identifies its boot disk: clouds that reuse an instance id for a new VM (GCP and Azure name
 * VMs; a VM made again under a lost one's name) give a new one, and the VM gets a fresh file system, as a new boot
 * disk would be; the old one is kept beside it (`<id>.replaced-<diskId>`) for inspection. Same `diskId` (a restart) ⇒
 * the file system is kept.
 */
type VmSpec = { cloud: string; instanceId: string; userData: string; privateIp: string; publicIp?: string; diskId?: string; machine?: VmMachine };

/**
 * An external hypervisor for VMs of some instance types (`npm run test:boot`: a Debian system under systemd-nspawn
 * that runs cloud-init and systemd for real, tools/boot/). `command` is an argv prefix; see VmRuntime.bootOnHypervisor.
 */
export interface VmHypervisor {
  command: string[];
  instanceTypes: readonly string[];
}

/**
 * A program the image installs as one file (node-agent's bundle): every VM gets its own copy at `installAt` in its
 * file system on first start, and runs it with `interpreter` — so an agent that replaces its own bundle
 * (`upgrade-agent`) changes what that VM runs, and only that VM, as on a real VM.
 */
export interface InstalledBundle {
  /** argv prefix, e.g. `[process.execPath]`. */
  interpreter: string[];
  /** The file installed (e.g. dist/apps/node-agent/main.js). */
  bundle: string;
  /** Absolute path on the VM (e.g. `/opt/skyweave/node-agent/lib/node-agent.js`). */
  installAt: string;
}
/** A binary of the image: an argv prefix run as is, or a bundle each VM gets a copy of. */
export type ImageBinary = string[] | InstalledBundle;

/** What the `[Service]` section of a unit says about restarts (systemd.service(5)); absent keys take systemd's defaults. */
export interface RestartPolicy {
  /** `Restart=`: no (default), always, on-success, on-failure, on-abnormal, on-abort, on-watchdog. */
  restart: string;
  /** `RestartSec=`, ms (systemd's default 100 ms; a plain number is seconds, `ms`/`s`/`min` suffixes understood). */
  restartSecMs: number;
  /** `RestartForceExitStatus=`: exit codes (and signal names) that restart whatever `Restart=` says. */
  force: string[];
  /** `RestartPreventExitStatus=`: exit codes (and signal names) that never restart. */
  prevent: string[];
}

/** Reads a unit's restart settings. */
export function restartPolicyOf(unit: string): RestartPolicy {
  const value = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1].trim());
  const list = (key: string) => value(key).flatMap((v) => v.split(/\s+/)).filter(Boolean);
  const sec = value('RestartSec').at(-1);
  const m = sec ? /^(\d+(?:\.\d+)?)\s*(ms|s|sec|min)?$/.exec(sec) : null;
  const restartSecMs = m ? Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'min' ? 60_000 : 1000) : 100;
  return { restart: value('Restart').at(-1) ?? 'no', restartSecMs, force: list('RestartForceExitStatus'), prevent: list('RestartPreventExitStatus') };
}

/** Signals after which systemd counts a service's exit as clean (systemd.service(5), "Restart="). */
const CLEAN_SIGNALS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGPIPE'];

/**
 * Whether systemd restarts a service whose main process ended with `code` or `signal` (and was not stopped on
 * purpose): RestartPreventExitStatus= wins, then RestartForceExitStatus=, then the table of `Restart=` in
 * systemd.service(5) — `always`; `on-success` on a clean exit (0 or a clean signal); `on-failure` on an unclean
 * exit code or signal; `on-abnormal` / `on-abort` on an unclean signal; `no` and `on-watchdog` (no watchdog here) never.
 */
export function systemdRestarts(policy: RestartPolicy, code: number | null, signal: string | null): boolean {
  const status = signal ?? String(code);
  const matches = (l: string[]) => l.includes(status) || (signal !== null && l.includes(signal.replace(/^SIG/, '')));
  if (matches(policy.prevent)) return false;
  if (matches(policy.force)) return true;
  const cleanSignal = signal !== null && CLEAN_SIGNALS.includes(signal);
  const clean = signal === null ? code === 0 : cleanSignal;
  switch (policy.restart) {
    case 'always': return true;
    case 'on-success': return clean;
    case 'on-failure': return !clean;
    case 'on-abnormal':
    case 'on-abort': return signal !== null && !cleanSignal;
    default: return false;
  }
}

/** How long a VM's unit gets to exit after SIGTERM before SIGKILL, in the `netns` VM network (ms). */
const AGENT_STOP_GRACE_MS = 3000;

/**
 * The sandbox's VM image. On boot it does what cloud-init does with the user-data, and nothing else:
 * - `#cloud-config` is required (anything else is logged and ignored, as cloud-init would not run it as config);
 * - `write_files` are written under the VM's own root folder (`<vmRoot>/<instanceId>/fs/<path>`);
 * - `runcmd` entries are logged; `systemctl enable --now <unit>` / `systemctl start <unit>` starts the unit's
 *   `ExecStart` if that binary is installed in the image (`binaries`), with `SKYWEAVE_ROOT` set to the VM's root so
 *   that absolute paths resolve inside it.
 * So node-agent gets exactly what a real VM would give it: the files its user-data wrote. No side channel.
 *
 * With a `fabric` (the `netns` VM network, see netns.ts) each VM also gets a network namespace, created before any
 * unit starts; units still run in the root namespace (node-agent must reach the platform API on 127.0.0.1) and get
 * the namespace in their environment (see `unitEnv`). `stop` kills the unit, then the namespace with everything in it.
 */
export class VmRuntime implements VmHost {
  private readonly procs = new Map<string, ChildProcess>();
  /** Units waiting out `RestartSec=` before systemd's restart, by instance id (a stop cancels them). */
  private readonly restarts = new Map<string, NodeJS.Timeout>();
  private readonly booted = new Map<string, BootedVm>();
  /** netns mode: boots whose network is being created; `cancelled` is set by a stop that came first. */
  private readonly booting = new Map<string, { cancelled: boolean; done: Promise<void>; publicIp?: string }>();
  /**
   * netns mode: teardowns under way, by instance id, with the public address the VM had. A new boot waits for the
   * teardown of the same id and of any VM that had its public address (an Azure public IP detached from a deleted VM
   * and attached to a new one): the fabric refuses a public address another namespace still holds.
   */
  private readonly teardowns = new Map<string, { done: Promise<void>; publicIp?: string }>();

  constructor(
    private readonly opts: {
      /** Folder under which each VM gets `<instanceId>/fs`. */
      vmRoot: string;
      /**
       * Binaries the image has installed: absolute path on the VM → command to run here (argv prefix), or a bundle each
       * VM gets its own copy of (InstalledBundle). Empty: no process is started.
       */
      binaries: Record<string, ImageBinary>;
      /** Extra environment for VM processes (e.g. PATH). */
      env?: Record<string, string>;
      /** The `netns` VM network; absent: VMs are plain processes on the host's network (the default). */
      fabric?: VmNetworkFabric;
      /** What else runs on the VMs (the sandbox's Kubernetes, core/kube.ts): told of boots and stops; adds unit environment. */
      guest?: VmGuest;
      /** VMs of these instance types boot on an external hypervisor instead of this image (see VmHypervisor). */
      hypervisor?: VmHypervisor;
    },
  ) {}

  /** The root folder of a VM's file system (instance ids such as Azure's ARM ids are made folder-safe). */
  fsRoot(instanceId: string): string {
    return path.join(this.opts.vmRoot, instanceId.replace(/[^A-Za-z0-9._-]/g, '_'), 'fs');
  }

  /**
   * VMs booted and not stopped, in boot order. In the `netns` VM network a VM is listed once its namespace is ready
   * (or its creation failed, with `networkError`), so a listed `netns` can be used at once.
   */
  list(): BootedVm[] {
    return [...this.booted.values()].map((v) => ({ ...v }));
  }

  /**
   * Environment of a VM's units — the contract with node-agent. Always `SKYWEAVE_ROOT`, `SKYWEAVE_PRIVATE_IP` and
   * (when the VM has one) `SKYWEAVE_PUBLIC_IP`. In the `netns` VM network also `SKYWEAVE_EXECUTOR=real` (run commands),
   * `SKYWEAVE_NETNS` (prefix each command with `ip netns exec <netns>`), `SKYWEAVE_WG_INTERFACE` (name unique on the
   * machine: wireguard-go's sockets are shared by all namespaces), `SKYWEAVE_WG_USERSPACE=1` (wireguard-go; the
   * sandbox cannot rely on the kernel module) and `SKYWEAVE_RECORD_ONLY=kubeadm,kubectl,apt-get,apt-mark,systemctl,iptables` (the namespace image has no kubelet, no API server, no pod network to masquerade
   * and no package mirror), plus what the fabric's image sets (VmNetwork.env: PATH with its wireguard-go).
   * The guest (the sandbox's Kubernetes, core/kube.ts) adds its own: the image's tools on PATH and how its kubeadm
   * reaches the sandbox; in the process VM network also `HTTPS_PROXY` and `SKYWEAVE_EXECUTOR=real` with
   * `SKYWEAVE_RUN_ONLY=kubeadm,kubectl`; in the netns one `SKYWEAVE_RECORD_ONLY` without kubeadm and kubectl.
   * Precedence: process env < netns policy (EXECUTOR, WG_USERSPACE, RECORD_ONLY, image env) or the guest's < `opts.env` (a test may override
   * policy) < the VM's own facts (ROOT, addresses, NETNS, WG_INTERFACE — never overridable, they must be this VM's).
   */
  unitEnv(vm: { cloud?: string; instanceId?: string; privateIp: string; publicIp?: string; machine?: VmMachine }, root: string, net?: VmNetwork): NodeJS.ProcessEnv {
    const guest = this.opts.guest && vm.instanceId && vm.cloud
      ? this.opts.guest.unitEnv(this.guestVm({ cloud: vm.cloud, instanceId: vm.instanceId, privateIp: vm.privateIp, publicIp: vm.publicIp, machine: vm.machine }, root, net), net?.env?.PATH ?? process.env.PATH ?? '')
      : {};
    return {
      ...process.env,
      ...(net ? { SKYWEAVE_EXECUTOR: 'real', SKYWEAVE_WG_USERSPACE: '1', SKYWEAVE_RECORD_ONLY: 'kubeadm,kubectl,apt-get,apt-mark,systemctl,iptables', ...net.env } : {}),
      ...guest,
      ...this.opts.env,
      SKYWEAVE_ROOT: root,
      SKYWEAVE_PRIVATE_IP: vm.privateIp,
      ...(vm.publicIp ? { SKYWEAVE_PUBLIC_IP: vm.publicIp } : {}),
      ...(net ? { SKYWEAVE_NETNS: net.netns, SKYWEAVE_WG_INTERFACE: net.wireguardInterface } : {}),
    };
  }

  boot(vm: VmSpec): void {
    const hv = this.opts.hypervisor;
    if (hv && vm.machine && hv.instanceTypes.includes(vm.machine.instanceType)) return this.bootOnHypervisor(vm, hv);
    if (this.opts.fabric) return this.bootInNamespace(vm, this.opts.fabric);
    if (this.procs.has(vm.instanceId)) return;
    this.freshDisk(vm);
    this.booted.set(vm.instanceId, { cloud: vm.cloud, instanceId: vm.instanceId, privateIp: vm.privateIp, ...(vm.publicIp ? { publicIp: vm.publicIp } : {}) });
    const root = this.fsRoot(vm.instanceId);
    const log = this.logger(root);
    this.opts.guest?.booted(this.guestVm(vm, root));
    this.applyUserData(vm, root, log, (unit) => this.startUnit(vm, root, unit, log));
  }

  /**
   * Boots a VM on the external hypervisor: its user-data is written to `<vmRoot>/<id>/user-data` and the command runs
   * (`<command…> <instanceId> <user-data file>`, environment SKYWEAVE_VM_PRIVATE_IP, SKYWEAVE_VM_PUBLIC_IP,
   * SKYWEAVE_VM_DIR), its output appended to `<vmRoot>/<id>/console.log` (the VM's console). `stop` sends it SIGTERM.
   */
  private bootOnHypervisor(vm: VmSpec, hv: VmHypervisor): void {
    if (this.procs.has(vm.instanceId)) return;
    const dir = path.dirname(this.fsRoot(vm.instanceId));
    mkdirSync(dir, { recursive: true });
    const userData = path.join(dir, 'user-data');
    writeFileSync(userData, vm.userData, { mode: 0o600 });
    const out = openSync(path.join(dir, 'console.log'), 'a');
    const child = spawn(hv.command[0], [...hv.command.slice(1), vm.instanceId, userData], {
      env: { ...process.env, SKYWEAVE_VM_PRIVATE_IP: vm.privateIp, SKYWEAVE_VM_PUBLIC_IP: vm.publicIp ?? '', SKYWEAVE_VM_DIR: dir },
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    child.on('error', (e) => appendFileSync(path.join(dir, 'console.log'), `hypervisor: ${e.message}\n`));
    this.procs.set(vm.instanceId, child);
    this.booted.set(vm.instanceId, { cloud: vm.cloud, instanceId: vm.instanceId, privateIp: vm.privateIp, ...(vm.publicIp ? { publicIp: vm.publicIp } : {}) });
  }

  private guestVm(vm: { cloud: string; instanceId: string; privateIp: string; publicIp?: string; machine?: VmMachine }, root: string, net?: VmNetwork): GuestVm {
    return {
      cloud: vm.cloud, instanceId: vm.instanceId, privateIp: vm.privateIp, fsRoot: root,
      ...(vm.publicIp ? { publicIp: vm.publicIp } : {}), ...(vm.machine ? { machine: vm.machine } : {}), ...(net ? { netns: net.netns } : {}),
    };
  }

  /** Moves aside the file system of an earlier VM that had this instance id but another boot disk (see VmSpec). */
  private freshDisk(vm: VmSpec): void {
    if (!vm.diskId) return;
    const dir = path.dirname(this.fsRoot(vm.instanceId));
    const marker = path.join(dir, 'disk-id');
    const previous = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : undefined;
    if (previous !== undefined && previous !== vm.diskId) renameSync(dir, `${dir}.replaced-${previous.replace(/[^A-Za-z0-9._-]/g, '_')}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(marker, vm.diskId);
  }

  /** Writes the VM's folder and applies its cloud-config; calls `start` for each unit `runcmd` starts, in order. */
  private applyUserData(vm: VmSpec, root: string, log: (line: string) => void, start: (unit: string) => void): void {
    mkdirSync(path.join(root, 'var/lib/cloud/instance'), { recursive: true });
    writeFileSync(path.join(root, 'var/lib/cloud/instance/user-data.txt'), vm.userData);
    if (!vm.userData.startsWith('#cloud-config')) {
      log('user-data is not #cloud-config; nothing to do');
      return;
    }
    let config: { write_files?: { path: string; content?: string; encoding?: string; permissions?: string }[]; runcmd?: (string | string[])[] };
    try {
      config = (parseYaml(vm.userData) ?? {}) as typeof config;
    } catch (e) {
      log(`invalid cloud-config: ${(e as Error).message}`);
      return;
    }
    for (const f of config.write_files ?? []) {
      const target = path.join(root, f.path);
      mkdirSync(path.dirname(target), { recursive: true });
      const content = f.encoding === 'b64' || f.encoding === 'base64' ? Buffer.from(f.content ?? '', 'base64') : (f.content ?? '');
      writeFileSync(target, content, { mode: f.permissions ? parseInt(f.permissions, 8) : 0o644 });
      log(`write_files: ${f.path}`);
    }
    for (const cmd of config.runcmd ?? []) {
      const argv = Array.isArray(cmd) ? cmd.map(String) : cmd.split(/\s+/).filter(Boolean);
      log(`runcmd: ${argv.join(' ')}`);
      if (argv[0] === 'systemctl' && (argv.includes('start') || (argv.includes('enable') && argv.includes('--now')))) {
        start(argv[argv.length - 1]);
      }
    }
  }

  /** `<root>/var/log/cloud-init-output.log`, one line per call (folder created now). */
  private logger(root: string): (line: string) => void {
    mkdirSync(path.join(root, 'var/log'), { recursive: true });
    return (line: string) => appendFileSync(path.join(root, 'var/log/cloud-init-output.log'), `${line}\n`);
  }

  /**
   * netns boot: files now (as in the default mode), then — after any teardown of an earlier boot of the same id or
   * of a VM that had the same public address — the namespace, then the units. A VM whose namespace could not be made
   * is listed with `networkError` and starts no unit: an agent told to use a namespace that does not exist would only
   * fail later and less clearly.
   */
  private bootInNamespace(vm: VmSpec, fabric: VmNetworkFabric): void {
    const id = vm.instanceId;
    if (this.booted.has(id) || this.booting.has(id)) return;
    this.freshDisk(vm);
    const root = this.fsRoot(id);
    const log = this.logger(root);
    const units: string[] = [];
    this.applyUserData(vm, root, log, (unit) => units.push(unit));
    const previous = [...this.teardowns].filter(([tid, t]) => tid === id || (vm.publicIp !== undefined && t.publicIp === vm.publicIp)).map(([, t]) => t.done);
    const entry = { cancelled: false, done: Promise.resolve(), publicIp: vm.publicIp };
    entry.done = (async () => {
      await Promise.allSettled(previous);
      let net: VmNetwork | undefined;
      let networkError: string | undefined;
      try {
        net = await fabric.createVm({ cloud: vm.cloud, instanceId: id, privateIp: vm.privateIp, publicIp: vm.publicIp });
      } catch (e) {
        networkError = (e as Error).message;
      }
      if (entry.cancelled) {
        if (net) await fabric.destroyVm(net.netns);
        return;
      }
      const record: BootedVm = { cloud: vm.cloud, instanceId: id, privateIp: vm.privateIp, ...(vm.publicIp ? { publicIp: vm.publicIp } : {}) };
      if (!net) {
        log(`network: failed: ${networkError}; units not started`);
        process.stderr.write(`cloud-emulator: VM ${vm.cloud}/${id} has no network: ${networkError}\n`);
        this.booted.set(id, { ...record, networkError });
        return;
      }
      for (const w of net.warnings) log(`network: warning: ${w}`);
      log(`network: namespace ${net.netns}, eth0 ${[vm.privateIp, vm.publicIp].filter(Boolean).join(' ')}, wireguard interface ${net.wireguardInterface}`);
      this.booted.set(id, { ...record, netns: net.netns, wireguardInterface: net.wireguardInterface });
      this.opts.guest?.booted(this.guestVm(vm, root, net));
      for (const unit of units) this.startUnit(vm, root, unit, log, net);
    })().finally(() => {
      if (this.booting.get(id) === entry) this.booting.delete(id);
    });
    this.booting.set(id, entry);
  }

  private startUnit(vm: VmSpec, root: string, unit: string, log: (l: string) => void, net?: VmNetwork): void {
    const unitFile = path.join(root, 'etc/systemd/system', unit.endsWith('.service') ? unit : `${unit}.service`);
    if (!existsSync(unitFile)) {
      log(`systemctl: unit ${unit} not found`);
      return;
    }
    const unitText = readFileSync(unitFile, 'utf8');
    const execStart = /^ExecStart=(.+)$/m.exec(unitText)?.[1]?.trim();
    if (!execStart) return log(`systemctl: unit ${unit} has no ExecStart`);
    const [bin, ...args] = execStart.split(/\s+/);
    const binary = this.opts.binaries[bin];
    if (!binary) return log(`systemctl: ${bin} is not installed in this image`);
    let prefix: string[];
    if (Array.isArray(binary)) {
      prefix = binary;
    } else {
      // the VM's own copy of the bundle, installed on first start (what an upgrade replaces is kept on its disk)
      const copy = path.join(root, binary.installAt);
      if (!existsSync(copy)) {
        mkdirSync(path.dirname(copy), { recursive: true });
        copyFileSync(binary.bundle, `${copy}.part`);
        chmodSync(`${copy}.part`, 0o755);
        renameSync(`${copy}.part`, copy);
      }
      prefix = [...binary.interpreter, copy];
    }
    const out = openSync(path.join(root, 'var/log', `${unit.replace(/\.service$/, '')}.log`), 'a');
    const child = spawn(prefix[0], [...prefix.slice(1), ...args], {
      env: this.unitEnv(vm, root, net),
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    this.procs.set(vm.instanceId, child);
    // Only forget the process if it is still the VM's one (a stop + new boot may have replaced it meanwhile); a
    // process that ended by itself is restarted as systemd would (the unit's Restart=, RestartForceExitStatus= …).
    child.on('exit', (code, signal) => {
      if (this.procs.get(vm.instanceId) !== child) return;
      this.procs.delete(vm.instanceId);
      const policy = restartPolicyOf(unitText);
      if (!systemdRestarts(policy, code, signal)) return log(`systemctl: ${unit} exited (${signal ?? code}); not restarted`);
      log(`systemctl: ${unit} exited (${signal ?? code}); restarting in ${policy.restartSecMs} ms`);
      this.restarts.set(vm.instanceId, setTimeout(() => {
        this.restarts.delete(vm.instanceId);
        if (this.booted.has(vm.instanceId) && !this.procs.has(vm.instanceId)) this.startUnit(vm, root, unit, log, net);
      }, policy.restartSecMs));
    });
    log(`systemctl: started ${unit} (pid ${child.pid})`);
  }

  /** Cancels a restart waiting out `RestartSec=` (the VM is stopping). */
  private cancelRestart(instanceId: string): void {
    const t = this.restarts.get(instanceId);
    if (t) clearTimeout(t);
    this.restarts.delete(instanceId);
  }

  /**
   * The instance stopped or terminated. Default mode: SIGTERM to its unit, as before. `netns` mode: asynchronously
   * (see `settle`), SIGTERM to the unit and up to 3 s for it to exit (then SIGKILL) — node-agent may still clean up
   * through the namespace — then every process in the namespace is killed and the namespace deleted. A boot still
   * creating the namespace is cancelled and removes it itself.
   */
  stop(instanceId: string): void {
    this.cancelRestart(instanceId);
    const record = this.booted.get(instanceId);
    this.booted.delete(instanceId);
    if (record) this.opts.guest?.stopped(instanceId);
    if (this.opts.fabric) return this.stopInNamespace(instanceId, record, this.opts.fabric);
    const p = this.procs.get(instanceId);
    if (p) {
      p.kill('SIGTERM');
      this.procs.delete(instanceId);
    }
  }

  private stopInNamespace(id: string, record: BootedVm | undefined, fabric: VmNetworkFabric): void {
    const pending = this.booting.get(id);
    if (pending) pending.cancelled = true;
    const child = this.procs.get(id);
    this.procs.delete(id);
    if (!pending && !child && !record?.netns) return;
    const teardown: Promise<void> = (async () => {
      await pending?.done;
      if (child) await stopChild(child, AGENT_STOP_GRACE_MS);
      if (record?.netns) await fabric.destroyVm(record.netns);
    })()
      .catch((e: unknown) => {
        process.stderr.write(`cloud-emulator: tearing down VM ${id} failed: ${(e as Error).message}\n`);
      })
      .finally(() => {
        if (this.teardowns.get(id)?.done === teardown) this.teardowns.delete(id);
      });
    this.teardowns.set(id, { done: teardown, publicIp: record?.publicIp ?? pending?.publicIp });
  }

  /** Stops every VM's unit (SIGTERM), without waiting. In `netns` mode namespaces are torn down too; await `settle()`. */
  stopAll(): void {
    for (const id of [...this.restarts.keys()]) this.cancelRestart(id);
    if (this.opts.fabric) {
      for (const id of new Set([...this.booted.keys(), ...this.booting.keys(), ...this.procs.keys()])) this.stop(id);
      return;
    }
    for (const id of [...this.procs.keys()]) this.stop(id);
  }

  /** Resolves when every boot and teardown under way has finished (never rejects; failures are logged). */
  async settle(): Promise<void> {
    while (this.booting.size > 0 || this.teardowns.size > 0) {
      await Promise.allSettled([...[...this.booting.values()].map((b) => b.done), ...[...this.teardowns.values()].map((t) => t.done)]);
    }
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited (or 2 s after SIGKILL, regardless). */
function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    const done = () => {
      timers.forEach(clearTimeout);
      resolve();
    };
    child.once('exit', done);
    child.kill('SIGTERM');
    timers.push(setTimeout(() => {
      child.kill('SIGKILL');
      timers.push(setTimeout(done, 2000));
    }, graceMs));
  });
}
