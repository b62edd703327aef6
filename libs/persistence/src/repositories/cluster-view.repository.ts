import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { ClusterEntity, ClusterNetworkEntity, NodeEntity } from '../entities/entities';
import type { KubeNodeStatusRow } from './kube-status.repository';
import type { OrgScope } from './scope';

/** A node's or network's wait after a cloud's refusal, as the view's JSON holds it (timestamps as ISO-8601 strings). */
export interface ClusterViewWaiting { waitingReason: string | null; retryAt: string | null; attempts: number }
/** One network of a cluster in its view. */
export type ClusterViewNetwork = Pick<ClusterNetworkEntity, 'cloud' | 'phase' | 'message' | 'status'> & ClusterViewWaiting;
/**
 * What Kubernetes says about a node (apps/kube-watcher, `node_kube_status`), as the view's JSON holds it: cpu in
 * millicores, memory in MiB, timestamps ISO-8601 strings.
 */
export type ClusterViewNodeKubernetes = Omit<KubeNodeStatusRow, 'nodeId' | 'notReadyReportedAt'>;
/**
 * One node of a cluster in its view (`removalRequestedAt` ISO-8601 or null; `kubernetes` null until the watcher has
 * seen the node in the cluster's Kubernetes API).
 */
export type ClusterViewNode = Pick<NodeEntity, 'id' | 'name' | 'cloud' | 'role' | 'phase' | 'instanceType' | 'instanceId' | 'privateIp' | 'publicIp' | 'wireguardAddress' | 'kubernetesVersion' | 'agentVersion' | 'message' | 'origin'>
  & ClusterViewWaiting & { removalRequestedAt: string | null; kubernetes: ClusterViewNodeKubernetes | null };
/**
 * What the public view of a cluster is made of: the cluster row's view columns (timestamps as Date), its networks by
 * cloud and its nodes by role then ordinal, and the pending pods the watcher last counted (null before it has).
 * Not the sealed PKI, certificates, token hashes or the nodes' latency maps.
 */
export type ClusterViewRecord = Pick<ClusterEntity, 'id' | 'name' | 'phase' | 'spec' | 'conditions' | 'createdAt' | 'updatedAt' | 'reconcileLeaseExpiresAt' | 'lastReconciledAt' | 'nextReconcileAt'>
  & { networks: ClusterViewNetwork[]; nodes: ClusterViewNode[]; pendingPods: number | null };

/** $1 cluster id, $2 organisation id; scoped to the organisation at every level (the watcher's rows too). */
const CLUSTER_VIEW_SQL = `
  SELECT c."id", c."name", c."phase", c."spec", c."conditions", c."createdAt", c."updatedAt",
         c."reconcileLeaseExpiresAt", c."lastReconciledAt", c."nextReconcileAt",
         COALESCE((SELECT json_agg(json_build_object(
             'cloud', w."cloud", 'phase', w."phase", 'message', w."message", 'status', w."status",
             'waitingReason', w."waitingReason", 'retryAt', w."retryAt", 'attempts', w."attempts") ORDER BY w."cloud")
           FROM "cluster_networks" w WHERE w."clusterId" = c."id" AND w."organisationId" = c."organisationId"), '[]') AS "networks",
         COALESCE((SELECT json_agg(json_build_object(
             'id', n."id", 'name', n."name", 'cloud', n."cloud", 'role', n."role", 'origin', n."origin", 'phase', n."phase",
             'instanceType', n."instanceType", 'instanceId', n."instanceId", 'privateIp', n."privateIp", 'publicIp', n."publicIp",
             'wireguardAddress', n."wireguardAddress", 'removalRequestedAt', n."removalRequestedAt",
             'kubernetesVersion', n."kubernetesVersion", 'agentVersion', n."agentVersion", 'message', n."message",
             'waitingReason', n."waitingReason", 'retryAt', n."retryAt", 'attempts', n."attempts",
             'kubernetes', CASE WHEN k."nodeId" IS NULL THEN NULL ELSE json_build_object(
               'kubeNodeName', k."kubeNodeName", 'ready', k."ready", 'readyReason', k."readyReason", 'unschedulable', k."unschedulable",
               'allocatableCpuMillicores', k."allocatableCpuMillicores", 'allocatableMemoryMiB', k."allocatableMemoryMiB",
               'allocatablePods', k."allocatablePods", 'requestedCpuMillicores', k."requestedCpuMillicores",
               'requestedMemoryMiB', k."requestedMemoryMiB", 'pods', k."pods", 'kubeletVersion', k."kubeletVersion",
               'notReadySince', k."notReadySince", 'observedAt', k."observedAt") END) ORDER BY n."role", n."ordinal")
           FROM "nodes" n LEFT JOIN "node_kube_status" k ON k."nodeId" = n."id" AND k."organisationId" = n."organisationId"
           WHERE n."clusterId" = c."id" AND n."organisationId" = c."organisationId"), '[]') AS "nodes",
         (SELECT s."pendingPods" FROM "cluster_kube_status" s WHERE s."clusterId" = c."id" AND s."organisationId" = c."organisationId") AS "pendingPods"
  FROM "clusters" c WHERE c."id" = $1 AND c."organisationId" = $2`;

/**
 * Reads the whole view of one cluster (cluster row, networks, nodes with their Kubernetes status from apps/kube-watcher, pending pods) in ONE round trip: networks and nodes are
 * aggregated as JSON by PostgreSQL, and the statement is a named prepared statement, parsed and planned once per pool
 * connection. What `GET /v1/clusters/{id}` answers from (api-gateway ClustersService.get; bench/api.ts measures it).
 */
export class ClusterViewRepository {
  private readonly pool: Pool;

  /** @param ds an initialized TypeORM data source on PostgreSQL (its `pg` pool is used). */
  constructor(ds: DataSource) {
    this.pool = (ds.driver as unknown as { master: Pool }).master;
  }

  /**
   * The view of cluster `id` of the scope's organisation, or null when it has none by that id (another
   * organisation's cluster is null too). Deleted clusters are returned (their phase says so).
   * @throws the driver's error when PostgreSQL cannot be reached.
   */
  async find(scope: OrgScope, id: string): Promise<ClusterViewRecord | null> {
    const r = await this.pool.query<ClusterViewRecord>({ name: 'skyweave_cluster_view', text: CLUSTER_VIEW_SQL, values: [id, scope.organisationId] });
    return r.rows[0] ?? null;
  }
}
