import type { EntityManager } from 'typeorm';
import type { Condition, EventType, NodePhase, NodeRole } from '@skyweave/domain';
import { recordEvent } from '../events';
import { LifecycleRepository } from '../lifecycle';
import { BaseRepository, OrgScope, SystemScope } from './scope';

/**
 * What Kubernetes says about one Skyweave node, as the watcher (apps/kube-watcher) records it in `node_kube_status`.
 * Units: cpu in millicores, memory in MiB (allocatable rounded down, requested rounded up), pods as counts;
 * timestamps ISO-8601 strings.
 */
export interface KubeNodeStatusRow {
  /** The Skyweave node (nodes.id) the Kubernetes Node was joined to (label `skyweave.io/node-id`, else by name). */
  nodeId: string;
  /** The Kubernetes Node's name. */
  kubeNodeName: string;
  /** The Node's `Ready` condition status (`Unknown` when it has none). */
  ready: 'True' | 'False' | 'Unknown';
  /** The `Ready` condition's reason (`KubeletReady`, `NodeStatusUnknown`, …) or null. */
  readyReason: string | null;
  /** `spec.unschedulable` (cordoned). */
  unschedulable: boolean;
  allocatableCpuMillicores: number;
  allocatableMemoryMiB: number;
  allocatablePods: number;
  /** Sum of the effective requests (libs/kube-sim `podRequests`) of the non-terminal pods bound to the node. */
  requestedCpuMillicores: number;
  requestedMemoryMiB: number;
  /** Non-terminal pods bound to the node. */
  pods: number;
  /** `status.nodeInfo.kubeletVersion` (`v1.32.0`) or null. */
  kubeletVersion: string | null;
  /** Since when the node is not Ready (the Ready condition's lastTransitionTime, else when first seen so); null when Ready. */
  notReadySince: string | null;
  /** When the current NotReady episode was reported as a `NodeNotReady` event; null when not (yet). */
  notReadyReportedAt: string | null;
  /** When the watcher computed this status (it is written only when it changed). */
  observedAt: string;
}

/** A Skyweave node of a watched cluster, as the watcher needs it (joining, master addresses, NotReady rule). */
export interface WatchedNode {
  id: string;
  name: string;
  role: NodeRole;
  ordinal: number;
  phase: NodePhase;
  privateIp: string | null;
  publicIp: string | null;
  removalRequested: boolean;
}

/** A cluster one watcher replica holds, with what it needs to reach its API server. */
export interface WatchedCluster {
  id: string;
  organisationId: string;
  /** PEM of the cluster CA (trusted for the API server, issuer of the watcher's client certificate). */
  caCertificate: string;
  /** The CA's private key, sealed (SecretBox): opened only to issue the watcher's own client certificate. */
  caKeySealed: string;
  nodes: WatchedNode[];
}

/** One coalesced write of a cluster's Kubernetes status (only what changed since the last one). */
export interface KubeStatusFlush {
  /** Node rows to insert or replace. */
  upsert: readonly KubeNodeStatusRow[];
  /** Skyweave node ids whose Kubernetes Node is gone: their rows are deleted. */
  remove: readonly string[];
  /** The cluster's pending pods, when it changed. */
  pendingPods?: number;
  /** The `KubernetesApiReachable` condition, when it changed (patched through LifecycleRepository, writer `kube-watcher`). */
  condition?: Omit<Condition, 'lastTransitionTime'>;
  /** The `AddonsInstalled` condition (Grafana, Prometheus, the dashboard applied: docs/sso-gateway.md), when it changed; same writer. */
  addonsCondition?: Omit<Condition, 'lastTransitionTime'>;
  /** Events to record (e.g. `NodeNotReady`). */
  events: readonly { type: EventType; reason: 'NodeNotReady'; message: string; object: string }[];
}

/**
 * Where the cluster's control plane exists, so its Kubernetes API can be watched: Ready, or Provisioning once a master
 * has joined; not while a delete is requested or runs; only with a CA (certificate and sealed key).
 */
