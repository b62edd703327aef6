import { CLOUDS, CloudId, isCloudId } from './cloud';

/**
 * Issue 13: a cluster's autoscaling policy (`GET|PUT /v1/clusters/{id}/policies`), what the autoscaler
 * (apps/autoscaler) reports back (`GET /v1/clusters/{id}/autoscaler`), and who made each node.
 *
 * A policy is stored whole, with a version per cluster (1, 2, 3 …); a cluster that never had one has
 * DEFAULT_AUTOSCALING_POLICY at version 0. validateAutoscalingPolicy is the one check: the gateway runs it on every
 * PUT, and the autoscaler may run it again on a stored policy (e.g. after the cluster's clouds changed).
 */

/** Who made a node (`nodes.origin`): the cluster's spec at creation, the user (POST …/nodes), or the autoscaler. */
export const NODE_ORIGINS = ['spec', 'user', 'autoscaler'] as const;
export type NodeOrigin = (typeof NODE_ORIGINS)[number];

/** Bounds of a policy's numbers (inclusive). */
export const AUTOSCALING_LIMITS = {
  /** clusterLimits.cpu.minCores / maxCores: the workers' total vCPUs. */
  clusterCores: { min: 0, max: 10_000 },
  /** unschedulablePods.headroom.cpuPercentage / memoryPercentage. */
  headroomPercent: { min: 0, max: 50 },
  /** unschedulablePods.nodeConstraints.minCpuCores / maxCpuCores. */
  nodeCpuCores: { min: 1, max: 10_000 },
  /** unschedulablePods.nodeConstraints.minRamMib / maxRamMib (16 TiB). */
  nodeRamMib: { min: 1, max: 16_777_216 },
  /** nodeDownscaler.*.delaySeconds (one day). */
  delaySeconds: { min: 0, max: 86_400 },
  /** nodeDownscaler.underutilized.thresholdPercent. */
  thresholdPercent: { min: 1, max: 100 },
  /** unschedulablePods.instanceFamilies.include / exclude: entries, and characters per entry. */
  instanceFamilies: { maxItems: 100, maxLength: 64 },
} as const;

/** Instance families the autoscaler may (include) or may not (exclude) launch: exactly one of the two. */
export type InstanceFamilyFilter = { include: string[] } | { exclude: string[] };

/** Bounds on the size of the nodes the autoscaler launches; each absent bound is open. */
export interface NodeConstraints { minCpuCores?: number; maxCpuCores?: number; minRamMib?: number; maxRamMib?: number }

export interface AutoscalingPolicy {
  /** Whether the autoscaler acts on this cluster at all. */
  enabled: boolean;
  /** The workers' total vCPUs stay within these bounds (scale-ups stop at max, scale-downs at min). */
  clusterLimits: { cpu: { minCores: number; maxCores: number } };
  /** Scale-up: nodes are added for pods Kubernetes cannot place. */
  unschedulablePods: {
    enabled: boolean;
    /** Spare capacity kept on top of what the pods request, percent of it (0–50). */
    headroom: { cpuPercentage: number; memoryPercentage: number };
    nodeConstraints: NodeConstraints;
    /** The clouds new nodes may go to (a subset of the cluster's); absent: any of the cluster's clouds. */
    clouds?: CloudId[];
    /** Absent: every family. */
    instanceFamilies?: InstanceFamilyFilter;
  };
  /** Scale-down: workers the autoscaler made are removed when empty or underused. */
  nodeDownscaler: {
    enabled: boolean;
    /** A node without pods (other than DaemonSets) for `delaySeconds` is removed. */
    emptyNodes: { enabled: boolean; delaySeconds: number };
    /** A node whose requests stay below `thresholdPercent` of its allocatable for `delaySeconds` is drained and removed, when its pods fit elsewhere. */
    underutilized: { enabled: boolean; thresholdPercent: number; delaySeconds: number };
  };
}

