import { SandboxUnimplemented } from '../core/unimplemented';
import type { ImageInfo } from './catalog';
import type { ActionContext, ActionDef } from './context';
import { OK, stamp, visibleMap } from './context';
import { clientError, invalidParameterCombination, invalidParameterValue, missingParameter } from './errors';
import { compileFilters, readFilters } from './filters';
import { paginate } from './paging';
import type { Params } from './params';
import { Account, Instance, isWellFormedId, newId, Volume } from './state';
import { renderTags } from './tags';
import type { XmlValue } from './xml';

/**
 * EBS volumes (EC2 API: DescribeVolumes, DeleteVolume) as RunInstances makes them: one per EBS block device mapping of
 * the launch (the image's root device always), attached to the instance and, with `DeleteOnTermination` (the root's
 * default), deleted with it; otherwise left `available` when the instance terminates (then a leftover in inventory()
 * until DeleteVolume). Sizes, types, IOPS and throughput are validated as "Amazon EBS volume types" documents them
 * (https://docs.aws.amazon.com/ebs/latest/userguide/ebs-volume-types.html).
 */

export type VolumeType = Volume['type'];

/** Size (GiB) and IOPS bounds per volume type; `iops` absent: the type takes no Iops; `perGiB`: IOPS per GiB. */
const TYPES: Record<VolumeType, { min: number; max: number; iops?: { min: number; max: number; perGiB: number; required: boolean }; root: boolean }> = {
  standard: { min: 1, max: 1024, root: true },
  gp2: { min: 1, max: 16384, root: true },
  gp3: { min: 1, max: 16384, iops: { min: 3000, max: 16000, perGiB: 500, required: false }, root: true },
  io1: { min: 4, max: 16384, iops: { min: 100, max: 64000, perGiB: 50, required: true }, root: true },
  io2: { min: 4, max: 65536, iops: { min: 100, max: 256000, perGiB: 1000, required: true }, root: true },
  st1: { min: 125, max: 16384, root: false },
  sc1: { min: 125, max: 16384, root: false },
};
const VOLUME_TYPES = Object.keys(TYPES) as VolumeType[];

/** One EBS volume a launch makes. */
export interface VolumeSpec {
  deviceName: string;
  sizeGiB: number;
  type: VolumeType;
  iops?: number;
  throughput?: number;
  encrypted: boolean;
  deleteOnTermination: boolean;
  snapshotId: string;
}

const DEVICE = /^\/dev\/(sd[a-z]{1,2}\d{0,2}|xvd[a-z]{1,2}\d{0,2})$/;

/**
 * RunInstances' `BlockDeviceMapping.N` (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_BlockDeviceMapping.html):
 * the image's root device (8 GiB gp3, 3000 IOPS, 125 MiB/s, deleted on termination unless overridden) and any further
 * EBS volumes. `VirtualName` (instance store) and `NoDevice` entries are accepted and make nothing (the sandbox's types
 * are EBS-only). Errors as EC2: `InvalidBlockDeviceMapping` (device name, duplicates, smaller than the snapshot, a
 * type that cannot boot), `InvalidParameterValue` (type, size or IOPS out of range), `InvalidParameterCombination`
 * (Iops/Throughput on a type that takes none), `MissingParameter`.
 */
