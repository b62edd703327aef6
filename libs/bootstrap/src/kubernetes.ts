/*
 * Kubernetes defaults that more than one renderer needs (PKI and kubeadm configuration). They live here, below both,
 * so pki.ts and kubeadm.ts never import each other's values (kubeadm.ts only takes pki.ts's types).
 */

/** Kubernetes' default cluster DNS domain; the API server certificate names `kubernetes.default.svc.<domain>`. */
export const DNS_DOMAIN = 'cluster.local';
