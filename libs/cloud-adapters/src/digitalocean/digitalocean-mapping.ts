import { doTag, FirewallRule, NodeRole, resourcePrefix, TAG_CLUSTER } from '@skyweave/domain';
import type { CloudResource, Instance, InstanceState } from '../cloud-provider';

/**
 * Pure mapping between Skyweave's model and DigitalOcean API v2 objects (as `dots-wrapper` types them), and the
 * naming/ownership conventions of Skyweave resources on DigitalOcean:
 * - Droplets carry string tags `skyweave-cluster:<uuid>`, `skyweave-node:<uuid>`, `skyweave-role:<role>` and the
 *   role's firewall target tag `skyweave-<role>:<uuid>`.
 * - VPCs have no tags: name `<prefix>-vpc`, description `skyweave-cluster=<uuid>`.
 * - Firewalls' `tags` are their targets: `<prefix>-<role>` targets `skyweave-<role>:<uuid>`.
 */

export const ROLES: readonly NodeRole[] = ['master', 'worker'];

/** The image every Skyweave Droplet boots. */
export const DEFAULT_IMAGE = 'ubuntu-24-04-x64';

export const vpcName = (namePrefix: string): string => `${namePrefix}-vpc`;
export const vpcDescription = (clusterId: string): string => `${TAG_CLUSTER}=${clusterId}`;
export const firewallName = (namePrefix: string, role: NodeRole): string => `${namePrefix}-${role}`;
/** The tag a role's firewall targets; put on every Droplet of that role (only characters DigitalOcean allows in tags). */
export const firewallTargetTag = (role: NodeRole, clusterId: string): string => doTag(`skyweave-${role}`, clusterId);
export const clusterTag = (clusterId: string): string => doTag(TAG_CLUSTER, clusterId);

/** `key:value` tag strings as key → value, split on the first colon (a tag without a colon maps to ''). */
export function splitDoTags(tags: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) {
    const i = t.indexOf(':');
    if (i < 0) out[t] = '';
    else out[t.slice(0, i)] = t.slice(i + 1);
  }
  return out;
}

/** The parts of a DigitalOcean VPC this adapter reads. */
export interface DoVpcLike { id: string; name: string; description?: string; region: string; ip_range: string }

/** True when the VPC belongs to the cluster in that region (ownership is the description, which DigitalOcean keeps verbatim). */
export const isOwnedVpc = (v: DoVpcLike, clusterId: string, region: string): boolean =>
  v.region === region && (v.description ?? '').trim() === vpcDescription(clusterId);

/** The parts of a DigitalOcean firewall this adapter reads. */
export interface DoFirewallLike {
  id?: string;
  name: string;
  tags?: string[];
  inbound_rules?: DoInboundRule[] | null;
}

/**
 * The role of a firewall owned by the cluster, or undefined: its name is `<prefix>-<role>` and it targets
 * `skyweave-<role>:<clusterId>`. `namePrefix` defaults to the cluster's `resourcePrefix`.
 */
export function ownedFirewallRole(f: DoFirewallLike, clusterId: string, namePrefix = resourcePrefix(clusterId)): NodeRole | undefined {
  return ROLES.find((role) => f.name === firewallName(namePrefix, role) && (f.tags ?? []).includes(firewallTargetTag(role, clusterId)));
}

export interface DoRuleTargets { addresses?: string[]; droplet_ids?: number[]; load_balancer_uids?: string[]; kubernetes_ids?: string[]; tags?: string[] }
export interface DoInboundRule { protocol: string; ports: string; sources: DoRuleTargets }
export interface DoOutboundRule { protocol: string; ports: string; destinations: DoRuleTargets }

/** Ports as DigitalOcean writes them: `"6443"` or `"30000-32767"`. */
export const toDoPorts = (from: number, to: number): string => (from === to ? String(from) : `${from}-${to}`);

/** Parses DigitalOcean `ports`: one port, a range, or `0`/`all`/empty (every port ⇒ 1–65535). */
export function parseDoPorts(ports: string | undefined): { from: number; to: number } | undefined {
  const p = (ports ?? '').trim();
  if (p === '' || p === '0' || p === 'all') return { from: 1, to: 65535 };
  const m = /^(\d+)(?:-(\d+))?$/.exec(p);
  if (!m) return undefined;
  const from = Number(m[1]);
  return { from, to: m[2] === undefined ? from : Number(m[2]) };
}

/** The seed plan's inbound rules as DigitalOcean inbound rules (one per plan rule, source as an address). */
export const planToInboundRules = (rules: readonly FirewallRule[]): DoInboundRule[] =>
  rules.map((r) => ({ protocol: r.protocol, ports: toDoPorts(r.fromPort, r.toPort), sources: { addresses: [r.source] } }));

