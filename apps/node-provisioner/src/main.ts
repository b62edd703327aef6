import { Subjects } from '@skyweave/contracts';
import { consume } from '@skyweave/messaging';
import { runService } from '@skyweave/service-kit';
import { NodeProvisioner } from './node-provisioner';

runService('node-provisioner', async (rt) => {
  const np = new NodeProvisioner(rt.ds, rt.vault, rt.log, rt.config.apiUrl, rt.box);
  const stops = [
    await consume(rt.nc, rt.log, { namespace: rt.ns, subject: Subjects.NodeLaunch, durable: 'node-provisioner-launch', handle: (p) => np.launch(p) }),
    await consume(rt.nc, rt.log, { namespace: rt.ns, subject: Subjects.NodeTerminate, durable: 'node-provisioner-terminate', handle: (p) => np.terminate(p) }),
  ];
  return async () => { for (const s of stops) await s(); };
});
