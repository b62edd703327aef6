import type { DataSource } from 'typeorm';
import { CLOUD_NAMES, CloudId, EventReason, EventReasonName, TAG_CLUSTER, WaitingReason, WaitingReasonName, backoffSeconds } from '@skyweave/domain';
import { NetworkSpec, isCloudError, isConflict, networkSpecFor } from '@skyweave/cloud-adapters';
import { Subjects, NetworkCommand } from '@skyweave/contracts';
import { LifecycleRepository, Repositories, enqueue, orgScope, recordEvent, withAdvisoryLock } from '@skyweave/persistence';
import { RetryLater } from '@skyweave/messaging';
import { CredentialVault, Logger, MissingCredentialsError } from '@skyweave/service-kit';

/**
 * Ensures and deletes one cloud's network for a cluster. Every step is idempotent (the adapter looks parts up by
 * tag first), so a redelivered or duplicated command is harmless. Results are written with an outbox
 * `cluster.changed` so the reconciler takes the next step.
 */
export class NetworkProvisioner {
  private readonly repos: Repositories;

  constructor(private readonly ds: DataSource, private readonly vault: CredentialVault, private readonly log: Logger) {
    this.repos = new Repositories(ds);
  }

  /** The network plan of a cluster on a cloud: address plan and firewall tables of seed 004. */
  static specFor(clusterId: string, regionId: string, cloud: CloudId): NetworkSpec {
    return networkSpecFor(clusterId, regionId, cloud);
  }

  /** Ensures one cloud's network; one step per cluster network at a time across replicas (advisory lock). */
  async ensure(cmd: NetworkCommand): Promise<void> {
    await withAdvisoryLock(this.ds, `network:${cmd.clusterId}:${cmd.cloud}`, () => this.ensureLocked(cmd));
  }

