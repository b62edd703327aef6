import { createCloudProvider } from '@skyweave/cloud-adapters';
import { describeCloudProviderContract } from '@skyweave/cloud-adapters/src/testing/contract-suite';
import { REALISTIC_LATENCY, scaleProfile } from '../src/core/latency';
import { startEmulator } from '../src/emulator';

/**
 * The shared contract again, with every EC2 operation taking a (scaled) realistic time — VM boot 2 s, termination
 * 100 ms (`shutting-down` → `terminated`) — so that ordering bugs (deleting a network while an instance is still
 * shutting down, reading an instance before it runs) show.
 */
describeCloudProviderContract('aws', async () => {
  const emu = await startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, latency: scaleProfile(REALISTIC_LATENCY, 20) });
  const credentials = emu.modules.aws.createAccount();
  return {
    provider: createCloudProvider(credentials, emu.endpoints),
    badProvider: createCloudProvider({ cloud: 'aws', aws: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x'.repeat(40) } }, emu.endpoints),
    region: 'us-east-1',
    zone: 'us-east-1a',
    inventory: async () => emu.modules.aws.inventory(),
    armFault: async (op, kind, count) => emu.faults.arm({ cloud: 'aws', op: op as never, kind, count }),
    clearFaults: async () => emu.faults.clear(),
    close: () => emu.close(),
  };
});
