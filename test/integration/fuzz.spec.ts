import { randomInt } from 'node:crypto';
import { type FuzzReport, formatFailure, runFuzz } from '@skyweave/tools/fuzz/runner';
import { type RunningFuzzTarget, startFuzzTarget } from '../support/fuzz-target';

/**
 * Issue 10, "tests that attack": generated requests over every route (tools/fuzz; `npm run fuzz -- --runs N` for
 * more) against a gateway on a real database and the sandbox cloud. No answer may be a 5xx, every 4xx is an RFC 9457
 * problem, a 401 names its scheme, a wrong method is 405 with `Allow`.
 */
describe('api-gateway under generated requests (fuzz)', () => {
  let target: RunningFuzzTarget;
  const gatewayLog: string[] = [];
  beforeAll(async () => {
    target = await startFuzzTarget((l) => gatewayLog.push(l));
  }, 60_000);
  afterAll(async () => {
    await target?.close();
  });

  /** The report as a failure message: seed, counts and every failing request (the first shrunk). */
  const explain = (r: FuzzReport) => [
    `seed ${r.seed}: ${r.requests} requests, ${r.fiveXx} 5xx, ${r.failures.length} failing (replay: npm run fuzz -- --runs ${r.requests} --seed ${r.seed})`,
    ...(r.shrunk ? [`shrunk: ${formatFailure(r.shrunk)}`] : []),
    ...r.failures.slice(0, 10).map(formatFailure),
  ].join('\n');

  it.each([
    ['a fixed seed', 20261202, 250],
    ['a random seed', randomInt(2 ** 31), 150],
  ])('holds every property for %s (%i, %i requests)', async (_what, seed, runs) => {
    const r = await runFuzz(target, { runs, seed });
    if (r.failures.length) throw new Error(explain(r));
    expect(r.fiveXx).toBe(0);
    expect(r.requests).toBe(runs);
    // every public route of the OpenAPI document and every agent route
    expect(r.routes).toBeGreaterThanOrEqual(25);
    expect(gatewayLog.filter((l) => /unhandled error|RangeError/.test(l))).toEqual([]);
  }, 60_000);

  it('answers a wrong method on a served path with 405 and Allow, before authentication; OPTIONS with 204 and Allow', async () => {
    const at = (method: string, path: string) => fetch(`${target.baseUrl}${path}`, { method });
    const health = await at('POST', '/health');
    expect(health.status).toBe(405);
    expect(health.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    expect(health.headers.get('content-type')).toContain('application/problem+json');
    expect(await health.json()).toMatchObject({ type: 'https://skyweave.dev/problems/method-not-allowed', status: 405 });
    const cluster = await at('POST', `/v1/clusters/${target.ids.cluster[0]}`);
    expect(cluster.status).toBe(405);
    expect(cluster.headers.get('allow')).toBe('DELETE, GET, HEAD, OPTIONS, PATCH');
    // no token needed to learn that a node route takes POST only
    const agent = await at('GET', `/agent/v1/nodes/${target.ids.node[0]}/mesh`);
    expect(agent.status).toBe(405);
    expect(agent.headers.get('allow')).toBe('OPTIONS, POST');
    const options = await at('OPTIONS', '/v1/clusters');
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('GET, HEAD, OPTIONS, POST');
    // a served method is not affected, and an unknown path stays 404
    expect((await at('GET', '/health')).status).toBe(200);
    expect((await at('POST', '/v1/nothing-here')).status).toBe(404);
  });
});
