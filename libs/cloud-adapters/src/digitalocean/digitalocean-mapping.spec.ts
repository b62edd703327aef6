import { FIREWALL_PLAN, ruleKeys } from '@skyweave/domain';
import {
  dropletState,
  dropletToInstance,
  firewallResource,
  firewallTargetTag,
  inboundToFirewallRules,
  isOwnedVpc,
  ownedFirewallRole,
  parseDoPorts,
  planToInboundRules,
  splitDoTags,
  vpcDescription,
} from './digitalocean-mapping';

const CLUSTER = '3f0c9a52-1d2e-4b6f-8a7c-0123456789ab';

describe('DigitalOcean mapping', () => {
  it('splits key:value tags on the first colon', () => {
    expect(splitDoTags(['skyweave-cluster:' + CLUSTER, 'a:b:c', 'plain'])).toEqual({ 'skyweave-cluster': CLUSTER, a: 'b:c', plain: '' });
    expect(splitDoTags(undefined)).toEqual({});
  });

  it('round-trips the seed firewall plan through DigitalOcean rules', () => {
    const rules = planToInboundRules(FIREWALL_PLAN.worker);
    expect(rules).toContainEqual({ protocol: 'tcp', ports: '30000-32767', sources: { addresses: ['0.0.0.0/0'] } });
    expect(rules).toContainEqual({ protocol: 'udp', ports: '51820', sources: { addresses: ['0.0.0.0/0'] } });
    expect(ruleKeys(inboundToFirewallRules(rules))).toEqual(ruleKeys(FIREWALL_PLAN.worker));
  });

  it('reads all-port, icmp and non-address rules the way a drift check needs', () => {
    expect(parseDoPorts('0')).toEqual({ from: 1, to: 65535 });
    expect(parseDoPorts('all')).toEqual({ from: 1, to: 65535 });
    expect(parseDoPorts('22')).toEqual({ from: 22, to: 22 });
    expect(parseDoPorts('x')).toBeUndefined();
    const got = inboundToFirewallRules([
      { protocol: 'icmp', ports: '0', sources: { addresses: ['0.0.0.0/0'] } },
      { protocol: 'tcp', ports: '22', sources: { addresses: ['10.0.0.0/8'], tags: ['bastion'], droplet_ids: [7] } },
    ]);
    expect(ruleKeys(got)).toEqual(['tcp:22-22:10.0.0.0/8', 'tcp:22-22:droplet:7', 'tcp:22-22:tag:bastion']);
  });

  it('recognises the cluster\'s VPC by region and description, and its firewalls by name and target tag', () => {
    const vpc = { id: 'v', name: 'sw-3f0c9a52-vpc', region: 'nyc1', ip_range: '10.100.0.0/20', description: vpcDescription(CLUSTER) };
    expect(isOwnedVpc(vpc, CLUSTER, 'nyc1')).toBe(true);
    expect(isOwnedVpc(vpc, CLUSTER, 'fra1')).toBe(false);
    expect(isOwnedVpc({ ...vpc, description: '' }, CLUSTER, 'nyc1')).toBe(false);
    const fw = { id: 'f', name: 'sw-3f0c9a52-master', tags: [firewallTargetTag('master', CLUSTER)] };
    expect(ownedFirewallRole(fw, CLUSTER)).toBe('master');
    expect(ownedFirewallRole({ ...fw, tags: [] }, CLUSTER)).toBeUndefined();
    expect(ownedFirewallRole({ ...fw, name: 'sw-3f0c9a52-worker' }, CLUSTER)).toBeUndefined();
    expect(firewallResource(fw, CLUSTER).tags).toEqual({ 'skyweave-master': CLUSTER, 'skyweave-cluster': CLUSTER });
  });

  it('maps Droplets to instances', () => {
    expect(['new', 'active', 'off', 'archive'].map(dropletState)).toEqual(['pending', 'running', 'stopped', 'terminated']);
    const inst = dropletToInstance({
      id: 42,
      name: 'n',
      status: 'active',
      size_slug: 's-2vcpu-4gb',
      region: { slug: 'nyc1' },
      networks: { v4: [{ ip_address: '198.51.100.2', type: 'public' }, { ip_address: '10.100.0.2', type: 'private' }] },
      tags: ['skyweave-role:worker'],
      vpc_uuid: 'v',
    });
    expect(inst).toEqual({ id: '42', name: 'n', state: 'running', instanceType: 's-2vcpu-4gb', privateIp: '10.100.0.2', publicIp: '198.51.100.2', vpcId: 'v', tags: { 'skyweave-role': 'worker' } });
    expect(dropletToInstance({ id: 1, name: 'n', status: 'new', networks: null, tags: null }).privateIp).toBeUndefined();
  });
});
