import type { ActionDef, ActionContext } from './context';
import { cidrOverlaps, cidrParam, cidrSize, cidrWithin, KINDS, lookup, lookupAll, OK, parseCidr, stamp, visibleMap } from './context';
import { clientError, dependencyViolation, invalidParameterCombination, invalidParameterValue, missingParameter } from './errors';
import { compileFilters, FilterFields, readFilters } from './filters';
import { paginate } from './paging';
import { Account, InternetGateway, newId, RegionState, RouteTable, SecurityGroup, Subnet, Vpc } from './state';
import { readTagSpecifications, renderTags } from './tags';
import type { XmlValue } from './xml';

/**
 * VPC networking actions of the EC2 API (API reference, "Actions"): CreateVpc/DescribeVpcs/DeleteVpc,
 * CreateSubnet/DescribeSubnets/ModifySubnetAttribute/DeleteSubnet, internet gateways, route tables and routes.
 * Dependency rules follow EC2: a VPC with subnets, attached gateways, non-default security groups or non-main route
 * tables cannot be deleted (`DependencyViolation`), nor a subnet with instances, an attached gateway, or an associated
 * route table.
 */

/** Default quotas ("Amazon VPC quotas"). */
const VPCS_PER_REGION = 5;
const SUBNETS_PER_VPC = 200;
const ROUTE_TABLES_PER_VPC = 200;
const ROUTES_PER_TABLE = 50;
const INTERNET_GATEWAYS_PER_REGION = 5;

const PAGE = { min: 5, max: 1000 };

// ---------------------------------------------------------------- rendering

export function renderVpc(account: Account, v: Vpc, state = 'available'): XmlValue {
  return {
    vpcId: v.id,
    ownerId: account.id,
    instanceTenancy: 'default',
    cidrBlockAssociationSet: [{ associationId: v.cidrAssociationId, cidrBlock: v.cidr, cidrBlockState: { state: 'associated' } }],
    ipv6CidrBlockAssociationSet: [],
    isDefault: v.isDefault,
    blockPublicAccessStates: { internetGatewayBlockMode: 'off' },
    tagSet: renderTags(v.tags),
    state,
    cidrBlock: v.cidr,
    dhcpOptionsId: v.dhcpOptionsId,
  };
}

export function availableIps(s: Subnet): number {
  return cidrSize(Number(s.cidr.split('/')[1])) - 5 - s.usedIps.size;
}

export function renderSubnet(account: Account, region: string, s: Subnet, state = 'available'): XmlValue {
  return {
    subnetId: s.id,
    subnetArn: `arn:aws:ec2:${region}:${account.id}:subnet/${s.id}`,
    state,
    vpcId: s.vpcId,
    cidrBlock: s.cidr,
    ipv6CidrBlockAssociationSet: [],
    availableIpAddressCount: availableIps(s),
    availabilityZone: s.zone,
    availabilityZoneId: s.zoneId,
    defaultForAz: s.defaultForAz,
    mapPublicIpOnLaunch: s.mapPublicIpOnLaunch,
    mapCustomerOwnedIpOnLaunch: false,
    assignIpv6AddressOnCreation: false,
    ownerId: account.id,
    enableDns64: false,
    ipv6Native: false,
    privateDnsNameOptionsOnLaunch: { hostnameType: 'ip-name', enableResourceNameDnsARecord: false, enableResourceNameDnsAAAARecord: false },
    blockPublicAccessStates: { internetGatewayBlockMode: 'off' },
    tagSet: renderTags(s.tags),
  };
}

export function renderInternetGateway(account: Account, g: InternetGateway): XmlValue {
  return {
    internetGatewayId: g.id,
    ownerId: account.id,
    attachmentSet: g.attachedVpcId ? [{ vpcId: g.attachedVpcId, state: 'available' }] : [],
    tagSet: renderTags(g.tags),
  };
}

function routeState(rs: RegionState, rt: RouteTable, gatewayId: string): string {
  if (gatewayId === 'local') return 'active';
  return rs.internetGateways.get(gatewayId)?.attachedVpcId === rt.vpcId ? 'active' : 'blackhole';
}

