import * as ipaddr from 'ipaddr.js';
import { ArmError, invalidRequestFormat } from './arm-error';

/** Regions the sandbox offers (names as ARM normalises them: lower case, no spaces). */
export const LOCATIONS = [
  'eastus', 'eastus2', 'centralus', 'northcentralus', 'southcentralus', 'westcentralus', 'westus', 'westus2', 'westus3',
  'canadacentral', 'brazilsouth', 'northeurope', 'westeurope', 'uksouth', 'ukwest', 'francecentral', 'germanywestcentral',
  'swedencentral', 'switzerlandnorth', 'norwayeast', 'polandcentral', 'italynorth', 'japaneast', 'koreacentral',
  'australiaeast', 'southeastasia', 'eastasia', 'centralindia', 'southafricanorth', 'uaenorth',
] as const;

/** Display names of the regions (Locations - List `displayName`; Providers - List `resourceTypes[].locations`). */
export const LOCATION_DISPLAY_NAMES: Record<(typeof LOCATIONS)[number], string> = {
  eastus: 'East US', eastus2: 'East US 2', centralus: 'Central US', northcentralus: 'North Central US', southcentralus: 'South Central US',
  westcentralus: 'West Central US', westus: 'West US', westus2: 'West US 2', westus3: 'West US 3', canadacentral: 'Canada Central',
  brazilsouth: 'Brazil South', northeurope: 'North Europe', westeurope: 'West Europe', uksouth: 'UK South', ukwest: 'UK West',
  francecentral: 'France Central', germanywestcentral: 'Germany West Central', swedencentral: 'Sweden Central', switzerlandnorth: 'Switzerland North',
  norwayeast: 'Norway East', polandcentral: 'Poland Central', italynorth: 'Italy North', japaneast: 'Japan East', koreacentral: 'Korea Central',
  australiaeast: 'Australia East', southeastasia: 'Southeast Asia', eastasia: 'East Asia', centralindia: 'Central India',
  southafricanorth: 'South Africa North', uaenorth: 'UAE North',
};

/** Availability zones per region (regions not listed have none). */
export const ZONES: Record<string, string[]> = Object.fromEntries(
  ['eastus', 'eastus2', 'centralus', 'southcentralus', 'westus2', 'westus3', 'canadacentral', 'brazilsouth', 'northeurope', 'westeurope',
    'uksouth', 'francecentral', 'germanywestcentral', 'swedencentral', 'switzerlandnorth', 'norwayeast', 'polandcentral', 'italynorth',
    'japaneast', 'koreacentral', 'australiaeast', 'southeastasia', 'eastasia', 'centralindia', 'southafricanorth', 'uaenorth'].map((l) => [l, ['1', '2', '3']]),
);

export const normaliseLocation = (l: string): string => l.replace(/\s+/g, '').toLowerCase();

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The request body as an object. @throws ArmError 400 InvalidRequestContent */
export function requireBody(body: unknown): Record<string, unknown> {
  if (!isObject(body)) throw new ArmError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized: the request body must be a JSON object.');
  return body;
}

/**
 * `location` of a tracked resource, normalised.
 * @throws ArmError 400 LocationRequired / LocationNotAvailableForResourceType
 */
export function requireLocation(body: Record<string, unknown>, fullType: string): string {
  const l = body.location;
  if (l === undefined || l === null || l === '') throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
  if (typeof l !== 'string') throw invalidRequestFormat(`Error converting value to type 'System.String'. Path 'location'.`);
  const n = normaliseLocation(l);
  if (!(LOCATIONS as readonly string[]).includes(n)) {
    throw new ArmError(
      400,
      'LocationNotAvailableForResourceType',
      `The provided location '${l}' is not available for resource type '${fullType}'. List of available regions for the resource type is '${LOCATIONS.join(',')}'.`,
    );
  }
  return n;
}

/**
 * ARM tags: at most 50, names ≤ 512 characters without `<>%&\?/` or control characters, values ≤ 256 characters.
 * Reference: https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations
 * @throws ArmError 400 InvalidTagNameCharacters / InvalidTagNameLength / InvalidTagValueLength / InvalidTagsCount / InvalidRequestContent
 */
export function parseTags(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw new ArmError(400, 'InvalidRequestContent', "The request content was invalid and could not be deserialized: 'tags' must be an object of strings.");
  const out: Record<string, string> = {};
  const entries = Object.entries(v);
  if (entries.length > 50) throw new ArmError(400, 'InvalidTagsCount', 'The number of tags exceeds the limit of 50.');
  for (const [k, val] of entries) {
    if (typeof val !== 'string') throw new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: tag '${k}' must have a string value.`);
    if (k === '' || /[<>%&\\?/\u0000-\u001f]/.test(k)) {
      throw new ArmError(400, 'InvalidTagNameCharacters', `The tag names '${k}' have reserved characters '<,>,%,&,\\,?,/' or control characters.`);
    }
    if (k.length > 512) throw new ArmError(400, 'InvalidTagNameLength', `The tag name '${k.slice(0, 32)}…' exceeds the maximum length of 512 characters.`);
    if (val.length > 256) throw new ArmError(400, 'InvalidTagValueLength', `The tag value '${val.slice(0, 32)}…' exceeds the maximum length of 256 characters.`);
    out[k] = val;
  }
  return out;
}

/**
 * Network RP resource names: 1–80 characters, begin with a word character, end with a word character or `_`,
 * only word characters, `.`, `-`, `_`. @throws ArmError 400 InvalidResourceName
 */
export function checkNetworkName(name: string): void {
  if (!/^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$/.test(name)) {
    throw new ArmError(
      400,
      'InvalidResourceName',
      `Resource name ${name} is invalid. The name can be up to 80 characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'.`,
    );
  }
}

