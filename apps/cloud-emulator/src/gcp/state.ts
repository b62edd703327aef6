import type { ServiceAccount } from './auth';
import type { OperationFailure } from './errors';
import { MACHINE_TYPES, REGION_ZONES, imageId } from './catalog';
import { link, newId, operationName, timestamp } from './util';

/** Where an operation lives: `global/operations`, `regions/{r}/operations` or `zones/{z}/operations`. */
export type OpScope = { kind: 'global' } | { kind: 'region'; region: string } | { kind: 'zone'; zone: string };

export const scopePath = (s: OpScope) => (s.kind === 'global' ? 'global' : s.kind === 'region' ? `regions/${s.region}` : `zones/${s.zone}`);

export interface OperationRec {
  scope: OpScope;
  json: OperationJson;
  done: boolean;
  waiters: (() => void)[];
}

export interface OperationJson {
  kind: 'compute#operation';
  id: string;
  name: string;
  operationType: string;
  targetLink: string;
  targetId: string;
  status: 'PENDING' | 'RUNNING' | 'DONE';
  user: string;
  progress: number;
  insertTime: string;
  startTime: string;
  endTime?: string;
  selfLink: string;
  zone?: string;
  region?: string;
  error?: { errors: OperationFailure['errors'] };
  httpErrorStatusCode?: number;
  httpErrorMessage?: string;
}

export interface NetworkRec {
  id: string;
  /** When reads may start to count it from, on the sandbox clock (eventual consistency: core/consistency.ts). */
  createdAtMs: number;
  name: string;
  created: string;
  description?: string;
  auto: boolean;
  routingMode: string;
  mtu: number;
  deleting: boolean;
  /** Part of a new project (the `default` network): not a leftover of anyone's run. */
  builtIn?: boolean;
}

export interface SubnetRec {
  id: string;
  /** When reads may start to count it from, on the sandbox clock (eventual consistency: core/consistency.ts). */
  createdAtMs: number;
  name: string;
  region: string;
  created: string;
  description?: string;
  network: string;
  ipCidrRange: string;
  gatewayAddress: string;
  privateIpGoogleAccess: boolean;
  fingerprint: string;
  /** Made by an auto-mode network; removed with it. */
  auto: boolean;
  deleting: boolean;
  /** A subnetwork of the project's `default` network. */
  builtIn?: boolean;
}

export interface FirewallRec {
  id: string;
  /** When reads may start to count it from, on the sandbox clock (eventual consistency: core/consistency.ts). */
  createdAtMs: number;
  name: string;
  created: string;
  description?: string;
  network: string;
  priority: number;
  direction: 'INGRESS' | 'EGRESS';
  sourceRanges?: string[];
  destinationRanges?: string[];
  sourceTags?: string[];
  targetTags?: string[];
  sourceServiceAccounts?: string[];
  targetServiceAccounts?: string[];
  allowed?: { IPProtocol: string; ports?: string[] }[];
  denied?: { IPProtocol: string; ports?: string[] }[];
  disabled: boolean;
  logEnabled: boolean;
  busy: boolean;
  deleting: boolean;
  /** One of the `default` network's four rules. */
  builtIn?: boolean;
}

export interface NicRec {
  network: string;
  subnetwork: { region: string; name: string };
  networkIP: string;
  accessConfig?: { name: string; natIP: string; networkTier: string };
}

export interface InstanceRec {
  id: string;
  /** When reads may start to count it from, on the sandbox clock (eventual consistency: core/consistency.ts). */
  createdAtMs: number;
  name: string;
  zone: string;
  created: string;
  description?: string;
  machineType: string;
  status: 'PROVISIONING' | 'STAGING' | 'RUNNING' | 'STOPPING' | 'TERMINATED';
  labels: Record<string, string>;
  labelFingerprint: string;
  tags: string[];
  tagsFingerprint: string;
  metadata: { key: string; value: string }[];
  metadataFingerprint: string;
  nics: NicRec[];
  bootDisk: { name: string; sizeGb: number; sourceImage: string; autoDelete: boolean; deviceName: string };
  deletionProtection: boolean;
  canIpForward: boolean;
  serviceAccounts: { email: string; scopes: string[] }[];
  scheduling: { onHostMaintenance: string; automaticRestart: boolean; preemptible: boolean; provisioningModel: string };
  lastStartTimestamp?: string;
  fingerprint: string;
  deleting: boolean;
  timers: NodeJS.Timeout[];
  /** The boot image's architecture (`disks[0].architecture`). */
  architecture?: 'X86_64' | 'ARM64';
  /** When the instance was inserted (ms since the epoch): the serial console's clock. */
  bootMs: number;
  /** Serial port 1: the sandbox's boot log of the VM, one line each. */
  serial: string[];
}

