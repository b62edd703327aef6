import type { DataSource, EntityManager } from 'typeorm';
import { Subjects } from '@skyweave/contracts';
import { randomUUID } from 'node:crypto';
import { CONDITION_OWNERS, Condition } from '@skyweave/domain';
import {
  ClusterEntity, ClusterNetworkEntity, ClusterRef, LifecycleRepository, NodeEntity, OrgScope, Repositories, enqueue, orgScope, recordEvent, systemScope,
} from '@skyweave/persistence';
import type { Logger } from '@skyweave/service-kit';
import { CERTIFICATE_RENEW_BEFORE_MS, DEFAULT_PLAN_OPTIONS, Plan, PlanOptions, planReconcile } from './plan';

/** Seconds an agent gets beyond an operation's own timeout to report its result (transport, retries). */
export const OPERATION_REPORT_MARGIN_SECONDS = 30;

/** The re-drive looks at every organisation's clusters. */
const REDRIVE = systemScope('reconciler re-drive: unsettled clusters of every organisation');


/**
 * Applies reconcile passes. A pass reads the cluster with `SELECT … FOR NO KEY UPDATE` (one pass per cluster at a time,
 * across replicas), plans, and writes state, outbox commands and events in the same transaction: a crash anywhere
 * leaves either the old state or the new one, and the re-drive picks it up again.
 */
export class Reconciler {
  private readonly repos: Repositories;

  constructor(
    private readonly ds: DataSource,
    private readonly log: Logger,
    private readonly clock: () => Date = () => new Date(),
    private readonly options: PlanOptions = DEFAULT_PLAN_OPTIONS,
    /** When a cluster that just became Ready is first fully reconciled (the full reconciler's interval with jitter). */
    private readonly firstFullReconcile: (readyAt: Date) => Date = (t) => new Date(t.getTime() + 3600_000),
  ) {
    this.repos = new Repositories(ds);
  }

  /** Reconciles one cluster of one organisation. Unknown cluster ⇒ nothing (it may have been deleted). */
  async reconcile(organisationId: string, clusterId: string): Promise<void> {
    const scope = orgScope(organisationId);
    await this.ds.transaction(async (em) => {
      const cluster = await this.repos.clusters.findForUpdate(scope, clusterId, em);
      if (!cluster) return;
      const networks = await this.repos.networks.listByCluster(scope, clusterId, em);
      const nodes = await this.repos.nodes.listByCluster(scope, clusterId, em, { order: 'role-ordinal' });
      const operations = await this.repos.operations.listByCluster(scope, clusterId, em);
      const now = this.clock();
      const plan = planReconcile(
        { id: cluster.id, organisationId, phase: cluster.phase, conditions: cluster.conditions, deletionRequested: cluster.deletionRequestedAt !== null, kubernetesVersion: cluster.spec.kubernetesVersion },
        networks, nodes.map((n) => ({ ...n, removalRequested: n.removalRequestedAt !== null })), now, operations, this.options,
      );
      await this.apply(em, scope, cluster, networks, nodes, plan, now);
    });
  }

