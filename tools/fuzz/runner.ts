import * as http from 'node:http';
import fc from 'fast-check';
import { type FuzzCase, requestArbitrary } from './arbitraries';
import { isServerError, violations } from './properties';
import { type FuzzRoute, type OpenApiDocument, methodsAt, routesFromOpenApi } from './routes';
import { type FuzzResponse, type FuzzTarget, type SentRequest, materialise, send } from './target';

/** One request that broke a property: what was sent (secrets described, body as sent), what came back, which rules. */
export interface FuzzFailure { run: number; request: SentRequest; status: number; responseBody: string; rules: string[] }

/** The outcome of a run. `shrunk` is the smallest request fast-check found that breaks the first failure's rules. */
export interface FuzzReport {
  seed: number;
  /** Requests of the run (not counting those sent while shrinking). */
  requests: number;
  fiveXx: number;
  routes: number;
  failures: FuzzFailure[];
  shrunk?: FuzzFailure;
  /** Requests per route (`METHOD /template`). */
  perRoute: Map<string, number>;
  /** Answers per HTTP status (0: no answer). */
  perStatus: Map<number, number>;
}

export interface FuzzOptions {
  runs: number;
  seed: number;
  /** Called with progress and failure lines. */
  log?: (line: string) => void;
  /** At most this many failures are kept (all are counted in `fiveXx`). */
  keepFailures?: number;
}

/** Every route to attack: the OpenAPI document's (`GET /docs/openapi.json`) and the target's agent routes. */
export async function fuzzRoutes(target: FuzzTarget): Promise<FuzzRoute[]> {
  const res = await fetch(`${target.baseUrl}/docs/openapi.json`);
  if (!res.ok) throw new Error(`GET /docs/openapi.json answered ${res.status}`);
  return [...routesFromOpenApi((await res.json()) as OpenApiDocument), ...target.agentRoutes];
}

/** Prints a request for a report: method, path, headers (authorization described, not sent values), body truncated. */
export function formatRequest(r: SentRequest): string {
  const body = r.body === undefined ? '' : `\n  body (${Buffer.byteLength(r.body)} B): ${r.body.length > 300 ? `${r.body.slice(0, 300)}…` : r.body}`;
  const path = r.path.length > 200 ? `${r.path.slice(0, 200)}… (${r.path.length} chars)` : r.path;
  const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, v.length > 100 ? `${v.slice(0, 100)}… (${v.length} chars)` : v]));
  return `${r.method} ${path}${r.wire ? ` (sent raw, ${r.wire})` : ''}\n  headers: ${JSON.stringify(headers)}${body}`;
}

/** A failure as printed lines. */
export function formatFailure(f: FuzzFailure): string {
  return `${f.rules.join('; ')}\n  ${formatRequest(f.request).replace(/\n/g, '\n  ')}\n  → ${f.status} ${f.responseBody.slice(0, 300)}`;
}

/**
 * Attacks `target` with `runs` generated requests (fast-check, `seed`): every route of fuzzRoutes, checking
 * `violations` on each answer. Every run is made (failures are collected, not stopping the run); then the first
 * failure is replayed by fast-check (`seed` and its run index as `path`) and shrunk to the smallest request that
 * still breaks one of its rules. Answers depend on the target's state, which earlier requests change: a replay may not
 * fail again (then `shrunk` is the failure as found).
 */
export async function runFuzz(target: FuzzTarget, o: FuzzOptions): Promise<FuzzReport> {
  const routes = await fuzzRoutes(target);
  const served = methodsAt(routes);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const arb = requestArbitrary(routes, { ids: [...target.ids.cluster, ...target.ids.node], samples: target.samples });
  const report: FuzzReport = { seed: o.seed, requests: 0, fiveXx: 0, routes: routes.length, failures: [], perRoute: new Map(), perStatus: new Map() };
  const keep = o.keepFailures ?? 50;

  /** Sends a case and judges the answer; a transport failure is a broken rule too. */
  const attempt = async (c: FuzzCase): Promise<{ request: SentRequest; res?: FuzzResponse; rules: string[] }> => {
    const { request, authorization } = materialise(target, c);
    let res: FuzzResponse;
    try {
      res = await send(target, request, authorization, agent);
    } catch (e) {
      return { request, rules: [`no answer: ${(e as Error).message}`] };
    }
    return { request, res, rules: violations(request, res, served(request.path.split('?')[0])) };
  };

  try {
    let run = 0;
    await fc.assert(fc.asyncProperty(arb, async (c) => {
      const index = run++;
      report.requests++;
      report.perRoute.set(c.route, (report.perRoute.get(c.route) ?? 0) + 1);
      const { request, res, rules } = await attempt(c);
      if (res && isServerError(res)) report.fiveXx++;
      report.perStatus.set(res?.status ?? 0, (report.perStatus.get(res?.status ?? 0) ?? 0) + 1);
      if (rules.length && report.failures.length < keep) {
        const f: FuzzFailure = { run: index, request, status: res?.status ?? 0, responseBody: res?.body ?? '', rules };
        report.failures.push(f);
        o.log?.(`run ${index}: ${formatFailure(f)}`);
      }
      if (o.log && index > 0 && index % 1000 === 0) o.log(`… ${index} requests, ${report.fiveXx} 5xx, ${report.failures.length} failures`);
    }), { numRuns: o.runs, seed: o.seed, endOnFailure: true });

    const first = report.failures[0];
    if (first) {
      // Replay the first failure and let fast-check shrink it: a smaller request breaking one of the same rules.
      const kinds = new Set(first.rules.map((r) => r.replace(/\d+/g, '#').replace(/".*"/g, '""')));
      let smallest: FuzzFailure = first;
      const details = await fc.check(fc.asyncProperty(arb, async (c) => {
        const { request, res, rules } = await attempt(c);
        const same = rules.filter((r) => kinds.has(r.replace(/\d+/g, '#').replace(/".*"/g, '""')));
        if (!same.length) return true;
        smallest = { run: first.run, request, status: res?.status ?? 0, responseBody: res?.body ?? '', rules: same };
        return false;
      }), { numRuns: o.runs, seed: o.seed, path: String(first.run) });
      if (details.failed) report.shrunk = smallest;
    }
  } finally {
    agent.destroy();
  }
  return report;
}
