import { readFileSync } from 'node:fs';
import { badJsonValue, unknownName } from './errors';

/**
 * Request-body checking as Google's JSON transcoder does it: every name must be a field of the proto message
 * (camelCase JSON name or the snake_case proto name), and every value must have the field's JSON type; otherwise
 * 400 `Invalid JSON payload received. Unknown name "labels" at 'resource': Cannot find field.`
 *
 * The schema is the published Compute v1 API description (google/cloud/compute/v1/compute.proto) as shipped in
 * protobuf.js JSON form with `@google-cloud/compute`; the sandbox reads it as data only.
 */

interface ProtoField { type: string; rule?: string; keyType?: string }
export interface ProtoType { fields?: Record<string, ProtoField>; values?: Record<string, number>; nested?: Record<string, ProtoType> }

let v1: Record<string, ProtoType> | undefined;

/** The `google.cloud.compute.v1` namespace of the published API description (messages and services), loaded once. */
export function computeV1(): Record<string, ProtoType> {
  return compute();
}

const readRoot = () =>
  JSON.parse(readFileSync(require.resolve('@google-cloud/compute/build/protos/protos.json'), 'utf8')) as { nested: Record<string, ProtoType> };

/** Another version's namespace of the same description (`v1beta`), read afresh (callers keep what they need of it). */
export function computeNamespace(version: string): Record<string, ProtoType> {
  return readRoot().nested.google?.nested?.cloud?.nested?.compute?.nested?.[version]?.nested ?? {};
}

function compute(): Record<string, ProtoType> {
  if (!v1) {
    const root = readRoot();
    const ns = root.nested.google?.nested?.cloud?.nested?.compute?.nested?.v1?.nested;
    if (!ns) throw new Error('compute v1 schema not found');
    v1 = ns;
  }
  return v1;
}

const SCALARS = new Set(['string', 'bool', 'int32', 'uint32', 'int64', 'uint64', 'double', 'float', 'bytes', 'sint32', 'sint64', 'fixed32', 'fixed64']);

function resolveType(name: string, parent: ProtoType | undefined): ProtoType | undefined {
  if (parent?.nested?.[name]) return parent.nested[name];
  let t: ProtoType | undefined = { nested: compute() };
  for (const part of name.split('.')) t = t?.nested?.[part];
  return t;
}

const snake = (s: string) => s.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));
const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** The fields of a Compute v1 message (e.g. `Network`), or undefined when there is no such message. */
export function messageFields(message: string): Record<string, ProtoField> | undefined {
  return compute()[message]?.fields;
}

/**
 * Checks `value` against message `message`; returns a copy with snake_case names turned into the JSON names.
 * @param at the transcoder's path of the value (`resource`).
 * @throws GcpHttpError 400 on an unknown name or a value of the wrong JSON type.
 */
export function checkMessage(message: string, value: unknown, at = 'resource'): Record<string, unknown> {
  const type = compute()[message];
  if (!type) throw new Error(`unknown message ${message}`);
  return checkObject(type, value, at, message);
}

function checkObject(type: ProtoType, value: unknown, at: string, typeName: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badJsonValue(at, `type.googleapis.com/google.cloud.compute.v1.${typeName}`, value);
  }
  const fields = type.fields ?? {};
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const name = fields[key] ? key : camel(key);
    const field = fields[name];
    if (!field) throw unknownName(key, at);
    if (v === null) continue; // JSON null means "not set"
    const path = `${at}.${snake(name)}`;
    if (field.keyType) {
      if (typeof v !== 'object' || Array.isArray(v)) throw badJsonValue(path, 'TYPE_MESSAGE', v);
      const m: Record<string, unknown> = {};
      for (const [k, mv] of Object.entries(v as Record<string, unknown>)) m[k] = checkValue(field.type, mv, `${path}[${k}]`, type);
      out[name] = m;
    } else if (field.rule === 'repeated') {
      if (!Array.isArray(v)) throw badJsonValue(path, 'TYPE_LIST', v);
      out[name] = v.map((e, i) => checkValue(field.type, e, `${path}[${i}]`, type));
    } else {
      out[name] = checkValue(field.type, v, path, type);
    }
  }
  return out;
}

function checkValue(typeName: string, v: unknown, at: string, parent: ProtoType): unknown {
  if (SCALARS.has(typeName)) {
    switch (typeName) {
      case 'string':
      case 'bytes':
        if (typeof v !== 'string') throw badJsonValue(at, 'TYPE_STRING', v);
        return v;
      case 'bool':
        if (typeof v !== 'boolean') throw badJsonValue(at, 'TYPE_BOOL', v);
        return v;
      case 'double':
      case 'float':
        if (typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)))) return Number(v);
        throw badJsonValue(at, typeName === 'double' ? 'TYPE_DOUBLE' : 'TYPE_FLOAT', v);
      default: {
        const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN;
        if (!Number.isInteger(n) || (typeName.startsWith('u') && n < 0)) throw badJsonValue(at, `TYPE_${typeName.toUpperCase()}`, v);
        return typeName.endsWith('64') ? String(v) : n;
      }
    }
  }
  if (typeName === 'google.protobuf.Any') return v;
  const t = resolveType(typeName, parent);
  if (!t) throw new Error(`unresolved type ${typeName}`);
  if (t.values) {
    if (typeof v === 'string' && v in t.values) return v;
    if (typeof v === 'number' && Object.values(t.values).includes(v)) return v;
    throw badJsonValue(at, 'TYPE_ENUM', v);
  }
  return checkObject(t, v, at, typeName);
}
