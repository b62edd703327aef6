import {
  CLOUD_NAMES, CloudId, ClusterPhase, Condition, ConditionType, NetworkPhase, NodePhase, NodeRole, setCondition,
} from '@skyweave/domain';
import { Subjects } from '@skyweave/contracts';

/** The reconciler's view of a cluster. */
export interface ClusterView {
  id: string;
  organisationId: string;
  phase: ClusterPhase;
  conditions: Condition[];
  deletionRequested: boolean;
  /** `spec.kubernetesVersion`; absent ⇒ no rollout is planned. */
  kubernetesVersion?: string;
}
export interface NetworkView {
  cloud: CloudId; phase: NetworkPhase; message: string | null; dispatchedAt: Date | null;
  /** Waiting out a quota or capacity refusal until then (`waitingReason` = the error kind). */
  retryAt?: Date | null; waitingReason?: string | null;
}
export interface NodeView {
  id: string; name: string; cloud: CloudId; role: NodeRole; phase: NodePhase; message: string | null; dispatchedAt: Date | null;
  /** The user asked to remove this node: it is drained, terminated and no longer counts. */
  removalRequested: boolean;
  /** Position within its role (masters are upgraded in this order). */
  ordinal?: number;
  /** Waiting out a quota or capacity refusal until then (`waitingReason` = the error kind). */
  retryAt?: Date | null; waitingReason?: string | null;
  /** The Kubernetes version the node runs; null ⇒ unknown, taken as the cluster's. */
  kubernetesVersion?: string | null;
}
/** A drain / upgrade / uncordon asked of an agent. */
export interface OperationView {
  id: string; kind: 'drain' | 'uncordon' | 'upgrade'; purpose: 'removal' | 'upgrade';
  executorNodeId: string; targetNodeId: string; kubernetesVersion: string | null;
  state: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'TimedOut'; message: string | null; deadlineAt: Date; createdAt: Date;
}
export type NewOperation = Omit<OperationView, 'id' | 'state' | 'message' | 'deadlineAt' | 'createdAt'> & { upgradeControlPlane: boolean; timeoutSeconds: number };

export type Command =
  | { subject: typeof Subjects.NetworkEnsure | typeof Subjects.NetworkDelete; cloud: CloudId }
  | { subject: typeof Subjects.NodeLaunch | typeof Subjects.NodeTerminate; nodeId: string };

/** What one reconcile pass decides. The caller applies it in one transaction (state, commands to the outbox, events). */
export interface Plan {
  phase: ClusterPhase;
  conditions: Condition[];
  commands: Command[];
  /** Rows whose `dispatchedAt` to set (and phase to move, for deletes). */
  networkUpdates: { cloud: CloudId; phase?: NetworkPhase }[];
  nodeUpdates: { id: string; phase?: NodePhase; kubernetesVersion?: string }[];
  /** Operations to ask of agents, and active ones past their deadline (→ TimedOut). */
  newOperations: NewOperation[];
  timedOut: string[];
  events: { type: 'Normal' | 'Warning'; reason: string; message: string; object?: string }[];
}

/** How long agents get, in seconds. */
export interface PlanOptions {
  /** `kubectl drain --timeout` before a removal or an upgrade; past it (plus a margin) the node is removed anyway / the rollout stops. */
  drainTimeoutSeconds: number;
  /** Upgrade of one node, Ready again included. */
  upgradeTimeoutSeconds: number;
}
export const DEFAULT_PLAN_OPTIONS: PlanOptions = { drainTimeoutSeconds: 120, upgradeTimeoutSeconds: 600 };

/** A command not acknowledged by progress within this many milliseconds is sent again. */
export const REDISPATCH_AFTER_MS = 60_000;

const stale = (d: Date | null, now: Date) => d === null || now.getTime() - d.getTime() > REDISPATCH_AFTER_MS;
const due = (retryAt: Date | null | undefined, now: Date) => !retryAt || retryAt.getTime() <= now.getTime();
const NODE_LAUNCHABLE: NodePhase[] = ['Pending', 'Launching'];
const NODE_GONE: NodePhase[] = ['Terminated'];
const ACTIVE = (o: OperationView) => o.state === 'Pending' || o.state === 'Running';
const byOrdinal = (a: NodeView, b: NodeView) => (a.ordinal ?? 0) - (b.ordinal ?? 0);