/** The policy of a cluster that never had one (version 0). Frozen: copy it (structuredClone) to change it. */
export const DEFAULT_AUTOSCALING_POLICY: AutoscalingPolicy = deepFreeze({
  enabled: false,
  clusterLimits: { cpu: { minCores: 0, maxCores: 64 } },
  unschedulablePods: {
    enabled: true,
    headroom: { cpuPercentage: 0, memoryPercentage: 0 },
    nodeConstraints: {},
  },
  nodeDownscaler: {
    enabled: true,
    emptyNodes: { enabled: true, delaySeconds: 300 },
    underutilized: { enabled: false, thresholdPercent: 50, delaySeconds: 600 },
  },
});

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** One broken rule of a policy: the field (camelCase dotted path, `[i]` for an array entry), the rule's id, a sentence. */
export interface PolicyViolation { field: string; rule: string; message: string }

/**
 * The rules of validateAutoscalingPolicy (`rule` of a violation):
 * - `unknown-field`: a field the policy does not have;
 * - `object`, `boolean`, `integer`, `number`, `array`, `string`: a value of the wrong type;
 * - `min`, `max`: a number out of its bounds (AUTOSCALING_LIMITS); `max-items`, `max-length` for lists and strings;
 * - `min-not-above-max`: a lower bound above its upper bound (cluster cores, node CPU, node RAM);
 * - `non-empty`: an empty list or string; `unique`: a repeated entry;
 * - `known-cloud`: not a cloud of Skyweave; `cloud-in-cluster`: a cloud the cluster does not span;
 * - `include-or-exclude`: instanceFamilies with both or neither of include / exclude.
 */
export type PolicyRule =
  | 'unknown-field' | 'object' | 'boolean' | 'integer' | 'number' | 'array' | 'string' | 'min' | 'max' | 'max-items' | 'max-length'
  | 'min-not-above-max' | 'non-empty' | 'unique' | 'known-cloud' | 'cloud-in-cluster' | 'include-or-exclude';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : v === undefined ? 'nothing' : JSON.stringify(v) ?? String(v));

/** Collects violations while reading an untrusted value; each reader returns the value (or the default) to go on with. */
class Reader {
  readonly violations: PolicyViolation[] = [];

  add(field: string, rule: PolicyRule, message: string): void {
    this.violations.push({ field, rule, message });
  }

  /** The object at `field` with only `keys` (others → `unknown-field`); absent (or null) → `{}`; not an object → undefined. */
  object(field: string, v: unknown, keys: readonly string[]): Obj | undefined {
    if (v === undefined || v === null) return {};
    if (!isObj(v)) {
      this.add(field, 'object', `${field} must be an object, not ${show(v)}`);
      return undefined;
    }
    for (const k of Object.keys(v)) {
      if (!keys.includes(k)) this.add(join(field, k), 'unknown-field', `${join(field, k)} is not a field of ${field || 'the policy'} (known: ${keys.join(', ')})`);
    }
    return v;
  }

