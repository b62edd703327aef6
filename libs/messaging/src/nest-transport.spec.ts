import 'reflect-metadata';
import { Controller, Module, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern } from '@nestjs/microservices';
import type { NatsConnection } from '@nats-io/nats-core';
import pino from 'pino';
import { Subjects, type ClusterChanged, type NodeCommand } from '@skyweave/contracts';
import { Namespace } from './jetstream';
import { JetStreamHandler, JetStreamHandlerError, JetStreamServer } from './nest-transport';

// Unit tests of JetStreamServer's start-up check: it runs before any NATS call, so the connection is never used.
const unusedNats = {} as NatsConnection;
const log = pino({ level: 'silent' });

@Controller()
class Changed {
  @JetStreamHandler(Subjects.ClusterChanged, { durable: 'unit-changed' })
  async changed(_p: ClusterChanged): Promise<void> {}
}
@Controller()
class ChangedAgain {
  @JetStreamHandler(Subjects.ClusterChanged, { durable: 'unit-changed-2' })
  async changedAgain(_p: ClusterChanged): Promise<void> {}
}
@Controller()
class Launch {
  @JetStreamHandler(Subjects.NodeLaunch, { durable: 'unit-launch' })
  async launch(_p: NodeCommand): Promise<void> {}
}
@Controller()
class NoDurable {
  @EventPattern(Subjects.NodeTerminate)
  async terminate(_p: unknown): Promise<void> {}
}
@Controller()
class Unknown {
  @EventPattern('skyweave.v1.nothing', { durable: 'unit-unknown' })
  async nothing(_p: unknown): Promise<void> {}
}
@Controller()
class Request {
  @MessagePattern(Subjects.NetworkEnsure, { durable: 'unit-request' })
  async ensure(_p: unknown): Promise<void> {}
}

/** Starts a microservice with `controllers` on a server declaring `consumes`; resolves to the start-up error, if any. */
async function boot(controllers: Type<unknown>[], consumes: Parameters<typeof declared>[0]): Promise<unknown> {
  @Module({ controllers })
  class M {}
  const strategy = new JetStreamServer({ service: 'unit', nc: unusedNats, namespace: new Namespace('unit'), log, consumes: declared(consumes) });
  const app = await NestFactory.createMicroservice(M, { strategy, logger: false, abortOnError: false });
  try {
    await app.listen();
    return undefined;
  } catch (e) {
    return e;
  } finally {
    await app.close();
  }
}
const declared = (s: (typeof Subjects)[keyof typeof Subjects][]) => s;

describe('JetStreamServer start-up check', () => {
  it('accepts one handler per declared subject (and checks before touching NATS)', async () => {
    const strategy = new JetStreamServer({ service: 'unit', nc: unusedNats, namespace: new Namespace('unit'), log, consumes: [Subjects.ClusterChanged, Subjects.NodeLaunch] });
    @Module({ controllers: [Changed, Launch] })
    class M {}
    const app = await NestFactory.createMicroservice(M, { strategy, logger: false, abortOnError: false });
    await app.init();
    expect(strategy.check()).toEqual([]);
    await app.close();
  });

  it('fails start-up when a declared subject has no handler', async () => {
    const err = await boot([Changed], [Subjects.ClusterChanged, Subjects.NodeLaunch]);
    expect(err).toBeInstanceOf(JetStreamHandlerError);
    expect((err as JetStreamHandlerError).problems).toEqual(['no handler for skyweave.v1.node.launch']);
    expect((err as Error).message).toBe('unit: JetStream handlers do not match the subjects it consumes: no handler for skyweave.v1.node.launch');
  });

  it('fails start-up when a subject has two handlers', async () => {
    const err = await boot([Changed, ChangedAgain], [Subjects.ClusterChanged]);
    expect((err as JetStreamHandlerError).problems).toEqual(['2 handlers for skyweave.v1.cluster.changed (exactly one allowed)']);
  });

  it('fails start-up on a handler for an undeclared subject, an unknown subject, a request handler, or no durable', async () => {
    expect(((await boot([Changed, Launch], [Subjects.ClusterChanged])) as JetStreamHandlerError).problems)
      .toEqual(['handler for skyweave.v1.node.launch, which the service does not declare it consumes']);
    expect(((await boot([Unknown], [])) as JetStreamHandlerError).problems)
      .toEqual(['handler for skyweave.v1.nothing, which is not a subject of @skyweave/contracts']);
    expect(((await boot([Request], [Subjects.NetworkEnsure])) as JetStreamHandlerError).problems)
      .toEqual(['skyweave.v1.network.ensure has a @MessagePattern handler; JetStream handlers are events (@EventPattern)']);
    expect(((await boot([NoDurable], [Subjects.NodeTerminate])) as JetStreamHandlerError).problems)
      .toEqual(['handler for skyweave.v1.node.terminate has no valid durable name (extras.durable)']);
  });
});
