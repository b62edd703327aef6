/** One inbound firewall rule: protocol, port range (inclusive) and source CIDR. */
export interface FirewallRule {
  protocol: 'tcp' | 'udp';
  fromPort: number;
  toPort: number;
  source: string;
  description: string;
}

/** Inbound rules per node role. Source: seed 004, "Master nodes inbound" and "Worker nodes inbound". */
export interface FirewallPlan {
  master: FirewallRule[];
  worker: FirewallRule[];
}

export const KUBE_API_PORT = 6443;
export const WIREGUARD_PORT = 51820;
/** The Kubernetes NodePort range (kube-apiserver `--service-node-port-range` default). */
export const NODE_PORT_RANGE = { from: 30000, to: 32767 } as const;

const ANYWHERE = '0.0.0.0/0';

export const FIREWALL_PLAN: FirewallPlan = {
  master: [
    { protocol: 'tcp', fromPort: KUBE_API_PORT, toPort: KUBE_API_PORT, source: ANYWHERE, description: 'k8s API server' },
    { protocol: 'udp', fromPort: WIREGUARD_PORT, toPort: WIREGUARD_PORT, source: ANYWHERE, description: 'WireGuard' },
  ],
  worker: [
    { protocol: 'udp', fromPort: WIREGUARD_PORT, toPort: WIREGUARD_PORT, source: ANYWHERE, description: 'WireGuard' },
    { protocol: 'tcp', fromPort: NODE_PORT_RANGE.from, toPort: NODE_PORT_RANGE.to, source: ANYWHERE, description: 'k8s NodePort (tcp)' },
    { protocol: 'udp', fromPort: NODE_PORT_RANGE.from, toPort: NODE_PORT_RANGE.to, source: ANYWHERE, description: 'k8s NodePort (udp)' },
  ],
};

/** A stable key for comparing rule sets regardless of order and description. */
export function ruleKey(r: Pick<FirewallRule, 'protocol' | 'fromPort' | 'toPort' | 'source'>): string {
  return `${r.protocol}:${r.fromPort}-${r.toPort}:${r.source}`;
}

/** Sorted keys of a rule list, for comparison. */
export function ruleKeys(rules: readonly Pick<FirewallRule, 'protocol' | 'fromPort' | 'toPort' | 'source'>[]): string[] {
  return rules.map(ruleKey).sort();
}
