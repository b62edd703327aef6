/** Injection tokens of the runtime's parts (see {@link ServiceRuntime}). */
export const RUNTIME = Symbol('skyweave:runtime');
/** TypeORM `DataSource` (migrations applied). */
export const DATA_SOURCE = Symbol('skyweave:data-source');
/** `NatsConnection` (reconnecting forever). */
export const NATS_CONNECTION = Symbol('skyweave:nats');
/** The NATS `Namespace` (env `SKYWEAVE_NATS_NAMESPACE`). */
export const NATS_NAMESPACE = Symbol('skyweave:nats-namespace');
/** `CredentialVault`: decrypted cloud credentials and providers per organisation. */
export const VAULT = Symbol('skyweave:vault');
/** `SecretBox`: AES-256-GCM sealing of secrets at rest. */
export const SECRET_BOX = Symbol('skyweave:secret-box');
/** The service's pino `Logger`. */
export const LOGGER = Symbol('skyweave:logger');
/** `ServiceConfig` loaded from the environment. */
export const SERVICE_CONFIG = Symbol('skyweave:config');
