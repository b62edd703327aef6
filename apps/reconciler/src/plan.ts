import {
  CLOUD_NAMES, CloudId, ClusterPhase, Condition, ConditionReason, ConditionType, ConditionTypeName, EventReason, EventReasonName, EventType,
  NetworkPhase, NodePhase, NodeRole, WAITING_CONDITION, WaitingReason, WaitingReasonName, isDue, setCondition,
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
  /** Waiting out a refusal until then (`waitingReason`: WaitingReason — quota, capacity, credentials, a rejected request, a foreign VM). */
  retryAt?: Date | null; waitingReason?: string | null;
}
export interface NodeView {
  id: string; name: string; cloud: CloudId; role: NodeRole; phase: NodePhase; message: string | null; dispatchedAt: Date | null;
  /** The user asked to remove this node: it is drained, terminated and no longer counts. */
  removalRequested: boolean;
  /** Position within its role (masters are upgraded in this order). */
  ordinal?: number;
  /** Waiting out a refusal until then (`waitingReason`: WaitingReason). */
  retryAt?: Date | null; waitingReason?: string | null;
  /** The Kubernetes version the node runs; null ⇒ unknown, taken as the cluster's. */
  kubernetesVersion?: string | null;
  /** A master's kubeadm certificates and their expiry (RFC 3339), as its agent last reported them; null ⇒ not reported. */
  certificateExpirations?: { name: string; expiresAt: string }[] | null;
  /** The node-agent version its agent last reported (`0.1.0-1a2b3c4d5e6f`); null ⇒ not reported (never upgraded). */
  agentVersion?: string | null;
}
/** A node-agent bundle of the platform's package manifest (see AgentApi.AgentBundle). */
export interface AgentPackageView { version: string; url: string; sha256: string; bytes: number }
/** A drain / upgrade / uncordon / certificate renewal / agent upgrade asked of an agent. */
export interface OperationView {
  id: string; kind: 'drain' | 'uncordon' | 'upgrade' | 'renew-certificates' | 'upgrade-agent'; purpose: 'removal' | 'upgrade' | 'certificates' | 'agent-upgrade';
  executorNodeId: string; targetNodeId: string; kubernetesVersion: string | null;
  state: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'TimedOut'; message: string | null; deadlineAt: Date; createdAt: Date;
  /** When it ended (any outcome); null or absent while active. */
  finishedAt?: Date | null;
  /** upgrade-agent: the bundle it installs. */
  agentPackage?: AgentPackageView | null;
}
export type NewOperation = Omit<OperationView, 'id' | 'state' | 'message' | 'deadlineAt' | 'createdAt' | 'finishedAt'> & { upgradeControlPlane: boolean; timeoutSeconds: number };

export type Command =
  | { subject: typeof Subjects.NetworkEnsure | typeof Subjects.NetworkDelete; cloud: CloudId }
  | { subject: typeof Subjects.NodeLaunch | typeof Subjects.NodeTerminate; nodeId: string };

/** What one reconcile pass decides. The caller applies it in one transaction (state, commands to the outbox, events). */
export interface Plan {
  phase: ClusterPhase;
  /** The cluster's conditions after this pass; only the reconciler's own types (CONDITION_OWNERS) are written back. */
  conditions: Condition[];
  /** Reconciler-owned condition types to drop (e.g. DeleteBlocked once nothing blocks). */
  removeConditions: string[];
  commands: Command[];
  /** Rows whose `dispatchedAt` to set (and phase to move, for deletes). */
  networkUpdates: { cloud: CloudId; phase?: NetworkPhase }[];
  nodeUpdates: { id: string; phase?: NodePhase; kubernetesVersion?: string }[];
  /** Operations to ask of agents, and active ones past their deadline (→ TimedOut). */
  newOperations: NewOperation[];
  timedOut: string[];
  events: { type: EventType; reason: EventReasonName; message: string; object?: string }[];
}

