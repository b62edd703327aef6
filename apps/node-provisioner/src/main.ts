import { runWorker } from '@skyweave/service-kit';
import { NODE_PROVISIONER_SUBJECTS, NodeProvisionerModule } from './app.module';

/**
 * The node-provisioner service: a NestJS microservice over NATS JetStream (libs/messaging `JetStreamServer`).
 * Handlers (apps/node-provisioner/src/app.module.ts `NodeController`): `skyweave.v1.node.launch` (durable
 * `node-provisioner-launch`) and `skyweave.v1.node.terminate` (durable `node-provisioner-terminate`).
 * Environment: the common runtime's (`DATABASE_URL`, `NATS_URL`, `SKYWEAVE_NATS_NAMESPACE`, `SKYWEAVE_MASTER_KEY`,
 * `SKYWEAVE_CLOUD_ENDPOINTS_FILE`, `LOG_LEVEL`; see libs/service-kit config) and `SKYWEAVE_API_URL` (default
 * `http://127.0.0.1:8080`): the api-gateway URL written into the VMs' user-data for their agents to call back.
 * Stops gracefully on SIGTERM/SIGINT.
 * Operations: `SKYWEAVE_HTTP_PORT` (default 0 = no HTTP listener) makes it a hybrid application serving `/health`
 * (liveness), `/ready` (@nestjs/terminus: database ping + NATS connection) and `/metrics` (prom-client: process metrics,
 * `skyweave_messages_handled_total` and `skyweave_message_handling_seconds` by subject and outcome) on
 * `SKYWEAVE_HTTP_HOST` (default 127.0.0.1).
 */
runWorker('node-provisioner', { module: NodeProvisionerModule, consumes: NODE_PROVISIONER_SUBJECTS });
