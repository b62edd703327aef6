import { randomBytes } from 'node:crypto';
import type { ActionContext, ActionDef } from './context';
import { intToIp, ipToInt, KINDS, lookupAll, parseCidr, stamp, visibleMap } from './context';
import { INSTANCE_TYPES } from './catalog';
import { clientError, invalidParameterCombination, invalidParameterValue, missingParameter } from './errors';
import { compileFilters, FilterFields, readFilters } from './filters';
import { paginate } from './paging';
import type { Params } from './params';
import { Account, Instance, InstanceStateName, newId, RegionState, STATE_CODES, Subnet } from './state';
import { defaultVpcOf } from './default-vpc';
import { consoleLine } from './instance-status';
import { privateDnsName } from './network-interfaces';
import { readTagSpecifications, renderTags } from './tags';
import { createVolumes, readBlockDeviceMappings, releaseVolumes } from './volumes';
import type { XmlValue } from './xml';

/**
 * Instances (EC2 API: RunInstances, DescribeInstances, TerminateInstances). Lifecycle as on EC2:
 * `pending` → `running` after the boot latency (then the VM runtime boots it with its user data);
 * TerminateInstances → `shutting-down` → `terminated` after the delete latency, when its addresses are released.
 * Terminated instances stay visible to DescribeInstances for an hour, as on EC2. `ClientToken` makes RunInstances
 * idempotent: the same token returns the same reservation; the same token with other arguments is
 * `IdempotentParameterMismatch`. Each instance gets its primary network interface (network-interfaces.ts) and its EBS
 * volumes from `BlockDeviceMapping` (volumes.ts), deleted with it unless `DeleteOnTermination=false`; `KeyName` must
 * name a key pair of the region (keys.ts); without a subnet it launches into the default VPC (default-vpc.ts). Its
 * console (GetConsoleOutput) is written as it boots and stops (instance-status.ts).
 */

/** How long terminated instances stay visible (EC2: "about an hour"). */
const TERMINATED_VISIBLE_MS = 60 * 60 * 1000;
/** Raw user data limit (EC2: 16 KB before base64). */
const USER_DATA_MAX = 16384;

const isBase64 = (s: string): boolean => s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);


/** Subnet addresses usable for instances: all but the network address, the first three and the broadcast (AWS reserves 5). */
function allocatePrivateIp(s: Subnet, wanted?: string): string | undefined {
  const c = parseCidr(s.cidr);
  if (!c) return undefined;
  const first = c.base + 4;
  const last = c.base + 2 ** (32 - c.len) - 2;
  if (wanted !== undefined) {
    s.usedIps.add(wanted);
    return wanted;
  }
  for (let n = first; n <= last; n++) {
    const ip = intToIp(n);
    if (!s.usedIps.has(ip)) {
      s.usedIps.add(ip);
      return ip;
    }
  }
  return undefined;
}

function checkRequestedIp(s: Subnet, ip: string): void {
  const c = parseCidr(s.cidr);
  if (!c || !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) throw invalidParameterValue(`Invalid value '${ip}' for privateIpAddress`);
  const n = ipToInt(ip);
  const size = 2 ** (32 - c.len);
  if (n < c.base || n >= c.base + size) throw invalidParameterValue(`Address ${ip} does not fall within the subnet's address range`);
  if (n < c.base + 4 || n === c.base + size - 1) throw invalidParameterValue(`Address ${ip} is in subnet's reserved address range`);
  if (s.usedIps.has(ip)) throw clientError('InvalidIPAddress.InUse', `Address ${ip} is in use.`);
}

// ---------------------------------------------------------------- rendering

