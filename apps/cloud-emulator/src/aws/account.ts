import type { ActionDef } from './context';
import { defaultVpcOf } from './default-vpc';
import { clientError, invalidParameterValue } from './errors';
import { compileFilters, readFilters } from './filters';

/**
 * Account-wide EC2 reads a fresh account answers:
 * - DescribeAddresses (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeAddresses.html): Elastic IP
 *   addresses. The sandbox allocates none (AllocateAddress is not served), so the list is empty and any named
 *   address or allocation id is unknown (`InvalidAddress.NotFound`, `InvalidAllocationID.NotFound`).
 * - DescribeAccountAttributes (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeAccountAttributes.html):
 *   `supported-platforms` (`VPC`), `default-vpc` (the region's default VPC, or `none` once deleted), and the default
 *   quotas `max-instances` (20), `vpc-max-security-groups-per-interface` (5), `max-elastic-ips` and
 *   `vpc-max-elastic-ips` (5).
 */

const ATTRIBUTES = ['supported-platforms', 'default-vpc', 'max-instances', 'vpc-max-security-groups-per-interface', 'max-elastic-ips', 'vpc-max-elastic-ips'];

export const ACCOUNT_ACTIONS: Record<string, ActionDef> = {
  DescribeAddresses: {
    op: 'read',
    params: ['DryRun', 'PublicIp', 'AllocationId', 'Filter'],
    run(c) {
      const ips = c.p.strList('PublicIp');
      const allocations = c.p.strList('AllocationId');
      compileFilters(readFilters(c.p), {
        'allocation-id': () => [], 'association-id': () => [], domain: () => [], 'instance-id': () => [], 'network-border-group': () => [],
        'network-interface-id': () => [], 'network-interface-owner-id': () => [], 'private-ip-address': () => [], 'public-ip': () => [],
      }, () => new Map());
      if (ips.length) throw clientError('InvalidAddress.NotFound', `Address '${ips[0]}' not found.`);
      if (allocations.length) throw clientError('InvalidAllocationID.NotFound', `The allocation ID '${allocations[0]}' does not exist`);
      return { addressesSet: [] };
    },
  },

  DescribeAccountAttributes: {
    op: 'read',
    params: ['DryRun', 'AttributeName'],
    run(c) {
      const names = c.p.strList('AttributeName');
      for (const n of names) if (!ATTRIBUTES.includes(n)) throw invalidParameterValue(`Value (${n}) for parameter attributeName is invalid. Unknown attribute name.`);
      const values: Record<string, string[]> = {
        'supported-platforms': ['VPC'],
        'default-vpc': [defaultVpcOf(c.rs)?.id ?? 'none'],
        'max-instances': ['20'],
        'vpc-max-security-groups-per-interface': ['5'],
        'max-elastic-ips': ['5'],
        'vpc-max-elastic-ips': ['5'],
      };
      const shown = names.length ? ATTRIBUTES.filter((a) => names.includes(a)) : ATTRIBUTES;
      return { accountAttributeSet: shown.map((a) => ({ attributeName: a, attributeValueSet: values[a].map((attributeValue) => ({ attributeValue })) })) };
    },
  },
};
