import { NetworksClient } from '@google-cloud/compute';
import type { CloudEndpoints, GcpCredentials } from '../cloud-provider';
import { createAuthClient } from './gcp-auth';

/** Options of the Compute clients (google-gax ClientOptions). */
export type ComputeClientOptions = NonNullable<ConstructorParameters<typeof NetworksClient>[0]>;

/** The Compute services the adapter calls (gax service names `google.cloud.compute.v1.<name>`). */
const SERVICES = ['Networks', 'Subnetworks', 'Firewalls', 'Instances', 'GlobalOperations', 'RegionOperations', 'ZoneOperations', 'Projects'];
/** Their methods that google-gax would retry by itself (retry codes `idempotent`: UNAVAILABLE, DEADLINE_EXCEEDED). */
const RETRIED_METHODS = ['Get', 'List', 'AggregatedList', 'Wait'];

/**
 * google-gax's own retry switched off (an empty retry-code list for the methods it would retry, for up to 600 s):
 * the adapter retries every call once, with retry.ts `CLOUD_CALL`, so retries do not multiply (gax × ours).
 */
export const NO_GAX_RETRY = {
  interfaces: Object.fromEntries(SERVICES.map((s) => [`google.cloud.compute.v1.${s}`, {
    retry_codes: { skyweave_none: [] as string[] },
    methods: Object.fromEntries(RETRIED_METHODS.map((m) => [m, { retry_codes_name: 'skyweave_none' }])),
  }])),
};

/**
 * Options every Compute client of one credential set is made with, as the GCP adapter (and the test tools that act
 * beside it) make them: REST transport (`fallback`), the service-account JWT client (gcp-auth.ts), and with
 * `endpoints.gcp` (the sandbox) its host, port and protocol instead of compute.googleapis.com; google-gax's retry off
 * (`NO_GAX_RETRY`).
 */
export function computeClientOptions(credentials: GcpCredentials, endpoints: CloudEndpoints): ComputeClientOptions {
  const authClient = createAuthClient(credentials, endpoints);
  let opts: ComputeClientOptions = { fallback: true, authClient, clientConfig: NO_GAX_RETRY };
  if (endpoints.gcp) {
    const url = new URL(endpoints.gcp);
    opts = { ...opts, apiEndpoint: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)), protocol: url.protocol.replace(/:$/, '') };
  }
  return opts;
}
