import type { Operation } from './types';

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
