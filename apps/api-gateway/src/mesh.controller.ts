import { Body, Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { NodeRoute } from './access';
import { ApiExcludeController } from '@nestjs/swagger';
import type { DataSource } from 'typeorm';
import {
  ConditionType, MAX_CROSS_CLOUD_LATENCY_MS, assessCrossCloudLatency, setCondition,
} from '@skyweave/domain';
import type { AgentApi } from '@skyweave/contracts';
import { ChangeFeed, NodeEntity, Repositories, orgScope, recordEvent } from '@skyweave/persistence';
import { AgentNode } from './agent-auth';
import { MeshRequestDto, StatusReportDto } from './dtos';
import { IN_MESH, meshConfigFor, readMeshRows } from './mesh-config';
import { Problem } from './problem';
import { LongPolls } from './long-polls';
import { CHANGE_FEED, DATA_SOURCE, LONG_POLLS, MESH_LONG_POLL } from './tokens';

/**
 * How long `/mesh` holds an unchanged answer by default (milliseconds). Meanwhile it re-reads when the cluster's
 * nodes or spec change (ChangeFeed: PostgreSQL NOTIFY from triggers), and at the latest every ChangeFeed safety interval.
 */
export const MESH_LONG_POLL_MS = 25_000;

/**
 * The WireGuard mesh, as node-agents see it (DESIGN §6: the platform hands out overlay addresses from 10.4.0.0/16 and
 * peer lists; keys are made on the nodes). `/mesh` is a long poll so that a node coming or going reaches every agent
 * as soon as the change commits (a NOTIFY wakes the waiters), without an hourly poll; `/status` takes what agents measure (pod range, round trips) and keeps
 * the cluster's `CrossCloudLatency` condition.
 */
@ApiExcludeController()
@NodeRoute()
@Controller('agent/v1/nodes/:nodeId')
export class MeshController {
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
   * The node's interface and peers; held until they differ from `revision` or the poll window ends, or until the
   * node polls `/mesh` again (one poll per node, LongPolls: the older answers at once with what it has).
   * @throws Problem 503 `long-polls-exhausted` at the gateway's bound of held polls.
   */
  @Post('mesh')
  @HttpCode(200)
  async mesh(@AgentNode() node: NodeEntity, @Body() body: MeshRequestDto): Promise<AgentApi.MeshConfig> {
    const deadline = Date.now() + this.longPollMs;
    const hold = this.polls.begin('mesh', node.id);
    // Subscribed before the first read, so a change committed between the read and the wait still wakes it.
    const sub = this.feed.subscribe('cluster', node.clusterId);
    try {
      // The first read is this request's own (it must see what its caller just wrote); after a wake-up, the waiters
      // of one cluster share one read.
      let config = meshConfigFor(node, await readMeshRows(this.repos, node));
      while (config.revision === body.revision && Date.now() < deadline && !hold.ended) {
        await Promise.race([sub.next(deadline - Date.now()), hold.superseded]);
        if (hold.ended) break;
        config = meshConfigFor(node, await this.feed.shared('cluster', node.clusterId, 'mesh', () => readMeshRows(this.repos, node)));
      }
      return config;
    } finally {
      sub.close();
      hold.release();
    }
  }

  /**
   * Records the node's pod range and round trips, and re-judges the cluster's cross-cloud latency.
   * - `podCidr` (shape checked by StatusReportDto: a /24 network inside 10.217.0.0/16) is taken once, as Kubernetes
   *   assigns it once: 409 `pod-cidr-fixed` for another value once set, 409 `pod-cidr-taken` when another node of the
   *   cluster (not Terminated) holds it. Checked under the cluster row lock, so two nodes cannot take one range at once.
   * - `latencies` are kept for the cluster's other nodes only (samples for other ids are ignored), and the stored map
   *   holds only the cluster's current nodes: its size is bounded by the cluster's (issue 10, findings 3 and 4).
   * - `certificates` (a master's `kubeadm certs check-expiration`) replace the recorded ones; a worker's are ignored
   *   (it has no admin.conf or API server certificate; kubelet rotates its own).
   */
  @Post('status')
  @HttpCode(204)
  async status(@AgentNode() node: NodeEntity, @Body() body: StatusReportDto): Promise<void> {
    const now = new Date();
    const scope = orgScope(node.organisationId);
    await this.ds.transaction(async (em) => {
      const cluster = await this.repos.clusters.findForUpdate(scope, node.clusterId, em);
      if (!cluster) throw Problem.notFound(`cluster ${node.clusterId}`);
      const all = await this.repos.nodes.listByCluster(scope, cluster.id, em);
      const fresh = all.find((n) => n.id === node.id);
      if (!fresh) throw Problem.notFound(`node ${node.id}`);
      if (body.podCidr && body.podCidr !== fresh.podCidr) {
        if (fresh.podCidr) {
          throw podCidrConflict('pod-cidr-fixed', `node ${fresh.name} already has the pod range ${fresh.podCidr}; it is assigned once`);
        }
        const holder = all.find((n) => n.id !== fresh.id && n.phase !== 'Terminated' && n.podCidr === body.podCidr);
        if (holder) throw podCidrConflict('pod-cidr-taken', `${body.podCidr} is the pod range of node ${holder.name}`);
      }
      const peerLatencies: NodeEntity['peerLatencies'] = {};
      const members = new Set(all.map((n) => n.id));
      for (const [id, v] of Object.entries(fresh.peerLatencies)) if (members.has(id) && id !== fresh.id) peerLatencies[id] = v;
      for (const s of body.latencies ?? []) {
        if (members.has(s.peerNodeId) && s.peerNodeId !== fresh.id) peerLatencies[s.peerNodeId] = { rttMs: s.rttMs ?? null, at: now.toISOString() };
      }
      const certificates = fresh.role === 'master' && body.certificates ? body.certificates.map((c) => ({ name: c.name, expiresAt: c.expiresAt })) : undefined;
      await this.repos.nodes.update(scope, node.id, {
        peerLatencies, ...(body.podCidr && body.podCidr !== fresh.podCidr ? { podCidr: body.podCidr } : {}), ...(certificates ? { certificateExpirations: certificates } : {}),
      }, em);
      if (!body.latencies?.length) return;
      const live = all.filter(IN_MESH);
      const verdict = assessCrossCloudLatency(live.map((n) => (n.id === node.id ? { ...n, peerLatencies } : n)), MAX_CROSS_CLOUD_LATENCY_MS, now);
      const before = cluster.conditions.find((c) => c.type === ConditionType.CrossCloudLatency);
      if (before && before.status === verdict.status && before.reason === verdict.reason && before.message === verdict.message) return;
      await this.repos.clusters.update(scope, cluster.id, {
        conditions: setCondition(cluster.conditions, { type: ConditionType.CrossCloudLatency, status: verdict.status, reason: verdict.reason, message: verdict.message }, now),
      }, em);
      if (before?.status !== verdict.status && verdict.status !== 'Unknown') {
        await recordEvent(em, {
          organisationId: cluster.organisationId, clusterId: cluster.id, type: verdict.status === 'False' ? 'Warning' : 'Normal',
          reason: verdict.status === 'False' ? 'CrossCloudLatencyOverBudget' : 'CrossCloudLatencyWithinBudget', message: verdict.message,
        });
      }
    });
  }

  /** The cluster and its nodes (rows shared between waiters: never modified). */
}

/** 409 about the reported pod CIDR, naming the field and rule. */
function podCidrConflict(rule: 'pod-cidr-fixed' | 'pod-cidr-taken', message: string): Problem {
  return new Problem(409, rule, 'Pod range conflict', message, [{ field: 'podCidr', rule, message }]);
}
