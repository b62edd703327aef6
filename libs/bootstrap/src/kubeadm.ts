import { stringify } from 'yaml';
import { ADDRESS_PLAN } from '@skyweave/domain';
import type { AgentApi } from '@skyweave/contracts';
import type { CertificateAndKey } from './pki';
import { DNS_DOMAIN } from './kubernetes';

/*
 * kubeadm configuration documents, `kubeadm.k8s.io/v1beta4` (Kubernetes 1.31+). Source: the kubeadm configuration
 * reference, https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/, and its Go types
 * (cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go). Only the fields we set are modelled; kubeadm defaults the rest.
 * Pure functions: no I/O, no randomness.
 */

export const KUBEADM_API_VERSION = 'kubeadm.k8s.io/v1beta4';
/** Where kubeadm reads and writes the PKI (ClusterConfiguration.certificatesDir default). */
export const PKI_DIR = '/etc/kubernetes/pki';
/** Key algorithm kubeadm uses for the keys it makes itself; ours are the same (see pki.ts). */
export const ENCRYPTION_ALGORITHM = 'ECDSA-P256';
/** The port every API server binds and advertises (kubeadm's default). */
export const API_SERVER_PORT = 6443;
/**
 * A name every API server certificate of a kubeadm cluster carries (certs.GetAPIServerAltNames), whatever address the
 * master was dialled at: clients that dial a master by an IP its certificate may not name (another master's public IP)
 * verify this name instead (kubeconfig `tls-server-name`).
 */
export const API_SERVER_NAME = 'kubernetes';

/** A v1beta4 `Arg`: one command-line flag without its dashes (extra args are lists since v1beta4). */
export interface KubeadmArg { name: string; value: string }
/** `APIEndpoint`: the address this node's API server advertises, and its port. */
export interface ApiEndpoint { advertiseAddress: string; bindPort: number }
/** `NodeRegistrationOptions` (the fields we set): the Node object's name and extra kubelet flags. */
export interface NodeRegistration { name: string; kubeletExtraArgs: KubeadmArg[] }
/** `BootstrapToken` (bootstraptoken/v1) as created by `kubeadm init`. */
export interface BootstrapTokenSpec { token: string; ttl: string; usages: string[]; groups: string[] }

export interface InitConfiguration {
  apiVersion: typeof KUBEADM_API_VERSION;
  kind: 'InitConfiguration';
  bootstrapTokens: BootstrapTokenSpec[];
  nodeRegistration: NodeRegistration;
  localAPIEndpoint: ApiEndpoint;
  certificateKey: string;
}

export interface ClusterConfiguration {
  apiVersion: typeof KUBEADM_API_VERSION;
  kind: 'ClusterConfiguration';
  clusterName: string;
  kubernetesVersion: string;
  controlPlaneEndpoint: string;
  certificatesDir: string;
  encryptionAlgorithm: typeof ENCRYPTION_ALGORITHM;
  networking: { podSubnet: string; serviceSubnet: string; dnsDomain: string };
  apiServer: { certSANs?: string[] };
}

export interface JoinConfiguration {
  apiVersion: typeof KUBEADM_API_VERSION;
  kind: 'JoinConfiguration';
  nodeRegistration: NodeRegistration;
  discovery: { bootstrapToken: { apiServerEndpoint: string; token: string; caCertHashes: string[] } };
  controlPlane?: { localAPIEndpoint: ApiEndpoint; certificateKey: string };
}

/**
 * A node as kubeadm sees it: its Node name, the address kubelet and (on masters) the API server use (its WireGuard
 * overlay address), and the labels its kubelet registers with (see `nodeLabels`; none when absent).
 */
export interface KubeadmNode { name: string; address: string; labels?: Record<string, string> }

