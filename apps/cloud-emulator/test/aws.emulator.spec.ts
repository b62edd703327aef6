import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeTagsCommand,
  DescribeVpcsCommand,
  DetachInternetGatewayCommand,
  EC2Client,
  ModifySubnetAttributeCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  RunInstancesCommandInput,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import type { AwsCredentials } from '@skyweave/cloud-adapters';
import { startEmulator, RunningEmulator } from '../src/emulator';
import { sdkFailure as failure } from './harness';

/**
 * Strictness of the EC2 sandbox, checked through the official SDK (and raw signed requests where the SDK cannot
 * produce the input): authentication, the Query protocol, parameter validation and EC2's error codes, dependency
 * rules, idempotency tokens, the instance lifecycle, pagination and injected faults.
 */

const UBUNTU = 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*';


let emu: RunningEmulator;
let creds: AwsCredentials;
let ec2: EC2Client;

const client = (c: AwsCredentials, region = 'us-east-1') => new EC2Client({ endpoint: emu.endpoints.aws, region, credentials: c, maxAttempts: 1 });

/** A raw EC2 Query call, SigV4-signed like the SDK signs (for inputs the SDK cannot express). */
async function raw(
  params: Record<string, string>,
  opts: { creds?: AwsCredentials; sign?: boolean; signingDate?: Date; bodyOverride?: string; region?: string } = {},
): Promise<{ status: number; body: string }> {
  const url = new URL(emu.endpoints.aws as string);
  const body = new URLSearchParams({ Version: '2016-11-15', ...params }).toString();
  let headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', host: url.host };
  if (opts.sign !== false) {
    const signer = new SignatureV4({ credentials: opts.creds ?? creds, region: opts.region ?? 'us-east-1', service: 'ec2', sha256: Hash.bind(null, 'sha256') });
    const req = new HttpRequest({ method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', headers, body });
    const signed = await signer.sign(req, { signingDate: opts.signingDate });
    headers = signed.headers as Record<string, string>;
  }
  const res = await fetch(emu.endpoints.aws as string, { method: 'POST', headers, body: opts.bodyOverride ?? body });
  return { status: res.status, body: await res.text() };
}

const code = (xml: string) => /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];

async function ubuntuImage(c = ec2): Promise<string> {
  const out = await c.send(new DescribeImagesCommand({ Owners: ['099720109477'], Filters: [{ Name: 'name', Values: [UBUNTU] }] }));
  const newest = (out.Images ?? []).sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
  return newest.ImageId as string;
}

/** A VPC with one subnet and one security group. */
async function network(cidr = '10.10.0.0/16') {
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: cidr }))).Vpc?.VpcId as string;
  const base = cidr.split('.').slice(0, 2).join('.');
  const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: `${base}.0.0/24`, AvailabilityZone: 'us-east-1a' }))).Subnet?.SubnetId as string;
  const sg = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: `g-${vpc}`, Description: 'test group' }))).GroupId as string;
  return { vpc, subnet, sg };
}

const launch = (image: string, subnet: string, sg: string, extra: Partial<RunInstancesCommandInput> = {}) =>
  ec2.send(new RunInstancesCommand({ ImageId: image, InstanceType: 't3.medium', MinCount: 1, MaxCount: 1, SubnetId: subnet, SecurityGroupIds: [sg], ...extra }));

beforeEach(async () => {
  emu = await startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, latency: { 'instance.boot': 50 } });
  const c = emu.modules.aws.createAccount();
  if (c.cloud !== 'aws') throw new Error('expected aws credentials');
  creds = c.aws;
  ec2 = client(creds);
});
afterEach(async () => {
  ec2.destroy();
  await emu.close();
});

