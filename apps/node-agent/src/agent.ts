import { generateKeyPairSync } from 'node:crypto';
import type { AgentApi } from '@skyweave/contracts';
import type { Executor } from './executor';

export interface AgentOptions {
  apiUrl: string;
  nodeId: string;
  nodeName: string;
  bootstrapToken: string;
  executor: Executor;
  privateIp?: string;
  log: (msg: string) => void;
  /** Injected for tests. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

class HttpError extends Error {
  constructor(public readonly status: number, body: string) {
    super(`HTTP ${status}: ${body}`);
  }
}

/**
 * node-agent's bootstrap: generate the WireGuard key pair on the node (only the public key leaves it), exchange the
 * one-time bootstrap token for a node credential, ask when to join until told `initialise` or `join`, run kubeadm,
 * report `joined`. Transport errors and 5xx are retried with capped backoff; a 4xx is final (e.g. token reused).
 */
export async function bootstrapNode(o: AgentOptions): Promise<void> {
  const doFetch = o.fetch ?? fetch;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
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
        if (e instanceof HttpError) throw e;
        const delay = Math.min(10_000, 250 * 2 ** Math.min(attempt, 6));
        o.log(`${path}: ${(e as Error).message}; retrying in ${delay} ms`);
        await sleep(delay);
      }
    }
  };

  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const wgPrivate = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32).toString('base64');
  const wgPublic = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
  o.executor.writeFile('/etc/wireguard/private.key', `${wgPrivate}\n`, 0o600);

  const reg = await call<AgentApi.RegisterResponse>('/register', o.bootstrapToken, { wireguardPublicKey: wgPublic, privateIp: o.privateIp } satisfies AgentApi.RegisterRequest);
  o.executor.writeFile('/var/lib/skyweave/node-token', `${reg.nodeToken}\n`, 0o600);
  o.log(`registered as ${reg.role} ${reg.nodeName}`);

  let decision: AgentApi.JoinResponse;
  for (;;) {
    decision = await call<AgentApi.JoinResponse>('/join', reg.nodeToken, {});
    if (decision.action !== 'wait') break;
    // the server long-polls, so it usually asks again at once
    await sleep((decision.retryAfterSeconds ?? 1) * 1000);
  }
  o.log(`told to ${decision.action}`);
  if (decision.action === 'initialise') {
    o.executor.writeFile('/etc/kubernetes/kubeadm-init.yaml', [
      'apiVersion: kubeadm.k8s.io/v1beta4', 'kind: ClusterConfiguration', `kubernetesVersion: v${decision.kubernetesVersion}`,
      'networking:', `  podSubnet: ${decision.podSubnet}`, `  serviceSubnet: ${decision.serviceSubnet}`, '',
    ].join('\n'));
    await o.executor.run(['kubeadm', 'init', '--config', '/etc/kubernetes/kubeadm-init.yaml']);
  } else {
    o.executor.writeFile('/etc/kubernetes/kubeadm-join.yaml', [
      'apiVersion: kubeadm.k8s.io/v1beta4', 'kind: JoinConfiguration', 'discovery:', '  bootstrapToken:',
      `    apiServerEndpoint: ${decision.controlPlaneEndpoint ?? ''}`, ...(reg.role === 'master' ? ['controlPlane: {}'] : []), '',
    ].join('\n'));
    await o.executor.run(['kubeadm', 'join', '--config', '/etc/kubernetes/kubeadm-join.yaml']);
  }
  await call('/joined', reg.nodeToken, {} satisfies AgentApi.JoinedRequest);
  o.log('joined');
}
