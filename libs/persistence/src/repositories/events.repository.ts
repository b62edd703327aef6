import type { EntityManager } from 'typeorm';
import type { EventReasonName, EventType } from '@skyweave/domain';
import { ClusterEventEntity } from '../entities/entities';
import { recordEvent } from '../events';
import { BaseRepository, OrgScope } from './scope';

/** An event as recorded (`type` defaults to Normal, `object` to none). */
export interface NewClusterEvent { type?: EventType; reason: EventReasonName; message: string; object?: string }

/**
 * The `cluster_events` table (like Kubernetes events). Org-scoped: another organisation's events are never listed,
 * and an event is always recorded for the scope's organisation.
 */
export class ClusterEventsRepository extends BaseRepository {
  /** Events of the organisation's cluster after event id `after` (all when undefined), oldest first, at most `limit`. */
  async list(scope: OrgScope, clusterId: string, after: string | undefined, limit: number): Promise<ClusterEventEntity[]> {
    const qb = this.ds.getRepository(ClusterEventEntity).createQueryBuilder('e')
      .where('e.clusterId = :id AND e.organisationId = :organisationId', { id: clusterId, organisationId: scope.organisationId });
    if (after) qb.andWhere('e.id > :after', { after });
    return qb.orderBy('e.id', 'ASC').take(limit).getMany();
  }

  /** Records an event of the organisation's cluster, in the caller's transaction `em` (recordEvent). */
  async record(scope: OrgScope, clusterId: string, e: NewClusterEvent, em: EntityManager): Promise<void> {
    await recordEvent(em, { organisationId: scope.organisationId, clusterId, ...e });
  }
}
