import { ROW_LOCK } from '../row-lock';
import type { EntityManager } from 'typeorm';
import { In } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { AgentPackageRecord, NodeOperationEntity, NodeOperationState } from '../entities/entities';
import { BaseRepository, OrgScope } from './scope';

/** The columns a new operation is written with (the organisation comes from the scope). */
export type NewNodeOperation = Omit<NodeOperationEntity, 'organisationId' | 'createdAt' | 'agentPackage'> & { agentPackage?: AgentPackageRecord | null };

/** States of an operation an agent still has to run or report. */
const ACTIVE: NodeOperationState[] = ['Pending', 'Running'];

/**
 * The `node_operations` table (drain, uncordon, upgrade asked of one agent). Org-scoped: another organisation's
 * operation is never read or changed, even with its id and executor's id.
 */
export class NodeOperationsRepository extends BaseRepository {
  /** Every operation of the organisation's cluster, oldest first. */
  async listByCluster(scope: OrgScope, clusterId: string, em?: EntityManager): Promise<NodeOperationEntity[]> {
    return this.m(em).getRepository(NodeOperationEntity).find({ where: { clusterId, organisationId: scope.organisationId }, order: { createdAt: 'ASC' } });
  }

  /** The Pending and Running operations `executorNodeId`'s agent is to run, oldest first. */
  async listActiveForExecutor(scope: OrgScope, executorNodeId: string): Promise<NodeOperationEntity[]> {
    return this.ds.getRepository(NodeOperationEntity).find({
      where: { executorNodeId, organisationId: scope.organisationId, state: In(ACTIVE) }, order: { createdAt: 'ASC' },
    });
  }

  /** Marks those of `ids` still Pending as Running (handed out). @returns how many moved. */
  async markRunning(scope: OrgScope, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const res = await this.ds.getRepository(NodeOperationEntity).update({ id: In([...ids]), organisationId: scope.organisationId, state: 'Pending' }, { state: 'Running' });
    return res.affected ?? 0;
  }

  /** Operation `id` if `executorNodeId` is the one to run it, row-locked inside `em`'s transaction; else null. */
  async findForExecutorForUpdate(scope: OrgScope, id: string, executorNodeId: string, em: EntityManager): Promise<NodeOperationEntity | null> {
    return em.getRepository(NodeOperationEntity).findOne({ where: { id, executorNodeId, organisationId: scope.organisationId }, lock: ROW_LOCK });
  }

  /** Inserts a new operation of the organisation. */
  async insert(scope: OrgScope, row: NewNodeOperation, em?: EntityManager): Promise<void> {
    await this.m(em).getRepository(NodeOperationEntity).insert({ ...row, organisationId: scope.organisationId });
  }

  /**
   * Writes columns of the organisation's operation `id`; with `onlyActive`, only while it is Pending or Running (a
   * finished operation keeps its outcome). @returns the number of rows changed.
   */
  async update(scope: OrgScope, id: string, set: QueryDeepPartialEntity<NodeOperationEntity>, em?: EntityManager, opts: { onlyActive?: boolean } = {}): Promise<number> {
    const res = await this.m(em).getRepository(NodeOperationEntity).update(
      { id, organisationId: scope.organisationId, ...(opts.onlyActive ? { state: In(ACTIVE) } : {}) }, set,
    );
    return res.affected ?? 0;
  }

  /**
   * A node replaced (its VM was gone): the cluster's Pending and Running operations it runs or is the target of
   * fail with `message`. @returns how many did.
   */
  async failActiveOfNode(scope: OrgScope, clusterId: string, nodeId: string, message: string, em: EntityManager): Promise<number> {
    const res = await em.createQueryBuilder().update(NodeOperationEntity)
      .set({ state: 'Failed', message, finishedAt: new Date() })
      .where('"organisationId" = :organisationId AND "clusterId" = :clusterId AND ("executorNodeId" = :id OR "targetNodeId" = :id) AND "state" IN (\'Pending\', \'Running\')',
        { organisationId: scope.organisationId, clusterId, id: nodeId })
      .execute();
    return res.affected ?? 0;
  }

  /**
   * A node's agent now runs `agentVersion`: its Pending and Running `upgrade-agent` operations to that version succeed
   * (the agent may have restarted on the new bundle before it could report: the version it sends is the proof).
   * Idempotent. @returns the ids completed.
   */
  async completeAgentUpgrades(scope: OrgScope, nodeId: string, agentVersion: string, em: EntityManager): Promise<string[]> {
    const active = await em.getRepository(NodeOperationEntity).find({
      where: { organisationId: scope.organisationId, executorNodeId: nodeId, kind: 'upgrade-agent', state: In(ACTIVE) }, lock: ROW_LOCK,
    });
    const done = active.filter((o) => o.agentPackage?.version === agentVersion).map((o) => o.id);
    if (done.length === 0) return [];
    await em.getRepository(NodeOperationEntity).update(
      { id: In(done), organisationId: scope.organisationId, state: In(ACTIVE) },
      { state: 'Succeeded', message: `the agent runs ${agentVersion} (reported by the restarted agent)`, finishedAt: new Date() },
    );
    return done;
  }
}
