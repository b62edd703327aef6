import { createHash } from 'node:crypto';

/**
 * The public catalogue the sandbox's Compute Engine knows: regions and zones, machine types and public images.
 * One source for the Compute API (catalog-api.ts) and the Billing Catalog prices (billing.ts). Close to the real one (https://cloud.google.com/compute/docs/regions-zones, …/machine-resource,
 * …/images/os-details); anything outside it is refused as the real API refuses unknown names.
 */

/**
 * Region → its zones: the public regions of Compute Engine (https://cloud.google.com/compute/docs/regions-zones, 2025),
 * every one enabled for a new project.
 */
export const REGION_ZONES: Readonly<Record<string, readonly string[]>> = {
  'africa-south1': ['africa-south1-a', 'africa-south1-b', 'africa-south1-c'],
  'asia-east1': ['asia-east1-a', 'asia-east1-b', 'asia-east1-c'],
  'asia-east2': ['asia-east2-a', 'asia-east2-b', 'asia-east2-c'],
  'asia-northeast1': ['asia-northeast1-a', 'asia-northeast1-b', 'asia-northeast1-c'],
  'asia-northeast2': ['asia-northeast2-a', 'asia-northeast2-b', 'asia-northeast2-c'],
  'asia-northeast3': ['asia-northeast3-a', 'asia-northeast3-b', 'asia-northeast3-c'],
  'asia-south1': ['asia-south1-a', 'asia-south1-b', 'asia-south1-c'],
  'asia-south2': ['asia-south2-a', 'asia-south2-b', 'asia-south2-c'],
  'asia-southeast1': ['asia-southeast1-a', 'asia-southeast1-b', 'asia-southeast1-c'],
  'asia-southeast2': ['asia-southeast2-a', 'asia-southeast2-b', 'asia-southeast2-c'],
  'australia-southeast1': ['australia-southeast1-a', 'australia-southeast1-b', 'australia-southeast1-c'],
  'australia-southeast2': ['australia-southeast2-a', 'australia-southeast2-b', 'australia-southeast2-c'],
  'europe-central2': ['europe-central2-a', 'europe-central2-b', 'europe-central2-c'],
  'europe-north1': ['europe-north1-a', 'europe-north1-b', 'europe-north1-c'],
  'europe-north2': ['europe-north2-a', 'europe-north2-b', 'europe-north2-c'],
  'europe-southwest1': ['europe-southwest1-a', 'europe-southwest1-b', 'europe-southwest1-c'],
  'europe-west1': ['europe-west1-b', 'europe-west1-c', 'europe-west1-d'],
  'europe-west2': ['europe-west2-a', 'europe-west2-b', 'europe-west2-c'],
  'europe-west3': ['europe-west3-a', 'europe-west3-b', 'europe-west3-c'],
  'europe-west4': ['europe-west4-a', 'europe-west4-b', 'europe-west4-c'],
  'europe-west6': ['europe-west6-a', 'europe-west6-b', 'europe-west6-c'],
  'europe-west8': ['europe-west8-a', 'europe-west8-b', 'europe-west8-c'],
  'europe-west9': ['europe-west9-a', 'europe-west9-b', 'europe-west9-c'],
  'europe-west10': ['europe-west10-a', 'europe-west10-b', 'europe-west10-c'],
  'europe-west12': ['europe-west12-a', 'europe-west12-b', 'europe-west12-c'],
  'me-central1': ['me-central1-a', 'me-central1-b', 'me-central1-c'],
  'me-central2': ['me-central2-a', 'me-central2-b', 'me-central2-c'],
  'me-west1': ['me-west1-a', 'me-west1-b', 'me-west1-c'],
  'northamerica-northeast1': ['northamerica-northeast1-a', 'northamerica-northeast1-b', 'northamerica-northeast1-c'],
  'northamerica-northeast2': ['northamerica-northeast2-a', 'northamerica-northeast2-b', 'northamerica-northeast2-c'],
  'northamerica-south1': ['northamerica-south1-a', 'northamerica-south1-b', 'northamerica-south1-c'],
  'southamerica-east1': ['southamerica-east1-a', 'southamerica-east1-b', 'southamerica-east1-c'],
  'southamerica-west1': ['southamerica-west1-a', 'southamerica-west1-b', 'southamerica-west1-c'],
  'us-central1': ['us-central1-a', 'us-central1-b', 'us-central1-c', 'us-central1-f'],
  'us-east1': ['us-east1-b', 'us-east1-c', 'us-east1-d'],
  'us-east4': ['us-east4-a', 'us-east4-b', 'us-east4-c'],
  'us-east5': ['us-east5-a', 'us-east5-b', 'us-east5-c'],
  'us-south1': ['us-south1-a', 'us-south1-b', 'us-south1-c'],
  'us-west1': ['us-west1-a', 'us-west1-b', 'us-west1-c'],
  'us-west2': ['us-west2-a', 'us-west2-b', 'us-west2-c'],
  'us-west3': ['us-west3-a', 'us-west3-b', 'us-west3-c'],
  'us-west4': ['us-west4-a', 'us-west4-b', 'us-west4-c'],
};

