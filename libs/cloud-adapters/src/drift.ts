import { FirewallRule, ruleKey } from '@skyweave/domain';

/**
 * Wording of `NetworkInspection.drift` shared by the adapters, so that every cloud describes a difference the same
 * way. Rules are compared with the domain's `ruleKey` (protocol, port range, source; descriptions ignored).
 */

type RuleLike = Pick<FirewallRule, 'protocol' | 'fromPort' | 'toPort' | 'source'>;

/** `tcp/6443 from 0.0.0.0/0`, `udp/30000-32767 from 10.0.0.0/8`. */
export function ruleText(r: RuleLike): string {
  return `${r.protocol}/${r.fromPort === r.toPort ? r.fromPort : `${r.fromPort}-${r.toPort}`} from ${r.source}`;
}

/** `<label>: rule <rule> is missing`. */
export const missingRule = (label: string, rule: string): string => `${label}: rule ${rule} is missing`;
/** `<label>: rule <rule> is not in the plan`. */
export const extraRule = (label: string, rule: string): string => `${label}: rule ${rule} is not in the plan`;

/**
 * Differences between the rules a security group / firewall has and the planned ones: one line per planned rule that
 * is missing, then one per present rule that is not planned (each group sorted by rule key; duplicates collapse).
 * @param label how the part is named in the lines, e.g. `security group sw-1a2b3c4d-master`.
 */
export function firewallDrift(label: string, actual: readonly RuleLike[], planned: readonly RuleLike[]): string[] {
  const have = new Map(actual.map((r) => [ruleKey(r), r]));
  const want = new Map(planned.map((r) => [ruleKey(r), r]));
  const sorted = (m: Map<string, RuleLike>) => [...m.entries()].sort(([a], [b]) => a.localeCompare(b));
  return [
    ...sorted(want).filter(([k]) => !have.has(k)).map(([, r]) => missingRule(label, ruleText(r))),
    ...sorted(have).filter(([k]) => !want.has(k)).map(([, r]) => extraRule(label, ruleText(r))),
  ];
}
