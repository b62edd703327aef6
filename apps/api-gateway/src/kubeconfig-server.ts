import type { KubeNodeStatusRow, NodeEntity } from '@skyweave/persistence';
import { API_SERVER_PORT } from '@skyweave/bootstrap/src/kubeadm';

/**
 * The API server a user's kubeconfig names (issue 11, item 5): a live master, chosen when the kubeconfig is handed out,
 * so that losing master-0 (or any one master) leaves `GET /v1/clusters/{id}/kubeconfig` working. Masters are ranked:
 * joined with their Node Ready in the platform's Kubernetes view (kube-watcher), then joined with no view yet, then
 * joined but not Ready (its kubelet has stopped heartbeating: usually its VM is gone), then the rest; within a rank,
 * by ordinal (master-0 first, so a healthy cluster's kubeconfig stays the same). Its address: the public IP, else the
 * private IP. Every master's certificate names `kubernetes` (the kubeconfig's `tls-server-name`), so any of them serves.
 * A kubeconfig saved earlier keeps naming the master it was issued for: fetching it again (`skyweave cluster
 * kubeconfig`) follows the live masters (docs/node-bootstrap.md says why not a DNS name or a cloud load balancer).
 * @param masters the cluster's master rows.
 * @param statuses the platform's view of the cluster's Nodes (KubeStatusRepository.nodeStatuses), possibly empty.
 * @returns `https://<ip>:6443`, or undefined when no master has an address.
 */
export function kubeconfigServer(masters: readonly Pick<NodeEntity, 'id' | 'ordinal' | 'phase' | 'publicIp' | 'privateIp'>[], statuses: readonly Pick<KubeNodeStatusRow, 'nodeId' | 'ready'>[]): string | undefined {
  const ready = new Map(statuses.map((s) => [s.nodeId, s.ready]));
  const rank = (m: (typeof masters)[number]): number => {
    if (m.phase !== 'Joined') return 3;
    const r = ready.get(m.id);
    return r === 'True' ? 0 : r === undefined ? 1 : 2;
  };
  const best = masters.filter((m) => m.publicIp ?? m.privateIp).sort((a, b) => rank(a) - rank(b) || a.ordinal - b.ordinal)[0];
  return best ? `https://${best.publicIp ?? best.privateIp}:${API_SERVER_PORT}` : undefined;
}
