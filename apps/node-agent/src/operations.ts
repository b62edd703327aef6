import type { AgentApi } from '@skyweave/contracts';
import type { Executor, RunOptions } from './executor';
import { HttpError, PostJson, abortableSleep, agentCaller } from './http';
import { AgentState, saveState } from './state';

/** The cluster-admin kubeconfig kubeadm writes on control-plane nodes (drain and uncordon other nodes with it). */
export const ADMIN_KUBECONFIG = '/etc/kubernetes/admin.conf';
/** The node's own kubelet credentials (the node authorizer lets it read its own Node object). */
export const KUBELET_KUBECONFIG = '/etc/kubernetes/kubelet.conf';
/** At most this many characters of a failing command's stderr go into the result message. */
export const STDERR_TAIL_CHARS = 500;
/** Reported operations remembered beyond the unreported ones (the platform does not hand out an operation again once it has its result). */
export const KEEP_REPORTED_OPERATIONS = 100;

/** One command of an operation: argv (no shell), environment, seconds before the real executor kills it. */
interface Step extends RunOptions {
  argv: string[];
}

/** Slack between a command's own `--timeout` and the executor's kill, in seconds. */
const SLACK_SECONDS = 60;
/** apt-get update / install: downloads, in seconds. */
const APT_TIMEOUT_SECONDS = 600;
/** kubeadm upgrade apply | node: image pulls, then up to 5 min per static pod (kubeadm's own limit), in seconds. */
const KUBEADM_UPGRADE_TIMEOUT_SECONDS = 1800;
const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive' };

/** RFC 1123 subdomain: a valid Kubernetes node name, which also can never be read as a flag. */
const NODE_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const VERSION = /^\d+\.\d+\.\d+$/;

/**
 * The commands of one operation, in order.
 * - drain: `kubectl drain` (it cordons first, then evicts) with the admin kubeconfig, waiting `timeoutSeconds`; before
 *   a removal (`deleteNode`) then `kubectl delete node --ignore-not-found` (kubeadm's "Remove the node" steps).
 * - uncordon: `kubectl uncordon` with the admin kubeconfig.
 * - upgrade: kubeadm's documented patch-upgrade procedure for Debian/Ubuntu packages from pkgs.k8s.io
 *   (https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-upgrade/, "Upgrading control plane nodes"
 *   and "Upgrade worker nodes"): unhold, install and hold kubeadm (`<ver>-*` is pkgs.k8s.io's package revision
 *   pattern, matched by apt, not a shell); `kubeadm upgrade apply -y v<ver>` on the first master, else
 *   `kubeadm upgrade node`; unhold, install and hold kubelet and kubectl; reload systemd and restart the kubelet;
 *   then wait, with the node's own credentials, until the node is Ready again. The second `apt-get update` of the
 *   docs' kubelet step is left out (the index was refreshed minutes earlier).
 * Kubeconfig paths are node paths mapped through `ex.path`.
 * @throws Error when the operation is malformed (unknown kind, node name, version, timeout).
 */
