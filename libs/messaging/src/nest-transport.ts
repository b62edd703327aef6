/**
 * A NestJS custom transport strategy for JetStream durable consumers with explicit ack: the workers' message handlers are
 * `@EventPattern` methods (through `@JetStreamHandler`), run by {@link consume} so they keep every behaviour it has.
 *
 * Why our own and not `@nestjs-plugins/nestjs-nats-jetstream-transport` (looked at 2026-12-02, version 2.2.6, `npm view`):
 * - it depends on the legacy `nats` 2.x client (`"nats": "^2.19.0"`), not the `@nats-io/*` 3.x packages we use everywhere
 *   (`@nats-io/transport-node`, `@nats-io/jetstream` 3.4.0); it would add a second NATS client with its own connection;
 * - it was built and tested against NestJS 8 (`@nestjs/*` ^8.2.0 in its dev dependencies; no peer range for 12) and pins
 *   `reflect-metadata` ^0.1.13 while we use 0.2.2 (two copies of the metadata registry break dependency injection);
 * - its consumer options are one set per server, while we need one durable per subject (the durables that exist in
 *   deployed streams: `reconciler`, `reconciler-full`, `network-provisioner-ensure`, ...), our nak-with-delay for
 *   `RetryLater`, terminating malformed payloads (`parsePayload` of `@skyweave/contracts`) and bounded concurrency.
 * A thin strategy over our own {@link consume} keeps one implementation of the consumer semantics (about 150 lines).
 *
 * Semantics (those of {@link consume}): durable consumer per subject, shared by the service's replicas; explicit ack when the
 * handler resolves; `RetryLater` → nak with its delay; other errors → nak with backoff (MESSAGE_REDELIVERY: 1–2 s, doubling, ≤ 30 s) until
 * `maxDeliver`; malformed payload → term; at most `concurrency` messages of a subject in flight per process.
 *
 * Start-up check: the server is given the subjects the service consumes; `listen` fails with {@link JetStreamHandlerError}
 * (before touching NATS) if one of them has no handler or more than one, if a handler names a subject the service does not
 * declare or that `@skyweave/contracts` does not know, or if a handler has no durable name.
 */
import 'reflect-metadata';
import { ArgumentsHost, Catch, RpcExceptionFilter, UseFilters } from '@nestjs/common';
import { BaseRpcContext, CustomTransportStrategy, EventPattern, MessageHandler, Server } from '@nestjs/microservices';
import type { NatsConnection } from '@nats-io/nats-core';
import type { JsMsg } from '@nats-io/jetstream';
import { Observable, lastValueFrom, throwError } from 'rxjs';
import type { Logger } from 'pino';
import { Payloads, Subject, Subjects } from '@skyweave/contracts';
import { HandledMessage, Namespace, consume } from './jetstream';

/** Consumer options of one handler, carried as `@EventPattern` extras. */
export interface JetStreamHandlerOptions {
  /** Durable consumer name (NATS consumer name rules: letters, digits, `-`, `_`), shared by the service's replicas. */
  durable: string;
  /** Messages of this subject handled at once by one process (default 8). */
  concurrency?: number;
  /** Deliveries before a failing message is given up (default 20). */
  maxDeliver?: number;
}

/**
 * Marks a controller method as the handler of `subject`: `@EventPattern(subject, options)`. The method receives the payload
 * validated by `parsePayload` (type `Payloads[subject]`) as its first parameter and, with `@Ctx()`, the {@link JetStreamContext}
 * (Nest passes it only to a parameter so decorated, and then the payload needs `@Payload()` too); it resolves to ack, throws
 * `RetryLater` to be redelivered after its delay, throws anything else to be redelivered with backoff. The method gets
 * {@link JetStreamErrorFilter}, so its errors reach the transport unchanged whatever the application's global filters.
 */
export function JetStreamHandler<S extends Subject>(subject: S, options: JetStreamHandlerOptions): JetStreamHandlerDecorator<S> {
  const pattern = EventPattern<string>(subject, { ...options });
  const filter = UseFilters(new JetStreamErrorFilter());
  return (target, key, descriptor) => {
    pattern(target, key, descriptor);
    filter(target, key, descriptor);
  };
}

/** A decorator that only fits a method taking `Payloads[S]` (and optionally the {@link JetStreamContext}). */
export type JetStreamHandlerDecorator<S extends Subject> = <M extends (payload: Payloads[S], ctx: JetStreamContext) => Promise<void>>(
  target: object, key: string | symbol, descriptor: TypedPropertyDescriptor<M>,
) => void;

/** The typed payload of a handler of `S` (`Payloads` of `@skyweave/contracts`). */
export type PayloadOf<S extends Subject> = Payloads[S];

/** Context of one JetStream message: `getArgs()` is `[msg]`; `getMessage()` gives subject, headers, delivery count. */
export class JetStreamContext extends BaseRpcContext<[JsMsg]> {
  /** The message being handled (do not ack/nak it: the transport does). */
  getMessage(): JsMsg {
    return this.args[0];
  }
  /** 1 on the first delivery. */
  getDeliveryCount(): number {
    return this.args[0].info.deliveryCount;
  }
}

/** Start-up failure: the handlers found do not match the subjects the service declares. Lists every problem found. */
export class JetStreamHandlerError extends Error {
  constructor(readonly service: string, readonly problems: string[]) {
    super(`${service}: JetStream handlers do not match the subjects it consumes: ${problems.join('; ')}`);
    this.name = 'JetStreamHandlerError';
  }
}