/** How long agents get, in seconds. */
export interface PlanOptions {
  /** `kubectl drain --timeout` before a removal or an upgrade; past it (plus a margin) the node is removed anyway / the rollout stops. */
  drainTimeoutSeconds: number;
  /** Upgrade of one node, Ready again included. */
  upgradeTimeoutSeconds: number;
  /** A master's certificate renewal (renew, API server restart, check), seconds. */
  renewTimeoutSeconds: number;
  /** An agent's self-upgrade (download, check, install, report), seconds; the restart is awaited until the same deadline. */
  agentUpgradeTimeoutSeconds?: number;
  /**
   * The node-agent bundle every node's agent should run (the platform's package manifest: SKYWEAVE_AGENT_PACKAGES_DIR);
   * absent ⇒ no agent upgrade is planned (an installation that serves no packages).
   */
  agentPackage?: AgentPackageView;
}
export const DEFAULT_PLAN_OPTIONS: PlanOptions = { drainTimeoutSeconds: 120, upgradeTimeoutSeconds: 600, renewTimeoutSeconds: 300, agentUpgradeTimeoutSeconds: 300 };

/** After a node's agent upgrade failed, the next attempt waits this long (ms), doubled per failed attempt on that node and version… */
export const AGENT_UPGRADE_RETRY_BASE_MS = 5 * 60_000;
/** …up to this (ms). */
export const AGENT_UPGRADE_RETRY_MAX_MS = 6 * 3600_000;

/**
 * The certificates a master's agent renews (`kubeadm certs renew <name>`): the API server's serving certificate and
 * the admin kubeconfig's client certificate. kubeadm issues both for 1 year; `kubeadm upgrade` renews them too, but a
 * cluster that is not upgraded within a year would lose its API (kubeadm "Certificate Management with kubeadm").
 */
export const RENEWED_CERTIFICATES = ['apiserver', 'admin.conf'] as const;
/** A master whose reported certificate expires within this many ms is renewed (kubeadm's check-expiration warns at 30 days). */
export const CERTIFICATE_RENEW_BEFORE_MS = 30 * 24 * 3600_000;
/** After a renewal of a master ended (any outcome), no other is asked of it for this long, ms: a failing one is retried hourly. */
export const CERTIFICATE_RENEWAL_RETRY_MS = 3600_000;

/** A command not acknowledged by progress within this many milliseconds is sent again. */
export const REDISPATCH_AFTER_MS = 60_000;

const stale = (d: Date | null, now: Date) => d === null || now.getTime() - d.getTime() > REDISPATCH_AFTER_MS;
/**
 * Whether a row's command is to be (re)sent: its backoff is over (isDue), and either the last send is older than
 * REDISPATCH_AFTER_MS (lost message) or it was made before the backoff ended (the retry after a refusal).
 */
const dispatchDue = (r: { dispatchedAt: Date | null; retryAt?: Date | null }, now: Date) =>
  isDue(r, now) && (stale(r.dispatchedAt, now) || (!!r.retryAt && (r.dispatchedAt === null || r.dispatchedAt.getTime() < r.retryAt.getTime())));
const isWaitingReason = (r: string | null | undefined): r is WaitingReasonName => !!r && r in WAITING_CONDITION;

/** What a waiting row says on the cluster: `<what>: <message> (retry at …)`. */
interface Waiting { what: string; reason: WaitingReasonName; message: string | null; retryAt?: Date | null }
const describe = (w: Waiting) => `${w.what}: ${w.message ?? w.reason}${w.retryAt ? ` (retry at ${w.retryAt.toISOString()})` : ''}`;

/**
 * The rows waiting out a refusal (never a failure: retried with backoff): networks in any phase but Deleted (a Ready
 * one may carry the full reconcile's credentials refusal), nodes not terminated.
 */
function waitingRows(networks: NetworkView[], nodes: NodeView[]): Waiting[] {
  const out: Waiting[] = [];
  for (const n of networks) if (n.phase !== 'Deleted' && isWaitingReason(n.waitingReason)) out.push({ what: `network on ${CLOUD_NAMES[n.cloud]}`, reason: n.waitingReason, message: n.message, retryAt: n.retryAt });
  for (const n of nodes) if (n.phase !== 'Terminated' && isWaitingReason(n.waitingReason)) out.push({ what: `${n.name} on ${CLOUD_NAMES[n.cloud]}`, reason: n.waitingReason, message: n.message, retryAt: n.retryAt });
  return out;
}

