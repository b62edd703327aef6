import { Body, Controller, HttpCode, Inject, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { NodeRoute } from './access';
import { ApiExcludeController } from '@nestjs/swagger';
import type { DataSource } from 'typeorm';
import type { AgentApi } from '@skyweave/contracts';
import { EventReason, EventReasonName } from '@skyweave/domain';
import { Subjects } from '@skyweave/contracts';
import { ChangeFeed, ChangeSubscription, NodeEntity, NodeOperationEntity, Repositories, enqueue, orgScope, recordEvent } from '@skyweave/persistence';
import { AgentNode } from './agent-auth';
import { OperationResultDto } from './dtos';
import { Problem } from './problem';
import { LongPollHold, LongPolls } from './long-polls';
import { CHANGE_FEED, DATA_SOURCE, LONG_POLLS, MESH_LONG_POLL } from './tokens';

/** What each successful operation is called in the cluster's events. */
const DONE_REASON: Record<NodeOperationEntity['kind'], EventReasonName> = {
  drain: EventReason.NodeDrained, uncordon: EventReason.NodeUncordoned, upgrade: EventReason.NodeUpgradeApplied, 'renew-certificates': EventReason.CertificatesRenewed,
  'upgrade-agent': EventReason.AgentUpgradeInstalled,
};

/**
 * Work for agents (drain, uncordon, upgrade), decided by the reconciler and stored in `node_operations`. An agent
 * long-polls for what it should run (a master's agent also drains other nodes) and reports each outcome; the
 * outcome wakes the reconciler, which takes the next step (terminate after a drain, the next node of a rollout).
 */
@ApiExcludeController()
@NodeRoute()
@Controller('agent/v1/nodes/:nodeId/operations')
export class OperationsController {
  private readonly repos: Repositories;

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(MESH_LONG_POLL) private readonly longPollMs: number,
    @Inject(CHANGE_FEED) private readonly feed: ChangeFeed,
    @Inject(LONG_POLLS) private readonly polls: LongPolls,
  ) {
    this.repos = new Repositories(ds);
  }

  /**
   * The operations this node's agent should run, oldest first; held until there is one or the poll window ends
   * (re-read when an operation of this executor is added or changes state: ChangeFeed, PostgreSQL NOTIFY from a
   * trigger; and at the latest every ChangeFeed safety interval). Hands-out mark them Running. A newer poll of the
   * same node ends this one at once (LongPolls), which then answers what there is (usually none).
   * @throws Problem 503 `long-polls-exhausted` at the gateway's bound of held polls.
   */
  @Post()
  @HttpCode(200)
  async poll(@AgentNode() node: NodeEntity): Promise<AgentApi.OperationsResponse> {
    const deadline = Date.now() + this.longPollMs;
    const hold = this.polls.begin('operations', node.id);
    // Subscribed before the first read, so an operation added between the read and the wait still wakes it.
    const sub = this.feed.subscribe('nodeOperations', node.id);
    try {
      return await this.waitForOperations(node, deadline, sub, hold);
    } finally {
      sub.close();
      hold.release();
    }
  }

  private async waitForOperations(node: NodeEntity, deadline: number, sub: ChangeSubscription, hold: LongPollHold): Promise<AgentApi.OperationsResponse> {
    const scope = orgScope(node.organisationId);
    for (;;) {
      const ops = await this.repos.operations.listActiveForExecutor(scope, node.id);
      if (ops.length === 0 && (Date.now() >= deadline || hold.ended)) return { operations: [] };
      if (ops.length > 0) {
        const pending = ops.filter((o) => o.state === 'Pending').map((o) => o.id);
        if (pending.length) await this.repos.operations.markRunning(scope, pending);
        const names = await this.repos.nodes.namesByIds(scope, ops.map((o) => o.targetNodeId));
        return {
          operations: ops.map((o) => ({
            id: o.id, kind: o.kind, targetNodeName: names.get(o.targetNodeId) ?? o.targetNodeId, timeoutSeconds: o.timeoutSeconds,
            ...(o.kind === 'upgrade' ? { kubernetesVersion: o.kubernetesVersion ?? undefined, upgradeControlPlane: o.upgradeControlPlane } : {}),
            ...(o.kind === 'drain' && o.purpose === 'removal' ? { deleteNode: true } : {}),
            ...(o.kind === 'upgrade-agent' && o.agentPackage ? { agentPackage: o.agentPackage } : {}),
          })),
        };
      }
      await Promise.race([sub.next(deadline - Date.now()), hold.superseded]);
    }
  }

  /**
   * Records an operation's outcome. Idempotent: a repeated report of a finished operation changes nothing. A
   * successful `renew-certificates` with `certificates` records them as the master's (the reconciler reads the new
   * expiry from there, so the renewal is not asked again).
   * @throws Problem 404 when the operation is not this node's to run; 422 on a malformed result.
   */
  @Post(':operationId')
  @HttpCode(204)
  async report(
    @AgentNode() node: NodeEntity, @Param('operationId', new ParseUUIDPipe()) operationId: string, @Body() body: OperationResultDto,
  ): Promise<void> {
    const scope = orgScope(node.organisationId);
    await this.ds.transaction(async (em) => {
      const op = await this.repos.operations.findForExecutorForUpdate(scope, operationId, node.id, em);
      if (!op) throw Problem.notFound(`operation ${operationId} of node ${node.name}`);
      if (op.state !== 'Pending' && op.state !== 'Running') return;
      await this.repos.operations.update(scope, op.id, { state: body.state, message: body.message ?? null, finishedAt: new Date() }, em);
      const renewed = op.kind === 'renew-certificates' && body.state === 'Succeeded' && body.certificates?.length ? body.certificates.map((c) => ({ name: c.name, expiresAt: c.expiresAt })) : undefined;
      if (renewed) await this.repos.nodes.update(scope, op.executorNodeId, { certificateExpirations: renewed }, em);
      const target = await this.repos.nodes.findById(scope, op.targetNodeId, em);
      const name = target?.name ?? op.targetNodeId;
      await recordEvent(em, {
        organisationId: op.organisationId, clusterId: op.clusterId, object: `node/${name}`,
        type: body.state === 'Succeeded' ? 'Normal' : 'Warning',
        reason: body.state === 'Succeeded' ? DONE_REASON[op.kind] : EventReason.NodeOperationFailed,
        message: `${op.kind} of ${name} by ${node.name}'s agent ${body.state === 'Succeeded' ? 'succeeded' : 'failed'}${body.kubeletVersion ? ` (kubelet ${body.kubeletVersion})` : ''}${body.agentVersion ? ` (agent ${body.agentVersion} installed; restarting on it)` : ''}${renewed ? ` (${renewed.map((c) => `${c.name} now expires ${c.expiresAt}`).join(', ')})` : ''}${body.message ? `: ${body.message}` : ''}`,
      });
      await enqueue(em, Subjects.ClusterChanged, { organisationId: op.organisationId, clusterId: op.clusterId, reason: `${op.kind} of ${name} ${body.state.toLowerCase()}` });
    });
  }
}
