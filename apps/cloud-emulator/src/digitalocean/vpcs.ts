import { randomUUID } from 'node:crypto';
import { findRegion } from './catalog';
import { forbidden, notFound, unprocessable } from './errors';
import { RouteContext, RouteTable, bodyOf, page, query } from './context';
import { Account, DropletRec, renderVpc, VpcRec } from './model';
import { intToIp, ipToInt, Ipv4Range, isRfc1918, parseIpv4Network, rangesOverlap } from './net';
import { DoState, now } from './state';
import { optBool, optString, reqString, VPC_NAME_RE } from './validation';

/**
 * VPC networks: `POST/GET /v2/vpcs`, `GET/DELETE /v2/vpcs/:id`, `GET /v2/vpcs/:id/members`, and the region default
 * VPCs DigitalOcean makes for a Droplet created without `vpc_uuid`.
 * Reference: https://docs.digitalocean.com/reference/api/api-reference/#tag/VPCs
 */

/** Where DigitalOcean-style automatic VPC ranges (`ip_range` omitted, default VPCs) are chosen: /20s from 10.104.0.0. */
const AUTO_RANGE = { first: ipToInt('10.104.0.0'), last: ipToInt('10.255.240.0'), prefix: 20 };

function autoRange(a: Account): string {
  const taken = [...a.vpcs.values()].map((v) => parseIpv4Network(v.ipRange) as Ipv4Range);
  const size = 2 ** (32 - AUTO_RANGE.prefix);
  for (let n = AUTO_RANGE.first; n <= AUTO_RANGE.last; n += size) {
    const r: Ipv4Range = { base: n, prefix: AUTO_RANGE.prefix, size };
    if (!taken.some((t) => rangesOverlap(t, r))) return `${intToIp(n)}/${AUTO_RANGE.prefix}`;
  }
  throw unprocessable('no available ip_range could be allocated for this VPC');
}

/** The region's default VPC, made (`default-<region>`, automatic range) when the account has none there yet. */
export function defaultVpc(s: DoState, a: Account, region: string): VpcRec {
  const existing = [...a.vpcs.values()].find((v) => v.region === region && v.isDefault);
  if (existing) return existing;
  const vpc: VpcRec = { id: randomUUID(), createdAtMs: s.stamp(), name: `default-${region}`, description: '', region, ipRange: autoRange(a), isDefault: true, createdAt: now() };
  a.vpcs.set(vpc.id, vpc);
  return vpc;
}

/** The VPC, for a mutation (sees everything). */
function vpcOf(a: Account, id: string): VpcRec {
  const v = a.vpcs.get(id);
  if (!v) throw notFound();
  return v;
}

/** The VPC for a read (404 while eventual consistency hides it). */
function visibleVpc(c: RouteContext): VpcRec {
  const v = vpcOf(c.account, c.params.id);
  if (!c.state.seen(v)) throw notFound();
  return v;
}

/** `POST /v2/vpcs`. Reference: https://docs.digitalocean.com/reference/api/api-reference/#operation/vpcs_create */
function createVpc(s: DoState, a: Account, c: RouteContext): VpcRec {
  const body = bodyOf(c);
  const name = reqString(body, 'name', 'name is required');
  if (!VPC_NAME_RE.test(name)) throw unprocessable('name may only contain alphanumeric characters, dashes, and periods (255 characters at most)');
  const region = reqString(body, 'region', 'region is required');
  if (!findRegion(region)?.available) throw unprocessable(`region "${region}" is not a valid region slug`);
  const description = optString(body, 'description') ?? '';
  if (description.length > 255) throw unprocessable('description may be at most 255 characters');
  const isDefault = optBool(body, 'default') ?? false;
  const rawRange = optString(body, 'ip_range');
  let ipRange: string;
  if (rawRange === undefined || rawRange === '') {
    ipRange = autoRange(a);
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
  const vpc: VpcRec = { id: randomUUID(), createdAtMs: s.stamp(), name, description, region, ipRange, isDefault, createdAt: now() };
  a.vpcs.set(vpc.id, vpc);
  return vpc;
}

const memberOf = (d: DropletRec) => ({ urn: `do:droplet:${d.id}`, name: d.name, created_at: d.createdAt });

export const VPC_ROUTES: RouteTable = {
  'POST /v2/vpcs': { op: 'network.create', run: (c) => ({ status: 201, body: { vpc: renderVpc(createVpc(c.state, c.account, c)) } }) },
  'GET /v2/vpcs': { op: 'read', run: (c) => page(c, 'vpcs', [...c.account.vpcs.values()].filter((v) => c.state.seen(v)), renderVpc) },
  'GET /v2/vpcs/:id': { op: 'read', run: (c) => ({ body: { vpc: renderVpc(visibleVpc(c)) } }) },
  // A read: Droplets reads cannot see yet are left out. Only Droplets can be members in the sandbox.
  'GET /v2/vpcs/:id/members': {
    op: 'read',
    run: (c) => {
      const id = visibleVpc(c).id;
      const type = query(c, 'resource_type');
      const members = type !== undefined && type !== 'droplet' ? [] : [...c.account.droplets.values()].filter((d) => d.vpcUuid === id && c.state.seen(d));
      return page(c, 'members', members, memberOf);
    },
  },
  // Refused with 403 for a region's default VPC and for a VPC that still has members ("Attempting to delete a region's
  // default VPC or a VPC that still has members will result in a 403 Forbidden error response": reference, vpcs_delete).
  'DELETE /v2/vpcs/:id': {
    op: 'network.delete',
    run: (c) => {
      const v = vpcOf(c.account, c.params.id);
      if (v.isDefault) throw forbidden('Can not delete the default VPC network of a region');
      if ([...c.account.droplets.values()].some((d) => d.vpcUuid === v.id)) throw forbidden('Can not delete VPC with members');
      c.account.vpcs.delete(v.id);
      return {};
    },
  },
};
