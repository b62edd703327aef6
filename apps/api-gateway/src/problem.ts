import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { Response } from 'express';
import { STATUS_CODES } from 'node:http';
import type { ValidationError } from 'class-validator';
import type { Logger } from '@skyweave/service-kit';

/** One broken rule of a request: the field (dotted path), the rule's id, a sentence. */
export interface Violation { field: string; rule: string; message: string }

/** Base of Skyweave's problem types (RFC 9457 `type` URIs). */
export const PROBLEM_BASE = 'https://skyweave.dev/problems/';

/**
 * An RFC 9457 problem. `type` is a short id turned into a URI (`validation-failed` →
 * https://skyweave.dev/problems/validation-failed); `errors` lists each violated rule with its field.
 */
export class Problem extends HttpException {
  constructor(
    status: number,
    public readonly problemType: string,
    public readonly title: string,
    detail: string,
    public readonly errors?: Violation[],
    public readonly headers: Record<string, string> = {},
    /** RFC 9457 extension members added to the body (e.g. `quota`); never `type`, `title`, `status`, `detail`. */
    public readonly extensions?: Record<string, unknown>,
  ) {
    super(detail, status);
  }

  static validation(errors: Violation[]): Problem {
    return new Problem(HttpStatus.UNPROCESSABLE_ENTITY, 'validation-failed', 'The request is not valid', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
  }
  static notFound(what: string): Problem {
    return new Problem(HttpStatus.NOT_FOUND, 'not-found', 'Not found', `${what} does not exist`);
  }
  static unauthorized(detail: string): Problem {
    return new Problem(HttpStatus.UNAUTHORIZED, 'unauthorized', 'Unauthorized', detail, undefined, { 'www-authenticate': 'Bearer' });
  }
}

/** Flattens class-validator errors into violations with dotted field paths and the constraint name as rule. */
export function toViolations(errors: ValidationError[], prefix = ''): Violation[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.entries(e.constraints ?? {}).map(([rule, message]) => ({ field, rule, message }));
    return [...own, ...toViolations(e.children ?? [], field)];
  });
}

/**
 * A request URL as it may be logged: Skyweave's secrets in the path (an invitation token in
 * `/v1/invitations/{token}/accept`, or any `sw?_…` token) and the OIDC callback's one-time `code` and `state` are
 * replaced by `***`.
 */
export function redactUrl(url: string): string {
  return url.replace(/\b(sw[a-z]{1,3})_[A-Za-z0-9_-]+/g, '$1_***').replace(/([?&](?:code|state|session_state)=)[^&#]*/g, '$1***');
}

/** The RFC 9457 body of a Problem (without `instance`). */
export function problemBody(p: Problem): Record<string, unknown> {
  const status = p.getStatus();
  return { ...p.extensions, type: PROBLEM_BASE + p.problemType, title: p.title, status, detail: p.message, ...(p.errors ? { errors: p.errors } : {}) };
}

/** Writes a problem as `application/problem+json` with `instance` = the request's URL (also used by Express middleware); nothing when an answer was sent already. */
export function sendProblem(res: Response, url: string, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  // answered already (a request the HTTP parser refused mid-way: client-errors.ts): the first answer stands
  if (res.headersSent) return;
  res.status(status).set({ ...headers, 'content-type': 'application/problem+json' }).send(JSON.stringify({ ...body, instance: url }));
}

/** Renders every error as `application/problem+json`. Unknown errors are 500 with no internals in the body. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(private readonly log: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    // answered already (the HTTP parser refused the rest of the request: client-errors.ts); a late write failed
    if (res.headersSent) return;
    const req = host.switchToHttp().getRequest<{ url: string; method: string }>();
    let body: Record<string, unknown>;
    let status: number;
    let headers: Record<string, string> = {};
    if (exception instanceof Problem) {
      status = exception.getStatus();
      body = problemBody(exception);
      headers = exception.headers;
    } else if (exception instanceof HttpException) {
      // Nest's own errors (unknown route 404 …)
      status = exception.getStatus();
      const r = exception.getResponse();
      const detail = typeof r === 'string' ? r : String((r as { message?: unknown }).message ?? exception.message);
      const type = ({ 400: 'malformed-request', 404: 'not-found', 413: 'payload-too-large' } as Record<number, string>)[status] ?? `http-${status}`;
      body = { type: PROBLEM_BASE + type, title: STATUS_CODES[status] ?? 'Error', status, detail };
    } else {
      status = 500;
      this.log.error({ err: (exception as Error)?.message, stack: (exception as Error)?.stack, method: req.method, url: redactUrl(req.url) }, 'unhandled error');
      body = { type: PROBLEM_BASE + 'internal', title: 'Internal error', status, detail: 'An unexpected error occurred; it has been logged.' };
    }
    sendProblem(res, req.url, status, body, headers);
  }
}