/**
 * The name every node dials the control plane by (issue 11, item 5; docs/node-bootstrap.md, "A control-plane endpoint
 * that survives a master"). Each node's `/etc/hosts` maps it to 127.0.0.1, where the node's own API server proxy
 * (HAProxy, `LOCAL_API_PROXY_PORT`) spreads connections over every master's API server through the WireGuard mesh,
 * as kubespray's `loadbalancer_apiserver_localhost` and k3s' agent load balancer do. A name, not the loopback
 * address itself: the API server certificates name it once, and moving the endpoint (to a cloud load balancer, a DNS
 * record) changes one hosts line per node, not the certificates and every kubeconfig. `.internal` is reserved for
 * private use (ICANN, 2024): no public DNS ever answers for it.
 */
export const CONTROL_PLANE_HOST = 'control-plane.skyweave.internal';
/**
 * The loopback port of every node's API server proxy: not 6443, which a master's own kube-apiserver binds on all
 * addresses (kubeadm's default `--bind-address 0.0.0.0`); 6444 as k3s' agent load balancer.
 */
export const LOCAL_API_PROXY_PORT = 6444;

/**
 * The cluster's control-plane endpoint (kubeadm `controlPlaneEndpoint`, `host:port`):
 * `control-plane.skyweave.internal:6444`, the same on every node and for the cluster's whole life, whichever masters
 * live. kubeadm writes it into kubelet.conf, admin.conf and the cluster-info ConfigMap, and adds its host to the API
 * server certificate's names.
 */
export function controlPlaneEndpoint(): string {
  return `${CONTROL_PLANE_HOST}:${LOCAL_API_PROXY_PORT}`;
}

/** kubelet's `--node-labels` value: `k=v` pairs joined by commas, in the order given. */
export function nodeLabelsArg(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}

const nodeRegistration = (n: KubeadmNode): NodeRegistration => ({
  name: n.name,
  kubeletExtraArgs: [{ name: 'node-ip', value: n.address }, ...(n.labels && Object.keys(n.labels).length ? [{ name: 'node-labels', value: nodeLabelsArg(n.labels) }] : [])],
});

/**
 * The InitConfiguration for master-0's `kubeadm init --upload-certs`: one bootstrap token (TTL 24 h, usages signing
 * and authentication, group `system:bootstrappers:kubeadm:default-node-token`, as kubeadm's default token), the node's
 * name and kubelet `node-ip`, the API server advertising `node.address` on 6443, and the certificate key with which
 * `--upload-certs` encrypts the shared control-plane certificates for the other masters.
 * @param o.bootstrapToken `[a-z0-9]{6}.[a-z0-9]{16}`; o.certificateKey 64 hex characters.
 */
export function initConfiguration(o: { node: KubeadmNode; bootstrapToken: string; certificateKey: string }): InitConfiguration {
  return {
    apiVersion: KUBEADM_API_VERSION, kind: 'InitConfiguration',
    bootstrapTokens: [{ token: o.bootstrapToken, ttl: '24h0m0s', usages: ['signing', 'authentication'], groups: ['system:bootstrappers:kubeadm:default-node-token'] }],
    nodeRegistration: nodeRegistration(o.node),
    localAPIEndpoint: { advertiseAddress: o.node.address, bindPort: API_SERVER_PORT },
    certificateKey: o.certificateKey,
  };
}

/**
 * The ClusterConfiguration: Kubernetes `v<kubernetesVersion>` (a leading `v` is not doubled), the control-plane
 * endpoint (`host:6443`), the address plan's pod and service subnets (10.217.0.0/16, 10.96.0.0/12) and `cluster.local`,
 * ECDSA-P256 keys, and `certSANs` (extra API server certificate names, master-0's private and public IPs; omitted
 * when empty). kubeadm checks that an existing `apiserver.crt` names all of these, so they must be a subset of the
 * certificate's SANs.
 */
