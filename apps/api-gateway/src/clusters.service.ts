import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { In, Not } from 'typeorm';
import {
  CLOUD_NAMES, CloudId, ClusterSpec, DEFAULT_INSTANCE_TYPE, MAX_CROSS_CLOUD_LATENCY_MS, MAX_TOTAL_WORKERS, REGIONS, findInstanceType, findRegion, resourcePrefix, worstCrossCloudLatency, allocateWireguardAddresses,
} from '@skyweave/domain';
import { Subjects } from '@skyweave/contracts';
import {
  CloudCredentialEntity, ClusterEntity, ClusterEventEntity, ClusterNetworkEntity, NodeEntity, SecretBox, enqueue, recordEvent,
} from '@skyweave/persistence';
import type { CreateClusterDto } from './dtos';
import { Problem, Violation } from './problem';
import { DATA_SOURCE, SECRET_BOX } from './tokens';
import { generateClusterPki, sealPkiSecrets, toPkiColumn } from './bootstrap/pki';

export const DEFAULT_KUBERNETES_VERSION = '1.31.4';

/** The public view of a cluster. */
export interface ClusterView {
  id: string;
  name: string;
  phase: string;
  spec: ClusterSpec;
  conditions: ClusterEntity['conditions'];
  networks: { cloud: string; phase: string; region?: string; vpcId?: string; vpcCidr?: string; subnetCidr?: string; message: string | null; resources: { kind: string; id: string; name?: string }[] }[];
  nodes: { id: string; name: string; cloud: string; role: string; phase: string; instanceType: string; instanceId: string | null; privateIp: string | null; publicIp: string | null; wireguardAddress: string | null; removalRequested: boolean; message: string | null }[];
  createdAt: Date;
  updatedAt: Date;
}

