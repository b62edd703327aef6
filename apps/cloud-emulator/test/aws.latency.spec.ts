import { describeCloudProviderContract } from '@skyweave/cloud-adapters/src/testing/contract-suite';
import { REALISTIC_LATENCY, scaleProfile } from '../src/core/latency';
import { contractHarness } from './harness';

/** The shared contract again with every operation taking its realistic time ÷ 20 — VM boot 2 s, termination 100 ms (`shutting-down` → `terminated`): deleting a network while an instance is still shutting down, or reading an instance before it runs, shows. */
describeCloudProviderContract('aws', () => contractHarness('aws', 'us-east-1', 'us-east-1a', scaleProfile(REALISTIC_LATENCY, 20)));
