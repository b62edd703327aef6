import { isNotFound } from './errors';

/**
 * Eventual consistency helpers shared by the adapters.
 *
 * Clouds acknowledge a create before every read path can see the new resource: EC2 answers `InvalidVpcID.NotFound`
 * for a VPC it created a moment ago ("Eventual consistency in the Amazon EC2 API"), ARM may 404 a resource whose PUT
 * has just returned, list calls leave it out. Within a window after a create, a not-found is therefore retried with
 * exponential backoff (100 ms doubling, at most 1 s, ±25 % jitter, never past the window) instead of being believed.
 */

/** Default eventual consistency window, in milliseconds. */
export const DEFAULT_CONSISTENCY_WINDOW_MS = 30_000;

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 1_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Delay before retry number `retry` (1-based), in milliseconds: exponential, capped, with ±25 % jitter. */
export function consistencyBackoffMs(retry: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (retry - 1));
  return Math.round(base * (0.75 + random() * 0.5));
}

export interface ConsistencyRetry {
  /** How long to keep retrying, in milliseconds from the first attempt (0 ⇒ one attempt). */
  windowMs: number;
  /** Which failures mean "not visible yet". Default: CloudError `NotFound`. */
  missing?: (e: unknown) => boolean;
}

/**
 * Runs `fn`; while it fails with a "missing" error (see `ConsistencyRetry.missing`) and the window has not passed,
 * waits (backoff) and runs it again. For creates that name a parent just made, and for reads by id after a create.
 * `fn` must be safe to repeat (a refused call, an idempotent PUT, or a call carrying an idempotency token).
 * @throws the last error once the window has passed, or at once any error that is not "missing".
 */
export async function retryWhileMissing<T>(fn: () => Promise<T>, opts: ConsistencyRetry): Promise<T> {
  const missing = opts.missing ?? isNotFound;
  const deadline = Date.now() + opts.windowMs;
  for (let retry = 1; ; retry += 1) {
    try {
      return await fn();
    } catch (e) {
      const left = deadline - Date.now();
      if (!missing(e) || left <= 0) throw e;
      await sleep(Math.min(left, consistencyBackoffMs(retry)));
    }
  }
}

/**
 * Reads back something just created: runs `read` until it answers a value (not `null`/`undefined`) or the window
 * has passed; "missing" errors count as no answer. Resolves `null` when it never showed.
 */
export async function readBack<T>(read: () => Promise<T | null | undefined>, opts: ConsistencyRetry): Promise<T | null> {
  const missing = opts.missing ?? isNotFound;
  const deadline = Date.now() + opts.windowMs;
  for (let retry = 1; ; retry += 1) {
    try {
      const v = await read();
      if (v !== null && v !== undefined) return v;
    } catch (e) {
      if (!missing(e)) throw e;
    }
    const left = deadline - Date.now();
    if (left <= 0) return null;
    await sleep(Math.min(left, consistencyBackoffMs(retry)));
  }
}

/**
 * Ids of things this provider made less than a window ago that no read has shown yet. A read by id that misses one
 * of them is not believed at once (`readBack` for the rest of its window); a read that finds it, or a delete, ends
 * that: from then on a miss means gone. Other ids are never waited for, so asking for an unknown id stays fast.
 */
export class RecentlyMade {
  private readonly made = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  /** Remembers `id` as made now. */
  add(id: string | undefined): void {
    if (id && this.windowMs > 0) this.made.set(id, Date.now());
  }

  /** Forgets `id` (seen by a read, or deleted). */
  forget(id: string): void {
    this.made.delete(id);
  }

  /**
   * `read()`; when it answers null and `id` was made less than the window ago and not seen since, read again with
   * backoff for the rest of the window. Forgets `id` once a read finds it.
   */
  async read<T>(id: string, read: () => Promise<T | null>): Promise<T | null> {
    for (const [k, at] of this.made) if (Date.now() - at >= this.windowMs) this.made.delete(k);
    const first = await read();
    const at = this.made.get(id);
    const v = first ?? (at === undefined ? null : await readBack(read, { windowMs: at + this.windowMs - Date.now() }));
    if (v !== null) this.made.delete(id);
    return v;
  }
}
