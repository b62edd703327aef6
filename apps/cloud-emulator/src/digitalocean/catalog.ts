/**
 * The sandbox's DigitalOcean catalogue: regions, Droplet sizes and public images, shaped as API v2 returns them
 * (`GET /v2/regions`, `GET /v2/sizes`, the `image` object inside a Droplet).
 * Reference: https://docs.digitalocean.com/reference/api/api-reference/#tag/Regions, #tag/Sizes, #tag/Images
 */

export interface DoRegion {
  slug: string;
  name: string;
  features: string[];
  available: boolean;
  sizes: string[];
}

/**
 * A Droplet size as `GET /v2/sizes` answers it: `memory` in MiB, `disk` in GB, `transfer` in TB per month, prices in
 * USD (`price_hourly` = `price_monthly` / 672), `disk_info` the local disk in GiB.
 */
export interface DoSize {
  slug: string;
  memory: number;
  vcpus: number;
  disk: number;
  transfer: number;
  price_monthly: number;
  price_hourly: number;
  regions: string[];
  available: boolean;
  description: string;
  disk_info: { type: 'local'; size: { amount: number; unit: 'gib' } }[];
}

/** A public image as `GET /v2/images` answers it (`size_gigabytes` and `min_disk_size` in GB). */
export interface DoImage {
  id: number;
  name: string;
  distribution: string;
  slug: string;
  public: boolean;
  regions: string[];
  created_at: string;
  min_disk_size: number;
  type: 'base';
  size_gigabytes: number;
  description: string;
  tags: string[];
  status: 'available';
  error_message: string;
}

/**
 * DigitalOcean's datacenter regions, as `GET /v2/regions` lists them: the twelve that take new Droplets, and the
 * three retired ones it still lists with `available: false` (nyc2, ams2, sfo1).
 */
const REGION_NAMES: Record<string, string> = {
  nyc1: 'New York 1',
  nyc3: 'New York 3',
  sfo2: 'San Francisco 2',
  sfo3: 'San Francisco 3',
  ams3: 'Amsterdam 3',
  sgp1: 'Singapore 1',
  lon1: 'London 1',
  fra1: 'Frankfurt 1',
  tor1: 'Toronto 1',
  blr1: 'Bangalore 1',
  syd1: 'Sydney 1',
  atl1: 'Atlanta 1',
};
const RETIRED_REGION_NAMES: Record<string, string> = { nyc2: 'New York 2', ams2: 'Amsterdam 2', sfo1: 'San Francisco 1' };

/** `price_hourly` of a monthly price (÷ 672 hours, 5 decimals, as DigitalOcean writes it). */
export const hourlyOf = (monthly: number): number => Math.round((monthly / 672) * 100000) / 100000;

const size = (slug: string, vcpus: number, memory: number, disk: number, transfer: number, monthly: number, description: string): DoSize => ({
  slug,
  memory,
  vcpus,
  disk,
  transfer,
  price_monthly: monthly,
  price_hourly: hourlyOf(monthly),
  regions: Object.keys(REGION_NAMES),
  available: true,
  description,
  disk_info: [{ type: 'local', size: { amount: disk, unit: 'gib' } }],
});

/**
 * Droplet sizes: slugs, vCPUs, memory (MiB), disk (GB), transfer (TB) and monthly list prices as DigitalOcean publishes
 * them (digitalocean.com/pricing/droplets and `GET /v2/sizes`, 2025). The hourly price is the monthly one over 672 hours
 * (DigitalOcean caps a month at 672 billed hours), as `price_hourly` is on the real API. Prices do not vary by region.
 */
