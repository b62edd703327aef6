import { CloudId } from './cloud';
import type { MeshMode } from './mesh';

/** Node roles. Masters run the control plane; workers run workloads. */
export type NodeRole = 'master' | 'worker';

/** Allowed control-plane sizes (etcd quorum: 1 for dev, 3 for HA). Fixed at creation (seed 001). */
export const MASTER_COUNTS = [1, 3] as const;
/** Workers per cloud entry at creation, inclusive bounds. */
export const WORKER_COUNT = { min: 0, max: 20 } as const;
/** Total workers per cluster at creation, inclusive upper bound. */
export const MAX_TOTAL_WORKERS = 50;

/** The desired shape of a cluster, as the user declared it. */
export interface ClusterSpec {
  name: string;
  /** Skyweave region id (see REGIONS). */
  region: string;
  /** The clouds the cluster spans; each needs credentials in the organisation. */
  clouds: CloudId[];
  controlPlane: { cloud: CloudId; count: 1 | 3; instanceType: string };
  workers: { cloud: CloudId; count: number; instanceType: string }[];
  /** Kubernetes version, e.g. `1.31.4`. */
  kubernetesVersion: string;
  /** WireGuard topology (default `full`; clusters created before it existed have none and mean `full`). */
  mesh?: MeshMode;
}

/** Lifecycle phase of a cluster (the reconciler's state machine). */
export type ClusterPhase = 'Pending' | 'Provisioning' | 'Ready' | 'Deleting' | 'Deleted' | 'Failed';

/** Lifecycle of one cloud's network for a cluster. */
export type NetworkPhase = 'Pending' | 'Provisioning' | 'Ready' | 'Deleting' | 'Deleted' | 'Failed';

/**
 * Lifecycle of one node. `Launching` is recorded *before* the cloud call (intent), so a crash between the call and
 * the record can be recovered by looking the instance up by tag.
 */
export type NodePhase =
  | 'Pending'
  | 'Launching'
  | 'Booting'
  | 'Registered'
  | 'Joining'
  | 'Joined'
  | 'Terminating'
  | 'Terminated'
  | 'Failed';

/** A Kubernetes-style condition. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  /** ISO-8601 timestamp of the last status change. */
  lastTransitionTime: string;
}

/** Condition types set on clusters. */
export const ConditionType = {
  Ready: 'Ready',
  NetworksReady: 'NetworksReady',
  ControlPlaneReady: 'ControlPlaneReady',
  WorkersReady: 'WorkersReady',
  Deleting: 'Deleting',
  DeleteFailed: 'DeleteFailed',
  /** Measured cross-cloud round trips within the 10 ms budget (seeds 000–002); names the worst pair. */
  CrossCloudLatency: 'CrossCloudLatency',
} as const;

/**
 * Sets `cond` in `conditions` (by type), keeping `lastTransitionTime` when the status is unchanged — as
 * Kubernetes' `meta.SetStatusCondition` does. Returns a new array; `now` is injected for tests.
 */
export function setCondition(
  conditions: readonly Condition[],
  cond: Omit<Condition, 'lastTransitionTime'>,
  now: Date = new Date(),
): Condition[] {
  const existing = conditions.find((c) => c.type === cond.type);
  const lastTransitionTime =
    existing && existing.status === cond.status ? existing.lastTransitionTime : now.toISOString();
  const next: Condition = { ...cond, lastTransitionTime };
  return [...conditions.filter((c) => c.type !== cond.type), next].sort((a, b) => a.type.localeCompare(b.type));
}

/** The answer node-agent gets when it asks whether to join (seed 003: control-plane nodes ask "when to join"). */
export type JoinAction = 'initialise' | 'join' | 'wait';

/** What the platform knows about a node when deciding its join action. */
export interface JoinCandidate {
  id: string;
  role: NodeRole;
  /** 0 for the first master, which initialises the control plane. */
  ordinal: number;
  phase: NodePhase;
}

/**
 * Join ordering: the first master (ordinal 0) initialises; every other node waits until that master has joined
 * (control plane up), then joins. Masters after the first join as control-plane members.
 */
export function decideJoin(node: JoinCandidate, all: readonly JoinCandidate[]): JoinAction {
  if (node.role === 'master' && node.ordinal === 0) return 'initialise';
  const first = all.find((n) => n.role === 'master' && n.ordinal === 0);
  return first && first.phase === 'Joined' ? 'join' : 'wait';
}
