/*
 * Kubernetes defaults that more than one renderer needs (PKI and kubeadm configuration). They live here, below both,
 * so pki.ts and kubeadm.ts never import each other's values (kubeadm.ts only takes pki.ts's types).
 */

/** Kubernetes' default cluster DNS domain; the API server certificate names `kubernetes.default.svc.<domain>`. */
export const DNS_DOMAIN = 'cluster.local';

/** Skyweave's own node labels (domain `skyweave.io`, which kubelet may set on itself). */
export const SKYWEAVE_CLOUD_LABEL = 'skyweave.io/cloud';
export const SKYWEAVE_NODE_ID_LABEL = 'skyweave.io/node-id';

/**
 * The labels a node's kubelet registers with (`--node-labels`, set through the kubeadm configuration's
 * `nodeRegistration.kubeletExtraArgs`): the well-known `node.kubernetes.io/instance-type`,
 * `topology.kubernetes.io/region` and `topology.kubernetes.io/zone` ("Well-Known Labels, Annotations and Taints",
 * https://kubernetes.io/docs/reference/labels-annotations-taints/; kubelet may set these on its own Node under the
 * NodeRestriction admission plugin), and Skyweave's `skyweave.io/cloud` and `skyweave.io/node-id`, which join a
 * Kubernetes Node to a Skyweave node. A cloud controller manager would set the well-known ones; Skyweave runs none, so
 * kubelet does. Zones as the clouds' own Kubernetes providers write them: Azure's zone is `<region>-<n>` (`eastus-1`),
 * the others' zone name as is.
 * @param n the node's cloud id, Skyweave node id (UUID), instance type, the cloud's region code and zone.
 */
export function nodeLabels(n: { cloud: string; nodeId: string; instanceType: string; region: string; zone: string }): Record<string, string> {
  return {
    'node.kubernetes.io/instance-type': n.instanceType,
    'topology.kubernetes.io/region': n.region,
    'topology.kubernetes.io/zone': n.cloud === 'azure' && /^\d+$/.test(n.zone) ? `${n.region}-${n.zone}` : n.zone,
    [SKYWEAVE_CLOUD_LABEL]: n.cloud,
    [SKYWEAVE_NODE_ID_LABEL]: n.nodeId,
  };
}
