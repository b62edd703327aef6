/**
 * The VM sizes the sandbox's Azure offers, and their retail prices.
 *
 * Sizes (vCPUs, memory) follow Azure's size pages (learn.microsoft.com/azure/virtual-machines/sizes: B-series, Bsv2, Bpsv2, Dv3/Dsv3,
 * Dsv5, Dasv5, Dpsv5, Dlsv5, Esv5, Easv5, Epsv5, Fsv2). Prices are the Azure Retail Prices API's pay-as-you-go Linux
 * prices in eastus (prices.azure.com, 2025; e.g. Standard_B2s $0.0416, Standard_B2s_v2 $0.0832, Standard_D2s_v5 $0.096, Standard_D2ps_v5 $0.077).
 * A `p` in the size's feature letters marks an Arm64 (Ampere Altra) size, as Azure's naming convention says.
 */
export interface VmSizeInfo {
  name: string;
  vcpu: number;
  memoryMiB: number;
  /** `x64` or `Arm64` (the resource SKU capability `CpuArchitectureType`). */
  arch: 'x64' | 'Arm64';
  /** The Retail Prices API's product name (`Virtual Machines Dsv5 Series`) and on-demand Linux USD/hour in eastus. */
  productName: string;
  usd: number;
  /** Temporary (resource) disk, MiB; 0 for sizes without one. */
  resourceDiskMiB: number;
  maxDataDisks: number;
  /** The quota family (resource SKU `family`, Usage - List `name.value`): `standardDSv5Family`. */
  family: string;
}

const series = (productSeries: string, family: string, sizes: [string, number, number, number][], resourceDiskPerVcpuMiB = 0): VmSizeInfo[] =>
  sizes.map(([name, vcpu, memGiB, usd]) => ({
    family,
    name,
    vcpu,
    memoryMiB: Math.round(memGiB * 1024),
    arch: /^Standard_[A-Z]+\d+[a-z]*p[a-z]*_v\d+$/.test(name) ? 'Arm64' : 'x64',
    productName: `Virtual Machines ${productSeries} Series`,
    usd,
    resourceDiskMiB: resourceDiskPerVcpuMiB * vcpu,
    maxDataDisks: Math.min(32, vcpu * 4),
  }));

/** Linux price per vCPU-hour of a series, times its sizes (the size pages' vCPU × GiB grid). */
const grid = (prefix: string, suffix: string, memPerVcpu: number, perVcpu: number, vcpus: number[]): [string, number, number, number][] =>
  vcpus.map((n) => [`Standard_${prefix}${n}${suffix}`, n, n * memPerVcpu, Math.round(n * perVcpu * 10000) / 10000]);

export const VM_SIZE_LIST: readonly VmSizeInfo[] = [
  ...series('BS', 'standardBSFamily', [
    ['Standard_B1ls', 1, 0.5, 0.0052], ['Standard_B1s', 1, 1, 0.0104], ['Standard_B1ms', 1, 2, 0.0207], ['Standard_B2s', 2, 4, 0.0416],
    ['Standard_B2ms', 2, 8, 0.0832], ['Standard_B4ms', 4, 16, 0.166], ['Standard_B8ms', 8, 32, 0.333], ['Standard_B12ms', 12, 48, 0.499],
    ['Standard_B16ms', 16, 64, 0.666], ['Standard_B20ms', 20, 80, 0.832],
  ], 4096),
  // Bsv2 / Bpsv2 (2023 burstable line; Bpsv2 on Ampere Altra Arm64)
  ...series('BSv2', 'standardBsv2Family', [
    ['Standard_B2ts_v2', 2, 1, 0.0104], ['Standard_B2ls_v2', 2, 4, 0.0416], ['Standard_B2s_v2', 2, 8, 0.0832], ['Standard_B4ls_v2', 4, 8, 0.0832],
    ['Standard_B4s_v2', 4, 16, 0.1664], ['Standard_B8s_v2', 8, 32, 0.3328], ['Standard_B16s_v2', 16, 64, 0.6656],
  ]),
  ...series('Bpsv2', 'standardBpsv2Family', [
    ['Standard_B2pts_v2', 2, 1, 0.0084], ['Standard_B2pls_v2', 2, 4, 0.0336], ['Standard_B2ps_v2', 2, 8, 0.0672], ['Standard_B4ps_v2', 4, 16, 0.1344],
    ['Standard_B8ps_v2', 8, 32, 0.2688],
  ]),
  ...series('DSv3', 'standardDSv3Family', grid('D', 's_v3', 4, 0.048, [2, 4, 8, 16, 32]), 8192),
  ...series('Dsv5', 'standardDSv5Family', grid('D', 's_v5', 4, 0.048, [2, 4, 8, 16, 32, 48, 64])),
  ...series('Dasv5', 'standardDASv5Family', grid('D', 'as_v5', 4, 0.043, [2, 4, 8, 16, 32])),
  ...series('Dpsv5', 'standardDPSv5Family', grid('D', 'ps_v5', 4, 0.0385, [2, 4, 8, 16, 32])),
  ...series('Dlsv5', 'standardDLSv5Family', grid('D', 'ls_v5', 2, 0.0425, [2, 4, 8, 16])),
  ...series('Esv5', 'standardESv5Family', grid('E', 's_v5', 8, 0.063, [2, 4, 8, 16, 32])),
  ...series('Easv5', 'standardEASv5Family', grid('E', 'as_v5', 8, 0.0565, [2, 4, 8, 16])),
  ...series('Epsv5', 'standardEPSv5Family', grid('E', 'ps_v5', 8, 0.0505, [2, 4, 8])),
  ...series('FSv2', 'standardFSv2Family', grid('F', 's_v2', 2, 0.0423, [2, 4, 8, 16, 32]), 8192),
];

