import type { DataSource, EntityManager } from 'typeorm';
import { CLOUD_NAMES, CloudId, ConditionReason, ConditionType, EventReason, TAG_NODE, WaitingReason, WaitingReasonName } from '@skyweave/domain';
import { CloudProvider, Instance, NetworkInspection, isCloudError, isNotFound, networkSpecFor } from '@skyweave/cloud-adapters';
import { Subjects } from '@skyweave/contracts';
import {
  ClusterEntity, ClusterRef, LifecycleRepository, NodeEntity, Repositories, enqueue, orgScope, recordEvent, systemScope,
} from '@skyweave/persistence';
import { Logger, MissingCredentialsError } from '@skyweave/service-kit';

/** Where the full reconcile gets a cloud account's provider (the credential vault in production). */
export interface ProviderSource { providerFor(organisationId: string, cloud: CloudId): Promise<CloudProvider> }

export interface FullReconcileOptions {
  /** This replica's name, recorded as lease holder and in each reconcile record. */
  replica: string;
  /** Seconds between full reconciles of a cluster (seeds: every hour). */
  intervalSeconds: number;
  /** Fraction of the interval by which each next run is moved at random (±), so clusters do not all fire at once. */
  jitter: number;
  /** Seconds a lease lasts without renewal (a replica that died frees its clusters after this). */
  leaseSeconds: number;
  /**
   * Seconds after a node's launch during which its VM, missing from the list, is *undecided* — but only while nothing
   * proves it existed (its agent never registered, no listing ever showed it): it may just not be listed yet (eventual
   * consistency). A VM with such proof that is missing is gone at once, however young.
   */
  missingGraceSeconds: number;
  /** Seconds until the next full reconcile of a cluster whose last one left something undecided (within a minute). */
  recheckSeconds: number;
  /** Seconds to wait before trying again after a reconcile that failed (a cloud throttling or down). */
  retrySeconds: number;
  random?: () => number;
}

export const DEFAULT_FULL_RECONCILE: Omit<FullReconcileOptions, 'replica'> = {
  intervalSeconds: 3600, jitter: 0.1, leaseSeconds: 120, missingGraceSeconds: 120, recheckSeconds: 30, retrySeconds: 300,
};

/** Waiting reasons of a refused credentials set. */
const CREDENTIAL_REASONS: WaitingReasonName[] = [WaitingReason.InvalidCredentials, WaitingReason.MissingCredentials];

/** A cloud that refused the organisation's credentials during a full reconcile. */
interface CredentialRefusal { cloud: CloudId; reason: WaitingReasonName; message: string }

/** What one cloud looked like. */
interface CloudObservation { cloud: CloudId; region: string; provider: CloudProvider; inspection: NetworkInspection; instances: Instance[] }

/** A VM that serves its node: launched or running (a stopped one does not, and is replaced like a lost one). */
const serving = (i: Instance) => i.state === 'pending' || i.state === 'running';

export type FullReconcileOutcome = 'reconciled' | 'busy' | 'not-eligible' | 'failed';

/** The full reconcile's schedule looks at every organisation's clusters. */
const SCHEDULE = systemScope('full reconcile schedule: due clusters of every organisation');

/**
 * The full reconcile of one cluster (seeds 001–004 "reconciliation & healing"; DESIGN §2.6): under the cluster's
 * reconcile lease, list what exists in each cloud BY THE CLUSTER'S TAG — per cloud one network inspection and one
 * instance list, a number of API calls that does not grow with the node count — compare it with the desired state
 * and hand the repairs to the level-triggered pass:
 * - network gone or drifted (subnet, security-group / firewall rules, gateway …) ⇒ the network goes back to
 *   Provisioning and is ensured again (the adapters restore the plan, and rebuild a deleted VPC / VNet / resource group);
 * - a node whose VM is gone ⇒ the node goes back to Pending with a fresh identity (new VM, new bootstrap and
 *   WireGuard keys; same name, ordinal and overlay address) and is relaunched; a master rejoins the control plane.
 *   "Gone" needs proof the VM existed (its agent registered, or an earlier listing showed it), not a launch grace: a
 *   VM launched moments ago that nothing proves yet is *undecided* (recorded, and looked at again within
 *   `recheckSeconds`) — after `missingGraceSeconds` without proof it is gone too;
 * - credentials refused by a cloud ⇒ that cloud's network row says so (CredentialsValid=False on the cluster, through
 *   the reconciler), the run fails and is retried (at once when the credentials are replaced);
 * - a VM tagged for the cluster that no node owns (or a second VM of one node) ⇒ terminated.
 * Each run is recorded (cluster_reconciles, and ReconcileStarted / Reconciled events with what it found and changed).
 * While the lease is held the API refuses user changes with 409 `cluster-reconciling`.
 */
