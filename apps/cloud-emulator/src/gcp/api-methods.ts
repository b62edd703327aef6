import { ProtoType, computeNamespace, computeV1 } from './schema';

/**
 * Every method of the real Compute Engine API (v1, and beta under `/compute/beta/`) with its HTTP verb and path
 * template, read from the API description shipped with the official client (`@google-cloud/compute`'s protos.json:
 * each service method's `google.api.http` annotation, e.g. `get: "/compute/v1/projects/{project}/zones/{zone}/disks/{disk}"`).
 * The sandbox uses it to tell a call it does not serve (a real method ⇒ 501, core/unimplemented.ts) from a path no
 * Compute method has (⇒ Google's 404 `notFound`).
 */
export interface ApiMethod {
  /** `<collection>.<method>` as the REST reference names it (`instances.setMetadata`, `zoneOperations.wait`); beta methods `beta/<collection>.<method>`. */
  name: string;
  /** Upper-case HTTP verb. */
  httpMethod: string;
  /** The path template (`/compute/v1/projects/{project}/…`). */
  template: string;
  pattern: RegExp;
}

const VERBS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

let methods: ApiMethod[] | undefined;

/** All Compute v1 and beta methods (loaded once, on first use). */
export function apiMethods(): ApiMethod[] {
  if (methods) return methods;
  const out: ApiMethod[] = [];
  for (const [prefix, ns] of [['', computeV1()], ['beta/', computeNamespace('v1beta')]] as const) collect(prefix, ns, out);
  methods = out;
  return out;
}

function collect(prefix: string, ns: Record<string, ProtoType>, out: ApiMethod[]): void {
  for (const [service, def] of Object.entries(ns)) {
    const ms = (def as { methods?: Record<string, { options?: Record<string, unknown> }> }).methods;
    if (!ms) continue;
    for (const [method, m] of Object.entries(ms)) {
      for (const verb of VERBS) {
        const template = m.options?.[`(google.api.http).${verb}`];
        if (typeof template !== 'string') continue;
        const re = template.split('/').map((seg) => (/^\{[^}]+\}$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/');
        out.push({ name: `${prefix}${lowerFirst(service)}.${lowerFirst(method)}`, httpMethod: verb.toUpperCase(), template, pattern: new RegExp(`^${re}$`) });
      }
    }
  }
}

/** The real Compute method a request names (`GET /compute/v1/projects/p/zones/z/disks/d`, `/compute/beta/…`), or undefined for a bogus one. */
export function realMethodOf(httpMethod: string, path: string): ApiMethod | undefined {
  const verb = httpMethod.toUpperCase();
  return apiMethods().find((m) => m.httpMethod === verb && m.pattern.test(path));
}