/** The waiting conditions, each True/ok or False naming every row waiting for it (quota, credentials, rejected requests). */
function waitingConditions(waiting: Waiting[], cond: (c: Omit<Condition, 'lastTransitionTime'>) => void): void {
  const ok: { type: ConditionTypeName; reason: string; message: string }[] = [
    { type: ConditionType.CapacityAvailable, reason: ConditionReason.NoRefusals, message: 'No cloud refused a resource for quota or capacity' },
    { type: ConditionType.CredentialsValid, reason: ConditionReason.CredentialsAccepted, message: 'Every cloud accepted the organisation\'s credentials' },
    { type: ConditionType.RequestsAccepted, reason: ConditionReason.NoRejections, message: 'No cloud rejected a request' },
  ];
  for (const o of ok) {
    const mine = waiting.filter((w) => WAITING_CONDITION[w.reason] === o.type);
    cond(mine.length === 0
      ? { type: o.type, status: 'True', reason: o.reason, message: o.message }
      : { type: o.type, status: 'False', reason: mine[0].reason, message: mine.map(describe).join('; ') });
  }
}
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
 * cluster is Ready when every network is Ready and every node Joined. No refusal is terminal (there is no Failed
 * phase): quota, capacity, credentials and rejected requests leave the row waiting until its `retryAt` (backoff), with
 * CapacityAvailable / CredentialsValid / RequestsAccepted False naming the cloud and its words meanwhile.
 * Heal: the full reconcile (full.ts) moves rows back to Pending / Provisioning; this pass then relaunches and re-ensures.
 * Remove a worker: a master's agent drains it (timeout), then its VM is terminated.
 * Upgrade (seed 003 "upgrades & patching"): one node at a time, masters first — drain, upgrade, uncordon — and a
 * failed or timed-out step stops the rollout with Upgraded=False naming the node.
 * Delete (seed 003, "Cleanup"): fastest teardown, no drain — terminate every VM, then delete each cloud's network;
 * a network whose delete is refused (a VM not ours in it) keeps the cluster Deleting with DeleteBlocked=True naming the
 * VM, retried with backoff; credentials refused on the way show as CredentialsValid=False and are retried too.
 */
