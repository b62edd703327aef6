import type { CloudContext, Operation as LatencyOp } from '../core/types';
import { isVisible } from '../core/consistency';
import type { Account, AzureState, Operation, ResourceGroup } from './state';

/** One authenticated ARM call, after routing. `now` is fixed for the whole call so every answer is consistent. */
export interface Call {
  method: string;
  /** `https://host:port` as the client reached us; used in Azure-AsyncOperation / Location / nextLink URLs. */
  base: string;
  /** The request's path and query as received. */
  url: string;
  apiVersion: string;
  query: Record<string, string | undefined>;
  body: unknown;
  account: Account;
  now: number;
  /** The sandbox clock at the start of the call: new resources' `createdAtMs`. */
  clock: number;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Env {
  state: AzureState;
  ctx: CloudContext;
}

export const PAGE_SIZE = 100;

/**
 * Eventual consistency: whether reads (GET, HEAD, lists) may see a resource or group yet. An unseen one answers
 * exactly as a missing one (404 `ResourceNotFound` / `ResourceGroupNotFound`, left out of lists).
 */
export const seen = (env: Env, r: { createdAtMs: number } | undefined): boolean => r !== undefined && isVisible(env.ctx, 'azure', r.createdAtMs);

/** Pages a listing as ARM does: `{ value, nextLink }`, `nextLink` carrying `$skiptoken`. */
export function page<T>(call: Call, path: string, items: T[]): Reply {
  const skip = Number(call.query.$skiptoken ?? '0') || 0;
  const top = call.query.$top !== undefined ? Number(call.query.$top) : undefined;
  if (top !== undefined) return { status: 200, body: { value: items.slice(0, top) } };
  const slice = items.slice(skip, skip + PAGE_SIZE);
  const body: { value: T[]; nextLink?: string } = { value: slice };
  if (skip + PAGE_SIZE < items.length) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(call.query)) if (v !== undefined && k !== '$skiptoken') q.set(k, v);
    q.set('$skiptoken', String(skip + PAGE_SIZE));
    body.nextLink = `${call.base}${path}?${q.toString()}`;
  }
  return { status: 200, body };
}

/** The status monitor URL of an RP's long-running operation (`Azure-AsyncOperation`). */
export const asyncOperationUrl = (call: Call, ns: string, location: string, op: Operation): string =>
  `${call.base}/subscriptions/${call.account.subscriptionId}/providers/${ns}/locations/${location}/operations/${op.id}?api-version=${call.apiVersion}`;

/** The `Location` URL of an RP's long-running operation (202 while running, then the result). */
export const operationResultUrl = (call: Call, ns: string, location: string, op: Operation): string =>
  `${call.base}/subscriptions/${call.account.subscriptionId}/providers/${ns}/locations/${location}/operationResults/${op.id}?api-version=${call.apiVersion}`;

/** 202 Accepted for a DELETE, with both polling headers (Network and Compute RPs send both). */
export function deleteAccepted(call: Call, ns: string, location: string, op: Operation): Reply {
  return {
    status: 202,
    headers: { 'Azure-AsyncOperation': asyncOperationUrl(call, ns, location, op), Location: operationResultUrl(call, ns, location, op) },
  };
}

/** Starts a long-running operation lasting the latency of `op`, and runs `done` (if any) when it completes. */
export function startOperation(env: Env, call: Call, op: LatencyOp, done?: () => void): Operation {
  const o = env.state.newOperation(call.account.subscriptionId, env.ctx.latencyMs(op), call.now);
  if (done) env.state.scheduler.schedule(o.doneAt, done);
  return o;
}

/** Resource group id in ARM's casing. */
export const groupId = (g: ResourceGroup): string => `/subscriptions/${g.subscriptionId}/resourceGroups/${g.name}`;

export const eqi = (a: string | undefined, b: string | undefined): boolean =>
  a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

/** Tags as ARM renders them: omitted when empty (Network/Compute RPs), or always (Resources). */
export const tagsField = (tags: Record<string, string>): { tags?: Record<string, string> } => (Object.keys(tags).length ? { tags: { ...tags } } : {});

/**
 * A time as the Compute RP writes it (`timeCreated`, instance view `time`, LRO `startTime`): seven fractional digits
 * and an explicit offset, `2025-10-01T12:34:56.1230000+00:00` (the sandbox clock has milliseconds).
 */
export const computeTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, (_, f: string) => `.${f}0000+00:00`);

/** A time as ARM's core writes it (Resources - List `createdTime`): seven fractional digits, `Z`. */
export const armTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, (_, f: string) => `.${f}0000Z`);
