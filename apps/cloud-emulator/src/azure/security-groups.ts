import { randomUUID } from 'node:crypto';
import { ArmError, invalidRequestFormat, resourceNotFound } from './arm-error';
import { Call, Env, Reply, eqi, page, seen, tagsField } from './common';
import { ArmOperationTable, OpContext, groupOf, read } from './context';
import { registerRenderer, resourceId, beginPut, created, networkTypeOperations, propsOf } from './network-common';
import { ARM_TYPES, Nsg, ResourceGroup, SecurityRule, newEtag, provisioningState } from './state';
import { checkNetworkName, isObject, isValidAddressPrefix, optEnum, optString, optStringArray, parsePortRange } from './validate';

/**
 * Network security groups and their rules (Microsoft.Network/networkSecurityGroups): rendering (with the six default
 * rules), rule validation, PUT, and their table entries.
 * Reference: https://learn.microsoft.com/rest/api/virtualnetwork/network-security-groups
 */
export const DEFAULT_RULES: SecurityRule[] = [
  { name: 'AllowVnetInBound', description: 'Allow inbound traffic from all VMs in VNET', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: 'VirtualNetwork', destinationAddressPrefix: 'VirtualNetwork', access: 'Allow', priority: 65000, direction: 'Inbound', sourcePortRanges: [], destinationPortRanges: [], sourceAddressPrefixes: [], destinationAddressPrefixes: [] },
  { name: 'AllowAzureLoadBalancerInBound', description: 'Allow inbound traffic from azure load balancer', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: 'AzureLoadBalancer', destinationAddressPrefix: '*', access: 'Allow', priority: 65001, direction: 'Inbound', sourcePortRanges: [], destinationPortRanges: [], sourceAddressPrefixes: [], destinationAddressPrefixes: [] },
  { name: 'DenyAllInBound', description: 'Deny all inbound traffic', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: '*', destinationAddressPrefix: '*', access: 'Deny', priority: 65500, direction: 'Inbound', sourcePortRanges: [], destinationPortRanges: [], sourceAddressPrefixes: [], destinationAddressPrefixes: [] },
  { name: 'AllowVnetOutBound', description: 'Allow outbound traffic from all VMs to all VMs in VNET', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: 'VirtualNetwork', destinationAddressPrefix: 'VirtualNetwork', access: 'Allow', priority: 65000, direction: 'Outbound', sourcePortRanges: [], destinationPortRanges: [], sourceAddressPrefixes: [], destinationAddressPrefixes: [] },
  { name: 'AllowInternetOutBound', description: 'Allow outbound traffic from all VMs to Internet', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: '*', destinationAddressPrefix: 'Internet', access: 'Allow', priority: 65001, direction: 'Outbound', sourcePortRanges: [], destinationPortRanges: [], sourceAddressPrefixes: [], destinationAddressPrefixes: [] },
  { name: 'DenyAllOutBound', description: 'Deny all outbound traffic', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: '*', destinationAddressPrefix: '*', access: 'Deny', priority: 65500, direction: 'Outbound', sourcePortRanges: [], destinationPortRanges: [], sourceAddressPrefixes: [], destinationAddressPrefixes: [] },
];

export function renderRule(nsg: Nsg, r: SecurityRule, state: string, kind: 'securityRules' | 'defaultSecurityRules'): Record<string, unknown> {
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

export function renderNsg(env: Env, n: Nsg, now: number): Record<string, unknown> {
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

export function parseSecurityRule(nsgId: string, raw: unknown, i: number): SecurityRule {
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

export function parseSecurityRules(nsgId: string, raw: unknown): SecurityRule[] {
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

export function putNsg(env: Env, call: Call, rg: ResourceGroup, name: string): Reply {
  const { body, id, existing, location, tags } = beginPut<Nsg>(env, call, rg, 'nsg', name);
  const rules = parseSecurityRules(existing?.id ?? id, propsOf(body).securityRules);
  const busy = { state: 'Updating' as const, until: call.now + env.ctx.latencyMs('firewall.create') };
  const nsg: Nsg = existing
    ? { ...existing, tags, rules, etag: newEtag(), busy }
    : { kind: 'nsg', id, subscriptionId: call.account.subscriptionId, resourceGroup: rg.name, name, location, tags, etag: newEtag(), resourceGuid: randomUUID(), createdAt: call.now, createdAtMs: call.clock, rules, busy };
  env.state.put(nsg);
  return created(env, call, nsg, !existing, location);
}

registerRenderer('nsg', renderNsg);

/** The NSG a rule read names, as reads see it. @throws ArmError 404 ResourceNotFound */
function seenNsg(c: OpContext): Nsg {
  const g = groupOf(c);
  const nsg = c.env.state.get(resourceId(c.call, g, 'nsg', c.path.names[0]));
  if (nsg?.kind !== 'nsg' || !seen(c.env, nsg)) throw resourceNotFound(ARM_TYPES.nsg, c.path.names[0], g.name);
  return nsg;
}

/**
 * Security Rules / Default Security Rules - List and Get (https://learn.microsoft.com/rest/api/virtualnetwork/security-rules,
 * …/default-security-rules): the NSG's rules as its GET renders them. Rules are written with the NSG's PUT; a rule's
 * own PUT / DELETE is not served (501).
 */
function ruleReads(kind: 'securityRules' | 'defaultSecurityRules'): ArmOperationTable {
  const rules = (n: Nsg) => (kind === 'securityRules' ? n.rules : DEFAULT_RULES);
  return {
    [`LIST Microsoft.Network/networkSecurityGroups/${kind}`]: read(async (c) => {
      await c.env.ctx.delay('read');
      const nsg = seenNsg(c);
      const state = provisioningState(nsg, c.call.now);
      return page(c.call, `${nsg.id}/${kind}`, rules(nsg).map((r) => renderRule(nsg, r, state, kind)));
    }),
    [`GET Microsoft.Network/networkSecurityGroups/${kind}`]: read(async (c) => {
      await c.env.ctx.delay('read');
      const nsg = seenNsg(c);
      const rule = rules(nsg).find((r) => r.name.toLowerCase() === c.path.names[1].toLowerCase());
      if (!rule) throw resourceNotFound(`${ARM_TYPES.nsg}/${kind}`, `${nsg.name}/${c.path.names[1]}`, groupOf(c).name);
      return { status: 200, body: renderRule(nsg, rule, provisioningState(nsg, c.call.now), kind) };
    }),
  };
}

export const NSG_OPERATIONS: ArmOperationTable = {
  ...networkTypeOperations('nsg', putNsg, 'firewall.create', 'network.delete'),
  ...ruleReads('securityRules'),
  ...ruleReads('defaultSecurityRules'),
};
