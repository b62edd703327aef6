import type { IpPermission } from '@aws-sdk/client-ec2';
import { FirewallRule, ruleKey } from '@skyweave/domain';
import { extraRule, missingRule, ruleText } from '../drift';

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

/**
 * Each peer of a permission as drift text: tcp/udp as `ruleText` does (`tcp/22 from 0.0.0.0/0`); other protocols
 * by name (`all` for `-1`, `icmp/8--1` for ICMP type/code), peers as CIDR, IPv6 CIDR, group id or prefix list id.
 */
export function permissionTexts(p: IpPermission): string[] {
  const protocol = protocolName(p.IpProtocol) ?? '?';
  const peers = [
    ...(p.IpRanges ?? []).map((r) => r.CidrIp),
    ...(p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6),
    ...(p.UserIdGroupPairs ?? []).map((g) => g.GroupId),
    ...(p.PrefixListIds ?? []).map((l) => l.PrefixListId),
  ].filter((x): x is string => !!x);
  return peers.map((source) => {
    if ((protocol === 'tcp' || protocol === 'udp') && p.FromPort !== undefined && p.ToPort !== undefined) {
      return ruleText({ protocol, fromPort: p.FromPort, toPort: p.ToPort, source });
    }
    const ports = p.FromPort !== undefined && p.FromPort !== -1 ? `/${p.FromPort}${p.ToPort !== undefined && p.ToPort !== p.FromPort ? `-${p.ToPort}` : ''}` : '';
    return `${protocol === '-1' ? 'all' : protocol}${ports} from ${source}`;
  });
}

/**
 * Drift lines of one security group against its planned rules (see `planIngress`): planned rules that are missing,
 * then inbound permissions that `ensureNetwork` would revoke (anything else, including rules Skyweave cannot express).
 * @param label e.g. `security group sw-1a2b3c4d-master`.
 */
export function ingressDrift(label: string, current: readonly IpPermission[], desired: readonly FirewallRule[]): string[] {
  const plan = planIngress(current, desired);
  const missing = permissionsToRules(plan.authorize).map(ruleText).sort();
  const extra = plan.revoke.flatMap(permissionTexts).sort();
  return [...missing.map((r) => missingRule(label, r)), ...extra.map((r) => extraRule(label, r))];
}
