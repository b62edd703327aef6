import { randomBytes } from 'node:crypto';

/**
 * In-memory EC2 state: accounts, and per account and region the VPC resources and instances. Everything is scoped
 * to (account, region) as on EC2: another account's or region's ids are simply "not found".
 */
export type Tags = Map<string, string>;

export interface Vpc {
  id: string;
  /** When it was made, on the sandbox clock (eventual consistency: core/consistency.ts). */
  createdAtMs: number;
  cidr: string;
  cidrAssociationId: string;
  dhcpOptionsId: string;
  tags: Tags;
  mainRouteTableId: string;
  defaultSecurityGroupId: string;
  enableDnsHostnames: boolean;
  enableDnsSupport: boolean;
}

export interface Subnet {
  id: string;
  /** When it was made, on the sandbox clock (eventual consistency: core/consistency.ts). */
  createdAtMs: number;
  vpcId: string;
  cidr: string;
  zone: string;
  zoneId: string;
  mapPublicIpOnLaunch: boolean;
  tags: Tags;
  /** Private addresses in use (instances), excluding the 5 AWS reserves. */
  usedIps: Set<string>;
}

export interface InternetGateway {
  id: string;
  /** When it was made, on the sandbox clock (eventual consistency: core/consistency.ts). */
  createdAtMs: number;
  attachedVpcId?: string;
  tags: Tags;
}

export interface Route {
  destination: string;
  /** `local` for the VPC route, else an internet gateway id. */
  gatewayId: string;
  origin: 'CreateRouteTable' | 'CreateRoute';
}

export interface RouteTableAssociation {
  id: string;
  /** Undefined for the main association. */
  subnetId?: string;
  main: boolean;
}

export interface RouteTable {
  id: string;
  /** When it was made, on the sandbox clock (eventual consistency: core/consistency.ts). */
  createdAtMs: number;
  vpcId: string;
  main: boolean;
  routes: Route[];
  associations: RouteTableAssociation[];
  tags: Tags;
}

/** One security group rule: one protocol/port range and one peer (IPv4 CIDR, IPv6 CIDR or group). */
export interface SgRule {
  id: string;
  /** `tcp`, `udp`, `icmp`, `icmpv6`, `-1` (all), or a protocol number for others. */
  protocol: string;
  fromPort?: number;
  toPort?: number;
  cidrIpv4?: string;
  cidrIpv6?: string;
  groupId?: string;
  description?: string;
}

export interface SecurityGroup {
  id: string;
  /** When it was made, on the sandbox clock (eventual consistency: core/consistency.ts). */
  createdAtMs: number;
  name: string;
  description: string;
  vpcId: string;
  isDefault: boolean;
  ingress: SgRule[];
  egress: SgRule[];
  tags: Tags;
}

export type InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

export const STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export interface Instance {
  id: string;
  /** When it was made, on the sandbox clock (eventual consistency: core/consistency.ts). */
  createdAtMs: number;
  reservationId: string;
  imageId: string;
  instanceType: string;
  architecture: 'x86_64' | 'arm64';
  state: InstanceStateName;
  stateTransitionReason: string;
  stateReason?: { code: string; message: string };
  subnetId: string;
  vpcId: string;
  zone: string;
  zoneId: string;
  privateIp: string;
  publicIp?: string;
  securityGroupIds: string[];
  /** UserData as sent (base64). */
  userData?: string;
  keyName?: string;
  clientToken?: string;
  launchTime: string;
  amiLaunchIndex: number;
  rootDeviceName: string;
  networkInterfaceId: string;
  networkAttachmentId: string;
  volumeId: string;
  macAddress: string;
  metadataOptions: { httpTokens: string; httpEndpoint: string; httpPutResponseHopLimit: number; instanceMetadataTags: string };
  tags: Tags;
  terminatedAt?: number;
  timers: NodeJS.Timeout[];
}

export interface Reservation {
  id: string;
  ownerId: string;
  instanceIds: string[];
}

/** State of one account in one region. */
export class RegionState {
  readonly vpcs = new Map<string, Vpc>();
  readonly subnets = new Map<string, Subnet>();
  readonly internetGateways = new Map<string, InternetGateway>();
  readonly routeTables = new Map<string, RouteTable>();
  readonly securityGroups = new Map<string, SecurityGroup>();
  readonly instances = new Map<string, Instance>();
  readonly reservations = new Map<string, Reservation>();
  /** Idempotency tokens: `${action}:${token}` → request fingerprint and the resource it made. */
  readonly clientTokens = new Map<string, { fingerprint: string; resourceId: string }>();

  constructor(readonly region: string) {}

  /** Instances that exist for dependency checks (everything but terminated). */
  liveInstances(): Instance[] {
    return [...this.instances.values()].filter((i) => i.state !== 'terminated');
  }
}

export interface Account {
  id: string;
  accessKeyId: string;
  secretAccessKey: string;
  regions: Map<string, RegionState>;
}

/** `prefix-` + 17 lowercase hex digits, the current EC2 id format. */
export const newId = (prefix: string): string => `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`;

/** A request id in EC2's UUID format. */
export const newRequestId = (): string => {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

/** Id formats EC2 accepts: `prefix-` + 8 or 17 hex digits. */
export const isWellFormedId = (prefix: string, id: string): boolean => new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`).test(id);
