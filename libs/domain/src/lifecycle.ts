/**
 * The lifecycle of clusters, their per-cloud networks and their nodes: the phases, which moves between them are
 * allowed (the transition tables), and which clusters are unsettled (still have work to do). Pure: no I/O, no framework.
 *
 * There is no `Failed` phase. A permanent refusal by a cloud (invalid credentials, quota, a rejected launch, a delete
 * blocked by a VM that is not ours) leaves the row in the phase it was in with a `waitingReason` and a `retryAt`
 * (backoff), shown as a condition on the cluster (WAITING_CONDITION); a delete always proceeds.
 *
 * Every writer moves a phase through one guarded transition (libs/persistence `LifecycleRepository`): a conditional
 * UPDATE `WHERE phase IN (allowed sources)`, so a writer acting on a stale read moves nothing and learns it.
 */

/** Lifecycle phase of a cluster (the reconciler's state machine). */
export const CLUSTER_PHASES = ['Pending', 'Provisioning', 'Ready', 'Deleting', 'Deleted'] as const;
export type ClusterPhase = (typeof CLUSTER_PHASES)[number];

/** Lifecycle of one cloud's network for a cluster. */
export const NETWORK_PHASES = ['Pending', 'Provisioning', 'Ready', 'Deleting', 'Deleted'] as const;
export type NetworkPhase = (typeof NETWORK_PHASES)[number];

/**
 * Lifecycle of one node. `Launching` is recorded *before* the cloud call (intent), so a crash between the call and
 * the record can be recovered by looking the instance up by tag.
 */
export const NODE_PHASES = ['Pending', 'Launching', 'Booting', 'Registered', 'Joining', 'Joined', 'Terminating', 'Terminated'] as const;
export type NodePhase = (typeof NODE_PHASES)[number];

/** Allowed moves: `from → [to…]`. A phase absent from its own list cannot be re-entered. */
export type TransitionTable<P extends string> = { readonly [K in P]: readonly P[] };

/**
 * Node moves (who makes them):
 * - Pending → Launching: node-provisioner records its launch intent (and Launching → Launching: a new attempt, new token);
 * - Launching → Booting: the cloud answered with the VM; Launching → Registered: its agent called before that answer;
 * - Launching → Pending: the cloud refused the launch permanently (quota, capacity, credentials, invalid): retried after backoff;
 * - Booting → Registered → Joining → Joined: the agent (register, ask to join, report joined);
 * - Booting | Registered | Joining | Joined → Pending: the full reconcile found the VM gone (the node gets a new one);
 * - any live phase → Terminating: removal or cluster delete (reconciler); Terminating → Terminated: node-provisioner.
 */
export const NODE_TRANSITIONS: TransitionTable<NodePhase> = {
  Pending: ['Launching', 'Terminating'],
  Launching: ['Launching', 'Booting', 'Registered', 'Pending', 'Terminating'],
  Booting: ['Registered', 'Pending', 'Terminating'],
  Registered: ['Joining', 'Pending', 'Terminating'],
  Joining: ['Joined', 'Pending', 'Terminating'],
  Joined: ['Pending', 'Terminating'],
  Terminating: ['Terminated'],
  Terminated: [],
};

/**
 * Network moves: Pending → Provisioning (reconciler sends the ensure) → Ready (network-provisioner); Ready →
 * Provisioning (the full reconcile found it drifted or gone); any but Deleted → Deleting (reconciler, cluster delete)
 * → Deleted (network-provisioner).
 */
export const NETWORK_TRANSITIONS: TransitionTable<NetworkPhase> = {
  Pending: ['Provisioning', 'Deleting'],
  Provisioning: ['Ready', 'Deleting'],
  Ready: ['Provisioning', 'Deleting'],
  Deleting: ['Deleted'],
  Deleted: [],
};

/**
 * Cluster moves (all by the reconciler's pass): Pending → Provisioning → Ready; any but Deleted → Deleting (the user
 * asked) → Deleted. A Ready cluster that heals stays Ready (its Ready condition says what is being repaired).
 */
export const CLUSTER_TRANSITIONS: TransitionTable<ClusterPhase> = {
  Pending: ['Provisioning', 'Deleting'],
  Provisioning: ['Ready', 'Deleting'],
  Ready: ['Deleting'],
  Deleting: ['Deleted'],
  Deleted: [],
};

