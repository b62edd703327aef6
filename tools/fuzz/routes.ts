/**
 * The routes the fuzzer walks: every operation of the OpenAPI document the gateway serves, plus the agent routes
 * (`/agent/v1/…`, excluded from that document), with what a request to each may carry.
 */

/** The subset of JSON Schema (OpenAPI 3 flavour) the fuzzer reads to build "valid-ish" values. */
export interface JsonSchema {
  $ref?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  example?: unknown;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  format?: string;
  nullable?: boolean;
  allOf?: JsonSchema[];
}

/** How a route authenticates its caller. */
export type RouteAuth = 'api-key' | 'node-token' | 'none';

/** One route: method (upper case), path template with `{param}`s, its query parameters and JSON body schema. */
export interface FuzzRoute {
  method: string;
  /** `/v1/clusters/{id}` */
  path: string;
  auth: RouteAuth;
  pathParams: string[];
  query: { name: string; schema: JsonSchema }[];
  /** The JSON request body, `$ref`s resolved against `schemas`; absent when the route takes none. */
  body?: JsonSchema;
}

/** The parts of an OpenAPI 3 document the fuzzer reads. */
export interface OpenApiDocument {
  paths: Record<string, Record<string, {
    parameters?: { name: string; in: string; schema?: JsonSchema }[];
    requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
    security?: unknown[];
  }>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** Path parameters of a template (`/a/{id}/b/{nodeId}` → `['id', 'nodeId']`). */
export const templateParams = (path: string): string[] => [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);

/**
 * Resolves every `$ref` (`#/components/schemas/X`) and `allOf` in `schema` against `schemas`, depth-first.
 * @throws Error on a `$ref` to a schema the document lacks.
 */
export function resolveSchema(schema: JsonSchema, schemas: Record<string, JsonSchema>, seen: string[] = []): JsonSchema {
  if (schema.$ref) {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const target = schemas[name];
    if (!target) throw new Error(`OpenAPI: unknown schema ${schema.$ref}`);
    if (seen.includes(name)) return { type: 'object' };
    return resolveSchema(target, schemas, [...seen, name]);
  }
  if (schema.allOf?.length === 1) return resolveSchema({ ...schema.allOf[0], ...schema, allOf: undefined }, schemas, seen);
  const out: JsonSchema = { ...schema };
  if (schema.properties) {
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, resolveSchema(v, schemas, seen)]));
  }
  if (schema.items) out.items = resolveSchema(schema.items, schemas, seen);
  return out;
}

/** Every operation of an OpenAPI document as a FuzzRoute (operations with `security` authenticate with an API key). */
export function routesFromOpenApi(doc: OpenApiDocument): FuzzRoute[] {
  const schemas = doc.components?.schemas ?? {};
  const out: FuzzRoute[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      if (!HTTP_METHODS.includes(method)) continue;
      const body = op.requestBody?.content?.['application/json']?.schema;
      out.push({
        method: method.toUpperCase(), path, auth: op.security?.length ? 'api-key' : 'none', pathParams: templateParams(path),
        query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: resolveSchema(p.schema ?? { type: 'string' }, schemas) })),
        ...(body ? { body: resolveSchema(body, schemas) } : {}),
      });
    }
  }
  return out;
}

/** An Express path (`/a/:id`) as an OpenAPI template (`/a/{id}`). */
export const expressToTemplate = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/**
 * A matcher of concrete paths (as sent, percent-encoded) against the templates of `routes`: the methods served at
 * a path, or an empty set when no template matches. A `{param}` is one non-empty segment.
 */
export function methodsAt(routes: FuzzRoute[]): (path: string) => Set<string> {
  const table = routes.map((r) => ({ method: r.method, re: new RegExp('^' + r.path.split('/').map((s) => (/^\{.+\}$/.test(s) ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/') + '/?$', 'i') }));
  return (path) => new Set(table.filter((t) => t.re.test(path)).map((t) => t.method));
}
