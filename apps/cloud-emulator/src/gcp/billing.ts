import { createHash } from 'node:crypto';
import express from 'express';
import type { Request, Response } from 'express';
import type { CloudContext } from '../core/types';
import { checkUsd, PriceAdmin, PriceEntry, PriceOverrides, roundPrice } from '../core/prices';
import type { GcpAuth } from './auth';
import { FAMILY_SKUS, MACHINE_TYPES, machineFamily, PRICE_LOCATIONS, REGIONS, SHARED_CORE_FRACTION } from './catalog';
import { GcpHttpError } from './errors';

/** Compute Engine's service id in the Cloud Billing Catalog (`services/6F81-5844-456A`). */
export const COMPUTE_SERVICE_ID = '6F81-5844-456A';
const MAX_PAGE_SIZE = 5000;
const EFFECTIVE_TIME = '2025-11-20T08:12:44.185Z';

/** What the price of one SKU is made of (usage type, resource). */
type UsageType = 'OnDemand' | 'Preemptible' | 'Commit1Yr';
type Resource = 'core' | 'ram';

/** Discounts of the other usage types over on-demand (Spot ≈ 70 % off, 1-year commitment 37 % off), for realism only. */
const USAGE_FACTOR: Record<UsageType, number> = { OnDemand: 1, Preemptible: 0.3, Commit1Yr: 0.63 };

const skuId = (seed: string): string => {
  const h = createHash('sha256').update(seed).digest('hex').toUpperCase();
  return `${h.slice(0, 4)}-${h.slice(4, 8)}-${h.slice(8, 12)}`;
};

const money = (usd: number) => {
  const units = Math.floor(usd);
  return { currencyCode: 'USD', units: String(units), nanos: Math.round((usd - units) * 1e9) };
};

/** An error of a One Platform API (Cloud Billing): `{error: {code, message, status, details?}}`, no `errors` list. */
class BillingError extends GcpHttpError {
  constructor(httpStatus: number, message: string, status: string, private readonly details?: unknown[]) {
    super(httpStatus, message, [], status);
  }
  override body(): ReturnType<GcpHttpError['body']> {
    return { error: { code: this.httpStatus, message: this.message, status: this.status, ...(this.details ? { details: this.details } : {}) } } as unknown as ReturnType<GcpHttpError['body']>;
  }
}

const badRequest = (message: string, field?: string) =>
  new BillingError(400, message, 'INVALID_ARGUMENT', field ? [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field, description: message }] }] : undefined);

/**
 * The sandbox's Cloud Billing Catalog API v1 (https://cloud.google.com/billing/docs/reference/rest/v1/services.skus/list),
 * mounted on the GCP endpoint under `/v1`, as `@google-cloud/billing`'s CloudCatalogClient speaks it over REST:
 * `GET /v1/services` and `GET /v1/services/{service}/skus?pageSize=&pageToken=&currencyCode=USD`. Authenticated with
 * the sandbox's OAuth access tokens (any sandbox project; the real API also takes an API key, which the sandbox does not
 * issue). Compute Engine's SKUs: for each machine family and price location, core and RAM SKUs for the usage types
 * OnDemand, Preemptible (Spot) and Commit1Yr. A machine type's on-demand price in a region = vCPUs (billed fraction
 * for shared-core E2 types) × the family's core SKU + GiB × its RAM SKU, where the SKU's `serviceRegions` holds the region.
 */
