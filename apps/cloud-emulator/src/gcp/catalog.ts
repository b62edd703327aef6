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

/** Machine types offered in every zone of the sandbox: name → vCPUs and memory (MiB). */
export const MACHINE_TYPES: Readonly<Record<string, { cpus: number; memoryMb: number }>> = {
  'e2-micro': { cpus: 2, memoryMb: 1024 },
  'e2-small': { cpus: 2, memoryMb: 2048 },
  'e2-medium': { cpus: 2, memoryMb: 4096 },
  'e2-standard-2': { cpus: 2, memoryMb: 8192 },
  'e2-standard-4': { cpus: 4, memoryMb: 16384 },
  'e2-standard-8': { cpus: 8, memoryMb: 32768 },
  'e2-standard-16': { cpus: 16, memoryMb: 65536 },
  'e2-standard-32': { cpus: 32, memoryMb: 131072 },
  'e2-highmem-2': { cpus: 2, memoryMb: 16384 },
  'e2-highmem-4': { cpus: 4, memoryMb: 32768 },
  'e2-highcpu-2': { cpus: 2, memoryMb: 2048 },
  'e2-highcpu-4': { cpus: 4, memoryMb: 4096 },
  'n1-standard-1': { cpus: 1, memoryMb: 3840 },
  'n1-standard-2': { cpus: 2, memoryMb: 7680 },
  'n1-standard-4': { cpus: 4, memoryMb: 15360 },
  'n2-standard-2': { cpus: 2, memoryMb: 8192 },
  'n2-standard-4': { cpus: 4, memoryMb: 16384 },
  'n2-standard-8': { cpus: 8, memoryMb: 32768 },
  'n2d-standard-2': { cpus: 2, memoryMb: 8192 },
  'n2d-standard-4': { cpus: 4, memoryMb: 16384 },
  'c3-standard-4': { cpus: 4, memoryMb: 16384 },
  't2d-standard-1': { cpus: 1, memoryMb: 4096 },
  't2d-standard-2': { cpus: 2, memoryMb: 8192 },
};

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
