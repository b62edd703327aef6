/**
 * The row lock every `…ForUpdate` and `{ lock: true }` read takes on clusters, networks, nodes and node operations:
 * `SELECT … FOR NO KEY UPDATE`. It excludes every other locker and writer of the row as `FOR UPDATE` does, but not the
 * `FOR KEY SHARE` lock that PostgreSQL takes on a referenced row when another transaction inserts a row pointing at it
 * (an event, an operation, a node of the cluster). `FOR UPDATE` is only needed to delete a row or change its key, and
 * Skyweave does neither to these rows.
 *
 * Why it matters: a writer that holds a node row and then records an event (its foreign key takes `KEY SHARE` on the
 * cluster) deadlocked against a reconcile holding the cluster `FOR UPDATE` and waiting for that node; PostgreSQL
 * aborted one of them (stop 21's CI: a full reconcile that failed and so reported no drift). Source: PostgreSQL 15
 * documentation, "Explicit Locking", 13.3.2 Row-Level Locks (the conflict table).
 */
export const ROW_LOCK = { mode: 'for_no_key_update' } as const;
