import { invalid, invalidField, required } from './errors';
import { NAME_RE, NAME_RE_TEXT, isIpOrCidr } from './util';

/**
 * Semantic checks of request bodies, with the real API's messages (`Invalid value for field 'resource.x': '…'. …`).
 * Bodies have already passed the schema check (schema.ts), so every value has its JSON type.
 */

export function checkName(field: string, v: unknown): string {
  if (v === undefined || v === '') throw required(field);
  if (typeof v !== 'string' || !NAME_RE.test(v)) throw invalidField(field, v, `Must be a match of regex '${NAME_RE_TEXT}'`);
  return v;
}

export function checkDescription(field: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidField(field, v, 'Must be a string.');
  if (v.length > 2048) throw invalidField(field, v, 'Must be at most 2048 characters long.');
  return v;
}

const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;

/** Labels (https://cloud.google.com/compute/docs/labeling-resources#requirements): ≤ 64, key and value format. */
export function checkLabels(field: string, v: unknown): Record<string, string> {
  if (v === undefined) return {};
  const labels = v as Record<string, unknown>;
  const entries = Object.entries(labels);
  if (entries.length > 64) throw invalidField(field, '', 'Resources may have at most 64 labels.');
  for (const [k, val] of entries) {
    if (!LABEL_KEY.test(k)) {
      throw invalidField(field, '', `Label key '${k}' violates format constraints. The key must start with a lowercase character, can only contain lowercase letters, numeric characters, underscores and dashes. The key can be at most 63 characters long. International characters are allowed.`);
    }
    if (typeof val !== 'string' || !LABEL_VALUE.test(val)) {
      throw invalidField(field, '', `Label value '${String(val)}' violates format constraints. The value can only contain lowercase letters, numeric characters, underscores and dashes. The value can be at most 63 characters long. International characters are allowed.`);
    }
  }
  return Object.fromEntries(entries.map(([k, val]) => [k, String(val)]));
}

/** Network tags (instance `tags.items`, firewall `sourceTags`/`targetTags`): RFC 1035, ≤ 64. */
export function checkTags(field: string, v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  const tags = v as string[];
  if (tags.length > 64) throw invalidField(field, '', 'Too many tags. At most 64 are allowed.');
  tags.forEach((t, i) => {
    if (!NAME_RE.test(t)) throw invalidField(`${field}[${i}]`, t, `Must be a match of regex '${NAME_RE_TEXT}'`);
  });
  return [...tags];
}

const PROTOCOLS = ['tcp', 'udp', 'icmp', 'esp', 'ah', 'sctp', 'ipip', 'all'];
const PORT_PROTOCOLS = ['tcp', 'udp', 'sctp', '6', '17', '132'];

/** Firewall `allowed` / `denied` entries. */
export function checkRules(field: string, v: unknown): { IPProtocol: string; ports?: string[] }[] | undefined {
  if (v === undefined) return undefined;
  const rules = v as { IPProtocol?: string; ports?: string[] }[];
  return rules.map((r, i) => {
    const at = `${field}[${i}]`;
    const proto = r.IPProtocol;
    if (proto === undefined || proto === '') throw required(`${at}.IPProtocol`);
    const num = /^\d{1,3}$/.test(proto) ? Number(proto) : NaN;
    if (!PROTOCOLS.includes(proto) && !(num >= 0 && num <= 255)) throw invalidField(`${at}.IPProtocol`, proto, 'Unsupported protocol.');
    const ports = r.ports ?? [];
    if (ports.length && !PORT_PROTOCOLS.includes(proto)) {
      throw invalidField(`${at}.ports`, ports.join(','), 'Ports may only be specified for tcp, udp or sctp.');
    }
    ports.forEach((p, j) => {
      const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(p);
      const lo = m ? Number(m[1]) : NaN;
      const hi = m ? Number(m[2] ?? m[1]) : NaN;
      if (!m || lo > 65535 || hi > 65535 || lo > hi) throw invalidField(`${at}.ports[${j}]`, p, 'Must be a port number or a port range (e.g. 80 or 8000-8080) in 0-65535.');
    });
    return { IPProtocol: proto, ...(ports.length ? { ports: [...ports] } : {}) };
  });
}

export function checkRanges(field: string, v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  const ranges = v as string[];
  ranges.forEach((r, i) => {
    if (!isIpOrCidr(r)) throw invalidField(`${field}[${i}]`, r, 'Must be a valid IPv4 or IPv6 CIDR range or address.');
  });
  return [...ranges];
}

export function checkServiceAccounts(field: string, v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  const sas = v as string[];
  sas.forEach((s, i) => {
    if (!/^[^@\s]+@[^@\s]+$/.test(s)) throw invalidField(`${field}[${i}]`, s, 'Must be a service account email.');
  });
  return [...sas];
}

export function checkInt(field: string, v: unknown, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw invalidField(field, v, `Must be between ${min} and ${max}.`);
  return n;
}

export function checkEnum<T extends string>(field: string, v: unknown, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw invalidField(field, v, `Must be one of [${allowed.join(', ')}].`);
  return v as T;
}

/** Metadata items: key format, no duplicates, sizes (https://cloud.google.com/compute/docs/metadata/setting-custom-metadata#limitations). */
export function checkMetadataItems(field: string, v: unknown): { key: string; value: string }[] {
  if (v === undefined) return [];
  const items = v as { key?: string; value?: string }[];
  const seen = new Set<string>();
  let total = 0;
  const out = items.map((it, i) => {
    const key = it.key;
    if (key === undefined || key === '') throw required(`${field}[${i}].key`);
    if (!/^[a-zA-Z0-9-_]{1,128}$/.test(key)) throw invalidField(`${field}[${i}].key`, key, "Must be a match of regex '[a-zA-Z0-9-_]{1,128}'");
    if (seen.has(key)) throw invalid(`Invalid value for field '${field}': Duplicate metadata key '${key}'.`);
    seen.add(key);
    const value = it.value ?? '';
    if (Buffer.byteLength(value) > 256 * 1024) throw invalidField(`${field}[${i}].value`, '', 'Value is too large (max 256 KB).');
    total += Buffer.byteLength(value) + key.length;
    return { key, value };
  });
  if (total > 512 * 1024) throw invalid(`Invalid value for field '${field}': Metadata is too large (max 512 KB in total).`);
  return out;
}
