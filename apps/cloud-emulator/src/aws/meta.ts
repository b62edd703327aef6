import type { ActionContext, ActionDef } from './context';
import { visibleMap } from './context';
import { ImageInfo, OPT_IN_REGIONS, RegionInfo, REGIONS } from './catalog';
import { clientError, invalidParameterValue } from './errors';
import { compileFilters, readFilters } from './filters';
import { paginate } from './paging';
import type { RegionState, Tags } from './state';
import type { XmlValue } from './xml';

/** Account-wide lookups of the EC2 API: DescribeRegions, DescribeAvailabilityZones, DescribeImages, DescribeTags. */

function renderImage(i: ImageInfo): XmlValue {
  return {
    imageId: i.imageId,
    imageLocation: `${i.ownerAlias ?? i.ownerId}/${i.name}`,
    imageState: 'available',
    imageOwnerId: i.ownerId,
    creationDate: i.creationDate,
    isPublic: true,
    architecture: i.architecture,
    imageType: 'machine',
    platformDetails: 'Linux/UNIX',
    usageOperation: 'RunInstances',
    imageOwnerAlias: i.ownerAlias,
    name: i.name,
    description: i.description,
    rootDeviceType: 'ebs',
    rootDeviceName: i.rootDeviceName,
    blockDeviceMapping: [
      { deviceName: i.rootDeviceName, ebs: { snapshotId: i.snapshotId, volumeSize: i.volumeSize, deleteOnTermination: true, volumeType: 'gp3', iops: 3000, throughput: 125, encrypted: false } },
      { deviceName: '/dev/sdb', virtualName: 'ephemeral0' },
      { deviceName: '/dev/sdc', virtualName: 'ephemeral1' },
    ],
    virtualizationType: 'hvm',
    tagSet: [],
    hypervisor: 'xen',
    enaSupport: true,
    sriovNetSupport: 'simple',
    bootMode: 'uefi-preferred',
    deprecationTime: i.deprecationTime,
    imdsSupport: i.imdsSupport,
  };
}

/** A tag row of DescribeTags. */
interface TagRow {
  resourceId: string;
  resourceType: string;
  key: string;
  value: string;
}

/** Every tag of the region's live resources that reads may see (terminated instances excluded). */
function tagRows(c: ActionContext): TagRow[] {
  const rs: Pick<RegionState, 'vpcs' | 'subnets' | 'securityGroups' | 'internetGateways' | 'routeTables' | 'instances'> = {
    vpcs: visibleMap(c, c.rs.vpcs),
    subnets: visibleMap(c, c.rs.subnets),
    securityGroups: visibleMap(c, c.rs.securityGroups),
    internetGateways: visibleMap(c, c.rs.internetGateways),
    routeTables: visibleMap(c, c.rs.routeTables),
    instances: visibleMap(c, c.rs.instances),
  };
  const rows: TagRow[] = [];
  const add = (type: string, id: string, tags: Tags) => {
    for (const [key, value] of tags) rows.push({ resourceId: id, resourceType: type, key, value });
  };
  for (const v of rs.vpcs.values()) add('vpc', v.id, v.tags);
  for (const s of rs.subnets.values()) add('subnet', s.id, s.tags);
  for (const g of rs.securityGroups.values()) add('security-group', g.id, g.tags);
  for (const g of rs.internetGateways.values()) add('internet-gateway', g.id, g.tags);
  for (const t of rs.routeTables.values()) add('route-table', t.id, t.tags);
  for (const i of rs.instances.values()) {
    if (i.state === 'terminated') continue;
    add('instance', i.id, i.tags);
    add('network-interface', i.networkInterfaceId, i.eniTags);
  }
  for (const v of visibleMap(c, c.rs.volumes).values()) add('volume', v.id, v.tags);
  for (const k of visibleMap(c, c.rs.keyPairs).values()) add('key-pair', k.id, k.tags);
  return rows.sort((a, b) => a.resourceId.localeCompare(b.resourceId) || a.key.localeCompare(b.key));
}

const OWNER_ALIASES = ['self', 'amazon', 'aws-marketplace', 'aws-backup-vault'];