export function clusterConfiguration(o: { clusterName: string; kubernetesVersion: string; controlPlaneEndpoint: string; certSans?: readonly string[]; podSubnet?: string; serviceSubnet?: string }): ClusterConfiguration {
  return {
    apiVersion: KUBEADM_API_VERSION, kind: 'ClusterConfiguration',
    clusterName: o.clusterName,
    kubernetesVersion: o.kubernetesVersion.startsWith('v') ? o.kubernetesVersion : `v${o.kubernetesVersion}`,
    controlPlaneEndpoint: o.controlPlaneEndpoint,
    certificatesDir: PKI_DIR,
    encryptionAlgorithm: ENCRYPTION_ALGORITHM,
    networking: { podSubnet: o.podSubnet ?? ADDRESS_PLAN.podSubnet, serviceSubnet: o.serviceSubnet ?? ADDRESS_PLAN.serviceSubnet, dnsDomain: DNS_DOMAIN },
    apiServer: o.certSans?.length ? { certSANs: [...o.certSans] } : {},
  };
}

/**
 * The JoinConfiguration for `kubeadm join --config`: token discovery against `controlPlaneEndpoint` pinned to the CA
 * (`caCertHash`, `sha256:<64 hex>`), the node's name and kubelet `node-ip`. With `certificateKey` (masters only) the
 * node joins as a control-plane node: its API server advertises `node.address` on 6443, and kubeadm downloads the
 * shared certificates that `kubeadm init --upload-certs` stored encrypted with that key. Without it, a worker.
 */
export function joinConfiguration(o: { node: KubeadmNode; controlPlaneEndpoint: string; bootstrapToken: string; caCertHash: string; certificateKey?: string }): JoinConfiguration {
  return {
    apiVersion: KUBEADM_API_VERSION, kind: 'JoinConfiguration',
    nodeRegistration: nodeRegistration(o.node),
    discovery: { bootstrapToken: { apiServerEndpoint: o.controlPlaneEndpoint, token: o.bootstrapToken, caCertHashes: [o.caCertHash] } },
    ...(o.certificateKey ? { controlPlane: { localAPIEndpoint: { advertiseAddress: o.node.address, bindPort: API_SERVER_PORT }, certificateKey: o.certificateKey } } : {}),
  };
}

/**
 * Renders kubeadm documents as one YAML stream separated by `---`. YAML 1.1-safe (kubeadm's parser follows YAML 1.1:
 * a string such as `on` or `0123` is quoted).
 */
export function renderKubeadmConfig(docs: readonly (InitConfiguration | ClusterConfiguration | JoinConfiguration)[]): string {
  return docs.map((d) => stringify(d, { version: '1.1' })).join('---\n');
}

/** The control-plane PKI master-0 needs before `kubeadm init`, PEM. */
export interface ControlPlanePki {
  ca: CertificateAndKey;
  frontProxyCa: CertificateAndKey;
  etcdCa: CertificateAndKey;
  serviceAccount: { key: string; publicKey: string };
  apiServer: CertificateAndKey;
}

/**
 * The files master-0 writes under /etc/kubernetes/pki before `kubeadm init`, named as kubeadm expects them (kubeadm
 * uses a certificate or key it finds and makes only the missing ones, signed by these CAs): ca.crt/key,
 * front-proxy-ca.crt/key, etcd/ca.crt/key, sa.key/pub, apiserver.crt/key. Keys mode 0o600, the rest 0o644.
 */
export function pkiFiles(p: ControlPlanePki): AgentApi.NodeFile[] {
  const cert = (name: string, content: string) => ({ path: `${PKI_DIR}/${name}`, content, mode: 0o644 });
  const key = (name: string, content: string) => ({ path: `${PKI_DIR}/${name}`, content, mode: 0o600 });
  return [
    cert('ca.crt', p.ca.certificate), key('ca.key', p.ca.key),
    cert('front-proxy-ca.crt', p.frontProxyCa.certificate), key('front-proxy-ca.key', p.frontProxyCa.key),
    cert('etcd/ca.crt', p.etcdCa.certificate), key('etcd/ca.key', p.etcdCa.key),
    key('sa.key', p.serviceAccount.key), cert('sa.pub', p.serviceAccount.publicKey),
    cert('apiserver.crt', p.apiServer.certificate), key('apiserver.key', p.apiServer.key),
  ];
}
