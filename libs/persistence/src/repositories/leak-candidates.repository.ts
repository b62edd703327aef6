import type { CloudId } from '@skyweave/domain';
import { LeakCandidateEntity } from '../entities/entities';
import { BaseRepository, OrgScope } from './scope';

/** Where a leak was seen: one cloud account's (the organisation's credentials) region. */
export interface LeakPlace { cloud: CloudId; region: string }

/**
 * The `leak_candidates` table: resources tagged for a cluster that does not exist, per organisation (whose cloud
 * account they were listed in), cloud and region. Org-scoped: another organisation's candidates are never touched.
 */
export class LeakCandidatesRepository extends BaseRepository {
  /** The organisation's candidates in one cloud region. */
  async list(scope: OrgScope, at: LeakPlace): Promise<LeakCandidateEntity[]> {
    return this.ds.getRepository(LeakCandidateEntity).findBy({ organisationId: scope.organisationId, cloud: at.cloud, region: at.region });
  }

  /** Records a newly seen candidate (first and last seen `now`). @throws QueryFailedError 23505 when it is known already. */
  async insert(scope: OrgScope, at: LeakPlace, clusterId: string, resources: string[], now: Date): Promise<void> {
    await this.ds.getRepository(LeakCandidateEntity).insert({ organisationId: scope.organisationId, ...at, clusterId, firstSeenAt: now, lastSeenAt: now, resources });
  }

  /** A candidate seen again: when, and what (`kind/id`). @returns rows changed (0: not the organisation's). */
  async seenAgain(scope: OrgScope, at: LeakPlace, clusterId: string, resources: string[], now: Date): Promise<number> {
    const res = await this.ds.getRepository(LeakCandidateEntity).update({ organisationId: scope.organisationId, ...at, clusterId }, { lastSeenAt: now, resources });
    return res.affected ?? 0;
  }

  /** Forgets a candidate (removed, or no longer seen). @returns rows deleted. */
  async delete(scope: OrgScope, at: LeakPlace, clusterId: string): Promise<number> {
    const res = await this.ds.getRepository(LeakCandidateEntity).delete({ organisationId: scope.organisationId, ...at, clusterId });
    return res.affected ?? 0;
  }
}