  boolean(field: string, v: unknown, dflt: boolean): boolean {
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') {
      this.add(field, 'boolean', `${field} must be true or false, not ${show(v)}`);
      return dflt;
    }
    return v;
  }

  /** A number (an integer when `integer`) within `bounds`; absent → `dflt` (undefined: stays absent; null counts as absent then). */
  number<D extends number | undefined>(field: string, v: unknown, dflt: D, bounds: { min: number; max: number }, integer: boolean): number | D {
    if (v === undefined || (v === null && dflt === undefined)) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.add(field, integer ? 'integer' : 'number', `${field} must be ${integer ? 'a whole number' : 'a number'}, not ${show(v)}`);
      return dflt;
    }
    if (integer && !Number.isInteger(v)) {
      this.add(field, 'integer', `${field} must be a whole number, not ${v}`);
      return dflt;
    }
    if (v < bounds.min) {
      this.add(field, 'min', `${field} must be at least ${bounds.min}, not ${v}`);
      return dflt;
    }
    if (v > bounds.max) {
      this.add(field, 'max', `${field} must be at most ${bounds.max}, not ${v}`);
      return dflt;
    }
    return v;
  }

  /** A non-empty list without repeats; absent or null → undefined. Entries are read by `entry` (undefined: dropped). */
  list<T>(field: string, v: unknown, maxItems: number, entry: (f: string, e: unknown) => T | undefined): T[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      this.add(field, 'array', `${field} must be a list, not ${show(v)}`);
      return undefined;
    }
    if (v.length === 0) {
      this.add(field, 'non-empty', `${field} must name at least one entry (leave it out for no restriction)`);
      return undefined;
    }
    if (v.length > maxItems) {
      this.add(field, 'max-items', `${field} may have at most ${maxItems} entries, not ${v.length}`);
      return undefined;
    }
    const out: T[] = [];
    const seen = new Set<unknown>();
    v.forEach((e, i) => {
      const f = `${field}[${i}]`;
      const value = entry(f, e);
      if (value === undefined) return;
      if (seen.has(value)) this.add(f, 'unique', `${f}: ${show(value)} is listed twice`);
      seen.add(value);
      out.push(value);
    });
    return out;
  }
}

const join = (a: string, b: string) => (a ? `${a}.${b}` : b);

/**
 * Checks an untrusted policy (a PUT's body, or a stored policy read back) against its rules and the cluster's
 * clouds. Fields left out take their defaults (DEFAULT_AUTOSCALING_POLICY, at every level): a PUT replaces the
 * whole policy, it never merges with the stored one. Optional fields (`clouds`, `instanceFamilies`, the node
 * constraints' bounds) may also be null, which means absent.
 * @param clusterClouds the clouds the cluster spans: `unschedulablePods.clouds` must be among them.
 * @returns the policy with its defaults filled in (only when there is no violation), and every violation found
 *   (field, rule: PolicyRule, message), in the order of the fields.
 */
