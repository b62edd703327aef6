import { WaitingReason } from './conditions';

/**
 * Cluster events, as Kubernetes' own (`type` Normal or Warning, a CamelCase `reason`, a human message, the `object`
 * they concern such as `node/<name>` or `network/<cloud>`), listed by `GET /v1/clusters/{id}/events`.
 *
 * Every reason a service may record is one of EventReason: `recordEvent` (libs/persistence) and the transition
 * events of LifecycleRepository take only EventReasonName, so a new reason is added here, once, and a misspelt one
 * does not compile. The reasons are part of the API (clients, the demo and the benchmarks match on them): rename none.
 */

/** Normal: something happened as planned; Warning: a refusal, a loss or a failure the user may need to look at. */
export type EventType = 'Normal' | 'Warning';

/** Reasons of cluster events, grouped by who records them. */
export const EventReason = {
  // api-gateway: the user's requests
  Created: 'Created',
  DeleteRequested: 'DeleteRequested',
  NodesAdded: 'NodesAdded',
  NodeRemovalRequested: 'NodeRemovalRequested',
  UpgradeRequested: 'UpgradeRequested',
  ReconcileRequested: 'ReconcileRequested',
  CredentialsReplaced: 'CredentialsReplaced',
  /** PUT /v1/clusters/{id}/policies stored a new version; the message lists each change (`path: before → after`). */
  AutoscalingPolicyChanged: 'AutoscalingPolicyChanged',
  // api-gateway: what node agents report
  NodeRegistered: 'NodeRegistered',
  ApiServerCertificateIssued: 'ApiServerCertificateIssued',
  AdminCertificateRenewed: 'AdminCertificateRenewed',
  ControlPlaneInitialising: 'ControlPlaneInitialising',
  NodeJoining: 'NodeJoining',
  NodeJoined: 'NodeJoined',
  NodeDrained: 'NodeDrained',
  NodeUncordoned: 'NodeUncordoned',
  NodeUpgradeApplied: 'NodeUpgradeApplied',
  /** A master's agent renewed its API server and admin certificates (`kubeadm certs renew`); the message has the new expiry. */
  CertificatesRenewed: 'CertificatesRenewed',
  NodeOperationFailed: 'NodeOperationFailed',
  /** A node's agent installed a new node-agent version (its `upgrade-agent` result) and restarts on it. */
  AgentUpgradeInstalled: 'AgentUpgradeInstalled',
  /** A node's agent reported another version than the one recorded (message: `from → to`), e.g. after restarting on an upgrade. */
  AgentVersionChanged: 'AgentVersionChanged',
  CrossCloudLatencyWithinBudget: 'CrossCloudLatencyWithinBudget',
  CrossCloudLatencyOverBudget: 'CrossCloudLatencyOverBudget',
  // reconciler: the state machine (apps/reconciler/src/plan.ts)
  ProvisioningStarted: 'ProvisioningStarted',
  ClusterReady: 'ClusterReady',
  NodeDraining: 'NodeDraining',
  DrainIncomplete: 'DrainIncomplete',
  NodeRemoving: 'NodeRemoving',
  NodeUpgrading: 'NodeUpgrading',
  NodeUpgraded: 'NodeUpgraded',
  UpgradeComplete: 'UpgradeComplete',
  UpgradeFailed: 'UpgradeFailed',
  /** The reconciler asked a master's agent to renew its certificates: one expires within the renewal threshold. */
  CertificatesRenewing: 'CertificatesRenewing',
  /** The reconciler asked a node's agent to upgrade itself to the platform's node-agent version (one node at a time). */
  AgentUpgrading: 'AgentUpgrading',
  /** Every node's agent runs the target version. */
  AgentUpgradeComplete: 'AgentUpgradeComplete',
  /** An agent upgrade failed or timed out; it is tried again after a backoff (message: node, error, retry time). */
  AgentUpgradeFailed: 'AgentUpgradeFailed',
  DeleteStarted: 'DeleteStarted',
  DeleteBlocked: 'DeleteBlocked',
  Deleted: 'Deleted',
  // reconciler: the full reconcile (apps/reconciler/src/full.ts)
  ReconcileStarted: 'ReconcileStarted',
  Reconciled: 'Reconciled',
  ReconcileFailed: 'ReconcileFailed',
  NetworkGone: 'NetworkGone',
  NetworkDrift: 'NetworkDrift',
  InstanceGone: 'InstanceGone',
  // network-provisioner
  NetworkReady: 'NetworkReady',
  NetworkDeleted: 'NetworkDeleted',
  NetworkDeleteBlocked: 'NetworkDeleteBlocked',
  // node-provisioner
  InstanceLaunched: 'InstanceLaunched',
  InstanceAdopted: 'InstanceAdopted',
  InstanceTerminated: 'InstanceTerminated',
  // kube-watcher: a Joined node that Kubernetes has said is not Ready for longer than the threshold (once per episode)
  NodeNotReady: 'NodeNotReady',
  // autoscaler (issue 13): nodes added for unschedulable pods, removed when empty or underutilized, a launch the cloud
  // refused (quota, capacity: the next cheapest choice follows), pods no allowed node can hold, a drain a budget blocks
  AutoscalerScaleUp: 'AutoscalerScaleUp',
  AutoscalerScaleDown: 'AutoscalerScaleDown',
  AutoscalerLaunchRefused: 'AutoscalerLaunchRefused',
  AutoscalerNoFit: 'AutoscalerNoFit',
  AutoscalerDrainBlocked: 'AutoscalerDrainBlocked',
  // a cloud's permanent refusal (a Warning naming the waiting reason, retried with backoff): every WaitingReason
  ...WaitingReason,
} as const;
export type EventReasonName = (typeof EventReason)[keyof typeof EventReason];
