import type { DataSource } from 'typeorm';
import type { NatsConnection } from '@nats-io/nats-core';
import { ChangeFeed, OUTBOX_KEY, createDataSource, migrate, SecretBox } from '@skyweave/persistence';
import { Namespace, connectNats, ensureStream, startOutboxRelay } from '@skyweave/messaging';
import { loadConfig, ServiceConfig } from './config';
import { createLogger, Logger } from './logger';
import { CredentialVault } from './vault';

/** What every Skyweave service process holds: config, logger, database, NATS, outbox relay, credential vault. */
export interface ServiceRuntime {
  name: string;
  config: ServiceConfig;
  log: Logger;
  ds: DataSource;
  nc: NatsConnection;
  /** The NATS namespace (env `SKYWEAVE_NATS_NAMESPACE`, default `skyweave`). */
  ns: Namespace;
  vault: CredentialVault;
  box: SecretBox;
  close(): Promise<void>;
}

/**
 * Connects a service: database (migrations applied), NATS (stream ensured), outbox relay started (woken by the
 * outbox's NOTIFY through a ChangeFeed of its own: one more PostgreSQL connection per process).
 * Each service runs its own relay, so its writes are published even when no other service runs.
 */
export async function startRuntime(name: string, env: NodeJS.ProcessEnv = process.env): Promise<ServiceRuntime> {
  const config = loadConfig(env);
  const log = createLogger(name, config.logLevel);
  const ds = createDataSource(config.databaseUrl, { applicationName: name, poolSize: config.databasePoolSize });
  await ds.initialize();
  await migrate(ds);
  const nc = await connectNats(config.natsUrl, name);
  const ns = new Namespace(env.SKYWEAVE_NATS_NAMESPACE ?? 'skyweave');
  await ensureStream(nc, ns);
  // the relay sleeps until the outbox's NOTIFY (one listening connection per process) instead of polling every 50 ms
  const feed = ChangeFeed.forDataSource(ds, { log, degradedRecheckMs: 100 });
  await feed.start();
  const outboxWritten = feed.subscribe('outbox', OUTBOX_KEY);
  const stopRelay = startOutboxRelay(ds, nc, ns, log, { wakeup: outboxWritten });
  const box = new SecretBox(config.masterKey);
  const vault = new CredentialVault(ds, box, config.cloudEndpoints);
  return {
    name, config, log, ds, nc, ns, vault, box,
    async close() {
      await stopRelay();
      outboxWritten.close();
      await feed.stop();
      await nc.drain().catch(() => undefined);
      await ds.destroy();
    },
  };
}

/** Runs `main`, closing the runtime on SIGTERM/SIGINT. Exits non-zero on a start-up failure. */
export function runService(name: string, main: (rt: ServiceRuntime) => Promise<() => Promise<void>>): void {
  void (async () => {
    let rt: ServiceRuntime | undefined;
    try {
      rt = await startRuntime(name);
      const stop = await main(rt);
      rt.log.info('started');
      const shutdown = async () => {
        rt?.log.info('stopping');
        await stop().catch(() => undefined);
        await rt?.close().catch(() => undefined);
        process.exit(0);
      };
      process.once('SIGTERM', () => void shutdown());
      process.once('SIGINT', () => void shutdown());
    } catch (e) {
      (rt?.log ?? createLogger(name)).fatal({ err: (e as Error).message, stack: (e as Error).stack }, 'failed to start');
      process.exit(1);
    }
  })();
}