export const findVmSize = (name: string): VmSizeInfo | undefined => VM_SIZE_LIST.find((s) => s.name.toLowerCase() === name.toLowerCase());

/**
 * The Retail Prices API's location name per ARM region and the factor of its prices over eastus's (read off the
 * public Linux price of Standard_D2s_v5 in each region, 2025; regions without a close figure get the price of
 * their geography's usual premium).
 */
export const REGION_PRICING: Readonly<Record<string, { location: string; factor: number }>> = {
  eastus: { location: 'US East', factor: 1 },
  eastus2: { location: 'US East 2', factor: 1 },
  centralus: { location: 'US Central', factor: 1.1 },
  northcentralus: { location: 'US North Central', factor: 1.0 },
  southcentralus: { location: 'US South Central', factor: 1.1 },
  westcentralus: { location: 'US West Central', factor: 1.1 },
  westus: { location: 'US West', factor: 1.1 },
  westus2: { location: 'US West 2', factor: 1.0 },
  westus3: { location: 'US West 3', factor: 1.0 },
  canadacentral: { location: 'CA Central', factor: 1.1 },
  brazilsouth: { location: 'BR South', factor: 1.5 },
  northeurope: { location: 'EU North', factor: 1.0938 },
  westeurope: { location: 'EU West', factor: 1.1458 },
  uksouth: { location: 'UK South', factor: 1.1667 },
  ukwest: { location: 'UK West', factor: 1.1667 },
  francecentral: { location: 'FR Central', factor: 1.1979 },
  germanywestcentral: { location: 'DE West Central', factor: 1.1979 },
  swedencentral: { location: 'SE Central', factor: 1.0938 },
  switzerlandnorth: { location: 'CH North', factor: 1.3125 },
  norwayeast: { location: 'NO East', factor: 1.2396 },
  polandcentral: { location: 'PL Central', factor: 1.1979 },
  italynorth: { location: 'IT North', factor: 1.1979 },
  japaneast: { location: 'JA East', factor: 1.2917 },
  koreacentral: { location: 'KR Central', factor: 1.2083 },
  australiaeast: { location: 'AU East', factor: 1.25 },
  southeastasia: { location: 'AP Southeast', factor: 1.1979 },
  eastasia: { location: 'AP East', factor: 1.4167 },
  centralindia: { location: 'IN Central', factor: 1.0208 },
  southafricanorth: { location: 'ZA North', factor: 1.2292 },
  uaenorth: { location: 'AE North', factor: 1.2083 },
};

/** A quota family's display name, as Usage - List writes it (`standardDSv5Family` → `Standard DSv5 Family vCPUs`). */
export const familyDisplayName = (family: string): string => `Standard ${family.replace(/^standard/, '').replace(/Family$/, '')} Family vCPUs`;

/**
 * Marketplace images the sandbox knows (Virtual Machine Images - List Publishers/Offers/Skus/List): publisher, offer,
 * its SKUs (with architecture and Hyper-V generation) and versions, oldest first; `latest` is the last. Names as
 * Canonical and Debian publish them on Azure (`Canonical:ubuntu-24_04-lts:server:latest`, `…:server-arm64`).
 */
export interface MarketplaceImage {
  publisher: string;
  offer: string;
  skus: string[];
  /** Arm64 SKUs; the others are x64. */
  arm64Skus: string[];
  /** Hyper-V generation 1 SKUs; the others are V2. */
  gen1Skus: string[];
  versions: string[];
  latest: string;
}

const image = (publisher: string, offer: string, skus: string[], versions: string[]): MarketplaceImage => ({
  publisher, offer, skus, versions, latest: versions[versions.length - 1],
  arm64Skus: skus.filter((s) => s.includes('arm64')),
  gen1Skus: skus.filter((s) => s.includes('gen1') || s === '22_04-lts' || s === '12'),
});

export const IMAGES: readonly MarketplaceImage[] = [
  image('Canonical', 'ubuntu-24_04-lts', ['server', 'server-gen1', 'minimal', 'server-arm64', 'minimal-arm64'], ['24.04.202508120', '24.04.202509090', '24.04.202510010']),
  image('Canonical', '0001-com-ubuntu-server-jammy', ['22_04-lts', '22_04-lts-gen2', '22_04-lts-arm64'], ['22.04.202508120', '22.04.202509090', '22.04.202510010']),
  image('Debian', 'debian-12', ['12', '12-gen2', '12-arm64'], ['0.20250806.2196', '0.20250902.2226', '0.20251001.2250']),
];
