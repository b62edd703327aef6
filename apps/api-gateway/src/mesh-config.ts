import { createHash } from 'node:crypto';
import { MeshMember, WIREGUARD_PORT, WIREGUARD_PREFIX_LENGTH, meshPeers, wireguardMtu } from '@skyweave/domain';
import type { AgentApi } from '@skyweave/contracts';
import { ClusterEntity, NodeEntity, Repositories, orgScope } from '@skyweave/persistence';
import { API_SERVER_PORT, CONTROL_PLANE_HOST, LOCAL_API_PROXY_PORT } from '@skyweave/bootstrap/src/kubeadm';
import { Problem } from './problem';

/** What a mesh answer is made from: the cluster and all its nodes. */
export interface MeshRows { cluster: ClusterEntity; all: NodeEntity[] }

/**
 * Nodes that take part in the mesh: not gone. A worker being removed stays until it is drained (its kubelet must
 * still reach the API server while its pods are evicted) and leaves when its VM's termination starts.
 */
export const IN_MESH = (n: NodeEntity) => n.phase !== 'Terminating' && n.phase !== 'Terminated' && n.wireguardAddress !== null;

const toMember = (n: NodeEntity): MeshMember => ({
  id: n.id, name: n.name, cloud: n.cloud, role: n.role, wireguardAddress: n.wireguardAddress ?? '', wireguardPublicKey: n.wireguardPublicKey,
  privateIp: n.privateIp, publicIp: n.publicIp, podCidr: n.podCidr,
});

/**
 * Reads what a node's mesh answer is made from: its cluster and every node of it, scoped to the node's organisation
 * (two statements in parallel, each its own transaction).
 * @throws EntityNotFoundError when the cluster is gone.
 */
export async function readMeshRows(repos: Repositories, node: Pick<NodeEntity, 'organisationId' | 'clusterId'>): Promise<MeshRows> {
  const scope = orgScope(node.organisationId);
  const [cluster, all] = await Promise.all([
    repos.clusters.getById(scope, node.clusterId),
    repos.nodes.listByCluster(scope, node.clusterId),
  ]);
  return { cluster, all };
}

/**
 * The node's WireGuard configuration (DESIGN §6): its interface (overlay address /16, port 51820, the MTU for the
 * cluster's clouds) and its peers (meshPeers of the cluster's mesh spec), with a revision (20 hex characters of a
 * SHA-256 of the rest) that changes exactly when the configuration does. A node that is leaving keeps its address but
 * has no peers.
 * @throws Problem 409 `no-wireguard-address` when the node has no overlay address (or is not in `rows`).
 */
export function meshConfigFor(node: Pick<NodeEntity, 'id' | 'name'>, { cluster, all }: MeshRows): AgentApi.MeshConfig {
  const self = all.find((n) => n.id === node.id);
  if (!self?.wireguardAddress) throw new Problem(409, 'no-wireguard-address', 'No overlay address', `node ${node.name} has no WireGuard address`);
  const members = all.filter(IN_MESH).map(toMember);
  const peers = IN_MESH(self) ? meshPeers(toMember(self), members, cluster.spec.mesh ?? 'full') : [];
  const body: Omit<AgentApi.MeshConfig, 'revision'> = {
    interface: { address: `${self.wireguardAddress}/${WIREGUARD_PREFIX_LENGTH}`, listenPort: WIREGUARD_PORT, mtu: wireguardMtu(cluster.spec.clouds) },
    peers,
  };
  const controlPlane = controlPlaneAccess(all);
  if (controlPlane) body.controlPlane = controlPlane;
  const revision = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 20);
  return { revision, ...body };
}

/**
 * How a node reaches the Kubernetes API (issue 11, item 5; docs/node-bootstrap.md): the control-plane endpoint's name
 * and its loopback port, and every master's API server by overlay address, master-0 first. Every master in the mesh
 * is listed, live or not: a master's overlay address outlives its VMs (a replaced master keeps its row and address),
 * and the node's proxy checks each one's health, so a dead master costs a failed check, never a client's request.
 * @returns undefined while no master has an overlay address.
 */
export function controlPlaneAccess(all: readonly NodeEntity[]): AgentApi.ControlPlaneAccess | undefined {
  const masters = all.filter((n) => n.role === 'master' && IN_MESH(n)).sort((a, b) => a.ordinal - b.ordinal);
  if (!masters.length) return undefined;
  return { host: CONTROL_PLANE_HOST, port: LOCAL_API_PROXY_PORT, apiServers: masters.map((m) => `${m.wireguardAddress ?? ''}:${API_SERVER_PORT}`) };
}