describe('EC2 sandbox: accounts and authentication', () => {
  it('issues AWS-shaped credentials', () => {
    expect(creds.accessKeyId).toMatch(/^AKIA[A-Z0-9]{16}$/);
    expect(creds.secretAccessKey).toHaveLength(40);
  });

  it('answers 401 AuthFailure to an unknown access key and 403 SignatureDoesNotMatch to a wrong secret', async () => {
    expect(await failure(client({ accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x'.repeat(40) }).send(new DescribeVpcsCommand({})))).toMatchObject({
      name: 'AuthFailure',
      status: 401,
      message: 'AWS was not able to validate the provided access credentials',
    });
    expect(await failure(client({ ...creds, secretAccessKey: 'y'.repeat(40) }).send(new DescribeVpcsCommand({})))).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
  });

  it('refuses unsigned, tampered, stale and wrongly scoped requests', async () => {
    const unsigned = await raw({ Action: 'DescribeVpcs' }, { sign: false });
    expect([unsigned.status, code(unsigned.body)]).toEqual([401, 'MissingAuthenticationToken']);
    const tampered = await raw({ Action: 'DescribeVpcs' }, { bodyOverride: 'Action=DescribeSubnets&Version=2016-11-15' });
    expect([tampered.status, code(tampered.body)]).toEqual([403, 'SignatureDoesNotMatch']);
    const stale = await raw({ Action: 'DescribeVpcs' }, { signingDate: new Date(Date.now() - 20 * 60 * 1000) });
    expect([stale.status, code(stale.body)]).toEqual([400, 'RequestExpired']);
    const nowhere = await raw({ Action: 'DescribeVpcs' }, { region: 'xx-nowhere-1' });
    expect([nowhere.status, code(nowhere.body)]).toEqual([401, 'AuthFailure']);
  });

  it('keeps accounts and regions apart', async () => {
    const { vpc } = await network();
    const other = emu.modules.aws.createAccount();
    if (other.cloud !== 'aws') throw new Error('expected aws credentials');
    expect(await failure(client(other.aws).send(new DescribeVpcsCommand({ VpcIds: [vpc] })))).toMatchObject({ name: 'InvalidVpcID.NotFound' });
    expect(await failure(client(creds, 'eu-central-1').send(new DescribeVpcsCommand({ VpcIds: [vpc] })))).toMatchObject({ name: 'InvalidVpcID.NotFound' });
  });
});

describe('EC2 sandbox: Query protocol', () => {
  it('answers in the EC2 XML namespace with a requestId', async () => {
    const ok = await raw({ Action: 'DescribeVpcs' });
    expect(ok.status).toBe(200);
    // a fresh account holds its region's default VPC (172.31.0.0/16)
    expect(ok.body).toMatch(/<DescribeVpcsResponse xmlns="http:\/\/ec2.amazonaws.com\/doc\/2016-11-15\/"><requestId>[0-9a-f-]{36}<\/requestId><vpcSet><item><vpcId>vpc-[0-9a-f]{17}<\/vpcId>/);
    expect(ok.body).toContain('<isDefault>true</isDefault>');
  });

  it('serves signed GET requests with the parameters in the query string', async () => {
    const url = new URL(emu.endpoints.aws as string);
    const query = { Action: 'DescribeRegions', Version: '2016-11-15', 'RegionName.1': 'us-east-1' };
    const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 'ec2', sha256: Hash.bind(null, 'sha256') });
    const signed = await signer.sign(new HttpRequest({ method: 'GET', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', query, headers: { host: url.host } }));
    const res = await fetch(`${emu.endpoints.aws}/?${new URLSearchParams(query)}`, { headers: signed.headers as Record<string, string> });
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(body).toContain('<regionInfo><item><regionName>us-east-1</regionName>');
  });

  it('refuses unknown actions, versions and parameters, and honours DryRun', async () => {
    expect(code((await raw({ Action: 'LaunchRockets' })).body)).toBe('InvalidAction');
    expect(code((await raw({ Action: 'DescribeVpcs', Version: '2099-01-01' })).body)).toBe('NoSuchVersion');
    const unknown = await raw({ Action: 'DescribeVpcs', Colour: 'blue' });
    expect([unknown.status, code(unknown.body)]).toEqual([400, 'UnknownParameter']);
    const dry = await raw({ Action: 'CreateVpc', CidrBlock: '10.0.0.0/16', DryRun: 'true' });
    expect([dry.status, code(dry.body)]).toEqual([412, 'DryRunOperation']);
    expect(emu.modules.aws.inventory()).toEqual([]);
  });
});

describe('EC2 sandbox: VPC validation and dependencies', () => {
  it('validates CIDRs and zones with EC2 codes', async () => {
    expect(await failure(ec2.send(new CreateVpcCommand({})))).toMatchObject({ name: 'MissingParameter' });
    expect(await failure(ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.300/16' })))).toMatchObject({ name: 'InvalidParameterValue' });
    expect(await failure(ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/8' })))).toMatchObject({ name: 'InvalidVpc.Range' });
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.10.0.0/16' }))).Vpc?.VpcId as string;
    expect(await failure(ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.11.0.0/24' })))).toMatchObject({ name: 'InvalidSubnet.Range' });
    expect(await failure(ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.10.0.0/24', AvailabilityZone: 'us-east-1z' })))).toMatchObject({ name: 'InvalidParameterValue' });
    await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.10.0.0/24', AvailabilityZone: 'us-east-1a' }));
    expect(await failure(ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.10.0.0/25' })))).toMatchObject({ name: 'InvalidSubnet.Conflict' });
    expect(await failure(ec2.send(new CreateSubnetCommand({ VpcId: 'vpc-0123456789abcdef0', CidrBlock: '10.10.1.0/24' })))).toMatchObject({ name: 'InvalidVpcID.NotFound' });
    expect(await failure(ec2.send(new DescribeVpcsCommand({ VpcIds: ['vpc-nope'] })))).toMatchObject({ name: 'InvalidVpcID.Malformed' });
  });

  it('enforces the default quota of 5 VPCs per region (the default VPC counts)', async () => {
    for (let i = 0; i < 4; i++) await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${i}.0.0/16` }));
    expect(await failure(ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' })))).toMatchObject({ name: 'VpcLimitExceeded' });
  });

  it('filters by tag, wildcard and resource filters, and refuses unknown filter names', async () => {
    await ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'team', Value: 'blue-1' }] }] }));
    await ec2.send(new CreateVpcCommand({ CidrBlock: '10.2.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'team', Value: 'red' }] }] }));
    const ids = async (Filters: { Name: string; Values: string[] }[]) => ((await ec2.send(new DescribeVpcsCommand({ Filters }))).Vpcs ?? []).map((v) => v.CidrBlock).sort();
    expect(await ids([{ Name: 'tag:team', Values: ['blue-*'] }])).toEqual(['10.1.0.0/16']);
    expect(await ids([{ Name: 'tag:team', Values: ['blue-1', 'red'] }])).toEqual(['10.1.0.0/16', '10.2.0.0/16']);
    expect(await ids([{ Name: 'tag-key', Values: ['team'] }, { Name: 'cidr', Values: ['10.2.0.0/16'] }])).toEqual(['10.2.0.0/16']);
    expect(await failure(ids([{ Name: 'colour', Values: ['x'] }]))).toMatchObject({ name: 'InvalidParameterValue' });
    expect(await failure(ec2.send(new CreateVpcCommand({ CidrBlock: '10.3.0.0/16', TagSpecifications: [{ ResourceType: 'instance', Tags: [] }] })))).toMatchObject({
      name: 'InvalidParameterValue',
    });
    expect(await failure(ec2.send(new CreateVpcCommand({ CidrBlock: '10.3.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'aws:x', Value: 'y' }] }] })))).toMatchObject({
      name: 'InvalidParameterValue',
    });
  });

  it('refuses to delete what is still in use (DependencyViolation), as EC2 does', async () => {
    const image = await ubuntuImage();
    const { vpc, subnet, sg } = await network();
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway?.InternetGatewayId as string;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
    await ec2.send(new ModifySubnetAttributeCommand({ SubnetId: subnet, MapPublicIpOnLaunch: { Value: true } }));
    const instance = (await launch(image, subnet, sg)).Instances?.[0];
    expect(instance?.PublicIpAddress).toMatch(/^(198\.51\.100|203\.0\.113)\./);

    expect(await failure(ec2.send(new DeleteVpcCommand({ VpcId: vpc })))).toMatchObject({ name: 'DependencyViolation' });
    expect(await failure(ec2.send(new DeleteSubnetCommand({ SubnetId: subnet })))).toMatchObject({ name: 'DependencyViolation' });
    expect(await failure(ec2.send(new DeleteSecurityGroupCommand({ GroupId: sg })))).toMatchObject({ name: 'DependencyViolation' });
    expect(await failure(ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc })))).toMatchObject({ name: 'DependencyViolation' });
    const defaultSg = (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc] }, { Name: 'group-name', Values: ['default'] }] }))).SecurityGroups?.[0];
    expect(await failure(ec2.send(new DeleteSecurityGroupCommand({ GroupId: defaultSg?.GroupId })))).toMatchObject({ name: 'CannotDelete' });

    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instance?.InstanceId as string] }));
    await new Promise((r) => setTimeout(r, 20));
    await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: sg }));
    await ec2.send(new DeleteSubnetCommand({ SubnetId: subnet }));
    await ec2.send(new DeleteVpcCommand({ VpcId: vpc }));
  });

  it('routes: default route to an attached gateway, one explicit association per subnet, blackhole once detached', async () => {
    const { vpc, subnet } = await network();
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway?.InternetGatewayId as string;
    const rt = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpc }))).RouteTable?.RouteTableId as string;
    expect(await failure(ec2.send(new CreateRouteCommand({ RouteTableId: rt, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw })))).toMatchObject({ name: 'InvalidParameterValue' });
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
    await ec2.send(new CreateRouteCommand({ RouteTableId: rt, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }));
    expect(await failure(ec2.send(new CreateRouteCommand({ RouteTableId: rt, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw })))).toMatchObject({ name: 'RouteAlreadyExists' });
    await ec2.send(new AssociateRouteTableCommand({ RouteTableId: rt, SubnetId: subnet }));
    expect(await failure(ec2.send(new AssociateRouteTableCommand({ RouteTableId: rt, SubnetId: subnet })))).toMatchObject({ name: 'Resource.AlreadyAssociated' });
    await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
    const table = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [rt] }))).RouteTables?.[0];
    expect(table?.Routes?.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')?.State).toBe('blackhole');
    expect(table?.Associations?.map((a) => a.SubnetId)).toEqual([subnet]);
  });
});

describe('EC2 sandbox: security groups', () => {
  it('validates rules and refuses duplicates, like EC2', async () => {
    const { vpc, sg } = await network();
    const perm = { IpProtocol: 'tcp', FromPort: 6443, ToPort: 6443, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'k8s API server' }] };
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [perm] }));
    expect(await failure(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [perm] })))).toMatchObject({ name: 'InvalidPermission.Duplicate' });
    expect(await failure(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [{ IpProtocol: 'tcp', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] })))).toMatchObject({
      name: 'InvalidParameterValue',
    });
    expect(await failure(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [{ ...perm, IpRanges: [{ CidrIp: '0.0.0.0/33' }] }] })))).toMatchObject({
      name: 'InvalidParameterValue',
    });
    expect(await failure(ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [{ ...perm, FromPort: 1, IpRanges: [{ CidrIp: '1.2.3.4/32', Description: 'naïve' }] }] })))).toMatchObject({
      name: 'InvalidParameterValue',
    });
    expect(await failure(ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [{ ...perm, FromPort: 1, ToPort: 2 }] })))).toMatchObject({
      name: 'InvalidPermission.NotFound',
    });
    expect(await failure(ec2.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: `g-${vpc}`, Description: 'again' })))).toMatchObject({ name: 'InvalidGroup.Duplicate' });
    // without VpcId: the default VPC's, as on EC2 (VPCIdNotSpecified once it is deleted)
    const inDefault = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'x', Description: 'no vpc' }))).GroupId as string;
    const defaultVpc = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }))).Vpcs?.[0].VpcId;
    expect((await ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['x'] }))).SecurityGroups?.map((g) => [g.GroupId, g.VpcId])).toEqual([[inDefault, defaultVpc]]);
    await ec2.send(new DeleteSecurityGroupCommand({ GroupName: 'x' }));
    expect(await failure(ec2.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: 'sg-1', Description: 'x' })))).toMatchObject({ name: 'InvalidParameterValue' });

    const group = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [sg] }))).SecurityGroups?.[0];
    expect(group?.IpPermissions).toEqual([
      { IpProtocol: 'tcp', FromPort: 6443, ToPort: 6443, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'k8s API server' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] },
    ]);
    expect(group?.IpPermissionsEgress?.[0]).toMatchObject({ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] });
    await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [perm] }));
    expect((await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [sg] }))).SecurityGroups?.[0].IpPermissions).toEqual([]);
  });
});

describe('EC2 sandbox: instances', () => {
  it('validates RunInstances like EC2', async () => {
    const image = await ubuntuImage();
    const { subnet, sg } = await network();
    expect(await failure(launch('ami-0123456789abcdef0', subnet, sg))).toMatchObject({ name: 'InvalidAMIID.NotFound' });
    expect(await failure(launch('ami-xyz', subnet, sg))).toMatchObject({ name: 'InvalidAMIID.Malformed' });
    expect(await failure(launch(image, subnet, sg, { InstanceType: 't4g.medium' }))).toMatchObject({ name: 'InvalidParameterValue' });
    expect(await failure(launch(image, subnet, sg, { InstanceType: 'z9.huge' as never }))).toMatchObject({ name: 'InvalidParameterValue' });
    expect(await failure(launch(image, subnet, sg, { UserData: 'not base64!' }))).toMatchObject({ name: 'InvalidParameterValue' });
    expect(await failure(launch(image, 'subnet-0123456789abcdef0', sg))).toMatchObject({ name: 'InvalidSubnetID.NotFound' });
    expect(await failure(launch(image, subnet, 'sg-0123456789abcdef0'))).toMatchObject({ name: 'InvalidGroup.NotFound' });
    expect(await failure(launch(image, subnet, sg, { KeyName: 'mine' }))).toMatchObject({ name: 'InvalidKeyPair.NotFound' });
    expect(await failure(launch(image, subnet, sg, { BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 4 } }] }))).toMatchObject({ name: 'InvalidBlockDeviceMapping' });
    expect(await failure(launch(image, subnet, sg, { BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeType: 'gp2', Iops: 3000 } }] }))).toMatchObject({ name: 'InvalidParameterCombination' });
    expect(await failure(launch(image, subnet, sg, { BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeType: 'st1' } }] }))).toMatchObject({ name: 'InvalidBlockDeviceMapping' });
    expect(await failure(launch(image, subnet, sg, { BlockDeviceMappings: [{ DeviceName: 'sdz!', Ebs: { VolumeSize: 10 } }] }))).toMatchObject({ name: 'InvalidBlockDeviceMapping' });
  });

  it('honours ClientToken: same reservation for the same request, IdempotentParameterMismatch for another', async () => {
    const image = await ubuntuImage();
    const { subnet, sg } = await network();
    const a = await launch(image, subnet, sg, { ClientToken: 'node-1' });
    const b = await launch(image, subnet, sg, { ClientToken: 'node-1' });
    expect(b.ReservationId).toBe(a.ReservationId);
    expect(b.Instances?.map((i) => i.InstanceId)).toEqual(a.Instances?.map((i) => i.InstanceId));
    expect(await failure(launch(image, subnet, sg, { ClientToken: 'node-1', InstanceType: 't3.large' }))).toMatchObject({ name: 'IdempotentParameterMismatch' });
  });

  it('boots with the user data, terminates, releases the address, and keeps the terminated instance visible', async () => {
    const image = await ubuntuImage();
    const { subnet, sg } = await network();
    const userData = '#cloud-config\nwrite_files: []\n';
    const inst = (await launch(image, subnet, sg, { UserData: Buffer.from(userData).toString('base64') })).Instances?.[0];
    const id = inst?.InstanceId as string;
    expect(inst?.State).toEqual({ Code: 0, Name: 'pending' });
    expect(inst?.PrivateIpAddress).toBe('10.10.0.4');
    expect(inst?.PublicIpAddress).toBeUndefined();
    const state = async () => (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0].Instances?.[0].State?.Name;
    await new Promise((r) => setTimeout(r, 120));
    expect(await state()).toBe('running');
    expect(readFileSync(path.join(emu.vms.fsRoot(id), 'var/lib/cloud/instance/user-data.txt'), 'utf8')).toBe(userData);

    const term = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(term.TerminatingInstances?.[0]).toMatchObject({ CurrentState: { Code: 32, Name: 'shutting-down' }, PreviousState: { Code: 16, Name: 'running' } });
    await new Promise((r) => setTimeout(r, 20));
    expect(await state()).toBe('terminated');
    expect(emu.modules.aws.inventory().filter((i) => i.kind === 'instance')).toEqual([]);
    const next = (await launch(image, subnet, sg)).Instances?.[0];
    expect(next?.PrivateIpAddress).toBe('10.10.0.4');
    expect((await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnet] }))).Subnets?.[0].AvailableIpAddressCount).toBe(250);
    expect(await failure(ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })))).toMatchObject({ name: 'InvalidInstanceID.NotFound' });
  });

  it('paginates DescribeInstances and refuses MaxResults with InstanceIds', async () => {
    const image = await ubuntuImage();
    const { subnet, sg } = await network();
    const run = await launch(image, subnet, sg, { MinCount: 7, MaxCount: 7 });
    const first = await ec2.send(new DescribeInstancesCommand({ MaxResults: 5 }));
    const count = (o: typeof first) => (o.Reservations ?? []).flatMap((r) => r.Instances ?? []).length;
    expect(count(first)).toBe(5);
    const second = await ec2.send(new DescribeInstancesCommand({ MaxResults: 5, NextToken: first.NextToken }));
    expect(count(second)).toBe(2);
    expect(second.NextToken).toBeUndefined();
    expect(await failure(ec2.send(new DescribeInstancesCommand({ MaxResults: 5, NextToken: 'bogus' })))).toMatchObject({ name: 'InvalidPaginationToken' });
    expect(await failure(ec2.send(new DescribeInstancesCommand({ MaxResults: 3 })))).toMatchObject({ name: 'InvalidParameterValue' });
    const ids = (run.Instances ?? []).map((i) => i.InstanceId as string);
    expect(await failure(ec2.send(new DescribeInstancesCommand({ MaxResults: 5, InstanceIds: ids })))).toMatchObject({ name: 'InvalidParameterCombination' });
  });

  it('lists tags with DescribeTags filters', async () => {
    await ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'skyweave-cluster', Value: 'c1' }, { Key: 'Name', Value: 'n' }] }] }));
    const out = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'key', Values: ['skyweave-cluster'] }, { Name: 'value', Values: ['c1'] }] }));
    expect(out.Tags).toEqual([expect.objectContaining({ Key: 'skyweave-cluster', Value: 'c1', ResourceType: 'vpc' })]);
    expect(await failure(ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'tag-key', Values: ['x'] }] })))).toMatchObject({ name: 'InvalidParameterValue' });
  });
});

describe('EC2 sandbox: injected faults', () => {
  it('answers each fault kind in EC2 shape', async () => {
    emu.faults.arm({ cloud: 'aws', op: 'read', kind: 'throttle', count: 1 });
    expect(await failure(ec2.send(new DescribeVpcsCommand({})))).toMatchObject({ name: 'RequestLimitExceeded', status: 503 });
    emu.faults.arm({ cloud: 'aws', op: 'read', kind: 'server-error', count: 1 });
    expect(await failure(ec2.send(new DescribeVpcsCommand({})))).toMatchObject({ name: 'InternalError', status: 500 });
    emu.faults.arm({ cloud: 'aws', op: 'network.create', kind: 'quota', count: 1 });
    expect(await failure(ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' })))).toMatchObject({ name: 'VpcLimitExceeded', status: 400 });
    emu.faults.arm({ cloud: 'aws', op: 'instance.create', kind: 'capacity', count: 1 });
    expect(await failure(ec2.send(new RunInstancesCommand({ ImageId: 'ami-0123456789abcdef0', InstanceType: 't3.medium', MinCount: 1, MaxCount: 1 })))).toMatchObject({
      name: 'InsufficientInstanceCapacity',
      status: 400,
    });
    expect(emu.modules.aws.inventory()).toEqual([]);
  });
});