export function renderRouteTable(account: Account, rs: RegionState, rt: RouteTable): XmlValue {
  return {
    routeTableId: rt.id,
    vpcId: rt.vpcId,
    ownerId: account.id,
    routeSet: rt.routes.map((r) => ({ destinationCidrBlock: r.destination, gatewayId: r.gatewayId, state: routeState(rs, rt, r.gatewayId), origin: r.origin })),
    associationSet: rt.associations.map((a) => ({
      routeTableAssociationId: a.id,
      routeTableId: rt.id,
      subnetId: a.subnetId,
      main: a.main,
      associationState: { state: 'associated' },
    })),
    propagatingVgwSet: [],
    tagSet: renderTags(rt.tags),
  };
}

// ---------------------------------------------------------------- helpers

/**
 * Creates a VPC with what EC2 gives every VPC: a main route table (local route) and a `default` security group
 * (inbound: all from the group itself; outbound: all to 0.0.0.0/0), both deleted with the VPC.
 */
export function createVpcWithDefaults(rs: RegionState, account: Account, cidr: string, tags: Map<string, string>, createdAtMs: number, isDefault = false): Vpc {
  const vpc: Vpc = {
    id: newId('vpc'),
    createdAtMs,
    cidr,
    cidrAssociationId: newId('vpc-cidr-assoc'),
    dhcpOptionsId: `dopt-${account.id.slice(-8).padStart(8, '0')}`,
    tags,
    mainRouteTableId: newId('rtb'),
    defaultSecurityGroupId: newId('sg'),
    enableDnsHostnames: isDefault,
    enableDnsSupport: true,
    isDefault,
  };
  rs.vpcs.set(vpc.id, vpc);
  rs.routeTables.set(vpc.mainRouteTableId, {
    id: vpc.mainRouteTableId,
    createdAtMs,
    vpcId: vpc.id,
    main: true,
    routes: [{ destination: cidr, gatewayId: 'local', origin: 'CreateRouteTable' }],
    associations: [{ id: newId('rtbassoc'), main: true }],
    tags: new Map(),
  });
  const sg: SecurityGroup = {
    id: vpc.defaultSecurityGroupId,
    createdAtMs,
    name: 'default',
    description: 'default VPC security group',
    vpcId: vpc.id,
    isDefault: true,
    ingress: [{ id: newId('sgr'), protocol: '-1', groupId: vpc.defaultSecurityGroupId }],
    egress: [{ id: newId('sgr'), protocol: '-1', cidrIpv4: '0.0.0.0/0' }],
    tags: new Map(),
  };
  rs.securityGroups.set(sg.id, sg);
  return vpc;
}

/** The resources a Describe* names (every one must exist and be visible), or all visible ones. */
const byIdsOrAll = <T extends { createdAtMs?: number }>(c: ActionContext, all: Map<string, T>, idsParam: string, kind: Parameters<typeof lookupAll>[2]): T[] => {
  const map = visibleMap(c, all);
  const ids = c.p.strList(idsParam);
  return ids.length ? lookupAll(map, ids, kind) : [...map.values()];
};

function vpcFilters(account: Account): FilterFields<Vpc> {
  return {
    cidr: (v) => [v.cidr],
    'cidr-block-association.cidr-block': (v) => [v.cidr],
    'cidr-block-association.association-id': (v) => [v.cidrAssociationId],
    'cidr-block-association.state': () => ['associated'],
    'dhcp-options-id': (v) => [v.dhcpOptionsId],
    'is-default': (v) => [String(v.isDefault)],
    'owner-id': () => [account.id],
    state: () => ['available'],
    'vpc-id': (v) => [v.id],
  };
}

