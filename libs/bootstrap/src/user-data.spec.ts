import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parse } from 'yaml';
import { AGENT_INSTALL_ROOT, INSTALL_SCRIPT_PATH } from './install-script';
import { CONFIGURE_CONTAINERD_SCRIPT_PATH, DISABLE_SWAP_SCRIPT_PATH } from './node-scripts';
import { AGENT_BINARY, AGENT_CONFIG_PATH, AGENT_UNIT, FETCH_KEY_SCRIPT, MODULES_LOAD_PATH, SYSCTL_PATH, UserDataInput, renderUserData } from './user-data';
import { nodeSoftware } from './versions';

interface WriteFile { path: string; owner: string; permissions: string; content: string }
interface CloudConfig {
  bootcmd: string[][]; package_update: boolean; packages: (string | [string, string])[]; write_files: WriteFile[];
  apt: { sources: Record<string, { source: string }> }; runcmd: (string | string[])[];
}

const agentOf = ({ kubernetesVersion: _v, agentPackages: _p, ...agent }: UserDataInput) => agent;
const master: UserDataInput = { apiUrl: 'http://api', clusterId: 'c', nodeId: 'n', nodeName: 'sw-1-master-0', role: 'master', bootstrapToken: 'swbt_secret', kubernetesVersion: '1.36.4' };
const pkg = { url: 'https://downloads.example/node-agent-1.2.3.tar.gz?X-Sig=a%2Fb;c=(d)&e=*#f', sha256: 'AB'.repeat(32) };
const pkgArm = { url: 'https://downloads.example/node-agent-1.2.3-arm64.tar.gz', sha256: 'cd'.repeat(32) };
const worker: UserDataInput = { ...master, nodeId: 'w', nodeName: 'sw-1-worker-0', role: 'worker', agentPackages: { amd64: pkg, arm64: pkgArm } };
/** A cluster on a minor that still runs containerd 1.x (Ubuntu's package). */
const older: UserDataInput = { ...master, kubernetesVersion: '1.35.9' };

const render = (input: UserDataInput) => renderUserData(input);
const doc = (text: string) => parse(text) as CloudConfig;
const file = (d: CloudConfig, p: string) => {
  const f = d.write_files.find((w) => w.path === p);
  if (!f) throw new Error(`write_files has no ${p}`);
  return f;
};

/** Fails (never skips) when a tool the test needs is not installed. */
function requireTool(bin: string, debianPackage: string): void {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`this test needs \`${bin}\` (Debian package ${debianPackage}), which could not be run: ${r.error?.message ?? r.stderr}`);
  }
}

