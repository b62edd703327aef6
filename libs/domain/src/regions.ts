import { CLOUDS, CloudId } from './cloud';

/** One Skyweave region and the region/zone it maps to on each cloud (single-zone setup per cloud). */
export interface Region {
  /** Skyweave region id, e.g. `us-east`. */
  id: string;
  /** Display name, e.g. `US East (Ashburn)`. */
  name: string;
  /** Per cloud: the cloud's region code and the single zone Skyweave uses there. A cloud missing here does not serve this region. */
  clouds: Partial<Record<CloudId, { region: string; zone: string }>>;
  /**
   * Round-trip latency between each pair of the clouds' regions, in milliseconds, keyed `a|b` with the clouds in
   * CLOUDS order (`aws|gcp`, `gcp|azure` …). Figures are published inter-region round-trip times, rounded up;
   * node-agents re-measure them on every live cluster (the `CrossCloudLatency` condition).
   * Source for the budget: seeds 000–002 ("cross-cloud latency must not go above 10 ms … measured to operate in a
   * 5-7 ms range").
   */
  crossCloudLatencyMs: Partial<Record<CloudPair, number>>;
}

/** Two different clouds, in CLOUDS order, joined by `|`. */
export type CloudPair = `${CloudId}|${CloudId}`;

/** The key of a pair of clouds in `crossCloudLatencyMs` (order-independent). */
export function cloudPair(a: CloudId, b: CloudId): CloudPair {
  return CLOUDS.indexOf(a) <= CLOUDS.indexOf(b) ? `${a}|${b}` : `${b}|${a}`;
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
    crossCloudLatencyMs: { 'aws|gcp': 3, 'aws|azure': 3, 'aws|digitalocean': 7, 'gcp|azure': 4, 'gcp|digitalocean': 7, 'azure|digitalocean': 7 },
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
    crossCloudLatencyMs: { 'aws|gcp': 3, 'aws|azure': 4, 'aws|digitalocean': 5, 'gcp|azure': 4, 'gcp|digitalocean': 6, 'azure|digitalocean': 6 },
  },
  {
    // DigitalOcean has no Stockholm region: a cluster here cannot use it.
    id: 'eu-north',
    name: 'EU North (Stockholm)',
    clouds: {
      aws: { region: 'eu-north-1', zone: 'eu-north-1a' },
      azure: { region: 'swedencentral', zone: '1' },
    },
    crossCloudLatencyMs: { 'aws|azure': 5 },
  },
  {
    // Iowa (GCP, Azure) is 2 ms apart; Ohio (AWS) is about 12 ms from Iowa: AWS cannot join GCP or Azure here.
    id: 'us-central',
    name: 'US Central (Iowa)',
    clouds: {
      aws: { region: 'us-east-2', zone: 'us-east-2a' },
      gcp: { region: 'us-central1', zone: 'us-central1-a' },
      azure: { region: 'centralus', zone: '1' },
    },
    crossCloudLatencyMs: { 'aws|gcp': 12, 'aws|azure': 12, 'gcp|azure': 2 },
  },
];

/** Looks a region up by id; `undefined` when unknown. */
export function findRegion(id: string): Region | undefined {
  return REGIONS.find((r) => r.id === id);
}

/**
 * The worst cross-cloud round trip among `clouds` in `region`, from the catalogue.
 * @returns the pair and its latency in milliseconds, or `undefined` for a single cloud.
 * @throws Error when the catalogue lacks a figure for a pair of clouds the region serves (a catalogue bug).
 */
export function worstCrossCloudLatency(region: Region, clouds: readonly CloudId[]): { pair: CloudPair; ms: number } | undefined {
  let worst: { pair: CloudPair; ms: number } | undefined;
  for (let i = 0; i < clouds.length; i++) {
    for (let j = i + 1; j < clouds.length; j++) {
      const pair = cloudPair(clouds[i], clouds[j]);
      const ms = region.crossCloudLatencyMs[pair];
      if (ms === undefined) throw new Error(`region ${region.id} has no latency figure for ${pair}`);
      if (!worst || ms > worst.ms) worst = { pair, ms };
    }
  }
  return worst;
}
