import { describeCloudProviderContract } from '@skyweave/cloud-adapters/src/testing/contract-suite';
import { contractHarness } from './harness';

describeCloudProviderContract('azure', () => contractHarness('azure', 'eastus', '1'));
