import * as ipaddr from 'ipaddr.js';
import { ADDRESS_PLAN } from './address-plan';
import { CloudId } from './cloud';
import type { NodeRole } from './node-role';
import { WIREGUARD_PORT } from './firewall';
import { ConditionReason } from './conditions';


/** Keepalive sent to each peer, in seconds, so NAT mappings and stateful cloud firewalls stay open (wg(8)). */
export const PERSISTENT_KEEPALIVE_SECONDS = 25;

/**
 * How nodes are meshed.
 * - `full`: every node peers with every other node (default).
 * - `cross-location`: seed 004's alternative. A location is one cloud; inside it nodes peer with each other, and only
 *   one leader per location (its master, else its first node by name) peers with the other locations' leaders,
 *   carrying their traffic (as squat/kilo's location granularity). Fewer tunnels: n + l² instead of n².
 */
export type MeshMode = 'full' | 'cross-location';
export const MESH_MODES: readonly MeshMode[] = ['full', 'cross-location'];

/** The MTU of the underlying links per cloud, in bytes (GCP VPCs default to 1460; the others to 1500 on the internet path). */
export const UNDERLAY_MTU: Record<CloudId, number> = { aws: 1500, gcp: 1460, azure: 1500, digitalocean: 1500 };

/** WireGuard's worst-case overhead per packet over IPv6 underlay, in bytes (40 IPv6 + 8 UDP + 32 WireGuard). */
export const WIREGUARD_OVERHEAD = 80;

/**
 * The WireGuard interface MTU for a cluster spanning `clouds`: the smallest underlay MTU minus WireGuard's
 * overhead, so an encapsulated full-size packet never fragments (1380 with GCP in the cluster, 1420 without).
 * @throws Error when `clouds` is empty.
 */
export function wireguardMtu(clouds: readonly CloudId[]): number {
  if (clouds.length === 0) throw new Error('wireguardMtu: a cluster has at least one cloud');
  return Math.min(...clouds.map((c) => UNDERLAY_MTU[c])) - WIREGUARD_OVERHEAD;
}

const WG_NET = ipaddr.IPv4.parseCIDR(ADDRESS_PLAN.wireguard);
const WG_BASE = WG_NET[0].toByteArray().reduce((a, b) => a * 256 + b, 0);
const WG_SIZE = 2 ** (32 - WG_NET[1]);

const toIp = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const toInt = (ip: string) => ipaddr.IPv4.parse(ip).toByteArray().reduce((a, b) => a * 256 + b, 0);

/**
 * Allocates `count` WireGuard addresses for a cluster from the address plan's `10.4.0.0/16` (seed 004, "Subnets"),
 * lowest free first, skipping the network and broadcast addresses. Addresses of removed nodes are reused.
 * @param used addresses (dotted quads) already held by the cluster's nodes.
 * @returns dotted quads such as `10.4.0.1`, in allocation order.
 * @throws Error when fewer than `count` addresses are free (65,534 per cluster).
 */
export function allocateWireguardAddresses(used: readonly string[], count: number): string[] {
  const taken = new Set(used.map(toInt));
  const out: string[] = [];
  for (let n = WG_BASE + 1; n < WG_BASE + WG_SIZE - 1 && out.length < count; n++) {
    if (!taken.has(n)) out.push(toIp(n));
  }
  if (out.length < count) throw new Error(`no free WireGuard address left in ${ADDRESS_PLAN.wireguard}`);
  return out;
}

/** The prefix length given to every node's WireGuard address (the whole overlay is on-link through the interface). */
export const WIREGUARD_PREFIX_LENGTH = WG_NET[1];

/** What the mesh needs to know about a node. */
export interface MeshMember {
  id: string;
  name: string;
  cloud: CloudId;
  role: NodeRole;
  /** Overlay address from 10.4.0.0/16 (dotted quad). */
  wireguardAddress: string;
  /** Base64 public key, known once the node registered. */
  wireguardPublicKey: string | null;
  privateIp: string | null;
  publicIp: string | null;
  /** The node's pod range (from Kubernetes node IPAM), once known. */
  podCidr: string | null;
}

/** One peer in a node's WireGuard configuration (wg(8) terms). */
export interface MeshPeer {
  nodeId: string;
  nodeName: string;
  cloud: CloudId;
  /** The peer's overlay address (dotted quad), e.g. to measure round trips to it. */
  address: string;
  publicKey: string;
  /** `ip:port`. The private IP for a peer in the same cloud (same VPC, no egress charge), else the public IP. */
  endpoint: string;
  /** CIDRs routed to this peer: its /32 overlay address, its pod range, and in cross-location mode the ranges it forwards for. */
  allowedIps: string[];
  persistentKeepaliveSeconds: number;
}

const reachable = (m: MeshMember): m is MeshMember & { wireguardPublicKey: string } =>
  m.wireguardPublicKey !== null && (m.publicIp !== null || m.privateIp !== null);

function endpointFor(self: MeshMember, peer: MeshMember): string | null {
  const ip = peer.cloud === self.cloud ? peer.privateIp ?? peer.publicIp : peer.publicIp;
  return ip ? `${ip}:${WIREGUARD_PORT}` : null;
}

const ownRanges = (m: MeshMember) => [`${m.wireguardAddress}/32`, ...(m.podCidr ? [m.podCidr] : [])];

/** The leader of each location (cloud): its first master by name, else its first node by name. */
function leaders(members: readonly MeshMember[]): Map<CloudId, MeshMember> {
  const out = new Map<CloudId, MeshMember>();
  const sorted = [...members].sort((a, b) => (a.role === b.role ? a.name.localeCompare(b.name) : a.role === 'master' ? -1 : 1));
  for (const m of sorted) if (!out.has(m.cloud)) out.set(m.cloud, m);
  return out;
}

