import { runWorker } from '@skyweave/service-kit';
import { RECONCILER_SUBJECTS, ReconcilerModule } from './app.module';

/**
 * The reconciler service: a NestJS microservice over NATS JetStream (libs/messaging `JetStreamServer`). Handlers
 * (apps/reconciler/src/app.module.ts `ReconcilerController`): `skyweave.v1.cluster.changed` (durable `reconciler`) and
 * `skyweave.v1.cluster.reconcile` (durable `reconciler-full`); periodic loops (`PeriodicLoops`) start on application
 * bootstrap and stop on shutdown (SIGTERM/SIGINT), before the database and NATS connections close. Environment (seconds unless said):
 * - `SKYWEAVE_REDRIVE_SECONDS` (5): re-drive of clusters not in their desired state (level-triggered safety net);
 * - `SKYWEAVE_RECONCILE_INTERVAL_SECONDS` (3600, seeds: hourly) and `SKYWEAVE_RECONCILE_JITTER` (0.1 = ±10 %): full reconciles;
 * - `SKYWEAVE_RECONCILE_POLL_SECONDS` (15): how often due full reconciles are looked for; `SKYWEAVE_RECONCILE_CONCURRENCY`
 *   (8): how many clusters one replica reconciles at once (their cloud calls overlap);
 * - `SKYWEAVE_RECONCILE_LEASE_SECONDS` (120), `SKYWEAVE_MISSING_GRACE_SECONDS` (120), `SKYWEAVE_RECONCILE_RETRY_SECONDS` (300);
 * - `SKYWEAVE_LEAK_SWEEP_SECONDS` (300) and `SKYWEAVE_LEAK_GRACE_SECONDS` (600): the leak sweep;
 * - `SKYWEAVE_DRAIN_TIMEOUT_SECONDS` (120), `SKYWEAVE_UPGRADE_TIMEOUT_SECONDS` (600),
 *   `SKYWEAVE_CERTIFICATE_RENEW_TIMEOUT_SECONDS` (300): agent operations;
 * - `SKYWEAVE_CERTIFICATE_CHECK_SECONDS` (3600): how often masters' reported certificates are looked at for renewal;
 * - `SKYWEAVE_AGENT_PACKAGES_DIR`: the node-agent packages' folder; its manifest's `version` and `agent` bundle are what
 *   every node's agent is upgraded to (one node at a time; unset ⇒ no agent upgrades), with
 *   `SKYWEAVE_AGENT_PACKAGE_BASE_URL` (the bundle's URL base when not the gateway's), `SKYWEAVE_AGENT_UPGRADE_TIMEOUT_SECONDS`
 *   (300) and `SKYWEAVE_AGENT_UPGRADE_CHECK_SECONDS` (60: how often clusters with agents behind are looked at);
 * - `SKYWEAVE_CLOCK_OFFSET_SECONDS` (0): the reconciler's clock runs this far ahead of the wall clock (tests only);
 * - `SKYWEAVE_REPLICA` (host-pid): this replica's name in leases and reconcile records.
 * Any number of replicas may run: the fast pass locks the cluster row, the full reconcile takes the cluster's lease,
 * the sweep an advisory lock.
 * Operations: `SKYWEAVE_HTTP_PORT` (default 0 = no HTTP listener) makes it a hybrid application serving `/health`
 * (liveness), `/ready` (@nestjs/terminus: database ping + NATS connection) and `/metrics` (prom-client: process metrics,
 * `skyweave_messages_handled_total` and `skyweave_message_handling_seconds` by subject and outcome) on
 * `SKYWEAVE_HTTP_HOST` (default 127.0.0.1).
 */

runWorker('reconciler', { module: ReconcilerModule, consumes: RECONCILER_SUBJECTS });