/** Whether `table` allows `from → to`. */
export function canTransition<P extends string>(table: TransitionTable<P>, from: P, to: P): boolean {
  return table[from].includes(to);
}

/** The phases from which `table` allows a move to `to` (the guard of a conditional UPDATE). */
export function sourcesOf<P extends string>(table: TransitionTable<P>, to: P): P[] {
  return (Object.keys(table) as P[]).filter((from) => table[from].includes(to));
}

/** Node phases that need no more work from the platform (a node waiting to be launched or terminated is not settled). */
export const NODE_SETTLED_PHASES: readonly NodePhase[] = ['Joined', 'Terminated'];
/** Network phases that need no more work. */
export const NETWORK_SETTLED_PHASES: readonly NetworkPhase[] = ['Ready', 'Deleted'];
/** Cluster phases in which the reconciler always has work (creation and delete). */
export const CLUSTER_ACTIVE_PHASES: readonly ClusterPhase[] = ['Pending', 'Provisioning', 'Deleting'];
/** Agent operation states still under way. */
export const OPERATION_ACTIVE_STATES = ['Pending', 'Running'] as const;
/** Agent operation states that stop an upgrade rollout (it waits for a new version). */
export const OPERATION_STOPPED_STATES = ['Failed', 'TimedOut'] as const;

/** A node or network row that may wait out a refusal. */
export interface Waitable {
  /** Not retried before this (backoff after a refusal); null ⇒ not waiting. */
  retryAt?: Date | null;
}

/** Whether a row's backoff is over (or it has none). */
export function isDue(row: Waitable, now: Date): boolean {
  return !row.retryAt || row.retryAt.getTime() <= now.getTime();
}

/** What `isUnsettled` looks at: the cluster row, its networks, nodes and agent operations. */
export interface SettlementSnapshot {
  phase: ClusterPhase;
  deletionRequested: boolean;
  /** `spec.kubernetesVersion`. */
  kubernetesVersion?: string;
  networks: readonly ({ phase: NetworkPhase } & Waitable)[];
  nodes: readonly ({ phase: NodePhase; removalRequested: boolean; kubernetesVersion?: string | null } & Waitable)[];
  operations: readonly { purpose: 'removal' | 'upgrade' | 'certificates' | 'agent-upgrade'; state: string; kubernetesVersion: string | null }[];
}

/**
 * Whether a cluster has work the reconciler must drive now (the periodic re-drive looks at exactly these): it is being
 * created or deleted; or, Ready, a node or network is not settled and not waiting out a backoff (a waiting row is
 * unsettled again once its `retryAt` passes), a removed node is not terminated yet, an agent operation is under way,
 * or a node is behind the declared Kubernetes version while no failed step stopped that rollout.
 * A Deleted cluster is settled. The SQL of the re-drive (libs/persistence `unsettledClustersSql`) is built from the
 * same constants and checked against this predicate by test.
 */
export function isUnsettled(s: SettlementSnapshot, now: Date): boolean {
  if (s.phase === 'Deleted') return false;
  if (CLUSTER_ACTIVE_PHASES.includes(s.phase) || s.deletionRequested) return true;
  if (s.networks.some((n) => !NETWORK_SETTLED_PHASES.includes(n.phase) && isDue(n, now))) return true;
  if (s.nodes.some((n) => !NODE_SETTLED_PHASES.includes(n.phase) && isDue(n, now))) return true;
  if (s.nodes.some((n) => n.removalRequested && n.phase !== 'Terminated' && isDue(n, now))) return true;
  if (s.operations.some((o) => (OPERATION_ACTIVE_STATES as readonly string[]).includes(o.state))) return true;
  const target = s.kubernetesVersion;
  if (!target) return false;
  const behind = s.nodes.some((n) => n.phase === 'Joined' && !n.removalRequested && !!n.kubernetesVersion && n.kubernetesVersion !== target);
  const stopped = s.operations.some((o) => o.purpose === 'upgrade' && o.kubernetesVersion === target && (OPERATION_STOPPED_STATES as readonly string[]).includes(o.state));
  return behind && !stopped;
}
