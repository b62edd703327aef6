import fc from 'fast-check';
import type { FuzzRoute, JsonSchema } from './routes';

/**
 * fast-check arbitraries of attacking requests. A generated FuzzCase holds no secret: credentials are named by an
 * AuthChoice and existing ids by an index, both resolved against the FuzzTarget when the request is sent, so a
 * counterexample can be printed as it is.
 */

/** The Authorization header to send, by what it is (resolved by resolveAuth). */
export const AUTH_CHOICES = [
  'api-key', 'api-key-lowercase-scheme', 'api-key-uppercase-scheme', 'api-key-tab', 'api-key-trailing-junk', 'api-key-no-scheme',
  'none', 'empty', 'scheme-only', 'basic', 'garbage', 'very-long', 'latin1', 'unknown-api-key', 'revoked-api-key',
  'node-token', 'other-node-token', 'bootstrap-token',
] as const;
export type AuthChoice = (typeof AUTH_CHOICES)[number];

/** A path parameter: the `index`th existing id of its kind, or a literal segment (already percent-encoded). */
export type ParamChoice = { existing: number } | { literal: string };

/** One generated request, before secrets and ids are filled in. */
export interface FuzzCase {
  /** `METHOD /template` of the route it was made for. */
  route: string;
  method: string;
  params: Record<string, ParamChoice>;
  /** The raw query string, without `?` ('' for none). */
  query: string;
  auth: AuthChoice;
  /** Content-Type to send (none when undefined). */
  contentType?: string;
  /** The raw body (none when undefined). */
  body?: string;
  /** What was done to the body, for the report (`valid`, `junk at controlPlane.count`, `deep 5000`, …). */
  bodyNote: string;
  /** Headers besides authorization and content type (`expect`, `content-encoding`, an oversized header…). */
  extraHeaders?: Record<string, string>;
  /** Sent over a raw socket, broken at the HTTP level in this way (what an HTTP client library would refuse to send). */
  wire?: WireBreak;
}

/** Ways a request can be broken below HTTP semantics (sent byte by byte over a socket). */
export const WIRE_BREAKS = ['invalid-header-name', 'invalid-header-value', 'unknown-method', 'lowercase-method', 'bad-chunk', 'two-content-lengths', 'length-and-chunked', 'bare-lf', 'http-1.0', 'absolute-uri'] as const;
export type WireBreak = (typeof WIRE_BREAKS)[number];

/** Extra headers: none mostly; else an unsupported expectation, a body encoding the body is not in, an oversized header. */
const extraHeaders: fc.Arbitrary<Record<string, string> | undefined> = fc.oneof(
  { weight: 12, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom<Record<string, string>>(
    { expect: '200-ok' }, { 'content-encoding': 'gzip' }, { 'content-encoding': 'br' }, { 'content-encoding': 'deflate' }, { 'content-encoding': 'bogus' },
    { 'x-oversized': 'a'.repeat(20_000) }, { 'x-forwarded-for': '127.0.0.1, ::1, evil' }, { 'content-language': '\u00ff'.repeat(3) },
    { accept: 'application/xml' }, { 'idempotency-key': 'x'.repeat(500) }, { 'idempotency-key': '' }, { range: 'bytes=0-1' }, { 'if-none-match': '*' },
  ) },
);

/** Values that break assumptions: numbers at and past the limits, wrong types, strings that are paths, markup, SQL. */
const JUNK: unknown[] = [
  1e308, -1e308, -0, 0, -1, 1.5, 2 ** 53 + 1, 2 ** 63, 'NaN', 'Infinity', '-0', '1e20', '9007199254740993', '123456789012345678901234567890',
  '', ' ', 'x'.repeat(10_000), '\u0000', '\ud800', '💥🚀', 'ünïcødé 日本', '../../etc/passwd', '..%2f..%2f', '<script>alert(1)</script>',
  "' OR 1=1 --", '${jndi:ldap://x}', 'true', 'null', null, true, false, [], {}, [[[]]], [null], { $gt: '' }, { length: 1e9 },
  ['aws', 'aws'], 'aws', '10.217.0.0/16', '1.31.99999999999999999999', '00000000-0000-0000-0000-000000000000',
];
/** Prototype keys, given object values that would pollute when merged naively. */
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'];

export const junkValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...JUNK) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
);

