import { ImageInfo, MACHINE_TYPES, REGION_ZONES, ZONES, imageFromFamily, imageId, isRegion, projectImages, regionOfZone } from './catalog';
import { AGGREGATED_PARAMS, Call, LIST_PARAMS, OpTable, aggregated, list, zone } from './context';
import { notFound } from './errors';
import { API_BASE, link } from './util';

/**
 * The public catalogue as Compute serves it: regions, zones, machine types and public images
 * (https://cloud.google.com/compute/docs/reference/rest/v1/regions, …/zones, …/machineTypes, …/images).
 * The data is catalog.ts (the one source the Billing Catalog prices use too).
 */

/** Compute's creation time of the catalogue's built-in resources (the epoch, in Pacific time, as the API shows it). */
const EPOCH = '1969-12-31T16:00:00.000-08:00';

/** Shared-core E2 descriptions (https://cloud.google.com/compute/docs/general-purpose-machines#sharedcore). */
const SHARED_DESCRIPTION: Readonly<Record<string, string>> = {
  'e2-micro': 'Efficient Instance, 2 vCPU (1/8 shared physical core) and',
  'e2-small': 'Efficient Instance, 2 vCPU (1/4 shared physical core) and',
  'e2-medium': 'Efficient Instance, 2 vCPU (1/2 shared physical core) and',
};

/** https://cloud.google.com/compute/docs/reference/rest/v1/machineTypes#resource:-machinetype */
function renderMachineType(c: Call, z: string, name: string): Record<string, unknown> {
  const m = MACHINE_TYPES[name];
  const gb = m.memoryMb / 1024;
  return {
    kind: 'compute#machineType',
    id: String(800000 + Object.keys(MACHINE_TYPES).indexOf(name)),
    creationTimestamp: EPOCH,
    name,
    description: m.sharedCpu ? `${SHARED_DESCRIPTION[name]} ${gb} GB RAM` : `${m.cpus} vCPU${m.cpus > 1 ? 's' : ''}, ${Number.isInteger(gb) ? gb : gb.toFixed(2).replace(/0+$/, '')} GB RAM`,
    guestCpus: m.cpus,
    memoryMb: m.memoryMb,
    imageSpaceGb: 0,
    maximumPersistentDisks: m.sharedCpu ? 16 : 128,
    maximumPersistentDisksSizeGb: m.sharedCpu ? '3072' : '263168',
    zone: z,
    selfLink: `${API_BASE}projects/${c.projectId}/zones/${z}/machineTypes/${name}`,
    isSharedCpu: m.sharedCpu === true,
    architecture: m.arch,
  };
}

/** https://cloud.google.com/compute/docs/reference/rest/v1/zones#resource:-zone */
function renderZone(c: Call, z: string): Record<string, unknown> {
  const r = regionOfZone(z) ?? '';
  return {
    kind: 'compute#zone',
    id: String(2000 + ZONES.indexOf(z)),
    creationTimestamp: EPOCH,
    name: z,
    description: z,
    status: 'UP',
    region: link(c.projectId, `regions/${r}`),
    selfLink: link(c.projectId, `zones/${z}`),
    availableCpuPlatforms: ['Intel Sapphire Rapids', 'Intel Ice Lake', 'Intel Cascade Lake', 'Intel Broadwell', 'AMD Genoa', 'AMD Milan', 'AMD Rome', 'Ampere Altra', 'Google Axion'],
    supportsPzs: false,
  };
}

/** https://cloud.google.com/compute/docs/reference/rest/v1/images#resource:-image */
function renderImage(i: ImageInfo): Record<string, unknown> {
  const lts = /^ubuntu-(?:minimal-)?(\d{4})/.exec(i.name);
  return {
    kind: 'compute#image',
    id: imageId(i.name),
    creationTimestamp: i.created,
    name: i.name,
    description: i.description,
    sourceType: 'RAW',
    status: 'READY',
    archiveSizeBytes: String(i.archiveSizeBytes),
    diskSizeGb: String(i.diskSizeGb),
    ...(i.replacedBy ? { deprecated: { state: 'DEPRECATED', replacement: link(i.project, `global/images/${i.replacedBy}`) } } : {}),
    licenses: lts ? [`${API_BASE}projects/${i.project}/global/licenses/ubuntu-${lts[1]}${i.name.startsWith('ubuntu-minimal-') ? '-minimal' : ''}-lts`] : [],
    family: i.family,
    selfLink: link(i.project, `global/images/${i.name}`),
    labelFingerprint: '42WmSpB8rSM=',
    guestOsFeatures: [{ type: 'VIRTIO_SCSI_MULTIQUEUE' }, { type: 'SEV_CAPABLE' }, { type: 'UEFI_COMPATIBLE' }, { type: 'GVNIC' }, { type: 'IDPF' }],
    storageLocations: ['eu', 'asia', 'us'],
    architecture: i.architecture,
    enableConfidentialCompute: false,
    satisfiesPzi: true,
    satisfiesPzs: true,
  };
}

