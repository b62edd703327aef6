import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VmRuntime, restartPolicyOf, systemdRestarts } from './vm-runtime';
import type { VmAddressing, VmNetwork, VmNetworkFabric } from './netns';

/**
 * A VM image whose agent writes its environment to `<root>/env.json` (whole, by rename: a test that sees the file reads
 * all of it; written in place, a loaded machine let one read it empty) and `<root>/terminated` on SIGTERM. The SIGTERM
 * handler is installed before env.json appears: a test that stops the agent once it sees the file must find it
 * handled (in CI under load, a SIGTERM between the two killed the agent without a trace).
 */
const AGENT = [
  process.execPath,
  '-e',
  `const fs = require('fs'); const root = process.env.SKYWEAVE_ROOT;
   process.on('SIGTERM', () => { fs.writeFileSync(root + '/terminated', ''); process.exit(0); });
   fs.writeFileSync(root + '/env.json.tmp', JSON.stringify(process.env)); fs.renameSync(root + '/env.json.tmp', root + '/env.json');
   setInterval(() => {}, 1000);`,
];
const USER_DATA = `#cloud-config
write_files:
  - path: /etc/systemd/system/skyweave-node-agent.service
    content: |
      [Service]
      ExecStart=/usr/local/bin/skyweave-node-agent
runcmd:
  - systemctl enable --now skyweave-node-agent
`;

/** Records calls; `gate` holds createVm until released; `fail` makes it reject. */
class FakeFabric implements VmNetworkFabric {
  readonly calls: string[] = [];
  gate: Promise<void> = Promise.resolve();
  fail?: Error;
  onDestroy?: (netns: string) => void;
  destroyGate: Promise<void> = Promise.resolve();
  private n = 0;
  async createVm(vm: VmAddressing): Promise<VmNetwork> {
    this.calls.push(`create ${vm.instanceId} ${vm.privateIp} ${vm.publicIp ?? '-'}`);
    await this.gate;
    if (this.fail) throw this.fail;
    this.n += 1;
    return { netns: `ns-${this.n}`, wireguardInterface: `wg0000000${this.n}`, warnings: [] };
  }
  async destroyVm(netns: string): Promise<void> {
    this.onDestroy?.(netns);
    await this.destroyGate;
    this.calls.push(`destroy ${netns}`);
  }
  async close(): Promise<void> {
    this.calls.push('close');
  }
}

