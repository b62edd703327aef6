import { existsSync, mkdirSync, renameSync } from 'node:fs';
import * as path from 'node:path';
import { AgentApi } from '@skyweave/contracts';
import type { Executor, RunOptions } from './executor';
import { HttpError, PostJson, abortableSleep, agentCaller } from './http';
import { AgentSelf, runAgentUpgrade } from './self-upgrade';
import { AgentState, saveState } from './state';

/** The cluster-admin kubeconfig kubeadm writes on control-plane nodes (drain and uncordon other nodes with it). */
export const ADMIN_KUBECONFIG = '/etc/kubernetes/admin.conf';
/** The node's own kubelet credentials (the node authorizer lets it read its own Node object). */
export const KUBELET_KUBECONFIG = '/etc/kubernetes/kubelet.conf';
/** At most this many characters of a failing command's stderr go into the result message. */
export const STDERR_TAIL_CHARS = 500;
/** Reported operations remembered beyond the unreported ones (the platform does not hand out an operation again once it has its result). */
export const KEEP_REPORTED_OPERATIONS = 100;

/**
 * One step of an operation: a command (argv, no shell; environment; seconds before the real executor kills it), or,
 * with `move`, a file renamed by the agent itself (node paths through `ex.path`) when `from` exists — idempotent, so an
 * operation re-run after the agent died half-way finds the file wherever the first run left it.
 */
interface Step extends RunOptions {
  argv: string[];
  move?: { from: string; to: string };
  /** Tried again every RETRY_EVERY_MS while it fails, for up to this many seconds (a restarting API server). */
  retryForSeconds?: number;
  /** Its stdout is `kubeadm certs check-expiration -o json`: the certificates go into the result. */
  certificates?: true;
}

/** The kube-apiserver static pod's manifest, and where it waits while the kubelet stops the pod. */
export const API_SERVER_MANIFEST = '/etc/kubernetes/manifests/kube-apiserver.yaml';
const API_SERVER_MANIFEST_ASIDE = '/etc/kubernetes/kube-apiserver.yaml.renewing';
/**
 * Seconds the kubelet needs to notice a static pod manifest's removal or return: KubeletConfiguration's
 * `fileCheckFrequency` default, which kubeadm's certificate guide says to wait.
 */
const FILE_CHECK_FREQUENCY_SECONDS = 20;
const RETRY_EVERY_MS = 2000;

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
 * The certificates of `kubeadm certs check-expiration -o json` (kubeadm's `CertificateExpirationInfo`,
 * output.kubeadm.k8s.io/v1alpha3: `certificates[].name`, `.expirationDate`; missing ones left out).
 * @returns them with `expiresAt` in RFC 3339 UTC; [] for output that is not that document.
 */
