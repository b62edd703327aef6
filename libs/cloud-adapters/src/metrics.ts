import { Counter, Histogram, register } from 'prom-client';
import type { CloudId } from '@skyweave/domain';
import { CloudError, isCloudError } from './errors';

/**
 * Prometheus metrics of every request the adapters send to a cloud, on prom-client's default registry (a service
 * exposes them with `register.metrics()` on `/metrics`). One request is one HTTP exchange with the cloud API: a
 * retried call counts once per attempt, so throttling shows even when a retry then succeeds.
 *
 * - `skyweave_cloud_requests_total{cloud, operation, outcome, code}` (counter): `outcome` is `ok` or the failure's
 *   `CloudErrorKind` (`Throttled`, `Unavailable`, `NotFound`, `QuotaExceeded` …); `code` the cloud's own error code
 *   (`RequestLimitExceeded`, `rateLimitExceeded`, `SubscriptionRequestsThrottled`, `too_many_requests` …), empty when ok.
 * - `skyweave_cloud_request_duration_seconds{cloud, operation, outcome}` (histogram, seconds).
 * - `skyweave_cloud_retries_total{cloud, operation, code}` (counter): requests sent again after a retryable failure
 *   (retry.ts `CLOUD_CALL` for GCP and DigitalOcean, the SDK's own retry for AWS and Azure).
 *
 * `operation` is the API's own name of the call: the EC2 action (`RunInstances`), the Compute method
 * (`instances.insert`, `instances.insert (wait)` for its operation polls), the dots-wrapper method
 * (`droplet.createDroplet`), or for ARM the HTTP method and resource type (`PUT Microsoft.Network/virtualNetworks`).
 */
export const CLOUD_METRICS = {
  requests: 'skyweave_cloud_requests_total',
  duration: 'skyweave_cloud_request_duration_seconds',
  retries: 'skyweave_cloud_retries_total',
} as const;

// A module loaded twice in one process (two paths to it) must not register twice: reuse what is registered.
const counter = (name: string, help: string, labelNames: string[]): Counter<string> =>
  (register.getSingleMetric(name) as Counter<string> | undefined) ?? new Counter({ name, help, labelNames });

const requests = counter(CLOUD_METRICS.requests, 'Requests sent to cloud APIs, by cloud, operation and outcome (ok or the CloudError kind) and the cloud\'s error code', ['cloud', 'operation', 'outcome', 'code']);
const retries = counter(CLOUD_METRICS.retries, 'Cloud API requests sent again after a retryable failure (throttling, 5xx, no answer)', ['cloud', 'operation', 'code']);
const duration = (register.getSingleMetric(CLOUD_METRICS.duration) as Histogram<string> | undefined) ?? new Histogram({
  name: CLOUD_METRICS.duration,
  help: 'Duration of requests to cloud APIs in seconds, by cloud, operation and outcome',
  labelNames: ['cloud', 'operation', 'outcome'],
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
});

/** The operation each failure came from (the raw SDK error, and the CloudError made of it), for the retry counter. */
const operationOfError = new WeakMap<object, string>();

const outcomeOf = (error: CloudError | undefined) => (error ? { outcome: error.kind, code: error.code } : { outcome: 'ok', code: '' });

/**
 * Records one request: `error` is the failure as the adapter classified it (absent on success).
 * @param seconds how long the request took, in seconds.
 */
export function recordCloudRequest(cloud: CloudId, operation: string, seconds: number, error?: CloudError, raw?: unknown): void {
  const { outcome, code } = outcomeOf(error);
  requests.inc({ cloud, operation, outcome, code });
  duration.observe({ cloud, operation, outcome }, seconds);
  for (const e of [error, raw]) if (typeof e === 'object' && e !== null) operationOfError.set(e, operation);
}

/**
 * Records that a request is sent again after `error` (a CloudError, or what the SDK threw); its operation is the one
 * recorded with that error (`recordCloudRequest`), or `operation` when given.
 */
export function recordCloudRetry(cloud: CloudId, error: unknown, operation?: string): void {
  const cause = isCloudError(error) ? error.cause : undefined;
  const op = operation ?? (typeof error === 'object' && error !== null ? operationOfError.get(error) : undefined)
    ?? (typeof cause === 'object' && cause !== null ? operationOfError.get(cause) : undefined) ?? 'unknown';
  retries.inc({ cloud, operation: op, code: isCloudError(error) ? error.code : '' });
}

/**
 * Runs one request and records it (`recordCloudRequest`); a failure is rethrown as `toCloudError` made it.
 * @param toCloudError the adapter's classification of what the SDK threw.
 */
export async function timeCloudRequest<T>(cloud: CloudId, operation: string, fn: () => Promise<T>, toCloudError: (e: unknown) => CloudError | undefined): Promise<T> {
  const started = performance.now();
  try {
    const out = await fn();
    recordCloudRequest(cloud, operation, (performance.now() - started) / 1000);
    return out;
  } catch (e) {
    const err = isCloudError(e) ? e : toCloudError(e);
    recordCloudRequest(cloud, operation, (performance.now() - started) / 1000, err ?? new CloudError('Unavailable', cloud, 'unknown', String(e)), e);
    throw err ?? e;
  }
}

const isPromise = (v: unknown): v is Promise<unknown> => typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';

/**
 * Wraps an SDK client whose methods each send one request (e.g. dots-wrapper's `api.droplet.createDroplet(...)`):
 * every method returning a promise is timed and recorded under its path (`droplet.createDroplet`), its failure
 * classified with `toCloudError` for the record and rethrown unchanged (the adapter classifies it where it calls).
 * Returns a copy (the client may be frozen): its own enumerable functions wrapped, and its nested objects wrapped the
 * same way `depth - 1` levels down; anything else copied as is.
 */
export function instrumentClient<C extends object>(cloud: CloudId, client: C, toCloudError: (e: unknown) => CloudError | undefined, depth = 2, path = ''): C {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(client)) {
    const name = path ? `${path}.${key}` : key;
    if (typeof value === 'function') {
      out[key] = (...args: unknown[]) => {
        const started = performance.now();
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(client, args);
        if (!isPromise(result)) return result;
        return result.then(
          (v) => { recordCloudRequest(cloud, name, (performance.now() - started) / 1000); return v; },
          (e: unknown) => {
            const err = isCloudError(e) ? e : toCloudError(e);
            recordCloudRequest(cloud, name, (performance.now() - started) / 1000, err ?? new CloudError('Unavailable', cloud, 'unknown', String(e)), e);
            throw e;
          },
        );
      };
    } else if (depth > 1 && typeof value === 'object' && value !== null) {
      out[key] = instrumentClient(cloud, value, toCloudError, depth - 1, name);
    } else {
      out[key] = value;
    }
  }
  return out as C;
}
