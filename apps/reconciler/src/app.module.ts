import { hostname } from 'node:os';
import { Controller, Inject, Injectable, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { Subjects, type ClusterChanged, type ClusterReconcile } from '@skyweave/contracts';
import { JetStreamHandler } from '@skyweave/messaging';
import { CredentialVault, DATA_SOURCE, LOGGER, Logger, VAULT, serviceClock } from '@skyweave/service-kit';
import { Reconciler } from './reconciler';
import { DEFAULT_FULL_RECONCILE, FullReconciler } from './full';
import { LeakSweeper } from './sweep';
import { AGENT_PACKAGE_BASE_URL_ENV, agentBundleFor, agentPackagesFromEnv } from '@skyweave/bootstrap/src/agent-packages';
import { AgentPackageView, DEFAULT_PLAN_OPTIONS } from './plan';

/** The reconciler's settings, read from the environment once at start-up (see main.ts for each variable). */
export interface ReconcilerSettings {
  replica: string;
  /** Clusters one replica fully reconciles at once. */
  concurrency: number;
  /** Seconds between re-drives of unsettled clusters. */
  redriveSeconds: number;
  /** Seconds between looks for due full reconciles. */
  reconcilePollSeconds: number;
  /** Seconds between leak sweeps. */
  leakSweepSeconds: number;
  leakGraceSeconds: number;
  intervalSeconds: number;
  jitter: number;
  leaseSeconds: number;
  missingGraceSeconds: number;
  retrySeconds: number;
  drainTimeoutSeconds: number;
  upgradeTimeoutSeconds: number;
  /** A master's certificate renewal. */
  renewTimeoutSeconds: number;
  /** Seconds between looks for masters whose certificates are due for renewal. */
  certificateCheckSeconds: number;
  /** An agent's self-upgrade, seconds. */
  agentUpgradeTimeoutSeconds: number;
  /** Seconds between looks for clusters whose nodes' agents are not at the platform's version. */
  agentUpgradeCheckSeconds: number;
  /** The node-agent bundle every agent should run (SKYWEAVE_AGENT_PACKAGES_DIR's manifest); absent ⇒ no agent upgrades. */
  agentPackage?: AgentPackageView;
  /** The reconciler's clock (ms since the epoch): the wall clock plus SKYWEAVE_CLOCK_OFFSET_SECONDS. */
  clock: () => number;
}

/**
 * Reads {@link ReconcilerSettings} from `env`.
 * @throws Error naming the variable when one is not a non-negative number.
 */
export function readSettings(env: NodeJS.ProcessEnv): ReconcilerSettings {
  const num = (name: string, dflt: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return dflt;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number of seconds, got ${JSON.stringify(raw)}`);
    return v;
  };
  return {
    replica: env.SKYWEAVE_REPLICA || `${hostname()}-${process.pid}`,
    concurrency: Math.max(1, Math.floor(num('SKYWEAVE_RECONCILE_CONCURRENCY', 8))),
    redriveSeconds: num('SKYWEAVE_REDRIVE_SECONDS', 5),
    reconcilePollSeconds: num('SKYWEAVE_RECONCILE_POLL_SECONDS', 15),
    leakSweepSeconds: num('SKYWEAVE_LEAK_SWEEP_SECONDS', 300),
    leakGraceSeconds: num('SKYWEAVE_LEAK_GRACE_SECONDS', 600),
    intervalSeconds: num('SKYWEAVE_RECONCILE_INTERVAL_SECONDS', DEFAULT_FULL_RECONCILE.intervalSeconds),
    jitter: num('SKYWEAVE_RECONCILE_JITTER', DEFAULT_FULL_RECONCILE.jitter),
    leaseSeconds: num('SKYWEAVE_RECONCILE_LEASE_SECONDS', DEFAULT_FULL_RECONCILE.leaseSeconds),
    missingGraceSeconds: num('SKYWEAVE_MISSING_GRACE_SECONDS', DEFAULT_FULL_RECONCILE.missingGraceSeconds),
    retrySeconds: num('SKYWEAVE_RECONCILE_RETRY_SECONDS', DEFAULT_FULL_RECONCILE.retrySeconds),
    drainTimeoutSeconds: num('SKYWEAVE_DRAIN_TIMEOUT_SECONDS', DEFAULT_PLAN_OPTIONS.drainTimeoutSeconds),
    upgradeTimeoutSeconds: num('SKYWEAVE_UPGRADE_TIMEOUT_SECONDS', DEFAULT_PLAN_OPTIONS.upgradeTimeoutSeconds),
    renewTimeoutSeconds: num('SKYWEAVE_CERTIFICATE_RENEW_TIMEOUT_SECONDS', DEFAULT_PLAN_OPTIONS.renewTimeoutSeconds),
    certificateCheckSeconds: num('SKYWEAVE_CERTIFICATE_CHECK_SECONDS', 3600),
    agentUpgradeTimeoutSeconds: num('SKYWEAVE_AGENT_UPGRADE_TIMEOUT_SECONDS', DEFAULT_PLAN_OPTIONS.agentUpgradeTimeoutSeconds ?? 300),
    agentUpgradeCheckSeconds: num('SKYWEAVE_AGENT_UPGRADE_CHECK_SECONDS', 60),
    agentPackage: (() => {
      const served = agentPackagesFromEnv(env);
      return served ? agentBundleFor(served.manifest, env[AGENT_PACKAGE_BASE_URL_ENV] || undefined) : undefined;
    })(),
    clock: serviceClock(env),
  };
}

export const SETTINGS = Symbol('reconciler:settings');

/** The reconciler's message handlers: cluster events (fast level-triggered pass) and manual full reconciles. */
@Controller()
export class ReconcilerController {
  constructor(
    private readonly reconciler: Reconciler,
    private readonly full: FullReconciler,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** Something about a cluster changed: one fast reconcile pass (row lock; idempotent). */
  @JetStreamHandler(Subjects.ClusterChanged, { durable: 'reconciler' })
  async clusterChanged(p: ClusterChanged): Promise<void> {
    await this.reconciler.reconcile(p.organisationId, p.clusterId);
  }

  /**
   * `POST /v1/clusters/{id}/reconcile`: a full reconcile now (takes the cluster's lease). The request also makes the
   * cluster due, so the first replica to get to it runs it, by this message or by its schedule loop; the other then
   * finds the lease held (`busy`) and leaves it to that run.
   */
  @JetStreamHandler(Subjects.ClusterReconcile, { durable: 'reconciler-full' })
  async clusterReconcile(p: ClusterReconcile): Promise<void> {
    const outcome = await this.full.run(p.organisationId, p.clusterId, 'manual');
    this.log.info({ clusterId: p.clusterId, outcome }, 'manual full reconcile');
  }
}

/**
 * The reconciler's periodic loops, started when the application has bootstrapped and stopped (waiting for a running
 * round) on shutdown: re-drive of unsettled clusters, due full reconciles, leak sweep. Each runs every N seconds, never
 * two rounds of one loop at once; a failing round is logged, not thrown.
 */
@Injectable()
export class PeriodicLoops implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly reconciler: Reconciler,
    private readonly full: FullReconciler,
    private readonly sweeper: LeakSweeper,
    @Inject(SETTINGS) private readonly settings: ReconcilerSettings,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const s = this.settings;
    // Level-triggered safety net: a lost message delays work, never loses it.
    this.every(s.redriveSeconds, 're-drive', async () => {
      for (const c of await this.reconciler.unsettled()) await this.reconciler.reconcile(c.organisationId, c.id);
    });
    this.every(s.reconcilePollSeconds, 'full reconcile', () => this.full.runDue(50, s.concurrency));
    this.every(s.leakSweepSeconds, 'leak sweep', () => this.sweeper.sweep());
    // Ready clusters are otherwise looked at only when something changes: certificates age without any change
    this.every(s.certificateCheckSeconds, 'certificate check', async () => {
      for (const c of await this.reconciler.certificatesDue()) await this.reconciler.reconcile(c.organisationId, c.id);
    });
    // nor does the platform's agent version changing (a new installation), nor a failed agent upgrade's backoff ending
    if (s.agentPackage) {
      this.every(s.agentUpgradeCheckSeconds, 'agent upgrade check', async () => {
        for (const c of await this.reconciler.agentUpgradesDue()) await this.reconciler.reconcile(c.organisationId, c.id);
      });
    } else {
      this.log.info({}, 'no agent bundle in SKYWEAVE_AGENT_PACKAGES_DIR\'s manifest (or the variable is not set): agents are not upgraded');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    for (const t of this.timers.splice(0)) clearInterval(t);
    await Promise.allSettled([...this.running]);
  }

  private every(seconds: number, what: string, fn: () => Promise<unknown>): void {
    let busy = false;
    this.timers.push(setInterval(() => {
      if (busy) return;
      busy = true;
      const round = fn().catch((e: unknown) => this.log.warn({ err: (e as Error).message }, `${what} failed`)).finally(() => { busy = false; });
      this.running.add(round);
      void round.finally(() => this.running.delete(round));
    }, seconds * 1000));
  }
}

/** The reconciler service's module: the existing Reconciler, FullReconciler and LeakSweeper as providers. */
@Module({
  controllers: [ReconcilerController],
  providers: [
    { provide: SETTINGS, useFactory: () => readSettings(process.env) },
    {
      provide: FullReconciler, inject: [DATA_SOURCE, VAULT, LOGGER, SETTINGS],
      useFactory: (ds: DataSource, vault: CredentialVault, log: Logger, s: ReconcilerSettings) => new FullReconciler(ds, vault, log, {
        replica: s.replica, intervalSeconds: s.intervalSeconds, jitter: s.jitter, leaseSeconds: s.leaseSeconds,
        missingGraceSeconds: s.missingGraceSeconds, retrySeconds: s.retrySeconds,
      }),
    },
    {
      provide: Reconciler, inject: [DATA_SOURCE, LOGGER, SETTINGS, FullReconciler],
      useFactory: (ds: DataSource, log: Logger, s: ReconcilerSettings, full: FullReconciler) => new Reconciler(ds, log, () => new Date(s.clock()), {
        drainTimeoutSeconds: s.drainTimeoutSeconds, upgradeTimeoutSeconds: s.upgradeTimeoutSeconds, renewTimeoutSeconds: s.renewTimeoutSeconds,
        agentUpgradeTimeoutSeconds: s.agentUpgradeTimeoutSeconds, ...(s.agentPackage ? { agentPackage: s.agentPackage } : {}),
      }, (t) => full.nextRunAfter(t)),
    },
    {
      provide: LeakSweeper, inject: [DATA_SOURCE, VAULT, LOGGER, SETTINGS],
      useFactory: (ds: DataSource, vault: CredentialVault, log: Logger, s: ReconcilerSettings) =>
        new LeakSweeper(ds, vault, log, { graceSeconds: s.leakGraceSeconds }),
    },
    PeriodicLoops,
  ],
})
export class ReconcilerModule {}

/** Subjects the reconciler consumes (each has exactly one handler above). */
export const RECONCILER_SUBJECTS = [Subjects.ClusterChanged, Subjects.ClusterReconcile] as const;
