import { DataSource } from 'typeorm';
import { advisoryLockHolders, createDataSource, withAdvisoryLock } from '@skyweave/persistence';
import { freshDatabase } from '../support/db';

/**
 * `withAdvisoryLock` on real PostgreSQL. The chaos test of stop 20 saw a node-provisioner stop terminating VMs for
 * good: every one of its pooled connections held a node's advisory lock while its work waited for one more
 * connection (16 handlers in flight, a pool of 10). Lock holders are now at most half the pool.
 */
describe('advisory locks: exclusive per key, never a deadlock on the pool', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let ds: DataSource;

  beforeAll(async () => {
    db = await freshDatabase();
    ds = createDataSource(db.url, { poolSize: 10 });
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('lets half the pool hold locks at once', () => {
    expect(advisoryLockHolders(ds)).toBe(5);
    expect(advisoryLockHolders(db.ds)).toBe(2); // the test helper's pool of 5
  });

  it('finishes 16 concurrent holders on a pool of 10 whose work takes further connections', async () => {
    let holding = 0;
    let most = 0;
    const work = (i: number) => withAdvisoryLock(ds, `test:${i}`, async () => {
      most = Math.max(most, ++holding);
      await new Promise((r) => setTimeout(r, 20));
      // a query and a transaction outside the lock's own connection, as the provisioners' handlers do
      const [{ n }] = (await ds.query('SELECT $1::int AS n', [i])) as { n: number }[];
      await ds.transaction((em) => em.query('SELECT pg_sleep(0.01)'));
      holding--;
      return n;
    });
    // before the limit, this hung for good (the pool's waiters are never served); 15 s is ample for ~1 s of work
    const outcome = await Promise.race([
      Promise.all(Array.from({ length: 16 }, (_, i) => work(i))),
      new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000).unref()),
    ]);
    expect(outcome).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(most).toBe(5);
  });

  it('runs one holder per key: a second caller gets undefined while the first holds it, the lock afterwards', async () => {
    let release!: () => void;
    let locked!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const holding = new Promise<void>((r) => { locked = r; });
    const first = withAdvisoryLock(ds, 'test:same', async () => { locked(); await held; return 'first'; });
    await holding;
    await expect(withAdvisoryLock(ds, 'test:same', async () => 'second')).resolves.toBeUndefined();
    release();
    await expect(first).resolves.toBe('first');
    await expect(withAdvisoryLock(ds, 'test:same', async () => 'third')).resolves.toBe('third');
  });
});
