import {
  CreateDefaultVpcCommand,
  CreateKeyPairCommand,
  DeleteInternetGatewayCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DetachInternetGatewayCommand,
  DeleteKeyPairCommand,
  DeleteVolumeCommand,
  DescribeAccountAttributesCommand,
  DescribeAddressesCommand,
  DescribeImagesCommand,
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
  DescribeVolumesCommand,
  DescribeVpcsCommand,
  EC2Client,
  GetConsoleOutputCommand,
  ImportKeyPairCommand,
  paginateDescribeInstanceTypes,
  RunInstancesCommand,
  TerminateInstancesCommand,
  waitUntilInstanceStatusOk,
} from '@aws-sdk/client-ec2';
import { generateKeyPairSync } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import type { AwsCredentials } from '@skyweave/cloud-adapters';
import { UNIMPLEMENTED_HEADER } from '../src/core/unimplemented';
import { startEmulator, RunningEmulator } from '../src/emulator';
import { sdkFailure as failure } from './harness';

/**
 * The EC2 calls issue 15 asks the sandbox to serve (catalogues, the default VPC, ENIs and volumes, key pairs, status
 * and console, account-wide lists), and its answer to a real EC2 action it does not serve (501, not InvalidAction).
 */

let emu: RunningEmulator;
let creds: AwsCredentials;
let ec2: EC2Client;

beforeEach(async () => {
  emu = await startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, latency: { 'instance.boot': 30, 'instance.delete': 30 }, allowUnimplemented: ['aws AllocateAddress'] });
  const c = emu.modules.aws.createAccount();
  if (c.cloud !== 'aws') throw new Error('expected aws credentials');
  creds = c.aws;
  ec2 = new EC2Client({ endpoint: emu.endpoints.aws, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
});
afterEach(async () => {
  ec2.destroy();
  await emu.close();
});

