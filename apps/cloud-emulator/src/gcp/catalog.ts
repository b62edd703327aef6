/**
 * The public catalogue the sandbox's Compute Engine knows: regions and zones, machine types and public images.
 * A subset of the real one (https://cloud.google.com/compute/docs/regions-zones, …/machine-resource,
 * …/images/os-details); anything outside it is refused as the real API refuses unknown names.
 */

/** Region → its zones. */
export const REGION_ZONES: Readonly<Record<string, readonly string[]>> = {
  'us-east4': ['us-east4-a', 'us-east4-b', 'us-east4-c'],
  'us-east1': ['us-east1-b', 'us-east1-c', 'us-east1-d'],
  'us-central1': ['us-central1-a', 'us-central1-b', 'us-central1-c', 'us-central1-f'],
  'us-west1': ['us-west1-a', 'us-west1-b', 'us-west1-c'],
  'europe-west1': ['europe-west1-b', 'europe-west1-c', 'europe-west1-d'],
  'europe-west3': ['europe-west3-a', 'europe-west3-b', 'europe-west3-c'],
  'europe-north1': ['europe-north1-a', 'europe-north1-b', 'europe-north1-c'],
  'asia-southeast1': ['asia-southeast1-a', 'asia-southeast1-b', 'asia-southeast1-c'],
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
 * Machine types offered in every zone of the sandbox: name → vCPUs and memory (MiB), as Compute's `machineTypes` list
 * them (https://cloud.google.com/compute/docs/general-purpose-machines, …/compute-optimized-machines).
 */
export const MACHINE_TYPES: Readonly<Record<string, MachineTypeInfo>> = Object.fromEntries<MachineTypeInfo>([
  ['e2-micro', { cpus: 2, memoryMb: 1024, arch: 'X86_64', sharedCpu: true }],
  ['e2-small', { cpus: 2, memoryMb: 2048, arch: 'X86_64', sharedCpu: true }],
  ['e2-medium', { cpus: 2, memoryMb: 4096, arch: 'X86_64', sharedCpu: true }],
  ...series('e2', 'standard', 4096, [2, 4, 8, 16, 32]),
  ...series('e2', 'highmem', 8192, [2, 4, 8, 16]),
  ...series('e2', 'highcpu', 1024, [2, 4, 8, 16, 32]),
  ...series('n1', 'standard', 3840, [1, 2, 4, 8, 16]),
  ...series('n1', 'highmem', 6656, [2, 4, 8]),
  ...series('n1', 'highcpu', 921.6, [2, 4, 8, 16]),
  ...series('n2', 'standard', 4096, [2, 4, 8, 16, 32]),
  ...series('n2', 'highmem', 8192, [2, 4, 8]),
  ...series('n2', 'highcpu', 1024, [2, 4, 8, 16]),
  ...series('n2d', 'standard', 4096, [2, 4, 8, 16]),
  ...series('n2d', 'highmem', 8192, [2, 4]),
  ...series('n2d', 'highcpu', 1024, [2, 4]),
  ...series('c3', 'standard', 4096, [4, 8, 22, 44]),
  ...series('c3', 'highcpu', 2048, [4, 8]),
  ...series('t2d', 'standard', 4096, [1, 2, 4, 8, 16]),
  ...series('t2a', 'standard', 4096, [1, 2, 4, 8, 16], 'ARM64'),
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
  c3: { description: 'C3 Instance', resourceGroup: ['CPU', 'RAM'], core: 0.03398, ram: 0.00456 },
  t2d: { description: 'T2D AMD Instance', resourceGroup: ['CPU', 'RAM'], core: 0.027502, ram: 0.003686 },
  t2a: { description: 'T2A Arm Instance', resourceGroup: ['CPU', 'RAM'], core: 0.0275, ram: 0.00275 },
};

/**
 * The SKUs' price locations: the name in the SKU description ("… running in Americas"), its regions, and the
 * factor of its prices over us-central1's (from the public prices of e2-standard-2: us-east4 $0.075468, europe-west1
 * $0.073750, europe-north1 $0.073770, europe-west3 $0.086476, asia-southeast1 $0.082533).
 */
export const PRICE_LOCATIONS: readonly { name: string; regions: string[]; factor: number }[] = [
  { name: 'Americas', regions: ['us-central1', 'us-east1', 'us-west1'], factor: 1 },
  { name: 'Virginia', regions: ['us-east4'], factor: 1.1263 },
  { name: 'Belgium', regions: ['europe-west1'], factor: 1.1006 },
  { name: 'Finland', regions: ['europe-north1'], factor: 1.1009 },
  { name: 'Frankfurt', regions: ['europe-west3'], factor: 1.2906 },
  { name: 'Singapore', regions: ['asia-southeast1'], factor: 1.2317 },
];

/** The family of a machine type (`n2d-standard-4` → `n2d`). */
export const machineFamily = (machineType: string): string => machineType.split('-')[0];

/** Public image projects: image families, and the pattern of their dated image names. Size in GB of each image. */
const IMAGE_PROJECTS: Readonly<Record<string, { families: readonly string[]; names: RegExp; sizeGb: number }>> = {
  'ubuntu-os-cloud': {
    families: [
      'ubuntu-2404-lts-amd64', 'ubuntu-2404-lts-arm64', 'ubuntu-2204-lts', 'ubuntu-2204-lts-arm64',
      'ubuntu-minimal-2404-lts-amd64', 'ubuntu-minimal-2204-lts',
    ],
    names: /^ubuntu-(minimal-)?(2004|2204|2404)-[a-z]+-(amd64-|arm64-)?v\d{8}[a-z]?$/,
    sizeGb: 10,
  },
  'debian-cloud': { families: ['debian-12', 'debian-12-arm64', 'debian-11'], names: /^debian-(11|12)-[a-z]+-(arm64-)?v\d{8}$/, sizeGb: 10 },
  'cos-cloud': { families: ['cos-stable', 'cos-117-lts'], names: /^cos-(stable|\d+)-[0-9-]+$/, sizeGb: 10 },
  'rocky-linux-cloud': { families: ['rocky-linux-9'], names: /^rocky-linux-9-v\d{8}$/, sizeGb: 20 },
};

/**
 * Resolves a public image reference (`projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64` or a dated
 * image name). Returns its size in GB, or undefined when no such image exists.
 */
export function findImage(project: string, kind: 'family' | 'image', name: string): { sizeGb: number } | undefined {
  const p = IMAGE_PROJECTS[project];
  if (!p) return undefined;
  if (kind === 'family') return p.families.includes(name) ? { sizeGb: p.sizeGb } : undefined;
  return p.names.test(name) ? { sizeGb: p.sizeGb } : undefined;
}
