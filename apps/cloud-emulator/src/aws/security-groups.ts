import * as ipaddr from 'ipaddr.js';
import type { ActionContext, ActionDef } from './context';
import { isNetworkAligned, KINDS, lookup, lookupAll, OK, parseCidr, stamp, visibleMap } from './context';
import { clientError, dependencyViolation, invalidParameterValue, missingParameter } from './errors';
import { compileFilters, FilterFields, readFilters } from './filters';
import { paginate } from './paging';
import type { Params } from './params';
import { defaultVpcOf } from './default-vpc';
import { Account, isWellFormedId, newId, RegionState, SecurityGroup, SgRule } from './state';
import { readTagSpecifications, renderTags } from './tags';
import type { XmlValue } from './xml';

/**
 * Security groups of a VPC (EC2 API: CreateSecurityGroup, DescribeSecurityGroups, DeleteSecurityGroup,
 * AuthorizeSecurityGroupIngress, RevokeSecurityGroupIngress). Rules are stored one per peer and grouped back into
 * `IpPermissions` (protocol + port range → ranges) when described, as EC2 does.
 */

/** Default quotas ("Amazon VPC quotas"). */
const GROUPS_PER_REGION = 2500;
const RULES_PER_GROUP = 60;

/** Characters EC2 allows in VPC security group names and descriptions, and in rule descriptions. */
const SG_TEXT = /^[a-zA-Z0-9. _\-:/()#,@[\]+=&;{}!$*]*$/;
const SG_TEXT_SET = 'a-zA-Z0-9. _-:/()#,@[]+=&;{}!$*';

const PROTOCOLS: Record<string, string> = { tcp: 'tcp', '6': 'tcp', udp: 'udp', '17': 'udp', icmp: 'icmp', '1': 'icmp', icmpv6: 'icmpv6', '58': 'icmpv6', '-1': '-1', all: '-1' };

function normaliseProtocol(raw: string): string {
  const l = raw.toLowerCase();
  if (PROTOCOLS[l]) return PROTOCOLS[l];
  if (/^\d+$/.test(l) && Number(l) <= 255) return String(Number(l));
  throw invalidParameterValue(`Invalid value '${raw}' for IP protocol. Unknown protocol.`);
}

function checkDescription(d: string | undefined): string | undefined {
  if (d === undefined) return undefined;
  if (d.length > 255 || !SG_TEXT.test(d)) {
    throw invalidParameterValue(`Invalid rule description. Valid descriptions are strings less than 256 characters from the following set:  ${SG_TEXT_SET}`);
  }
  return d;
}

type RuleSpec = Omit<SgRule, 'id'>;

function readPorts(protocol: string, from: number | undefined, to: number | undefined): { fromPort?: number; toPort?: number } {
  if (protocol === 'tcp' || protocol === 'udp') {
    if (from === undefined || to === undefined) throw invalidParameterValue("Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange");
    if (from < 0 || to > 65535 || from > to) throw invalidParameterValue(`Invalid TCP/UDP port range: from port ${from} to port ${to}`);
    return { fromPort: from, toPort: to };
  }
  if (protocol === 'icmp' || protocol === 'icmpv6') {
    const t = from ?? -1;
    const c = to ?? -1;
    if (t < -1 || t > 255 || c < -1 || c > 255) throw invalidParameterValue(`Invalid ICMP type/code: ${t}/${c}`);
    return { fromPort: t, toPort: c };
  }
  return {};
}

/** Reads `IpPermissions.N` (or the legacy top-level CidrIp/IpProtocol/FromPort/ToPort) into flat rules. */
function readPermissions(p: Params, rs: RegionState, group: SecurityGroup): RuleSpec[] {
  const perms = p.structList('IpPermissions');
  const out: RuleSpec[] = [];
  if (perms.length === 0) {
    const cidr = p.str('CidrIp');
    const proto = p.str('IpProtocol');
    if (cidr === undefined && proto === undefined) throw missingParameter('IpPermissions');
    if (proto === undefined) throw missingParameter('IpProtocol');
    if (cidr === undefined) throw missingParameter('CidrIp');
    const protocol = normaliseProtocol(proto);
    out.push({ protocol, ...readPorts(protocol, p.int('FromPort'), p.int('ToPort')), cidrIpv4: checkCidr4(cidr) });
    return out;
  }
  if (['CidrIp', 'IpProtocol', 'FromPort', 'ToPort'].some((k) => p.has(k))) {
    throw clientError('InvalidParameterCombination', 'The parameter IpPermissions cannot be used with the parameters CidrIp, IpProtocol, FromPort or ToPort');
  }
  for (const perm of perms) {
    perm.allowOnly(['IpProtocol', 'FromPort', 'ToPort', 'IpRanges', 'Ipv6Ranges', 'Groups', 'PrefixListIds']);
    const raw = perm.str('IpProtocol');
    if (raw === undefined) throw missingParameter(`${perm.path}.IpProtocol`);
    const protocol = normaliseProtocol(raw);
    const ports = readPorts(protocol, perm.int('FromPort'), perm.int('ToPort'));
    const before = out.length;
    for (const r of perm.structList('IpRanges')) {
      r.allowOnly(['CidrIp', 'Description']);
      out.push({ protocol, ...ports, cidrIpv4: checkCidr4(r.reqStr('CidrIp')), description: checkDescription(r.str('Description')) });
    }
    for (const r of perm.structList('Ipv6Ranges')) {
      r.allowOnly(['CidrIpv6', 'Description']);
      out.push({ protocol, ...ports, cidrIpv6: checkCidr6(r.reqStr('CidrIpv6')), description: checkDescription(r.str('Description')) });
    }
    for (const g of perm.structList('Groups')) {
      g.allowOnly(['GroupId', 'UserId', 'Description']);
      const ref = lookup(rs.securityGroups, g.reqStr('GroupId'), KINDS.sg);
      if (ref.vpcId !== group.vpcId) throw clientError('InvalidGroup.NotFound', `You have specified two resources that belong to different networks.`);
      out.push({ protocol, ...ports, groupId: ref.id, description: checkDescription(g.str('Description')) });
    }
    for (const pl of perm.structList('PrefixListIds')) {
      pl.allowOnly(['PrefixListId', 'Description']);
      // The sandbox account has no prefix lists (managed or customer): every id is unknown, as it would be on EC2.
      throw clientError('InvalidPrefixListID.NotFound', `The prefix list ID '${pl.reqStr('PrefixListId')}' does not exist`);
    }
    if (out.length === before) {
      throw missingParameter(`${perm.path}.IpRanges, Ipv6Ranges or Groups (a permission needs at least one source)`);
    }
  }
  return out;
}

function checkCidr4(raw: string): string {
  const c = parseCidr(raw);
  if (!c || !isNetworkAligned(c)) throw invalidParameterValue(`CIDR block ${raw} is malformed`);
  return raw;
}

function checkCidr6(raw: string): string {
  try {
    const [addr, len] = ipaddr.IPv6.parseCIDR(raw);
    return `${addr.toString()}/${len}`;
  } catch {
    throw invalidParameterValue(`CIDR block ${raw} is malformed`);
  }
}

const ruleKey = (r: RuleSpec): string => `${r.protocol}|${r.fromPort ?? ''}|${r.toPort ?? ''}|${r.cidrIpv4 ?? ''}|${r.cidrIpv6 ?? ''}|${r.groupId ?? ''}`;

function describeRule(r: RuleSpec): string {
  const peer = r.cidrIpv4 ?? r.cidrIpv6 ?? r.groupId ?? '';
  const proto = r.protocol === '-1' ? 'ALL' : r.protocol.toUpperCase();
  return `peer: ${peer}, ${proto}, from port: ${r.fromPort ?? -1}, to port: ${r.toPort ?? -1}, ALLOW`;
}

/** Groups flat rules into EC2 `IpPermissions` (one per protocol + port range, peers as lists). */
export function renderPermissions(account: Account, rules: SgRule[]): XmlValue[] {
  const groups = new Map<string, SgRule[]>();
  for (const r of rules) {
    const k = `${r.protocol}|${r.fromPort ?? ''}|${r.toPort ?? ''}`;
    const list = groups.get(k) ?? [];
    list.push(r);
    groups.set(k, list);
  }
  return [...groups.values()].map((rs) => {
    const first = rs[0];
    return {
      ipProtocol: first.protocol,
      fromPort: first.fromPort,
      toPort: first.toPort,
      groups: rs.filter((r) => r.groupId).map((r) => ({ groupId: r.groupId, userId: account.id, description: r.description })),
      ipRanges: rs.filter((r) => r.cidrIpv4).map((r) => ({ cidrIp: r.cidrIpv4, description: r.description })),
      ipv6Ranges: rs.filter((r) => r.cidrIpv6).map((r) => ({ cidrIpv6: r.cidrIpv6, description: r.description })),
      prefixListIds: [],
    };
  });
}

export function renderRule(account: Account, g: SecurityGroup, r: SgRule, isEgress: boolean): XmlValue {
  return {
    securityGroupRuleId: r.id,
    groupId: g.id,
    groupOwnerId: account.id,
    isEgress,
    ipProtocol: r.protocol,
    fromPort: r.fromPort ?? -1,
    toPort: r.toPort ?? -1,
    cidrIpv4: r.cidrIpv4,
    cidrIpv6: r.cidrIpv6,
    referencedGroupInfo: r.groupId ? { groupId: r.groupId, userId: account.id } : undefined,
    description: r.description,
    tagSet: [],
  };
}

export function renderSecurityGroup(account: Account, region: string, g: SecurityGroup): XmlValue {
  return {
    ownerId: account.id,
    groupId: g.id,
    groupName: g.name,
    groupDescription: g.description,
    ipPermissions: renderPermissions(account, g.ingress),
    ipPermissionsEgress: renderPermissions(account, g.egress),
    vpcId: g.vpcId,
    securityGroupArn: `arn:aws:ec2:${region}:${account.id}:security-group/${g.id}`,
    tagSet: renderTags(g.tags),
  };
}

function sgFilters(account: Account): FilterFields<SecurityGroup> {
  return {
    description: (g) => [g.description],
    'group-id': (g) => [g.id],
    'group-name': (g) => [g.name],
    'owner-id': () => [account.id],
    'vpc-id': (g) => [g.vpcId],
    'ip-permission.cidr': (g) => g.ingress.map((r) => r.cidrIpv4),
    'ip-permission.ipv6-cidr': (g) => g.ingress.map((r) => r.cidrIpv6),
    'ip-permission.from-port': (g) => g.ingress.map((r) => r.fromPort),
    'ip-permission.to-port': (g) => g.ingress.map((r) => r.toPort),
    'ip-permission.protocol': (g) => g.ingress.map((r) => r.protocol),
    'ip-permission.group-id': (g) => g.ingress.map((r) => r.groupId),
    'egress.ip-permission.cidr': (g) => g.egress.map((r) => r.cidrIpv4),
    'egress.ip-permission.protocol': (g) => g.egress.map((r) => r.protocol),
  };
}

/** A group by name, which EC2 resolves only in the region's default VPC (`InvalidGroup.NotFound` otherwise). */
function groupByName(c: ActionContext, name: string, groups: Map<string, SecurityGroup> = c.rs.securityGroups): SecurityGroup {
  const vpc = defaultVpcOf(c.rs);
  const g = vpc && [...groups.values()].find((x) => x.vpcId === vpc.id && x.name === name);
  if (!g) throw clientError('InvalidGroup.NotFound', `The security group '${name}' does not exist in default VPC '${vpc?.id ?? 'none'}'`);
  return g;
}

/** `GroupId`, or `GroupName` — which EC2 resolves only in the default VPC. */
function targetGroup(c: ActionContext): SecurityGroup {
  const id = c.p.str('GroupId');
  if (id) return lookup(c.rs.securityGroups, id, KINDS.sg);
  const name = c.p.str('GroupName');
  if (name) return groupByName(c, name);
  throw missingParameter('GroupId');
}

const COMMON = ['DryRun'] as const;

export const SECURITY_GROUP_ACTIONS: Record<string, ActionDef> = {
  CreateSecurityGroup: {
    op: 'firewall.create',
    params: [...COMMON, 'GroupName', 'GroupDescription', 'VpcId', 'TagSpecification'],
    run(c) {
      const name = c.p.reqStr('GroupName');
      const description = c.p.reqStr('GroupDescription');
      const vpcId = c.p.str('VpcId') ?? defaultVpcOf(c.rs)?.id;
      if (!vpcId) throw clientError('VPCIdNotSpecified', 'No default VPC for this user');
      const vpc = lookup(c.rs.vpcs, vpcId, KINDS.vpc);
      if (name.length > 255 || !SG_TEXT.test(name)) throw invalidParameterValue(`Value (${name}) for parameter GroupName is invalid. Valid names are strings less than 256 characters from the following set:  ${SG_TEXT_SET}`);
      if (name.toLowerCase().startsWith('sg-')) throw invalidParameterValue('Group names may not be in the format sg-*.');
      if (name === 'default') throw clientError('InvalidGroup.Reserved', "The security group 'default' is reserved");
      if (description.length > 255 || !SG_TEXT.test(description)) {
        throw invalidParameterValue(`Value (${description}) for parameter GroupDescription is invalid. Valid descriptions are strings less than 256 characters from the following set:  ${SG_TEXT_SET}`);
      }
      const tags = readTagSpecifications(c.p, ['security-group']);
      if ([...c.rs.securityGroups.values()].some((g) => g.vpcId === vpc.id && g.name === name)) {
        throw clientError('InvalidGroup.Duplicate', `The security group '${name}' already exists for VPC '${vpc.id}'`);
      }
      if (c.rs.securityGroups.size >= GROUPS_PER_REGION) throw clientError('SecurityGroupLimitExceeded', 'The maximum number of security groups has been reached.');
      const g: SecurityGroup = {
        id: newId('sg'),
        createdAtMs: stamp(c),
        name,
        description,
        vpcId: vpc.id,
        isDefault: false,
        ingress: [],
        egress: [{ id: newId('sgr'), protocol: '-1', cidrIpv4: '0.0.0.0/0' }],
        tags: tags.get('security-group') ?? new Map(),
      };
      c.rs.securityGroups.set(g.id, g);
      return { groupId: g.id, securityGroupArn: `arn:aws:ec2:${c.rs.region}:${c.account.id}:security-group/${g.id}`, tagSet: renderTags(g.tags) };
    },
  },

  DescribeSecurityGroups: {
    op: 'read',
    params: [...COMMON, 'GroupId', 'GroupName', 'Filter', 'MaxResults', 'NextToken'],
    run(c) {
      const names = c.p.strList('GroupName');
      const ids = c.p.strList('GroupId');
      const visible = visibleMap(c, c.rs.securityGroups);
      const byName = names.map((n) => groupByName(c, n, visible));
      const all = ids.length || names.length ? [...new Set([...(ids.length ? lookupAll(visible, ids, KINDS.sg) : []), ...byName])] : [...visible.values()];
      const match = compileFilters(readFilters(c.p), sgFilters(c.account), (g) => g.tags);
      const page = paginate(all.filter(match), c.p, c.action, { min: 5, max: 1000, idsParam: 'GroupId' });
      return { securityGroupInfo: page.items.map((g) => renderSecurityGroup(c.account, c.rs.region, g)), nextToken: page.nextToken };
    },
  },

  DeleteSecurityGroup: {
    op: 'network.delete',
    params: [...COMMON, 'GroupId', 'GroupName'],
    run(c) {
      const g = targetGroup(c);
      if (g.isDefault) throw clientError('CannotDelete', `the specified group: "${g.id}" name: "default" cannot be deleted by a user`);
      const usedByInstance = c.rs.liveInstances().some((i) => i.securityGroupIds.includes(g.id));
      const referenced = [...c.rs.securityGroups.values()].some((o) => o.id !== g.id && [...o.ingress, ...o.egress].some((r) => r.groupId === g.id));
      if (usedByInstance || referenced) throw dependencyViolation(`resource ${g.id} has a dependent object`);
      c.rs.securityGroups.delete(g.id);
      return { ...OK, groupId: g.id };
    },
  },

  AuthorizeSecurityGroupIngress: {
    op: 'firewall.create',
    params: [...COMMON, 'GroupId', 'GroupName', 'IpPermissions', 'CidrIp', 'IpProtocol', 'FromPort', 'ToPort'],
    run(c) {
      const g = targetGroup(c);
      const specs = readPermissions(c.p, c.rs, g);
      const existing = new Set(g.ingress.map(ruleKey));
      const seen = new Set<string>();
      for (const s of specs) {
        const k = ruleKey(s);
        if (existing.has(k) || seen.has(k)) throw clientError('InvalidPermission.Duplicate', `the specified rule "${describeRule(s)}" already exists`);
        seen.add(k);
      }
      if (g.ingress.length + specs.length > RULES_PER_GROUP) {
        throw clientError('RulesPerSecurityGroupLimitExceeded', 'The maximum number of rules per security group has been reached.');
      }
      const added = specs.map((s) => ({ id: newId('sgr'), ...s }));
      g.ingress.push(...added);
      return { return: true, securityGroupRuleSet: added.map((r) => renderRule(c.account, g, r, false)) };
    },
  },

  RevokeSecurityGroupIngress: {
    op: 'firewall.create',
    params: [...COMMON, 'GroupId', 'GroupName', 'IpPermissions', 'CidrIp', 'IpProtocol', 'FromPort', 'ToPort', 'SecurityGroupRuleId'],
    run(c) {
      const g = targetGroup(c);
      const ruleIds = c.p.strList('SecurityGroupRuleId');
      let victims: SgRule[];
      if (ruleIds.length) {
        victims = ruleIds.map((id) => {
          const r = g.ingress.find((x) => x.id === id);
          if (!r) throw clientError('InvalidSecurityGroupRuleId.NotFound', `The security group rule ID '${id}' does not exist`);
          return r;
        });
      } else {
        const specs = readPermissions(c.p, c.rs, g);
        victims = specs.map((s) => {
          const r = g.ingress.find((x) => ruleKey(x) === ruleKey(s));
          if (!r) throw clientError('InvalidPermission.NotFound', 'The specified rule does not exist in this security group.');
          return r;
        });
      }
      g.ingress = g.ingress.filter((r) => !victims.includes(r));
      return {
        return: true,
        revokedSecurityGroupRuleSet: victims.map((r) => ({
          securityGroupRuleId: r.id,
          groupId: g.id,
          isEgress: false,
          ipProtocol: r.protocol,
          fromPort: r.fromPort ?? -1,
          toPort: r.toPort ?? -1,
          cidrIpv4: r.cidrIpv4,
          cidrIpv6: r.cidrIpv6,
          referencedGroupId: r.groupId,
          description: r.description,
        })),
      };
    },
  },

  /**
   * Every rule of the region's security groups, one row each, with its `securityGroupRuleId`
   * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSecurityGroupRules.html): filters `group-id`,
   * `security-group-rule-id`, `tag:`; `MaxResults` 5–1000.
   */
  DescribeSecurityGroupRules: {
    op: 'read',
    params: [...COMMON, 'SecurityGroupRuleId', 'Filter', 'MaxResults', 'NextToken'],
    run(c) {
      const ids = c.p.strList('SecurityGroupRuleId');
      const rows: { g: SecurityGroup; r: SgRule; egress: boolean }[] = [];
      for (const g of visibleMap(c, c.rs.securityGroups).values()) {
        for (const r of g.ingress) rows.push({ g, r, egress: false });
        for (const r of g.egress) rows.push({ g, r, egress: true });
      }
      for (const id of ids) {
        if (!isWellFormedId('sgr', id)) throw clientError('InvalidSecurityGroupRuleId.Malformed', `The security group rule ID '${id}' is malformed`);
      }
      const missing = ids.filter((id) => !rows.some((x) => x.r.id === id));
      if (missing.length) throw clientError('InvalidSecurityGroupRuleId.NotFound', `The security group rule ID '${missing[0]}' does not exist`);
      const match = compileFilters<{ g: SecurityGroup; r: SgRule }>(readFilters(c.p), {
        'group-id': (x) => [x.g.id],
        'security-group-rule-id': (x) => [x.r.id],
      }, () => new Map());
      const list = rows.filter((x) => (ids.length === 0 || ids.includes(x.r.id)) && match(x));
      const page = paginate(list, c.p, c.action, { min: 5, max: 1000, idsParam: 'SecurityGroupRuleId' });
      return { securityGroupRuleSet: page.items.map((x) => renderRule(c.account, x.g, x.r, x.egress)), nextToken: page.nextToken };
    },
  },
};
