import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

/**
 * The yardstick of `npm run bench:api`: a bare NestJS application (the same framework, HTTP adapter and process
 * launcher as api-gateway) with one route that answers a constant JSON body of about the size of a cluster view.
 * No authentication, no database: what the framework alone costs per request. Env `PORT` (required).
 */
@Controller()
class BareController {
  private readonly body = {
    id: '00000000-0000-4000-8000-000000000000', name: 'bare', phase: 'Ready',
    nodes: Array.from({ length: 2 }, (_, i) => ({ id: `node-${i}`, name: `bare-node-${i}`, cloud: 'aws', role: i ? 'worker' : 'master', phase: 'Joined' })),
  };

  @Get('v1/bare')
  get(): typeof this.body {
    return this.body;
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

void (async () => {
  const app = await NestFactory.create(BareModule, { logger: ['error'] });
  await app.listen(Number(process.env.PORT), '127.0.0.1');
})();
