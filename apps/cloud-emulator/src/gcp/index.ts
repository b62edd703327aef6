import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { TAG_CLUSTER } from '@skyweave/domain';
import type { CloudContext, CloudModule, InventoryItem } from '../core/types';
import { UNKNOWN_CALL } from '../core/calls';
import { realMethodOf } from './api-methods';
import { GcpAuth, OAuthError } from './auth';
import { regionOfZone } from './catalog';
import { createBilling } from './billing';
import { createComputeRouter } from './compute';
import { GcpHttpError, backendError, badJson } from './errors';
import { createDefaultNetwork } from './networks';
import { ProjectState } from './state';

/** `skyweave-cluster=<id>` inside a description (GCP networks, subnetworks and firewalls have no labels). */
function tagsFromDescription(description: string | undefined): Record<string, string> {
  const m = description ? new RegExp(`(?:^|\\s)${TAG_CLUSTER}=(\\S+)`).exec(description) : null;
  return m ? { [TAG_CLUSTER]: m[1] } : {};
}

/**
 * The sandbox's Google Cloud: Compute Engine v1 REST (JSON) under `/compute/v1/projects/{project}/…`, the Cloud
 * Billing Catalog API v1 under `/v1/services…` (Compute Engine's SKUs, billing.ts) and the OAuth 2.0 token endpoint
 * at `POST /token`. Layout: compute.ts dispatches the operation table (`<collection>.<method>` → verb + path template
 * → handler, context.ts), one file per family: networks.ts (networks, subnetworks, firewalls, the default network),
 * instances.ts (instances, disks, serial port), catalog-api.ts (regions, zones, machine types, images; data in
 * catalog.ts), operations.ts, account.ts (project, addresses, routes, routers); auth.ts, errors.ts, state.ts
 * (records and rendering) shared. See docs/sandbox-cloud/gcp.md.
 *
 * Served (https://cloud.google.com/compute/docs/reference/rest/v1): projects.get; regions.get/list; zones.get/list;
 * machineTypes.get/list/aggregatedList; images.get/list/getFromFamily (public project `ubuntu-os-cloud`);
 * networks.get/list/insert/delete; subnetworks.get/list/aggregatedList/insert/delete;
 * firewalls.get/list/insert/patch/delete; instances.get/list/aggregatedList/insert/delete/getSerialPortOutput;
 * disks.get/list/aggregatedList/delete; addresses.list/aggregatedList; routes.list; routers.list;
 * globalOperations/regionOperations/zoneOperations .get/.list/.wait. Any other real Compute method, v1 or beta (known
 * from the `google.api.http` annotations in `@google-cloud/compute`'s protos.json, api-methods.ts), answers the
 * sandbox's 501 (`ctx.unimplemented`); a path no Compute method has answers Google's 404 `notFound`.
 *
 * - Accounts: `createAccount()` makes a project with a service account and returns its key file (RSA key made here;
 *   `token_uri` is Google's, as in real key files — this endpoint serves it at `/token`, see CloudEndpoints.gcp).
 *   Clients exchange a signed JWT for an access token; every Compute call needs a valid bearer token for its project.
 *   A new project has the `default` network (auto mode, a subnet per region, four default-allow firewall rules), as
 *   on Google; inventory() does not report it.
 * - Long-running operations: inserts, patches and deletes answer an Operation (global / regional / zonal) that
 *   completes after the operation's latency; `…/operations/{op}/wait` blocks until DONE (≤ 2 min, as the real one).
 *   `requestId` makes inserts and deletes idempotent (same id ⇒ same operation).
 * - Timestamps are Pacific time with the date's offset (-08:00 / -07:00), as Compute writes them.
 * - Faults are answered as Compute does: throttle ⇒ 403 `rateLimitExceeded`; server error ⇒ 503 `backendError`;
 *   quota and capacity on creates ⇒ the operation ends with `QUOTA_EXCEEDED` / `ZONE_RESOURCE_POOL_EXHAUSTED`.
 * - Calls are counted as `<collection>.<method>` (`networks.insert`, `zoneOperations.wait` …; the token endpoint as
 *   `oauth2.token`). With eventual consistency on, gets answer 404 `notFound` and lists leave out networks,
 *   subnetworks, firewalls, instances and disks younger than the window (counted from when their insert completed).
 */
