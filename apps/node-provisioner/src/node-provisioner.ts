import type { DataSource } from 'typeorm';
import { randomUUID } from 'node:crypto';
import { CLOUD_NAMES, EventReason, WaitingReason, WaitingReasonName, backoffSeconds, findRegion } from '@skyweave/domain';
import { CloudProvider, Instance, isCloudError, isNotFound } from '@skyweave/cloud-adapters';
import { NodeCommand, Subjects } from '@skyweave/contracts';
import {
  LifecycleRepository, NodeEntity, Repositories, SecretBox, enqueue, hashToken, newToken, orgScope, recordEvent, withAdvisoryLock,
} from '@skyweave/persistence';
import { RetryLater } from '@skyweave/messaging';
import { CredentialVault, Logger, MissingCredentialsError } from '@skyweave/service-kit';
import { AgentPackage, renderUserData } from '@skyweave/bootstrap/src/user-data';
import type { AgentArchitecture } from '@skyweave/bootstrap/src/install-script';

/** How long a bootstrap token is valid, in seconds (DESIGN §6: minutes). */
export const BOOTSTRAP_TOKEN_TTL_SECONDS = 15 * 60;
/**
 * On a cloud without idempotency tokens (DigitalOcean), how long after a launch's start a re-entered launch waits for
 * the VM to show in the tag list before launching again, in milliseconds (list eventual consistency).
 */
export const CONSISTENCY_GRACE_MS = 30_000;
/** How long to wait for a new instance's private address, in milliseconds. */
export const ADDRESS_WAIT_MS = 30_000;

/**
 * VM lifecycle. Launch records its intent (phase `Launching`, the bootstrap token's hash) before the cloud call; the
 * adapter looks the VM up by the node tag and passes the node id as idempotency token, so a crash anywhere yields one
 * VM, never two (karpenter's launch pattern).
 */
export class NodeProvisioner {
  private readonly repos: Repositories;

  constructor(
    private readonly ds: DataSource,
    private readonly vault: CredentialVault,
    private readonly log: Logger,
    private readonly apiUrl: string,
    /** Seals the bootstrap token of a launch under way (so a re-entered launch sends the same user-data). */
    private readonly box: SecretBox,
    /** The node-agent package per architecture, URL and SHA-256, put in every user-data (absent: the image must ship the agent). */
    private readonly agentPackages?: Partial<Record<AgentArchitecture, AgentPackage>>,
  ) {
    this.repos = new Repositories(ds);
  }

  /** Launches a node's VM. One launch per node at a time across replicas (advisory lock); a concurrent duplicate is dropped. */
  async launch(cmd: NodeCommand): Promise<void> {
    await withAdvisoryLock(this.ds, `node:${cmd.nodeId}`, () => this.launchLocked(cmd));
  }

