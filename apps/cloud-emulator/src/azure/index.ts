import { randomUUID, randomBytes } from 'node:crypto';
import express from 'express';
import type { Request, Response, NextFunction } from 'express';
import type { CloudContext, CloudModule, FaultKind, InventoryItem, Operation as LatencyOp } from '../core/types';
import { UNKNOWN_CALL } from '../core/calls';
import { stampNow } from '../core/consistency';
import { Aad } from './aad';
import { ArmError, resourceGroupNotFound } from './arm-error';
import { Call, Env, Reply, eqi, seen } from './common';
import { COMPUTE_NS, coresQuotaError, handleCompute, listVmSizes, listVmsAll } from './compute';
import { createRetailPrices } from './retail-prices';
import { NETWORK_NS, NETWORK_TYPES, handleNetwork, listNetworkAll, networkOperation } from './network';
import { groupOperationResult, handleGroup, listGroups, listResources, renderSubscription, rpOperation } from './resources';
import { AzureState, Resource } from './state';

/**
 * api-versions accepted per resource provider namespace: the ones the pinned SDKs send (arm-resources 7.0.0 →
 * 2025-04-01, arm-network 36.0.0 → 2025-05-01, arm-compute 24.1.0 → 2026-03-01) and a few older stable ones.
 */
export const API_VERSIONS: Record<string, string[]> = {
  'microsoft.resources': ['2025-04-01', '2025-03-01', '2024-11-01', '2024-07-01', '2024-03-01', '2023-07-01', '2022-12-01', '2022-09-01', '2021-04-01', '2021-01-01', '2020-06-01', '2020-01-01', '2019-10-01', '2016-06-01'],
  'microsoft.network': ['2025-05-01', '2025-03-01', '2025-01-01', '2024-10-01', '2024-07-01', '2024-05-01', '2024-03-01', '2024-01-01', '2023-11-01', '2023-09-01', '2023-06-01', '2023-05-01', '2023-04-01', '2023-02-01', '2022-11-01', '2022-09-01', '2022-07-01', '2022-05-01', '2022-01-01', '2021-08-01', '2021-05-01', '2021-03-01', '2021-02-01', '2020-11-01'],
  'microsoft.compute': ['2026-03-01', '2025-04-01', '2024-11-01', '2024-07-01', '2024-03-01', '2023-09-01', '2023-07-01', '2023-03-01', '2022-11-01', '2022-08-01', '2022-03-01', '2021-11-01', '2021-07-01', '2021-04-01', '2021-03-01'],
};

type Route =
  | { kind: 'subscriptions' }
  | { kind: 'subscription' }
  | { kind: 'groups' }
  | { kind: 'group'; rg: string }
  | { kind: 'groupResources'; rg: string }
  | { kind: 'resources' }
  | { kind: 'groupOperation'; token: string }
  | { kind: 'rpOperation'; ns: string; id: string; result: boolean }
  | { kind: 'rpListAll'; ns: string; type: string }
  | { kind: 'vmSizes'; ns: string; location: string }
  | { kind: 'rpResource'; ns: string; rg: string; type: string; name?: string; rest: string[] };

const notFoundPath = (path: string) => new ArmError(404, 'NotFound', `The requested path '${path}' was not found.`);

function route(segs: string[], path: string): { route: Route; sub?: string } {
  const l = segs.map((s) => s.toLowerCase());
  if (l[0] !== 'subscriptions') throw notFoundPath(path);
  if (segs.length === 1) return { route: { kind: 'subscriptions' } };
  const sub = segs[1];
  if (segs.length === 2) return { route: { kind: 'subscription' }, sub };
  if (l[2] === 'resourcegroups') {
    if (segs.length === 3) return { route: { kind: 'groups' }, sub };
    const rg = segs[3];
    if (segs.length === 4) return { route: { kind: 'group', rg }, sub };
    if (segs.length === 5 && l[4] === 'resources') return { route: { kind: 'groupResources', rg }, sub };
    if (l[4] === 'providers' && segs.length >= 7) {
      return { route: { kind: 'rpResource', ns: segs[5], rg, type: segs[6], name: segs[7], rest: segs.slice(8) }, sub };
    }
    throw notFoundPath(path);
  }
  if (l[2] === 'resources' && segs.length === 3) return { route: { kind: 'resources' }, sub };
  if (l[2] === 'operationresults' && segs.length === 4) return { route: { kind: 'groupOperation', token: segs[3] }, sub };
  if (l[2] === 'providers' && segs.length >= 4) {
    const ns = segs[3];
    if (segs.length === 8 && l[4] === 'locations' && (l[6] === 'operations' || l[6] === 'operationresults')) {
      return { route: { kind: 'rpOperation', ns, id: segs[7], result: l[6] === 'operationresults' }, sub };
    }
    if (segs.length === 5) return { route: { kind: 'rpListAll', ns, type: segs[4] }, sub };
    if (segs.length === 7 && l[4] === 'locations' && l[6] === 'vmsizes') return { route: { kind: 'vmSizes', ns, location: segs[5] }, sub };
  }
  throw notFoundPath(path);
}

