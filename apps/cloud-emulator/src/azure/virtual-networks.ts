import { randomUUID } from 'node:crypto';
import { ArmError, invalidRequestFormat, resourceNotFound } from './arm-error';
import { Call, Env, Reply, eqi, page, seen, tagsField } from './common';
import { ArmOperationTable, groupOf, read } from './context';
import { registerRenderer, created, beginPut, deleteNetwork, invalidReference, networkTypeOperations, nicsUsing, ipConfigId, notBusy, propsOf, resourceId, subnetInUse } from './network-common';
import { ARM_TYPES, AT_ACCEPTANCE, ResourceGroup, Subnet, VNet, newEtag, provisioningState } from './state';
import { checkNetworkName, cidrContainsCidr, cidrsOverlap, isObject, optRef, optString, optStringArray, parseCidr, requirePrefix, requireBody } from './validate';

/**
 * Virtual networks and their subnets (Microsoft.Network/virtualNetworks, …/subnets): rendering, validation, PUT, and
 * their table entries. References: https://learn.microsoft.com/rest/api/virtualnetwork/virtual-networks,
 * https://learn.microsoft.com/rest/api/virtualnetwork/subnets
 */
export function renderSubnet(env: Env, s: Subnet, now: number): Record<string, unknown> {
  const vnet = env.state.get(s.vnetId);
  const ipConfigurations = nicsUsing(env, s.subscriptionId, (c) => eqi(c.subnetId, s.id)).map(({ nic, cfg }) => ({ id: ipConfigId(nic, cfg) }));
  return {
    name: s.name,
    id: s.id,
    etag: s.etag,
    type: ARM_TYPES.subnet,
    properties: {
      provisioningState: vnet?.deleting ? 'Deleting' : provisioningState(s, now),
      addressPrefix: s.addressPrefix,
      ...(s.nsgId ? { networkSecurityGroup: { id: s.nsgId } } : {}),
      ...(ipConfigurations.length ? { ipConfigurations } : {}),
      delegations: [],
      privateEndpointNetworkPolicies: 'Disabled',
      privateLinkServiceNetworkPolicies: 'Enabled',
      ...(s.defaultOutboundAccess !== undefined ? { defaultOutboundAccess: s.defaultOutboundAccess } : {}),
    },
  };
}

export function renderVnet(env: Env, v: VNet, now: number): Record<string, unknown> {
  // Reads list only the subnets they can see (eventual consistency); the PUT's own answer has them all.
  const subnets = env.state.ofKind(v.subscriptionId, 'subnet').filter((s) => eqi(s.vnetId, v.id) && (now === AT_ACCEPTANCE || seen(env, s)));
  return {
    name: v.name,
    id: v.id,
    etag: v.etag,
    type: ARM_TYPES.vnet,
    location: v.location,
    ...tagsField(v.tags),
    properties: {
      provisioningState: provisioningState(v, now),
      resourceGuid: v.resourceGuid,
      addressSpace: { addressPrefixes: [...v.addressPrefixes] },
      subnets: subnets.map((s) => renderSubnet(env, s, now)),
      virtualNetworkPeerings: [],
      enableDdosProtection: false,
      privateEndpointVNetPolicies: 'Disabled',
    },
  };
}

/** Subnet checks shared by the subnet PUT and a VNet PUT's inline subnets. */
export function checkSubnet(env: Env, vnet: { id: string; name: string; addressPrefixes: string[]; location: string }, s: { id: string; name: string; addressPrefix: string; nsgId?: string }, siblings: { name: string; addressPrefix: string }[]): void {
  const c = requirePrefix(s.addressPrefix, s.id);
  if (!vnet.addressPrefixes.some((p) => { const v = parseCidr(p); return v !== undefined && cidrContainsCidr(v, c); })) {
    throw new ArmError(400, 'NetcfgSubnetRangeOutsideVnet', `Subnet '${s.name}' is not valid because its IP address range is outside the IP address range of virtual network '${vnet.name}'.`);
  }
  if (c.len > 29) throw new ArmError(400, 'NetcfgInvalidSubnet', `Subnet '${s.name}' is not valid in virtual network '${vnet.name}'. The smallest supported subnet is /29.`);
  for (const o of siblings) {
    if (o.name.toLowerCase() === s.name.toLowerCase()) continue;
    const oc = parseCidr(o.addressPrefix);
    if (oc && cidrsOverlap(c, oc)) {
      throw new ArmError(400, 'NetcfgSubnetRangesOverlap', `Subnet '${s.name}' is not valid because its IP address range overlaps with that of an existing subnet in virtual network '${vnet.name}'.`);
    }
  }
  if (s.nsgId) {
    const nsg = env.state.get(s.nsgId);
    if (!nsg || nsg.kind !== 'nsg' || nsg.location !== vnet.location) throw invalidReference(s.nsgId, s.id);
  }
}

