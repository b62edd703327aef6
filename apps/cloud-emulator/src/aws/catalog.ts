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

/**
 * The 17 regions a new AWS account has enabled by default ("Enable or disable AWS Regions in your account",
 * https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html: those launched before 20 March
 * 2019), with their Availability Zones (zone ids as AWS publishes them; the letter → id mapping is per account on
 * EC2, fixed here).
 */
export const REGIONS: readonly RegionInfo[] = [
  { name: 'us-east-1', zones: zonesOf('us-east-1', 'use1', 'abcdef', [6, 1, 2, 4, 3, 5]) },
  { name: 'us-east-2', zones: zonesOf('us-east-2', 'use2', 'abc', [1, 2, 3]) },
  { name: 'us-west-1', zones: zonesOf('us-west-1', 'usw1', 'ac', [1, 3]) },
  { name: 'us-west-2', zones: zonesOf('us-west-2', 'usw2', 'abcd', [2, 1, 3, 4]) },
  { name: 'ap-south-1', zones: zonesOf('ap-south-1', 'aps1', 'abc', [1, 3, 2]) },
  { name: 'ap-northeast-3', zones: zonesOf('ap-northeast-3', 'apne3', 'abc', [3, 1, 2]) },
  { name: 'ap-northeast-2', zones: zonesOf('ap-northeast-2', 'apne2', 'abcd', [1, 2, 3, 4]) },
  { name: 'ap-southeast-1', zones: zonesOf('ap-southeast-1', 'apse1', 'abc', [1, 2, 3]) },
  { name: 'ap-southeast-2', zones: zonesOf('ap-southeast-2', 'apse2', 'abc', [1, 3, 2]) },
  { name: 'ap-northeast-1', zones: zonesOf('ap-northeast-1', 'apne1', 'acd', [4, 1, 2]) },
  { name: 'ca-central-1', zones: zonesOf('ca-central-1', 'cac1', 'abd', [1, 2, 4]) },
  { name: 'eu-central-1', zones: zonesOf('eu-central-1', 'euc1', 'abc', [2, 3, 1]) },
  { name: 'eu-west-1', zones: zonesOf('eu-west-1', 'euw1', 'abc', [1, 2, 3]) },
  { name: 'eu-west-2', zones: zonesOf('eu-west-2', 'euw2', 'abc', [2, 3, 1]) },
  { name: 'eu-west-3', zones: zonesOf('eu-west-3', 'euw3', 'abc', [1, 2, 3]) },
  { name: 'eu-north-1', zones: zonesOf('eu-north-1', 'eun1', 'abc', [1, 2, 3]) },
  { name: 'sa-east-1', zones: zonesOf('sa-east-1', 'sae1', 'abc', [1, 2, 3]) },
];

/**
 * Opt-in regions (launched after 20 March 2019): listed by DescribeRegions with `AllRegions` as `not-opted-in`; the
 * sandbox accounts have not enabled any, so they serve no calls (`AuthFailure`, as a disabled region answers).
 */
