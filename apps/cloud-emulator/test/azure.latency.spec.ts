import { createCloudProvider } from '@skyweave/cloud-adapters';
import { describeCloudProviderContract } from '@skyweave/cloud-adapters/src/testing/contract-suite';
import { REALISTIC_LATENCY, scaleProfile } from '../src/core/latency';
import { startEmulator } from '../src/emulator';

/**
 * The shared contract again with every ARM operation taking a (scaled) realistic time, so that each long-running
 * operation is seen `InProgress` before `Succeeded` (VNet 100 ms, VM create 100 ms + boot 2 s, deletes 50–100 ms) and
 * ordering bugs show (deleting a NIC while its VM is still being deleted, reading a VM before it runs).
 */
describeCloudProviderContract('azure', async () => {
  const emu = await startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, latency: scaleProfile(REALISTIC_LATENCY, 20) });
  const credentials = emu.modules.azure.createAccount();
  if (credentials.cloud !== 'azure') throw new Error('expected Azure credentials');
  return {
    provider: createCloudProvider(credentials, emu.endpoints),
    badProvider: createCloudProvider({ cloud: 'azure', azure: { ...credentials.azure, clientSecret: 'wrong-secret' } }, emu.endpoints),
    region: 'eastus',
    zone: '1',
    inventory: async () => emu.modules.azure.inventory(),
    armFault: async (op, kind, count) => emu.faults.arm({ cloud: 'azure', op: op as never, kind, count }),
    clearFaults: async () => emu.faults.clear(),
    close: () => emu.close(),
  };
});
