import type { EntityManager } from 'typeorm';
import type { Payloads, Subject } from '@skyweave/contracts';
import type { EventReasonName, EventType } from '@skyweave/domain';
import { ClusterEventEntity } from './entities/entities';

/**
 * Appends an outbox row in the caller's transaction; the relay publishes it to JetStream with `Nats-Msg-Id = outbox-<id>`.
 * The payload is checked against the subject's type in libs/contracts (`Payloads[S]`).
 */
export async function enqueue<S extends Subject>(em: EntityManager, subject: S, payload: Payloads[S]): Promise<void> {
  await em.query(`INSERT INTO "outbox" ("subject", "payload") VALUES ($1, $2::jsonb)`, [subject, JSON.stringify(payload)]);
}

/**
 * Records a cluster event in the caller's transaction (`cluster_events`; `type` defaults to Normal, `object` to none).
 * `reason` is one of EventReason (libs/domain/src/events.ts): a reason not listed there does not compile.
 */
export async function recordEvent(
  em: EntityManager,
  e: { organisationId: string; clusterId: string; type?: EventType; reason: EventReasonName; message: string; object?: string },
): Promise<void> {
  await em.insert(ClusterEventEntity, { type: 'Normal', object: null, ...e });
}