export function validateAutoscalingPolicy(p: unknown, clusterClouds: readonly CloudId[]): { policy?: AutoscalingPolicy; violations: PolicyViolation[] } {
  const r = new Reader();
  const d = DEFAULT_AUTOSCALING_POLICY;
  // the policy itself must be given (an object, possibly empty: every field its default)
  if (!isObj(p)) r.add('(body)', 'object', `the policy must be an object, not ${show(p)}`);
  const top = (isObj(p) && r.object('', p, ['enabled', 'clusterLimits', 'unschedulablePods', 'nodeDownscaler'])) || {};
  const enabled = r.boolean('enabled', top.enabled, d.enabled);

  const limits = r.object('clusterLimits', top.clusterLimits, ['cpu']) ?? {};
  const cpu = r.object('clusterLimits.cpu', limits.cpu, ['minCores', 'maxCores']) ?? {};
  const minCores = r.number('clusterLimits.cpu.minCores', cpu.minCores, d.clusterLimits.cpu.minCores, AUTOSCALING_LIMITS.clusterCores, true);
  const maxCores = r.number('clusterLimits.cpu.maxCores', cpu.maxCores, d.clusterLimits.cpu.maxCores, AUTOSCALING_LIMITS.clusterCores, true);
  if (minCores > maxCores) r.add('clusterLimits.cpu.minCores', 'min-not-above-max', `clusterLimits.cpu.minCores (${minCores}) must not be above maxCores (${maxCores})`);

  const up = r.object('unschedulablePods', top.unschedulablePods, ['enabled', 'headroom', 'nodeConstraints', 'clouds', 'instanceFamilies']) ?? {};
  const upEnabled = r.boolean('unschedulablePods.enabled', up.enabled, d.unschedulablePods.enabled);
  const headroom = r.object('unschedulablePods.headroom', up.headroom, ['cpuPercentage', 'memoryPercentage']) ?? {};
  const cpuPercentage = r.number('unschedulablePods.headroom.cpuPercentage', headroom.cpuPercentage, d.unschedulablePods.headroom.cpuPercentage, AUTOSCALING_LIMITS.headroomPercent, false);
  const memoryPercentage = r.number('unschedulablePods.headroom.memoryPercentage', headroom.memoryPercentage, d.unschedulablePods.headroom.memoryPercentage, AUTOSCALING_LIMITS.headroomPercent, false);

  const nc = r.object('unschedulablePods.nodeConstraints', up.nodeConstraints, ['minCpuCores', 'maxCpuCores', 'minRamMib', 'maxRamMib']) ?? {};
  const ncField = (k: string) => `unschedulablePods.nodeConstraints.${k}`;
  const nodeConstraints: NodeConstraints = {};
  for (const [lo, hi, bounds] of [['minCpuCores', 'maxCpuCores', AUTOSCALING_LIMITS.nodeCpuCores], ['minRamMib', 'maxRamMib', AUTOSCALING_LIMITS.nodeRamMib]] as const) {
    const min = r.number(ncField(lo), nc[lo], undefined, bounds, true);
    const max = r.number(ncField(hi), nc[hi], undefined, bounds, true);
    if (min !== undefined) nodeConstraints[lo] = min;
    if (max !== undefined) nodeConstraints[hi] = max;
    if (min !== undefined && max !== undefined && min > max) r.add(ncField(lo), 'min-not-above-max', `${ncField(lo)} (${min}) must not be above ${hi} (${max})`);
  }

  const clouds = r.list('unschedulablePods.clouds', up.clouds, CLOUDS.length, (f, c) => {
    if (!isCloudId(c)) {
      r.add(f, 'known-cloud', `${f} must be one of ${CLOUDS.join(', ')}, not ${show(c)}`);
      return undefined;
    }
    if (!clusterClouds.includes(c)) r.add(f, 'cloud-in-cluster', `${c} is not one of the cluster's clouds (${clusterClouds.join(', ')})`);
    return c;
  });

  let instanceFamilies: InstanceFamilyFilter | undefined;
  const fam = up.instanceFamilies === null ? undefined : r.object('unschedulablePods.instanceFamilies', up.instanceFamilies, ['include', 'exclude']);
  if (fam && up.instanceFamilies !== undefined) {
    const given = (['include', 'exclude'] as const).filter((k) => fam[k] !== undefined && fam[k] !== null);
    if (given.length !== 1) {
      r.add('unschedulablePods.instanceFamilies', 'include-or-exclude', `unschedulablePods.instanceFamilies must have exactly one of include and exclude, not ${given.length ? 'both' : 'neither'}`);
    } else {
      const k = given[0];
      const { maxItems, maxLength } = AUTOSCALING_LIMITS.instanceFamilies;
      const names = r.list(`unschedulablePods.instanceFamilies.${k}`, fam[k], maxItems, (f, s) => {
        if (typeof s !== 'string') {
          r.add(f, 'string', `${f} must be an instance family name, not ${show(s)}`);
          return undefined;
        }
        if (s.trim() === '') {
          r.add(f, 'non-empty', `${f} must not be empty`);
          return undefined;
        }
        if (s.length > maxLength) {
          r.add(f, 'max-length', `${f} may have at most ${maxLength} characters`);
          return undefined;
        }
        return s;
      });
      if (names) instanceFamilies = k === 'include' ? { include: names } : { exclude: names };
    }
  }

  const down = r.object('nodeDownscaler', top.nodeDownscaler, ['enabled', 'emptyNodes', 'underutilized']) ?? {};
  const dd = d.nodeDownscaler;
  const downEnabled = r.boolean('nodeDownscaler.enabled', down.enabled, dd.enabled);
  const empty = r.object('nodeDownscaler.emptyNodes', down.emptyNodes, ['enabled', 'delaySeconds']) ?? {};
  const under = r.object('nodeDownscaler.underutilized', down.underutilized, ['enabled', 'thresholdPercent', 'delaySeconds']) ?? {};
  const policy: AutoscalingPolicy = {
    enabled,
    clusterLimits: { cpu: { minCores, maxCores } },
    unschedulablePods: {
      enabled: upEnabled,
      headroom: { cpuPercentage, memoryPercentage },
      nodeConstraints,
      ...(clouds ? { clouds } : {}),
      ...(instanceFamilies ? { instanceFamilies } : {}),
    },
    nodeDownscaler: {
      enabled: downEnabled,
      emptyNodes: {
        enabled: r.boolean('nodeDownscaler.emptyNodes.enabled', empty.enabled, dd.emptyNodes.enabled),
        delaySeconds: r.number('nodeDownscaler.emptyNodes.delaySeconds', empty.delaySeconds, dd.emptyNodes.delaySeconds, AUTOSCALING_LIMITS.delaySeconds, true),
      },
      underutilized: {
        enabled: r.boolean('nodeDownscaler.underutilized.enabled', under.enabled, dd.underutilized.enabled),
        thresholdPercent: r.number('nodeDownscaler.underutilized.thresholdPercent', under.thresholdPercent, dd.underutilized.thresholdPercent, AUTOSCALING_LIMITS.thresholdPercent, false),
        delaySeconds: r.number('nodeDownscaler.underutilized.delaySeconds', under.delaySeconds, dd.underutilized.delaySeconds, AUTOSCALING_LIMITS.delaySeconds, true),
      },
    },
  };
  return r.violations.length ? { violations: r.violations } : { policy, violations: [] };
}