  private async apply(em: EntityManager, scope: OrgScope, cluster: ClusterEntity, networks: ClusterNetworkEntity[], nodes: NodeEntity[], plan: Plan, now: Date): Promise<void> {
    const { id: clusterId, organisationId } = cluster;
    const lc = new LifecycleRepository(em);
    if (plan.phase !== cluster.phase) {
      const moved = await lc.moveCluster(scope, clusterId, plan.phase);
      if (moved) this.log.info({ clusterId, from: cluster.phase, to: plan.phase }, 'cluster phase');
    }
    // only the reconciler's own condition types, patched by type under the row lock (held since the read above)
    const owned = CONDITION_OWNERS.reconciler as readonly string[];
    const mine = (cs: Condition[]) => cs.filter((c) => owned.includes(c.type));
    if (JSON.stringify(mine(plan.conditions)) !== JSON.stringify(mine(cluster.conditions)) || plan.removeConditions.some((t) => cluster.conditions.some((c) => c.type === t))) {
      await lc.patchClusterConditions(scope, clusterId, 'reconciler', { set: mine(plan.conditions), remove: plan.removeConditions }, now);
    }
    if (plan.phase === 'Ready' && cluster.nextReconcileAt === null) {
      await this.repos.clusters.update(scope, clusterId, { nextReconcileAt: this.firstFullReconcile(now) }, em);
    }
    for (const id of plan.timedOut) {
      await this.repos.operations.update(scope, id, { state: 'TimedOut', message: 'no result from the agent within the deadline', finishedAt: now }, em, { onlyActive: true });
    }
    for (const o of plan.newOperations) {
      await this.repos.operations.insert(scope, {
        id: randomUUID(), clusterId, executorNodeId: o.executorNodeId, targetNodeId: o.targetNodeId, kind: o.kind, purpose: o.purpose,
        kubernetesVersion: o.kubernetesVersion, upgradeControlPlane: o.upgradeControlPlane, agentPackage: o.agentPackage ?? null, timeoutSeconds: o.timeoutSeconds, state: 'Pending', message: null,
        deadlineAt: new Date(now.getTime() + (o.timeoutSeconds + OPERATION_REPORT_MARGIN_SECONDS) * 1000), finishedAt: null,
      }, em);
    }
    // a move to Deleting / Terminating starts a new step: what the row waited for before no longer applies
    const fresh = { retryAt: null, attempts: 0, waitingReason: null };
    for (const u of plan.networkUpdates) {
      const row = networks.find((n) => n.cloud === u.cloud);
      if (!row) continue;
      if (u.phase && u.phase !== row.phase) {
        await lc.moveNetwork(scope, clusterId, u.cloud, u.phase, { set: { dispatchedAt: now, ...(u.phase === 'Deleting' ? fresh : {}) } });
      } else {
        await this.repos.networks.update(scope, clusterId, u.cloud, { dispatchedAt: now }, em, row.phase);
      }
    }
    for (const u of plan.nodeUpdates) {
      const row = nodes.find((n) => n.id === u.id);
      if (!row) continue;
      if (u.kubernetesVersion) {
        await this.repos.nodes.update(scope, u.id, { kubernetesVersion: u.kubernetesVersion }, em);
      } else if (u.phase && u.phase !== row.phase) {
        await lc.moveNode(scope, row, u.phase, { set: { dispatchedAt: now, ...(u.phase === 'Terminating' ? fresh : {}) } });
      } else {
        await this.repos.nodes.update(scope, u.id, { dispatchedAt: now }, em, [row.phase]);
      }
    }
    for (const c of plan.commands) {
      if ('cloud' in c) await enqueue(em, c.subject, { organisationId, clusterId, cloud: c.cloud });
      else await enqueue(em, c.subject, { organisationId, clusterId, nodeId: c.nodeId });
    }
    for (const e of plan.events) await recordEvent(em, { organisationId, clusterId, ...e });
    // an upgrade step done with nothing else to wake the next one: look again at once
    if (plan.nodeUpdates.some((u) => u.kubernetesVersion)) await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId, reason: 'node upgraded' });
  }

  /**
   * Ids of clusters to re-drive: those for which `isUnsettled` (libs/domain lifecycle) holds — being created or
   * deleted, a node or network not settled and not waiting out a backoff, a removal under way, an agent operation
   * under way, or a node not at the declared Kubernetes version. The SQL is built from the same constants.
   */
  async unsettled(): Promise<ClusterRef[]> {
    return this.repos.clusters.unsettled(REDRIVE);
  }

  /**
   * Ready clusters with a Joined node whose agent reported a version other than the platform's (`options.agentPackage`);
   * none when the installation serves no packages. The plan decides whether an upgrade is due (planAgentUpgrade).
   */
  async agentUpgradesDue(): Promise<ClusterRef[]> {
    const pkg = this.options.agentPackage;
    return pkg ? this.repos.nodes.clustersWithAgentVersionOtherThan(REDRIVE, pkg.version) : [];
  }

  /**
   * Ids of Ready clusters with a Joined master whose reported certificate expires within CERTIFICATE_RENEW_BEFORE_MS
   * of this reconciler's clock (the plan then decides whether a renewal is due: see planCertificateRenewal).
   */
  async certificatesDue(): Promise<ClusterRef[]> {
    return this.repos.nodes.clustersWithCertificatesExpiringBefore(REDRIVE, new Date(this.clock().getTime() + CERTIFICATE_RENEW_BEFORE_MS));
  }
}
