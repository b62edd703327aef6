import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 12, item 4: what the platform's Kubernetes view (apps/kube-watcher) records.
 * - `cluster_kube_status`: one row per watched cluster — the watcher replica holding the cluster (`watcher`, lease
 *   until `leaseExpiresAt`; every write of the watcher is fenced by it) and the cluster's pending pods.
 * - `node_kube_status`: one row per Skyweave node the watcher found in Kubernetes — Ready, cordon, allocatable and
 *   requested resources, pod count, kubelet version, since when NotReady and whether that episode was reported.
 * - `kube_watcher_replicas`: each watcher replica's last poll (the live ones share the clusters out).
 */
export class KubeStatus1764400000000 implements MigrationInterface {
  name = 'KubeStatus1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "cluster_kube_status" (
      "clusterId" uuid PRIMARY KEY REFERENCES "clusters"("id") ON DELETE CASCADE,
      "organisationId" uuid NOT NULL,
      "watcher" text NULL,
      "leaseExpiresAt" timestamptz NULL,
      "pendingPods" integer NULL,
      "pendingPodsObservedAt" timestamptz NULL
    )`);
    await q.query(`CREATE TABLE "node_kube_status" (
      "nodeId" uuid PRIMARY KEY REFERENCES "nodes"("id") ON DELETE CASCADE,
      "organisationId" uuid NOT NULL,
      "clusterId" uuid NOT NULL,
      "kubeNodeName" text NOT NULL,
      "ready" text NOT NULL,
      "readyReason" text NULL,
      "unschedulable" boolean NOT NULL,
      "allocatableCpuMillicores" integer NOT NULL,
      "allocatableMemoryMiB" integer NOT NULL,
      "allocatablePods" integer NOT NULL,
      "requestedCpuMillicores" integer NOT NULL,
      "requestedMemoryMiB" integer NOT NULL,
      "pods" integer NOT NULL,
      "kubeletVersion" text NULL,
      "notReadySince" timestamptz NULL,
      "notReadyReportedAt" timestamptz NULL,
      "observedAt" timestamptz NOT NULL
    )`);
    await q.query(`CREATE INDEX "node_kube_status_cluster" ON "node_kube_status" ("clusterId")`);
    await q.query(`CREATE TABLE "kube_watcher_replicas" ("replica" text PRIMARY KEY, "seenAt" timestamptz NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "kube_watcher_replicas"`);
    await q.query(`DROP TABLE "node_kube_status"`);
    await q.query(`DROP TABLE "cluster_kube_status"`);
  }
}
