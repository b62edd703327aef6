import type { GcpCredentials, CloudEndpoints, CloudProvider } from '../cloud-provider';

/** STUB — being implemented. */
export class GcpProvider implements Partial<CloudProvider> {
  readonly cloud = 'gcp' as const;
  constructor(private readonly credentials: GcpCredentials, private readonly endpoints: CloudEndpoints) {}
}