/** Canonical casing of the namespaces and resource types the sandbox serves (call names use it). */
const CANONICAL: Record<string, string> = Object.fromEntries(
  ['Microsoft.Resources', 'Microsoft.Network', 'Microsoft.Compute', 'virtualNetworks', 'subnets', 'networkSecurityGroups', 'publicIPAddresses', 'networkInterfaces', 'virtualMachines']
    .map((s) => [s.toLowerCase(), s]),
);
const canon = (s: string): string => CANONICAL[s.toLowerCase()] ?? s;

/**
 * The call name of an ARM request (core/calls.ts): `<METHOD> <resource type>`, with `LIST` for a GET of a collection —
 * `PUT Microsoft.Network/virtualNetworks`, `GET Microsoft.Compute/virtualMachines`, `LIST Microsoft.Resources/resourceGroups`,
 * `GET Microsoft.Network/locations/operations` (LRO status).
 */
function armCallName(method: string, r: Route): string {
  const m = (collection: boolean) => (method === 'GET' && collection ? 'LIST' : method);
  switch (r.kind) {
    case 'subscriptions': return `${m(true)} Microsoft.Resources/subscriptions`;
    case 'subscription': return `${m(false)} Microsoft.Resources/subscriptions`;
    case 'groups': return `${m(true)} Microsoft.Resources/resourceGroups`;
    case 'group': return `${m(false)} Microsoft.Resources/resourceGroups`;
    case 'groupResources':
    case 'resources': return `${m(true)} Microsoft.Resources/resources`;
    case 'groupOperation': return `${method} Microsoft.Resources/operationResults`;
    case 'rpOperation': return `${method} ${canon(r.ns)}/locations/${r.result ? 'operationResults' : 'operations'}`;
    case 'rpListAll': return `${m(true)} ${canon(r.ns)}/${canon(r.type)}`;
    case 'vmSizes': return `${m(true)} ${canon(r.ns)}/locations/vmSizes`;
    case 'rpResource': {
      const children = r.rest.filter((_, i) => i % 2 === 0).map(canon);
      const collection = r.name === undefined || r.rest.length % 2 === 1;
      return `${m(collection)} ${[canon(r.ns), canon(r.type), ...children].join('/')}`;
    }
  }
}

const namespaceOf = (r: Route): string => (r.kind === 'rpOperation' || r.kind === 'rpListAll' || r.kind === 'rpResource' || r.kind === 'vmSizes' ? r.ns.toLowerCase() : 'microsoft.resources');

/** The latency/fault operation of a call. */
function operationOf(method: string, r: Route): LatencyOp {
  if (method === 'GET' || method === 'HEAD') return 'read';
  if (r.kind === 'group') return method === 'DELETE' ? 'network.delete' : 'network.create';
  if (r.kind === 'rpResource') {
    if (eqi(r.ns, COMPUTE_NS)) return method === 'DELETE' ? 'instance.delete' : 'instance.create';
    const kind = NETWORK_TYPES[r.type.toLowerCase() as keyof typeof NETWORK_TYPES];
    if (kind) return networkOperation(method, kind, r.rest.length > 0);
  }
  return 'read';
}

