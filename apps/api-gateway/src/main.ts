import { runService } from '@skyweave/service-kit';
import { createGateway } from './app';

/** Port and address of the public API (env `PORT`, default 8080; `HOST`, default 127.0.0.1). */
const PORT = Number(process.env.PORT ?? 8080);
const HOST = process.env.HOST ?? '127.0.0.1';

runService('api-gateway', async (rt) => {
  const app = await createGateway({ ds: rt.ds, box: rt.box, endpoints: rt.config.cloudEndpoints, log: rt.log });
  await app.listen(PORT, HOST);
  rt.log.info({ port: PORT }, 'listening');
  return () => app.close();
});