export function createGcpCloud(ctx: CloudContext): CloudModule {
  const auth = new GcpAuth();
  const projects = new Map<string, ProjectState>();
  const ips = ctx.publicIps;

  const app = express();
  app.disable('x-powered-by');

  // Every request is counted once (core/calls.ts): Compute calls by the router, the rest here.
  const count = (res: Response, call: string) => {
    if (res.locals.callCounted) return;
    res.locals.callCounted = true;
    ctx.countCall?.('gcp', call);
  };
  app.post('/token', (_req: Request, res: Response, next: NextFunction) => {
    count(res, 'oauth2.token');
    next();
  });
  app.post('/token', express.urlencoded({ extended: false, limit: '64kb' }), async (req: Request, res: Response) => {
    const selfUrl = `${req.protocol}://${req.get('host') ?? ''}${req.originalUrl.split('?')[0]}`;
    const form = (req.body ?? {}) as Record<string, unknown>;
    const token = await auth.exchange(form, selfUrl);
    res.set('Cache-Control', 'no-cache, no-store, max-age=0, must-revalidate').json(token);
  });

  // strict: false — the REST clients send `""` as the body of calls that have none (operations.wait).
  const billing = createBilling(ctx, auth);
  app.use('/v1', billing.router);
  app.use('/compute/v1', express.json({ limit: '1mb', strict: false }), createComputeRouter({ ctx, auth, projects, ips }));

  // A real Compute method (v1 or beta) the sandbox does not serve: the sandbox's 501, never Google's 404 (issue 15).
  app.use((req: Request, res: Response, next: NextFunction) => {
    const real = req.path.startsWith('/compute/') ? realMethodOf(req.method, req.path) : undefined;
    if (!real) return next();
    count(res, real.name);
    ctx.unimplemented(res, 'gcp', real.name);
  });

  app.use((req: Request, res: Response) => {
    count(res, UNKNOWN_CALL);
    res.status(404).json({ error: { code: 404, message: `The requested URL ${req.path} was not found on this server.`, errors: [{ message: 'Not Found', domain: 'global', reason: 'notFound' }] } });
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    count(res, UNKNOWN_CALL);
    if (err instanceof OAuthError) {
      res.status(err.httpStatus).json(err.body());
      return;
    }
    let e: GcpHttpError;
    if (err instanceof GcpHttpError) e = err;
    else if (isBodyParserError(err)) e = badJson(err.type === 'entity.too.large' ? 'Request payload size exceeds the limit.' : `Unexpected token in JSON at position 0.`);
    else {
      console.error('gcp sandbox: internal error', err);
      e = backendError();
    }
    res.status(e.httpStatus).set(e.headers).json(e.body());
  });

  return {
    cloud: 'gcp',
    handler: app,
    prices: billing.admin,
    createAccount() {
      const { account, key } = auth.createServiceAccount();
      const project = new ProjectState(account);
      createDefaultNetwork(project);
      projects.set(account.projectId, project);
      return { cloud: 'gcp', gcp: key };
    },
    inventory(): InventoryItem[] {
      const out: InventoryItem[] = [];
      // The `default` network, its subnetworks and its four firewall rules are part of a new project (builtIn), not leftovers.
      for (const p of projects.values()) {
        for (const n of p.networks.values()) if (!n.builtIn) out.push({ cloud: 'gcp', account: p.id, kind: 'network', id: n.name, name: n.name, tags: tagsFromDescription(n.description) });
        for (const s of p.subnetworks.values()) if (!s.builtIn) out.push({ cloud: 'gcp', account: p.id, region: s.region, kind: 'subnetwork', id: s.name, name: s.name, tags: tagsFromDescription(s.description) });
        for (const f of p.firewalls.values()) if (!f.builtIn) out.push({ cloud: 'gcp', account: p.id, kind: 'firewall', id: f.name, name: f.name, tags: tagsFromDescription(f.description) });
        // A boot disk goes with its instance; only a detached disk (autoDelete off) is a resource of its own.
        for (const d of p.disks.values()) if (!d.users.length) out.push({ cloud: 'gcp', account: p.id, region: regionOfZone(d.zone), kind: 'disk', id: d.name, name: d.name, tags: {} });
        for (const i of p.instances.values()) out.push({ cloud: 'gcp', account: p.id, region: regionOfZone(i.zone), kind: 'instance', id: i.name, name: i.name, tags: { ...i.labels } });
      }
      return out;
    },
  };
}

function isBodyParserError(err: unknown): err is { type: string } {
  return typeof err === 'object' && err !== null && typeof (err as { type?: unknown }).type === 'string' && String((err as { type: string }).type).startsWith('entity.');
}
