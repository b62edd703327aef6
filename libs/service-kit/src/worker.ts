import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { DynamicModule, Global, Inject, INestApplication, INestMicroservice, LoggerService, Module, OnApplicationShutdown, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Subject } from '@skyweave/contracts';
import { JetStreamServer } from '@skyweave/messaging';
import { createLogger, Logger } from './logger';
import { ServiceRuntime, startRuntime } from './runtime';
import type * as Ops from './ops';
import { DATA_SOURCE, LOGGER, NATS_CONNECTION, NATS_NAMESPACE, RUNTIME, SECRET_BOX, SERVICE_CONFIG, VAULT } from './tokens';

export * from './tokens';

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

  async onApplicationShutdown(signal?: string): Promise<void> {
    this.rt.log.info({ signal }, 'stopping: closing database and NATS');
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

/** A worker's HTTP listener: `SKYWEAVE_HTTP_PORT` (default 0 = none), `SKYWEAVE_HTTP_HOST` (default 127.0.0.1). */
export interface WorkerHttp {
  port: number;
  host: string;
}

/**
 * Reads {@link WorkerHttp} from `env`.
 * @throws Error naming `SKYWEAVE_HTTP_PORT` when it is not an integer 0–65535.
 */
export function readWorkerHttp(env: NodeJS.ProcessEnv = process.env): WorkerHttp {
  const raw = env.SKYWEAVE_HTTP_PORT ?? '';
  const port = raw === '' ? 0 : Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`SKYWEAVE_HTTP_PORT must be an integer 0-65535 (0 = no HTTP listener), got ${JSON.stringify(raw)}`);
  return { port, host: env.SKYWEAVE_HTTP_HOST || '127.0.0.1' };
}

/** A built worker: its Nest application and how to start it. */
export interface Worker {
  /** The Nest application (a microservice, or an HTTP application with the microservice connected). */
  app: INestMicroservice | INestApplication;
  /**
   * Starts consuming (handlers checked first: throws `JetStreamHandlerError`) and, with a port, listens for HTTP.
   * @returns the HTTP port listened on (0 = none).
   */
  start(): Promise<number>;
}

/**
 * Builds a worker's Nest application on a started runtime (not started yet): the JetStream transport on the runtime's NATS
 * connection and namespace, Nest logs through pino. With `http.port` > 0 it is a hybrid application that also serves
 * `/health`, `/ready` and `/metrics` (`OpsModule`, with message metrics `MessageMetrics`).
 */
export async function createWorker(rt: ServiceRuntime, def: WorkerDefinition, http: WorkerHttp = { port: 0, host: '127.0.0.1' }): Promise<Worker> {
  const logger = new PinoNestLogger(rt.log);
  const imports = [RuntimeModule.forRuntime(rt), def.module];
  if (http.port <= 0) {
    const strategy = new JetStreamServer({ service: rt.name, nc: rt.nc, namespace: rt.ns, log: rt.log, consumes: def.consumes });
    const app = await NestFactory.createMicroservice({ module: WorkerRootModule, imports }, { strategy, logger, abortOnError: false });
    return { app, start: async () => { await app.listen(); return 0; } };
  }
  // loaded only with a listener: terminus, prom-client and express cost start-up time a worker without one need not pay
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { MessageMetrics, OpsModule } = require('./ops') as typeof Ops;
  const strategy = new JetStreamServer({
    service: rt.name, nc: rt.nc, namespace: rt.ns, log: rt.log, consumes: def.consumes, observe: MessageMetrics.get().observe,
  });
  const app = await NestFactory.create({ module: WorkerRootModule, imports: [...imports, OpsModule.create()] }, { logger, abortOnError: false });
  app.connectMicroservice({ strategy });
  return {
    app,
    async start() {
      await app.startAllMicroservices();
      await app.listen(http.port, http.host);
      const address = app.getHttpServer().address() as AddressInfo;
      return address.port;
    },
  };
}

/**
 * Runs a worker process: runtime started (database migrated, NATS stream ensured, outbox relay), Nest application started
 * (handlers checked, consumers started, `onApplicationBootstrap` hooks run; HTTP listener when `SKYWEAVE_HTTP_PORT` > 0),
 * closed gracefully on SIGTERM/SIGINT (consumers stopped, `onApplicationShutdown` hooks, then the runtime). Exits 1 on a
 * start-up failure, logging why.
 */
export function runWorker(name: string, def: WorkerDefinition): void {
  void (async () => {
    let rt: ServiceRuntime | undefined;
    let worker: Worker | undefined;
    try {
      const http = readWorkerHttp(process.env);
      rt = await startRuntime(name);
      worker = await createWorker(rt, def, http);
      worker.app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
      const port = await worker.start();
      rt.log.info(port ? { httpPort: port } : {}, 'started');
    } catch (e) {
      (rt?.log ?? createLogger(name)).fatal({ err: (e as Error).message, stack: (e as Error).stack }, 'failed to start');
      if (worker) await worker.app.close().catch(() => undefined);
      else await rt?.close().catch(() => undefined);
      process.exit(1);
    }
  })();
}
