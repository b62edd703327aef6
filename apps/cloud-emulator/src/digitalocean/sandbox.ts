import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { CloudContext, InventoryItem } from '../core/types';
import { isVisible, stampNow } from '../core/consistency';
import { findImage, findRegion, findSize } from './catalog';
import { conflict, DoApiError, forbidden, notFound, unprocessable } from './errors';
import { Account, DropletRec, FirewallRec, FirewallRuleRec, RuleTargets, TagRec, VpcRec } from './model';
import { intToIp, ipToInt, isAddressOrCidr, isRfc1918, netmaskOf, parseIpv4Network, rangesOverlap, Ipv4Range } from './net';
import {
  Body,
  checkTagName,
  DROPLET_NAME_RE,
  FIREWALL_NAME_RE,
  optArray,
  optBool,
  optIntArray,
  optString,
  optStringArray,
  reqString,
  VPC_NAME_RE,
} from './validation';

/** Account limits as DigitalOcean sets them for a new account. */
export const DEFAULT_DROPLET_LIMIT = 25;
/** A firewall holds at most 50 inbound and outbound rules combined. */
export const MAX_FIREWALL_RULES = 50;
/** user_data is plain text of at most 64 KiB. */
export const MAX_USER_DATA_BYTES = 64 * 1024;

/** Where DigitalOcean-style automatic VPC ranges (`ip_range` omitted, default VPCs) are chosen: /20s from 10.104.0.0. */
const AUTO_RANGE = { first: ipToInt('10.104.0.0'), last: ipToInt('10.255.240.0'), prefix: 20 };

const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** `key:value` tag strings as key → value (split on the first colon; a tag without one maps to ''). */
export function splitTags(tags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags) {
    const i = t.indexOf(':');
    if (i < 0) out[t] = '';
    else out[t.slice(0, i)] = t.slice(i + 1);
  }
  return out;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The DigitalOcean half of the sandbox: accounts and their VPCs, firewalls, Droplets and tags, with the rules the
 * real API enforces. Every method either returns the new state or throws `DoApiError` in DigitalOcean's shape.
 */
export class DoSandbox {
  private readonly byToken = new Map<string, Account>();
  private nextDropletId = 400_000_000 + randomInt(1_000_000);

  constructor(private readonly ctx: CloudContext) {}

  /** Eventual consistency: whether reads may see a resource yet (core/consistency.ts); an unseen one reads as missing. */
  private seen(r: { createdAtMs: number }): boolean {
    return isVisible(this.ctx, 'digitalocean', r.createdAtMs);
  }

  private stamp(): number {
    return stampNow(this.ctx);
  }

  // ---- accounts ----

  /** A new account with a fresh personal access token (`dop_v1_` + 64 hex). */
  createAccount(): Account {
    const token = `dop_v1_${randomBytes(32).toString('hex')}`;
    const uuid = randomUUID();
    const acct: Account = {
      uuid,
      token,
      email: `sandbox-${uuid.slice(0, 8)}@example.com`,
      dropletLimit: DEFAULT_DROPLET_LIMIT,
      vpcs: new Map(),
      firewalls: new Map(),
      droplets: new Map(),
      tags: new Map(),
    };
    this.byToken.set(token, acct);
    return acct;
  }

  authenticate(token: string | undefined): Account | undefined {
    return token ? this.byToken.get(token) : undefined;
  }

