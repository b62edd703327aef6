import { CloudError, CloudErrorKind } from '../errors';

/**
 * Classification of EC2 failures into `CloudError` kinds, by the EC2 error code (`err.name` on SDK v3 service
 * exceptions; see the EC2 API reference "Error codes for the Amazon EC2 API") and, failing that, the HTTP status.
 */

const CREDENTIAL_CODES = new Set([
  'AuthFailure',
  'SignatureDoesNotMatch',
  'InvalidClientTokenId',
  'MissingAuthenticationToken',
  'IncompleteSignature',
  'UnrecognizedClientException',
  'UnauthorizedOperation',
  'OptInRequired',
  'Blocked',
  'PendingVerification',
  'ExpiredToken',
]);

const THROTTLING_CODES = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'EC2ThrottledException', 'SlowDown']);

const CAPACITY_CODES = new Set([
  'InsufficientInstanceCapacity',
  'InsufficientHostCapacity',
  'InsufficientReservedInstanceCapacity',
  'InsufficientCapacity',
  'InsufficientAddressCapacity',
  'InsufficientFreeAddressesInSubnet',
]);

const CONFLICT_CODES = new Set([
  'DependencyViolation',
  'IncorrectState',
  'IncorrectInstanceState',
  'InvalidGroup.Duplicate',
  'InvalidGroup.InUse',
  'InvalidPermission.Duplicate',
  'Resource.AlreadyAssociated',
  'IdempotentParameterMismatch',
  'RouteAlreadyExists',
  'CannotDelete',
  'InvalidIPAddress.InUse',
  'Gateway.NotAttached',
  'OperationNotPermitted',
]);

const SERVER_CODES = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'Unavailable', 'RequestTimeout', 'RequestTimeoutException', 'TimeoutError']);

/** Kind of an EC2 error code, or undefined when the code alone does not tell. */
export function classifyEc2Code(code: string): CloudErrorKind | undefined {
  if (CREDENTIAL_CODES.has(code)) return 'InvalidCredentials';
  if (THROTTLING_CODES.has(code)) return 'Throttled';
  if (CAPACITY_CODES.has(code)) return 'InsufficientCapacity';
  if (code.endsWith('.NotFound') || code === 'InvalidInstanceID.NotFound') return 'NotFound';
  // Quotas: InstanceLimitExceeded, VcpuLimitExceeded, VpcLimitExceeded, RulesPerSecurityGroupLimitExceeded, ResourceLimitExceeded …
  if (code.endsWith('LimitExceeded') || code === 'MaxSpotInstanceCountExceeded') return 'QuotaExceeded';
  if (CONFLICT_CODES.has(code)) return 'Conflict';
  if (SERVER_CODES.has(code)) return 'Unavailable';
  return undefined;
}

interface SdkErrorShape {
  name?: unknown;
  Code?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/**
 * Turns anything the EC2 SDK throws into a `CloudError` of cloud `aws` (a `CloudError` passes through unchanged).
 * Network failures (connection refused/reset, timeouts) become `Unavailable`; unknown 4xx codes `InvalidRequest`.
 */
export function toCloudError(e: unknown): CloudError {
  if (e instanceof CloudError) return e;
  const err = (typeof e === 'object' && e !== null ? e : {}) as SdkErrorShape;
  const code = typeof err.Code === 'string' ? err.Code : typeof err.name === 'string' ? err.name : typeof err.code === 'string' ? err.code : 'Unknown';
  const message = typeof err.message === 'string' ? err.message : String(e);
  const status = typeof err.$metadata?.httpStatusCode === 'number' ? err.$metadata.httpStatusCode : undefined;
  const systemCode = typeof err.code === 'string' ? err.code : undefined;
  let kind = classifyEc2Code(code);
  if (!kind) {
    if (status !== undefined && status >= 500) kind = 'Unavailable';
    else if (status === 401 || status === 403) kind = 'InvalidCredentials';
    else if (status === 429) kind = 'Throttled';
    else if (status === undefined && systemCode && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN)$/.test(systemCode)) kind = 'Unavailable';
    else kind = 'InvalidRequest';
  }
  return new CloudError(kind, 'aws', code, message, { cause: e });
}
