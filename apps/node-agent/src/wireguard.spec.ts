import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AgentApi } from '@skyweave/contracts';
import { CommandResult, RecordingExecutor, ShellExecutor } from './executor';
import { WireguardInterface, extraRoutes, measureRtt, medianRtt, renderWgConf } from './wireguard';

const peer = (n: number, allowedIps: string[]): AgentApi.MeshConfig['peers'][number] => ({
  nodeId: `00000000-0000-4000-8000-00000000000${n}`, nodeName: `sw-1-worker-${n}`, cloud: 'gcp', address: `10.4.0.${n}`,
  publicKey: `${'A'.repeat(42)}${n}=`, endpoint: `203.0.113.${n}:51820`, allowedIps, persistentKeepaliveSeconds: 25,
});
const mesh = (peers: AgentApi.MeshConfig['peers'], revision = 'r1'): AgentApi.MeshConfig => ({ revision, interface: { address: '10.4.0.1/16', listenPort: 51820, mtu: 1380 }, peers });

/** A real-mode executor whose commands are all recorded (nothing here may touch the host's network). */
class Recorded extends RecordingExecutor {
  readonly argv: string[][] = [];
  constructor(root: string, private readonly answers: (argv: string[]) => CommandResult | null = () => null) {
    super(root);
  }
  override async run(argv: string[]): Promise<void> {
    this.argv.push(argv);
  }
  override async capture(argv: string[]): Promise<CommandResult | null> {
    this.argv.push(argv);
    return this.answers(argv);
  }
}

describe('WireGuard on the node', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(path.join(tmpdir(), 'sw-agent-')); });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('renders a wg(8) configuration: private key, port, one [Peer] per peer', () => {
    const text = renderWgConf('PRIVATE=', mesh([peer(2, ['10.4.0.2/32', '10.217.2.0/24'])]));
    expect(text).toBe([
      '[Interface]', 'PrivateKey = PRIVATE=', 'ListenPort = 51820', '',
      '# sw-1-worker-2 (gcp)', '[Peer]', `PublicKey = ${'A'.repeat(42)}2=`, 'Endpoint = 203.0.113.2:51820',
      'AllowedIPs = 10.4.0.2/32, 10.217.2.0/24', 'PersistentKeepalive = 25', '',
    ].join('\n'));
  });

  it('routes only what the overlay address does not cover (pod ranges)', () => {
    expect(extraRoutes(mesh([peer(2, ['10.4.0.2/32', '10.217.2.0/24']), peer(3, ['10.4.0.3/32'])]))).toEqual(['10.217.2.0/24']);
  });

  it('brings the interface up once (wireguard-go, address, MTU), then syncs peers and routes on every change', async () => {
    const ex = new Recorded(root, (argv) => (argv[0] === 'ip' && argv[2] === 'show' ? { code: 1, stdout: '', stderr: 'Device "wg3" does not exist.' } : null));
    const wg = new WireguardInterface(ex, { interface: 'wg3', userspace: true }, 'KEY=');
    await wg.apply(mesh([peer(2, ['10.4.0.2/32', '10.217.2.0/24'])]));
    await wg.apply(mesh([peer(3, ['10.4.0.3/32'])], 'r2'));
    const conf = path.join(root, 'etc/wireguard/wg3.conf');
    expect(ex.argv).toEqual([
      ['ip', 'link', 'show', 'dev', 'wg3'],
      ['wireguard-go', 'wg3'],
      ['ip', 'address', 'replace', '10.4.0.1/16', 'dev', 'wg3'],
      ['ip', 'link', 'set', 'dev', 'wg3', 'mtu', '1380', 'up'],
      ['wg', 'syncconf', 'wg3', conf],
      ['ip', 'route', 'replace', '10.217.2.0/24', 'dev', 'wg3'],
      ['wg', 'syncconf', 'wg3', conf],
      ['ip', 'route', 'del', '10.217.2.0/24', 'dev', 'wg3'],
    ]);
    expect(readFileSync(conf, 'utf8')).toContain('Endpoint = 203.0.113.3:51820');
    expect(readFileSync(conf, 'utf8')).not.toContain('203.0.113.2');
  });

  it('uses the kernel module when not userspace, and adopts an interface that already exists', async () => {
    const fresh = new Recorded(root, (argv) => (argv[2] === 'show' ? { code: 1, stdout: '', stderr: '' } : null));
    await new WireguardInterface(fresh, { interface: 'wg0', userspace: false }, 'K').apply(mesh([]));
    expect(fresh.argv[1]).toEqual(['ip', 'link', 'add', 'dev', 'wg0', 'type', 'wireguard']);
    const existing = new Recorded(root, (argv) => (argv[2] === 'show' ? { code: 0, stdout: '5: wg0: <POINTOPOINT>', stderr: '' } : null));
    await new WireguardInterface(existing, { interface: 'wg0', userspace: false }, 'K').apply(mesh([]));
    expect(existing.argv.map((a) => a.slice(0, 3).join(' '))).not.toContain('ip link add');
  });

  it('reads the median round trip from ping; a late reply does not move it; no answer is null; a recording executor measures nothing', async () => {
    const reply = (seq: number, ms: string) => `64 bytes from 10.4.0.2: icmp_seq=${seq} ttl=64 time=${ms} ms\n`;
    const out = `PING 10.4.0.2 (10.4.0.2) 56(84) bytes of data.\n${reply(1, '3.01')}${reply(2, '14.9')}${reply(3, '3.46')}${reply(4, '3.90')}${reply(5, '3.20')}` +
      '\n--- 10.4.0.2 ping statistics ---\n5 packets transmitted, 5 received, 0% packet loss, time 801ms\nrtt min/avg/max/mdev = 3.010/5.694/14.900/4.612 ms\n';
    const seen: string[][] = [];
    expect(await measureRtt(new Recorded(root, (argv) => { seen.push(argv); return { code: 0, stdout: out, stderr: '' }; }), '10.4.0.2')).toBe(3.46);
    expect(seen[0]).toEqual(['ping', '-n', '-c', '5', '-i', '0.2', '-W', '1', '10.4.0.2']);
    // four replies (one lost): the mean of the middle two
    expect(medianRtt(`${reply(1, '3')}${reply(2, '5')}${reply(3, '4')}${reply(5, '9')}`)).toBe(4.5);
    expect(medianRtt(`${reply(1, '0.043')}`)).toBe(0.043);
    expect(await measureRtt(new Recorded(root, () => ({ code: 1, stdout: '5 packets transmitted, 0 received, 100% packet loss', stderr: '' })), '10.4.0.2')).toBeNull();
    expect(await measureRtt(new RecordingExecutor(root), '10.4.0.2')).toBeUndefined();
  });
});

