import type { DataSource } from 'typeorm';

/**
 * Runs `fn` while holding a PostgreSQL session advisory lock on `key`, or returns `undefined` at once when another
 * process holds it. Used around cloud calls for one resource (a node's launch, a cluster network's ensure), which are
 * too long for a row lock inside a transaction. A crashed holder's session ends and its lock with it.
 */
export async function withAdvisoryLock<T>(ds: DataSource, key: string, fn: () => Promise<T>): Promise<T | undefined> {
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
