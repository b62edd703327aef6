import { randomUUID, randomBytes } from 'node:crypto';
import express from 'express';
import type { Request, Response, NextFunction } from 'express';
import type { CloudContext, CloudModule, FaultKind, InventoryItem, Operation as LatencyOp } from '../core/types';
import { UNKNOWN_CALL } from '../core/calls';
import { stampNow } from '../core/consistency';
import { SandboxUnimplemented } from '../core/unimplemented';
import { Aad } from './aad';
import { apiVersionsFor } from './api-versions';
import { ArmError, resourceGroupNotFound } from './arm-error';
import { SDK_ARM_OPERATIONS } from './arm-operations';
import { Call, Env, Reply, eqi, seen } from './common';
import { COMPUTE_CATALOG_OPERATIONS } from './compute-catalog';
import type { ArmOperationTable } from './context';
import { DISK_OPERATIONS } from './disks';
import { INTERFACE_OPERATIONS } from './interfaces';
import { EMPTY_NETWORK_OPERATIONS } from './network-common';
import { PROVIDER_OPERATIONS } from './providers';
import { RESOURCE_GROUP_OPERATIONS } from './resource-groups';
import { createRetailPrices } from './retail-prices';
import { ArmPath, NotArmPath, parseArmPath, pathSegments } from './route';
import { NSG_OPERATIONS } from './security-groups';
import { AzureState, Resource, ResourceGroup } from './state';
import { LOCATIONS } from './validate';
import { COMPUTE_NS, VM_OPERATIONS, coresQuotaError } from './virtual-machines';
import { VNET_OPERATIONS } from './virtual-networks';

export { API_VERSIONS } from './api-versions';

/** The operations the sandbox serves, keyed `<METHOD> <resource type>` (route.ts, core/calls.ts). */
export const ARM_OPERATIONS: ArmOperationTable = {
  ...RESOURCE_GROUP_OPERATIONS, ...PROVIDER_OPERATIONS, ...VNET_OPERATIONS, ...NSG_OPERATIONS, ...INTERFACE_OPERATIONS, ...EMPTY_NETWORK_OPERATIONS,
  ...VM_OPERATIONS, ...DISK_OPERATIONS, ...COMPUTE_CATALOG_OPERATIONS,
};
const SERVED = new Map(Object.entries(ARM_OPERATIONS).map(([name, def]) => [name.toLowerCase(), { name, def }]));
/** Real ARM operations (the SDKs' and the sandbox's own), lower-cased → canonical name. */
const KNOWN = new Map([...Object.keys(SDK_ARM_OPERATIONS), ...Object.keys(ARM_OPERATIONS)].map((k) => [k.toLowerCase(), k]));
/** Real resource types (`ns/type`, lower case), whatever the method. */
const KNOWN_TYPES = new Set([...KNOWN.keys()].map((k) => k.slice(k.indexOf(' ') + 1)));
/**
 * The resource providers whose every operation the pinned SDKs know (arm-network, arm-compute): in them, a type no SDK
 * knows is ARM's `InvalidResourceType`. Microsoft.Resources is split over several SDK packages (deployments, template
 * specs, subscriptions … are not installed), so an unknown type there answers 501 like any other provider's.
 */
const EMULATED_NAMESPACES = new Set(['microsoft.network', 'microsoft.compute']);

const notFoundPath = (path: string) => new ArmError(404, 'NotFound', `The requested path '${path}' was not found.`);

