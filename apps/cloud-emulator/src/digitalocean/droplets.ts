import { SandboxUnimplemented } from '../core/unimplemented';
import { findImage, findRegion, findSize } from './catalog';
import { findKey } from './account';
import { notFound, unprocessable } from './errors';
import { intParam, origin, page, query, RouteContext, RouteTable, bodyOf } from './context';
import { Account, ActionRec, ActionType, DropletRec, renderAction, renderDroplet, VpcRec } from './model';
import { intToIp, Ipv4Range, netmaskOf, parseIpv4Network } from './net';
import { DoState, now } from './state';
import { ensureTag } from './tags';
import { defaultVpc } from './vpcs';
import { checkTagName, DROPLET_NAME_RE, optArray, optBool, optString, optStringArray, reqString } from './validation';

/**
 * Droplets and their actions: `POST/GET/DELETE /v2/droplets` (`DELETE` by `tag_name`), `GET/DELETE /v2/droplets/:id`,
 * `GET /v2/droplets/:id/actions[/:action_id]`, `GET /v2/actions[/:id]`.
 * A create answers `links.actions[0]`, the `create` action: `in-progress` until the Droplet is `active`, then
 * `completed` (`errored` when the Droplet is destroyed before it booted). A delete records a completed `destroy`.
 * Reference: https://docs.digitalocean.com/reference/api/api-reference/#tag/Droplets, #tag/Actions
 */

/** user_data is plain text of at most 64 KiB. */
export const MAX_USER_DATA_BYTES = 64 * 1024;

function record(s: DoState, a: Account, d: DropletRec, type: ActionType, done: boolean): ActionRec {
  const at = now();
  const x: ActionRec = { id: s.actionId(), type, status: done ? 'completed' : 'in-progress', startedAt: at, completedAt: done ? at : null, resourceId: d.id, resourceType: 'droplet', region: d.region };
  a.actions.set(x.id, x);
  return x;
}

function allocatePrivateIp(a: Account, vpc: VpcRec): string {
  const r = parseIpv4Network(vpc.ipRange) as Ipv4Range;
  const used = new Set([...a.droplets.values()].filter((d) => d.vpcUuid === vpc.id).map((d) => d.privateIp));
  // .0 is the network, .1 the VPC gateway, the last address broadcast.
  for (let n = r.base + 2; n < r.base + r.size - 1; n++) {
    const ip = intToIp(n);
    if (!used.has(ip)) return ip;
  }
  throw unprocessable(`VPC network ${vpc.name} has no free IP addresses left`);
}

/** `ssh_keys`: ids or fingerprints of the account's keys; unknown ones are refused, all named in one message. */
function checkSshKeys(a: Account, raw: unknown[] | undefined): void {
  const bad = (raw ?? []).filter((k) => (typeof k !== 'number' && typeof k !== 'string') || !findKey(a, k));
  if (bad.length > 0) throw unprocessable(`${bad.map(String).join(', ')} are invalid key identifiers for Droplet creation.`);
}

