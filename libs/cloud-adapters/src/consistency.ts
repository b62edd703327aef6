import { isNotFound } from './errors';
import { CLOUD_CONSISTENCY, RetrySpec, withRetry } from './retry';

/**
 * Eventual consistency helpers shared by the adapters.
 *
 * Clouds acknowledge a create before every read path can see the new resource: EC2 answers `InvalidVpcID.NotFound`
 * for a VPC it created a moment ago ("Eventual consistency in the Amazon EC2 API"), ARM may 404 a resource whose PUT
 * has just returned, list calls leave it out. Within a window after a create, a not-found is therefore retried with
 * backoff (retry.ts `CLOUD_CONSISTENCY`: 100 ms → 1 s, jittered, never past the window) instead of being believed.
 */

/** Default eventual consistency window, in milliseconds. */
export const DEFAULT_CONSISTENCY_WINDOW_MS = 30_000;

export interface ConsistencyRetry {
  /** How long to keep retrying, in milliseconds from the first attempt (0 ⇒ one attempt). */
  windowMs: number;
  /** Which failures mean "not visible yet". Default: CloudError `NotFound`. */
  missing?: (e: unknown) => boolean;
}

/** The retry spec of one consistency wait: CLOUD_CONSISTENCY, narrowed to `missing`. */
const specOf = (opts: ConsistencyRetry): RetrySpec => ({ ...CLOUD_CONSISTENCY, retryOn: opts.missing ?? isNotFound });

/** Thrown inside `readBack` for a read that answered nothing yet; never escapes it. */
class NotYet extends Error {}

/**
 * Runs `fn`; while it fails with a "missing" error (see `ConsistencyRetry.missing`) and the window has not passed,
 * waits (CLOUD_CONSISTENCY backoff, never past the window) and runs it again. For creates that name a parent just
 * made, and for reads by id after a create.
 * `fn` must be safe to repeat (a refused call, an idempotent PUT, or a call carrying an idempotency token).
 * @throws the last error once the window has passed, or at once any error that is not "missing".
 */
export function retryWhileMissing<T>(fn: () => Promise<T>, opts: ConsistencyRetry): Promise<T> {
  return withRetry(specOf(opts), () => fn(), { deadline: Date.now() + opts.windowMs });
}

/**
 * Reads back something just created: runs `read` until it answers a value (not `null`/`undefined`) or the window
 * has passed; "missing" errors count as no answer. Resolves `null` when it never showed.
 */
export async function readBack<T>(read: () => Promise<T | null | undefined>, opts: ConsistencyRetry): Promise<T | null> {
  const missing = opts.missing ?? isNotFound;
  const spec: RetrySpec = { ...CLOUD_CONSISTENCY, retryOn: (e) => e instanceof NotYet || missing(e) };
  try {
    return await withRetry(spec, async () => {
      const v = await read();
      if (v === null || v === undefined) throw new NotYet();
      return v;
    }, { deadline: Date.now() + opts.windowMs });
  } catch (e) {
    if (e instanceof NotYet || missing(e)) return null;
    throw e;
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
