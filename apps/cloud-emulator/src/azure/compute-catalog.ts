import { ArmError } from './arm-error';
import { Reply, eqi, page } from './common';
import { ArmOperationTable, OpContext, read } from './context';
import { IMAGES, MarketplaceImage, VM_SIZE_LIST, VmSizeInfo, familyDisplayName } from './catalog';
import { LOCATIONS, ZONES } from './validate';

/**
 * The Compute RP's catalogue reads, from catalog.ts (the same source as the Retail Prices API):
 * - Virtual Machine Sizes - List: `GET /subscriptions/{sub}/providers/Microsoft.Compute/locations/{location}/vmSizes`
 *   (https://learn.microsoft.com/rest/api/compute/virtual-machine-sizes/list);
 * - Resource Skus - List: `GET /subscriptions/{sub}/providers/Microsoft.Compute/skus[?$filter=location eq '…']`
 *   (https://learn.microsoft.com/rest/api/compute/resource-skus/list);
 * - Virtual Machine Images - List Publishers / List Offers / List Skus / List / Get:
 *   `…/locations/{location}/publishers[/{publisher}/artifacttypes/vmimage/offers[/{offer}/skus[/{sku}/versions[/{version}]]]]`
 *   (https://learn.microsoft.com/rest/api/compute/virtual-machine-images);
 * - Usage - List: `…/locations/{location}/usages`, the regional vCPU quotas with what the subscription's VMs use
 *   (https://learn.microsoft.com/rest/api/compute/usage/list).
 */

/** "Total Regional vCPUs" quota per subscription and region (and each family's). */
export const REGIONAL_CORES_QUOTA = 100;

/** A location in the path, normalised. @throws ArmError 400 LocationNotAvailableForResourceType */
function location(raw: string, type: string): string {
  const loc = raw.toLowerCase();
  if (!(LOCATIONS as readonly string[]).includes(loc)) {
    throw new ArmError(400, 'LocationNotAvailableForResourceType', `The provided location '${raw}' is not available for resource type 'Microsoft.Compute/${type}'. List of available regions for the resource type is '${LOCATIONS.join(',')}'.`);
  }
  return loc;
}

const gib = (mib: number): string => String(Math.round((mib / 1024) * 100) / 100);

/** Resource SKU capabilities of a VM size, as Resource Skus - List writes them (all values strings). */
function capabilities(s: VmSizeInfo): { name: string; value: string }[] {
  const burstable = s.name.startsWith('Standard_B');
  const burstableV1 = /^Standard_B\d+[a-z]*$/.test(s.name);
  const arm = s.arch === 'Arm64';
  const premium = /^Standard_[A-Z]+\d+[a-z]*s/.test(s.name) || burstable;
  return [
    ['MaxResourceVolumeMB', String(s.resourceDiskMiB)],
    ['OSVhdSizeMB', '1047552'],
    ['vCPUs', String(s.vcpu)],
    ['MemoryPreservingMaintenanceSupported', 'True'],
    ['HyperVGenerations', arm ? 'V2' : 'V1,V2'],
    ['MemoryGB', gib(s.memoryMiB)],
    ['MaxDataDiskCount', String(s.maxDataDisks)],
    ['CpuArchitectureType', s.arch],
    ['LowPriorityCapable', burstable ? 'False' : 'True'],
    ['PremiumIO', premium ? 'True' : 'False'],
    ['VMDeploymentTypes', 'IaaS'],
    ['vCPUsAvailable', String(s.vcpu)],
    ['vCPUsPerCore', arm || burstableV1 ? '1' : '2'],
    ['EphemeralOSDiskSupported', s.resourceDiskMiB > 0 ? 'True' : 'False'],
    ['EncryptionAtHostSupported', 'True'],
    ['AcceleratedNetworkingEnabled', burstableV1 && s.vcpu < 4 ? 'False' : 'True'],
    ['RdmaEnabled', 'False'],
    ['MaxNetworkInterfaces', String(Math.min(8, Math.max(2, s.vcpu / 2)))],
  ].map(([name, value]) => ({ name, value }));
}

function renderSku(s: VmSizeInfo, loc: string): Record<string, unknown> {
  const zones = ZONES[loc];
  return {
    resourceType: 'virtualMachines',
    name: s.name,
    tier: 'Standard',
    size: s.name.replace(/^Standard_/, ''),
    family: s.family,
    locations: [loc],
    locationInfo: [{ location: loc, ...(zones ? { zones: [...zones] } : {}), zoneDetails: [] }],
    capabilities: capabilities(s),
    restrictions: [],
  };
}