/**
 * Passes a handler's error on unchanged to the transport (Nest's default RPC filter turns every error into
 * `{status:'error', message:'Internal server error'}` and logs it, which would lose `RetryLater`'s delay). `@JetStreamHandler`
 * applies it to each handler; a plain `@EventPattern` handler needs `@UseFilters(new JetStreamErrorFilter())` or the global filter.
 */
@Catch()
export class JetStreamErrorFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}

export interface JetStreamServerOptions {
  /** Service name, for errors and logs. */
  service: string;
  nc: NatsConnection;
  namespace: Namespace;
  log: Logger;
  /** Every subject the service consumes: each needs exactly one handler. */
  consumes: readonly Subject[];
  /** Told of every message's outcome (metrics); must not throw. */
  observe?: (event: HandledMessage) => void;
}

const KNOWN = new Set<string>(Object.values(Subjects));

/**
 * The transport strategy: `NestFactory.createMicroservice(Module, { strategy: new JetStreamServer(...) })` or
 * `app.connectMicroservice({ strategy })`. `listen` checks the handlers then starts one durable consumer per subject;
 * `close` stops them (messages being handled finish; unacked ones are redelivered after `ack_wait`).
 */
export class JetStreamServer extends Server implements CustomTransportStrategy {
  /** Handlers registered per subject (Nest chains a second event handler behind the first; we count them to refuse it). */
  private readonly registrations = new Map<string, number>();
  private readonly stops: (() => Promise<void>)[] = [];
  /** Failures are awaited here and handed to `consume`, which naks them (see JetStreamErrorFilter). */
  override readonly propagatesEventHandlerErrors = true;

  constructor(private readonly options: JetStreamServerOptions) {
    super();
  }

  override addHandler(pattern: unknown, callback: MessageHandler, isEventHandler = false, extras: Record<string, unknown> = {}): void {
    const key = this.normalizePattern(pattern as string);
    this.registrations.set(key, (this.registrations.get(key) ?? 0) + 1);
    if (!isEventHandler) this.registrations.set(`${key}\u0000request`, 1);
    super.addHandler(pattern, callback, isEventHandler, extras);
  }

  /**
   * The problems that make start-up fail (empty when the handlers match the declared subjects).
   * @returns one sentence per problem, naming the subject.
   */
  check(): string[] {
    const problems: string[] = [];
    const declared = new Set<string>(this.options.consumes);
    for (const s of declared) {
      const n = this.registrations.get(s) ?? 0;
      if (n === 0) problems.push(`no handler for ${s}`);
      if (n > 1) problems.push(`${n} handlers for ${s} (exactly one allowed)`);
    }
    for (const [key, handler] of this.messageHandlers) {
      if (!KNOWN.has(key)) problems.push(`handler for ${key}, which is not a subject of @skyweave/contracts`);
      else if (!declared.has(key)) problems.push(`handler for ${key}, which the service does not declare it consumes`);
      if (this.registrations.has(`${key}\u0000request`)) problems.push(`${key} has a @MessagePattern handler; JetStream handlers are events (@EventPattern)`);
      const durable = (handler.extras as Partial<JetStreamHandlerOptions> | undefined)?.durable;
      if (typeof durable !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(durable)) problems.push(`handler for ${key} has no valid durable name (extras.durable)`);
    }
    return problems;
  }

  async listen(callback: (err?: unknown, ...optionalParams: unknown[]) => void): Promise<void> {
    try {
      const problems = this.check();
      if (problems.length > 0) throw new JetStreamHandlerError(this.options.service, problems);
      const { nc, namespace, log } = this.options;
      for (const subject of this.options.consumes) {
        const handler = this.messageHandlers.get(subject);
        if (!handler) throw new JetStreamHandlerError(this.options.service, [`no handler for ${subject}`]);
        const extras = handler.extras as JetStreamHandlerOptions;
        this.stops.push(await consume(nc, log, {
          namespace, subject, durable: extras.durable, concurrency: extras.concurrency, maxDeliver: extras.maxDeliver, observe: this.options.observe,
          handle: (payload, msg) => this.invoke(handler, payload, new JetStreamContext([msg])),
        }));
      }
      log.info({ subjects: this.options.consumes }, 'consuming');
      callback();
    } catch (e) {
      await this.close().catch(() => undefined);
      callback(e);
    }
  }

  /** Runs the Nest handler chain (guards, interceptors, pipes, filters) and settles when the handler has. */
  private async invoke(handler: MessageHandler, payload: unknown, ctx: JetStreamContext): Promise<void> {
    const result: unknown = await handler(payload, ctx);
    try {
      await lastValueFrom(this.transformToObservable(result) as Observable<unknown>, { defaultValue: undefined });
    } catch (e) {
      // without JetStreamErrorFilter Nest hands us `{status, message}`: still a failure, retried with backoff
      throw e instanceof Error ? e : new Error(typeof e === 'object' && e !== null && 'message' in e ? String(e.message) : String(e));
    }
  }

  async close(): Promise<void> {
    const stops = this.stops.splice(0);
    for (const stop of stops) await stop();
  }

  on(): never {
    throw new Error('JetStreamServer has no events to listen to');
  }

  unwrap<T>(): T {
    return this.options.nc as unknown as T;
  }
}