export function renderInstance(account: Account, rs: RegionState, i: Instance): XmlValue {
  const gone = i.state === 'terminated';
  const groups = i.securityGroupIds.map((id) => ({ groupId: id, groupName: rs.securityGroups.get(id)?.name ?? id }));
  const type = INSTANCE_TYPES.get(i.instanceType);
  return {
    instanceId: i.id,
    imageId: i.imageId,
    instanceState: { code: STATE_CODES[i.state], name: i.state },
    privateDnsName: gone ? '' : privateDnsName(rs.region, i.privateIp),
    dnsName: '',
    reason: i.stateTransitionReason,
    keyName: i.keyName,
    amiLaunchIndex: i.amiLaunchIndex,
    productCodes: [],
    instanceType: i.instanceType,
    launchTime: i.launchTime,
    placement: { availabilityZoneId: i.zoneId, availabilityZone: i.zone, groupName: '', tenancy: 'default' },
    monitoring: { state: 'disabled' },
    subnetId: gone ? undefined : i.subnetId,
    vpcId: gone ? undefined : i.vpcId,
    privateIpAddress: gone ? undefined : i.privateIp,
    ipAddress: gone ? undefined : i.publicIp,
    sourceDestCheck: gone ? undefined : true,
    groupSet: gone ? [] : groups,
    stateReason: i.stateReason,
    architecture: i.architecture,
    rootDeviceType: 'ebs',
    rootDeviceName: i.rootDeviceName,
    blockDeviceMapping: gone
      ? []
      : i.blockDevices.map((d) => {
          const v = rs.volumes.get(d.volumeId);
          return { deviceName: d.deviceName, ebs: { volumeId: d.volumeId, status: v?.attachment?.state ?? 'attached', attachTime: i.launchTime, deleteOnTermination: v?.attachment?.deleteOnTermination ?? true } };
        }),
    virtualizationType: 'hvm',
    clientToken: i.clientToken ?? '',
    tagSet: renderTags(i.tags),
    hypervisor: 'xen',
    networkInterfaceSet: gone
      ? []
      : [
          {
            networkInterfaceId: i.networkInterfaceId,
            subnetId: i.subnetId,
            vpcId: i.vpcId,
            description: '',
            ownerId: account.id,
            status: 'in-use',
            macAddress: i.macAddress,
            privateIpAddress: i.privateIp,
            privateDnsName: privateDnsName(rs.region, i.privateIp),
            sourceDestCheck: true,
            groupSet: groups,
            attachment: { attachmentId: i.networkAttachmentId, deviceIndex: 0, status: 'attached', attachTime: i.launchTime, deleteOnTermination: true, networkCardIndex: 0 },
            association: i.publicIp ? { publicIp: i.publicIp, publicDnsName: '', ipOwnerId: 'amazon' } : undefined,
            privateIpAddressesSet: [
              {
                privateIpAddress: i.privateIp,
                privateDnsName: privateDnsName(rs.region, i.privateIp),
                primary: true,
                association: i.publicIp ? { publicIp: i.publicIp, publicDnsName: '', ipOwnerId: 'amazon' } : undefined,
              },
            ],
            ipv6AddressesSet: [],
            interfaceType: 'interface',
          },
        ],
    ebsOptimized: false,
    enaSupport: true,
    cpuOptions: type ? { coreCount: Math.max(1, type.vcpu / 2), threadsPerCore: type.vcpu > 1 ? 2 : 1 } : undefined,
    capacityReservationSpecification: { capacityReservationPreference: 'open' },
    hibernationOptions: { configured: false },
    metadataOptions: { state: 'applied', ...i.metadataOptions, httpProtocolIpv6: 'disabled' },
    enclaveOptions: { enabled: false },
    platformDetails: 'Linux/UNIX',
    usageOperation: 'RunInstances',
    usageOperationUpdateTime: i.launchTime,
    privateDnsNameOptions: { hostnameType: 'ip-name', enableResourceNameDnsARecord: false, enableResourceNameDnsAAAARecord: false },
    maintenanceOptions: { autoRecovery: 'default' },
    currentInstanceBootMode: 'legacy-bios',
  };
}

function renderReservation(c: ActionContext, reservationId: string, instances: Instance[]): XmlValue {
  return {
    reservationId,
    ownerId: c.account.id,
    groupSet: [],
    instancesSet: instances.map((i) => renderInstance(c.account, c.rs, i)),
  };
}

