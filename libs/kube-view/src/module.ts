import { hostname } from 'node:os';
import { Injectable, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { KubeStatusRepository, type SecretBox } from '@skyweave/persistence';
import { DATA_SOURCE, LOGGER, Logger, SECRET_BOX, SERVICE_CONFIG, type ServiceConfig } from '@skyweave/service-kit';
import { DEFAULT_WATCHER_SETTINGS, KubeWatcher, KubeWatcherSettings } from './watcher';

/**
 * Reads {@link KubeWatcherSettings} from `env` (see main.ts for each variable).
 * @throws Error naming the variable when one is not a non-negative number.
 */
export function readSettings(env: NodeJS.ProcessEnv): KubeWatcherSettings {
  const num = (name: string, dflt: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return dflt;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
    return v;
  };
  const d = DEFAULT_WATCHER_SETTINGS;
  const s: KubeWatcherSettings = {
    replica: env.SKYWEAVE_REPLICA || `${hostname()}-${process.pid}`,
    flushIntervalMs: num('SKYWEAVE_KUBE_FLUSH_MS', d.flushIntervalMs),
    notReadyThresholdMs: num('SKYWEAVE_KUBE_NOT_READY_SECONDS', d.notReadyThresholdMs / 1000) * 1000,
    pollIntervalMs: num('SKYWEAVE_KUBE_POLL_SECONDS', d.pollIntervalMs / 1000) * 1000,
    leaseSeconds: num('SKYWEAVE_KUBE_LEASE_SECONDS', d.leaseSeconds),
    resyncMs: num('SKYWEAVE_KUBE_RESYNC_SECONDS', d.resyncMs / 1000) * 1000,
    backoffBaseMs: num('SKYWEAVE_KUBE_BACKOFF_MS', d.backoffBaseMs),
    backoffCapMs: num('SKYWEAVE_KUBE_BACKOFF_CAP_MS', d.backoffCapMs),
    connectTimeoutMs: num('SKYWEAVE_KUBE_CONNECT_TIMEOUT_SECONDS', d.connectTimeoutMs / 1000) * 1000,
  };
  if (s.leaseSeconds * 1000 <= s.pollIntervalMs) throw new Error('SKYWEAVE_KUBE_LEASE_SECONDS must be longer than SKYWEAVE_KUBE_POLL_SECONDS (leases are renewed every poll)');
  return s;
}

/**
 * Whether the watcher installs the cluster add-ons (`SKYWEAVE_ADDONS`, default true) and the gateway's public URL for
 * Grafana's `root_url` (`SKYWEAVE_PUBLIC_URL`, e.g. https://skyweave.example.com; optional). docs/sso-gateway.md.
 * @throws Error when SKYWEAVE_ADDONS is neither true nor false.
 */
export function addonsFromEnv(env: NodeJS.ProcessEnv): { addons?: { publicUrl?: string } } {
  const v = (env.SKYWEAVE_ADDONS ?? '').trim().toLowerCase();
  if (!['', 'true', '1', 'false', '0'].includes(v)) throw new Error(`SKYWEAVE_ADDONS must be true or false, got ${JSON.stringify(env.SKYWEAVE_ADDONS)}`);
  if (v === 'false' || v === '0') return {};
  const publicUrl = env.SKYWEAVE_PUBLIC_URL?.trim();
  return { addons: publicUrl ? { publicUrl } : {} };
}

export const SETTINGS = Symbol('kube-watcher:settings');

/** Starts the watcher when the application has bootstrapped; stops it (watches, timers, leases given up) on shutdown. */
@Injectable()
export class WatcherLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(private readonly watcher: KubeWatcher) {}

  onApplicationBootstrap(): void {
    this.watcher.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.watcher.stop();
  }
}

/** The kube-watcher service's module: the KubeWatcher (injectable: its `view(clusterId)` is the in-process read API). */
@Module({
  providers: [
    { provide: SETTINGS, useFactory: () => readSettings(process.env) },
    {
      provide: KubeWatcher, inject: [DATA_SOURCE, SECRET_BOX, LOGGER, SERVICE_CONFIG, SETTINGS],
      useFactory: (ds: DataSource, box: SecretBox, log: Logger, config: ServiceConfig, settings: KubeWatcherSettings) => new KubeWatcher({
        repo: new KubeStatusRepository(ds), box, log, settings, proxyUrl: config.cloudEndpoints.kubernetes?.proxyUrl,
        ...addonsFromEnv(process.env),
      }),
    },
    WatcherLifecycle,
  ],
  exports: [KubeWatcher],
})
export class KubeWatcherModule {}