/** The catalogue's reads, by call name. */
export const CATALOG_OPS: OpTable = {
  'regions.get': {
    method: 'GET', path: 'projects/{project}/regions/{region}', op: 'read', permission: 'compute.regions.get',
    run: (c) => {
      // the region is the resource here: an unknown one is 404 notFound (elsewhere a bad {region} is 400 invalid)
      const r = String(c.params.region);
      if (!isRegion(r)) throw notFound(`projects/${c.projectId}/regions/${r}`);
      return c.project.renderRegion(r);
    },
  },
  'regions.list': {
    method: 'GET', path: 'projects/{project}/regions', op: 'read', permission: 'compute.regions.list', query: LIST_PARAMS,
    run: (c) => list(c, 'Region', Object.keys(REGION_ZONES), (r) => c.project.renderRegion(r), 'compute#regionList', 'regions'),
  },
  'zones.get': {
    method: 'GET', path: 'projects/{project}/zones/{zone}', op: 'read', permission: 'compute.zones.get',
    run: (c) => {
      const z = String(c.params.zone);
      if (!ZONES.includes(z)) throw notFound(`projects/${c.projectId}/zones/${z}`);
      return renderZone(c, z);
    },
  },
  'zones.list': {
    method: 'GET', path: 'projects/{project}/zones', op: 'read', permission: 'compute.zones.list', query: LIST_PARAMS,
    run: (c) => list(c, 'Zone', [...ZONES], (z) => renderZone(c, z), 'compute#zoneList', 'zones'),
  },
  'machineTypes.get': {
    method: 'GET', path: 'projects/{project}/zones/{zone}/machineTypes/{machineType}', op: 'read', permission: 'compute.machineTypes.get',
    run: (c) => {
      const z = zone(String(c.params.zone));
      const name = String(c.params.machineType);
      if (!MACHINE_TYPES[name]) throw notFound(`projects/${c.projectId}/zones/${z}/machineTypes/${name}`);
      return renderMachineType(c, z, name);
    },
  },
  'machineTypes.list': {
    method: 'GET', path: 'projects/{project}/zones/{zone}/machineTypes', op: 'read', permission: 'compute.machineTypes.list', query: LIST_PARAMS,
    run: (c) => {
      const z = zone(String(c.params.zone));
      return list(c, 'MachineType', Object.keys(MACHINE_TYPES), (n) => renderMachineType(c, z, n), 'compute#machineTypeList', `zones/${z}/machineTypes`);
    },
  },
  'machineTypes.aggregatedList': {
    method: 'GET', path: 'projects/{project}/aggregated/machineTypes', op: 'read', permission: 'compute.machineTypes.list', query: AGGREGATED_PARAMS,
    run: (c) => {
      const rows = ZONES.flatMap((z) => Object.keys(MACHINE_TYPES).map((n) => renderMachineType(c, z, n)));
      return aggregated(c, 'MachineType', rows, (r) => `zones/${String(r.zone)}`, ZONES.map((z) => `zones/${z}`), 'machineTypes', 'compute#machineTypeAggregatedList', 'machineTypes');
    },
  },
  'images.get': {
    method: 'GET', path: 'projects/{project}/global/images/{image}', op: 'read', permission: 'compute.images.get', publicProject: true,
    run: (c) => {
      const name = String(c.params.image);
      const i = projectImages(c.projectId).find((x) => x.name === name);
      if (!i) throw notFound(`projects/${c.projectId}/global/images/${name}`);
      return renderImage(i);
    },
  },
  'images.getFromFamily': {
    method: 'GET', path: 'projects/{project}/global/images/family/{family}', op: 'read', permission: 'compute.images.getFromFamily', publicProject: true,
    run: (c) => {
      const family = String(c.params.family);
      const i = imageFromFamily(c.projectId, family);
      if (!i) throw notFound(`projects/${c.projectId}/global/images/family/${family}`);
      return renderImage(i);
    },
  },
  'images.list': {
    method: 'GET', path: 'projects/{project}/global/images', op: 'read', permission: 'compute.images.list', publicProject: true, query: LIST_PARAMS,
    run: (c) => list(c, 'Image', [...projectImages(c.projectId)], renderImage, 'compute#imageList', 'global/images'),
  },
};