export function readBlockDeviceMappings(p: Params, image: ImageInfo): VolumeSpec[] {
  const root: VolumeSpec = { deviceName: image.rootDeviceName, sizeGiB: image.volumeSize, type: 'gp3', iops: 3000, throughput: 125, encrypted: false, deleteOnTermination: true, snapshotId: image.snapshotId };
  const extra: VolumeSpec[] = [];
  const seen = new Set<string>();
  for (const m of p.structList('BlockDeviceMapping')) {
    m.allowOnly(['DeviceName', 'Ebs', 'NoDevice', 'VirtualName']);
    const device = m.str('DeviceName');
    if (device === undefined || device === '') throw missingParameter(`${m.path}.DeviceName`);
    if (!DEVICE.test(device)) throw clientError('InvalidBlockDeviceMapping', `Invalid device name ${device}`);
    if (seen.has(device)) throw clientError('InvalidBlockDeviceMapping', `The device '${device}' is used in more than one block-device mapping`);
    seen.add(device);
    const ebs = m.struct('Ebs');
    const isRoot = device === image.rootDeviceName;
    if (m.has('NoDevice') || m.has('VirtualName')) {
      if (ebs) throw invalidParameterCombination(`The parameters Ebs and ${m.has('NoDevice') ? 'NoDevice' : 'VirtualName'} cannot be used together in ${m.path}`);
      if (isRoot) throw clientError('InvalidBlockDeviceMapping', `The device '${device}' is the image's root device and cannot be suppressed`);
      continue;
    }
    if (!ebs) throw missingParameter(`${m.path}.Ebs`);
    ebs.allowOnly(['DeleteOnTermination', 'Iops', 'SnapshotId', 'VolumeSize', 'VolumeType', 'KmsKeyId', 'Throughput', 'OutpostArn', 'Encrypted', 'VolumeInitializationRate', 'AvailabilityZone', 'AvailabilityZoneId', 'EbsCardIndex']);
    for (const k of ['KmsKeyId', 'OutpostArn', 'VolumeInitializationRate', 'AvailabilityZone', 'AvailabilityZoneId', 'EbsCardIndex']) {
      if (ebs.has(k)) throw new SandboxUnimplemented('aws', `RunInstances ${m.path}.Ebs.${k}`);
    }
    const typeRaw = ebs.str('VolumeType');
    if (typeRaw !== undefined && !VOLUME_TYPES.includes(typeRaw as VolumeType)) {
      throw invalidParameterValue(`Value (${typeRaw}) for parameter volumeType is invalid. Valid volume types: ${VOLUME_TYPES.join(', ')}`);
    }
    const type = (typeRaw as VolumeType | undefined) ?? (isRoot ? root.type : 'gp2');
    const limits = TYPES[type];
    if (isRoot && !limits.root) throw clientError('InvalidBlockDeviceMapping', `Volume type ${type} is not supported as a root (boot) volume`);
    const snapshotId = ebs.str('SnapshotId') ?? (isRoot ? image.snapshotId : undefined);
    if (snapshotId !== undefined && snapshotId !== image.snapshotId) {
      if (!isWellFormedId('snap', snapshotId)) throw clientError('InvalidSnapshotID.Malformed', `Invalid id: "${snapshotId}" (expecting "snap-...")`);
      throw clientError('InvalidSnapshot.NotFound', `The snapshot '${snapshotId}' does not exist.`);
    }
    const size = ebs.int('VolumeSize') ?? (snapshotId !== undefined ? image.volumeSize : undefined);
    if (size === undefined) throw missingParameter(`${m.path}.Ebs.VolumeSize (or SnapshotId)`);
    if (snapshotId !== undefined && size < image.volumeSize) {
      throw clientError('InvalidBlockDeviceMapping', `Volume of size ${size}GB is smaller than snapshot '${snapshotId}', expect size >= ${image.volumeSize}GB`);
    }
    if (size < limits.min || size > limits.max) {
      throw invalidParameterValue(`Volume of ${size}GiB is ${size < limits.min ? 'too small' : 'too large'} for volume type ${type}; ${size < limits.min ? `minimum is ${limits.min}` : `maximum is ${limits.max}`}GiB`);
    }
    let iops = ebs.int('Iops');
    let throughput = ebs.int('Throughput');
    if (!limits.iops && iops !== undefined) throw invalidParameterCombination(`The parameter iops is not supported for ${type} volumes.`);
    if (type !== 'gp3' && throughput !== undefined) throw invalidParameterCombination(`The parameter throughput is not supported for ${type} volumes.`);
    if (limits.iops) {
      if (iops === undefined && limits.iops.required) throw missingParameter('iops');
      iops ??= limits.iops.min;
      const max = Math.min(limits.iops.max, Math.max(limits.iops.min, size * limits.iops.perGiB));
      if (iops < limits.iops.min || iops > max) throw invalidParameterValue(`Value (${iops}) for parameter iops is invalid. Expected a value between ${limits.iops.min} and ${max} for a ${size} GiB ${type} volume.`);
    }
    if (type === 'gp3') {
      throughput ??= 125;
      const max = Math.min(1000, Math.floor((iops ?? 3000) / 4));
      if (throughput < 125 || throughput > max) throw invalidParameterValue(`Value (${throughput}) for parameter throughput is invalid. Expected a value between 125 and ${max}.`);
    }
    const spec: VolumeSpec = {
      deviceName: device,
      sizeGiB: size,
      type,
      iops: type === 'gp2' ? Math.min(16000, Math.max(100, size * 3)) : type === 'standard' || type === 'st1' || type === 'sc1' ? undefined : iops,
      throughput,
      encrypted: ebs.bool('Encrypted') ?? false,
      deleteOnTermination: ebs.bool('DeleteOnTermination') ?? (isRoot ? root.deleteOnTermination : true),
      snapshotId: snapshotId ?? '',
    };
    if (isRoot) Object.assign(root, spec);
    else extra.push(spec);
  }
  return [root, ...extra];
}

