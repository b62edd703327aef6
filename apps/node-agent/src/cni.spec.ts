import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RecordingExecutor } from './executor';
import { CNI_CONFIG_PATH, cniConfig, masqueradeRule, setUpPodNetwork } from './cni';

describe('the pod network (CNI bridge + host-local)', () => {
  it("renders a conflist: bridge cni0 as the pods' default gateway with the mesh's MTU, host-local from the node's range, portmap", () => {
    const c = JSON.parse(cniConfig('10.217.3.0/24', 1420)) as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
    expect(c.cniVersion).toBe('1.0.0');
    expect(c.name).toBe('skyweave');
    expect(c.plugins).toEqual([
      { type: 'bridge', bridge: 'cni0', isGateway: true, isDefaultGateway: true, ipMasq: false, hairpinMode: true, mtu: 1420, ipam: { type: 'host-local', ranges: [[{ subnet: '10.217.3.0/24' }]] } },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ]);
    expect(() => cniConfig('10.217.3.0', 1420)).toThrow(/podCidr/);
    expect(() => cniConfig('10.217.3.0/24', 0)).toThrow(/mtu/);
  });

  it('masquerades only what leaves the pod network', () => {
    expect(masqueradeRule('10.217.3.0/24')).toEqual(['POSTROUTING', '-s', '10.217.3.0/24', '!', '-d', '10.217.0.0/16', '-m', 'comment', '--comment', 'skyweave pod egress', '-j', 'MASQUERADE']);
  });

  it('writes the conflist where containerd reads it and adds the rule (checked first with -C)', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'cni-'));
    try {
      const ex = new RecordingExecutor(root);
      await setUpPodNetwork(ex, '10.217.5.0/24', 1380);
      expect(JSON.parse(readFileSync(path.join(root, CNI_CONFIG_PATH), 'utf8'))).toMatchObject({ plugins: [{ mtu: 1380, ipam: { ranges: [[{ subnet: '10.217.5.0/24' }]] } }, { type: 'portmap' }] });
      const argv = readFileSync(path.join(root, 'var/lib/skyweave/commands.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { argv: string[] }).argv);
      expect(argv).toEqual([['iptables', '-t', 'nat', '-C', ...masqueradeRule('10.217.5.0/24')], ['iptables', '-t', 'nat', '-A', ...masqueradeRule('10.217.5.0/24')]]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
