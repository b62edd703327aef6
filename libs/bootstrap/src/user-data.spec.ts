import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { AGENT_INSTALL_ROOT, INSTALL_SCRIPT_PATH } from './install-script';
import { AGENT_BINARY, AGENT_CONFIG_PATH, AGENT_UNIT, MODULES_LOAD_PATH, SYSCTL_PATH, UserDataInput, renderUserData } from './user-data';

interface WriteFile { path: string; owner: string; permissions: string; content: string }
interface CloudConfig { package_update: boolean; packages: string[]; write_files: WriteFile[]; runcmd: (string | string[])[] }

const master: UserDataInput = { apiUrl: 'http://api', clusterId: 'c', nodeId: 'n', nodeName: 'sw-1-master-0', role: 'master', bootstrapToken: 'swbt_secret' };
const pkg = { url: 'https://downloads.example/node-agent-1.2.3.tar.gz?X-Sig=a%2Fb;c=(d)&e=*#f', sha256: 'AB'.repeat(32) };
const worker: UserDataInput = { ...master, nodeId: 'w', nodeName: 'sw-1-worker-0', role: 'worker', agentPackage: pkg };

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
    expect(JSON.parse(conf.content)).toEqual(master);

    const script = file(d, INSTALL_SCRIPT_PATH);
    expect(script.permissions).toBe('0755');
    expect(script.content.startsWith('#!/bin/sh\n')).toBe(true);
    expect(script.content).toContain(`SKYWEAVE_AGENT_BINARY:-${AGENT_BINARY}}`);
    expect(script.content).toContain(`SKYWEAVE_AGENT_INSTALL_ROOT:-${AGENT_INSTALL_ROOT}}`);

    expect(file(d, MODULES_LOAD_PATH).content).toBe('br_netfilter\n');
    const sysctl = file(d, SYSCTL_PATH).content;
    expect(sysctl).toMatch(/^net\.ipv4\.ip_forward = 1$/m);
    expect(sysctl).toMatch(/^net\.bridge\.bridge-nf-call-iptables = 1$/m);

    const unit = file(d, `/etc/systemd/system/${AGENT_UNIT}`);
    expect(unit.content).toMatch(new RegExp(`^ExecStart=${AGENT_BINARY} --config ${AGENT_CONFIG_PATH}$`, 'm'));
    expect(unit.content).toMatch(/^WantedBy=multi-user\.target$/m);

    expect(d.runcmd).toEqual([
      [INSTALL_SCRIPT_PATH],
      ['modprobe', 'br_netfilter'],
      ['sysctl', '--system'],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', AGENT_UNIT],
    ]);
  });

  it('passes the agent package to the install script (not to the agent config) when given', () => {
    const d = doc(render(worker));
    expect(JSON.parse(file(d, AGENT_CONFIG_PATH).content)).toEqual({ ...master, nodeId: 'w', nodeName: 'sw-1-worker-0', role: 'worker' });
    expect(d.runcmd[0]).toEqual([
      'env', `SKYWEAVE_AGENT_PACKAGE_URL=${pkg.url}`, `SKYWEAVE_AGENT_PACKAGE_SHA256=${pkg.sha256.toLowerCase()}`, INSTALL_SCRIPT_PATH,
    ]);
    // install, then kernel settings, then the unit.
    const at = (pred: (c: string[]) => boolean) => d.runcmd.findIndex((c) => Array.isArray(c) && pred(c));
    const order = [
      at((c) => c.includes(INSTALL_SCRIPT_PATH)),
      at((c) => c[0] === 'sysctl'),
      at((c) => c.join(' ') === 'systemctl daemon-reload'),
      at((c) => c.join(' ') === `systemctl enable --now ${AGENT_UNIT}`),
    ];
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('rejects an agent package it cannot pass safely', () => {
    expect(() => render({ ...master, agentPackage: { url: 'file:///tmp/x.tgz', sha256: 'a'.repeat(64) } })).toThrow(/http/);
    for (const url of ['https://x/a b', "https://x/a'b", 'https://x/$(id)', 'https://x/`id`', 'https://x/a\nb', 'https://x/a"b']) {
      expect(() => render({ ...master, agentPackage: { url, sha256: 'a'.repeat(64) } })).toThrow(/http/);
    }
    expect(() => render({ ...master, agentPackage: { url: 'https://x/a', sha256: 'abc' } })).toThrow(/sha256/);
  });

  describe('with the real tools', () => {
    let dir: string;
    beforeAll(() => {
      requireTool('cloud-init', 'cloud-init');
      requireTool('shellcheck', 'shellcheck');
      dir = mkdtempSync(path.join(tmpdir(), 'user-data-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('is valid for `cloud-init schema` (master and worker)', () => {
      for (const [name, input] of [['master', master], ['worker', worker]] as const) {
        const f = path.join(dir, `${name}.yaml`);
        writeFileSync(f, render(input));
        const r = spawnSync('cloud-init', ['schema', '--config-file', f], { encoding: 'utf8' });
        expect({ name, status: r.status, out: `${r.stdout}${r.stderr}` }).toEqual({ name, status: 0, out: expect.stringContaining('Valid cloud-config') });
      }
    });

    it('has only shell that passes shellcheck: every script it writes, and its runcmd as cloud-init runs it', () => {
      const checked: string[] = [];
      for (const [name, input] of [['master', master], ['worker', worker]] as const) {
        const d = doc(render(input));
        const scripts = d.write_files.filter((f) => f.content.startsWith('#!')).map((f) => ({ name: `${name}${f.path}`, content: f.content }));
        expect(scripts.map((s) => s.name)).toContain(`${name}${INSTALL_SCRIPT_PATH}`);
        // String entries verbatim and argv entries quoted, exactly as cloud-init writes runcmd into a script.
        scripts.push({ name: `${name}/runcmd`, content: shellify(d.runcmd) });
        for (const s of scripts) {
          const f = path.join(dir, s.name.replace(/\//g, '_'));
          writeFileSync(f, s.content);
          const r = spawnSync('shellcheck', ['--norc', '--shell=sh', '--format=gcc', f], { encoding: 'utf8' });
          expect({ script: s.name, status: r.status, findings: `${r.stdout}${r.stderr}` }).toEqual({ script: s.name, status: 0, findings: '' });
          checked.push(s.name);
        }
      }
      expect(checked).toHaveLength(4);
    });
  });

  describe('install script, run for real with sh in a temporary root', () => {
    const script = file(doc(render(master)), INSTALL_SCRIPT_PATH).content;
    const agentOutput = 'skyweave node-agent 1.2.3';
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

    it('fails when the download fails', async () => {
      const vm = vmRoot('not-found');
      const r = await run(vm, { SKYWEAVE_AGENT_PACKAGE_URL: `${base}/missing.tar.gz`, SKYWEAVE_AGENT_PACKAGE_SHA256: sha256 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('could not download');
      expect(readdirSync(vm.root)).toEqual([]);
    });
  });
});
