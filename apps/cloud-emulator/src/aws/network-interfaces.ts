import type { ActionDef } from './context';
import { visibleMap } from './context';
import { clientError } from './errors';
import { compileFilters, FilterFields, readFilters } from './filters';
import { paginate } from './paging';
import { Account, Instance, isWellFormedId, RegionState } from './state';
import { renderTags } from './tags';
import type { XmlValue } from './xml';

/**
 * DescribeNetworkInterfaces (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html):
 * every instance's primary network interface (device index 0), which RunInstances makes with the instance and
 * termination deletes with it (`DeleteOnTermination`), as the instance's `networkInterfaceSet` names it. Status
 * `in-use` while the instance exists (pending to shutting-down). The sandbox makes no other interfaces
 * (CreateNetworkInterface is not served).
 */

export function privateDnsName(region: string, ip: string): string {
  const host = `ip-${ip.replace(/\./g, '-')}`;
  return region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}

/** The instances whose primary interface exists (every one but the terminated). */
const withInterface = (instances: Iterable<Instance>): Instance[] => [...instances].filter((i) => i.state !== 'terminated');

export function renderNetworkInterface(account: Account, rs: RegionState, i: Instance): XmlValue {
  const association = i.publicIp ? { publicIp: i.publicIp, publicDnsName: '', ipOwnerId: 'amazon' } : undefined;
  return {
    networkInterfaceId: i.networkInterfaceId,
    subnetId: i.subnetId,
    vpcId: i.vpcId,
    availabilityZone: i.zone,
    availabilityZoneId: i.zoneId,
    description: '',
    ownerId: account.id,
    requesterManaged: false,
    status: 'in-use',
    macAddress: i.macAddress,
    privateIpAddress: i.privateIp,
    privateDnsName: privateDnsName(rs.region, i.privateIp),
    sourceDestCheck: true,
    groupSet: i.securityGroupIds.map((id) => ({ groupId: id, groupName: rs.securityGroups.get(id)?.name ?? id })),
    attachment: {
      attachmentId: i.networkAttachmentId,
      instanceId: i.id,
      instanceOwnerId: account.id,
      deviceIndex: 0,
      networkCardIndex: 0,
      status: 'attached',
      attachTime: i.launchTime,
      deleteOnTermination: true,
    },
    association,
    tagSet: renderTags(i.eniTags),
    privateIpAddressesSet: [{ privateIpAddress: i.privateIp, privateDnsName: privateDnsName(rs.region, i.privateIp), primary: true, association }],
    ipv6AddressesSet: [],
    interfaceType: 'interface',
    operator: { managed: false },
  };
}

function eniFilters(account: Account, rs: RegionState): FilterFields<Instance> {
  return {
    'network-interface-id': (i) => [i.networkInterfaceId],
    'attachment.attachment-id': (i) => [i.networkAttachmentId],
    'attachment.instance-id': (i) => [i.id],
    'attachment.instance-owner-id': () => [account.id],
    'attachment.device-index': () => [0],
    'attachment.status': () => ['attached'],
    'attachment.delete-on-termination': () => ['true'],
    'availability-zone': (i) => [i.zone],
    'addresses.private-ip-address': (i) => [i.privateIp],
    'addresses.primary': () => ['true'],
    'association.public-ip': (i) => [i.publicIp],
    description: () => [''],
    'group-id': (i) => i.securityGroupIds,
    'group-name': (i) => i.securityGroupIds.map((id) => rs.securityGroups.get(id)?.name),
    'interface-type': () => ['interface'],
    'mac-address': (i) => [i.macAddress],
    'owner-id': () => [account.id],
    'private-dns-name': (i) => [privateDnsName(rs.region, i.privateIp)],
    'private-ip-address': (i) => [i.privateIp],
    'requester-managed': () => ['false'],
    'source-dest-check': () => ['true'],
    status: () => ['in-use'],
    'subnet-id': (i) => [i.subnetId],
    'vpc-id': (i) => [i.vpcId],
  };
}

export const NETWORK_INTERFACE_ACTIONS: Record<string, ActionDef> = {
  DescribeNetworkInterfaces: {
    op: 'read',
    params: ['DryRun', 'NetworkInterfaceId', 'Filter', 'MaxResults', 'NextToken'],
    run(c) {
      const all = withInterface(visibleMap(c, c.rs.instances).values());
      const ids = c.p.strList('NetworkInterfaceId');
      for (const id of ids) if (!isWellFormedId('eni', id)) throw clientError('InvalidNetworkInterfaceID.Malformed', `Invalid id: "${id}" (expecting "eni-...")`);
      const missing = ids.filter((id) => !all.some((i) => i.networkInterfaceId === id));
      if (missing.length) {
        throw clientError('InvalidNetworkInterfaceID.NotFound', missing.length === 1 ? `The networkInterface ID '${missing[0]}' does not exist` : `The networkInterface IDs '${missing.join(', ')}' do not exist`);
      }
      const match = compileFilters(readFilters(c.p), eniFilters(c.account, c.rs), (i) => i.eniTags);
      const list = all.filter((i) => (ids.length === 0 || ids.includes(i.networkInterfaceId)) && match(i));
      const page = paginate(list, c.p, c.action, { min: 5, max: 1000, idsParam: 'NetworkInterfaceId' });
      return { networkInterfaceSet: page.items.map((i) => renderNetworkInterface(c.account, c.rs, i)), nextToken: page.nextToken };
    },
  },
};
