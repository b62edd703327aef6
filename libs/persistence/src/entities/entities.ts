import {
  Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn, UpdateDateColumn, VersionColumn,
} from 'typeorm';
import type {
  AutoscalerDecision, AutoscalerInFlightNode, AutoscalerPendingPod, AutoscalerPriceSource, AutoscalingPolicy, CloudId, ClusterPhase, ClusterSpec, Condition,
  NetworkPhase, NodeOrigin, NodePhase, NodeRole,
} from '@skyweave/domain';
import type { NetworkStatus } from '@skyweave/cloud-adapters';
import type { Role } from '@skyweave/contracts';

/** A tenant. Every other row belongs to exactly one organisation and every query is scoped by it. */
@Entity('organisations')
export class OrganisationEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') name!: string;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  /** Clusters (not Deleted) the organisation may hold; null = the gateway's default (SKYWEAVE_QUOTA_CLUSTERS). */
  @Column('integer', { nullable: true }) maxClusters!: number | null;
  /** Nodes (not Terminated) the organisation may hold; null = the gateway's default (SKYWEAVE_QUOTA_NODES). */
  @Column('integer', { nullable: true }) maxNodes!: number | null;
}

/** An API key. Only the SHA-256 of the secret is stored (keys are 256-bit random, so a fast hash is enough). */
@Entity('api_keys')
export class ApiKeyEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') organisationId!: string;
  @Column('text') name!: string;
  @Index({ unique: true }) @Column('text') secretHash!: string;
  /** What the key may do, as a member's role (`owner` for keys made before roles existed). */
  @Column('text', { default: 'owner' }) role!: Role;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
}

/** A member's role (libs/contracts: viewer, member, owner), re-exported for the repositories' callers. */
export { ROLES, type Role } from '@skyweave/contracts';

/**
 * A person who signs in to the console (issue 14). `email` lower-case and unique. `passwordHash` (scrypt, local
 * accounts) and the OIDC pair are secrets or identifiers that are never returned by the API.
 */
@Entity('users')
export class UserEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') email!: string;
  @Column('text', { nullable: true }) passwordHash!: string | null;
  @Column('text', { nullable: true }) oidcIssuer!: string | null;
  @Column('text', { nullable: true }) oidcSubject!: string | null;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
}

/** A user's role in one organisation. */
@Entity('memberships')
export class MembershipEntity {
  @PrimaryColumn('uuid') userId!: string;
  @PrimaryColumn('uuid') organisationId!: string;
  @Column('text') role!: Role;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
}

/** An invitation of an email address into an organisation with a role; only the token's SHA-256 is stored. */
@Entity('invitations')
export class InvitationEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') organisationId!: string;
  @Column('text') email!: string;
  @Column('text') role!: Role;
  @Column('text') tokenHash!: string;
  @Column('timestamptz') expiresAt!: Date;
  @Column('timestamptz', { nullable: true }) acceptedAt!: Date | null;
  @Column('uuid', { nullable: true }) acceptedBy!: string | null;
  @Column('uuid', { nullable: true }) createdBy!: string | null;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
}

/** A signed-in browser: the SHA-256 of its cookie's id and of its CSRF token, the user, the organisation it acts for. */
@Entity('sessions')
export class SessionEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') tokenHash!: string;
  @Column('text') csrfHash!: string;
  @Column('uuid') userId!: string;
  @Column('uuid', { nullable: true }) organisationId!: string | null;
  @Column('timestamptz') expiresAt!: Date;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
}

/** Cloud credentials of an organisation, one set per cloud, encrypted at rest (AES-256-GCM envelope). */
@Entity('cloud_credentials')
@Index(['organisationId', 'cloud'], { unique: true })
export class CloudCredentialEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') organisationId!: string;
  @Column('text') cloud!: CloudId;
  @Column('text') name!: string;
  /** Non-secret identity for display (AWS access key id, GCP client_email, Azure clientId/subscription, DO token suffix). */
  @Column('text') identity!: string;
  @Column('text') ciphertext!: string;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
}

