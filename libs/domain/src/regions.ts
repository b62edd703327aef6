import { CloudId } from './cloud';

/** One Skyweave region and the region/zone it maps to on each cloud (single-zone setup per cloud). */
export interface Region {
  /** Skyweave region id, e.g. `us-east`. */
  id: string;
  /** Display name, e.g. `US East (Ashburn)`. */
  name: string;
  /** Per cloud: the cloud's region code and the single zone Skyweave uses there. A cloud missing here does not serve this region. */
  clouds: Partial<Record<CloudId, { region: string; zone: string }>>;
  /**
   * Measured round-trip latency between the clouds' regions, in milliseconds (worst pair).
   * Source: seeds 000–002 ("cross-cloud latency must not go above 10 ms … measured to operate in a 5-7 ms range").
   */
  maxCrossCloudLatencyMs: number;
}

/** The highest cross-cloud latency a cluster may have, in milliseconds. Source: seeds 000–002. */
export const MAX_CROSS_CLOUD_LATENCY_MS = 10;

/**
 * The region catalogue. `us-east` is the seeds' own example (seed 004, "Region & zone"):
 * US East (Ashburn) → AWS us-east-1, GCP us-east4, Azure eastus, DigitalOcean nyc1.
 * Zones: AWS/GCP zone names; Azure availability zone number; DigitalOcean regions have no zones (the region itself).
 */
export const REGIONS: readonly Region[] = [
  {
    id: 'us-east',
    name: 'US East (Ashburn)',
    clouds: {
      aws: { region: 'us-east-1', zone: 'us-east-1a' },
      gcp: { region: 'us-east4', zone: 'us-east4-a' },
      azure: { region: 'eastus', zone: '1' },
      digitalocean: { region: 'nyc1', zone: 'nyc1' },
    },
    maxCrossCloudLatencyMs: 7,
  },
  {
    id: 'eu-central',
    name: 'EU Central (Frankfurt)',
    clouds: {
      aws: { region: 'eu-central-1', zone: 'eu-central-1a' },
      gcp: { region: 'europe-west3', zone: 'europe-west3-a' },
      azure: { region: 'germanywestcentral', zone: '1' },
      digitalocean: { region: 'fra1', zone: 'fra1' },
    },
    maxCrossCloudLatencyMs: 6,
  },
  {
    // DigitalOcean has no Stockholm region: a cluster here cannot use it.
    id: 'eu-north',
    name: 'EU North (Stockholm)',
    clouds: {
      aws: { region: 'eu-north-1', zone: 'eu-north-1a' },
      azure: { region: 'swedencentral', zone: '1' },
    },
    maxCrossCloudLatencyMs: 5,
  },
];

/** Looks a region up by id; `undefined` when unknown. */
export function findRegion(id: string): Region | undefined {
  return REGIONS.find((r) => r.id === id);
}
