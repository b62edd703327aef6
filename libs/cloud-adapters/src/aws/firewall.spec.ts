import { FIREWALL_PLAN, ruleKeys } from '@skyweave/domain';
import { permissionsToRules, planIngress, rulesToPermissions } from './firewall';

describe('security group rules', () => {
  it('groups rules into IpPermissions by protocol and port range, dropping duplicates', () => {
    const perms = rulesToPermissions([
      ...FIREWALL_PLAN.worker,
      { protocol: 'udp', fromPort: 51820, toPort: 51820, source: '10.0.0.0/8', description: '' },
      FIREWALL_PLAN.worker[0],
    ]);
    expect(perms).toEqual([
      { IpProtocol: 'udp', FromPort: 51820, ToPort: 51820, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'WireGuard' }, { CidrIp: '10.0.0.0/8' }] },
      { IpProtocol: 'tcp', FromPort: 30000, ToPort: 32767, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'k8s NodePort (tcp)' }] },
      { IpProtocol: 'udp', FromPort: 30000, ToPort: 32767, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'k8s NodePort (udp)' }] },
    ]);
  });

  it('reads back IPv4 tcp/udp rules (numeric protocols too) and skips what Skyweave does not express', () => {
    const rules = permissionsToRules([
      { IpProtocol: '6', FromPort: 6443, ToPort: 6443, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'api' }] },
      { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: 'udp', FromPort: 1, ToPort: 2, Ipv6Ranges: [{ CidrIpv6: '::/0' }], UserIdGroupPairs: [{ GroupId: 'sg-1' }] },
    ]);
    expect(rules).toEqual([{ protocol: 'tcp', fromPort: 6443, toPort: 6443, source: '0.0.0.0/0', description: 'api' }]);
  });

  it('plans nothing when the group already matches', () => {
    expect(planIngress(rulesToPermissions(FIREWALL_PLAN.master), FIREWALL_PLAN.master)).toEqual({ authorize: [], revoke: [] });
  });

  it('authorizes what is missing and revokes everything else', () => {
    const current = [
      { IpProtocol: 'tcp', FromPort: 6443, ToPort: 6443, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'old text' }, { CidrIp: '192.0.2.0/24' }] },
      { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, Ipv6Ranges: [{ CidrIpv6: '::/0' }], UserIdGroupPairs: [{ GroupId: 'sg-1', UserId: '123' }] },
    ];
    const plan = planIngress(current, FIREWALL_PLAN.master);
    expect(permissionsToRules(plan.authorize).map((r) => `${r.protocol}:${r.fromPort}`)).toEqual(['udp:51820']);
    expect(plan.revoke).toEqual([
      { IpProtocol: 'tcp', FromPort: 6443, ToPort: 6443, IpRanges: [{ CidrIp: '192.0.2.0/24' }] },
      { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, Ipv6Ranges: [{ CidrIpv6: '::/0' }], UserIdGroupPairs: [{ GroupId: 'sg-1' }] },
    ]);
    const after = [...permissionsToRules(current), ...permissionsToRules(plan.authorize)].filter(
      (r) => !permissionsToRules(plan.revoke).some((x) => x.source === r.source && x.fromPort === r.fromPort && x.protocol === r.protocol),
    );
    expect(ruleKeys(after)).toEqual(ruleKeys(FIREWALL_PLAN.master));
  });
});
