import { StatusBody } from './types';

/**
 * `StatusReason` values and their HTTP codes, as kube-apiserver returns them (source: API conventions,
 * https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md
 * "HTTP Status codes" and k8s.io/apimachinery/pkg/api/errors).
 */
export type StatusReason =
  | 'BadRequest' | 'Unauthorized' | 'Forbidden' | 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Gone' | 'Expired' | 'Invalid'
  | 'MethodNotAllowed' | 'NotAcceptable' | 'UnsupportedMediaType' | 'TooManyRequests' | 'InternalError' | 'Timeout' | 'ServiceUnavailable'
  /** No reason (StatusReasonUnknown): a Failure `Status` a handler returned as its result (finisher.go makes it the error), or an error that is no Status (ErrorToAPIStatus). */
  | '';

/**
 * An error that the HTTP layer turns into a `Status` body with `code` and `reason`. Thrown by the store and the
 * handlers; anything else reaching the HTTP layer is a 500 InternalError.
 */
export class KubeApiError extends Error {
  constructor(readonly code: number, readonly reason: StatusReason, message: string, readonly details?: StatusBody['details']) {
    super(message);
    this.name = 'KubeApiError';
  }

  /** The `Status` body (kind Status, status Failure); no `reason` when it is ''. */
  toStatus(): StatusBody {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, ...(this.reason ? { reason: this.reason } : {}), ...(this.details ? { details: this.details } : {}), code: this.code };
  }
}

/** `<resource>.<group>` as kube-apiserver names a resource in messages (`deployments.apps`, `pods`). */
export function qualified(group: string, resource: string): string {
  return group ? `${resource}.${group}` : resource;
}

/** 404 NotFound: `pods "x" not found`. */
export function notFound(group: string, resource: string, name: string): KubeApiError {
  return new KubeApiError(404, 'NotFound', `${qualified(group, resource)} "${name}" not found`, { name, group, kind: resource });
}

/** 409 AlreadyExists: `pods "x" already exists`. */
export function alreadyExists(group: string, resource: string, name: string): KubeApiError {
  return new KubeApiError(409, 'AlreadyExists', `${qualified(group, resource)} "${name}" already exists`, { name, group, kind: resource });
}

/**
 * 409 Conflict for a stale `metadata.resourceVersion`, with kube-apiserver's message (source: API conventions,
 * "Concurrency Control and Consistency").
 */
export function conflict(group: string, resource: string, name: string): KubeApiError {
  return new KubeApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(group, resource)} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, group, kind: resource });
}

/** 410 Expired: the requested resourceVersion is older than the watch history (source: "API Concepts", "Efficient detection of changes"). */
export function expired(requested: number, oldest: number): KubeApiError {
  return new KubeApiError(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}

/** 422 Invalid with one cause per field (source: API conventions, "HTTP Status codes": 422 StatusUnprocessableEntity). */
export function invalid(kind: string, group: string, name: string, causes: { field: string; message: string }[]): KubeApiError {
  const text = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
  return new KubeApiError(422, 'Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${text}`, {
    name, group, kind, causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })),
  });
}

/** 400 BadRequest. */
export function badRequest(message: string): KubeApiError {
  return new KubeApiError(400, 'BadRequest', message);
}
