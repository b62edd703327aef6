import { IncomingHttpHeaders, IncomingMessage, ServerResponse, request } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { KubeApiError } from './errors';
import { StandIns } from './stand-ins';
import { KubeStore } from './store';
import { KubeObject } from './types';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1, and the ones Go's httputil.ReverseProxy drops, which kube-apiserver's proxy
 * uses): never forwarded in either direction, nor any header the `Connection` header names.
 */
export const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/** `headers` without hop-by-hop headers (and those `Connection` lists). */
export function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const named = String(headers.connection ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const out: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP_BY_HOP.includes(k) && !named.includes(k)) out[k] = v;
  return out;
}

/** A parsed service proxy path: `/api/v1/namespaces/{ns}/services/{[scheme:]name[:port]}/proxy[/{path}]`. */
export interface ServiceProxyTarget { namespace: string; name: string; port?: string; scheme?: string; path: string }

/**
 * The target of a service proxy request, or undefined when `pathname` (raw, percent-encoded) is not one. The path after
 * `/proxy` is kept as sent (encoding and trailing slash included), `/` when empty.
 */
export function serviceProxyTarget(pathname: string): ServiceProxyTarget | undefined {
  const m = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)\/proxy(\/.*)?$/.exec(pathname);
  if (!m) return undefined;
  let ns: string;
  let nameport: string;
  try {
    [ns, nameport] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
  } catch {
    return undefined;
  }
  // net.SplitSchemeNamePort: name | name:port | scheme:name:port
  const parts = nameport.split(':');
  if (parts.length > 3 || !(parts.length === 3 ? parts[1] : parts[0])) return undefined;
  const [scheme, name, port] = parts.length === 3 ? parts : [undefined, parts[0], parts[1]];
  return { namespace: ns, name: name ?? '', ...(port ? { port } : {}), ...(scheme ? { scheme } : {}), path: m[3] ?? '/' };
}

const ready = (p: KubeObject) => {
  const st = p.status as { phase?: string; conditions?: { type: string; status: string }[] } | undefined;
  return st?.phase === 'Running' && st.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true && !p.metadata.deletionTimestamp;
};

const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

type PortSpec = { name?: string; port: number; targetPort?: number | string };
type Container = { image?: string; ports?: { name?: string; containerPort: number }[] };

/**
 * kube-apiserver's service proxy (`/api/v1/namespaces/{ns}/services/{name}[:{port}]/proxy/{path}`, every method,
 * query string kept; source: "Manually constructing apiserver proxy URLs" and `pkg/registry/core/service/proxy.go`),
 * for an already authenticated caller: the Service (404 `services "x" not found`), its port (by name or number; the
 * only one when none is named; otherwise 503 `no service port "p" found for service "x"`), a Running and Ready pod its
 * selector matches, first by name (503 `no endpoints available for service "x"` when none), the container port the
 * target port names, and there the sandbox's stand-in for the container's image (stand-ins.ts; an image without one
 * is 503 `error trying to reach service: dial tcp <podIP>:<port>: connect: connection refused`, as a pod nothing listens in).
 * The request is forwarded with its headers less hop-by-hop ones and the caller's `Authorization` (kube-apiserver
 * drops the credential it authenticated), plus `X-Forwarded-For`; the answer streams back less hop-by-hop headers.
 */
export async function proxyToService(store: KubeStore, standIns: StandIns, t: ServiceProxyTarget, req: IncomingMessage, res: ServerResponse, search: string): Promise<void> {
  const svc = await store.get({ group: '', resource: 'services' }, t.namespace, t.name);
  if (!svc) throw new KubeApiError(404, 'NotFound', `services "${t.name}" not found`, { name: t.name, kind: 'services' });
  const spec = (svc.spec ?? {}) as { selector?: Record<string, string>; ports?: PortSpec[] };
  const ports = spec.ports ?? [];
  const port = t.port === undefined ? (ports.length === 1 ? ports[0] : undefined) : ports.find((p) => p.name === t.port || String(p.port) === t.port);
  if (!port) throw new KubeApiError(503, 'ServiceUnavailable', `no service port "${t.port ?? ''}" found for service "${t.name}"`);
  const pods = (await store.list({ group: '', resource: 'pods' }, t.namespace)).items
    .filter((p) => matches(spec.selector ?? {}, p.metadata.labels) && ready(p))
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  const pod = pods[0];
  if (!pod) throw new KubeApiError(503, 'ServiceUnavailable', `no endpoints available for service "${t.name}"`);
  const containers = ((pod.spec as { containers?: Container[] } | undefined)?.containers) ?? [];
  const target = port.targetPort ?? port.port;
  const container = containers.find((c) => c.ports?.some((cp) => (typeof target === 'number' ? cp.containerPort === target : cp.name === target))) ?? (typeof target === 'number' ? containers[0] : undefined);
  const containerPort = typeof target === 'number' ? target : container?.ports?.find((cp) => cp.name === target)?.containerPort;
  const podIP = String((pod.status as { podIP?: string } | undefined)?.podIP ?? '');
  const configMaps = new Map((await store.list({ group: '', resource: 'configmaps' }, t.namespace)).items.map((c) => [c.metadata.name ?? '', c] as const));
  const local = container?.image && containerPort !== undefined ? await standIns.portFor({ pod, configMaps }, container.image) : undefined;
  if (local === undefined) throw new KubeApiError(503, 'ServiceUnavailable', `error trying to reach service: dial tcp ${podIP}:${containerPort ?? target}: connect: connection refused`);
  const headers = endToEnd(req.headers);
  delete headers.authorization;
  const forwarded = [headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
  const upstream = request({ host: '127.0.0.1', port: local, method: req.method, path: `${t.path}${search}`, headers: { ...headers, 'x-forwarded-for': forwarded, host: `${podIP}:${containerPort}` } });
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    upstream.once('response', resolve);
    upstream.once('error', reject);
  });
  await pipeline(req, upstream);
  const answer = await answered.catch((e: Error) => {
    throw new KubeApiError(503, 'ServiceUnavailable', `error trying to reach service: ${e.message}`);
  });
  const back = endToEnd(answer.headers);
  res.writeHead(answer.statusCode ?? 502, back as Record<string, string | string[]>);
  await pipeline(answer, res);
}