export function createBilling(ctx: CloudContext, auth: GcpAuth): { router: express.Router; admin: PriceAdmin } {
  const overrides = new PriceOverrides();
  const locationOf = (region: string) => PRICE_LOCATIONS.find((l) => l.regions.includes(region));
  /** The on-demand price of a family's core or RAM SKU in a region (override keys `<family>/<resource>`). */
  const skuPrice = (family: string, resource: Resource, region: string) => {
    const f = FAMILY_SKUS[family];
    const loc = locationOf(region)!;
    // an override in one region of a location applies to its SKU, i.e. to every region of the location
    const regional = loc.regions.map((r) => overrides.price(`${family}/${resource}`, r, f[resource], loc.factor)).find((p) => p.overridden);
    return regional ?? overrides.price(`${family}/${resource}`, region, f[resource], loc.factor);
  };
  const machinePrice = (machineType: string, region: string) => {
    const m = MACHINE_TYPES[machineType];
    const family = machineFamily(machineType);
    const core = skuPrice(family, 'core', region);
    const ram = skuPrice(family, 'ram', region);
    const cpus = SHARED_CORE_FRACTION[machineType] ?? m.cpus;
    return { usd: roundPrice(cpus * core.usd + (m.memoryMb / 1024) * ram.usd), overridden: core.overridden || ram.overridden };
  };
  const priced = () => Object.keys(MACHINE_TYPES).filter((t) => FAMILY_SKUS[machineFamily(t)] !== undefined);

  const skus = (): Record<string, unknown>[] => {
    const out: Record<string, unknown>[] = [];
    for (const [family, f] of Object.entries(FAMILY_SKUS)) {
      for (const loc of PRICE_LOCATIONS) {
        for (const usage of ['OnDemand', 'Preemptible', 'Commit1Yr'] as UsageType[]) {
          for (const resource of ['core', 'ram'] as Resource[]) {
            const id = skuId(`${family}|${loc.name}|${usage}|${resource}`);
            const onDemand = skuPrice(family, resource, loc.regions[0]).usd;
            const what = resource === 'core' ? 'Core' : 'Ram';
            const description = usage === 'OnDemand' ? `${f.description} ${what} running in ${loc.name}`
              : usage === 'Preemptible' ? `Spot Preemptible ${f.description} ${what} running in ${loc.name}`
                : `Commitment v1: ${f.description.replace(/ Instance$/, '')} ${resource === 'core' ? 'Cpu' : 'Ram'} in ${loc.name} for 1 Year`;
            out.push({
              name: `services/${COMPUTE_SERVICE_ID}/skus/${id}`,
              skuId: id,
              description,
              category: { serviceDisplayName: 'Compute Engine', resourceFamily: 'Compute', resourceGroup: f.resourceGroup[resource === 'core' ? 0 : 1], usageType: usage },
              serviceRegions: loc.regions,
              pricingInfo: [{
                summary: '',
                pricingExpression: resource === 'core'
                  ? { usageUnit: 'h', displayQuantity: 1, tieredRates: [{ startUsageAmount: 0, unitPrice: money(roundPrice(onDemand * USAGE_FACTOR[usage])) }], usageUnitDescription: 'hour', baseUnit: 's', baseUnitDescription: 'second', baseUnitConversionFactor: 3600 }
                  : { usageUnit: 'GiBy.h', displayQuantity: 1, tieredRates: [{ startUsageAmount: 0, unitPrice: money(roundPrice(onDemand * USAGE_FACTOR[usage])) }], usageUnitDescription: 'gibibyte hour', baseUnit: 'By.s', baseUnitDescription: 'byte second', baseUnitConversionFactor: 3865470566400 },
                currencyConversionRate: 1,
                effectiveTime: EFFECTIVE_TIME,
              }],
              serviceProviderName: 'Google',
              geoTaxonomy: { type: loc.regions.length > 1 ? 'MULTI_REGIONAL' : 'REGIONAL', regions: loc.regions },
            });
          }
        }
      }
    }
    return out;
  };

  const router = express.Router();
  const SYSTEM = new Set(['$alt', 'alt', '$prettyPrint', 'prettyPrint', 'fields', '$fields', 'quotaUser', 'key', 'access_token', '$.xgafv']);
  const query = (req: Request, allowed: string[]): Record<string, string> => {
    const q: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.query as Record<string, unknown>)) {
      if (!SYSTEM.has(k) && !allowed.includes(k)) throw badRequest(`Invalid JSON payload received. Unknown name "${k}": Cannot bind query parameter. Field '${k}' could not be found in request message.`);
      if (typeof v !== 'string') throw badRequest(`Invalid value for ${k}`, k);
      q[k] = v;
    }
    return q;
  };
  const page = <T>(req: Request, items: T[], q: Record<string, string>): { page: T[]; next: string } => {
    let size = MAX_PAGE_SIZE;
    if (q.pageSize !== undefined && q.pageSize !== '' && q.pageSize !== '0') {
      size = Number(q.pageSize);
      if (!Number.isInteger(size) || size < 0) throw badRequest(`Invalid value at 'page_size' (TYPE_INT32), "${q.pageSize}"`, 'page_size');
      size = Math.min(size, MAX_PAGE_SIZE);
    }
    let offset = 0;
    if (q.pageToken) {
      const m = /^skus:(\d+)$/.exec(Buffer.from(q.pageToken, 'base64url').toString('utf8'));
      if (!m || Number(m[1]) > items.length) throw badRequest('The page token is invalid.', 'page_token');
      offset = Number(m[1]);
    }
    const end = offset + size;
    return { page: items.slice(offset, end), next: end < items.length ? Buffer.from(`skus:${end}`).toString('base64url') : '' };
  };
  const call = (name: string, fn: (req: Request) => unknown) => async (req: Request, res: Response) => {
    if (!res.locals.callCounted) {
      res.locals.callCounted = true;
      ctx.countCall?.('gcp', name);
    }
    auth.authenticate(req.headers, true);
    const f = ctx.takeFault('gcp', 'read');
    if (f === 'throttle') throw new BillingError(429, "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service 'cloudbilling.googleapis.com'.", 'RESOURCE_EXHAUSTED');
    if (f) throw new BillingError(503, 'The service is currently unavailable.', 'UNAVAILABLE');
    await ctx.delay('read');
    res.json(fn(req));
  };
  router.get('/services', call('cloudbilling.services.list', (req) => {
    const q = query(req, ['pageSize', 'pageToken']);
    const services = [
      { name: `services/${COMPUTE_SERVICE_ID}`, serviceId: COMPUTE_SERVICE_ID, displayName: 'Compute Engine', businessEntityName: 'businessEntities/GCP' },
      { name: 'services/95FF-2EF5-5EA1', serviceId: '95FF-2EF5-5EA1', displayName: 'Cloud Storage', businessEntityName: 'businessEntities/GCP' },
      { name: 'services/E505-1604-58F8', serviceId: 'E505-1604-58F8', displayName: 'Networking', businessEntityName: 'businessEntities/GCP' },
    ];
    const p = page(req, services, q);
    return { services: p.page, nextPageToken: p.next };
  }));
  router.get('/services/:service/skus', call('cloudbilling.services.skus.list', (req) => {
    const q = query(req, ['pageSize', 'pageToken', 'currencyCode', 'startTime', 'endTime']);
    if (q.currencyCode !== undefined && q.currencyCode !== 'USD') throw badRequest(`The sandbox prices in USD only (got currency code ${q.currencyCode}).`, 'currency_code');
    if (q.startTime !== undefined || q.endTime !== undefined) throw badRequest('The sandbox has no price history: startTime/endTime are not served.', 'start_time');
    const service = String(req.params.service);
    if (service !== COMPUTE_SERVICE_ID) throw new BillingError(404, `Service services/${service} not found (the sandbox serves Compute Engine's SKUs only).`, 'NOT_FOUND');
    const p = page(req, skus(), q);
    return { skus: p.page, nextPageToken: p.next };
  }));

  const admin: PriceAdmin = {
    referenceRegion: 'us-central1',
    list(region = 'us-central1') {
      if (!locationOf(region)) return undefined;
      return priced().map((instanceType): PriceEntry => ({ region, instanceType, ...((p) => ({ usdPerHour: p.usd, overridden: p.overridden }))(machinePrice(instanceType, region)) }));
    },
    set({ region, instanceType, usdPerHour }) {
      if (region !== undefined && !locationOf(region)) return { ok: false, field: 'region', detail: `region must be one of ${REGIONS.join(', ')} (got ${JSON.stringify(region)})` };
      if (!MACHINE_TYPES[instanceType] || !FAMILY_SKUS[machineFamily(instanceType)]) return { ok: false, field: 'instanceType', detail: `instanceType ${JSON.stringify(instanceType)} is not a machine type the sandbox's Compute Engine prices` };
      const bad = checkUsd(usdPerHour);
      if (bad) return bad;
      // GCP prices resources, not machines: the family's core and RAM SKUs are scaled so that this machine costs usdPerHour
      const family = machineFamily(instanceType);
      const at = region ?? 'us-central1';
      const k = usdPerHour / machinePrice(instanceType, at).usd;
      const loc = locationOf(at)!;
      for (const resource of ['core', 'ram'] as Resource[]) {
        const now = skuPrice(family, resource, at).usd;
        if (region) {
          for (const r of loc.regions) overrides.set(`${family}/${resource}`, r, now * k);
        } else {
          overrides.set(`${family}/${resource}`, '', now * k);
        }
      }
      const regions = region ? loc.regions : REGIONS;
      return {
        ok: true,
        changed: regions.map((r) => ({ region: r, instanceType, ...((p) => ({ usdPerHour: p.usd, overridden: p.overridden }))(machinePrice(instanceType, r)) })),
        note: `GCP prices vCPUs and memory, not machines: the ${family} core and RAM SKUs${region ? ` of ${loc.name} (${loc.regions.join(', ')})` : ''} were scaled by ${k.toFixed(6)}, so every ${family} machine type there changed in proportion`,
      };
    },
    reset: () => overrides.clear(),
  };
  return { router, admin };
}
