import 'reflect-metadata';
import { DynamicModule, Global, Inject, INestMicroservice, LoggerService, Module, OnApplicationShutdown, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Subject } from '@skyweave/contracts';
import { JetStreamErrorFilter, JetStreamServer } from '@skyweave/messaging';
import { createLogger, Logger } from './logger';
import { ServiceRuntime, startRuntime } from './runtime';

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

/**
 * Makes a started {@link ServiceRuntime} injectable everywhere in a worker (global module) and closes it (outbox relay,
 * NATS drain, database) on application shutdown. Global modules shut down last, so the application's own providers
 * (consumers, periodic loops) have stopped before the connections they use close.
 */
@Global()
@Module({})
export class RuntimeModule implements OnApplicationShutdown {
  constructor(@Inject(RUNTIME) private readonly rt: ServiceRuntime) {}

  static forRuntime(rt: ServiceRuntime): DynamicModule {
    const providers = [
      { provide: RUNTIME, useValue: rt },
      { provide: DATA_SOURCE, useValue: rt.ds },
      { provide: NATS_CONNECTION, useValue: rt.nc },
      { provide: NATS_NAMESPACE, useValue: rt.ns },
      { provide: VAULT, useValue: rt.vault },
      { provide: SECRET_BOX, useValue: rt.box },
      { provide: LOGGER, useValue: rt.log },
      { provide: SERVICE_CONFIG, useValue: rt.config },
    ];
    return { module: RuntimeModule, providers, exports: providers.map((p) => p.provide) };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.rt.close();
  }
}

/** Nest's own log lines through the service's pino logger (Nest's `log` is pino `debug`: start-up chatter). */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly pino: Logger) {}
  log(message: unknown, context?: string): void {
    this.pino.debug({ context }, String(message));
  }
  error(message: unknown, stack?: string, context?: string): void {
    this.pino.error({ context, stack }, message instanceof Error ? message.message : String(message));
  }
  warn(message: unknown, context?: string): void {
    this.pino.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.pino.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.pino.trace({ context }, String(message));
  }
}

/** A worker service: its Nest module (controllers with `@JetStreamHandler` methods, providers) and what it consumes. */
export interface WorkerDefinition {
  /** The application module; the runtime tokens above are injectable in it. */
  module: Type<unknown>;
  /** Every subject the service consumes: start-up fails unless each has exactly one handler. */
  consumes: readonly Subject[];
}

@Module({})
class WorkerRootModule {}

/**
 * Builds a worker's Nest microservice on a started runtime (not listening yet): JetStream transport with the runtime's
 * NATS connection and namespace, errors passed to the transport unchanged, Nest logs through pino.
 */
export async function createWorker(rt: ServiceRuntime, def: WorkerDefinition): Promise<INestMicroservice> {
  const strategy = new JetStreamServer({ service: rt.name, nc: rt.nc, namespace: rt.ns, log: rt.log, consumes: def.consumes });
  const app = await NestFactory.createMicroservice({ module: WorkerRootModule, imports: [RuntimeModule.forRuntime(rt), def.module] }, {
    strategy, logger: new PinoNestLogger(rt.log), abortOnError: false,
  });
  app.useGlobalFilters(new JetStreamErrorFilter());
  return app;
}

/**
 * Runs a worker process: runtime started (database migrated, NATS stream ensured, outbox relay), Nest microservice
 * listening (handlers checked, consumers started, `onApplicationBootstrap` hooks run), closed gracefully on SIGTERM/SIGINT
 * (consumers stopped, `onApplicationShutdown` hooks, then the runtime). Exits 1 on a start-up failure, logging why.
 */
export function runWorker(name: string, def: WorkerDefinition): void {
  void (async () => {
    let rt: ServiceRuntime | undefined;
    let app: INestMicroservice | undefined;
    try {
      rt = await startRuntime(name);
      app = await createWorker(rt, def);
      app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
      await app.listen();
      rt.log.info('started');
    } catch (e) {
      (rt?.log ?? createLogger(name)).fatal({ err: (e as Error).message, stack: (e as Error).stack }, 'failed to start');
      if (app) await app.close().catch(() => undefined);
      else await rt?.close().catch(() => undefined);
      process.exit(1);
    }
  })();
}
