import { describeCloudProviderContract } from '@skyweave/cloud-adapters/src/testing/contract-suite';
import { contractHarness } from './harness';

describeCloudProviderContract('aws', () => contractHarness('aws', 'us-east-1', 'us-east-1a'));
