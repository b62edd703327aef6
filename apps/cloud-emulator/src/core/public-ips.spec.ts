import { PublicIpAllocator } from './public-ips';

describe('PublicIpAllocator (one public pool for all clouds)', () => {
  it('hands out each cloud the first address it handed out before the pool was shared, and never one twice', () => {
    const pool = new PublicIpAllocator();
    expect(pool.allocate()).toBe('198.51.100.1'); // AWS, GCP
    expect(pool.allocate({ ranges: ['203.0.113.0/24'] })).toBe('203.0.113.1'); // Azure
    expect(pool.allocate({ skipGateway: true })).toBe('198.51.100.2'); // DigitalOcean (.1 is its gateway)
    expect(pool.allocate()).toBe('198.51.100.3');
    expect(pool.inUse('198.51.100.2')).toBe(true);
  });

  it('reuses released addresses only when no fresh one is left, the one released longest ago first', () => {
    const pool = new PublicIpAllocator();
    const all: string[] = [];
    for (let ip = pool.allocate(); ip; ip = pool.allocate()) all.push(ip);
    expect(all).toHaveLength(2 * 254);
    expect(new Set(all).size).toBe(all.length);
    expect(all[254]).toBe('203.0.113.1');
    pool.release('203.0.113.7');
    pool.release('198.51.100.9');
    pool.release('198.51.100.9'); // repeated delete: no-op
    expect(pool.allocate()).toBe('203.0.113.7');
    expect(pool.allocate()).toBe('198.51.100.9');
    expect(pool.allocate()).toBeUndefined();
  });

  it('prefers a fresh address to a released one, and respects the requested ranges', () => {
    const pool = new PublicIpAllocator();
    const a = pool.allocate();
    pool.release(String(a));
    expect(pool.allocate()).toBe('198.51.100.2');
    for (let i = 0; i < 254; i += 1) expect(pool.allocate({ ranges: ['203.0.113.0/24'] })).toMatch(/^203\.0\.113\./);
    expect(pool.allocate({ ranges: ['203.0.113.0/24'] })).toBeUndefined();
  });
});