@Entity('clusters')
export class ClusterEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') organisationId!: string;
  @Column('text') name!: string;
  @Column('jsonb') spec!: ClusterSpec;
  @Column('text') phase!: ClusterPhase;
  @Column('jsonb', { default: () => "'[]'" }) conditions!: Condition[];
  /** Set when the user asked to delete; the reconciler drives the teardown. */
  @Column('timestamptz', { nullable: true }) deletionRequestedAt!: Date | null;
  /** PEM of the cluster CA certificate (public). */
  @Column('text', { nullable: true }) caCertificate!: string | null;
  /** The CA's private key, sealed (SecretBox). */
  @Column('text', { nullable: true }) caKeySealed!: string | null;
  /** PEM of the admin client certificate (CN kubernetes-admin, O system:masters), signed by the CA. */
  @Column('text', { nullable: true }) adminCertificate!: string | null;
  @Column('text', { nullable: true }) adminKeySealed!: string | null;
  /** Public parts of the control-plane PKI beyond the CA (certificates, service-account public key); shape owned by api-gateway's bootstrap module. */
  @Column('jsonb', { nullable: true }) pki!: Record<string, string> | null;
  /** Private parts of the control-plane PKI, the kubeadm bootstrap token and certificate key: one JSON document, sealed (SecretBox). */
  @Column('text', { nullable: true }) pkiSealed!: string | null;
  /** When the next full reconcile is due (interval with jitter after the last one); null until the cluster is first Ready. */
  @Column('timestamptz', { nullable: true }) nextReconcileAt!: Date | null;
  @Column('timestamptz', { nullable: true }) lastReconciledAt!: Date | null;
  /** The reconciler replica holding the reconcile lease, and until when; user changes get 409 while it is held. */
  @Column('text', { nullable: true }) reconcileLeaseHolder!: string | null;
  @Column('timestamptz', { nullable: true }) reconcileLeaseExpiresAt!: Date | null;
  @VersionColumn() version!: number;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt!: Date;
}

/** One cloud's network for a cluster. `status` is what the cloud reported when it was last ensured. */
@Entity('cluster_networks')
@Index(['clusterId', 'cloud'], { unique: true })
export class ClusterNetworkEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') organisationId!: string;
  @Column('uuid') clusterId!: string;
  @Column('text') cloud!: CloudId;
  @Column('text') phase!: NetworkPhase;
  @Column('jsonb', { nullable: true }) status!: NetworkStatus | null;
  @Column('text', { nullable: true }) message!: string | null;
  /** When the reconciler last sent a command for this network (re-sent when stale). */
  @Column('timestamptz', { nullable: true }) dispatchedAt!: Date | null;
  /** Permanent refusals (WaitingReason: quota, capacity, credentials, a rejected request, a foreign VM blocking the delete): not retried before `retryAt` (exponential backoff over `attempts`). */
  @Column('timestamptz', { nullable: true }) retryAt!: Date | null;
  @Column('int', { default: 0 }) attempts!: number;
  @Column('text', { nullable: true }) waitingReason!: string | null;
  @VersionColumn() version!: number;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt!: Date;
}

/** One certificate of a master's PKI and its expiry (RFC 3339), as `kubeadm certs check-expiration` lists it. */
export interface CertificateExpirationRecord { name: string; expiresAt: string }