export const REGIONS = Object.keys(REGION_ZONES);
export const ZONES: readonly string[] = Object.values(REGION_ZONES).flat();

export function isRegion(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(REGION_ZONES, name);
}

export function isZone(name: string): boolean {
  return ZONES.includes(name);
}

/** The region of a known zone (`us-east4-a` → `us-east4`), or undefined. */
export function regionOfZone(zone: string): string | undefined {
  return REGIONS.find((r) => REGION_ZONES[r].includes(zone));
}

/** A machine type's size; `arch` ARM64 for Arm families (the Compute API's `architecture`), else X86_64. */
export interface MachineTypeInfo { cpus: number; memoryMb: number; arch: 'X86_64' | 'ARM64'; sharedCpu?: boolean }

const series = (family: string, shape: string, memPerCpuMb: number, cpus: number[], arch: 'X86_64' | 'ARM64' = 'X86_64'): [string, MachineTypeInfo][] =>
  cpus.map((n) => [`${family}-${shape}-${n}`, { cpus: n, memoryMb: Math.round(n * memPerCpuMb), arch }]);

/**
 * Machine types offered in every zone of the sandbox: name → vCPUs, memory (MiB) and architecture, as Compute's
 * `machineTypes` list them (https://cloud.google.com/compute/docs/general-purpose-machines,
 * …/compute-optimized-machines, …/memory-optimized-machines): E2 (shared-core and standard), N1, N2, N2D, N4, C3, C3D,
 * C4, C4A (Arm), T2D and T2A (Arm). The memory per vCPU of each shape is the documented one (e.g. standard 4 GB,
 * highmem 8 GB, highcpu 1 GB for E2/N2; C3 highcpu 2 GB; N1 standard 3.75 GB).
 */