  private async ensureLocked(cmd: NetworkCommand): Promise<void> {
    const { organisationId, clusterId, cloud } = cmd;
    const scope = orgScope(organisationId);
    const cluster = await this.repos.clusters.findById(scope, clusterId);
    const row = await this.repos.networks.findByCloud(scope, clusterId, cloud);
    if (!cluster || !row || row.phase !== 'Provisioning' || cluster.deletionRequestedAt) return;
    if (row.retryAt && row.retryAt.getTime() > Date.now()) return; // waiting out a quota / capacity refusal
    const started = Date.now();
    try {
      const provider = await this.vault.providerFor(organisationId, cloud);
      const status = await provider.ensureNetwork(NetworkProvisioner.specFor(clusterId, cluster.spec.region, cloud));
      await this.ds.transaction(async (em) => {
        const moved = await new LifecycleRepository(em).moveNetwork(scope, clusterId, cloud, 'Ready', {
          set: { status, message: null, retryAt: null, attempts: 0, waitingReason: null },
          event: {
            reason: EventReason.NetworkReady, object: `network/${cloud}`,
            message: `${CLOUD_NAMES[cloud]} network ready in ${status.region}: VPC ${status.vpcId} ${status.vpcCidr}, subnet ${status.subnetCidr} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
          },
        });
        if (!moved) return; // deleted or done meanwhile
        await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId, reason: `network ${cloud} ready` });
      });
      this.log.info({ clusterId, cloud, vpcId: status.vpcId }, 'network ready');
    } catch (e) {
      await this.fail(cmd, e, 'Provisioning');
    }
  }

  async delete(cmd: NetworkCommand): Promise<void> {
    await withAdvisoryLock(this.ds, `network:${cmd.clusterId}:${cmd.cloud}`, () => this.deleteLocked(cmd));
  }

  private async deleteLocked(cmd: NetworkCommand): Promise<void> {
    const { organisationId, clusterId, cloud } = cmd;
    const scope = orgScope(organisationId);
    const row = await this.repos.networks.findByCloud(scope, clusterId, cloud);
    if (!row || row.phase !== 'Deleting') return;
    const cluster = await this.repos.clusters.findById(scope, clusterId);
    if (!cluster) return;
    try {
      const provider = await this.vault.providerFor(organisationId, cloud);
      const region = NetworkProvisioner.specFor(clusterId, cluster.spec.region, cloud).region;
      // The delete guard (seed 003/004): a VM without this cluster's tag in the network stops the delete.
      const network = row.status ?? (await provider.getNetwork(clusterId, region));
      if (network) {
        const foreign = (await provider.listInstancesInNetwork(network)).filter((i) => i.tags[TAG_CLUSTER] !== clusterId);
        if (foreign.length > 0) {
          const names = foreign.map((i) => `${i.name} (${i.id})`).join(', ');
          await this.markBlocked(cmd, `VM(s) not belonging to this cluster are in its network: ${names}; the delete is retried with backoff (remove them, or delete again to retry at once)`);
          return;
        }
      }
      await provider.deleteNetwork(clusterId, region);
      await this.ds.transaction(async (em) => {
        const moved = await new LifecycleRepository(em).moveNetwork(scope, clusterId, cloud, 'Deleted', {
          set: { message: null, retryAt: null, attempts: 0, waitingReason: null },
          event: { reason: EventReason.NetworkDeleted, object: `network/${cloud}`, message: `${CLOUD_NAMES[cloud]} network deleted` },
        });
        if (!moved) return;
        await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId, reason: `network ${cloud} deleted` });
      });
    } catch (e) {
      if (isConflict(e)) {
        await this.markBlocked(cmd, e.message);
        return;
      }
      await this.fail(cmd, e, 'Deleting');
    }
  }

  /** A VM not ours in the network: the delete waits (phase stays Deleting) and is retried with backoff; DeleteBlocked names the VM. */
  private async markBlocked(cmd: NetworkCommand, message: string): Promise<void> {
    await this.wait(cmd, 'Deleting', WaitingReason.ForeignResourcesInNetwork, message, EventReason.NetworkDeleteBlocked);
  }

  /**
   * Throttling and 5xx: retried later (the message is redelivered with backoff). Every permanent refusal — quota,
   * capacity, invalid or missing credentials, an invalid request — leaves the network in its phase with the cloud's
   * reason (`waitingReason`) until `retryAt` (backoffSeconds: 30 s doubling to 15 min), shown on the cluster as
   * CapacityAvailable / CredentialsValid / RequestsAccepted = False; never a terminal failure, never a hot loop.
   */
  private async fail(cmd: NetworkCommand, e: unknown, phase: 'Provisioning' | 'Deleting'): Promise<void> {
    if (isCloudError(e) && e.retryable) throw new RetryLater(2000, e.message);
    if (!isCloudError(e) && !(e instanceof MissingCredentialsError)) throw e; // unexpected: redeliver with backoff
    const reason: WaitingReasonName = e instanceof MissingCredentialsError ? WaitingReason.MissingCredentials
      : e.kind === 'QuotaExceeded' || e.kind === 'InsufficientCapacity' || e.kind === 'InvalidCredentials' ? e.kind
        : WaitingReason.RequestRejected;
    await this.wait(cmd, phase, reason, e.message, reason);
  }

  private async wait(cmd: NetworkCommand, phase: 'Provisioning' | 'Deleting', reason: WaitingReasonName, message: string, eventReason: EventReasonName): Promise<void> {
    const { organisationId, clusterId, cloud } = cmd;
    this.log.warn({ clusterId, cloud, reason, err: message }, 'network step refused; retrying with backoff');
    const scope = orgScope(organisationId);
    await this.ds.transaction(async (em) => {
      const row = await this.repos.networks.findByCloud(scope, clusterId, cloud, em, { inPhase: phase, lock: true });
      if (!row) return;
      const attempts = row.attempts + 1;
      const retryAt = new Date(Date.now() + backoffSeconds(attempts) * 1000);
      await this.repos.networks.update(scope, clusterId, cloud, { message, attempts, retryAt, waitingReason: reason }, em, phase);
      await recordEvent(em, { organisationId, clusterId, type: 'Warning', reason: eventReason, object: `network/${cloud}`, message: `${CLOUD_NAMES[cloud]}: ${message}; retrying at ${retryAt.toISOString()} (attempt ${attempts})` });
      await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId, reason: `network ${cloud} waiting: ${reason}` });
    });
  }
}
