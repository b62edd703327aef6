import { CLOUDS, isCloudId } from '@skyweave/domain';
import type { CloudId } from '@skyweave/domain';
import { FAULT_KINDS, OPERATIONS, isOperation } from './types';
import type { FaultKind, Operation } from './types';

/** What to arm: exactly one of `count` ("the next N calls fail") and `rate` ("each call fails with this probability"). */
export interface FaultSpec {
  cloud: CloudId;
  /** An operation, or `*` for every operation of the cloud. */
  op: Operation | '*';
  kind: FaultKind;
  /** A positive integer: the next `count` matching calls fail, then the fault is gone. */
  count?: number;
  /** 0 < rate ≤ 1: every matching call fails with this probability until the fault is cleared. */
  rate?: number;
}

/** An armed fault as listed: `count` is what is left of it. */
export interface ArmedFault {
  id: number;
  cloud: CloudId;
  op: Operation | '*';
  kind: FaultKind;
  count?: number;
  rate?: number;
}

/** A field that failed validation and the rule it broke (the admin API turns it into an RFC 9457 problem). */
export interface SpecProblem {
  field: string;
  detail: string;
}

const FIELDS = ['cloud', 'op', 'kind', 'count', 'rate'];

/**
 * Checks a fault as the admin API receives it (a JSON object): known cloud, `op` a known operation or `*`, known
 * kind, exactly one of `count` (a positive integer) and `rate` (0 < rate ≤ 1), no other fields.
 * @returns the spec, or the first problem found.
 */
export function checkFaultSpec(body: unknown): { spec: FaultSpec } | { problem: SpecProblem } {
  const fail = (field: string, detail: string) => ({ problem: { field, detail } });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return fail('body', 'body must be a JSON object {cloud, op, kind, count | rate}');
  const b = body as Record<string, unknown>;
  const unknown = Object.keys(b).filter((k) => !FIELDS.includes(k));
  if (unknown.length) return fail(unknown[0], `unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}: the fields are ${FIELDS.join(', ')}`);
  if (!isCloudId(b.cloud)) return fail('cloud', `cloud must be one of ${CLOUDS.join(', ')} (got ${JSON.stringify(b.cloud)})`);
  if (b.op !== '*' && !isOperation(b.op)) return fail('op', `op must be one of ${OPERATIONS.join(', ')} or * (got ${JSON.stringify(b.op)})`);
  if (typeof b.kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(b.kind)) {
    return fail('kind', `kind must be one of ${FAULT_KINDS.join(', ')} (got ${JSON.stringify(b.kind)})`);
  }
  const hasCount = b.count !== undefined;
  const hasRate = b.rate !== undefined;
  if (hasCount && hasRate) return fail('count', 'give exactly one of count and rate, not both');
  if (!hasCount && !hasRate) return fail('count', 'give exactly one of count (the next N calls fail) and rate (each call fails with that probability)');
  if (hasCount && (typeof b.count !== 'number' || !Number.isSafeInteger(b.count) || b.count < 1)) {
    return fail('count', `count must be a positive integer (got ${JSON.stringify(b.count)})`);
  }
  if (hasRate && (typeof b.rate !== 'number' || !Number.isFinite(b.rate) || b.rate <= 0 || b.rate > 1)) {
    return fail('rate', `rate must be a number with 0 < rate ≤ 1 (got ${JSON.stringify(b.rate)})`);
  }
  const spec: FaultSpec = { cloud: b.cloud, op: b.op as Operation | '*', kind: b.kind as FaultKind };
  if (hasCount) spec.count = b.count as number;
  else spec.rate = b.rate as number;
  return { spec };
}

interface Armed {
  id: number;
  cloud: CloudId;
  op: Operation | '*';
  kind: FaultKind;
  remaining?: number;
  rate?: number;
}

/**
 * Armed faults, per cloud and operation (or `*`): counted ones ("the next N calls fail") and probabilistic ones
 * ("each call fails with probability `rate` until cleared"). Several faults may match one call: they are tried in
 * the order they were armed, each probabilistic one drawn independently, and the first that hits decides the call.
 */
export class FaultBook {
  private faults: Armed[] = [];
  private nextId = 1;

  /** @param random the random source of probabilistic faults, in [0, 1) (inject it to make tests deterministic). */
  constructor(private readonly random: () => number = Math.random) {}

  /**
   * Arms a fault. In-process callers may give neither `count` nor `rate`: that is `count: 1`.
   * @throws RangeError when the spec is invalid (see checkFaultSpec).
   */
  arm(f: FaultSpec): void {
    this.add(f);
  }

  /** `arm`, returning the armed fault (with its id). @throws RangeError when the spec is invalid. */
  add(f: FaultSpec): ArmedFault {
    const checked = checkFaultSpec(f.count === undefined && f.rate === undefined ? { ...f, count: 1 } : f);
    if ('problem' in checked) throw new RangeError(checked.problem.detail);
    const s = checked.spec;
    const armed: Armed = { id: this.nextId++, cloud: s.cloud, op: s.op, kind: s.kind, ...(s.rate !== undefined ? { rate: s.rate } : { remaining: s.count }) };
    this.faults.push(armed);
    return view(armed);
  }

  /** The fault that fails this call of (cloud, op), if any; a counted fault is used up by it. */
  take(cloud: CloudId, op: Operation): FaultKind | undefined {
    for (const f of this.faults) {
      if (f.cloud !== cloud || (f.op !== op && f.op !== '*')) continue;
      if (f.rate !== undefined) {
        if (this.random() < f.rate) return f.kind;
        continue;
      }
      if (f.remaining === undefined || f.remaining <= 0) continue;
      f.remaining -= 1;
      if (f.remaining === 0) this.faults = this.faults.filter((x) => x !== f);
      return f.kind;
    }
    return undefined;
  }

  /** What is armed (of one cloud, or all), in the order it is tried. */
  list(cloud?: CloudId): ArmedFault[] {
    return this.faults.filter((f) => cloud === undefined || f.cloud === cloud).map(view);
  }

  /** Disarms everything, or one cloud's faults. */
  clear(cloud?: CloudId): void {
    this.faults = cloud === undefined ? [] : this.faults.filter((f) => f.cloud !== cloud);
  }
}

const view = (f: Armed): ArmedFault => ({
  id: f.id,
  cloud: f.cloud,
  op: f.op,
  kind: f.kind,
  ...(f.rate !== undefined ? { rate: f.rate } : { count: f.remaining }),
});
