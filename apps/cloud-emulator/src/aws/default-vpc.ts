import type { RegionInfo } from './catalog';
import type { ActionDef } from './context';
import { clientError } from './errors';
import { createVpcWithDefaults, renderVpc } from './network';
import { Account, newId, RegionState } from './state';

/**
 * The default VPC that EC2 makes in every region of a new account ("Default VPCs", Amazon VPC User Guide,
 * https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html): VPC 172.31.0.0/16 (`isDefault`, DNS hostnames
 * on), a default subnet (`/20`, `defaultForAz`, public IPs on launch) in each Availability Zone — 172.31.0.0/20,
 * 172.31.16.0/20, 172.31.32.0/20 … in zone order —, an internet gateway attached to it, the main route table with
 * `0.0.0.0/0 → igw`, and the VPC's `default` security group. None of it is tagged. It is part of the fresh account, so
 * `inventory()` does not report it as a leftover; a user may still delete it, as on EC2.
 * Stamped at `-Infinity` so that eventual consistency never hides it.
 */
export function createDefaultVpc(rs: RegionState, account: Account, region: RegionInfo): void {
  const at = Number.NEGATIVE_INFINITY;
  const vpc = createVpcWithDefaults(rs, account, '172.31.0.0/16', new Map(), at, true);
  const igw = { id: newId('igw'), createdAtMs: at, attachedVpcId: vpc.id, tags: new Map<string, string>(), isDefault: true };
  rs.internetGateways.set(igw.id, igw);
  rs.routeTables.get(vpc.mainRouteTableId)?.routes.push({ destination: '0.0.0.0/0', gatewayId: igw.id, origin: 'CreateRoute' });
  region.zones.forEach((z, i) => {
    const id = newId('subnet');
    rs.subnets.set(id, {
      id,
      createdAtMs: at,
      vpcId: vpc.id,
      cidr: `172.31.${i * 16}.0/20`,
      zone: z.name,
      zoneId: z.id,
      mapPublicIpOnLaunch: true,
      defaultForAz: true,
      tags: new Map(),
      usedIps: new Set(),
    });
  });
}

/** The region's default VPC, if the account still has it. */
export const defaultVpcOf = (rs: RegionState) => [...rs.vpcs.values()].find((v) => v.isDefault);

export const DEFAULT_VPC_ACTIONS: Record<string, ActionDef> = {
  /**
   * Makes the region's default VPC again after it was deleted
   * (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateDefaultVpc.html); `DefaultVpcAlreadyExists` while
   * one exists. Counts against the VPC quota like any VPC.
   */
  CreateDefaultVpc: {
    op: 'network.create',
    params: ['DryRun'],
    run(c) {
      if (defaultVpcOf(c.rs)) throw clientError('DefaultVpcAlreadyExists', 'A Default VPC already exists for this account in this region.');
      if (c.rs.vpcs.size >= 5) throw clientError('VpcLimitExceeded', 'The maximum number of VPCs has been reached.');
      createDefaultVpc(c.rs, c.account, c.region);
      const vpc = defaultVpcOf(c.rs);
      return { vpc: vpc ? renderVpc(c.account, vpc, 'pending') : undefined };
    },
  },
};
