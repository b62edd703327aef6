import { createHash } from 'node:crypto';
import { checkUsd, PriceAdmin, PriceEntry, PriceOverrides } from '../core/prices';
import { familyInfo, INSTANCE_TYPES, InstanceTypeInfo, listPrice, networkPerformance, REGION_PRICING } from './catalog';

/**
 * The sandbox's AWS Price List Query API (`AWSPriceListService`, API version 2017-10-15), as `@aws-sdk/client-pricing`
 * speaks it: JSON 1.1 (`POST /`, `X-Amz-Target: AWSPriceListService.GetProducts`, `Content-Type:
 * application/x-amz-json-1.1`), SigV4 with the service name `pricing` (the real endpoints are
 * api.pricing.us-east-1 / eu-central-1 / ap-south-1 .amazonaws.com, signed for that region). Served: GetProducts for
 * `ServiceCode: AmazonEC2` (Compute Instance products: for each instance type and region, Linux and Windows, shared and
 * dedicated tenancy, and the capacity-reservation rows `UnusedCapacityReservation` / `AllocatedCapacityReservation`,
 * as the real list holds them), filters of type TERM_MATCH (exact: a product lacking the attribute does not match),
 * `FormatVersion: aws_v1`, `MaxResults` 1–100 (default 100) and `NextToken`. `PriceList` entries are JSON strings.
 */
export const PRICING_REGIONS = ['us-east-1', 'eu-central-1', 'ap-south-1'];

/** A Price List error: `{"__type": code, "Message": …}` (JSON 1.1), the SDK raises it with `name` = code. */
export class PricingError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const ON_DEMAND = 'JRTCKXETXF';
const RATE = '6YS6EN2CT7';
const PUBLICATION = '2025-11-20T19:28:34Z';
const VERSION = '20251120192834';
const MAX_RESULTS = 100;

/** The product rows of one (instance type, region): the first is what on-demand Linux capacity costs. */
type Variant = { os: 'Linux' | 'Windows'; tenancy: 'Shared' | 'Dedicated'; capacity: 'Used' | 'UnusedCapacityReservation' | 'AllocatedCapacityReservation' };
const VARIANTS: Variant[] = [
  { os: 'Linux', tenancy: 'Shared', capacity: 'Used' },
  { os: 'Linux', tenancy: 'Shared', capacity: 'UnusedCapacityReservation' },
  { os: 'Linux', tenancy: 'Shared', capacity: 'AllocatedCapacityReservation' },
  { os: 'Linux', tenancy: 'Dedicated', capacity: 'Used' },
  { os: 'Windows', tenancy: 'Shared', capacity: 'Used' },
];

const sku = (seed: string): string => {
  const digest = createHash('sha256').update(seed).digest();
  const alphabet = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
  return Array.from(digest.subarray(0, 16), (b) => alphabet[b % alphabet.length]).join('');
};

const gib = (mib: number): string => `${Number.isInteger(mib / 1024) ? mib / 1024 : (mib / 1024).toFixed(3).replace(/0+$/, '')} GiB`;

/** The price of a variant given the on-demand Linux price: Windows adds its licence (≈ $0.046 per vCPU-hour on AWS's list; $0.0092 on burstable types), dedicated tenancy ≈ +10 %. */
function variantPrice(v: Variant, linux: number, type: InstanceTypeInfo, instanceType: string): number {
  if (v.capacity === 'AllocatedCapacityReservation') return 0;
  let usd = linux;
  if (v.tenancy === 'Dedicated') usd *= 1.1;
  if (v.os === 'Windows') usd += type.vcpu * (/^t\d/.test(instanceType) ? 0.0092 : 0.046);
  return Math.round(usd * 1e4) / 1e4;
}

