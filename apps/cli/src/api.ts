import { randomUUID } from 'node:crypto';
import { CliError, ExitCode, ExitCodeValue } from './errors';
import type { Target } from './config';

/** One broken rule of an RFC 9457 problem from the API. */
export interface Violation { field: string; rule: string; message: string }
/** An RFC 9457 problem body (the API answers every 4xx/5xx with one). */
export interface ProblemBody { type?: string; title?: string; status?: number; detail?: string; errors?: Violation[]; instance?: string }

/** A refusal by the API: the HTTP status and the problem it sent (or the text, for a non-problem answer). */
export class ApiError extends CliError {
  constructor(readonly method: string, readonly path: string, readonly status: number, readonly problem: ProblemBody | undefined, text: string) {
    super(formatProblem(method, path, status, problem, text), exitCodeOf(status, problem));
  }
}

/** 401 → 3; 403 → 3 unless it is a quota (`quota-exceeded`: 1); 404 → 4; anything else → 1. */
export function exitCodeOf(status: number, problem?: ProblemBody): ExitCodeValue {
  if (status === 401) return ExitCode.Auth;
  if (status === 403) return problem?.type?.endsWith('/quota-exceeded') ? ExitCode.Failure : ExitCode.Auth;
  if (status === 404) return ExitCode.NotFound;
  return ExitCode.Failure;
}

/**
 * A problem as a person reads it:
 *   Error: The request is not valid (422, POST /v1/clusters)
 *     controlPlane.count: count must be 1 or 3 (etcd quorum)  [isIn]
 */
export function formatProblem(method: string, path: string, status: number, problem: ProblemBody | undefined, text = ''): string {
  const title = problem?.title ?? (text.trim().slice(0, 300) || 'no answer body');
  const lines = [`${title} (${status}, ${method} ${path})`];
  if (problem?.errors?.length) {
    for (const e of problem.errors) lines.push(`  ${e.field}: ${e.message}  [${e.rule}]`);
  } else if (problem?.detail) {
    lines.push(`  ${problem.detail}`);
  }
  if (status === 401) lines.push('  log in again with `skyweave login` (or check SKYWEAVE_API_KEY)');
  return lines.join('\n');
}

export interface RequestOptions { body?: unknown; query?: Record<string, string | number | undefined>; accept?: string; timeoutMs?: number }

const RETRIED_STATUSES = new Set([429, 502, 503, 504]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The public API over HTTP (`Authorization: Bearer <key>`). Writes carry an `Idempotency-Key`, so a request repeated
 * after a lost answer, a 429 or a 503 runs once; such answers are retried (honouring `Retry-After`) up to 4 times.
 */
export class Api {
  constructor(readonly target: Target, private readonly fetchImpl: typeof fetch = fetch) {}

  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const { text, res } = await this.raw(method, path, o);
    const type = res.headers.get('content-type') ?? '';
    if (!text) return undefined as T;
    return (type.includes('json') ? JSON.parse(text) : text) as T;
  }

  get<T>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  /** The answer's text and response; @throws ApiError for a non-2xx answer, CliError when the API cannot be reached. */
  async raw(method: string, path: string, o: RequestOptions = {}): Promise<{ text: string; res: Response }> {
    const qs = Object.entries(o.query ?? {}).filter(([, v]) => v !== undefined).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&');
    const url = `${this.target.apiUrl}${path}${qs ? `?${qs}` : ''}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.target.apiKey}`, accept: o.accept ?? 'application/json', 'user-agent': 'skyweave-cli' };
    if (o.body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET') headers['idempotency-key'] = `cli-${randomUUID()}`;
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetchImpl(url, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body), signal: AbortSignal.timeout(o.timeoutMs ?? 60_000) });
      } catch (e) {
        if (attempt < 3) { await sleep(500 * attempt); continue; }
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        throw new CliError(`cannot reach the API at ${this.target.apiUrl} (${cause?.code ?? cause?.message ?? (e as Error).message})`);
      }
      const text = await res.text();
      if (res.ok) return { text, res };
      if (RETRIED_STATUSES.has(res.status) && attempt <= 4) {
        const after = Number(res.headers.get('retry-after'));
        await sleep(Number.isFinite(after) && after > 0 ? Math.min(after, 30) * 1000 : 1000 * attempt);
        continue;
      }
      let problem: ProblemBody | undefined;
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed && typeof parsed === 'object') problem = parsed as ProblemBody;
      } catch {
        problem = undefined;
      }
      throw new ApiError(method, path, res.status, problem, text);
    }
  }
}