const waitFor = async (fn: () => boolean, what: string, timeoutMs = 10000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('VmRuntime', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'vmrt-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const runtime = (fabric?: VmNetworkFabric, env?: Record<string, string>) =>
    new VmRuntime({ vmRoot: dir, binaries: { '/usr/local/bin/skyweave-node-agent': AGENT }, env, fabric });
  const envOf = (rt: VmRuntime, id: string): Record<string, string> => JSON.parse(readFileSync(path.join(rt.fsRoot(id), 'env.json'), 'utf8')) as Record<string, string>;

  it('netns: creates the namespace first, then starts the agent with the netns contract in its environment', async () => {
    const fabric = new FakeFabric();
    const rt = runtime(fabric, { SKYWEAVE_RECORD_ONLY: 'kubeadm,crictl', SKYWEAVE_NETNS: 'not-this-one' });
    rt.boot({ cloud: 'aws', instanceId: 'i-1', userData: USER_DATA, privateIp: '10.10.0.5', publicIp: '198.51.100.1' });
    expect(rt.list()).toEqual([]); // listed once its namespace is ready
    await waitFor(() => existsSync(path.join(rt.fsRoot('i-1'), 'env.json')), 'agent started');
    const env = envOf(rt, 'i-1');
    expect(env).toMatchObject({
      SKYWEAVE_EXECUTOR: 'real',
      SKYWEAVE_NETNS: 'ns-1',
      SKYWEAVE_WG_INTERFACE: 'wg00000001',
      SKYWEAVE_WG_USERSPACE: '1',
      SKYWEAVE_RECORD_ONLY: 'kubeadm,crictl', // policy can be overridden by vmEnv; the VM's own facts cannot
      SKYWEAVE_ROOT: rt.fsRoot('i-1'),
      SKYWEAVE_PRIVATE_IP: '10.10.0.5',
      SKYWEAVE_PUBLIC_IP: '198.51.100.1',
    });
    expect(rt.list()).toEqual([{ cloud: 'aws', instanceId: 'i-1', privateIp: '10.10.0.5', publicIp: '198.51.100.1', netns: 'ns-1', wireguardInterface: 'wg00000001' }]);
    expect(readFileSync(path.join(rt.fsRoot('i-1'), 'var/log/cloud-init-output.log'), 'utf8')).toMatch(/network: namespace ns-1[^\n]*\n[^\n]*systemctl: started skyweave-node-agent/);

    // stop: the agent is terminated (and has exited) before its namespace goes
    let agentGoneAtDestroy = false;
    fabric.onDestroy = () => {
      agentGoneAtDestroy = existsSync(path.join(rt.fsRoot('i-1'), 'terminated'));
    };
    rt.stop('i-1');
    expect(rt.list()).toEqual([]);
    await rt.settle();
    expect(agentGoneAtDestroy).toBe(true);
    expect(fabric.calls).toEqual(['create i-1 10.10.0.5 198.51.100.1', 'destroy ns-1']);
  });

  it('netns: a stop during namespace creation cancels the boot, which removes the namespace and starts nothing', async () => {
    const fabric = new FakeFabric();
    let open = () => undefined as void;
    fabric.gate = new Promise<void>((r) => (open = r));
    const rt = runtime(fabric);
    rt.boot({ cloud: 'gcp', instanceId: 'vm-1', userData: USER_DATA, privateIp: '10.0.0.2' });
    rt.stop('vm-1');
    open();
    await rt.settle();
    expect(fabric.calls).toEqual(['create vm-1 10.0.0.2 -', 'destroy ns-1']);
    expect(existsSync(path.join(rt.fsRoot('vm-1'), 'env.json'))).toBe(false);
    expect(rt.list()).toEqual([]);

    // a new boot of the same instance waits for the old teardown, then gets a fresh namespace
    fabric.gate = Promise.resolve();
    rt.boot({ cloud: 'gcp', instanceId: 'vm-1', userData: USER_DATA, privateIp: '10.0.0.2' });
    await rt.settle();
    expect(rt.list().map((v) => v.netns)).toEqual(['ns-2']);
    rt.stopAll();
    await rt.settle();
    expect(fabric.calls.slice(-1)).toEqual(['destroy ns-2']);
  });

  it('netns: a VM taking over a public address waits until the namespace of its former owner is gone', async () => {
    const fabric = new FakeFabric();
    const rt = runtime(fabric);
    rt.boot({ cloud: 'azure', instanceId: 'vm-old', userData: '', privateIp: '10.20.0.4', publicIp: '203.0.113.5' });
    await rt.settle();
    let release = () => undefined as void;
    fabric.destroyGate = new Promise<void>((r) => (release = r));
    rt.stop('vm-old');
    rt.boot({ cloud: 'azure', instanceId: 'vm-new', userData: '', privateIp: '10.20.0.5', publicIp: '203.0.113.5' });
    await new Promise((r) => setTimeout(r, 50));
    expect(fabric.calls).toEqual(['create vm-old 10.20.0.4 203.0.113.5']);
    release();
    await rt.settle();
    expect(fabric.calls).toEqual(['create vm-old 10.20.0.4 203.0.113.5', 'destroy ns-1', 'create vm-new 10.20.0.5 203.0.113.5']);
    expect(rt.list().map((v) => v.instanceId)).toEqual(['vm-new']);
  });

  it('netns: a VM whose namespace cannot be made is listed with the error and starts no unit', async () => {
    const fabric = new FakeFabric();
    fabric.fail = new Error('`ip netns add x` failed (exit code 1): boom');
    const rt = runtime(fabric);
    rt.boot({ cloud: 'azure', instanceId: '/subscriptions/s/vm', userData: USER_DATA, privateIp: '10.20.0.4' });
    await rt.settle();
    expect(rt.list()).toEqual([{ cloud: 'azure', instanceId: '/subscriptions/s/vm', privateIp: '10.20.0.4', networkError: fabric.fail.message }]);
    expect(existsSync(path.join(rt.fsRoot('/subscriptions/s/vm'), 'env.json'))).toBe(false);
    expect(readFileSync(path.join(rt.fsRoot('/subscriptions/s/vm'), 'var/log/cloud-init-output.log'), 'utf8')).toContain('network: failed: `ip netns add x` failed (exit code 1): boom; units not started');
    rt.stop('/subscriptions/s/vm');
    await rt.settle();
    expect(fabric.calls).toEqual(['create /subscriptions/s/vm 10.20.0.4 -']);
  });

  it('process mode (default): starts the agent at once, without the netns variables', async () => {
    const rt = runtime();
    rt.boot({ cloud: 'digitalocean', instanceId: '400000001', userData: USER_DATA, privateIp: '10.100.0.2', publicIp: '198.51.100.2' });
    expect(rt.list()).toEqual([{ cloud: 'digitalocean', instanceId: '400000001', privateIp: '10.100.0.2', publicIp: '198.51.100.2' }]);
    await waitFor(() => existsSync(path.join(rt.fsRoot('400000001'), 'env.json')), 'agent started');
    const env = envOf(rt, '400000001');
    expect(env).toMatchObject({ SKYWEAVE_ROOT: rt.fsRoot('400000001'), SKYWEAVE_PRIVATE_IP: '10.100.0.2', SKYWEAVE_PUBLIC_IP: '198.51.100.2' });
    for (const k of ['SKYWEAVE_NETNS', 'SKYWEAVE_WG_INTERFACE', 'SKYWEAVE_WG_USERSPACE', 'SKYWEAVE_RECORD_ONLY']) expect(env[k]).toBe(process.env[k]);
    rt.stop('400000001');
    await waitFor(() => existsSync(path.join(rt.fsRoot('400000001'), 'terminated')), 'agent terminated');
    expect(rt.list()).toEqual([]);
  });
});

