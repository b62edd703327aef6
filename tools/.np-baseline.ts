import { Subjects } from '@skyweave/contracts';
import { consume } from '@skyweave/messaging';
import { runService } from '@skyweave/service-kit';
import { NetworkProvisioner } from '../apps/network-provisioner/src/network-provisioner';

runService('network-provisioner', async (rt) => {
  const np = new NetworkProvisioner(rt.ds, rt.vault, rt.log);
  const stops = [
    await consume(rt.nc, rt.log, { namespace: rt.ns, subject: Subjects.NetworkEnsure, durable: 'network-provisioner-ensure', handle: (p) => np.ensure(p) }),
    await consume(rt.nc, rt.log, { namespace: rt.ns, subject: Subjects.NetworkDelete, durable: 'network-provisioner-delete', handle: (p) => np.delete(p) }),
  ];
  return async () => { for (const s of stops) await s(); };
});
