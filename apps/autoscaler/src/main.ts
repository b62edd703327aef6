import { runWorker } from '@skyweave/service-kit';
import { AutoscalerAppModule } from './module';

/**
 * The autoscaler service (issue 13; docs/autoscaler.md): hosts the platform's Kubernetes view (kube-view's
 * KubeWatcherModule: informers per cluster, per-cluster leases among replicas, the recorded node status) and decides,
 * for each cluster it holds, which nodes to add or remove within the cluster's autoscaling policy. A NestJS
 * application on the shared worker runtime (database migrated, NATS connected for the outbox relay; it consumes no
 * subject: pods and nodes come from the watches, policies and nodes from PostgreSQL every tick). Environment: kube-view's
 * (see apps/kube-watcher/src/main.ts) and
 * - `SKYWEAVE_AUTOSCALER_TICK_MS` (1000): how often each held cluster is looked at;
 * - `SKYWEAVE_AUTOSCALER_BATCH_IDLE_MS` (1000), `SKYWEAVE_AUTOSCALER_BATCH_MAX_MS` (10000): the batch window;
 * - `SKYWEAVE_AUTOSCALER_UNAVAILABLE_SECONDS` (600): an offering refused for quota or capacity is avoided this long;
 * - `SKYWEAVE_AUTOSCALER_DRAIN_TIMEOUT_SECONDS` (300): a scale-down drain not done by then is abandoned (uncordoned);
 * - `SKYWEAVE_PRICE_REFRESH_SECONDS` (3600): the clouds' price lists are read again this often;
 * - `SKYWEAVE_HTTP_PORT` (0 = none): `/health`, `/ready`, `/metrics` (with the autoscaler's metrics).
 * Run it instead of kube-watcher (it is a kube-watcher plus decisions): both at once would split the clusters' leases
 * between them, and the clusters kube-watcher held would not be autoscaled.
 */
runWorker('autoscaler', { module: AutoscalerAppModule, consumes: [] });