/**
 * One level-triggered reconcile pass: compares what is recorded with what is desired and decides the next commands.
 * It never remembers what it did before: a command is (re)sent when its row has not progressed and the last send
 * is older than REDISPATCH_AFTER_MS, so a lost message only delays. Pure: `now` is injected.
 *
 * Create: every cloud's network is ensured in parallel; a node is launched once its cloud's network is Ready; the
 * cluster is Ready when every network is Ready and every node Joined. A quota or capacity refusal is not a failure:
 * the row waits until its `retryAt` (CapacityAvailable=False with the cloud's reason meanwhile).
 * Heal: the full reconcile (full.ts) moves rows back to Pending / Provisioning; this pass then relaunches and re-ensures.
 * Remove a worker: a master's agent drains it (timeout), then its VM is terminated.
 * Upgrade (seed 003 "upgrades & patching"): one node at a time, masters first — drain, upgrade, uncordon — and a
 * failed or timed-out step stops the rollout with Upgraded=False naming the node.
 * Delete (seed 003, "Cleanup"): fastest teardown, no drain — terminate every VM, then delete each cloud's network;
 * a network whose delete is refused (a VM not ours in it) fails the delete with a DeleteFailed condition.
 */
export function planReconcile(
  cluster: ClusterView, networks: NetworkView[], nodes: NodeView[], now: Date,
  operations: OperationView[] = [], options: PlanOptions = DEFAULT_PLAN_OPTIONS,
): Plan {
  const plan: Plan = { phase: cluster.phase, conditions: cluster.conditions, commands: [], networkUpdates: [], nodeUpdates: [], newOperations: [], timedOut: [], events: [] };
  const cond = (c: Omit<Condition, 'lastTransitionTime'>) => { plan.conditions = setCondition(plan.conditions, c, now); };

  if (cluster.phase === 'Deleted') return plan;
  if (cluster.deletionRequested) return planDelete(cluster, networks, nodes, now, plan, cond);

  // Operations past their deadline time out (the agent is gone or stuck); the steps below see them as ended.
  operations = operations.map((o) => {
    if (!ACTIVE(o) || o.deadlineAt.getTime() > now.getTime()) return o;
    plan.timedOut.push(o.id);
    return { ...o, state: 'TimedOut' as const, message: `no result within its deadline (${o.deadlineAt.toISOString()})` };
  });
  const nameOf = (id: string) => nodes.find((n) => n.id === id)?.name ?? id;
  const terminate = (n: NodeView) => {
    plan.commands.push({ subject: Subjects.NodeTerminate, nodeId: n.id });
    plan.nodeUpdates.push({ id: n.id, phase: 'Terminating' });
  };
  const liveMasters = nodes.filter((n) => n.role === 'master' && !n.removalRequested && n.phase === 'Joined').sort(byOrdinal);
  /** A master agent (holding admin.conf) to drain/uncordon `target`: another one if possible. */
  const drainer = (target: NodeView) => liveMasters.find((m) => m.id !== target.id) ?? (target.role === 'master' && target.phase === 'Joined' ? target : undefined);

  // Nodes the user removed: drained by a master's agent (bounded by the drain timeout), then terminated; out of every count below.
  for (const n of nodes) {
    if (!n.removalRequested || NODE_GONE.includes(n.phase)) continue;
    if (n.phase === 'Terminating') {
      if (stale(n.dispatchedAt, now)) terminate(n);
      continue;
    }
    const drain = operations.filter((o) => o.purpose === 'removal' && o.targetNodeId === n.id && o.kind === 'drain').at(-1);
    const by = drainer(n);
    if (n.phase === 'Joined' && by && !drain) {
      plan.newOperations.push({ kind: 'drain', purpose: 'removal', executorNodeId: by.id, targetNodeId: n.id, kubernetesVersion: null, upgradeControlPlane: false, timeoutSeconds: options.drainTimeoutSeconds });
      plan.events.push({ type: 'Normal', reason: 'NodeDraining', object: `node/${n.name}`, message: `Cordoning and draining ${n.name} (through ${by.name}'s agent, timeout ${options.drainTimeoutSeconds} s) before removing it` });
      continue;
    }
    if (drain && ACTIVE(drain)) continue;
    if (drain && drain.state !== 'Succeeded') {
      plan.events.push({ type: 'Warning', reason: 'DrainIncomplete', object: `node/${n.name}`, message: `Drain of ${n.name} ${drain.state === 'TimedOut' ? 'timed out' : 'failed'} (${drain.message ?? 'no detail'}); removing it anyway` });
    }
    terminate(n);
    plan.events.push({ type: 'Normal', reason: 'NodeRemoving', object: `node/${n.name}`, message: `Removing ${n.role} ${n.name} from ${CLOUD_NAMES[n.cloud]}: terminating its VM` });
  }
  nodes = nodes.filter((n) => !n.removalRequested);

  if (cluster.phase === 'Failed') return plan;
  const wasReady = cluster.phase === 'Ready';
  if (cluster.phase === 'Pending') {
    plan.phase = 'Provisioning';
    plan.events.push({ type: 'Normal', reason: 'ProvisioningStarted', message: `Provisioning networks on ${networks.map((n) => CLOUD_NAMES[n.cloud]).join(', ')}` });
  }

  // Networks: all clouds in parallel (also a Ready cluster's network that the full reconcile found drifted).
  for (const n of networks) {
    if ((n.phase === 'Pending' || n.phase === 'Provisioning') && stale(n.dispatchedAt, now) && due(n.retryAt, now)) {
      plan.commands.push({ subject: Subjects.NetworkEnsure, cloud: n.cloud });
      plan.networkUpdates.push({ cloud: n.cloud, phase: 'Provisioning' });
    }
  }
  const failedNet = networks.find((n) => n.phase === 'Failed');
  const readyNets = new Set(networks.filter((n) => n.phase === 'Ready').map((n) => n.cloud));
  cond(
    readyNets.size === networks.length
      ? { type: ConditionType.NetworksReady, status: 'True', reason: 'AllNetworksReady', message: `${networks.length} network(s) ready` }
      : failedNet
        ? { type: ConditionType.NetworksReady, status: 'False', reason: 'NetworkFailed', message: `${CLOUD_NAMES[failedNet.cloud]}: ${failedNet.message ?? 'failed'}` }
        : { type: ConditionType.NetworksReady, status: 'False', reason: 'Provisioning', message: `${readyNets.size}/${networks.length} network(s) ready` },
  );

  // Nodes: launched as soon as their cloud's network is ready (masters and workers alike; join order is the agents').
  for (const n of nodes) {
    if (!readyNets.has(n.cloud) || !NODE_LAUNCHABLE.includes(n.phase) || !due(n.retryAt, now)) continue;
    // sent once, then again only if the node has not progressed for REDISPATCH_AFTER_MS (dispatchedAt is recorded)
    if (stale(n.dispatchedAt, now)) {
      plan.commands.push({ subject: Subjects.NodeLaunch, nodeId: n.id });
      plan.nodeUpdates.push({ id: n.id });
    }
  }

  // Quota and capacity: said at once, with the cloud's words, and when the next try is.
  const waiting = [
    ...networks.filter((n) => n.waitingReason && n.phase !== 'Ready').map((n) => ({ what: `network on ${CLOUD_NAMES[n.cloud]}`, ...n })),
    ...nodes.filter((n) => n.waitingReason && NODE_LAUNCHABLE.includes(n.phase)).map((n) => ({ what: `${n.name} on ${CLOUD_NAMES[n.cloud]}`, ...n })),
  ];
  cond(waiting.length === 0
    ? { type: ConditionType.CapacityAvailable, status: 'True', reason: 'NoRefusals', message: 'No cloud refused a resource for quota or capacity' }
    : {
      type: ConditionType.CapacityAvailable, status: 'False', reason: waiting[0].waitingReason ?? 'QuotaExceeded',
      message: waiting.map((w) => `${w.what}: ${w.message ?? w.waitingReason}${w.retryAt ? ` (retry at ${w.retryAt.toISOString()})` : ''}`).join('; '),
    });

  const masters = nodes.filter((n) => n.role === 'master');
  const workers = nodes.filter((n) => n.role === 'worker');
  const joined = (xs: NodeView[]) => xs.filter((n) => n.phase === 'Joined').length;
  const failedNode = nodes.find((n) => n.phase === 'Failed');
  cond(joined(masters) === masters.length
    ? { type: ConditionType.ControlPlaneReady, status: 'True', reason: 'AllMastersJoined', message: `${masters.length} master(s) joined` }
    : { type: ConditionType.ControlPlaneReady, status: 'False', reason: 'Joining', message: `${joined(masters)}/${masters.length} master(s) joined` });
  cond(joined(workers) === workers.length
    ? { type: ConditionType.WorkersReady, status: 'True', reason: 'AllWorkersJoined', message: `${workers.length} worker(s) joined` }
    : { type: ConditionType.WorkersReady, status: 'False', reason: 'Joining', message: `${joined(workers)}/${workers.length} worker(s) joined` });

  if (failedNet || failedNode) {
    const what = failedNet ? `network on ${CLOUD_NAMES[failedNet.cloud]}: ${failedNet.message}` : `node ${failedNode?.name}: ${failedNode?.message}`;
    cond({ type: ConditionType.Ready, status: 'False', reason: 'ProvisioningFailed', message: what });
    // A cluster that was Ready keeps serving: the failure is reported, the rest of it keeps being reconciled.
    if (!wasReady) {
      plan.phase = 'Failed';
      plan.events.push({ type: 'Warning', reason: 'ProvisioningFailed', message: what });
      return plan;
    }
  } else if (readyNets.size === networks.length && joined(nodes) === nodes.length) {
    const before = cluster.conditions.find((c) => c.type === ConditionType.Ready)?.status;
    plan.phase = 'Ready';
    cond({ type: ConditionType.Ready, status: 'True', reason: 'ClusterReady', message: 'Every network is ready and every node has joined' });
    if (before !== 'True') {
      plan.events.push({ type: 'Normal', reason: 'ClusterReady', message: `Cluster ready: ${masters.length} master(s), ${workers.length} worker(s) on ${networks.length} cloud(s)` });
    }
  } else {
    cond({ type: ConditionType.Ready, status: 'False', reason: wasReady ? 'Reconciling' : 'Provisioning', message: `${readyNets.size}/${networks.length} network(s) ready, ${joined(nodes)}/${nodes.length} node(s) joined` });
  }

  if (plan.phase === 'Ready') planUpgrade(cluster, nodes, operations, options, plan, cond, drainer, nameOf);
  return plan;
}

