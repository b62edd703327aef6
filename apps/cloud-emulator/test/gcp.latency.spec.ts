import { createCloudProvider } from '@skyweave/cloud-adapters';
import { describeCloudProviderContract } from '@skyweave/cloud-adapters/src/testing/contract-suite';
import { REALISTIC_LATENCY, scaleProfile } from '../src/core/latency';
import { startEmulator } from '../src/emulator';

/**
 * The shared contract again, with every Compute operation taking a (scaled) realistic time — network 100 ms, VM boot
 * 2 s, instance deletion 100 ms, reads 5 ms — so that ordering bugs (not waiting for an operation, deleting a
 * subnetwork while an instance is still being deleted, reading an instance before it runs) show.
 */
describeCloudProviderContract('gcp', async () => {
  const emu = await startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, latency: scaleProfile(REALISTIC_LATENCY, 20) });
  const credentials = emu.modules.gcp.createAccount();
  if (credentials.cloud !== 'gcp') throw new Error('expected gcp credentials');
  return {
    provider: createCloudProvider(credentials, emu.endpoints),
    badProvider: createCloudProvider({ cloud: 'gcp', gcp: { ...credentials.gcp, client_email: `unknown@${credentials.gcp.project_id}.iam.gserviceaccount.com` } }, emu.endpoints),
    region: 'us-east4',
    zone: 'us-east4-a',
    inventory: async () => emu.modules.gcp.inventory(),
    armFault: async (op, kind, count) => emu.faults.arm({ cloud: 'gcp', op: op as never, kind, count }),
    clearFaults: async () => emu.faults.clear(),
    close: () => emu.close(),
  };
});
