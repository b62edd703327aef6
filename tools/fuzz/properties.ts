import type { FuzzResponse, SentRequest } from './target';

/** A 5xx that is the gateway's fault: any, except a 503 carrying `Retry-After` (unavailable for now, retry then). */
export function isServerError(res: Pick<FuzzResponse, 'status' | 'headers'>): boolean {
  return res.status >= 500 && !(res.status === 503 && res.headers['retry-after'] !== undefined);
}

/**
 * What every answer of the gateway must satisfy, whatever was asked (issue 10, "tests that attack"):
 * - no 5xx, except a 503 with `Retry-After` (RFC 9110 §15.6.4: a dependency — e.g. the cluster's own Kubernetes API,
 *   which the fuzz target's clusters do not have — is unavailable and the client is told when to retry), which must be
 *   a problem like a 4xx ({@link isServerError});
 * - every 4xx is an RFC 9457 problem: `content-type: application/problem+json`, a JSON body with string `type` and
 *   `title` and `status` equal to the HTTP status (HEAD answers have no body: the content type alone);
 * - a 401 carries `WWW-Authenticate` (RFC 9110 §11.6.1);
 * - a method the path is not served with answers 405 with `Allow` listing exactly the path's methods (and HEAD with
 *   GET, OPTIONS), or, for OPTIONS, 2xx with that `Allow`; a method it is served with never answers 405.
 * @param served the methods the route table serves at the request's path (empty: an unknown path).
 * @returns the broken rules, one sentence each (empty: all hold).
 */
export function violations(req: SentRequest, res: FuzzResponse, served: Set<string>): string[] {
  const out: string[] = [];
  const { status } = res;
  if (isServerError(res)) out.push(`answered ${status}`);
  if ((status >= 400 && status < 500) || status === 503) {
    const type = String(res.headers['content-type'] ?? '');
    if (!type.startsWith('application/problem+json')) out.push(`${status} with content-type "${type}", not application/problem+json`);
    else if (req.method !== 'HEAD') {
      let body: Record<string, unknown> | undefined;
      try {
        const parsed: unknown = JSON.parse(res.body);
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
      } catch {
        /* reported below */
      }
      if (!body) out.push(`${status} problem body is not a JSON object: ${res.body.slice(0, 120)}`);
      else {
        if (typeof body.type !== 'string') out.push(`${status} problem without a string "type"`);
        if (typeof body.title !== 'string') out.push(`${status} problem without a string "title"`);
        if (body.status !== status) out.push(`problem "status" ${JSON.stringify(body.status)} differs from the HTTP status ${status}`);
      }
    }
  }
  if (status === 401 && !res.headers['www-authenticate']) out.push('401 without WWW-Authenticate');
  // a request broken below HTTP semantics, with headers over the limit or an unsupported expectation is refused
  // before routing, whatever its method
  if (served.size > 0 && !req.wire && status !== 417 && status !== 431) {
    const expected = new Set(served);
    if (expected.has('GET')) expected.add('HEAD');
    expected.add('OPTIONS');
    const allow = String(res.headers.allow ?? '').split(',').map((m) => m.trim()).filter(Boolean);
    const sameAllow = allow.length === expected.size && allow.every((m) => expected.has(m));
    if (!expected.has(req.method) || (req.method === 'OPTIONS' && !served.has('OPTIONS'))) {
      if (req.method === 'OPTIONS') {
        if (status >= 300 || !sameAllow) out.push(`OPTIONS answered ${status} with Allow "${allow.join(', ')}"; expected 2xx with Allow ${[...expected].sort().join(', ')}`);
      } else if (status !== 405 || !sameAllow) {
        out.push(`${req.method} is not served here: expected 405 with Allow ${[...expected].sort().join(', ')}, got ${status} with Allow "${allow.join(', ')}"`);
      }
    } else if (status === 405) out.push(`${req.method} is served here, but answered 405`);
  }
  return out;
}
