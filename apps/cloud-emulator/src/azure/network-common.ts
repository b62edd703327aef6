import type { Operation as LatencyOp } from '../core/types';
import { ArmError, invalidRequestFormat, resourceNotFound } from './arm-error';
import { Call, Env, Reply, asyncOperationUrl, deleteAccepted, eqi, page, seen, startOperation } from './common';
import { ArmOperationTable, groupOf, read } from './context';
import { ARM_TYPES, AT_ACCEPTANCE, Nic, NicIpConfig, Resource, ResourceGroup, Subnet, newEtag } from './state';
import { checkNetworkName, isObject, parseTags, requireBody, requireLocation } from './validate';

/**
 * What the Network RP's resource families share (virtual-networks.ts, security-groups.ts, interfaces.ts): ids,
 * back-references, the checks every PUT starts with, in-use guards, DELETE as a long-running operation, and the
 * GET / LIST / PATCH / DELETE entries of a top-level type. Reference: https://learn.microsoft.com/rest/api/virtualnetwork/
 */
export const NS = 'Microsoft.Network';

export const SEGMENT: Record<'vnet' | 'nsg' | 'pip' | 'nic', string> = {
  vnet: 'virtualNetworks',
  nsg: 'networkSecurityGroups',
  pip: 'publicIPAddresses',
  nic: 'networkInterfaces',
};

export const resourceId = (call: Call, rg: ResourceGroup, kind: keyof typeof SEGMENT, name: string) =>
  `/subscriptions/${call.account.subscriptionId}/resourceGroups/${rg.name}/providers/${NS}/${SEGMENT[kind]}/${name}`;

export function nicsUsing(env: Env, sub: string, pred: (c: NicIpConfig, n: Nic) => boolean): { nic: Nic; cfg: NicIpConfig }[] {
  return env.state.ofKind(sub, 'nic').flatMap((nic) => nic.ipConfigs.filter((c) => pred(c, nic)).map((cfg) => ({ nic, cfg })));
}

export const ipConfigId = (nic: Nic, cfg: NicIpConfig) => `${nic.id}/ipConfigurations/${cfg.name}`;

type NetworkResourceKind = 'vnet' | 'subnet' | 'nsg' | 'pip' | 'nic';
type Renderer<K extends NetworkResourceKind> = (env: Env, r: Extract<Resource, { kind: K }>, now: number) => Record<string, unknown>;
const renderers: { [K in NetworkResourceKind]?: Renderer<K> } = {};

/** Each family registers how GET renders its resources (so this module needs none of theirs: no import cycle). */
export function registerRenderer<K extends NetworkResourceKind>(kind: K, render: Renderer<K>): void {
  (renderers as Record<K, Renderer<K>>)[kind] = render;
}

/** A network resource as GET renders it. */
export function renderNetwork(env: Env, r: Resource, now: number): Record<string, unknown> {
  const render = renderers[r.kind as NetworkResourceKind] as Renderer<NetworkResourceKind> | undefined;
  if (!render) throw new Error(`not a network resource: ${r.kind}`);
  return render(env, r as Extract<Resource, { kind: NetworkResourceKind }>, now);
}

export const propsOf = (body: Record<string, unknown>): Record<string, unknown> => {
  const p = body.properties;
  if (p === undefined || p === null) return {};
  if (!isObject(p)) throw invalidRequestFormat("Error converting value to type 'Properties'. Path 'properties'.");
  return p;
};

/** Refuses a PUT that moves an existing resource to another region. */
export function sameLocation(existing: { location: string; id: string } | undefined, location: string, name: string, rg: string): void {
  if (existing && existing.location !== location) {
    throw new ArmError(
      400,
      'InvalidResourceLocation',
      `The resource '${name}' already exists in location '${existing.location}' in resource group '${rg}'. A resource with the same name cannot be created in location '${location}'. Please select a new resource name.`,
    );
  }
}

export function notBusy(r: Resource | undefined): void {
  if (r?.deleting) {
    throw new ArmError(409, 'AnotherOperationInProgress', `Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: ${r.id}.`);
  }
}

export function invalidReference(ref: string, by: string): ArmError {
  return new ArmError(
    400,
    'InvalidResourceReference',
    `Resource ${ref} referenced by resource ${by} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`,
  );
}

