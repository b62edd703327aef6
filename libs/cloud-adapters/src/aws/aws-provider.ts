import type { AwsCredentials, CloudEndpoints, CloudProvider } from '../cloud-provider';

/** STUB — being implemented. */
export class AwsProvider implements Partial<CloudProvider> {
  readonly cloud = 'aws' as const;
  constructor(private readonly credentials: AwsCredentials, private readonly endpoints: CloudEndpoints) {}
}
