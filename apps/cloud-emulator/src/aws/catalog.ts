import { createHash } from 'node:crypto';

/**
 * What the sandbox's EC2 offers in every account: regions and their Availability Zones, instance types, and the
 * public images (Canonical's Ubuntu and Amazon Linux) a fresh AWS account sees. Values follow the real catalogue
 * (names, owners, architectures); dates and ids are the sandbox's own.
 */
export interface RegionInfo {
  name: string;
  /** Zone letter → zone id (`use1-az1` …). */
  zones: { name: string; id: string }[];
}

const zonesOf = (region: string, prefix: string, letters: string, ids: number[]): { name: string; id: string }[] =>
  letters.split('').map((l, i) => ({ name: `${region}${l}`, id: `${prefix}-az${ids[i]}` }));

export const REGIONS: readonly RegionInfo[] = [
  { name: 'us-east-1', zones: zonesOf('us-east-1', 'use1', 'abcdef', [6, 1, 2, 4, 3, 5]) },
  { name: 'us-east-2', zones: zonesOf('us-east-2', 'use2', 'abc', [1, 2, 3]) },
  { name: 'us-west-1', zones: zonesOf('us-west-1', 'usw1', 'ac', [1, 3]) },
  { name: 'us-west-2', zones: zonesOf('us-west-2', 'usw2', 'abcd', [2, 1, 3, 4]) },
  { name: 'eu-central-1', zones: zonesOf('eu-central-1', 'euc1', 'abc', [2, 3, 1]) },
  { name: 'eu-west-1', zones: zonesOf('eu-west-1', 'euw1', 'abc', [1, 2, 3]) },
  { name: 'eu-north-1', zones: zonesOf('eu-north-1', 'eun1', 'abc', [1, 2, 3]) },
  { name: 'ap-southeast-1', zones: zonesOf('ap-southeast-1', 'apse1', 'abc', [1, 2, 3]) },
];

export const findRegion = (name: string): RegionInfo | undefined => REGIONS.find((r) => r.name === name);

/** An EC2 instance type: vCPUs, memory (MiB) and CPU architecture. */
export interface InstanceTypeInfo {
  vcpu: number;
  memoryMiB: number;
  architecture: 'x86_64' | 'arm64';
}

const family = (prefix: string, arch: 'x86_64' | 'arm64', sizes: [string, number, number][]): [string, InstanceTypeInfo][] =>
  sizes.map(([size, vcpu, mem]) => [`${prefix}.${size}`, { vcpu, memoryMiB: mem, architecture: arch }]);

const BURST: [string, number, number][] = [
  ['nano', 2, 512], ['micro', 2, 1024], ['small', 2, 2048], ['medium', 2, 4096], ['large', 2, 8192], ['xlarge', 4, 16384], ['2xlarge', 8, 32768],
];
const GENERAL: [string, number, number][] = [['large', 2, 8192], ['xlarge', 4, 16384], ['2xlarge', 8, 32768], ['4xlarge', 16, 65536]];
const COMPUTE: [string, number, number][] = [['large', 2, 4096], ['xlarge', 4, 8192], ['2xlarge', 8, 16384], ['4xlarge', 16, 32768]];
const MEMORY: [string, number, number][] = [['large', 2, 16384], ['xlarge', 4, 32768], ['2xlarge', 8, 65536]];

export const INSTANCE_TYPES: ReadonlyMap<string, InstanceTypeInfo> = new Map([
  // RunInstances' documented default when InstanceType is omitted.
  ['m1.small', { vcpu: 1, memoryMiB: 1740, architecture: 'x86_64' }],
  ...family('t2', 'x86_64', [['micro', 1, 1024], ['small', 1, 2048], ['medium', 2, 4096], ['large', 2, 8192]]),
  ...family('t3', 'x86_64', BURST),
  ...family('t3a', 'x86_64', BURST),
  ...family('t4g', 'arm64', BURST),
  ...family('m5', 'x86_64', GENERAL),
  ...family('m6i', 'x86_64', GENERAL),
  ...family('m7i', 'x86_64', GENERAL),
  ...family('m6g', 'arm64', GENERAL),
  ...family('c5', 'x86_64', COMPUTE),
  ...family('c6i', 'x86_64', COMPUTE),
  ...family('r5', 'x86_64', MEMORY),
  ...family('r6i', 'x86_64', MEMORY),
]);

/** A public image. */
export interface ImageInfo {
  imageId: string;
  name: string;
  description: string;
  ownerId: string;
  ownerAlias?: string;
  architecture: 'x86_64' | 'arm64';
  creationDate: string;
  deprecationTime: string;
  rootDeviceName: string;
  snapshotId: string;
  volumeSize: number;
  imdsSupport?: string;
}

/** Canonical's AWS account, owner of the official Ubuntu AMIs. */
export const CANONICAL_OWNER = '099720109477';
/** The account that owns Amazon Linux AMIs (alias `amazon`). */
export const AMAZON_OWNER = '137112412989';

const hex = (seed: string, len: number): string => createHash('sha256').update(seed).digest('hex').slice(0, len);

interface ImageSeed { name: string; description: string; owner: string; alias?: string; arch: 'x86_64' | 'arm64'; date: string; root: string; size: number; imds?: string }

const UBUNTU = (series: string, ver: string, arch: 'amd64' | 'arm64', stamp: string, store = 'hvm-ssd-gp3'): ImageSeed => ({
  name: `ubuntu/images/${store}/ubuntu-${series}-${ver}-${arch}-server-${stamp}`,
  description: `Canonical, Ubuntu, ${ver}, ${arch} ${series} image`,
  owner: CANONICAL_OWNER,
  arch: arch === 'amd64' ? 'x86_64' : 'arm64',
  date: `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T08:21:37.000Z`,
  root: '/dev/sda1',
  size: 8,
});

const IMAGE_SEEDS: ImageSeed[] = [
  UBUNTU('noble', '24.04', 'amd64', '20250305'),
  UBUNTU('noble', '24.04', 'amd64', '20250610'),
  UBUNTU('noble', '24.04', 'amd64', '20251022'),
  UBUNTU('noble', '24.04', 'arm64', '20251022'),
  UBUNTU('jammy', '22.04', 'amd64', '20250925', 'hvm-ssd'),
  {
    name: 'al2023-ami-2023.9.20251020.0-kernel-6.1-x86_64',
    description: 'Amazon Linux 2023 AMI 2023.9.20251020.0 x86_64 HVM kernel-6.1',
    owner: AMAZON_OWNER,
    alias: 'amazon',
    arch: 'x86_64',
    date: '2025-10-21T19:02:11.000Z',
    root: '/dev/xvda',
    size: 8,
    imds: 'v2.0',
  },
];

/** The public images of a region (ids are stable per region, like real AMI ids). */
export function regionImages(region: string): ImageInfo[] {
  return IMAGE_SEEDS.map((s) => {
    const created = new Date(s.date);
    return {
      imageId: `ami-${hex(`${region}/${s.name}`, 17)}`,
      name: s.name,
      description: s.description,
      ownerId: s.owner,
      ownerAlias: s.alias,
      architecture: s.arch,
      creationDate: s.date,
      deprecationTime: new Date(created.getTime() + 2 * 365 * 24 * 3600 * 1000).toISOString(),
      rootDeviceName: s.root,
      snapshotId: `snap-${hex(`snap/${region}/${s.name}`, 17)}`,
      volumeSize: s.size,
      imdsSupport: s.imds,
    };
  });
}
