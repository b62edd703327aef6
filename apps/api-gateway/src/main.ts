import { runService } from '@skyweave/service-kit';
import { createGateway } from './app';
import { gatewayLimitsFromEnv } from './limits';

/** Port and address of the public API (env `PORT`, default 8080; `HOST`, default 127.0.0.1). */
const PORT = Number(process.env.PORT ?? 8080);
const HOST = process.env.HOST ?? '127.0.0.1';

runService('api-gateway', async (rt) => {
  const app = await createGateway({ ds: rt.ds, box: rt.box, endpoints: rt.config.cloudEndpoints, log: rt.log, limits: gatewayLimitsFromEnv(process.env) });
  await app.listen(PORT, HOST);
  rt.log.info({ port: PORT }, 'listening');
  return () => app.close();
});
