import { Semaphore } from 'async-mutex';
import type { DataSource } from 'typeorm';

/** TypeORM's (and pg-pool's) default pool size, for a data source whose options name none. */
const DEFAULT_POOL_SIZE = 10;
const holders = new WeakMap<DataSource, Semaphore>();

/**
 * How many advisory locks a data source's callers may hold at once: half its pool (at least one).
 *
 * A holder keeps one pooled connection for its lock's whole life and takes another for each query or transaction
 * of its work. If every connection of the pool were held by a lock holder waiting for a second one, none would ever
 * be released: the process would hang for good (10 holders on a pool of 10, as a node-provisioner with 8 launch and
 * 8 terminate handlers in flight could have). With at most half the pool holding locks, each holder can always get
 * its second connection, so work that takes one connection at a time (a transaction whose queries all go through its
 * own EntityManager) always progresses. Callers past the limit wait here, before taking any connection.
 */
export function advisoryLockHolders(ds: DataSource): number {
  const poolSize = (ds.options as { poolSize?: number }).poolSize ?? DEFAULT_POOL_SIZE;
  return Math.max(1, Math.floor(poolSize / 2));
}

/**
 * Runs `fn` while holding a PostgreSQL session advisory lock on `key`, or returns `undefined` at once when another
 * session holds it. Used around cloud calls for one resource (a node's launch, a cluster network's ensure), which are
 * too long for a row lock inside a transaction. A crashed holder's session ends and its lock with it.
 *
 * At most {@link advisoryLockHolders} calls per data source run at once (the others wait their turn in this process),
 * so that lock holders can never take every pooled connection and deadlock on the pool; `fn` must take at most one
 * further pooled connection at a time.
 */
export async function withAdvisoryLock<T>(ds: DataSource, key: string, fn: () => Promise<T>): Promise<T | undefined> {
  let sem = holders.get(ds);
  if (!sem) holders.set(ds, (sem = new Semaphore(advisoryLockHolders(ds))));
  return sem.runExclusive(() => lockAndRun(ds, key, fn));
}

async function lockAndRun<T>(ds: DataSource, key: string, fn: () => Promise<T>): Promise<T | undefined> {
  const qr = ds.createQueryRunner();
  await qr.connect();
  try {
    const [{ locked }] = (await qr.query('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [key])) as { locked: boolean }[];
    if (!locked) return undefined;
    try {
      return await fn();
    } finally {
      await qr.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]);
    }
  } finally {
    await qr.release();
  }
}