/** `GET …/providers/Microsoft.Compute/skus[?$filter=location eq '{location}']`: one entry per size and location, paged. */
async function listSkus(c: OpContext): Promise<Reply> {
  const filter = c.call.query.$filter;
  let locs: string[] = [...LOCATIONS];
  if (filter !== undefined) {
    const m = /^\s*location\s+eq\s+'([^']*)'\s*$/i.exec(filter);
    if (!m) throw new ArmError(400, 'InvalidParameter', `The filter '${filter}' is invalid. Only a filter on location is supported: $filter=location eq '<location>'.`, { target: '$filter' });
    const loc = m[1].replace(/\s+/g, '').toLowerCase();
    locs = (LOCATIONS as readonly string[]).includes(loc) ? [loc] : [];
  }
  await c.env.ctx.delay('read');
  return page(c.call, c.path.path, locs.flatMap((l) => VM_SIZE_LIST.map((s) => renderSku(s, l))));
}

/** A size as Virtual Machine Sizes - List (and Virtual Machines - List Available Sizes) renders it; memory in MiB. */
export const renderVmSize = (s: VmSizeInfo): Record<string, unknown> => ({
  name: s.name, numberOfCores: s.vcpu, osDiskSizeInMB: 1047552, resourceDiskSizeInMB: s.resourceDiskMiB, memoryInMB: s.memoryMiB, maxDataDiskCount: s.maxDataDisks,
});

/** `GET …/locations/{location}/vmSizes`: every size offered in the location, not paged. */
async function listVmSizes(c: OpContext): Promise<Reply> {
  location(c.path.names[0], 'locations/vmSizes');
  await c.env.ctx.delay('read');
  return {
    status: 200,
    body: {
      value: VM_SIZE_LIST.map(renderVmSize),
    },
  };
}

// ---- Virtual Machine Images -------------------------------------------------------------------------------------

/** The image resource id as the Compute RP writes it (capitalised segments). */
const imageBase = (sub: string, loc: string, publisher: string) => `/Subscriptions/${sub}/Providers/Microsoft.Compute/Locations/${loc}/Publishers/${publisher}`;
const artifactNotFound = (): ArmError => new ArmError(404, 'NotFound', 'Artifact: VMImage was not found.');

/** The path's location, publisher, offer, SKU (as far as it names them), matched case-insensitively. */
function imagePath(c: OpContext): { loc: string; publisher?: string; images: MarketplaceImage[]; image?: MarketplaceImage; sku?: string } {
  const [rawLoc, publisher, artifactType, offer, sku] = c.path.names;
  const loc = location(rawLoc, 'locations/publishers');
  if (artifactType !== undefined && artifactType.toLowerCase() !== 'vmimage') throw artifactNotFound();
  const images = publisher === undefined ? [...IMAGES] : IMAGES.filter((i) => eqi(i.publisher, publisher));
  if (publisher !== undefined && !images.length) throw artifactNotFound();
  const image = offer === undefined ? undefined : images.find((i) => eqi(i.offer, offer));
  if (offer !== undefined && !image) throw artifactNotFound();
  const skuName = sku === undefined ? undefined : image?.skus.find((s) => eqi(s, sku));
  if (sku !== undefined && !skuName) throw artifactNotFound();
  return { loc, publisher: images[0]?.publisher, images, image, sku: skuName };
}

/** A bare JSON array of `{name, location, id}` (VirtualMachineImageResource[]), as these lists answer. */
const resources = (names: string[], loc: string, idOf: (n: string) => string): Reply => ({
  status: 200,
  body: names.map((name) => ({ location: loc, name, id: idOf(name) })),
});

async function listPublishers(c: OpContext): Promise<Reply> {
  const { loc } = imagePath(c);
  await c.env.ctx.delay('read');
  return resources([...new Set(IMAGES.map((i) => i.publisher))], loc, (n) => imageBase(c.call.account.subscriptionId, loc, n));
}

async function listOffers(c: OpContext): Promise<Reply> {
  const { loc, publisher, images } = imagePath(c);
  await c.env.ctx.delay('read');
  return resources(images.map((i) => i.offer), loc, (n) => `${imageBase(c.call.account.subscriptionId, loc, publisher ?? '')}/ArtifactTypes/VMImage/Offers/${n}`);
}

async function listImageSkus(c: OpContext): Promise<Reply> {
  const { loc, image } = imagePath(c);
  await c.env.ctx.delay('read');
  const img = image as MarketplaceImage;
  return resources(img.skus, loc, (n) => `${imageBase(c.call.account.subscriptionId, loc, img.publisher)}/ArtifactTypes/VMImage/Offers/${img.offer}/Skus/${n}`);
}

const versionId = (sub: string, loc: string, img: MarketplaceImage, sku: string, v: string) =>
  `${imageBase(sub, loc, img.publisher)}/ArtifactTypes/VMImage/Offers/${img.offer}/Skus/${sku}/Versions/${v}`;

