import * as ipaddr from 'ipaddr.js';
import type { CloudContext, Operation } from '../core/types';
import { isVisible, stampNow } from '../core/consistency';
import type { PublicIpAllocator } from '../core/public-ips';
import type { ImageInfo, RegionInfo } from './catalog';
import { invalidParameterValue, malformed, notFound } from './errors';
import type { Params } from './params';
import { Account, isWellFormedId, RegionState } from './state';
import type { XmlValue } from './xml';

/** What the whole EC2 module shares between accounts: the core context, public address pool, images. */
export interface Ec2Shared {
  ctx: CloudContext;
  /** The sandbox-wide pool (`ctx.publicIps`); EC2 takes addresses from both documentation ranges, `.1` .. `.254`. */
  publicIps: PublicIpAllocator;
  images(region: string): ImageInfo[];
}

/** One call being handled. */
export interface ActionContext {
  action: string;
  p: Params;
  account: Account;
  rs: RegionState;
  region: RegionInfo;
  shared: Ec2Shared;
}

export type ActionResult = Record<string, XmlValue>;

/** An EC2 action the sandbox serves: its latency/fault operation, the top-level parameters it takes, and its body. */
export interface ActionDef {
  op: Operation;
  params: readonly string[];
  /** The op's latency is spent by a background state change (e.g. `shutting-down` → `terminated`), not by the call. */
  latencyInBackground?: boolean;
  run(c: ActionContext): ActionResult;
}

/** A creation stamp on the sandbox clock (`createdAtMs`). */
export const stamp = (c: ActionContext): number => stampNow(c.shared.ctx);

/**
 * What reads (Describe*) may see of `map` now: resources made less than the eventual-consistency window ago are left
 * out, so that describing them by id answers EC2's `Invalid…ID.NotFound` and lists and filters skip them.
 * Mutations use the full map.
 */
export function visibleMap<T extends { createdAtMs?: number }>(c: ActionContext, map: Map<string, T>): Map<string, T> {
  if (!c.shared.ctx.consistency) return map;
  const out = new Map<string, T>();
  for (const [k, v] of map) if (isVisible(c.shared.ctx, 'aws', v.createdAtMs)) out.set(k, v);
  return out;
}

/** Parses an IPv4 CIDR in strict four-part dotted form; `undefined` when malformed. */
export function parseCidr(s: string): { base: number; len: number; text: string } | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m || !ipaddr.IPv4.isValidFourPartDecimal(m[1])) return undefined;
  const len = Number(m[2]);
  if (len > 32) return undefined;
  return { base: ipToInt(m[1]), len, text: s };
}

export const ipToInt = (ip: string): number => ipaddr.IPv4.parse(ip).toByteArray().reduce((a, b) => a * 256 + b, 0);
export const intToIp = (n: number): string => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** Host bits of the CIDR are zero. */
export const isNetworkAligned = (c: { base: number; len: number }): boolean => c.len === 0 || c.base % 2 ** (32 - c.len) === 0;

export const cidrSize = (len: number): number => 2 ** (32 - len);

export function cidrWithin(inner: { base: number; len: number }, outer: { base: number; len: number }): boolean {
  return inner.len >= outer.len && inner.base >= outer.base && inner.base + cidrSize(inner.len) <= outer.base + cidrSize(outer.len);
}

export function cidrOverlaps(a: { base: number; len: number }, b: { base: number; len: number }): boolean {
  return a.base < b.base + cidrSize(b.len) && b.base < a.base + cidrSize(a.len);
}

/**
 * Looks up a resource by id in the caller's (account, region): `…Malformed` for a badly formed id, `…NotFound`
 * otherwise, with EC2's codes (e.g. `InvalidVpcID.NotFound`) and wording.
 */
export function lookup<T>(
  map: Map<string, T>,
  id: string,
  kind: { prefix: string; notFound: string; malformed: string; noun: string },
): T {
  if (!isWellFormedId(kind.prefix, id)) throw malformed(kind.malformed, id);
  const r = map.get(id);
  if (!r) throw notFound(kind.notFound, kind.noun, [id]);
  return r;
}

/** Several ids at once: every unknown id is reported in one `…NotFound`, as EC2 does. */
export function lookupAll<T>(
  map: Map<string, T>,
  ids: string[],
  kind: { prefix: string; notFound: string; malformed: string; noun: string },
): T[] {
  for (const id of ids) if (!isWellFormedId(kind.prefix, id)) throw malformed(kind.malformed, id);
  const missing = ids.filter((id) => !map.has(id));
  if (missing.length) throw notFound(kind.notFound, kind.noun, missing);
  return [...new Set(ids)].map((id) => map.get(id) as T);
}

export const KINDS = {
  vpc: { prefix: 'vpc', notFound: 'InvalidVpcID.NotFound', malformed: 'InvalidVpcID.Malformed', noun: 'vpc ID' },
  subnet: { prefix: 'subnet', notFound: 'InvalidSubnetID.NotFound', malformed: 'InvalidSubnetID.Malformed', noun: 'subnet ID' },
  igw: { prefix: 'igw', notFound: 'InvalidInternetGatewayID.NotFound', malformed: 'InvalidInternetGatewayID.Malformed', noun: 'internetGateway ID' },
  rtb: { prefix: 'rtb', notFound: 'InvalidRouteTableID.NotFound', malformed: 'InvalidRouteTableID.Malformed', noun: 'routeTable ID' },
  sg: { prefix: 'sg', notFound: 'InvalidGroup.NotFound', malformed: 'InvalidGroupId.Malformed', noun: 'security group' },
  instance: { prefix: 'i', notFound: 'InvalidInstanceID.NotFound', malformed: 'InvalidInstanceID.Malformed', noun: 'instance ID' },
} as const;

/** A required CIDR parameter, with EC2's message for a malformed one. */
export function cidrParam(p: Params, name: string, wireName: string): { base: number; len: number; text: string } {
  const raw = p.reqStr(name);
  const c = parseCidr(raw);
  if (!c || !isNetworkAligned(c)) throw invalidParameterValue(`Value (${raw}) for parameter ${wireName} is invalid. This is not a valid CIDR block.`);
  return c;
}

/** `<return>true</return>`: the body of EC2 actions that only acknowledge. */
export const OK: ActionResult = { return: true };
