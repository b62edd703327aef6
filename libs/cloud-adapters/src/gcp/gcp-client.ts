import { NetworksClient } from '@google-cloud/compute';
import type { CloudEndpoints, GcpCredentials } from '../cloud-provider';
import { createAuthClient } from './gcp-auth';

/** Options of the Compute clients (google-gax ClientOptions). */
export type ComputeClientOptions = NonNullable<ConstructorParameters<typeof NetworksClient>[0]>;

/**
 * Options every Compute client of one credential set is made with, as the GCP adapter (and the test tools that act
 * beside it) make them: REST transport (`fallback`), the service-account JWT client (gcp-auth.ts), and with
 * `endpoints.gcp` (the sandbox) its host, port and protocol instead of compute.googleapis.com.
 */
export function computeClientOptions(credentials: GcpCredentials, endpoints: CloudEndpoints): ComputeClientOptions {
  const authClient = createAuthClient(credentials, endpoints);
  let opts: ComputeClientOptions = { fallback: true, authClient };
  if (endpoints.gcp) {
    const url = new URL(endpoints.gcp);
    opts = { ...opts, apiEndpoint: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)), protocol: url.protocol.replace(/:$/, '') };
  }
  return opts;
}
