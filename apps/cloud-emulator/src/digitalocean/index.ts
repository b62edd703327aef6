import express from 'express';
import { randomUUID } from 'node:crypto';
import type { CloudContext, CloudModule, Operation } from '../core/types';
import { UNKNOWN_CALL } from '../core/calls';
import { checkUsd, PriceAdmin } from '../core/prices';
import { findSize, REGIONS, SIZES } from './catalog';
import { DoApiError, faultError, notFound, serverError, tooManyRequests, unauthorized } from './errors';
import { paginate, queryParam, RateLimiter } from './http';
import { Account, FirewallRec, renderDroplet, renderFirewall, renderTag, renderVpc } from './model';
import { DoSandbox } from './sandbox';
import { asBody } from './validation';

export interface DigitalOceanCloudOptions {
  /**
   * Per-token rate limits (DigitalOcean: 5,000/hour, 250/minute). Headers are always sent; requests over the limit are
   * refused with 429 only when `enforce` is true (off by default, so long demos and polling tests are not throttled
   * by accident — inject throttling with the admin API's faults instead).
   */
  rateLimit?: { perHour?: number; perMinute?: number; enforce?: boolean };
}

type Handler = (req: express.Request, res: express.Response, account: Account) => unknown | Promise<unknown>;

const CLOUD = 'digitalocean';

/**
 * The sandbox's DigitalOcean API v2 (JSON under `/v2`, bearer-token auth, `page`/`per_page` pagination, `tag_name`
 * filters, `{"id","message"}` errors, `ratelimit-*` headers). Serves what `dots-wrapper` calls for accounts, VPCs and
 * their members, firewalls, Droplets, tags, regions and sizes.
 * Calls are counted as `<METHOD> <route pattern>` (`GET /v2/droplets/:id`). With eventual consistency on, gets answer
 * 404 `not_found` and lists leave out VPCs, firewalls and Droplets younger than the window.
 * Reference: https://docs.digitalocean.com/reference/api/api-reference/
 */
