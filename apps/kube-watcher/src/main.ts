import { runWorker } from '@skyweave/service-kit';
import { KubeWatcherModule } from '@skyweave/kube-view';

/**
 * The kube-watcher service (issue 12, item 4; docs/kube-watcher.md): an informer-based view of the Nodes and Pods of
 * every cluster whose control plane exists, recorded per Skyweave node and per cluster (GET /v1/clusters/{id}). A NestJS
 * application on the shared worker runtime (database migrated, NATS connected for the outbox relay; it consumes no
 * subject). Environment:
 * - `SKYWEAVE_REPLICA` (host-pid): this replica's name in the per-cluster leases; run as many replicas as you like;
 * - `SKYWEAVE_KUBE_FLUSH_MS` (1000): at most one database write per cluster this often;
 * - `SKYWEAVE_KUBE_NOT_READY_SECONDS` (120): a Joined node NotReady this long gets one `NodeNotReady` event per episode;
 * - `SKYWEAVE_KUBE_POLL_SECONDS` (5): clusters to watch read and leases renewed; `SKYWEAVE_KUBE_LEASE_SECONDS` (30);
 * - `SKYWEAVE_KUBE_RESYNC_SECONDS` (300): full relist of each cluster's nodes and pods;
 * - `SKYWEAVE_KUBE_BACKOFF_MS` (1000), `SKYWEAVE_KUBE_BACKOFF_CAP_MS` (30000): reconnection backoff;
 * - `SKYWEAVE_KUBE_CONNECT_TIMEOUT_SECONDS` (15): a connection whose lists have not answered by then fails (next master);
 * - `SKYWEAVE_CLOUD_ENDPOINTS_FILE`: its `kubernetes.proxyUrl` is the HTTP CONNECT proxy API servers are dialled through;
 * - `SKYWEAVE_HTTP_PORT` (0 = none): `/health`, `/ready`, `/metrics` as the other workers.
 */
runWorker('kube-watcher', { module: KubeWatcherModule, consumes: [] });
