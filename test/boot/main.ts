/**
 * `npm run test:boot` (issue 11, item 6): a node boots on a real init system. A Debian 12 system made with debootstrap
 * (the "stock image": systemd, cloud-init, curl; cached in ~/.cache/skyweave/boot/) is booted by the sandbox cloud
 * under systemd-nspawn (tools/boot/nspawn-vm.sh) as the VM of a worker added to a sandbox cluster, with the exact
 * user-data the node-provisioner rendered, through cloud-init's NoCloud datasource. cloud-init and systemd then do
 * what they do on a cloud VM: the files, kernel settings, apt sources, the install script downloading node-agent's
 * package from the platform with its SHA-256 checked, the agent's unit started by systemd, the agent registering with
 * the platform and bringing WireGuard up. Each step is checked and printed; last line
 * `boot: cloud-init <status>, agent <version> from the platform's package, registered, wg0 up with N peers`.
 *
 * What is not run for real, and why (also printed): packages from pkgs.k8s.io and Docker's repository (no internet
 * here: apt-get fails on those sources, so the image has wireguard-tools and wireguard-go preinstalled in place of the
 * `packages` step), kubeadm, kubectl, and the agent's `haproxy -c` and `systemctl reload-or-restart haproxy` (the agent's
 * unit gets `SKYWEAVE_RECORD_ONLY=kubeadm,kubectl,haproxy,systemctl` from the image's drop-in: they are recorded;
 * HAProxy is a `packages` entry the image lacks, so there is no unit to reload), the kernel's WireGuard module (this kernel has none: `SKYWEAVE_WG_USERSPACE=1`,
 * wireguard-go), `sysctl --system` and `modprobe` (a container shares the host's kernel: /proc/sys is read-only).
 *
 * Needs root, debootstrap and systemd-nspawn (`apt-get install debootstrap systemd-container`) and Debian's mirror
 * (the first run: about 5 minutes; then the cached image is copied per VM).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CloudId } from '@skyweave/domain';
import { agentPackagesFromEnv } from '@skyweave/bootstrap/src/agent-packages';
import { ensureBuilt } from '@skyweave/tools/stack/build';
import { startStack, Stack } from '@skyweave/tools/stack/stack';
import { ApiClient, sandboxAccount, sandboxResources } from '@skyweave/tools/stack/api';
import { waitFor } from '../support/wait';

const ROOT = path.resolve(__dirname, '../..');
/** The image cache, outside the checkout so that fresh clones on this machine (CI) reuse it: SKYWEAVE_CACHE_DIR or ~/.cache/skyweave. */
const CACHE = path.join(process.env.SKYWEAVE_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'skyweave'), 'boot');
const MIRROR = process.env.SKYWEAVE_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
/** What the image holds besides Debian's minimal base: what a cloud image of Ubuntu 24.04 has, for what this test runs. */
const BASE_PACKAGES = ['systemd', 'systemd-sysv', 'dbus', 'curl', 'ca-certificates', 'iproute2', 'iputils-ping', 'kmod', 'procps', 'locales', 'gnupg'];
/** Installed with apt in the image (debootstrap's resolver misses virtual packages cloud-init's dependencies need). */
const APT_PACKAGES = ['cloud-init', 'wireguard-tools', 'wireguard-go'];
/** The host's address of the platform, on the loopback interface: the VM's default route leads to it. */
const HOST_IP = '10.250.0.1';
/** Instance type that boots on the nspawn hypervisor; the master stays a sandbox process VM. */
const BOOT_TYPE = 't3.large';
const CLOUD: CloudId = 'aws';

const say = (m: string) => process.stdout.write(`${m}\n`);
const step = (ok: boolean, what: string, detail = '') => {
  say(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `: ${detail}` : ''}`);
  if (!ok) failures.push(what);
};
const failures: string[] = [];

function need(tool: string, pkg: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is not installed: apt-get install ${pkg}`);
}