@Entity('nodes')
@Index(['clusterId', 'name'], { unique: true })
export class NodeEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') organisationId!: string;
  @Column('uuid') clusterId!: string;
  @Column('text') cloud!: CloudId;
  @Column('text') role!: NodeRole;
  /** Position within its role; master 0 initialises the control plane. */
  @Column('int') ordinal!: number;
  @Column('text') name!: string;
  @Column('text') instanceType!: string;
  @Column('text') phase!: NodePhase;
  @Column('text', { nullable: true }) instanceId!: string | null;
  @Column('text', { nullable: true }) privateIp!: string | null;
  @Column('text', { nullable: true }) publicIp!: string | null;
  /** SHA-256 of the one-time bootstrap token (never the token). */
  @Column('text', { nullable: true }) bootstrapTokenHash!: string | null;
  @Column('timestamptz', { nullable: true }) bootstrapTokenExpiresAt!: Date | null;
  @Column('timestamptz', { nullable: true }) bootstrapTokenUsedAt!: Date | null;
  /** SHA-256 of the registration id the agent sent with its bootstrap token: its retries are answered again. */
  @Column('text', { nullable: true }) registrationIdHash!: string | null;
  /** SHA-256 of the node's own credential, issued in exchange for the bootstrap token. */
  @Column('text', { nullable: true }) agentTokenHash!: string | null;
  @Column('text', { nullable: true }) wireguardPublicKey!: string | null;
  /** Overlay address from 10.4.0.0/16 (dotted quad), allocated with the row. */
  @Column('text', { nullable: true }) wireguardAddress!: string | null;
  /** The node's pod range as Kubernetes node IPAM assigned it, reported by the agent; null until known. */
  @Column('text', { nullable: true }) podCidr!: string | null;
  /** Last measured round trip to each peer over WireGuard, by peer node id: milliseconds (null: unreachable) and when. */
  @Column('jsonb', { default: () => "'{}'" }) peerLatencies!: Record<string, { rttMs: number | null; at: string }>;
  /** Set when the user asked to remove this node; the mesh drops it at once, the reconciler terminates it. */
  @Column('timestamptz', { nullable: true }) removalRequestedAt!: Date | null;
  @Column('text', { nullable: true }) message!: string | null;
  @Column('timestamptz', { nullable: true }) dispatchedAt!: Date | null;
  @Column('timestamptz', { nullable: true }) joinedAt!: Date | null;
  /** Idempotency token of the launch under way (EC2 ClientToken, GCP requestId); a new one per VM the node gets. */
  @Column('uuid', { nullable: true }) launchToken!: string | null;
  @Column('timestamptz', { nullable: true }) launchStartedAt!: Date | null;
  /**
   * When a cloud listing (the full reconcile's, or a re-entered launch's) last showed this launch's VM; null until one
   * did. With the agent's registration (`bootstrapTokenUsedAt`), the proof that the VM existed: a proven VM missing
   * from a later listing is gone, not merely not listed yet (eventual consistency).
   */
  @Column('timestamptz', { nullable: true }) instanceSeenAt!: Date | null;
  /** The launch's bootstrap token, sealed (SecretBox), so a re-entered launch renders the same user-data; cleared at registration. */
  @Column('text', { nullable: true }) bootstrapTokenSealed!: string | null;
  /** Permanent refusals (WaitingReason: quota, capacity, credentials, a rejected launch): not retried before `retryAt` (backoff over `attempts`). */
  @Column('timestamptz', { nullable: true }) retryAt!: Date | null;
  @Column('int', { default: 0 }) attempts!: number;
  @Column('text', { nullable: true }) waitingReason!: string | null;
  /** The Kubernetes version the node runs (`1.31.4`), set when it joins and after each upgrade. */
  @Column('text', { nullable: true }) kubernetesVersion!: string | null;
  /**
   * Who made the node: `spec` (with the cluster, POST /v1/clusters), `user` (POST /v1/clusters/{id}/nodes; the
   * column's default) or `autoscaler` (apps/autoscaler, which removes only its own).
   */
  @Column('text', { default: 'user' }) origin!: NodeOrigin;
  /**
   * A master's kubeadm certificates and when each expires (`expiresAt` RFC 3339), as its agent last reported them
   * (`kubeadm certs check-expiration`, after joining, daily, and after each renewal); null until reported.
   */
  @Column('jsonb', { nullable: true }) certificateExpirations!: CertificateExpirationRecord[] | null;
  /**
   * The node-agent version the node's agent runs (`<release>-<12 hex of its bundle's SHA-256>`, the package manifest's
   * `version`), as the agent last sent it (`Skyweave-Agent-Version` on every node-token call); null until it does
   * (agents older than issue 11's agent upgrades send none). The reconciler rolls `upgrade-agent` from it.
   */
  @Column('text', { nullable: true }) agentVersion!: string | null;
  @VersionColumn() version!: number;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  @UpdateDateColumn({ type: 'timestamptz' }) updatedAt!: Date;
}