export const MACHINE_TYPES: Readonly<Record<string, MachineTypeInfo>> = Object.fromEntries<MachineTypeInfo>([
  ['e2-micro', { cpus: 2, memoryMb: 1024, arch: 'X86_64', sharedCpu: true }],
  ['e2-small', { cpus: 2, memoryMb: 2048, arch: 'X86_64', sharedCpu: true }],
  ['e2-medium', { cpus: 2, memoryMb: 4096, arch: 'X86_64', sharedCpu: true }],
  ...series('e2', 'standard', 4096, [2, 4, 8, 16, 32]),
  ...series('e2', 'highmem', 8192, [2, 4, 8, 16]),
  ...series('e2', 'highcpu', 1024, [2, 4, 8, 16, 32]),
  ...series('n1', 'standard', 3840, [1, 2, 4, 8, 16, 32]),
  ...series('n1', 'highmem', 6656, [2, 4, 8, 16]),
  ...series('n1', 'highcpu', 921.6, [2, 4, 8, 16]),
  ...series('n2', 'standard', 4096, [2, 4, 8, 16, 32, 48, 64]),
  ...series('n2', 'highmem', 8192, [2, 4, 8, 16, 32]),
  ...series('n2', 'highcpu', 1024, [2, 4, 8, 16, 32]),
  ...series('n2d', 'standard', 4096, [2, 4, 8, 16, 32]),
  ...series('n2d', 'highmem', 8192, [2, 4, 8, 16]),
  ...series('n2d', 'highcpu', 1024, [2, 4, 8, 16]),
  ...series('n4', 'standard', 4096, [2, 4, 8, 16, 32]),
  ...series('n4', 'highmem', 8192, [2, 4, 8, 16]),
  ...series('n4', 'highcpu', 2048, [2, 4, 8, 16]),
  ...series('c3', 'standard', 4096, [4, 8, 22, 44]),
  ...series('c3', 'highcpu', 2048, [4, 8, 22]),
  ...series('c3', 'highmem', 8192, [4, 8, 22]),
  ...series('c3d', 'standard', 4096, [4, 8, 16, 30]),
  ...series('c3d', 'highcpu', 2048, [4, 8, 16]),
  ...series('c4', 'standard', 3840, [2, 4, 8, 16, 32]),
  ...series('c4', 'highcpu', 2048, [2, 4, 8, 16]),
  ...series('c4a', 'standard', 4096, [1, 2, 4, 8, 16, 32], 'ARM64'),
  ...series('c4a', 'highcpu', 2048, [1, 2, 4, 8, 16], 'ARM64'),
  ...series('t2d', 'standard', 4096, [1, 2, 4, 8, 16, 32]),
  ...series('t2a', 'standard', 4096, [1, 2, 4, 8, 16, 32], 'ARM64'),
]);

/**
 * vCPUs billed for the shared-core E2 types (https://cloud.google.com/compute/vm-instance-pricing#e2_sharedcore_machine_types):
 * e2-micro is billed 0.25 of a core, e2-small 0.5, e2-medium 1 (their `guestCpus` is 2).
 */
export const SHARED_CORE_FRACTION: Readonly<Record<string, number>> = { 'e2-micro': 0.25, 'e2-small': 0.5, 'e2-medium': 1 };

/**
 * The Cloud Billing Catalog's Compute Engine SKUs per machine family: description prefix, resource group, and the
 * on-demand list prices in us-central1 (USD per vCPU-hour and per GiB-hour; cloud.google.com/compute/vm-instance-pricing,
 * 2025: e2-standard-2 = 2 × 0.021811 + 8 × 0.002923 = $0.067006/h, n2-standard-2 $0.097118/h, t2a-standard-1 $0.0385/h).
 */
export const FAMILY_SKUS: Readonly<Record<string, { description: string; resourceGroup: [string, string]; core: number; ram: number }>> = {
  e2: { description: 'E2 Instance', resourceGroup: ['CPU', 'RAM'], core: 0.021811, ram: 0.002923 },
  n1: { description: 'N1 Predefined Instance', resourceGroup: ['N1Standard', 'N1Standard'], core: 0.031611, ram: 0.004237 },
  n2: { description: 'N2 Instance', resourceGroup: ['CPU', 'RAM'], core: 0.031611, ram: 0.004237 },
  n2d: { description: 'N2D AMD Instance', resourceGroup: ['CPU', 'RAM'], core: 0.027502, ram: 0.003686 },
  n4: { description: 'N4 Instance', resourceGroup: ['CPU', 'RAM'], core: 0.031018, ram: 0.004159 },
  c3: { description: 'C3 Instance', resourceGroup: ['CPU', 'RAM'], core: 0.03398, ram: 0.00456 },
  c3d: { description: 'C3D Instance', resourceGroup: ['CPU', 'RAM'], core: 0.029563, ram: 0.003959 },
  c4: { description: 'C4 Instance', resourceGroup: ['CPU', 'RAM'], core: 0.03465, ram: 0.003938 },
  c4a: { description: 'C4A Instance', resourceGroup: ['CPU', 'RAM'], core: 0.03086, ram: 0.003462 },
  t2d: { description: 'T2D AMD Instance', resourceGroup: ['CPU', 'RAM'], core: 0.027502, ram: 0.003686 },
  t2a: { description: 'T2A Arm Instance', resourceGroup: ['CPU', 'RAM'], core: 0.0275, ram: 0.00275 },
};

