import type { CloudCredentials, CloudEndpoints, CloudProvider, CloudProviderOptions } from './cloud-provider';
import { AwsProvider } from './aws/aws-provider';
import { GcpProvider } from './gcp/gcp-provider';
import { AzureProvider } from './azure/azure-provider';
import { DigitalOceanProvider } from './digitalocean/digitalocean-provider';

/**
 * Builds a provider for one credential set. Each call makes its own SDK clients: providers are never shared
 * between organisations or mutated per request.
 * @param options shared tuning, e.g. `consistencyWindowMs` (default 30 000 ms, see CloudProviderOptions).
 */
export function createCloudProvider(credentials: CloudCredentials, endpoints: CloudEndpoints = {}, options: CloudProviderOptions = {}): CloudProvider {
  switch (credentials.cloud) {
    case 'aws':
      return new AwsProvider(credentials.aws, endpoints, options);
    case 'gcp':
      return new GcpProvider(credentials.gcp, endpoints, options);
    case 'azure':
      return new AzureProvider(credentials.azure, endpoints, options);
    case 'digitalocean':
      return new DigitalOceanProvider(credentials.digitalocean, endpoints, options);
  }
}
