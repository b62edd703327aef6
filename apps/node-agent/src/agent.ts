import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { AgentApi } from '@skyweave/contracts';
import type { Executor } from './executor';
import { PRIVATE_KEY_PATH, WireguardInterface, WireguardOptions, measureRtt } from './wireguard';

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
  log: (msg: string) => void;
  /** Injected for tests. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

/** What the agent keeps on the node so that a restart resumes instead of re-registering (the bootstrap token is one-time). */
interface AgentState {
  nodeToken: string;
  role: 'master' | 'worker';
  nodeName: string;
  wireguardAddress: string;
  joined: boolean;
}
const STATE_PATH = '/var/lib/skyweave/state.json';

class HttpError extends Error {
  constructor(public readonly status: number, body: string) {
    super(`HTTP ${status}: ${body}`);
  }
}

/** A running agent: `stop()` ends its background loops (mesh long poll, latency probes). */
export interface RunningAgent {
  state: AgentState;
  stop(): void;
  /** Settles when both loops have ended. */
  done: Promise<void>;
}

/**
 * node-agent: generate the WireGuard key pair on the node (only the public key leaves it), exchange the one-time
 * bootstrap token for a node credential, bring WireGuard up with the platform's peer list and keep it current
 * (long poll), ask when to join until told `initialise` or `join`, write the PKI and kubeadm configuration and run
 * kubeadm, report `joined`, then measure round trips to peers and report them. State is kept on the node, so a
 * restarted agent resumes. Transport errors and 5xx are retried with capped backoff; a 4xx is final.
 * @throws HttpError on a 4xx (e.g. a reused bootstrap token), Error when kubeadm fails.
 */