/** Virtual Machine Images - List: the SKU's versions, oldest first; `$top` and `$orderby=name desc` as the API takes them. */
async function listVersions(c: OpContext): Promise<Reply> {
  const { loc, image, sku } = imagePath(c);
  const img = image as MarketplaceImage;
  let versions = [...img.versions];
  const orderby = c.call.query.$orderby;
  if (orderby !== undefined) {
    if (!/^name( (asc|desc))?$/i.test(orderby.trim())) throw new ArmError(400, 'InvalidParameter', `The value '${orderby}' of parameter '$orderby' is invalid. Allowed: 'name', 'name desc'.`, { target: '$orderby' });
    if (/desc$/i.test(orderby.trim())) versions.reverse();
  }
  const top = c.call.query.$top;
  if (top !== undefined) {
    if (!/^\d+$/.test(top)) throw new ArmError(400, 'InvalidParameter', `The value '${top}' of parameter '$top' is invalid.`, { target: '$top' });
    versions = versions.slice(0, Number(top));
  }
  await c.env.ctx.delay('read');
  return resources(versions, loc, (v) => versionId(c.call.account.subscriptionId, loc, img, sku as string, v));
}

/** Virtual Machine Images - Get. */
async function getVersion(c: OpContext): Promise<Reply> {
  const { loc, image, sku } = imagePath(c);
  const img = image as MarketplaceImage;
  const skuName = sku as string;
  const v = c.path.names[5];
  const version = v.toLowerCase() === 'latest' ? img.latest : img.versions.find((x) => x === v);
  if (!version) throw artifactNotFound();
  await c.env.ctx.delay('read');
  const arm = img.arm64Skus.includes(skuName);
  return {
    status: 200,
    body: {
      properties: {
        hyperVGeneration: img.gen1Skus.includes(skuName) ? 'V1' : 'V2',
        architecture: arm ? 'Arm64' : 'x64',
        replicaType: 'Managed',
        replicaCount: 10,
        osDiskImage: { operatingSystem: 'Linux', sizeInGb: 30 },
        dataDiskImages: [],
        automaticOSUpgradeProperties: { automaticOSUpgradeSupported: false },
        imageDeprecationStatus: { imageState: 'Active' },
        features: [{ name: 'IsAcceleratedNetworkSupported', value: 'True' }, { name: 'DiskControllerTypes', value: 'SCSI, NVMe' }, { name: 'IsHibernateSupported', value: 'True' }],
      },
      location: loc,
      name: version,
      id: versionId(c.call.account.subscriptionId, loc, img, skuName, version),
    },
  };
}

// ---- Usage --------------------------------------------------------------------------------------------------------

/** Usage - List: regional vCPU quotas (total and per family) and VM counts, with what the subscription's VMs use now. */
async function listUsages(c: OpContext): Promise<Reply> {
  const loc = location(c.path.names[0], 'locations/usages');
  await c.env.ctx.delay('read');
  const vms = c.env.state.ofKind(c.call.account.subscriptionId, 'vm').filter((v) => v.location === loc);
  const size = (name: string) => VM_SIZE_LIST.find((s) => s.name === name);
  const cores = (pred: (s: VmSizeInfo) => boolean) => vms.reduce((n, v) => { const s = size(v.vmSize); return n + (s && pred(s) ? s.vcpu : 0); }, 0);
  const row = (value: string, localizedValue: string, limit: number, currentValue: number) => ({ limit, unit: 'Count', currentValue, name: { value, localizedValue } });
  const families = [...new Set(VM_SIZE_LIST.map((s) => s.family))];
  return page(c.call, c.path.path, [
    row('availabilitySets', 'Availability Sets', 2500, 0),
    row('cores', 'Total Regional vCPUs', REGIONAL_CORES_QUOTA, cores(() => true)),
    row('virtualMachines', 'Virtual Machines', 25000, vms.length),
    row('virtualMachineScaleSets', 'Virtual Machine Scale Sets', 2500, 0),
    row('lowPriorityCores', 'Total Regional Low-priority vCPUs', REGIONAL_CORES_QUOTA, 0),
    ...families.map((f) => row(f, familyDisplayName(f), REGIONAL_CORES_QUOTA, cores((s) => s.family === f))),
  ]);
}

export const COMPUTE_CATALOG_OPERATIONS: ArmOperationTable = {
  'LIST Microsoft.Compute/locations/vmSizes': read(listVmSizes),
  'LIST Microsoft.Compute/skus': read(listSkus),
  'LIST Microsoft.Compute/locations/publishers': read(listPublishers),
  'LIST Microsoft.Compute/locations/publishers/artifacttypes/offers': read(listOffers),
  'LIST Microsoft.Compute/locations/publishers/artifacttypes/offers/skus': read(listImageSkus),
  'LIST Microsoft.Compute/locations/publishers/artifacttypes/offers/skus/versions': read(listVersions),
  'GET Microsoft.Compute/locations/publishers/artifacttypes/offers/skus/versions': read(getVersion),
  'LIST Microsoft.Compute/locations/usages': read(listUsages),
};