/**
 * The SKUs' price locations: the name in the SKU description ("… running in Americas"), its regions, and the
 * factor of its prices over us-central1's (from the public prices of e2-standard-2: us-east4 $0.075468, europe-west1
 * $0.073750, europe-north1 $0.073770, europe-west3 $0.086476, asia-southeast1 $0.082533; the other locations' factors
 * are rounded from the same page). Every region of REGION_ZONES is in exactly one location.
 */
export const PRICE_LOCATIONS: readonly { name: string; regions: string[]; factor: number }[] = [
  { name: 'Americas', regions: ['us-central1', 'us-east1', 'us-west1'], factor: 1 },
  { name: 'Virginia', regions: ['us-east4'], factor: 1.1263 },
  { name: 'Columbus', regions: ['us-east5'], factor: 1 },
  { name: 'Dallas', regions: ['us-south1'], factor: 1.18 },
  { name: 'Los Angeles', regions: ['us-west2'], factor: 1.2 },
  { name: 'Salt Lake City', regions: ['us-west3'], factor: 1.2 },
  { name: 'Las Vegas', regions: ['us-west4'], factor: 1.126 },
  { name: 'Montreal', regions: ['northamerica-northeast1'], factor: 1.1 },
  { name: 'Toronto', regions: ['northamerica-northeast2'], factor: 1.1 },
  { name: 'Mexico', regions: ['northamerica-south1'], factor: 1.18 },
  { name: 'Sao Paulo', regions: ['southamerica-east1'], factor: 1.59 },
  { name: 'Santiago', regions: ['southamerica-west1'], factor: 1.42 },
  { name: 'Belgium', regions: ['europe-west1'], factor: 1.1006 },
  { name: 'London', regions: ['europe-west2'], factor: 1.288 },
  { name: 'Frankfurt', regions: ['europe-west3'], factor: 1.2906 },
  { name: 'Netherlands', regions: ['europe-west4'], factor: 1.1006 },
  { name: 'Zurich', regions: ['europe-west6'], factor: 1.4 },
  { name: 'Milan', regions: ['europe-west8'], factor: 1.2 },
  { name: 'Paris', regions: ['europe-west9'], factor: 1.2 },
  { name: 'Berlin', regions: ['europe-west10'], factor: 1.29 },
  { name: 'Turin', regions: ['europe-west12'], factor: 1.2 },
  { name: 'Warsaw', regions: ['europe-central2'], factor: 1.29 },
  { name: 'Finland', regions: ['europe-north1'], factor: 1.1009 },
  { name: 'Stockholm', regions: ['europe-north2'], factor: 1.1 },
  { name: 'Madrid', regions: ['europe-southwest1'], factor: 1.2 },
  { name: 'Israel', regions: ['me-west1'], factor: 1.13 },
  { name: 'Doha', regions: ['me-central1'], factor: 1.27 },
  { name: 'Dammam', regions: ['me-central2'], factor: 1.27 },
  { name: 'Johannesburg', regions: ['africa-south1'], factor: 1.33 },
  { name: 'Taiwan', regions: ['asia-east1'], factor: 1.16 },
  { name: 'Hong Kong', regions: ['asia-east2'], factor: 1.4 },
  { name: 'Tokyo', regions: ['asia-northeast1'], factor: 1.28 },
  { name: 'Osaka', regions: ['asia-northeast2'], factor: 1.28 },
  { name: 'Seoul', regions: ['asia-northeast3'], factor: 1.28 },
  { name: 'Mumbai', regions: ['asia-south1'], factor: 1.2 },
  { name: 'Delhi', regions: ['asia-south2'], factor: 1.2 },
  { name: 'Singapore', regions: ['asia-southeast1'], factor: 1.2317 },
  { name: 'Jakarta', regions: ['asia-southeast2'], factor: 1.32 },
  { name: 'Sydney', regions: ['australia-southeast1'], factor: 1.41 },
  { name: 'Melbourne', regions: ['australia-southeast2'], factor: 1.41 },
];