/** Strings a property of this name takes when valid (a few, so that valid requests repeat: bounded creations). */
function knownStrings(name: string | undefined, schema: JsonSchema): string[] {
  switch (name) {
    case 'name': return ['fz-alpha', 'fz-beta', 'fz-gamma', 'fz-delta'];
    case 'region': return ['us-east', 'eu-west', 'nowhere'];
    case 'kubernetesVersion': return ['1.31.4', '1.31.5', '1.30.2', '1.31.99'];
    case 'instanceType': return ['t3.medium', 'e2-standard-2', 'bogus.type'];
    case 'after': return ['0', '1', '999999999999999999'];
    case 'podCidr': return ['10.217.7.0/24', '10.217.0.0/16', '10.217.3.7/24'];
    case 'revision': return ['0', 'abcdef0123456789abcd'];
    case 'wireguardPublicKey': return ['A'.repeat(43) + '='];
    case 'privateIp': case 'publicIp': return ['10.0.0.5', '203.0.113.7', '999.1.1.1'];
    case 'kubeletVersion': return ['1.31.5', '1.2.3.4'];
    default: return schema.example !== undefined && typeof schema.example === 'string' ? [schema.example] : [];
  }
}

/** Context for valid-ish values: the target's existing ids and accepted samples by property name. */
export interface ValueContext { ids: string[]; samples: Record<string, unknown[]> }

/** A value that mostly satisfies `schema` (enums, bounds, known strings, existing ids), at most `depth` levels deep. */
export function validish(schema: JsonSchema, ctx: ValueContext, name?: string, depth = 0): fc.Arbitrary<unknown> {
  const samples = name ? ctx.samples[name] : undefined;
  const own = ((): fc.Arbitrary<unknown> => {
    if (schema.enum?.length) return schema.type === 'array' ? fc.subarray(schema.enum, { minLength: 1 }) : fc.constantFrom(...schema.enum);
    switch (schema.type) {
      case 'object': {
        const props = schema.properties ?? {};
        if (!Object.keys(props).length || depth > 4) return fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 });
        const model = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, validish(v, ctx, k, depth + 1)]));
        return fc.record(model, { requiredKeys: (schema.required ?? []).filter((k) => k in props) });
      }
      case 'array': {
        const items = schema.items ?? { type: 'string' };
        const arb = items.enum?.length ? fc.constantFrom(...items.enum) : validish(items, ctx, name, depth + 1);
        return fc.array(arb, { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 3, 3) });
      }
      case 'integer': return fc.integer({ min: schema.minimum ?? -5, max: Math.min(schema.maximum ?? 100, (schema.minimum ?? 0) + 5) });
      case 'number': return fc.double({ min: schema.minimum ?? -1e3, max: schema.maximum ?? 1e3, noNaN: true });
      case 'boolean': return fc.boolean();
      case 'null': return fc.constant(null);
      case 'string': case undefined: {
        const known = knownStrings(name, schema);
        if (schema.format === 'uuid' || /Id$/.test(name ?? '')) return ctx.ids.length ? fc.oneof(fc.constantFrom(...ctx.ids), fc.uuid()) : fc.uuid();
        return known.length ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) }) : fc.string({ maxLength: 20 });
      }
    }
  })();
  const withNull = schema.nullable ? fc.oneof(own, fc.constant(null)) : own;
  return samples?.length ? fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...samples) }, { weight: 1, arbitrary: withNull }) : withNull;
}

type Json = unknown;

/** The dotted paths of every value inside `v` (objects and arrays), `''` being `v` itself. */
function pathsOf(v: Json, prefix = '', out: string[] = [], depth = 0): string[] {
  out.push(prefix);
  if (depth > 6 || typeof v !== 'object' || v === null) return out;
  for (const [k, child] of Object.entries(v)) pathsOf(child, prefix ? `${prefix}.${k}` : k, out, depth + 1);
  return out;
}

/** A copy of `v` with `fn` applied to the value at dotted `path` (its parent and key); `v` when the path is gone. */
function editAt(v: Json, path: string, fn: (parent: Record<string, unknown>, key: string) => void): Json {
  const copy = structuredClone(v) as Json;
  if (!path) return copy;
  const keys = path.split('.');
  let parent = copy as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) {
    if (typeof parent[k] !== 'object' || parent[k] === null) return copy;
    parent = parent[k] as Record<string, unknown>;
  }
  fn(parent, keys[keys.length - 1]);
  return copy;
}

/** An own, enumerable property (so that `__proto__` is serialised as a key rather than setting the prototype). */
const defineKey = (o: Record<string, unknown>, key: string, value: unknown) => Object.defineProperty(o, key, { value, enumerable: true, configurable: true, writable: true });