function instanceFilters(account: Account): FilterFields<Instance> {
  return {
    'instance-id': (i) => [i.id],
    'instance-state-name': (i) => [i.state],
    'instance-state-code': (i) => [STATE_CODES[i.state]],
    'instance-type': (i) => [i.instanceType],
    'image-id': (i) => [i.imageId],
    architecture: (i) => [i.architecture],
    'availability-zone': (i) => [i.zone],
    'client-token': (i) => [i.clientToken],
    'reservation-id': (i) => [i.reservationId],
    'owner-id': () => [account.id],
    'key-name': (i) => [i.keyName],
    'launch-time': (i) => [i.launchTime],
    'root-device-type': () => ['ebs'],
    'vpc-id': (i) => [i.state === 'terminated' ? undefined : i.vpcId],
    'subnet-id': (i) => [i.state === 'terminated' ? undefined : i.subnetId],
    'private-ip-address': (i) => [i.state === 'terminated' ? undefined : i.privateIp],
    'ip-address': (i) => [i.state === 'terminated' ? undefined : i.publicIp],
    'instance.group-id': (i) => (i.state === 'terminated' ? [] : i.securityGroupIds),
    'network-interface.subnet-id': (i) => [i.state === 'terminated' ? undefined : i.subnetId],
    'network-interface.vpc-id': (i) => [i.state === 'terminated' ? undefined : i.vpcId],
    'metadata-options.http-tokens': (i) => [i.metadataOptions.httpTokens],
    'network-interface.network-interface-id': (i) => [i.state === 'terminated' ? undefined : i.networkInterfaceId],
    'block-device-mapping.volume-id': (i) => (i.state === 'terminated' ? [] : i.blockDevices.map((d) => d.volumeId)),
    'block-device-mapping.device-name': (i) => (i.state === 'terminated' ? [] : i.blockDevices.map((d) => d.deviceName)),
  };
}

/** Drops terminated instances older than the visibility window. */
function purgeTerminated(rs: RegionState, now = Date.now()): void {
  for (const i of rs.instances.values()) {
    if (i.state === 'terminated' && i.terminatedAt !== undefined && now - i.terminatedAt > TERMINATED_VISIBLE_MS) rs.instances.delete(i.id);
  }
  for (const r of rs.reservations.values()) {
    if (r.instanceIds.every((id) => !rs.instances.has(id))) rs.reservations.delete(r.id);
  }
}

// ---------------------------------------------------------------- RunInstances

interface NetworkChoice {
  subnet: Subnet;
  groupIds: string[];
  associatePublicIp?: boolean;
  privateIp?: string;
}

/**
 * The launch's subnet and groups. Without a subnet (no `SubnetId`, no network interface) EC2 launches into the
 * region's default VPC: the default subnet of `Placement.AvailabilityZone`, else of the first zone
 * (`VPCIdNotSpecified` once the default VPC is deleted).
 */
