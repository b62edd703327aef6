import type { CloudId } from '@skyweave/domain';
import { createCloudProvider, CloudCredentials } from '@skyweave/cloud-adapters';
import type { ContractHarness, SandboxItem } from '@skyweave/cloud-adapters/src/testing/contract-suite';
import { startEmulator } from '../src/emulator';

/** Credentials of the same shape that the sandbox (like the cloud) does not know. */
function unknownCredentials(c: CloudCredentials): CloudCredentials {
  switch (c.cloud) {
    case 'aws':
      return { cloud: 'aws', aws: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x'.repeat(40) } };
    case 'gcp':
      return { cloud: 'gcp', gcp: { ...c.gcp, client_email: `unknown@${c.gcp.project_id}.iam.gserviceaccount.com`, private_key_id: 'unknown' } };
    case 'azure':
      return { cloud: 'azure', azure: { ...c.azure, clientSecret: 'wrong-secret' } };
    case 'digitalocean':
      return { cloud: 'digitalocean', digitalocean: { token: 'dop_v1_' + '0'.repeat(64) } };
  }
}

/** Starts a private sandbox on free ports, with a fresh account of `cloud`, for the contract suite. */
export async function contractHarness(cloud: CloudId, region: string, zone: string): Promise<ContractHarness> {
  const emu = await startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, latency: { 'instance.boot': 200 } });
  const credentials = emu.modules[cloud].createAccount();
  const account = () => emu.modules[cloud].inventory();
  const accountId = (items: SandboxItem[]) => items; // inventory is per module; the fresh sandbox holds one account
  return {
    provider: createCloudProvider(credentials, emu.endpoints),
    badProvider: createCloudProvider(unknownCredentials(credentials), emu.endpoints),
    region,
    zone,
    inventory: async () => accountId(account()),
    armFault: async (op, kind, count) => emu.faults.arm({ cloud, op: op as never, kind, count }),
    clearFaults: async () => emu.faults.clear(),
    close: () => emu.close(),
  };
}
