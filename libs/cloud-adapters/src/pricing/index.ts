import type { CloudId } from '@skyweave/domain';
import type { AwsCredentials, AzureCredentials, CloudCredentials, CloudEndpoints, DigitalOceanCredentials, GcpCredentials } from '../cloud-provider';
import type { PriceReader } from './types';

export * from './types';
export { PriceCatalogue, DEFAULT_PRICE_REFRESH_MS, PRICE_RETRY_BACKOFF_MS } from './catalogue';

// Each cloud's reader (and its SDK) is loaded on first use, as factory.ts loads the providers.
/* eslint-disable @typescript-eslint/no-require-imports */
const loadAws = () => (require('./aws-prices') as typeof import('./aws-prices')).AwsPriceReader;
const loadGcp = () => (require('./gcp-prices') as typeof import('./gcp-prices')).GcpPriceReader;
const loadAzure = () => (require('./azure-prices') as typeof import('./azure-prices')).AzurePriceReader;
const loadDigitalOcean = () => (require('./digitalocean-prices') as typeof import('./digitalocean-prices')).DigitalOceanPriceReader;
/* eslint-enable @typescript-eslint/no-require-imports */

/** The credentials of each cloud, as `CloudCredentials` carries them (factory.ts). */
export interface PriceCredentials { aws: AwsCredentials; gcp: GcpCredentials; azure: AzureCredentials; digitalocean: DigitalOceanCredentials }

/**
 * A price reader of one cloud on the cloud's official client, made from the same credentials and CloudEndpoints the
 * CloudProvider factory takes (AWS Price List GetProducts, GCP Cloud Billing Catalog + Compute machineTypes, Azure
 * Retail Prices + Compute vmSizes, DigitalOcean `/v2/sizes`; see docs/pricing.md). The cloud's SDK is loaded on first use.
 */
export function createPriceReader<C extends CloudId>(cloud: C, credentials: PriceCredentials[C], endpoints: CloudEndpoints = {}): PriceReader {
  const c = cloud as CloudId;
  switch (c) {
    case 'aws':
      return new (loadAws())(credentials as AwsCredentials, endpoints);
    case 'gcp':
      return new (loadGcp())(credentials as GcpCredentials, endpoints);
    case 'azure':
      return new (loadAzure())(credentials as AzureCredentials, endpoints);
    case 'digitalocean':
      return new (loadDigitalOcean())(credentials as DigitalOceanCredentials, endpoints);
  }
}

/** `createPriceReader` for a `CloudCredentials` (the union `createCloudProvider` takes). */
export function createPriceReaderFor(credentials: CloudCredentials, endpoints: CloudEndpoints = {}): PriceReader {
  switch (credentials.cloud) {
    case 'aws':
      return createPriceReader('aws', credentials.aws, endpoints);
    case 'gcp':
      return createPriceReader('gcp', credentials.gcp, endpoints);
    case 'azure':
      return createPriceReader('azure', credentials.azure, endpoints);
    case 'digitalocean':
      return createPriceReader('digitalocean', credentials.digitalocean, endpoints);
  }
}