export const OPT_IN_REGIONS: readonly string[] = [
  'af-south-1', 'ap-east-1', 'ap-south-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-7', 'ca-west-1',
  'eu-central-2', 'eu-south-1', 'eu-south-2', 'il-central-1', 'me-central-1', 'me-south-1', 'mx-central-1',
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

/** A family's network performance for sizes up to 4xlarge (EC2 instance types, "Network specifications"). */
const NETWORK: Record<string, string> = {};
const FAMILIES: Record<string, FamilyInfo & { arch: 'x86_64' | 'arm64' }> = {};
/** Instance type → its on-demand Linux price in us-east-1 (USD/hour). */
const LIST_PRICES = new Map<string, number>();

const family = (prefix: string, arch: 'x86_64' | 'arm64', info: FamilyInfo, sizes: Size[], network = 'Up to 12.5 Gigabit'): [string, InstanceTypeInfo][] => {
  FAMILIES[prefix] = { ...info, arch };
  NETWORK[prefix] = network;
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
  ...family('m1', 'x86_64', GP('Intel Xeon Family', 'Unknown', 'No'), [['small', 1, 1740, 0.044]], 'Low'),
  ...family('t2', 'x86_64', GP('Intel Xeon Family', 'Up to 3.3 GHz', 'Yes'), [['micro', 1, 1024, 0.0116], ['small', 1, 2048, 0.023], ['medium', 2, 4096, 0.0464], ['large', 2, 8192, 0.0928]], 'Low to Moderate'),
  ...family('t3', 'x86_64', GP('Intel Skylake E5 2686 v5', '3.1 GHz'), burst(0.0052), 'Up to 5 Gigabit'),
  ...family('t3a', 'x86_64', GP('AMD EPYC 7571', '2.5 GHz'), burst(0.0047), 'Up to 5 Gigabit'),
  ...family('t4g', 'arm64', GP('AWS Graviton2 Processor', '2.5 GHz'), burst(0.0042), 'Up to 5 Gigabit'),
  ...family('m5', 'x86_64', GP('Intel Xeon Platinum 8175', '3.1 GHz'), scaled(4096, 0.096, '4xlarge'), 'Up to 10 Gigabit'),
  ...family('m5a', 'x86_64', GP('AMD EPYC 7571', '2.5 GHz'), scaled(4096, 0.086, '4xlarge'), 'Up to 10 Gigabit'),
  ...family('m6i', 'x86_64', GP('Intel Xeon 8375C (Ice Lake)', '3.5 GHz'), scaled(4096, 0.096, '4xlarge')),
  ...family('m6a', 'x86_64', GP('AMD EPYC 7R13 Processor', '3.6 GHz'), scaled(4096, 0.0864, '4xlarge')),
  ...family('m7i', 'x86_64', GP('Intel Xeon Scalable (Sapphire Rapids)', '3.2 GHz'), scaled(4096, 0.1008, '4xlarge')),
  ...family('m6g', 'arm64', GP('AWS Graviton2 Processor', '2.5 GHz'), scaled(4096, 0.077, '4xlarge'), 'Up to 10 Gigabit'),
  ...family('m7g', 'arm64', GP('AWS Graviton3 Processor', '2.6 GHz'), scaled(4096, 0.0816, '4xlarge')),
  ...family('c5', 'x86_64', CO('Intel Xeon Platinum 8124M', '3.4 GHz'), scaled(2048, 0.085, '4xlarge'), 'Up to 10 Gigabit'),
  ...family('c6i', 'x86_64', CO('Intel Xeon 8375C (Ice Lake)', '3.5 GHz'), scaled(2048, 0.085, '4xlarge')),
  ...family('c6a', 'x86_64', CO('AMD EPYC 7R13 Processor', '3.6 GHz'), scaled(2048, 0.0765, '4xlarge')),
  ...family('c7i', 'x86_64', CO('Intel Xeon Scalable (Sapphire Rapids)', '3.2 GHz'), scaled(2048, 0.08925, '4xlarge')),
  ...family('c6g', 'arm64', CO('AWS Graviton2 Processor', '2.5 GHz'), scaled(2048, 0.068, '4xlarge'), 'Up to 10 Gigabit'),
  ...family('c7g', 'arm64', CO('AWS Graviton3 Processor', '2.6 GHz'), scaled(2048, 0.0725, '4xlarge')),
  ...family('r5', 'x86_64', MO('Intel Xeon Platinum 8175', '3.1 GHz'), scaled(8192, 0.126, '2xlarge'), 'Up to 10 Gigabit'),
  ...family('r6i', 'x86_64', MO('Intel Xeon 8375C (Ice Lake)', '3.5 GHz'), scaled(8192, 0.126, '2xlarge')),
  ...family('r6a', 'x86_64', MO('AMD EPYC 7R13 Processor', '3.6 GHz'), scaled(8192, 0.1134, '2xlarge')),
  ...family('r7i', 'x86_64', MO('Intel Xeon Scalable (Sapphire Rapids)', '3.2 GHz'), scaled(8192, 0.1323, '2xlarge')),
  ...family('r6g', 'arm64', MO('AWS Graviton2 Processor', '2.5 GHz'), scaled(8192, 0.1008, '2xlarge'), 'Up to 10 Gigabit'),
  ...family('r7g', 'arm64', MO('AWS Graviton3 Processor', '2.6 GHz'), scaled(8192, 0.1071, '2xlarge')),
]);

/** A family's network performance (`Up to 12.5 Gigabit`), as DescribeInstanceTypes and the Price List write it. */
export const networkPerformance = (instanceType: string): string => NETWORK[instanceType.split('.')[0]] ?? 'Up to 10 Gigabit';

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
  // m5.large: ap-south-1 $0.101, ap-northeast-1 $0.124, ap-northeast-2 $0.118, ap-northeast-3 $0.124,
  // ap-southeast-2 $0.12, ca-central-1 $0.107, eu-west-2 $0.111, eu-west-3 $0.112, sa-east-1 $0.153
  'ap-south-1': { location: 'Asia Pacific (Mumbai)', usagePrefix: 'APS3-', factor: 1.0521 },
  'ap-northeast-1': { location: 'Asia Pacific (Tokyo)', usagePrefix: 'APN1-', factor: 1.2917 },
  'ap-northeast-2': { location: 'Asia Pacific (Seoul)', usagePrefix: 'APN2-', factor: 1.2292 },
  'ap-northeast-3': { location: 'Asia Pacific (Osaka)', usagePrefix: 'APN3-', factor: 1.2917 },
  'ap-southeast-2': { location: 'Asia Pacific (Sydney)', usagePrefix: 'APS2-', factor: 1.25 },
  'ca-central-1': { location: 'Canada (Central)', usagePrefix: 'CAN1-', factor: 1.1146 },
  'eu-west-2': { location: 'EU (London)', usagePrefix: 'EUW2-', factor: 1.1563 },
  'eu-west-3': { location: 'EU (Paris)', usagePrefix: 'EUW3-', factor: 1.1667 },
  'sa-east-1': { location: 'South America (Sao Paulo)', usagePrefix: 'SAE1-', factor: 1.5938 },
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