  inventory(): InventoryItem[] {
    const items: InventoryItem[] = [];
    for (const a of this.byToken.values()) {
      for (const v of a.vpcs.values()) {
        // VPCs have no tags in DigitalOcean; ownership is carried in the description (`skyweave-cluster=<uuid>`).
        const m = /(?:^|\s)skyweave-cluster=([0-9a-f-]{36})(?:\s|$)/i.exec(v.description);
        items.push({ cloud: 'digitalocean', account: a.uuid, region: v.region, kind: 'vpc', id: v.id, name: v.name, tags: m ? { 'skyweave-cluster': m[1] } : {} });
      }
      for (const f of a.firewalls.values()) {
        // A firewall's `tags` are its targets. A target tag `skyweave-<role>:<cluster uuid>` names the owning cluster.
        const tags = splitTags(f.tags);
        const owner = Object.entries(tags).find(([k, v]) => k.startsWith('skyweave-') && UUID_RE.test(v));
        if (owner && tags['skyweave-cluster'] === undefined) tags['skyweave-cluster'] = owner[1];
        items.push({ cloud: 'digitalocean', account: a.uuid, kind: 'firewall', id: f.id, name: f.name, tags });
      }
      for (const d of a.droplets.values()) {
        items.push({ cloud: 'digitalocean', account: a.uuid, region: d.region.slug, kind: 'droplet', id: String(d.id), name: d.name, tags: splitTags(d.tags) });
      }
    }
    return items;
  }

  // ---- tags ----

  private ensureTag(a: Account, name: string): TagRec {
    let t = a.tags.get(name);
    if (!t) {
      t = { name, createdAt: now() };
      a.tags.set(name, t);
    }
    return t;
  }

  /** `POST /v2/tags`. Creating an existing tag answers that tag. */
  createTag(a: Account, body: Body): TagRec {
    const name = checkTagName(reqString(body, 'name', 'name is required'));
    return this.ensureTag(a, name);
  }

  getTag(a: Account, name: string): TagRec {
    const t = a.tags.get(name);
    if (!t) throw notFound();
    return t;
  }

  listTags(a: Account): TagRec[] {
    return [...a.tags.values()];
  }

  /** `DELETE /v2/tags/{name}`: untags every resource (and firewall target) that carried it. */
  deleteTag(a: Account, name: string): void {
    if (!a.tags.delete(name)) throw notFound();
    for (const d of a.droplets.values()) d.tags = d.tags.filter((t) => t !== name);
    for (const f of a.firewalls.values()) f.tags = f.tags.filter((t) => t !== name);
  }

  // ---- VPCs ----

  private autoRange(a: Account): string {
    const taken = [...a.vpcs.values()].map((v) => parseIpv4Network(v.ipRange) as Ipv4Range);
    const size = 2 ** (32 - AUTO_RANGE.prefix);
    for (let n = AUTO_RANGE.first; n <= AUTO_RANGE.last; n += size) {
      const r: Ipv4Range = { base: n, prefix: AUTO_RANGE.prefix, size };
      if (!taken.some((t) => rangesOverlap(t, r))) return `${intToIp(n)}/${AUTO_RANGE.prefix}`;
    }
    throw unprocessable('no available ip_range could be allocated for this VPC');
  }

  /** `POST /v2/vpcs`. Reference: https://docs.digitalocean.com/reference/api/api-reference/#operation/vpcs_create */
  createVpc(a: Account, body: Body): VpcRec {
    const name = reqString(body, 'name', 'name is required');
    if (!VPC_NAME_RE.test(name)) throw unprocessable('name may only contain alphanumeric characters, dashes, and periods (255 characters at most)');
    const region = reqString(body, 'region', 'region is required');
    if (!findRegion(region)) throw unprocessable(`region "${region}" is not a valid region slug`);
    const description = optString(body, 'description') ?? '';
    if (description.length > 255) throw unprocessable('description may be at most 255 characters');
    const isDefault = optBool(body, 'default') ?? false;
    const rawRange = optString(body, 'ip_range');
    let ipRange: string;
    if (rawRange === undefined || rawRange === '') {
      ipRange = this.autoRange(a);
    } else {
      const r = parseIpv4Network(rawRange);
      if (!r) throw unprocessable(`ip_range "${rawRange}" is not a valid IPv4 CIDR network address`);
      if (!isRfc1918(r)) throw unprocessable('ip_range must be in a private address range as defined in RFC 1918');
      if (r.prefix < 16 || r.prefix > 28) throw unprocessable('ip_range may not be larger than /16 nor smaller than /28');
      const clash = [...a.vpcs.values()].find((v) => rangesOverlap(parseIpv4Network(v.ipRange) as Ipv4Range, r));
      if (clash) throw unprocessable(`ip_range ${rawRange} overlaps with the range ${clash.ipRange} of VPC network ${clash.name}`);
      ipRange = rawRange;
    }
    if ([...a.vpcs.values()].some((v) => v.region === region && v.name.toLowerCase() === name.toLowerCase())) {
      throw unprocessable(`a VPC network named ${name} already exists in region ${region}`);
    }
    if (isDefault) for (const v of a.vpcs.values()) if (v.region === region) v.isDefault = false;
    const vpc: VpcRec = { id: randomUUID(), createdAtMs: this.stamp(), name, description, region, ipRange, isDefault, createdAt: now() };
    a.vpcs.set(vpc.id, vpc);
    return vpc;
  }

