/**
 * Ownership tags. Every cloud resource Skyweave creates carries the cluster's UUID (seed 003: "virtual machines on AWS are
 * deleted by a specific tag containing cluster UUID"). Key/value clouds (AWS, Azure, GCP labels) use `key=value`;
 * DigitalOcean tags are plain strings, so they use `key:value`.
 */
export const TAG_CLUSTER = 'skyweave-cluster';
export const TAG_NODE = 'skyweave-node';
export const TAG_ROLE = 'skyweave-role';
export const TAG_NAME = 'skyweave-name';

/** DigitalOcean tag string for a key/value pair, e.g. `skyweave-cluster:3f0c…`. */
export function doTag(key: string, value: string): string {
  return `${key}:${value}`;
}

/** Short, cloud-name-safe form of a cluster UUID (first 8 hex chars), used in resource names. */
export function shortId(uuid: string): string {
  return uuid.replace(/-/g, '').slice(0, 8).toLowerCase();
}

/** Logical name prefix of a cluster's resources: `sw-<short id>`. Lowercase letters, digits and dashes only (GCP/Azure/DO-safe). */
export function resourcePrefix(clusterId: string): string {
  return `sw-${shortId(clusterId)}`;
}
