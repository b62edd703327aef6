import type { AgentApi } from '@skyweave/contracts';
import type { Executor } from './executor';

/** How WireGuard runs on this node. */
export interface WireguardOptions {
  /** Interface name (`wg0` on a VM; unique per namespace-VM in the sandbox, since wireguard-go's socket folder is shared). */
  interface: string;
  /** `true`: wireguard-go (userspace, Debian `wireguard-go`); `false`: the kernel module (`ip link add … type wireguard`). */
  userspace: boolean;
}

/** Where the node's WireGuard private key lives (0600; it never leaves the node). */
export const PRIVATE_KEY_PATH = '/etc/wireguard/private.key';

/** The wg(8) configuration file of an interface, as `wg syncconf` reads it. */
export const confPath = (iface: string) => `/etc/wireguard/${iface}.conf`;

/**
 * Renders a wg(8) configuration (not wg-quick's: no Address/MTU keys, those are set with `ip`): the interface's
 * private key and listen port, then one [Peer] per mesh peer with its public key, endpoint, allowed IPs and keepalive.
 */
export function renderWgConf(privateKey: string, mesh: AgentApi.MeshConfig): string {
  const lines = ['[Interface]', `PrivateKey = ${privateKey}`, `ListenPort = ${mesh.interface.listenPort}`];
  for (const p of mesh.peers) {
    lines.push('', `# ${p.nodeName} (${p.cloud})`, '[Peer]', `PublicKey = ${p.publicKey}`, `Endpoint = ${p.endpoint}`,
      `AllowedIPs = ${p.allowedIps.join(', ')}`, `PersistentKeepalive = ${p.persistentKeepaliveSeconds}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Routes the interface's own address does not cover: peers' pod ranges and whatever else they carry beyond /32s in the overlay. */
export function extraRoutes(mesh: AgentApi.MeshConfig): string[] {
  const overlay = mesh.interface.address.split('/')[0].split('.').slice(0, 2).join('.');
  return [...new Set(mesh.peers.flatMap((p) => p.allowedIps))].filter((c) => !(c.startsWith(`${overlay}.`) && c.endsWith('/32'))).sort();
}

/**
 * Keeps the node's WireGuard interface in the platform's configuration. The first `apply` creates the interface
 * (wireguard-go or the kernel module), sets its address and MTU and brings it up; every `apply` writes the wg(8)
 * configuration and runs `wg syncconf` (which adds, changes and removes peers without dropping live sessions), then
 * makes the routes to peers' pod ranges match.
 */
export class WireguardInterface {
  private up = false;
  private routes = new Set<string>();

  constructor(private readonly ex: Executor, private readonly opts: WireguardOptions, private readonly privateKey: string) {}

  /** @throws Error when a command fails (the caller retries on the next configuration). */
  async apply(mesh: AgentApi.MeshConfig): Promise<void> {
    const dev = this.opts.interface;
    if (!this.up) {
      const exists = await this.ex.capture(['ip', 'link', 'show', 'dev', dev]);
      if (!exists || exists.code !== 0) {
        if (this.opts.userspace) await this.ex.run(['wireguard-go', dev], { env: { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' } });
        else await this.ex.run(['ip', 'link', 'add', 'dev', dev, 'type', 'wireguard']);
      }
      await this.ex.run(['ip', 'address', 'replace', mesh.interface.address, 'dev', dev]);
      await this.ex.run(['ip', 'link', 'set', 'dev', dev, 'mtu', String(mesh.interface.mtu), 'up']);
      this.up = true;
    }
    this.ex.writeFile(confPath(dev), renderWgConf(this.privateKey, mesh), 0o600);
    await this.ex.run(['wg', 'syncconf', dev, this.ex.path(confPath(dev))]);
    const wanted = new Set(extraRoutes(mesh));
    for (const r of wanted) if (!this.routes.has(r)) await this.ex.run(['ip', 'route', 'replace', r, 'dev', dev]);
    for (const r of this.routes) if (!wanted.has(r)) await this.ex.capture(['ip', 'route', 'del', r, 'dev', dev]);
    this.routes = wanted;
  }
}

/** Echo requests per measurement of {@link measureRtt}. */
export const RTT_PROBES = 5;

/**
 * The median of a measurement's round trips, milliseconds, from iputils `ping` output (one `time=X ms` line per
 * reply); `null` when nothing answered.
 */
export function medianRtt(pingOutput: string): number | null {
  const times = [...pingOutput.matchAll(/\btime[=<]([\d.]+)\s*ms/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  if (!times.length) return null;
  const mid = Math.floor(times.length / 2);
  return times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
}

/**
 * Measures the round trip to `address`: {@link RTT_PROBES} pings 200 ms apart (1 s timeout each), reporting their
 * median. The median, not the mean, because the CrossCloudLatency condition judges the path (the regions' distance,
 * seeds 000–002), and one reply delayed by a busy VM or a lost-and-retried packet must not flip it.
 * @returns milliseconds, `null` when no answer came, `undefined` when the executor only records.
 */
export async function measureRtt(ex: Executor, address: string): Promise<number | null | undefined> {
  const r = await ex.capture(['ping', '-n', '-c', String(RTT_PROBES), '-i', '0.2', '-W', '1', address]);
  if (r === null) return undefined;
  return medianRtt(r.stdout);
}
