import type { PriceAdmin } from './prices';
import type { RequestListener, ServerResponse } from 'node:http';
import type { CloudId } from '@skyweave/domain';
import type { CloudCredentials } from '@skyweave/cloud-adapters';
import type { PublicIpAllocator } from './public-ips';
import type { VmMachine } from './kube';

/** A resource the sandbox holds, as the admin API lists it. Terminated instances are not listed. */
export interface InventoryItem {
  cloud: CloudId;
  /** The account that owns it: AWS account id, GCP project, Azure subscription, DigitalOcean account uuid. */
  account: string;
  region?: string;
  kind: string;
  id: string;
  name?: string;
  tags: Record<string, string>;
}

/** Faults the admin API can inject; each cloud module answers them in its own cloud's error shape. */
export type FaultKind = 'throttle' | 'server-error' | 'quota' | 'capacity';

export const FAULT_KINDS: readonly FaultKind[] = ['throttle', 'server-error', 'quota', 'capacity'];

/**
 * Operation names used for latency and faults, shared by all clouds so that one profile fits all:
 * `network.create`, `subnet.create`, `firewall.create`, `gateway.create`, `instance.create`, `instance.boot`,
 * `network.delete`, `instance.delete`, `read`.
 */
export type Operation =
  | 'network.create'
  | 'subnet.create'
  | 'firewall.create'
  | 'gateway.create'
  | 'instance.create'
  | 'instance.boot'
  | 'network.delete'
  | 'instance.delete'
  | 'read';

export const OPERATIONS: readonly Operation[] = [
  'network.create', 'subnet.create', 'firewall.create', 'gateway.create', 'instance.create', 'instance.boot', 'network.delete', 'instance.delete', 'read',
];

export const isOperation = (v: unknown): v is Operation => typeof v === 'string' && (OPERATIONS as readonly string[]).includes(v);

/**
 * Eventual consistency as the modules see it (core/consistency.ts): a resource stamped with `now()` when it is made
 * stays invisible to reads on its cloud until `visible(cloud, stamp)` says otherwise.
 */
export interface ConsistencyView {
  /** The sandbox clock (EmulatorOptions.now), in ms: stamp `createdAtMs` with it. */
  now(): number;
  /** Whether reads may see a resource made at `createdAtMs` (undefined ⇒ visible). */
  visible(cloud: CloudId, createdAtMs: number | undefined): boolean;
}

/** What the core gives each cloud module. */
export interface CloudContext {
  /** Latency of an operation in milliseconds (0 by default); `instance.boot` is pending → running. */
  latencyMs(op: Operation): number;
  /** Waits `latencyMs(op)`. */
  delay(op: Operation): Promise<void>;
  /** Takes one injected fault for (cloud, op), if any is armed. Modules call it at the start of each call of that op. */
  takeFault(cloud: CloudId, op: Operation): FaultKind | undefined;
  /** The VM runtime: call `boot` when an instance becomes running, `stop` when it stops or terminates. */
  vms: VmHost;
  /**
   * The sandbox's public IPv4 addresses, shared by all clouds (a public address is unique world-wide, and in the
   * `netns` VM network all VMs share one bridge). Allocate when the cloud would assign one, release when it would.
   */
  publicIps: PublicIpAllocator;
  /**
   * Eventual consistency. Read paths (describe/get/list) hide what `visible` says is too new, answering the cloud's own
   * "not found"; mutations and the creating call's answer see everything. Absent ⇒ everything is visible at once.
   */
  consistency?: ConsistencyView;
  /** Counts one request on a cloud endpoint under its call name (see core/calls.ts). Absent ⇒ not counted. */
  countCall?(cloud: CloudId, call: string): void;
  /**
   * Answers a call of the cloud's real API that the sandbox does not implement: 501 in the sandbox's own shape,
   * logged and counted (core/unimplemented.ts). Modules call it (or throw `SandboxUnimplemented` into their error
   * path, which calls it) instead of answering the cloud's "not found" or "invalid action".
   */
  unimplemented(res: ServerResponse, cloud: CloudId, operation: string): void;
}

/** Boots VMs the way cloud-init would on a real one (see vm-runtime.ts). */
export interface VmHost {
  /**
   * `diskId`: the VM's boot disk; a new one under a reused instance id gives the VM a fresh file system. `machine`: the
   * instance type's vCPUs, memory (MiB) and architecture, and the cloud's provider id (what kubelet sees of the VM).
   */
  boot(vm: { cloud: CloudId; instanceId: string; userData: string; privateIp: string; publicIp?: string; diskId?: string; machine?: VmMachine }): void;
  stop(instanceId: string): void;
}

/** One cloud's API, plugged into the sandbox. */
export interface CloudModule {
  readonly cloud: CloudId;
  /** Handles every request to this cloud's endpoint (express app or plain listener). */
  readonly handler: RequestListener;
  /** Creates a sandbox account; returns working credentials in the cloud's own shape. */
  createAccount(): CloudCredentials;
  /** Every live resource of every account. */
  inventory(): InventoryItem[];
  /** The cloud's instance prices, for the admin price API (core/prices.ts). */
  readonly prices?: PriceAdmin;
}
