import type { DataSource } from 'typeorm';

import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { Namespace } from './jetstream';

/** What wakes an idle relay: `ChangeFeed.subscribe('outbox', OUTBOX_KEY)` of libs/persistence fits. */
export interface OutboxWakeup {
  /** Resolves when a message was written since the last call (at once if one already was), or after `timeoutMs`. */
  next(timeoutMs: number): Promise<boolean>;
}

/**
 * Publishes outbox rows to JetStream in id order, with `Nats-Msg-Id = outbox-<id>` so that a row published twice
 * (crash after publish, before marking) is dropped by the stream's duplicate window. Rows are claimed with
 * `FOR UPDATE SKIP LOCKED`, so every replica of every service can run a relay. Drains without pause while rows are
 * waiting; when idle, waits for `wakeup` (a subscription to the outbox's NOTIFY, see migration
 * `OutboxNotify1764230000000`) or `pollMs`, whichever comes first: a lost notification delays a message by at most
 * `pollMs`. Without `wakeup` it polls every `pollMs`.
 * @param opts.pollMs milliseconds; default 1000 with `wakeup`, 50 without.
 * @param opts.batch rows per transaction (default 100).
 * @returns stop function.
 */
export function startOutboxRelay(
  ds: DataSource, nc: NatsConnection, ns: Namespace, log: Logger,
  opts: { pollMs?: number; batch?: number; wakeup?: OutboxWakeup } = {},
): () => Promise<void> {
  const js = jetstream(nc);
  const pollMs = opts.pollMs ?? (opts.wakeup ? 1000 : 50);
  const batch = opts.batch ?? 100;
  let stopped = false;
  let wake: (() => void) | undefined;
  let onStop: () => void = () => undefined;
  const stopped$ = new Promise<void>((r) => { onStop = r; });

  const drainOnce = async (): Promise<number> => {
    return ds.transaction(async (em) => {
      const rows: { id: string; subject: string; payload: unknown }[] = await em.query(
        `SELECT "id", "subject", "payload" FROM "outbox" WHERE "publishedAt" IS NULL ORDER BY "id" LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [batch],
      );
      for (const r of rows) {
        await js.publish(ns.wire(r.subject), JSON.stringify(r.payload), { msgID: `outbox-${r.id}` });
      }
      if (rows.length) await em.query(`UPDATE "outbox" SET "publishedAt" = now() WHERE "id" = ANY($1::bigint[])`, [rows.map((r) => r.id)]);
      return rows.length;
    });
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        const n = await drainOnce();
        if (n > 0) continue;
      } catch (e) {
        log.warn({ err: (e as Error).message }, 'outbox relay: publish failed; retrying');
      }
      if (opts.wakeup) {
        // one wait at a time on the subscription (a notification, the fallback interval, or stop ends it)
        await Promise.race([opts.wakeup.next(pollMs), stopped$]);
        continue;
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, pollMs);
        wake = () => { clearTimeout(t); r(); };
      });
    }
  })();

  return async () => {
    stopped = true;
    onStop();
    wake?.();
    await loop;
  };
}