function readNetwork(c: ActionContext, placementZone?: string): NetworkChoice {
  const p = c.p;
  const nics = p.structList('NetworkInterface');
  let subnetId = p.str('SubnetId');
  let groupIds = p.strList('SecurityGroupId');
  let privateIp = p.str('PrivateIpAddress');
  let associatePublicIp: boolean | undefined;
  if (p.strList('SecurityGroup').length) {
    throw invalidParameterCombination('The parameter groupName cannot be used with the parameter subnet');
  }
  if (nics.length) {
    if (subnetId) throw invalidParameterCombination('Network interfaces and an instance-level subnet ID may not be specified on the same request');
    if (groupIds.length) throw invalidParameterCombination('Network interfaces and an instance-level security groups may not be specified on the same request');
    if (privateIp) throw invalidParameterCombination('Network interfaces and an instance-level private IP address may not be specified on the same request');
    if (nics.length > 1) throw invalidParameterValue('The sandbox supports a single network interface (device index 0) per instance');
    const nic = nics[0];
    nic.allowOnly(['DeviceIndex', 'SubnetId', 'SecurityGroupId', 'AssociatePublicIpAddress', 'PrivateIpAddress', 'DeleteOnTermination', 'Description']);
    const index = nic.int('DeviceIndex');
    if (index === undefined) throw missingParameter(`${nic.path}.DeviceIndex`);
    if (index !== 0) throw invalidParameterValue(`Each network interface requires a unique device index; the primary network interface must use device index 0`);
    if (nic.bool('DeleteOnTermination') === false) throw invalidParameterValue('The sandbox only supports network interfaces deleted on termination');
    subnetId = nic.str('SubnetId');
    groupIds = nic.strList('SecurityGroupId');
    associatePublicIp = nic.bool('AssociatePublicIpAddress');
    privateIp = nic.str('PrivateIpAddress');
  }
  if (!subnetId) {
    const vpc = defaultVpcOf(c.rs);
    const defaults = vpc ? [...c.rs.subnets.values()].filter((s) => s.vpcId === vpc.id && s.defaultForAz) : [];
    if (!defaults.length) throw clientError('VPCIdNotSpecified', 'No default VPC for this user');
    const chosen = placementZone !== undefined ? defaults.find((s) => s.zone === placementZone) : defaults[0];
    if (!chosen) throw clientError('InvalidParameterValue', `Invalid availability zone: [${placementZone}]`);
    subnetId = chosen.id;
  }
  const [subnet] = lookupAll(c.rs.subnets, [subnetId], KINDS.subnet);
  if (groupIds.length === 0) {
    const vpc = c.rs.vpcs.get(subnet.vpcId);
    groupIds = vpc ? [vpc.defaultSecurityGroupId] : [];
  }
  for (const id of groupIds) {
    const g = c.rs.securityGroups.get(id);
    if (!/^sg-[0-9a-f]+$/.test(id)) throw clientError('InvalidGroupId.Malformed', `Invalid id: "${id}"`);
    if (!g) throw clientError('InvalidGroup.NotFound', `The security group '${id}' does not exist in VPC '${subnet.vpcId}'`);
    if (g.vpcId !== subnet.vpcId) throw clientError('InvalidParameter', `Security group ${id} and subnet ${subnet.id} belong to different networks.`);
  }
  if (privateIp !== undefined) checkRequestedIp(subnet, privateIp);
  return { subnet, groupIds: [...new Set(groupIds)], associatePublicIp, privateIp };
}

function readMetadataOptions(p: Params, imageRequiresV2: boolean): Instance['metadataOptions'] {
  const m = p.struct('MetadataOptions');
  const out = { httpTokens: imageRequiresV2 ? 'required' : 'optional', httpEndpoint: 'enabled', httpPutResponseHopLimit: imageRequiresV2 ? 2 : 1, instanceMetadataTags: 'disabled' };
  if (!m) return out;
  m.allowOnly(['HttpTokens', 'HttpEndpoint', 'HttpPutResponseHopLimit', 'InstanceMetadataTags']);
  const oneOf = (name: string, allowed: string[]): string | undefined => {
    const v = m.str(name);
    if (v !== undefined && !allowed.includes(v)) throw invalidParameterValue(`Value (${v}) for parameter ${name} is invalid. Allowed values are: ${allowed.join(', ')}`);
    return v;
  };
  out.httpTokens = oneOf('HttpTokens', ['optional', 'required']) ?? out.httpTokens;
  out.httpEndpoint = oneOf('HttpEndpoint', ['enabled', 'disabled']) ?? out.httpEndpoint;
  out.instanceMetadataTags = oneOf('InstanceMetadataTags', ['enabled', 'disabled']) ?? out.instanceMetadataTags;
  const hops = m.int('HttpPutResponseHopLimit');
  if (hops !== undefined) {
    if (hops < 1 || hops > 64) throw invalidParameterValue(`Value (${hops}) for parameter HttpPutResponseHopLimit is invalid. Valid values are 1 through 64.`);
    out.httpPutResponseHopLimit = hops;
  }
  return out;
}