  /** The VPC, for a mutation (sees everything). */
  private vpcOf(a: Account, id: string): VpcRec {
    const v = a.vpcs.get(id);
    if (!v) throw notFound();
    return v;
  }

  /** `GET /v2/vpcs/{id}` (404 while eventual consistency hides it). */
  getVpc(a: Account, id: string): VpcRec {
    const v = this.vpcOf(a, id);
    if (!this.seen(v)) throw notFound();
    return v;
  }

  listVpcs(a: Account): VpcRec[] {
    return [...a.vpcs.values()].filter((v) => this.seen(v));
  }

  /** `GET /v2/vpcs/{id}/members` (a read: Droplets reads cannot see yet are left out). */
  vpcMembers(a: Account, id: string, resourceType?: string): DropletRec[] {
    this.getVpc(a, id);
    if (resourceType !== undefined && resourceType !== 'droplet') return [];
    return [...a.droplets.values()].filter((d) => d.vpcUuid === id && this.seen(d));
  }

  /** `DELETE /v2/vpcs/{id}`: refused for a region's default VPC and for a VPC that still has members. */
  deleteVpc(a: Account, id: string): void {
    const v = this.vpcOf(a, id);
    if (v.isDefault) throw forbidden('Can not delete the default VPC network of a region');
    if ([...a.droplets.values()].some((d) => d.vpcUuid === id)) throw conflict('Can not delete VPC with members');
    a.vpcs.delete(id);
  }

  private defaultVpc(a: Account, region: string): VpcRec {
    const existing = [...a.vpcs.values()].find((v) => v.region === region && v.isDefault);
    if (existing) return existing;
    const vpc: VpcRec = { id: randomUUID(), createdAtMs: this.stamp(), name: `default-${region}`, description: '', region, ipRange: this.autoRange(a), isDefault: true, createdAt: now() };
    a.vpcs.set(vpc.id, vpc);
    return vpc;
  }

  // ---- firewalls ----