/** What a fault looks like on this call, in ARM's own error shapes. */
function faultError(kind: FaultKind, op: LatencyOp, r: ArmPath, call: { account: { subscriptionId: string }; location: string }): ArmError {
  const trackingId = randomUUID();
  const inGroup = r.rg !== undefined && !eqi(r.ns, 'Microsoft.Resources');
  const isVm = inGroup && eqi(r.ns, COMPUTE_NS);
  const isGroup = eqi(r.ns, 'Microsoft.Resources') && eqi(r.type, 'resourceGroups');
  const type = inGroup ? r.type.split('/')[0].toLowerCase() : r.type;
  switch (op === 'read' && (kind === 'quota' || kind === 'capacity') ? (kind === 'quota' ? 'throttle' : 'server-error') : kind) {
    case 'throttle':
    {
      // ARM's token-bucket throttling: Retry-After in seconds, and the bucket that ran dry at 0.
      const bucket = op === 'read' ? 'reads' : 'writes';
      return new ArmError(
        429,
        'TooManyRequests',
        `The request is being throttled as the limit has been reached for operation type - ${op === 'read' ? 'Read' : 'Write'}_ObservationWindow_00:05:00. For more information, refer to - https://aka.ms/armthrottling`,
        { headers: { 'Retry-After': '1', [`x-ms-ratelimit-remaining-subscription-${bucket}`]: '0', [`x-ms-ratelimit-remaining-subscription-global-${bucket}`]: '0' } },
      );
    }
    case 'server-error':
      return new ArmError(
        500,
        'InternalServerError',
        `Encountered internal server error. Diagnostic information: timestamp '${new Date().toISOString()}', subscription id '${call.account.subscriptionId}', tracking id '${trackingId}', request correlation id '${randomUUID()}'.`,
      );
    case 'quota':
      if (isVm) return coresQuotaError(call.location, 98, 2);
      if (type === 'publicipaddresses') return new ArmError(400, 'PublicIPCountLimitReached', `Cannot create more than 1000 public IP addresses for this subscription in this region.`);
      if (isGroup) return new ArmError(400, 'ResourceGroupQuotaExceeded', `Creating the resource group will exceed the quota of '980'. The current resource group count is '980'. Please delete some resource groups before creating a new one.`);
      return new ArmError(400, 'QuotaExceeded', `Cannot create more than 1000 ${type} for this subscription in this region.`);
    case 'capacity':
    default:
      if (isVm) {
        return new ArmError(
          409,
          'SkuNotAvailable',
          `The requested VM size for resource 'Following SKUs have failed for Capacity Restrictions: Standard_B2s' is currently not available in location '${call.location}'. Please try another size or deploy to a different location or zones. See https://aka.ms/azureskunotavailable for details.`,
        );
      }
      return new ArmError(409, 'AllocationFailed', `Allocation failed. We do not have sufficient capacity for the requested resource in region '${call.location}'. Please try again later or choose a different region.`);
  }
}

/**
 * Sandbox Azure: Microsoft Entra ID token endpoint, Azure Resource Manager and the Retail Prices API
 * (`GET /api/retail/prices`, no auth). ARM calls go through one table, `ARM_OPERATIONS`, keyed by the call name
 * `<METHOD> <resource type>` (route.ts; `LIST` for collections), each entry a small handler over the shared state
 * (state.ts), by family:
 * - resource-groups.ts: Subscriptions - List/Get; Resource Groups - PUT/GET/HEAD/PATCH/DELETE/List; Resources - List;
 *   the LRO monitors (`…/operationresults/{token}`, `<ns>/locations/{loc}/operations|operationResults/{id}`);
 * - providers.ts: Providers - List/Get;
 * - virtual-networks.ts, security-groups.ts, interfaces.ts (network-common.ts): virtualNetworks (+ subnets),
 *   networkSecurityGroups (+ securityRules / defaultSecurityRules reads), publicIPAddresses, networkInterfaces —
 *   PUT/GET/PATCH/DELETE, List, List All; routeTables and
 *   loadBalancers List/List All/GET (always empty);
 * - virtual-machines.ts: virtualMachines PUT/GET/PATCH/DELETE, List, List All, Instance View, List Available Sizes;
 *   disks.ts: disks
 *   GET/List/List By Resource Group; compute-catalog.ts: locations/vmSizes, skus, locations/publishers/… (images),
 *   locations/usages.
 * A real ARM operation (arm-operations.ts, from the SDKs) that the table lacks, or any call of a provider the sandbox
 * does not emulate, answers 501 (`ctx.unimplemented`); a type no emulated provider has is ARM's 404
 * `InvalidResourceType`. api-versions: api-versions.ts. With eventual consistency on, GET/HEAD and lists do not see
 * resource groups and resources younger than the window (404 `ResourceGroupNotFound` / `ResourceNotFound`, left out of
 * lists) — nor do the SDK pollers' final GETs. See docs/sandbox-cloud/azure.md.
 */