export const SIZES: readonly DoSize[] = [
  // Basic (shared CPU): regular, and Premium AMD / Intel
  size('s-1vcpu-512mb-10gb', 1, 512, 10, 0.5, 4, 'Basic'),
  size('s-1vcpu-1gb', 1, 1024, 25, 1, 6, 'Basic'),
  size('s-1vcpu-1gb-amd', 1, 1024, 25, 1, 7, 'Premium AMD'),
  size('s-1vcpu-1gb-intel', 1, 1024, 25, 1, 7, 'Premium Intel'),
  size('s-1vcpu-2gb', 1, 2048, 50, 2, 12, 'Basic'),
  size('s-1vcpu-2gb-amd', 1, 2048, 50, 2, 14, 'Premium AMD'),
  size('s-1vcpu-2gb-intel', 1, 2048, 50, 2, 14, 'Premium Intel'),
  size('s-2vcpu-2gb', 2, 2048, 60, 3, 18, 'Basic'),
  size('s-2vcpu-2gb-amd', 2, 2048, 60, 3, 21, 'Premium AMD'),
  size('s-2vcpu-2gb-intel', 2, 2048, 60, 3, 21, 'Premium Intel'),
  size('s-2vcpu-4gb', 2, 4096, 80, 4, 24, 'Basic'),
  size('s-2vcpu-4gb-amd', 2, 4096, 80, 4, 28, 'Premium AMD'),
  size('s-2vcpu-4gb-intel', 2, 4096, 80, 4, 28, 'Premium Intel'),
  size('s-2vcpu-8gb-amd', 2, 8192, 100, 5, 42, 'Premium AMD'),
  size('s-2vcpu-8gb-160gb-intel', 2, 8192, 160, 5, 42, 'Premium Intel'),
  size('s-4vcpu-8gb', 4, 8192, 160, 5, 48, 'Basic'),
  size('s-4vcpu-8gb-amd', 4, 8192, 160, 5, 56, 'Premium AMD'),
  size('s-4vcpu-8gb-intel', 4, 8192, 160, 5, 56, 'Premium Intel'),
  size('s-4vcpu-16gb-amd', 4, 16384, 200, 8, 84, 'Premium AMD'),
  size('s-4vcpu-16gb-320gb-intel', 4, 16384, 320, 8, 84, 'Premium Intel'),
  size('s-8vcpu-16gb', 8, 16384, 320, 6, 96, 'Basic'),
  size('s-8vcpu-16gb-amd', 8, 16384, 320, 6, 112, 'Premium AMD'),
  size('s-8vcpu-16gb-intel', 8, 16384, 320, 6, 112, 'Premium Intel'),
  size('s-8vcpu-32gb-amd', 8, 32768, 400, 10, 168, 'Premium AMD'),
  size('s-8vcpu-32gb-640gb-intel', 8, 32768, 640, 10, 168, 'Premium Intel'),
  // General Purpose (dedicated CPU)
  size('g-2vcpu-8gb', 2, 8192, 25, 4, 63, 'General Purpose'),
  size('g-4vcpu-16gb', 4, 16384, 50, 5, 126, 'General Purpose'),
  size('g-8vcpu-32gb', 8, 32768, 100, 6, 252, 'General Purpose'),
  size('g-16vcpu-64gb', 16, 65536, 200, 7, 504, 'General Purpose'),
  size('g-32vcpu-128gb', 32, 131072, 400, 8, 1008, 'General Purpose'),
  size('g-40vcpu-160gb', 40, 163840, 500, 9, 1260, 'General Purpose'),
  size('gd-2vcpu-8gb', 2, 8192, 50, 4, 68, 'General Purpose'),
  size('gd-4vcpu-16gb', 4, 16384, 100, 5, 136, 'General Purpose'),
  size('gd-8vcpu-32gb', 8, 32768, 200, 6, 272, 'General Purpose'),
  size('gd-16vcpu-64gb', 16, 65536, 400, 7, 544, 'General Purpose'),
  size('gd-32vcpu-128gb', 32, 131072, 800, 8, 1088, 'General Purpose'),
  size('gd-40vcpu-160gb', 40, 163840, 1000, 9, 1360, 'General Purpose'),
  // CPU-Optimized (dedicated CPU)
  size('c-2', 2, 4096, 25, 4, 42, 'CPU-Optimized'),
  size('c-4', 4, 8192, 50, 5, 84, 'CPU-Optimized'),
  size('c-8', 8, 16384, 100, 6, 168, 'CPU-Optimized'),
  size('c-16', 16, 32768, 200, 7, 336, 'CPU-Optimized'),
  size('c-32', 32, 65536, 400, 9, 672, 'CPU-Optimized'),
  size('c-48', 48, 98304, 600, 11, 1008, 'CPU-Optimized'),
  size('c2-2vcpu-4gb', 2, 4096, 50, 4, 47, 'CPU-Optimized 2x SSD'),
  size('c2-4vcpu-8gb', 4, 8192, 100, 5, 94, 'CPU-Optimized 2x SSD'),
  size('c2-8vcpu-16gb', 8, 16384, 200, 6, 188, 'CPU-Optimized 2x SSD'),
  size('c2-16vcpu-32gb', 16, 32768, 400, 7, 376, 'CPU-Optimized 2x SSD'),
  size('c2-32vcpu-64gb', 32, 65536, 800, 9, 752, 'CPU-Optimized 2x SSD'),
  size('c2-48vcpu-96gb', 48, 98304, 1200, 11, 1128, 'CPU-Optimized 2x SSD'),
  // Memory-Optimized (dedicated CPU)
  size('m-2vcpu-16gb', 2, 16384, 50, 4, 84, 'Memory-Optimized'),
  size('m-4vcpu-32gb', 4, 32768, 100, 6, 168, 'Memory-Optimized'),
  size('m-8vcpu-64gb', 8, 65536, 200, 7, 336, 'Memory-Optimized'),
  size('m-16vcpu-128gb', 16, 131072, 400, 8, 672, 'Memory-Optimized'),
  size('m-24vcpu-192gb', 24, 196608, 600, 9, 1008, 'Memory-Optimized'),
  size('m-32vcpu-256gb', 32, 262144, 800, 10, 1344, 'Memory-Optimized'),
  size('m3-2vcpu-16gb', 2, 16384, 150, 4, 104, 'Memory-Optimized 3x SSD'),
  size('m3-4vcpu-32gb', 4, 32768, 300, 6, 208, 'Memory-Optimized 3x SSD'),
  size('m3-8vcpu-64gb', 8, 65536, 600, 7, 416, 'Memory-Optimized 3x SSD'),
  size('m3-16vcpu-128gb', 16, 131072, 1200, 8, 832, 'Memory-Optimized 3x SSD'),
  // Storage-Optimized (dedicated CPU)
  size('so-2vcpu-16gb', 2, 16384, 300, 4, 131, 'Storage-Optimized'),
  size('so-4vcpu-32gb', 4, 32768, 600, 6, 262, 'Storage-Optimized'),
  size('so-8vcpu-64gb', 8, 65536, 1200, 7, 524, 'Storage-Optimized'),
  size('so-16vcpu-128gb', 16, 131072, 2400, 8, 1048, 'Storage-Optimized'),
  size('so1_5-2vcpu-16gb', 2, 16384, 450, 4, 163, 'Storage-Optimized 1.5x SSD'),
  size('so1_5-4vcpu-32gb', 4, 32768, 900, 6, 326, 'Storage-Optimized 1.5x SSD'),
  size('so1_5-8vcpu-64gb', 8, 65536, 1800, 7, 652, 'Storage-Optimized 1.5x SSD'),
];

