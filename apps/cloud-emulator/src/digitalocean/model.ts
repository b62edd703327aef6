import type { DoImage, DoRegion, DoSize } from './catalog';

/** In-memory state of the DigitalOcean sandbox (one `Account` per API token). */

export interface VpcRec {
  id: string;
  /** When it was made on the sandbox clock (eventual consistency: core/consistency.ts). */
  createdAtMs: number;
  name: string;
  description: string;
  region: string;
  ipRange: string;
  isDefault: boolean;
  createdAt: string;
}

export interface RuleTargets {
  addresses?: string[];
  droplet_ids?: number[];
  load_balancer_uids?: string[];
  kubernetes_ids?: string[];
  tags?: string[];
}

export interface FirewallRuleRec {
  protocol: 'tcp' | 'udp' | 'icmp';
  ports: string;
  targets: RuleTargets;
}

export interface FirewallRec {
  id: string;
  /** When it was made on the sandbox clock (eventual consistency: core/consistency.ts). */
  createdAtMs: number;
  name: string;
  inbound: FirewallRuleRec[];
  outbound: FirewallRuleRec[];
  dropletIds: number[];
  /** Target tags: Droplets carrying any of them are behind the firewall. */
  tags: string[];
  createdAt: string;
  /** `waiting` in the create/update answer, `succeeded` afterwards. */
  status: 'waiting' | 'succeeded';
}

export type DropletStatus = 'new' | 'active' | 'off';

export interface DropletRec {
  id: number;
  /** When it was made on the sandbox clock (eventual consistency: core/consistency.ts). */
  createdAtMs: number;
  name: string;
  region: DoRegion;
  size: DoSize;
  image: DoImage;
  vpcUuid: string;
  tags: string[];
  userData?: string;
  status: DropletStatus;
  privateIp: string;
  privateNetmask: string;
  privateGateway: string;
  publicIp: string;
  ipv6: boolean;
  monitoring: boolean;
  backups: boolean;
  createdAt: string;
  bootTimer?: NodeJS.Timeout;
}

export interface TagRec {
  name: string;
  createdAt: string;
}

/** An SSH public key of the account (`/v2/account/keys`). */
export interface KeyRec {
  id: number;
  name: string;
  /** As uploaded, trimmed. */
  publicKey: string;
  /** MD5 of the decoded key blob, as colon-separated lowercase hex (`3b:16:bf:…`), as DigitalOcean computes it. */
  fingerprint: string;
}

/** A project (`/v2/projects`); every account has one default project. */
export interface ProjectRec {
  id: string;
  name: string;
  description: string;
  purpose: string;
  environment: 'Development' | 'Staging' | 'Production';
  isDefault: boolean;
  createdAt: string;
  updatedAt: string;
}

export type ActionType = 'create' | 'destroy';
export type ActionStatus = 'in-progress' | 'completed' | 'errored';

/** An action (`/v2/actions`): what DigitalOcean records for an event on a resource, e.g. a Droplet's create. */
export interface ActionRec {
  id: number;
  type: ActionType;
  status: ActionStatus;
  startedAt: string;
  completedAt: string | null;
  resourceId: number;
  resourceType: 'droplet';
  region: DoRegion;
}

export interface Account {
  uuid: string;
  token: string;
  email: string;
  dropletLimit: number;
  /** When the account was made (ISO 8601, seconds). */
  createdAt: string;
  vpcs: Map<string, VpcRec>;
  firewalls: Map<string, FirewallRec>;
  droplets: Map<number, DropletRec>;
  tags: Map<string, TagRec>;
  keys: Map<number, KeyRec>;
  projects: Map<string, ProjectRec>;
  /** Every action of the account, in the order they started. */
  actions: Map<number, ActionRec>;
}

// ---- JSON renderings, as API v2 answers them ----

export const renderVpc = (v: VpcRec) => ({
  id: v.id,
  urn: `do:vpc:${v.id}`,
  name: v.name,
  description: v.description,
  region: v.region,
  ip_range: v.ipRange,
  default: v.isDefault,
  created_at: v.createdAt,
});

