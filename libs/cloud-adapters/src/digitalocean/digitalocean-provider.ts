import type { DigitalOceanCredentials, CloudEndpoints, CloudProvider } from '../cloud-provider';

/** STUB — being implemented. */
export class DigitalOceanProvider implements Partial<CloudProvider> {
  readonly cloud = 'digitalocean' as const;
  constructor(private readonly credentials: DigitalOceanCredentials, private readonly endpoints: CloudEndpoints) {}
}
