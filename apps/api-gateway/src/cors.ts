import type { RequestHandler } from 'express';
import { PROBLEM_BASE, sendProblem } from './problem';

/** Methods the console may use across origins. */
export const CORS_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
/** Request headers the console may send across origins (lower case). */
export const CORS_REQUEST_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'x-csrf-token', 'x-skyweave-organisation', 'last-event-id'] as const;
/** Response headers the console may read beyond the CORS-safelisted ones. */
export const CORS_EXPOSED_HEADERS = ['ETag', 'Location', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset'] as const;
/** How long a browser may cache a preflight answer, seconds. */
export const CORS_MAX_AGE_SECONDS = 600;

/**
 * The gateway's CORS policy (issue 10): only `consoleOrigin` (SKYWEAVE_CONSOLE_ORIGIN, an exact origin) may call the
 * API from a browser, with credentials, the methods CORS_METHODS and the request headers CORS_REQUEST_HEADERS; it
 * may read CORS_EXPOSED_HEADERS. Without `consoleOrigin` no response carries CORS headers.
 * A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered here: 204 with the policy for
 * the console's origin asking for allowed methods and headers, otherwise 403 problem `cors-refused` naming what was
 * refused (and every preflight is refused when no origin is configured). Mount before anything else that answers.
 */
export function corsPolicy(consoleOrigin: string | undefined): RequestHandler {
  const methods = new Set<string>(CORS_METHODS);
  const headers = new Set<string>(CORS_REQUEST_HEADERS);
  return (req, res, next) => {
    const origin = req.headers.origin;
    const askedMethod = req.headers['access-control-request-method'];
    const preflight = req.method === 'OPTIONS' && origin !== undefined && askedMethod !== undefined;
    const allowed = consoleOrigin !== undefined && origin === consoleOrigin;
    if (consoleOrigin !== undefined) res.vary('Origin');
    if (allowed) {
      res.setHeader('access-control-allow-origin', consoleOrigin);
      res.setHeader('access-control-allow-credentials', 'true');
      if (!preflight) res.setHeader('access-control-expose-headers', CORS_EXPOSED_HEADERS.join(', '));
    }
    if (!preflight) return next();
    const askedHeaders = String(req.headers['access-control-request-headers'] ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
    const refuse = (detail: string) => {
      for (const h of ['access-control-allow-origin', 'access-control-allow-credentials']) res.removeHeader(h);
      sendProblem(res, req.originalUrl, 403, { type: PROBLEM_BASE + 'cors-refused', title: 'Cross-origin request refused', status: 403, detail });
    };
    if (!allowed) return refuse(consoleOrigin === undefined ? 'this API allows no cross-origin requests' : `origin ${origin} may not call this API; only the console's origin may`);
    if (!methods.has(String(askedMethod).toUpperCase())) return refuse(`method ${askedMethod} is not allowed across origins; allowed: ${CORS_METHODS.join(', ')}`);
    const bad = askedHeaders.filter((h) => !headers.has(h));
    if (bad.length) return refuse(`request header(s) ${bad.join(', ')} not allowed across origins; allowed: ${CORS_REQUEST_HEADERS.join(', ')}`);
    res.setHeader('access-control-allow-methods', CORS_METHODS.join(', '));
    res.setHeader('access-control-allow-headers', CORS_REQUEST_HEADERS.join(', '));
    res.setHeader('access-control-max-age', String(CORS_MAX_AGE_SECONDS));
    res.status(204).end();
  };
}