function runInstances(c: ActionContext) {
  const { p, rs } = c;
  const token = p.str('ClientToken');
  const fingerprint = p.fingerprint(['ClientToken', 'DryRun']);
  if (token !== undefined) {
    if (token.length > 64 || !/^[\x20-\x7e]+$/.test(token)) throw invalidParameterValue('The client token must be 64 or fewer printable ASCII characters.');
    const seen = rs.clientTokens.get(`RunInstances:${token}`);
    const reservation = seen && rs.reservations.get(seen.resourceId);
    if (seen && reservation) {
      if (seen.fingerprint !== fingerprint) {
        throw clientError('IdempotentParameterMismatch', 'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).');
      }
      const instances = reservation.instanceIds.map((id) => rs.instances.get(id)).filter((i): i is Instance => !!i);
      return renderReservation(c, reservation.id, instances) as Record<string, XmlValue>;
    }
  }

  const imageId = p.reqStr('ImageId');
  if (!/^ami-([0-9a-f]{8}|[0-9a-f]{17})$/.test(imageId)) throw clientError('InvalidAMIID.Malformed', `Invalid id: "${imageId}" (expecting "ami-...")`);
  const image = c.shared.images(rs.region).find((i) => i.imageId === imageId);
  if (!image) throw clientError('InvalidAMIID.NotFound', `The image id '[${imageId}]' does not exist`);

  const minCount = p.int('MinCount');
  const maxCount = p.int('MaxCount');
  if (minCount === undefined) throw missingParameter('MinCount');
  if (maxCount === undefined) throw missingParameter('MaxCount');
  if (minCount < 1) throw invalidParameterValue(`Value (${minCount}) for parameter minCount is invalid. Expected a value greater than 0.`);
  if (maxCount < minCount) throw invalidParameterValue(`Value (${maxCount}) for parameter maxCount is invalid. Expected a value greater than or equal to minCount (${minCount}).`);

  const instanceType = p.str('InstanceType') ?? 'm1.small';
  const type = INSTANCE_TYPES.get(instanceType);
  if (!type) throw invalidParameterValue(`Invalid value '${instanceType}' for InstanceType.`);
  if (type.architecture !== image.architecture) {
    throw invalidParameterValue(
      `The architecture '${type.architecture}' of the specified instance type does not match the architecture '${image.architecture}' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again.`,
    );
  }

  const net = readNetwork(c, p.struct('Placement')?.str('AvailabilityZone'));
  if (net.privateIp !== undefined && maxCount > 1) throw invalidParameterCombination('A private IP address can only be specified when launching a single instance');

  const placement = p.struct('Placement');
  if (placement) {
    placement.allowOnly(['AvailabilityZone', 'AvailabilityZoneId', 'Tenancy']);
    const az = placement.str('AvailabilityZone');
    if (az !== undefined && az !== net.subnet.zone) {
      throw invalidParameterValue(`The specified Availability Zone (${az}) does not match the Availability Zone of the subnet (${net.subnet.zone})`);
    }
    const azId = placement.str('AvailabilityZoneId');
    if (azId !== undefined && azId !== net.subnet.zoneId) {
      throw invalidParameterValue(`The specified Availability Zone ID (${azId}) does not match the Availability Zone of the subnet (${net.subnet.zoneId})`);
    }
    const tenancy = placement.str('Tenancy');
    if (tenancy !== undefined && tenancy !== 'default') throw invalidParameterValue(`The sandbox only offers 'default' tenancy, not '${tenancy}'`);
  }

  const keyName = p.str('KeyName');
  if (keyName !== undefined && !rs.keyPairs.has(keyName)) throw clientError('InvalidKeyPair.NotFound', `The key pair '${keyName}' does not exist`);
  const volumes = readBlockDeviceMappings(p, image);

  const userData = p.str('UserData');
  if (userData !== undefined) {
    if (!isBase64(userData)) throw invalidParameterValue('Invalid BASE64 encoding of user data.');
    if (Buffer.from(userData, 'base64').length > USER_DATA_MAX) throw invalidParameterValue(`User data is limited to ${USER_DATA_MAX} bytes`);
  }
  const metadataOptions = readMetadataOptions(p, image.imdsSupport === 'v2.0');
  const tagSpecs = readTagSpecifications(p, ['instance', 'volume', 'network-interface']);
  const tags = tagSpecs.get('instance') ?? new Map<string, string>();

  const free = net.privateIp !== undefined ? 1 : 2 ** (32 - Number(net.subnet.cidr.split('/')[1])) - 5 - net.subnet.usedIps.size;
  if (free < minCount) {
    throw clientError('InsufficientFreeAddressesInSubnet', `There are not enough free addresses in subnet '${net.subnet.id}' to satisfy the requested number of instances.`);
  }
  const count = Math.min(maxCount, free);
  const publicIp = net.associatePublicIp ?? net.subnet.mapPublicIpOnLaunch;

  const reservationId = newId('r');
  const launchTime = new Date().toISOString().replace(/\.\d{3}Z$/, '.000Z');
  const instances: Instance[] = [];
  for (let n = 0; n < count; n++) {
    const privateIp = allocatePrivateIp(net.subnet, net.privateIp) as string;
    const inst: Instance = {
      id: newId('i'),
      createdAtMs: stamp(c),
      reservationId,
      imageId,
      instanceType,
      architecture: type.architecture,
      state: 'pending',
      stateTransitionReason: '',
      subnetId: net.subnet.id,
      vpcId: net.subnet.vpcId,
      zone: net.subnet.zone,
      zoneId: net.subnet.zoneId,
      privateIp,
      publicIp: publicIp ? c.shared.publicIps.allocate() : undefined,
      securityGroupIds: net.groupIds,
      userData,
      keyName,
      clientToken: token,
      launchTime,
      amiLaunchIndex: n,
      rootDeviceName: image.rootDeviceName,
      networkInterfaceId: newId('eni'),
      networkAttachmentId: newId('eni-attach'),
      volumeId: '',
      blockDevices: [],
      eniTags: new Map(tagSpecs.get('network-interface') ?? []),
      console: [],
      macAddress: `0e:${randomBytes(5).toString('hex').match(/../g)?.join(':')}`,
      metadataOptions,
      tags: new Map(tags),
      timers: [],
    };
    createVolumes(c, inst, volumes, tagSpecs.get('volume') ?? new Map());
    rs.instances.set(inst.id, inst);
    instances.push(inst);
    scheduleBoot(c, inst, image.name);
  }
  rs.reservations.set(reservationId, { id: reservationId, ownerId: c.account.id, instanceIds: instances.map((i) => i.id) });
  if (token !== undefined) rs.clientTokens.set(`RunInstances:${token}`, { fingerprint, resourceId: reservationId });
  return renderReservation(c, reservationId, instances) as Record<string, XmlValue>;
}

