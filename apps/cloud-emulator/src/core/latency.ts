import type { CloudId } from '@skyweave/domain';
import { OPERATIONS, isOperation } from './types';
import type { Operation } from './types';
import type { SpecProblem } from './faults';

/**
 * Per-operation latency in milliseconds. The "realistic" profile is what the clouds typically take (VPC 2 s, VM boot
 * 40 s …, measured in public benchmarks and our own experience), divided by `scale` so that a run takes seconds.
 */
export type LatencyProfile = Partial<Record<Operation, number>>;

/** Typical real durations, in milliseconds, before scaling. */
export const REALISTIC_LATENCY: Required<LatencyProfile> = {
  'network.create': 2000,
  'subnet.create': 1000,
  'firewall.create': 1000,
  'gateway.create': 1000,
  'instance.create': 2000,
  'instance.boot': 40000,
  'network.delete': 1000,
  'instance.delete': 2000,
  read: 100,
};

/** The default for demos and tests: small, but enough that ordering bugs show. */
export const DEFAULT_LATENCY: LatencyProfile = {
  'instance.boot': 1500,
};

/** Scales a profile down by `factor` (e.g. 20 ⇒ VM boot 40 s → 2 s). */
export function scaleProfile(p: LatencyProfile, factor: number): LatencyProfile {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, Math.round((v ?? 0) / factor)]));
}

/** The largest latency the admin API accepts: 10 minutes. */
export const MAX_LATENCY_MS = 600_000;

/** Per-cloud overrides of the shared profile. */
export type CloudLatency = Partial<Record<CloudId, LatencyProfile>>;

/** Latency of `op` on `cloud`: the cloud's own value when it has one, else the shared one, else 0. */
export function latencyOf(shared: LatencyProfile, clouds: CloudLatency, cloud: CloudId, op: Operation): number {
  return clouds[cloud]?.[op] ?? shared[op] ?? 0;
}

/**
 * Checks a latency change as the admin API receives it: a JSON object mapping known operations to milliseconds
 * (finite numbers, 0 … 600000). @returns the patch, or the first problem found.
 */
export function checkLatencyPatch(body: unknown): { patch: LatencyProfile } | { problem: SpecProblem } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { problem: { field: 'body', detail: 'body must be a JSON object mapping operations to milliseconds, e.g. {"network.create": 200}' } };
  }
  const patch: LatencyProfile = {};
  for (const [k, v] of Object.entries(body)) {
    if (!isOperation(k)) return { problem: { field: k, detail: `${JSON.stringify(k)} is not an operation: the operations are ${OPERATIONS.join(', ')}` } };
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_LATENCY_MS) {
      return { problem: { field: k, detail: `${k} must be a number of milliseconds, 0 … ${MAX_LATENCY_MS} (got ${JSON.stringify(v)})` } };
    }
    patch[k] = v;
  }
  return { patch };
}