export class FullReconciler {
  private readonly opts: FullReconcileOptions;
  private readonly repos: Repositories;

  constructor(
    private readonly ds: DataSource,
    private readonly providers: ProviderSource,
    private readonly log: Logger,
    opts: Partial<FullReconcileOptions> & { replica: string },
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.opts = { ...DEFAULT_FULL_RECONCILE, ...opts };
    this.repos = new Repositories(ds);
  }

  /** When the next run of a cluster is due after one at `from`: the interval ± jitter. */
  nextRunAfter(from: Date, seconds = this.opts.intervalSeconds): Date {
    const r = this.opts.random ?? Math.random;
    const factor = 1 + this.opts.jitter * (2 * r() - 1);
    return new Date(from.getTime() + seconds * 1000 * factor);
  }

  /** Clusters whose full reconcile is due and whose lease is free, oldest due first (at most `limit`). */
  async due(limit: number): Promise<ClusterRef[]> {
    return this.repos.clusters.dueForFullReconcile(SCHEDULE, limit);
  }

  /**
   * One round of the schedule: the due clusters (at most `limit`), reconciled `concurrency` at a time (each under its
   * own lease, so two replicas running rounds at once never reconcile one cluster twice). @returns the outcomes.
   */
  async runDue(limit: number, concurrency: number): Promise<FullReconcileOutcome[]> {
    const queue = await this.due(limit);
    const outcomes: FullReconcileOutcome[] = [];
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) outcomes.push(await this.run(c.organisationId, c.id, 'schedule'));
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
    return outcomes;
  }

  /**
   * Runs one full reconcile. @returns `busy` when another replica holds the lease, `not-eligible` when the cluster is
   * not Ready (being created or deleted: the level-triggered pass drives it), `failed` when a cloud call failed (recorded,
   * retried after `retrySeconds`), else `reconciled`.
   */
  async run(organisationId: string, clusterId: string, trigger: 'schedule' | 'manual'): Promise<FullReconcileOutcome> {
    const scope = orgScope(organisationId);
    if (!(await this.repos.clusters.acquireReconcileLease(scope, clusterId, this.opts.replica, this.opts.leaseSeconds))) {
      const row = await this.repos.clusters.findById(scope, clusterId);
      return row && row.phase === 'Ready' && !row.deletionRequestedAt ? 'busy' : 'not-eligible';
    }
    const renew = setInterval(() => {
      this.repos.clusters.renewReconcileLease(scope, clusterId, this.opts.replica, this.opts.leaseSeconds).catch(() => undefined);
    }, (this.opts.leaseSeconds * 1000) / 3);
    const started = this.clock();
    const record = await this.repos.reconciles.start(scope, clusterId, { replica: this.opts.replica, trigger, startedAt: started });
    try {
      const cluster = await this.repos.clusters.getById(scope, clusterId);
      await this.ds.transaction((em) => recordEvent(em, { organisationId, clusterId, reason: EventReason.ReconcileStarted, message: `Full reconcile #${record.id} started (${trigger}, by ${this.opts.replica}): listing every cloud by the cluster's tag` }));
      const settled = await Promise.allSettled(cluster.spec.clouds.map((cloud) => this.observe(organisationId, clusterId, cluster.spec.region, cloud)));
      const refused: CredentialRefusal[] = [];
      settled.forEach((r, i) => {
        if (r.status === 'fulfilled') return;
        const e: unknown = r.reason;
        if (e instanceof MissingCredentialsError) refused.push({ cloud: cluster.spec.clouds[i], reason: WaitingReason.MissingCredentials, message: e.message });
        else if (isCloudError(e, 'InvalidCredentials')) refused.push({ cloud: cluster.spec.clouds[i], reason: WaitingReason.InvalidCredentials, message: e.message });
        else throw e;
      });
      if (refused.length) {
        await this.ds.transaction((em) => this.recordRefusals(em, cluster, refused));
        throw new Error(refused.map((r) => `${CLOUD_NAMES[r.cloud]} refused the credentials: ${r.message}`).join('; '));
      }
      const observations = settled.map((r) => (r as PromiseFulfilledResult<CloudObservation>).value);
      const { found, changed, undecided } = await this.ds.transaction((em) => this.repair(em, cluster, observations, record.id, started));
      // strays are terminated after the state is written: a crash before leaves them for the next run
      await this.terminateStrays(organisationId, clusterId, observations, changed);
      await this.finish(cluster, record.id, started, found, changed, null, undecided);
      return 'reconciled';
    } catch (e) {
      const message = (e as Error).message;
      this.log.warn({ clusterId, err: message }, 'full reconcile failed');
      const cluster = await this.repos.clusters.findById(scope, clusterId);
      if (cluster) await this.finish(cluster, record.id, started, [], [], message);
      return 'failed';
    } finally {
      clearInterval(renew);
    }
  }

  private async observe(organisationId: string, clusterId: string, regionId: string, cloud: CloudId): Promise<CloudObservation> {
    const provider = await this.providers.providerFor(organisationId, cloud);
    const spec = networkSpecFor(clusterId, regionId, cloud);
    const [inspection, instances] = await Promise.all([provider.inspectNetwork(spec), provider.listInstances(clusterId, spec.region)]);
    return { cloud, region: spec.region, provider, inspection, instances };
  }

  /** Credentials refused: said on each cloud's (Ready) network row, which the reconciler shows as CredentialsValid=False. */
  private async recordRefusals(em: EntityManager, cluster: ClusterEntity, refused: CredentialRefusal[]): Promise<void> {
    const { id: clusterId, organisationId } = cluster;
    const scope = orgScope(organisationId);
    for (const r of refused) {
      await this.repos.networks.update(scope, clusterId, r.cloud, { waitingReason: r.reason, message: r.message }, em, 'Ready');
      await recordEvent(em, { organisationId, clusterId, type: 'Warning', reason: r.reason, object: `network/${r.cloud}`, message: `${CLOUD_NAMES[r.cloud]} refused the credentials during the full reconcile: ${r.message}` });
    }
    await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId, reason: 'full reconcile: credentials refused' });
  }

  /**
   * Compares and writes the repairs (rows back to Provisioning / Pending, each by a guarded transition, so a row that
   * moved during the cloud calls is left alone) in one transaction; returns what it found, changed and left undecided.
   */
  private async repair(em: EntityManager, cluster: ClusterEntity, observations: CloudObservation[], recordId: string, now: Date): Promise<{ found: string[]; changed: string[]; undecided: string[] }> {
    const { id: clusterId, organisationId } = cluster;
    const scope = orgScope(organisationId);
    const lc = new LifecycleRepository(em);
    const found: string[] = [];
    const changed: string[] = [];
    const undecided: string[] = [];
    const seen: string[] = [];
    // One lock order everywhere: the cluster row first, then its networks, then its nodes (as a reconcile pass and the
    // agents' /status do). Locking the nodes first and the cluster last (for its conditions, below) deadlocked against
    // a node's /status, which holds the cluster and then writes its node (issue 10, finding 9).
    await this.repos.clusters.findForUpdate(scope, clusterId, em);
    const networks = await this.repos.networks.listByCluster(scope, clusterId, em, { lock: true });
    const nodes = await this.repos.nodes.listByCluster(scope, clusterId, em, { lock: true });
    const graceMs = this.opts.missingGraceSeconds * 1000;
    // every cloud answered: credentials refused at an earlier run are accepted again
    const accepted = await this.repos.networks.clearWaiting(scope, clusterId, 'Ready', CREDENTIAL_REASONS, em);
    for (const o of observations) {
      const name = CLOUD_NAMES[o.cloud];
      const net = networks.find((n) => n.cloud === o.cloud);
      const gone = o.inspection.status === null;
      if (net && net.phase === 'Ready' && (gone || o.inspection.drift.length > 0)) {
        const what = gone ? [`${name}: the network (VPC / VNet / resource group) is gone`] : o.inspection.drift.map((d) => `${name}: ${d}`);
        found.push(...what);
        changed.push(gone ? `${name}: rebuilding the network` : `${name}: restoring the network to the plan`);
        await lc.moveNetwork(scope, clusterId, o.cloud, 'Provisioning', {
          from: ['Ready'], set: { dispatchedAt: null, ...(gone ? { status: null } : {}), message: what.join('; ') },
          event: { type: 'Warning', reason: gone ? EventReason.NetworkGone : EventReason.NetworkDrift, object: `network/${o.cloud}`, message: what.join('; ') },
        });
      }
      const byNode = new Map<string, Instance[]>();
      for (const i of o.instances) byNode.set(i.tags[TAG_NODE] ?? '', [...(byNode.get(i.tags[TAG_NODE] ?? '') ?? []), i]);
      for (const node of nodes.filter((n) => n.cloud === o.cloud && !n.removalRequestedAt)) {
        if (!['Booting', 'Registered', 'Joining', 'Joined'].includes(node.phase)) continue;
        const since = node.launchStartedAt ?? node.updatedAt;
        const mine = byNode.get(node.id) ?? [];
        if (mine.some(serving)) {
          if (!node.instanceSeenAt) seen.push(node.id);
          continue;
        }
        const stopped = mine.find((i) => !serving(i));
        // proof the VM existed: its agent registered, or a listing showed it (a stopped VM listed now is proof too)
        const registered = node.bootstrapTokenUsedAt !== null || ['Registered', 'Joining', 'Joined'].includes(node.phase);
        const proven = registered || node.instanceSeenAt !== null || stopped !== undefined;
        const age = now.getTime() - since.getTime();
        if (!proven && age < graceMs) {
          undecided.push(`${name}: the VM of ${node.role} ${node.name} (${node.instanceId ?? 'unknown id'}), launched ${Math.round(age / 1000)} s ago, is not listed and its agent has not registered yet: gone or not listed yet (eventual consistency); looked at again within ${this.opts.recheckSeconds} s`);
          continue;
        }
        found.push(stopped
          ? `${name}: the VM of ${node.role} ${node.name} (${stopped.id}) is ${stopped.state} (stopped out of band)`
          : `${name}: the VM of ${node.role} ${node.name} (${node.instanceId ?? 'unknown id'}) is gone`);
        changed.push(`${name}: replacing ${node.role} ${node.name}${node.role === 'master' ? ' (it rejoins the control plane)' : ''}`);
        if (!(await this.resetNode(em, lc, cluster, node, `its VM ${node.instanceId ?? ''} was gone at the full reconcile #${recordId}; replacing it`))) {
          found.pop();
          changed.pop();
        }
      }
    }
    await this.repos.nodes.updateMany(scope, seen, { instanceSeenAt: now }, em);
    const inSync = found.length === 0;
    // InSync is the full reconcile's own condition: patched by type under the row lock, never the whole array
    const conditions = await lc.patchClusterConditions(scope, clusterId, 'full-reconcile', {
      set: [inSync
        ? { type: ConditionType.InSync, status: 'True', reason: ConditionReason.NoDrift, message: `The last full reconcile (#${recordId}) found every cloud as declared${undecided.length ? ` (${undecided.length} VM(s) undecided, looked at again soon)` : ''}` }
        : { type: ConditionType.InSync, status: 'False', reason: ConditionReason.Repairing, message: found.join('; ') }],
    }, now);
    if (conditions) cluster.conditions = conditions;
    if (!inSync || accepted) await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId, reason: `full reconcile #${recordId} ${inSync ? 'found the credentials accepted' : 'found drift'}` });
    return { found, changed, undecided };
  }

  /**
   * Gives a node whose VM is gone a fresh identity for its next VM: same row, name, ordinal and overlay address
   * (so the control-plane endpoint and peers' allowed IPs stay valid), nothing of the old VM (instance, keys, tokens).
   */
  private async resetNode(em: EntityManager, lc: LifecycleRepository, cluster: ClusterEntity, node: NodeEntity, message: string): Promise<boolean> {
    const { id: clusterId, organisationId } = cluster;
    const scope = orgScope(organisationId);
    const moved = await lc.moveNode(scope, node, 'Pending', { from: ['Booting', 'Registered', 'Joining', 'Joined'], set: {
      message, instanceId: null, instanceSeenAt: null, privateIp: null, publicIp: null, dispatchedAt: null, joinedAt: null,
      bootstrapTokenHash: null, bootstrapTokenExpiresAt: null, bootstrapTokenUsedAt: null, bootstrapTokenSealed: null, agentTokenHash: null, registrationIdHash: null,
      wireguardPublicKey: null, podCidr: null, peerLatencies: {}, launchToken: null, launchStartedAt: null,
      retryAt: null, attempts: 0, waitingReason: null, kubernetesVersion: cluster.spec.kubernetesVersion,
    } });
    if (!moved) return false;
    await this.repos.operations.failActiveOfNode(scope, clusterId, node.id, `${node.name} was replaced`, em);
    await recordEvent(em, { organisationId, clusterId, type: 'Warning', reason: EventReason.InstanceGone, object: `node/${node.name}`, message: `${node.role} ${node.name} on ${CLOUD_NAMES[node.cloud]}: ${message}` });
    return true;
  }

  /** VMs tagged for the cluster that no live node owns, and extra VMs of one node: terminated (never an untagged one). */
  private async terminateStrays(organisationId: string, clusterId: string, observations: CloudObservation[], changed: string[]): Promise<void> {
    const nodes = await this.repos.nodes.listByCluster(orgScope(organisationId), clusterId);
    for (const o of observations) {
      const provider = o.provider;
      const perNode = new Map<string, Instance[]>();
      for (const i of o.instances) perNode.set(i.tags[TAG_NODE] ?? '', [...(perNode.get(i.tags[TAG_NODE] ?? '') ?? []), i]);
      for (const [nodeId, instances] of perNode) {
        const node = nodes.find((n) => n.id === nodeId);
        // a node terminating is the node-provisioner's; a live node keeps the VM it recorded (or the first listed)
        if (node?.phase === 'Terminating') continue;
        const owned = node !== undefined && node.phase !== 'Terminated' && node.cloud === o.cloud;
        // a stopped VM is never kept: its node was sent for a new one
        const keep = owned ? (instances.find((i) => i.id === node.instanceId && serving(i)) ?? instances.find(serving)) : undefined;
        for (const i of instances) {
          if (i === keep) continue;
          try {
            await provider.terminateInstance(clusterId, o.region, i.id);
          } catch (e) {
            if (!isNotFound(e)) throw e;
          }
          const why = !node ? 'no node of the cluster owns it' : !owned ? `its node ${node.name} is ${node.phase}` : !serving(i) ? `${node.name}'s VM, ${i.state} out of band` : `a second VM of ${node.name}`;
          changed.push(`${CLOUD_NAMES[o.cloud]}: terminated ${i.name} (${i.id}): ${why}`);
        }
      }
    }
  }

  private async finish(cluster: ClusterEntity, recordId: string, started: Date, found: string[], changed: string[], error: string | null, undecided: string[] = []): Promise<void> {
    const { id: clusterId, organisationId } = cluster;
    const scope = orgScope(organisationId);
    const end = this.clock();
    const seconds = ((end.getTime() - started.getTime()) / 1000).toFixed(1);
    await this.ds.transaction(async (em) => {
      await this.repos.reconciles.finish(scope, recordId, { finishedAt: end, found, changed, undecided, error }, em);
      // something undecided is looked at again within a minute (no jitter beyond the recheck), not an interval later
      const next = error ? this.nextRunAfter(end, Math.min(this.opts.retrySeconds, this.opts.intervalSeconds))
        : undecided.length ? new Date(end.getTime() + Math.min(this.opts.recheckSeconds, this.opts.intervalSeconds) * 1000) : this.nextRunAfter(end);
      await this.repos.clusters.releaseReconcileLease(scope, clusterId, this.opts.replica, { lastReconciledAt: end, nextReconcileAt: next }, em);
      const summary = error
        ? `Full reconcile #${recordId} failed after ${seconds} s: ${error}; next try at ${next.toISOString()}`
        : `Full reconcile #${recordId} finished in ${seconds} s: found ${found.length ? found.join('; ') : 'nothing out of place'}; changed ${changed.length ? changed.join('; ') : 'nothing'}`
          + `${undecided.length ? `; undecided ${undecided.join('; ')}` : ''}; next at ${next.toISOString()}`;
      await recordEvent(em, { organisationId, clusterId, type: error ? 'Warning' : 'Normal', reason: error ? EventReason.ReconcileFailed : EventReason.Reconciled, message: summary });
    });
  }
}
