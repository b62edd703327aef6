import * as ipaddr from 'ipaddr.js';
import { CloudId } from './cloud';

/**
 * The address plan. Source: seed 004, "Subnets" table.
 * Kubernetes services and pods, the WireGuard overlay, and one VPC range per cloud; each VPC gets /24 subnets,
 * DigitalOcean one /20 VPC allocated dynamically from 10.100.0.0–10.255.0.0.
 */
export const ADDRESS_PLAN = {
  serviceSubnet: '10.96.0.0/12',
  podSubnet: '10.217.0.0/16',
  /** Prefix length of each node's pod range inside podSubnet (kube-controller-manager `--node-cidr-mask-size`, IPv4 default 24). */
  nodePodCidrPrefixLength: 24,
  wireguard: '10.4.0.0/16',
  vpc: { gcp: '10.0.0.0/16', aws: '10.10.0.0/16', azure: '10.20.0.0/16' },
  digitalOceanPool: { first: '10.100.0.0', last: '10.255.0.0', prefixLength: 20 },
} as const;

/** The VPC and node subnet for a cloud with a fixed plan (AWS, GCP, Azure): the /16 and its first /24. */
export function fixedNetworkCidrs(cloud: Exclude<CloudId, 'digitalocean'>): { vpcCidr: string; subnetCidr: string } {
  const vpcCidr = ADDRESS_PLAN.vpc[cloud];
  const [base] = ipaddr.parseCIDR(vpcCidr);
  return { vpcCidr, subnetCidr: `${base.toString()}/24` };
}

function overlaps(a: string, b: string): boolean {
  const [aAddr, aLen] = ipaddr.parseCIDR(a);
  const [bAddr, bLen] = ipaddr.parseCIDR(b);
  if (aAddr.kind() !== 'ipv4' || bAddr.kind() !== 'ipv4') return false;
  return aAddr.match(bAddr, Math.min(aLen, bLen));
}

/**
 * Chooses the first DigitalOcean VPC range (/20) in 10.100.0.0–10.255.0.0 that overlaps none of `existing`.
 * @param existing CIDRs already used by VPCs in the same DigitalOcean account (any prefix length).
 * @returns a CIDR such as `10.100.16.0/20`.
 * @throws Error when every /20 of the pool is taken (2,560 ranges).
 */
export function allocateDigitalOceanVpcRange(existing: readonly string[]): string {
  const { first, last, prefixLength } = ADDRESS_PLAN.digitalOceanPool;
  const start = ipv4ToInt(first);
  const end = ipv4ToInt(last);
  const step = 2 ** (32 - prefixLength);
  for (let n = start; n <= end; n += step) {
    const candidate = `${intToIpv4(n)}/${prefixLength}`;
    if (!existing.some((e) => overlaps(candidate, e))) return candidate;
  }
  throw new Error('no free /20 left for a DigitalOcean VPC in 10.100.0.0–10.255.0.0');
}

/** True when `cidr` is a /20 inside the DigitalOcean pool of the address plan. */
export function isInDigitalOceanPool(cidr: string): boolean {
  const [addr, len] = ipaddr.parseCIDR(cidr);
  const n = ipv4ToInt(addr.toString());
  return len === ADDRESS_PLAN.digitalOceanPool.prefixLength &&
    n >= ipv4ToInt(ADDRESS_PLAN.digitalOceanPool.first) && n <= ipv4ToInt(ADDRESS_PLAN.digitalOceanPool.last);
}

/** True when `ip` lies inside `cidr`. */
export function cidrContains(cidr: string, ip: string): boolean {
  const [net, len] = ipaddr.parseCIDR(cidr);
  return ipaddr.parse(ip).match(net, len);
}

function ipv4ToInt(ip: string): number {
  return ipaddr.IPv4.parse(ip).toByteArray().reduce((acc, b) => acc * 256 + b, 0);
}

function intToIpv4(n: number): string {
  return ipaddr.fromByteArray([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]).toString();
}
