import { describeCloudProviderContract } from '@skyweave/cloud-adapters/src/testing/contract-suite';
import { contractHarness } from './harness';

describeCloudProviderContract('digitalocean', () => contractHarness('digitalocean', 'nyc1', 'nyc1'));
