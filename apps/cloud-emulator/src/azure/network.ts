import { randomUUID } from 'node:crypto';
import { ArmError, invalidRequestFormat, resourceNotFound } from './arm-error';
import { Call, Env, Reply, asyncOperationUrl, deleteAccepted, eqi, page, seen, startOperation, tagsField } from './common';
import {
  ARM_TYPES, AT_ACCEPTANCE, Nic, NicIpConfig, Nsg, PublicIp, Resource, ResourceGroup, SecurityRule, Subnet, VNet, newEtag, provisioningState,
} from './state';
import {
  ZONES, checkNetworkName, cidrContainsCidr, cidrContainsIp, cidrSize, cidrsOverlap, intToIp, ipToInt, isObject, isValidAddressPrefix,
  optEnum, optRef, optString, optStringArray, parseCidr, parsePortRange, parseTags, requireBody, requireLocation, requirePrefix,
} from './validate';

const NS = 'Microsoft.Network';

/** Network RP resource types the sandbox serves (lower-case path segment → kind). */
export const NETWORK_TYPES = {
  virtualnetworks: 'vnet',
  networksecuritygroups: 'nsg',
  publicipaddresses: 'pip',
  networkinterfaces: 'nic',
} as const;
const SEGMENT: Record<'vnet' | 'nsg' | 'pip' | 'nic', string> = {
  vnet: 'virtualNetworks',
  nsg: 'networkSecurityGroups',
  pip: 'publicIPAddresses',
  nic: 'networkInterfaces',
};

const resourceId = (call: Call, rg: ResourceGroup, kind: keyof typeof SEGMENT, name: string) =>
  `/subscriptions/${call.account.subscriptionId}/resourceGroups/${rg.name}/providers/${NS}/${SEGMENT[kind]}/${name}`;

// ---------------------------------------------------------------------------------------------------------------------
// Rendering (what GET returns). Back-references (subnet → ipConfigurations, NSG → networkInterfaces, …) are derived.
// ---------------------------------------------------------------------------------------------------------------------

function nicsUsing(env: Env, sub: string, pred: (c: NicIpConfig, n: Nic) => boolean): { nic: Nic; cfg: NicIpConfig }[] {
  return env.state.ofKind(sub, 'nic').flatMap((nic) => nic.ipConfigs.filter((c) => pred(c, nic)).map((cfg) => ({ nic, cfg })));
}
const ipConfigId = (nic: Nic, cfg: NicIpConfig) => `${nic.id}/ipConfigurations/${cfg.name}`;

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