export function parseInlineSubnet(vnetId: string, raw: unknown, i: number): { name: string; addressPrefix: string; nsgId?: string; defaultOutboundAccess?: boolean } {
  const path = `properties.subnets[${i}]`;
  if (!isObject(raw)) throw invalidRequestFormat(`Error converting value to type 'Subnet'. Path '${path}'.`);
  const name = optString(raw, 'name', path);
  if (!name) throw new ArmError(400, 'InvalidRequestFormat', 'Cannot parse the request.', { details: [{ code: 'MissingJsonReferenceId', message: `Value for reference id is missing. Path ${path}.name.` }] });
  checkNetworkName(name);
  return { name, ...parseSubnetProps(`${vnetId}/subnets/${name}`, propsOf(raw), `${path}.properties`) };
}

export function parseSubnetProps(id: string, p: Record<string, unknown>, path: string): { addressPrefix: string; nsgId?: string; defaultOutboundAccess?: boolean } {
  const single = optString(p, 'addressPrefix', path);
  const many = optStringArray(p, 'addressPrefixes', path);
  if (single === undefined && !many.length) {
    throw new ArmError(400, 'NetcfgInvalidSubnet', `Subnet '${id.split('/').pop()}' is not valid: it has no addressPrefix.`);
  }
  if (single === undefined && many.length > 1) {
    throw new ArmError(400, 'NetcfgInvalidSubnet', `Subnet '${id.split('/').pop()}' is not valid: the sandbox supports one address prefix per subnet.`);
  }
  const dao = p.defaultOutboundAccess;
  if (dao !== undefined && dao !== null && typeof dao !== 'boolean') throw invalidRequestFormat(`Error converting value to type 'System.Boolean'. Path '${path}.defaultOutboundAccess'.`);
  return { addressPrefix: single ?? many[0], nsgId: optRef(p, 'networkSecurityGroup', path), ...(typeof dao === 'boolean' ? { defaultOutboundAccess: dao } : {}) };
}

export function putVnet(env: Env, call: Call, rg: ResourceGroup, name: string): Reply {
  const { body, id, existing, location, tags } = beginPut<VNet>(env, call, rg, 'vnet', name);
  const p = propsOf(body);
  const space = p.addressSpace;
  if (!isObject(space)) throw invalidRequestFormat("Required property 'addressSpace' not found in JSON. Path 'properties'.");
  const prefixes = optStringArray(space, 'addressPrefixes', 'properties.addressSpace');
  if (!prefixes.length) throw invalidRequestFormat("Required property 'addressPrefixes' not found in JSON. Path 'properties.addressSpace'.");
  const canonicalId = existing?.id ?? id;
  const cidrs = prefixes.map((x) => requirePrefix(x, canonicalId));
  for (let i = 0; i < cidrs.length; i++) {
    for (let j = 0; j < i; j++) {
      if (cidrsOverlap(cidrs[i], cidrs[j])) {
        throw new ArmError(400, 'VnetAddressSpacesOverlap', `Cannot create or update virtual network ${canonicalId} since it has address spaces ${prefixes[j]} and ${prefixes[i]} that overlap.`);
      }
    }
  }
  const rawSubnets = p.subnets;
  if (rawSubnets !== undefined && rawSubnets !== null && !Array.isArray(rawSubnets)) throw invalidRequestFormat("Error converting value to type 'List`1[Subnet]'. Path 'properties.subnets'.");
  const wanted = (rawSubnets ?? []).map((s, i) => parseInlineSubnet(canonicalId, s, i));
  const shape = { id: canonicalId, name: existing?.name ?? name, addressPrefixes: prefixes, location };
  for (const s of wanted) checkSubnet(env, shape, { ...s, id: `${canonicalId}/subnets/${s.name}` }, wanted);
  // A PUT replaces the subnet list: subnets not in the body are deleted (unless in use).
  const current = env.state.ofKind(call.account.subscriptionId, 'subnet').filter((s) => eqi(s.vnetId, canonicalId));
  for (const s of current) {
    if (!wanted.some((w) => w.name.toLowerCase() === s.name.toLowerCase())) {
      const inUse = subnetInUse(env, s);
      if (inUse) throw inUse;
    }
  }
  const busyUntil = call.now + env.ctx.latencyMs('network.create');
  const vnet: VNet = existing
    ? { ...existing, tags, addressPrefixes: prefixes, etag: newEtag(), busy: { state: 'Updating', until: busyUntil } }
    : {
      kind: 'vnet', id, subscriptionId: call.account.subscriptionId, resourceGroup: rg.name, name, location, tags, etag: newEtag(),
      resourceGuid: randomUUID(), createdAt: call.now, createdAtMs: call.clock, addressPrefixes: prefixes, busy: { state: 'Updating', until: busyUntil },
    };
  env.state.put(vnet);
  for (const s of current) if (!wanted.some((w) => w.name.toLowerCase() === s.name.toLowerCase())) env.state.remove(s);
  for (const w of wanted) {
    const prev = current.find((s) => s.name.toLowerCase() === w.name.toLowerCase());
    const subnet: Subnet = prev
      ? { ...prev, addressPrefix: w.addressPrefix, nsgId: w.nsgId, defaultOutboundAccess: w.defaultOutboundAccess, etag: vnet.etag, busy: vnet.busy }
      : {
        kind: 'subnet', id: `${canonicalId}/subnets/${w.name}`, vnetId: canonicalId, subscriptionId: vnet.subscriptionId, resourceGroup: rg.name, name: w.name,
        location, tags: {}, etag: vnet.etag, resourceGuid: randomUUID(), createdAt: call.now, createdAtMs: call.clock, addressPrefix: w.addressPrefix, nsgId: w.nsgId,
        defaultOutboundAccess: w.defaultOutboundAccess, busy: vnet.busy,
      };
    env.state.put(subnet);
  }
  return created(env, call, vnet, !existing, location);
}