/**
 * The node-agent bundle an `upgrade-agent` operation installs: `version` (the manifest's), `url` (absolute, or a path
 * such as `/v1/agent-packages/<version>/<file>` that the agent resolves against its API URL), `sha256` (64 lower-case
 * hex digits) and `bytes` (its size).
 */
export interface AgentPackageRecord { version: string; url: string; sha256: string; bytes: number }

/** Event history of a cluster, like Kubernetes events: `type` Normal or Warning, a CamelCase `reason`. */
@Entity('cluster_events')
@Index(['clusterId', 'id'])
export class ClusterEventEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) id!: string;
  @Column('uuid') organisationId!: string;
  @Column('uuid') clusterId!: string;
  @Column('text') type!: 'Normal' | 'Warning';
  @Column('text') reason!: string;
  @Column('text') message!: string;
  /** Which part this is about: `network/aws`, `node/sw-1a2b3c4d-master-0` … */
  @Column('text', { nullable: true }) object!: string | null;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
}

/** Transactional outbox: written in the same transaction as the state change, published to JetStream by the relay. */
@Entity('outbox')
export class OutboxEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) id!: string;
  @Column('text') subject!: string;
  @Column('jsonb') payload!: Record<string, unknown>;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  @Index({ where: '"publishedAt" IS NULL' }) @Column('timestamptz', { nullable: true }) publishedAt!: Date | null;
}

/** Replays of writes sent with an `Idempotency-Key` header (per organisation, 24 h). */
@Entity('idempotency_keys')
export class IdempotencyKeyEntity {
  @PrimaryColumn('uuid') organisationId!: string;
  @PrimaryColumn('text') key!: string;
  @Column('text') requestFingerprint!: string;
  @Column('int') status!: number;
  @Column('jsonb') body!: unknown;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
}

/** One full reconcile of a cluster: which replica, why, when, what it found and what it changed. */
@Entity('cluster_reconciles')
export class ClusterReconcileEntity {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) id!: string;
  @Column('uuid') organisationId!: string;
  @Column('uuid') clusterId!: string;
  @Column('text') replica!: string;
  /** `schedule` (the hourly loop) or `manual` (POST /v1/clusters/{id}/reconcile). */
  @Column('text') trigger!: 'schedule' | 'manual';
  @Column('timestamptz') startedAt!: Date;
  @Column('timestamptz', { nullable: true }) finishedAt!: Date | null;
  @Column('jsonb', { default: () => "'[]'" }) found!: string[];
  @Column('jsonb', { default: () => "'[]'" }) changed!: string[];
  /** What it could not decide yet (a VM launched moments ago, never seen, not listed): looked at again within a minute. */
  @Column('jsonb', { default: () => "'[]'" }) undecided!: string[];
  @Column('text', { nullable: true }) error!: string | null;
}

export type NodeOperationState = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'TimedOut';