/** Every region, the retired ones (no sizes, `available: false`) included, in DigitalOcean's order (by slug). */
export const REGIONS: readonly DoRegion[] = [
  ...Object.entries(REGION_NAMES).map(([slug, name]) => ({
    slug,
    name,
    features: ['backups', 'ipv6', 'metadata', 'install_agent', 'storage', 'image_transfer'],
    available: true,
    sizes: SIZES.map((s) => s.slug),
  })),
  ...Object.entries(RETIRED_REGION_NAMES).map(([slug, name]) => ({ slug, name, features: ['backups', 'ipv6', 'metadata', 'install_agent', 'image_transfer'], available: false, sizes: [] as string[] })),
].sort((a, b) => a.slug.localeCompare(b.slug));

const image = (id: number, slug: string, distribution: string, name: string, createdAt: string, minDisk: number, sizeGb: number): DoImage => ({
  id,
  name,
  distribution,
  slug,
  public: true,
  regions: Object.keys(REGION_NAMES),
  created_at: createdAt,
  min_disk_size: minDisk,
  type: 'base',
  size_gigabytes: sizeGb,
  description: `${distribution} ${name}`,
  tags: [],
  status: 'available',
  error_message: '',
});

/**
 * Public distribution images (`GET /v2/images?type=distribution`), addressable by slug or numeric id: the current
 * Ubuntu releases (24.04 LTS, 22.04 LTS, 25.10), Debian, Rocky Linux, AlmaLinux, CentOS Stream and Fedora, as
 * DigitalOcean offers them (x64 only).
 */