const renderTargets = (t: RuleTargets) =>
  Object.fromEntries(Object.entries(t).filter(([, v]) => Array.isArray(v) && v.length > 0)) as RuleTargets;

export const renderFirewall = (f: FirewallRec) => ({
  id: f.id,
  name: f.name,
  status: f.status,
  inbound_rules: f.inbound.map((r) => ({ protocol: r.protocol, ports: r.ports, sources: renderTargets(r.targets) })),
  outbound_rules: f.outbound.map((r) => ({ protocol: r.protocol, ports: r.ports, destinations: renderTargets(r.targets) })),
  created_at: f.createdAt,
  droplet_ids: [...f.dropletIds],
  tags: [...f.tags],
  pending_changes: [] as unknown[],
});

/** `includeNetworks` false renders the create response, where DigitalOcean has not assigned addresses yet. */
export const renderDroplet = (d: DropletRec, includeNetworks = true) => ({
  id: d.id,
  name: d.name,
  memory: d.size.memory,
  vcpus: d.size.vcpus,
  disk: d.size.disk,
  locked: false,
  status: d.status,
  kernel: null,
  created_at: d.createdAt,
  features: ['droplet_agent', 'private_networking', ...(d.monitoring ? ['monitoring'] : []), ...(d.ipv6 ? ['ipv6'] : []), ...(d.backups ? ['backups'] : [])],
  backup_ids: [] as number[],
  next_backup_window: null,
  snapshot_ids: [] as number[],
  image: d.image,
  volume_ids: [] as string[],
  size: d.size,
  size_slug: d.size.slug,
  networks: includeNetworks
    ? {
        v4: [
          { ip_address: d.privateIp, netmask: d.privateNetmask, gateway: d.privateGateway, type: 'private' },
          { ip_address: d.publicIp, netmask: '255.255.255.0', gateway: d.publicIp.replace(/\.\d+$/, '.1'), type: 'public' },
        ],
        v6: [] as unknown[],
      }
    : { v4: [] as unknown[], v6: [] as unknown[] },
  region: d.region,
  tags: [...d.tags],
  vpc_uuid: d.vpcUuid,
});

/** An SSH key. Reference: https://docs.digitalocean.com/reference/api/api-reference/#tag/SSH-Keys */
export const renderKey = (k: KeyRec) => ({ id: k.id, fingerprint: k.fingerprint, public_key: k.publicKey, name: k.name });

/** A project. Reference: https://docs.digitalocean.com/reference/api/api-reference/#tag/Projects */
export const renderProject = (p: ProjectRec, a: Account) => ({
  id: p.id,
  owner_uuid: a.uuid,
  owner_id: ownerIdOf(a),
  name: p.name,
  description: p.description,
  purpose: p.purpose,
  environment: p.environment,
  is_default: p.isDefault,
  created_at: p.createdAt,
  updated_at: p.updatedAt,
});

/** The account's numeric owner id (DigitalOcean's `owner_id`): stable, derived from its uuid. */
export const ownerIdOf = (a: Account): number => parseInt(a.uuid.replace(/-/g, '').slice(0, 7), 16);

/** An action. Reference: https://docs.digitalocean.com/reference/api/api-reference/#tag/Actions */
export const renderAction = (x: ActionRec) => ({
  id: x.id,
  status: x.status,
  type: x.type,
  started_at: x.startedAt,
  completed_at: x.completedAt,
  resource_id: x.resourceId,
  resource_type: x.resourceType,
  region: x.region,
  region_slug: x.region.slug,
});

export const renderTag = (t: TagRec, droplets: Iterable<DropletRec>) => {
  const tagged = [...droplets].filter((d) => d.tags.includes(t.name));
  const last = tagged[tagged.length - 1];
  const lastUri = last ? `https://api.digitalocean.com/v2/droplets/${last.id}` : undefined;
  const none = { count: 0 };
  return {
    name: t.name,
    resources: {
      count: tagged.length,
      ...(lastUri ? { last_tagged_uri: lastUri } : {}),
      droplets: { count: tagged.length, ...(lastUri ? { last_tagged_uri: lastUri } : {}) },
      images: none,
      volumes: none,
      volume_snapshots: none,
      databases: none,
    },
  };
};