export function putSubnet(env: Env, call: Call, rg: ResourceGroup, vnetName: string, name: string): Reply {
  const vnet = env.state.get(resourceId(call, rg, 'vnet', vnetName));
  if (!vnet || vnet.kind !== 'vnet') throw resourceNotFound(ARM_TYPES.vnet, vnetName, rg.name);
  notBusy(vnet);
  checkNetworkName(name);
  const body = requireBody(call.body);
  const id = `${vnet.id}/subnets/${name}`;
  const existing = env.state.get(id) as Subnet | undefined;
  const props = parseSubnetProps(existing?.id ?? id, propsOf(body), 'properties');
  const siblings = env.state.ofKind(call.account.subscriptionId, 'subnet').filter((s) => eqi(s.vnetId, vnet.id));
  checkSubnet(env, vnet, { id: existing?.id ?? id, name: existing?.name ?? name, ...props }, siblings);
  if (existing && existing.addressPrefix !== props.addressPrefix) {
    const inUse = subnetInUse(env, existing);
    if (inUse) throw new ArmError(400, 'InUseSubnetCannotBeUpdated', `Subnet ${existing.name} is in use and its address prefix cannot be changed.`);
  }
  const busy = { state: 'Updating' as const, until: call.now + env.ctx.latencyMs('subnet.create') };
  const subnet: Subnet = existing
    ? { ...existing, ...props, etag: newEtag(), busy }
    : {
      kind: 'subnet', id, vnetId: vnet.id, subscriptionId: call.account.subscriptionId, resourceGroup: vnet.resourceGroup, name, location: vnet.location,
      tags: {}, etag: newEtag(), resourceGuid: randomUUID(), createdAt: call.now, createdAtMs: call.clock, ...props, busy,
    };
  env.state.put(subnet);
  return created(env, call, subnet, !existing, vnet.location);
}

const vnetIdOf = (call: Call, rg: ResourceGroup, name: string) => resourceId(call, rg, 'vnet', name);

/** `GET …/virtualNetworks/{vnet}/subnets` (Subnets - List). */
async function listSubnets(env: Env, call: Call, rg: ResourceGroup, name: string): Promise<Reply> {
  await env.ctx.delay('read');
  const vnet = env.state.get(vnetIdOf(call, rg, name));
  if (!vnet || !seen(env, vnet)) throw resourceNotFound(ARM_TYPES.vnet, name, rg.name);
  const items = env.state.ofKind(call.account.subscriptionId, 'subnet').filter((s) => eqi(s.vnetId, vnet.id) && seen(env, s));
  return page(call, `${vnet.id}/subnets`, items.map((s) => renderSubnet(env, s, call.now)));
}

/** `GET …/virtualNetworks/{vnet}/subnets/{subnet}` (Subnets - Get). */
async function getSubnet(env: Env, call: Call, rg: ResourceGroup, name: string, subnetName: string): Promise<Reply> {
  await env.ctx.delay('read');
  const vnetId = vnetIdOf(call, rg, name);
  const subnet = env.state.get(`${vnetId}/subnets/${subnetName}`);
  if (!subnet || !seen(env, subnet)) {
    if (!seen(env, env.state.get(vnetId))) throw resourceNotFound(ARM_TYPES.vnet, name, rg.name);
    throw resourceNotFound(ARM_TYPES.subnet, `${name}/${subnetName}`, rg.name);
  }
  return { status: 200, body: renderSubnet(env, subnet as Subnet, call.now) };
}

registerRenderer('vnet', renderVnet);
registerRenderer('subnet', renderSubnet);

export const VNET_OPERATIONS: ArmOperationTable = {
  ...networkTypeOperations('vnet', putVnet, 'network.create', 'network.delete'),
  'LIST Microsoft.Network/virtualNetworks/subnets': read((c) => listSubnets(c.env, c.call, groupOf(c), c.path.names[0])),
  'GET Microsoft.Network/virtualNetworks/subnets': read((c) => getSubnet(c.env, c.call, groupOf(c), c.path.names[0], c.path.names[1])),
  'PUT Microsoft.Network/virtualNetworks/subnets': { op: 'subnet.create', run: (c) => putSubnet(c.env, c.call, groupOf(c), c.path.names[0], c.path.names[1]) },
  'DELETE Microsoft.Network/virtualNetworks/subnets': {
    op: 'network.delete',
    run: (c) => deleteNetwork(c.env, c.call, c.env.state.get(`${vnetIdOf(c.call, groupOf(c), c.path.names[0])}/subnets/${c.path.names[1]}`), 'network.delete'),
  },
};
