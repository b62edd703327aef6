/**
 * The sandbox's one pool of public IPv4 addresses, shared by all four clouds.
 *
 * Why one pool: a real public address is globally unique, so two clouds can never hand out the same one. The sandbox
 * must hold to that as well: clients (and the mesh) use public addresses as endpoints, and in the `netns` VM network
 * every VM's public address sits on one shared bridge, where a duplicate would make ARP answer from two namespaces.
 *
 * The addresses come from the documentation ranges of RFC 5737 (TEST-NET-2 198.51.100.0/24, TEST-NET-3
 * 203.0.113.0/24), which are never routed on the internet, so nothing the sandbox hands out can reach a real host.
 */
export type PublicRange = '198.51.100.0/24' | '203.0.113.0/24';

/** Both ranges, in the order in which addresses are handed out by default. */
export const PUBLIC_RANGES: readonly PublicRange[] = ['198.51.100.0/24', '203.0.113.0/24'];

/** Options of one allocation: each cloud keeps the address plan it had (see its call site). */
export interface PublicIpRequest {
  /** Ranges to take the address from, in order of preference; default both (TEST-NET-2 first). */
  ranges?: readonly PublicRange[];
  /**
   * Never hand out `.1` of a range. DigitalOcean reports `.1` of the droplet's /24 as its public gateway, so a droplet
   * must not own it. Default false (the other clouds hand out `.1` .. `.254`).
   */
  skipGateway?: boolean;
}

/**
 * Allocates and releases public addresses; one instance per emulator, given to every cloud module through
 * `CloudContext.publicIps`.
 *
 * Order: addresses never handed out come first, lowest first; once a range is used up, the free address released
 * longest ago is reused. Reason: a fresh sandbox hands out the same first addresses each cloud handed out before
 * the pool was shared (AWS, GCP: 198.51.100.1; Azure: 203.0.113.1; DigitalOcean: 198.51.100.2), and an address is
 * not reused right after its release, when a VM that held it may still be tearing down (namespace on the bridge,
 * neighbour caches of other VMs).
 */
export class PublicIpAllocator {
  private readonly used = new Set<string>();
  /** Free addresses that were handed out before → sequence number of their release (lower = longer ago). */
  private readonly released = new Map<string, number>();
  private releases = 0;

  /**
   * A free address from the requested ranges, now marked in use; `undefined` when every candidate is taken (each cloud
   * turns that into its own quota or capacity error).
   */
  allocate(req: PublicIpRequest = {}): string | undefined {
    let reuse: { ip: string; seq: number } | undefined;
    for (const range of req.ranges ?? PUBLIC_RANGES) {
      const prefix = range.slice(0, range.lastIndexOf('.'));
      for (let host = req.skipGateway ? 2 : 1; host < 255; host += 1) {
        const ip = `${prefix}.${host}`;
        if (this.used.has(ip)) continue;
        const seq = this.released.get(ip);
        if (seq === undefined) return this.take(ip);
        if (!reuse || seq < reuse.seq) reuse = { ip, seq };
      }
    }
    return reuse ? this.take(reuse.ip) : undefined;
  }

  /** Returns an address to the pool. Releasing an address that is not in use is a no-op (deletes can repeat). */
  release(ip: string): void {
    if (!this.used.delete(ip)) return;
    this.releases += 1;
    this.released.set(ip, this.releases);
  }

  /** Whether an address is currently handed out (to any cloud). */
  inUse(ip: string): boolean {
    return this.used.has(ip);
  }

  private take(ip: string): string {
    this.used.add(ip);
    this.released.delete(ip);
    return ip;
  }
}
