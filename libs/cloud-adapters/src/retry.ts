import { ExponentialBackoff, IBackoff, handleWhen, halfJitterGenerator, retry } from 'cockatiel';
import { isCloudError, isNotFound } from './errors';

/**
 * The one retry policy of Skyweave, on `cockatiel` (https://github.com/connor4312/cockatiel): every call that is
 * retried anywhere in the platform, its tools or the node-agent goes through `withRetry` with one of the named specs
 * below (or, where an SDK retries each HTTP request itself, through that SDK configured from `SDK_RETRY`, so that
 * retries never multiply: one layer per call).
 *
 * | spec | used by | attempts | delays |
 * |---|---|---|---|
 * | `CLOUD_CALL` | GCP and DigitalOcean adapters (per API request); AWS and Azure SDKs via `SDK_RETRY` | 3 | 100 ms → 2 s |
 * | `CLOUD_CONSISTENCY` | reads/creates right after a create (eventual consistency), within a window | until the deadline | 100 ms → 1 s |
 * | `PLATFORM_CALL` | node-agent → the platform's agent API | until success or abort | 500 ms → 10 s |
 * | `TOOL_HTTP` | tools' HTTP calls (stack launcher, sandbox admin) | 3 | 200 ms → 1 s |
 * | `SERVICE_RESTART` | tools waiting out a service being restarted (chaos) | until the deadline | 250 ms → 1 s |
 * | `MESSAGE_REDELIVERY` | JetStream nak delays (`redeliveryDelayMs`), half jitter | the consumer's `maxDeliver` | 1–2 s, 2–4 s, … 15–30 s |
 *
 * Delays are exponential with decorrelated jitter (cockatiel's default generator; a delay may be close to 0), or, for a
 * spec with `jitter: 'half'`, with half jitter (each delay in [d/2, d) of the doubling schedule d, so never shorter than
 * half of it); capped at the spec's maximum and, when a run has a deadline, never past it. Quota and capacity errors are never retried here (they surface at once on
 * the cluster's conditions, see `CloudError.retryable`).
 */
export interface RetrySpec {
  /** A short name, for logs. */
  readonly name: string;
  /** Attempts in all, the first included (≥ 1; `Infinity`: until success, abort or the run's deadline). */
  readonly maxAttempts: number;
  /** Upper end of the delay before the first retry, in milliseconds (the exponential base). */
  readonly initialDelayMs: number;
  /** Upper bound of any one delay, in milliseconds. */
  readonly maxDelayMs: number;
  /** Which failures are retried; any other failure is thrown at once. */
  readonly retryOn: (error: unknown) => boolean;
  /**
   * How delays are randomised: `decorrelated` (default; AWS's and Polly's recommendation, a delay may be near 0) or
   * `half` (each delay in [d/2, d), d = initialDelayMs × 2^(retry−1) capped at maxDelayMs: a guaranteed floor).
   */
  readonly jitter?: 'decorrelated' | 'half';
}

/** What one retry is about to do, for logs and metrics. */
export interface RetryEvent {
  /** 1 for the first retry (the second attempt). */
  attempt: number;
  /** The wait before it, in milliseconds. */
  delayMs: number;
  /** The failure that is retried. */
  error: unknown;
}

/** Per-run options of `withRetry`. */
export interface RetryRun {
  /** Aborting it ends the waits at once and gives up with the last failure. */
  signal?: AbortSignal;
  /** Epoch milliseconds after which a failure is no longer retried; no wait goes past it. */
  deadline?: number;
  /** Replaces the wait between attempts (tests); default an abortable timer. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Called before each wait. */
  onRetry?: (event: RetryEvent) => void;
}

