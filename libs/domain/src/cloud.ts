/** The clouds Skyweave builds on. Values are the identifiers used in the API, in tags and in NATS subjects. */
export const CLOUDS = ['aws', 'gcp', 'azure', 'digitalocean'] as const;
export type CloudId = (typeof CLOUDS)[number];

export function isCloudId(value: unknown): value is CloudId {
  return typeof value === 'string' && (CLOUDS as readonly string[]).includes(value);
}

/** Human names, for progress output and error messages. */
export const CLOUD_NAMES: Record<CloudId, string> = {
  aws: 'AWS',
  gcp: 'GCP',
  azure: 'Azure',
  digitalocean: 'DigitalOcean',
};