const WATCHABLE_SQL = `SELECT c."id", c."organisationId" FROM "clusters" c
  WHERE c."deletionRequestedAt" IS NULL AND c."caCertificate" IS NOT NULL AND c."caKeySealed" IS NOT NULL
    AND (c."phase" = 'Ready' OR (c."phase" = 'Provisioning' AND EXISTS (
      SELECT 1 FROM "nodes" m WHERE m."clusterId" = c."id" AND m."role" = 'master' AND m."phase" = 'Joined')))`;

/**
 * The watcher's tables, `cluster_kube_status` and `node_kube_status` (migration KubeStatus1764400000000).
 *
 * Ownership across replicas: a lease per cluster on its `cluster_kube_status` row (`watcher`, `leaseExpiresAt`). A
 * replica takes clusters whose lease is free or expired up to its fair share, gives up any above it and renews its own
 * ({@link claim}); every write ({@link flush})
 * first locks that row and checks the lease is still its own, so a replica that lost a cluster (paused, partitioned)
 * writes nothing, and two replicas never both write one cluster. Lock order in a flush: the `cluster_kube_status`
 * row, then the cluster row (condition patch); nothing else locks the former.
 */
export class KubeStatusRepository extends BaseRepository {
  /**
   * Across organisations (the watcher's sweep), in one transaction: records this replica as alive, makes a lease row
   * for every watchable cluster, renews this replica's own leases, and evens the clusters out among the live replicas
   * (those seen within `leaseSeconds`): with a fair share of ceil(watchable / live replicas), a replica above it gives
   * the excess up (they are taken by the others at their next poll) and one below it takes free or expired leases up to
   * it. Leases run until now + `leaseSeconds`.
   * @returns every watchable cluster this replica now holds, with its CA and nodes (by role, then ordinal).
   */
  async claim(_scope: SystemScope, replica: string, leaseSeconds: number, em?: EntityManager): Promise<WatchedCluster[]> {
    const run = async (m: EntityManager): Promise<WatchedCluster[]> => {
      await m.query(`INSERT INTO "kube_watcher_replicas" ("replica", "seenAt") VALUES ($1, now()) ON CONFLICT ("replica") DO UPDATE SET "seenAt" = now()`, [replica]);
      await m.query(`DELETE FROM "kube_watcher_replicas" WHERE "seenAt" < now() - $1 * interval '10 second'`, [leaseSeconds]);
      await m.query(`INSERT INTO "cluster_kube_status" ("clusterId", "organisationId") SELECT w."id", w."organisationId" FROM (${WATCHABLE_SQL}) w
        ON CONFLICT ("clusterId") DO NOTHING`);
      const [{ total, replicas }] = (await m.query(`SELECT (SELECT count(*) FROM (${WATCHABLE_SQL}) w)::int AS "total",
        (SELECT count(*) FROM "kube_watcher_replicas" WHERE "seenAt" >= now() - $1 * interval '1 second')::int AS "replicas"`, [leaseSeconds])) as { total: number; replicas: number }[];
      const share = Math.ceil(total / Math.max(1, replicas));
      const renewed = (await m.query(`UPDATE "cluster_kube_status" s SET "leaseExpiresAt" = now() + $2 * interval '1 second'
        FROM (${WATCHABLE_SQL}) w WHERE s."clusterId" = w."id" AND s."watcher" = $1 RETURNING s."clusterId"`, [replica, leaseSeconds])) as [{ clusterId: string }[], number];
      let ids = renewed[0].map((r) => r.clusterId).sort();
      if (ids.length > share) {
        const excess = ids.slice(share);
        await m.query(`UPDATE "cluster_kube_status" SET "watcher" = NULL, "leaseExpiresAt" = NULL WHERE "clusterId" = ANY($1::uuid[]) AND "watcher" = $2`, [excess, replica]);
        ids = ids.slice(0, share);
      } else if (ids.length < share) {
        const taken = (await m.query(`UPDATE "cluster_kube_status" s SET "watcher" = $1, "leaseExpiresAt" = now() + $2 * interval '1 second'
          WHERE s."clusterId" IN (SELECT f."clusterId" FROM "cluster_kube_status" f JOIN (${WATCHABLE_SQL}) w ON w."id" = f."clusterId"
            WHERE f."watcher" IS NULL OR f."leaseExpiresAt" IS NULL OR f."leaseExpiresAt" < now()
            ORDER BY f."clusterId" LIMIT $3 FOR UPDATE OF f SKIP LOCKED)
            AND (s."watcher" IS NULL OR s."leaseExpiresAt" IS NULL OR s."leaseExpiresAt" < now())
          RETURNING s."clusterId"`, [replica, leaseSeconds, share - ids.length])) as [{ clusterId: string }[], number];
        ids = [...ids, ...taken[0].map((r) => r.clusterId)];
      }
      if (ids.length === 0) return [];
      return (await m.query(`SELECT c."id", c."organisationId", c."caCertificate", c."caKeySealed",
          COALESCE((SELECT json_agg(json_build_object('id', n."id", 'name', n."name", 'role', n."role", 'ordinal', n."ordinal",
              'phase', n."phase", 'privateIp', n."privateIp", 'publicIp', n."publicIp", 'removalRequested', n."removalRequestedAt" IS NOT NULL)
              ORDER BY n."role", n."ordinal")
            FROM "nodes" n WHERE n."clusterId" = c."id" AND n."organisationId" = c."organisationId"), '[]') AS "nodes"
        FROM "clusters" c WHERE c."id" = ANY($1::uuid[]) ORDER BY c."id"`, [ids])) as WatchedCluster[];
    };
    return em ? run(em) : this.ds.transaction(run);
  }

