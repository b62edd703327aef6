import { randomUUID } from 'node:crypto';
import type { ArmErrorBody } from './arm-error';
import type { PublicIpAllocator } from '../core/public-ips';

/** A sandbox Azure account: one AAD tenant with one service principal (client secret) and one subscription. */
export interface Account {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Object id of the service principal (the `oid` claim). */
  principalId: string;
  subscriptionId: string;
}

export interface ResourceGroup {
  subscriptionId: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  /** Wall clock (ms) when it was made. */
  createdAt: number;
  /** When it was made on the sandbox clock (eventual consistency: core/consistency.ts). */
  createdAtMs: number;
  /** Set while a delete is under way. */
  deleting?: { opId: string };
}

/** Provisioning in progress until `until` (ms epoch); afterwards `Succeeded`. */
export interface Busy {
  state: 'Creating' | 'Updating' | 'Deleting';
  until: number;
}

interface Base {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  etag: string;
  resourceGuid: string;
  /** Wall clock (ms) when it was made (`timeCreated`, `createdTime`). */
  createdAt: number;
  /** When it was made on the sandbox clock (eventual consistency: core/consistency.ts). */
  createdAtMs: number;
  busy?: Busy;
  /** Set once a DELETE was accepted; the resource goes at `busy.until`. */
  deleting?: boolean;
}

export interface SecurityRule {
  name: string;
  description?: string;
  protocol: string;
  sourcePortRange?: string;
  sourcePortRanges: string[];
  destinationPortRange?: string;
  destinationPortRanges: string[];
  sourceAddressPrefix?: string;
  sourceAddressPrefixes: string[];
  destinationAddressPrefix?: string;
  destinationAddressPrefixes: string[];
  access: 'Allow' | 'Deny';
  priority: number;
  direction: 'Inbound' | 'Outbound';
}

export interface VNet extends Base { kind: 'vnet'; addressPrefixes: string[] }
export interface Subnet extends Base { kind: 'subnet'; vnetId: string; addressPrefix: string; nsgId?: string; defaultOutboundAccess?: boolean }
export interface Nsg extends Base { kind: 'nsg'; rules: SecurityRule[] }
export interface PublicIp extends Base {
  kind: 'pip';
  sku: { name: 'Basic' | 'Standard'; tier: 'Regional' | 'Global' };
  allocation: 'Static' | 'Dynamic';
  version: 'IPv4' | 'IPv6';
  idleTimeoutInMinutes: number;
  zones?: string[];
  ipAddress?: string;
}
export interface NicIpConfig {
  name: string;
  subnetId: string;
  privateIp: string;
  allocation: 'Static' | 'Dynamic';
  publicIpId?: string;
  publicIpDeleteOption?: 'Delete' | 'Detach';
  primary: boolean;
}
export interface Nic extends Base {
  kind: 'nic';
  ipConfigs: NicIpConfig[];
  nsgId?: string;
  enableAcceleratedNetworking: boolean;
  enableIPForwarding: boolean;
  macAddress: string;
}
export interface VmNicRef { id: string; primary?: boolean; deleteOption: 'Delete' | 'Detach' }
export interface Vm extends Base {
  kind: 'vm';
  vmId: string;
  vmSize: string;
  zones?: string[];
  image: { publisher: string; offer: string; sku: string; version: string; exactVersion: string };
  osDisk: { id: string; name: string; deleteOption: 'Delete' | 'Detach'; storageAccountType: string; caching: string; diskSizeGB: number };
  osProfile: {
    computerName: string;
    adminUsername: string;
    customData?: string;
    disablePasswordAuthentication: boolean;
    publicKeys: { path: string; keyData: string }[];
  };
  nics: VmNicRef[];
  userData?: string;
  /** When the VM reaches PowerState/running (boot). */
  runningAt: number;
  booted: boolean;
  /** The request body's shape, to refuse changes of immutable properties on a later PUT. */
  immutable: string;
}
export interface Disk extends Base {
  kind: 'disk';
  managedBy?: string;
  sizeGB: number;
  sku: string;
  zones?: string[];
  /** The marketplace image version it was made from (`creationData.imageReference.id`). */
  imageId?: string;
  hyperVGeneration?: 'V1' | 'V2';
  architecture?: 'x64' | 'Arm64';
}

export type Resource = VNet | Subnet | Nsg | PublicIp | Nic | Vm | Disk;

export const ARM_TYPES: Record<Resource['kind'], string> = {
  vnet: 'Microsoft.Network/virtualNetworks',
  subnet: 'Microsoft.Network/virtualNetworks/subnets',
  nsg: 'Microsoft.Network/networkSecurityGroups',
  pip: 'Microsoft.Network/publicIPAddresses',
  nic: 'Microsoft.Network/networkInterfaces',
  vm: 'Microsoft.Compute/virtualMachines',
  disk: 'Microsoft.Compute/disks',
};