/** Console lines of a boot: what the sandbox does for the instance, in cloud-init's words where it has them. */
function bootConsole(c: ActionContext, inst: Instance, imageName: string): void {
  const type = INSTANCE_TYPES.get(inst.instanceType);
  const userData = inst.userData ? Buffer.from(inst.userData, 'base64').toString('utf8') : '';
  const line = (t: string) => consoleLine(inst, t);
  line(`Skyweave sandbox EC2: instance ${inst.id} (${inst.instanceType}: ${type?.vcpu ?? '?'} vCPU, ${type?.memoryMiB ?? '?'} MiB, ${inst.architecture}) in ${inst.zone}`);
  line(`Booting image ${inst.imageId} (${imageName}); root device ${inst.rootDeviceName} on ${inst.volumeId}`);
  line(`ci-info: eth0 ${inst.macAddress} ${inst.privateIp}${inst.publicIp ? ` (public ${inst.publicIp})` : ''} in ${inst.subnetId}`);
  line(`Cloud-init v. sandbox running 'init' at ${new Date().toUTCString().replace('GMT', '+0000')}.`);
  line(userData ? `cloud-init: user-data: ${Buffer.byteLength(userData)} bytes, ${userData.startsWith('#cloud-config') ? '#cloud-config' : 'not #cloud-config (not run as config)'}; handed to the sandbox VM runtime (write_files, runcmd, systemctl)` : 'cloud-init: no user-data');
  if (inst.keyName) line(`ci-info: authorized key from key pair '${inst.keyName}' (${c.rs.keyPairs.get(inst.keyName)?.fingerprint ?? 'deleted since'})`);
  line(`Cloud-init v. sandbox finished at ${new Date().toUTCString().replace('GMT', '+0000')}. Datasource DataSourceEc2Local.`);
}