  /** Across organisations: this replica stops (its record goes, so the others' fair share grows at once). @returns rows deleted. */
  async leave(_scope: SystemScope, replica: string, em?: EntityManager): Promise<number> {
    const r = (await this.m(em).query(`DELETE FROM "kube_watcher_replicas" WHERE "replica" = $1`, [replica])) as [unknown[], number];
    return r[1];
  }

  /** Gives up this replica's lease on the organisation's cluster (another replica may take it at once). @returns rows changed (0 or 1). */
  async release(scope: OrgScope, clusterId: string, replica: string, em?: EntityManager): Promise<number> {
    const r = (await this.m(em).query(`UPDATE "cluster_kube_status" SET "watcher" = NULL, "leaseExpiresAt" = NULL
      WHERE "clusterId" = $1 AND "organisationId" = $2 AND "watcher" = $3`, [clusterId, scope.organisationId, replica])) as [unknown[], number];
    return r[1];
  }

  /** The recorded node statuses of the organisation's cluster (what a replica taking it over starts from), by node id. */
  async nodeStatuses(scope: OrgScope, clusterId: string, em?: EntityManager): Promise<KubeNodeStatusRow[]> {
    const rows = (await this.m(em).query(`SELECT "nodeId", "kubeNodeName", "ready", "readyReason", "unschedulable", "allocatableCpuMillicores",
        "allocatableMemoryMiB", "allocatablePods", "requestedCpuMillicores", "requestedMemoryMiB", "pods", "kubeletVersion",
        "notReadySince", "notReadyReportedAt", "observedAt"
      FROM "node_kube_status" WHERE "clusterId" = $1 AND "organisationId" = $2 ORDER BY "nodeId"`, [clusterId, scope.organisationId])) as
      (Omit<KubeNodeStatusRow, 'notReadySince' | 'notReadyReportedAt' | 'observedAt'> & { notReadySince: Date | null; notReadyReportedAt: Date | null; observedAt: Date })[];
    return rows.map((r) => ({
      ...r, notReadySince: r.notReadySince?.toISOString() ?? null, notReadyReportedAt: r.notReadyReportedAt?.toISOString() ?? null, observedAt: r.observedAt.toISOString(),
    }));
  }