/**
 * The peers of `self` in a cluster whose live members are `members` (including `self`; nodes being removed must be
 * left out by the caller). Members that have not registered a public key, or have no address yet, are skipped until
 * they do. Sorted by node name, so equal inputs give equal outputs.
 */
export function meshPeers(self: MeshMember, members: readonly MeshMember[], mode: MeshMode = 'full'): MeshPeer[] {
  const others = members.filter(reachable).filter((m) => m.id !== self.id);
  const peer = (m: MeshMember & { wireguardPublicKey: string }, allowedIps: string[]): MeshPeer[] => {
    const endpoint = endpointFor(self, m);
    return endpoint ? [{ nodeId: m.id, nodeName: m.name, cloud: m.cloud, address: m.wireguardAddress, publicKey: m.wireguardPublicKey, endpoint, allowedIps, persistentKeepaliveSeconds: PERSISTENT_KEEPALIVE_SECONDS }] : [];
  };
  let peers: MeshPeer[];
  if (mode === 'full') {
    peers = others.flatMap((m) => peer(m, ownRanges(m)));
  } else {
    const lead = leaders([...members.filter(reachable), ...(reachable(self) ? [] : [self])]);
    const myLeader = lead.get(self.cloud);
    const iAmLeader = myLeader?.id === self.id;
    const rangesOf = (cloud: CloudId) => members.filter((m) => m.cloud === cloud).flatMap(ownRanges);
    const foreign = members.filter((m) => m.cloud !== self.cloud).flatMap(ownRanges);
    peers = others.flatMap((m) => {
      if (m.cloud === self.cloud) {
        // inside the location: direct; a non-leader sends every other location's traffic through its leader
        return peer(m, !iAmLeader && m.id === myLeader?.id ? [...ownRanges(m), ...foreign] : ownRanges(m));
      }
      // across locations: leaders only, each carrying its whole location
      return iAmLeader && lead.get(m.cloud)?.id === m.id ? peer(m, rangesOf(m.cloud)) : [];
    });
  }
  return peers.sort((a, b) => a.nodeName.localeCompare(b.nodeName));
}

/** One node's latest round trips to its peers, as node-agents report them. */
export interface LatencyMember {
  id: string;
  name: string;
  cloud: CloudId;
  /** By peer node id: round trip in milliseconds (null: no answer) and when it was measured (ISO-8601). */
  peerLatencies: Record<string, { rttMs: number | null; at: string }>;
}

/** The verdict on a cluster's measured cross-cloud latency (the `CrossCloudLatency` condition). */
export interface LatencyAssessment {
  status: 'True' | 'False' | 'Unknown';
  reason: typeof ConditionReason.WithinBudget | typeof ConditionReason.OverBudget | typeof ConditionReason.NotMeasured;
  message: string;
  /** The slowest cross-cloud pair, when any was measured: node names and round trip in milliseconds. */
  worst?: { a: string; b: string; rttMs: number };
}

/**
 * Judges the measured round trips between nodes of different clouds against the budget (seeds 000–002: "cross-cloud
 * latency must not go above 10 ms"). A pair's round trip is the higher of its two directions' latest samples;
 * samples older than `maxAgeMs` and pairs with a member not in `members` are ignored; unanswered probes are counted
 * in the message but do not decide the status (a peer still bringing its tunnel up is not slow).
 * @param budgetMs milliseconds (MAX_CROSS_CLOUD_LATENCY_MS).
 */
export function assessCrossCloudLatency(members: readonly LatencyMember[], budgetMs: number, now: Date, maxAgeMs = 120_000): LatencyAssessment {
  const byId = new Map(members.map((m) => [m.id, m]));
  const pairs = new Map<string, { a: LatencyMember; b: LatencyMember; rttMs: number | null }>();
  for (const m of members) {
    for (const [peerId, s] of Object.entries(m.peerLatencies)) {
      const p = byId.get(peerId);
      if (!p || p.cloud === m.cloud || now.getTime() - Date.parse(s.at) > maxAgeMs) continue;
      const [a, b] = m.name < p.name ? [m, p] : [p, m];
      const key = `${a.id}|${b.id}`;
      const prev = pairs.get(key);
      const known = [prev?.rttMs, s.rttMs].filter((v): v is number => typeof v === 'number');
      pairs.set(key, { a, b, rttMs: known.length ? Math.max(...known) : null });
    }
  }
  const measured = [...pairs.values()].filter((p): p is { a: LatencyMember; b: LatencyMember; rttMs: number } => p.rttMs !== null);
  const silent = pairs.size - measured.length;
  const silentNote = silent ? `; ${silent} pair(s) not answering` : '';
  if (measured.length === 0) return { status: 'Unknown', reason: ConditionReason.NotMeasured, message: `no cross-cloud round trip measured yet${silentNote}` };
  const w = measured.reduce((x, y) => (y.rttMs > x.rttMs ? y : x));
  const worst = { a: w.a.name, b: w.b.name, rttMs: w.rttMs };
  const pair = `${w.a.name} (${w.a.cloud}) ↔ ${w.b.name} (${w.b.cloud}) ${w.rttMs.toFixed(1)} ms`;
  return w.rttMs > budgetMs
    ? { status: 'False', reason: ConditionReason.OverBudget, message: `worst cross-cloud pair ${pair}, above the ${budgetMs} ms budget${silentNote}`, worst }
    : { status: 'True', reason: ConditionReason.WithinBudget, message: `worst cross-cloud pair ${pair}, within the ${budgetMs} ms budget (${measured.length} pair(s) measured)${silentNote}`, worst };
}
