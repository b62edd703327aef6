import { CloudId } from './cloud';
import type { NodePhase } from './lifecycle';
import type { MeshMode } from './mesh';
import type { NodeRole } from './node-role';

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
 * Join ordering: the first master (ordinal 0) initialises; every other node waits until a master has joined
 * (control plane up), then joins. Masters after the first join as control-plane members. A replaced first master
 * (its VM was lost) joins the surviving control plane when another master is up, and initialises only when it is the
 * only master (a single-master cluster that lost its master: its etcd is gone with it).
 */
export function decideJoin(node: JoinCandidate, all: readonly JoinCandidate[]): JoinAction {
  const upMasters = all.filter((n) => n.role === 'master' && n.phase === 'Joined' && n.id !== node.id);
  if (node.role === 'master' && node.ordinal === 0) return upMasters.length > 0 ? 'join' : 'initialise';
  return upMasters.length > 0 ? 'join' : 'wait';
}

/** A Kubernetes release `MAJOR.MINOR.PATCH` (no `v`, no pre-release). */
export const KUBERNETES_VERSION = /^(\d+)\.(\d+)\.(\d+)$/;

/**
 * Whether `to` is a patch upgrade of `from`: same major and minor, higher patch (kubeadm's patch-upgrade path;
 * minor upgrades need their own procedure and are refused).
 * @returns `'patch'`, `'same'`, or a sentence saying why not.
 */
export function comparePatchUpgrade(from: string, to: string): 'patch' | 'same' | string {
  const a = KUBERNETES_VERSION.exec(from);
  const b = KUBERNETES_VERSION.exec(to);
  if (!a || !b) return `versions must be MAJOR.MINOR.PATCH, got ${from} → ${to}`;
  if (a[1] !== b[1] || a[2] !== b[2]) return `only patch upgrades within ${a[1]}.${a[2]} are supported (asked ${from} → ${to})`;
  const d = Number(b[3]) - Number(a[3]);
  if (d === 0) return 'same';
  return d > 0 ? 'patch' : `downgrades are not supported (asked ${from} → ${to})`;
}

/**
 * When to try again after a cloud's quota or capacity refusal: `baseSeconds · 2^(attempt-1)`, capped at `capSeconds`
 * (attempt counts from 1). Defaults 30 s doubling to 15 min, so a refusal is retried a few times an hour, never in a loop.
 */
export function backoffSeconds(attempt: number, baseSeconds = 30, capSeconds = 900): number {
  return Math.min(capSeconds, baseSeconds * 2 ** Math.max(0, attempt - 1));
}

/** Workers a cluster may hold, however added (`POST /v1/clusters/{id}/nodes` or the autoscaler). */
export const MAX_CLUSTER_WORKERS = 500;

/**
 * An organisation's quotas where its row says nothing (`organisations.maxClusters` / `maxNodes` NULL): clusters not
 * Deleted and nodes not Terminated. Overridden per installation by `SKYWEAVE_QUOTA_CLUSTERS` / `SKYWEAVE_QUOTA_NODES`
 * (read by api-gateway and the autoscaler alike).
 */
export const DEFAULT_ORGANISATION_QUOTAS = { maxClusters: 20, maxNodes: 200 } as const;
