import { Controller, DynamicModule, Get, Header, Inject, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import type { NatsConnection } from '@nats-io/nats-core';
import type { DataSource } from 'typeorm';
import { Counter, Histogram, Registry, collectDefaultMetrics, register } from 'prom-client';
import type { HandledMessage } from '@skyweave/messaging';
import { DATA_SOURCE, NATS_CONNECTION } from './tokens';

/**
 * Message-handling metrics in prom-client's default registry (created once per process):
 * - `skyweave_messages_handled_total{subject, outcome}`: messages by subject and outcome (`ack`, `retry`, `term`);
 * - `skyweave_message_handling_seconds{subject, outcome}`: receipt to ack/nak/term, seconds (histogram);
 * plus prom-client's default process metrics (`process_*`, `nodejs_*`).
 */
export class MessageMetrics {
  private static instance: MessageMetrics | undefined;
  private readonly handled: Counter<'subject' | 'outcome'>;
  private readonly duration: Histogram<'subject' | 'outcome'>;

  private constructor(registry: Registry) {
    collectDefaultMetrics({ register: registry });
    this.handled = new Counter({ name: 'skyweave_messages_handled_total', help: 'NATS JetStream messages handled, by subject and outcome', labelNames: ['subject', 'outcome'], registers: [registry] });
    this.duration = new Histogram({
      name: 'skyweave_message_handling_seconds', help: 'Time from receipt to ack/nak/term of a NATS JetStream message, seconds',
      labelNames: ['subject', 'outcome'], buckets: [0.005, 0.025, 0.1, 0.25, 1, 2.5, 10, 30, 120], registers: [registry],
    });
  }

  /** The process's instance (default registry). */
  static get(): MessageMetrics {
    MessageMetrics.instance ??= new MessageMetrics(register);
    return MessageMetrics.instance;
  }

  /** Records one message (the `observe` hook of `consume` / `JetStreamServer`). */
  readonly observe = (e: HandledMessage): void => {
    this.handled.inc({ subject: e.subject, outcome: e.outcome });
    this.duration.observe({ subject: e.subject, outcome: e.outcome }, e.seconds);
  };
}

/**
 * A worker's operations endpoints:
 * - `GET /health`: liveness, `200 {"status":"ok"}` while the process serves;
 * - `GET /ready`: readiness (@nestjs/terminus): `database` (`SELECT 1`) and `nats` (connection open, not reconnecting);
 *   `200` with each check `up`, else `503` with the failing check's `message`;
 * - `GET /metrics`: prom-client's default registry in the Prometheus text format.
 */
@Controller()
class OpsController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  @Get('health')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      async () => {
        const check = this.indicators.check('database');
        try {
          await this.ds.query('SELECT 1');
          return check.up();
        } catch (e) {
          return check.down({ message: (e as Error).message });
        }
      },
      async () => {
        const check = this.indicators.check('nats');
        if (this.nc.isClosed()) return check.down({ message: 'connection closed' });
        if (this.nc.isDraining()) return check.down({ message: 'connection draining' });
        try {
          // a round trip to the server; while reconnecting it would wait, so 2 s bound it
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([this.nc.flush(), new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('no answer within 2 s')), 2000); })])
            .finally(() => clearTimeout(timer));
          return check.up();
        } catch (e) {
          return check.down({ message: (e as Error).message });
        }
      },
    ]);
  }

  @Get('metrics')
  @Header('content-type', register.contentType)
  metrics(): Promise<string> {
    return register.metrics();
  }
}

/** The operations module of a worker's HTTP listener (see {@link OpsController}'s routes). */
@Module({})
export class OpsModule {
  static create(): DynamicModule {
    return { module: OpsModule, imports: [TerminusModule.forRoot({ logger: false })], controllers: [OpsController] };
  }
}