/** A zonal persistent disk (the sandbox makes boot disks only, with their instance). */
export interface DiskRec {
  id: string;
  /** When reads may start to count it from, on the sandbox clock (eventual consistency: core/consistency.ts). */
  createdAtMs: number;
  name: string;
  zone: string;
  created: string;
  sizeGb: number;
  architecture: 'X86_64' | 'ARM64';
  /** Full URL of the image the disk was made from (a family resolved to its current image). */
  sourceImage: string;
  sourceImageFamily?: string;
  /** Disk type name (`pd-standard`, the API's default). */
  type: string;
  status: 'CREATING' | 'READY' | 'DELETING';
  /** Names of the instances (same zone) it is attached to. */
  users: string[];
  labelFingerprint: string;
  lastAttachTimestamp?: string;
  lastDetachTimestamp?: string;
}

/** One sandbox project: everything one service account owns. */
export class ProjectState {
  readonly networks = new Map<string, NetworkRec>();
  /** key `${region}/${name}` */
  readonly subnetworks = new Map<string, SubnetRec>();
  readonly firewalls = new Map<string, FirewallRec>();
  /** key `${zone}/${name}` */
  readonly instances = new Map<string, InstanceRec>();
  /** key `${zone}/${name}` */
  readonly disks = new Map<string, DiskRec>();
  /** key `${scopePath}/${name}` */
  readonly operations = new Map<string, OperationRec>();
  readonly requestIds = new Map<string, OperationRec>();
  /** Resource paths whose insert operation is still running. */
  readonly pending = new Set<string>();
  readonly created = timestamp();

  constructor(readonly account: ServiceAccount) {}

  get id(): string {
    return this.account.projectId;
  }

  /** Starts an operation (status RUNNING) on `targetPath` (project-relative). */
  startOperation(scope: OpScope, operationType: string, targetPath: string, targetId: string): OperationRec {
    const name = operationName();
    const now = timestamp();
    const sp = scopePath(scope);
    const json: OperationJson = {
      kind: 'compute#operation',
      id: newId(),
      name,
      operationType,
      targetLink: link(this.id, targetPath),
      targetId,
      status: 'RUNNING',
      user: this.account.email,
      progress: 0,
      insertTime: now,
      startTime: now,
      selfLink: link(this.id, `${sp}/operations/${name}`),
      ...(scope.kind === 'zone' ? { zone: link(this.id, `zones/${scope.zone}`) } : {}),
      ...(scope.kind === 'region' ? { region: link(this.id, `regions/${scope.region}`) } : {}),
    };
    const rec: OperationRec = { scope, json, done: false, waiters: [] };
    this.operations.set(`${sp}/${name}`, rec);
    return rec;
  }

  finishOperation(op: OperationRec, failure?: OperationFailure): void {
    if (op.done) return;
    op.done = true;
    op.json.status = 'DONE';
    op.json.progress = 100;
    op.json.endTime = timestamp();
    if (failure) {
      op.json.error = { errors: failure.errors };
      op.json.httpErrorStatusCode = failure.httpErrorStatusCode;
      op.json.httpErrorMessage = failure.httpErrorMessage;
    }
    for (const w of op.waiters.splice(0)) w();
  }

  // ---- rendering (the JSON the API answers) ----

  renderNetwork(n: NetworkRec): Record<string, unknown> {
    const subnets = [...this.subnetworks.values()].filter((s) => s.network === n.name).map((s) => link(this.id, `regions/${s.region}/subnetworks/${s.name}`));
    return {
      kind: 'compute#network',
      id: n.id,
      creationTimestamp: n.created,
      name: n.name,
      ...(n.description !== undefined ? { description: n.description } : {}),
      selfLink: link(this.id, `global/networks/${n.name}`),
      selfLinkWithId: link(this.id, `global/networks/${n.id}`),
      autoCreateSubnetworks: n.auto,
      ...(subnets.length ? { subnetworks: subnets } : {}),
      routingConfig: { routingMode: n.routingMode, bgpBestPathSelectionMode: 'LEGACY' },
      mtu: n.mtu,
      networkFirewallPolicyEnforcementOrder: 'AFTER_CLASSIC_FIREWALL',
    };
  }

