import { FirewallRule, ruleKeys } from '@skyweave/domain';
import { firewallDrift } from '../drift';
import { CloudError } from '../errors';

/** One `allowed` entry of a Compute firewall (https://cloud.google.com/compute/docs/reference/rest/v1/firewalls). */
export interface GcpAllowed {
  IPProtocol: string;
  ports?: string[];
}

/** The parts of a firewall resource that carry its rules. */
export interface GcpFirewallRules {
  sourceRanges: string[];
  allowed: GcpAllowed[];
}

const portSpec = (r: Pick<FirewallRule, 'fromPort' | 'toPort'>) => (r.fromPort === r.toPort ? `${r.fromPort}` : `${r.fromPort}-${r.toPort}`);

/**
 * One role's rules as one INGRESS firewall: `allowed` grouped by protocol (`[{IPProtocol:'tcp',ports:['6443']},…]`)
 * and the common `sourceRanges`.
 * @throws CloudError `InvalidRequest` when the rules of one role do not share one source (one GCP firewall applies
 * all its ports to all its source ranges, so such a plan cannot be one firewall).
 */
export function planToFirewall(rules: readonly FirewallRule[]): GcpFirewallRules {
  const sources = [...new Set(rules.map((r) => r.source))];
  if (sources.length > 1) {
    throw new CloudError('InvalidRequest', 'gcp', 'unsupportedFirewallPlan', `rules of one role must share one source range, got ${sources.join(', ')}`);
  }
  const byProto = new Map<string, string[]>();
  for (const r of rules) {
    const ports = byProto.get(r.protocol) ?? [];
    const p = portSpec(r);
    if (!ports.includes(p)) ports.push(p);
    byProto.set(r.protocol, ports);
  }
  return { sourceRanges: sources, allowed: [...byProto].map(([IPProtocol, ports]) => ({ IPProtocol, ports })) };
}

/**
 * A firewall as FirewallRules: every (tcp/udp allowed entry × port range × source range); `ports` absent means
 * all ports (0-65535). Disabled or EGRESS firewalls have no inbound rules. Other protocols are not represented.
 */
export function firewallToRules(fw: {
  name?: string | null;
  direction?: string | null;
  disabled?: boolean | null;
  sourceRanges?: string[] | null;
  allowed?: { IPProtocol?: string | null; ports?: string[] | null }[] | null;
}): FirewallRule[] {
  if (fw.disabled || (fw.direction && fw.direction !== 'INGRESS')) return [];
  const out: FirewallRule[] = [];
  for (const a of fw.allowed ?? []) {
    const protocol = a.IPProtocol;
    if (protocol !== 'tcp' && protocol !== 'udp') continue;
    const ports = a.ports?.length ? a.ports : ['0-65535'];
    for (const p of ports) {
      const [from, to] = p.split('-').map(Number);
      for (const source of fw.sourceRanges ?? []) {
        out.push({ protocol, fromPort: from, toPort: to ?? from, source, description: fw.name ?? '' });
      }
    }
  }
  return out;
}

/** True when the firewall's rules are exactly the planned ones (order and descriptions aside). */
export function sameRules(a: readonly FirewallRule[], b: readonly FirewallRule[]): boolean {
  const ka = ruleKeys(a);
  const kb = ruleKeys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

/**
 * Drift of a cluster firewall named `name` against its planned rules, as `NetworkInspection.drift` lines: disabled,
 * targets other than its own network tag (`name`), then planned rules missing and rules not in the plan (the
 * firewall's tcp/udp allowed entries × source ranges, see firewallToRules). Empty ⇔ ensureNetwork leaves it alone.
 */
export function firewallPlanDrift(
  fw: Parameters<typeof firewallToRules>[0] & { targetTags?: string[] | null },
  name: string,
  planned: readonly FirewallRule[],
): string[] {
  const label = `firewall ${name}`;
  const out: string[] = [];
  if (fw.disabled) out.push(`${label} is disabled`);
  const tags = fw.targetTags ?? [];
  if (tags.length !== 1 || tags[0] !== name) out.push(`${label} targets ${tags.length ? `tags ${tags.join(', ')}` : 'every instance'}, not tag ${name}`);
  out.push(...firewallDrift(label, firewallToRules({ ...fw, disabled: false }), planned));
  return out;
}
