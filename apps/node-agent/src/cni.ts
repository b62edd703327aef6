import { ADDRESS_PLAN } from '@skyweave/domain';
import type { Executor } from './executor';

/**
 * The node's pod network (issue 11, item 2): the standard CNI `bridge` and `host-local` plugins, as Kilo runs them,
 * with the mesh doing the routing. Every node's pods get addresses from its own pod range (Kubernetes assigns a /24 of
 * 10.217.0.0/16: kube-controller-manager `--allocate-node-cidrs`, kubeadm's `networking.podSubnet`); the bridge `cni0`
 * is their gateway; a pod's packet to another node's pod leaves through the route the agent keeps for that node's
 * range on `wg0` (WireGuardMesh: the range is in the peer's allowed IPs), so pod addresses are kept end to end across
 * clouds. Only traffic leaving the pod network is masqueraded to the node's address.
 *
 * Why not an existing CNI with a WireGuard mode (Calico, Cilium, Flannel's wireguard backend): each would run a second
 * WireGuard mesh with its own keys and peers beside Skyweave's, across clouds whose addresses and NAT only the platform
 * knows; bridge + host-local needs no daemon and no cluster-wide datastore, and the plugins ship with kubelet's
 * `kubernetes-cni` dependency (pkgs.k8s.io) in /opt/cni/bin. Source: CNI plugins reference, "bridge plugin" and
 * "host-local IP address management plugin" (https://www.cni.dev/plugins/current/); Kilo's kilo-kubeadm.yaml.
 */
export const CNI_CONFIG_PATH = '/etc/cni/net.d/10-skyweave.conflist';
/** The bridge the pods hang off (the CNI bridge plugin's default name). */
export const CNI_BRIDGE = 'cni0';

/**
 * The CNI network configuration list for a node: `bridge` (gateway and default route for its pods, hairpin for
 * Services reaching their own endpoints, the mesh's MTU so pod packets fit the tunnel) with `host-local` addresses from
 * `podCidr`, then `portmap` (hostPort) with SNAT. CNI spec 1.0.0 (containerd 1.7 and 2.x).
 * @param podCidr the node's pod range, e.g. `10.217.3.0/24` (Node.spec.podCIDR)
 * @param mtu the WireGuard interface's MTU in bytes (mesh configuration; 1420 by default)
 * @throws Error when `podCidr` is not an IPv4 CIDR or `mtu` not a positive integer
 */
export function cniConfig(podCidr: string, mtu: number): string {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(podCidr)) throw new Error(`cni: podCidr must be an IPv4 CIDR, got ${podCidr}`);
  if (!Number.isInteger(mtu) || mtu <= 0) throw new Error(`cni: mtu must be a positive integer, got ${mtu}`);
  const conflist = {
    cniVersion: '1.0.0',
    name: 'skyweave',
    plugins: [
      {
        type: 'bridge', bridge: CNI_BRIDGE, isGateway: true, isDefaultGateway: true, ipMasq: false, hairpinMode: true, mtu,
        ipam: { type: 'host-local', ranges: [[{ subnet: podCidr }]] },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  };
  return `${JSON.stringify(conflist, null, 2)}\n`;
}

/** The iptables rule (nat POSTROUTING) that masquerades pod traffic leaving the pod network, as iptables arguments after `-A`/`-C`. */
export function masqueradeRule(podCidr: string): string[] {
  return ['POSTROUTING', '-s', podCidr, '!', '-d', ADDRESS_PLAN.podSubnet, '-m', 'comment', '--comment', 'skyweave pod egress', '-j', 'MASQUERADE'];
}

/**
 * Sets up the node's pod network once its range is known: writes CNI_CONFIG_PATH (kubelet's runtime, containerd, reads
 * /etc/cni/net.d) and adds the masquerade rule unless it is there (`iptables -t nat -C`, then `-A`). Idempotent.
 * @throws Error naming the command when iptables fails.
 */
export async function setUpPodNetwork(ex: Executor, podCidr: string, mtu: number): Promise<void> {
  ex.writeFile(CNI_CONFIG_PATH, cniConfig(podCidr, mtu), 0o644);
  const rule = masqueradeRule(podCidr);
  const present = await ex.capture(['iptables', '-t', 'nat', '-C', ...rule]);
  if (present?.code !== 0) await ex.run(['iptables', '-t', 'nat', '-A', ...rule]);
}