export async function runAgent(o: AgentOptions): Promise<RunningAgent> {
  const doFetch = o.fetch ?? fetch;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const ex = o.executor;
  let stopped = false;
  const call = async <T>(path: string, token: string, body: unknown): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await doFetch(`${o.apiUrl}/agent/v1/nodes/${o.nodeId}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        if (res.status >= 400 && res.status < 500) throw new HttpError(res.status, text);
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return (text ? JSON.parse(text) : {}) as T;
      } catch (e) {
        if (e instanceof HttpError || stopped) throw e;
        const delay = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6));
        o.log(`${path}: ${(e as Error).message}; retrying in ${delay} ms`);
        await sleep(delay);
      }
    }
  };

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

  // 2. Register once.
  const stateFile = ex.path(STATE_PATH);
  let state: AgentState;
  if (existsSync(stateFile)) {
    state = JSON.parse(readFileSync(stateFile, 'utf8')) as AgentState;
    o.log(`resuming as ${state.role} ${state.nodeName}`);
  } else {
    const reg = await call<AgentApi.RegisterResponse>('/register', o.bootstrapToken, { wireguardPublicKey: wgPublic, privateIp: o.privateIp, publicIp: o.publicIp } satisfies AgentApi.RegisterRequest);
    state = { nodeToken: reg.nodeToken, role: reg.role, nodeName: reg.nodeName, wireguardAddress: reg.wireguardAddress, joined: false };
    ex.writeFile(STATE_PATH, JSON.stringify(state), 0o600);
    o.log(`registered as ${reg.role} ${reg.nodeName}, overlay address ${reg.wireguardAddress}`);
  }
  const save = () => ex.writeFile(STATE_PATH, JSON.stringify(state), 0o600);

  // 3. WireGuard: first configuration before joining (kubelet and the API server advertise the overlay address),
  //    then a long poll that applies every change.
  const wg = new WireguardInterface(ex, o.wireguard, wgPrivate);
  let mesh = await call<AgentApi.MeshConfig>('/mesh', state.nodeToken, {} satisfies AgentApi.MeshRequest);
  await wg.apply(mesh);
  o.log(`wireguard ${o.wireguard.interface} up as ${mesh.interface.address} with ${mesh.peers.length} peer(s)`);
  const meshLoop = (async () => {
    while (!stopped) {
      try {
        const next = await call<AgentApi.MeshConfig>('/mesh', state.nodeToken, { revision: mesh.revision } satisfies AgentApi.MeshRequest);
        if (stopped || next.revision === mesh.revision) continue;
        await wg.apply(next);
        mesh = next;
        o.log(`wireguard peers now ${next.peers.map((p) => p.nodeName).join(', ') || 'none'}`);
      } catch (e) {
        if (stopped) return;
        o.log(`mesh: ${(e as Error).message}`);
        await sleep(2000);
      }
    }
  })();

  // 4. Join.
  if (!state.joined) {
    let decision: AgentApi.JoinResponse;
    for (;;) {
      decision = await call<AgentApi.JoinResponse>('/join', state.nodeToken, {});
      if (decision.action !== 'wait') break;
      // the server long-polls, so it usually asks again at once
      await sleep((decision.retryAfterSeconds ?? 1) * 1000);
    }
    o.log(`told to ${decision.action}`);
    for (const f of decision.files ?? []) ex.writeFile(f.path, f.content, f.mode);
    const config = '/etc/kubernetes/kubeadm.yaml';
    ex.writeFile(config, decision.kubeadmConfig ?? '', 0o600);
    await ex.run(decision.action === 'initialise'
      ? ['kubeadm', 'init', '--config', ex.path(config), '--upload-certs']
      : ['kubeadm', 'join', '--config', ex.path(config)]);
    await call('/joined', state.nodeToken, {} satisfies AgentApi.JoinedRequest);
    state.joined = true;
    save();
    o.log('joined');
  }

  // 5. Round trips to every peer, reported with the pod range once Kubernetes has assigned it. An executor that
  //    only records (the sandbox's process-VMs) measures nothing, so the loop ends after its first round.
  let podCidr: string | null | undefined;
  const probeLoop = (async () => {
    while (!stopped) {
      try {
        if (podCidr === undefined) podCidr = await readPodCidr(ex, state.nodeName);
        const peers = mesh.peers;
        const rtts = await Promise.all(peers.map((p) => measureRtt(ex, p.address)));
        const latencies = peers.flatMap((p, i) => (rtts[i] === undefined ? [] : [{ peerNodeId: p.nodeId, rttMs: rtts[i] ?? null }]));
        if (latencies.length || podCidr) await call('/status', state.nodeToken, { latencies, podCidr: podCidr ?? undefined } satisfies AgentApi.StatusReport);
        if (peers.length && !latencies.length && podCidr === null) return;
      } catch (e) {
        if (stopped) return;
        o.log(`probe: ${(e as Error).message}`);
      }
      await sleep((o.probeIntervalSeconds ?? 30) * 1000);
    }
  })();

  return {
    state,
    /** Ends the loops after their current step (an outstanding long poll is abandoned). */
    stop: () => {
      stopped = true;
    },
    done: Promise.all([meshLoop, probeLoop]).then(() => undefined),
  };
}

/**
 * The node's pod range from its Node object (kube-controller-manager's node IPAM).
 * @returns the CIDR; `undefined` when not known yet; `null` when the executor only records (never knowable).
 */
async function readPodCidr(ex: Executor, nodeName: string): Promise<string | null | undefined> {
  const r = await ex.capture(['kubectl', '--kubeconfig', '/etc/kubernetes/kubelet.conf', 'get', 'node', nodeName, '-o', 'jsonpath={.spec.podCIDR}'].map((a) => (a === '/etc/kubernetes/kubelet.conf' ? ex.path(a) : a)));
  if (r === null) return null;
  const cidr = r.code === 0 ? r.stdout.trim() : '';
  return /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(cidr) ? cidr : undefined;
}

/** The X25519 public key (base64) of a base64 private key. */
function publicFromPrivate(privateB64: string): string {
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), Buffer.from(privateB64, 'base64')]);
  const pub = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }));
  return pub.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
}