export function planReconcile(
  cluster: ClusterView, networks: NetworkView[], nodes: NodeView[], now: Date,
  operations: OperationView[] = [], options: PlanOptions = DEFAULT_PLAN_OPTIONS,
): Plan {
  const plan: Plan = { phase: cluster.phase, conditions: cluster.conditions, removeConditions: [], commands: [], networkUpdates: [], nodeUpdates: [], newOperations: [], timedOut: [], events: [] };
  const cond = (c: Omit<Condition, 'lastTransitionTime'>) => {
    plan.conditions = setCondition(plan.conditions, c, now);
    plan.removeConditions = plan.removeConditions.filter((t) => t !== c.type);
  };

  if (cluster.phase === 'Deleted') return plan;
  const waiting = waitingRows(networks, nodes);
  waitingConditions(waiting, cond);
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
      if (dispatchDue(n, now)) terminate(n);
      continue;
    }
    const drain = operations.filter((o) => o.purpose === 'removal' && o.targetNodeId === n.id && o.kind === 'drain').at(-1);
    const by = drainer(n);
    if (n.phase === 'Joined' && by && !drain) {
      plan.newOperations.push({ kind: 'drain', purpose: 'removal', executorNodeId: by.id, targetNodeId: n.id, kubernetesVersion: null, upgradeControlPlane: false, timeoutSeconds: options.drainTimeoutSeconds });
      plan.events.push({ type: 'Normal', reason: EventReason.NodeDraining, object: `node/${n.name}`, message: `Cordoning and draining ${n.name} (through ${by.name}'s agent, timeout ${options.drainTimeoutSeconds} s) before removing it` });
      continue;
    }
    if (drain && ACTIVE(drain)) continue;
    if (drain && drain.state !== 'Succeeded') {
      plan.events.push({ type: 'Warning', reason: EventReason.DrainIncomplete, object: `node/${n.name}`, message: `Drain of ${n.name} ${drain.state === 'TimedOut' ? 'timed out' : 'failed'} (${drain.message ?? 'no detail'}); removing it anyway` });
    }
    terminate(n);
    plan.events.push({ type: 'Normal', reason: EventReason.NodeRemoving, object: `node/${n.name}`, message: `Removing ${n.role} ${n.name} from ${CLOUD_NAMES[n.cloud]}: terminating its VM` });
  }
  nodes = nodes.filter((n) => !n.removalRequested);

  const wasReady = cluster.phase === 'Ready';
  if (cluster.phase === 'Pending') {
    plan.phase = 'Provisioning';
    plan.events.push({ type: 'Normal', reason: EventReason.ProvisioningStarted, message: `Provisioning networks on ${networks.map((n) => CLOUD_NAMES[n.cloud]).join(', ')}` });
  }

  // Networks: all clouds in parallel (also a Ready cluster's network that the full reconcile found drifted).
  for (const n of networks) {
    if ((n.phase === 'Pending' || n.phase === 'Provisioning') && dispatchDue(n, now)) {
      plan.commands.push({ subject: Subjects.NetworkEnsure, cloud: n.cloud });
      plan.networkUpdates.push({ cloud: n.cloud, phase: 'Provisioning' });
    }
  }
  const readyNets = new Set(networks.filter((n) => n.phase === 'Ready').map((n) => n.cloud));
  cond(
    readyNets.size === networks.length
      ? { type: ConditionType.NetworksReady, status: 'True', reason: ConditionReason.AllNetworksReady, message: `${networks.length} network(s) ready` }
      : { type: ConditionType.NetworksReady, status: 'False', reason: ConditionReason.Provisioning, message: `${readyNets.size}/${networks.length} network(s) ready` },
  );

  // Nodes: launched as soon as their cloud's network is ready (masters and workers alike; join order is the agents').
  for (const n of nodes) {
    if (!readyNets.has(n.cloud) || !NODE_LAUNCHABLE.includes(n.phase)) continue;
    // sent once, then again only if the node has not progressed for REDISPATCH_AFTER_MS (dispatchedAt is recorded),
    // or once its backoff after a refusal is over
    if (dispatchDue(n, now)) {
      plan.commands.push({ subject: Subjects.NodeLaunch, nodeId: n.id });
      plan.nodeUpdates.push({ id: n.id });
    }
  }


  const masters = nodes.filter((n) => n.role === 'master');
  const workers = nodes.filter((n) => n.role === 'worker');
  const joined = (xs: NodeView[]) => xs.filter((n) => n.phase === 'Joined').length;
  cond(joined(masters) === masters.length
    ? { type: ConditionType.ControlPlaneReady, status: 'True', reason: ConditionReason.AllMastersJoined, message: `${masters.length} master(s) joined` }
    : { type: ConditionType.ControlPlaneReady, status: 'False', reason: ConditionReason.Joining, message: `${joined(masters)}/${masters.length} master(s) joined` });
  cond(joined(workers) === workers.length
    ? { type: ConditionType.WorkersReady, status: 'True', reason: ConditionReason.AllWorkersJoined, message: `${workers.length} worker(s) joined` }
    : { type: ConditionType.WorkersReady, status: 'False', reason: ConditionReason.Joining, message: `${joined(workers)}/${workers.length} worker(s) joined` });

  // A permanent refusal is never terminal: the row waits out its backoff and is tried again; the cluster says what it
  // waits for (a Ready cluster keeps serving meanwhile).
  const blocking = waiting.filter((w) => w.reason !== WaitingReason.ForeignResourcesInNetwork);
  if (readyNets.size === networks.length && joined(nodes) === nodes.length) {
    const before = cluster.conditions.find((c) => c.type === ConditionType.Ready)?.status;
    plan.phase = 'Ready';
    cond({ type: ConditionType.Ready, status: 'True', reason: ConditionReason.ClusterReady, message: 'Every network is ready and every node has joined' });
    if (before !== 'True') {
      plan.events.push({ type: 'Normal', reason: EventReason.ClusterReady, message: `Cluster ready: ${masters.length} master(s), ${workers.length} worker(s) on ${networks.length} cloud(s)` });
    }
  } else {
    const progress = `${readyNets.size}/${networks.length} network(s) ready, ${joined(nodes)}/${nodes.length} node(s) joined`;
    cond(blocking.length > 0
      ? { type: ConditionType.Ready, status: 'False', reason: ConditionReason.Waiting, message: `${progress}; waiting: ${blocking.map(describe).join('; ')}` }
      : { type: ConditionType.Ready, status: 'False', reason: wasReady ? ConditionReason.Reconciling : ConditionReason.Provisioning, message: progress });
  }

  if (plan.phase === 'Ready') planUpgrade(cluster, nodes, operations, options, plan, cond, drainer, nameOf);
  if (plan.phase === 'Ready') planCertificateRenewal(nodes, operations, now, options, plan);
  if (plan.phase === 'Ready') planAgentUpgrade(cluster, nodes, operations, now, options, plan, cond, nameOf);
  return plan;
}

