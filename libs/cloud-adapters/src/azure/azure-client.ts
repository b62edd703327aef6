import { ClientSecretCredential } from '@azure/identity';
import { ResourceManagementClient } from '@azure/arm-resources';
import { NetworkManagementClient } from '@azure/arm-network';
import { ComputeManagementClient } from '@azure/arm-compute';
import type { PipelinePolicy, PipelineRequest } from '@azure/core-rest-pipeline';
import type { AzureCredentials, CloudEndpoints } from '../cloud-provider';
import { CloudError } from '../errors';
import { recordCloudRequest, recordCloudRetry } from '../metrics';
import { SDK_RETRY } from '../retry';
import { classify } from './azure-helpers';

/** Per-request timeout for ARM calls, in milliseconds. */
const REQUEST_TIMEOUT_MS = 30_000;
const ARM_SCOPE = 'https://management.azure.com/.default';

/**
 * The metric operation of an ARM request: its HTTP method and resource type, e.g. `PUT Microsoft.Network/virtualNetworks`
 * or `GET resourceGroups` (names of resources left out, so the label set stays small).
 */
export function armOperation(method: string, url: string): string {
  const segs = new URL(url).pathname.split('/').filter(Boolean);
  const p = segs.map((x) => x.toLowerCase()).lastIndexOf('providers');
  let type: string;
  if (p >= 0 && p + 1 < segs.length) type = [segs[p + 1], ...segs.slice(p + 2).filter((_, i) => i % 2 === 0)].join('/');
  else type = segs.filter((_, i) => i % 2 === 0).slice(1).join('/') || 'subscriptions'; // subscriptions/{id}/resourcegroups/{name}/…
  return `${method} ${type}`;
}

/** Attempts already sent per ARM request (the SDK's retry policy sends the same request object again), and the last failure. */
const attemptsOf = new WeakMap<PipelineRequest, { sent: number; last?: CloudError }>();

/**
 * Placed per retry (`perRetry`), so it sees every attempt the SDK's retry policies send: records each ARM request in
 * the cloud metrics, classified as the adapter classifies errors (azure-helpers.ts `classify`), and each retry.
 */
const metricsPolicy: PipelinePolicy = {
  name: 'skyweaveCloudMetrics',
  async sendRequest(req, next) {
    const operation = armOperation(req.method, req.url);
    const seen = attemptsOf.get(req) ?? { sent: 0 };
    attemptsOf.set(req, seen);
    if (seen.sent++ > 0) recordCloudRetry('azure', seen.last, operation);
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const res = await next(req);
      if (res.status < 400) {
        recordCloudRequest('azure', operation, seconds());
      } else {
        let code: string | undefined;
        try { code = (JSON.parse(res.bodyAsText ?? '') as { error?: { code?: string } }).error?.code; } catch { code = undefined; }
        code ??= `http_${res.status}`;
        seen.last = new CloudError(classify({ code, status: res.status, message: '' }), 'azure', code, `HTTP ${res.status}`);
        recordCloudRequest('azure', operation, seconds(), seen.last);
      }
      return res;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      seen.last = new CloudError('Unavailable', 'azure', typeof code === 'string' ? code : 'network_error', String(e));
      recordCloudRequest('azure', operation, seconds(), seen.last);
      throw e;
    }
  },
};

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
 * the SDK's own retry of throttled (honouring `Retry-After`), 5xx and unanswered requests as the only retry of ARM
 * calls (the adapter does not retry them again), set from retry.ts `SDK_RETRY` (`maxRetries` default 2, i.e. 3
 * attempts; 100 ms → 2 s); every attempt recorded in the cloud metrics (`metricsPolicy`); a 30 s per-request
 * timeout; long-running operations polled every `pollIntervalMs` (default: the endpoints' `azure.pollIntervalMs`, else 250
 * against an overridden endpoint, the SDK's 2000 on Azure).
 */
export function createAzureClients(
  credentials: AzureCredentials,
  endpoints: CloudEndpoints,
  options: { pollIntervalMs?: number; maxRetries?: number } = {},
): AzureClients {
  const az = endpoints.azure;
  const tlsOptions = az?.caPem ? { ca: az.caPem } : undefined;
  const retryOptions = { maxRetries: options.maxRetries ?? SDK_RETRY.maxRetries, retryDelayInMs: SDK_RETRY.initialDelayMs, maxRetryDelayInMs: SDK_RETRY.maxDelayMs };
  const credential = new ClientSecretCredential(credentials.tenantId, credentials.clientId, credentials.clientSecret, {
    ...(az ? { authorityHost: az.authorityHost, disableInstanceDiscovery: true } : {}),
    ...(tlsOptions ? { tlsOptions } : {}),
    retryOptions,
  });
  // no request may wait forever: a hung socket would hold a node's launch (and its lock) until redelivery
  const timeoutPolicy: PipelinePolicy = { name: 'skyweaveRequestTimeout', sendRequest: (req, next) => { req.timeout = REQUEST_TIMEOUT_MS; return next(req); } };
  const common = {
    ...(az ? { endpoint: az.arm } : {}), ...(tlsOptions ? { tlsOptions } : {}), retryOptions,
    additionalPolicies: [{ policy: timeoutPolicy, position: 'perCall' as const }, { policy: metricsPolicy, position: 'perRetry' as const }],
  };
  const interval = options.pollIntervalMs ?? az?.pollIntervalMs ?? (az ? 250 : undefined);
  return {
    resources: new ResourceManagementClient(credential, credentials.subscriptionId, { ...common, credentialScopes: [ARM_SCOPE] }),
    network: new NetworkManagementClient(credential, credentials.subscriptionId, { ...common, credentialScopes: [ARM_SCOPE] }),
    compute: new ComputeManagementClient(credential, credentials.subscriptionId, { ...common, credentials: { scopes: [ARM_SCOPE] } }),
    poll: interval !== undefined ? { updateIntervalInMs: interval } : {},
  };
}
