import { Problem } from './problem';

/** Which agent long poll: `/mesh`, `/join`, `/operations`. */
export type LongPollEndpoint = 'mesh' | 'join' | 'operations';

/** One held long poll. */
export interface LongPollHold {
  /** Resolves when a newer poll of the same node and endpoint took this one's place (never rejects). */
  readonly superseded: Promise<void>;
  /** Whether a newer poll took this one's place. */
  readonly ended: boolean;
  /** Ends the hold (call in `finally`); idempotent. */
  release(): void;
}

/** Seconds a poll refused at the global bound is told to wait (`Retry-After`). */
export const LONG_POLL_RETRY_AFTER_SECONDS = 5;

/**
 * The long polls one api-gateway process holds (issue 10, finding 10: one node token held 200 `/mesh` polls and
 * slowed every other call). Two rules:
 * - **one poll per node and endpoint**: a new poll ends the node's previous one on that endpoint at once; the
 *   previous one answers with what it has, as if its window had ended (an agent only ever waits on one; a second is
 *   a retry after a lost connection, or abuse);
 * - **a global bound** (`max`, SKYWEAVE_MAX_LONG_POLLS): a poll that would exceed it is refused with 503
 *   `long-polls-exhausted` and `Retry-After` (agents retry 5xx with backoff). Refusing, rather than answering at
 *   once without holding, keeps an agent from turning its long poll into a busy loop. A poll that replaces a node's
 *   own poll is never refused (the count does not grow).
 * Per process: with several replicas each bounds its own (a node's two polls on two replicas are both held).
 */
export class LongPolls {
  private readonly byKey = new Map<string, { end: () => void }>();
  private closed = false;

  /** @param max polls held at once (≥ 1). */
  constructor(readonly max: number) {}

  /** Polls held now. */
  get held(): number {
    return this.byKey.size;
  }

  /**
   * Starts holding `nodeId`'s poll on `endpoint`, ending the node's previous one there.
   * @throws Problem 503 `long-polls-exhausted` (with Retry-After) when `max` polls are held by other nodes or endpoints;
   *   503 `shutting-down` (with Retry-After) after `close`.
   */
  begin(endpoint: LongPollEndpoint, nodeId: string): LongPollHold {
    if (this.closed) {
      throw new Problem(503, 'shutting-down', 'Shutting down', `this gateway is stopping; retry in ${LONG_POLL_RETRY_AFTER_SECONDS} s`, undefined,
        { 'retry-after': String(LONG_POLL_RETRY_AFTER_SECONDS) });
    }
    const key = `${endpoint}:${nodeId}`;
    const previous = this.byKey.get(key);
    if (previous) previous.end();
    else if (this.byKey.size >= this.max) {
      throw new Problem(503, 'long-polls-exhausted', 'Too many long polls',
        `this gateway holds ${this.byKey.size} long polls, its limit; retry in ${LONG_POLL_RETRY_AFTER_SECONDS} s`, undefined,
        { 'retry-after': String(LONG_POLL_RETRY_AFTER_SECONDS) });
    }
    let wake!: () => void;
    const superseded = new Promise<void>((resolve) => (wake = resolve));
    const entry = { end: () => { state.ended = true; this.byKey.delete(key); wake(); } };
    const state = {
      superseded,
      ended: false,
      release: () => {
        if (this.byKey.get(key) === entry) this.byKey.delete(key);
      },
    };
    this.byKey.set(key, entry);
    return state;
  }

  /**
   * For a graceful stop (SIGTERM): ends every held poll at once (each answers with what it has, as when superseded)
   * and refuses new ones with 503 `shutting-down`, so that the HTTP server's close does not wait out the polls'
   * windows (up to MESH_LONG_POLL_MS). Idempotent.
   */
  close(): void {
    this.closed = true;
    for (const entry of [...this.byKey.values()]) entry.end();
  }
}