/** Makes the volumes of a launched instance (attached to it, in its zone) and records them on it. */
export function createVolumes(c: ActionContext, inst: Instance, specs: VolumeSpec[], tags: Map<string, string>): void {
  inst.blockDevices = specs.map((s) => {
    const v: Volume = {
      id: newId('vol'),
      createdAtMs: stamp(c),
      createTime: new Date().toISOString(),
      sizeGiB: s.sizeGiB,
      type: s.type,
      iops: s.iops,
      throughput: s.throughput,
      encrypted: s.encrypted,
      snapshotId: s.snapshotId,
      zone: inst.zone,
      zoneId: inst.zoneId,
      attachment: { instanceId: inst.id, device: s.deviceName, attachTime: inst.launchTime, deleteOnTermination: s.deleteOnTermination, state: 'attached' },
      tags: new Map(tags),
    };
    c.rs.volumes.set(v.id, v);
    return { deviceName: s.deviceName, volumeId: v.id };
  });
  inst.volumeId = inst.blockDevices[0].volumeId;
}

/** What termination does to the instance's volumes: deleted when `DeleteOnTermination`, else detached (`available`). */
export function releaseVolumes(volumes: Map<string, Volume>, inst: Instance): void {
  for (const d of inst.blockDevices) {
    const v = volumes.get(d.volumeId);
    if (!v) continue;
    if (v.attachment?.deleteOnTermination) volumes.delete(v.id);
    else v.attachment = undefined;
  }
}

export function renderVolume(v: Volume): XmlValue {
  return {
    volumeId: v.id,
    size: v.sizeGiB,
    snapshotId: v.snapshotId,
    availabilityZone: v.zone,
    availabilityZoneId: v.zoneId,
    status: v.attachment ? 'in-use' : 'available',
    createTime: v.createTime,
    attachmentSet: v.attachment
      ? [{ volumeId: v.id, instanceId: v.attachment.instanceId, device: v.attachment.device, status: v.attachment.state, attachTime: v.attachment.attachTime, deleteOnTermination: v.attachment.deleteOnTermination }]
      : [],
    volumeType: v.type,
    iops: v.iops,
    throughput: v.throughput,
    encrypted: v.encrypted,
    multiAttachEnabled: false,
    tagSet: renderTags(v.tags),
  };
}

const VOLUME_KIND = { notFound: 'InvalidVolume.NotFound', malformed: 'InvalidVolumeID.Malformed' };

function volumeById(map: Map<string, Volume>, id: string): Volume {
  if (!isWellFormedId('vol', id)) throw clientError(VOLUME_KIND.malformed, `Invalid id: "${id}" (expecting "vol-...")`);
  const v = map.get(id);
  if (!v) throw clientError(VOLUME_KIND.notFound, `The volume '${id}' does not exist.`);
  return v;
}

function volumeFilters(account: Account) {
  return {
    'attachment.attach-time': (v: Volume) => [v.attachment?.attachTime],
    'attachment.delete-on-termination': (v: Volume) => [v.attachment ? String(v.attachment.deleteOnTermination) : undefined],
    'attachment.device': (v: Volume) => [v.attachment?.device],
    'attachment.instance-id': (v: Volume) => [v.attachment?.instanceId],
    'attachment.status': (v: Volume) => [v.attachment?.state],
    'availability-zone': (v: Volume) => [v.zone],
    'availability-zone-id': (v: Volume) => [v.zoneId],
    'create-time': (v: Volume) => [v.createTime],
    encrypted: (v: Volume) => [String(v.encrypted)],
    'multi-attach-enabled': () => ['false'],
    'owner-id': () => [account.id],
    size: (v: Volume) => [v.sizeGiB],
    'snapshot-id': (v: Volume) => [v.snapshotId],
    status: (v: Volume) => [v.attachment ? 'in-use' : 'available'],
    'volume-id': (v: Volume) => [v.id],
    'volume-type': (v: Volume) => [v.type],
  };
}

export const VOLUME_ACTIONS: Record<string, ActionDef> = {
  /** https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVolumes.html (`MaxResults` 5–500). */
  DescribeVolumes: {
    op: 'read',
    params: ['DryRun', 'VolumeId', 'Filter', 'MaxResults', 'NextToken'],
    run(c) {
      const visible = visibleMap(c, c.rs.volumes);
      const ids = c.p.strList('VolumeId');
      const all = ids.length ? [...new Set(ids)].map((id) => volumeById(visible, id)) : [...visible.values()];
      const match = compileFilters(readFilters(c.p), volumeFilters(c.account), (v) => v.tags);
      const page = paginate(all.filter(match), c.p, c.action, { min: 5, max: 500, idsParam: 'VolumeId' });
      return { volumeSet: page.items.map(renderVolume), nextToken: page.nextToken };
    },
  },

  /** https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteVolume.html: only an `available` volume. */
  DeleteVolume: {
    op: 'network.delete',
    params: ['DryRun', 'VolumeId'],
    run(c) {
      const v = volumeById(c.rs.volumes, c.p.reqStr('VolumeId'));
      if (v.attachment) throw clientError('VolumeInUse', `Volume ${v.id} is currently attached to ${v.attachment.instanceId}`);
      c.rs.volumes.delete(v.id);
      return OK;
    },
  },
};