export function parseCheckExpiration(stdout: string): AgentApi.CertificateExpiration[] {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    return [];
  }
  const certs = (doc as { certificates?: unknown }).certificates;
  if (!Array.isArray(certs)) return [];
  return certs.flatMap((c: unknown) => {
    const o = (c ?? {}) as { name?: unknown; expirationDate?: unknown; missing?: unknown };
    const at = typeof o.expirationDate === 'string' ? Date.parse(o.expirationDate) : NaN;
    if (typeof o.name !== 'string' || o.missing === true || !Number.isFinite(at)) return [];
    return [{ name: o.name, expiresAt: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z') }];
  });
}

/** `kubeadm certs check-expiration -o json`: what a master reports (operations' results, status reports). */
export const CHECK_EXPIRATION_ARGV = ['kubeadm', 'certs', 'check-expiration', '-o', 'json'] as const;

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
 * - renew-certificates (a master's own agent; kubeadm's "Certificate Management with kubeadm", "Manual certificate
 *   renewal"): `kubeadm certs renew apiserver` and `admin.conf`; the API server's static pod restarted by moving its
 *   manifest out of /etc/kubernetes/manifests and back (by the agent, idempotently, first putting back one a dead
 *   earlier run left aside), waiting the kubelet's fileCheckFrequency (20 s) each way;
 *   `kubectl get --raw /readyz` with the renewed admin.conf until the API answers (up to `timeoutSeconds`); then
 *   `kubeadm certs check-expiration -o json`, whose certificates go into the result.
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
    case 'renew-certificates': {
      if (self && node !== self.nodeName) throw new Error(`a certificate renewal of ${node} was sent to the agent of ${self.nodeName} (a master's own agent renews its certificates)`);
      // kubeadm "Certificate Management with kubeadm", "Manual certificate renewal": renew, then restart the static
      // pod by moving its manifest out of the kubelet's folder and back, a fileCheckFrequency apart each way
      const manifest = ex.path(API_SERVER_MANIFEST);
      const aside = ex.path(API_SERVER_MANIFEST_ASIDE);
      const sleep: Step = { argv: ['sleep', String(FILE_CHECK_FREQUENCY_SECONDS)], timeoutSeconds: FILE_CHECK_FREQUENCY_SECONDS + SLACK_SECONDS };
      const move = (from: string, to: string): Step => ({ argv: ['mv', from, to], move: { from, to } });
      return [
        // a run that died with the manifest aside left the API server stopped: put it back first
        move(aside, manifest),
        { argv: ['kubeadm', 'certs', 'renew', 'apiserver'] },
        { argv: ['kubeadm', 'certs', 'renew', 'admin.conf'] },
        move(manifest, aside),
        sleep,
        move(aside, manifest),
        sleep,
        { argv: ['kubectl', '--kubeconfig', admin, 'get', '--raw', '/readyz'], retryForSeconds: op.timeoutSeconds },
        { argv: [...CHECK_EXPIRATION_ARGV], certificates: true },
      ];
    }
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
    case 'upgrade-agent':
      throw new Error('upgrade-agent runs no commands (runAgentUpgrade)');
    default:
      throw new Error(`unknown operation kind ${JSON.stringify(kind)}`);
  }
}

/** This agent, as runOperation needs it: its node, and (for `upgrade-agent`) its bundle and API URL. */
export interface OperationSelf {
  nodeName: string;
  /** The bundle this process runs and its version (self-upgrade.ts). */
  agent?: AgentSelf;
  /** The platform's URL, against which an `upgrade-agent` bundle path is resolved. */
  apiUrl?: string;
}

