import type { CloudCredentials, CloudEndpoints, CloudProvider } from './cloud-provider';
import { AwsProvider } from './aws/aws-provider';
import { GcpProvider } from './gcp/gcp-provider';
import { AzureProvider } from './azure/azure-provider';
import { DigitalOceanProvider } from './digitalocean/digitalocean-provider';

/**
 * Builds a provider for one credential set. Each call makes its own SDK clients: providers are never shared
 * between organisations or mutated per request.
 */
export function createCloudProvider(credentials: CloudCredentials, endpoints: CloudEndpoints = {}): CloudProvider {
  switch (credentials.cloud) {
    case 'aws':
      return new AwsProvider(credentials.aws, endpoints);
    case 'gcp':
      return new GcpProvider(credentials.gcp, endpoints);
    case 'azure':
      return new AzureProvider(credentials.azure, endpoints);
    case 'digitalocean':
      return new DigitalOceanProvider(credentials.digitalocean, endpoints);
  }
}