  private async launchLocked(cmd: NodeCommand): Promise<void> {
    const { organisationId, clusterId, nodeId } = cmd;
    const scope = orgScope(organisationId);
    const node = await this.repos.nodes.findById(scope, nodeId, undefined, clusterId);
    const cluster = await this.repos.clusters.findById(scope, clusterId);
    if (!node || !cluster || cluster.deletionRequestedAt || node.removalRequestedAt || !['Pending', 'Launching'].includes(node.phase)) return;
    if (node.retryAt && node.retryAt.getTime() > Date.now()) return; // waiting out a quota / capacity refusal
    const network = await this.repos.networks.findByCloud(scope, clusterId, node.cloud);
    if (!network?.status || network.phase !== 'Ready') return;
    const region = findRegion(cluster.spec.region)?.clouds[node.cloud]?.region;
    if (!region) return;

    try {
      const provider = await this.vault.providerFor(organisationId, node.cloud);
      // Re-entry after a crash or a lost answer: adopt the VM if the tag list shows it; else send the SAME request
      // again (same idempotency token, same user-data with the same bootstrap token), which the cloud answers with
      // the VM it made, if it made one.
      let attempt: { token: string; launchToken: string } | undefined;
      if (node.phase === 'Launching' && node.launchToken && node.bootstrapTokenSealed && node.bootstrapTokenExpiresAt && node.bootstrapTokenExpiresAt.getTime() > Date.now()) {
        const existing = (await provider.listInstances(clusterId, region)).find((i) => i.tags['skyweave-node'] === nodeId);
        if (existing) return await this.recordLaunched(node, await this.withAddresses(provider, region, existing), true);
        // (a listing that saw the VM is proof it existed: recordLaunched(adopted) records instanceSeenAt)
        const since = Date.now() - (node.launchStartedAt?.getTime() ?? 0);
        if (!provider.idempotentCreate && since < CONSISTENCY_GRACE_MS) {
          // No idempotency token on this cloud: a VM made just before the crash may not be listed yet. Look again later.
          throw new RetryLater(CONSISTENCY_GRACE_MS - since, `${node.name}: waiting ${Math.ceil((CONSISTENCY_GRACE_MS - since) / 1000)} s before relaunching on a cloud without idempotency tokens`);
        }
        attempt = { token: this.box.open(node.bootstrapTokenSealed), launchToken: node.launchToken };
      }
      if (!attempt) {
        attempt = { token: newToken('swbt'), launchToken: randomUUID() };
        const fresh = attempt;
        const recorded = await this.ds.transaction((em) => new LifecycleRepository(em).moveNode(scope, node, 'Launching', {
          from: ['Pending', 'Launching'], version: node.version,
          set: {
            launchToken: fresh.launchToken, launchStartedAt: new Date(), bootstrapTokenHash: hashToken(fresh.token), instanceSeenAt: null,
            bootstrapTokenSealed: this.box.seal(fresh.token), bootstrapTokenExpiresAt: new Date(Date.now() + BOOTSTRAP_TOKEN_TTL_SECONDS * 1000), bootstrapTokenUsedAt: null,
          },
        }));
        if (!recorded) return; // someone else moved it; their result wins
      }
      const instance = await provider.createInstance({
        clusterId, nodeId, idempotencyToken: attempt.launchToken, name: node.name, role: node.role, instanceType: node.instanceType, network: network.status,
        userData: renderUserData({ apiUrl: this.apiUrl, clusterId, nodeId, nodeName: node.name, role: node.role, bootstrapToken: attempt.token, kubernetesVersion: cluster.spec.kubernetesVersion, ...(this.agentPackages ? { agentPackages: this.agentPackages } : {}) }),
      });
      await this.recordLaunched(node, await this.withAddresses(provider, region, instance), false);
    } catch (e) {
      await this.fail(cmd, e);
    }
  }

  /**
   * Some clouds (DigitalOcean, Azure) give no addresses in the create answer: read the instance until it has its
   * private address, for at most ADDRESS_WAIT_MS (the kubeconfig and the join endpoint need it).
   */
  private async withAddresses(provider: CloudProvider, region: string, instance: Instance): Promise<Instance> {
    const deadline = Date.now() + ADDRESS_WAIT_MS;
    let current = instance;
    while (!current.privateIp && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      current = (await provider.getInstance(region, instance.id)) ?? current;
    }
    return current;
  }

  /**
   * Records the instance of a launched node. The VM may boot and its agent register before this runs (fast boots), so
   * the record does not depend on the phase the agent moved the node to: it moves `Launching` to `Booting` and leaves
   * later phases alone, but always stores the instance id and addresses (unless the node is being torn down).
   */
  private async recordLaunched(node: NodeEntity, instance: Instance, adopted: boolean): Promise<void> {
    await this.ds.transaction(async (em) => {
      const scope = orgScope(node.organisationId);
      const fields = {
        instanceId: instance.id, privateIp: instance.privateIp ?? null, publicIp: instance.publicIp ?? null, message: null,
        retryAt: null, attempts: 0, waitingReason: null, ...(adopted ? { instanceSeenAt: new Date() } : {}),
      };
      // Launching → Booting; a node whose agent registered first keeps its later phase and gets the instance recorded
      const moved = await new LifecycleRepository(em).moveNode(scope, node, 'Booting', { from: ['Launching'], set: fields });
      const affected = moved ? 1 : await this.repos.nodes.update(scope, node.id, fields, em, ['Booting', 'Registered', 'Joining', 'Joined']);
      if (!affected) return;
      await recordEvent(em, {
        organisationId: node.organisationId, clusterId: node.clusterId, reason: adopted ? EventReason.InstanceAdopted : EventReason.InstanceLaunched, object: `node/${node.name}`,
        message: `${node.role} ${node.name} ${adopted ? 'found' : 'launched'} on ${CLOUD_NAMES[node.cloud]} as ${instance.id} (${node.instanceType}, ${instance.privateIp ?? 'no private IP yet'})`,
      });
      await enqueue(em, Subjects.ClusterChanged, { organisationId: node.organisationId, clusterId: node.clusterId, reason: `node ${node.name} launched` });
    });
  }