export function subnetInUse(env: Env, s: Subnet): ArmError | undefined {
  const users = nicsUsing(env, s.subscriptionId, (c) => eqi(c.subnetId, s.id));
  if (!users.length) return undefined;
  return new ArmError(
    400,
    'InUseSubnetCannotBeDeleted',
    `Subnet ${s.name} is in use by ${ipConfigId(users[0].nic, users[0].cfg)} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.`,
  );
}

export function created(env: Env, call: Call, r: Resource, isNew: boolean, location: string): Reply {
  const op = env.state.newOperation(call.account.subscriptionId, r.busy ? r.busy.until - call.now : 0, call.now);
  return {
    status: isNew ? 201 : 200,
    body: renderNetwork(env, r, AT_ACCEPTANCE),
    headers: { 'Azure-AsyncOperation': asyncOperationUrl(call, NS, location, op) },
  };
}

/**
 * The checks every top-level network PUT starts with, in ARM's order: name rules, a JSON body, no operation already
 * running on the resource, a location equal to the existing one's, valid tags.
 */
export function beginPut<T extends Resource>(env: Env, call: Call, rg: ResourceGroup, kind: 'vnet' | 'nsg' | 'pip' | 'nic', name: string) {
  checkNetworkName(name);
  const body = requireBody(call.body);
  const id = resourceId(call, rg, kind, name);
  const existing = env.state.get(id) as T | undefined;
  notBusy(existing);
  const location = requireLocation(body, ARM_TYPES[kind]);
  sameLocation(existing, location, name, rg.name);
  return { body, id, existing, location, tags: parseTags(body.tags) };
}

/** Why `r` cannot be deleted now (something still uses it), or undefined. */
export function networkInUse(env: Env, r: Resource): ArmError | undefined {
  switch (r.kind) {
    case 'vnet':
      for (const s of env.state.ofKind(r.subscriptionId, 'subnet').filter((x) => eqi(x.vnetId, r.id))) {
        const e = subnetInUse(env, s);
        if (e) return e;
      }
      return undefined;
    case 'subnet':
      return subnetInUse(env, r);
    case 'nsg': {
      const users = [
        ...env.state.ofKind(r.subscriptionId, 'nic').filter((x) => eqi(x.nsgId, r.id)).map((x) => x.id),
        ...env.state.ofKind(r.subscriptionId, 'subnet').filter((x) => eqi(x.nsgId, r.id)).map((x) => x.id),
      ];
      return users.length
        ? new ArmError(400, 'InUseNetworkSecurityGroupCannotBeDeleted', `Network security group ${r.id} cannot be deleted because it is in use by the following resources: ${users.join(', ')}. In order to delete the Network security group, remove the association with the resource(s). To learn how to do this, see aka.ms/deletensg.`)
        : undefined;
    }
    case 'pip': {
      const user = nicsUsing(env, r.subscriptionId, (c) => eqi(c.publicIpId, r.id))[0];
      return user
        ? new ArmError(400, 'PublicIPAddressCannotBeDeleted', `Public IP address ${r.id} can not be deleted since it is still allocated to resource ${ipConfigId(user.nic, user.cfg)}. In order to delete the public IP, disassociate/detach the Public IP address from the resource. To learn how to do this, see aka.ms/deletepublicip.`)
        : undefined;
    }
    case 'nic': {
      const vm = env.state.ofKind(r.subscriptionId, 'vm').find((v) => v.nics.some((n) => eqi(n.id, r.id)));
      return vm
        ? new ArmError(400, 'NicInUse', `Network Interface ${r.id} is used by existing resource ${vm.id}. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.`)
        : undefined;
    }
    default:
      return undefined;
  }
}

/** Removes a network resource now (and a VNet's subnets). */
export function removeNetwork(env: Env, r: Resource): void {
  if (r.kind === 'vnet') for (const s of env.state.ofKind(r.subscriptionId, 'subnet').filter((x) => eqi(x.vnetId, r.id))) env.state.remove(s);
  env.state.remove(r);
}

export function deleteNetwork(env: Env, call: Call, r: Resource | undefined, op: 'network.delete' | 'instance.delete'): Reply {
  if (!r) return { status: 204 };
  if (!r.deleting) {
    const inUse = networkInUse(env, r);
    if (inUse) throw inUse;
  }
  const o = startOperation(env, call, op, () => {
    const cur = env.state.get(r.id);
    if (cur === r) removeNetwork(env, r);
  });
  r.deleting = true;
  r.busy = { state: 'Deleting', until: o.doneAt };
  return deleteAccepted(call, NS, r.location, o);
}

