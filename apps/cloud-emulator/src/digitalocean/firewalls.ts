import { randomUUID } from 'node:crypto';
import { notFound, unprocessable } from './errors';
import { RouteContext, RouteTable, bodyOf, page } from './context';
import { Account, FirewallRec, FirewallRuleRec, renderFirewall, RuleTargets } from './model';
import { isAddressOrCidr } from './net';
import { now } from './state';
import { Body, checkTagName, FIREWALL_NAME_RE, optArray, optIntArray, optString, optStringArray, reqString } from './validation';

/**
 * Cloud firewalls: `POST/GET /v2/firewalls`, `GET/PUT/DELETE /v2/firewalls/:id`, with DigitalOcean's rule checks.
 * Reference: https://docs.digitalocean.com/reference/api/api-reference/#tag/Firewalls
 */

/** A firewall holds at most 50 inbound and outbound rules combined. */
export const MAX_FIREWALL_RULES = 50;

/** Firewall `ports`: one port, a range `a-b`, or `0`/`all` for every port. */
export function validPorts(ports: string): boolean {
  if (ports === '0' || ports === 'all') return true;
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(ports);
  if (!m) return false;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  return from >= 1 && to <= 65535 && from <= to;
}

function parseTargets(a: Account, raw: unknown, where: string): RuleTargets {
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

function parseRules(a: Account, body: Body, field: 'inbound_rules' | 'outbound_rules'): FirewallRuleRec[] {
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
    const targets = parseTargets(a, field === 'inbound_rules' ? r.sources : r.destinations, `${where}.${field === 'inbound_rules' ? 'sources' : 'destinations'}`);
    return { protocol, ports, targets };
  });
}

function parseFirewall(a: Account, body: Body): Omit<FirewallRec, 'id' | 'createdAt' | 'createdAtMs' | 'status'> {
  const name = reqString(body, 'name', 'name is required');
  if (!FIREWALL_NAME_RE.test(name)) throw unprocessable('name must begin with an alphanumeric character, followed by alphanumerics, periods or dashes (255 characters at most)');
  const inbound = parseRules(a, body, 'inbound_rules');
  const outbound = parseRules(a, body, 'outbound_rules');
  if (inbound.length + outbound.length === 0) throw unprocessable('a firewall must have at least one inbound or outbound rule');
  if (inbound.length + outbound.length > MAX_FIREWALL_RULES) throw unprocessable(`a firewall may have at most ${MAX_FIREWALL_RULES} inbound and outbound rules combined`);
  const dropletIds = optIntArray(body, 'droplet_ids') ?? [];
  for (const id of dropletIds) if (!a.droplets.has(id)) throw unprocessable(`droplet_ids: droplet ${id} not found`);
  const tags = optStringArray(body, 'tags') ?? [];
  for (const t of tags) if (!a.tags.has(checkTagName(t))) throw unprocessable(`tags: tag ${t} does not exist`);
  return { name, inbound, outbound, dropletIds: [...new Set(dropletIds)], tags: [...new Set(tags)] };
}

/** The firewall, for a mutation (sees everything). */
function firewallOf(a: Account, id: string): FirewallRec {
  const f = a.firewalls.get(id);
  if (!f) throw notFound();
  return f;
}

/** A create/update answers `waiting` (rules being applied); the sandbox applies them at once, so reads say `succeeded`. */
function applying(f: FirewallRec) {
  const out = renderFirewall(f);
  f.status = 'succeeded';
  return out;
}

const visible = (c: RouteContext): FirewallRec => {
  const f = firewallOf(c.account, c.params.id);
  if (!c.state.seen(f)) throw notFound();
  return f;
};

export const FIREWALL_ROUTES: RouteTable = {
  // Reference: https://docs.digitalocean.com/reference/api/api-reference/#operation/firewalls_create
  'POST /v2/firewalls': {
    op: 'firewall.create',
    run: (c) => {
      const fw: FirewallRec = { id: randomUUID(), createdAtMs: c.state.stamp(), createdAt: now(), status: 'waiting', ...parseFirewall(c.account, bodyOf(c)) };
      c.account.firewalls.set(fw.id, fw);
      return { status: 202, body: { firewall: applying(fw) } };
    },
  },
  'GET /v2/firewalls': { op: 'read', run: (c) => page(c, 'firewalls', [...c.account.firewalls.values()].filter((f) => c.state.seen(f)), renderFirewall) },
  'GET /v2/firewalls/:id': { op: 'read', run: (c) => ({ body: { firewall: renderFirewall(visible(c)) } }) },
  // Replaces the whole definition.
  'PUT /v2/firewalls/:id': {
    op: 'firewall.create',
    run: (c) => {
      const fw = firewallOf(c.account, c.params.id);
      Object.assign(fw, parseFirewall(c.account, bodyOf(c)), { status: 'waiting' });
      return { body: { firewall: applying(fw) } };
    },
  },
  'DELETE /v2/firewalls/:id': {
    op: 'network.delete',
    run: (c) => {
      firewallOf(c.account, c.params.id);
      c.account.firewalls.delete(c.params.id);
      return {};
    },
  },
};
