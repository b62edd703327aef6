import {
  _InstanceType,
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteInternetGatewayCommand,
  DeleteRouteTableCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeRegionsCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  DetachInternetGatewayCommand,
  DisassociateRouteTableCommand,
  EC2Client,
  Filter,
  Instance as Ec2Instance,
  InternetGateway,
  ModifySubnetAttributeCommand,
  paginateDescribeInstances,
  paginateDescribeInternetGateways,
  paginateDescribeRouteTables,
  paginateDescribeSecurityGroups,
  paginateDescribeSubnets,
  paginateDescribeTags,
  paginateDescribeVpcs,
  ReplaceRouteCommand,
  RevokeSecurityGroupIngressCommand,
  RouteTable,
  RunInstancesCommand,
  SecurityGroup,
  Subnet,
  TerminateInstancesCommand,
  Vpc,
} from '@aws-sdk/client-ec2';
import { FirewallRule, NodeRole, resourcePrefix, TAG_CLUSTER, TAG_NODE, TAG_ROLE } from '@skyweave/domain';
import type {
  AwsCredentials,
  CloudEndpoints,
  CloudProvider,
  CloudProviderOptions,
  CloudResource,
  Instance,
  InstanceSpec,
  InstanceState,
  NetworkInspection,
  NetworkSpec,
  NetworkStatus,
} from '../cloud-provider';
import { DEFAULT_CONSISTENCY_WINDOW_MS, readBack, RecentlyMade, retryWhileMissing } from '../consistency';
import { CloudError, isNotFound } from '../errors';
import { createEc2Client } from './aws-client';
import { toCloudError } from './aws-errors';
import { clusterTags, filter, literal, tagFilter, tagSpec, tagsToRecord } from './aws-tags';
import { ingressDrift, permissionsToRules, planIngress } from './firewall';

/** Canonical's AWS account: owner of the official Ubuntu AMIs. */
const CANONICAL_OWNER = '099720109477';
/** The node image: Ubuntu 24.04 LTS (noble), gp3 root volume; the newest build is used. */
const UBUNTU_IMAGE_NAME = (arch: 'amd64' | 'arm64') => `ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${arch}-server-*`;
const IMAGE_CACHE_MS = 60 * 60 * 1000;
/** Region for account-wide calls (DescribeRegions). */
const HOME_REGION = 'us-east-1';
const ROLES: readonly NodeRole[] = ['master', 'worker'];
/** Instance states that still hold resources (everything but `terminated`). */
const LIVE_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];
/** How long deleteNetwork waits for the cluster's own `shutting-down` instances to finish terminating. */
const TERMINATION_WAIT_MS = 5 * 60 * 1000;
/** Ids per filter: EC2 takes at most 200 filter values per call, and some calls add a state filter. */
const FILTER_CHUNK = 150;
/**
 * Lifetime of the route table's ClientToken, in milliseconds. EC2 answers a reused token with the table it made
 * first, even once that table is deleted: a token per VPC and period protects re-entries (a crash after the create,
 * while the new table may still be invisible to DescribeRouteTables) and still lets a table deleted out of band be
 * made again in a later period.
 */
const ROUTE_TABLE_TOKEN_PERIOD_MS = 10 * 60 * 1000;
/** Tag keys read by listAllTaggedResources (DescribeTags `key` filter). */
const LISTED_TAG_KEYS = [TAG_CLUSTER, 'Name', TAG_NODE, TAG_ROLE];

/**
 * A not-found that may be eventual consistency (a VPC, subnet, gateway, route table or group made a moment ago) —
 * not a missing rule (`InvalidPermission.NotFound`) or image (`InvalidAMIID.*`), which no wait brings back.
 */
const missingParent = (e: unknown): boolean => isNotFound(e) && !e.code.startsWith('InvalidPermission.') && !e.code.startsWith('InvalidAMIID.');

/** A `Conflict` CloudError of the AWS adapter: a network part exists with other settings, or is not ours. */
const conflict = (code: string, msg: string) => new CloudError('Conflict', 'aws', code, msg);

/** Logical names (the `Name` tag, and the security group names) of a cluster's network parts. */
const partNames = (prefix: string) => ({
  vpc: `${prefix}-vpc`,
  subnet: `${prefix}-subnet`,
  igw: `${prefix}-igw`,
  routeTable: `${prefix}-rtb`,
  securityGroup: (role: NodeRole) => `${prefix}-${role}`,
});

/** EC2 instance state → Skyweave state. `shutting-down` is reported as `stopping`: on its way out, not gone yet. */
function mapState(name: string | undefined): InstanceState {
  switch (name) {
    case 'pending':
    case 'running':
    case 'stopping':
    case 'stopped':
    case 'terminated':
      return name;
    case 'shutting-down':
      return 'stopping';
    default:
      return 'pending';
  }
}

function toInstance(i: Ec2Instance): Instance {
  const tags = tagsToRecord(i.Tags);
  return {
    id: i.InstanceId ?? '',
    name: tags.Name ?? '',
    state: mapState(i.State?.Name),
    instanceType: i.InstanceType ?? '',
    privateIp: i.PrivateIpAddress,
    publicIp: i.PublicIpAddress,
    vpcId: i.VpcId,
    tags,
  };
}

/** Graviton (arm64) instance families: a1, and families with a `g` after the generation (t4g, m6g, c7gn …). */
const isArmType = (type: string): boolean => /^a1\./.test(type) || /^[a-z]+\d+[a-z]*g[a-z]*\./.test(type);

