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

/** A size of a family: name, vCPUs, memory (MiB), on-demand Linux USD/hour in us-east-1. */
type Size = [string, number, number, number];

/** What the Price List API says of a family (product attributes). */
export interface FamilyInfo {
  instanceFamily: 'General purpose' | 'Compute optimized' | 'Memory optimized';
  physicalProcessor: string;
  clockSpeed: string;
  currentGeneration: 'Yes' | 'No';
}

const FAMILIES: Record<string, FamilyInfo & { arch: 'x86_64' | 'arm64' }> = {};
/** Instance type → its on-demand Linux price in us-east-1 (USD/hour). */
const LIST_PRICES = new Map<string, number>();

const family = (prefix: string, arch: 'x86_64' | 'arm64', info: FamilyInfo, sizes: Size[]): [string, InstanceTypeInfo][] => {
  FAMILIES[prefix] = { ...info, arch };
  return sizes.map(([size, vcpu, mem, usd]) => {
    LIST_PRICES.set(`${prefix}.${size}`, usd);
    return [`${prefix}.${size}`, { vcpu, memoryMiB: mem, architecture: arch }];
  });
};

/** Burstable sizes priced from the family's `nano` price (each size doubles it; xlarge and 2xlarge double vCPUs too). */
const burst = (nano: number): Size[] => [
  ['nano', 2, 512, nano], ['micro', 2, 1024, nano * 2], ['small', 2, 2048, nano * 4], ['medium', 2, 4096, nano * 8],
  ['large', 2, 8192, nano * 16], ['xlarge', 4, 16384, nano * 32], ['2xlarge', 8, 32768, nano * 64],
];
/** Sizes from `large` up, the price doubling with each (vCPUs and memory too), as EC2's fixed-performance families are priced. */
const scaled = (memPerVcpuMiB: number, large: number, upTo: '2xlarge' | '4xlarge'): Size[] =>
  (['large', 'xlarge', '2xlarge', '4xlarge'] as const).slice(0, upTo === '2xlarge' ? 3 : 4).map((size, i) => [size, 2 << i, (2 << i) * memPerVcpuMiB, large * (1 << i)]);

const GP = (physicalProcessor: string, clockSpeed: string, currentGeneration: 'Yes' | 'No' = 'Yes'): FamilyInfo => ({ instanceFamily: 'General purpose', physicalProcessor, clockSpeed, currentGeneration });
const CO = (physicalProcessor: string, clockSpeed: string): FamilyInfo => ({ instanceFamily: 'Compute optimized', physicalProcessor, clockSpeed, currentGeneration: 'Yes' });
const MO = (physicalProcessor: string, clockSpeed: string): FamilyInfo => ({ instanceFamily: 'Memory optimized', physicalProcessor, clockSpeed, currentGeneration: 'Yes' });

/**
 * Instance types the sandbox's EC2 launches, and their prices. Sizes and processors follow "Amazon EC2 instance
 * types" (docs.aws.amazon.com/ec2/latest/instancetypes); prices are AWS's public on-demand Linux list prices in
 * us-east-1 (aws.amazon.com/ec2/pricing/on-demand, 2025), e.g. t3.medium $0.0416, m5.large $0.096, m6g.large $0.077.
 */
