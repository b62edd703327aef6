import type { AzureCredentials, CloudEndpoints, CloudProvider } from '../cloud-provider';

/** STUB — being implemented. */
export class AzureProvider implements Partial<CloudProvider> {
  readonly cloud = 'azure' as const;
  constructor(private readonly credentials: AzureCredentials, private readonly endpoints: CloudEndpoints) {}
}