/**
 * Certificates renewed before they expire: a Joined master whose reported `apiserver` or `admin.conf` certificate
 * expires within CERTIFICATE_RENEW_BEFORE_MS of `now` (or has expired) gets a `renew-certificates` operation run by its
 * own agent (the files are on that master), one master at a time so the API stays served by the others; in a cluster
 * that has been Ready, also while a node is being replaced (a worker waiting out a quota refusal must not let the API's
 * certificate expire), never during its first provisioning. Not while the
 * master runs or is the target of another operation (an upgrade renews them itself), and not again within
 * CERTIFICATE_RENEWAL_RETRY_MS of the end (deadline) of its last renewal: the agent reports the new expiry with the
 * result, so a renewal that did not help is not repeated in a loop. A master that has not reported is left alone.
 */
function planCertificateRenewal(nodes: NodeView[], operations: OperationView[], now: Date, options: PlanOptions, plan: Plan): void {
  if (operations.some((o) => o.kind === 'renew-certificates' && ACTIVE(o))) return;
  const renewed = RENEWED_CERTIFICATES as readonly string[];
  for (const m of nodes.filter((n) => n.role === 'master' && n.phase === 'Joined').sort(byOrdinal)) {
    const due = (m.certificateExpirations ?? []).filter((c) => renewed.includes(c.name) && Date.parse(c.expiresAt) - now.getTime() < CERTIFICATE_RENEW_BEFORE_MS);
    if (due.length === 0) continue;
    if (operations.some((o) => ACTIVE(o) && (o.executorNodeId === m.id || o.targetNodeId === m.id))) continue;
    const last = operations.filter((o) => o.kind === 'renew-certificates' && o.executorNodeId === m.id).at(-1);
    if (last && now.getTime() < last.deadlineAt.getTime() + CERTIFICATE_RENEWAL_RETRY_MS) continue;
    plan.newOperations.push({ kind: 'renew-certificates', purpose: 'certificates', executorNodeId: m.id, targetNodeId: m.id, kubernetesVersion: null, upgradeControlPlane: false, timeoutSeconds: options.renewTimeoutSeconds });
    plan.events.push({
      type: 'Normal', reason: EventReason.CertificatesRenewing, object: `node/${m.name}`,
      message: `Renewing the certificates of ${m.name} (${due.map((c) => `${c.name} expires ${c.expiresAt}`).join(', ')}): kubeadm certs renew ${RENEWED_CERTIFICATES.join(', ')}`,
    });
    return;
  }
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
  // one rollout at a time: an agent upgrade in flight finishes first
  if (operations.some((o) => o.kind === 'upgrade-agent' && ACTIVE(o))) return;
  const ordered = [...nodes.filter((n) => n.role === 'master').sort(byOrdinal), ...nodes.filter((n) => n.role === 'worker').sort(byOrdinal)];
  const behind = ordered.filter((n) => (n.kubernetesVersion ?? target) !== target);
  if (behind.length === 0) {
    cond({ type: ConditionType.Upgraded, status: 'True', reason: ConditionReason.UpToDate, message: `Every node runs Kubernetes ${target}` });
    return;
  }
  const ops = operations.filter((o) => o.purpose === 'upgrade' && o.kubernetesVersion === target);
  const failed = ops.find((o) => o.state === 'Failed' || o.state === 'TimedOut');
  if (failed) {
    const message = `Rollout to ${target} stopped at ${nameOf(failed.targetNodeId)}: ${failed.kind} ${failed.state === 'TimedOut' ? 'timed out' : 'failed'}: ${failed.message ?? 'no detail'}`;
    const already = cluster.conditions.find((c) => c.type === ConditionType.Upgraded)?.reason === ConditionReason.UpgradeFailed;
    cond({ type: ConditionType.Upgraded, status: 'False', reason: ConditionReason.UpgradeFailed, message });
    if (!already) plan.events.push({ type: 'Warning', reason: EventReason.UpgradeFailed, object: `node/${nameOf(failed.targetNodeId)}`, message });
    return;
  }
  const node = behind[0];
  const step = (kind: OperationView['kind']) => ops.filter((o) => o.targetNodeId === node.id && o.kind === kind).at(-1);
  const drain = step('drain');
  const upgrade = step('upgrade');
  const uncordon = step('uncordon');
  const position = `${ordered.length - behind.length + 1}/${ordered.length}`;
  const progress = (what: string) => cond({ type: ConditionType.Upgraded, status: 'False', reason: ConditionReason.Upgrading, message: `Upgrading to ${target}: ${node.name} (${position}) ${what}` });
  const ask = (kind: OperationView['kind'], executor: NodeView, timeoutSeconds: number, upgradeControlPlane = false) => {
    plan.newOperations.push({ kind, purpose: 'upgrade', executorNodeId: executor.id, targetNodeId: node.id, kubernetesVersion: target, upgradeControlPlane, timeoutSeconds });
  };
  const by = drainer(node);
  if (!by) return;
  if (!drain) {
    ask('drain', by, options.drainTimeoutSeconds);
    plan.events.push({ type: 'Normal', reason: EventReason.NodeUpgrading, object: `node/${node.name}`, message: `Upgrading ${node.name} (${position}) to Kubernetes ${target}: draining` });
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
  plan.events.push({ type: 'Normal', reason: EventReason.NodeUpgraded, object: `node/${node.name}`, message: `${node.name} runs Kubernetes ${target} and is Ready (${position})` });
  if (behind.length === 1) {
    cond({ type: ConditionType.Upgraded, status: 'True', reason: ConditionReason.UpToDate, message: `Every node runs Kubernetes ${target}` });
    plan.events.push({ type: 'Normal', reason: EventReason.UpgradeComplete, message: `Every node runs Kubernetes ${target}` });
  } else {
    progress('done');
  }
}

/**
 * The rollout of the platform's node-agent version (`options.agentPackage`), like a node upgrade: one node at a time,
 * masters first (by ordinal), only while every node has joined, and only while no other agent operation is in flight
 * or planned in this pass (a Kubernetes rollout, a removal's drain, a certificate renewal go first). A node whose
 * agent reported another version gets an `upgrade-agent` operation run by its own agent (download, SHA-256 check,
 * atomic install, report, exit 75, restarted by systemd); the node is done when its agent reports the new version
 * (recorded by the gateway, which also completes the operation: a crash between install and report loses nothing).
 * A failed or timed-out attempt — or one reported successful whose agent still reports the old version at its
 * deadline — shows AgentUpgraded=False `AgentUpgradeFailed` naming the node and why, and is tried again on the same
 * node after AGENT_UPGRADE_RETRY_BASE_MS, doubled per failed attempt, at most AGENT_UPGRADE_RETRY_MAX_MS. Nodes that
 * reported no version (agents older than this mechanism) are left alone. Never during a delete (planDelete).
 */
function planAgentUpgrade(
  cluster: ClusterView, nodes: NodeView[], operations: OperationView[], now: Date, options: PlanOptions, plan: Plan,
  cond: (c: Omit<Condition, 'lastTransitionTime'>) => void, nameOf: (id: string) => string,
): void {
  const pkg = options.agentPackage;
  if (!pkg || nodes.some((n) => n.phase !== 'Joined')) return;
  const target = pkg.version;
  const ordered = [...nodes.filter((n) => n.role === 'master').sort(byOrdinal), ...nodes.filter((n) => n.role === 'worker').sort(byOrdinal)];
  const reported = ordered.filter((n) => n.agentVersion);
  const behind = reported.filter((n) => n.agentVersion !== target);
  const before = cluster.conditions.find((c) => c.type === ConditionType.AgentUpgraded);
  if (behind.length === 0) {
    if (reported.length === 0) return;
    const unknown = ordered.length - reported.length;
    cond({ type: ConditionType.AgentUpgraded, status: 'True', reason: ConditionReason.AgentsUpToDate, message: `Every node's agent runs ${target}${unknown ? ` (${unknown} node(s) have not reported a version)` : ''}` });
    if (before && before.status !== 'True') plan.events.push({ type: 'Normal', reason: EventReason.AgentUpgradeComplete, message: `Every node's agent runs ${target}` });
    return;
  }
  const ops = operations.filter((o) => o.kind === 'upgrade-agent' && o.agentPackage?.version === target);
  const position = `${reported.length - behind.length + 1}/${reported.length}`;
  const progress = (n: NodeView, what: string) => cond({ type: ConditionType.AgentUpgraded, status: 'False', reason: ConditionReason.AgentUpgrading, message: `Upgrading agents to ${target}: ${n.name} (${position}) ${what}` });
  const inFlight = ops.find(ACTIVE);
  if (inFlight) {
    const n = nodes.find((x) => x.id === inFlight.targetNodeId);
    if (n) progress(n, 'installing');
    return;
  }
  const node = behind[0];
  const mine = ops.filter((o) => o.targetNodeId === node.id);
  const last = mine.at(-1);
  if (last?.state === 'Succeeded' && now.getTime() < last.deadlineAt.getTime()) return progress(node, `restarting on the new agent (it still reports ${node.agentVersion})`);
  if (last) {
    const why = last.state === 'Succeeded'
      ? `the agent reported the install but still reports ${node.agentVersion} at the deadline (${last.deadlineAt.toISOString()})`
      : `upgrade-agent ${last.state === 'TimedOut' ? 'timed out' : 'failed'}: ${last.message ?? 'no detail'}`;
    const ended = (last.finishedAt ?? last.deadlineAt).getTime();
    const retryAt = new Date(ended + Math.min(AGENT_UPGRADE_RETRY_MAX_MS, AGENT_UPGRADE_RETRY_BASE_MS * 2 ** (mine.length - 1)));
    if (now.getTime() < retryAt.getTime()) {
      const message = `Agent upgrade to ${target} stopped at ${nameOf(node.id)} (attempt ${mine.length}): ${why}; retry at ${retryAt.toISOString()}`;
      cond({ type: ConditionType.AgentUpgraded, status: 'False', reason: ConditionReason.AgentUpgradeFailed, message });
      if (before?.message !== message) plan.events.push({ type: 'Warning', reason: EventReason.AgentUpgradeFailed, object: `node/${node.name}`, message });
      return;
    }
  }
  // one operation at a time on the cluster: whatever else is in flight or asked for in this pass goes first
  if (operations.some(ACTIVE) || plan.newOperations.length > 0) return progress(node, 'waiting for the operations in flight');
  const timeoutSeconds = options.agentUpgradeTimeoutSeconds ?? DEFAULT_PLAN_OPTIONS.agentUpgradeTimeoutSeconds ?? 300;
  plan.newOperations.push({
    kind: 'upgrade-agent', purpose: 'agent-upgrade', executorNodeId: node.id, targetNodeId: node.id, kubernetesVersion: null,
    upgradeControlPlane: false, timeoutSeconds, agentPackage: { ...pkg },
  });
  plan.events.push({
    type: 'Normal', reason: EventReason.AgentUpgrading, object: `node/${node.name}`,
    message: `Upgrading the agent of ${node.name} (${position}) from ${node.agentVersion} to ${target}${last ? ` (attempt ${mine.length + 1})` : ''}`,
  });
  progress(node, 'installing');
}

/** Drops a reconciler-owned condition type from the plan (and from the cluster when applied). */
function drop(plan: Plan, type: ConditionTypeName): void {
  plan.conditions = plan.conditions.filter((c) => c.type !== type);
  if (!plan.removeConditions.includes(type)) plan.removeConditions.push(type);
}

function planDelete(
  cluster: ClusterView, networks: NetworkView[], nodes: NodeView[], now: Date, plan: Plan,
  cond: (c: Omit<Condition, 'lastTransitionTime'>) => void,
): Plan {
  if (cluster.phase !== 'Deleting') {
    plan.phase = 'Deleting';
    plan.events.push({ type: 'Normal', reason: EventReason.DeleteStarted, message: 'Deleting: terminating every VM, then each cloud\'s network' });
  }
  cond({ type: ConditionType.Ready, status: 'False', reason: ConditionReason.Deleting, message: 'The cluster is being deleted' });
  // A delete always proceeds: every refusal (credentials, a VM not ours in a network) is retried with backoff and said
  // on the cluster (CredentialsValid, DeleteBlocked), never a dead end.
  const alive = nodes.filter((n) => !NODE_GONE.includes(n.phase));
  for (const n of alive) {
    if (n.phase !== 'Terminating' || dispatchDue(n, now)) {
      plan.commands.push({ subject: Subjects.NodeTerminate, nodeId: n.id });
      plan.nodeUpdates.push({ id: n.id, phase: 'Terminating' });
    }
  }
  if (alive.length > 0) {
    drop(plan, ConditionType.DeleteBlocked);
    cond({ type: ConditionType.Deleting, status: 'True', reason: ConditionReason.TerminatingNodes, message: `${alive.length} VM(s) terminating` });
    return plan;
  }
  const remaining = networks.filter((n) => n.phase !== 'Deleted');
  for (const n of remaining) {
    if (n.phase !== 'Deleting' || dispatchDue(n, now)) {
      plan.commands.push({ subject: Subjects.NetworkDelete, cloud: n.cloud });
      plan.networkUpdates.push({ cloud: n.cloud, phase: 'Deleting' });
    }
  }
  const blocked = remaining.filter((n) => n.waitingReason === WaitingReason.ForeignResourcesInNetwork);
  if (blocked.length > 0) {
    const message = blocked.map((n) => `${CLOUD_NAMES[n.cloud]}: ${n.message ?? 'delete refused'}${n.retryAt ? ` (retry at ${n.retryAt.toISOString()})` : ''}`).join('; ');
    const before = cluster.conditions.find((c) => c.type === ConditionType.DeleteBlocked);
    cond({ type: ConditionType.DeleteBlocked, status: 'True', reason: ConditionReason.ForeignResourcesInNetwork, message });
    if (before?.status !== 'True') plan.events.push({ type: 'Warning', reason: EventReason.DeleteBlocked, message });
  } else {
    drop(plan, ConditionType.DeleteBlocked);
  }
  if (remaining.length > 0) {
    cond({ type: ConditionType.Deleting, status: 'True', reason: ConditionReason.DeletingNetworks, message: `${remaining.length} network(s) deleting` });
    return plan;
  }
  plan.phase = 'Deleted';
  cond({ type: ConditionType.Deleting, status: 'False', reason: ConditionReason.Deleted, message: 'Every VM and network is gone' });
  plan.events.push({ type: 'Normal', reason: EventReason.Deleted, message: 'Cluster deleted: every VM terminated, every network removed' });
  return plan;
}