export const META_ACTIONS: Record<string, ActionDef> = {
  /**
   * The account's enabled regions (the 17 enabled by default, `opt-in-not-required`); with `AllRegions=true` also the
   * opt-in regions, as `not-opted-in` (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRegions.html).
   */
  DescribeRegions: {
    op: 'read',
    params: ['DryRun', 'RegionName', 'Filter', 'AllRegions'],
    run(c) {
      const names = c.p.strList('RegionName');
      // a disabled region named explicitly is listed too (as not-opted-in)
      const all = (c.p.bool('AllRegions') ?? false) || names.length > 0;
      const rows = [
        ...REGIONS.map((r) => ({ name: r.name, optIn: 'opt-in-not-required' })),
        ...(all ? OPT_IN_REGIONS.map((name) => ({ name, optIn: 'not-opted-in' })) : []),
      ];
      const unknown = names.filter((n) => !rows.some((r) => r.name === n));
      if (unknown.length) throw invalidParameterValue(`Invalid region name(s): ${unknown.join(', ')}`);
      const match = compileFilters<{ name: string; optIn: string }>(readFilters(c.p), {
        endpoint: (r) => [`ec2.${r.name}.amazonaws.com`],
        'region-name': (r) => [r.name],
        'opt-in-status': (r) => [r.optIn],
      });
      const regions = rows.filter((r) => (names.length === 0 || names.includes(r.name)) && match(r));
      return { regionInfo: regions.map((r) => ({ regionName: r.name, regionEndpoint: `ec2.${r.name}.amazonaws.com`, optInStatus: r.optIn })) };
    },
  },

  DescribeAvailabilityZones: {
    op: 'read',
    params: ['DryRun', 'ZoneName', 'ZoneId', 'Filter', 'AllAvailabilityZones'],
    run(c) {
      c.p.bool('AllAvailabilityZones');
      const names = c.p.strList('ZoneName');
      const ids = c.p.strList('ZoneId');
      const zones = c.region.zones;
      const unknown = [...names.filter((n) => !zones.some((z) => z.name === n)), ...ids.filter((n) => !zones.some((z) => z.id === n))];
      if (unknown.length) throw invalidParameterValue(`Invalid availability zone: [${unknown.join(', ')}]`);
      const match = compileFilters<RegionInfo['zones'][number]>(readFilters(c.p), {
        'group-name': () => [c.rs.region],
        'network-border-group': () => [c.rs.region],
        'opt-in-status': () => ['opt-in-not-required'],
        'region-name': () => [c.rs.region],
        state: () => ['available'],
        'zone-id': (z) => [z.id],
        'zone-name': (z) => [z.name],
        'zone-type': () => ['availability-zone'],
      });
      const list = zones.filter((z) => (names.length + ids.length === 0 || names.includes(z.name) || ids.includes(z.id)) && match(z));
      return {
        availabilityZoneInfo: list.map((z) => ({
          zoneName: z.name,
          zoneId: z.id,
          zoneState: 'available',
          optInStatus: 'opt-in-not-required',
          messageSet: [],
          regionName: c.rs.region,
          groupName: c.rs.region,
          networkBorderGroup: c.rs.region,
          zoneType: 'availability-zone',
        })),
      };
    },
  },

  DescribeImages: {
    op: 'read',
    params: ['DryRun', 'ImageId', 'Owner', 'ExecutableBy', 'Filter', 'MaxResults', 'NextToken', 'IncludeDeprecated', 'IncludeDisabled'],
    run(c) {
      const includeDeprecated = c.p.bool('IncludeDeprecated') ?? false;
      c.p.bool('IncludeDisabled');
      for (const e of c.p.strList('ExecutableBy')) {
        if (e !== 'all' && e !== 'self' && !/^\d{12}$/.test(e)) throw clientError('InvalidUserID.Malformed', `Invalid user id: "${e}"`);
      }
      const owners = c.p.strList('Owner');
      for (const o of owners) {
        if (!/^\d{12}$/.test(o) && !OWNER_ALIASES.includes(o)) throw clientError('InvalidUserID.Malformed', `Invalid user id: "${o}"`);
      }
      const ids = c.p.strList('ImageId');
      for (const id of ids) if (!/^ami-([0-9a-f]{8}|[0-9a-f]{17})$/.test(id)) throw clientError('InvalidAMIID.Malformed', `Invalid id: "${id}" (expecting "ami-...")`);
      const images = c.shared.images(c.rs.region);
      const missing = ids.filter((id) => !images.some((i) => i.imageId === id));
      if (missing.length) {
        throw clientError('InvalidAMIID.NotFound', missing.length === 1 ? `The image id '[${missing[0]}]' does not exist` : `The image ids '[${missing.join(', ')}]' do not exist`);
      }
      const now = new Date().toISOString();
      const ownerOk = (i: ImageInfo) =>
        owners.length === 0 || owners.some((o) => o === i.ownerId || (o === 'self' && i.ownerId === c.account.id) || (i.ownerAlias !== undefined && o === i.ownerAlias));
      const match = compileFilters<ImageInfo>(readFilters(c.p), {
        architecture: (i) => [i.architecture],
        'creation-date': (i) => [i.creationDate],
        description: (i) => [i.description],
        'ena-support': () => ['true'],
        hypervisor: () => ['xen'],
        'image-id': (i) => [i.imageId],
        'image-type': () => ['machine'],
        'is-public': () => ['true'],
        name: (i) => [i.name],
        'owner-alias': (i) => [i.ownerAlias],
        'owner-id': (i) => [i.ownerId],
        'platform-details': () => ['Linux/UNIX'],
        'root-device-name': (i) => [i.rootDeviceName],
        'root-device-type': () => ['ebs'],
        state: () => ['available'],
        'virtualization-type': () => ['hvm'],
        'usage-operation': () => ['RunInstances'],
        'block-device-mapping.volume-type': () => ['gp3'],
        'block-device-mapping.snapshot-id': (i) => [i.snapshotId],
      }, () => new Map());
      const list = images.filter(
        (i) => (ids.length === 0 || ids.includes(i.imageId)) && ownerOk(i) && (includeDeprecated || ids.length > 0 || i.deprecationTime > now) && match(i),
      );
      const page = paginate(list, c.p, c.action, { min: 5, max: 1000, idsParam: 'ImageId' });
      return { imagesSet: page.items.map(renderImage), nextToken: page.nextToken };
    },
  },

  DescribeTags: {
    op: 'read',
    params: ['DryRun', 'Filter', 'MaxResults', 'NextToken'],
    run(c) {
      const match = compileFilters<TagRow>(
        readFilters(c.p),
        {
          key: (r) => [r.key],
          value: (r) => [r.value],
          'resource-id': (r) => [r.resourceId],
          'resource-type': (r) => [r.resourceType],
        },
        (r) => new Map([[r.key, r.value]]),
        { tagKeyAndValueFilters: false },
      );
      const page = paginate(tagRows(c).filter(match), c.p, c.action, { min: 5, max: 1000 });
      return { tagSet: page.items.map((r) => ({ resourceId: r.resourceId, resourceType: r.resourceType, key: r.key, value: r.value })), nextToken: page.nextToken };
    },
  },
};