  async terminate(cmd: NodeCommand): Promise<void> {
    await withAdvisoryLock(this.ds, `node:${cmd.nodeId}`, () => this.terminateLocked(cmd));
  }

  private async terminateLocked(cmd: NodeCommand): Promise<void> {
    const { organisationId, clusterId, nodeId } = cmd;
    const scope = orgScope(organisationId);
    const node = await this.repos.nodes.findById(scope, nodeId, undefined, clusterId);
    const cluster = await this.repos.clusters.findById(scope, clusterId);
    if (!node || !cluster || node.phase !== 'Terminating') return;
    const region = findRegion(cluster.spec.region)?.clouds[node.cloud]?.region;
    if (!region) return;
    try {
      const provider = await this.vault.providerFor(organisationId, node.cloud);
      // Terminate by tag, not by what we remember: a VM launched just before a crash has no recorded id.
      const ids = new Set((await provider.listInstances(clusterId, region)).filter((i) => i.tags['skyweave-node'] === nodeId).map((i) => i.id));
      if (node.instanceId) ids.add(node.instanceId);
      for (const id of ids) {
        try {
          await provider.terminateInstance(clusterId, region, id);
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
      await this.ds.transaction(async (em) => {
        const moved = await new LifecycleRepository(em).moveNode(scope, node, 'Terminated', {
          set: { agentTokenHash: null, bootstrapTokenHash: null, bootstrapTokenSealed: null, registrationIdHash: null, retryAt: null, attempts: 0, waitingReason: null, message: null },
          event: { reason: EventReason.InstanceTerminated, object: `node/${node.name}`, message: `${node.name} terminated on ${CLOUD_NAMES[node.cloud]}${ids.size ? ` (${[...ids].join(', ')})` : ' (no VM existed)'}` },
        });
        if (!moved) return;
        await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId, reason: `node ${node.name} terminated` });
      });
    } catch (e) {
      await this.fail(cmd, e);
    }
  }

  /**
   * Throttling and 5xx ⇒ redelivery with backoff. Every permanent refusal — quota, capacity, invalid or missing
   * credentials, a rejected launch — is never terminal: a launch goes back to Pending (nothing was made: the next try is
   * a new launch with a new token), a terminate stays Terminating, each with the cloud's reason (`waitingReason`) and no
   * new try before `retryAt` (backoffSeconds: 30 s doubling to 15 min); the reconciler shows CapacityAvailable /
   * CredentialsValid / RequestsAccepted = False meanwhile, and new credentials wake the row at once.
   */
  private async fail(cmd: NodeCommand, e: unknown): Promise<void> {
    if (isCloudError(e) && e.retryable) throw new RetryLater(2000, e.message);
    if (!isCloudError(e) && !(e instanceof MissingCredentialsError)) throw e;
    const { organisationId, clusterId, nodeId } = cmd;
    const reason: WaitingReasonName = e instanceof MissingCredentialsError ? WaitingReason.MissingCredentials
      : e.kind === 'QuotaExceeded' || e.kind === 'InsufficientCapacity' || e.kind === 'InvalidCredentials' ? e.kind
        : WaitingReason.RequestRejected;
    this.log.warn({ clusterId, nodeId, reason, err: e.message }, 'node step refused; retrying with backoff');
    const scope = orgScope(organisationId);
    await this.ds.transaction(async (em) => {
      const node = await this.repos.nodes.findForUpdate(scope, nodeId, em);
      if (!node || node.phase === 'Terminated') return;
      const attempts = node.attempts + 1;
      const retryAt = new Date(Date.now() + backoffSeconds(attempts) * 1000);
      const waiting = { message: e.message, attempts, retryAt, waitingReason: reason };
      if (node.phase === 'Launching') {
        // nothing was made: the next try is a new launch with a new token
        await new LifecycleRepository(em).moveNode(scope, node, 'Pending', {
          from: ['Launching'], set: { ...waiting, launchToken: null, bootstrapTokenSealed: null, bootstrapTokenHash: null },
        });
      } else if (node.phase === 'Pending' || node.phase === 'Terminating') {
        await this.repos.nodes.update(scope, nodeId, waiting, em, [node.phase]);
      } else {
        return; // the node moved on meanwhile (its agent registered): the refusal is stale
      }
      await recordEvent(em, { organisationId, clusterId, type: 'Warning', reason, object: `node/${node.name}`, message: `${e.message}; retrying at ${retryAt.toISOString()} (attempt ${attempts})` });
      await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId, reason: `node ${node.name} waiting: ${reason}` });
    });
  }
}
