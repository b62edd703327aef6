import type { AutoscalerDecision, AutoscalerInFlightNode, AutoscalerPendingPod, AutoscalerPriceSource, AutoscalingPolicy, CloudId, ClusterPhase, ClusterSpec, EventReasonName, NodeOrigin, NodePhase } from '@skyweave/domain';

/** A cluster as the autoscaler decides for it. */
export interface ClusterSnapshot {
  id: string;
  organisationId: string;
  name: string;
  phase: ClusterPhase;
  spec: ClusterSpec;
  /** Delete requested: nothing is decided any more. */
  deleting: boolean;
}

/** One of the cluster's nodes (masters included), from the `nodes` table. */
export interface NodeRow {
  id: string;
  name: string;
  role: 'master' | 'worker';
  cloud: CloudId;
  instanceType: string;
  phase: NodePhase;
  origin: NodeOrigin;
  removalRequested: boolean;
  /** The VM's id once launched. */
  instanceId: string | null;
  /** Why its launch waits (WaitingReason), e.g. `QuotaExceeded`. */
  waitingReason: string | null;
  createdAt: Date;
  /** When it joined the cluster (null until then). */
  joinedAt: Date | null;
}

/** What the autoscaler shows in `GET /v1/clusters/{id}/autoscaler` (the `autoscaler_status` row). */
export interface AutoscalerStatus {
  pendingPods: AutoscalerPendingPod[];
  /** `usdPerHour` 0 when the cloud's prices could not be read. */
  inFlight: AutoscalerInFlightNode[];
  lastDecision: AutoscalerDecision | null;
  /** USD/hour of the cluster's live nodes (masters included) by cloud, at the last known prices. */
  costByCloud: Partial<Record<CloudId, number>>;
  prices: Partial<Record<CloudId, AutoscalerPriceSource>>;
}

/** An event on the cluster (cluster_events). */
export interface AutoscalerEvent { type: 'Normal' | 'Warning'; reason: EventReasonName; message: string; object?: string }

/** The outcome of asking for a node: added, or not now (and why). */
export type LaunchOutcome = { ok: true; nodeId: string; name: string } | { ok: false; reason: string };

/** The autoscaler's reads and writes of PostgreSQL (an interface so the decision loop is tested without a database). */
export interface AutoscalerStore {
  /** The cluster and its nodes (not Terminated), or null when it is gone. */
  cluster(organisationId: string, clusterId: string): Promise<{ cluster: ClusterSnapshot; nodes: NodeRow[] } | null>;
  /** The cluster's policy (defaults at version 0 when never set). */
  policy(organisationId: string, clusterId: string, clouds: readonly CloudId[]): Promise<{ version: number; policy: AutoscalingPolicy }>;
  /**
   * Adds one worker (origin `autoscaler`) through the same path as `POST /v1/clusters/{id}/nodes`, under the cluster's
   * row lock: refused (not thrown) when the cluster is not Ready, being deleted or reconciled, or the organisation's
   * node quota is reached.
   */
  launch(organisationId: string, clusterId: string, req: { cloud: CloudId; instanceType: string; message: (name: string) => string }): Promise<LaunchOutcome>;
  /** Requests a worker's removal through the node-removal path (under the cluster's row lock). @returns whether newly requested. */
  remove(organisationId: string, clusterId: string, nodeId: string, event: AutoscalerEvent): Promise<boolean>;
  event(organisationId: string, clusterId: string, e: AutoscalerEvent): Promise<void>;
  status(organisationId: string, clusterId: string, s: AutoscalerStatus): Promise<void>;
}
