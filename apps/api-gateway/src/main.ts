import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { runService } from '@skyweave/service-kit';
import { agentPackagesFromEnv } from '@skyweave/bootstrap/src/agent-packages';
import { serviceClock } from '@skyweave/service-kit';
import { createGateway } from './app';
import { gatewayLimitsFromEnv } from './limits';
import { identityOptionsFromEnv } from './identity';

/** Port and address of the public API (env `PORT`, default 8080; `HOST`, default 127.0.0.1). */
const PORT = Number(process.env.PORT ?? 8080);
const HOST = process.env.HOST ?? '127.0.0.1';
/** How often the plan's cached price lists are read again (env `SKYWEAVE_PRICE_REFRESH_SECONDS`, default 3600, as the autoscaler's). */
const PRICE_REFRESH_SECONDS = Number(process.env.SKYWEAVE_PRICE_REFRESH_SECONDS ?? 3600);
if (!Number.isFinite(PRICE_REFRESH_SECONDS) || PRICE_REFRESH_SECONDS <= 0) throw new Error(`SKYWEAVE_PRICE_REFRESH_SECONDS must be a positive number of seconds (got ${process.env.SKYWEAVE_PRICE_REFRESH_SECONDS})`);

runService('api-gateway', async (rt) => {
  // SKYWEAVE_AGENT_PACKAGES_DIR: the node-agent packages VMs download (served at /v1/agent-packages)
  const agentPackages = agentPackagesFromEnv(process.env);
  if (!agentPackages) rt.log.warn({}, 'SKYWEAVE_AGENT_PACKAGES_DIR is not set: no node-agent packages are served, so only images that ship the agent can join');
  // SKYWEAVE_CONSOLE_DIR: the built web console (docs/console.md); default dist/apps/console beside this build
  const consoleDir = process.env.SKYWEAVE_CONSOLE_DIR ?? path.resolve(__dirname, '../console');
  if (!existsSync(path.join(consoleDir, 'index.html'))) rt.log.warn({ consoleDir }, 'the web console is not built there: /console/ answers 404 (npx nx run console:build)');
  const app = await createGateway({
    ds: rt.ds, box: rt.box, endpoints: rt.config.cloudEndpoints, log: rt.log, limits: gatewayLimitsFromEnv(process.env), priceRefreshMs: PRICE_REFRESH_SECONDS * 1000,
    // SKYWEAVE_CLOCK_OFFSET_SECONDS: tests move the clock of certificate and token lifetimes forward
    pkiClock: serviceClock(process.env),
    // console sign-in: SKYWEAVE_COOKIE_SECURE, SKYWEAVE_LOCAL_ACCOUNTS, SKYWEAVE_SESSION_HOURS, SKYWEAVE_LOGIN_*, SKYWEAVE_OIDC_* (docs/identity.md)
    identity: identityOptionsFromEnv(process.env),
    consoleDir,
    ...(agentPackages ? { agentPackages } : {}),
  });
  await app.listen(PORT, HOST);
  rt.log.info({ port: PORT }, 'listening');
  return () => app.close();
});