function stepsOf(ex: Executor, op: AgentApi.NodeOperation, self?: { nodeName: string }): Step[] {
  if (!NODE_NAME.test(op.targetNodeName ?? '')) throw new Error(`invalid targetNodeName ${JSON.stringify(op.targetNodeName)}`);
  if (!Number.isInteger(op.timeoutSeconds) || op.timeoutSeconds < 1) throw new Error(`invalid timeoutSeconds ${JSON.stringify(op.timeoutSeconds)} (whole seconds, at least 1)`);
  const node = op.targetNodeName;
  const admin = ex.path(ADMIN_KUBECONFIG);
  const kind: AgentApi.OperationKind = op.kind;
  switch (kind) {
    case 'drain':
      return [
        { argv: ['kubectl', '--kubeconfig', admin, 'drain', node, '--ignore-daemonsets', '--delete-emptydir-data', `--timeout=${op.timeoutSeconds}s`], timeoutSeconds: op.timeoutSeconds + SLACK_SECONDS },
        ...(op.deleteNode ? [{ argv: ['kubectl', '--kubeconfig', admin, 'delete', 'node', node, '--ignore-not-found'] }] : []),
      ];
    case 'uncordon':
      return [{ argv: ['kubectl', '--kubeconfig', admin, 'uncordon', node] }];
    case 'upgrade': {
      const v = op.kubernetesVersion ?? '';
      if (!VERSION.test(v)) throw new Error(`invalid kubernetesVersion ${JSON.stringify(op.kubernetesVersion)} (MAJOR.MINOR.PATCH)`);
      if (self && node !== self.nodeName) throw new Error(`an upgrade of ${node} was sent to the agent of ${self.nodeName} (a node's own agent upgrades it)`);
      const apt = (...args: string[]): Step => ({ argv: ['apt-get', ...args], env: APT_ENV, timeoutSeconds: APT_TIMEOUT_SECONDS });
      return [
        { argv: ['apt-mark', 'unhold', 'kubeadm'] },
        apt('update'),
        apt('install', '-y', `kubeadm=${v}-*`),
        { argv: ['apt-mark', 'hold', 'kubeadm'] },
        { argv: op.upgradeControlPlane ? ['kubeadm', 'upgrade', 'apply', '-y', `v${v}`] : ['kubeadm', 'upgrade', 'node'], timeoutSeconds: KUBEADM_UPGRADE_TIMEOUT_SECONDS },
        { argv: ['apt-mark', 'unhold', 'kubelet', 'kubectl'] },
        apt('install', '-y', `kubelet=${v}-*`, `kubectl=${v}-*`),
        { argv: ['apt-mark', 'hold', 'kubelet', 'kubectl'] },
        { argv: ['systemctl', 'daemon-reload'] },
        { argv: ['systemctl', 'restart', 'kubelet'] },
        { argv: ['kubectl', '--kubeconfig', ex.path(KUBELET_KUBECONFIG), 'wait', '--for=condition=Ready', `node/${node}`, `--timeout=${op.timeoutSeconds}s`], timeoutSeconds: op.timeoutSeconds + SLACK_SECONDS },
      ];
    }
    default:
      throw new Error(`unknown operation kind ${JSON.stringify(kind)}`);
  }
}

/** The last `max` characters of `text` (trimmed), `…` first when cut. */
function tail(text: string, max = STDERR_TAIL_CHARS): string {
  const t = text.trim();
  return t.length > max ? `…${t.slice(t.length - max + 1)}` : t;
}

/**
 * Runs one operation on this node through `ex`, its commands in order (argv arrays, no shell), stopping at the
 * first that fails. A command the executor only records (`capture` answers `null`: the sandbox) counts as succeeded.
 * See `stepsOf` for the commands of each kind and the procedure they follow.
 * @param ex the node's executor (commands, and node paths of the kubeconfigs via `ex.path`).
 * @param op the operation; `timeoutSeconds` is in seconds, `kubernetesVersion` is `MAJOR.MINOR.PATCH` without `v`.
 * @param self this agent's node: when given, an `upgrade` of any other node fails without running anything.
 * @returns `Succeeded` (with `kubeletVersion` for an upgrade), or `Failed` with a message naming the failing command,
 *   its exit code and the last `STDERR_TAIL_CHARS` characters of its stderr (stdout when stderr is empty), or why the
 *   operation is malformed. Never rejects.
 */
export async function runOperation(ex: Executor, op: AgentApi.NodeOperation, self?: { nodeName: string }): Promise<AgentApi.OperationResult> {
  let steps: Step[];
  try {
    steps = stepsOf(ex, op, self);
  } catch (e) {
    return { state: 'Failed', message: `${op.kind}: ${(e as Error).message}; nothing was run` };
  }
  let recorded = 0;
  for (const { argv, ...opts } of steps) {
    const cmd = argv.join(' ');
    let r: Awaited<ReturnType<Executor['capture']>>;
    try {
      r = await ex.capture(argv, opts);
    } catch (e) {
      return { state: 'Failed', message: `${cmd} could not run: ${tail((e as Error).message)}` };
    }
    if (r === null) recorded++;
    else if (r.code !== 0) return { state: 'Failed', message: `${cmd} exited with ${r.code}: ${tail(r.stderr || r.stdout)}` };
  }
  const note = recorded ? ` (${recorded} of ${steps.length} commands only recorded, not run)` : '';
  switch (op.kind) {
    case 'drain':
      return { state: 'Succeeded', message: `cordoned and drained ${op.targetNodeName}${op.deleteNode ? ', then deleted its Node' : ''}${note}` };
    case 'uncordon':
      return { state: 'Succeeded', message: `uncordoned ${op.targetNodeName}${note}` };
    case 'upgrade':
      return { state: 'Succeeded', message: `upgraded ${op.targetNodeName} to v${op.kubernetesVersion} (kubeadm upgrade ${op.upgradeControlPlane ? 'apply' : 'node'})${note}`, kubeletVersion: op.kubernetesVersion };
  }
}

