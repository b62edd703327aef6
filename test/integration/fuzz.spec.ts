import { randomInt } from 'node:crypto';
import * as net from 'node:net';
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
    // a valid credentials check loads a cloud SDK on first use (seconds, more with a cold transform cache)
  }, 150_000);

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

  /** Writes `text` on a new connection; the answer's status line, headers (lower-case) and body, read until close. */
  const raw = (text: string) => new Promise<{ status: number; headers: Record<string, string>; body: string }>((resolve, reject) => {
    const url = new URL(target.baseUrl);
    const chunks: Buffer[] = [];
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(text));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => {
      const all = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = all.split('\r\n\r\n');
      const headers = Object.fromEntries(head.split('\r\n').slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(all)?.[1] ?? 0), headers, body: rest.join('\r\n\r\n') });
    });
  });

  it.each([
    ['a header name with a space', 'GET /health HTTP/1.1\r\nHost: x\r\nX Bad: 1\r\nConnection: close\r\n\r\n', 400, 'malformed-request'],
    ['an unknown method', 'FROB /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'malformed-request'],
    ['headers over the limit', `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`, 431, 'headers-too-large'],
    ['a broken chunk after valid headers', 'GET /v1/clusters HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n', 400, 'malformed-request'],
    ['an unsupported Expect', 'GET /health HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nConnection: close\r\n\r\n', 417, 'expectation-failed'],
  ])('answers a request with %s that never reaches Express as a problem', async (_what, text, status, type) => {
    const r = await raw(text);
    expect(r.status).toBe(status);
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect(JSON.parse(r.body)).toMatchObject({ type: `https://skyweave.dev/problems/${type}`, status });
  });

  it('answers HEAD with headers over the limit without a body', async () => {
    const r = await raw(`HEAD /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`);
    expect(r.status).toBe(431);
    expect(r.headers['content-length']).toBe('0');
    expect(r.body).toBe('');
  });
});