describe('systemd\'s restart rule (systemd.service(5)), as the VM image applies it', () => {
  const unit = (lines: string) => `[Service]\nExecStart=/usr/local/bin/skyweave-node-agent\n${lines}\n`;

  it('reads Restart=, RestartSec= and the exit status lists, with systemd\'s defaults', () => {
    expect(restartPolicyOf(unit(''))).toEqual({ restart: 'no', restartSecMs: 100, force: [], prevent: [] });
    expect(restartPolicyOf(unit('Restart=on-failure\nRestartForceExitStatus=75 SIGUSR1\nRestartSec=5'))).toEqual({ restart: 'on-failure', restartSecMs: 5000, force: ['75', 'SIGUSR1'], prevent: [] });
    expect(restartPolicyOf(unit('RestartSec=250ms\nRestartPreventExitStatus=3')).restartSecMs).toBe(250);
  });

  it('restarts the agent\'s unit on exit 75 and on failures, never after a clean exit or a clean signal', () => {
    const agentUnit = restartPolicyOf(unit('Restart=on-failure\nRestartForceExitStatus=75\nRestartSec=5'));
    expect(systemdRestarts(agentUnit, 75, null)).toBe(true);
    expect(systemdRestarts(agentUnit, 1, null)).toBe(true);
    expect(systemdRestarts(agentUnit, null, 'SIGKILL')).toBe(true);
    expect(systemdRestarts(agentUnit, 0, null)).toBe(false);
    expect(systemdRestarts(agentUnit, null, 'SIGTERM')).toBe(false);
    // RestartForceExitStatus= wins over Restart=no; RestartPreventExitStatus= over everything
    expect(systemdRestarts(restartPolicyOf(unit('RestartForceExitStatus=75')), 75, null)).toBe(true);
    expect(systemdRestarts(restartPolicyOf(unit('RestartForceExitStatus=75')), 1, null)).toBe(false);
    expect(systemdRestarts(restartPolicyOf(unit('Restart=always\nRestartPreventExitStatus=75')), 75, null)).toBe(false);
    expect(systemdRestarts(restartPolicyOf(unit('Restart=on-abnormal')), 1, null)).toBe(false);
    expect(systemdRestarts(restartPolicyOf(unit('Restart=on-abnormal')), null, 'SIGSEGV')).toBe(true);
  });

  it('runs each VM\'s own copy of an installed bundle and starts it again (the file as it is now) after it exits 75', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vmrt-bundle-'));
    try {
      // a bundle that counts its starts and, on its first, replaces its own file by one that stays up, then exits 75
      const bundle = path.join(dir, 'agent.js');
      writeFileSync(bundle, `const fs = require('fs'); const root = process.env.SKYWEAVE_ROOT;
        fs.appendFileSync(root + '/starts', 'old\\n');
        fs.writeFileSync(__filename + '.new', "require('fs').appendFileSync(process.env.SKYWEAVE_ROOT + '/starts', 'new\\\\n'); setInterval(() => {}, 1000);");
        fs.renameSync(__filename + '.new', __filename);
        process.exit(75);`);
      const rt = new VmRuntime({ vmRoot: dir, binaries: { '/usr/local/bin/skyweave-node-agent': { interpreter: [process.execPath], bundle, installAt: '/opt/skyweave/node-agent/lib/node-agent.js' } } });
      const userData = USER_DATA.replace('      ExecStart=/usr/local/bin/skyweave-node-agent\n', '      ExecStart=/usr/local/bin/skyweave-node-agent\n      Restart=on-failure\n      RestartForceExitStatus=75\n      RestartSec=50ms\n');
      rt.boot({ cloud: 'aws', instanceId: 'i-1', userData, privateIp: '10.10.1.5' });
      const root = rt.fsRoot('i-1');
      const starts = () => (existsSync(path.join(root, 'starts')) ? readFileSync(path.join(root, 'starts'), 'utf8') : '');
      await waitFor(() => starts() === 'old\nnew\n', 'the unit restarted on its new bundle');
      // the image's file is untouched: only this VM's copy changed
      expect(readFileSync(bundle, 'utf8')).toContain('process.exit(75)');
      expect(readFileSync(path.join(root, 'opt/skyweave/node-agent/lib/node-agent.js'), 'utf8')).toContain("'new");
      expect(readFileSync(path.join(root, 'var/log/cloud-init-output.log'), 'utf8')).toMatch(/skyweave-node-agent exited \(75\); restarting in 50 ms/);
      rt.stopAll();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
