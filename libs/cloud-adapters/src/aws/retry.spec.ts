import { BoundedRetryStrategy } from './retry';

describe('BoundedRetryStrategy', () => {
  it('retries throttling and server errors up to the attempt limit, with short growing delays', async () => {
    const s = new BoundedRetryStrategy(3, 100, 1000);
    const t0 = await s.acquireInitialRetryToken('');
    const t1 = await s.refreshRetryTokenForRetry(t0, { errorType: 'THROTTLING' });
    expect(t1.getRetryCount()).toBe(1);
    expect(t1.getRetryDelay()).toBeGreaterThanOrEqual(100);
    expect(t1.getRetryDelay()).toBeLessThanOrEqual(200);
    const t2 = await s.refreshRetryTokenForRetry(t1, { errorType: 'SERVER_ERROR' });
    expect(t2.getRetryDelay()).toBeLessThanOrEqual(200);
    await expect(s.refreshRetryTokenForRetry(t2, { errorType: 'TRANSIENT' })).rejects.toThrow();
  });

  it('never retries client errors', async () => {
    const s = new BoundedRetryStrategy();
    await expect(s.refreshRetryTokenForRetry(await s.acquireInitialRetryToken(''), { errorType: 'CLIENT_ERROR' })).rejects.toThrow();
  });
});
