import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { CloudId, FIREWALL_PLAN, fixedNetworkCidrs, resourcePrefix } from '@skyweave/domain';
import { createCloudProvider, CloudProvider, Instance, NetworkStatus } from '@skyweave/cloud-adapters';
import { RunningEmulator, startEmulator } from '../src/emulator';
import { assertNetnsSupported, CommandError, NetnsFabric, runCommand, VM_ROUTES } from '../src/core/netns';
import type { BootedVm } from '../src/core/vm-runtime';

/**
 * The `netns` VM network, for real: two VMs of two clouds, launched through the adapters (official SDKs), become two
 * network namespaces on one bridge and ping each other's private and public addresses; terminating a VM removes its
 * namespace, closing the emulator removes the hub. Needs root and iproute2 (as `vmNetwork: 'netns'` itself).
 * Traffic stays inside the namespaces this test's emulator creates.
 */

const namespaces = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);

/** Whether a process runs (a zombie waiting for a parent that does not reap it counts as ended). */
const running = (pid: number): boolean => {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

const canRun = (() => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['-V']);
    return true;
  } catch {
    return false;
  }
})();

const hasWireguard = (() => {
  try {
    execFileSync('wg', ['--version']);
    execFileSync('which', ['wireguard-go']);
    return true;
  } catch {
    return false;
  }
})();

/**
 * Brings up wireguard-go in both VMs under the interface names the fabric reserved (as node-agent will) and checks
 * the tunnel: each side sees the other's public address as its endpoint (the routes' source addresses).
 */
