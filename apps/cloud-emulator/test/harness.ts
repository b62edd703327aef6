import type { CloudId } from '@skyweave/domain';
import { createCloudProvider, CloudCredentials } from '@skyweave/cloud-adapters';
import type { ContractHarness, SandboxItem } from '@skyweave/cloud-adapters/src/testing/contract-suite';
import { startEmulator } from '../src/emulator';
import type { LatencyProfile } from '../src/core/latency';

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

/**
 * Starts a private sandbox on free ports, with a fresh account of `cloud`, for the contract suite.
 * @param latency per-operation latencies (ms); default: only a 200 ms VM boot.
 */
export async function contractHarness(cloud: CloudId, region: string, zone: string, latency: LatencyProfile = { 'instance.boot': 200 }): Promise<ContractHarness> {
  const emu = await startEmulator({ ports: { aws: 0, gcp: 0, azure: 0, digitalocean: 0, admin: 0 }, latency });
  const credentials = emu.modules[cloud].createAccount();
  return {
    provider: createCloudProvider(credentials, emu.endpoints),
    badProvider: createCloudProvider(unknownCredentials(credentials), emu.endpoints),
    // for out-of-band changes made beside the provider, like a user in the cloud's console
    credentials,
    endpoints: emu.endpoints,
    region,
    zone,
    // the fresh sandbox holds this one account, so the module's inventory is the account's
    inventory: async (): Promise<SandboxItem[]> => emu.modules[cloud].inventory(),
    armFault: async (op, kind, count) => emu.faults.arm({ cloud, op: op as never, kind, count }),
    clearFaults: async () => emu.faults.clear(),
    setConsistencyDelay: async (delayMs) => emu.consistency.setDelay(cloud, delayMs),
    close: () => emu.close(),
  };
}

/** How an AWS SDK call failed: the error's name (EC2's code), HTTP status and message. */
export interface SdkFailure {
  name: string;
  status?: number;
  message: string;
}

/** Awaits `p`, which must reject, and returns how (AWS SDK v3 errors). @throws Error when it resolves. */
export async function sdkFailure(p: Promise<unknown>): Promise<SdkFailure> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: err.name, status: err.$metadata?.httpStatusCode, message: err.message };
  }
  throw new Error('expected the call to fail');
}