/** The image: debootstrap once (cached by its package list), then cloud-init's datasource and the sandbox's drop-in. */
function ensureImage(): string {
  const key = createHash('sha256').update(JSON.stringify([BASE_PACKAGES, APT_PACKAGES, MIRROR, 2])).digest('hex').slice(0, 12);
  const image = path.join(CACHE, `debian-bookworm-${key}`);
  if (existsSync(path.join(image, '.complete'))) return image;
  const tmp = `${image}.part`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  say(`image: debootstrap bookworm from ${MIRROR} into ${tmp} (a few minutes, once)`);
  execFileSync('debootstrap', ['--variant=minbase', `--include=${BASE_PACKAGES.join(',')}`, 'bookworm', tmp, MIRROR], { stdio: ['ignore', 'ignore', 'inherit'] });
  const chroot = (...args: string[]) => execFileSync('chroot', [tmp, '/usr/bin/env', 'DEBIAN_FRONTEND=noninteractive', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  chroot('apt-get', 'update', '-qq');
  chroot('apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...APT_PACKAGES);
  chroot('apt-get', 'clean');
  writeFileSync(path.join(tmp, '.complete'), `${new Date().toISOString()}\n`);
  rmSync(image, { recursive: true, force: true });
  renameSync(tmp, image);
  return image;
}

/**
 * What makes the Debian system a cloud image (idempotent, on the cached image at each run): cloud-init's datasource,
 * a journal kept on disk (read from the host), the en_US.UTF-8 locale cloud-init sets (Ubuntu's images have it), and
 * the sandbox's one change to what the user-data sets up: the agent's unit uses wireguard-go (this kernel has no
 * WireGuard module) and records kubeadm and kubectl (their packages cannot be fetched here).
 */
function configureImage(image: string): void {
  writeFileSync(path.join(image, 'etc/cloud/cloud.cfg.d/90-skyweave-boot.cfg'), 'datasource_list: [ NoCloud, None ]\n');
  mkdirSync(path.join(image, 'var/log/journal'), { recursive: true });
  const localeGen = path.join(image, 'etc/locale.gen');
  const gen = readFileSync(localeGen, 'utf8');
  if (!/^en_US\.UTF-8 UTF-8/m.test(gen)) {
    writeFileSync(localeGen, `${gen}en_US.UTF-8 UTF-8\n`);
    execFileSync('chroot', [image, 'locale-gen'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const dropIn = path.join(image, 'etc/systemd/system/skyweave-node-agent.service.d');
  mkdirSync(dropIn, { recursive: true });
  writeFileSync(path.join(dropIn, '10-sandbox.conf'), '[Service]\nEnvironment=SKYWEAVE_WG_USERSPACE=1 SKYWEAVE_RECORD_ONLY=kubeadm,kubectl,haproxy,systemctl\n');
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8' });
}

interface NodeView { id: string; name: string; instanceType: string; phase: string; instanceId: string; privateIp: string }

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('test:boot needs root (network namespaces, systemd-nspawn)');
  need('debootstrap', 'debootstrap');
  need('systemd-nspawn', 'systemd-container');
  need('ip', 'iproute2');
  const started = Date.now();
  const image = ensureImage();
  configureImage(image);
  say(`image: ${image}`);
  ensureBuilt(say);

  const work = path.join(ROOT, '.skyweave', `boot-${Date.now().toString(36)}`);
  mkdirSync(work, { recursive: true });
  const packages = path.join(work, 'agent-packages');
  // the amd64 package with this machine's Node.js as its runtime (the VM shares this kernel and CPU)
  execFileSync(process.execPath, [path.join(ROOT, 'tools/agent-package.js'), '--arch', 'amd64', '--runtime', `amd64=${process.execPath}`, '--out', packages], { stdio: ['ignore', 'ignore', 'inherit'] });
  const manifest = agentPackagesFromEnv({ SKYWEAVE_AGENT_PACKAGES_DIR: packages })?.manifest;
  if (!manifest) throw new Error('no agent package manifest');
  say(`agent package ${manifest.version}: ${manifest.packages.amd64?.file} sha256 ${manifest.packages.amd64?.sha256}`);

  // the platform's address for the VMs, on the loopback interface (this kernel has no dummy interfaces); the host
  // answers ARP for it on every VM's veth
  spawnSync('ip', ['addr', 'del', `${HOST_IP}/32`, 'dev', 'lo']);
  ip('addr', 'add', `${HOST_IP}/32`, 'dev', 'lo');

  let stack: Stack | undefined;
  let clusterId: string | undefined;
  let api: ApiClient | undefined;
  try {
    stack = await startStack({
      workDir: path.join(work, 'stack'),
      apiHost: HOST_IP,
      hypervisor: { command: ['sh', path.join(ROOT, 'tools/boot/nspawn-vm.sh')], instanceTypes: [BOOT_TYPE] },
      env: { SKYWEAVE_AGENT_PACKAGES_DIR: packages, SKYWEAVE_BOOT_ROOTFS: image, SKYWEAVE_BOOT_HOST_IP: HOST_IP },
    });
    const client = new ApiClient(stack.apiUrl, stack.apiKey);
    api = client;
    await client.ok('POST', '/v1/cloud-credentials', { cloud: CLOUD, credentials: await sandboxAccount(stack.adminUrl, CLOUD) });
    const created = await client.ok<{ id: string }>('POST', '/v1/clusters', { name: 'boot', region: 'us-east', clouds: [CLOUD], controlPlane: { cloud: CLOUD, count: 1 }, workers: [] });
    const id = created.id;
    clusterId = id;
    const cluster = () => client.ok<{ phase: string; nodes: NodeView[] }>('GET', `/v1/clusters/${id}`);
    await waitFor('the cluster Ready (one master, a sandbox process VM)', async () => (await cluster()).phase === 'Ready', 120_000);
    say('cluster Ready; adding one worker of type t3.large: the sandbox boots it under systemd-nspawn');
    await client.ok('POST', `/v1/clusters/${id}/nodes`, { cloud: CLOUD, instanceType: BOOT_TYPE, count: 1 });
    const node = await waitFor('the worker launched', async () => (await cluster()).nodes.find((n) => n.instanceType === BOOT_TYPE && n.instanceId), 60_000);
    const vmDir = path.join(stack.vmRoot, node.instanceId.replace(/[^A-Za-z0-9._-]/g, '_'));
    const machine = path.join(vmDir, 'machine');
    const netns = `swb-${createHash('sha256').update(node.instanceId).digest('hex').slice(0, 8)}`;
    say(`worker ${node.name}: instance ${node.instanceId}, machine ${machine}`);

    const bootFinished = path.join(machine, 'var/lib/cloud/instances', node.instanceId, 'boot-finished');
    await waitFor('cloud-init to finish on the VM', async () => existsSync(bootFinished), 300_000, 1000);
    const result = JSON.parse(readFileSync(path.join(machine, 'var/lib/cloud/data/result.json'), 'utf8')) as { v1: { datasource: string; errors: string[] } };
    const output = readFileSync(path.join(machine, 'var/log/cloud-init-output.log'), 'utf8');
    step(result.v1.datasource.includes('NoCloud'), 'cloud-init read the user-data from the NoCloud seed', result.v1.datasource);
    // the modules that failed, as cloud-init reports them (expected: what needs the internet, see above)
    for (const e of result.v1.errors) say(`cloud-init error: ${e.slice(0, 200)}`);
    const userData = readFileSync(path.join(vmDir, 'user-data'), 'utf8');
    step(readFileSync(path.join(machine, 'var/lib/cloud/instances', node.instanceId, 'user-data.txt'), 'utf8') === userData, 'the VM got the exact user-data the node-provisioner rendered');
    for (const f of ['etc/skyweave/node-agent.json', 'etc/sysctl.d/99-skyweave.conf', 'etc/modules-load.d/skyweave.conf', 'etc/crictl.yaml', 'etc/systemd/system/skyweave-node-agent.service', 'usr/local/lib/skyweave/install-node-agent.sh']) {
      step(existsSync(path.join(machine, f)), `write_files: /${f}`);
    }
    const sources = existsSync(path.join(machine, 'etc/apt/sources.list.d')) ? readdirSync(path.join(machine, 'etc/apt/sources.list.d')) : [];
    const k8sSource = sources.map((s) => readFileSync(path.join(machine, 'etc/apt/sources.list.d', s), 'utf8')).find((t) => t.includes('pkgs.k8s.io'));
    step(!!k8sSource, 'apt: the pkgs.k8s.io source written by cloud-init', k8sSource?.trim().split('\n').find((l) => l.startsWith('deb')) ?? 'missing');
    step(/install-node-agent: downloading http:\/\/10\.250\.0\.1:\d+\/v1\/agent-packages\//.test(output), "install script: downloaded node-agent's package from the platform");
    step(/node-agent\.tar\.gz: OK/.test(output), 'install script: sha256sum -c accepted the package');
    step(readFileSync(path.join(machine, 'opt/skyweave/node-agent/VERSION'), 'utf8').trim() === manifest.version, `installed ${manifest.version} under /opt/skyweave/node-agent`);

    const registered = await waitFor('the agent to register', async () => {
      const n = (await cluster()).nodes.find((x) => x.id === node.id);
      return n && !['Pending', 'Launching', 'Booting'].includes(n.phase) ? n : undefined;
    }, 120_000, 1000);
    step(true, 'systemd started skyweave-node-agent.service; the agent registered with the platform', `node phase ${registered.phase}`);
    const agentJournal = () => spawnSync('journalctl', ['-D', path.join(machine, 'var/log/journal'), '-u', 'skyweave-node-agent', '--no-pager', '-o', 'cat'], { encoding: 'utf8' }).stdout;
    const wg = await waitFor('wg0 up in the VM', async () => {
      const r = spawnSync('ip', ['-n', netns, '-j', 'addr', 'show', 'wg0'], { encoding: 'utf8' });
      if (r.status !== 0) return undefined;
      const [link] = JSON.parse(r.stdout) as { operstate: string; flags: string[]; addr_info: { local: string; prefixlen: number }[] }[];
      return link?.flags.includes('UP') && link.addr_info.length > 0 ? link : undefined;
    }, 60_000, 1000).catch((e: unknown) => {
      say(`the agent's journal (last 40 lines):\n${agentJournal().split('\n').slice(-40).join('\n')}`);
      throw e;
    });
    step(true, 'WireGuard: wg0 up (wireguard-go) in the VM', wg.addr_info.map((a) => `${a.local}/${a.prefixlen}`).join(', '));
    const journal = agentJournal();
    say(`the agent's journal (last 15 lines):\n${journal.split('\n').filter(Boolean).slice(-15).join('\n')}`);
    say(`took ${Math.round((Date.now() - started) / 1000)} s`);
    say('not run for real: apt packages from pkgs.k8s.io and Docker (no internet; wireguard-tools/-go preinstalled in the image), kubeadm and kubectl (recorded), HAProxy (a package: the agent\'s haproxy -c and systemctl reload recorded), the kernel WireGuard module (wireguard-go), sysctl/modprobe (a container shares the host kernel)');
    say(`boot: cloud-init ${result.v1.errors.length === 0 ? 'done' : `done with ${result.v1.errors.length} module error(s)`}, agent ${manifest.version} from the platform's package, registered, wg0 up`);
  } finally {
    if (api && clusterId) {
      const c = api;
      await c.call('DELETE', `/v1/clusters/${clusterId}`);
      await waitFor('the cluster deleted', async () => (await c.ok<{ phase: string }>('GET', `/v1/clusters/${clusterId}`)).phase === 'Deleted', 120_000).catch((e: unknown) => say(`cleanup: ${(e as Error).message}`));
    }
    if (stack) {
      const left = await sandboxResources(stack.adminUrl).catch(() => []);
      if (left.length > 0) failures.push(`left in sandbox: ${left.length} resources`);
      await stack.stop().catch((e: unknown) => failures.push(`stack stop: ${(e as Error).message}`));
    }
    spawnSync('ip', ['addr', 'del', `${HOST_IP}/32`, 'dev', 'lo']);
    if (failures.length === 0) rmSync(work, { recursive: true, force: true });
    else say(`kept ${work} for inspection`);
  }
  if (failures.length > 0) throw new Error(`test:boot: ${failures.length} check(s) failed: ${failures.join('; ')}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
