import { describeCloudProviderContract } from '@skyweave/cloud-adapters/src/testing/contract-suite';
import { REALISTIC_LATENCY, scaleProfile } from '../src/core/latency';
import { contractHarness } from './harness';

/** The shared contract again with every operation taking its realistic time ÷ 20 — network 100 ms, VM boot 2 s, reads 5 ms: not waiting for an operation, or deleting a subnetwork while an instance is still being deleted, shows. */
describeCloudProviderContract('gcp', () => contractHarness('gcp', 'us-east4', 'us-east4-a', scaleProfile(REALISTIC_LATENCY, 20)));
