import { existsSync, readFileSync } from 'node:fs';
import * as https from 'node:https';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';
import type { AgentApi } from '@skyweave/contracts';
import type { Executor } from './executor';

/**
 * kubelet's current client certificate and key, one PEM file: where kubelet keeps it with certificate rotation on
 * (kubeadm's default, `rotateCertificates: true`), after kubeadm init or join's TLS bootstrap. Source: Kubernetes,
 * "Configure Certificate Rotation for the Kubelet", and kubeadm's "kubelet.conf" (its `client-certificate` points here).
 */
export const KUBELET_CLIENT_PEM_PATH = '/var/lib/kubelet/pki/kubelet-client-current.pem';
/** The cluster CA, written by kubeadm init and by every kubeadm join (kubeadm's "PKI certificates and requirements"). */
export const CLUSTER_CA_PATH = '/etc/kubernetes/pki/ca.crt';
/** How long one read of the Node may take, ms. */
const NODE_READ_TIMEOUT_MS = 10_000;

/** A cluster API answer: status and body text. */
export interface ApiAnswer { status: number; body: string }

/**
 * `GET <server><path>` with a client certificate, as kubelet talks to its API server: TLS verified against `ca` with
 * the server name of `server`'s host, through the proxy `HTTPS_PROXY`/`NO_PROXY` name for that URL (proxy-from-env,
 * as kubectl honours them; an HTTP CONNECT tunnel, https-proxy-agent), else directly. No connection is kept.
 * @param clientPem certificate and key (PEM, one file as kubelet keeps them, or concatenated).
 * @throws the transport error (refused, TLS, timeout after NODE_READ_TIMEOUT_MS); an HTTP error status is an answer.
 */
export function getWithClientCertificate(server: string, path: string, tls: { ca: string; clientPem: string }): Promise<ApiAnswer> {
  const url = new URL(path, server);
  const proxy = getProxyForUrl(url.href);
  const options: https.RequestOptions = {
    method: 'GET', ca: tls.ca, cert: tls.clientPem, key: tls.clientPem, headers: { accept: 'application/json' }, timeout: NODE_READ_TIMEOUT_MS,
    agent: proxy ? new HttpsProxyAgent(proxy, { keepAlive: false }) : false,
  };
  return new Promise((resolve, reject) => {
    const req = https.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url.href}: no answer in ${NODE_READ_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

/** How the agent reads its Node from the cluster's API. */
export interface NodeReaderOptions {
  executor: Executor;
  nodeName: string;
  /**
   * Whether the agent's own network is the node's, so that it may dial the API itself. False when the executor runs
   * commands in another network namespace (the sandbox's netns VMs): then only the node's `kubectl` can reach it.
   */
  inProcess: boolean;
  log?: (msg: string) => void;
}

/**
 * The node's pod range (`spec.podCIDR`, kube-controller-manager's node IPAM) from its Node object.
 *
 * In-process where it can (`inProcess`, the control-plane endpoint known, kubelet's client certificate and the
 * cluster CA on disk): one HTTPS GET with kubelet's own credential to the endpoint kubelet uses (the node's API server
 * proxy), authorised as kubelet is (the Node authorizer lets a node read its own Node). Otherwise the node's
 * `kubectl get --raw` with kubelet.conf, as before. The in-process read replaces a `kubectl` process per node and
 * round: measured on the sandbox (2 shared cores, 7 nodes joining at once), those processes cost about 0.75 s of a
 * cluster's join phase (closing note of stop 22); on a real VM it is a process and a dependency less.
 * @param endpoint the cluster's control-plane endpoint (mesh configuration `controlPlane`), when known.
 * @returns the CIDR; `undefined` when not known yet (no range assigned, no answer); `null` when the executor only
 *   records commands and there is no credential to read with (never knowable).
 */
export async function readPodCidr(o: NodeReaderOptions, endpoint: AgentApi.ControlPlaneAccess | undefined): Promise<string | null | undefined> {
  const path = `/api/v1/nodes/${encodeURIComponent(o.nodeName)}`;
  const ex = o.executor;
  let answer: ApiAnswer | null;
  if (o.inProcess && endpoint && existsSync(ex.path(KUBELET_CLIENT_PEM_PATH)) && existsSync(ex.path(CLUSTER_CA_PATH))) {
    try {
      answer = await getWithClientCertificate(`https://${endpoint.host}:${endpoint.port}`, path, {
        ca: readFileSync(ex.path(CLUSTER_CA_PATH), 'utf8'), clientPem: readFileSync(ex.path(KUBELET_CLIENT_PEM_PATH), 'utf8'),
      });
    } catch (e) {
      o.log?.(`pod range: ${(e as Error).message}`);
      return undefined;
    }
  } else {
    // `get --raw`: one GET of the Node, without kubectl's API discovery (a dozen requests and a cache on first use)
    const r = await ex.capture(['kubectl', '--kubeconfig', ex.path('/etc/kubernetes/kubelet.conf'), 'get', '--raw', path]);
    if (r === null) return null;
    answer = { status: r.code === 0 ? 200 : 0, body: r.stdout };
  }
  return podCidrOf(answer);
}

/** `spec.podCIDR` of a Node answer when it is an IPv4 CIDR; undefined otherwise. */
export function podCidrOf(a: ApiAnswer): string | undefined {
  if (a.status !== 200) return undefined;
  let cidr = '';
  try {
    cidr = String((JSON.parse(a.body) as { spec?: { podCIDR?: unknown } }).spec?.podCIDR ?? '');
  } catch {
    return undefined;
  }
  return /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(cidr) ? cidr : undefined;
}
