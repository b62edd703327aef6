import { CloudId, FIREWALL_PLAN, findRegion, fixedNetworkCidrs, resourcePrefix } from '@skyweave/domain';
import type { NetworkSpec } from './cloud-provider';

/**
 * The network plan of a cluster on one cloud: the region mapping (seed 002), the address plan and firewall tables
 * (seed 004). DigitalOcean gets empty CIDRs: its adapter allocates a free /20.
 * @throws Error when the Skyweave region is unknown or not served by `cloud`.
 */
export function networkSpecFor(clusterId: string, regionId: string, cloud: CloudId): NetworkSpec {
  const mapped = findRegion(regionId)?.clouds[cloud];
  if (!mapped) throw new Error(`region ${regionId} is not available on ${cloud}`);
  const cidrs = cloud === 'digitalocean' ? { vpcCidr: '', subnetCidr: '' } : fixedNetworkCidrs(cloud);
  return { clusterId, namePrefix: resourcePrefix(clusterId), region: mapped.region, zone: mapped.zone, ...cidrs, firewall: FIREWALL_PLAN };
}