/** A long-running operation, polled through Azure-AsyncOperation (`async`) or Location (`location`). */
export interface Operation {
  id: string;
  subscriptionId: string;
  startTime: number;
  doneAt: number;
  /** Outcome once done; undefined ⇒ Succeeded. */
  error?: ArmErrorBody & { status: number };
}

/** Runs deferred transitions (boots, deletions) when their time comes, whether or not anyone is asking. */
export class Scheduler {
  private pending: { at: number; run: () => void }[] = [];

  /** @param clock wall-clock milliseconds, as `at` is given (default Date.now). */
  constructor(private readonly clock: () => number = Date.now) {}

  /** Runs `run` at `at` (epoch milliseconds), or at the first request after it, whichever comes first. */
  schedule(at: number, run: () => void): void {
    this.pending.push({ at, run });
    this.pending.sort((a, b) => a.at - b.at);
    this.arm(at);
  }

  /**
   * A timer for `at`. Timers run on the monotonic clock and may fire a millisecond or so before `clock()` reaches `at`;
   * what is then still pending and due by `at` gets another timer, or it would wait for the next request, and a VM
   * that nobody asks about would never boot (a sandbox Azure worker left `Booting`, seen in bench and chaos runs).
   */
  private arm(at: number): void {
    const t = setTimeout(() => {
      this.settle();
      if (this.pending.some((p) => p.at <= at)) this.arm(at);
    }, Math.max(0, at - this.clock()));
    t.unref?.();
  }

  /** Runs everything due. Called on every request, so answers never depend on timer jitter. */
  settle(now = this.clock()): void {
    while (this.pending.length && this.pending[0].at <= now) {
      const next = this.pending.shift();
      next?.run();
    }
  }
}

const lower = (s: string) => s.toLowerCase();

/** Everything the sandbox Azure holds, across accounts. Ids are kept canonical; lookups are case-insensitive, as ARM's. */
export class AzureState {
  readonly accounts = new Map<string, Account>(); // by tenant id
  readonly groups = new Map<string, ResourceGroup>(); // by "sub/rg" lower-cased
  readonly resources = new Map<string, Resource>(); // by lower-cased id
  readonly operations = new Map<string, Operation>();
  readonly scheduler = new Scheduler();
  /** @param publicIps the sandbox-wide public address pool (`ctx.publicIps`); Azure takes TEST-NET-3 only. */
  constructor(private readonly publicIps: PublicIpAllocator) {}

  accountBySubscription(sub: string): Account | undefined {
    return [...this.accounts.values()].find((a) => lower(a.subscriptionId) === lower(sub));
  }

  group(sub: string, rg: string): ResourceGroup | undefined {
    return this.groups.get(`${lower(sub)}/${lower(rg)}`);
  }
  putGroup(g: ResourceGroup): void {
    this.groups.set(`${lower(g.subscriptionId)}/${lower(g.name)}`, g);
  }
  removeGroup(g: ResourceGroup): void {
    this.groups.delete(`${lower(g.subscriptionId)}/${lower(g.name)}`);
  }

  get(id: string | undefined): Resource | undefined {
    return id === undefined ? undefined : this.resources.get(lower(id));
  }
  put(r: Resource): void {
    this.resources.set(lower(r.id), r);
  }
  remove(r: Resource): void {
    this.resources.delete(lower(r.id));
    if (r.kind === 'pip' && r.ipAddress) this.publicIps.release(r.ipAddress);
  }

  inGroup(sub: string, rg: string): Resource[] {
    return [...this.resources.values()].filter((r) => lower(r.subscriptionId) === lower(sub) && lower(r.resourceGroup) === lower(rg));
  }
  inSubscription(sub: string): Resource[] {
    return [...this.resources.values()].filter((r) => lower(r.subscriptionId) === lower(sub));
  }
  ofKind<K extends Resource['kind']>(sub: string, kind: K): Extract<Resource, { kind: K }>[] {
    return this.inSubscription(sub).filter((r): r is Extract<Resource, { kind: K }> => r.kind === kind);
  }

  newOperation(sub: string, durationMs: number, now = Date.now()): Operation {
    const op: Operation = { id: randomUUID(), subscriptionId: sub, startTime: now, doneAt: now + durationMs };
    this.operations.set(op.id, op);
    return op;
  }

  /** A free address of the sandbox's public range (TEST-NET-3, 203.0.113.0/24), or undefined when all are taken. */
  allocatePublicIp(): string | undefined {
    return this.publicIps.allocate({ ranges: ['203.0.113.0/24'] });
  }
}

/**
 * Pass as `now` when rendering the answer to the PUT that started an operation: ARM always answers it with the
 * operation's state (`Creating` / `Updating`), however short the operation is.
 */
export const AT_ACCEPTANCE = Number.NEGATIVE_INFINITY;

/** Provisioning state of a resource now: its busy state until its time has passed, then Succeeded. */
export function provisioningState(r: { busy?: Busy; deleting?: boolean }, now = Date.now()): string {
  if (r.deleting) return 'Deleting';
  return r.busy && now < r.busy.until ? r.busy.state : 'Succeeded';
}

export const newEtag = (): string => `W/"${randomUUID()}"`;
