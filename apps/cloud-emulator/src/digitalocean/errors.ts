import type { FaultKind, Operation } from '../core/types';

/**
 * An API v2 error, answered as DigitalOcean does: HTTP status plus `{"id": "...", "message": "...", "request_id": "..."}`.
 * Reference: https://docs.digitalocean.com/reference/api/api-reference/#section/Introduction/HTTP-Statuses
 */
export class DoApiError extends Error {
  constructor(
    public readonly status: number,
    public readonly id: string,
    message: string,
    public readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'DoApiError';
  }
}

export const NOT_FOUND_MESSAGE = 'The resource you were accessing could not be found.';

export const notFound = (): DoApiError => new DoApiError(404, 'not_found', NOT_FOUND_MESSAGE);
export const unauthorized = (): DoApiError => new DoApiError(401, 'unauthorized', 'Unable to authenticate you');
export const unprocessable = (message: string): DoApiError => new DoApiError(422, 'unprocessable_entity', message);
export const badRequest = (message: string): DoApiError => new DoApiError(400, 'bad_request', message);
export const forbidden = (message: string): DoApiError => new DoApiError(403, 'forbidden', message);
export const conflict = (message: string): DoApiError => new DoApiError(409, 'conflict', message);
export const tooManyRequests = (): DoApiError => new DoApiError(429, 'too_many_requests', 'API Rate limit exceeded.');
export const serverError = (): DoApiError => new DoApiError(500, 'server_error', 'Server was unable to give you a response.');

/** The messages DigitalOcean gives for "over the account limit" per resource type. */
const QUOTA_MESSAGES: Partial<Record<Operation, string>> = {
  'instance.create': 'creating this/these droplet(s) will exceed your droplet limit',
  'network.create': 'creating this VPC will exceed your VPC network limit',
  'firewall.create': 'creating this firewall will exceed your firewall limit',
};

/** The messages DigitalOcean gives when a region cannot serve the request (capacity). */
const CAPACITY_MESSAGES: Partial<Record<Operation, string>> = {
  'instance.create': 'Size is not available in this region.',
  'network.create': 'VPC networks are not available in this region.',
};

/** An injected fault, in DigitalOcean's own error shape. */
export function faultError(kind: FaultKind, op: Operation): DoApiError {
  switch (kind) {
    case 'throttle':
      return tooManyRequests();
    case 'server-error':
      return serverError();
    case 'quota':
      return unprocessable(QUOTA_MESSAGES[op] ?? 'this request will exceed your account limit');
    case 'capacity':
      return unprocessable(CAPACITY_MESSAGES[op] ?? 'This resource is not available in this region.');
  }
}