/** The script cloud-init's runcmd module makes of the entries (cloudinit.util.shellify): lists single-quoted, strings verbatim. */
function shellify(runcmd: (string | string[])[]): string {
  const lines = runcmd.map((c) => (Array.isArray(c) ? c.map((a) => `'${String(a).replace(/'/g, `'\\''`)}'`).join(' ') : c));
  return `#!/bin/sh\n${lines.join('\n')}\n`;
}

describe('renderUserData', () => {
  it('is a cloud-config that installs host packages, writes the agent config (0600), install script, kernel settings and unit', () => {
    const text = render(master);
    expect(text.startsWith('#cloud-config\n')).toBe(true);
    // The smallest user-data limit of the clouds (AWS: 16 KiB).
    expect(Buffer.byteLength(text)).toBeLessThan(16 * 1024);
    // Files are literal blocks (not folded): the unit reads in the user-data as it is on the VM.
    expect(text).toContain(`\n      ExecStart=${AGENT_BINARY} --config ${AGENT_CONFIG_PATH}\n`);
    const d = doc(text);
    expect(d.package_update).toBe(true);
    expect(d.packages).toEqual(expect.arrayContaining(['wireguard-tools', 'iproute2', 'iputils-ping', 'curl', 'ca-certificates']));

    const conf = file(d, AGENT_CONFIG_PATH);
    expect(conf.permissions).toBe('0600');
    expect(conf.owner).toBe('root:root');
    expect(JSON.parse(conf.content)).toEqual(agentOf(master));

    const script = file(d, INSTALL_SCRIPT_PATH);
    expect(script.permissions).toBe('0755');
    expect(script.content.startsWith('#!/bin/sh\n')).toBe(true);
    expect(script.content).toContain(`SKYWEAVE_AGENT_BINARY:-${AGENT_BINARY}}`);
    expect(script.content).toContain(`SKYWEAVE_AGENT_INSTALL_ROOT:-${AGENT_INSTALL_ROOT}}`);

    const unit = file(d, `/etc/systemd/system/${AGENT_UNIT}`);
    expect(unit.content).toMatch(new RegExp(`^ExecStart=${AGENT_BINARY} --config ${AGENT_CONFIG_PATH}$`, 'm'));
    expect(unit.content).toMatch(/^WantedBy=multi-user\.target$/m);

    // The node's preparation first, then the WireGuard → node-agent flow as before, the agent's unit last.
    expect(d.runcmd).toEqual([
      ['apt-mark', 'hold', 'kubelet', 'kubeadm', 'kubectl'],
      [DISABLE_SWAP_SCRIPT_PATH],
      ['sysctl', '--system'],
      [CONFIGURE_CONTAINERD_SCRIPT_PATH],
      ['systemctl', 'enable', '--now', 'kubelet'],
      [INSTALL_SCRIPT_PATH],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', AGENT_UNIT],
    ]);
  });

  it('refuses a Kubernetes version that is not MAJOR.MINOR.PATCH', () => {
    for (const v of ['1.36', 'v1.36.4', '1.36.4-rc.1', '1.36.4; id', '']) {
      expect(() => render({ ...master, kubernetesVersion: v })).toThrow(/MAJOR\.MINOR\.PATCH/);
    }
  });

  describe("kubeadm's installation guide, step by step", () => {
    const d = doc(render(master));
    const boot = d.bootcmd.map((c) => c.join(' '));
    const run = d.runcmd.map((c) => (Array.isArray(c) ? c.join(' ') : c));
    const at = (list: string[], line: string) => {
      const i = list.indexOf(line);
      if (i < 0) throw new Error(`no ${JSON.stringify(line)} in ${JSON.stringify(list)}`);
      return i;
    };

    it('Installing kubeadm, "Before you begin" (swap): swapoff at every boot, and kept off (fstab, swap.target)', () => {
      expect(boot[0]).toBe('swapoff -a');
      const script = file(d, DISABLE_SWAP_SCRIPT_PATH);
      expect(script.permissions).toBe('0755');
      expect(script.content).toMatch(/^swapoff -a$/m);
      expect(script.content).toMatch(/^systemctl mask swap\.target$/m);
      expect(at(run, DISABLE_SWAP_SCRIPT_PATH)).toBeLessThan(at(run, 'systemctl enable --now kubelet'));
    });

    it('Container Runtimes, "Install and configure prerequisites": overlay and br_netfilter at boot and now; the sysctls, applied', () => {
      expect(file(d, MODULES_LOAD_PATH).content).toBe('overlay\nbr_netfilter\n');
      expect(boot).toEqual(expect.arrayContaining(['modprobe overlay', 'modprobe br_netfilter']));
      const sysctl = file(d, SYSCTL_PATH).content;
      for (const key of ['net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables', 'net.ipv4.ip_forward']) {
        expect(sysctl).toMatch(new RegExp(`^${key.replace(/\./g, '\\.')} = 1$`, 'm'));
      }
      // modules loaded (bootcmd, before everything) before the settings that need br_netfilter are applied (runcmd).
      expect(at(run, 'sysctl --system')).toBeLessThan(at(run, CONFIGURE_CONTAINERD_SCRIPT_PATH));
    });

    it('Container Runtimes, "containerd" and "Configuring the systemd cgroup driver": installed, default config with SystemdCgroup = true, restarted; crictl on its socket', () => {
      // From Kubernetes 1.36 (containerd 2 required): Docker's containerd.io 2.x, from its repository, signed by its key.
      expect(d.packages).toContainEqual(['containerd.io', '2.*']);
      expect(d.apt.sources.docker.source).toBe('deb [signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/ubuntu noble stable');
      expect(d.bootcmd).toContainEqual(['sh', '-c', FETCH_KEY_SCRIPT, 'fetch-apt-key', '/etc/apt/keyrings/docker.asc', 'https://download.docker.com/linux/ubuntu/gpg']);
      // Up to 1.35: Ubuntu's own containerd, and no third-party repository.
      const o = doc(render(older));
      expect(o.packages).toContain('containerd');
      expect(o.packages).not.toContainEqual(expect.arrayContaining(['containerd.io']));
      expect(Object.keys(o.apt.sources)).toEqual(['kubernetes']);
      expect(o.bootcmd.map((c) => c.join(' ')).join('\n')).not.toContain('docker');

      const script = file(d, CONFIGURE_CONTAINERD_SCRIPT_PATH).content;
      expect(script).toMatch(/^containerd config default >"\$tmp"$/m);
      expect(script).toContain('SystemdCgroup = true');
      expect(script).toMatch(/^systemctl restart containerd$/m);
      expect(file(d, '/etc/crictl.yaml').content).toMatch(/^runtime-endpoint: unix:\/\/\/run\/containerd\/containerd\.sock$/m);
      expect(at(run, CONFIGURE_CONTAINERD_SCRIPT_PATH)).toBeLessThan(at(run, 'systemctl enable --now kubelet'));
    });

    it('Installing kubeadm, "Installing kubeadm, kubelet and kubectl": the minor\'s pkgs.k8s.io repository and key, the patch pinned, held, kubelet enabled', () => {
      const key = '/etc/apt/keyrings/kubernetes-apt-keyring.asc';
      const keyrings = at(boot, 'install -d -m 0755 /etc/apt/keyrings');
      const fetch = d.bootcmd.findIndex((c) => c.join('\n') === ['sh', '-c', FETCH_KEY_SCRIPT, 'fetch-apt-key', key, 'https://pkgs.k8s.io/core:/stable:/v1.36/deb/Release.key'].join('\n'));
      expect(fetch).toBeGreaterThan(keyrings);
      expect(d.apt.sources.kubernetes.source).toBe(`deb [signed-by=${key}] https://pkgs.k8s.io/core:/stable:/v1.36/deb/ /`);
      expect(doc(render(older)).apt.sources.kubernetes.source).toBe(`deb [signed-by=${key}] https://pkgs.k8s.io/core:/stable:/v1.35/deb/ /`);
      for (const p of ['kubelet', 'kubeadm', 'kubectl']) expect(d.packages).toContainEqual([p, '1.36.4-1.1']);
      expect(run[0]).toBe('apt-mark hold kubelet kubeadm kubectl');
      expect(run).toContain('systemctl enable --now kubelet');
      expect(nodeSoftware('1.36.4').kubernetes.packageVersion).toBe('1.36.4-1.1');
    });

    it('then the existing WireGuard → node-agent flow: host packages, install script, unit last', () => {
      expect(d.packages).toEqual(expect.arrayContaining(['wireguard-tools', 'iproute2', 'iputils-ping', 'curl', 'ca-certificates']));
      expect(at(run, 'systemctl enable --now kubelet')).toBeLessThan(at(run, INSTALL_SCRIPT_PATH));
      expect(run[run.length - 1]).toBe(`systemctl enable --now ${AGENT_UNIT}`);
    });

    it('installs HAProxy from the image\'s own archive for the API server proxy the agent configures (a control-plane endpoint that survives a master)', () => {
      // a plain package name: Ubuntu's haproxy, no version pin, no third-party repository; its package enables the unit
      expect(d.packages).toContain('haproxy');
      expect(Object.keys(d.apt.sources).some((k) => /haproxy/i.test(k))).toBe(false);
    });
  });

  it('passes the agent package to the install script (not to the agent config) when given', () => {
    const d = doc(render(worker));
    expect(JSON.parse(file(d, AGENT_CONFIG_PATH).content)).toEqual({ ...agentOf(master), nodeId: 'w', nodeName: 'sw-1-worker-0', role: 'worker' });
    const install = d.runcmd.filter((c) => Array.isArray(c) && c.includes(INSTALL_SCRIPT_PATH));
    expect(install).toEqual([[
      'env', `SKYWEAVE_AGENT_PACKAGE_URL_AMD64=${pkg.url}`, `SKYWEAVE_AGENT_PACKAGE_SHA256_AMD64=${pkg.sha256.toLowerCase()}`,
      `SKYWEAVE_AGENT_PACKAGE_URL_ARM64=${pkgArm.url}`, `SKYWEAVE_AGENT_PACKAGE_SHA256_ARM64=${pkgArm.sha256}`, INSTALL_SCRIPT_PATH,
    ]]);
    // kernel settings, containerd, then the agent's install and its unit.
    const at = (pred: (c: string[]) => boolean) => d.runcmd.findIndex((c) => Array.isArray(c) && pred(c));
    const order = [
      at((c) => c[0] === 'sysctl'),
      at((c) => c[0] === CONFIGURE_CONTAINERD_SCRIPT_PATH),
      at((c) => c.includes(INSTALL_SCRIPT_PATH)),
      at((c) => c.join(' ') === 'systemctl daemon-reload'),
      at((c) => c.join(' ') === `systemctl enable --now ${AGENT_UNIT}`),
    ];
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('rejects an agent package it cannot pass safely', () => {
    expect(() => render({ ...master, agentPackages: { amd64: { url: 'file:///tmp/x.tgz', sha256: 'a'.repeat(64) } } })).toThrow(/http/);
    for (const url of ['https://x/a b', "https://x/a'b", 'https://x/$(id)', 'https://x/`id`', 'https://x/a\nb', 'https://x/a"b']) {
      expect(() => render({ ...master, agentPackages: { arm64: { url, sha256: 'a'.repeat(64) } } })).toThrow(/http/);
    }
    expect(() => render({ ...master, agentPackages: { amd64: { url: 'https://x/a', sha256: 'abc' } } })).toThrow(/sha256/);
  });

  describe('with the real tools', () => {
    let dir: string;
    beforeAll(() => {
      requireTool('cloud-init', 'cloud-init');
      requireTool('shellcheck', 'shellcheck');
      dir = mkdtempSync(path.join(tmpdir(), 'user-data-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('is valid for `cloud-init schema` (master and worker; containerd 2 from Docker, and Ubuntu\'s containerd 1.7)', () => {
      for (const [name, input] of [['master', master], ['worker', worker], ['older', older]] as const) {
        const f = path.join(dir, `${name}.yaml`);
        writeFileSync(f, render(input));
        const r = spawnSync('cloud-init', ['schema', '--config-file', f], { encoding: 'utf8' });
        expect({ name, status: r.status, out: `${r.stdout}${r.stderr}` }).toEqual({ name, status: 0, out: expect.stringContaining('Valid cloud-config') });
      }
    });

    it('has only shell that passes shellcheck: every script it writes, and its bootcmd and runcmd as cloud-init runs them', () => {
      const checked: string[] = [];
      for (const [name, input] of [['master', master], ['worker', worker], ['older', older]] as const) {
        const d = doc(render(input));
        const scripts = d.write_files.filter((f) => f.content.startsWith('#!')).map((f) => ({ name: `${name}${f.path}`, content: f.content }));
        expect(scripts.map((s) => s.name)).toEqual([INSTALL_SCRIPT_PATH, DISABLE_SWAP_SCRIPT_PATH, CONFIGURE_CONTAINERD_SCRIPT_PATH].map((p) => `${name}${p}`));
        // String entries verbatim and argv entries quoted, exactly as cloud-init writes bootcmd and runcmd into scripts.
        scripts.push({ name: `${name}/bootcmd`, content: shellify(d.bootcmd) });
        // and the inline scripts of `sh -c` entries (quoted as one argument above, so not checked there)
        d.bootcmd.filter((c) => c[0] === 'sh' && c[1] === '-c').forEach((c, i) => scripts.push({ name: `${name}/bootcmd-sh-c-${i}`, content: `#!/bin/sh\n${c[2]}\n` }));
        scripts.push({ name: `${name}/runcmd`, content: shellify(d.runcmd) });
        for (const s of scripts) {
          const f = path.join(dir, s.name.replace(/\//g, '_'));
          writeFileSync(f, s.content);
          const r = spawnSync('shellcheck', ['--norc', '--shell=sh', '--format=gcc', f], { encoding: 'utf8' });
          expect({ script: s.name, status: r.status, findings: `${r.stdout}${r.stderr}` }).toEqual({ script: s.name, status: 0, findings: '' });
          checked.push(s.name);
        }
      }
      // per input: 3 scripts, bootcmd, runcmd, and a key fetch per apt repository (2 from Kubernetes 1.36, 1 before)
      expect(checked).toHaveLength(5 + 2 + 5 + 2 + 5 + 1);
    });
  });

  describe('node scripts, run for real with sh (systemctl and swapoff recorded by stand-ins on PATH)', () => {
    const d = doc(render(master));
    let dir: string;
    let bin: string;
    beforeAll(() => {
      requireTool('containerd', 'containerd');
      requireTool('sed', 'sed');
      dir = mkdtempSync(path.join(tmpdir(), 'node-scripts-'));
      bin = path.join(dir, 'bin');
      mkdirSync(bin);
      // Stand-ins for the commands that would change this machine: they only record their arguments.
      for (const cmd of ['systemctl', 'swapoff']) {
        writeFileSync(path.join(bin, cmd), `#!/bin/sh\necho "${cmd} $*" >>"${path.join(dir, 'calls')}"\n`, { mode: 0o755 });
      }
      writeFileSync(path.join(dir, 'swap.sh'), file(d, DISABLE_SWAP_SCRIPT_PATH).content);
      writeFileSync(path.join(dir, 'containerd.sh'), file(d, CONFIGURE_CONTAINERD_SCRIPT_PATH).content);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    beforeEach(() => rmSync(path.join(dir, 'calls'), { force: true }));

    const calls = () => (existsSync(path.join(dir, 'calls')) ? readFileSync(path.join(dir, 'calls'), 'utf8').trim().split('\n') : []);
    const sh = (script: string, env: Record<string, string>) =>
      spawnSync('sh', [path.join(dir, script)], { encoding: 'utf8', env: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, TMPDIR: dir, ...env } });

    it('swap: swapoff -a, every swap entry of fstab commented out (others kept), swap.target masked; a second run changes nothing', () => {
      const fstab = path.join(dir, 'fstab');
      const original = [
        'LABEL=cloudimg-rootfs / ext4 discard,errors=remount-ro 0 1',
        '/swap.img none swap sw 0 0',
        '# /old-swap none swap sw 0 0',
        'UUID=0a1b-2c3d none swap defaults,pri=10 0 0',
        'LABEL=UEFI /boot/efi vfat umask=0077 0 1',
        '',
      ].join('\n');
      writeFileSync(fstab, original);
      const r = sh('swap.sh', { SKYWEAVE_FSTAB: fstab });
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
      const after = readFileSync(fstab, 'utf8').split('\n');
      expect(after).toEqual([
        'LABEL=cloudimg-rootfs / ext4 discard,errors=remount-ro 0 1',
        '# swap off for the kubelet (skyweave): /swap.img none swap sw 0 0',
        '# /old-swap none swap sw 0 0',
        '# swap off for the kubelet (skyweave): UUID=0a1b-2c3d none swap defaults,pri=10 0 0',
        'LABEL=UEFI /boot/efi vfat umask=0077 0 1',
        '',
      ]);
      expect(readFileSync(`${fstab}.skyweave-bak`, 'utf8')).toBe(original);
      expect(calls()).toEqual(['swapoff -a', 'systemctl mask swap.target']);

      const again = sh('swap.sh', { SKYWEAVE_FSTAB: fstab });
      expect(again.status).toBe(0);
      expect(readFileSync(fstab, 'utf8').split('\n')).toEqual(after);
      expect(readFileSync(`${fstab}.skyweave-bak`, 'utf8')).toBe(original);
    });

    it('containerd: the real `containerd config default`, with the runc runtime\'s SystemdCgroup = true, then a restart', () => {
      const config = path.join(dir, 'etc/containerd/config.toml');
      const r = sh('containerd.sh', { SKYWEAVE_CONTAINERD_CONFIG: config });
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
      const text = readFileSync(config, 'utf8');
      const toml = parseToml(text) as Record<string, unknown>;
      // containerd 1.x (config version 2): plugins."io.containerd.grpc.v1.cri"; 2.x (version 3): plugins."io.containerd.cri.v1.runtime".
      const plugins = toml.plugins as Record<string, { containerd?: { runtimes?: { runc?: { options?: { SystemdCgroup?: boolean } } } } }>;
      const cri = plugins['io.containerd.grpc.v1.cri'] ?? plugins['io.containerd.cri.v1.runtime'];
      expect(cri?.containerd?.runtimes?.runc?.options?.SystemdCgroup).toBe(true);
      // The CRI plugin is not disabled (the config some packages ship disables it), and nothing else was changed.
      expect(toml.disabled_plugins ?? []).not.toContain('cri');
      const generated = spawnSync('containerd', ['config', 'default'], { encoding: 'utf8' }).stdout;
      expect(text).toBe(generated.replace(/^(\s*)SystemdCgroup = false$/m, '$1SystemdCgroup = true'));
      expect(calls()).toEqual(['systemctl restart containerd']);
      expect(readdirSync(path.dirname(config))).toEqual(['config.toml']);
    });

    it('containerd: fails, and leaves the old file and containerd alone, when the default config has no SystemdCgroup to set', () => {
      const config = path.join(dir, 'old/config.toml');
      mkdirSync(path.dirname(config));
      writeFileSync(config, 'version = 2\n');
      const fake = path.join(dir, 'fake-containerd');
      mkdirSync(fake);
      writeFileSync(path.join(fake, 'containerd'), '#!/bin/sh\necho "version = 3"\n', { mode: 0o755 });
      const r = spawnSync('sh', [path.join(dir, 'containerd.sh')], {
        encoding: 'utf8', env: { PATH: `${fake}:${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, SKYWEAVE_CONTAINERD_CONFIG: config },
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('has no SystemdCgroup setting');
      expect(readFileSync(config, 'utf8')).toBe('version = 2\n');
      expect(readdirSync(path.dirname(config))).toEqual(['config.toml']);
      expect(calls()).toEqual([]);
    });
  });

  describe('install script, run for real with sh in a temporary root', () => {
    const script = file(doc(render(master)), INSTALL_SCRIPT_PATH).content;
    const agentOutput = 'skyweave node-agent 1.2.3';
    const APT_KEY = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBGMHoXcBCADukGOEQyleViOgtkMVa7hKifP6POCTh+98xNW4TfHK/nBJN2sm\n-----END PGP PUBLIC KEY BLOCK-----\n';
    let dir: string;
    let server: Server;
    let base: string;
    let tarball: Buffer;
    let sha256: string;
    let requests = 0;

    beforeAll(async () => {
      requireTool('tar', 'tar');
      requireTool('sha256sum', 'coreutils');
      requireTool('curl', 'curl');
      dir = mkdtempSync(path.join(tmpdir(), 'install-node-agent-'));
      writeFileSync(path.join(dir, 'install.sh'), script);
      // The package: a gzip tarball whose root holds bin/skyweave-node-agent.
      const src = path.join(dir, 'pkg-src');
      mkdirSync(path.join(src, 'bin'), { recursive: true });
      writeFileSync(path.join(src, 'bin/skyweave-node-agent'), `#!/bin/sh\necho '${agentOutput}'\n`);
      chmodSync(path.join(src, 'bin/skyweave-node-agent'), 0o755);
      const tar = spawnSync('tar', ['-czf', path.join(dir, 'node-agent.tar.gz'), '-C', src, 'bin'], { encoding: 'utf8' });
      expect(tar.status).toBe(0);
      tarball = readFileSync(path.join(dir, 'node-agent.tar.gz'));
      sha256 = createHash('sha256').update(tarball).digest('hex');
      server = createServer((req, res) => {
        requests++;
        if (req.url === '/node-agent.tar.gz') res.writeHead(200, { 'content-type': 'application/gzip' }).end(tarball);
        else if (req.url === '/Release.key') res.writeHead(200, { 'content-type': 'text/plain' }).end(APT_KEY);
        else res.writeHead(404).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    });

    /** A fresh VM root under the temp dir; the script's paths are redirected into it. */
    function vmRoot(name: string) {
      const root = path.join(dir, name);
      mkdirSync(root);
      return { root, binary: path.join(root, AGENT_BINARY), installRoot: path.join(root, AGENT_INSTALL_ROOT) };
    }
    /** Runs the script with `sh` (asynchronously: the package server is in this process). */
    function run(vm: { binary: string; installRoot: string }, env: Record<string, string>) {
      return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile('sh', [path.join(dir, 'install.sh')], {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: dir, SKYWEAVE_AGENT_BINARY: vm.binary, SKYWEAVE_AGENT_INSTALL_ROOT: vm.installRoot, ...env },
        }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
      });
    }

    it('downloads the package, checks it, unpacks it under the install root and links the binary; then does nothing', async () => {
      const vm = vmRoot('fresh');
      const r = await run(vm, { SKYWEAVE_AGENT_PACKAGE_URL: `${base}/node-agent.tar.gz`, SKYWEAVE_AGENT_PACKAGE_SHA256: sha256 });
      expect(r).toMatchObject({ code: 0 });
      expect(lstatSync(vm.binary).isSymbolicLink()).toBe(true);
      expect(spawnSync(vm.binary, [], { encoding: 'utf8' }).stdout.trim()).toBe(agentOutput);
      expect(existsSync(path.join(vm.installRoot, 'bin/skyweave-node-agent'))).toBe(true);
      // No staging folder left next to the install root.
      expect(readdirSync(path.dirname(vm.installRoot))).toEqual([path.basename(vm.installRoot)]);

      const before = requests;
      const again = await run(vm, { SKYWEAVE_AGENT_PACKAGE_URL: `${base}/node-agent.tar.gz`, SKYWEAVE_AGENT_PACKAGE_SHA256: sha256 });
      expect(again.code).toBe(0);
      expect(again.stderr).toContain('installed already; nothing to do');
      expect(requests).toBe(before);
    });

    it("picks the package of the VM's architecture among the per-architecture ones, and refuses an architecture without one", async () => {
      const perArch = (arch: string) => ({
        SKYWEAVE_AGENT_ARCH: arch,
        // the other architecture's package is broken: picking it would fail the checksum
        SKYWEAVE_AGENT_PACKAGE_URL_AMD64: `${base}/node-agent.tar.gz`, SKYWEAVE_AGENT_PACKAGE_SHA256_AMD64: arch === 'x86_64' ? sha256 : '0'.repeat(64),
        SKYWEAVE_AGENT_PACKAGE_URL_ARM64: `${base}/node-agent.tar.gz`, SKYWEAVE_AGENT_PACKAGE_SHA256_ARM64: arch === 'aarch64' ? sha256 : '0'.repeat(64),
      });
      for (const arch of ['x86_64', 'aarch64']) {
        const vm = vmRoot(`arch-${arch}`);
        const r = await run(vm, perArch(arch));
        expect(r).toMatchObject({ code: 0 });
        expect(spawnSync(vm.binary, [], { encoding: 'utf8' }).stdout.trim()).toBe(agentOutput);
      }
      const amd64Only = vmRoot('arch-arm64-missing');
      const missing = await run(amd64Only, { SKYWEAVE_AGENT_ARCH: 'arm64', SKYWEAVE_AGENT_PACKAGE_URL_AMD64: `${base}/node-agent.tar.gz`, SKYWEAVE_AGENT_PACKAGE_SHA256_AMD64: sha256 });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('no node-agent package was given for arm64');
      const odd = await run(vmRoot('arch-riscv'), { SKYWEAVE_AGENT_ARCH: 'riscv64', SKYWEAVE_AGENT_PACKAGE_URL_AMD64: `${base}/node-agent.tar.gz`, SKYWEAVE_AGENT_PACKAGE_SHA256_AMD64: sha256 });
      expect(odd.code).toBe(1);
      expect(odd.stderr).toContain('no node-agent package is built for the architecture riscv64');
      expect(readdirSync(amd64Only.root)).toEqual([]);
    });

    it('does nothing, and needs no package, when the image ships the binary', async () => {
      const vm = vmRoot('shipped');
      mkdirSync(path.dirname(vm.binary), { recursive: true });
      writeFileSync(vm.binary, '#!/bin/sh\necho shipped\n', { mode: 0o755 });
      const before = requests;
      const r = await run(vm, {});
      expect(r.code).toBe(0);
      expect(requests).toBe(before);
      expect(existsSync(vm.installRoot)).toBe(false);
      expect(readFileSync(vm.binary, 'utf8')).toContain('shipped');
    });

    it('refuses a package whose SHA-256 does not match, and installs nothing', async () => {
      const vm = vmRoot('bad-sha');
      const wrong = createHash('sha256').update('something else').digest('hex');
      const r = await run(vm, { SKYWEAVE_AGENT_PACKAGE_URL: `${base}/node-agent.tar.gz`, SKYWEAVE_AGENT_PACKAGE_SHA256: wrong });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('does not match its SHA-256');
      expect(existsSync(vm.binary)).toBe(false);
      expect(existsSync(path.dirname(vm.installRoot))).toBe(false);
      expect(readdirSync(vm.root)).toEqual([]);
    });

    it('fails with a clear message when the binary is missing and no package is given', async () => {
      const vm = vmRoot('no-package');
      const r = await run(vm, {});
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${vm.binary} is not installed and no node-agent package was given`);
      expect(readdirSync(vm.root)).toEqual([]);
    });

    it('bootcmd key fetch (FETCH_KEY_SCRIPT): fetches a missing key, keeps one that is there, leaves nothing on failure', async () => {
      const fetchKey = (keyPath: string, url: string) => new Promise<{ code: number; stderr: string }>((resolve) => {
        execFile('sh', ['-c', FETCH_KEY_SCRIPT, 'fetch-apt-key', keyPath, url], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
          (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr }));
      });
      const keyrings = path.join(dir, 'keyrings');
      mkdirSync(keyrings);
      const key = path.join(keyrings, 'kubernetes-apt-keyring.asc');
      expect(await fetchKey(key, `${base}/Release.key`)).toEqual({ code: 0, stderr: '' });
      expect(readFileSync(key, 'utf8')).toBe(APT_KEY);
      // At the next boot the key is there: no download (the URL now fails), the key is kept.
      const before = requests;
      expect((await fetchKey(key, `${base}/missing.key`)).code).toBe(0);
      expect(requests).toBe(before);
      expect(readFileSync(key, 'utf8')).toBe(APT_KEY);
      // A failed download leaves neither the key nor a partial file; a name with spaces or `$` is data, not shell.
      const other = path.join(keyrings, 'odd $(name) key.asc');
      const failed = await fetchKey(other, `${base}/missing.key`);
      expect(failed.code).toBe(1);
      expect(readdirSync(keyrings)).toEqual(['kubernetes-apt-keyring.asc']);
    });

    it('fails when the download fails', async () => {
      const vm = vmRoot('not-found');
      const r = await run(vm, { SKYWEAVE_AGENT_PACKAGE_URL: `${base}/missing.tar.gz`, SKYWEAVE_AGENT_PACKAGE_SHA256: sha256 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('could not download');
      expect(readdirSync(vm.root)).toEqual([]);
    });
  });
});