/** The family of a machine type (`n2d-standard-4` → `n2d`). */
export const machineFamily = (machineType: string): string => machineType.split('-')[0];

/** A public image of the catalogue (https://cloud.google.com/compute/docs/images/os-details#ubuntu_lts). */
export interface ImageInfo {
  project: string;
  name: string;
  family: string;
  description: string;
  architecture: 'X86_64' | 'ARM64';
  diskSizeGb: number;
  /** Creation time as Compute writes it. */
  created: string;
  /** Bytes of the image's archive. */
  archiveSizeBytes: number;
  /** Superseded by the named image of the same family (`deprecated.state: DEPRECATED`). */
  replacedBy?: string;
}

const ubuntu = (name: string, family: string, description: string, architecture: ImageInfo['architecture'], created: string, archiveSizeBytes: number, replacedBy?: string): ImageInfo =>
  ({ project: 'ubuntu-os-cloud', name, family, description, architecture, diskSizeGb: 10, created, archiveSizeBytes, ...(replacedBy ? { replacedBy } : {}) });

/**
 * Canonical's images in `ubuntu-os-cloud`: the current LTS families for x86_64 and arm64 (24.04 noble, 22.04 jammy,
 * full and minimal), one current image each, plus the image each replaced (deprecated), as `images.list` shows them.
 */
export const UBUNTU_IMAGES: readonly ImageInfo[] = [
  ubuntu('ubuntu-2404-noble-amd64-v20251001', 'ubuntu-2404-lts-amd64', 'Canonical, Ubuntu, 24.04 LTS, amd64 noble image built on 2025-10-01', 'X86_64', '2025-10-01T11:24:31.918-07:00', 2389418112, 'ubuntu-2404-noble-amd64-v20251021'),
  ubuntu('ubuntu-2404-noble-amd64-v20251021', 'ubuntu-2404-lts-amd64', 'Canonical, Ubuntu, 24.04 LTS, amd64 noble image built on 2025-10-21', 'X86_64', '2025-10-21T10:02:17.406-07:00', 2401239552),
  ubuntu('ubuntu-2404-noble-arm64-v20251001', 'ubuntu-2404-lts-arm64', 'Canonical, Ubuntu, 24.04 LTS, arm64 noble image built on 2025-10-01', 'ARM64', '2025-10-01T11:31:02.114-07:00', 2215001088, 'ubuntu-2404-noble-arm64-v20251021'),
  ubuntu('ubuntu-2404-noble-arm64-v20251021', 'ubuntu-2404-lts-arm64', 'Canonical, Ubuntu, 24.04 LTS, arm64 noble image built on 2025-10-21', 'ARM64', '2025-10-21T10:09:44.870-07:00', 2226514944),
  ubuntu('ubuntu-2204-jammy-v20251023', 'ubuntu-2204-lts', 'Canonical, Ubuntu, 22.04 LTS, amd64 jammy image built on 2025-10-23', 'X86_64', '2025-10-23T09:12:55.031-07:00', 2078408960),
  ubuntu('ubuntu-2204-jammy-arm64-v20251023', 'ubuntu-2204-lts-arm64', 'Canonical, Ubuntu, 22.04 LTS, arm64 jammy image built on 2025-10-23', 'ARM64', '2025-10-23T09:20:13.662-07:00', 1912373248),
  ubuntu('ubuntu-minimal-2404-noble-amd64-v20251022', 'ubuntu-minimal-2404-lts-amd64', 'Canonical, Ubuntu Minimal, 24.04 LTS, amd64 noble image built on 2025-10-22', 'X86_64', '2025-10-22T08:40:01.377-07:00', 901523456),
  ubuntu('ubuntu-minimal-2404-noble-arm64-v20251022', 'ubuntu-minimal-2404-lts-arm64', 'Canonical, Ubuntu Minimal, 24.04 LTS, arm64 noble image built on 2025-10-22', 'ARM64', '2025-10-22T08:47:36.208-07:00', 861061120),
  ubuntu('ubuntu-minimal-2204-jammy-v20251022', 'ubuntu-minimal-2204-lts', 'Canonical, Ubuntu Minimal, 22.04 LTS, amd64 jammy image built on 2025-10-22', 'X86_64', '2025-10-22T08:33:19.754-07:00', 772939776),
  ubuntu('ubuntu-minimal-2204-jammy-arm64-v20251022', 'ubuntu-minimal-2204-lts-arm64', 'Canonical, Ubuntu Minimal, 22.04 LTS, arm64 jammy image built on 2025-10-22', 'ARM64', '2025-10-22T08:36:48.509-07:00', 738000896),
];