function subnetFilters(account: Account, region: string): FilterFields<Subnet> {
  return {
    'availability-zone': (s) => [s.zone],
    'availability-zone-id': (s) => [s.zoneId],
    'available-ip-address-count': (s) => [availableIps(s)],
    'cidr-block': (s) => [s.cidr],
    cidr: (s) => [s.cidr],
    cidrBlock: (s) => [s.cidr],
    'default-for-az': (s) => [String(s.defaultForAz)],
    'map-public-ip-on-launch': (s) => [String(s.mapPublicIpOnLaunch)],
    'owner-id': () => [account.id],
    state: () => ['available'],
    'subnet-arn': (s) => [`arn:aws:ec2:${region}:${account.id}:subnet/${s.id}`],
    'subnet-id': (s) => [s.id],
    'vpc-id': (s) => [s.vpcId],
  };
}

function igwFilters(account: Account): FilterFields<InternetGateway> {
  return {
    'attachment.state': (g) => [g.attachedVpcId ? 'available' : undefined],
    'attachment.vpc-id': (g) => [g.attachedVpcId],
    'internet-gateway-id': (g) => [g.id],
    'owner-id': () => [account.id],
  };
}

function routeTableFilters(account: Account, rs: RegionState): FilterFields<RouteTable> {
  return {
    'association.route-table-association-id': (t) => t.associations.map((a) => a.id),
    'association.route-table-id': (t) => (t.associations.length ? [t.id] : []),
    'association.subnet-id': (t) => t.associations.map((a) => a.subnetId),
    'association.main': (t) => (t.main ? ['true'] : t.associations.length ? ['false'] : []),
    'owner-id': () => [account.id],
    'route-table-id': (t) => [t.id],
    'route.destination-cidr-block': (t) => t.routes.map((r) => r.destination),
    'route.gateway-id': (t) => t.routes.map((r) => r.gatewayId),
    'route.origin': (t) => t.routes.map((r) => r.origin),
    'route.state': (t) => t.routes.map((r) => routeState(rs, t, r.gatewayId)),
    'vpc-id': (t) => [t.vpcId],
  };
}

function describe<T extends { tags: Map<string, string> }>(
  c: ActionContext,
  all: T[],
  fields: FilterFields<T>,
  idsParam: string,
  page = PAGE,
): { items: T[]; nextToken?: string } {
  const match = compileFilters(readFilters(c.p), fields, (r) => r.tags);
  return paginate(all.filter(match), c.p, c.action, { ...page, idsParam });
}

const COMMON = ['DryRun'] as const;

// ---------------------------------------------------------------- actions

