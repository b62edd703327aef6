import type { IpPermission } from '@aws-sdk/client-ec2';
import { FirewallRule, ruleKey } from '@skyweave/domain';

/**
 * Conversions between Skyweave firewall rules and EC2 security group `IpPermissions` (EC2 API reference,
 * "IpPermission"): one permission per protocol and port range, sources as `IpRanges` (`CidrIp` + `Description`).
 */

/** EC2 reports protocols by name for tcp/udp, but accepts (and other tools write) numbers: normalise. */
function protocolName(p: string | undefined): string | undefined {
  if (p === undefined) return undefined;
  const l = p.toLowerCase();
  if (l === '6') return 'tcp';
  if (l === '17') return 'udp';
  return l;
}

/**
 * The IPv4 tcp/udp inbound rules of a security group. Rules Skyweave cannot express (all-traffic `-1`, ICMP, IPv6
 * ranges, group references, prefix lists) are left out here; `planIngress` revokes them.
 */
export function permissionsToRules(perms: readonly IpPermission[]): FirewallRule[] {
  const out: FirewallRule[] = [];
  for (const p of perms) {
    const protocol = protocolName(p.IpProtocol);
    if (protocol !== 'tcp' && protocol !== 'udp') continue;
    if (p.FromPort === undefined || p.ToPort === undefined) continue;
    for (const r of p.IpRanges ?? []) {
      if (!r.CidrIp) continue;
      out.push({ protocol, fromPort: p.FromPort, toPort: p.ToPort, source: r.CidrIp, description: r.Description ?? '' });
    }
  }
  return out;
}

/** Rules as `IpPermissions`, grouped by protocol and port range (order kept). */
export function rulesToPermissions(rules: readonly FirewallRule[]): IpPermission[] {
  const byRange = new Map<string, IpPermission>();
  const seen = new Set<string>();
  for (const r of rules) {
    if (seen.has(ruleKey(r))) continue;
    seen.add(ruleKey(r));
    const k = `${r.protocol}:${r.fromPort}-${r.toPort}`;
    let perm = byRange.get(k);
    if (!perm) {
      perm = { IpProtocol: r.protocol, FromPort: r.fromPort, ToPort: r.toPort, IpRanges: [] };
      byRange.set(k, perm);
    }
    perm.IpRanges?.push(r.description ? { CidrIp: r.source, Description: r.description } : { CidrIp: r.source });
  }
  return [...byRange.values()];
}

/**
 * What to authorize and revoke so that a group's inbound rules are exactly `desired` (compared by protocol, ports and
 * source; descriptions are not compared). Anything else in the group is revoked.
 */
export function planIngress(current: readonly IpPermission[], desired: readonly FirewallRule[]): { authorize: IpPermission[]; revoke: IpPermission[] } {
  const wanted = new Map(desired.map((r) => [ruleKey(r), r]));
  const present = new Set<string>();
  const revoke: IpPermission[] = [];
  for (const p of current) {
    const protocol = protocolName(p.IpProtocol) ?? '';
    const ports = p.FromPort !== undefined && p.ToPort !== undefined ? { FromPort: p.FromPort, ToPort: p.ToPort } : {};
    const extraRanges = (p.IpRanges ?? []).filter((r) => {
      if ((protocol === 'tcp' || protocol === 'udp') && r.CidrIp && p.FromPort !== undefined && p.ToPort !== undefined) {
        const k = ruleKey({ protocol, fromPort: p.FromPort, toPort: p.ToPort, source: r.CidrIp });
        if (wanted.has(k)) {
          present.add(k);
          return false;
        }
      }
      return true;
    });
    const extra: IpPermission = {
      IpProtocol: p.IpProtocol,
      ...ports,
      ...(extraRanges.length ? { IpRanges: extraRanges.map((r) => ({ CidrIp: r.CidrIp })) } : {}),
      ...(p.Ipv6Ranges?.length ? { Ipv6Ranges: p.Ipv6Ranges.map((r) => ({ CidrIpv6: r.CidrIpv6 })) } : {}),
      ...(p.UserIdGroupPairs?.length ? { UserIdGroupPairs: p.UserIdGroupPairs.map((g) => ({ GroupId: g.GroupId })) } : {}),
      ...(p.PrefixListIds?.length ? { PrefixListIds: p.PrefixListIds.map((l) => ({ PrefixListId: l.PrefixListId })) } : {}),
    };
    if (extra.IpRanges || extra.Ipv6Ranges || extra.UserIdGroupPairs || extra.PrefixListIds) revoke.push(extra);
  }
  const authorize = rulesToPermissions([...wanted.values()].filter((r) => !present.has(ruleKey(r))));
  return { authorize, revoke };
}
