import type { DataSource } from 'typeorm';
import { CLOUD_NAMES, findRegion } from '@skyweave/domain';
import { CloudProvider, Instance, isCloudError, isNotFound } from '@skyweave/cloud-adapters';
import { NodeCommand, Subjects } from '@skyweave/contracts';
import { ClusterEntity, ClusterNetworkEntity, NodeEntity, enqueue, hashToken, newToken, recordEvent, withAdvisoryLock } from '@skyweave/persistence';
import { RetryLater } from '@skyweave/messaging';
import { CredentialVault, Logger, MissingCredentialsError } from '@skyweave/service-kit';
import { renderUserData } from './user-data';

/** How long a bootstrap token is valid, in seconds (DESIGN §6: minutes). */
export const BOOTSTRAP_TOKEN_TTL_SECONDS = 15 * 60;
/** How long to wait for a new instance's private address, in milliseconds. */
export const ADDRESS_WAIT_MS = 30_000;

/**
 * VM lifecycle. Launch records its intent (phase `Launching`, the bootstrap token's hash) before the cloud call; the
 * adapter looks the VM up by the node tag and passes the node id as idempotency token, so a crash anywhere yields one
 * VM, never two (karpenter's launch pattern).
 */
export class NodeProvisioner {
  constructor(
    private readonly ds: DataSource,
    private readonly vault: CredentialVault,
    private readonly log: Logger,
    private readonly apiUrl: string,
  ) {}

  /** Launches a node's VM. One launch per node at a time across replicas (advisory lock); a concurrent duplicate is dropped. */
  async launch(cmd: NodeCommand): Promise<void> {
    await withAdvisoryLock(this.ds, `node:${cmd.nodeId}`, () => this.launchLocked(cmd));
  }

  private async launchLocked(cmd: NodeCommand): Promise<void> {
    const { organisationId, clusterId, nodeId } = cmd;
    const node = await this.ds.getRepository(NodeEntity).findOneBy({ id: nodeId, organisationId, clusterId });
    const cluster = await this.ds.getRepository(ClusterEntity).findOneBy({ id: clusterId, organisationId });
    if (!node || !cluster || cluster.deletionRequestedAt || !['Pending', 'Launching'].includes(node.phase)) return;
    const network = await this.ds.getRepository(ClusterNetworkEntity).findOneBy({ clusterId, organisationId, cloud: node.cloud });
    if (!network?.status || network.phase !== 'Ready') return;
    const region = findRegion(cluster.spec.region)?.clouds[node.cloud]?.region;
    if (!region) return;

    try {
      const provider = await this.vault.providerFor(organisationId, node.cloud);
      // Re-entry after a crash: if the VM exists already, adopt it (its user-data holds the token whose hash we kept).
      if (node.phase === 'Launching') {
        const existing = (await provider.listInstances(clusterId, region)).find((i) => i.tags['skyweave-node'] === nodeId);
        if (existing) return await this.recordLaunched(node, await this.withAddresses(provider, region, existing), true);
      }
      const token = newToken('swbt');
      const recorded = await this.ds.getRepository(NodeEntity).update(
        { id: nodeId, organisationId, version: node.version },
        { phase: 'Launching', bootstrapTokenHash: hashToken(token), bootstrapTokenExpiresAt: new Date(Date.now() + BOOTSTRAP_TOKEN_TTL_SECONDS * 1000), bootstrapTokenUsedAt: null },
      );
      if (!recorded.affected) return; // someone else moved it; their result wins
      const instance = await provider.createInstance({
        clusterId, nodeId, name: node.name, role: node.role, instanceType: node.instanceType, network: network.status,
        userData: renderUserData({ apiUrl: this.apiUrl, clusterId, nodeId, nodeName: node.name, role: node.role, bootstrapToken: token }),
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
      const res = await em.createQueryBuilder().update(NodeEntity)
        .set({
          instanceId: instance.id, privateIp: instance.privateIp ?? null, publicIp: instance.publicIp ?? null, message: null,
          phase: () => `CASE WHEN "phase" = 'Launching' THEN 'Booting' ELSE "phase" END`,
        })
        .where('id = :id AND "organisationId" = :org', { id: node.id, org: node.organisationId })
        .andWhere(`"phase" NOT IN ('Terminating', 'Terminated', 'Failed')`)
        .execute();
      if (!res.affected) return;
      await recordEvent(em, {
        organisationId: node.organisationId, clusterId: node.clusterId, reason: adopted ? 'InstanceAdopted' : 'InstanceLaunched', object: `node/${node.name}`,
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
    const node = await this.ds.getRepository(NodeEntity).findOneBy({ id: nodeId, organisationId, clusterId });
    const cluster = await this.ds.getRepository(ClusterEntity).findOneBy({ id: clusterId, organisationId });
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
        const res = await em.getRepository(NodeEntity).update({ id: nodeId, organisationId, phase: 'Terminating' }, { phase: 'Terminated', agentTokenHash: null, bootstrapTokenHash: null });
        if (!res.affected) return;
        await recordEvent(em, { organisationId, clusterId, reason: 'InstanceTerminated', object: `node/${node.name}`, message: `${node.name} terminated on ${CLOUD_NAMES[node.cloud]}${ids.size ? ` (${[...ids].join(', ')})` : ' (no VM existed)'}` });
        await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId, reason: `node ${node.name} terminated` });
      });
    } catch (e) {
      await this.fail(cmd, e);
    }
  }

  /** Retryable cloud errors ⇒ redelivery with backoff; quota/capacity/credentials ⇒ the node fails at once with the cloud's reason. */
  private async fail(cmd: NodeCommand, e: unknown): Promise<void> {
    if (isCloudError(e) && e.retryable) throw new RetryLater(2000, e.message);
    if (!isCloudError(e) && !(e instanceof MissingCredentialsError)) throw e;
    const { organisationId, clusterId, nodeId } = cmd;
    this.log.warn({ clusterId, nodeId, err: e.message }, 'node step failed');
    await this.ds.transaction(async (em) => {
      const node = await em.getRepository(NodeEntity).findOneBy({ id: nodeId, organisationId });
      if (!node || node.phase === 'Terminated') return;
      await em.getRepository(NodeEntity).update({ id: nodeId, organisationId }, { phase: node.phase === 'Terminating' ? 'Terminating' : 'Failed', message: e.message });
      await recordEvent(em, { organisationId, clusterId, type: 'Warning', reason: 'NodeFailed', object: `node/${node.name}`, message: e.message });
      await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId, reason: `node ${node.name} failed` });
    });
  }
}
