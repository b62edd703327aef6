import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { CNI_BRIDGE, CNI_CONFIG_PATH, setUpPodNetwork } from './cni';
import { ApiServerProxy } from './apiserver-proxy';
import { existsSync, readFileSync } from 'node:fs';
import type { AgentApi } from '@skyweave/contracts';
import type { Executor } from './executor';
import { HttpError, PostJson, abortableSleep, agentCaller } from './http';
import { readPodCidr } from './kubelet-api';
import { CHECK_EXPIRATION_ARGV, parseCheckExpiration, runOperationsLoop } from './operations';
import type { AgentSelf } from './self-upgrade';
import { AgentState, loadState, saveState } from './state';
import { PRIVATE_KEY_PATH, WireguardInterface, WireguardOptions, measureRtt } from './wireguard';

/** How often a master reports its certificates' expiry (`kubeadm certs check-expiration`), ms: daily. */
export const CERTIFICATE_REPORT_INTERVAL_MS = 24 * 3600_000;

/** The agent's registration id (see AgentApi.RegisterRequest), made once, root-only. */
export const REGISTRATION_ID_PATH = '/var/lib/skyweave/registration-id';

export { HttpError } from './http';

export interface AgentOptions {
  apiUrl: string;
  nodeId: string;
  nodeName: string;
  bootstrapToken: string;
  executor: Executor;
  wireguard: WireguardOptions;
  privateIp?: string;
  publicIp?: string;
  /** Seconds between round-trip measurements to every peer (default 30). */
  probeIntervalSeconds?: number;
  /**
   * Whether this process's network is the node's, so that it reads its Node from the cluster's API itself (kubelet's
   * credential) rather than with `kubectl` (kubelet-api.ts). Default false; main.ts sets it unless commands run in
   * another network namespace.
   */
  kubeApiInProcess?: boolean;
  /** The bundle this agent runs and its version, sent with every call (AgentApi.AGENT_VERSION_HEADER); `upgrade-agent` replaces the bundle. */
  agent?: AgentSelf;
  /** After an `upgrade-agent` installed a new bundle and was reported: exit so that the new one starts (see runOperationsLoop). */
  onRestart?: (version: string) => void;
  log: (msg: string) => void;
  /** The transport (default node:http, see `nodePostJson`); injected by tests. */
  fetch?: PostJson;
  sleep?: (ms: number) => Promise<void>;
}

/** A running agent: `stop()` ends its background loops (mesh long poll, latency probes, operations). */
export interface RunningAgent {
  state: AgentState;
  stop(): void;
  /** Settles when all three loops have ended. */
  done: Promise<void>;
}

/**
 * node-agent: generate the WireGuard key pair on the node (only the public key leaves it), exchange the one-time
 * bootstrap token for a node credential, bring WireGuard up with the platform's peer list and keep it current
 * (long poll) and the node's API server proxy with it (apiserver-proxy.ts), ask when to join until told `initialise` or `join`, write the PKI and kubeadm configuration and run
 * kubeadm, report `joined`, then measure round trips to peers and report them, and run the operations the platform
 * asks for (drain, uncordon, upgrade: see `runOperationsLoop`). State is kept on the node, so a restarted agent
 * resumes. Transport errors and 5xx are retried with capped backoff; a 4xx is final.
 * @throws HttpError on a 4xx (e.g. a reused bootstrap token), Error when kubeadm fails.
 */