  /**
   * Writes one coalesced batch for the organisation's cluster, in one transaction (the caller's `em`, else its own),
   * when `replica` still holds the cluster's lease: node rows upserted (only for nodes of that cluster) and removed,
   * pending pods, the `KubernetesApiReachable` condition, events.
   * @returns false, writing nothing, when the lease is not (any more) this replica's.
   */
  async flush(scope: OrgScope, clusterId: string, replica: string, batch: KubeStatusFlush, em?: EntityManager, now: Date = new Date()): Promise<boolean> {
    const run = async (m: EntityManager): Promise<boolean> => {
      const held = (await m.query(`SELECT 1 FROM "cluster_kube_status" WHERE "clusterId" = $1 AND "organisationId" = $2 AND "watcher" = $3
        AND "leaseExpiresAt" > now() FOR UPDATE`, [clusterId, scope.organisationId, replica])) as unknown[];
      if (held.length === 0) return false;
      if (batch.upsert.length) {
        await m.query(`INSERT INTO "node_kube_status" ("nodeId", "organisationId", "clusterId", "kubeNodeName", "ready", "readyReason", "unschedulable",
            "allocatableCpuMillicores", "allocatableMemoryMiB", "allocatablePods", "requestedCpuMillicores", "requestedMemoryMiB", "pods",
            "kubeletVersion", "notReadySince", "notReadyReportedAt", "observedAt")
          SELECT r."nodeId", n."organisationId", n."clusterId", r."kubeNodeName", r."ready", r."readyReason", r."unschedulable",
            r."allocatableCpuMillicores", r."allocatableMemoryMiB", r."allocatablePods", r."requestedCpuMillicores", r."requestedMemoryMiB", r."pods",
            r."kubeletVersion", r."notReadySince", r."notReadyReportedAt", r."observedAt"
          FROM jsonb_to_recordset($3::jsonb) AS r("nodeId" uuid, "kubeNodeName" text, "ready" text, "readyReason" text, "unschedulable" boolean,
            "allocatableCpuMillicores" int, "allocatableMemoryMiB" int, "allocatablePods" int, "requestedCpuMillicores" int, "requestedMemoryMiB" int,
            "pods" int, "kubeletVersion" text, "notReadySince" timestamptz, "notReadyReportedAt" timestamptz, "observedAt" timestamptz)
          JOIN "nodes" n ON n."id" = r."nodeId" AND n."clusterId" = $1 AND n."organisationId" = $2
          ON CONFLICT ("nodeId") DO UPDATE SET "kubeNodeName" = EXCLUDED."kubeNodeName", "ready" = EXCLUDED."ready",
            "readyReason" = EXCLUDED."readyReason", "unschedulable" = EXCLUDED."unschedulable",
            "allocatableCpuMillicores" = EXCLUDED."allocatableCpuMillicores", "allocatableMemoryMiB" = EXCLUDED."allocatableMemoryMiB",
            "allocatablePods" = EXCLUDED."allocatablePods", "requestedCpuMillicores" = EXCLUDED."requestedCpuMillicores",
            "requestedMemoryMiB" = EXCLUDED."requestedMemoryMiB", "pods" = EXCLUDED."pods", "kubeletVersion" = EXCLUDED."kubeletVersion",
            "notReadySince" = EXCLUDED."notReadySince", "notReadyReportedAt" = EXCLUDED."notReadyReportedAt", "observedAt" = EXCLUDED."observedAt"`,
        [clusterId, scope.organisationId, JSON.stringify(batch.upsert)]);
      }
      if (batch.remove.length) {
        await m.query(`DELETE FROM "node_kube_status" WHERE "clusterId" = $1 AND "organisationId" = $2 AND "nodeId" = ANY($3::uuid[])`,
          [clusterId, scope.organisationId, batch.remove]);
      }
      if (batch.pendingPods !== undefined) {
        await m.query(`UPDATE "cluster_kube_status" SET "pendingPods" = $3, "pendingPodsObservedAt" = $4 WHERE "clusterId" = $1 AND "organisationId" = $2`,
          [clusterId, scope.organisationId, batch.pendingPods, now]);
      }
      const conditions = [batch.condition, batch.addonsCondition].filter((c): c is Omit<Condition, 'lastTransitionTime'> => c !== undefined);
      if (conditions.length) await new LifecycleRepository(m).patchClusterConditions(scope, clusterId, 'kube-watcher', { set: conditions }, now);
      for (const e of batch.events) await recordEvent(m, { organisationId: scope.organisationId, clusterId, ...e });
      return true;
    };
    return em ? run(em) : this.ds.transaction(run);
  }
}