export const IMAGES: readonly DoImage[] = [
  image(155943418, 'ubuntu-24-04-x64', 'Ubuntu', '24.04 (LTS) x64', '2024-04-25T15:41:12Z', 7, 2.36),
  image(129211873, 'ubuntu-22-04-x64', 'Ubuntu', '22.04 (LTS) x64', '2023-03-30T20:45:12Z', 7, 2.37),
  image(199855213, 'ubuntu-25-10-x64', 'Ubuntu', '25.10 x64', '2025-10-10T14:02:48Z', 7, 2.55),
  image(176422101, 'debian-13-x64', 'Debian', '13 x64', '2025-08-12T16:20:33Z', 7, 1.36),
  image(133909925, 'debian-12-x64', 'Debian', '12 x64', '2023-06-12T17:37:22Z', 7, 1.07),
  image(178301114, 'rockylinux-10-x64', 'Rocky Linux', '10 x64', '2025-06-19T13:11:05Z', 10, 1.78),
  image(140112341, 'rockylinux-9-x64', 'Rocky Linux', '9 x64', '2023-09-06T18:24:56Z', 10, 1.36),
  image(139124072, 'rockylinux-8-x64', 'Rocky Linux', '8 x64', '2023-08-15T19:02:31Z', 10, 1.56),
  image(178301256, 'almalinux-10-x64', 'AlmaLinux', '10 x64', '2025-06-20T09:44:18Z', 10, 1.72),
  image(140117012, 'almalinux-9-x64', 'AlmaLinux', '9 x64', '2023-09-06T19:12:40Z', 10, 1.25),
  image(139124188, 'almalinux-8-x64', 'AlmaLinux', '8 x64', '2023-08-15T19:33:02Z', 10, 1.48),
  image(176898401, 'centos-stream-10-x64', 'CentOS', 'Stream 10 x64', '2025-08-21T12:05:51Z', 10, 1.55),
  image(140120517, 'centos-stream-9-x64', 'CentOS', 'Stream 9 x64', '2023-09-06T20:01:13Z', 10, 1.31),
  image(184530002, 'fedora-42-x64', 'Fedora', '42 x64', '2025-04-16T15:22:09Z', 7, 1.12),
  image(172119883, 'fedora-41-x64', 'Fedora', '41 x64', '2024-10-30T14:47:36Z', 7, 1.05),
];

export const findRegion = (slug: string): DoRegion | undefined => REGIONS.find((r) => r.slug === slug);
export const findSize = (slug: string): DoSize | undefined => SIZES.find((s) => s.slug === slug);
export const findImage = (ref: string | number): DoImage | undefined =>
  IMAGES.find((i) => i.slug === ref || i.id === ref || String(i.id) === String(ref));