describe('ShellExecutor', () => {
  let root: string;
  beforeEach(() => { root = mkdtempSync(path.join(tmpdir(), 'sw-agent-')); });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('runs commands, reports failures with stderr, and records what it only records', async () => {
    const ex = new ShellExecutor({ root, recordOnly: ['kubeadm'] });
    expect(await ex.capture(['sh', '-c', 'echo out; echo err >&2; exit 3'])).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    await expect(ex.run(['sh', '-c', 'echo boom >&2; exit 2'])).rejects.toThrow(/exited with 2: boom/);
    expect(await ex.capture(['kubeadm', 'init'])).toBeNull();
    expect((await ex.capture(['no-such-binary-here']))?.code).toBe(127);
    const log = readFileSync(path.join(root, 'var/lib/skyweave/commands.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; ran: boolean });
    expect(log.find((l) => l.argv[0] === 'kubeadm')).toMatchObject({ ran: false });
    expect(log.filter((l) => l.ran)).toHaveLength(3);
  });

  it('with runOnly, runs only those commands and records every other one (a sandbox VM with only kubeadm and kubectl)', async () => {
    const ex = new ShellExecutor({ root, runOnly: ['sh'] });
    expect(await ex.capture(['sh', '-c', 'echo ran'])).toEqual({ code: 0, stdout: 'ran\n', stderr: '' });
    expect(await ex.capture(['wg', 'set', 'wg0'])).toBeNull();
    await ex.run(['ip', 'link', 'add', 'wg0', 'type', 'wireguard']);
    const log = readFileSync(path.join(root, 'var/lib/skyweave/commands.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { argv: string[]; ran: boolean });
    expect(log.map((l) => [l.argv[0], l.ran])).toEqual([['sh', true], ['wg', false], ['ip', false]]);
  });

  it('kills a command after its own timeout (exit 124, said in stderr)', async () => {
    const ex = new ShellExecutor({ root, timeoutSeconds: 60 });
    const r = await ex.capture(['sleep', '5'], { timeoutSeconds: 0.2 });
    expect(r).toMatchObject({ code: 124, stderr: 'killed after 0.2 s' });
  });
});
