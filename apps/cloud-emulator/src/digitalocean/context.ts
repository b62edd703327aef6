import type { Request } from 'express';
import type { Operation } from '../core/types';
import { notFound } from './errors';
import { paginate, queryParam } from './http';
import type { Account } from './model';
import type { DoState } from './state';
import { asBody, Body } from './validation';

/** One API v2 call being handled: the caller's account, the shared state, the route's path parameters. */
export interface RouteContext {
  req: Request;
  account: Account;
  state: DoState;
  /** Path parameters of the route pattern (`:id` → `params.id`), URL-decoded. */
  params: Record<string, string>;
}

/** What a handler answers: a status (200 unless given) and a JSON body; no body is `204 No Content`. */
export interface Reply {
  status?: number;
  body?: unknown;
}

/**
 * A call of DigitalOcean API v2 that the sandbox serves, keyed in the table by `<METHOD> <route pattern>`
 * (`GET /v2/droplets/:id`) — the call name counted by `countCall` (core/calls.ts).
 * - `op`: the sandbox operation whose injected faults and latency apply (`read`, `instance.create` …); none for calls
 *   that take neither (tag writes).
 */
export interface RouteDef {
  op?: Operation;
  run(c: RouteContext): Reply;
}

export type RouteTable = Record<string, RouteDef>;

/** The request body as an object (400 `bad_request` when it is JSON of another type). */
export const bodyOf = (c: RouteContext): Body => asBody(c.req.body);

/** First value of a query parameter. */
export const query = (c: RouteContext, name: string): string | undefined => queryParam(c.req, name);

/** One page of a list in DigitalOcean's envelope (`{"<key>": [...], "links": {...}, "meta": {"total": N}}`). */
export const page = <T>(c: RouteContext, key: string, items: readonly T[], render: (t: T) => unknown): Reply => ({ body: paginate(c.req, key, items, render) });

/** `https://host` of the request, for absolute links (`links.actions[].href`). */
export const origin = (c: RouteContext): string => `${c.req.protocol}://${c.req.get('host') ?? 'localhost'}`;

/** A numeric id path parameter (Droplets, actions, keys): anything else is a resource that cannot exist (404). */
export function intParam(c: RouteContext, name: string): number {
  const raw = c.params[name] ?? '';
  if (!/^\d{1,15}$/.test(raw)) throw notFound();
  return Number(raw);
}