/** `POST /v2/droplets` (single Droplet). Reference: https://docs.digitalocean.com/reference/api/api-reference/#operation/droplets_create */
function createDroplet(s: DoState, a: Account, c: RouteContext): { d: DropletRec; action: ActionRec } {
  const body = bodyOf(c);
  // Several Droplets at once is a call of the real API the sandbox does not serve (501, never a 422 of DigitalOcean's).
  if (body.names !== undefined) throw new SandboxUnimplemented('digitalocean', 'POST /v2/droplets (names[]: multiple Droplets)');
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
  if (!region || !region.available) throw unprocessable('You specified an invalid region for Droplet creation.');
  if (!size.regions.includes(region.slug)) throw unprocessable('Size is not available in this region.');
  if (vpc && vpc.region !== region.slug) throw unprocessable(`VPC network ${vpc.name} is in region ${vpc.region}, not ${region.slug}`);
  const tags = [...new Set((optStringArray(body, 'tags') ?? []).map(checkTagName))];
  const userData = optString(body, 'user_data');
  if (userData !== undefined && Buffer.byteLength(userData, 'utf8') > MAX_USER_DATA_BYTES) throw unprocessable('user_data may not exceed 64 KiB');
  checkSshKeys(a, optArray(body, 'ssh_keys'));
  optStringArray(body, 'volumes');
  const ipv6 = optBool(body, 'ipv6') ?? false;
  const monitoring = optBool(body, 'monitoring') ?? false;
  const backups = optBool(body, 'backups') ?? false;
  optBool(body, 'private_networking');
  optBool(body, 'with_droplet_agent');
  if (a.droplets.size >= a.dropletLimit) throw unprocessable('creating this/these droplet(s) will exceed your droplet limit');

  const net = vpc ?? defaultVpc(s, a, region.slug);
  const privateIp = allocatePrivateIp(a, net);
  // A public address from the sandbox-wide pool (RFC 5737 documentation ranges): `.2` .. `.254`, because the
  // Droplet's network reports `.1` of its /24 as the public gateway.
  const publicIp = s.ctx.publicIps.allocate({ skipGateway: true });
  if (!publicIp) throw unprocessable('Size is not available in this region.');
  const range = parseIpv4Network(net.ipRange) as Ipv4Range;
  const d: DropletRec = {
    id: s.dropletId(),
    createdAtMs: s.stamp(),
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
  for (const t of tags) ensureTag(a, t);
  a.droplets.set(d.id, d);
  const action = record(s, a, d, 'create', false);
  d.bootTimer = setTimeout(() => boot(s, a, d, action), s.ctx.latencyMs('instance.boot'));
  d.bootTimer.unref?.();
  return { d, action };
}

/** `new` → `active`: the VM boots, and the create action completes. */
function boot(s: DoState, a: Account, d: DropletRec, action: ActionRec): void {
  d.bootTimer = undefined;
  if (a.droplets.get(d.id) !== d || d.status !== 'new') return;
  d.status = 'active';
  action.status = 'completed';
  action.completedAt = now();
  s.ctx.vms.boot({
    cloud: 'digitalocean', instanceId: String(d.id), userData: d.userData ?? '', privateIp: d.privateIp, publicIp: d.publicIp,
    machine: { instanceType: d.size.slug, vcpu: d.size.vcpus, memoryMiB: d.size.memory, arch: 'amd64', providerID: `digitalocean://${d.id}` },
  });
}

/** Droplets matching the `GET /v2/droplets` filters: `tag_name` (exact tag) or `name` (exact, case-insensitive); not both. */
function matchDroplets(a: Account, filter: { tagName?: string; name?: string }): DropletRec[] {
  if (filter.tagName !== undefined && filter.name !== undefined) throw unprocessable('name can not be combined with tag_name');
  return [...a.droplets.values()].filter(
    (d) => (filter.tagName === undefined || d.tags.includes(filter.tagName)) && (filter.name === undefined || d.name.toLowerCase() === filter.name.toLowerCase()),
  );
}

/** The Droplet, for a mutation (sees everything). */
function dropletOf(c: RouteContext): DropletRec {
  const d = c.account.droplets.get(intParam(c, 'id'));
  if (!d) throw notFound();
  return d;
}

/** The Droplet for a read (404 while eventual consistency hides it). */
function visibleDroplet(c: RouteContext): DropletRec {
  const d = dropletOf(c);
  if (!c.state.seen(d)) throw notFound();
  return d;
}

function destroy(s: DoState, a: Account, d: DropletRec): void {
  if (d.bootTimer) clearTimeout(d.bootTimer);
  for (const x of a.actions.values()) {
    if (x.resourceId === d.id && x.status === 'in-progress') {
      x.status = 'errored';
      x.completedAt = now();
    }
  }
  record(s, a, d, 'destroy', true);
  a.droplets.delete(d.id);
  s.ctx.publicIps.release(d.publicIp);
  for (const f of a.firewalls.values()) {
    f.dropletIds = f.dropletIds.filter((id) => id !== d.id);
    for (const r of [...f.inbound, ...f.outbound]) if (r.targets.droplet_ids) r.targets.droplet_ids = r.targets.droplet_ids.filter((id) => id !== d.id);
  }
  s.ctx.vms.stop(String(d.id));
}

/** Newest first, as DigitalOcean lists actions. */
const newestFirst = (xs: Iterable<ActionRec>): ActionRec[] => [...xs].sort((x, y) => y.id - x.id);

function actionOf(c: RouteContext, name: string, resourceId?: number): ActionRec {
  const x = c.account.actions.get(intParam(c, name));
  if (!x || (resourceId !== undefined && x.resourceId !== resourceId)) throw notFound();
  return x;
}

export const DROPLET_ROUTES: RouteTable = {
  'POST /v2/droplets': {
    op: 'instance.create',
    run: (c) => {
      const { d, action } = createDroplet(c.state, c.account, c);
      return {
        status: 202,
        body: { droplet: renderDroplet(d, false), links: { actions: [{ id: action.id, rel: 'create', href: `${origin(c)}/v2/actions/${action.id}` }] } },
      };
    },
  },
  // Droplets eventual consistency hides are left out.
  'GET /v2/droplets': {
    op: 'read',
    run: (c) => page(c, 'droplets', matchDroplets(c.account, { tagName: query(c, 'tag_name'), name: query(c, 'name') }).filter((d) => c.state.seen(d)), (d) => renderDroplet(d)),
  },
  'GET /v2/droplets/:id': { op: 'read', run: (c) => ({ body: { droplet: renderDroplet(visibleDroplet(c)) } }) },
  'DELETE /v2/droplets/:id': {
    op: 'instance.delete',
    run: (c) => {
      destroy(c.state, c.account, dropletOf(c));
      return {};
    },
  },
  // `DELETE /v2/droplets?tag_name=`: every Droplet carrying the tag.
  'DELETE /v2/droplets': {
    op: 'instance.delete',
    run: (c) => {
      const tag = query(c, 'tag_name');
      if (!tag) throw notFound();
      for (const d of matchDroplets(c.account, { tagName: tag })) destroy(c.state, c.account, d);
      return {};
    },
  },
  'GET /v2/droplets/:id/actions': {
    op: 'read',
    run: (c) => {
      const d = visibleDroplet(c);
      return page(c, 'actions', newestFirst([...c.account.actions.values()].filter((x) => x.resourceId === d.id)), renderAction);
    },
  },
  'GET /v2/droplets/:id/actions/:action_id': {
    op: 'read',
    run: (c) => ({ body: { action: renderAction(actionOf(c, 'action_id', visibleDroplet(c).id)) } }),
  },
  'GET /v2/actions': { op: 'read', run: (c) => page(c, 'actions', newestFirst(c.account.actions.values()), renderAction) },
  'GET /v2/actions/:id': { op: 'read', run: (c) => ({ body: { action: renderAction(actionOf(c, 'id')) } }) },
};