  renderSubnetwork(s: SubnetRec): Record<string, unknown> {
    return {
      kind: 'compute#subnetwork',
      id: s.id,
      creationTimestamp: s.created,
      name: s.name,
      ...(s.description !== undefined ? { description: s.description } : {}),
      network: link(this.id, `global/networks/${s.network}`),
      ipCidrRange: s.ipCidrRange,
      gatewayAddress: s.gatewayAddress,
      region: link(this.id, `regions/${s.region}`),
      selfLink: link(this.id, `regions/${s.region}/subnetworks/${s.name}`),
      privateIpGoogleAccess: s.privateIpGoogleAccess,
      fingerprint: s.fingerprint,
      purpose: 'PRIVATE',
      stackType: 'IPV4_ONLY',
    };
  }

  renderFirewall(f: FirewallRec): Record<string, unknown> {
    return {
      kind: 'compute#firewall',
      id: f.id,
      creationTimestamp: f.created,
      name: f.name,
      ...(f.description !== undefined ? { description: f.description } : {}),
      network: link(this.id, `global/networks/${f.network}`),
      priority: f.priority,
      ...(f.sourceRanges ? { sourceRanges: f.sourceRanges } : {}),
      ...(f.destinationRanges ? { destinationRanges: f.destinationRanges } : {}),
      ...(f.sourceTags ? { sourceTags: f.sourceTags } : {}),
      ...(f.targetTags ? { targetTags: f.targetTags } : {}),
      ...(f.sourceServiceAccounts ? { sourceServiceAccounts: f.sourceServiceAccounts } : {}),
      ...(f.targetServiceAccounts ? { targetServiceAccounts: f.targetServiceAccounts } : {}),
      ...(f.allowed ? { allowed: f.allowed } : {}),
      ...(f.denied ? { denied: f.denied } : {}),
      direction: f.direction,
      logConfig: { enable: f.logEnabled },
      disabled: f.disabled,
      selfLink: link(this.id, `global/firewalls/${f.name}`),
    };
  }

  renderInstance(i: InstanceRec): Record<string, unknown> {
    const running = i.status === 'RUNNING';
    return {
      kind: 'compute#instance',
      id: i.id,
      creationTimestamp: i.created,
      name: i.name,
      ...(i.description !== undefined ? { description: i.description } : {}),
      tags: { ...(i.tags.length ? { items: i.tags } : {}), fingerprint: i.tagsFingerprint },
      machineType: link(this.id, `zones/${i.zone}/machineTypes/${i.machineType}`),
      status: i.status,
      zone: link(this.id, `zones/${i.zone}`),
      canIpForward: i.canIpForward,
      networkInterfaces: i.nics.map((n, idx) => ({
        kind: 'compute#networkInterface',
        network: link(this.id, `global/networks/${n.network}`),
        subnetwork: link(this.id, `regions/${n.subnetwork.region}/subnetworks/${n.subnetwork.name}`),
        networkIP: n.networkIP,
        name: `nic${idx}`,
        ...(n.accessConfig
          ? { accessConfigs: [{ kind: 'compute#accessConfig', type: 'ONE_TO_ONE_NAT', name: n.accessConfig.name, natIP: n.accessConfig.natIP, networkTier: n.accessConfig.networkTier }] }
          : {}),
        fingerprint: i.fingerprint,
        stackType: 'IPV4_ONLY',
      })),
      disks: [{
        kind: 'compute#attachedDisk',
        type: 'PERSISTENT',
        mode: 'READ_WRITE',
        source: link(this.id, `zones/${i.zone}/disks/${i.bootDisk.name}`),
        deviceName: i.bootDisk.deviceName,
        index: 0,
        boot: true,
        autoDelete: i.bootDisk.autoDelete,
        interface: 'SCSI',
        diskSizeGb: String(i.bootDisk.sizeGb),
        architecture: i.architecture ?? 'X86_64',
      }],
      metadata: { kind: 'compute#metadata', fingerprint: i.metadataFingerprint, ...(i.metadata.length ? { items: i.metadata } : {}) },
      ...(i.serviceAccounts.length ? { serviceAccounts: i.serviceAccounts } : {}),
      selfLink: link(this.id, `zones/${i.zone}/instances/${i.name}`),
      scheduling: i.scheduling,
      cpuPlatform: running ? 'Intel Broadwell' : 'Unknown CPU Platform',
      ...(Object.keys(i.labels).length ? { labels: i.labels } : {}),
      labelFingerprint: i.labelFingerprint,
      startRestricted: false,
      deletionProtection: i.deletionProtection,
      fingerprint: i.fingerprint,
      ...(i.lastStartTimestamp ? { lastStartTimestamp: i.lastStartTimestamp } : {}),
    };
  }

