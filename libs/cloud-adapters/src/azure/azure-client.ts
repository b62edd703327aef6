import { ClientSecretCredential } from '@azure/identity';
import { ResourceManagementClient } from '@azure/arm-resources';
import { NetworkManagementClient } from '@azure/arm-network';
import { ComputeManagementClient } from '@azure/arm-compute';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { AzureCredentials, CloudEndpoints } from '../cloud-provider';

/** Per-request timeout for ARM calls, in milliseconds. */
const REQUEST_TIMEOUT_MS = 30_000;
const ARM_SCOPE = 'https://management.azure.com/.default';

/** The ARM clients of one credential set, and the poll options of their long-running operations. */
export interface AzureClients {
  resources: ResourceManagementClient;
  network: NetworkManagementClient;
  compute: ComputeManagementClient;
  /** `updateIntervalInMs` for `begin…AndWait` calls (absent ⇒ the SDK's default). */
  poll: { updateIntervalInMs?: number };
}

/**
 * The ARM clients as the Azure adapter (and the test tools that act beside it) make them: a client-secret service
 * principal (`@azure/identity`), with `endpoints.azure` (the sandbox) its ARM endpoint, AAD authority host and CA;
 * SDK retries of throttled and 5xx answers (`maxRetries`, default 2; base 250 ms, at most 2 s); a 30 s per-request
 * timeout; long-running operations polled every `pollIntervalMs` (default 250 against a sandbox, the SDK's 2000
 * otherwise).
 */
export function createAzureClients(
  credentials: AzureCredentials,
  endpoints: CloudEndpoints,
  options: { pollIntervalMs?: number; maxRetries?: number } = {},
): AzureClients {
  const az = endpoints.azure;
  const tlsOptions = az?.caPem ? { ca: az.caPem } : undefined;
  const retryOptions = { maxRetries: options.maxRetries ?? 2, retryDelayInMs: 250, maxRetryDelayInMs: 2000 };
  const credential = new ClientSecretCredential(credentials.tenantId, credentials.clientId, credentials.clientSecret, {
    ...(az ? { authorityHost: az.authorityHost, disableInstanceDiscovery: true } : {}),
    ...(tlsOptions ? { tlsOptions } : {}),
    retryOptions,
  });
  // no request may wait forever: a hung socket would hold a node's launch (and its lock) until redelivery
  const timeoutPolicy: PipelinePolicy = { name: 'skyweaveRequestTimeout', sendRequest: (req, next) => { req.timeout = REQUEST_TIMEOUT_MS; return next(req); } };
  const common = {
    ...(az ? { endpoint: az.arm } : {}), ...(tlsOptions ? { tlsOptions } : {}), retryOptions,
    additionalPolicies: [{ policy: timeoutPolicy, position: 'perCall' as const }],
  };
  const interval = options.pollIntervalMs ?? (az ? 250 : undefined);
  return {
    resources: new ResourceManagementClient(credential, credentials.subscriptionId, { ...common, credentialScopes: [ARM_SCOPE] }),
    network: new NetworkManagementClient(credential, credentials.subscriptionId, { ...common, credentialScopes: [ARM_SCOPE] }),
    compute: new ComputeManagementClient(credential, credentials.subscriptionId, { ...common, credentials: { scopes: [ARM_SCOPE] } }),
    poll: interval !== undefined ? { updateIntervalInMs: interval } : {},
  };
}
