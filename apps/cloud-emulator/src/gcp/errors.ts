/**
 * Compute Engine v1 error bodies, as the real API answers them
 * (https://cloud.google.com/compute/docs/api/handling-errors):
 * `{"error":{"code":404,"message":"…","errors":[{"message":"…","domain":"global","reason":"notFound"}]}}`.
 * Authentication errors also carry `status` (`UNAUTHENTICATED`, `PERMISSION_DENIED`), as the real front end does.
 */

export interface GcpErrorItem {
  message: string;
  domain: string;
  reason: string;
  location?: string;
  locationType?: string;
}

export interface GcpErrorBody {
  error: { code: number; message: string; errors: GcpErrorItem[]; status?: string };
}

/** An error the API answers with an HTTP status and the Compute error body. */
export class GcpHttpError extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
    readonly errors: GcpErrorItem[],
    readonly status?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): GcpErrorBody {
    return { error: { code: this.httpStatus, message: this.message, errors: this.errors, ...(this.status ? { status: this.status } : {}) } };
  }
}

const simple = (httpStatus: number, reason: string, message: string, domain = 'global', status?: string) =>
  new GcpHttpError(httpStatus, message, [{ message, domain, reason }], status);

/** 404 `notFound`: "The resource 'projects/p/global/networks/x' was not found". */
export const notFound = (resourcePath: string) => simple(404, 'notFound', `The resource '${resourcePath}' was not found`);

/** 409 `alreadyExists`. */
export const alreadyExists = (resourcePath: string) => simple(409, 'alreadyExists', `The resource '${resourcePath}' already exists`);

/** 400 `invalid` with a free message. */
export const invalid = (message: string) => simple(400, 'invalid', message);

/** 400 `invalid`: "Invalid value for field 'resource.ipCidrRange': '10.0.0.1/33'. <detail>". */
export const invalidField = (field: string, value: unknown, detail: string) =>
  invalid(`Invalid value for field '${field}': '${typeof value === 'string' ? value : JSON.stringify(value ?? '')}'. ${detail}`);

/** 400 `required`: "Required field 'resource.name' not specified". */
export const required = (field: string) => simple(400, 'required', `Required field '${field}' not specified`);

/** 400 `badRequest` for a body that is not what the proto message allows (the ESF JSON transcoder's words). */
export const unknownName = (name: string, at: string) =>
  simple(400, 'badRequest', `Invalid JSON payload received. Unknown name "${name}" at '${at}': Cannot find field.`, 'global', 'INVALID_ARGUMENT');

export const badJsonValue = (at: string, type: string, value: unknown) =>
  simple(400, 'badRequest', `Invalid value at '${at}' (${type}), ${JSON.stringify(value)}`, 'global', 'INVALID_ARGUMENT');

export const badJson = (detail: string) => simple(400, 'badRequest', `Invalid JSON payload received. ${detail}`, 'global', 'INVALID_ARGUMENT');

export const unknownQueryParam = (name: string) =>
  simple(400, 'badRequest', `Invalid JSON payload received. Unknown name "${name}": Cannot bind query parameter. Field '${name}' could not be found in request message.`, 'global', 'INVALID_ARGUMENT');

/** 400 `resourceInUseByAnotherResource`. */
export const resourceInUse = (resourcePath: string, kind: string, usedBy: string) =>
  simple(400, 'resourceInUseByAnotherResource', `The ${kind} resource '${resourcePath}' is already being used by '${usedBy}'`);

/** 400 `resourceNotReady`: another operation on the resource is in progress. */
export const resourceNotReady = (resourcePath: string) => simple(400, 'resourceNotReady', `The resource '${resourcePath}' is not ready`);

/** 403 `forbidden`: the caller has no permission on the project. */
export const forbidden = (permission: string, resource: string) =>
  simple(403, 'forbidden', `Required '${permission}' permission for '${resource}'`);

/** 403 `insufficientPermissions`: the token lacks the scopes. */
export const insufficientScopes = () =>
  new GcpHttpError(403, 'Request had insufficient authentication scopes.', [{ message: 'Insufficient Permission', domain: 'global', reason: 'insufficientPermissions' }], 'PERMISSION_DENIED');

const AUTH_HELP = 'Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.';
const WWW_AUTH = { 'WWW-Authenticate': 'Bearer realm="https://accounts.google.com/"' };

/** 401 without an Authorization header. */
export const loginRequired = () =>
  new GcpHttpError(401, `Request is missing required authentication credential. ${AUTH_HELP}`,
    [{ message: 'Login Required.', domain: 'global', reason: 'required', location: 'Authorization', locationType: 'header' }], 'UNAUTHENTICATED', WWW_AUTH);

/** 401 for an unknown or expired bearer token. */
export const invalidCredentials = () =>
  new GcpHttpError(401, `Request had invalid authentication credentials. ${AUTH_HELP}`,
    [{ message: 'Invalid Credentials', domain: 'global', reason: 'authError', location: 'Authorization', locationType: 'header' }], 'UNAUTHENTICATED', WWW_AUTH);

/**
 * 403 `rateLimitExceeded` (domain `usageLimits`): the project's API rate quota — Compute meters reads and writes
 * separately ("Read requests" / "Write requests" per minute).
 */
export const rateLimitExceeded = (projectNumber: string, metric: 'Read requests' | 'Write requests' = 'Read requests') =>
  simple(403, 'rateLimitExceeded',
    `Quota exceeded for quota metric '${metric}' and limit '${metric} per minute' of service 'compute.googleapis.com' for consumer 'project_number:${projectNumber}'.`,
    'usageLimits');

/** 403 `quotaExceeded` (domain `usageLimits`). */
export const quotaExceeded = (message: string) => simple(403, 'quotaExceeded', message, 'usageLimits');

/** 503 `backendError`. */
export const backendError = () =>
  simple(503, 'backendError', 'Internal error. Please try again or contact Google Support. (Code: \'-1234567890123456789\')');

/** An error recorded in a finished operation (`Operation.error.errors[]`). */
export interface OperationErrorItem {
  code: string;
  message: string;
  location?: string;
  errorDetails?: Record<string, unknown>[];
}

export interface OperationFailure {
  errors: OperationErrorItem[];
  httpErrorStatusCode: number;
  httpErrorMessage: string;
}

/** `QUOTA_EXCEEDED` in an operation: "Quota 'CPUS' exceeded.  Limit: 24.0 in region us-east4." */
export function quotaFailure(metric: string, limit: number, region: string | undefined): OperationFailure {
  const where = region ? `in region ${region}` : 'globally';
  return {
    errors: [{
      code: 'QUOTA_EXCEEDED',
      message: `Quota '${metric}' exceeded.  Limit: ${limit.toFixed(1)} ${where}.`,
      errorDetails: [{
        quotaInfo: {
          metricName: `compute.googleapis.com/${metric.toLowerCase()}`,
          limitName: region ? `${metric}-per-project-region` : `${metric}-per-project`,
          limit,
          ...(region ? { dimensions: { region } } : {}),
        },
      }],
    }],
    httpErrorStatusCode: 403,
    httpErrorMessage: 'FORBIDDEN',
  };
}

/** `ZONE_RESOURCE_POOL_EXHAUSTED` in an operation. */
export function capacityFailure(zoneOrRegionPath: string): OperationFailure {
  return {
    errors: [{
      code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
      message: `The zone '${zoneOrRegionPath}' does not have enough resources available to fulfill the request.  Try a different zone, or try again later.`,
    }],
    httpErrorStatusCode: 503,
    httpErrorMessage: 'SERVICE UNAVAILABLE',
  };
}