/**
 * The rollout of `spec.kubernetesVersion`, one node at a time (masters first, by ordinal): drain → upgrade →
 * uncordon → the node's version recorded. Runs only while every node has joined (no rollout during healing).
 */
function planUpgrade(
  cluster: ClusterView, nodes: NodeView[], operations: OperationView[], options: PlanOptions, plan: Plan,
  cond: (c: Omit<Condition, 'lastTransitionTime'>) => void, drainer: (n: NodeView) => NodeView | undefined, nameOf: (id: string) => string,
): void {
  const target = cluster.kubernetesVersion;
  if (!target || nodes.some((n) => n.phase !== 'Joined')) return;
  const ordered = [...nodes.filter((n) => n.role === 'master').sort(byOrdinal), ...nodes.filter((n) => n.role === 'worker').sort(byOrdinal)];
  const behind = ordered.filter((n) => (n.kubernetesVersion ?? target) !== target);
  if (behind.length === 0) {
    cond({ type: ConditionType.Upgraded, status: 'True', reason: 'UpToDate', message: `Every node runs Kubernetes ${target}` });
    return;
  }
  const ops = operations.filter((o) => o.purpose === 'upgrade' && o.kubernetesVersion === target);
  const failed = ops.find((o) => o.state === 'Failed' || o.state === 'TimedOut');
  if (failed) {
    const message = `Rollout to ${target} stopped at ${nameOf(failed.targetNodeId)}: ${failed.kind} ${failed.state === 'TimedOut' ? 'timed out' : 'failed'}: ${failed.message ?? 'no detail'}`;
    const already = cluster.conditions.find((c) => c.type === ConditionType.Upgraded)?.reason === 'UpgradeFailed';
    cond({ type: ConditionType.Upgraded, status: 'False', reason: 'UpgradeFailed', message });
    if (!already) plan.events.push({ type: 'Warning', reason: 'UpgradeFailed', object: `node/${nameOf(failed.targetNodeId)}`, message });
    return;
  }
  const node = behind[0];
  const step = (kind: OperationView['kind']) => ops.filter((o) => o.targetNodeId === node.id && o.kind === kind).at(-1);
  const drain = step('drain');
  const upgrade = step('upgrade');
  const uncordon = step('uncordon');
  const position = `${ordered.length - behind.length + 1}/${ordered.length}`;
  const progress = (what: string) => cond({ type: ConditionType.Upgraded, status: 'False', reason: 'Upgrading', message: `Upgrading to ${target}: ${node.name} (${position}) ${what}` });
  const ask = (kind: OperationView['kind'], executor: NodeView, timeoutSeconds: number, upgradeControlPlane = false) => {
    plan.newOperations.push({ kind, purpose: 'upgrade', executorNodeId: executor.id, targetNodeId: node.id, kubernetesVersion: target, upgradeControlPlane, timeoutSeconds });
  };
  const by = drainer(node);
  if (!by) return;
  if (!drain) {
    ask('drain', by, options.drainTimeoutSeconds);
    plan.events.push({ type: 'Normal', reason: 'NodeUpgrading', object: `node/${node.name}`, message: `Upgrading ${node.name} (${position}) to Kubernetes ${target}: draining` });
    return progress('draining');
  }
  if (drain.state !== 'Succeeded') return progress('draining');
  if (!upgrade) {
    // kubeadm: `upgrade apply` on the first control-plane node upgraded, `upgrade node` everywhere else.
    const first = node.role === 'master' && !nodes.some((n) => n.role === 'master' && n.id !== node.id && n.kubernetesVersion === target);
    ask('upgrade', node, options.upgradeTimeoutSeconds, first);
    return progress('upgrading');
  }
  if (upgrade.state !== 'Succeeded') return progress('upgrading');
  if (!uncordon) {
    ask('uncordon', by, options.drainTimeoutSeconds);
    return progress('uncordoning');
  }
  if (uncordon.state !== 'Succeeded') return progress('uncordoning');
  plan.nodeUpdates.push({ id: node.id, kubernetesVersion: target });
  plan.events.push({ type: 'Normal', reason: 'NodeUpgraded', object: `node/${node.name}`, message: `${node.name} runs Kubernetes ${target} and is Ready (${position})` });
  if (behind.length === 1) {
    cond({ type: ConditionType.Upgraded, status: 'True', reason: 'UpToDate', message: `Every node runs Kubernetes ${target}` });
    plan.events.push({ type: 'Normal', reason: 'UpgradeComplete', message: `Every node runs Kubernetes ${target}` });
  } else {
    progress('done');
  }
}

