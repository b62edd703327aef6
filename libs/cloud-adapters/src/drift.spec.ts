import { FIREWALL_PLAN, FirewallRule } from '@skyweave/domain';
import { readBack, retryWhileMissing } from './consistency';
import { firewallDrift, ruleText } from './drift';
import { CloudError } from './errors';
import { ingressDrift } from './aws/firewall';
import { nsgDrift, toNsgRules } from './azure/azure-helpers';
import { firewallPlanDrift, planToFirewall } from './gcp/gcp-firewall';
import { isMissingReference } from './digitalocean/digitalocean-errors';
import { firewallOwner, vpcClusterId } from './digitalocean/digitalocean-mapping';

const rule = (protocol: 'tcp' | 'udp', fromPort: number, toPort: number, source = '0.0.0.0/0'): FirewallRule => ({ protocol, fromPort, toPort, source, description: 'x' });
const notFound = () => new CloudError('NotFound', 'aws', 'InvalidVpcID.NotFound', 'no such VPC');

describe('drift wording', () => {
  it('writes rules as protocol/ports from source', () => {
    expect(ruleText(rule('tcp', 6443, 6443))).toBe('tcp/6443 from 0.0.0.0/0');
    expect(ruleText(rule('udp', 30000, 32767, '10.0.0.0/8'))).toBe('udp/30000-32767 from 10.0.0.0/8');
  });

  it('reports missing then extra rules, ignoring order, descriptions and duplicates', () => {
    expect(firewallDrift('fw', [...FIREWALL_PLAN.worker].reverse(), FIREWALL_PLAN.worker)).toEqual([]);
    expect(firewallDrift('fw', [rule('tcp', 22, 22), rule('tcp', 22, 22), FIREWALL_PLAN.master[1]], FIREWALL_PLAN.master)).toEqual([
      'fw: rule tcp/6443 from 0.0.0.0/0 is missing',
      'fw: rule tcp/22 from 0.0.0.0/0 is not in the plan',
    ]);
  });

  it('AWS: reports rules the adapter would authorize and revoke, IPv6 and all-traffic included', () => {
    const lines = ingressDrift('security group g', [
      { IpProtocol: 'tcp', FromPort: 6443, ToPort: 6443, IpRanges: [{ CidrIp: '0.0.0.0/0' }, { CidrIp: '10.0.0.0/8' }] },
      { IpProtocol: '-1', Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
    ], FIREWALL_PLAN.master);
    expect(lines).toEqual([
      'security group g: rule udp/51820 from 0.0.0.0/0 is missing',
      'security group g: rule all from ::/0 is not in the plan',
      'security group g: rule tcp/6443 from 10.0.0.0/8 is not in the plan',
    ]);
  });

  it('Azure: counts Deny and Outbound rules as not in the plan', () => {
    const rules = [...toNsgRules(FIREWALL_PLAN.master), { name: 'deny-ssh', protocol: 'Tcp', access: 'Deny', direction: 'Inbound', destinationPortRange: '22', sourceAddressPrefix: '*', priority: 300 }];
    expect(nsgDrift('nsg', toNsgRules(FIREWALL_PLAN.master), FIREWALL_PLAN.master)).toEqual([]);
    expect(nsgDrift('nsg', rules, FIREWALL_PLAN.master)).toEqual(['nsg: rule deny-ssh (Inbound Deny) is not in the plan']);
  });

  it('GCP: reports a disabled firewall and other target tags besides rule drift', () => {
    const planned = planToFirewall(FIREWALL_PLAN.worker);
    const fw = { name: 'sw-1-worker', direction: 'INGRESS', ...planned, targetTags: ['sw-1-worker'] };
    expect(firewallPlanDrift(fw, 'sw-1-worker', FIREWALL_PLAN.worker)).toEqual([]);
    expect(firewallPlanDrift({ ...fw, disabled: true, targetTags: [] }, 'sw-1-worker', FIREWALL_PLAN.worker)).toEqual([
      'firewall sw-1-worker is disabled',
      'firewall sw-1-worker targets every instance, not tag sw-1-worker',
    ]);
  });

  it('DigitalOcean: finds the owning cluster of VPCs and firewalls of any cluster', () => {
    const id = '3f0c1a2b-0000-4000-8000-000000000000';
    expect(vpcClusterId({ id: 'v', name: 'sw-3f0c1a2b-vpc', region: 'nyc1', ip_range: '10.100.0.0/20', description: `skyweave-cluster=${id}` })).toBe(id);
    expect(vpcClusterId({ id: 'v', name: 'default', region: 'nyc1', ip_range: '10.116.0.0/20', description: 'mine' })).toBeUndefined();
    expect(firewallOwner({ name: 'sw-3f0c1a2b-worker', tags: [`skyweave-worker:${id}`] })).toEqual({ clusterId: id, role: 'worker' });
    expect(firewallOwner({ name: 'web', tags: [`skyweave-worker:${id}`] })).toBeUndefined();
  });

  it('DigitalOcean: a create naming an unknown tag or VPC is a missing reference', () => {
    expect(isMissingReference(new CloudError('InvalidRequest', 'digitalocean', 'unprocessable_entity', 'tags: tag skyweave-master:x does not exist'))).toBe(true);
    expect(isMissingReference(new CloudError('InvalidRequest', 'digitalocean', 'unprocessable_entity', 'size is invalid'))).toBe(false);
  });
});

describe('eventual consistency retries', () => {
  it('retries a not-found until the call succeeds', async () => {
    let n = 0;
    const v = await retryWhileMissing(async () => {
      n += 1;
      if (n < 3) throw notFound();
      return 'ok';
    }, { windowMs: 5000 });
    expect([v, n]).toEqual(['ok', 3]);
  });

  it('gives up after the window, and never retries other failures', async () => {
    const start = Date.now();
    await expect(retryWhileMissing(async () => { throw notFound(); }, { windowMs: 300 })).rejects.toThrow(/NotFound/);
    expect(Date.now() - start).toBeLessThan(1500);
    let n = 0;
    await expect(retryWhileMissing(async () => { n += 1; throw new CloudError('Conflict', 'aws', 'X', 'x'); }, { windowMs: 5000 })).rejects.toThrow(/Conflict|X/);
    expect(n).toBe(1);
  });

  it('reads back until a value shows, or null once the window has passed', async () => {
    let n = 0;
    expect(await readBack(async () => (++n >= 2 ? 'here' : null), { windowMs: 5000 })).toBe('here');
    expect(await readBack(async () => { throw notFound(); }, { windowMs: 200 })).toBeNull();
  });
});