const chunk = <T>(xs: readonly T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The CloudProvider for AWS, over the EC2 Query API with `@aws-sdk/client-ec2` (API reference: "Amazon EC2 API
 * Reference", version 2016-11-15).
 *
 * A cluster's network in a region is: a VPC (`spec.vpcCidr`), one /24 subnet in `spec.zone` that maps public IPs on
 * launch, an internet gateway attached to the VPC, a route table with `0.0.0.0/0 → igw` associated with the subnet,
 * and one security group per role whose inbound rules are exactly `spec.firewall[role]`. Every part carries the tags
 * `skyweave-cluster=<clusterId>` and `Name=<prefix>-<part>`, and is looked up by them before it is created.
 * Instances are launched with `ClientToken = nodeId`, tagged `Name`, `skyweave-cluster`, `skyweave-node`,
 * `skyweave-role`, from the newest Canonical Ubuntu 24.04 AMI, with IMDSv2 required.
 *
 * One `EC2Client` per region is made lazily and kept for this provider's lifetime (one provider per credential set).
 * SDK retries are bounded (3 attempts, ~100 ms base); every failure is thrown as `CloudError` (see aws-errors.ts).
 */
export class AwsProvider implements CloudProvider {
  readonly cloud = 'aws' as const;
  /** RunInstances carries a ClientToken (the launch's idempotency token): a repeated launch returns the first one's reservation. */
  readonly idempotentCreate = true;
  private readonly clients = new Map<string, EC2Client>();
  private readonly images = new Map<string, { imageId: string; expires: number }>();
  private readonly windowMs: number;
  /**
   * Network parts this provider made within the consistency window, by `region/kind/name[/vpc]` → id and time. VPCs,
   * subnets and internet gateways have no idempotency token, and DescribeVpcs & co. may not list a new one yet: a tag
   * look-up that misses one of these is followed by a describe by id (retried while EC2 answers NotFound) before
   * anything is created again, so two ensureNetwork calls in a row never make two. An entry goes once a look-up
   * (ensureNetwork, getNetwork, inspectNetwork) finds the part — from then on a miss means it is gone — or when the
   * network is deleted. Cost: a part deleted out of band before any look-up saw it, within the window after this
   * provider made it, is waited for until the window ends before it is made again.
   */
  private readonly made = new Map<string, { id: string; at: number }>();
  /** Instances launched by this provider that no read has shown yet (eventual consistency of getInstance). */
  private readonly launched: RecentlyMade;

  /**
   * @param credentials an IAM access key pair (never logged).
   * @param endpoints `endpoints.aws` overrides the EC2 endpoint (all regions), e.g. the sandbox `http://127.0.0.1:4566`.
   * @param options `consistencyWindowMs`: how long a not-found of something just created is retried (default 30 s).
   */
  constructor(
    private readonly credentials: AwsCredentials,
    private readonly endpoints: CloudEndpoints = {},
    options: CloudProviderOptions = {},
  ) {
    this.windowMs = options.consistencyWindowMs ?? DEFAULT_CONSISTENCY_WINDOW_MS;
    this.launched = new RecentlyMade(this.windowMs);
  }

  private client(region: string): EC2Client {
    if (!region) throw new CloudError('InvalidRequest', 'aws', 'MissingRegion', 'a region is required');
    let c = this.clients.get(region);
    if (!c) {
      c = createEc2Client(this.credentials, this.endpoints, region);
      this.clients.set(region, c);
    }
    return c;
  }

  /**
   * Like `ec2`, for calls naming something made a moment ago (a VPC, subnet, gateway, group): EC2 is eventually
   * consistent and may answer `*.NotFound` for it for a while, so a not-found is retried with backoff within the
   * consistency window. Only for calls that are safe to repeat (refused, or carrying a ClientToken).
   */
  private ec2Fresh<T>(region: string, fn: (c: EC2Client) => Promise<T>): Promise<T> {
    return retryWhileMissing(() => this.ec2(region, fn), { windowMs: this.windowMs, missing: missingParent });
  }

  /** Runs SDK calls on the region's client; every failure comes out as `CloudError`. */
  private async ec2<T>(region: string, fn: (c: EC2Client) => Promise<T>): Promise<T> {
    const client = this.client(region);
    try {
      return await fn(client);
    } catch (e) {
      throw toCloudError(e);
    }
  }

  /** Like `ec2`, but resolves `undefined` when the target does not exist (`*.NotFound`). */
  private async ec2IgnoreMissing<T>(region: string, fn: (c: EC2Client) => Promise<T>): Promise<T | undefined> {
    try {
      return await this.ec2(region, fn);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  private remember(key: string, id: string | undefined): void {
    if (id && this.windowMs > 0) this.made.set(key, { id, at: Date.now() });
  }

  /**
   * What a look-up `found`; when it found nothing, the part this provider made under `key` less than the consistency
   * window ago and not yet seen by a look-up, described by id (`describe` answering undefined or NotFound is retried
   * until the window has passed); undefined when there is none.
   */
  private async recall<T>(key: string, found: T | undefined, describe: (id: string) => Promise<T | undefined>): Promise<T | undefined> {
    for (const [k, v] of this.made) if (Date.now() - v.at >= this.windowMs) this.made.delete(k);
    if (found) {
      this.made.delete(key);
      return found;
    }
    const m = this.made.get(key);
    if (!m) return undefined;
    return (await readBack(() => describe(m.id), { windowMs: m.at + this.windowMs - Date.now() })) ?? undefined;
  }

  /** DescribeRegions. @throws CloudError `InvalidCredentials` when EC2 refuses the keys. */
  async verifyCredentials(): Promise<void> {
    await this.ec2(HOME_REGION, (c) => c.send(new DescribeRegionsCommand({})));
  }

  // ------------------------------------------------------------------ lookups

  /** VPCs tagged for the cluster (and named `name`), all pages (DescribeVpcs). */
  private async findVpcs(region: string, clusterId: string, name?: string): Promise<Vpc[]> {
    const filters = [tagFilter(TAG_CLUSTER, clusterId), ...(name ? [tagFilter('Name', name)] : [])];
    return this.ec2(region, async (client) => {
      const out: Vpc[] = [];
      for await (const page of paginateDescribeVpcs({ client, pageSize: 1000 }, { Filters: filters })) out.push(...(page.Vpcs ?? []));
      return out;
    });
  }

  /** One VPC by id (DescribeVpcs `VpcIds`); NotFound while EC2 does not know it (yet). */
  private async vpcById(region: string, id: string): Promise<Vpc | undefined> {
    return (await this.ec2(region, (c) => c.send(new DescribeVpcsCommand({ VpcIds: [id] })))).Vpcs?.[0];
  }

  /** Subnets matching `filters`, all pages (DescribeSubnets). */
  private async findSubnets(region: string, filters: Filter[]): Promise<Subnet[]> {
    return this.ec2(region, async (client) => {
      const out: Subnet[] = [];
      for await (const page of paginateDescribeSubnets({ client, pageSize: 1000 }, { Filters: filters })) out.push(...(page.Subnets ?? []));
      return out;
    });
  }

  /** Internet gateways matching `filters`, all pages (DescribeInternetGateways). */
  private async findInternetGateways(region: string, filters: Filter[]): Promise<InternetGateway[]> {
    return this.ec2(region, async (client) => {
      const out: InternetGateway[] = [];
      for await (const page of paginateDescribeInternetGateways({ client, pageSize: 1000 }, { Filters: filters })) out.push(...(page.InternetGateways ?? []));
      return out;
    });
  }

  /** Route tables matching `filters`, all pages (DescribeRouteTables, at most 100 per page). */
  private async findRouteTables(region: string, filters: Filter[]): Promise<RouteTable[]> {
    return this.ec2(region, async (client) => {
      const out: RouteTable[] = [];
      for await (const page of paginateDescribeRouteTables({ client, pageSize: 100 }, { Filters: filters })) out.push(...(page.RouteTables ?? []));
      return out;
    });
  }

  /** Security groups matching `filters`, all pages (DescribeSecurityGroups). */
  private async findSecurityGroups(region: string, filters: Filter[]): Promise<SecurityGroup[]> {
    return this.ec2(region, async (client) => {
      const out: SecurityGroup[] = [];
      for await (const page of paginateDescribeSecurityGroups({ client, pageSize: 1000 }, { Filters: filters })) out.push(...(page.SecurityGroups ?? []));
      return out;
    });
  }

  /** Every instance matching `filters`, all pages (DescribeInstances, 1000 per page). */
  private async describeInstances(region: string, filters: Filter[]): Promise<Ec2Instance[]> {
    return this.ec2(region, async (client) => {
      const out: Ec2Instance[] = [];
      for await (const page of paginateDescribeInstances({ client, pageSize: 1000 }, { Filters: filters })) {
        for (const r of page.Reservations ?? []) out.push(...(r.Instances ?? []));
      }
      return out;
    });
  }

  /** The node AMI for the region and architecture: newest available Canonical Ubuntu 24.04 build (cached an hour). */
  private async nodeImage(region: string, instanceType: string): Promise<string> {
    const arch = isArmType(instanceType) ? 'arm64' : 'amd64';
    const key = `${region}/${arch}`;
    const cached = this.images.get(key);
    if (cached && cached.expires > Date.now()) return cached.imageId;
    const out = await this.ec2(region, (c) =>
      c.send(
        new DescribeImagesCommand({
          Owners: [CANONICAL_OWNER],
          Filters: [filter('name', UBUNTU_IMAGE_NAME(arch)), filter('state', 'available'), filter('architecture', arch === 'amd64' ? 'x86_64' : 'arm64')],
        }),
      ),
    );
    const newest = (out.Images ?? []).filter((i) => i.ImageId && i.CreationDate).sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
    if (!newest?.ImageId) throw new CloudError('NotFound', 'aws', 'ImageNotFound', `no Ubuntu 24.04 ${arch} image from Canonical in ${region}`);
    this.images.set(key, { imageId: newest.ImageId, expires: Date.now() + IMAGE_CACHE_MS });
    return newest.ImageId;
  }

  // ------------------------------------------------------------------ network

  private status(
    region: string,
    vpc: Vpc,
    subnet: Subnet | undefined,
    igw: InternetGateway | undefined,
    routeTable: RouteTable | undefined,
    groups: Partial<Record<NodeRole, SecurityGroup>>,
  ): NetworkStatus {
    const resources: CloudResource[] = [];
    const add = (kind: string, id: string | undefined, tags: Record<string, string>, name?: string) => {
      if (id) resources.push({ kind, id, name: name ?? tags.Name, tags });
    };
    add('vpc', vpc.VpcId, tagsToRecord(vpc.Tags));
    if (subnet) add('subnet', subnet.SubnetId, tagsToRecord(subnet.Tags));
    if (igw) add('internet-gateway', igw.InternetGatewayId, tagsToRecord(igw.Tags));
    if (routeTable) add('route-table', routeTable.RouteTableId, tagsToRecord(routeTable.Tags));
    for (const role of ROLES) {
      const g = groups[role];
      if (g) add('security-group', g.GroupId, tagsToRecord(g.Tags), g.GroupName);
    }
    return {
      cloud: 'aws',
      region,
      zone: subnet?.AvailabilityZone ?? '',
      vpcId: vpc.VpcId ?? '',
      vpcCidr: vpc.CidrBlock ?? '',
      subnetId: subnet?.SubnetId ?? '',
      subnetCidr: subnet?.CidrBlock ?? '',
      securityGroupIds: { master: groups.master?.GroupId ?? '', worker: groups.worker?.GroupId ?? '' },
      resources,
    };
  }

  private roleOf(g: SecurityGroup, prefix: string): NodeRole | undefined {
    const tags = tagsToRecord(g.Tags);
    const tagged = tags[TAG_ROLE];
    if (tagged === 'master' || tagged === 'worker') return tagged;
    return ROLES.find((r) => g.GroupName === partNames(prefix).securityGroup(r));
  }

  /**
   * Creates what is missing of the network, looking each part up by its tags (or name) first. Parts run as soon as
   * what they depend on exists: the VPC first; then, concurrently, the subnet, the internet gateway (+ attachment),
   * the route table and both security groups (+ their inbound rules); the route table's `0.0.0.0/0 → igw` route once
   * the gateway is attached, and its subnet association once the subnet exists. When one part fails the call rejects
   * with that part's CloudError (the other parts may still complete; a later call picks up from there).
   * Repairs drift (see inspectNetwork): deleted parts are made again (all of them when the VPC is gone), a detached
   * gateway re-attached, a default route to another or a vanished gateway replaced, the public-IP mapping switched
   * back on, and each group's inbound rules made exactly the plan (extra rules revoked, missing ones authorized).
   * A not-found of a part made a moment ago is retried within the consistency window.
   * @throws CloudError `Conflict` when a part exists with other settings (CIDR, zone) or a name is taken by an
   *   untagged resource; `QuotaExceeded` (e.g. VpcLimitExceeded) and the other kinds from the EC2 calls.
   */
  async ensureNetwork(spec: NetworkSpec): Promise<NetworkStatus> {
    const { region } = spec;
    // the internet gateway is made detached, so it need not wait for the VPC: only its attachment does
    const [vpc, detachedOrAttached] = await Promise.all([this.ensureVpc(spec), this.ensureGateway(spec)]);
    const vpcId = vpc.VpcId as string;

    const subnetP = this.ensureSubnet(spec, vpcId);
    const gatewayP = this.attachGateway(spec, detachedOrAttached, vpcId);
    const routeTableP = this.ensureRouteTable(spec, vpcId);
    const routeP = Promise.all([routeTableP, gatewayP]).then(([routeTable, igw]) => this.ensureDefaultRoute(region, routeTable, igw));
    const associationP = Promise.all([routeTableP, subnetP]).then(([routeTable, subnet]) => this.ensureRouteTableAssociation(region, routeTable, subnet));
    const groupsP = Promise.all(ROLES.map((role) => this.ensureSecurityGroup(region, spec, vpcId, role, spec.firewall[role])));

    const [subnet, igw, routeTable, , , [master, worker]] = await Promise.all([subnetP, gatewayP, routeTableP, routeP, associationP, groupsP]);
    return this.status(region, vpc, subnet, igw, routeTable, { master, worker });
  }

  /**
   * The cluster's VPC (`Name=<prefix>-vpc`), created with `spec.vpcCidr` when missing. No dependencies.
   * @throws CloudError `Conflict` (`VpcCidrMismatch`) when it exists with another CIDR.
   */
  private async ensureVpc(spec: NetworkSpec): Promise<Vpc> {
    const { region, clusterId } = spec;
    const n = partNames(spec.namePrefix);
    const key = `${region}/vpc/${n.vpc}`;
    const vpc = await this.recall(key, (await this.findVpcs(region, clusterId, n.vpc))[0], (id) => this.vpcById(region, id));
    if (!vpc) {
      const out = await this.ec2(region, (c) =>
        c.send(new CreateVpcCommand({ CidrBlock: spec.vpcCidr, TagSpecifications: tagSpec('vpc', clusterTags(clusterId, n.vpc)) })),
      );
      if (!out.Vpc?.VpcId) throw new CloudError('Unavailable', 'aws', 'EmptyResponse', 'CreateVpc returned no VPC');
      this.remember(key, out.Vpc.VpcId);
      return out.Vpc;
    }
    if (vpc.CidrBlock !== spec.vpcCidr) {
      throw conflict('VpcCidrMismatch', `VPC ${vpc.VpcId} of cluster ${clusterId} has CIDR ${vpc.CidrBlock}, not ${spec.vpcCidr}`);
    }
    return vpc;
  }

  /**
   * The cluster's subnet (`Name=<prefix>-subnet`, `spec.subnetCidr` in `spec.zone`) in the VPC, created when missing,
   * with MapPublicIpOnLaunch switched on (nodes talk to each other across clouds over WireGuard). Needs: the VPC.
   * @throws CloudError `Conflict` (`SubnetMismatch`) when it exists with another CIDR or zone.
   */
  private async ensureSubnet(spec: NetworkSpec, vpcId: string): Promise<Subnet> {
    const { region, clusterId } = spec;
    const name = partNames(spec.namePrefix).subnet;
    const key = `${region}/subnet/${name}/${vpcId}`;
    let subnet = await this.recall(key, (await this.findSubnets(region, [filter('vpc-id', vpcId), tagFilter(TAG_CLUSTER, clusterId), tagFilter('Name', name)]))[0],
      async (id) => (await this.ec2(region, (c) => c.send(new DescribeSubnetsCommand({ SubnetIds: [id] })))).Subnets?.[0]);
    if (!subnet) {
      const out = await this.ec2Fresh(region, (c) =>
        c.send(
          new CreateSubnetCommand({
            VpcId: vpcId,
            CidrBlock: spec.subnetCidr,
            AvailabilityZone: spec.zone,
            TagSpecifications: tagSpec('subnet', clusterTags(clusterId, name)),
          }),
        ),
      );
      if (!out.Subnet?.SubnetId) throw new CloudError('Unavailable', 'aws', 'EmptyResponse', 'CreateSubnet returned no subnet');
      this.remember(key, out.Subnet.SubnetId);
      subnet = out.Subnet;
    } else if (subnet.CidrBlock !== spec.subnetCidr || subnet.AvailabilityZone !== spec.zone) {
      throw conflict('SubnetMismatch', `subnet ${subnet.SubnetId} is ${subnet.CidrBlock} in ${subnet.AvailabilityZone}, not ${spec.subnetCidr} in ${spec.zone}`);
    }
    const subnetId = subnet.SubnetId as string;
    if (!subnet.MapPublicIpOnLaunch) {
      await this.ec2Fresh(region, (c) => c.send(new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } })));
      subnet = { ...subnet, MapPublicIpOnLaunch: true };
    }
    return subnet;
  }

  /**
   * The cluster's internet gateway (`Name=<prefix>-igw`), found by its tags or created (detached) when missing. No
   * dependencies: it is made while the VPC is (attachGateway attaches it). A gateway left detached by a crash is found
   * again here, and deleteNetwork deletes it by its tags, attached or not.
   */
  private async ensureGateway(spec: NetworkSpec): Promise<InternetGateway> {
    const { region, clusterId } = spec;
    const name = partNames(spec.namePrefix).igw;
    const key = `${region}/internet-gateway/${name}`;
    let igw = await this.recall(key, (await this.findInternetGateways(region, [tagFilter(TAG_CLUSTER, clusterId), tagFilter('Name', name)]))[0],
      async (id) => (await this.ec2(region, (c) => c.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: [id] })))).InternetGateways?.[0]);
    if (!igw) {
      const out = await this.ec2(region, (c) =>
        c.send(new CreateInternetGatewayCommand({ TagSpecifications: tagSpec('internet-gateway', clusterTags(clusterId, name)) })),
      );
      if (!out.InternetGateway?.InternetGatewayId) throw new CloudError('Unavailable', 'aws', 'EmptyResponse', 'CreateInternetGateway returned no gateway');
      this.remember(key, out.InternetGateway.InternetGatewayId);
      igw = out.InternetGateway;
    }
    return igw;
  }

  /**
   * Attaches the cluster's internet gateway (from ensureGateway) to the VPC unless it already is. Needs: the VPC and
   * the gateway. @throws CloudError `Conflict` (`GatewayAttachedElsewhere`) when it is attached to another VPC.
   */
  private async attachGateway(spec: NetworkSpec, igw: InternetGateway, vpcId: string): Promise<InternetGateway> {
    const { region } = spec;
    const igwId = igw.InternetGatewayId as string;
    const attachedTo = (igw.Attachments ?? []).map((a) => a.VpcId);
    if (!attachedTo.includes(vpcId)) {
      if (attachedTo.length) throw conflict('GatewayAttachedElsewhere', `internet gateway ${igwId} is attached to ${attachedTo.join(', ')}`);
      await this.ec2Fresh(region, (c) => c.send(new AttachInternetGatewayCommand({ InternetGatewayId: igwId, VpcId: vpcId })));
    }
    return igw;
  }

  /**
   * The cluster's route table (`Name=<prefix>-rtb`) in the VPC, created when missing (ClientToken per VPC and
   * ROUTE_TABLE_TOKEN_PERIOD_MS); its routes and associations are left to ensureDefaultRoute /
   * ensureRouteTableAssociation. Needs: the VPC.
   */
  private async ensureRouteTable(spec: NetworkSpec, vpcId: string): Promise<RouteTable> {
    const { region, clusterId } = spec;
    const name = partNames(spec.namePrefix).routeTable;
    const routeTable = (await this.findRouteTables(region, [filter('vpc-id', vpcId), tagFilter(TAG_CLUSTER, clusterId), tagFilter('Name', name)]))[0];
    if (routeTable) return routeTable;
    const period = Math.floor(Date.now() / ROUTE_TABLE_TOKEN_PERIOD_MS);
    const out = await this.ec2Fresh(region, (c) =>
      c.send(
        new CreateRouteTableCommand({
          VpcId: vpcId,
          // Per VPC and period (≤ 64 characters): a token reused after the table was deleted would return that table.
          ClientToken: `rtb:${vpcId}:${period}`,
          TagSpecifications: tagSpec('route-table', clusterTags(clusterId, name)),
        }),
      ),
    );
    if (!out.RouteTable?.RouteTableId) throw new CloudError('Unavailable', 'aws', 'EmptyResponse', 'CreateRouteTable returned no route table');
    return out.RouteTable;
  }

  /**
   * The route table's `0.0.0.0/0 → igw` route: created when missing, replaced (ReplaceRoute) when it goes to another
   * target or to a gateway that is gone (`blackhole`, e.g. the gateway was deleted out of band and made again) — the
   * route table is the cluster's own. Needs: the route table and the gateway attached to the VPC (EC2 refuses a route
   * to an unattached gateway).
   */
  private async ensureDefaultRoute(region: string, routeTable: RouteTable, igw: InternetGateway): Promise<void> {
    const routeTableId = routeTable.RouteTableId as string;
    const igwId = igw.InternetGatewayId as string;
    const defaultRoute = (routeTable.Routes ?? []).find((r) => r.DestinationCidrBlock === '0.0.0.0/0');
    const route = { RouteTableId: routeTableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igwId };
    if (!defaultRoute) {
      await this.ec2Fresh(region, (c) => c.send(new CreateRouteCommand(route)));
    } else if (defaultRoute.GatewayId !== igwId || defaultRoute.State === 'blackhole') {
      await this.ec2Fresh(region, (c) => c.send(new ReplaceRouteCommand(route)));
    }
  }

  /** The route table's association with the subnet, made when missing. Needs: the route table and the subnet. */
  private async ensureRouteTableAssociation(region: string, routeTable: RouteTable, subnet: Subnet): Promise<void> {
    const routeTableId = routeTable.RouteTableId as string;
    const subnetId = subnet.SubnetId as string;
    if (!(routeTable.Associations ?? []).some((a) => a.SubnetId === subnetId)) {
      await this.ec2Fresh(region, (c) => c.send(new AssociateRouteTableCommand({ RouteTableId: routeTableId, SubnetId: subnetId })));
    }
  }

  /**
   * The role's security group (`<prefix>-<role>`, looked up by name in the VPC; one made concurrently by another
   * reconcile is adopted), with inbound rules made exactly `rules` (revoke what is extra, authorize what is missing).
   * Needs: the VPC. Independent of the other parts and of the other role's group.
   * @throws CloudError `Conflict` (`SecurityGroupNotOwned`) when the name is taken by a group not tagged for the cluster.
   */
  private async ensureSecurityGroup(region: string, spec: NetworkSpec, vpcId: string, role: NodeRole, rules: FirewallRule[]): Promise<SecurityGroup> {
    const groupName = partNames(spec.namePrefix).securityGroup(role);
    const byName = () => this.findSecurityGroups(region, [filter('vpc-id', vpcId), filter('group-name', groupName)]);
    let group = (await byName())[0];
    if (!group) {
      const tags = clusterTags(spec.clusterId, groupName, { [TAG_ROLE]: role });
      try {
        const out = await this.ec2Fresh(region, (c) =>
          c.send(
            new CreateSecurityGroupCommand({
              GroupName: groupName,
              Description: `Skyweave ${role} nodes of cluster ${spec.clusterId}`,
              VpcId: vpcId,
              TagSpecifications: tagSpec('security-group', tags),
            }),
          ),
        );
        group = { GroupId: out.GroupId, GroupName: groupName, VpcId: vpcId, Tags: out.Tags, IpPermissions: [] };
      } catch (e) {
        // Made concurrently by another reconcile: adopt it (once DescribeSecurityGroups shows it).
        if (!(e instanceof CloudError && e.code === 'InvalidGroup.Duplicate')) throw e;
        const adopted = await readBack(async () => (await byName())[0], { windowMs: this.windowMs });
        if (!adopted) throw e;
        group = adopted;
      }
    }
    if (tagsToRecord(group.Tags)[TAG_CLUSTER] !== spec.clusterId) {
      throw new CloudError('Conflict', 'aws', 'SecurityGroupNotOwned', `security group ${group.GroupId} (${groupName}) in ${vpcId} is not tagged for cluster ${spec.clusterId}`);
    }
    const groupId = group.GroupId as string;
    const plan = planIngress(group.IpPermissions ?? [], rules);
    if (plan.revoke.length) {
      await this.ec2Fresh(region, (c) => c.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: plan.revoke })));
    }
    if (plan.authorize.length) {
      await this.ec2Fresh(region, (c) => c.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: plan.authorize })));
    }
    return group;
  }

  /**
   * Reads the cluster's network parts as ensureNetwork finds them: DescribeVpcs (cluster tag + Name), then at once
   * DescribeSubnets, DescribeInternetGateways and DescribeRouteTables (cluster tag + Name, in the VPC) and
   * DescribeSecurityGroups (every group of the VPC) — five paginated calls. `undefined` when the VPC does not exist.
   */
  private async readNetwork(region: string, clusterId: string, prefix: string): Promise<NetworkParts | undefined> {
    const n = partNames(prefix);
    const vpc = (await this.findVpcs(region, clusterId, n.vpc))[0];
    if (!vpc?.VpcId) return undefined;
    const inVpc = filter('vpc-id', vpc.VpcId);
    const owned = tagFilter(TAG_CLUSTER, clusterId);
    const [subnets, igws, routeTables, groups] = await Promise.all([
      this.findSubnets(region, [inVpc, owned, tagFilter('Name', n.subnet)]),
      this.findInternetGateways(region, [owned, tagFilter('Name', n.igw)]),
      this.findRouteTables(region, [inVpc, owned, tagFilter('Name', n.routeTable)]),
      this.findSecurityGroups(region, [inVpc]),
    ]);
    // Seen by a look-up: from now on a miss means gone (see `made`).
    this.made.delete(`${region}/vpc/${n.vpc}`);
    if (subnets[0]) this.made.delete(`${region}/subnet/${n.subnet}/${vpc.VpcId}`);
    if (igws[0]) this.made.delete(`${region}/internet-gateway/${n.igw}`);
    const ownGroups: Partial<Record<NodeRole, SecurityGroup>> = {};
    for (const g of groups) {
      if (tagsToRecord(g.Tags)[TAG_CLUSTER] !== clusterId) continue;
      const role = this.roleOf(g, prefix);
      if (role && !ownGroups[role]) ownGroups[role] = g;
    }
    return { vpc, subnet: subnets[0], igw: igws[0], routeTable: routeTables[0], groups, ownGroups };
  }

  /** The network tagged for the cluster (VPC `Name=<prefix>-vpc`); missing parts come back as empty ids. */
  async getNetwork(clusterId: string, region: string): Promise<NetworkStatus | null> {
    const parts = await this.readNetwork(region, clusterId, resourcePrefix(clusterId));
    return parts ? this.status(region, parts.vpc, parts.subnet, parts.igw, parts.routeTable, parts.ownGroups) : null;
  }

  /**
   * The network (as getNetwork, five paginated Describe calls, see readNetwork) against the spec: the VPC and its
   * CIDR; the subnet, its CIDR and zone and public-IP mapping; the internet gateway and its attachment; the route
   * table, its `0.0.0.0/0 → gateway` route and its association with the subnet; each role's security group
   * (`<prefix>-<role>`, tagged for the cluster) and its inbound rules against `spec.firewall[role]` (see ingressDrift:
   * IPv6, group and all-traffic rules count as not in the plan). Nothing is changed.
   */
  async inspectNetwork(spec: NetworkSpec): Promise<NetworkInspection> {
    const { region, clusterId } = spec;
    const n = partNames(spec.namePrefix);
    const parts = await this.readNetwork(region, clusterId, spec.namePrefix);
    if (!parts) return { status: null, drift: [`VPC ${n.vpc} (${spec.vpcCidr}) is missing`] };
    const { vpc, subnet, igw, routeTable, groups } = parts;
    const drift: string[] = [];
    if (vpc.CidrBlock !== spec.vpcCidr) drift.push(`VPC ${n.vpc} is ${vpc.CidrBlock}, not ${spec.vpcCidr}`);
    if (!subnet) {
      drift.push(`subnet ${n.subnet} (${spec.subnetCidr}) is missing`);
    } else {
      if (subnet.CidrBlock !== spec.subnetCidr || subnet.AvailabilityZone !== spec.zone) {
        drift.push(`subnet ${n.subnet} is ${subnet.CidrBlock} in ${subnet.AvailabilityZone}, not ${spec.subnetCidr} in ${spec.zone}`);
      }
      if (!subnet.MapPublicIpOnLaunch) drift.push(`subnet ${n.subnet} does not map public IPs on launch`);
    }
    if (!igw) drift.push(`internet gateway ${n.igw} is missing`);
    else if (!(igw.Attachments ?? []).some((a) => a.VpcId === vpc.VpcId)) drift.push(`internet gateway ${n.igw} is not attached to VPC ${n.vpc}`);
    if (!routeTable) {
      drift.push(`route table ${n.routeTable} is missing`);
    } else {
      const route = (routeTable.Routes ?? []).find((r) => r.DestinationCidrBlock === '0.0.0.0/0');
      if (!route) drift.push(`route table ${n.routeTable}: route 0.0.0.0/0 → ${n.igw} is missing`);
      else if (route.State === 'blackhole') drift.push(`route table ${n.routeTable}: route 0.0.0.0/0 → ${route.GatewayId ?? '?'} is a blackhole`);
      else if (igw && route.GatewayId !== igw.InternetGatewayId) drift.push(`route table ${n.routeTable}: route 0.0.0.0/0 goes to ${route.GatewayId ?? 'another target'}, not ${n.igw}`);
      if (subnet && !(routeTable.Associations ?? []).some((a) => a.SubnetId === subnet.SubnetId)) {
        drift.push(`route table ${n.routeTable} is not associated with subnet ${n.subnet}`);
      }
    }
    for (const role of ROLES) {
      const name = n.securityGroup(role);
      const g = groups.find((x) => x.GroupName === name);
      if (!g) drift.push(`security group ${name} is missing`);
      else if (tagsToRecord(g.Tags)[TAG_CLUSTER] !== clusterId) drift.push(`security group ${name} (${g.GroupId}) is not tagged for cluster ${clusterId}`);
      else drift.push(...ingressDrift(`security group ${name}`, g.IpPermissions ?? [], spec.firewall[role]));
    }
    return { status: this.status(region, vpc, subnet, igw, routeTable, parts.ownGroups), drift };
  }

  /** Inbound IPv4 tcp/udp rules of the role's security groups (DescribeSecurityGroups). */
  async describeFirewall(network: NetworkStatus): Promise<Record<NodeRole, FirewallRule[]>> {
    const ids = ROLES.map((r) => network.securityGroupIds[r]).filter(Boolean);
    if (!ids.length) return { master: [], worker: [] };
    const out = await this.ec2(network.region, (c) => c.send(new DescribeSecurityGroupsCommand({ GroupIds: ids })));
    const byId = new Map((out.SecurityGroups ?? []).map((g) => [g.GroupId, g]));
    const rules = (role: NodeRole) => permissionsToRules(byId.get(network.securityGroupIds[role])?.IpPermissions ?? []);
    return { master: rules('master'), worker: rules('worker') };
  }

  /**
   * Deletes every network part tagged for the cluster: security groups, route tables (after disassociating),
   * internet gateways (after detaching), subnets, VPCs. Waits (up to 5 minutes) for the cluster's own instances that
   * are already `shutting-down`.
   * @throws CloudError `Conflict` when an instance not tagged for the cluster, or one of its own not yet terminated,
   *   is in the VPC, or when EC2 reports a dependency (`DependencyViolation`) of something else using the network.
   */
  async deleteNetwork(clusterId: string, region: string): Promise<void> {
    const owned = tagFilter(TAG_CLUSTER, clusterId);
    const prefix = resourcePrefix(clusterId);
    for (const k of this.made.keys()) if (k.startsWith(`${region}/`) && k.includes(`/${prefix}-`)) this.made.delete(k);
    const vpcs = await this.findVpcs(region, clusterId);

    for (const vpc of vpcs) {
      const inVpc = await this.describeInstances(region, [filter('vpc-id', vpc.VpcId ?? ''), filter('instance-state-name', ...LIVE_STATES)]);
      const foreign = inVpc.filter((i) => tagsToRecord(i.Tags)[TAG_CLUSTER] !== clusterId);
      if (foreign.length) {
        throw new CloudError('Conflict', 'aws', 'ForeignInstancesInNetwork', `VPC ${vpc.VpcId} still has instances not tagged for cluster ${clusterId}: ${foreign.map((i) => i.InstanceId).join(', ')}`);
      }
      const alive = inVpc.filter((i) => i.State?.Name !== 'shutting-down');
      if (alive.length) {
        throw new CloudError('Conflict', 'aws', 'InstancesInNetwork', `VPC ${vpc.VpcId} still has instances of cluster ${clusterId}: ${alive.map((i) => i.InstanceId).join(', ')}; terminate them first`);
      }
      await this.waitGone(region, inVpc.map((i) => i.InstanceId ?? ''));
    }

    for (const g of await this.findSecurityGroups(region, [owned])) {
      await this.ec2IgnoreMissing(region, (c) => c.send(new DeleteSecurityGroupCommand({ GroupId: g.GroupId })));
    }
    for (const t of await this.findRouteTables(region, [owned])) {
      for (const a of t.Associations ?? []) {
        if (a.Main || !a.RouteTableAssociationId) continue;
        await this.ec2IgnoreMissing(region, (c) => c.send(new DisassociateRouteTableCommand({ AssociationId: a.RouteTableAssociationId })));
      }
      await this.ec2IgnoreMissing(region, (c) => c.send(new DeleteRouteTableCommand({ RouteTableId: t.RouteTableId })));
    }
    for (const g of await this.findInternetGateways(region, [owned])) {
      for (const a of g.Attachments ?? []) {
        await this.ec2IgnoreMissing(region, (c) => c.send(new DetachInternetGatewayCommand({ InternetGatewayId: g.InternetGatewayId, VpcId: a.VpcId })));
      }
      await this.ec2IgnoreMissing(region, (c) => c.send(new DeleteInternetGatewayCommand({ InternetGatewayId: g.InternetGatewayId })));
    }
    for (const s of await this.findSubnets(region, [owned])) {
      await this.ec2IgnoreMissing(region, (c) => c.send(new DeleteSubnetCommand({ SubnetId: s.SubnetId })));
    }
    for (const v of vpcs) {
      await this.ec2IgnoreMissing(region, (c) => c.send(new DeleteVpcCommand({ VpcId: v.VpcId })));
    }
  }

  /** Polls until the instances are `terminated` (or gone). @throws CloudError `Conflict` after TERMINATION_WAIT_MS. */
  private async waitGone(region: string, ids: string[]): Promise<void> {
    if (!ids.length) return;
    const deadline = Date.now() + TERMINATION_WAIT_MS;
    for (;;) {
      const left = await this.describeInstances(region, [filter('instance-id', ...ids), filter('instance-state-name', ...LIVE_STATES)]);
      if (!left.length) return;
      if (Date.now() > deadline) {
        throw new CloudError('Conflict', 'aws', 'InstancesInNetwork', `instances still terminating: ${left.map((i) => i.InstanceId).join(', ')}`);
      }
      await sleep(1000);
    }
  }

  // ------------------------------------------------------------------ instances

  /**
   * RunInstances with `ClientToken = nodeId` (EC2 returns the same reservation for a repeated token), after looking
   * the node up by its `skyweave-node` tag. User data is sent base64-encoded, as EC2 requires.
   * @throws CloudError `QuotaExceeded` (VcpuLimitExceeded, InstanceLimitExceeded), `InsufficientCapacity`
   *   (InsufficientInstanceCapacity), `InvalidRequest` (e.g. unknown instance type), and the other kinds.
   */
  async createInstance(spec: InstanceSpec): Promise<Instance> {
    const region = spec.network.region;
    const existing = await this.describeInstances(region, [
      tagFilter(TAG_NODE, spec.nodeId),
      tagFilter(TAG_CLUSTER, spec.clusterId),
      filter('instance-state-name', 'pending', 'running', 'stopping', 'stopped'),
    ]);
    if (existing[0]) return toInstance(existing[0]);

    const securityGroupId = spec.network.securityGroupIds[spec.role];
    if (!securityGroupId || !spec.network.subnetId) {
      throw new CloudError('InvalidRequest', 'aws', 'NetworkIncomplete', `network ${spec.network.vpcId} has no subnet or no ${spec.role} security group`);
    }
    const imageId = await this.nodeImage(region, spec.instanceType);
    // The subnet or group may be new (network just repaired): retried while EC2 does not see them yet — safe, as the
    // ClientToken makes a repeated RunInstances return the first launch.
    const out = await this.ec2Fresh(region, (c) =>
      c.send(
        new RunInstancesCommand({
          ImageId: imageId,
          InstanceType: spec.instanceType as _InstanceType,
          MinCount: 1,
          MaxCount: 1,
          ClientToken: spec.idempotencyToken ?? spec.nodeId,
          SubnetId: spec.network.subnetId,
          SecurityGroupIds: [securityGroupId],
          UserData: Buffer.from(spec.userData, 'utf8').toString('base64'),
          MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 },
          TagSpecifications: tagSpec('instance', {
            Name: spec.name,
            [TAG_CLUSTER]: spec.clusterId,
            [TAG_NODE]: spec.nodeId,
            [TAG_ROLE]: spec.role,
          }),
        }),
      ),
    );
    const launched = out.Instances?.[0];
    if (!launched?.InstanceId) throw new CloudError('Unavailable', 'aws', 'EmptyResponse', 'RunInstances returned no instance');
    this.launched.add(launched.InstanceId);
    return toInstance(launched);
  }

  /**
   * DescribeInstances by id; `null` for `InvalidInstanceID.NotFound`. Terminated instances come back as `terminated`.
   * An instance this provider launched less than the consistency window ago that EC2 does not show yet is waited for
   * (see RecentlyMade) rather than reported missing.
   */
  async getInstance(region: string, instanceId: string): Promise<Instance | null> {
    return this.launched.read(instanceId, async () => {
      const out = await this.ec2IgnoreMissing(region, (c) => c.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })));
      const i = out?.Reservations?.flatMap((r) => r.Instances ?? []).find((x) => x.InstanceId === instanceId);
      return i ? toInstance(i) : null;
    });
  }

  /** DescribeInstances (paginated) by `tag:skyweave-cluster`, every state but `terminated`. */
  async listInstances(clusterId: string, region: string): Promise<Instance[]> {
    const list = await this.describeInstances(region, [tagFilter(TAG_CLUSTER, clusterId), filter('instance-state-name', ...LIVE_STATES)]);
    return list.map(toInstance);
  }

  /** DescribeInstances (paginated) by `vpc-id`, tagged or not, every state but `terminated`. */
  async listInstancesInNetwork(network: NetworkStatus): Promise<Instance[]> {
    const list = await this.describeInstances(network.region, [filter('vpc-id', network.vpcId), filter('instance-state-name', ...LIVE_STATES)]);
    return list.map(toInstance);
  }

  /**
   * TerminateInstances after checking the instance's `skyweave-cluster` tag. Gone or terminated ⇒ resolves.
   * @throws CloudError `Conflict` when the instance is not tagged for `clusterId`.
   */
  async terminateInstance(clusterId: string, region: string, instanceId: string): Promise<void> {
    const inst = await this.getInstance(region, instanceId);
    if (!inst || inst.state === 'terminated') return;
    if (inst.tags[TAG_CLUSTER] !== clusterId) {
      throw new CloudError('Conflict', 'aws', 'NotOwnedByCluster', `instance ${instanceId} is not tagged ${TAG_CLUSTER}=${clusterId}; not terminating it`);
    }
    await this.ec2IgnoreMissing(region, (c) => c.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] })));
    this.launched.forget(instanceId);
  }

  /**
   * DescribeTags (`key=skyweave-cluster`, `value=<clusterId>`) finds every tagged resource of any type; a second
   * DescribeTags by resource id reads their full tag sets; terminated instances are dropped (DescribeInstances).
   */
  async listTaggedResources(clusterId: string, region: string): Promise<CloudResource[]> {
    return this.ec2(region, async (client) => {
      const kinds = new Map<string, string>();
      for await (const page of paginateDescribeTags({ client, pageSize: 1000 }, { Filters: [filter('key', TAG_CLUSTER), tagValueFilter(clusterId)] })) {
        for (const t of page.Tags ?? []) if (t.ResourceId && t.ResourceType) kinds.set(t.ResourceId, t.ResourceType);
      }
      if (kinds.size === 0) return [];
      const ids = [...kinds.keys()];
      const tags = new Map<string, Record<string, string>>(ids.map((id) => [id, {}]));
      for (const part of chunk(ids, FILTER_CHUNK)) {
        for await (const page of paginateDescribeTags({ client, pageSize: 1000 }, { Filters: [filter('resource-id', ...part)] })) {
          for (const t of page.Tags ?? []) {
            const rec = t.ResourceId ? tags.get(t.ResourceId) : undefined;
            if (rec && t.Key !== undefined) rec[t.Key] = t.Value ?? '';
          }
        }
      }
      const instanceIds = ids.filter((id) => kinds.get(id) === 'instance');
      const live = new Set<string>();
      for (const part of chunk(instanceIds, FILTER_CHUNK)) {
        for await (const page of paginateDescribeInstances({ client, pageSize: 1000 }, { Filters: [filter('instance-id', ...part), filter('instance-state-name', ...LIVE_STATES)] })) {
          for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) if (i.InstanceId) live.add(i.InstanceId);
        }
      }
      return ids
        .filter((id) => kinds.get(id) !== 'instance' || live.has(id))
        .map((id) => {
          const t = tags.get(id) ?? {};
          return { kind: kinds.get(id) ?? 'unknown', id, name: t.Name, tags: t };
        });
    });
  }

  /**
   * Two paginated calls whatever the number of resources: DescribeTags (`key` = skyweave-cluster, Name,
   * skyweave-node, skyweave-role) finds every resource carrying a cluster tag and reads those keys; DescribeInstances
   * (`tag-key=skyweave-cluster`, every state but terminated) drops terminated instances (EC2 keeps their tags visible
   * for a while). Tags other than those four keys are not read.
   */
  async listAllTaggedResources(region: string): Promise<CloudResource[]> {
    return this.ec2(region, async (client) => {
      const found = new Map<string, { kind: string; tags: Record<string, string> }>();
      for await (const page of paginateDescribeTags({ client, pageSize: 1000 }, { Filters: [filter('key', ...LISTED_TAG_KEYS.map(literal))] })) {
        for (const t of page.Tags ?? []) {
          if (!t.ResourceId || t.Key === undefined) continue;
          let rec = found.get(t.ResourceId);
          if (!rec) {
            rec = { kind: t.ResourceType ?? 'unknown', tags: {} };
            found.set(t.ResourceId, rec);
          }
          rec.tags[t.Key] = t.Value ?? '';
        }
      }
      const live = new Set<string>();
      for await (const page of paginateDescribeInstances({ client, pageSize: 1000 }, { Filters: [filter('tag-key', TAG_CLUSTER), filter('instance-state-name', ...LIVE_STATES)] })) {
        for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) if (i.InstanceId) live.add(i.InstanceId);
      }
      return [...found.entries()]
        .filter(([id, r]) => r.tags[TAG_CLUSTER] !== undefined && (r.kind !== 'instance' || live.has(id)))
        .map(([id, r]) => ({ kind: r.kind, id, name: r.tags.Name, tags: r.tags }));
    });
  }
}

/** The network parts readNetwork found. `groups`: every security group of the VPC; `ownGroups`: the cluster's per role. */
interface NetworkParts {
  vpc: Vpc;
  subnet?: Subnet;
  igw?: InternetGateway;
  routeTable?: RouteTable;
  groups: SecurityGroup[];
  ownGroups: Partial<Record<NodeRole, SecurityGroup>>;
}

/** DescribeTags `value` filter for a literal value. */
const tagValueFilter = (value: string): Filter => ({ Name: 'value', Values: [value.replace(/[\\*?]/g, (c) => `\\${c}`)] });
