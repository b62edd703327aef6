import * as ipaddr from 'ipaddr.js';

/** IPv4 arithmetic for VPC ranges (integers are unsigned 32-bit). */

export const ipToInt = (ip: string): number => ipaddr.IPv4.parse(ip).toByteArray().reduce((acc, b) => acc * 256 + b, 0);

export const intToIp = (n: number): string => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

export interface Ipv4Range {
  /** Network address as an integer. */
  base: number;
  prefix: number;
  /** Number of addresses. */
  size: number;
}

/** Parses an IPv4 CIDR whose host bits are zero; `undefined` when it is not one. */
export function parseIpv4Network(cidr: string): Ipv4Range | undefined {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr)) return undefined;
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(cidr);
  } catch {
    return undefined;
  }
  const [addr, prefix] = parsed;
  if (addr.kind() !== 'ipv4' || prefix > 32) return undefined;
  const base = ipToInt(addr.toString());
  const size = 2 ** (32 - prefix);
  if (base % size !== 0) return undefined;
  return { base, prefix, size };
}

export const rangesOverlap = (a: Ipv4Range, b: Ipv4Range): boolean => a.base < b.base + b.size && b.base < a.base + a.size;

const RFC1918: Ipv4Range[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((c) => parseIpv4Network(c) as Ipv4Range);

/** True when the whole range lies inside one RFC 1918 private block. */
export const isRfc1918 = (r: Ipv4Range): boolean => RFC1918.some((p) => r.base >= p.base && r.base + r.size <= p.base + p.size);

export const netmaskOf = (prefix: number): string => intToIp(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** True for a literal IPv4 (four-part decimal) / IPv6 address or CIDR (what a firewall rule's `addresses` accepts). */
export function isAddressOrCidr(value: string): boolean {
  if (value.includes(':')) return value.includes('/') ? ipaddr.IPv6.isValidCIDR(value) : ipaddr.IPv6.isValid(value);
  return value.includes('/') ? ipaddr.IPv4.isValidCIDRFourPartDecimal(value) : ipaddr.IPv4.isValidFourPartDecimal(value);
}
