import { CLOUD_NAMES, CloudId, ClusterPhase, Condition, ConditionType, NetworkPhase, NodePhase, NodeRole, setCondition } from '@skyweave/domain';
import { Subjects } from '@skyweave/contracts';

/** The reconciler's view of a cluster. */
export interface ClusterView {
  id: string;
  organisationId: string;
  phase: ClusterPhase;
  conditions: Condition[];
  deletionRequested: boolean;
}
export interface NetworkView { cloud: CloudId; phase: NetworkPhase; message: string | null; dispatchedAt: Date | null }
export interface NodeView {
  id: string; name: string; cloud: CloudId; role: NodeRole; phase: NodePhase; message: string | null; dispatchedAt: Date | null;
  /** The user asked to remove this node: it is terminated and no longer counts. */
  removalRequested: boolean;
}

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
  nodeUpdates: { id: string; phase?: NodePhase }[];
  events: { type: 'Normal' | 'Warning'; reason: string; message: string }[];
}

/** A command not acknowledged by progress within this many milliseconds is sent again. */
export const REDISPATCH_AFTER_MS = 60_000;

const stale = (d: Date | null, now: Date) => d === null || now.getTime() - d.getTime() > REDISPATCH_AFTER_MS;
const NODE_LAUNCHABLE: NodePhase[] = ['Pending', 'Launching'];
const NODE_GONE: NodePhase[] = ['Terminated'];

/**
 * One level-triggered reconcile pass: compares what is recorded with what is desired and decides the next commands.
 * It never remembers what it did before: a command is (re)sent when its row has not progressed and the last send
 * is older than REDISPATCH_AFTER_MS, so a lost message only delays. Pure: `now` is injected.
 *
 * Create: every cloud's network is ensured in parallel; a node is launched once its cloud's network is Ready; the
 * cluster is Ready when every network is Ready and every node Joined.
 * Delete (seed 003, "Cleanup"): fastest teardown, no drain — terminate every VM, then delete each cloud's network;
 * a network whose delete is refused (a VM not ours in it) fails the delete with a DeleteFailed condition.
 */
export function planReconcile(cluster: ClusterView, networks: NetworkView[], nodes: NodeView[], now: Date): Plan {
  const plan: Plan = { phase: cluster.phase, conditions: cluster.conditions, commands: [], networkUpdates: [], nodeUpdates: [], events: [] };
  const cond = (c: Omit<Condition, 'lastTransitionTime'>) => { plan.conditions = setCondition(plan.conditions, c, now); };

  if (cluster.phase === 'Deleted') return plan;

  if (cluster.deletionRequested) {
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

  // Nodes the user removed: terminated (sent once, again when stale), then out of every count below.
  for (const n of nodes) {
    if (!n.removalRequested || NODE_GONE.includes(n.phase)) continue;
    if (n.phase !== 'Terminating' || stale(n.dispatchedAt, now)) {
      plan.commands.push({ subject: Subjects.NodeTerminate, nodeId: n.id });
      plan.nodeUpdates.push({ id: n.id, phase: 'Terminating' });
      if (n.phase !== 'Terminating') plan.events.push({ type: 'Normal', reason: 'NodeRemoving', message: `Removing ${n.role} ${n.name} from ${CLOUD_NAMES[n.cloud]}: terminating its VM` });
    }
  }
  nodes = nodes.filter((n) => !n.removalRequested);

  if (cluster.phase === 'Failed' || cluster.phase === 'Ready' && networks.every((n) => n.phase === 'Ready') && nodes.every((n) => n.phase === 'Joined')) {
    return plan;
  }
  if (cluster.phase === 'Pending') {
    plan.phase = 'Provisioning';
    plan.events.push({ type: 'Normal', reason: 'ProvisioningStarted', message: `Provisioning networks on ${networks.map((n) => CLOUD_NAMES[n.cloud]).join(', ')}` });
  }

  // Networks: all clouds in parallel.
  for (const n of networks) {
    if ((n.phase === 'Pending' || n.phase === 'Provisioning') && stale(n.dispatchedAt, now)) {
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
    if (!readyNets.has(n.cloud) || !NODE_LAUNCHABLE.includes(n.phase)) continue;
    // sent once, then again only if the node has not progressed for REDISPATCH_AFTER_MS (dispatchedAt is recorded)
    if (stale(n.dispatchedAt, now)) {
      plan.commands.push({ subject: Subjects.NodeLaunch, nodeId: n.id });
      plan.nodeUpdates.push({ id: n.id });
    }
  }
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
    plan.phase = 'Failed';
    cond({ type: ConditionType.Ready, status: 'False', reason: 'ProvisioningFailed', message: what });
    plan.events.push({ type: 'Warning', reason: 'ProvisioningFailed', message: what });
    return plan;
  }
  if (readyNets.size === networks.length && joined(nodes) === nodes.length) {
    plan.phase = 'Ready';
    cond({ type: ConditionType.Ready, status: 'True', reason: 'ClusterReady', message: 'Every network is ready and every node has joined' });
    plan.events.push({ type: 'Normal', reason: 'ClusterReady', message: `Cluster ready: ${masters.length} master(s), ${workers.length} worker(s) on ${networks.length} cloud(s)` });
  } else {
    cond({ type: ConditionType.Ready, status: 'False', reason: 'Provisioning', message: `${readyNets.size}/${networks.length} network(s) ready, ${joined(nodes)}/${nodes.length} node(s) joined` });
  }
  return plan;
}
