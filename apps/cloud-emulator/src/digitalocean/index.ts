import express from 'express';
import { randomUUID } from 'node:crypto';
import type { CloudContext, CloudModule } from '../core/types';
import { UNKNOWN_CALL } from '../core/calls';
import { SandboxUnimplemented } from '../core/unimplemented';
import { checkUsd, PriceAdmin } from '../core/prices';
import { ACCOUNT_ROUTES } from './account';
import { DO_API_ROUTES } from './api-routes';
import { findSize, REGIONS, SIZES } from './catalog';
import { CATALOGUE_ROUTES } from './catalogue';
import { RouteContext, RouteDef, RouteTable } from './context';
import { DROPLET_ROUTES } from './droplets';
import { DoApiError, faultError, notFound, serverError, tooManyRequests, unauthorized } from './errors';
import { FIREWALL_ROUTES } from './firewalls';
import { RateLimiter } from './http';
import { LIST_ROUTES } from './lists';
import type { Account } from './model';
import { DoState } from './state';
import { TAG_ROUTES } from './tags';
import { VPC_ROUTES } from './vpcs';

export interface DigitalOceanCloudOptions {
  /**
   * Per-token rate limits (DigitalOcean: 5,000/hour, 250/minute). Headers are always sent; requests over the limit are
   * refused with 429 only when `enforce` is true (off by default, so long demos and polling tests are not throttled
   * by accident — inject throttling with the admin API's faults instead).
   */
  rateLimit?: { perHour?: number; perMinute?: number; enforce?: boolean };
}

const CLOUD = 'digitalocean';

/** Every call the sandbox serves, keyed by `<METHOD> <route pattern>` as DigitalOcean's reference names the route. */
export const ROUTES: RouteTable = {
  ...ACCOUNT_ROUTES,
  ...CATALOGUE_ROUTES,
  ...VPC_ROUTES,
  ...FIREWALL_ROUTES,
  ...DROPLET_ROUTES,
  ...TAG_ROUTES,
  ...LIST_ROUTES,
};

interface CompiledRoute {
  /** `<METHOD> <route pattern>`: the call name (core/calls.ts). */
  key: string;
  method: string;
  re: RegExp;
  names: string[];
  def?: RouteDef;
}

function compile(key: string, def?: RouteDef): CompiledRoute {
  const [method, pattern] = key.split(' ');
  const names: string[] = [];
  const src = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:([A-Za-z_]+)/g, (_m, n: string) => {
    names.push(n);
    return '([^/]+)';
  });
  return { key, method, re: new RegExp(`^${src}/?$`), names, def };
}

const SERVED = Object.entries(ROUTES).map(([k, d]) => compile(k, d));
const KNOWN = DO_API_ROUTES.filter((k) => !Object.prototype.hasOwnProperty.call(ROUTES, k)).map((k) => compile(k));

/**
 * The route a request is for: of the served and the known-but-unserved routes that match, the most specific one
 * (fewest path parameters; a served route wins a tie), so `GET /v2/projects/default` is not `GET /v2/projects/:id`.
 */
function resolve(method: string, path: string): { route: CompiledRoute; params: Record<string, string> } | undefined {
  let best: { route: CompiledRoute; m: RegExpExecArray } | undefined;
  for (const r of [...SERVED, ...KNOWN]) {
    if (r.method !== method) continue;
    const m = r.re.exec(path);
    if (m && (!best || r.names.length < best.route.names.length)) best = { route: r, m };
  }
  if (!best) return undefined;
  const params: Record<string, string> = {};
  best.route.names.forEach((n, i) => {
    try {
      params[n] = decodeURIComponent(best.m[i + 1]);
    } catch {
      params[n] = best.m[i + 1];
    }
  });
  return { route: best.route, params };
}

/**
 * The sandbox's DigitalOcean API v2 (JSON under `/v2`, bearer-token auth, `page`/`per_page` pagination, `tag_name`
 * filters, `{"id","message","request_id"}` errors, `ratelimit-*` headers), laid out as an action table: `ROUTES` maps
 * `<METHOD> <route pattern>` to a small handler over the shared state (state.ts), one file per family.
 *
 * Served calls:
 * - account (account.ts): `GET /v2/account`; SSH keys `GET/POST /v2/account/keys`, `GET/PUT/DELETE /v2/account/keys/:key`
 *   (id or fingerprint); projects `GET /v2/projects`, `GET /v2/projects/default`, `GET /v2/projects/:id`, and their
 *   `/resources`;
 * - catalogue (catalogue.ts): `GET /v2/regions`, `GET /v2/sizes` (the price API), `GET /v2/images`, `GET /v2/images/:id`;
 * - VPCs (vpcs.ts): `POST/GET /v2/vpcs`, `GET/DELETE /v2/vpcs/:id`, `GET /v2/vpcs/:id/members`;
 * - firewalls (firewalls.ts): `POST/GET /v2/firewalls`, `GET/PUT/DELETE /v2/firewalls/:id`;
 * - Droplets and actions (droplets.ts): `POST/GET /v2/droplets`, `DELETE /v2/droplets?tag_name=`,
 *   `GET/DELETE /v2/droplets/:id`, `GET /v2/droplets/:id/actions[/:action_id]`, `GET /v2/actions[/:id]`;
 * - tags (tags.ts): `POST/GET /v2/tags`, `GET/DELETE /v2/tags/:name`;
 * - account-wide lists, empty (lists.ts): volumes, load_balancers, domains, reserved_ips, floating_ips, snapshots,
 *   certificates (list and get by id).
 * Any other route of the real API (api-routes.ts) answers 501 through `ctx.unimplemented`; a path that is no route of
 * DigitalOcean's answers 404 `not_found`, as DigitalOcean does.
 * Calls are counted as `<METHOD> <route pattern>` (`GET /v2/droplets/:id`). With eventual consistency on, gets answer
 * 404 `not_found` and lists leave out VPCs, firewalls and Droplets younger than the window.
 * Reference: https://docs.digitalocean.com/reference/api/api-reference/
 */