function planDelete(
  cluster: ClusterView, networks: NetworkView[], nodes: NodeView[], now: Date, plan: Plan,
  cond: (c: Omit<Condition, 'lastTransitionTime'>) => void,
): Plan {
  // A failed delete waits for the user to delete again (the API moves it back to Deleting).
  if (cluster.phase === 'Failed') return plan;
  if (cluster.phase !== 'Deleting') {
    plan.phase = 'Deleting';
    plan.events.push({ type: 'Normal', reason: 'DeleteStarted', message: 'Deleting: terminating every VM, then each cloud\'s network' });
    plan.conditions = plan.conditions.filter((c) => c.type !== ConditionType.DeleteFailed);
  }
  cond({ type: ConditionType.Ready, status: 'False', reason: 'Deleting', message: 'The cluster is being deleted' });
  const alive = nodes.filter((n) => !NODE_GONE.includes(n.phase));
  for (const n of alive) {
    if (n.phase !== 'Terminating' || stale(n.dispatchedAt, now)) {
      plan.commands.push({ subject: Subjects.NodeTerminate, nodeId: n.id });
      plan.nodeUpdates.push({ id: n.id, phase: 'Terminating' });
    }
  }
  if (alive.length > 0) {
    cond({ type: ConditionType.Deleting, status: 'True', reason: 'TerminatingNodes', message: `${alive.length} VM(s) terminating` });
    return plan;
  }
  const blocked = networks.filter((n) => n.phase === 'Failed');
  if (blocked.length > 0) {
    const message = blocked.map((n) => `${CLOUD_NAMES[n.cloud]}: ${n.message ?? 'delete refused'}`).join('; ');
    plan.phase = 'Failed';
    cond({ type: ConditionType.DeleteFailed, status: 'True', reason: 'ForeignResourcesInNetwork', message });
    cond({ type: ConditionType.Deleting, status: 'False', reason: 'DeleteFailed', message });
    plan.events.push({ type: 'Warning', reason: 'DeleteFailed', message });
    return plan;
  }
  const remaining = networks.filter((n) => n.phase !== 'Deleted');
  for (const n of remaining) {
    if (n.phase !== 'Deleting' || stale(n.dispatchedAt, now)) {
      plan.commands.push({ subject: Subjects.NetworkDelete, cloud: n.cloud });
      plan.networkUpdates.push({ cloud: n.cloud, phase: 'Deleting' });
    }
  }
  if (remaining.length > 0) {
    cond({ type: ConditionType.Deleting, status: 'True', reason: 'DeletingNetworks', message: `${remaining.length} network(s) deleting` });
    return plan;
  }
  plan.phase = 'Deleted';
  cond({ type: ConditionType.Deleting, status: 'False', reason: 'Deleted', message: 'Every VM and network is gone' });
  plan.events.push({ type: 'Normal', reason: 'Deleted', message: 'Cluster deleted: every VM terminated, every network removed' });
  return plan;
}
