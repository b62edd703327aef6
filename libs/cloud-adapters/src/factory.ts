import type { CloudCredentials, CloudEndpoints, CloudProvider, CloudProviderOptions } from './cloud-provider';

// Each cloud's provider (and its SDK) is loaded on first use, not at import: the four SDKs are most of a service's
// start-up time (measured on a 2-core machine: @google-cloud/compute alone ≈ 40%), and a service that never touches
// a cloud (or only one) should not pay for them. `require` is synchronous, so createCloudProvider stays synchronous.
/* eslint-disable @typescript-eslint/no-require-imports */
const loadAws = () => (require('./aws/aws-provider') as typeof import('./aws/aws-provider')).AwsProvider;
const loadGcp = () => (require('./gcp/gcp-provider') as typeof import('./gcp/gcp-provider')).GcpProvider;
const loadAzure = () => (require('./azure/azure-provider') as typeof import('./azure/azure-provider')).AzureProvider;
const loadDigitalOcean = () => (require('./digitalocean/digitalocean-provider') as typeof import('./digitalocean/digitalocean-provider')).DigitalOceanProvider;
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Builds a provider for one credential set. Each call makes its own SDK clients: providers are never shared
 * between organisations or mutated per request. The cloud's SDK is loaded on the first call for that cloud.
 * @param options shared tuning, e.g. `consistencyWindowMs` (default 30 000 ms, see CloudProviderOptions).
 */
export function createCloudProvider(credentials: CloudCredentials, endpoints: CloudEndpoints = {}, options: CloudProviderOptions = {}): CloudProvider {
  switch (credentials.cloud) {
    case 'aws':
      return new (loadAws())(credentials.aws, endpoints, options);
    case 'gcp':
      return new (loadGcp())(credentials.gcp, endpoints, options);
    case 'azure':
      return new (loadAzure())(credentials.azure, endpoints, options);
    case 'digitalocean':
      return new (loadDigitalOcean())(credentials.digitalocean, endpoints, options);
  }
}
