import { runWorker } from '@skyweave/service-kit';
import { NETWORK_PROVISIONER_SUBJECTS, NetworkProvisionerModule } from './app.module';

/**
 * The network-provisioner service: a NestJS microservice over NATS JetStream (libs/messaging `JetStreamServer`).
 * Handlers (apps/network-provisioner/src/app.module.ts `NetworkController`): `skyweave.v1.network.ensure` (durable
 * `network-provisioner-ensure`) and `skyweave.v1.network.delete` (durable `network-provisioner-delete`).
 * Environment: the common runtime's (`DATABASE_URL`, `NATS_URL`, `SKYWEAVE_NATS_NAMESPACE`, `SKYWEAVE_MASTER_KEY`,
 * `SKYWEAVE_CLOUD_ENDPOINTS_FILE`, `LOG_LEVEL`; see libs/service-kit config). Stops gracefully on SIGTERM/SIGINT.
 */
runWorker('network-provisioner', { module: NetworkProvisionerModule, consumes: NETWORK_PROVISIONER_SUBJECTS });
