import { hostname } from 'node:os';
import { Subjects } from '@skyweave/contracts';
import { consume } from '@skyweave/messaging';
import { runService } from '@skyweave/service-kit';
import { Reconciler } from './reconciler';
import { DEFAULT_FULL_RECONCILE, FullReconciler } from './full';
import { LeakSweeper } from './sweep';
import { DEFAULT_PLAN_OPTIONS } from './plan';

/**
 * The reconciler service. Environment (seconds unless said):
 * - `SKYWEAVE_REDRIVE_SECONDS` (5): re-drive of clusters not in their desired state (level-triggered safety net);
 * - `SKYWEAVE_RECONCILE_INTERVAL_SECONDS` (3600, seeds: hourly) and `SKYWEAVE_RECONCILE_JITTER` (0.1 = ±10 %): full reconciles;
 * - `SKYWEAVE_RECONCILE_POLL_SECONDS` (15): how often due full reconciles are looked for; `SKYWEAVE_RECONCILE_CONCURRENCY`
 *   (8): how many clusters one replica reconciles at once (their cloud calls overlap);
 * - `SKYWEAVE_RECONCILE_LEASE_SECONDS` (120), `SKYWEAVE_MISSING_GRACE_SECONDS` (120), `SKYWEAVE_RECONCILE_RETRY_SECONDS` (300);
 * - `SKYWEAVE_LEAK_SWEEP_SECONDS` (300) and `SKYWEAVE_LEAK_GRACE_SECONDS` (600): the leak sweep;
 * - `SKYWEAVE_DRAIN_TIMEOUT_SECONDS` (120), `SKYWEAVE_UPGRADE_TIMEOUT_SECONDS` (600): agent operations;
 * - `SKYWEAVE_REPLICA` (host-pid): this replica's name in leases and reconcile records.
 * Any number of replicas may run: the fast pass locks the cluster row, the full reconcile takes the cluster's lease,
 * the sweep an advisory lock.
 */
const num = (name: string, dflt: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number of seconds, got ${JSON.stringify(raw)}`);
  return v;
};

runService('reconciler', async (rt) => {
  const replica = process.env.SKYWEAVE_REPLICA || `${hostname()}-${process.pid}`;
  const concurrency = Math.max(1, Math.floor(num('SKYWEAVE_RECONCILE_CONCURRENCY', 8)));
  const full = new FullReconciler(rt.ds, rt.vault, rt.log, {
    replica,
    intervalSeconds: num('SKYWEAVE_RECONCILE_INTERVAL_SECONDS', DEFAULT_FULL_RECONCILE.intervalSeconds),
    jitter: num('SKYWEAVE_RECONCILE_JITTER', DEFAULT_FULL_RECONCILE.jitter),
    leaseSeconds: num('SKYWEAVE_RECONCILE_LEASE_SECONDS', DEFAULT_FULL_RECONCILE.leaseSeconds),
    missingGraceSeconds: num('SKYWEAVE_MISSING_GRACE_SECONDS', DEFAULT_FULL_RECONCILE.missingGraceSeconds),
    retrySeconds: num('SKYWEAVE_RECONCILE_RETRY_SECONDS', DEFAULT_FULL_RECONCILE.retrySeconds),
  });
  const reconciler = new Reconciler(rt.ds, rt.log, undefined, {
    drainTimeoutSeconds: num('SKYWEAVE_DRAIN_TIMEOUT_SECONDS', DEFAULT_PLAN_OPTIONS.drainTimeoutSeconds),
    upgradeTimeoutSeconds: num('SKYWEAVE_UPGRADE_TIMEOUT_SECONDS', DEFAULT_PLAN_OPTIONS.upgradeTimeoutSeconds),
  }, (t) => full.nextRunAfter(t));
  const sweeper = new LeakSweeper(rt.ds, rt.vault, rt.log, { graceSeconds: num('SKYWEAVE_LEAK_GRACE_SECONDS', 600) });

  const stops = [
    await consume(rt.nc, rt.log, {
      namespace: rt.ns, subject: Subjects.ClusterChanged, durable: 'reconciler',
      handle: (p) => reconciler.reconcile(p.organisationId, p.clusterId),
    }),
    await consume(rt.nc, rt.log, {
      namespace: rt.ns, subject: Subjects.ClusterReconcile, durable: 'reconciler-full',
      handle: async (p) => {
        const outcome = await full.run(p.organisationId, p.clusterId, 'manual');
        rt.log.info({ clusterId: p.clusterId, outcome }, 'manual full reconcile');
      },
    }),
  ];

  /** Runs `fn` every `seconds`, never two at once, logging (not throwing) failures. */
  const every = (seconds: number, what: string, fn: () => Promise<unknown>) => {
    let running = false;
    return setInterval(() => {
      if (running) return;
      running = true;
      fn().catch((e: unknown) => rt.log.warn({ err: (e as Error).message }, `${what} failed`)).finally(() => { running = false; });
    }, seconds * 1000);
  };
  const timers = [
    // Level-triggered safety net: a lost message delays work, never loses it.
    every(num('SKYWEAVE_REDRIVE_SECONDS', 5), 're-drive', async () => {
      for (const c of await reconciler.unsettled()) await reconciler.reconcile(c.organisationId, c.id);
    }),
    every(num('SKYWEAVE_RECONCILE_POLL_SECONDS', 15), 'full reconcile', () => full.runDue(50, concurrency)),
    every(num('SKYWEAVE_LEAK_SWEEP_SECONDS', 300), 'leak sweep', () => sweeper.sweep()),
  ];
  return async () => {
    for (const t of timers) clearInterval(t);
    for (const s of stops) await s();
  };
});