async function wireguardBetween(a: BootedVm, b: BootedVm): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sw-wg-'));
  try {
    const keys = [a, b].map((_, i) => {
      const priv = execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim();
      writeFileSync(path.join(dir, `key${i}`), priv, { mode: 0o600 });
      return execFileSync('wg', ['pubkey'], { input: priv, encoding: 'utf8' }).trim();
    });
    const env = { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' };
    [a, b].forEach((vm, i) => {
      const ns = String(vm.netns);
      const wg = String(vm.wireguardInterface);
      const peer = i === 0 ? b : a;
      execFileSync('ip', ['netns', 'exec', ns, 'wireguard-go', wg], { env, stdio: 'ignore' });
      execFileSync('ip', ['netns', 'exec', ns, 'wg', 'set', wg, 'listen-port', '51820', 'private-key', path.join(dir, `key${i}`),
        'peer', keys[1 - i], 'endpoint', `${peer.publicIp}:51820`, 'allowed-ips', `10.4.0.${2 - i}/32`]);
      execFileSync('ip', ['-n', ns, 'addr', 'add', `10.4.0.${i + 1}/16`, 'dev', wg]);
      execFileSync('ip', ['-n', ns, 'link', 'set', wg, 'up']);
    });
    expect(existsSync(`/var/run/wireguard/${a.wireguardInterface}.sock`)).toBe(true);
    await runCommand('ip', ['netns', 'exec', String(a.netns), 'ping', '-c', '1', '-W', '2', '10.4.0.2']);
    const endpoint = execFileSync('ip', ['netns', 'exec', String(b.netns), 'wg', 'show', String(b.wireguardInterface), 'endpoints'], { encoding: 'utf8' });
    expect(endpoint).toContain(`${a.publicIp}:51820`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const waitFor = async <T>(fn: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 15000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

const DEFAULT_TYPES: Record<CloudId, string> = { aws: 't3.medium', gcp: 'e2-medium', azure: 'Standard_B2s', digitalocean: 's-2vcpu-4gb' };

(canRun ? describe : describe.skip)('netns VM network', () => {
  let emu: RunningEmulator | undefined;
  let hub = '';
  const clusterId = randomUUID();

  const adminVms = async (): Promise<BootedVm[]> => {
    const r = await fetch(`${emu?.adminUrl}/admin/vms`);
    expect(r.status).toBe(200);
    return ((await r.json()) as { vms: BootedVm[] }).vms;
  };

  /** A network and one running VM whose user-data starts nothing. */
  const launch = async (cloud: 'aws' | 'gcp', region: string, zone: string): Promise<{ provider: CloudProvider; network: NetworkStatus; vm: Instance; region: string }> => {
    if (!emu) throw new Error('no emulator');
    const provider = createCloudProvider(emu.modules[cloud].createAccount(), emu.endpoints);
    const network = await provider.ensureNetwork({ clusterId, namePrefix: resourcePrefix(clusterId), region, zone, ...fixedNetworkCidrs(cloud), firewall: FIREWALL_PLAN });
    const created = await provider.createInstance({
      clusterId, nodeId: randomUUID(), name: `${resourcePrefix(clusterId)}-${cloud}-0`, role: 'worker', instanceType: DEFAULT_TYPES[cloud], userData: '#cloud-config\n{}\n', network,
    });
    const vm = await waitFor(async () => {
      const i = await provider.getInstance(region, created.id);
      return i?.state === 'running' && i.privateIp && i.publicIp ? i : undefined;
    }, `${cloud} instance running with addresses`);
    return { provider, network, vm, region };
  };

  beforeAll(async () => {
    emu = await startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, latency: { 'instance.boot': 50 }, vmNetwork: 'netns' });
    hub = emu.fabric?.hub ?? '';
  });

  afterAll(async () => {
    await emu?.close();
    // Safety net, should the test have failed before its own close: nothing of this emulator may stay behind.
    const base = hub.replace(/-hub$/, '');
    for (const ns of namespaces().filter((n) => base && n.startsWith(`${base}-`))) execFileSync('ip', ['netns', 'delete', ns]);
  });

  it('creates a hub with a bridge, named for this process', () => {
    expect(hub).toMatch(new RegExp(`^skyweave-${process.pid}-[0-9a-f]{6}-hub$`));
    expect(namespaces()).toContain(hub);
    expect(execFileSync('ip', ['-n', hub, '-o', 'link', 'show', 'type', 'bridge'], { encoding: 'utf8' })).toMatch(/br0/);
  });

  it('makes each VM a namespace; VMs of two clouds reach each other over private and public addresses', async () => {
    const a = await launch('aws', 'us-east-1', 'us-east-1a');
    const b = await launch('gcp', 'us-east4', 'us-east4-a');
    // one public pool for all clouds: a public address is globally unique
    expect(a.vm.publicIp).not.toBe(b.vm.publicIp);

    const vms = await waitFor(async () => {
      const list = await adminVms();
      return list.length === 2 ? list : undefined;
    }, 'two VMs in /admin/vms');
    const vmA = vms.find((v) => v.cloud === 'aws');
    const vmB = vms.find((v) => v.cloud === 'gcp');
    expect(vmA).toMatchObject({ instanceId: a.vm.id, privateIp: a.vm.privateIp, publicIp: a.vm.publicIp });
    expect(vmB).toMatchObject({ privateIp: b.vm.privateIp, publicIp: b.vm.publicIp });
    if (!vmA?.netns || !vmB?.netns) throw new Error(`VMs without namespace: ${JSON.stringify(vms)}`);
    expect(vmA.netns).not.toBe(vmB.netns);
    expect(vmA.wireguardInterface).toMatch(/^wg[0-9a-f]{8}$/);
    expect(vmB.wireguardInterface).toMatch(/^wg[0-9a-f]{8}$/);
    expect(vmA.wireguardInterface).not.toBe(vmB.wireguardInterface);
    expect(namespaces()).toEqual(expect.arrayContaining([vmA.netns, vmB.netns]));

    // eth0 holds the private address only; the public one is on the hub (the cloud's 1:1 NAT); routes exist only for
    // the VM ranges (no default route)
    const addrs = execFileSync('ip', ['-n', vmA.netns, '-o', '-4', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
    expect(addrs).toContain(`${vmA.privateIp}/32`);
    expect(addrs).not.toContain(`${vmA.publicIp}/32`);
    expect(execFileSync('ip', ['-n', hub, '-o', '-4', 'addr', 'show', 'dev', 'br0'], { encoding: 'utf8' })).toContain(`${vmA.publicIp}/32`);
    const routes = execFileSync('ip', ['-n', vmA.netns, '-4', 'route', 'show'], { encoding: 'utf8' }).trim().split('\n').map((l) => l.split(' ')[0]);
    expect(routes.sort()).toEqual([...VM_ROUTES].sort());

    // private addresses of the two clouds differ (non-overlapping plans), so each ping reaches the other VM
    expect(vmA.privateIp).not.toBe(vmB.privateIp);
    await runCommand('ip', ['netns', 'exec', vmA.netns, 'ping', '-c', '1', '-W', '2', String(vmB.publicIp)]);
    await runCommand('ip', ['netns', 'exec', vmA.netns, 'ping', '-c', '1', '-W', '2', vmB.privateIp]);
    await runCommand('ip', ['netns', 'exec', vmB.netns, 'ping', '-c', '1', '-W', '2', String(vmA.publicIp)]);

    // real WireGuard between the two VMs, under the reserved interface names
    if (hasWireguard) {
      await wireguardBetween(vmA, vmB);
      // the WAN relay adds the latency set between the two clouds (half per direction)
      const put = await fetch(`${emu?.adminUrl}/admin/wan`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clouds: { 'aws|gcp': 30 } }) });
      expect(put.status).toBe(204);
      const bad = await fetch(`${emu?.adminUrl}/admin/wan`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ clouds: { 'aws|mars': 3 } }) });
      expect(bad.status).toBe(400);
      const out = execFileSync('ip', ['netns', 'exec', vmA.netns, 'ping', '-n', '-q', '-c', '2', '-i', '0.2', '10.4.0.2'], { encoding: 'utf8' });
      const avg = Number(/=\s*[\d.]+\/([\d.]+)\//.exec(out)?.[1]);
      expect(avg).toBeGreaterThanOrEqual(29);
      expect(avg).toBeLessThan(60);
    }

    // terminating B removes its namespace (and its processes: wireguard-go, a sleeper); A stays
    const sleeper = execFileSync('ip', ['netns', 'exec', vmB.netns, 'sh', '-c', 'sleep 300 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' }).trim();
    await b.provider.terminateInstance(clusterId, b.region, b.vm.id);
    const nsB = vmB.netns;
    await waitFor(async () => !namespaces().includes(nsB), 'B namespace removed');
    expect(running(Number(sleeper))).toBe(false);
    expect(existsSync(`/var/run/wireguard/${vmB.wireguardInterface}.sock`)).toBe(false);
    expect((await adminVms()).map((v) => v.cloud)).toEqual(['aws']);
    expect(namespaces()).toContain(vmA.netns);

    // closing the emulator removes every namespace it made, hub included
    await emu?.close();
    emu = undefined;
    const left = namespaces();
    expect(left).not.toContain(vmA.netns);
    expect(left).not.toContain(hub);
    expect(existsSync(`/var/run/wireguard/${vmA.wireguardInterface}.sock`)).toBe(false);
  });
});

