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
  /** The region's default VPC (172.31.0.0/16), made with the account as EC2 makes it (default-vpc.ts). */
  isDefault: boolean;
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
  /** A default subnet of the default VPC (one per Availability Zone). */
  defaultForAz: boolean;
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
  /** The default VPC's internet gateway (part of the fresh account, not a leftover). */
  isDefault?: boolean;
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
  /** The root EBS volume's id (in `RegionState.volumes`, attached at `rootDeviceName`). */
  volumeId: string;
  /** Every EBS volume attached at launch (the root volume first): device name → volume id. */
  blockDevices: { deviceName: string; volumeId: string }[];
  /** Tags of the primary network interface (RunInstances `TagSpecification` of type `network-interface`). */
  eniTags: Tags;
  /** The instance's console output so far (GetConsoleOutput), one line per entry. */
  console: string[];
  /** When the console last got a line (ISO 8601), GetConsoleOutput's `timestamp`. */
  consoleUpdatedAt?: string;
  macAddress: string;
  metadataOptions: { httpTokens: string; httpEndpoint: string; httpPutResponseHopLimit: number; instanceMetadataTags: string };
  tags: Tags;
  terminatedAt?: number;
  timers: NodeJS.Timeout[];
}

/** An EBS volume (DescribeVolumes); made by RunInstances' block device mappings. */
export interface Volume {
  id: string;
  createdAtMs: number;
  /** ISO 8601 with milliseconds, as EC2 writes `createTime`. */
  createTime: string;
  sizeGiB: number;
  type: 'standard' | 'io1' | 'io2' | 'gp2' | 'gp3' | 'sc1' | 'st1';
  iops?: number;
  throughput?: number;
  encrypted: boolean;
  snapshotId: string;
  zone: string;
  zoneId: string;
  attachment?: { instanceId: string; device: string; attachTime: string; deleteOnTermination: boolean; state: 'attached' | 'detaching' };
  tags: Tags;
}

/** An EC2 key pair (CreateKeyPair / ImportKeyPair); the sandbox keeps the public key only. */
export interface KeyPair {
  id: string;
  createdAtMs: number;
  name: string;
  type: 'rsa' | 'ed25519';
  fingerprint: string;
  /** OpenSSH public key line (`ssh-rsa AAAA… name`). */
  publicKey: string;
  createTime: string;
  tags: Tags;
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
  readonly volumes = new Map<string, Volume>();
  /** Key pairs by name (names are unique per region). */
  readonly keyPairs = new Map<string, KeyPair>();
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
