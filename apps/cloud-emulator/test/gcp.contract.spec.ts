import { describeCloudProviderContract } from '@skyweave/cloud-adapters/src/testing/contract-suite';
import { contractHarness } from './harness';

describeCloudProviderContract('gcp', () => contractHarness('gcp', 'us-east4', 'us-east4-a'));
