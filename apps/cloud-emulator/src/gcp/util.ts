import { randomBytes } from 'node:crypto';
import * as ipaddr from 'ipaddr.js';

/** The prefix of every selfLink, as the real API writes them. */
export const API_BASE = 'https://www.googleapis.com/compute/v1/';

export const link = (project: string, path: string) => `${API_BASE}projects/${project}/${path}`;

/** A Compute numeric id (uint64, as a decimal string; 63 random bits, never 0). */
export const newId = () => (BigInt.asUintN(63, randomBytes(8).readBigUInt64BE()) | 1n).toString();

const PACIFIC = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/Los_Angeles', hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
});

/**
 * RFC 3339 in US Pacific time with the offset of that instant, as Compute writes `creationTimestamp` and operation
 * times (`2026-01-15T09:30:00.123-08:00` in winter, `…-07:00` in summer). The offset comes from the platform's time
 * zone data (Intl, `America/Los_Angeles`), not from home-made DST rules.
 */
export function timestamp(d = new Date()): string {
  const parts: Record<string, string> = {};
  for (const p of PACIFIC.formatToParts(d)) parts[p.type] = p.value;
  const ms = d.getTime();
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second)) + (ms % 1000 + 1000) % 1000;
  const offsetMin = Math.round((wall - ms) / 60_000);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const off = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${new Date(wall).toISOString().replace('Z', '')}${off}`;
}

/** An 8-byte base64 fingerprint. */
export const fingerprint = () => randomBytes(8).toString('base64');

/** Operation names look like `operation-1700000000000-5f0c2e1a3b4c5-a8ffd5c0-2b53a2e8`. */
export const operationName = () =>
  `operation-${Date.now()}-${randomBytes(7).toString('hex').slice(0, 13)}-${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`;

/** RFC 1035 resource names (1–63 chars). */
export const NAME_RE = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
export const NAME_RE_TEXT = '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)';

export const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * A reference to another resource as the API accepts it: a full URL (`https://www.googleapis.com/compute/v1/projects/p/global/networks/n`),
 * a partial one (`projects/p/global/networks/n`) or a project-relative one (`global/networks/n`).
 * Returns the project (if given) and the path segments after it.
 */
export function parseRef(ref: string): { project?: string; segments: string[] } {
  let s = ref.replace(/^https?:\/\/[^/]+\/compute\/(?:v1|beta|alpha)\//, '');
  let project: string | undefined;
  const m = /^projects\/([^/]+)\/(.*)$/.exec(s);
  if (m) {
    project = m[1];
    s = m[2];
  }
  return { project, segments: s.split('/') };
}

/** Last path segment of a URL or reference. */
export const lastSegment = (ref: string) => ref.split('/').pop() ?? ref;

/** IPv4 CIDR as [network int, prefix length], or undefined when malformed. */
export function parseCidr4(cidr: string): { base: number; len: number; hostBitsZero: boolean } | undefined {
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr)) return undefined;
  try {
    const [addr, len] = ipaddr.IPv4.parseCIDR(cidr);
    const n = ipToInt(addr.toString());
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    return { base: (n & mask) >>> 0, len, hostBitsZero: ((n & ~mask) >>> 0) === 0 };
  } catch {
    return undefined;
  }
}

export const ipToInt = (ip: string) => ipaddr.IPv4.parse(ip).toByteArray().reduce((a, b) => a * 256 + b, 0);
export const intToIp = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

export function cidrsOverlap(a: { base: number; len: number }, b: { base: number; len: number }): boolean {
  const len = Math.min(a.len, b.len);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return ((a.base & mask) >>> 0) === ((b.base & mask) >>> 0);
}

/** True for an IPv4/IPv6 address or CIDR (firewall source and destination ranges). */
export function isIpOrCidr(s: string): boolean {
  try {
    if (s.includes('/')) {
      ipaddr.parseCIDR(s);
      return true;
    }
    return ipaddr.isValid(s);
  } catch {
    return false;
  }
}

/** Runs `fn` after `ms` without keeping the process alive. */
export function later(ms: number, fn: () => void): NodeJS.Timeout {
  const t = setTimeout(fn, ms);
  t.unref();
  return t;
}