function scheduleBoot(c: ActionContext, inst: Instance, imageName: string): void {
  const { ctx } = c.shared;
  const t = setTimeout(() => {
    if (inst.state !== 'pending') return;
    inst.state = 'running';
    bootConsole(c, inst, imageName);
    ctx.vms.boot({
      cloud: 'aws',
      instanceId: inst.id,
      userData: inst.userData ? Buffer.from(inst.userData, 'base64').toString('utf8') : '',
      privateIp: inst.privateIp,
      publicIp: inst.publicIp,
      machine: {
        instanceType: inst.instanceType,
        vcpu: INSTANCE_TYPES.get(inst.instanceType)?.vcpu ?? 2,
        memoryMiB: INSTANCE_TYPES.get(inst.instanceType)?.memoryMiB ?? 4096,
        arch: inst.architecture === 'arm64' ? 'arm64' : 'amd64',
        providerID: `aws:///${inst.zone}/${inst.id}`,
      },
    });
  }, ctx.latencyMs('instance.boot'));
  t.unref?.();
  inst.timers.push(t);
}

function terminate(c: ActionContext, inst: Instance): void {
  const { ctx, publicIps } = c.shared;
  for (const t of inst.timers) clearTimeout(t);
  inst.timers = [];
  inst.state = 'shutting-down';
  const stamp = new Date().toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' GMT');
  inst.stateTransitionReason = `User initiated (${stamp})`;
  inst.stateReason = { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' };
  ctx.vms.stop(inst.id);
  if (inst.console.length) consoleLine(inst, 'reboot: Power down (instance terminated by the user)');
  const finish = () => {
    inst.state = 'terminated';
    inst.terminatedAt = Date.now();
    releaseVolumes(c.rs.volumes, inst);
    c.rs.subnets.get(inst.subnetId)?.usedIps.delete(inst.privateIp);
    if (inst.publicIp) publicIps.release(inst.publicIp);
  };
  // Asynchronous even with no latency, as on EC2: the call itself answers `shutting-down`.
  const t = setTimeout(finish, ctx.latencyMs('instance.delete'));
  t.unref?.();
  inst.timers.push(t);
}

const COMMON = ['DryRun'] as const;

export const INSTANCE_ACTIONS: Record<string, ActionDef> = {
  RunInstances: {
    op: 'instance.create',
    params: [
      ...COMMON, 'ImageId', 'InstanceType', 'MinCount', 'MaxCount', 'ClientToken', 'SubnetId', 'SecurityGroupId', 'SecurityGroup',
      'UserData', 'TagSpecification', 'KeyName', 'Placement', 'MetadataOptions', 'PrivateIpAddress', 'NetworkInterface', 'BlockDeviceMapping',
    ],
    run: runInstances,
  },

  DescribeInstances: {
    op: 'read',
    params: [...COMMON, 'InstanceId', 'Filter', 'MaxResults', 'NextToken'],
    run(c) {
      purgeTerminated(c.rs);
      const ids = c.p.strList('InstanceId');
      const visible = visibleMap(c, c.rs.instances);
      const all = ids.length ? lookupAll(visible, ids, KINDS.instance) : [...visible.values()];
      const match = compileFilters(readFilters(c.p), instanceFilters(c.account), (i) => i.tags);
      const page = paginate(all.filter(match), c.p, c.action, { min: 5, max: 1000, idsParam: 'InstanceId' });
      const byReservation = new Map<string, Instance[]>();
      for (const i of page.items) byReservation.set(i.reservationId, [...(byReservation.get(i.reservationId) ?? []), i]);
      return {
        reservationSet: [...byReservation].map(([rid, list]) => renderReservation(c, rid, list)),
        nextToken: page.nextToken,
      };
    },
  },

  TerminateInstances: {
    op: 'instance.delete',
    params: [...COMMON, 'InstanceId'],
    latencyInBackground: true,
    run(c) {
      const ids = c.p.strList('InstanceId');
      if (ids.length === 0) throw missingParameter('InstanceId');
      purgeTerminated(c.rs);
      const instances = lookupAll(c.rs.instances, ids, KINDS.instance);
      const out = instances.map((i) => {
        const previous: InstanceStateName = i.state;
        if (i.state !== 'shutting-down' && i.state !== 'terminated') terminate(c, i);
        return {
          instanceId: i.id,
          currentState: { code: STATE_CODES[i.state], name: i.state },
          previousState: { code: STATE_CODES[previous], name: previous },
        };
      });
      return { instancesSet: out };
    },
  },
};
