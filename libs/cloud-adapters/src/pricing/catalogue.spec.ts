import { PriceCatalogue, PRICE_RETRY_BACKOFF_MS } from './catalogue';
import type { InstanceOffering, PriceReader } from './types';

const offering = (usdPerHour: number): InstanceOffering => ({ cloud: 'aws', region: 'us-east-1', instanceType: 'm5.large', family: 'm5', vcpu: 2, memoryMiB: 8192, architecture: 'amd64', usdPerHour });

/** A reader whose answers the test releases one by one. */
function scriptedReader() {
  const pending: { resolve: (o: InstanceOffering[]) => void; reject: (e: Error) => void }[] = [];
  let reads = 0;
  const reader: PriceReader = {
    source: 'test',
    read: () => {
      reads++;
      return new Promise<InstanceOffering[]>((resolve, reject) => pending.push({ resolve, reject }));
    },
  };
  return { reader, pending, reads: () => reads };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('PriceCatalogue', () => {
  let t = 0;
  const now = () => t;
  beforeEach(() => { t = Date.parse('2026-12-03T12:00:00Z'); });

  it('fetches once, then serves the cached list until refreshMs has passed', async () => {
    const s = scriptedReader();
    const cat = new PriceCatalogue({ now });
    const p = cat.get('aws', 'us-east-1', () => s.reader);
    await tick();
    s.pending.shift()!.resolve([offering(0.096)]);
    const first = await p;
    expect(first).toEqual({ cloud: 'aws', region: 'us-east-1', offerings: [offering(0.096)], source: 'test', pricedAt: '2026-12-03T12:00:00.000Z', stale: false });
    t += 3_599_999;
    expect(await cat.get('aws', 'us-east-1', () => s.reader)).toBe(first);
    expect(s.reads()).toBe(1);
    // an hour later: refreshed
    t += 1;
    const q = cat.get('aws', 'us-east-1', () => s.reader);
    await tick();
    expect(s.reads()).toBe(2);
    s.pending.shift()!.resolve([offering(0.1)]);
    expect(await q).toMatchObject({ offerings: [offering(0.1)], pricedAt: '2026-12-03T13:00:00.000Z', stale: false });
  });

  it('caches per cloud and region', async () => {
    const s = scriptedReader();
    const cat = new PriceCatalogue({ now });
    const a = cat.get('aws', 'us-east-1', () => s.reader);
    const b = cat.get('aws', 'eu-west-1', () => s.reader);
    const c = cat.get('gcp', 'us-east-1', () => s.reader);
    await tick();
    expect(s.reads()).toBe(3);
    for (const w of s.pending.splice(0)) w.resolve([]);
    await Promise.all([a, b, c]);
  });

  it('concurrent callers share one fetch, and the reader factory is called once', async () => {
    const s = scriptedReader();
    const cat = new PriceCatalogue({ now });
    let made = 0;
    const factory = () => { made++; return s.reader; };
    const all = Promise.all([1, 2, 3, 4, 5].map(() => cat.get('azure', 'eastus', factory)));
    await tick();
    s.pending.shift()!.resolve([offering(1)]);
    const lists = await all;
    expect(new Set(lists).size).toBe(1);
    expect(made).toBe(1);
    expect(s.reads()).toBe(1);
  });

  it('with no list at all, throws the failure to every waiting caller; the next call fetches again', async () => {
    const s = scriptedReader();
    const logs: string[] = [];
    const cat = new PriceCatalogue({ now, log: (m) => logs.push(m) });
    const both = Promise.allSettled([cat.get('gcp', 'us-central1', () => s.reader), cat.get('gcp', 'us-central1', () => s.reader)]);
    await tick();
    s.pending.shift()!.reject(new Error('billing API down'));
    expect((await both).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(logs.join('\n')).toMatch(/gcp\/us-central1: fetch failed, no price list yet: billing API down/);
    const again = cat.get('gcp', 'us-central1', () => s.reader);
    await tick();
    expect(s.reads()).toBe(2);
    s.pending.shift()!.resolve([offering(2)]);
    expect((await again).stale).toBe(false);
  });

  it('a failed refresh keeps the last list (stale, with the error), retries only after the backoff, and recovers', async () => {
    const s = scriptedReader();
    const cat = new PriceCatalogue({ now, refreshMs: 3_600_000 });
    const p = cat.get('digitalocean', 'nyc3', () => s.reader);
    await tick();
    s.pending.shift()!.resolve([offering(0.5)]);
    await p;
    t += 3_600_000;
    const q = cat.get('digitalocean', 'nyc3', () => s.reader);
    await tick();
    s.pending.shift()!.reject(new Error('HTTP 503'));
    const stale = await q;
    expect(stale).toMatchObject({ offerings: [offering(0.5)], stale: true, error: 'HTTP 503', pricedAt: '2026-12-03T12:00:00.000Z' });
    // within the backoff: no new fetch
    t += PRICE_RETRY_BACKOFF_MS - 1;
    expect(await cat.get('digitalocean', 'nyc3', () => s.reader)).toBe(stale);
    expect(s.reads()).toBe(2);
    // after it: tried again, and a success clears the staleness
    t += 1;
    const r = cat.get('digitalocean', 'nyc3', () => s.reader);
    await tick();
    expect(s.reads()).toBe(3);
    s.pending.shift()!.resolve([offering(0.6)]);
    expect(await r).toMatchObject({ offerings: [offering(0.6)], stale: false });
    expect((await r).error).toBeUndefined();
  });

  it('a reader factory that throws counts as a failed fetch', async () => {
    const cat = new PriceCatalogue({ now });
    await expect(cat.get('aws', 'us-east-1', () => { throw new Error('no credentials'); })).rejects.toThrow('no credentials');
  });
});
