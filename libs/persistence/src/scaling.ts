import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { Subjects } from '@skyweave/contracts';
import { allocateWireguardAddresses, resourcePrefix, type CloudId, type EventReasonName, type NodeOrigin } from '@skyweave/domain';
import type { ClusterEntity, NodeEntity } from './entities/entities';
import { enqueue, recordEvent } from './events';
import type { Repositories } from './repositories';
import type { NewNode, OrgScope } from './repositories';


/**
 * The one path by which workers are added to a cluster (seeds: no node pools, nodes one by one), shared by the
 * gateway's `POST /v1/clusters/{id}/nodes` and the autoscaler: rows with the next free ordinals (names
 * `<prefix>-worker-<n>`) and overlay addresses, in phase Pending at the cluster's Kubernetes version; the spec's worker
 * count for (cloud, type) goes up; an event and a `cluster.changed` outbox row, so the reconciler launches them.
 * The caller holds the cluster row's lock in `em` (`findForUpdate`) and has validated cloud, type and quotas.
 * @returns the inserted rows.
 */
export async function addWorkers(
  em: EntityManager, repos: Repositories, scope: OrgScope, c: ClusterEntity,
  req: { cloud: CloudId; instanceType: string; count: number; origin: NodeOrigin; event: { reason: EventReasonName; message: (names: string[]) => string } },
): Promise<NewNode[]> {
  const all = await repos.nodes.listByCluster(scope, c.id, em);
  const prefix = resourcePrefix(c.id);
  let ordinal = Math.max(-1, ...all.filter((n) => n.role === 'worker').map((n) => n.ordinal)) + 1;
  const addresses = allocateWireguardAddresses(all.filter((n) => n.phase !== 'Terminated' && n.wireguardAddress).map((n) => n.wireguardAddress as string), req.count);
  const rows: NewNode[] = addresses.map((address) => {
    const o = ordinal++;
    return {
      id: randomUUID(), clusterId: c.id, cloud: req.cloud, role: 'worker' as const, ordinal: o, name: `${prefix}-worker-${o}`, instanceType: req.instanceType,
      phase: 'Pending' as const, wireguardAddress: address, kubernetesVersion: c.spec.kubernetesVersion, origin: req.origin,
    };
  });
  await repos.nodes.insertMany(scope, rows, em);
  const specWorkers = c.spec.workers.map((w) => ({ ...w }));
  const entry = specWorkers.find((w) => w.cloud === req.cloud && w.instanceType === req.instanceType);
  if (entry) entry.count += req.count;
  else specWorkers.push({ cloud: req.cloud, count: req.count, instanceType: req.instanceType });
  c.spec = { ...c.spec, workers: specWorkers };
  await repos.clusters.update(scope, c.id, { spec: c.spec }, em);
  await recordEvent(em, { organisationId: c.organisationId, clusterId: c.id, reason: req.event.reason, message: req.event.message(rows.map((r) => r.name)) });
  await enqueue(em, Subjects.ClusterChanged, { organisationId: c.organisationId, clusterId: c.id, reason: `${req.count} worker(s) added (${req.origin})` });
  return rows;
}

/**
 * The one path by which a worker is removed (the gateway's DELETE of a node and the autoscaler's scale-down): marks
 * it `removalRequestedAt` (the mesh drops it at once; the reconciler drains it through a master's agent, then
 * terminates its VM), lowers the spec's count for its (cloud, type), records an event and enqueues `cluster.changed`.
 * Already requested: nothing changes. The caller holds the cluster row's lock and checked that `n` is a live worker.
 * @returns whether the removal was newly requested.
 */
export async function removeWorker(
  em: EntityManager, repos: Repositories, scope: OrgScope, c: ClusterEntity, n: NodeEntity,
  event: { reason: EventReasonName; message: string; type?: 'Normal' | 'Warning' },
): Promise<boolean> {
  if (n.removalRequestedAt) return false;
  await repos.nodes.update(scope, n.id, { removalRequestedAt: new Date() }, em);
  const workers = c.spec.workers.map((w) => ({ ...w }));
  const entry = workers.find((w) => w.cloud === n.cloud && w.instanceType === n.instanceType && w.count > 0);
  if (entry) entry.count -= 1;
  c.spec = { ...c.spec, workers: workers.filter((w) => w.count > 0) };
  await repos.clusters.update(scope, c.id, { spec: c.spec }, em);
  await recordEvent(em, { organisationId: c.organisationId, clusterId: c.id, reason: event.reason, type: event.type ?? 'Normal', object: `node/${n.name}`, message: event.message });
  await enqueue(em, Subjects.ClusterChanged, { organisationId: c.organisationId, clusterId: c.id, reason: `node ${n.name} removal requested` });
  return true;
}