/** A JSON body mutated: a value swapped for junk, a key dropped, an unknown or prototype key added, or junk entirely. */
function mutated(base: Json): fc.Arbitrary<{ value: Json; note: string }> {
  const paths = pathsOf(base);
  const at = fc.constantFrom(...paths);
  return fc.oneof(
    fc.record({ p: at, j: junkValue }).map(({ p, j }) => ({ value: p ? editAt(base, p, (o, k) => { o[k] = j; }) : j, note: `junk at ${p || 'body'}` })),
    fc.record({ p: at }).map(({ p }) => ({ value: editAt(base, p, (o, k) => { delete o[k]; }), note: `without ${p || 'body'}` })),
    fc.record({ p: at, k: fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.constantFrom('unknown', 'isAdmin', 'organisationId', 'id', 'phase')), j: fc.oneof(junkValue, fc.constant({ polluted: true }), fc.constant({ prototype: { polluted: true } })) })
      .map(({ p, k, j }) => {
        const target = p ? editAt(base, p, (o, key) => { if (typeof o[key] === 'object' && o[key] !== null) defineKey(o[key] as Record<string, unknown>, k, j); }) : editAt(base, '', () => undefined);
        if (!p && typeof target === 'object' && target !== null) defineKey(target as Record<string, unknown>, k, j);
        return { value: target, note: `extra key ${k} at ${p || 'body'}` };
      }),
  );
}

/** `n` levels of nesting: objects, arrays or both. */
const deep = (n: number, kind: 'object' | 'array') => (kind === 'object' ? '{"a":'.repeat(n) + '1' + '}'.repeat(n) : '['.repeat(n) + ']'.repeat(n));

/** Percent-encoding of `s`'s UTF-8 bytes (lone surrogates become U+FFFD rather than throwing, as encodeURIComponent would). */
export const pct = (s: string): string => [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9\-_.!~*'()]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');

/** Form encoding of a JSON value (qs-style brackets, as `extended` URL-encoded parsers read it). */
function formEncode(v: Json, prefix = ''): string[] {
  if (typeof v !== 'object' || v === null) return [`${pct(prefix || 'value')}=${pct(String(v))}`];
  return Object.entries(v).flatMap(([k, c]) => formEncode(c, prefix ? `${prefix}[${k}]` : k));
}