@Injectable()
export class ClustersService {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource, @Inject(SECRET_BOX) private readonly box: SecretBox) {}

  /**
   * Validates a cluster request against the domain rules (region mapping per cloud, credentials per cloud,
   * control-plane cloud among the clouds, instance types, latency budget) and stores it with its networks, nodes
   * and a `cluster.changed` outbox row in one transaction. @throws Problem 422 naming each broken rule; 409 on a duplicate name.
   */
  async create(organisationId: string, dto: CreateClusterDto): Promise<ClusterView> {
    const v: Violation[] = [];
    const region = findRegion(dto.region);
    if (!region) v.push({ field: 'region', rule: 'known-region', message: `unknown region ${dto.region}; known: ${REGIONS.map((r) => r.id).join(', ')}` });
    dto.clouds.forEach((c, i) => {
      if (region && !region.clouds[c]) v.push({ field: `clouds[${i}]`, rule: 'region-available', message: `region ${region.id} is not available on ${CLOUD_NAMES[c]}` });
    });
    const servedClouds = region ? dto.clouds.filter((c) => region.clouds[c]) : [];
    const worst = region ? worstCrossCloudLatency(region, servedClouds) : undefined;
    if (worst && worst.ms > MAX_CROSS_CLOUD_LATENCY_MS) {
      const [a, b] = worst.pair.split('|') as [CloudId, CloudId];
      v.push({ field: 'clouds', rule: 'latency-budget', message: `${CLOUD_NAMES[a]} and ${CLOUD_NAMES[b]} are ${worst.ms} ms apart in ${region?.id}, above the ${MAX_CROSS_CLOUD_LATENCY_MS} ms cross-cloud budget` });
    }
    if (!dto.clouds.includes(dto.controlPlane.cloud)) v.push({ field: 'controlPlane.cloud', rule: 'cloud-in-cluster', message: `${dto.controlPlane.cloud} is not one of the cluster's clouds` });
    const cpType = dto.controlPlane.instanceType ?? DEFAULT_INSTANCE_TYPE[dto.controlPlane.cloud];
    if (!findInstanceType(dto.controlPlane.cloud, cpType)) v.push({ field: 'controlPlane.instanceType', rule: 'known-instance-type', message: `${cpType} is not offered on ${CLOUD_NAMES[dto.controlPlane.cloud]}` });
    dto.workers.forEach((w, i) => {
      if (!dto.clouds.includes(w.cloud)) v.push({ field: `workers[${i}].cloud`, rule: 'cloud-in-cluster', message: `${w.cloud} is not one of the cluster's clouds` });
      const t = w.instanceType ?? DEFAULT_INSTANCE_TYPE[w.cloud];
      if (!findInstanceType(w.cloud, t)) v.push({ field: `workers[${i}].instanceType`, rule: 'known-instance-type', message: `${t} is not offered on ${CLOUD_NAMES[w.cloud]}` });
    });
    const totalWorkers = dto.workers.reduce((s, w) => s + w.count, 0);
    if (totalWorkers > MAX_TOTAL_WORKERS) v.push({ field: 'workers', rule: 'max-total', message: `at most ${MAX_TOTAL_WORKERS} workers at creation (asked for ${totalWorkers})` });
    const creds = await this.ds.getRepository(CloudCredentialEntity).findBy({ organisationId, cloud: In(dto.clouds) });
    dto.clouds.forEach((c, i) => {
      if (!creds.some((k) => k.cloud === c)) v.push({ field: `clouds[${i}]`, rule: 'credentials-present', message: `no ${CLOUD_NAMES[c]} credentials in this organisation; add them with POST /v1/cloud-credentials` });
    });
    if (v.length) throw Problem.validation(v);

    const spec: ClusterSpec = {
      name: dto.name, region: dto.region, clouds: dto.clouds,
      controlPlane: { cloud: dto.controlPlane.cloud, count: dto.controlPlane.count, instanceType: cpType },
      workers: dto.workers.map((w) => ({ cloud: w.cloud, count: w.count, instanceType: w.instanceType ?? DEFAULT_INSTANCE_TYPE[w.cloud] })),
      kubernetesVersion: dto.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION,
      mesh: dto.mesh ?? 'full',
    };
    const id = randomUUID();
    const prefix = resourcePrefix(id);
    const pki = await generateClusterPki();
    try {
      await this.ds.transaction(async (em) => {
        await em.getRepository(ClusterEntity).insert({ id, organisationId, name: spec.name, spec, phase: 'Pending', conditions: [], deletionRequestedAt: null,
          caCertificate: pki.caCertificate, caKeySealed: this.box.seal(pki.caKey), adminCertificate: pki.adminCertificate, adminKeySealed: this.box.seal(pki.adminKey),
          pki: toPkiColumn(pki.public), pkiSealed: sealPkiSecrets(this.box, pki.secrets),
        });
        await em.getRepository(ClusterNetworkEntity).insert(spec.clouds.map((cloud) => ({ id: randomUUID(), organisationId, clusterId: id, cloud, phase: 'Pending' as const, status: null, message: null, dispatchedAt: null })));
        const nodes: Partial<NodeEntity>[] = [];
        for (let i = 0; i < spec.controlPlane.count; i++) {
          nodes.push({ cloud: spec.controlPlane.cloud, role: 'master', ordinal: i, name: `${prefix}-master-${i}`, instanceType: spec.controlPlane.instanceType });
        }
        let ordinal = 0;
        for (const w of spec.workers) {
          for (let i = 0; i < w.count; i++) nodes.push({ cloud: w.cloud, role: 'worker', ordinal: ordinal++, name: `${prefix}-worker-${ordinal - 1}`, instanceType: w.instanceType });
        }
        // WireGuard addresses are allocated with the rows (same transaction): masters first, so master-0 is 10.4.0.1.
        const addresses = allocateWireguardAddresses([], nodes.length);
        if (nodes.length) {
          await em.getRepository(NodeEntity).insert(nodes.map((n, i) => ({ ...n, id: randomUUID(), organisationId, clusterId: id, phase: 'Pending' as const, wireguardAddress: addresses[i] })));
        }
        await recordEvent(em, { organisationId, clusterId: id, reason: 'Created', message: `Cluster ${spec.name} created in ${spec.region}: ${spec.controlPlane.count} master(s) on ${CLOUD_NAMES[spec.controlPlane.cloud]}, ${totalWorkers} worker(s) on ${spec.clouds.map((c) => CLOUD_NAMES[c]).join(', ')}` });
        await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId: id, reason: 'created' });
      });
    } catch (e) {
      if ((e as { code?: string }).code === '23505') {
        throw new Problem(409, 'cluster-name-taken', 'Name taken', `a cluster named ${dto.name} already exists in this organisation`, [{ field: 'name', rule: 'unique', message: `${dto.name} is taken` }]);
      }
      throw e;
    }
    return this.get(organisationId, id);
  }

  async list(organisationId: string, limit: number, offset: number) {
    const [rows, total] = await this.ds.getRepository(ClusterEntity).findAndCount({ where: { organisationId, phase: Not('Deleted') }, order: { createdAt: 'DESC', id: 'ASC' }, take: limit, skip: offset });
    return { items: rows.map((c) => ({ id: c.id, name: c.name, phase: c.phase, region: c.spec.region, clouds: c.spec.clouds, createdAt: c.createdAt })), total, limit, offset };
  }

  /** @throws Problem 404 when the cluster does not exist in this organisation (another organisation's is a 404 too). */
  async get(organisationId: string, id: string): Promise<ClusterView> {
    const c = await this.ds.getRepository(ClusterEntity).findOneBy({ id, organisationId });
    if (!c) throw Problem.notFound(`cluster ${id}`);
    const networks = await this.ds.getRepository(ClusterNetworkEntity).find({ where: { clusterId: id, organisationId }, order: { cloud: 'ASC' } });
    const nodes = await this.ds.getRepository(NodeEntity).find({ where: { clusterId: id, organisationId }, order: { role: 'ASC', ordinal: 'ASC' } });
    return {
      id: c.id, name: c.name, phase: c.phase, spec: c.spec, conditions: c.conditions, createdAt: c.createdAt, updatedAt: c.updatedAt,
      networks: networks.map((n) => ({
        cloud: n.cloud, phase: n.phase, message: n.message, region: n.status?.region, vpcId: n.status?.vpcId, vpcCidr: n.status?.vpcCidr, subnetCidr: n.status?.subnetCidr,
        resources: (n.status?.resources ?? []).map((r) => ({ kind: r.kind, id: r.id, name: r.name })),
      })),
      nodes: nodes.map((n) => ({ id: n.id, name: n.name, cloud: n.cloud, role: n.role, phase: n.phase, instanceType: n.instanceType, instanceId: n.instanceId, privateIp: n.privateIp, publicIp: n.publicIp, wireguardAddress: n.wireguardAddress, removalRequested: n.removalRequestedAt !== null, message: n.message })),
    };
  }

  async events(organisationId: string, id: string, after: string | undefined, limit: number) {
    await this.get(organisationId, id);
    const qb = this.ds.getRepository(ClusterEventEntity).createQueryBuilder('e').where('e.clusterId = :id AND e.organisationId = :organisationId', { id, organisationId });
    if (after) qb.andWhere('e.id > :after', { after });
    const rows = await qb.orderBy('e.id', 'ASC').take(limit).getMany();
    return { items: rows.map((e) => ({ id: e.id, type: e.type, reason: e.reason, object: e.object, message: e.message, createdAt: e.createdAt })), next: rows.length ? rows[rows.length - 1].id : after ?? null };
  }

  /**
   * Requests deletion (seed 003: fastest teardown, no drain). Idempotent. A cluster whose delete failed (a VM not
   * ours in its network) is moved back to Deleting, so deleting again retries.
   */
  async delete(organisationId: string, id: string): Promise<ClusterView> {
    await this.ds.transaction(async (em) => {
      const c = await em.getRepository(ClusterEntity).findOne({ where: { id, organisationId }, lock: { mode: 'pessimistic_write' } });
      if (!c || c.phase === 'Deleted') throw Problem.notFound(`cluster ${id}`);
      if (c.deletionRequestedAt && c.phase !== 'Failed') return;
      await em.getRepository(ClusterEntity).update({ id, organisationId }, {
        deletionRequestedAt: new Date(),
        ...(c.phase === 'Failed' ? { phase: 'Deleting' as const, conditions: c.conditions.filter((x) => x.type !== 'DeleteFailed') } : {}),
      });
      await em.getRepository(ClusterNetworkEntity).update({ clusterId: id, organisationId, phase: 'Failed' }, { phase: 'Deleting', dispatchedAt: null });
      await recordEvent(em, { organisationId, clusterId: id, reason: 'DeleteRequested', message: c.deletionRequestedAt ? 'Delete requested again' : 'Delete requested' });
      await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId: id, reason: 'delete requested' });
    });
    return this.get(organisationId, id);
  }

  /**
   * Removes one worker (seed 001: workers can be added and removed later; masters are fixed at creation). The node
   * leaves the WireGuard mesh at once (peers drop it on their next long-poll answer); the reconciler terminates its
   * VM; the spec's worker count for its cloud and instance type goes down by one. Idempotent.
   * @throws Problem 404 unknown cluster or node; 409 `cluster-deleting` while the cluster is being deleted;
   *   422 `workers-only` for a master.
   */
  async removeNode(organisationId: string, clusterId: string, nodeId: string): Promise<ClusterView['nodes'][number]> {
    await this.ds.transaction(async (em) => {
      const c = await em.getRepository(ClusterEntity).findOne({ where: { id: clusterId, organisationId }, lock: { mode: 'pessimistic_write' } });
      if (!c || c.phase === 'Deleted') throw Problem.notFound(`cluster ${clusterId}`);
      const n = await em.getRepository(NodeEntity).findOneBy({ id: nodeId, clusterId, organisationId });
      if (!n || n.phase === 'Terminated') throw Problem.notFound(`node ${nodeId}`);
      if (c.deletionRequestedAt) throw new Problem(409, 'cluster-deleting', 'Cluster is being deleted', `cluster ${c.name} is being deleted; its nodes go with it`);
      if (n.role === 'master') {
        throw new Problem(422, 'workers-only', 'Masters are fixed', `${n.name} is a master; the number of masters is fixed at creation`, [{ field: 'nodeId', rule: 'workers-only', message: 'only workers can be removed' }]);
      }
      if (n.removalRequestedAt) return;
      await em.getRepository(NodeEntity).update({ id: n.id }, { removalRequestedAt: new Date() });
      const workers = c.spec.workers.map((w) => ({ ...w }));
      const entry = workers.find((w) => w.cloud === n.cloud && w.instanceType === n.instanceType && w.count > 0);
      if (entry) entry.count -= 1;
      await em.getRepository(ClusterEntity).update({ id: c.id }, { spec: { ...c.spec, workers: workers.filter((w) => w.count > 0) } });
      await recordEvent(em, { organisationId, clusterId, reason: 'NodeRemovalRequested', object: `node/${n.name}`, message: `Removal of worker ${n.name} requested` });
      await enqueue(em, Subjects.ClusterChanged, { organisationId, clusterId, reason: `node ${n.name} removal requested` });
    });
    const view = await this.get(organisationId, clusterId);
    const node = view.nodes.find((x) => x.id === nodeId);
    if (!node) throw Problem.notFound(`node ${nodeId}`);
    return node;
  }
}
