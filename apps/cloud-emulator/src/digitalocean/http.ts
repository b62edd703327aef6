import type { Request } from 'express';
import { badRequest } from './errors';

/** First value of a query parameter, or undefined. */
export function queryParam(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
}

/** DigitalOcean pages hold at most 200 items; the default page size is 20. */
export const MAX_PER_PAGE = 200;
export const DEFAULT_PER_PAGE = 20;

function positiveInt(req: Request, name: string, fallback: number): number {
  const raw = queryParam(req, name);
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw badRequest(`${name} must be a positive integer`);
  const n = Number(raw);
  return n < 1 ? fallback : n;
}

/**
 * One page of a list, in DigitalOcean's envelope: `{"<key>": [...], "links": {"pages": {first, prev, next, last}}, "meta": {"total": N}}`.
 * `per_page` above 200 is capped at 200, as DigitalOcean does. Page links are absolute and keep the other query parameters.
 */
export function paginate<T>(req: Request, key: string, items: readonly T[], render: (t: T) => unknown): Record<string, unknown> {
  const perPage = Math.min(positiveInt(req, 'per_page', DEFAULT_PER_PAGE), MAX_PER_PAGE);
  const page = positiveInt(req, 'page', 1);
  const total = items.length;
  const lastPage = Math.max(1, Math.ceil(total / perPage));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const base = `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}${req.path}`;
  const link = (p: number): string => {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query as Record<string, unknown>)) {
      if (k !== 'page' && k !== 'per_page' && typeof v === 'string') qs.set(k, v);
    }
    qs.set('page', String(p));
    qs.set('per_page', String(perPage));
    return `${base}?${qs.toString()}`;
  };
  const pages: Record<string, string> = {};
  if (page > 1) {
    pages.first = link(1);
    pages.prev = link(Math.min(page - 1, lastPage));
  }
  if (page < lastPage) {
    pages.next = link(page + 1);
    pages.last = link(lastPage);
  }
  return { [key]: slice.map(render), links: Object.keys(pages).length > 0 ? { pages } : {}, meta: { total } };
}

/**
 * DigitalOcean's rate limits per token: 5,000 requests per hour and 250 per minute. Every answer carries
 * `ratelimit-limit`, `ratelimit-remaining` and `ratelimit-reset` (Unix time when the oldest counted request expires).
 * Reference: https://docs.digitalocean.com/reference/api/api-reference/#section/Introduction/Rate-Limit
 */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(private readonly opts: { perHour: number; perMinute: number; enforce: boolean }) {}

  /** Counts one request; `exceeded` only when enforcement is on and a limit is reached. */
  hit(token: string, at = Date.now()): { headers: Record<string, string>; exceeded: boolean } {
    const hour = (this.hits.get(token) ?? []).filter((t) => t > at - 3_600_000);
    const minute = hour.filter((t) => t > at - 60_000).length;
    const exceeded = this.opts.enforce && (hour.length >= this.opts.perHour || minute >= this.opts.perMinute);
    if (!exceeded) hour.push(at);
    this.hits.set(token, hour);
    const oldest = hour[0] ?? at;
    const remaining = exceeded ? 0 : Math.max(0, this.opts.perHour - hour.length);
    const reset = Math.ceil((exceeded && minute >= this.opts.perMinute ? (hour.find((t) => t > at - 60_000) ?? at) + 60_000 : oldest + 3_600_000) / 1000);
    return {
      headers: { 'ratelimit-limit': String(this.opts.perHour), 'ratelimit-remaining': String(remaining), 'ratelimit-reset': String(reset) },
      exceeded,
    };
  }
}
