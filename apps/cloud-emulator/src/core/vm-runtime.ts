import { spawn, ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync, existsSync, appendFileSync, openSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { VmHost } from './types';

/**
 * The sandbox's VM image. On boot it does what cloud-init does with the user-data, and nothing else:
 * - `#cloud-config` is required (anything else is logged and ignored, as cloud-init would not run it as config);
 * - `write_files` are written under the VM's own root folder (`<vmRoot>/<instanceId>/fs/<path>`);
 * - `runcmd` entries are logged; `systemctl enable --now <unit>` / `systemctl start <unit>` starts the unit's
 *   `ExecStart` if that binary is installed in the image (`binaries`), with `SKYWEAVE_ROOT` set to the VM's root so
 *   that absolute paths resolve inside it.
 * So node-agent gets exactly what a real VM would give it: the files its user-data wrote. No side channel.
 */
export class VmRuntime implements VmHost {
  private readonly procs = new Map<string, ChildProcess>();

  constructor(
    private readonly opts: {
      /** Folder under which each VM gets `<instanceId>/fs`. */
      vmRoot: string;
      /** Binaries the image has installed: absolute path on the VM → command to run here (argv prefix). Empty: no process is started. */
      binaries: Record<string, string[]>;
      /** Extra environment for VM processes (e.g. PATH). */
      env?: Record<string, string>;
    },
  ) {}

  /** The root folder of a VM's file system (instance ids such as Azure's ARM ids are made folder-safe). */
  fsRoot(instanceId: string): string {
    return path.join(this.opts.vmRoot, instanceId.replace(/[^A-Za-z0-9._-]/g, '_'), 'fs');
  }

  boot(vm: { cloud: string; instanceId: string; userData: string; privateIp: string; publicIp?: string }): void {
    if (this.procs.has(vm.instanceId)) return;
    const root = this.fsRoot(vm.instanceId);
    mkdirSync(path.join(root, 'var/log'), { recursive: true });
    const log = (line: string) => appendFileSync(path.join(root, 'var/log/cloud-init-output.log'), `${line}\n`);
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
        const unit = argv[argv.length - 1];
        this.startUnit(vm, root, unit, log);
      }
    }
  }

  private startUnit(vm: { instanceId: string; privateIp: string; publicIp?: string }, root: string, unit: string, log: (l: string) => void): void {
    const unitFile = path.join(root, 'etc/systemd/system', unit.endsWith('.service') ? unit : `${unit}.service`);
    if (!existsSync(unitFile)) {
      log(`systemctl: unit ${unit} not found`);
      return;
    }
    const execStart = /^ExecStart=(.+)$/m.exec(readFileSync(unitFile, 'utf8'))?.[1]?.trim();
    if (!execStart) return log(`systemctl: unit ${unit} has no ExecStart`);
    const [bin, ...args] = execStart.split(/\s+/);
    const prefix = this.opts.binaries[bin];
    if (!prefix) return log(`systemctl: ${bin} is not installed in this image`);
    const out = openSync(path.join(root, 'var/log', `${unit.replace(/\.service$/, '')}.log`), 'a');
    const child = spawn(prefix[0], [...prefix.slice(1), ...args], {
      env: {
        ...process.env,
        ...this.opts.env,
        SKYWEAVE_ROOT: root,
        SKYWEAVE_PRIVATE_IP: vm.privateIp,
        ...(vm.publicIp ? { SKYWEAVE_PUBLIC_IP: vm.publicIp } : {}),
      },
      stdio: ['ignore', out, out],
    });
    this.procs.set(vm.instanceId, child);
    child.on('exit', () => this.procs.delete(vm.instanceId));
    log(`systemctl: started ${unit} (pid ${child.pid})`);
  }

  stop(instanceId: string): void {
    const p = this.procs.get(instanceId);
    if (p) {
      p.kill('SIGTERM');
      this.procs.delete(instanceId);
    }
  }

  stopAll(): void {
    for (const id of [...this.procs.keys()]) this.stop(id);
  }
}