/** DigitalOcean denies all outbound traffic a firewall does not allow: allow everything out, as its console default does. */
export const ALLOW_ALL_OUTBOUND: DoOutboundRule[] = [
  { protocol: 'tcp', ports: '0', destinations: { addresses: ['0.0.0.0/0', '::/0'] } },
  { protocol: 'udp', ports: '0', destinations: { addresses: ['0.0.0.0/0', '::/0'] } },
  { protocol: 'icmp', ports: '0', destinations: { addresses: ['0.0.0.0/0', '::/0'] } },
];

/**
 * DigitalOcean inbound rules as Skyweave rules: one per (rule, source). ICMP rules are left out (the plan has none);
 * non-address sources are reported as `tag:<name>`, `droplet:<id>`, `load-balancer:<uid>`, `kubernetes:<id>`, so a
 * drift check sees them.
 */
export function inboundToFirewallRules(rules: readonly DoInboundRule[] | null | undefined): FirewallRule[] {
  const out: FirewallRule[] = [];
  for (const r of rules ?? []) {
    if (r.protocol !== 'tcp' && r.protocol !== 'udp') continue;
    const ports = parseDoPorts(r.ports);
    if (!ports) continue;
    const s = r.sources ?? {};
    const sources = [
      ...(s.addresses ?? []),
      ...(s.tags ?? []).map((t) => `tag:${t}`),
      ...(s.droplet_ids ?? []).map((d) => `droplet:${d}`),
      ...(s.load_balancer_uids ?? []).map((l) => `load-balancer:${l}`),
      ...(s.kubernetes_ids ?? []).map((k) => `kubernetes:${k}`),
    ];
    for (const source of sources) out.push({ protocol: r.protocol, fromPort: ports.from, toPort: ports.to, source, description: '' });
  }
  return out;
}

/** The parts of a DigitalOcean Droplet this adapter reads. */
export interface DoDropletLike {
  id: number;
  name: string;
  status: string;
  size_slug?: string;
  region?: { slug: string } | string | null;
  networks?: { v4?: { ip_address: string; type: string }[] } | null;
  tags?: string[] | null;
  vpc_uuid?: string | null;
}

/** Droplet status → instance state: `new` → pending, `active` → running, `off` → stopped, `archive` → terminated. */
export function dropletState(status: string): InstanceState {
  switch (status) {
    case 'active':
      return 'running';
    case 'off':
      return 'stopped';
    case 'archive':
      return 'terminated';
    default:
      return 'pending';
  }
}

export const dropletRegion = (d: DoDropletLike): string | undefined => (typeof d.region === 'string' ? d.region : d.region?.slug);

export function dropletToInstance(d: DoDropletLike): Instance {
  const v4 = d.networks?.v4 ?? [];
  return {
    id: String(d.id),
    name: d.name,
    state: dropletState(d.status),
    instanceType: d.size_slug ?? '',
    privateIp: v4.find((n) => n.type === 'private')?.ip_address,
    publicIp: v4.find((n) => n.type === 'public')?.ip_address,
    vpcId: d.vpc_uuid || undefined,
    tags: splitDoTags(d.tags ?? []),
  };
}

export const vpcResource = (v: DoVpcLike, clusterId: string): CloudResource => ({ kind: 'vpc', id: v.id, name: v.name, tags: { [TAG_CLUSTER]: clusterId } });

/** A firewall as a tagged resource: its target tags split, plus the owning cluster (firewalls have no tags of their own). */
export const firewallResource = (f: DoFirewallLike, clusterId: string): CloudResource => ({
  kind: 'firewall',
  id: f.id ?? '',
  name: f.name,
  tags: { ...splitDoTags(f.tags ?? []), [TAG_CLUSTER]: clusterId },
});

/** The cluster a VPC's description names (`skyweave-cluster=<id>`), or undefined. */
export function vpcClusterId(v: DoVpcLike): string | undefined {
  const d = (v.description ?? '').trim();
  const id = d.startsWith(`${TAG_CLUSTER}=`) ? d.slice(TAG_CLUSTER.length + 1) : '';
  return id && !/\s/.test(id) ? id : undefined;
}

/**
 * The cluster and role of a Skyweave firewall of any cluster, or undefined: a target tag `skyweave-<role>:<id>` and
 * the name `<resourcePrefix(id)>-<role>` that goes with it.
 */
export function firewallOwner(f: DoFirewallLike): { clusterId: string; role: NodeRole } | undefined {
  for (const t of f.tags ?? []) {
    const m = /^skyweave-(master|worker):(.+)$/.exec(t);
    if (!m) continue;
    const role = m[1] as NodeRole;
    if (f.name === firewallName(resourcePrefix(m[2]), role)) return { clusterId: m[2], role };
  }
  return undefined;
}

export const dropletResource = (d: DoDropletLike): CloudResource => ({ kind: 'droplet', id: String(d.id), name: d.name, tags: splitDoTags(d.tags ?? []) });