/** What the operations loop needs. */
export interface OperationsLoopOptions {
  apiUrl: string;
  nodeId: string;
  executor: Executor;
  /** The agent's state: `nodeToken` and `nodeName` are read; `operations` is kept current and saved with `saveState`. */
  state: AgentState;
  /** Aborting it ends the loop: the long poll in flight is abandoned, a running operation is finished first. */
  signal: AbortSignal;
  log: (msg: string) => void;
  /** Injected for tests. */
  fetch?: PostJson;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The operations loop of a joined node: long-polls `POST /operations` (body `{}`, node token), runs each operation
 * returned, oldest first, with `runOperation`, and reports it with `POST /operations/{id}`. Each completed operation
 * is saved in the agent state before it is reported, so an operation the platform hands out again (or a restarted
 * agent is handed) is reported again, never run again (then the next poll waits 1 s); results whose report failed
 * are re-sent before the next poll.
 * Transport errors and 5xx are retried with capped backoff (`agentCaller`); after a 4xx the loop waits 30 s (e.g. a
 * platform without the endpoint yet), after anything else 2 s. A report refused with 404, 409 or 410 is dropped.
 * @returns when `signal` is aborted (after the operation being run, if any). Never rejects.
 */
export async function runOperationsLoop(o: OperationsLoopOptions): Promise<void> {
  const ex = o.executor;
  const sleep = o.sleep ?? ((ms: number) => abortableSleep(ms, o.signal));
  const call = agentCaller({ apiUrl: o.apiUrl, nodeId: o.nodeId, log: o.log, fetch: o.fetch, sleep: o.sleep, signal: o.signal });
  const done = (o.state.operations ??= {});
  const save = () => {
    const reported = Object.keys(done).filter((id) => done[id].reported);
    for (const id of reported.slice(0, Math.max(0, reported.length - KEEP_REPORTED_OPERATIONS))) delete done[id];
    saveState(ex, o.state);
  };
  const report = async (id: string) => {
    try {
      await call(`/operations/${encodeURIComponent(id)}`, o.state.nodeToken, done[id].result);
    } catch (e) {
      if (!(e instanceof HttpError && [404, 409, 410].includes(e.status))) throw e;
      o.log(`operation ${id}: result refused (${e.message}); not reporting it again`);
    }
    done[id].reported = true;
    save();
  };

  while (!o.signal.aborted) {
    try {
      for (const id of Object.keys(done)) if (!done[id].reported) await report(id);
      const { operations = [] } = await call<AgentApi.OperationsResponse>('/operations', o.state.nodeToken, {});
      const nothingNew = operations.length > 0 && operations.every((op) => done[op.id]);
      for (const op of operations) {
        if (o.signal.aborted) return;
        if (done[op.id]) {
          o.log(`operation ${op.id} (${op.kind} ${op.targetNodeName}) already ${done[op.id].result.state}; reporting it again`);
        } else {
          o.log(`operation ${op.id}: ${op.kind} ${op.targetNodeName}`);
          const result = await runOperation(ex, op, { nodeName: o.state.nodeName });
          done[op.id] = { result, reported: false, completedAt: new Date().toISOString() };
          save();
          o.log(`operation ${op.id}: ${result.state}${result.message ? `: ${result.message}` : ''}`);
        }
        await report(op.id);
      }
      // only operations it has results for already: the platform has not taken them in yet, so do not hammer it
      if (nothingNew) await sleep(1000);
    } catch (e) {
      if (o.signal.aborted) return;
      o.log(`operations: ${(e as Error).message}`);
      await sleep(e instanceof HttpError ? 30_000 : 2000);
    }
  }
}