export async function runAgent(o: AgentOptions): Promise<RunningAgent> {
  // stop() aborts: the long polls in flight are abandoned and sleeps end at once, so `done` settles promptly.
  const stopping = new AbortController();
  const signal = stopping.signal;
  const sleep = o.sleep ?? ((ms: number) => abortableSleep(ms, signal));
  const ex = o.executor;
  const call = agentCaller({ apiUrl: o.apiUrl, nodeId: o.nodeId, log: o.log, fetch: o.fetch, sleep, signal, agentVersion: o.agent?.version });

  // 1. Key pair, made here and kept: a restart reuses it, so peers need not learn a new key.
  const keyFile = ex.path(PRIVATE_KEY_PATH);
  let wgPrivate: string;
  let wgPublic: string;
  if (existsSync(keyFile)) {
    wgPrivate = readFileSync(keyFile, 'utf8').trim();
    wgPublic = publicFromPrivate(wgPrivate);
  } else {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    wgPrivate = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32).toString('base64');
    wgPublic = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
    ex.writeFile(PRIVATE_KEY_PATH, `${wgPrivate}\n`, 0o600);
  }

  // 2. Register once. The registration id is kept before the first call: a retry whose first answer was lost (the
  //    platform died after recording it) proves it is the same agent and is answered again.
  const saved = loadState(ex);
  const idFile = ex.path(REGISTRATION_ID_PATH);
  const registrationId = existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() : randomBytes(32).toString('base64url');
  if (!existsSync(idFile)) ex.writeFile(REGISTRATION_ID_PATH, `${registrationId}\n`, 0o600);
  if (saved) o.log(`resuming as ${saved.role} ${saved.nodeName}`);
  let firstMesh: AgentApi.MeshConfig | undefined;
  const state: AgentState = saved ?? await (async () => {
    const reg = await call<AgentApi.RegisterResponse>('/register', o.bootstrapToken, { wireguardPublicKey: wgPublic, privateIp: o.privateIp, publicIp: o.publicIp, registrationId } satisfies AgentApi.RegisterRequest);
    const fresh: AgentState = { nodeToken: reg.nodeToken, role: reg.role, nodeName: reg.nodeName, wireguardAddress: reg.wireguardAddress, joined: false };
    saveState(ex, fresh);
    firstMesh = reg.mesh;
    o.log(`registered as ${reg.role} ${reg.nodeName}, overlay address ${reg.wireguardAddress}`);
    return fresh;
  })();

  // 3. WireGuard: first configuration before joining (kubelet and the API server advertise the overlay address),
  //    then a long poll that applies every change.
  const wg = new WireguardInterface(ex, o.wireguard, wgPrivate);
  // the registration's answer carries the first configuration; a resumed agent (or an older gateway) asks for it
  let mesh = firstMesh ?? await call<AgentApi.MeshConfig>('/mesh', state.nodeToken, {} satisfies AgentApi.MeshRequest);
  await wg.apply(mesh);
  o.log(`wireguard ${o.wireguard.interface} up as ${mesh.interface.address} with ${mesh.peers.length} peer(s)`);
  // the node's API server proxy, before kubeadm: the control-plane endpoint kubeadm join and kubelet dial is this
  // node's own proxy to every master (apiserver-proxy.ts); kept current with the mesh
  const apiProxy = new ApiServerProxy(ex);
  if (await apiProxy.apply(mesh.controlPlane)) o.log(`apiserver proxy: ${mesh.controlPlane?.host}:${mesh.controlPlane?.port} → ${mesh.controlPlane?.apiServers.join(', ')}`);
  const meshLoop = (async () => {
    while (!signal.aborted) {
      try {
        const next = await call<AgentApi.MeshConfig>('/mesh', state.nodeToken, { revision: mesh.revision } satisfies AgentApi.MeshRequest);
        if (signal.aborted || next.revision === mesh.revision) continue;
        await wg.apply(next);
        const proxyChanged = await apiProxy.apply(next.controlPlane);
        mesh = next;
        o.log(`wireguard peers now ${next.peers.map((p) => p.nodeName).join(', ') || 'none'}`);
        if (proxyChanged) o.log(`apiserver proxy: API servers now ${next.controlPlane?.apiServers.join(', ')}`);
      } catch (e) {
        if (signal.aborted) return;
        o.log(`mesh: ${(e as Error).message}`);
        await sleep(2000);
      }
    }
  })();

  // 4. Join.
  if (!state.joined) {
    const decision = await askToJoin(call, state.nodeToken, sleep);
    if (decision) {
      o.log(`told to ${decision.action}`);
      for (const f of decision.files ?? []) ex.writeFile(f.path, f.content, f.mode);
      const config = '/etc/kubernetes/kubeadm.yaml';
      ex.writeFile(config, decision.kubeadmConfig ?? '', 0o600);
      await ex.run(decision.action === 'initialise'
        ? ['kubeadm', 'init', '--config', ex.path(config), '--upload-certs']
        : ['kubeadm', 'join', '--config', ex.path(config)]);
      await call('/joined', state.nodeToken, {} satisfies AgentApi.JoinedRequest);
    }
    state.joined = true;
    saveState(ex, state);
    o.log(decision ? 'joined' : 'already joined (reported before a restart)');
  }

  // 5. Round trips to every peer, reported with the pod range once Kubernetes has assigned it; with the range, the
  //    node's pod network (CNI bridge + host-local). An executor that
  //    only records (the sandbox's process-VMs) measures nothing, so the loop ends after its first round.
  let podCidr: string | null | undefined;
  let podNetwork = false;
  /** When a master last reported its certificates (0: not yet, so after joining). */
  let certificatesReportedAt = 0;
  const probeLoop = (async () => {
    while (!signal.aborted) {
      try {
        if (podCidr === undefined) podCidr = await readPodCidr({ executor: ex, nodeName: state.nodeName, inProcess: o.kubeApiInProcess ?? false, log: o.log }, mesh.controlPlane);
        if (podCidr && !podNetwork) {
          // the node's pods get addresses from its range on the cni0 bridge; the mesh routes the other nodes' ranges
          // (cni.ts). A failure is logged and tried again next round; it must not hold up the round trips.
          const cidr = podCidr;
          podNetwork = await setUpPodNetwork(ex, cidr, mesh.interface.mtu).then(
            () => { o.log(`pod network: ${cidr} on ${CNI_BRIDGE} (${CNI_CONFIG_PATH})`); return true; },
            (e: unknown) => { o.log(`pod network: ${(e as Error).message}`); return false; },
          );
        }
        const peers = mesh.peers;
        const rtts = await Promise.all(peers.map((p) => measureRtt(ex, p.address)));
        const latencies = peers.flatMap((p, i) => (rtts[i] === undefined ? [] : [{ peerNodeId: p.nodeId, rttMs: rtts[i] ?? null }]));
        // a master: its kubeadm certificates' expiry, after joining and daily, so the platform renews them in time
        let certificates: AgentApi.CertificateExpiration[] | undefined;
        if (state.role === 'master' && Date.now() - certificatesReportedAt >= CERTIFICATE_REPORT_INTERVAL_MS) {
          const r = await ex.capture([...CHECK_EXPIRATION_ARGV]);
          if (r === null) certificatesReportedAt = Number.POSITIVE_INFINITY; // only recorded: never knowable
          else if (r.code === 0) certificates = parseCheckExpiration(r.stdout);
          else o.log(`certificates: kubeadm certs check-expiration exited with ${r.code}: ${r.stderr.trim()}`);
        }
        if (latencies.length || podCidr || certificates?.length) {
          await call('/status', state.nodeToken, { latencies, podCidr: podCidr ?? undefined, ...(certificates?.length ? { certificates } : {}) } satisfies AgentApi.StatusReport);
          if (certificates?.length) certificatesReportedAt = Date.now();
        }
        if (peers.length && !latencies.length && podCidr === null) return;
      } catch (e) {
        if (signal.aborted) return;
        o.log(`probe: ${(e as Error).message}`);
      }
      await sleep((o.probeIntervalSeconds ?? 30) * 1000);
    }
  })();

  // 6. Operations (drain, uncordon, upgrade) the platform asks of this node.
  const operationsLoop = runOperationsLoop({ apiUrl: o.apiUrl, nodeId: o.nodeId, executor: ex, state, signal, log: o.log, fetch: o.fetch, sleep: o.sleep, agent: o.agent, onRestart: o.onRestart });

  return {
    state,
    /** Ends the loops after their current step (an outstanding long poll is abandoned; a running operation is finished). */
    stop: () => stopping.abort(),
    done: Promise.all([meshLoop, probeLoop, operationsLoop]).then(() => undefined),
  };
}

/** The X25519 public key (base64) of a base64 private key. */
function publicFromPrivate(privateB64: string): string {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), Buffer.from(privateB64, 'base64')]);
  const pub = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }));
  return pub.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
}

/**
 * Asks `/join` until told `initialise` or `join` (a `wait` is long-polled by the server, then asked again).
 * @returns the decision, or null when the platform answers 409 `already-joined`: this node reported `joined` before
 *   (and restarted before remembering it); join secrets are handed out only before a node joins.
 * @throws HttpError on any other 4xx.
 */
async function askToJoin(call: ReturnType<typeof agentCaller>, nodeToken: string, sleep: (ms: number) => Promise<void>): Promise<AgentApi.JoinResponse | null> {
  for (;;) {
    let decision: AgentApi.JoinResponse;
    try {
      decision = await call<AgentApi.JoinResponse>('/join', nodeToken, {});
    } catch (e) {
      if (e instanceof HttpError && e.status === 409 && /already-joined/.test(e.message)) return null;
      throw e;
    }
    if (decision.action !== 'wait') return decision;
    // the server long-polls, so it usually asks again at once
    await sleep((decision.retryAfterSeconds ?? 1) * 1000);
  }
}
