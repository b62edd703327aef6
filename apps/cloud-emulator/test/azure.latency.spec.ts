import { describeCloudProviderContract } from '@skyweave/cloud-adapters/src/testing/contract-suite';
import { REALISTIC_LATENCY, scaleProfile } from '../src/core/latency';
import { contractHarness } from './harness';

/** The shared contract again with every operation taking its realistic time ÷ 20 — every long-running operation is seen InProgress before Succeeded: not following Azure-AsyncOperation shows. */
describeCloudProviderContract('azure', () => contractHarness('azure', 'eastus', '1', scaleProfile(REALISTIC_LATENCY, 20)));