/** What a fault looks like on this call, in ARM's own error shapes. */
function faultError(kind: FaultKind, op: LatencyOp, r: Route, call: { account: { subscriptionId: string }; location: string }): ArmError {
  const trackingId = randomUUID();
  const isVm = r.kind === 'rpResource' && eqi(r.ns, COMPUTE_NS);
  const type = r.kind === 'rpResource' ? r.type.toLowerCase() : r.kind;
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
      if (r.kind === 'group') return new ArmError(400, 'ResourceGroupQuotaExceeded', `Creating the resource group will exceed the quota of '980'. The current resource group count is '980'. Please delete some resource groups before creating a new one.`);
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
 * Sandbox Azure: Microsoft Entra ID token endpoint, Azure Resource Manager (Resources, Network, Compute, with
 * `Microsoft.Compute/locations/{location}/vmSizes`) and the Retail Prices API (`GET /api/retail/prices`, no auth).
 * Calls are counted as `<METHOD> <resource type>` (`LIST` for collections; see armCallName). With eventual consistency
 * on, GET/HEAD and lists do not see resource groups and resources younger than the window (404
 * `ResourceGroupNotFound` / `ResourceNotFound`, left out of lists) — nor do the SDK pollers' final GETs.
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
      const segs = url.pathname.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
      let routed: ReturnType<typeof route>;
      try {
        routed = route(segs, url.pathname);
      } catch (e) {
        count(res, UNKNOWN_CALL);
        throw e;
      }
      const { route: r, sub } = routed;
      count(res, armCallName(method, r));
      const account = await aad.authenticate(req.headers);
      const apiVersion = query['api-version'];
      if (!apiVersion) throw new ArmError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
      const ns = namespaceOf(r);
      const supported = API_VERSIONS[ns];
      if (!supported) {
        throw new ArmError(400, 'InvalidResourceNamespace', `The resource namespace '${r.kind === 'rpResource' || r.kind === 'rpListAll' || r.kind === 'rpOperation' ? r.ns : ns}' is invalid.`);
      }
      if (!supported.includes(apiVersion)) {
        if (r.kind === 'rpResource' || r.kind === 'rpListAll') {
          throw new ArmError(
            400,
            'NoRegisteredProviderFound',
            `No registered resource provider found for location '${r.kind === 'rpResource' ? (state.group(account.subscriptionId, r.rg)?.location ?? 'global') : 'global'}' and API version '${apiVersion}' for type '${r.type}'. The supported api-versions are '${supported.join(', ')}'. The supported locations are 'eastus, westeurope, germanywestcentral, swedencentral'.`,
          );
        }
        throw new ArmError(400, 'InvalidApiVersionParameter', `The api-version '${apiVersion}' is invalid. The supported versions are '${supported.join(',')}'.`);
      }
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
      const op = operationOf(method, r);
      const fault = ctx.takeFault('azure', op);
      if (fault) {
        const bodyLocation = typeof (req.body as { location?: unknown } | undefined)?.location === 'string' ? String((req.body as { location: string }).location) : undefined;
        const location = bodyLocation ?? (r.kind === 'rpResource' || r.kind === 'group' ? state.group(account.subscriptionId, r.rg)?.location : undefined) ?? 'eastus';
        throw faultError(fault, op, r, { account, location });
      }
      send(res, method, await dispatch(env, call, r));
    } catch (e) {
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

async function dispatch(env: Env, call: Call, r: Route): Promise<Reply> {
  const onlyGet = () => {
    if (call.method !== 'GET') throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${call.method}'.`);
  };
  switch (r.kind) {
    case 'subscriptions':
      onlyGet();
      await env.ctx.delay('read');
      return { status: 200, body: { value: [renderSubscription(call)], count: { type: 'Total', value: 1 } } };
    case 'subscription':
      onlyGet();
      await env.ctx.delay('read');
      return { status: 200, body: renderSubscription(call) };
    case 'groups':
      onlyGet();
      return listGroups(env, call);
    case 'group':
      return handleGroup(env, call, r.rg);
    case 'groupResources':
      onlyGet();
      return listResources(env, call, r.rg);
    case 'resources':
      onlyGet();
      return listResources(env, call);
    case 'groupOperation':
      onlyGet();
      return groupOperationResult(env, call, r.token);
    case 'rpOperation':
      onlyGet();
      return rpOperation(env, call, r.ns, r.id, r.result);
    case 'vmSizes':
      onlyGet();
      if (!eqi(r.ns, COMPUTE_NS)) throw new ArmError(404, 'InvalidResourceType', `The resource type 'locations/vmSizes' could not be found in the namespace '${r.ns}' for api version '${call.apiVersion}'.`);
      return listVmSizes(env, r.location);
    case 'rpListAll': {
      onlyGet();
      if (eqi(r.ns, COMPUTE_NS) && eqi(r.type, 'virtualMachines')) return listVmsAll(env, call);
      const kind = eqi(r.ns, NETWORK_NS) ? NETWORK_TYPES[r.type.toLowerCase() as keyof typeof NETWORK_TYPES] : undefined;
      if (kind) return listNetworkAll(env, call, kind);
      throw new ArmError(404, 'InvalidResourceType', `The resource type '${r.type}' could not be found in the namespace '${r.ns}' for api version '${call.apiVersion}'.`);
    }
    case 'rpResource': {
      const g = env.state.group(call.account.subscriptionId, r.rg);
      if (!g) throw resourceGroupNotFound(r.rg);
      // A read in a group that reads cannot see yet answers as ARM does for a group that does not exist.
      if ((call.method === 'GET' || call.method === 'HEAD') && !seen(env, g)) throw resourceGroupNotFound(r.rg);
      if (g.deleting && call.method !== 'GET' && call.method !== 'HEAD' && call.method !== 'DELETE') {
        throw new ArmError(409, 'ResourceGroupBeingDeleted', `The resource group '${g.name}' is in deprovisioning state and cannot perform this operation.`);
      }
      if (eqi(r.ns, COMPUTE_NS)) return handleCompute(env, call, g, r.type, r.name, r.rest);
      if (eqi(r.ns, NETWORK_NS)) {
        const kind = NETWORK_TYPES[r.type.toLowerCase() as keyof typeof NETWORK_TYPES];
        if (!kind) throw new ArmError(404, 'InvalidResourceType', `The resource type '${r.type}' could not be found in the namespace '${r.ns}' for api version '${call.apiVersion}'.`);
        if (r.rest.length > 2) throw new ArmError(404, 'InvalidResourceType', `The resource type '${r.type}/${r.rest[0]}/${r.rest[2]}' could not be found in the namespace '${r.ns}' for api version '${call.apiVersion}'.`);
        const child = r.rest.length ? { type: r.rest[0], name: r.rest[1] } : undefined;
        return handleNetwork(env, call, g, kind, r.name, child);
      }
      throw new ArmError(404, 'InvalidResourceType', `The resource type '${r.type}' could not be found in the namespace '${r.ns}' for api version '${call.apiVersion}'.`);
    }
  }
}