function renderVnet(env: Env, v: VNet, now: number): Record<string, unknown> {
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

const DEFAULT_RULES: SecurityRule[] = [
  { name: 'AllowVnetInBound', description: 'Allow inbound traffic from all VMs in VNET', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: 'VirtualNetwork', destinationAddressPrefix: 'VirtualNetwork', access: 'Allow', priority: 65000, direction: 'Inbound', sourcePortRanges: [], destinationPortRanges: [], sourceAddressPrefixes: [], destinationAddressPrefixes: [] },
  { name: 'AllowAzureLoadBalancerInBound', description: 'Allow inbound traffic from azure load balancer', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: 'AzureLoadBalancer', destinationAddressPrefix: '*', access: 'Allow', priority: 65001, direction: 'Inbound', sourcePortRanges: [], destinationPortRanges: [], sourceAddressPrefixes: [], destinationAddressPrefixes: [] },
  { name: 'DenyAllInBound', description: 'Deny all inbound traffic', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: '*', destinationAddressPrefix: '*', access: 'Deny', priority: 65500, direction: 'Inbound', sourcePortRanges: [], destinationPortRanges: [], sourceAddressPrefixes: [], destinationAddressPrefixes: [] },
  { name: 'AllowVnetOutBound', description: 'Allow outbound traffic from all VMs to all VMs in VNET', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: 'VirtualNetwork', destinationAddressPrefix: 'VirtualNetwork', access: 'Allow', priority: 65000, direction: 'Outbound', sourcePortRanges: [], destinationPortRanges: [], sourceAddressPrefixes: [], destinationAddressPrefixes: [] },
  { name: 'AllowInternetOutBound', description: 'Allow outbound traffic from all VMs to Internet', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: '*', destinationAddressPrefix: 'Internet', access: 'Allow', priority: 65001, direction: 'Outbound', sourcePortRanges: [], destinationPortRanges: [], sourceAddressPrefixes: [], destinationAddressPrefixes: [] },
  { name: 'DenyAllOutBound', description: 'Deny all outbound traffic', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: '*', destinationAddressPrefix: '*', access: 'Deny', priority: 65500, direction: 'Outbound', sourcePortRanges: [], destinationPortRanges: [], sourceAddressPrefixes: [], destinationAddressPrefixes: [] },
];

function renderRule(nsg: Nsg, r: SecurityRule, state: string, kind: 'securityRules' | 'defaultSecurityRules'): Record<string, unknown> {
  return {
    name: r.name,
    id: `${nsg.id}/${kind}/${r.name}`,
    etag: nsg.etag,
    type: `${ARM_TYPES.nsg}/${kind}`,
    properties: {
      provisioningState: state,
      ...(r.description !== undefined ? { description: r.description } : {}),
      protocol: r.protocol,
      ...(r.sourcePortRange !== undefined ? { sourcePortRange: r.sourcePortRange } : {}),
      ...(r.destinationPortRange !== undefined ? { destinationPortRange: r.destinationPortRange } : {}),
      ...(r.sourceAddressPrefix !== undefined ? { sourceAddressPrefix: r.sourceAddressPrefix } : {}),
      ...(r.destinationAddressPrefix !== undefined ? { destinationAddressPrefix: r.destinationAddressPrefix } : {}),
      access: r.access,
      priority: r.priority,
      direction: r.direction,
      sourcePortRanges: [...r.sourcePortRanges],
      destinationPortRanges: [...r.destinationPortRanges],
      sourceAddressPrefixes: [...r.sourceAddressPrefixes],
      destinationAddressPrefixes: [...r.destinationAddressPrefixes],
    },
  };
}

function renderNsg(env: Env, n: Nsg, now: number): Record<string, unknown> {
  const state = provisioningState(n, now);
  const nics = env.state.ofKind(n.subscriptionId, 'nic').filter((x) => eqi(x.nsgId, n.id));
  const subnets = env.state.ofKind(n.subscriptionId, 'subnet').filter((x) => eqi(x.nsgId, n.id));
  return {
    name: n.name,
    id: n.id,
    etag: n.etag,
    type: ARM_TYPES.nsg,
    location: n.location,
    ...tagsField(n.tags),
    properties: {
      resourceGuid: n.resourceGuid,
      provisioningState: state,
      securityRules: n.rules.map((r) => renderRule(n, r, state, 'securityRules')),
      defaultSecurityRules: DEFAULT_RULES.map((r) => renderRule(n, r, state, 'defaultSecurityRules')),
      ...(nics.length ? { networkInterfaces: nics.map((x) => ({ id: x.id })) } : {}),
      ...(subnets.length ? { subnets: subnets.map((x) => ({ id: x.id })) } : {}),
    },
  };
}

function renderPip(env: Env, p: PublicIp, now: number): Record<string, unknown> {
  const user = nicsUsing(env, p.subscriptionId, (c) => eqi(c.publicIpId, p.id))[0];
  return {
    name: p.name,
    id: p.id,
    etag: p.etag,
    location: p.location,
    ...tagsField(p.tags),
    ...(p.zones ? { zones: [...p.zones] } : {}),
    type: ARM_TYPES.pip,
    sku: { ...p.sku },
    properties: {
      provisioningState: provisioningState(p, now),
      resourceGuid: p.resourceGuid,
      ...(p.ipAddress ? { ipAddress: p.ipAddress } : {}),
      publicIPAddressVersion: p.version,
      publicIPAllocationMethod: p.allocation,
      idleTimeoutInMinutes: p.idleTimeoutInMinutes,
      ipTags: [],
      ...(user ? { ipConfiguration: { id: ipConfigId(user.nic, user.cfg) } } : {}),
      ddosSettings: { protectionMode: 'VirtualNetworkInherited' },
    },
  };
}

function renderNic(env: Env, n: Nic, now: number): Record<string, unknown> {
  const state = provisioningState(n, now);
  const vm = env.state.ofKind(n.subscriptionId, 'vm').find((v) => v.nics.some((r) => eqi(r.id, n.id)));
  return {
    name: n.name,
    id: n.id,
    etag: n.etag,
    type: ARM_TYPES.nic,
    location: n.location,
    ...tagsField(n.tags),
    kind: 'Regular',
    properties: {
      provisioningState: state,
      resourceGuid: n.resourceGuid,
      ipConfigurations: n.ipConfigs.map((c) => ({
        name: c.name,
        id: ipConfigId(n, c),
        etag: n.etag,
        type: `${ARM_TYPES.nic}/ipConfigurations`,
        properties: {
          provisioningState: state,
          privateIPAddress: c.privateIp,
          privateIPAllocationMethod: c.allocation,
          subnet: { id: c.subnetId },
          ...(c.publicIpId ? { publicIPAddress: { id: c.publicIpId, ...(c.publicIpDeleteOption ? { properties: { deleteOption: c.publicIpDeleteOption } } : {}) } } : {}),
          primary: c.primary,
          privateIPAddressVersion: 'IPv4',
        },
      })),
      dnsSettings: { dnsServers: [], appliedDnsServers: [], internalDomainNameSuffix: `${n.resourceGuid.replace(/-/g, '').slice(0, 24)}.bx.internal.cloudapp.net` },
      ...(vm ? { macAddress: n.macAddress, primary: vm.nics.find((r) => eqi(r.id, n.id))?.primary ?? vm.nics.length === 1, virtualMachine: { id: vm.id } } : {}),
      enableAcceleratedNetworking: n.enableAcceleratedNetworking,
      vnetEncryptionSupported: false,
      enableIPForwarding: n.enableIPForwarding,
      disableTcpStateTracking: false,
      ...(n.nsgId ? { networkSecurityGroup: { id: n.nsgId } } : {}),
      hostedWorkloads: [],
      tapConfigurations: [],
      nicType: 'Standard',
      allowPort25Out: false,
      auxiliaryMode: 'None',
      auxiliarySku: 'None',
    },
  };
}

export function renderNetwork(env: Env, r: Resource, now: number): Record<string, unknown> {
  switch (r.kind) {
    case 'vnet': return renderVnet(env, r, now);
    case 'subnet': return renderSubnet(env, r, now);
    case 'nsg': return renderNsg(env, r, now);
    case 'pip': return renderPip(env, r, now);
    case 'nic': return renderNic(env, r, now);
    default: throw new Error(`not a network resource: ${r.kind}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Validation of request bodies
// ---------------------------------------------------------------------------------------------------------------------

const propsOf = (body: Record<string, unknown>): Record<string, unknown> => {
  const p = body.properties;
  if (p === undefined || p === null) return {};
  if (!isObject(p)) throw invalidRequestFormat("Error converting value to type 'Properties'. Path 'properties'.");
  return p;
};

function parseSecurityRule(nsgId: string, raw: unknown, i: number): SecurityRule {
  const path = `properties.securityRules[${i}]`;
  if (!isObject(raw)) throw invalidRequestFormat(`Error converting value to type 'SecurityRule'. Path '${path}'.`);
  const name = optString(raw, 'name', path);
  if (!name) throw new ArmError(400, 'InvalidRequestFormat', 'Cannot parse the request.', { details: [{ code: 'MissingJsonReferenceId', message: `Value for reference id is missing. Path ${path}.name.` }] });
  checkNetworkName(name);
  const ruleId = `${nsgId}/securityRules/${name}`;
  const p = propsOf(raw);
  const pp = `${path}.properties`;
  const protocol = optEnum(p, 'protocol', ['Tcp', 'Udp', 'Icmp', 'Esp', '*', 'Ah'] as const, pp);
  const access = optEnum(p, 'access', ['Allow', 'Deny'] as const, pp);
  const direction = optEnum(p, 'direction', ['Inbound', 'Outbound'] as const, pp);
  const missing = (what: string) =>
    new ArmError(400, 'SecurityRuleParameterMissing', `Security rule ${ruleId} is missing required parameter '${what}'.`);
  if (!protocol) throw missing('protocol');
  if (!access) throw missing('access');
  if (!direction) throw missing('direction');
  const priority = p.priority;
  if (priority === undefined || priority === null) throw missing('priority');
  if (typeof priority !== 'number' || !Number.isInteger(priority)) throw invalidRequestFormat(`Error converting value ${JSON.stringify(priority)} to type 'System.Int32'. Path '${pp}.priority'.`);
  if (priority < 100 || priority > 4096) {
    throw new ArmError(400, 'SecurityRuleInvalidPriority', `Security rule has invalid Priority. Value provided: ${priority} Allowed range 100-4096.`);
  }
  const description = optString(p, 'description', pp);
  if (description !== undefined && description.length > 140) {
    throw new ArmError(400, 'SecurityRuleDescriptionTooLong', `Security rule ${ruleId} has a description longer than 140 characters.`);
  }
  const rule: SecurityRule = {
    name, description, protocol, access, direction, priority,
    sourcePortRange: optString(p, 'sourcePortRange', pp),
    sourcePortRanges: optStringArray(p, 'sourcePortRanges', pp),
    destinationPortRange: optString(p, 'destinationPortRange', pp),
    destinationPortRanges: optStringArray(p, 'destinationPortRanges', pp),
    sourceAddressPrefix: optString(p, 'sourceAddressPrefix', pp),
    sourceAddressPrefixes: optStringArray(p, 'sourceAddressPrefixes', pp),
    destinationAddressPrefix: optString(p, 'destinationAddressPrefix', pp),
    destinationAddressPrefixes: optStringArray(p, 'destinationAddressPrefixes', pp),
  };
  const pair = (single: string | undefined, many: string[], what: string) => {
    if (single !== undefined && many.length) {
      throw new ArmError(400, 'SecurityRuleParameterContainsUnsupportedValue', `Security rule parameter ${what} for rule with Id ${ruleId} cannot be specified together with ${what}s.`);
    }
    if (single === undefined && !many.length) throw missing(what);
    return single !== undefined ? [single] : many;
  };
  for (const port of [...pair(rule.sourcePortRange, rule.sourcePortRanges, 'SourcePortRange'), ...pair(rule.destinationPortRange, rule.destinationPortRanges, 'DestinationPortRange')]) {
    if (!parsePortRange(port)) {
      throw new ArmError(400, 'SecurityRuleInvalidPortRange', `Security rule has invalid Port range. Value provided: ${port}. Value should be an integer OR integer range with '-' delimiter. Valid range 0-65535.`);
    }
  }
  for (const prefix of [...pair(rule.sourceAddressPrefix, rule.sourceAddressPrefixes, 'SourceAddressPrefix'), ...pair(rule.destinationAddressPrefix, rule.destinationAddressPrefixes, 'DestinationAddressPrefix')]) {
    if (!isValidAddressPrefix(prefix)) {
      throw new ArmError(400, 'SecurityRuleInvalidAddressPrefix', `Security rule has invalid Address prefix. Value provided: ${prefix}`);
    }
  }
  return rule;
}

function parseSecurityRules(nsgId: string, raw: unknown): SecurityRule[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw invalidRequestFormat("Error converting value to type 'List`1[SecurityRule]'. Path 'properties.securityRules'.");
  const rules = raw.map((r, i) => parseSecurityRule(nsgId, r, i));
  for (let i = 0; i < rules.length; i++) {
    for (let j = 0; j < i; j++) {
      if (rules[i].name.toLowerCase() === rules[j].name.toLowerCase()) {
        throw new ArmError(400, 'DuplicateResourceName', `Resource ${nsgId} has two child resources with the same name (${rules[i].name}).`);
      }
      if (rules[i].priority === rules[j].priority && rules[i].direction === rules[j].direction) {
        throw new ArmError(
          400,
          'SecurityRuleConflict',
          `Security rule ${rules[i].name} conflicts with rule ${rules[j].name}. Rules cannot have the same Priority and Direction. To learn more, see aka.ms/nsgrules.`,
        );
      }
    }
  }
  return rules;
}

/** Refuses a PUT that moves an existing resource to another region. */
function sameLocation(existing: { location: string; id: string } | undefined, location: string, name: string, rg: string): void {
  if (existing && existing.location !== location) {
    throw new ArmError(
      400,
      'InvalidResourceLocation',
      `The resource '${name}' already exists in location '${existing.location}' in resource group '${rg}'. A resource with the same name cannot be created in location '${location}'. Please select a new resource name.`,
    );
  }
}

function notBusy(r: Resource | undefined): void {
  if (r?.deleting) {
    throw new ArmError(409, 'AnotherOperationInProgress', `Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: ${r.id}.`);
  }
}

function invalidReference(ref: string, by: string): ArmError {
  return new ArmError(
    400,
    'InvalidResourceReference',
    `Resource ${ref} referenced by resource ${by} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`,
  );
}

/** Subnet checks shared by the subnet PUT and a VNet PUT's inline subnets. */
function checkSubnet(env: Env, vnet: { id: string; name: string; addressPrefixes: string[]; location: string }, s: { id: string; name: string; addressPrefix: string; nsgId?: string }, siblings: { name: string; addressPrefix: string }[]): void {
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

function subnetInUse(env: Env, s: Subnet): ArmError | undefined {
  const users = nicsUsing(env, s.subscriptionId, (c) => eqi(c.subnetId, s.id));
  if (!users.length) return undefined;
  return new ArmError(
    400,
    'InUseSubnetCannotBeDeleted',
    `Subnet ${s.name} is in use by ${ipConfigId(users[0].nic, users[0].cfg)} and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.`,
  );
}

function parseInlineSubnet(vnetId: string, raw: unknown, i: number): { name: string; addressPrefix: string; nsgId?: string; defaultOutboundAccess?: boolean } {
  const path = `properties.subnets[${i}]`;
  if (!isObject(raw)) throw invalidRequestFormat(`Error converting value to type 'Subnet'. Path '${path}'.`);
  const name = optString(raw, 'name', path);
  if (!name) throw new ArmError(400, 'InvalidRequestFormat', 'Cannot parse the request.', { details: [{ code: 'MissingJsonReferenceId', message: `Value for reference id is missing. Path ${path}.name.` }] });
  checkNetworkName(name);
  return { name, ...parseSubnetProps(`${vnetId}/subnets/${name}`, propsOf(raw), `${path}.properties`) };
}

function parseSubnetProps(id: string, p: Record<string, unknown>, path: string): { addressPrefix: string; nsgId?: string; defaultOutboundAccess?: boolean } {
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

// ---------------------------------------------------------------------------------------------------------------------
// PUT handlers
// ---------------------------------------------------------------------------------------------------------------------

function created(env: Env, call: Call, r: Resource, isNew: boolean, location: string): Reply {
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
function beginPut<T extends Resource>(env: Env, call: Call, rg: ResourceGroup, kind: 'vnet' | 'nsg' | 'pip' | 'nic', name: string) {
  checkNetworkName(name);
  const body = requireBody(call.body);
  const id = resourceId(call, rg, kind, name);
  const existing = env.state.get(id) as T | undefined;
  notBusy(existing);
  const location = requireLocation(body, ARM_TYPES[kind]);
  sameLocation(existing, location, name, rg.name);
  return { body, id, existing, location, tags: parseTags(body.tags) };
}

function putVnet(env: Env, call: Call, rg: ResourceGroup, name: string): Reply {
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

function putSubnet(env: Env, call: Call, rg: ResourceGroup, vnetName: string, name: string): Reply {
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

function putNsg(env: Env, call: Call, rg: ResourceGroup, name: string): Reply {
  const { body, id, existing, location, tags } = beginPut<Nsg>(env, call, rg, 'nsg', name);
  const rules = parseSecurityRules(existing?.id ?? id, propsOf(body).securityRules);
  const busy = { state: 'Updating' as const, until: call.now + env.ctx.latencyMs('firewall.create') };
  const nsg: Nsg = existing
    ? { ...existing, tags, rules, etag: newEtag(), busy }
    : { kind: 'nsg', id, subscriptionId: call.account.subscriptionId, resourceGroup: rg.name, name, location, tags, etag: newEtag(), resourceGuid: randomUUID(), createdAt: call.now, createdAtMs: call.clock, rules, busy };
  env.state.put(nsg);
  return created(env, call, nsg, !existing, location);
}

function putPip(env: Env, call: Call, rg: ResourceGroup, name: string): Reply {
  const { body, id, existing, location, tags } = beginPut<PublicIp>(env, call, rg, 'pip', name);
  const p = propsOf(body);
  let skuName: 'Basic' | 'Standard' = 'Basic';
  let tier: 'Regional' | 'Global' = 'Regional';
  if (body.sku !== undefined && body.sku !== null) {
    if (!isObject(body.sku)) throw invalidRequestFormat("Error converting value to type 'PublicIPAddressSku'. Path 'sku'.");
    skuName = optEnum(body.sku, 'name', ['Basic', 'Standard'] as const, 'sku') ?? 'Basic';
    tier = optEnum(body.sku, 'tier', ['Regional', 'Global'] as const, 'sku') ?? 'Regional';
  }
  const allocation = optEnum(p, 'publicIPAllocationMethod', ['Static', 'Dynamic'] as const, 'properties') ?? 'Dynamic';
  const canonicalId = existing?.id ?? id;
  if (skuName === 'Standard' && allocation !== 'Static') {
    throw new ArmError(400, 'StandardSkuPublicIPAddressesMustBeStatic', `Standard sku publicIp ${canonicalId} must have AllocationMethod set to Static.`);
  }
  const version = optEnum(p, 'publicIPAddressVersion', ['IPv4', 'IPv6'] as const, 'properties') ?? 'IPv4';
  if (version === 'IPv6') throw new ArmError(400, 'InvalidRequestFormat', 'The sandbox serves IPv4 public addresses only.');
  const idle = p.idleTimeoutInMinutes ?? 4;
  if (typeof idle !== 'number' || !Number.isInteger(idle) || idle < 4 || idle > 30) {
    throw new ArmError(400, 'PublicIPIdleTimeoutIsOutOfRange', `IdleTimeoutInMinutes of ${canonicalId} is out of range: ${String(idle)}. It must be between 4 and 30.`);
  }
  const zones = body.zones === undefined || body.zones === null ? undefined : optStringArray(body, 'zones', '');
  if (zones) {
    const allowed = ZONES[location] ?? [];
    const bad = zones.find((z) => !allowed.includes(z));
    if (bad !== undefined) throw new ArmError(400, 'ZonesNotSupported', `Zone ${bad} is not supported for ${canonicalId} in region ${location}. Supported zones: ${allowed.join(',') || 'none'}.`);
  }
  if (existing && (existing.sku.name !== skuName)) {
    throw new ArmError(400, 'PublicIPAddressSkuCannotBeChanged', `Sku of public IP ${canonicalId} cannot be changed from ${existing.sku.name} to ${skuName}.`);
  }
  let ipAddress = existing?.ipAddress;
  if (!ipAddress && allocation === 'Static') {
    ipAddress = env.state.allocatePublicIp();
    if (!ipAddress) {
      throw new ArmError(400, 'PublicIPCountLimitReached', `Cannot create more than 254 public IP addresses for this subscription in this region.`);
    }
  }
  const busy = { state: 'Updating' as const, until: call.now + env.ctx.latencyMs('gateway.create') };
  const pip: PublicIp = existing
    ? { ...existing, tags, allocation, idleTimeoutInMinutes: idle, ipAddress, etag: newEtag(), busy }
    : {
      kind: 'pip', id, subscriptionId: call.account.subscriptionId, resourceGroup: rg.name, name, location, tags, etag: newEtag(), resourceGuid: randomUUID(),
      createdAt: call.now, createdAtMs: call.clock, sku: { name: skuName, tier }, allocation, version, idleTimeoutInMinutes: idle, ...(zones ? { zones } : {}), ipAddress, busy,
    };
  env.state.put(pip);
  return created(env, call, pip, !existing, location);
}

/** Lowest free address of a subnet (Azure reserves the first four and the last). */
function allocatePrivateIp(env: Env, subnet: Subnet, taken: Set<number>): string | undefined {
  const c = parseCidr(subnet.addressPrefix);
  if (!c) return undefined;
  for (let n = c.base + 4; n < c.base + cidrSize(c.len) - 1; n++) if (!taken.has(n)) return intToIp(n);
  return undefined;
}

function putNic(env: Env, call: Call, rg: ResourceGroup, name: string): Reply {
  const { body, id, existing, location, tags } = beginPut<Nic>(env, call, rg, 'nic', name);
  const p = propsOf(body);
  const canonicalId = existing?.id ?? id;
  const rawConfigs = p.ipConfigurations;
  if (!Array.isArray(rawConfigs) || rawConfigs.length === 0) {
    throw new ArmError(400, 'NetworkInterfaceMustHaveAtLeastOneIpConfiguration', `Network interface ${canonicalId} must have at least one IP configuration.`);
  }
  const nsgId = optRef(p, 'networkSecurityGroup', 'properties');
  if (nsgId) {
    const nsg = env.state.get(nsgId);
    if (!nsg || nsg.kind !== 'nsg' || nsg.deleting || nsg.location !== location) throw invalidReference(nsgId, canonicalId);
  }
  const bool = (k: string): boolean => {
    const v = p[k];
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw invalidRequestFormat(`Error converting value to type 'System.Boolean'. Path 'properties.${k}'.`);
    return v;
  };
  const configs: NicIpConfig[] = [];
  let vnetOfNic: string | undefined;
  rawConfigs.forEach((raw, i) => {
    const path = `properties.ipConfigurations[${i}]`;
    if (!isObject(raw)) throw invalidRequestFormat(`Error converting value to type 'NetworkInterfaceIPConfiguration'. Path '${path}'.`);
    const cfgName = optString(raw, 'name', path);
    if (!cfgName) throw new ArmError(400, 'InvalidRequestFormat', 'Cannot parse the request.', { details: [{ code: 'MissingJsonReferenceId', message: `Value for reference id is missing. Path ${path}.name.` }] });
    const cp = propsOf(raw);
    const cpath = `${path}.properties`;
    const cfgId = `${canonicalId}/ipConfigurations/${cfgName}`;
    const subnetId = optRef(cp, 'subnet', cpath);
    if (!subnetId) throw new ArmError(400, 'IpConfigurationSubnetMissing', `IP configuration ${cfgId} must reference a subnet.`);
    const subnet = env.state.get(subnetId);
    const vnet = subnet?.kind === 'subnet' ? env.state.get(subnet.vnetId) : undefined;
    if (!subnet || subnet.kind !== 'subnet' || !vnet || vnet.deleting || vnet.location !== location) throw invalidReference(subnetId, cfgId);
    if (vnetOfNic && !eqi(vnetOfNic, vnet.id)) throw new ArmError(400, 'IpConfigurationsOfNicMustBeInSameVnet', `IP configurations of network interface ${canonicalId} must all reference subnets of the same virtual network.`);
    vnetOfNic = vnet.id;
    const allocation = optEnum(cp, 'privateIPAllocationMethod', ['Static', 'Dynamic'] as const, cpath) ?? 'Dynamic';
    const requested = optString(cp, 'privateIPAddress', cpath);
    const pipId = optRef(cp, 'publicIPAddress', cpath);
    let pipDeleteOption: 'Delete' | 'Detach' | undefined;
    if (pipId) {
      const pipRef = cp.publicIPAddress as Record<string, unknown>;
      const pipProps = isObject(pipRef.properties) ? pipRef.properties : {};
      pipDeleteOption = optEnum(pipProps, 'deleteOption', ['Delete', 'Detach'] as const, `${cpath}.publicIPAddress.properties`);
      const pip = env.state.get(pipId);
      if (!pip || pip.kind !== 'pip' || pip.deleting || pip.location !== location) throw invalidReference(pipId, cfgId);
      const other = nicsUsing(env, call.account.subscriptionId, (c, n) => eqi(c.publicIpId, pipId) && !(eqi(n.id, canonicalId) && c.name.toLowerCase() === cfgName.toLowerCase()))[0];
      if (other) {
        throw new ArmError(400, 'PublicIPAddressInUse', `Resource ${pip.id} is already in use by ${ipConfigId(other.nic, other.cfg)}. A public IP address can be associated with one IP configuration only.`);
      }
    }
    const primaryRaw = cp.primary;
    if (primaryRaw !== undefined && primaryRaw !== null && typeof primaryRaw !== 'boolean') throw invalidRequestFormat(`Error converting value to type 'System.Boolean'. Path '${cpath}.primary'.`);
    const publicIpId = pipId === undefined ? undefined : env.state.get(pipId)?.id;
    configs.push({ name: cfgName, subnetId: subnet.id, privateIp: requested ?? '', allocation, publicIpId, publicIpDeleteOption: pipDeleteOption, primary: primaryRaw === true });
  });
  if (configs.length === 1) configs[0].primary = true;
  else if (configs.filter((c) => c.primary).length !== 1) {
    throw new ArmError(400, 'NetworkInterfaceMustHaveExactlyOnePrimaryIpConfiguration', `Network interface ${canonicalId} must have exactly one primary IP configuration.`);
  }
  // Private addresses: keep what this NIC already has, honour static requests, then allocate the lowest free.
  for (const cfg of configs) {
    const subnet = env.state.get(cfg.subnetId) as Subnet;
    const c = parseCidr(subnet.addressPrefix);
    const taken = new Set(
      nicsUsing(env, call.account.subscriptionId, (x, n) => eqi(x.subnetId, subnet.id) && !eqi(n.id, canonicalId)).map(({ cfg: x }) => ipToInt(x.privateIp)),
    );
    for (const other of configs) if (other !== cfg && other.privateIp) taken.add(ipToInt(other.privateIp));
    const prev = existing?.ipConfigs.find((x) => x.name.toLowerCase() === cfg.name.toLowerCase() && eqi(x.subnetId, cfg.subnetId));
    if (cfg.allocation === 'Static') {
      if (!cfg.privateIp) throw new ArmError(400, 'PrivateIPAddressIsRequiredForStaticAllocation', `Private IP address is required for static allocation in ${canonicalId}/ipConfigurations/${cfg.name}.`);
      let n: number;
      try { n = ipToInt(cfg.privateIp); } catch { throw new ArmError(400, 'InvalidPrivateIPAddressFormat', `Private static IP address ${cfg.privateIp} does not have the right format.`); }
      if (!c || !cidrContainsIp(c, n)) throw new ArmError(400, 'PrivateIPAddressNotInSubnet', `IP configuration ${canonicalId}/ipConfigurations/${cfg.name} references the private IP address ${cfg.privateIp} which is not in the address range of subnet ${subnet.id}.`);
      if (n < c.base + 4 || n === c.base + cidrSize(c.len) - 1) throw new ArmError(400, 'PrivateIPAddressInReservedRange', `Private static IP address ${cfg.privateIp} falls within reserved IP range of subnet prefix ${subnet.addressPrefix}.`);
      if (taken.has(n)) throw new ArmError(400, 'PrivateIPAddressInUse', `IP configuration ${canonicalId}/ipConfigurations/${cfg.name} is using the private IP address ${cfg.privateIp} which is already allocated to resource ${subnet.id}.`);
    } else if (prev && prev.privateIp) {
      cfg.privateIp = prev.privateIp;
    } else {
      const ip = allocatePrivateIp(env, subnet, taken);
      if (!ip) throw new ArmError(400, 'SubnetIsFull', `Subnet ${subnet.name} with address prefix ${subnet.addressPrefix} does not have enough capacity for 1 IP addresses.`);
      cfg.privateIp = ip;
    }
  }
  // A dynamic (Basic) public address gets its IP when attached.
  for (const cfg of configs) {
    const pip = env.state.get(cfg.publicIpId);
    if (pip?.kind === 'pip' && !pip.ipAddress) pip.ipAddress = env.state.allocatePublicIp();
  }
  const busy = { state: 'Updating' as const, until: call.now + env.ctx.latencyMs('gateway.create') };
  const nic: Nic = existing
    ? { ...existing, tags, ipConfigs: configs, nsgId: nsgId ? env.state.get(nsgId)?.id : undefined, enableAcceleratedNetworking: bool('enableAcceleratedNetworking'), enableIPForwarding: bool('enableIPForwarding'), etag: newEtag(), busy }
    : {
      kind: 'nic', id, subscriptionId: call.account.subscriptionId, resourceGroup: rg.name, name, location, tags, etag: newEtag(), resourceGuid: randomUUID(),
      createdAt: call.now, createdAtMs: call.clock, ipConfigs: configs, nsgId: nsgId ? env.state.get(nsgId)?.id : undefined, enableAcceleratedNetworking: bool('enableAcceleratedNetworking'),
      enableIPForwarding: bool('enableIPForwarding'), macAddress: randomMac(), busy,
    };
  env.state.put(nic);
  return created(env, call, nic, !existing, location);
}

function randomMac(): string {
  const hex = randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase();
  return `00-22-${hex.slice(0, 2)}-${hex.slice(2, 4)}-${hex.slice(4, 6)}-${hex.slice(6, 8)}`;
}

// ---------------------------------------------------------------------------------------------------------------------
// DELETE
// ---------------------------------------------------------------------------------------------------------------------

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

function deleteNetwork(env: Env, call: Call, r: Resource | undefined, op: 'network.delete' | 'instance.delete'): Reply {
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

// ---------------------------------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------------------------------

/** The latency/fault operation of a Network RP call. */
export function networkOperation(method: string, kind: 'vnet' | 'nsg' | 'pip' | 'nic', child: boolean): 'read' | 'network.create' | 'subnet.create' | 'firewall.create' | 'gateway.create' | 'network.delete' | 'instance.delete' {
  if (method === 'GET' || method === 'HEAD') return 'read';
  if (method === 'DELETE') return kind === 'pip' || kind === 'nic' ? 'instance.delete' : 'network.delete';
  if (child) return 'subnet.create';
  return ({ vnet: 'network.create', nsg: 'firewall.create', pip: 'gateway.create', nic: 'gateway.create' } as const)[kind];
}

/**
 * Serves `…/resourceGroups/{rg}/providers/Microsoft.Network/{type}[/{name}[/subnets[/{subnet}]]]`.
 * Reference: https://learn.microsoft.com/rest/api/virtualnetwork/
 */
export async function handleNetwork(
  env: Env,
  call: Call,
  rg: ResourceGroup,
  kind: 'vnet' | 'nsg' | 'pip' | 'nic',
  name: string | undefined,
  child: { type: string; name?: string } | undefined,
): Promise<Reply> {
  const sub = call.account.subscriptionId;
  if (name === undefined) {
    if (call.method !== 'GET') throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${call.method}'.`);
    await env.ctx.delay('read');
    const items = env.state.ofKind(sub, kind).filter((r) => eqi(r.resourceGroup, rg.name) && seen(env, r));
    return page(call, `/subscriptions/${sub}/resourceGroups/${rg.name}/providers/${NS}/${SEGMENT[kind]}`, items.map((r) => renderNetwork(env, r, call.now)));
  }
  if (child) {
    if (kind !== 'vnet' || child.type.toLowerCase() !== 'subnets') {
      throw new ArmError(404, 'InvalidResourceType', `The resource type '${SEGMENT[kind]}/${child.type}' could not be found in the namespace '${NS}' for api version '${call.apiVersion}'.`);
    }
    const vnetId = resourceId(call, rg, 'vnet', name);
    if (child.name === undefined) {
      if (call.method !== 'GET') throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${call.method}'.`);
      await env.ctx.delay('read');
      const vnet = env.state.get(vnetId);
      if (!vnet || !seen(env, vnet)) throw resourceNotFound(ARM_TYPES.vnet, name, rg.name);
      const items = env.state.ofKind(sub, 'subnet').filter((s) => eqi(s.vnetId, vnet.id) && seen(env, s));
      return page(call, `${vnet.id}/subnets`, items.map((s) => renderSubnet(env, s, call.now)));
    }
    const subnet = env.state.get(`${vnetId}/subnets/${child.name}`);
    switch (call.method) {
      case 'GET': {
        await env.ctx.delay('read');
        if (!subnet || !seen(env, subnet)) {
          if (!seen(env, env.state.get(vnetId))) throw resourceNotFound(ARM_TYPES.vnet, name, rg.name);
          throw resourceNotFound(ARM_TYPES.subnet, `${name}/${child.name}`, rg.name);
        }
        return { status: 200, body: renderSubnet(env, subnet as Subnet, call.now) };
      }
      case 'PUT':
        return putSubnet(env, call, rg, name, child.name);
      case 'DELETE':
        return deleteNetwork(env, call, subnet, 'network.delete');
      default:
        throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${call.method}'.`);
    }
  }
  const id = resourceId(call, rg, kind, name);
  const existing = env.state.get(id);
  switch (call.method) {
    case 'GET':
      await env.ctx.delay('read');
      if (!existing || !seen(env, existing)) throw resourceNotFound(ARM_TYPES[kind], name, rg.name);
      return { status: 200, body: renderNetwork(env, existing, call.now) };
    case 'PUT':
      switch (kind) {
        case 'vnet': return putVnet(env, call, rg, name);
        case 'nsg': return putNsg(env, call, rg, name);
        case 'pip': return putPip(env, call, rg, name);
        case 'nic': return putNic(env, call, rg, name);
      }
      break;
    case 'PATCH': {
      if (!existing) throw resourceNotFound(ARM_TYPES[kind], name, rg.name);
      const body = requireBody(call.body);
      if (body.tags !== undefined) existing.tags = parseTags(body.tags);
      existing.etag = newEtag();
      return { status: 200, body: renderNetwork(env, existing, call.now) };
    }
    case 'DELETE':
      return deleteNetwork(env, call, existing, kind === 'pip' || kind === 'nic' ? 'instance.delete' : 'network.delete');
  }
  throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${call.method}'.`);
}

/** `GET /subscriptions/{sub}/providers/Microsoft.Network/{type}` — list across resource groups. */
export async function listNetworkAll(env: Env, call: Call, kind: 'vnet' | 'nsg' | 'pip' | 'nic'): Promise<Reply> {
  await env.ctx.delay('read');
  const sub = call.account.subscriptionId;
  return page(call, `/subscriptions/${sub}/providers/${NS}/${SEGMENT[kind]}`, env.state.ofKind(sub, kind).filter((r) => seen(env, r)).map((r) => renderNetwork(env, r, call.now)));
}

export { NS as NETWORK_NS };