export const INSTANCE_TYPES: ReadonlyMap<string, InstanceTypeInfo> = new Map([
  // RunInstances' documented default when InstanceType is omitted (previous generation).
  ...family('m1', 'x86_64', GP('Intel Xeon Family', 'Unknown', 'No'), [['small', 1, 1740, 0.044]]),
  ...family('t2', 'x86_64', GP('Intel Xeon Family', 'Up to 3.3 GHz', 'Yes'), [['micro', 1, 1024, 0.0116], ['small', 1, 2048, 0.023], ['medium', 2, 4096, 0.0464], ['large', 2, 8192, 0.0928]]),
  ...family('t3', 'x86_64', GP('Intel Skylake E5 2686 v5', '3.1 GHz'), burst(0.0052)),
  ...family('t3a', 'x86_64', GP('AMD EPYC 7571', '2.5 GHz'), burst(0.0047)),
  ...family('t4g', 'arm64', GP('AWS Graviton2 Processor', '2.5 GHz'), burst(0.0042)),
  ...family('m5', 'x86_64', GP('Intel Xeon Platinum 8175', '3.1 GHz'), scaled(4096, 0.096, '4xlarge')),
  ...family('m6i', 'x86_64', GP('Intel Xeon 8375C (Ice Lake)', '3.5 GHz'), scaled(4096, 0.096, '4xlarge')),
  ...family('m7i', 'x86_64', GP('Intel Xeon Scalable (Sapphire Rapids)', '3.2 GHz'), scaled(4096, 0.1008, '4xlarge')),
  ...family('m6g', 'arm64', GP('AWS Graviton2 Processor', '2.5 GHz'), scaled(4096, 0.077, '4xlarge')),
  ...family('m7g', 'arm64', GP('AWS Graviton3 Processor', '2.6 GHz'), scaled(4096, 0.0816, '4xlarge')),
  ...family('c5', 'x86_64', CO('Intel Xeon Platinum 8124M', '3.4 GHz'), scaled(2048, 0.085, '4xlarge')),
  ...family('c6i', 'x86_64', CO('Intel Xeon 8375C (Ice Lake)', '3.5 GHz'), scaled(2048, 0.085, '4xlarge')),
  ...family('c6g', 'arm64', CO('AWS Graviton2 Processor', '2.5 GHz'), scaled(2048, 0.068, '4xlarge')),
  ...family('c7g', 'arm64', CO('AWS Graviton3 Processor', '2.6 GHz'), scaled(2048, 0.0725, '4xlarge')),
  ...family('r5', 'x86_64', MO('Intel Xeon Platinum 8175', '3.1 GHz'), scaled(8192, 0.126, '2xlarge')),
  ...family('r6i', 'x86_64', MO('Intel Xeon 8375C (Ice Lake)', '3.5 GHz'), scaled(8192, 0.126, '2xlarge')),
  ...family('r6g', 'arm64', MO('AWS Graviton2 Processor', '2.5 GHz'), scaled(8192, 0.1008, '2xlarge')),
]);

/** The Price List attributes of an instance type's family (`m5` of `m5.large`). */
export const familyInfo = (instanceType: string): FamilyInfo | undefined => FAMILIES[instanceType.split('.')[0]];

/** An instance type's on-demand Linux list price in us-east-1, USD/hour (rounded as AWS writes it). */
export const listPrice = (instanceType: string): number | undefined => {
  const p = LIST_PRICES.get(instanceType);
  return p === undefined ? undefined : Math.round(p * 1e4) / 1e4;
};

/**
 * Per region: the Price List `location` name, the `usagetype` prefix, and the factor of its prices over us-east-1's
 * (read off the public on-demand prices of m5.large: us-east-2 and us-west-2 $0.096, eu-north-1 $0.102, eu-west-1
 * $0.107, us-west-1 $0.112, eu-central-1 $0.115, ap-southeast-1 $0.12).
 */
export const REGION_PRICING: Readonly<Record<string, { location: string; usagePrefix: string; factor: number }>> = {
  'us-east-1': { location: 'US East (N. Virginia)', usagePrefix: '', factor: 1 },
  'us-east-2': { location: 'US East (Ohio)', usagePrefix: 'USE2-', factor: 1 },
  'us-west-1': { location: 'US West (N. California)', usagePrefix: 'USW1-', factor: 1.1667 },
  'us-west-2': { location: 'US West (Oregon)', usagePrefix: 'USW2-', factor: 1 },
  'eu-central-1': { location: 'EU (Frankfurt)', usagePrefix: 'EUC1-', factor: 1.1979 },
  'eu-west-1': { location: 'EU (Ireland)', usagePrefix: 'EU-', factor: 1.1146 },
  'eu-north-1': { location: 'EU (Stockholm)', usagePrefix: 'EUN1-', factor: 1.0625 },
  'ap-southeast-1': { location: 'Asia Pacific (Singapore)', usagePrefix: 'APS1-', factor: 1.25 },
};

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