  /** https://cloud.google.com/compute/docs/reference/rest/v1/disks#resource:-disk */
  renderDisk(d: DiskRec): Record<string, unknown> {
    const image = d.sourceImage.split('/').pop() ?? '';
    const lts = /^ubuntu-(?:minimal-)?(\d{4})/.exec(image);
    return {
      kind: 'compute#disk',
      id: d.id,
      creationTimestamp: d.created,
      name: d.name,
      sizeGb: String(d.sizeGb),
      zone: link(this.id, `zones/${d.zone}`),
      status: d.status,
      selfLink: link(this.id, `zones/${d.zone}/disks/${d.name}`),
      sourceImage: d.sourceImage,
      sourceImageId: imageId(image),
      type: link(this.id, `zones/${d.zone}/diskTypes/${d.type}`),
      ...(lts ? { licenses: [`https://www.googleapis.com/compute/v1/projects/ubuntu-os-cloud/global/licenses/ubuntu-${lts[1]}-lts`] } : {}),
      guestOsFeatures: [{ type: 'VIRTIO_SCSI_MULTIQUEUE' }, { type: 'SEV_CAPABLE' }, { type: 'UEFI_COMPATIBLE' }, { type: 'GVNIC' }],
      ...(d.lastAttachTimestamp ? { lastAttachTimestamp: d.lastAttachTimestamp } : {}),
      ...(d.lastDetachTimestamp ? { lastDetachTimestamp: d.lastDetachTimestamp } : {}),
      ...(d.users.length ? { users: d.users.map((u) => link(this.id, `zones/${d.zone}/instances/${u}`)) } : {}),
      labelFingerprint: d.labelFingerprint,
      physicalBlockSizeBytes: '4096',
      architecture: d.architecture,
      satisfiesPzi: true,
    };
  }

  renderProject(): Record<string, unknown> {
    return {
      kind: 'compute#project',
      id: this.account.projectNumber,
      creationTimestamp: this.created,
      name: this.id,
      commonInstanceMetadata: { kind: 'compute#metadata', fingerprint: 'xtnvLIZHeMY=' },
      quotas: [
        { metric: 'NETWORKS', limit: QUOTAS.NETWORKS, usage: this.networks.size },
        { metric: 'FIREWALLS', limit: QUOTAS.FIREWALLS, usage: this.firewalls.size },
        { metric: 'SUBNETWORKS', limit: QUOTAS.SUBNETWORKS, usage: this.subnetworks.size },
      ],
      selfLink: link(this.id, '').replace(/\/$/, ''),
      defaultServiceAccount: `${this.account.projectNumber}-compute@developer.gserviceaccount.com`,
      xpnProjectStatus: 'UNSPECIFIED_XPN_PROJECT_STATUS',
      defaultNetworkTier: 'PREMIUM',
      vmDnsSetting: 'ZONAL_ONLY',
    };
  }

  renderRegion(region: string): Record<string, unknown> {
    return {
      kind: 'compute#region',
      id: String(1000 + Object.keys(REGION_ZONES).indexOf(region)),
      creationTimestamp: '1969-12-31T16:00:00.000-08:00',
      name: region,
      description: region,
      status: 'UP',
      zones: REGION_ZONES[region].map((z) => link(this.id, `zones/${z}`)),
      quotas: [
        { metric: 'CPUS', limit: QUOTAS.CPUS_PER_REGION, usage: this.cpusInRegion(region) },
        { metric: 'INSTANCES', limit: QUOTAS.INSTANCES_PER_REGION, usage: this.instancesInRegion(region).length },
        { metric: 'IN_USE_ADDRESSES', limit: QUOTAS.IN_USE_ADDRESSES_PER_REGION, usage: this.addressesInRegion(region) },
      ],
      selfLink: link(this.id, `regions/${region}`),
      supportsPzs: true,
    };
  }

  instancesInRegion(region: string): InstanceRec[] {
    return [...this.instances.values()].filter((i) => REGION_ZONES[region]?.includes(i.zone));
  }

  cpusInRegion(region: string): number {
    return this.instancesInRegion(region).reduce((a, i) => a + (MACHINE_TYPES[i.machineType]?.cpus ?? 0), 0);
  }

  addressesInRegion(region: string): number {
    return this.instancesInRegion(region).reduce((a, i) => a + i.nics.filter((n) => n.accessConfig).length, 0);
  }
}

/** The sandbox project's quotas (a project with raised limits; the real defaults are lower, e.g. NETWORKS 15). */
export const QUOTAS = {
  NETWORKS: 50,
  FIREWALLS: 500,
  SUBNETWORKS: 500,
  CPUS_PER_REGION: 500,
  INSTANCES_PER_REGION: 500,
  IN_USE_ADDRESSES_PER_REGION: 250,
} as const;