/** A raw body with its content type: JSON of the value, or malformed, huge, deep, another media type, or none. */
function rawBody(value: Json, note: string): fc.Arbitrary<{ body?: string; contentType?: string; bodyNote: string }> {
  const json = JSON.stringify(value) ?? 'null';
  const asJson = { body: json, contentType: 'application/json', bodyNote: note };
  return fc.oneof(
    { weight: 12, arbitrary: fc.constant(asJson) },
    { weight: 1, arbitrary: fc.constantFrom(json.slice(0, Math.max(1, json.length - 1)), json + '}', json.replace(/"/g, "'"), '{"a": NaN}', '{"a": 1e999}', '{"a": -0}', '{"a": 123456789012345678901234567890}', '{,}', '\u0000', '\ufeff' + json)
      .map((body) => ({ body, contentType: 'application/json', bodyNote: `malformed json (${note})` })) },
    { weight: 1, arbitrary: fc.constantFrom('null', '[]', '"str"', '123', 'true', '[{}]', '{}', '')
      .map((body) => ({ body, contentType: 'application/json', bodyNote: `top-level ${body || 'empty'}` })) },
    { weight: 1, arbitrary: fc.constantFrom(31, 33, 200, 5000).chain((n) => fc.constantFrom<'object' | 'array'>('object', 'array').map((k) => ({ body: deep(n, k), contentType: 'application/json', bodyNote: `deep ${k} ${n}` }))) },
    { weight: 1, arbitrary: fc.constantFrom(101 * 1024, 1024 * 1024).map((n) => ({ body: JSON.stringify({ name: 'x'.repeat(n) }), contentType: 'application/json', bodyNote: `huge ${n} B` })) },
    { weight: 1, arbitrary: fc.constantFrom(30_000).map((n) => ({ body: JSON.stringify({ ...(typeof value === 'object' && value !== null ? value : {}), many: Array.from({ length: n }, (_, i) => i) }), contentType: 'application/json', bodyNote: `array of ${n}` })) },
    { weight: 2, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/json; charset=bogus', 'application/xml', 'application/merge-patch+json', '*/*', 'application/json, text/plain', 'garbage')
      .map((contentType) => ({ body: contentType === 'application/x-www-form-urlencoded' ? formEncode(value).join('&') : json, contentType, bodyNote: `${note} as ${contentType}` })) },
    { weight: 1, arbitrary: fc.constantFrom('a[__proto__][polluted]=1', 'constructor[prototype][polluted]=1', 'a[b][c][d][e][f][g][h]=1', 'a[999999]=1', 'a=1&a=2&a=3', '%zz=1', '=', '&&&')
      .map((body) => ({ body, contentType: 'application/x-www-form-urlencoded', bodyNote: `form ${body}` })) },
    { weight: 1, arbitrary: fc.constant({ bodyNote: 'no body' }) },
  );
}

/** A path segment: an existing id (index), a random UUID, or something that is not an id at all (percent-encoded). */
export const paramChoice: fc.Arbitrary<ParamChoice> = fc.oneof(
  { weight: 6, arbitrary: fc.nat({ max: 50 }).map((existing): ParamChoice => ({ existing })) },
  { weight: 2, arbitrary: fc.uuid().map((literal): ParamChoice => ({ literal })) },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.constantFrom('not-a-uuid', '..%2f..%2fetc%2fpasswd', '%2e%2e', '..', '.', 'x'.repeat(3000), '%E0%A4%A', '%', '%00', '%ZZ', '00000000-0000-0000-0000-000000000000',
        'FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF', '1', '-1', '1e308', 'null', 'undefined', '__proto__', 'constructor', '%20', pct('ü日本💥'), '%C0%AE%C0%AE'),
      fc.string({ minLength: 1, maxLength: 60 }).map(pct),
    ).map((literal): ParamChoice => ({ literal })),
  },
);

/** A query string for `route`: its parameters valid-ish or junk, repeated, bracketed, or prototype keys. */
function queryString(route: FuzzRoute): fc.Arbitrary<string> {
  const value = (s: { name: string; schema: JsonSchema }) => fc.oneof(
    validish(s.schema, { ids: [], samples: {} }, s.name).map((v) => pct(String(v))),
    junkValue.map((v) => pct(typeof v === 'string' ? v : JSON.stringify(v) ?? '')),
    fc.constantFrom('1e20', '-1', '0', '1.5', 'NaN', '', '%', '%zz', '999999999999999999999999', '0x10', '%201', '1%00'),
  );
  const declared = route.query.map((q) => fc.option(value(q).map((v) => `${q.name}=${v}`), { nil: undefined, freq: 2 }));
  const extra = fc.constantFrom('__proto__[polluted]=1', 'constructor[prototype][polluted]=1', 'limit=1&limit=2', 'limit[]=1', 'limit[a]=1', 'offset=1e20',
    `a=${'x'.repeat(5000)}`, '%', '%zz', '&&&', '=', 'unknown=1', 'after=-1', 'after=1e3');
  return fc.tuple(fc.tuple(...declared), fc.option(extra, { nil: undefined, freq: 3 }))
    .map(([ds, e]) => [...ds, e].filter((x): x is string => x !== undefined).join('&'));
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/** What the arbitraries need of the target: existing ids to use in bodies, accepted samples by property name. */
export interface CaseContext { ids: string[]; samples: Record<string, unknown[]> }

/** Requests to `route`: mostly its own method (some wrong), path/query/auth/body variants as above. */
export function caseFor(route: FuzzRoute, ctx: CaseContext): fc.Arbitrary<FuzzCase> {
  const method = fc.oneof({ weight: 6, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) });
  const params = fc.record(Object.fromEntries(route.pathParams.map((p) => [p, paramChoice])) as Record<string, fc.Arbitrary<ParamChoice>>);
  const auth = route.auth === 'node-token'
    ? fc.oneof({ weight: 8, arbitrary: fc.constant<AuthChoice>('node-token') }, { weight: 4, arbitrary: fc.constantFrom(...AUTH_CHOICES) })
    : fc.oneof({ weight: 8, arbitrary: fc.constant<AuthChoice>('api-key') }, { weight: 4, arbitrary: fc.constantFrom(...AUTH_CHOICES) });
  const body: fc.Arbitrary<{ body?: string; contentType?: string; bodyNote: string }> = route.body
    ? validish(route.body, ctx).chain((v) => fc.oneof({ weight: 2, arbitrary: fc.constant({ value: v, note: 'valid-ish' }) }, { weight: 3, arbitrary: mutated(v) }))
      .chain(({ value, note }) => rawBody(value, note))
    : fc.oneof({ weight: 4, arbitrary: fc.constant({ bodyNote: 'no body' }) }, { weight: 1, arbitrary: rawBody({ unexpected: true }, 'unexpected body') });
  const wire = fc.oneof({ weight: 20, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...WIRE_BREAKS) });
  return fc.record({ method, params, query: queryString(route), auth, body, extra: extraHeaders, wire }).map(({ method: m, params: p, query, auth: a, body: b, extra, wire: w }) => ({
    route: `${route.method} ${route.path}`, method: m, params: p, query, auth: a, ...b, ...(extra ? { extraHeaders: extra } : {}), ...(w ? { wire: w } : {}),
  }));
}

/** Requests over every route, each route equally likely. */
export function requestArbitrary(routes: FuzzRoute[], ctx: CaseContext): fc.Arbitrary<FuzzCase> {
  return fc.oneof(...routes.map((r) => caseFor(r, ctx)));
}
