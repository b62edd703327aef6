import { generateKeyPairSync } from 'node:crypto';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateKeyPairCommand,
  CreateVpcCommand,
  DeleteKeyPairCommand,
  DeleteVpcCommand,
  DescribeAccountAttributesCommand,
  DescribeAddressesCommand,
  DescribeAvailabilityZonesCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  DescribeInstanceTypesCommand,
  DescribeInternetGatewaysCommand,
  DescribeKeyPairsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRegionsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeTagsCommand,
  DescribeVolumesCommand,
  DescribeVpcsCommand,
  EC2Client,
  GetConsoleOutputCommand,
  ImportKeyPairCommand,
  paginateDescribeInstanceTypes,
  RunInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceRunning,
  waitUntilInstanceStatusOk,
} from '@aws-sdk/client-ec2';
import { createEc2Client } from '@skyweave/cloud-adapters/src/aws/aws-client';
import { check, CloudFixture, FidelityCheck } from './types';

/**
 * aws's checks of the fidelity suite (test/fidelity/main.ts): the common EC2 reads of issue 15 and write/read edge
 * cases, through `@aws-sdk/client-ec2` (EC2 API version 2016-11-15), around the fixture's live cluster piece (the
 * adapter's VPC, subnet, security groups and one running worker in us-east-1). Expectations come from the EC2 API
 * Reference (each check names its page) and "Error codes for the Amazon EC2 API"
 * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
 */

const REF = 'https://docs.aws.amazon.com/AWSEC2/latest/APIReference';
const ERRORS = `${REF}/errors-overview.html`;

/** The 17 regions enabled by default in a new account (AWS Account Management Reference Guide, "Enable or disable AWS Regions"). */
const DEFAULT_REGIONS = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ap-south-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1',
  'ap-southeast-2', 'ca-central-1', 'eu-central-1', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-north-1', 'sa-east-1',
];

const clients = new Map<string, EC2Client>();
/** The EC2 client of a region, made as the adapter makes it (aws-client.ts), on the sandbox's endpoint. */
function ec2(f: CloudFixture, region = f.region): EC2Client {
  if (f.credentials.cloud !== 'aws') throw new Error('aws fixture without aws credentials');
  const key = `${f.credentials.aws.accessKeyId}/${region}`;
  let c = clients.get(key);
  if (!c) {
    c = createEc2Client(f.credentials.aws, f.endpoints, region);
    clients.set(key, c);
  }
  return c;
}

/** Runs a call that must fail; checks HTTP status, error code and (when given) the message. */
async function expectError(p: Promise<unknown>, status: number, code: string, message?: string | RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    check(err.$metadata?.httpStatusCode === status, `status ${err.$metadata?.httpStatusCode} (${err.name}: ${err.message}), expected ${status}`);
    check(err.name === code, `code ${err.name} (${err.message}), expected ${code}`);
    if (message !== undefined) {
      const ok = typeof message === 'string' ? err.message === message : message.test(err.message ?? '');
      check(ok, `message "${err.message}", expected ${String(message)}`);
    }
    return;
  }
  throw new Error(`the call succeeded, expected ${status} ${code}`);
}

async function ubuntuImage(f: CloudFixture): Promise<string> {
  const out = await ec2(f).send(new DescribeImagesCommand({ Owners: ['099720109477'], Filters: [{ Name: 'name', Values: ['ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*'] }] }));
  const newest = (out.Images ?? []).sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
  check(newest?.ImageId, 'no Ubuntu 24.04 amd64 image');
  return newest.ImageId;
}