export function createDigitalOceanCloud(ctx: CloudContext, opts: DigitalOceanCloudOptions = {}): CloudModule {
  const sandbox = new DoSandbox(ctx);
  const limiter = new RateLimiter({
    perHour: opts.rateLimit?.perHour ?? 5000,
    perMinute: opts.rateLimit?.perMinute ?? 250,
    enforce: opts.rateLimit?.enforce ?? false,
  });
  const accountOf = new WeakMap<express.Request, Account>();

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // Every request is counted once, as `<METHOD> <route pattern>` (core/calls.ts) — before authentication, so refused
  // requests count too. The patterns are the routes registered below with `route`.
  const patterns: { method: string; pattern: string; re: RegExp }[] = [];
  /** Admin price overrides: size slug → USD/hour (DigitalOcean prices sizes, the same in every region). */
  const priceOverrides = new Map<string, number>();
  const prices: PriceAdmin = {
    referenceRegion: '',
    list(region) {
      if (region !== undefined && region !== '' && !REGIONS.some((r) => r.slug === region)) return undefined;
      return SIZES.map((s) => ({ region: region ?? '', instanceType: s.slug, usdPerHour: priceOverrides.get(s.slug) ?? s.price_hourly, overridden: priceOverrides.has(s.slug) }));
    },
    set({ region, instanceType, usdPerHour }) {
      if (region !== undefined) return { ok: false, field: 'region', detail: 'DigitalOcean prices Droplet sizes, not regions: leave region out' };
      if (!findSize(instanceType)) return { ok: false, field: 'instanceType', detail: `instanceType ${JSON.stringify(instanceType)} is not a Droplet size slug the sandbox offers` };
      const bad = checkUsd(usdPerHour);
      if (bad) return bad;
      priceOverrides.set(instanceType, usdPerHour);
      return { ok: true, changed: [{ region: '', instanceType, usdPerHour, overridden: true }], note: 'price_monthly follows as 672 × price_hourly' };
    },
    reset: () => priceOverrides.clear(),
  };

  const route = (method: 'get' | 'post' | 'put' | 'delete', pattern: string, handler: express.RequestHandler) => {
    patterns.push({ method: method.toUpperCase(), pattern, re: new RegExp(`^${pattern.replace(/:[A-Za-z_]+/g, '[^/]+')}/?$`, 'i') });
    app[method](pattern, handler);
  };
  app.use((req, _res, next) => {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const hit = patterns.find((p) => p.method === method && p.re.test(req.path));
    ctx.countCall?.(CLOUD, hit ? `${hit.method} ${hit.pattern}` : UNKNOWN_CALL);
    next();
  });

  // Authentication and rate limiting come before anything else, as on the real API.
  app.use('/v2', (req, res, next) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    const account = sandbox.authenticate(m?.[1]);
    if (!account) throw unauthorized();
    const rate = limiter.hit(account.token);
    res.set(rate.headers);
    if (rate.exceeded) throw tooManyRequests();
    accountOf.set(req, account);
    next();
  });
  app.use(express.json({ limit: '1mb' }));

  /** Wraps a handler: injected fault first (in DigitalOcean's shape), then the operation's latency, then the work. */
  const op = (operation: Operation | undefined, fn: Handler): express.RequestHandler => async (req, res) => {
    const account = accountOf.get(req);
    if (!account) throw unauthorized();
    if (operation) {
      const fault = ctx.takeFault(CLOUD, operation);
      if (fault) throw faultError(fault, operation);
      await ctx.delay(operation);
    }
    await fn(req, res, account);
  };

  /** A create/update answers `waiting` (rules being applied); the sandbox applies them at once, so reads say `succeeded`. */
  const renderApplying = (f: FirewallRec) => {
    const out = renderFirewall(f);
    f.status = 'succeeded';
    return out;
  };

  // ---- account, regions, sizes ----
  route('get', '/v2/account', op('read', (_req, res, a) => {
    res.json({
      account: {
        droplet_limit: a.dropletLimit,
        floating_ip_limit: 3,
        reserved_ip_limit: 3,
        volume_limit: 100,
        email: a.email,
        name: 'Sandbox User',
        uuid: a.uuid,
        email_verified: true,
        status: 'active',
        status_message: '',
        team: { uuid: a.uuid, name: 'My Team' },
      },
    });
  }));
  route('get', '/v2/regions', op('read', (req, res) => res.json(paginate(req, 'regions', REGIONS, (r) => r))));
  // sizes with this emulator's admin price overrides (PUT /admin/prices): the hourly price set, the monthly one 672 × it
  route('get', '/v2/sizes', op('read', (req, res) => res.json(paginate(req, 'sizes', SIZES, (s) => {
    const usd = priceOverrides.get(s.slug);
    return usd === undefined ? s : { ...s, price_hourly: usd, price_monthly: Math.round(usd * 672 * 100) / 100 };
  }))));

  // ---- VPCs ----
  route('post', '/v2/vpcs', op('network.create', (req, res, a) => {
    res.status(201).json({ vpc: renderVpc(sandbox.createVpc(a, asBody(req.body))) });
  }));
  route('get', '/v2/vpcs', op('read', (req, res, a) => res.json(paginate(req, 'vpcs', sandbox.listVpcs(a), renderVpc))));
  route('get', '/v2/vpcs/:id', op('read', (req, res, a) => res.json({ vpc: renderVpc(sandbox.getVpc(a, String(req.params.id))) })));
  route('get', '/v2/vpcs/:id/members', op('read', (req, res, a) => {
    const members = sandbox.vpcMembers(a, String(req.params.id), queryParam(req, 'resource_type'));
    res.json(paginate(req, 'members', members, (d) => ({ urn: `do:droplet:${d.id}`, name: d.name, created_at: d.createdAt })));
  }));
  route('delete', '/v2/vpcs/:id', op('network.delete', (req, res, a) => {
    sandbox.deleteVpc(a, String(req.params.id));
    res.status(204).end();
  }));

  // ---- firewalls ----
  route('post', '/v2/firewalls', op('firewall.create', (req, res, a) => {
    res.status(202).json({ firewall: renderApplying(sandbox.createFirewall(a, asBody(req.body))) });
  }));
  route('get', '/v2/firewalls', op('read', (req, res, a) => res.json(paginate(req, 'firewalls', sandbox.listFirewalls(a), renderFirewall))));
  route('get', '/v2/firewalls/:id', op('read', (req, res, a) => res.json({ firewall: renderFirewall(sandbox.getFirewall(a, String(req.params.id))) })));
  route('put', '/v2/firewalls/:id', op('firewall.create', (req, res, a) => {
    res.json({ firewall: renderApplying(sandbox.updateFirewall(a, String(req.params.id), asBody(req.body))) });
  }));
  route('delete', '/v2/firewalls/:id', op('network.delete', (req, res, a) => {
    sandbox.deleteFirewall(a, String(req.params.id));
    res.status(204).end();
  }));

  // ---- Droplets ----
  route('post', '/v2/droplets', op('instance.create', (req, res, a) => {
    const d = sandbox.createDroplet(a, asBody(req.body));
    const actionId = Math.floor(Math.random() * 2 ** 31);
    res.status(202).json({
      droplet: renderDroplet(d, false),
      links: { actions: [{ id: actionId, rel: 'create', href: `${req.protocol}://${req.get('host')}/v2/actions/${actionId}` }] },
    });
  }));
  route('get', '/v2/droplets', op('read', (req, res, a) => {
    const droplets = sandbox.listDroplets(a, { tagName: queryParam(req, 'tag_name'), name: queryParam(req, 'name') });
    res.json(paginate(req, 'droplets', droplets, (d) => renderDroplet(d)));
  }));
  route('get', '/v2/droplets/:id', op('read', (req, res, a) => res.json({ droplet: renderDroplet(sandbox.getDroplet(a, String(req.params.id))) })));
  route('delete', '/v2/droplets/:id', op('instance.delete', (req, res, a) => {
    sandbox.deleteDroplet(a, String(req.params.id));
    res.status(204).end();
  }));
  route('delete', '/v2/droplets', op('instance.delete', (req, res, a) => {
    const tag = queryParam(req, 'tag_name');
    if (!tag) throw notFound();
    sandbox.deleteDropletsByTag(a, tag);
    res.status(204).end();
  }));

  // ---- tags (no sandbox operation: tag writes take no latency and no faults) ----
  route('post', '/v2/tags', op(undefined, (req, res, a) => {
    const t = sandbox.createTag(a, asBody(req.body));
    res.status(201).json({ tag: renderTag(t, a.droplets.values()) });
  }));
  route('get', '/v2/tags', op('read', (req, res, a) => res.json(paginate(req, 'tags', sandbox.listTags(a), (t) => renderTag(t, a.droplets.values())))));
  route('get', '/v2/tags/:name', op('read', (req, res, a) => res.json({ tag: renderTag(sandbox.getTag(a, String(req.params.name)), a.droplets.values()) })));
  route('delete', '/v2/tags/:name', op(undefined, (req, res, a) => {
    sandbox.deleteTag(a, String(req.params.name));
    res.status(204).end();
  }));

  app.use(() => {
    throw notFound();
  });

  // Every failure in DigitalOcean's shape: {"id", "message", "request_id"}.
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    let e: DoApiError;
    if (err instanceof DoApiError) e = err;
    else if (isBodyParserError(err) && err.type === 'entity.parse.failed') e = new DoApiError(400, 'bad_request', `invalid JSON in request body: ${err.message}`);
    else if (isBodyParserError(err) && err.type === 'entity.too.large') e = new DoApiError(413, 'request_entity_too_large', 'request body is too large');
    else e = serverError();
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
    createAccount: () => ({ cloud: 'digitalocean', digitalocean: { token: sandbox.createAccount().token } }),
    inventory: () => sandbox.inventory(),
  };
}

function isBodyParserError(e: unknown): e is Error & { type: string } {
  return e instanceof Error && typeof (e as { type?: unknown }).type === 'string';
}