export function createAzureCloud(ctx: CloudContext): CloudModule {
  const state = new AzureState(ctx.publicIps);
  const env: Env = { state, ctx };
  const aad = new Aad(state);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const send = (res: Response, method: string, reply: Reply): void => {
    res.status(reply.status);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Pragma', 'no-cache');
    res.setHeader('x-ms-request-id', randomUUID());
    res.setHeader('x-ms-correlation-request-id', randomUUID());
    res.setHeader('x-ms-routing-request-id', `EASTUS:${new Date().toISOString().replace(/[-:.]/g, '')}:${randomUUID()}`);
    for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
    if (reply.body === undefined || method === 'HEAD') {
      if (reply.status !== 204) res.setHeader('Content-Length', '0');
      res.end();
      return;
    }
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(reply.body));
  };
  const sendError = (res: Response, method: string, e: ArmError) => send(res, method, { status: e.status, body: e.body(), headers: e.extra.headers });
  const base = (req: Request) => `https://${req.headers.host ?? '127.0.0.1'}`;
  /** Counts the request once under `call` (core/calls.ts). */
  const count = (res: Response, call: string) => {
    if (res.locals.callCounted) return;
    res.locals.callCounted = true;
    ctx.countCall?.('azure', call);
  };

  // --- Microsoft Entra ID ------------------------------------------------------------------------------------------
  app.get('/common/discovery/instance', (req, res) => {
    count(res, 'GET /common/discovery/instance');
    const host = req.headers.host ?? '127.0.0.1';
    res.json({
      tenant_discovery_endpoint: `${base(req)}/common/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  });
  app.get(['/:tenant/v2.0/.well-known/openid-configuration', '/:tenant/.well-known/openid-configuration'], (req, res) => {
    const tenant = String(req.params.tenant);
    count(res, `GET /{tenant}${req.path.includes('/v2.0/') ? '/v2.0' : ''}/.well-known/openid-configuration`);
    const r = aad.openIdConfiguration(base(req), tenant, req.path.includes('/v2.0/'));
    res.status(r.status).json(r.body);
  });
  app.post(['/:tenant/oauth2/v2.0/token', '/:tenant/oauth2/token'], (req: Request, res: Response, next: NextFunction) => {
    count(res, `POST /{tenant}/oauth2${req.path.includes('/v2.0/') ? '/v2.0' : ''}/token`);
    next();
  }, express.urlencoded({ extended: false, type: () => true }), async (req, res) => {
    const form: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries((req.body ?? {}) as Record<string, unknown>)) form[k] = typeof v === 'string' ? v : Array.isArray(v) ? String(v[0]) : undefined;
    let basic: { id: string; secret: string } | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [id, ...rest] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
      basic = { id: decodeURIComponent(id), secret: decodeURIComponent(rest.join(':')) };
    }
    const r = await aad.token(String(req.params.tenant), form, basic);
    res.setHeader('Cache-Control', 'no-store, no-cache');
    res.status(r.status).json(r.body);
  });

  // --- Azure Retail Prices API (prices.azure.com: unauthenticated, OData $filter; retail-prices.ts) -------------------
  const retail = createRetailPrices(ctx);
  app.all('/api/retail/prices', (req: Request, res: Response, next: NextFunction) => {
    count(res, 'GET /api/retail/prices');
    retail.handle(req, res).catch(next);
  });

  // --- Azure Resource Manager --------------------------------------------------------------------------------------
  app.use(express.json({ type: () => true, limit: '4mb', strict: false }));
  app.use(async (req: Request, res: Response) => {
    const method = req.method.toUpperCase();
    const now = Date.now();
    state.scheduler.settle(now);
    const url = new URL(req.originalUrl, 'https://sandbox');
    const query: Record<string, string | undefined> = {};
    for (const [k, v] of url.searchParams) if (!(k in query)) query[k] = v;
    try {
      let path: ArmPath;
      try {
        path = parseArmPath(method, pathSegments(url.pathname), url.pathname);
      } catch (e) {
        count(res, UNKNOWN_CALL);
        if (e instanceof NotArmPath) throw notFoundPath(url.pathname);
        throw e;
      }
      const key = path.call.toLowerCase();
      const served = SERVED.get(key);
      const known = served?.name ?? KNOWN.get(key);
      const core = eqi(path.ns, 'Microsoft.Resources') && !path.path.toLowerCase().includes('/providers/');
      const emulated = EMULATED_NAMESPACES.has(path.ns.toLowerCase()) || core;
      count(res, known ?? (emulated ? UNKNOWN_CALL : path.call));
      const account = await aad.authenticate(req.headers);
      const apiVersion = query['api-version'];
      if (!served) {
        // A real ARM operation the sandbox lacks (or any call of a provider it does not emulate): 501, never a 404.
        if (known || !emulated) return ctx.unimplemented(res, 'azure', known ?? path.call);
        if (!apiVersion) throw new ArmError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
        if (KNOWN_TYPES.has(`${path.ns}/${path.type}`.toLowerCase())) throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
        if (core) throw notFoundPath(url.pathname);
        throw new ArmError(404, 'InvalidResourceType', `The resource type '${path.type}' could not be found in the namespace '${path.ns}' for api version '${apiVersion}'.`);
      }
      if (!apiVersion) throw new ArmError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
      const supported = apiVersionsFor(served.name, path.ns, path.type);
      if (!supported.includes(apiVersion)) {
        if (path.path.toLowerCase().includes('/providers/') && !eqi(path.ns, 'Microsoft.Resources')) {
          const location = path.rg !== undefined ? (state.group(account.subscriptionId, path.rg)?.location ?? 'global') : 'global';
          throw new ArmError(
            400,
            'NoRegisteredProviderFound',
            `No registered resource provider found for location '${location}' and API version '${apiVersion}' for type '${path.type.split('/')[0]}'. The supported api-versions are '${supported.join(', ')}'. The supported locations are '${LOCATIONS.join(', ')}'.`,
          );
        }
        throw new ArmError(400, 'InvalidApiVersionParameter', `The api-version '${apiVersion}' is invalid. The supported versions are '${supported.join(',')}'.`);
      }
      const sub = path.sub;
      if (sub !== undefined && !eqi(sub, account.subscriptionId)) {
        const owner = state.accountBySubscription(sub);
        if (!owner) throw new ArmError(404, 'SubscriptionNotFound', `The subscription '${sub}' could not be found.`);
        throw new ArmError(
          401,
          'InvalidAuthenticationTokenTenant',
          `The access token is from the wrong issuer 'https://sts.windows.net/${account.tenantId}/'. It must match the tenant 'https://sts.windows.net/${owner.tenantId}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/${owner.tenantId}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.`,
        );
      }
      const call: Call = { method, base: base(req), url: req.originalUrl, apiVersion, query, body: req.body, account, now, clock: stampNow(ctx) };
      const op = served.def.op;
      const fault = ctx.takeFault('azure', op);
      if (fault) {
        const bodyLocation = typeof (req.body as { location?: unknown } | undefined)?.location === 'string' ? String((req.body as { location: string }).location) : undefined;
        const location = bodyLocation ?? (path.rg !== undefined ? state.group(account.subscriptionId, path.rg)?.location : undefined) ?? 'eastus';
        throw faultError(fault, op, path, { account, location });
      }
      let group: ResourceGroup | undefined;
      if (path.rg !== undefined && !eqi(path.ns, 'Microsoft.Resources')) {
        // A call in a resource group's provider path: the group must exist (and be seen by reads).
        group = state.group(account.subscriptionId, path.rg);
        if (!group) throw resourceGroupNotFound(path.rg);
        if ((method === 'GET' || method === 'HEAD') && !seen(env, group)) throw resourceGroupNotFound(path.rg);
        if (group.deleting && method !== 'GET' && method !== 'HEAD' && method !== 'DELETE') {
          throw new ArmError(409, 'ResourceGroupBeingDeleted', `The resource group '${group.name}' is in deprovisioning state and cannot perform this operation.`);
        }
      }
      send(res, method, await served.def.run({ env, call, path, group }));
    } catch (e) {
      if (e instanceof SandboxUnimplemented) return ctx.unimplemented(res, 'azure', e.operation);
      if (e instanceof ArmError) return sendError(res, method, e);
      sendError(res, method, new ArmError(500, 'InternalServerError', `The sandbox failed to process the request: ${e instanceof Error ? e.message : String(e)}`));
    }
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    count(res, UNKNOWN_CALL);
    const message = err instanceof Error ? err.message : String(err);
    sendError(res, req.method, new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: '${message}'.`));
  });

  const inventoryKind: Record<Resource['kind'], string> = {
    vnet: 'virtual-network', subnet: 'subnet', nsg: 'network-security-group', pip: 'public-ip', nic: 'network-interface', vm: 'virtual-machine', disk: 'disk',
  };

  return {
    cloud: 'azure',
    handler: app,
    prices: retail.admin,
    createAccount() {
      const tenantId = randomUUID();
      const acct = { tenantId, clientId: randomUUID(), clientSecret: `${randomBytes(3).toString('hex')}8Q~${randomBytes(24).toString('base64url')}`, principalId: randomUUID(), subscriptionId: randomUUID() };
      state.accounts.set(tenantId, acct);
      return { cloud: 'azure', azure: { tenantId: acct.tenantId, clientId: acct.clientId, clientSecret: acct.clientSecret, subscriptionId: acct.subscriptionId } };
    },
    inventory(): InventoryItem[] {
      state.scheduler.settle();
      const groups: InventoryItem[] = [...state.groups.values()].map((g) => ({
        cloud: 'azure', account: g.subscriptionId, region: g.location, kind: 'resource-group', id: `/subscriptions/${g.subscriptionId}/resourceGroups/${g.name}`, name: g.name, tags: { ...g.tags },
      }));
      // Child resources (subnets) have no tags and go with their parent: they are not listed on their own.
      const resources: InventoryItem[] = [...state.resources.values()].filter((r) => r.kind !== 'subnet').map((r) => ({
        cloud: 'azure', account: r.subscriptionId, region: r.location, kind: inventoryKind[r.kind], id: r.id, name: r.name, tags: { ...r.tags },
      }));
      return [...groups, ...resources];
    },
  };
}

