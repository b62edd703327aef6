import { describeCloudProviderContract } from '@skyweave/cloud-adapters/src/testing/contract-suite';
import { REALISTIC_LATENCY, scaleProfile } from '../src/core/latency';
import { contractHarness } from './harness';

/** The shared contract again with every operation taking its realistic time ÷ 20 — droplet boot 2 s: reading a droplet before it is active, or deleting a VPC that still has members, shows. */
describeCloudProviderContract('digitalocean', () => contractHarness('digitalocean', 'nyc1', 'nyc1', scaleProfile(REALISTIC_LATENCY, 20)));