/** An OpenSSH `ssh-ed25519` public key line of a fresh key. */
function ed25519PublicKey(comment: string): string {
  const x = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from('ssh-ed25519')), str(x)]).toString('base64')} ${comment}`;
}

const read = (operation: string, page: string, run: (f: CloudFixture) => Promise<void>): FidelityCheck => ({ kind: 'read', operation, reference: `${REF}/API_${page}.html`, run });
const error = (operation: string, kase: string, reference: string, run: (f: CloudFixture) => Promise<void>): FidelityCheck => ({ kind: 'error', operation, case: kase, reference, run });

export const checks: FidelityCheck[] = [
  // ------------------------------------------------------------------ catalogues
  read('DescribeRegions', 'DescribeRegions', async (f) => {
    const enabled = (await ec2(f).send(new DescribeRegionsCommand({}))).Regions ?? [];
    check(JSON.stringify(enabled.map((r) => r.RegionName).sort()) === JSON.stringify([...DEFAULT_REGIONS].sort()), `regions ${enabled.map((r) => r.RegionName).join(',')}`);
    check(enabled.every((r) => r.OptInStatus === 'opt-in-not-required' && r.Endpoint === `ec2.${r.RegionName}.amazonaws.com`), 'OptInStatus / Endpoint');
    const all = (await ec2(f).send(new DescribeRegionsCommand({ AllRegions: true }))).Regions ?? [];
    const optIn = all.filter((r) => r.OptInStatus === 'not-opted-in');
    check(optIn.length > 0 && all.length === enabled.length + optIn.length, 'AllRegions adds the opt-in regions as not-opted-in');
  }),

  read('DescribeAvailabilityZones', 'DescribeAvailabilityZones', async (f) => {
    for (const region of DEFAULT_REGIONS) {
      const zones = (await ec2(f, region).send(new DescribeAvailabilityZonesCommand({}))).AvailabilityZones ?? [];
      check(zones.length >= 2, `${region}: ${zones.length} zones`);
      for (const z of zones) {
        check(z.RegionName === region && z.ZoneName?.startsWith(region) && z.State === 'available' && z.ZoneType === 'availability-zone' && /^[a-z0-9]+-az\d$/.test(z.ZoneId ?? ''), `${region}: zone ${JSON.stringify(z)}`);
      }
    }
  }),

  read('DescribeInstanceTypes', 'DescribeInstanceTypes', async (f) => {
    const types = [];
    let pages = 0;
    for await (const page of paginateDescribeInstanceTypes({ client: ec2(f), pageSize: 25 }, {})) {
      pages++;
      types.push(...(page.InstanceTypes ?? []));
    }
    check(types.length >= 50 && pages >= 2, `${types.length} types in ${pages} pages`);
    for (const t of types) {
      check((t.VCpuInfo?.DefaultVCpus ?? 0) > 0 && (t.MemoryInfo?.SizeInMiB ?? 0) > 0 && t.ProcessorInfo?.SupportedArchitectures?.length, `${t.InstanceType}: VCpuInfo / MemoryInfo / ProcessorInfo`);
    }
    for (const family of ['t3', 't3a', 't4g', 'm5', 'm6i', 'm6g', 'm7i', 'c5', 'c6i', 'c6g', 'c7g', 'r5', 'r6i']) {
      check(types.some((t) => t.InstanceType?.startsWith(`${family}.`)), `no ${family} types`);
    }
    const m5 = (await ec2(f).send(new DescribeInstanceTypesCommand({ Filters: [{ Name: 'instance-type', Values: ['m5.large'] }] }))).InstanceTypes ?? [];
    check(m5.length === 1 && m5[0].VCpuInfo?.DefaultVCpus === 2 && m5[0].MemoryInfo?.SizeInMiB === 8192 && m5[0].ProcessorInfo?.SupportedArchitectures?.[0] === 'x86_64', 'm5.large: 2 vCPU, 8192 MiB, x86_64');
    const arm = (await ec2(f).send(new DescribeInstanceTypesCommand({ Filters: [{ Name: 'processor-info.supported-architecture', Values: ['arm64'] }] }))).InstanceTypes ?? [];
    check(arm.length > 0 && arm.every((t) => t.ProcessorInfo?.SupportedArchitectures?.includes('arm64')), 'architecture filter');
    check(arm.some((t) => t.InstanceType === 't4g.medium') && !arm.some((t) => t.InstanceType === 't3.medium'), 'arm64: t4g, not t3');
  }),

  read('DescribeImages', 'DescribeImages', async (f) => {
    const id = await ubuntuImage(f);
    const img = (await ec2(f).send(new DescribeImagesCommand({ ImageIds: [id] }))).Images?.[0];
    check(img?.OwnerId === '099720109477' && img.Architecture === 'x86_64' && img.RootDeviceType === 'ebs' && img.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId, 'Ubuntu image fields');
  }),

  // ------------------------------------------------------------------ the default VPC and the cluster's network
  read('DescribeVpcs', 'DescribeVpcs', async (f) => {
    const vpcs = (await ec2(f).send(new DescribeVpcsCommand({}))).Vpcs ?? [];
    const def = vpcs.filter((v) => v.IsDefault);
    check(def.length === 1 && def[0].CidrBlock === '172.31.0.0/16' && def[0].State === 'available', `default VPC: ${JSON.stringify(def)}`);
    check(vpcs.some((v) => v.VpcId === f.network.vpcId && v.IsDefault === false && v.CidrBlock === f.network.vpcCidr), "the cluster's VPC");
    const filtered = (await ec2(f).send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }))).Vpcs ?? [];
    check(filtered.length === 1 && filtered[0].VpcId === def[0].VpcId, 'is-default filter');
  }),

  read('DescribeSubnets', 'DescribeSubnets', async (f) => {
    const zones = (await ec2(f).send(new DescribeAvailabilityZonesCommand({}))).AvailabilityZones ?? [];
    const defaults = (await ec2(f).send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }))).Subnets ?? [];
    check(defaults.length === zones.length, `${defaults.length} default subnets for ${zones.length} zones`);
    check(defaults.every((s) => s.MapPublicIpOnLaunch && /^172\.31\.\d+\.0\/20$/.test(s.CidrBlock ?? '') && (s.AvailableIpAddressCount ?? 0) > 4000), 'default subnets: /20 in 172.31.0.0/16, public IPs on launch');
    const mine = (await ec2(f).send(new DescribeSubnetsCommand({ SubnetIds: [f.network.subnetId] }))).Subnets?.[0];
    check(mine?.VpcId === f.network.vpcId && mine.DefaultForAz === false && mine.AvailabilityZone === f.zone, "the cluster's subnet");
  }),

  read('DescribeInternetGateways', 'DescribeInternetGateways', async (f) => {
    const igws = (await ec2(f).send(new DescribeInternetGatewaysCommand({}))).InternetGateways ?? [];
    // an attached internet gateway's state is `available` on EC2 (outside the SDK's AttachmentStatus enum)
    check(igws.length === 2 && igws.every((g) => String(g.Attachments?.[0]?.State) === 'available'), `${igws.length} gateways (default VPC's and the cluster's)`);
  }),

  read('DescribeRouteTables', 'DescribeRouteTables', async (f) => {
    const main = (await ec2(f).send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'association.main', Values: ['true'] }] }))).RouteTables ?? [];
    // every VPC has its main route table, the default VPC's routing 0.0.0.0/0 to its internet gateway
    check(main.length === 2 && main.some((t) => t.VpcId === f.network.vpcId), `${main.length} main route tables`);
    check(main.some((t) => t.Routes?.some((r) => r.DestinationCidrBlock === '0.0.0.0/0' && r.GatewayId?.startsWith('igw-') && r.State === 'active')), 'default route of the default VPC');
  }),

  read('DescribeSecurityGroups', 'DescribeSecurityGroups', async (f) => {
    const groups = (await ec2(f).send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [];
    const defaults = groups.filter((g) => g.GroupName === 'default');
    check(defaults.length === 2 && defaults.some((g) => g.VpcId === f.network.vpcId), 'a default group per VPC (default VPC and the cluster VPC)');
    check(groups.some((g) => g.GroupId === f.network.securityGroupIds.worker && (g.IpPermissions ?? []).length > 0), "the cluster's worker group");
  }),

  read('DescribeSecurityGroupRules', 'DescribeSecurityGroupRules', async (f) => {
    const gid = f.network.securityGroupIds.worker;
    const rules = (await ec2(f).send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [gid] }] }))).SecurityGroupRules ?? [];
    check(rules.length > 1 && rules.every((r) => r.GroupId === gid && /^sgr-[0-9a-f]{17}$/.test(r.SecurityGroupRuleId ?? '') && typeof r.IsEgress === 'boolean'), 'rules with ids');
    check(rules.some((r) => r.IsEgress && r.IpProtocol === '-1' && r.CidrIpv4 === '0.0.0.0/0'), 'the default egress rule');
    const one = (await ec2(f).send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [rules[0].SecurityGroupRuleId as string] }))).SecurityGroupRules ?? [];
    check(one.length === 1, 'by id');
  }),

  read('DescribeTags', 'DescribeTags', async (f) => {
    const tags = (await ec2(f).send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [f.instance.id] }] }))).Tags ?? [];
    check(tags.some((t) => t.Key === 'skyweave-cluster' && t.Value === f.clusterId && t.ResourceType === 'instance'), "the worker's cluster tag");
  }),

  // ------------------------------------------------------------------ the worker and what it names
  read('DescribeInstances', 'DescribeInstances', async (f) => {
    await waitUntilInstanceRunning({ client: ec2(f), maxWaitTime: 10, minDelay: 1, maxDelay: 1 }, { InstanceIds: [f.instance.id] });
    const i = (await ec2(f).send(new DescribeInstancesCommand({ InstanceIds: [f.instance.id] }))).Reservations?.[0]?.Instances?.[0];
    check(i?.State?.Name === 'running' && i.SubnetId === f.network.subnetId, 'running in the cluster subnet');
    check(i.BlockDeviceMappings?.[0]?.DeviceName === i.RootDeviceName && i.BlockDeviceMappings?.[0]?.Ebs?.VolumeId?.startsWith('vol-'), 'root volume named');
    check(i.NetworkInterfaces?.[0]?.NetworkInterfaceId?.startsWith('eni-') && i.NetworkInterfaces[0].Attachment?.DeviceIndex === 0, 'primary ENI named');
  }),

  read('DescribeNetworkInterfaces', 'DescribeNetworkInterfaces', async (f) => {
    const i = (await ec2(f).send(new DescribeInstancesCommand({ InstanceIds: [f.instance.id] }))).Reservations?.[0]?.Instances?.[0];
    const eniId = i?.NetworkInterfaces?.[0]?.NetworkInterfaceId as string;
    const byInstance = (await ec2(f).send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [f.instance.id] }] }))).NetworkInterfaces ?? [];
    check(byInstance.length === 1 && byInstance[0].NetworkInterfaceId === eniId, 'attachment.instance-id filter');
    const n = byInstance[0];
    check(n.Status === 'in-use' && n.VpcId === f.network.vpcId && n.SubnetId === f.network.subnetId && n.PrivateIpAddress === i?.PrivateIpAddress && n.Attachment?.DeleteOnTermination === true && n.InterfaceType === 'interface', 'ENI fields');
    check(n.Groups?.some((g) => g.GroupId === f.network.securityGroupIds.worker), 'ENI groups');
    const inVpc = (await ec2(f).send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [f.network.vpcId] }, { Name: 'subnet-id', Values: [f.network.subnetId] }] }))).NetworkInterfaces ?? [];
    check(inVpc.some((x) => x.NetworkInterfaceId === eniId), 'vpc-id / subnet-id filters');
    const byId = (await ec2(f).send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }))).NetworkInterfaces ?? [];
    check(byId.length === 1, 'by id');
  }),

  read('DescribeVolumes', 'DescribeVolumes', async (f) => {
    const i = (await ec2(f).send(new DescribeInstancesCommand({ InstanceIds: [f.instance.id] }))).Reservations?.[0]?.Instances?.[0];
    const volId = i?.BlockDeviceMappings?.[0]?.Ebs?.VolumeId as string;
    const vols = (await ec2(f).send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [f.instance.id] }] }))).Volumes ?? [];
    check(vols.length === 1 && vols[0].VolumeId === volId, 'the root volume by attachment.instance-id');
    const v = vols[0];
    check(v.State === 'in-use' && (v.Size ?? 0) >= 8 && v.VolumeType === 'gp3' && v.AvailabilityZone === f.zone && v.SnapshotId?.startsWith('snap-') && v.CreateTime instanceof Date, 'volume fields');
    check(v.Attachments?.[0]?.InstanceId === f.instance.id && v.Attachments[0].Device === i?.RootDeviceName && v.Attachments[0].DeleteOnTermination === true && v.Attachments[0].State === 'attached', 'attachment');
  }),

  read('DescribeInstanceStatus', 'DescribeInstanceStatus', async (f) => {
    await waitUntilInstanceStatusOk({ client: ec2(f), maxWaitTime: 10, minDelay: 1, maxDelay: 1 }, { InstanceIds: [f.instance.id] });
    const s = (await ec2(f).send(new DescribeInstanceStatusCommand({ InstanceIds: [f.instance.id] }))).InstanceStatuses?.[0];
    check(s?.InstanceState?.Name === 'running' && s.InstanceStatus?.Status === 'ok' && s.SystemStatus?.Details?.[0]?.Name === 'reachability' && s.AvailabilityZone === f.zone, 'status fields');
    const all = (await ec2(f).send(new DescribeInstanceStatusCommand({ IncludeAllInstances: true }))).InstanceStatuses ?? [];
    check(all.some((x) => x.InstanceId === f.instance.id), 'IncludeAllInstances');
  }),

  read('GetConsoleOutput', 'GetConsoleOutput', async (f) => {
    const out = await ec2(f).send(new GetConsoleOutputCommand({ InstanceId: f.instance.id }));
    check(out.InstanceId === f.instance.id && out.Timestamp instanceof Date, 'InstanceId / Timestamp');
    const text = Buffer.from(out.Output ?? '', 'base64').toString('utf8');
    check(text.includes(f.instance.id) && /cloud-init/i.test(text), `console output (base64) names the instance and cloud-init: ${text.slice(0, 80)}`);
  }),

  read('DescribeKeyPairs', 'DescribeKeyPairs', async (f) => {
    const c = ec2(f);
    const imported = await c.send(new ImportKeyPairCommand({ KeyName: 'fidelity-imported', PublicKeyMaterial: Buffer.from(ed25519PublicKey('me@laptop')) }));
    const created = await c.send(new CreateKeyPairCommand({ KeyName: 'fidelity-created', KeyType: 'rsa' }));
    try {
      check(/^key-[0-9a-f]{17}$/.test(imported.KeyPairId ?? '') && created.KeyMaterial?.startsWith('-----BEGIN RSA PRIVATE KEY-----'), 'ImportKeyPair / CreateKeyPair answers');
      const keys = (await c.send(new DescribeKeyPairsCommand({ IncludePublicKey: true }))).KeyPairs ?? [];
      const imp = keys.find((k) => k.KeyName === 'fidelity-imported');
      const cre = keys.find((k) => k.KeyName === 'fidelity-created');
      check(imp?.KeyType === 'ed25519' && imp.KeyFingerprint === imported.KeyFingerprint && imp.PublicKey?.startsWith('ssh-ed25519 ') && imp.CreateTime instanceof Date, 'imported key');
      check(cre?.KeyType === 'rsa' && /^([0-9a-f]{2}:){19}[0-9a-f]{2}$/.test(cre.KeyFingerprint ?? ''), 'created key (SHA-1 fingerprint)');
      const byName = (await c.send(new DescribeKeyPairsCommand({ KeyNames: ['fidelity-imported'] }))).KeyPairs ?? [];
      check(byName.length === 1, 'by name');
    } finally {
      await c.send(new DeleteKeyPairCommand({ KeyName: 'fidelity-imported' }));
      await c.send(new DeleteKeyPairCommand({ KeyPairId: created.KeyPairId }));
    }
  }),

  // ------------------------------------------------------------------ account-wide lists
  read('DescribeAddresses', 'DescribeAddresses', async (f) => {
    const out = await ec2(f).send(new DescribeAddressesCommand({}));
    check(Array.isArray(out.Addresses) && out.Addresses.length === 0, 'no Elastic IPs in the account');
  }),

  read('DescribeAccountAttributes', 'DescribeAccountAttributes', async (f) => {
    const attrs = (await ec2(f).send(new DescribeAccountAttributesCommand({}))).AccountAttributes ?? [];
    const value = (n: string) => attrs.find((a) => a.AttributeName === n)?.AttributeValues?.map((v) => v.AttributeValue);
    const def = (await ec2(f).send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }))).Vpcs?.[0]?.VpcId;
    check(JSON.stringify(value('supported-platforms')) === '["VPC"]' && value('default-vpc')?.[0] === def && value('max-instances')?.length === 1, 'supported-platforms, default-vpc, max-instances');
  }),

  // ------------------------------------------------------------------ error edge cases
  error('DescribeInstances', 'an unknown instance id', ERRORS, (f) =>
    expectError(ec2(f).send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })), 400, 'InvalidInstanceID.NotFound', "The instance ID 'i-0123456789abcdef0' does not exist")),

  error('DescribeInstances', 'a malformed instance id', ERRORS, (f) =>
    expectError(ec2(f).send(new DescribeInstancesCommand({ InstanceIds: ['i-xyz'] })), 400, 'InvalidInstanceID.Malformed', 'Invalid id: "i-xyz"')),

  error('RunInstances', 'a KeyName that does not exist', ERRORS, async (f) =>
    expectError(
      ec2(f).send(new RunInstancesCommand({ ImageId: await ubuntuImage(f), InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, SubnetId: f.network.subnetId, KeyName: 'no-such-key' })),
      400, 'InvalidKeyPair.NotFound', "The key pair 'no-such-key' does not exist",
    )),

  error('RunInstances', 'a root volume smaller than the image snapshot', `${REF}/API_EbsBlockDevice.html`, async (f) =>
    expectError(
      ec2(f).send(new RunInstancesCommand({ ImageId: await ubuntuImage(f), InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, SubnetId: f.network.subnetId, BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 2 } }] })),
      400, 'InvalidBlockDeviceMapping', /^Volume of size 2GB is smaller than snapshot 'snap-[0-9a-f]+', expect size >= 8GB$/,
    )),

  error('RunInstances', 'an unknown image id', ERRORS, (f) =>
    expectError(ec2(f).send(new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', MinCount: 1, MaxCount: 1, SubnetId: f.network.subnetId })), 400, 'InvalidAMIID.NotFound', "The image id '[ami-0123456789abcdef0]' does not exist")),

  error('CreateVpc', 'a CIDR block larger than /16', `${REF}/API_CreateVpc.html`, (f) =>
    expectError(ec2(f).send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/8' })), 400, 'InvalidVpc.Range', "The CIDR '10.0.0.0/8' is invalid.")),

  error('CreateVpc', 'a malformed CIDR block', ERRORS, (f) =>
    expectError(ec2(f).send(new CreateVpcCommand({ CidrBlock: '10.0.0.300/16' })), 400, 'InvalidParameterValue', 'Value (10.0.0.300/16) for parameter cidrBlock is invalid. This is not a valid CIDR block.')),

  error('DeleteVpc', 'a VPC that still has a subnet and instances', `${REF}/API_DeleteVpc.html`, (f) =>
    expectError(ec2(f).send(new DeleteVpcCommand({ VpcId: f.network.vpcId })), 400, 'DependencyViolation', `The vpc '${f.network.vpcId}' has dependencies and cannot be deleted.`)),

  error('ImportKeyPair', 'a key pair name that exists', ERRORS, async (f) => {
    await ec2(f).send(new ImportKeyPairCommand({ KeyName: 'fidelity-dup', PublicKeyMaterial: Buffer.from(ed25519PublicKey('a')) }));
    try {
      await expectError(ec2(f).send(new ImportKeyPairCommand({ KeyName: 'fidelity-dup', PublicKeyMaterial: Buffer.from(ed25519PublicKey('b')) })), 400, 'InvalidKeyPair.Duplicate', "The keypair 'fidelity-dup' already exists.");
    } finally {
      await ec2(f).send(new DeleteKeyPairCommand({ KeyName: 'fidelity-dup' }));
    }
  }),

  error('ImportKeyPair', 'public key material that is no OpenSSH key', ERRORS, (f) =>
    expectError(ec2(f).send(new ImportKeyPairCommand({ KeyName: 'fidelity-bad', PublicKeyMaterial: Buffer.from('-----BEGIN NONSENSE-----') })), 400, 'InvalidKey.Format', 'Key is not in valid OpenSSH public key format')),

  error('AuthorizeSecurityGroupIngress', 'a rule the group already has', ERRORS, async (f) => {
    const g = (await ec2(f).send(new DescribeSecurityGroupsCommand({ GroupIds: [f.network.securityGroupIds.worker] }))).SecurityGroups?.[0];
    const perm = g?.IpPermissions?.find((p) => (p.IpRanges ?? []).length > 0);
    check(perm, 'the worker group has no CIDR rule to repeat');
    await expectError(
      ec2(f).send(new AuthorizeSecurityGroupIngressCommand({ GroupId: g?.GroupId, IpPermissions: [{ IpProtocol: perm.IpProtocol, FromPort: perm.FromPort, ToPort: perm.ToPort, IpRanges: [{ CidrIp: perm.IpRanges?.[0].CidrIp }] }] })),
      400, 'InvalidPermission.Duplicate', /^the specified rule "peer: .+, ALLOW" already exists$/,
    );
  }),

  error('DescribeVolumes', 'an unknown volume id', ERRORS, (f) =>
    expectError(ec2(f).send(new DescribeVolumesCommand({ VolumeIds: ['vol-0123456789abcdef0'] })), 400, 'InvalidVolume.NotFound', "The volume 'vol-0123456789abcdef0' does not exist.")),

  error('DescribeNetworkInterfaces', 'an unknown network interface id', ERRORS, (f) =>
    expectError(ec2(f).send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-0123456789abcdef0'] })), 400, 'InvalidNetworkInterfaceID.NotFound', "The networkInterface ID 'eni-0123456789abcdef0' does not exist")),

  error('DescribeInstanceTypes', 'an instance type that does not exist', `${REF}/API_DescribeInstanceTypes.html`, (f) =>
    expectError(ec2(f).send(new DescribeInstanceTypesCommand({ InstanceTypes: ['t3.gigantic' as never] })), 400, 'InvalidInstanceType', 'The following supplied instance types do not exist: [t3.gigantic]')),

  error('TerminateInstances', 'an unknown instance id', ERRORS, (f) =>
    expectError(ec2(f).send(new TerminateInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })), 400, 'InvalidInstanceID.NotFound', "The instance ID 'i-0123456789abcdef0' does not exist")),

  error('DescribeSecurityGroupRules', 'an unknown rule id', ERRORS, (f) =>
    expectError(ec2(f).send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: ['sgr-0123456789abcdef0'] })), 400, 'InvalidSecurityGroupRuleId.NotFound', "The security group rule ID 'sgr-0123456789abcdef0' does not exist")),

  error('DescribeAddresses', 'an address the account does not hold', ERRORS, (f) =>
    expectError(ec2(f).send(new DescribeAddressesCommand({ PublicIps: ['203.0.113.77'] })), 400, 'InvalidAddress.NotFound', "Address '203.0.113.77' not found.")),
];