/** Resource group names: 1–90 characters, letters, digits, `_-.()`, not ending in `.`. @throws ArmError 400 InvalidResourceGroupName */
export function checkResourceGroupName(name: string): void {
  if (!/^[-\w._()]{1,90}$/u.test(name) || name.endsWith('.')) {
    throw new ArmError(
      400,
      'InvalidResourceGroupName',
      `The resource group name '${name}' is invalid. The name can contain only letters, digits, underscores, periods, hyphens and parentheses, cannot end in a period, and can be up to 90 characters.`,
    );
  }
}

/** Parses an IPv4 CIDR. Returns undefined when it is not `a.b.c.d/n`. */
export function parseCidr(s: string): { base: number; len: number } | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(s);
  if (!m || !ipaddr.IPv4.isValidFourPartDecimal(m[1])) return undefined;
  const len = Number(m[2]);
  if (len > 32) return undefined;
  return { base: ipToInt(m[1]), len };
}

export const ipToInt = (ip: string): number => ipaddr.IPv4.parse(ip).toByteArray().reduce((a, b) => a * 256 + b, 0);
export const intToIp = (n: number): string => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
export const cidrSize = (len: number): number => 2 ** (32 - len);
const mask = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

/**
 * A valid address prefix: CIDR syntax, and no host bits set.
 * @throws ArmError 400 InvalidAddressPrefixFormat / InvalidCIDRNotation
 */
export function requirePrefix(prefix: unknown, resourceId: string): { base: number; len: number } {
  if (typeof prefix !== 'string') throw invalidRequestFormat('Error converting value to type System.String for an address prefix.');
  const c = parseCidr(prefix);
  if (!c) {
    throw new ArmError(
      400,
      'InvalidAddressPrefixFormat',
      `Address prefix ${prefix} of resource ${resourceId} is not formatted correctly. It should follow CIDR notation, for example 10.0.0.0/24.`,
    );
  }
  if (((c.base & mask(c.len)) >>> 0) !== c.base) {
    const fixed = `${intToIp((c.base & mask(c.len)) >>> 0)}/${c.len}`;
    throw new ArmError(
      400,
      'InvalidCIDRNotation',
      `The address prefix ${prefix} in resource ${resourceId} has an invalid CIDR notation. For the given prefix length, the address prefix should be ${fixed}.`,
    );
  }
  return c;
}

export const cidrContainsCidr = (outer: { base: number; len: number }, inner: { base: number; len: number }): boolean =>
  inner.len >= outer.len && ((inner.base & mask(outer.len)) >>> 0) === outer.base;
export const cidrsOverlap = (a: { base: number; len: number }, b: { base: number; len: number }): boolean =>
  cidrContainsCidr(a, b) || cidrContainsCidr(b, a);
export const cidrContainsIp = (c: { base: number; len: number }, ip: number): boolean => ((ip & mask(c.len)) >>> 0) === c.base;

/** Parses an NSG port spec: `*`, `N` or `N-M` within 0–65535. Returns undefined when invalid. */
export function parsePortRange(s: string): { from: number; to: number } | undefined {
  if (s === '*') return { from: 0, to: 65535 };
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from > 65535 || to > 65535 || from > to) return undefined;
  return { from, to };
}

/** Service tags an NSG rule may name instead of a prefix. */
export const SERVICE_TAGS = ['*', 'Internet', 'VirtualNetwork', 'AzureLoadBalancer', 'AzureCloud', 'Storage', 'Sql', 'AzureTrafficManager', 'AzureMonitor', 'GatewayManager'];

/** True for `*`, a service tag, an IPv4 address or an IPv4 CIDR. */
export function isValidAddressPrefix(s: string): boolean {
  if (SERVICE_TAGS.some((t) => t.toLowerCase() === s.toLowerCase())) return true;
  if (/^[A-Za-z]+(\.[A-Za-z0-9]+)?$/.test(s)) return /^(AzureCloud|Storage|Sql)\.[a-z0-9]+$/.test(s);
  if (s.includes('/')) return parseCidr(s) !== undefined;
  return ipaddr.IPv4.isValidFourPartDecimal(s);
}

/** A string field, or undefined when absent. @throws ArmError 400 InvalidRequestFormat when present with another type */
export function optString(o: Record<string, unknown>, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidRequestFormat(`Error converting value ${JSON.stringify(v)} to type 'System.String'. Path '${path}.${key}'.`);
  return v;
}

/** An enum field (case-insensitive, returned in canonical case). @throws ArmError 400 InvalidRequestFormat */
export function optEnum<T extends string>(o: Record<string, unknown>, key: string, values: readonly T[], path: string): T | undefined {
  const v = optString(o, key, path);
  if (v === undefined) return undefined;
  const hit = values.find((x) => x.toLowerCase() === v.toLowerCase());
  if (!hit) throw invalidRequestFormat(`Error converting value "${v}" to type '${key}'. Allowed values: ${values.join(', ')}. Path '${path}.${key}'.`);
  return hit;
}

/** A string[] field, or [] when absent. */
export function optStringArray(o: Record<string, unknown>, key: string, path: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalidRequestFormat(`Error converting value to type 'System.Collections.Generic.List\`1[System.String]'. Path '${path}.${key}'.`);
  return v as string[];
}

/** `{ id }` sub-resource reference → id, or undefined. */
export function optRef(o: Record<string, unknown>, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw invalidRequestFormat(`Error converting value to type 'SubResource'. Path '${path}.${key}'.`);
  const id = v.id;
  if (id === undefined || id === null) return undefined;
  if (typeof id !== 'string') throw invalidRequestFormat(`Error converting value to type 'System.String'. Path '${path}.${key}.id'.`);
  return id;
}
