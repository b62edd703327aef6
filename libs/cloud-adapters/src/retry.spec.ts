import { CloudError } from './errors';
import {
  CLOUD_CALL, MESSAGE_REDELIVERY, PLATFORM_CALL, RetrySpec, TOOL_HTTP, redeliveryDelayMs, retryDelayMs, withRetry,
} from './retry';

const throttled = () => new CloudError('Throttled', 'aws', 'RequestLimitExceeded', 'slow down');
const quota = () => new CloudError('QuotaExceeded', 'aws', 'VcpuLimitExceeded', 'no');
const FAST: RetrySpec = { ...CLOUD_CALL, initialDelayMs: 1, maxDelayMs: 5 };

describe('withRetry (the one retry policy, on cockatiel)', () => {
  it('retries what the spec accepts until it succeeds, reporting each retry with its wait', async () => {
    let n = 0;
    const waits: number[] = [];
    const v = await withRetry(FAST, async (attempt) => {
      expect(attempt).toBe(n);
      if (++n < 3) throw throttled();
      return 'ok';
    }, { onRetry: (e) => { waits.push(e.delayMs); expect(e.error).toBeInstanceOf(CloudError); } });
    expect([v, n, waits.length]).toEqual(['ok', 3, 2]);
    for (const w of waits) expect(w).toBeLessThanOrEqual(5);
  });

  it('gives up after maxAttempts with the last failure, and throws a refused failure at once', async () => {
    let n = 0;
    await expect(withRetry(FAST, async () => { n++; throw throttled(); })).rejects.toMatchObject({ kind: 'Throttled' });
    expect(n).toBe(CLOUD_CALL.maxAttempts);
    n = 0;
    await expect(withRetry(FAST, async () => { n++; throw quota(); })).rejects.toMatchObject({ kind: 'QuotaExceeded' });
    expect(n).toBe(1);
  });

  it('stops at the deadline, never waiting past it', async () => {
    const spec: RetrySpec = { ...FAST, maxAttempts: Infinity, initialDelayMs: 40, maxDelayMs: 40 };
    const started = Date.now();
    let n = 0;
    await expect(withRetry(spec, async () => { n++; throw throttled(); }, { deadline: started + 150 })).rejects.toBeInstanceOf(CloudError);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(n).toBeGreaterThanOrEqual(2);
  });

  it('ends a wait at once when the signal is aborted, with the last failure', async () => {
    const stop = new AbortController();
    const started = Date.now();
    const run = withRetry(PLATFORM_CALL, async () => { throw new Error('fetch failed'); }, {
      signal: stop.signal,
      onRetry: () => setTimeout(() => stop.abort(), 20),
    });
    await expect(run).rejects.toThrow('fetch failed');
    expect(Date.now() - started).toBeLessThan(400); // PLATFORM_CALL's first wait alone is up to 500 ms
  });

  it('uses an injected sleep for its waits (tests of callers)', async () => {
    const slept: number[] = [];
    let n = 0;
    await withRetry(PLATFORM_CALL, async () => { if (++n < 4) throw new Error('HTTP 503'); }, { sleep: async (ms) => { slept.push(ms); } });
    expect(slept).toHaveLength(3);
    for (const ms of slept) expect(ms).toBeGreaterThanOrEqual(0);
    for (const ms of slept) expect(ms).toBeLessThanOrEqual(PLATFORM_CALL.maxDelayMs);
  });

  it('PLATFORM_CALL never retries a 4xx; TOOL_HTTP retries 429, 5xx and no answer only', () => {
    expect(PLATFORM_CALL.retryOn(Object.assign(new Error('x'), { status: 409 }))).toBe(false);
    expect(PLATFORM_CALL.retryOn(Object.assign(new Error('x'), { status: 502 }))).toBe(true);
    expect(PLATFORM_CALL.retryOn(new TypeError('fetch failed'))).toBe(true);
    expect(TOOL_HTTP.retryOn(Object.assign(new Error('x'), { status: 429 }))).toBe(true);
    expect(TOOL_HTTP.retryOn(Object.assign(new Error('x'), { status: 400 }))).toBe(false);
  });
});

describe('retry delays for loops owned elsewhere (SDK retry strategies, JetStream naks)', () => {
  it('stay within the spec: positive and capped', () => {
    for (let retry = 1; retry <= 12; retry++) {
      for (let i = 0; i < 20; i++) {
        const d = retryDelayMs(CLOUD_CALL, retry);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(CLOUD_CALL.maxDelayMs);
      }
      expect(redeliveryDelayMs(retry)).toBeLessThanOrEqual(MESSAGE_REDELIVERY.maxDelayMs);
    }
  });

  it('redelivery (half jitter) never comes sooner than half its doubling schedule: 1–2 s, 2–4 s, … 15–30 s', () => {
    for (let i = 0; i < 500; i++) {
      const first = redeliveryDelayMs(1);
      expect(first).toBeGreaterThanOrEqual(1_000);
      expect(first).toBeLessThan(2_000);
      const third = redeliveryDelayMs(3);
      expect(third).toBeGreaterThanOrEqual(4_000);
      expect(third).toBeLessThan(8_000);
      expect(redeliveryDelayMs(20)).toBeGreaterThanOrEqual(15_000);
    }
  });

  it('grow with the retry number (on average)', () => {
    const mean = (retry: number) => Array.from({ length: 200 }, () => retryDelayMs(MESSAGE_REDELIVERY, retry)).reduce((a, b) => a + b, 0) / 200;
    expect(mean(4)).toBeGreaterThan(mean(1));
  });
});
