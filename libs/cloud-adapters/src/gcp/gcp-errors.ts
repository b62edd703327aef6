import { CloudError, CloudErrorKind } from '../errors';

/**
 * Classification of Compute Engine failures (https://cloud.google.com/compute/docs/api/handling-errors,
 * https://cloud.google.com/compute/docs/troubleshooting/troubleshooting-vm-creation) into `CloudError` kinds.
 *
 * Failures arrive in three shapes:
 * - HTTP errors of the REST transport (a GaxiosError: `status`, `response.data` = the JSON body
 *   `{"error":{"code":403,"message":"…","errors":[{"reason":"rateLimitExceeded",…}]}}`), or a google-gax GoogleError;
 * - OAuth 2.0 token-endpoint errors (`400 {"error":"invalid_grant","error_description":"…"}`);
 * - errors recorded in a finished Operation (`operation.error.errors[].code`, e.g. `QUOTA_EXCEEDED`).
 */

/** What can be read off a thrown transport error. */
export interface ApiFailure {
  httpStatus?: number;
  /** `errors[0].reason` of a Compute error body, or the OAuth `error`. */
  reason?: string;
  message: string;
  /** True when the failure came from the OAuth 2.0 token endpoint. */
  oauth: boolean;
  /** Node/undici network error code (`ECONNREFUSED` …). */
  networkCode?: string;
}

const GRPC_TO_HTTP: Record<number, number> = { 3: 400, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409, 13: 500, 14: 503, 16: 401 };
const NETWORK_CODES = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR_\w+)$/;

const rec = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined);

function parseBody(data: unknown): Record<string, unknown> | undefined {
  if (typeof data === 'string') {
    try {
      return rec(JSON.parse(data));
    } catch {
      return undefined;
    }
  }
  return rec(data);
}

/** Reads status, reason and message from anything the SDK throws. */
export function describeFailure(e: unknown): ApiFailure {
  const err = rec(e) ?? {};
  const message = e instanceof Error ? e.message : String(e);
  const response = rec(err.response);
  let httpStatus = typeof err.status === 'number' ? err.status : typeof response?.status === 'number' ? response.status : undefined;
  const body = parseBody(response?.data);
  const apiError = rec(body?.error);
  if (body && typeof body.error === 'string') {
    return { httpStatus, reason: body.error, message: typeof body.error_description === 'string' ? body.error_description : message, oauth: true };
  }
  if (apiError) {
    const first = rec(Array.isArray(apiError.errors) ? apiError.errors[0] : undefined);
    if (httpStatus === undefined && typeof apiError.code === 'number') httpStatus = apiError.code;
    return {
      httpStatus,
      reason: typeof first?.reason === 'string' ? first.reason : typeof apiError.status === 'string' ? apiError.status : undefined,
      message: typeof apiError.message === 'string' ? apiError.message : message,
      oauth: false,
    };
  }
  // google-gax GoogleError (gRPC code, reason from ErrorInfo) or a plain HTTP error
  const code = err.code;
  if (httpStatus === undefined && typeof code === 'number') httpStatus = code >= 100 ? code : GRPC_TO_HTTP[code];
  if (httpStatus === undefined && typeof code === 'string' && /^\d{3}$/.test(code)) httpStatus = Number(code);
  const networkCode = typeof code === 'string' && NETWORK_CODES.test(code) ? code : typeof rec(err.cause)?.code === 'string' && NETWORK_CODES.test(String(rec(err.cause)?.code)) ? String(rec(err.cause)?.code) : undefined;
  return { httpStatus, reason: typeof err.reason === 'string' ? err.reason : undefined, message, oauth: false, networkCode };
}

/** Kind of a Compute HTTP failure. */
export function kindOf(f: ApiFailure): CloudErrorKind {
  if (f.oauth) return f.httpStatus !== undefined && f.httpStatus >= 500 ? 'Unavailable' : 'InvalidCredentials';
  if (f.networkCode) return 'Unavailable';
  const s = f.httpStatus;
  const r = f.reason;
  if (r === 'rateLimitExceeded' || r === 'userRateLimitExceeded' || r === 'RATE_LIMIT_EXCEEDED') return 'Throttled';
  if (r === 'quotaExceeded' || r === 'QUOTA_EXCEEDED') return 'QuotaExceeded';
  if (r === 'resourceInUseByAnotherResource' || r === 'resourceNotReady' || r === 'alreadyExists' || r === 'conditionNotMet') return 'Conflict';
  if (s === undefined) return 'Unavailable';
  if (s === 401) return 'InvalidCredentials';
  if (s === 403) return 'InvalidCredentials'; // forbidden, insufficientPermissions, accessNotConfigured: the credentials cannot do this
  if (s === 404) return 'NotFound';
  if (s === 409 || s === 412) return 'Conflict';
  if (s === 429) return 'Throttled';
  if (s >= 500) return 'Unavailable';
  return 'InvalidRequest';
}

/** Any thrown value as a CloudError (CloudErrors pass through unchanged). */
export function toCloudError(e: unknown, context?: string): CloudError {
  if (e instanceof CloudError) return e;
  const f = describeFailure(e);
  if (!f.oauth && f.httpStatus === undefined && !f.networkCode && /PEM|DECODER|private key|asn1|secretOrPrivateKey/i.test(f.message)) {
    return new CloudError('InvalidCredentials', 'gcp', 'invalidPrivateKey', `the service-account key cannot sign: ${f.message}`, { cause: e });
  }
  const kind = kindOf(f);
  const code = f.reason ?? f.networkCode ?? (f.httpStatus !== undefined ? `HTTP_${f.httpStatus}` : 'unknown');
  return new CloudError(kind, 'gcp', code, context ? `${context}: ${f.message}` : f.message, { cause: e });
}

const CAPACITY_CODES = new Set([
  'ZONE_RESOURCE_POOL_EXHAUSTED', 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS', 'REGION_RESOURCE_POOL_EXHAUSTED', 'RESOURCE_POOL_EXHAUSTED',
]);

/** The operation's error, if it finished with one (`operation.error.errors[0]`), as a CloudError. */
export function operationFailure(op: {
  error?: { errors?: { code?: string | null; message?: string | null }[] | null } | null;
  httpErrorStatusCode?: number | null;
  operationType?: string | null;
  targetLink?: string | null;
}): CloudError | undefined {
  const first = op.error?.errors?.[0];
  if (!first) return undefined;
  const code = first.code ?? 'UNKNOWN';
  const message = `${op.operationType ?? 'operation'} ${op.targetLink ?? ''}: ${first.message ?? code}`;
  let kind: CloudErrorKind;
  if (code === 'QUOTA_EXCEEDED') kind = 'QuotaExceeded';
  else if (CAPACITY_CODES.has(code)) kind = 'InsufficientCapacity';
  else if (code === 'RATE_LIMIT_EXCEEDED') kind = 'Throttled';
  else if (code === 'RESOURCE_NOT_FOUND') kind = 'NotFound';
  else if (code === 'RESOURCE_IN_USE_BY_ANOTHER_RESOURCE' || code === 'RESOURCE_ALREADY_EXISTS' || code === 'RESOURCE_NOT_READY') kind = 'Conflict';
  else kind = (op.httpErrorStatusCode ?? 0) >= 500 ? 'Unavailable' : 'InvalidRequest';
  return new CloudError(kind, 'gcp', code, message);
}
