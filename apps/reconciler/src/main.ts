import { Subjects } from '@skyweave/contracts';
import { consume } from '@skyweave/messaging';
import { runService } from '@skyweave/service-kit';
import { Reconciler } from './reconciler';

/** Seconds between re-drives of clusters not yet in their desired state (env `SKYWEAVE_REDRIVE_SECONDS`, default 5). */
const REDRIVE_SECONDS = Number(process.env.SKYWEAVE_REDRIVE_SECONDS ?? 5);

runService('reconciler', async (rt) => {
  const reconciler = new Reconciler(rt.ds, rt.log);
  const stopConsumer = await consume(rt.nc, rt.log, {
    namespace: rt.ns,
    subject: Subjects.ClusterChanged,
    durable: 'reconciler',
    handle: (p) => reconciler.reconcile(p.organisationId, p.clusterId),
  });
  // Level-triggered safety net: a lost message delays work, never loses it.
  const timer = setInterval(() => {
    void (async () => {
      try {
        for (const c of await reconciler.unsettled()) await reconciler.reconcile(c.organisationId, c.id);
      } catch (e) {
        rt.log.warn({ err: (e as Error).message }, 're-drive failed');
      }
    })();
  }, REDRIVE_SECONDS * 1000);
  return async () => {
    clearInterval(timer);
    await stopConsumer();
  };
});
