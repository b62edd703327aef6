import type { RequestListener } from 'node:http';
import type { CloudId } from '@skyweave/domain';
import type { CloudCredentials } from '@skyweave/cloud-adapters';
import type { PublicIpAllocator } from './public-ips';

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
}

/** Boots VMs the way cloud-init would on a real one (see vm-runtime.ts). */
export interface VmHost {
  boot(vm: { cloud: CloudId; instanceId: string; userData: string; privateIp: string; publicIp?: string }): void;
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
}