export function createDigitalOceanCloud(ctx: CloudContext, opts: DigitalOceanCloudOptions = {}): CloudModule {
  const state = new DoState(ctx);
  const limiter = new RateLimiter({
    perHour: opts.rateLimit?.perHour ?? 5000,
    perMinute: opts.rateLimit?.perMinute ?? 250,
    enforce: opts.rateLimit?.enforce ?? false,
  });
  const accountOf = new WeakMap<express.Request, Account>();

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const prices: PriceAdmin = {
    referenceRegion: '',
    list(region) {
      if (region !== undefined && region !== '' && !REGIONS.some((r) => r.slug === region)) return undefined;
      return SIZES.map((s) => ({ region: region ?? '', instanceType: s.slug, usdPerHour: state.priceOverrides.get(s.slug) ?? s.price_hourly, overridden: state.priceOverrides.has(s.slug) }));
    },
    set({ region, instanceType, usdPerHour }) {
      if (region !== undefined) return { ok: false, field: 'region', detail: 'DigitalOcean prices Droplet sizes, not regions: leave region out' };
      if (!findSize(instanceType)) return { ok: false, field: 'instanceType', detail: `instanceType ${JSON.stringify(instanceType)} is not a Droplet size slug the sandbox offers` };
      const bad = checkUsd(usdPerHour);
      if (bad) return bad;
      state.priceOverrides.set(instanceType, usdPerHour);
      return { ok: true, changed: [{ region: '', instanceType, usdPerHour, overridden: true }], note: 'price_monthly follows as 672 × price_hourly' };
    },
    reset: () => state.priceOverrides.clear(),
  };

  const resolved = new WeakMap<express.Request, NonNullable<ReturnType<typeof resolve>>>();

  // Every request is counted once, as `<METHOD> <route pattern>` (core/calls.ts) — before authentication, so refused
  // requests count too. Routes of the real API the sandbox does not serve count under their own name as well.
  app.use((req, _res, next) => {
    const hit = resolve(req.method === 'HEAD' ? 'GET' : req.method, req.path);
    if (hit) resolved.set(req, hit);
    ctx.countCall?.(CLOUD, hit ? hit.route.key : UNKNOWN_CALL);
    next();
  });

  // Authentication and rate limiting come before anything else, as on the real API.
  app.use('/v2', (req, res, next) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    const account = state.authenticate(m?.[1]);
    if (!account) throw unauthorized();
    const rate = limiter.hit(account.token);
    res.set(rate.headers);
    if (rate.exceeded) throw tooManyRequests();
    accountOf.set(req, account);
    next();
  });
  app.use(express.json({ limit: '1mb' }));

  // Dispatch: injected fault first (in DigitalOcean's shape), then the operation's latency, then the handler.
  app.use(async (req, res, next) => {
    const hit = resolved.get(req);
    const account = accountOf.get(req);
    if (!hit || !account) return next();
    const { route, params } = hit;
    if (!route.def) return ctx.unimplemented(res, CLOUD, route.key);
    try {
      if (route.def.op) {
        const fault = ctx.takeFault(CLOUD, route.def.op);
        if (fault) throw faultError(fault, route.def.op);
        await ctx.delay(route.def.op);
      }
      const c: RouteContext = { req, account, state, params };
      const reply = route.def.run(c);
      if (reply.body === undefined) res.status(reply.status ?? 204).end();
      else res.status(reply.status ?? 200).json(reply.body);
    } catch (e) {
      next(e);
    }
  });

  app.use(() => {
    throw notFound();
  });

  // Every failure in DigitalOcean's shape: {"id", "message", "request_id"}.
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    if (err instanceof SandboxUnimplemented) return ctx.unimplemented(res, CLOUD, err.operation);
    let e: DoApiError;
    if (err instanceof DoApiError) e = err;
    else if (isBodyParserError(err) && err.type === 'entity.parse.failed') e = new DoApiError(400, 'bad_request', `invalid JSON in request body: ${err.message}`);
    else if (isBodyParserError(err) && err.type === 'entity.too.large') e = new DoApiError(413, 'request_entity_too_large', 'request body is too large');
    else {
      console.error('digitalocean sandbox: internal error', err);
      e = serverError();
    }
    if (e.status === 429) {
      res.set({ 'ratelimit-remaining': '0', 'ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 60) });
      if (!res.get('ratelimit-limit')) res.set('ratelimit-limit', '5000');
    }
    res.set(e.headers).status(e.status).json({ id: e.id, message: e.message, request_id: randomUUID() });
  });

  return {
    cloud: CLOUD,
    handler: app,
    prices,
    createAccount: () => ({ cloud: 'digitalocean', digitalocean: { token: state.createAccount().token } }),
    inventory: () => state.inventory(),
  };
}

function isBodyParserError(e: unknown): e is Error & { type: string } {
  return e instanceof Error && typeof (e as { type?: unknown }).type === 'string';
}