  private parseTargets(a: Account, raw: unknown, where: string): RuleTargets {
    if (raw === undefined || raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw unprocessable(`${where} is required`);
    }
    const body = raw as Body;
    const t: RuleTargets = {
      addresses: optStringArray(body, 'addresses'),
      droplet_ids: optIntArray(body, 'droplet_ids'),
      load_balancer_uids: optStringArray(body, 'load_balancer_uids'),
      kubernetes_ids: optStringArray(body, 'kubernetes_ids'),
      tags: optStringArray(body, 'tags'),
    };
    for (const addr of t.addresses ?? []) if (!isAddressOrCidr(addr)) throw unprocessable(`${where}.addresses: invalid address ${addr}`);
    for (const id of t.droplet_ids ?? []) if (!a.droplets.has(id)) throw unprocessable(`${where}.droplet_ids: droplet ${id} not found`);
    for (const uid of t.load_balancer_uids ?? []) throw unprocessable(`${where}.load_balancer_uids: load balancer ${uid} not found`);
    for (const kid of t.kubernetes_ids ?? []) throw unprocessable(`${where}.kubernetes_ids: kubernetes cluster ${kid} not found`);
    for (const tag of t.tags ?? []) if (!a.tags.has(checkTagName(tag))) throw unprocessable(`${where}.tags: tag ${tag} does not exist`);
    if (!Object.values(t).some((v) => Array.isArray(v) && v.length > 0)) throw unprocessable(`${where}: at least one address, droplet, load balancer, kubernetes cluster or tag is required`);
    return Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined)) as RuleTargets;
  }

  private parseRules(a: Account, body: Body, field: 'inbound_rules' | 'outbound_rules'): FirewallRuleRec[] {
    const raw = optArray(body, field) ?? [];
    return raw.map((item, i) => {
      const where = `${field}[${i}]`;
      if (typeof item !== 'object' || item === null || Array.isArray(item)) throw unprocessable(`${where} must be an object`);
      const r = item as Body;
      const protocol = reqString(r, 'protocol', `${where}.protocol is required`);
      if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'icmp') throw unprocessable(`${where}.protocol must be one of tcp, udp, icmp`);
      let ports = optString(r, 'ports');
      if (protocol === 'icmp') {
        ports = '0';
      } else {
        if (ports === undefined || ports === '') throw unprocessable(`${where}.ports is required for protocol ${protocol}`);
        if (!validPorts(ports)) throw unprocessable(`${where}.ports "${ports}" is invalid: use a port, a range such as 8000-9000, or 0 for all ports`);
      }
      const targets = this.parseTargets(a, field === 'inbound_rules' ? r.sources : r.destinations, `${where}.${field === 'inbound_rules' ? 'sources' : 'destinations'}`);
      return { protocol, ports, targets };
    });
  }

  private parseFirewall(a: Account, body: Body): Omit<FirewallRec, 'id' | 'createdAt' | 'createdAtMs' | 'status'> {
    const name = reqString(body, 'name', 'name is required');
    if (!FIREWALL_NAME_RE.test(name)) throw unprocessable('name must begin with an alphanumeric character, followed by alphanumerics, periods or dashes (255 characters at most)');
    const inbound = this.parseRules(a, body, 'inbound_rules');
    const outbound = this.parseRules(a, body, 'outbound_rules');
    if (inbound.length + outbound.length === 0) throw unprocessable('a firewall must have at least one inbound or outbound rule');
    if (inbound.length + outbound.length > MAX_FIREWALL_RULES) throw unprocessable(`a firewall may have at most ${MAX_FIREWALL_RULES} inbound and outbound rules combined`);
    const dropletIds = optIntArray(body, 'droplet_ids') ?? [];
    for (const id of dropletIds) if (!a.droplets.has(id)) throw unprocessable(`droplet_ids: droplet ${id} not found`);
    const tags = optStringArray(body, 'tags') ?? [];
    for (const t of tags) if (!a.tags.has(checkTagName(t))) throw unprocessable(`tags: tag ${t} does not exist`);
    return { name, inbound, outbound, dropletIds: [...new Set(dropletIds)], tags: [...new Set(tags)] };
  }

  /** `POST /v2/firewalls`. Reference: https://docs.digitalocean.com/reference/api/api-reference/#operation/firewalls_create */
  createFirewall(a: Account, body: Body): FirewallRec {
    const fw: FirewallRec = { id: randomUUID(), createdAtMs: this.stamp(), createdAt: now(), status: 'waiting', ...this.parseFirewall(a, body) };
    a.firewalls.set(fw.id, fw);
    return fw;
  }

  /** `PUT /v2/firewalls/{id}`: replaces the whole definition. */
  updateFirewall(a: Account, id: string, body: Body): FirewallRec {
    const fw = this.firewallOf(a, id);
    Object.assign(fw, this.parseFirewall(a, body), { status: 'waiting' });
    return fw;
  }

  /** The firewall, for a mutation (sees everything). */
  private firewallOf(a: Account, id: string): FirewallRec {
    const f = a.firewalls.get(id);
    if (!f) throw notFound();
    return f;
  }

  /** `GET /v2/firewalls/{id}` (404 while eventual consistency hides it). */
  getFirewall(a: Account, id: string): FirewallRec {
    const f = this.firewallOf(a, id);
    if (!this.seen(f)) throw notFound();
    return f;
  }

  listFirewalls(a: Account): FirewallRec[] {
    return [...a.firewalls.values()].filter((f) => this.seen(f));
  }

  deleteFirewall(a: Account, id: string): void {
    this.firewallOf(a, id);
    a.firewalls.delete(id);
  }

  // ---- Droplets ----

  private allocatePrivateIp(a: Account, vpc: VpcRec): string {
    const r = parseIpv4Network(vpc.ipRange) as Ipv4Range;
    const used = new Set([...a.droplets.values()].filter((d) => d.vpcUuid === vpc.id).map((d) => d.privateIp));
    // .0 is the network, .1 the VPC gateway, the last address broadcast.
    for (let n = r.base + 2; n < r.base + r.size - 1; n++) {
      const ip = intToIp(n);
      if (!used.has(ip)) return ip;
    }
    throw unprocessable(`VPC network ${vpc.name} has no free IP addresses left`);
  }

  /**
   * A public address from the sandbox-wide pool (documentation ranges of RFC 5737, never routable): `.2` .. `.254`,
   * because the droplet's network reports `.1` of its /24 as the public gateway.
   */
  private allocatePublicIp(): string | undefined {
    return this.ctx.publicIps.allocate({ skipGateway: true });
  }

  /** `POST /v2/droplets` (single Droplet). Reference: https://docs.digitalocean.com/reference/api/api-reference/#operation/droplets_create */
  createDroplet(a: Account, body: Body): DropletRec {
    if (body.names !== undefined) throw unprocessable('creating multiple Droplets with names[] is not supported by this sandbox');
    const name = reqString(body, 'name', 'name is required');
    if (!DROPLET_NAME_RE.test(name)) throw unprocessable('Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)');
    const sizeSlug = reqString(body, 'size', 'You specified an invalid size for Droplet creation.');
    const size = findSize(sizeSlug);
    if (!size) throw unprocessable('You specified an invalid size for Droplet creation.');
    const imageRef = body.image;
    if (typeof imageRef !== 'string' && typeof imageRef !== 'number') throw unprocessable('You specified an invalid image for Droplet creation.');
    const image = findImage(imageRef);
    if (!image) throw unprocessable('You specified an invalid image for Droplet creation.');
    const vpcUuid = optString(body, 'vpc_uuid');
    const vpc = vpcUuid !== undefined ? a.vpcs.get(vpcUuid) : undefined;
    if (vpcUuid !== undefined && !vpc) throw unprocessable(`vpc_uuid ${vpcUuid} is not a VPC network of this account`);
    const regionSlug = optString(body, 'region') ?? vpc?.region ?? 'nyc3';
    const region = findRegion(regionSlug);
    if (!region) throw unprocessable('You specified an invalid region for Droplet creation.');
    if (!size.regions.includes(region.slug)) throw unprocessable('Size is not available in this region.');
    if (vpc && vpc.region !== region.slug) throw unprocessable(`VPC network ${vpc.name} is in region ${vpc.region}, not ${region.slug}`);
    const tags = [...new Set((optStringArray(body, 'tags') ?? []).map(checkTagName))];
    const userData = optString(body, 'user_data');
    if (userData !== undefined && Buffer.byteLength(userData, 'utf8') > MAX_USER_DATA_BYTES) throw unprocessable('user_data may not exceed 64 KiB');
    optArray(body, 'ssh_keys');
    optStringArray(body, 'volumes');
    const ipv6 = optBool(body, 'ipv6') ?? false;
    const monitoring = optBool(body, 'monitoring') ?? false;
    const backups = optBool(body, 'backups') ?? false;
    optBool(body, 'private_networking');
    optBool(body, 'with_droplet_agent');
    if (a.droplets.size >= a.dropletLimit) throw unprocessable('creating this/these droplet(s) will exceed your droplet limit');

    const net = vpc ?? this.defaultVpc(a, region.slug);
    const privateIp = this.allocatePrivateIp(a, net);
    const publicIp = this.allocatePublicIp();
    if (!publicIp) throw unprocessable('Size is not available in this region.');
    const range = parseIpv4Network(net.ipRange) as Ipv4Range;
    const d: DropletRec = {
      id: this.nextDropletId++,
      createdAtMs: this.stamp(),
      name,
      region,
      size,
      image,
      vpcUuid: net.id,
      tags,
      userData,
      status: 'new',
      privateIp,
      privateNetmask: netmaskOf(range.prefix),
      privateGateway: intToIp(range.base + 1),
      publicIp,
      ipv6,
      monitoring,
      backups,
      createdAt: now(),
    };
    for (const t of tags) this.ensureTag(a, t);
    a.droplets.set(d.id, d);
    d.bootTimer = setTimeout(() => this.boot(a, d), this.ctx.latencyMs('instance.boot'));
    d.bootTimer.unref?.();
    return d;
  }

  private boot(a: Account, d: DropletRec): void {
    d.bootTimer = undefined;
    if (a.droplets.get(d.id) !== d || d.status !== 'new') return;
    d.status = 'active';
    this.ctx.vms.boot({
      cloud: 'digitalocean', instanceId: String(d.id), userData: d.userData ?? '', privateIp: d.privateIp, publicIp: d.publicIp,
      machine: { instanceType: d.size.slug, vcpu: d.size.vcpus, memoryMiB: d.size.memory, arch: 'amd64', providerID: `digitalocean://${d.id}` },
    });
  }

  /** Droplets matching the `GET /v2/droplets` filters: `tag_name` (exact tag) or `name` (exact, case-insensitive); not both. */
  private matchDroplets(a: Account, filter: { tagName?: string; name?: string }): DropletRec[] {
    if (filter.tagName !== undefined && filter.name !== undefined) throw unprocessable('name can not be combined with tag_name');
    return [...a.droplets.values()].filter(
      (d) =>
        (filter.tagName === undefined || d.tags.includes(filter.tagName)) &&
        (filter.name === undefined || d.name.toLowerCase() === filter.name.toLowerCase()),
    );
  }

  /** `GET /v2/droplets` (Droplets eventual consistency hides are left out). */
  listDroplets(a: Account, filter: { tagName?: string; name?: string }): DropletRec[] {
    return this.matchDroplets(a, filter).filter((d) => this.seen(d));
  }

  /** The Droplet, for a mutation (sees everything). */
  private dropletOf(a: Account, rawId: string): DropletRec {
    const d = /^\d+$/.test(rawId) ? a.droplets.get(Number(rawId)) : undefined;
    if (!d) throw notFound();
    return d;
  }

  /** `GET /v2/droplets/{id}` (404 while eventual consistency hides it). */
  getDroplet(a: Account, rawId: string): DropletRec {
    const d = this.dropletOf(a, rawId);
    if (!this.seen(d)) throw notFound();
    return d;
  }

  deleteDroplet(a: Account, rawId: string): void {
    this.destroy(a, this.dropletOf(a, rawId));
  }

  /** `DELETE /v2/droplets?tag_name=`: every Droplet carrying the tag. */
  deleteDropletsByTag(a: Account, tagName: string): void {
    for (const d of this.matchDroplets(a, { tagName })) this.destroy(a, d);
  }

  private destroy(a: Account, d: DropletRec): void {
    if (d.bootTimer) clearTimeout(d.bootTimer);
    a.droplets.delete(d.id);
    this.ctx.publicIps.release(d.publicIp);
    for (const f of a.firewalls.values()) {
      f.dropletIds = f.dropletIds.filter((id) => id !== d.id);
      for (const r of [...f.inbound, ...f.outbound]) if (r.targets.droplet_ids) r.targets.droplet_ids = r.targets.droplet_ids.filter((id) => id !== d.id);
    }
    this.ctx.vms.stop(String(d.id));
  }
}

/** Firewall `ports`: one port, a range `a-b`, or `0`/`all` for every port. */
export function validPorts(ports: string): boolean {
  if (ports === '0' || ports === 'all') return true;
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(ports);
  if (!m) return false;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  return from >= 1 && to <= 65535 && from <= to;
}

export { DoApiError };