/** Builds the Price List of one module (prices with this emulator's overrides). */
export function createAwsPricing(): { admin: PriceAdmin; getProducts(body: unknown): { FormatVersion: string; PriceList: string[]; NextToken?: string } } {
  const overrides = new PriceOverrides();
  const linuxPrice = (instanceType: string, region: string) => {
    const list = listPrice(instanceType);
    const r = REGION_PRICING[region];
    if (list === undefined || !r) return undefined;
    return overrides.price(instanceType, region, list, r.factor);
  };
  const priced = () => [...INSTANCE_TYPES.keys()].filter((t) => listPrice(t) !== undefined && familyInfo(t) !== undefined);

  const productsOf = (region: string): { attributes: Record<string, string>; json: string }[] => {
    const r = REGION_PRICING[region];
    const out: { attributes: Record<string, string>; json: string }[] = [];
    for (const instanceType of priced()) {
      const type = INSTANCE_TYPES.get(instanceType)!;
      const fam = familyInfo(instanceType)!;
      const linux = linuxPrice(instanceType, region)!.usd;
      for (const v of VARIANTS) {
        if (v.os === 'Windows' && type.architecture === 'arm64') continue; // no Windows on Graviton
        const id = sku(`${region}|${instanceType}|${v.os}|${v.tenancy}|${v.capacity}`);
        const usage = v.capacity === 'UnusedCapacityReservation' ? 'UnusedBox' : v.capacity === 'AllocatedCapacityReservation' ? 'Reservation' : v.tenancy === 'Dedicated' ? 'DedicatedUsage' : 'BoxUsage';
        const attributes: Record<string, string> = {
          servicecode: 'AmazonEC2',
          servicename: 'Amazon Elastic Compute Cloud',
          location: r.location,
          locationType: 'AWS Region',
          regionCode: region,
          instanceType,
          instanceFamily: fam.instanceFamily,
          currentGeneration: fam.currentGeneration,
          vcpu: String(type.vcpu),
          memory: gib(type.memoryMiB),
          physicalProcessor: fam.physicalProcessor,
          clockSpeed: fam.clockSpeed,
          processorArchitecture: '64-bit',
          storage: 'EBS only',
          networkPerformance: networkPerformance(instanceType),
          tenancy: v.tenancy,
          operatingSystem: v.os,
          licenseModel: 'No License required',
          preInstalledSw: 'NA',
          capacitystatus: v.capacity,
          usagetype: `${r.usagePrefix}${usage}:${instanceType}`,
          operation: v.os === 'Windows' ? 'RunInstances:0002' : 'RunInstances',
          marketoption: 'OnDemand',
          normalizationSizeFactor: String(type.vcpu / 2 || 0.5),
        };
        const usd = variantPrice(v, linux, type, instanceType);
        const term = `${id}.${ON_DEMAND}`;
        const doc = {
          product: { productFamily: 'Compute Instance', attributes, sku: id },
          serviceCode: 'AmazonEC2',
          terms: {
            OnDemand: {
              [term]: {
                priceDimensions: {
                  [`${term}.${RATE}`]: {
                    unit: 'Hrs',
                    endRange: 'Inf',
                    description: `$${usd} per On Demand ${v.os} ${instanceType} Instance Hour`,
                    appliesTo: [],
                    rateCode: `${term}.${RATE}`,
                    beginRange: '0',
                    pricePerUnit: { USD: usd.toFixed(10) },
                  },
                },
                sku: id,
                effectiveDate: '2025-11-01T00:00:00Z',
                offerTermCode: ON_DEMAND,
                termAttributes: {},
              },
            },
          },
          version: VERSION,
          publicationDate: PUBLICATION,
        };
        out.push({ attributes, json: JSON.stringify(doc) });
      }
    }
    return out;
  };

  const admin: PriceAdmin = {
    referenceRegion: 'us-east-1',
    list(region = 'us-east-1') {
      if (!REGION_PRICING[region]) return undefined;
      return priced().map((instanceType): PriceEntry => {
        const p = linuxPrice(instanceType, region)!;
        return { region, instanceType, usdPerHour: p.usd, overridden: p.overridden };
      });
    },
    set({ region, instanceType, usdPerHour }) {
      if (region !== undefined && !REGION_PRICING[region]) return { ok: false, field: 'region', detail: `region must be one of ${Object.keys(REGION_PRICING).join(', ')} (got ${JSON.stringify(region)})` };
      if (listPrice(instanceType) === undefined) return { ok: false, field: 'instanceType', detail: `instanceType ${JSON.stringify(instanceType)} is not an instance type the sandbox's EC2 prices` };
      const bad = checkUsd(usdPerHour);
      if (bad) return bad;
      overrides.set(instanceType, region ?? '', usdPerHour);
      const regions = region ? [region] : Object.keys(REGION_PRICING);
      return { ok: true, changed: regions.map((r) => ({ region: r, instanceType, ...((p) => ({ usdPerHour: p.usd, overridden: p.overridden }))(linuxPrice(instanceType, r)!) })) };
    },
    reset: () => overrides.clear(),
  };

  function getProducts(body: unknown): { FormatVersion: string; PriceList: string[]; NextToken?: string } {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new PricingError(400, 'SerializationException', 'Start of structure or map found where not expected.');
    const req = body as { ServiceCode?: unknown; Filters?: unknown; FormatVersion?: unknown; NextToken?: unknown; MaxResults?: unknown };
    const known = ['ServiceCode', 'Filters', 'FormatVersion', 'NextToken', 'MaxResults'];
    const extra = Object.keys(req).filter((k) => !known.includes(k));
    if (extra.length) throw new PricingError(400, 'SerializationException', `Unknown field ${extra[0]}`);
    if (typeof req.ServiceCode !== 'string' || req.ServiceCode === '') throw new PricingError(400, 'InvalidParameterException', 'ServiceCode is required.');
    if (req.FormatVersion !== undefined && req.FormatVersion !== 'aws_v1') throw new PricingError(400, 'InvalidParameterException', `Invalid FormatVersion: ${String(req.FormatVersion)}. Valid value: aws_v1`);
    let max = MAX_RESULTS;
    if (req.MaxResults !== undefined) {
      if (typeof req.MaxResults !== 'number' || !Number.isInteger(req.MaxResults) || req.MaxResults < 1 || req.MaxResults > MAX_RESULTS) {
        throw new PricingError(400, 'ValidationException', `1 validation error detected: Value '${String(req.MaxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${MAX_RESULTS} and greater than or equal to 1`);
      }
      max = req.MaxResults;
    }
    const filters: { field: string; value: string }[] = [];
    if (req.Filters !== undefined) {
      if (!Array.isArray(req.Filters)) throw new PricingError(400, 'SerializationException', 'Filters must be a list.');
      for (const f of req.Filters as unknown[]) {
        const { Type, Field, Value } = (f ?? {}) as { Type?: unknown; Field?: unknown; Value?: unknown };
        if (Type !== 'TERM_MATCH') throw new PricingError(400, 'InvalidParameterException', `Filter type ${JSON.stringify(Type)} is not supported by this endpoint: the sandbox serves TERM_MATCH`);
        if (typeof Field !== 'string' || Field === '' || typeof Value !== 'string') throw new PricingError(400, 'InvalidParameterException', 'Each filter needs a Field and a Value.');
        filters.push({ field: Field.toLowerCase(), value: Value });
      }
    }
    if (req.ServiceCode !== 'AmazonEC2') throw new PricingError(400, 'NotFoundException', `The requested service code ${req.ServiceCode} is not served by the sandbox's Price List (AmazonEC2 only)`);
    const regionFilter = filters.find((f) => f.field === 'regioncode')?.value;
    const regions = regionFilter !== undefined ? (REGION_PRICING[regionFilter] ? [regionFilter] : []) : Object.keys(REGION_PRICING);
    const matching = regions.flatMap((r) => productsOf(r)).filter((p) => filters.every((f) => {
      const key = Object.keys(p.attributes).find((k) => k.toLowerCase() === f.field);
      return key !== undefined && p.attributes[key] === f.value;
    }));
    // NextToken: the offset, bound to the query it came from
    const queryKey = createHash('sha256').update(JSON.stringify([req.ServiceCode, filters])).digest('hex').slice(0, 16);
    let start = 0;
    if (req.NextToken !== undefined) {
      const m = typeof req.NextToken === 'string' ? /^([0-9a-f]{16}):(\d+)$/.exec(Buffer.from(req.NextToken, 'base64').toString('utf8')) : null;
      if (!m || m[1] !== queryKey || Number(m[2]) > matching.length) throw new PricingError(400, 'InvalidNextTokenException', 'The next token is invalid.');
      start = Number(m[2]);
    }
    const end = Math.min(start + max, matching.length);
    return {
      FormatVersion: 'aws_v1',
      PriceList: matching.slice(start, end).map((p) => p.json),
      ...(end < matching.length ? { NextToken: Buffer.from(`${queryKey}:${end}`).toString('base64') } : {}),
    };
  }

  return { admin, getProducts };
}
