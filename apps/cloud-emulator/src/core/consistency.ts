import { CLOUDS } from '@skyweave/domain';
import type { CloudId } from '@skyweave/domain';
import type { CloudContext, ConsistencyView } from './types';

/** The longest consistency window the admin API accepts: one hour. */
export const MAX_CONSISTENCY_DELAY_MS = 3_600_000;

/**
 * Eventual consistency, per cloud: on a cloud with a delay, a resource made less than `delayMs` ago (on the sandbox
 * clock) is invisible to reads — describe/get answer the cloud's own "not found", lists leave it out — while
 * mutations that name it, and the answer of the call that made it, see it. A delay of 0 (the default) turns it off.
 * Modules stamp each resource with `now()` when it comes into being (`createdAtMs`) and ask `visible` on read paths.
 */
export class ConsistencyBook implements ConsistencyView {
  private readonly delays = new Map<CloudId, number>();

  /** @param clock the sandbox clock in ms (inject it to make tests deterministic). */
  constructor(private readonly clock: () => number = Date.now) {}

  now(): number {
    return this.clock();
  }

  /** Sets a cloud's window; 0 turns eventual consistency off there. @throws RangeError outside 0 … 1 hour. */
  setDelay(cloud: CloudId, delayMs: number): void {
    if (!Number.isFinite(delayMs) || delayMs < 0 || delayMs > MAX_CONSISTENCY_DELAY_MS) {
      throw new RangeError(`delayMs must be a number of milliseconds, 0 … ${MAX_CONSISTENCY_DELAY_MS}`);
    }
    if (delayMs === 0) this.delays.delete(cloud);
    else this.delays.set(cloud, delayMs);
  }

  delay(cloud: CloudId): number {
    return this.delays.get(cloud) ?? 0;
  }

  /** Every cloud's window, 0 where it is off. */
  settings(): Record<CloudId, number> {
    return Object.fromEntries(CLOUDS.map((c) => [c, this.delay(c)])) as Record<CloudId, number>;
  }

  visible(cloud: CloudId, createdAtMs: number | undefined): boolean {
    const d = this.delays.get(cloud);
    if (!d || createdAtMs === undefined) return true;
    return this.clock() - createdAtMs >= d;
  }
}

/** A creation stamp on the sandbox clock (wall clock when the module runs without the core's consistency book). */
export const stampNow = (ctx: Pick<CloudContext, 'consistency'>): number => ctx.consistency?.now() ?? Date.now();

/** Whether reads on `cloud` may see a resource stamped `createdAtMs` (always, without a consistency book). */
export const isVisible = (ctx: Pick<CloudContext, 'consistency'>, cloud: CloudId, createdAtMs: number | undefined): boolean =>
  ctx.consistency?.visible(cloud, createdAtMs) ?? true;
