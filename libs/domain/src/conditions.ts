/**
 * Cluster conditions, as in Kubernetes' own objects (`type`, `status`, `reason`, `message`, `lastTransitionTime`).
 *
 * Ownership: every condition type has exactly one writer (CONDITION_OWNERS). A writer patches only its own types, by
 * type, under the cluster row lock (`SELECT … FOR NO KEY UPDATE`, then patch: `patchClusterConditions` in libs/persistence),
 * never the whole array from a snapshot read earlier, so two writers never undo each other's conditions.
 */

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
  /** True while a delete runs (reason: the step); False `Deleted` at the end. */
  Deleting: 'Deleting',
  /** True while a delete waits for something outside Skyweave (a VM not ours in the network), naming it; retried with backoff. */
  DeleteBlocked: 'DeleteBlocked',
  /** Measured cross-cloud round trips within the 10 ms budget (seeds 000–002); names the worst pair. */
  CrossCloudLatency: 'CrossCloudLatency',
  /** False while a node or network waits out a cloud's quota or capacity refusal (reason `QuotaExceeded` / `InsufficientCapacity`, the cloud's message). */
  CapacityAvailable: 'CapacityAvailable',
  /** False while a cloud refuses the organisation's credentials (or there are none), naming the cloud; retried with backoff and at once when they are replaced. */
  CredentialsValid: 'CredentialsValid',
  /** False while a cloud rejects a request as invalid (a launch refused), with the cloud's message; retried with backoff. */
  RequestsAccepted: 'RequestsAccepted',
  /** Every node runs `spec.kubernetesVersion` (False `Upgrading` during a rollout, `UpgradeFailed` naming the node when it stopped). */
  Upgraded: 'Upgraded',
  /**
   * Every node's agent runs the platform's current node-agent version (False `AgentUpgrading` during the agents'
   * rollout, `AgentUpgradeFailed` naming the node and its error while a failed upgrade waits out its backoff).
   */
  AgentUpgraded: 'AgentUpgraded',
  /** The last full reconcile found the clouds as declared (False `Repairing` with what it found while repairs run). */
  InSync: 'InSync',
  /**
   * The platform's Kubernetes view (apps/kube-watcher) reaches the cluster's API server: True `Watching` while its node
   * and pod watches run; False with why (`Unreachable`, `Unauthorized`, `Forbidden`, `ApiError`) and the error's
   * message; Unknown `Connecting` before the first attempt's outcome.
   */
  KubernetesApiReachable: 'KubernetesApiReachable',
  /**
   * The cluster add-ons (Grafana, Prometheus, the Kubernetes dashboard; docs/sso-gateway.md) were applied by the
   * kube-watcher: True `Applied`; False `ApplyFailed` or `Unreachable` with the API's message (retried at the next
   * reconnection). Absent when the watcher installs no add-ons (`SKYWEAVE_ADDONS=false`).
   */
  AddonsInstalled: 'AddonsInstalled',
} as const;
export type ConditionTypeName = (typeof ConditionType)[keyof typeof ConditionType];

/** Reasons of cluster conditions (CamelCase, as Kubernetes'). */
export const ConditionReason = {
  // Ready
  ClusterReady: 'ClusterReady',
  Provisioning: 'Provisioning',
  Reconciling: 'Reconciling',
  Waiting: 'Waiting',
  Deleting: 'Deleting',
  // NetworksReady / ControlPlaneReady / WorkersReady
  AllNetworksReady: 'AllNetworksReady',
  AllMastersJoined: 'AllMastersJoined',
  AllWorkersJoined: 'AllWorkersJoined',
  Joining: 'Joining',
  // Deleting / DeleteBlocked
  TerminatingNodes: 'TerminatingNodes',
  DeletingNetworks: 'DeletingNetworks',
  Deleted: 'Deleted',
  ForeignResourcesInNetwork: 'ForeignResourcesInNetwork',
  NotBlocked: 'NotBlocked',
  // CapacityAvailable
  NoRefusals: 'NoRefusals',
  QuotaExceeded: 'QuotaExceeded',
  InsufficientCapacity: 'InsufficientCapacity',
  // CredentialsValid
  CredentialsAccepted: 'CredentialsAccepted',
  InvalidCredentials: 'InvalidCredentials',
  MissingCredentials: 'MissingCredentials',
  // RequestsAccepted
  NoRejections: 'NoRejections',
  RequestRejected: 'RequestRejected',
  // Upgraded
  UpToDate: 'UpToDate',
  Upgrading: 'Upgrading',
  UpgradeFailed: 'UpgradeFailed',
  // AgentUpgraded
  AgentsUpToDate: 'AgentsUpToDate',
  AgentUpgrading: 'AgentUpgrading',
  AgentUpgradeFailed: 'AgentUpgradeFailed',
  // InSync
  NoDrift: 'NoDrift',
  Repairing: 'Repairing',
  // CrossCloudLatency
  WithinBudget: 'WithinBudget',
  OverBudget: 'OverBudget',
  NotMeasured: 'NotMeasured',
  // KubernetesApiReachable
  Watching: 'Watching',
  Connecting: 'Connecting',
  Unreachable: 'Unreachable',
  Unauthorized: 'Unauthorized',
  Forbidden: 'Forbidden',
  ApiError: 'ApiError',
  // AddonsInstalled
  Applied: 'Applied',
  ApplyFailed: 'ApplyFailed',
} as const;
export type ConditionReasonName = (typeof ConditionReason)[keyof typeof ConditionReason];