const retryPause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
export async function runOperation(ex: Executor, op: AgentApi.NodeOperation, self?: OperationSelf): Promise<AgentApi.OperationResult> {
  if (op.kind === 'upgrade-agent') {
    if (self && op.targetNodeName !== self.nodeName) return { state: 'Failed', message: `upgrade-agent: an agent upgrade of ${op.targetNodeName} was sent to the agent of ${self.nodeName}; nothing was installed` };
    return (await runAgentUpgrade(op, self?.agent ?? {}, self?.apiUrl ?? '')).result;
  }
  let steps: Step[];
  try {
    steps = stepsOf(ex, op, self);
  } catch (e) {
    return { state: 'Failed', message: `${op.kind}: ${(e as Error).message}; nothing was run` };
  }
  let recorded = 0;
  let certificates: AgentApi.CertificateExpiration[] | undefined;
  for (const { argv, retryForSeconds, certificates: parse, move, ...opts } of steps) {
    const cmd = argv.join(' ');
    if (move) {
      try {
        if (existsSync(move.from)) {
          mkdirSync(path.dirname(move.to), { recursive: true });
          renameSync(move.from, move.to);
        }
      } catch (e) {
        return { state: 'Failed', message: `${cmd} failed: ${tail((e as Error).message)}` };
      }
      continue;
    }
    let r: Awaited<ReturnType<Executor['capture']>>;
    const until = Date.now() + (retryForSeconds ?? 0) * 1000;
    for (;;) {
      try {
        r = await ex.capture(argv, opts);
      } catch (e) {
        return { state: 'Failed', message: `${cmd} could not run: ${tail((e as Error).message)}` };
      }
      if (r === null || r.code === 0 || Date.now() + RETRY_EVERY_MS > until) break;
      await retryPause(RETRY_EVERY_MS);
    }
    if (r === null) recorded++;
    else if (r.code !== 0) return { state: 'Failed', message: `${cmd} exited with ${r.code}: ${tail(r.stderr || r.stdout)}` };
    else if (parse) certificates = parseCheckExpiration(r.stdout);
  }
  const note = recorded ? ` (${recorded} of ${steps.filter((st) => !st.move).length} commands only recorded, not run)` : '';
  switch (op.kind) {
    case 'drain':
      return { state: 'Succeeded', message: `cordoned and drained ${op.targetNodeName}${op.deleteNode ? ', then deleted its Node' : ''}${note}` };
    case 'uncordon':
      return { state: 'Succeeded', message: `uncordoned ${op.targetNodeName}${note}` };
    case 'upgrade':
      return { state: 'Succeeded', message: `upgraded ${op.targetNodeName} to v${op.kubernetesVersion} (kubeadm upgrade ${op.upgradeControlPlane ? 'apply' : 'node'})${note}`, kubeletVersion: op.kubernetesVersion };
    case 'renew-certificates': {
      const until = (name: string) => certificates?.find((c) => c.name === name)?.expiresAt;
      return {
        state: 'Succeeded', ...(certificates?.length ? { certificates } : {}),
        message: `renewed the certificates of ${op.targetNodeName} (apiserver until ${until('apiserver') ?? 'unknown'}, admin.conf until ${until('admin.conf') ?? 'unknown'}) and restarted its API server${note}`,
      };
    }
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
  /** The bundle this agent runs and its version (sent with every call; replaced by `upgrade-agent`). */
  agent?: AgentSelf;
  /**
   * Called once an `upgrade-agent` result that installed another version than this process runs has been saved and
   * reported: the process is to exit with AgentApi.AGENT_RESTART_EXIT_CODE so systemd starts the new bundle. The loop
   * returns right after.
   */
  onRestart?: (version: string) => void;
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
  const call = agentCaller({ apiUrl: o.apiUrl, nodeId: o.nodeId, log: o.log, fetch: o.fetch, sleep: o.sleep, signal: o.signal, agentVersion: o.agent?.version });
  const done = (o.state.operations ??= {});
  /** A saved `upgrade-agent` result whose version this process does not run: restart on it once it is reported. */
  const restartFor = (id: string): string | undefined => {
    const r = done[id]?.result;
    return r?.state === 'Succeeded' && r.agentVersion && r.agentVersion !== o.agent?.version ? r.agentVersion : undefined;
  };
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
      for (const id of Object.keys(done)) {
        if (done[id].reported) continue;
        await report(id);
        const version = restartFor(id);
        if (version && o.onRestart) return o.onRestart(version);
      }
      const { operations = [] } = await call<AgentApi.OperationsResponse>('/operations', o.state.nodeToken, {});
      const nothingNew = operations.length > 0 && operations.every((op) => done[op.id]);
      for (const op of operations) {
        if (o.signal.aborted) return;
        if (done[op.id]) {
          o.log(`operation ${op.id} (${op.kind} ${op.targetNodeName}) already ${done[op.id].result.state}; reporting it again`);
        } else {
          o.log(`operation ${op.id}: ${op.kind} ${op.targetNodeName}`);
          const result = await runOperation(ex, op, { nodeName: o.state.nodeName, agent: o.agent, apiUrl: o.apiUrl });
          done[op.id] = { result, reported: false, completedAt: new Date().toISOString() };
          save();
          o.log(`operation ${op.id}: ${result.state}${result.message ? `: ${result.message}` : ''}`);
        }
        await report(op.id);
        const version = restartFor(op.id);
        if (version && o.onRestart) {
          o.log(`operation ${op.id}: agent ${version} installed; restarting on it (exit ${AgentApi.AGENT_RESTART_EXIT_CODE})`);
          return o.onRestart(version);
        }
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