/** A drain, uncordon, upgrade or certificate renewal asked of one agent (`executorNodeId`) about one node (`targetNodeId`). */
@Entity('node_operations')
export class NodeOperationEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') organisationId!: string;
  @Column('uuid') clusterId!: string;
  @Column('uuid') executorNodeId!: string;
  @Column('uuid') targetNodeId!: string;
  @Column('text') kind!: 'drain' | 'uncordon' | 'upgrade' | 'renew-certificates' | 'upgrade-agent';
  /** Why: before a node's `removal`, a step of an `upgrade` rollout, `certificates` close to expiry, or an `agent-upgrade` rollout. */
  @Column('text') purpose!: 'removal' | 'upgrade' | 'certificates' | 'agent-upgrade';
  @Column('text', { nullable: true }) kubernetesVersion!: string | null;
  @Column('boolean', { default: false }) upgradeControlPlane!: boolean;
  /** `upgrade-agent`: the node-agent bundle to install (from the platform's package manifest); null for other kinds. */
  @Column('jsonb', { nullable: true }) agentPackage!: AgentPackageRecord | null;
  @Column('int') timeoutSeconds!: number;
  @Column('text') state!: NodeOperationState;
  @Column('text', { nullable: true }) message!: string | null;
  @CreateDateColumn({ type: 'timestamptz' }) createdAt!: Date;
  /** Past this, a Pending or Running operation is TimedOut. */
  @Column('timestamptz') deadlineAt!: Date;
  @Column('timestamptz', { nullable: true }) finishedAt!: Date | null;
}

/** Resources tagged for a cluster that does not exist, seen by the leak sweep: removed once seen for the grace period. */
@Entity('leak_candidates')
export class LeakCandidateEntity {
  @PrimaryColumn('uuid') organisationId!: string;
  @PrimaryColumn('text') cloud!: CloudId;
  @PrimaryColumn('text') region!: string;
  @PrimaryColumn('uuid') clusterId!: string;
  @Column('timestamptz') firstSeenAt!: Date;
  @Column('timestamptz') lastSeenAt!: Date;
  /** `kind/id` of what was seen. */
  @Column('jsonb', { default: () => "'[]'" }) resources!: string[];
}

/**
 * A cluster's autoscaling policy (issue 13), stored whole: version 1, 2, 3 … per cluster, written under the cluster
 * row's lock (PUT /v1/clusters/{id}/policies). No row: DEFAULT_AUTOSCALING_POLICY at version 0.
 */
@Entity('autoscaling_policies')
export class AutoscalingPolicyEntity {
  @PrimaryColumn('uuid') clusterId!: string;
  @Column('uuid') organisationId!: string;
  @Column('int') version!: number;
  @Column('jsonb') policy!: AutoscalingPolicy;
  @Column('timestamptz', { default: () => 'now()' }) updatedAt!: Date;
}

/**
 * What the autoscaler (apps/autoscaler) last reported about a cluster, one row per cluster, replaced piecewise
 * (AutoscalingRepository.upsertStatus); read by GET /v1/clusters/{id}/autoscaler.
 */
@Entity('autoscaler_status')
export class AutoscalerStatusEntity {
  @PrimaryColumn('uuid') clusterId!: string;
  @Column('uuid') organisationId!: string;
  @Column('jsonb', { default: () => "'[]'" }) pendingPods!: AutoscalerPendingPod[];
  @Column('jsonb', { default: () => "'[]'" }) inFlight!: AutoscalerInFlightNode[];
  @Column('jsonb', { nullable: true }) lastDecision!: AutoscalerDecision | null;
  /** USD per hour of the cluster's nodes, by cloud. */
  @Column('jsonb', { default: () => "'{}'" }) costByCloud!: Partial<Record<CloudId, number>>;
  @Column('jsonb', { default: () => "'{}'" }) prices!: Partial<Record<CloudId, AutoscalerPriceSource>>;
  @Column('timestamptz', { default: () => 'now()' }) updatedAt!: Date;
}

export const ENTITIES = [
  OrganisationEntity, ApiKeyEntity, CloudCredentialEntity, ClusterEntity, ClusterNetworkEntity, NodeEntity,
  ClusterEventEntity, OutboxEntity, IdempotencyKeyEntity, ClusterReconcileEntity, NodeOperationEntity, LeakCandidateEntity,
  AutoscalingPolicyEntity, AutoscalerStatusEntity, UserEntity, MembershipEntity, InvitationEntity, SessionEntity,
];