/**
 * Why a node or network row waits (its `waitingReason`), until its `retryAt` (backoff): a permanent cloud refusal is
 * never terminal, it is retried with backoff and shown as a condition on the cluster (which one: WAITING_CONDITION).
 */
export const WaitingReason = {
  QuotaExceeded: 'QuotaExceeded',
  InsufficientCapacity: 'InsufficientCapacity',
  InvalidCredentials: 'InvalidCredentials',
  MissingCredentials: 'MissingCredentials',
  RequestRejected: 'RequestRejected',
  ForeignResourcesInNetwork: 'ForeignResourcesInNetwork',
} as const;
export type WaitingReasonName = (typeof WaitingReason)[keyof typeof WaitingReason];

/** The cluster condition a waiting reason shows on (False, with the waiting reason as its reason). */
export const WAITING_CONDITION: Record<WaitingReasonName, ConditionTypeName> = {
  QuotaExceeded: ConditionType.CapacityAvailable,
  InsufficientCapacity: ConditionType.CapacityAvailable,
  InvalidCredentials: ConditionType.CredentialsValid,
  MissingCredentials: ConditionType.CredentialsValid,
  RequestRejected: ConditionType.RequestsAccepted,
  ForeignResourcesInNetwork: ConditionType.DeleteBlocked,
};

/** The writers of cluster conditions. */
export type ConditionWriter = 'reconciler' | 'full-reconcile' | 'mesh' | 'kube-watcher';

/**
 * Which writer owns which condition types (one owner per type):
 * - `reconciler` (apps/reconciler/src/plan.ts, applied by reconciler.ts): the state machine's conditions, derived from
 *   the rows (phases, waiting reasons, agent operations) at each level-triggered pass;
 * - `full-reconcile` (apps/reconciler/src/full.ts): what the last full reconcile found;
 * - `mesh` (api-gateway's mesh controller): the measured cross-cloud latency;
 * - `kube-watcher` (apps/kube-watcher): whether the cluster's Kubernetes API answers its watches, and whether the
 *   cluster add-ons are applied.
 */
export const CONDITION_OWNERS: Record<ConditionWriter, readonly ConditionTypeName[]> = {
  reconciler: [
    ConditionType.Ready, ConditionType.NetworksReady, ConditionType.ControlPlaneReady, ConditionType.WorkersReady,
    ConditionType.Deleting, ConditionType.DeleteBlocked, ConditionType.CapacityAvailable, ConditionType.CredentialsValid,
    ConditionType.RequestsAccepted, ConditionType.Upgraded, ConditionType.AgentUpgraded,
  ],
  'full-reconcile': [ConditionType.InSync],
  mesh: [ConditionType.CrossCloudLatency],
  'kube-watcher': [ConditionType.KubernetesApiReachable, ConditionType.AddonsInstalled],
};

/** The owner of a condition type; undefined for a type no writer owns any more (left by an older version). */
export function conditionOwner(type: string): ConditionWriter | undefined {
  return (Object.keys(CONDITION_OWNERS) as ConditionWriter[]).find((w) => (CONDITION_OWNERS[w] as readonly string[]).includes(type));
}

/**
 * Sets `cond` in `conditions` (by type), keeping `lastTransitionTime` when the status is unchanged — as
 * Kubernetes' `meta.SetStatusCondition` does. Returns a new array sorted by type; `now` is injected for tests.
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

/**
 * Patches `current` with a writer's conditions: each of `set` replaces the condition of its type (setCondition), each
 * type in `remove` is dropped; every other type is kept as it is. @throws Error when a type is not owned by `writer`
 * (a programming error: see CONDITION_OWNERS).
 */
export function patchConditions(
  current: readonly Condition[], writer: ConditionWriter,
  patch: { set?: readonly Omit<Condition, 'lastTransitionTime'>[]; remove?: readonly string[] }, now: Date = new Date(),
): Condition[] {
  const owned = CONDITION_OWNERS[writer] as readonly string[];
  for (const t of [...(patch.set ?? []).map((c) => c.type), ...(patch.remove ?? [])]) {
    if (!owned.includes(t)) throw new Error(`condition ${t} is not owned by ${writer} (owners: CONDITION_OWNERS)`);
  }
  let next = current.filter((c) => !(patch.remove ?? []).includes(c.type));
  for (const c of patch.set ?? []) next = setCondition(next, c, now);
  return [...next].sort((a, b) => a.type.localeCompare(b.type));
}
