import { createCloudProvider } from '@skyweave/cloud-adapters';
import { describeCloudProviderContract } from '@skyweave/cloud-adapters/src/testing/contract-suite';
import { REALISTIC_LATENCY, scaleProfile } from '../src/core/latency';
import { startEmulator } from '../src/emulator';

/** The shared contract again, with every DigitalOcean operation taking a (scaled) realistic time: ordering bugs show. */
describeCloudProviderContract('digitalocean', async () => {
  const emu = await startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, latency: scaleProfile(REALISTIC_LATENCY, 20) });
  const credentials = emu.modules.digitalocean.createAccount();
  return {
    provider: createCloudProvider(credentials, emu.endpoints),
    badProvider: createCloudProvider({ cloud: 'digitalocean', digitalocean: { token: `dop_v1_${'f'.repeat(64)}` } }, emu.endpoints),
    region: 'nyc1',
    zone: 'nyc1',
    inventory: async () => emu.modules.digitalocean.inventory(),
    armFault: async (op, kind, count) => emu.faults.arm({ cloud: 'digitalocean', op: op as never, kind, count }),
    clearFaults: async () => emu.faults.clear(),
    close: () => emu.close(),
  };
});