/** A top-level Network RP type: `vnet`, `nsg`, `pip`, `nic`. */
export type NetworkKind = keyof typeof SEGMENT;

/** `GET …/{type}/{name}` of a top-level network resource. */
async function getNetwork(env: Env, call: Call, rg: ResourceGroup, kind: NetworkKind, name: string): Promise<Reply> {
  await env.ctx.delay('read');
  const existing = env.state.get(resourceId(call, rg, kind, name));
  if (!existing || !seen(env, existing)) throw resourceNotFound(ARM_TYPES[kind], name, rg.name);
  return { status: 200, body: renderNetwork(env, existing, call.now) };
}

/** `GET …/{type}` in a resource group, or `GET /subscriptions/{sub}/providers/Microsoft.Network/{type}` (List All). */
async function listNetwork(env: Env, call: Call, rg: ResourceGroup | undefined, kind: NetworkKind): Promise<Reply> {
  await env.ctx.delay('read');
  const sub = call.account.subscriptionId;
  const items = env.state.ofKind(sub, kind).filter((r) => (!rg || eqi(r.resourceGroup, rg.name)) && seen(env, r));
  const path = rg ? `/subscriptions/${sub}/resourceGroups/${rg.name}/providers/${NS}/${SEGMENT[kind]}` : `/subscriptions/${sub}/providers/${NS}/${SEGMENT[kind]}`;
  return page(call, path, items.map((r) => renderNetwork(env, r, call.now)));
}

/** `PATCH …/{type}/{name}` (UpdateTags). */
function patchNetwork(env: Env, call: Call, rg: ResourceGroup, kind: NetworkKind, name: string): Reply {
  const existing = env.state.get(resourceId(call, rg, kind, name));
  if (!existing) throw resourceNotFound(ARM_TYPES[kind], name, rg.name);
  const body = requireBody(call.body);
  if (body.tags !== undefined) existing.tags = parseTags(body.tags);
  existing.etag = newEtag();
  return { status: 200, body: renderNetwork(env, existing, call.now) };
}

/**
 * The table entries of a top-level Network RP type: LIST (resource group and subscription), GET, PUT (`put`), PATCH
 * (tags), DELETE (202 + Azure-AsyncOperation; in-use guards).
 */
export function networkTypeOperations(kind: NetworkKind, put: (env: Env, call: Call, rg: ResourceGroup, name: string) => Reply, createOp: LatencyOp, deleteOp: 'network.delete' | 'instance.delete'): ArmOperationTable {
  const type = `${NS}/${SEGMENT[kind]}`;
  return {
    [`LIST ${type}`]: read(({ env, call, group }) => listNetwork(env, call, group, kind)),
    [`GET ${type}`]: read(({ env, call, path, ...c }) => getNetwork(env, call, groupOf({ env, call, path, ...c }), kind, path.names[0])),
    [`PUT ${type}`]: { op: createOp, run: (c) => put(c.env, c.call, groupOf(c), c.path.names[0]) },
    [`PATCH ${type}`]: { op: createOp, run: (c) => patchNetwork(c.env, c.call, groupOf(c), kind, c.path.names[0]) },
    [`DELETE ${type}`]: { op: deleteOp, run: (c) => deleteNetwork(c.env, c.call, c.env.state.get(resourceId(c.call, groupOf(c), kind, c.path.names[0])), deleteOp) },
  };
}

/**
 * Account-wide lists of Network RP types the sandbox cannot create (route tables, load balancers): a fresh account
 * has none, so every list is empty and every GET by name is ARM's 404 `ResourceNotFound`. Their writes stay 501.
 * References: https://learn.microsoft.com/rest/api/virtualnetwork/route-tables/list-all,
 * https://learn.microsoft.com/rest/api/load-balancer/load-balancers/list-all
 */
export const EMPTY_NETWORK_OPERATIONS: ArmOperationTable = Object.fromEntries(
  ['routeTables', 'loadBalancers'].flatMap((t) => [
    [`LIST ${NS}/${t}`, read(async ({ env, call, path }) => {
      await env.ctx.delay('read');
      return page(call, path.path, []);
    })],
    [`GET ${NS}/${t}`, read(async ({ env, path, group }) => {
      await env.ctx.delay('read');
      throw resourceNotFound(`${NS}/${t}`, path.names[0], group?.name ?? '');
    })],
  ]),
);