async function raw(params: Record<string, string>): Promise<{ status: number; body: string; headers: Headers }> {
  const url = new URL(emu.endpoints.aws as string);
  const body = new URLSearchParams({ Version: '2016-11-15', ...params }).toString();
  const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 'ec2', sha256: Hash.bind(null, 'sha256') });
  const signed = await signer.sign(new HttpRequest({ method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/', headers: { 'content-type': 'application/x-www-form-urlencoded', host: url.host }, body }));
  const res = await fetch(emu.endpoints.aws as string, { method: 'POST', headers: signed.headers as Record<string, string>, body });
  return { status: res.status, body: await res.text(), headers: res.headers };
}


async function image(): Promise<string> {
  const out = await ec2.send(new DescribeImagesCommand({ Owners: ['099720109477'], Filters: [{ Name: 'name', Values: ['ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*'] }] }));
  return (out.Images ?? []).sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0].ImageId as string;
}

async function running(id: string): Promise<void> {
  await waitUntilInstanceStatusOk({ client: ec2, maxWaitTime: 10, minDelay: 1, maxDelay: 1 }, { InstanceIds: [id] });
}

describe('EC2 sandbox: calls it does not serve', () => {
  it('answers a real EC2 action it lacks with 501 in its own shape, counted under the action; a bogus one with InvalidAction', async () => {
    const missing = await raw({ Action: 'AllocateAddress', Domain: 'vpc' });
    expect(missing.status).toBe(501);
    expect(missing.headers.get(UNIMPLEMENTED_HEADER)).toBe('AllocateAddress');
    expect(JSON.parse(missing.body)).toMatchObject({ error: 'NotImplementedBySandbox', cloud: 'aws', operation: 'AllocateAddress' });
    const bogus = await raw({ Action: 'LaunchRockets' });
    expect([bogus.status, /<Code>([^<]+)<\/Code>/.exec(bogus.body)?.[1]]).toEqual([400, 'InvalidAction']);
    const snap = emu.calls.snapshot('aws');
    expect(snap.calls).toEqual(expect.arrayContaining([{ cloud: 'aws', call: 'AllocateAddress', count: 1 }, { cloud: 'aws', call: '(unknown)', count: 1 }]));
    expect(snap.unimplemented).toEqual([{ cloud: 'aws', call: 'AllocateAddress', count: 1 }]);
  });
});

describe('EC2 sandbox: a fresh account', () => {
  it('has a default VPC per region as EC2 makes it, which inventory() does not report', async () => {
    const vpcs = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs ?? [];
    expect(vpcs).toEqual([expect.objectContaining({ CidrBlock: '172.31.0.0/16', IsDefault: true })]);
    const vpcId = vpcs[0].VpcId as string;
    const subnets = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }))).Subnets ?? [];
    expect(subnets.map((s) => [s.AvailabilityZone, s.CidrBlock, s.MapPublicIpOnLaunch]).sort()).toEqual(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((l, i) => [`us-east-1${l}`, `172.31.${i * 16}.0/20`, true]).sort(),
    );
    const igw = (await ec2.send(new DescribeInternetGatewaysCommand({ Filters: [{ Name: 'attachment.vpc-id', Values: [vpcId] }] }))).InternetGateways ?? [];
    expect(igw).toHaveLength(1);
    const main = (await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'association.main', Values: ['true'] }] }))).RouteTables ?? [];
    expect(main[0].Routes?.map((r) => [r.DestinationCidrBlock, r.GatewayId])).toEqual([['172.31.0.0/16', 'local'], ['0.0.0.0/0', igw[0].InternetGatewayId]]);
    expect((await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups?.map((g) => [g.GroupName, g.VpcId])).toEqual([['default', vpcId]]);
    const attrs = (await ec2.send(new DescribeAccountAttributesCommand({ AttributeNames: ['default-vpc'] }))).AccountAttributes;
    expect(attrs).toEqual([{ AttributeName: 'default-vpc', AttributeValues: [{ AttributeValue: vpcId }] }]);
    expect((await ec2.send(new DescribeAddressesCommand({}))).Addresses).toEqual([]);
    expect(emu.modules.aws.inventory()).toEqual([]);
  });

  it('lets the default VPC be deleted (then RunInstances needs a subnet) and made again with CreateDefaultVpc', async () => {
    const vpcId = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs?.[0].VpcId as string;
    expect(await failure(ec2.send(new DeleteVpcCommand({ VpcId: vpcId })))).toMatchObject({ name: 'DependencyViolation' });
    for (const s of (await ec2.send(new DescribeSubnetsCommand({}))).Subnets ?? []) await ec2.send(new DeleteSubnetCommand({ SubnetId: s.SubnetId }));
    for (const g of (await ec2.send(new DescribeInternetGatewaysCommand({}))).InternetGateways ?? []) {
      await ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: g.InternetGatewayId, VpcId: vpcId }));
      await ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: g.InternetGatewayId }));
    }
    await ec2.send(new DeleteVpcCommand({ VpcId: vpcId }));
    expect((await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups).toEqual([]);
    expect(await failure(ec2.send(new RunInstancesCommand({ ImageId: await image(), MinCount: 1, MaxCount: 1 })))).toMatchObject({ name: 'VPCIdNotSpecified' });
    const again = await ec2.send(new CreateDefaultVpcCommand({}));
    expect(again.Vpc).toMatchObject({ CidrBlock: '172.31.0.0/16', IsDefault: true });
    expect(await failure(ec2.send(new CreateDefaultVpcCommand({})))).toMatchObject({ name: 'DefaultVpcAlreadyExists' });
    expect(emu.modules.aws.inventory()).toEqual([]);
  });

  it('lists the 17 default-enabled regions, the opt-in ones with AllRegions, and >= 50 instance types', async () => {
    const regions = (await ec2.send(new DescribeRegionsCommand({}))).Regions ?? [];
    expect(regions).toHaveLength(17);
    const all = (await ec2.send(new DescribeRegionsCommand({ AllRegions: true }))).Regions ?? [];
    expect(all.filter((r) => r.OptInStatus === 'not-opted-in').length).toBeGreaterThan(10);
    const types = [];
    for await (const page of paginateDescribeInstanceTypes({ client: ec2, pageSize: 20 }, {})) types.push(...(page.InstanceTypes ?? []));
    expect(types.length).toBeGreaterThanOrEqual(50);
    const arm = (await ec2.send(new DescribeInstanceTypesCommand({ Filters: [{ Name: 'processor-info.supported-architecture', Values: ['arm64'] }] }))).InstanceTypes ?? [];
    expect(arm.every((t) => t.ProcessorInfo?.SupportedArchitectures?.[0] === 'arm64')).toBe(true);
    const one = (await ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['m5.large'] }))).InstanceTypes?.[0];
    expect(one).toMatchObject({ InstanceType: 'm5.large', VCpuInfo: { DefaultVCpus: 2 }, MemoryInfo: { SizeInMiB: 8192 } });
    expect(await failure(ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['z9.huge' as never] })))).toMatchObject({ name: 'InvalidInstanceType', status: 400 });
  });
});