describe('GET /admin/vms in the default (process) VM network', () => {
  it('lists booted VMs without namespace fields, and public addresses are unique across clouds', async () => {
    const emu = await startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, latency: { 'instance.boot': 20 } });
    try {
      expect(emu.fabric).toBeUndefined();
      emu.vms.boot({ cloud: 'aws', instanceId: 'i-1', userData: '', privateIp: '10.10.0.5', publicIp: '198.51.100.9' });
      const body = (await (await fetch(`${emu.adminUrl}/admin/vms`)).json()) as { vms: BootedVm[]; count: number };
      expect(body).toEqual({ vms: [{ cloud: 'aws', instanceId: 'i-1', privateIp: '10.10.0.5', publicIp: '198.51.100.9' }], count: 1 });
      expect((await fetch(`${emu.adminUrl}/admin/vms?cloud=mars`)).status).toBe(400);
      emu.vms.stop('i-1');
      expect(((await (await fetch(`${emu.adminUrl}/admin/vms`)).json()) as { count: number }).count).toBe(0);

      // the pool is shared: what one cloud holds, no other gets
      const seen = new Set<string>();
      for (let i = 0; i < 3; i += 1) {
        for (const ip of [emu.publicIps.allocate(), emu.publicIps.allocate({ ranges: ['203.0.113.0/24'] }), emu.publicIps.allocate({ skipGateway: true })]) {
          expect(ip).toBeDefined();
          expect(seen.has(String(ip))).toBe(false);
          seen.add(String(ip));
        }
      }
    } finally {
      await emu.close();
    }
  });
});

describe('netns prerequisites', () => {
  it('fails early and clearly when not root, not Linux, or without ip', async () => {
    const ok = async () => '';
    await expect(assertNetnsSupported(ok, { platform: 'linux', uid: 1000 })).rejects.toThrow(/needs root .*running as uid 1000/);
    await expect(assertNetnsSupported(ok, { platform: 'darwin', uid: 0 })).rejects.toThrow(/needs Linux/);
    const missing = await runCommand('skyweave-no-such-command', ['-V']).then(() => undefined, (e: unknown) => e);
    expect(missing).toBeInstanceOf(CommandError);
    expect(missing).toMatchObject({ exitCode: 'ENOENT' });
    await expect(assertNetnsSupported(() => Promise.reject(missing), { platform: 'linux', uid: 0 })).rejects.toThrow('needs the `ip` command (iproute2), which is not on PATH');
    await expect(runCommand('ip', ['link', 'show', 'dev', 'skyweave-nope0'])).rejects.toThrow(/`ip link show dev skyweave-nope0` failed \(exit code \d+\): .+/);
  });
});

