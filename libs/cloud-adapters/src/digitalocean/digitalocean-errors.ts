import { CloudError, CloudErrorKind } from '../errors';

/**
 * DigitalOcean API v2 failures → `CloudError`.
 *
 * DigitalOcean answers errors as HTTP status + `{"id": "...", "message": "..."}` (reference:
 * https://docs.digitalocean.com/reference/api/api-reference/#section/Introduction/HTTP-Statuses). The `id` is coarse:
 * quota ("droplet limit") and capacity ("Size is not available in this region.") failures are both
 * `422 unprocessable_entity`, as are VPC range/name clashes. DigitalOcean gives nothing finer, so for 422 (and 403)
 * the kind is chosen from `id` plus the message text — this is the one place that reads message text; callers branch
 * on `CloudError.kind` only.
 */

/** What this module needs of an axios error (dots-wrapper's transport), narrowed structurally. */
interface HttpErrorLike {
  isAxiosError: true;
  message: string;
  code?: string;
  response?: { status: number; data?: unknown; headers?: unknown };
}

function asHttpError(e: unknown): HttpErrorLike | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const x = e as { isAxiosError?: unknown; message?: unknown };
  return x.isAxiosError === true && typeof x.message === 'string' ? (e as HttpErrorLike) : undefined;
}

const QUOTA_RE = /exceed(?:s|ed)?\b.*\blimit|\blimit\b.*\b(?:exceeded|reached)|quota/i;
const CAPACITY_RE = /not available in this region|unavailable in this region|insufficient capacity|out of capacity/i;
const CONFLICT_RE = /overlap|already exists|already in use|already taken|pending event|with members/i;

/** The kind of a DigitalOcean failure from HTTP status (undefined: no answer), error `id` and message. */
export function classifyDigitalOceanError(status: number | undefined, id: string, message: string): CloudErrorKind {
  if (status === undefined) return 'Unavailable';
  if (status === 401) return 'InvalidCredentials';
  if (status === 403) return CONFLICT_RE.test(message) || /default vpc/i.test(message) ? 'Conflict' : 'InvalidCredentials';
  if (status === 404) return 'NotFound';
  if (status === 409 || status === 412 || status === 423) return 'Conflict';
  if (status === 429) return 'Throttled';
  if (status === 422) {
    if (QUOTA_RE.test(message)) return 'QuotaExceeded';
    if (CAPACITY_RE.test(message)) return 'InsufficientCapacity';
    if (CONFLICT_RE.test(message)) return 'Conflict';
    return 'InvalidRequest';
  }
  if (status >= 500) return 'Unavailable';
  if (id === 'too_many_requests') return 'Throttled';
  return 'InvalidRequest';
}

/**
 * A `CloudError` for an HTTP failure from dots-wrapper (axios), or undefined when `e` is not one (a programming
 * error, which callers rethrow as is). No answer at all (refused, reset, timed out) is `Unavailable`.
 */
export function toCloudError(e: unknown): CloudError | undefined {
  if (e instanceof CloudError) return e;
  const h = asHttpError(e);
  if (!h) return undefined;
  const status = h.response?.status;
  const data = h.response?.data;
  const body = typeof data === 'object' && data !== null ? (data as { id?: unknown; message?: unknown }) : {};
  const id = typeof body.id === 'string' ? body.id : status !== undefined ? `http_${status}` : (h.code ?? 'network_error');
  const message = typeof body.message === 'string' ? body.message : h.message;
  return new CloudError(classifyDigitalOceanError(status, id, message), 'digitalocean', id, message, { cause: e });
}

const MISSING_REFERENCE_RE = /does not exist|not found|is not a VPC/i;

/**
 * True when DigitalOcean refused a create because something it names is unknown — a tag a firewall targets, the VPC
 * of a Droplet (`422 unprocessable_entity`, "tag … does not exist", "vpc_uuid … is not a VPC network"), or a 404.
 * Right after that tag or VPC was made this is eventual consistency, worth retrying within the window.
 */
export function isMissingReference(e: unknown): boolean {
  if (!(e instanceof CloudError) || e.cloud !== 'digitalocean') return false;
  return e.kind === 'NotFound' || (e.kind === 'InvalidRequest' && MISSING_REFERENCE_RE.test(e.message));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
