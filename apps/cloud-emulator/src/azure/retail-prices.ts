import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import type { CloudContext } from '../core/types';
import { checkUsd, PriceAdmin, PriceEntry, PriceOverrides, roundPrice } from '../core/prices';
import { findVmSize, REGION_PRICING, VM_SIZE_LIST, VmSizeInfo } from './catalog';

/** Rows per page (the real API answers 1000; the sandbox pages sooner so that readers are seen to follow NextPageLink). */
export const RETAIL_PAGE_SIZE = 100;
const API_VERSIONS = ['2023-01-01-preview', '2021-10-01-preview'];
const SERVICE_ID = 'DZH313Z7MMC8';

/** One row of the Retail Prices API. */
export interface RetailItem {
  currencyCode: string;
  tierMinimumUnits: number;
  reservationTerm?: string;
  retailPrice: number;
  unitPrice: number;
  armRegionName: string;
  location: string;
  effectiveStartDate: string;
  meterId: string;
  meterName: string;
  productId: string;
  skuId: string;
  productName: string;
  skuName: string;
  serviceName: string;
  serviceId: string;
  serviceFamily: string;
  unitOfMeasure: string;
  type: string;
  isPrimaryMeterRegion: boolean;
  armSkuName: string;
}

/** A refused query, in the shape the sandbox answers it: 400 `{"Error": {"Code", "Message"}}`. */
class RetailError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const hex = (seed: string, n: number) => createHash('sha256').update(seed).digest('hex').slice(0, n);
const uuidOf = (seed: string) => { const h = hex(seed, 32); return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`; };

// ---- $filter: the OData subset the sandbox serves ----------------------------------------------------------------

/** A parsed `$filter`: every condition must hold (`and`). */
type Condition = { op: 'eq'; field: string; value: string | boolean | number } | { op: 'contains'; field: string; value: string };

/** Filter field (case-insensitive) → item property; `priceType` filters the item's `type`, as on the real API. */
const FIELDS: Record<string, keyof RetailItem> = Object.fromEntries(
  (['armRegionName', 'location', 'meterId', 'meterName', 'productId', 'skuId', 'productName', 'skuName', 'serviceName', 'serviceId', 'serviceFamily', 'armSkuName', 'currencyCode', 'unitOfMeasure', 'isPrimaryMeterRegion', 'reservationTerm', 'effectiveStartDate', 'unitPrice', 'retailPrice'] as (keyof RetailItem)[])
    .map((f) => [f.toLowerCase(), f]),
);
FIELDS.pricetype = 'type';
FIELDS.type = 'type';

const invalidFilter = (detail: string) => new RetailError(400, 'BadRequest', `Invalid OData parameters supplied: ${detail}`);

/**
 * Parses `$filter`: conditions `field eq 'text'` (or `true`/`false`/a number) and `contains(field, 'text')`, joined by
 * `and`. Anything else (`or`, `ne`, `not`, parentheses, other functions) is refused with 400: the sandbox does not
 * pretend to apply a filter it does not understand.
 */
export function parseRetailFilter(filter: string): Condition[] {
  const tokens: string[] = [];
  const re = /\s*('(?:[^']|'')*'|\(|\)|,|[A-Za-z_][A-Za-z0-9_.]*|-?\d+(?:\.\d+)?|\S)/y;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < filter.length && (m = re.exec(filter))) {
    tokens.push(m[1]);
    pos = re.lastIndex;
  }
  if (filter.slice(pos).trim() !== '') throw invalidFilter(`cannot read ${JSON.stringify(filter.slice(pos))}`);
  let i = 0;
  const next = () => tokens[i++];
  const expect = (t: string) => { const got = next(); if (got !== t) throw invalidFilter(`expected ${t} but found ${got === undefined ? 'the end' : JSON.stringify(got)}`); };
  const field = () => {
    const f = next();
    const prop = f !== undefined ? FIELDS[f.toLowerCase()] : undefined;
    if (!prop) throw invalidFilter(`unknown field ${JSON.stringify(f ?? '')}`);
    return prop;
  };
  const literal = (): string | boolean | number => {
    const t = next();
    if (t === undefined) throw invalidFilter('a value is missing');
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    if (t === 'true' || t === 'false') return t === 'true';
    if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
    throw invalidFilter(`${JSON.stringify(t)} is not a value`);
  };
  const out: Condition[] = [];
  for (;;) {
    const t = tokens[i];
    if (t === undefined) throw invalidFilter('a condition is missing');
    if (t.toLowerCase() === 'contains') {
      next();
      expect('(');
      const f = field();
      expect(',');
      const v = literal();
      if (typeof v !== 'string') throw invalidFilter('contains() takes a text value');
      expect(')');
      out.push({ op: 'contains', field: f, value: v });
    } else {
      const f = field();
      const op = next();
      if (op?.toLowerCase() !== 'eq') throw invalidFilter(`operator ${JSON.stringify(op ?? '')} is not supported here (eq, and, contains())`);
      out.push({ op: 'eq', field: f, value: literal() });
    }
    if (i === tokens.length) return out;
    const joiner = next();
    if (joiner.toLowerCase() !== 'and') throw invalidFilter(`${JSON.stringify(joiner)} is not supported here (eq, and, contains())`);
  }
}

const matches = (item: RetailItem, conds: Condition[]) => conds.every((c) => {
  const v = item[c.field as keyof RetailItem];
  if (c.op === 'contains') return typeof v === 'string' && v.includes(c.value);
  return v === c.value;
});

// ---- the price list ------------------------------------------------------------------------------------------------

/** The price book of one module: rows per region with this emulator's overrides, and the admin side. */
export function createRetailPrices(ctx: CloudContext): { handle(req: Request, res: Response): Promise<void>; admin: PriceAdmin } {
  const overrides = new PriceOverrides();
  const linux = (size: VmSizeInfo, region: string) => overrides.price(size.name, region, size.usd, REGION_PRICING[region].factor);

  const rowsOf = (region: string): RetailItem[] => {
    const loc = REGION_PRICING[region];
    const out: RetailItem[] = [];
    for (const size of VM_SIZE_LIST) {
      const usd = linux(size, region).usd;
      const short = size.name.replace(/^Standard_/, '').replace(/_/g, ' ');
      const productId = `DZH318Z0${hex(size.productName, 4).toUpperCase()}`;
      const windowsUsd = roundPrice(size.productName.includes(' BS ') ? usd * 1.1 : usd + 0.046 * size.vcpu);
      const row = (variant: string, productName: string, skuName: string, price: number, type = 'Consumption', reservationTerm?: string): RetailItem => ({
        currencyCode: 'USD',
        tierMinimumUnits: 0,
        ...(reservationTerm ? { reservationTerm } : {}),
        retailPrice: price,
        unitPrice: price,
        armRegionName: region,
        location: loc.location,
        effectiveStartDate: '2023-01-01T00:00:00Z',
        meterId: uuidOf(`${region}|${size.name}|${variant}`),
        meterName: skuName,
        productId: `${productId}${productName.endsWith('Windows') ? 'W' : ''}`,
        skuId: `${productId}/${hex(`${size.name}|${variant}`, 4).toUpperCase()}`,
        productName,
        skuName,
        serviceName: 'Virtual Machines',
        serviceId: SERVICE_ID,
        serviceFamily: 'Compute',
        unitOfMeasure: '1 Hour',
        type,
        isPrimaryMeterRegion: true,
        armSkuName: size.name,
      });
      out.push(row('linux', size.productName, short, usd));
      out.push(row('linux-spot', size.productName, `${short} Spot`, roundPrice(usd * 0.2)));
      out.push(row('linux-low', size.productName, `${short} Low Priority`, roundPrice(usd * 0.2)));
      if (size.arch === 'x64') {
        out.push(row('windows', `${size.productName} Windows`, short, windowsUsd));
        out.push(row('windows-spot', `${size.productName} Windows`, `${short} Spot`, roundPrice(windowsUsd * 0.25)));
      }
      // a 1-year reservation is priced per term (hours × discounted rate), as the real rows are
      out.push(row('linux-1y', size.productName, short, Math.round(usd * 8760 * 0.6), 'Reservation', '1 Year'));
    }
    return out;
  };

  async function handle(req: Request, res: Response): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.status(status).setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(JSON.stringify(body));
    };
    try {
      if (req.method !== 'GET') throw new RetailError(405, 'MethodNotAllowed', `The requested resource does not support http method '${req.method}'.`);
      const url = new URL(req.originalUrl, 'https://prices.azure.com');
      const known = ['api-version', '$filter', '$skip', 'currencyCode', 'meterRegion'];
      for (const k of url.searchParams.keys()) if (!known.includes(k)) throw new RetailError(400, 'BadRequest', `Invalid OData parameters supplied: unknown query parameter ${k}`);
      const apiVersion = url.searchParams.get('api-version');
      if (apiVersion !== null && !API_VERSIONS.includes(apiVersion)) throw new RetailError(400, 'BadRequest', `The api-version '${apiVersion}' is invalid. The supported versions are '${API_VERSIONS.join(',')}'.`);
      const currency = url.searchParams.get('currencyCode');
      if (currency !== null && currency.replace(/'/g, '') !== 'USD') throw new RetailError(400, 'BadRequest', `The sandbox prices in USD only (currencyCode ${currency}).`);
      const filter = url.searchParams.get('$filter');
      const conds = filter !== null && filter.trim() !== '' ? parseRetailFilter(filter) : [];
      const skipRaw = url.searchParams.get('$skip');
      const skip = skipRaw === null ? 0 : Number(skipRaw);
      if (!Number.isInteger(skip) || skip < 0) throw new RetailError(400, 'BadRequest', `Invalid OData parameters supplied: $skip must be a non-negative integer (got ${skipRaw})`);
      const fault = ctx.takeFault('azure', 'read');
      if (fault === 'throttle') throw new RetailError(429, 'TooManyRequests', 'Too many requests. Please retry after some time.');
      if (fault) throw new RetailError(500, 'InternalServerError', 'An error has occurred.');
      await ctx.delay('read');
      // only the regions a filter on armRegionName names are built (the list is large)
      const region = conds.find((c) => c.op === 'eq' && c.field === 'armRegionName')?.value;
      const regions = typeof region === 'string' ? (REGION_PRICING[region] ? [region] : []) : Object.keys(REGION_PRICING);
      const rows = regions.flatMap(rowsOf).filter((r) => matches(r, conds));
      const items = rows.slice(skip, skip + RETAIL_PAGE_SIZE);
      let nextPageLink: string | null = null;
      if (skip + RETAIL_PAGE_SIZE < rows.length) {
        const next = new URL('/api/retail/prices', `https://${req.headers.host ?? 'prices.azure.com'}`);
        if (apiVersion !== null) next.searchParams.set('api-version', apiVersion);
        if (filter !== null) next.searchParams.set('$filter', filter);
        next.searchParams.set('$skip', String(skip + RETAIL_PAGE_SIZE));
        nextPageLink = next.toString();
      }
      send(200, { BillingCurrency: 'USD', CustomerEntityId: 'Default', CustomerEntityType: 'Retail', Items: items, NextPageLink: nextPageLink, Count: items.length });
    } catch (e) {
      if (e instanceof RetailError) return send(e.status, { Error: { Code: e.code, Message: e.message } });
      throw e;
    }
  }

  const admin: PriceAdmin = {
    referenceRegion: 'eastus',
    list(region = 'eastus') {
      if (!REGION_PRICING[region]) return undefined;
      return VM_SIZE_LIST.map((s): PriceEntry => ({ region, instanceType: s.name, ...((p) => ({ usdPerHour: p.usd, overridden: p.overridden }))(linux(s, region)) }));
    },
    set({ region, instanceType, usdPerHour }) {
      if (region !== undefined && !REGION_PRICING[region]) return { ok: false, field: 'region', detail: `region must be one of ${Object.keys(REGION_PRICING).join(', ')} (got ${JSON.stringify(region)})` };
      const size = findVmSize(instanceType);
      if (!size) return { ok: false, field: 'instanceType', detail: `instanceType ${JSON.stringify(instanceType)} is not a VM size the sandbox's Azure prices` };
      const bad = checkUsd(usdPerHour);
      if (bad) return bad;
      overrides.set(size.name, region ?? '', usdPerHour);
      const regions = region ? [region] : Object.keys(REGION_PRICING);
      return { ok: true, changed: regions.map((r) => ({ region: r, instanceType: size.name, ...((p) => ({ usdPerHour: p.usd, overridden: p.overridden }))(linux(size, r)) })), note: 'the Windows, Spot, Low Priority and reservation rows follow the Linux price' };
    },
    reset: () => overrides.clear(),
  };
  return { handle, admin };
}