(canRun ? describe : describe.skip)('NetnsFabric', () => {
  const PREFIX = 'swfabrictest';
  const ours = () => namespaces().filter((n) => n.startsWith(`${PREFIX}-`));
  afterEach(() => {
    for (const ns of ours()) execFileSync('ip', ['netns', 'delete', ns]);
  });

  it('sweeps leftovers of dead emulators (killing their processes), and leaves live ones alone', async () => {
    const dead = spawnSync('true').pid;
    const stale = `${PREFIX}-${dead}-abcdef-1-aws`;
    const live = `${PREFIX}-${process.pid}-abcdef-hub`;
    execFileSync('ip', ['netns', 'add', stale]);
    execFileSync('ip', ['netns', 'add', live]);
    const sleeper = Number(execFileSync('ip', ['netns', 'exec', stale, 'sh', '-c', 'sleep 300 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' }).trim());
    expect(running(sleeper)).toBe(true);
    const fabric = await NetnsFabric.create({ prefix: PREFIX, killGraceMs: 500 });
    try {
      expect(ours()).not.toContain(stale);
      expect(ours()).toContain(live);
      expect(running(sleeper)).toBe(false);
    } finally {
      await fabric.close();
    }
    expect(ours()).toEqual([live]);
  });

  it('runs its stand-ins for kernel packet paths at real-time priority: the WAN relay, and wireguard-go from the image PATH', async () => {
    const fabric = await NetnsFabric.create({ prefix: PREFIX });
    let bin = '';
    try {
      const relays = execFileSync('ip', ['netns', 'pids', fabric.hub], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
      expect(relays.length).toBeGreaterThan(0);
      for (const pid of relays) expect(execFileSync('chrt', ['-p', pid], { encoding: 'utf8' })).toMatch(/SCHED_FIFO[\s\S]*priority: 10/);
      const vm = await fabric.createVm({ cloud: 'aws', instanceId: 'i-rt', privateIp: '10.10.0.9', publicIp: '198.51.100.9' });
      const hasWireguardGo = spawnSync('sh', ['-c', 'command -v wireguard-go']).status === 0;
      if (!hasWireguardGo) {
        expect(vm.env).toBeUndefined();
        return;
      }
      bin = (vm.env?.PATH ?? '').split(':')[0];
      const wrapper = readFileSync(path.join(bin, 'wireguard-go'), 'utf8');
      expect(wrapper).toMatch(/^exec 'chrt' '-f' '10' '\/[^']*wireguard-go' "\$@"$/m);
      // what node-agent runs as `wireguard-go` in the VM (ip netns exec, the image's PATH) is that wrapper
      expect(execFileSync('ip', ['netns', 'exec', vm.netns, 'sh', '-c', 'command -v wireguard-go'], { encoding: 'utf8', env: { ...process.env, PATH: vm.env?.PATH } }).trim()).toBe(path.join(bin, 'wireguard-go'));
    } finally {
      await fabric.close();
    }
    if (bin) expect(existsSync(bin)).toBe(false);
  });

  it('keeps two fabrics apart, refuses a public address twice, and kills what runs in a VM on destroy', async () => {
    const [f1, f2] = await Promise.all([NetnsFabric.create({ prefix: PREFIX }), NetnsFabric.create({ prefix: PREFIX })]);
    try {
      expect(f1.hub).not.toBe(f2.hub);
      // the same addresses on two emulators are fine: each has its own bridge
      const a = await f1.createVm({ cloud: 'aws', instanceId: 'i-a', privateIp: '10.10.0.5', publicIp: '198.51.100.1' });
      const b = await f2.createVm({ cloud: 'aws', instanceId: 'i-a', privateIp: '10.10.0.5', publicIp: '198.51.100.1' });
      expect(a.netns).not.toBe(b.netns);
      expect(a.wireguardInterface).not.toBe(b.wireguardInterface);
      // within one fabric a public address has one owner; a shared private one only warns
      await expect(f1.createVm({ cloud: 'gcp', instanceId: 'vm-b', privateIp: '10.0.0.2', publicIp: '198.51.100.1' })).rejects.toThrow(/198\.51\.100\.1 is already on aws VM i-a/);
      const c = await f1.createVm({ cloud: 'gcp', instanceId: 'vm-c', privateIp: '10.10.0.5', publicIp: '198.51.100.2' });
      expect(c.warnings).toEqual([expect.stringContaining('private address 10.10.0.5 is also on aws VM i-a')]);
      await expect(f1.createVm({ cloud: 'gcp', instanceId: 'vm-d', privateIp: '10.0.0.300' })).rejects.toThrow(/not dotted IPv4/);
      expect(f1.vmNamespaces().sort()).toEqual([a.netns, c.netns].sort());

      const sleeper = Number(execFileSync('ip', ['netns', 'exec', a.netns, 'sh', '-c', 'sleep 300 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' }).trim());
      await f1.destroyVm(a.netns);
      expect(running(sleeper)).toBe(false);
      expect(ours()).not.toContain(a.netns);
      expect(execFileSync('ip', ['-n', f1.hub, '-o', 'link', 'show', 'master', 'br0'], { encoding: 'utf8' }).trim().split('\n')).toHaveLength(1);
    } finally {
      await Promise.all([f1.close(), f2.close()]);
    }
    expect(ours()).toEqual([]);
  });
});