/** The public images of a project that `images.list` / `images.get` serve (the sandbox lists Ubuntu's only). */
export function projectImages(project: string): readonly ImageInfo[] {
  return project === 'ubuntu-os-cloud' ? UBUNTU_IMAGES : [];
}

/** The current (non-deprecated) image of a family, as `images.getFromFamily` answers. */
export function imageFromFamily(project: string, family: string): ImageInfo | undefined {
  return projectImages(project).find((i) => i.family === family && !i.replacedBy);
}

/** A public image's numeric id (stable: derived from its name). */
export const imageId = (name: string): string => BigInt(`0x${createHash('sha256').update(name).digest('hex').slice(0, 15)}`).toString();

/** Public image projects whose images every project may read and boot from. */
export const PUBLIC_IMAGE_PROJECTS: readonly string[] = ['ubuntu-os-cloud', 'debian-cloud', 'cos-cloud', 'rocky-linux-cloud'];

/** Public image projects: image families, and the pattern of their dated image names. Size in GB of each image. */
const IMAGE_PROJECTS: Readonly<Record<string, { families: readonly string[]; names: RegExp; sizeGb: number }>> = {
  'ubuntu-os-cloud': {
    families: [...new Set(UBUNTU_IMAGES.map((i) => i.family))],
    names: /^ubuntu-(minimal-)?(2004|2204|2404)-[a-z]+-(amd64-|arm64-)?v\d{8}[a-z]?$/,
    sizeGb: 10,
  },
  'debian-cloud': { families: ['debian-12', 'debian-12-arm64', 'debian-11'], names: /^debian-(11|12)-[a-z]+-(arm64-)?v\d{8}$/, sizeGb: 10 },
  'cos-cloud': { families: ['cos-stable', 'cos-117-lts'], names: /^cos-(stable|\d+)-[0-9-]+$/, sizeGb: 10 },
  'rocky-linux-cloud': { families: ['rocky-linux-9'], names: /^rocky-linux-9-v\d{8}$/, sizeGb: 20 },
};

/**
 * Resolves a public image reference (`projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64` or a dated
 * image name). Returns its size in GB and architecture, or undefined when no such image exists.
 */
export function findImage(project: string, kind: 'family' | 'image', name: string): { sizeGb: number; architecture: 'X86_64' | 'ARM64' } | undefined {
  const p = IMAGE_PROJECTS[project];
  if (!p) return undefined;
  const architecture = /arm64/.test(name) ? 'ARM64' : 'X86_64';
  if (kind === 'family') return p.families.includes(name) ? { sizeGb: p.sizeGb, architecture } : undefined;
  return p.names.test(name) ? { sizeGb: p.sizeGb, architecture } : undefined;
}