describe('EC2 sandbox: what an instance brings along', () => {
  it('launches into the default VPC, with its ENI and root volume, status, console and key pair', async () => {
    const ami = await image();
    expect(await failure(ec2.send(new RunInstancesCommand({ ImageId: ami, MinCount: 1, MaxCount: 1, KeyName: 'nope' })))).toMatchObject({ name: 'InvalidKeyPair.NotFound' });
    const { publicKey } = generateKeyPairSync('ed25519');
    const jwk = publicKey.export({ format: 'jwk' });
    const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.from(jwk.x as string, 'base64url')]);
    const imported = await ec2.send(new ImportKeyPairCommand({ KeyName: 'me', PublicKeyMaterial: Buffer.from(`ssh-ed25519 ${blob.toString('base64')} me@host`) }));
    expect(imported.KeyPairId).toMatch(/^key-[0-9a-f]{17}$/);
    expect(await failure(ec2.send(new ImportKeyPairCommand({ KeyName: 'me', PublicKeyMaterial: Buffer.from(`ssh-ed25519 ${blob.toString('base64')}`) })))).toMatchObject({ name: 'InvalidKeyPair.Duplicate' });
    expect(await failure(ec2.send(new ImportKeyPairCommand({ KeyName: 'bad', PublicKeyMaterial: Buffer.from('not a key') })))).toMatchObject({ name: 'InvalidKey.Format' });
    const created = await ec2.send(new CreateKeyPairCommand({ KeyName: 'rsa-one' }));
    expect(created.KeyMaterial).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(created.KeyFingerprint).toMatch(/^([0-9a-f]{2}:){19}[0-9a-f]{2}$/);
    const keys = (await ec2.send(new DescribeKeyPairsCommand({ IncludePublicKey: true }))).KeyPairs ?? [];
    expect(keys.map((k) => [k.KeyName, k.KeyType]).sort()).toEqual([['me', 'ed25519'], ['rsa-one', 'rsa']]);

    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.small', KeyName: 'me',
        UserData: Buffer.from('#cloud-config\nruncmd:\n  - [echo, hello]\n').toString('base64'),
        BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 20, VolumeType: 'gp3' } }, { DeviceName: '/dev/sdf', Ebs: { VolumeSize: 10, DeleteOnTermination: false } }],
        TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'team', Value: 'x' }] }],
      }),
    );
    const inst = run.Instances?.[0];
    const id = inst?.InstanceId as string;
    expect(inst?.KeyName).toBe('me');
    expect(inst?.PublicIpAddress).toBeDefined();
    await running(id);
    const status = (await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] }))).InstanceStatuses?.[0];
    expect(status).toMatchObject({ InstanceId: id, InstanceState: { Name: 'running' }, InstanceStatus: { Status: 'ok' }, SystemStatus: { Status: 'ok' } });

    const enis = (await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [id] }] }))).NetworkInterfaces ?? [];
    expect(enis.map((n) => n.NetworkInterfaceId)).toEqual([inst?.NetworkInterfaces?.[0].NetworkInterfaceId]);
    const vols = (await ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [id] }] }))).Volumes ?? [];
    expect(vols.map((v) => [v.Attachments?.[0].Device, v.Size, v.VolumeType, v.State]).sort()).toEqual([['/dev/sda1', 20, 'gp3', 'in-use'], ['/dev/sdf', 10, 'gp2', 'in-use']]);
    expect(vols.every((v) => v.Tags?.[0]?.Value === 'x')).toBe(true);

    const console = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }));
    const text = Buffer.from(console.Output as string, 'base64').toString();
    expect(text).toContain(`instance ${id} (t3.small`);
    // what the VM runtime did with the user data, as cloud-init lines
    expect(text).toMatch(/cloud-init\[1\]: runcmd: echo hello/);

    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    for (let n = 0; n < 100 && ((await ec2.send(new DescribeNetworkInterfacesCommand({}))).NetworkInterfaces ?? []).length; n++) await new Promise((r) => setTimeout(r, 20));
    expect((await ec2.send(new DescribeNetworkInterfacesCommand({}))).NetworkInterfaces).toEqual([]);
    const left = (await ec2.send(new DescribeVolumesCommand({}))).Volumes ?? [];
    expect(left.map((v) => [v.Size, v.State])).toEqual([[10, 'available']]);
    expect(emu.modules.aws.inventory().map((i) => i.kind).sort()).toEqual(['key-pair', 'key-pair', 'volume']);
    await ec2.send(new DeleteVolumeCommand({ VolumeId: left[0].VolumeId }));
    await ec2.send(new DeleteKeyPairCommand({ KeyName: 'me' }));
    await ec2.send(new DeleteKeyPairCommand({ KeyPairId: created.KeyPairId }));
    expect(emu.modules.aws.inventory()).toEqual([]);
  });

  it('lists every security group rule with its id', async () => {
    const rules = (await ec2.send(new DescribeSecurityGroupRulesCommand({}))).SecurityGroupRules ?? [];
    expect(rules.map((r) => [r.IsEgress, r.IpProtocol]).sort()).toEqual([[false, '-1'], [true, '-1']]);
    expect(rules.every((r) => /^sgr-[0-9a-f]{17}$/.test(r.SecurityGroupRuleId ?? ''))).toBe(true);
    expect(await failure(ec2.send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: ['sgr-0123456789abcdef0'] })))).toMatchObject({ name: 'InvalidSecurityGroupRuleId.NotFound' });
  });
});