/**
 * What changed between two policies, one `path: before → after` per leaf that differs (lists and absent values
 * shown as JSON, `unset` for absent), in field order: e.g. `enabled: false → true; clusterLimits.cpu.maxCores: 64 → 32`.
 * @returns the changes (empty when the policies are equal).
 */
export function diffAutoscalingPolicies(before: AutoscalingPolicy, after: AutoscalingPolicy): string[] {
  const out: string[] = [];
  const fmt = (v: unknown) => (v === undefined ? 'unset' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const walk = (a: unknown, b: unknown, path: string) => {
    // instanceFamilies is one choice (include or exclude): shown whole
    if (isObj(a) && isObj(b) && !path.endsWith('instanceFamilies')) {
      // in the order of `after` (a validated policy's is the type's), then what only `before` has
      const keys = [...Object.keys(b), ...Object.keys(a).filter((k) => !(k in b))];
      for (const k of keys) walk(a[k], b[k], join(path, k));
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${path}: ${fmt(a)} → ${fmt(b)}`);
  };
  walk(before, after, '');
  return out;
}

// ----- What the autoscaler reports (`autoscaler_status`, written by apps/autoscaler, read by the gateway) -----

/** A pod Kubernetes cannot place, as the autoscaler last saw it; `message`: the scheduler's reason, or null. */
export interface AutoscalerPendingPod { namespace: string; name: string; cpuMillicores: number; memoryMiB: number; message: string | null }

/** A node the autoscaler launched that has not joined yet; `since`: ISO-8601. */
export interface AutoscalerInFlightNode { nodeId: string; name: string; cloud: CloudId; instanceType: string; usdPerHour: number; since: string }

/** The autoscaler's last decision: when (ISO-8601), which kind, a sentence; anything else it wants to show. */
export interface AutoscalerDecision { at: string; kind: 'scale-up' | 'scale-down' | 'none'; summary: string; [detail: string]: unknown }

/** Where the autoscaler's prices of one cloud come from, when they were read (ISO-8601), and whether they are too old. */
export interface AutoscalerPriceSource { source: string; pricedAt: string; stale: boolean }