/** Status of an HTTP answer carried by an error (`status` or `statusCode`), if any. */
export function httpStatusOf(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const s = (e as { status?: unknown; statusCode?: unknown }).status ?? (e as { statusCode?: unknown }).statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** A throttled (429) or server-side (5xx) answer, or no answer at all (an error without an HTTP status). */
export function isTransientHttpFailure(e: unknown): boolean {
  const status = httpStatusOf(e);
  return status === undefined || status === 429 || status >= 500;
}

/** Cloud API calls: throttling, 5xx and network failures (`CloudError.retryable`), 3 attempts, 100 ms → 2 s. */
export const CLOUD_CALL: RetrySpec = {
  name: 'cloud-call', maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 2_000,
  retryOn: (e) => isCloudError(e) && e.retryable,
};

/**
 * Eventual consistency after a create: a "not found" (default `CloudError` NotFound; adapters narrow it with
 * `{ ...CLOUD_CONSISTENCY, retryOn }`) is retried until the run's deadline, 100 ms → 1 s.
 */
export const CLOUD_CONSISTENCY: RetrySpec = {
  name: 'cloud-consistency', maxAttempts: Infinity, initialDelayMs: 100, maxDelayMs: 1_000, retryOn: isNotFound,
};

/** node-agent → platform: transport failures and 5xx until success or abort (a 4xx is final), 500 ms → 10 s. */
export const PLATFORM_CALL: RetrySpec = {
  name: 'platform-call', maxAttempts: Infinity, initialDelayMs: 500, maxDelayMs: 10_000,
  retryOn: (e) => { const s = httpStatusOf(e); return s === undefined || s >= 500; },
};

/** Tools' HTTP calls: transport failures, 429 and 5xx, 3 attempts, 200 ms → 1 s. */
export const TOOL_HTTP: RetrySpec = { name: 'tool-http', maxAttempts: 3, initialDelayMs: 200, maxDelayMs: 1_000, retryOn: isTransientHttpFailure };

/** Tools waiting out a service that is being restarted: transient failures until the run's deadline, 250 ms → 1 s. */
export const SERVICE_RESTART: RetrySpec = {
  name: 'service-restart', maxAttempts: Infinity, initialDelayMs: 250, maxDelayMs: 1_000, retryOn: isTransientHttpFailure,
};

/**
 * JetStream redelivery of a failed message (nak delay by delivery count, see `redeliveryDelayMs`), half jitter:
 * 1–2 s before the second delivery, 2–4 s before the third, … 15–30 s at most. Never near 0: a failure that is not
 * throttling (a database restart, a NATS reconnect) needs time to pass, and a handler's failure must not spin.
 * `retryOn` is not used by the consumer (it naks every failure until `maxDeliver`).
 */
export const MESSAGE_REDELIVERY: RetrySpec = {
  name: 'message-redelivery', maxAttempts: Infinity, initialDelayMs: 2_000, maxDelayMs: 30_000, retryOn: () => true, jitter: 'half',
};

/**
 * How the SDKs that retry each HTTP request themselves (AWS `retryStrategy`, Azure `retryOptions`) are set: the same
 * attempts and delays as `CLOUD_CALL`, and the adapter then does not retry those calls again.
 */
export const SDK_RETRY = {
  /** Attempts in all, the first included. */
  maxAttempts: CLOUD_CALL.maxAttempts,
  /** Azure `retryOptions.maxRetries` (retries after the first attempt). */
  maxRetries: CLOUD_CALL.maxAttempts - 1,
  initialDelayMs: CLOUD_CALL.initialDelayMs,
  maxDelayMs: CLOUD_CALL.maxDelayMs,
} as const;

const backoffOf = (spec: RetrySpec) => new ExponentialBackoff({
  initialDelay: spec.initialDelayMs, maxDelay: spec.maxDelayMs, ...(spec.jitter === 'half' ? { generator: halfJitterGenerator } : {}),
});

/**
 * The delay before retry number `retry` (1-based) of `spec`, in milliseconds: the same jittered exponential schedule
 * `withRetry` follows, for retry loops owned by someone else (an SDK's retry strategy, JetStream nak delays).
 */
export function retryDelayMs(spec: RetrySpec, retry: number): number {
  let b: IBackoff<unknown> = backoffOf(spec).next();
  for (let i = 1; i < retry; i++) b = b.next(undefined);
  return Math.round(b.duration);
}

/** Nak delay of a message delivered `deliveryCount` times (1 = first delivery), in milliseconds (MESSAGE_REDELIVERY). */
export const redeliveryDelayMs = (deliveryCount: number): number => retryDelayMs(MESSAGE_REDELIVERY, Math.max(1, deliveryCount));

/** Resolves after `ms` milliseconds, or at once when `signal` is (or becomes) aborted. */
export function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs `fn` (given the attempt number, 0 first) under `spec`: a failure that `spec.retryOn` accepts is retried after
 * a jittered exponential wait while attempts remain, the run's deadline has not passed and its signal is not aborted.
 * `fn` must be safe to repeat (a read, an idempotent write, or a write carrying an idempotency token).
 * @returns what `fn` resolved.
 * @throws at once any failure `spec.retryOn` refuses; otherwise the last failure once retries are over or aborted.
 */
export async function withRetry<T>(spec: RetrySpec, fn: (attempt: number) => Promise<T>, run: RetryRun = {}): Promise<T> {
  const deadline = run.deadline;
  const policy = retry(handleWhen((e) => spec.retryOn(e) && (deadline === undefined || Date.now() < deadline)), {
    maxAttempts: spec.maxAttempts - 1, // cockatiel counts retries
  });
  const sleep = run.sleep ?? abortableDelay;
  const factory = backoffOf(spec);
  let backoff: IBackoff<unknown> | undefined;
  let last: unknown;
  // cockatiel decides what is retried and when to give up; the wait is ours, so that aborting ends it at once
  return policy.execute(async ({ attempt, signal }) => {
    if (attempt > 0) {
      backoff = backoff ? backoff.next(undefined) : factory.next();
      let delayMs = Math.round(backoff.duration);
      if (deadline !== undefined) delayMs = Math.max(0, Math.min(delayMs, deadline - Date.now()));
      run.onRetry?.({ attempt, delayMs, error: last });
      await sleep(delayMs, signal);
      if (signal.aborted) throw last;
    }
    try {
      return await fn(attempt);
    } catch (e) {
      last = e;
      throw e;
    }
  }, run.signal);
}
