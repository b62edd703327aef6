import type { CloudId } from '@skyweave/domain';

/** Kinds of cloud failure that callers branch on. Never branch on message text. */
export type CloudErrorKind =
  | 'NotFound'
  | 'InvalidCredentials'
  | 'Throttled'
  | 'QuotaExceeded'
  | 'InsufficientCapacity'
  | 'Conflict'
  | 'Unavailable'
  | 'InvalidRequest';

/**
 * A failure from a cloud, classified. `code` is the cloud's own error code (e.g. EC2 `InvalidVpcID.NotFound`,
 * GCP `rateLimitExceeded`, Azure `QuotaExceeded`, DigitalOcean `too_many_requests`) for messages and metrics.
 */
export class CloudError extends Error {
  constructor(
    public readonly kind: CloudErrorKind,
    public readonly cloud: CloudId,
    public readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${cloud}: ${code}: ${message}`, options);
    this.name = `${kind}Error`;
  }
  /** True for failures worth retrying later with backoff (throttling, 5xx). Quota and capacity are not: they surface at once. */
  get retryable(): boolean {
    return this.kind === 'Throttled' || this.kind === 'Unavailable';
  }
}

export const isCloudError = (e: unknown, kind?: CloudErrorKind): e is CloudError =>
  e instanceof CloudError && (kind === undefined || e.kind === kind);
export const isNotFound = (e: unknown): e is CloudError => isCloudError(e, 'NotFound');
export const isInvalidCredentials = (e: unknown): e is CloudError => isCloudError(e, 'InvalidCredentials');
export const isThrottled = (e: unknown): e is CloudError => isCloudError(e, 'Throttled');
export const isQuotaExceeded = (e: unknown): e is CloudError => isCloudError(e, 'QuotaExceeded');
export const isInsufficientCapacity = (e: unknown): e is CloudError => isCloudError(e, 'InsufficientCapacity');
export const isConflict = (e: unknown): e is CloudError => isCloudError(e, 'Conflict');
