import { runWorker } from '@skyweave/service-kit';
import { NETWORK_PROVISIONER_SUBJECTS, NetworkProvisionerModule } from './app.module';

/**
 * The network-provisioner service: a NestJS microservice over NATS JetStream (libs/messaging `JetStreamServer`).
 * Handlers (apps/network-provisioner/src/app.module.ts `NetworkController`): `skyweave.v1.network.ensure` (durable
 * `network-provisioner-ensure`) and `skyweave.v1.network.delete` (durable `network-provisioner-delete`).
 * Environment: the common runtime's (`DATABASE_URL`, `NATS_URL`, `SKYWEAVE_NATS_NAMESPACE`, `SKYWEAVE_MASTER_KEY`,
 * `SKYWEAVE_CLOUD_ENDPOINTS_FILE`, `LOG_LEVEL`; see libs/service-kit config). Stops gracefully on SIGTERM/SIGINT.
 * Operations: `SKYWEAVE_HTTP_PORT` (default 0 = no HTTP listener) makes it a hybrid application serving `/health`
 * (liveness), `/ready` (@nestjs/terminus: database ping + NATS connection) and `/metrics` (prom-client: process metrics,
 * `skyweave_messages_handled_total` and `skyweave_message_handling_seconds` by subject and outcome) on
 * `SKYWEAVE_HTTP_HOST` (default 127.0.0.1).
 */
runWorker('network-provisioner', { module: NetworkProvisionerModule, consumes: NETWORK_PROVISIONER_SUBJECTS });
