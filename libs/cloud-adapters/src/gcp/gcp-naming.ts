import { NodeRole, TAG_CLUSTER, resourcePrefix } from '@skyweave/domain';

/**
 * Names, descriptions and list filters of the cluster's GCP resources.
 *
 * GCP networks, subnetworks and firewalls have no labels, so they carry their ownership in `description` as
 * space-separated `key=value` tokens, the first being `skyweave-cluster=<clusterId>`; their names are fixed per
 * cluster (`resourcePrefix(clusterId)` = `sw-<8 hex>`). Instances carry labels.
 */

/** Description key: the network's planned range (GCP VPC networks have no range of their own). */
export const DESC_VPC_CIDR = 'skyweave-vpc-cidr';
/** Description key: the zone the cluster uses in this region. */
export const DESC_ZONE = 'skyweave-zone';

export const networkName = (clusterId: string) => `${resourcePrefix(clusterId)}-net`;
export const subnetworkName = (clusterId: string) => `${resourcePrefix(clusterId)}-subnet`;
/** Firewall per role; its name is also the network tag its rule targets (`sw-<8 hex>-master`). */
export const firewallName = (clusterId: string, role: NodeRole) => `${resourcePrefix(clusterId)}-${role}`;

/** `skyweave-cluster=<id>[ key=value …]`. */
export function ownershipDescription(clusterId: string, extra: Record<string, string> = {}): string {
  return [`${TAG_CLUSTER}=${clusterId}`, ...Object.entries(extra).map(([k, v]) => `${k}=${v}`)].join(' ');
}

/** The `key=value` tokens of a description. */
export function parseDescription(description: string | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tok of (description ?? '').split(/\s+/)) {
    const i = tok.indexOf('=');
    if (i > 0) out[tok.slice(0, i)] = tok.slice(i + 1);
  }
  return out;
}

/** True when the description says the resource belongs to `clusterId`. */
export const ownedBy = (description: string | null | undefined, clusterId: string) => parseDescription(description)[TAG_CLUSTER] === clusterId;

const quote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const reEscape = (v: string) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** List filter (regular-expression form, full match) for resources whose description holds `skyweave-cluster=<id>`. */
export function descriptionFilter(clusterId: string): string {
  return `description eq ${quote(`(.* )?${reEscape(`${TAG_CLUSTER}=${clusterId}`)}( .*)?`)}`;
}

/** List filter (AIP-160) on one label: `labels.skyweave-cluster = "<id>"`. */
export const labelFilter = (key: string, value: string) => `labels.${key} = ${quote(value)}`;

/** List filter (AIP-160) on the resource name. */
export const nameFilter = (name: string) => `name = ${quote(name)}`;

/** Last segment of a Compute URL (`…/zones/us-east4-a` → `us-east4-a`). */
export const lastSegment = (url: string | null | undefined) => (url ?? '').split('/').pop() ?? '';

/** The region of a zone name (`us-east4-a` → `us-east4`). */
export const regionOfZone = (zone: string) => zone.replace(/-[a-z]$/, '');

/**
 * List filter (regular-expression form) for resources whose description holds a `skyweave-cluster=<id>` token of any
 * value — the leak sweep's look-up of every cluster's networks, subnetworks and firewalls.
 */
export function anyClusterDescriptionFilter(): string {
  return `description eq ${quote(`(.* )?${reEscape(`${TAG_CLUSTER}=`)}[^ ]+( .*)?`)}`;
}

/** List filter (AIP-160) for resources carrying a label, whatever its value: `labels.<key>:*`. */
export const labelPresentFilter = (key: string) => `labels.${key}:*`;
