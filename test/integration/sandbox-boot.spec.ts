import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { VmRuntime } from '@skyweave/cloud-emulator/src/core/vm-runtime';
import { AGENT_BINARY, AGENT_CONFIG_PATH, AGENT_UNIT, CONFIGURE_CONTAINERD_SCRIPT_PATH, DISABLE_SWAP_SCRIPT_PATH, renderUserData } from '@skyweave/bootstrap';

/** The sandbox image's agent: writes its arguments and SKYWEAVE_ROOT to `<root>/agent.json`, then idles until SIGTERM. */
const AGENT = [
  process.execPath,
  '-e',
  `const fs = require('fs'); const root = process.env.SKYWEAVE_ROOT;
   fs.writeFileSync(root + '/agent.json', JSON.stringify({ argv: process.argv.slice(1), root }));
   process.on('SIGTERM', () => process.exit(0));
   setInterval(() => {}, 1000);`,
  '--', // the unit's arguments follow: they are the script's, not node's
];

const waitFor = async (fn: () => boolean, what: string, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

/**
 * The sandbox VM image (cloud-emulator VmRuntime) booted with the real user-data of a node that installs containerd
 * and kubeadm: it writes the files, logs what it does not run, and still starts node-agent from its unit.
 */
describe('the sandbox VM image boots the node user-data (containerd, kubeadm, then node-agent)', () => {
  let dir: string;
  let rt: VmRuntime;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sandbox-boot-'));
    rt = new VmRuntime({ vmRoot: dir, binaries: { [AGENT_BINARY]: AGENT } });
  });
  afterEach(async () => {
    rt.stopAll();
    await rt.settle();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const kubernetesVersion of ['1.36.4', '1.35.9']) {
    it(`Kubernetes ${kubernetesVersion}: files written, the node's preparation logged, the agent started with its config`, async () => {
      const userData = renderUserData({
        apiUrl: 'http://127.0.0.1:1', clusterId: 'c1', nodeId: 'n1', nodeName: 'sw-c1-master-0', role: 'master', bootstrapToken: 'swbt_x', kubernetesVersion,
      });
      rt.boot({ cloud: 'aws', instanceId: 'i-0abc', userData, privateIp: '10.10.0.5' });
      const root = rt.fsRoot('i-0abc');
      await waitFor(() => existsSync(path.join(root, 'agent.json')), 'the agent to start');

      const agent = JSON.parse(readFileSync(path.join(root, 'agent.json'), 'utf8')) as { argv: string[]; root: string };
      expect(agent).toEqual({ argv: ['--config', AGENT_CONFIG_PATH], root });
      expect(JSON.parse(readFileSync(path.join(root, AGENT_CONFIG_PATH), 'utf8'))).toMatchObject({ nodeId: 'n1', role: 'master' });
      expect(statSync(path.join(root, AGENT_CONFIG_PATH)).mode & 0o777).toBe(0o600);
      expect(readFileSync(path.join(root, 'etc/crictl.yaml'), 'utf8')).toContain('runtime-endpoint: unix:///run/containerd/containerd.sock');
      expect(readFileSync(path.join(root, 'etc/modules-load.d/skyweave.conf'), 'utf8')).toBe('overlay\nbr_netfilter\n');
      for (const script of [DISABLE_SWAP_SCRIPT_PATH, CONFIGURE_CONTAINERD_SCRIPT_PATH]) expect(statSync(path.join(root, script)).mode & 0o777).toBe(0o755);

      const log = readFileSync(path.join(root, 'var/log/cloud-init-output.log'), 'utf8').trim().split('\n');
      const runcmd = log.filter((l) => l.startsWith('runcmd: ') || l.startsWith('systemctl: '));
      expect(runcmd).toEqual([
        'runcmd: apt-mark hold kubelet kubeadm kubectl',
        `runcmd: ${DISABLE_SWAP_SCRIPT_PATH}`,
        'runcmd: sysctl --system',
        `runcmd: ${CONFIGURE_CONTAINERD_SCRIPT_PATH}`,
        'runcmd: systemctl enable --now kubelet',
        // kubelet comes from a package the sandbox image does not install: recorded, not started.
        'systemctl: unit kubelet not found',
        'runcmd: /usr/local/lib/skyweave/install-node-agent.sh',
        'runcmd: systemctl daemon-reload',
        `runcmd: systemctl enable --now ${AGENT_UNIT}`,
        expect.stringMatching(new RegExp(`^systemctl: started ${AGENT_UNIT.replace('.', '\\.')} \\(pid \\d+\\)$`)),
      ]);
    });
  }
});
