import { Inject, Injectable, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { KubeWatcher, KubeWatcherModule } from '@skyweave/kube-view';
import { DEFAULT_ORGANISATION_QUOTAS } from '@skyweave/domain';
import type { SecretBox } from '@skyweave/persistence';
import { DATA_SOURCE, LOGGER, Logger, SECRET_BOX, SERVICE_CONFIG, type ServiceConfig } from '@skyweave/service-kit';
import { Autoscaler, DEFAULT_AUTOSCALER_SETTINGS, type AutoscalerSettings } from './autoscaler';
import { ClientNodeKubeActions } from './kube-actions';
import { AutoscalerMetrics } from './metrics';
import { PriceOfferingSource } from './prices';
import { PgAutoscalerStore } from './store-pg';

/**
 * Reads {@link AutoscalerSettings} and the price refresh (ms) from `env` (main.ts lists the variables).
 * @throws Error naming the variable when one is not a positive number.
 */
export function readAutoscalerSettings(env: NodeJS.ProcessEnv): AutoscalerSettings & { priceRefreshMs: number; maxNodes: number } {
  const num = (name: string, dflt: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return dflt;
    const v = Number(raw);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
    return v;
  };
  const d = DEFAULT_AUTOSCALER_SETTINGS;
  return {
    tickMs: num('SKYWEAVE_AUTOSCALER_TICK_MS', d.tickMs),
    batchIdleMs: num('SKYWEAVE_AUTOSCALER_BATCH_IDLE_MS', d.batchIdleMs),
    batchMaxMs: num('SKYWEAVE_AUTOSCALER_BATCH_MAX_MS', d.batchMaxMs),
    unavailableMs: num('SKYWEAVE_AUTOSCALER_UNAVAILABLE_SECONDS', d.unavailableMs / 1000) * 1000,
    drainTimeoutMs: num('SKYWEAVE_AUTOSCALER_DRAIN_TIMEOUT_SECONDS', d.drainTimeoutMs / 1000) * 1000,
    priceRefreshMs: num('SKYWEAVE_PRICE_REFRESH_SECONDS', 3600) * 1000,
    // the organisations' node quota where their row says nothing: the gateway's SKYWEAVE_QUOTA_NODES, same default
    maxNodes: Math.floor(num('SKYWEAVE_QUOTA_NODES', DEFAULT_ORGANISATION_QUOTAS.maxNodes)),
  };
}

/** Starts the decision loop once the application (and the watcher) has bootstrapped; stops it first on shutdown. */
@Injectable()
class AutoscalerLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(Autoscaler) private readonly autoscaler: Autoscaler) {}

  onApplicationBootstrap(): void {
    this.autoscaler.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.autoscaler.stop();
  }
}

/** The autoscaler service's module: kube-view's watcher (the cluster view and its leases) and the Autoscaler. */
@Module({
  imports: [KubeWatcherModule],
  providers: [
    {
      provide: Autoscaler, inject: [KubeWatcher, DATA_SOURCE, SECRET_BOX, LOGGER, SERVICE_CONFIG],
      useFactory: (watcher: KubeWatcher, ds: DataSource, box: SecretBox, log: Logger, config: ServiceConfig) => {
        const settings = readAutoscalerSettings(process.env);
        return new Autoscaler({
          views: watcher, store: new PgAutoscalerStore(ds, { maxNodes: settings.maxNodes }), kube: new ClientNodeKubeActions(box, config.cloudEndpoints.kubernetes?.proxyUrl),
          offerings: new PriceOfferingSource(ds, box, config.cloudEndpoints, { refreshMs: settings.priceRefreshMs, log: (m: string) => log.info({}, m) }),
          log, settings, metrics: AutoscalerMetrics.get(),
        });
      },
    },
    AutoscalerLifecycle,
  ],
})
export class AutoscalerAppModule {}