export const NETWORK_ACTIONS: Record<string, ActionDef> = {
  CreateVpc: {
    op: 'network.create',
    params: [...COMMON, 'CidrBlock', 'TagSpecification'],
    run(c) {
      if (!c.p.str('CidrBlock')) throw missingParameter('CidrBlock');
      const cidr = cidrParam(c.p, 'CidrBlock', 'cidrBlock');
      if (cidr.len < 16 || cidr.len > 28) throw clientError('InvalidVpc.Range', `The CIDR '${cidr.text}' is invalid.`);
      const tags = readTagSpecifications(c.p, ['vpc']);
      if (c.rs.vpcs.size >= VPCS_PER_REGION) throw clientError('VpcLimitExceeded', 'The maximum number of VPCs has been reached.');
      const vpc = createVpcWithDefaults(c.rs, c.account, cidr.text, tags.get('vpc') ?? new Map(), stamp(c));
      return { vpc: renderVpc(c.account, vpc, 'pending') };
    },
  },

  DescribeVpcs: {
    op: 'read',
    params: [...COMMON, 'VpcId', 'Filter', 'MaxResults', 'NextToken'],
    run(c) {
      const page = describe(c, byIdsOrAll(c, c.rs.vpcs, 'VpcId', KINDS.vpc), vpcFilters(c.account), 'VpcId');
      return { vpcSet: page.items.map((v) => renderVpc(c.account, v)), nextToken: page.nextToken };
    },
  },

  DeleteVpc: {
    op: 'network.delete',
    params: [...COMMON, 'VpcId'],
    run(c) {
      const vpc = lookup(c.rs.vpcs, c.p.reqStr('VpcId'), KINDS.vpc);
      const rs = c.rs;
      const inUse =
        [...rs.subnets.values()].some((s) => s.vpcId === vpc.id) ||
        [...rs.internetGateways.values()].some((g) => g.attachedVpcId === vpc.id) ||
        [...rs.securityGroups.values()].some((g) => g.vpcId === vpc.id && !g.isDefault) ||
        [...rs.routeTables.values()].some((t) => t.vpcId === vpc.id && !t.main) ||
        rs.liveInstances().some((i) => i.vpcId === vpc.id);
      if (inUse) throw dependencyViolation(`The vpc '${vpc.id}' has dependencies and cannot be deleted.`);
      rs.routeTables.delete(vpc.mainRouteTableId);
      rs.securityGroups.delete(vpc.defaultSecurityGroupId);
      rs.vpcs.delete(vpc.id);
      return OK;
    },
  },

  CreateSubnet: {
    op: 'subnet.create',
    params: [...COMMON, 'VpcId', 'CidrBlock', 'AvailabilityZone', 'AvailabilityZoneId', 'TagSpecification'],
    run(c) {
      const vpc = lookup(c.rs.vpcs, c.p.reqStr('VpcId'), KINDS.vpc);
      const cidr = cidrParam(c.p, 'CidrBlock', 'cidrBlock');
      const azName = c.p.str('AvailabilityZone');
      const azId = c.p.str('AvailabilityZoneId');
      if (azName && azId) throw invalidParameterCombination('Only one of availabilityZone or availabilityZoneId may be specified.');
      const zones = c.region.zones;
      const zone = azName !== undefined ? zones.find((z) => z.name === azName) : azId !== undefined ? zones.find((z) => z.id === azId) : zones[0];
      if (!zone) {
        const [param, value] = azName !== undefined ? ['availabilityZone', azName] : ['availabilityZoneId', azId];
        throw invalidParameterValue(
          `Value (${value}) for parameter ${param} is invalid. Subnets can currently only be created in the following availability zones: ${zones.map((z) => z.name).join(', ')}.`,
        );
      }
      const vpcCidr = parseCidr(vpc.cidr);
      if (!vpcCidr || cidr.len < 16 || cidr.len > 28 || !cidrWithin(cidr, vpcCidr)) throw clientError('InvalidSubnet.Range', `The CIDR '${cidr.text}' is invalid.`);
      const inVpc = [...c.rs.subnets.values()].filter((s) => s.vpcId === vpc.id);
      for (const s of inVpc) {
        const other = parseCidr(s.cidr);
        if (other && cidrOverlaps(cidr, other)) throw clientError('InvalidSubnet.Conflict', `The CIDR '${cidr.text}' conflicts with another subnet`);
      }
      const tags = readTagSpecifications(c.p, ['subnet']);
      if (inVpc.length >= SUBNETS_PER_VPC) throw clientError('SubnetLimitExceeded', 'The maximum number of subnets has been reached.');
      const subnet: Subnet = {
        id: newId('subnet'),
        createdAtMs: stamp(c),
        vpcId: vpc.id,
        cidr: cidr.text,
        zone: zone.name,
        zoneId: zone.id,
        mapPublicIpOnLaunch: false,
        defaultForAz: false,
        tags: tags.get('subnet') ?? new Map(),
        usedIps: new Set(),
      };
      c.rs.subnets.set(subnet.id, subnet);
      return { subnet: renderSubnet(c.account, c.rs.region, subnet, 'pending') };
    },
  },

  DescribeSubnets: {
    op: 'read',
    params: [...COMMON, 'SubnetId', 'Filter', 'MaxResults', 'NextToken'],
    run(c) {
      const page = describe(c, byIdsOrAll(c, c.rs.subnets, 'SubnetId', KINDS.subnet), subnetFilters(c.account, c.rs.region), 'SubnetId');
      return { subnetSet: page.items.map((s) => renderSubnet(c.account, c.rs.region, s)), nextToken: page.nextToken };
    },
  },

  ModifySubnetAttribute: {
    op: 'subnet.create',
    params: [...COMMON, 'SubnetId', 'MapPublicIpOnLaunch'],
    run(c) {
      const subnet = lookup(c.rs.subnets, c.p.reqStr('SubnetId'), KINDS.subnet);
      const attr = c.p.struct('MapPublicIpOnLaunch');
      if (!attr) throw missingParameter('MapPublicIpOnLaunch');
      attr.allowOnly(['Value']);
      const value = attr.bool('Value');
      if (value === undefined) throw missingParameter('MapPublicIpOnLaunch.Value');
      subnet.mapPublicIpOnLaunch = value;
      return OK;
    },
  },

  DeleteSubnet: {
    op: 'network.delete',
    params: [...COMMON, 'SubnetId'],
    run(c) {
      const subnet = lookup(c.rs.subnets, c.p.reqStr('SubnetId'), KINDS.subnet);
      if (c.rs.liveInstances().some((i) => i.subnetId === subnet.id)) {
        throw dependencyViolation(`The subnet '${subnet.id}' has dependencies and cannot be deleted.`);
      }
      for (const rt of c.rs.routeTables.values()) rt.associations = rt.associations.filter((a) => a.subnetId !== subnet.id);
      c.rs.subnets.delete(subnet.id);
      return OK;
    },
  },

  CreateInternetGateway: {
    op: 'gateway.create',
    params: [...COMMON, 'TagSpecification'],
    run(c) {
      const tags = readTagSpecifications(c.p, ['internet-gateway']);
      if (c.rs.internetGateways.size >= INTERNET_GATEWAYS_PER_REGION) {
        throw clientError('InternetGatewayLimitExceeded', 'The maximum number of internet gateways has been reached.');
      }
      const g: InternetGateway = { id: newId('igw'), createdAtMs: stamp(c), tags: tags.get('internet-gateway') ?? new Map() };
      c.rs.internetGateways.set(g.id, g);
      return { internetGateway: renderInternetGateway(c.account, g) };
    },
  },

  AttachInternetGateway: {
    op: 'gateway.create',
    params: [...COMMON, 'InternetGatewayId', 'VpcId'],
    run(c) {
      const g = lookup(c.rs.internetGateways, c.p.reqStr('InternetGatewayId'), KINDS.igw);
      const vpc = lookup(c.rs.vpcs, c.p.reqStr('VpcId'), KINDS.vpc);
      if (g.attachedVpcId) throw clientError('Resource.AlreadyAssociated', `resource ${g.id} is already attached to network ${g.attachedVpcId}`);
      const other = [...c.rs.internetGateways.values()].find((x) => x.attachedVpcId === vpc.id);
      if (other) throw clientError('Resource.AlreadyAssociated', `resource ${vpc.id} already has an internet gateway (${other.id}) attached`);
      g.attachedVpcId = vpc.id;
      return OK;
    },
  },

  DetachInternetGateway: {
    op: 'network.delete',
    params: [...COMMON, 'InternetGatewayId', 'VpcId'],
    run(c) {
      const g = lookup(c.rs.internetGateways, c.p.reqStr('InternetGatewayId'), KINDS.igw);
      const vpc = lookup(c.rs.vpcs, c.p.reqStr('VpcId'), KINDS.vpc);
      if (g.attachedVpcId !== vpc.id) throw clientError('Gateway.NotAttached', `resource ${g.id} is not attached to network ${vpc.id}`);
      if (c.rs.liveInstances().some((i) => i.vpcId === vpc.id && i.publicIp)) {
        throw dependencyViolation(`Network ${vpc.id} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.`);
      }
      g.attachedVpcId = undefined;
      return OK;
    },
  },

  DeleteInternetGateway: {
    op: 'network.delete',
    params: [...COMMON, 'InternetGatewayId'],
    run(c) {
      const g = lookup(c.rs.internetGateways, c.p.reqStr('InternetGatewayId'), KINDS.igw);
      if (g.attachedVpcId) throw dependencyViolation(`The internetGateway '${g.id}' has dependencies and cannot be deleted.`);
      c.rs.internetGateways.delete(g.id);
      return OK;
    },
  },

  DescribeInternetGateways: {
    op: 'read',
    params: [...COMMON, 'InternetGatewayId', 'Filter', 'MaxResults', 'NextToken'],
    run(c) {
      const page = describe(c, byIdsOrAll(c, c.rs.internetGateways, 'InternetGatewayId', KINDS.igw), igwFilters(c.account), 'InternetGatewayId');
      return { internetGatewaySet: page.items.map((g) => renderInternetGateway(c.account, g)), nextToken: page.nextToken };
    },
  },

  CreateRouteTable: {
    op: 'gateway.create',
    params: [...COMMON, 'VpcId', 'TagSpecification', 'ClientToken'],
    run(c) {
      const token = c.p.str('ClientToken');
      const fingerprint = c.p.fingerprint(['ClientToken', 'DryRun']);
      if (token !== undefined) {
        if (token.length > 64) throw invalidParameterValue('The client token must be 64 or fewer ASCII characters.');
        const seen = c.rs.clientTokens.get(`CreateRouteTable:${token}`);
        if (seen) {
          if (seen.fingerprint !== fingerprint) throw clientError('IdempotentParameterMismatch', 'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).');
          const prior = c.rs.routeTables.get(seen.resourceId);
          if (prior) return { routeTable: renderRouteTable(c.account, c.rs, prior), clientToken: token };
        }
      }
      const vpc = lookup(c.rs.vpcs, c.p.reqStr('VpcId'), KINDS.vpc);
      const tags = readTagSpecifications(c.p, ['route-table']);
      if ([...c.rs.routeTables.values()].filter((t) => t.vpcId === vpc.id).length >= ROUTE_TABLES_PER_VPC) {
        throw clientError('RouteTableLimitExceeded', 'The maximum number of route tables has been reached.');
      }
      const rt: RouteTable = {
        id: newId('rtb'),
        createdAtMs: stamp(c),
        vpcId: vpc.id,
        main: false,
        routes: [{ destination: vpc.cidr, gatewayId: 'local', origin: 'CreateRouteTable' }],
        associations: [],
        tags: tags.get('route-table') ?? new Map(),
      };
      c.rs.routeTables.set(rt.id, rt);
      if (token !== undefined) c.rs.clientTokens.set(`CreateRouteTable:${token}`, { fingerprint, resourceId: rt.id });
      return { routeTable: renderRouteTable(c.account, c.rs, rt), clientToken: token };
    },
  },

  CreateRoute: {
    op: 'gateway.create',
    params: [...COMMON, 'RouteTableId', 'DestinationCidrBlock', 'GatewayId'],
    run(c) {
      const rt = lookup(c.rs.routeTables, c.p.reqStr('RouteTableId'), KINDS.rtb);
      const dest = cidrParam(c.p, 'DestinationCidrBlock', 'destinationCidrBlock');
      const gatewayId = c.p.str('GatewayId');
      if (!gatewayId) throw missingParameter('GatewayId');
      const vpc = c.rs.vpcs.get(rt.vpcId);
      const vpcCidr = vpc ? parseCidr(vpc.cidr) : undefined;
      if (vpcCidr && cidrWithin(dest, vpcCidr)) {
        throw invalidParameterValue(`The destination CIDR block ${dest.text} is equal to or more specific than one of this VPC's CIDR blocks. This route can target only an interface or an instance.`);
      }
      if (!/^igw-/.test(gatewayId)) throw clientError('InvalidGatewayID.NotFound', `The gateway ID '${gatewayId}' does not exist`);
      const g = c.rs.internetGateways.get(gatewayId);
      if (!g) throw clientError('InvalidGatewayID.NotFound', `The gateway ID '${gatewayId}' does not exist`);
      if (g.attachedVpcId !== rt.vpcId) throw invalidParameterValue(`route table ${rt.id} and network gateway ${g.id} belong to different networks`);
      if (rt.routes.some((r) => r.destination === dest.text)) throw clientError('RouteAlreadyExists', `The route identified by ${dest.text} already exists.`);
      if (rt.routes.length >= ROUTES_PER_TABLE) throw clientError('RouteLimitExceeded', 'The maximum number of routes has been reached.');
      rt.routes.push({ destination: dest.text, gatewayId: g.id, origin: 'CreateRoute' });
      return OK;
    },
  },

  /** Points an existing route at another gateway (EC2 ReplaceRoute); a destination without a route is `InvalidRoute.NotFound`. */
  ReplaceRoute: {
    op: 'gateway.create',
    params: [...COMMON, 'RouteTableId', 'DestinationCidrBlock', 'GatewayId'],
    run(c) {
      const rt = lookup(c.rs.routeTables, c.p.reqStr('RouteTableId'), KINDS.rtb);
      const dest = cidrParam(c.p, 'DestinationCidrBlock', 'destinationCidrBlock');
      const gatewayId = c.p.str('GatewayId');
      if (!gatewayId) throw missingParameter('GatewayId');
      const route = rt.routes.find((r) => r.destination === dest.text);
      if (!route) throw clientError('InvalidRoute.NotFound', `no route with destination-cidr-block ${dest.text} in route table ${rt.id}`);
      if (route.gatewayId === 'local') throw invalidParameterValue(`cannot replace the local route ${dest.text}`);
      const g = /^igw-/.test(gatewayId) ? c.rs.internetGateways.get(gatewayId) : undefined;
      if (!g) throw clientError('InvalidGatewayID.NotFound', `The gateway ID '${gatewayId}' does not exist`);
      if (g.attachedVpcId !== rt.vpcId) throw invalidParameterValue(`route table ${rt.id} and network gateway ${g.id} belong to different networks`);
      route.gatewayId = g.id;
      route.origin = 'CreateRoute';
      return OK;
    },
  },

  AssociateRouteTable: {
    op: 'gateway.create',
    params: [...COMMON, 'RouteTableId', 'SubnetId'],
    run(c) {
      const rt = lookup(c.rs.routeTables, c.p.reqStr('RouteTableId'), KINDS.rtb);
      const subnet = lookup(c.rs.subnets, c.p.reqStr('SubnetId'), KINDS.subnet);
      if (subnet.vpcId !== rt.vpcId) throw invalidParameterValue(`Route table ${rt.id} and subnet ${subnet.id} belong to different networks`);
      for (const t of c.rs.routeTables.values()) {
        if (t.associations.some((a) => a.subnetId === subnet.id)) {
          throw clientError('Resource.AlreadyAssociated', `the specified association for route table ${t.id} conflicts with an existing association`);
        }
      }
      const assoc = { id: newId('rtbassoc'), subnetId: subnet.id, main: false };
      rt.associations.push(assoc);
      return { associationId: assoc.id, associationState: { state: 'associated' } };
    },
  },

  DisassociateRouteTable: {
    op: 'network.delete',
    params: [...COMMON, 'AssociationId'],
    run(c) {
      const id = c.p.reqStr('AssociationId');
      for (const t of c.rs.routeTables.values()) {
        const a = t.associations.find((x) => x.id === id);
        if (!a) continue;
        if (a.main) throw invalidParameterValue(`cannot disassociate the main route table association ${id}`);
        t.associations = t.associations.filter((x) => x !== a);
        return OK;
      }
      throw clientError('InvalidAssociationID.NotFound', `The association ID '${id}' does not exist`);
    },
  },

  DeleteRouteTable: {
    op: 'network.delete',
    params: [...COMMON, 'RouteTableId'],
    run(c) {
      const rt = lookup(c.rs.routeTables, c.p.reqStr('RouteTableId'), KINDS.rtb);
      if (rt.main || rt.associations.length) throw dependencyViolation(`The routeTable '${rt.id}' has dependencies and cannot be deleted.`);
      c.rs.routeTables.delete(rt.id);
      return OK;
    },
  },

  DescribeRouteTables: {
    op: 'read',
    params: [...COMMON, 'RouteTableId', 'Filter', 'MaxResults', 'NextToken'],
    run(c) {
      const page = describe(c, byIdsOrAll(c, c.rs.routeTables, 'RouteTableId', KINDS.rtb), routeTableFilters(c.account, c.rs), 'RouteTableId', { min: 5, max: 100 });
      return { routeTableSet: page.items.map((t) => renderRouteTable(c.account, c.rs, t)), nextToken: page.nextToken };
    },
  },
};
