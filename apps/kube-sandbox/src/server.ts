import { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import { KubeApiError, badRequest } from './errors';
import { ObjectApi, PatchType, readDeleteOptions, successStatus } from './objects';
import { openApiDiscovery, openApiDocument } from './openapi';
import { parseJson } from './patch';
import { decodeProtobuf } from './protobuf';
import { applyScalePatch } from './scale-patch';
import { CRD_TYPE, ResourceRegistry, ResourceType, SUBRESOURCE_KINDS, apiVersionOf, verbsOf } from './resources';
import { parseFieldSelector, parseLabelSelector } from './selectors';
import { proxyToService, serviceProxyTarget } from './service-proxy';
import { StandIns } from './stand-ins';
import { KubeStore, MemoryKubeStore, StoreEvent } from './store';
import { toTable } from './tables';
import { KubeObject, isRecord } from './types';

/** Options of {@link startKubeApiServer}. PEM strings. */
export interface KubeApiServerOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Address to bind; default 127.0.0.1. */
  host?: string;
  /** Serving certificate (the cluster's apiserver.crt) and key. */
  tlsCert: string;
  tlsKey: string;
  /** CA that client certificates must chain to (the cluster's ca.crt), kube-apiserver's `--client-ca-file`. */
  clientCa: string;
  /** Default: a new {@link MemoryKubeStore}. */
  store?: KubeStore;
  /** How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK, seconds; default 60 (kube-apiserver sends them about once a minute). */
  bookmarkIntervalSeconds?: number;
  /** The Kubernetes version `/version` reports (`v1.34.2`), read at each request (an upgrade changes it); default v1.32.0. */
  version?: () => string;
  /** One line per request (method, path, user, status); default none. */
  log?: (line: string) => void;
}

/** A running server: `url` is `https://host:port`; `close()` ends open watches and stops listening. */
export interface KubeApiServer {
  url: string;
  store: KubeStore;
  /**
   * Serves `cert`/`key` (PEM) to new connections from now on (kube-apiserver restarted with a renewed
   * `apiserver.crt`); the client CA stays.
   */
  setServingCertificate(cert: string, key: string): void;
  close(): Promise<void>;
}

/** Who a client certificate names: user = subject CN, groups = subject O (source: "Authenticating", "X509 client certificates"). */
export interface KubeUser {
  name: string;
  groups: string[];
}

const MAX_BODY = 3 * 1024 * 1024;
/** `/version` for `version` (`v1.34.2`), as version.Info: major and minor without the patch. */
function versionInfo(version: string | undefined): typeof VERSION {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version ?? '');
  return m ? { ...VERSION, major: m[1], minor: m[2], gitVersion: `v${m[1]}.${m[2]}.${m[3]}` } : VERSION;
}
const VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0', gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23.0', compiler: 'gc', platform: 'linux/amd64' };
const PATCH_TYPES: readonly PatchType[] = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

/**
 * Starts the sandbox Kubernetes API server: HTTPS with the given certificate; every request must present a client
 * certificate issued by `clientCa` (else 401 Unauthorized, anonymous requests are off); every authenticated user may
 * do everything (no RBAC). Serves legacy discovery (`/api`, `/apis`; kubectl falls back to it from aggregated
 * discovery when the answer's Content-Type is plain application/json), `/version`, `/openapi/v3` (see openapi.ts),
 * the built-in kinds of resources.ts and custom resources of stored CRDs, with list/watch/get/create/update/patch/
 * delete/deletecollection (source for the wire behaviour: "API Concepts",
 * https://kubernetes.io/docs/reference/using-api/api-concepts/, and the API conventions). Responses are JSON only (a
 * request accepting only protobuf gets 406; kubectl and client-go accept JSON too); protobuf request bodies are
 * decoded for the kinds kubectl's typed clients send (protobuf.ts).
 * @throws when the port cannot be bound.
 */
export async function startKubeApiServer(o: KubeApiServerOptions): Promise<KubeApiServer> {
  const store = o.store ?? new MemoryKubeStore();
  const registry = new ResourceRegistry();
  const api = new ObjectApi(store, registry);
  for (const crd of (await store.list({ group: CRD_TYPE.group, resource: CRD_TYPE.resource })).items) registry.setCrd(crd);
  // CRDs become served types when stored (by this or another server sharing the store), and stop when deleted
  const crdWatch = await store.watch({ group: CRD_TYPE.group, resource: CRD_TYPE.resource }, await store.revision(), (e) => {
    if (e.type === 'DELETED') registry.removeCrd(e.object.metadata.name ?? '');
    else registry.setCrd(e.object);
  });
  await api.seed();
  const open = new Set<() => void>();
  const standIns = new StandIns();
  const ctx: Ctx = { store, registry, api, open, standIns, bookmarkMs: (o.bookmarkIntervalSeconds ?? 60) * 1000, ...(o.version ? { version: o.version } : {}) };
  const server = createServer({ cert: o.tlsCert, key: o.tlsKey, ca: o.clientCa, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    handle(ctx, req, res).then(
      () => o.log?.(`${req.method} ${req.url} ${res.statusCode}`),
      (e: unknown) => {
        const err = e instanceof KubeApiError ? e : new KubeApiError(500, 'InternalError', `Internal error occurred: ${(e as Error).message}`);
        o.log?.(`${req.method} ${req.url} ${err.code} ${err.message}`);
        // a Status with retryAfterSeconds also sets Retry-After (responsewriters.ErrorNegotiated)
        const retryAfter = err.details?.retryAfterSeconds;
        if (!res.headersSent) send(res, err.code, err.toStatus(), retryAfter && retryAfter > 0 ? { 'Retry-After': String(retryAfter) } : {});
        else res.end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `https://${host}:${addr.port}`,
    store,
    setServingCertificate: (cert, key) => server.setSecureContext({ cert, key, ca: o.clientCa }),
    close: async () => {
      crdWatch.stop();
      for (const end of open) end();
      await standIns.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Ctx {
  store: KubeStore;
  registry: ResourceRegistry;
  api: ObjectApi;
  open: Set<() => void>;
  /** The stand-in servers behind the service proxy (stand-ins.ts). */
  standIns: StandIns;
  bookmarkMs: number;
  version?: () => string;
}

function send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The user of a verified client certificate, or undefined (no certificate, or one from another CA). */
export function authenticate(req: IncomingMessage): KubeUser | undefined {
  const socket = req.socket as TLSSocket;
  if (!socket.authorized) return undefined;
  const subject = socket.getPeerCertificate().subject as unknown as Record<string, string | string[] | undefined>;
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const name = list(subject['CN'])[0];
  return name ? { name, groups: [...list(subject['O']), 'system:authenticated'] } : undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  return (await readRawBody(req)).toString('utf8');
}

async function readRawBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new KubeApiError(413, 'BadRequest', 'Request entity too large: limit is 3145728');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function handle(ctx: Ctx, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const user = authenticate(req);
  if (!user) throw new KubeApiError(401, 'Unauthorized', 'Unauthorized');
  const url = new URL(req.url ?? '/', 'https://localhost');
  // the service proxy passes any method, media type and body through (service-proxy.ts)
  const proxied = serviceProxyTarget(url.pathname);
  if (proxied) return proxyToService(ctx.store, ctx.standIns, proxied, req, res, url.search);
  const accept = String(req.headers.accept ?? '*/*');
  if (!/json|\*\/\*|yaml/.test(accept)) throw new KubeApiError(406, 'NotAcceptable', `only the following media types are accepted: application/json, application/yaml`);
  const contentType = String(req.headers['content-type'] ?? '').split(';')[0].trim();
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const method = req.method ?? 'GET';
  const seg = path.split('/').filter(Boolean).map((x) => {
    try {
      return decodeURIComponent(x);
    } catch {
      throw badRequest(`malformed path segment: ${x}`);
    }
  });

  if (method === 'GET') {
    if (['/healthz', '/livez', '/readyz'].includes(path)) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('ok');
      return;
    }
    if (path === '/version') return send(res, 200, versionInfo(ctx.version?.()));
    if (path === '/api') return send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: req.socket.localAddress ? `${req.socket.localAddress}:${req.socket.localPort}` : '' }] });
    if (path === '/apis') return send(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: ctx.registry.groups().map(groupBody) });
    if (seg[0] === 'apis' && seg.length === 2) {
      const g = ctx.registry.groups().find((x) => x.name === seg[1]);
      if (!g) throw new KubeApiError(404, 'NotFound', 'the server could not find the requested resource');
      return send(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...groupBody(g) });
    }
    if ((seg[0] === 'api' && seg.length === 2) || (seg[0] === 'apis' && seg.length === 3)) {
      const [group, version] = seg[0] === 'api' ? ['', seg[1]] : [seg[1], seg[2]];
      const types = ctx.registry.all().filter((t) => t.group === group && t.version === version);
      if (!types.length) throw new KubeApiError(404, 'NotFound', 'the server could not find the requested resource');
      return send(res, 200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources: types.flatMap(resourceEntries) });
    }
    if (path === '/openapi/v3') return send(res, 200, openApiDiscovery(ctx.registry));
    if (seg[0] === 'openapi' && seg[1] === 'v3') {
      const doc = openApiDocument(ctx.registry, seg.slice(2).join('/'));
      if (!doc) throw new KubeApiError(404, 'NotFound', 'the server could not find the requested resource');
      return send(res, 200, doc);
    }
  }

  const target = resolve(ctx.registry, seg);
  if (!target) throw new KubeApiError(404, 'NotFound', 'the server could not find the requested resource');
  const { type, namespace, name, sub } = target;
  if (sub && !type.subresources.includes(sub)) throw new KubeApiError(404, 'NotFound', 'the server could not find the requested resource');
  const q = url.searchParams;
  const dryRun = q.getAll('dryRun').includes('All');
  const view = viewOf(accept, q);
  const body = async (): Promise<unknown> => {
    if (contentType === 'application/vnd.kubernetes.protobuf') return decodeProtobuf(await readRawBody(req));
    const text = await readBody(req);
    if (contentType === 'application/yaml' || contentType === 'application/apply-patch+yaml') {
      try {
        return parseYaml(text) as unknown;
      } catch (e) {
        throw badRequest(`error decoding YAML: ${(e as Error).message}`);
      }
    }
    return parseJson(text);
  };

  const deleteBody = async (): Promise<Record<string, unknown>> => {
    const raw = await readRawBody(req);
    if (!raw.length) return {};
    return asRecord(contentType === 'application/vnd.kubernetes.protobuf' ? decodeProtobuf(raw) : parseJson(raw.toString('utf8')));
  };

  if (!name) {
    if (sub) throw new KubeApiError(404, 'NotFound', 'the server could not find the requested resource');
    switch (method) {
      case 'GET': {
        const match = matcher(type, namespace, q);
        if (q.get('watch') === 'true' || q.get('watch') === '1') return watch(ctx, req, res, type, match, q, view);
        return send(res, 200, await list(ctx, type, namespace, match, q, view));
      }
      case 'POST': return send(res, 201, await ctx.api.create(type, namespace, await body(), { dryRun }));
      case 'DELETE': {
        const match = matcher(type, namespace, q);
        const opts = readDeleteOptions(await deleteBody(), q);
        const { items } = await ctx.store.list({ group: type.group, resource: type.resource }, namespace);
        const deleted: KubeObject[] = [];
        for (const o of items.filter(match)) deleted.push((await ctx.api.delete(type, namespace, o.metadata.name ?? '', opts)).object);
        return send(res, 200, { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata: { resourceVersion: String(await ctx.store.revision()) }, items: deleted });
      }
      default: throw new KubeApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    }
  }

  if (sub === 'binding' || sub === 'eviction') {
    if (method !== 'POST' || type.group || type.resource !== 'pods') throw new KubeApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    if (sub === 'binding') await ctx.api.bind(type, namespace ?? '', name, await body());
    else await ctx.api.evict(type, namespace ?? '', name, await body(), { dryRun: q.getAll('dryRun') });
    return send(res, 201, successStatus(201));
  }
  if (sub === 'log') throw new KubeApiError(404, 'NotFound', `the sandbox has no container logs for pod "${name}"`);
  if (sub === 'scale') {
    switch (method) {
      case 'GET': return send(res, 200, ctx.api.scaleOf(type, await ctx.api.get(type, namespace, name)));
      case 'PUT': return send(res, 200, await ctx.api.writeScale(type, namespace, name, await body(), { dryRun }));
      case 'PATCH': {
        const patchType = patchTypeOf(contentType);
        const scale = ctx.api.scaleOf(type, await ctx.api.get(type, namespace, name));
        return send(res, 200, await ctx.api.writeScale(type, namespace, name, applyScalePatch(scale, patchType, await body()), { dryRun }));
      }
      default: throw new KubeApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
  }

  switch (method) {
    case 'GET': {
      if (q.get('watch') === 'true' || q.get('watch') === '1') {
        const match = matcher(type, namespace, q);
        return watch(ctx, req, res, type, (o) => match(o) && o.metadata.name === name, q, view);
      }
      const o = await ctx.api.get(type, namespace, name);
      return send(res, 200, render(type, o, view));
    }
    case 'PUT': return send(res, 200, await ctx.api.update(type, namespace, name, await body(), sub, { dryRun }));
    case 'PATCH': {
      const patchType = patchTypeOf(contentType);
      if (patchType === 'application/apply-patch+yaml' && !q.get('fieldManager')) throw badRequest('PATCH with application/apply-patch+yaml requires a fieldManager query parameter');
      const r = await ctx.api.patch(type, namespace, name, patchType, await body(), sub, { dryRun });
      return send(res, r.created ? 201 : 200, r.object);
    }
    case 'DELETE': {
      const opts = readDeleteOptions(await deleteBody(), q);
      const r = await ctx.api.delete(type, namespace, name, opts);
      // pods answer with the pod (as kube-apiserver's pod storage returns the deleted object); others with a Status
      if (!type.group && type.resource === 'pods') return send(res, 200, r.object);
      if (!r.deleted) return send(res, 200, r.object);
      return send(res, 200, successStatus(200, { name, group: type.group, kind: type.resource, uid: r.object.metadata.uid }));
    }
    default: throw new KubeApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  }
}

/**
 * How the client asked to see objects (source: "API Concepts", "Receiving resources as Tables" and "Retrieving
 * metadata only"): the objects, a meta.k8s.io/v1 Table (`as=Table`), or PartialObjectMetadata (`as=PartialObjectMetadata`
 * / `as=PartialObjectMetadataList`, what metadata-only informers ask for).
 */
type View = { as: 'Object' } | { as: 'Table'; includeObject: string } | { as: 'PartialObjectMetadata' };

function viewOf(accept: string, q: URLSearchParams): View {
  // the first acceptable media type wins; a plain application/json (or */*) means the objects themselves
  for (const part of accept.split(',')) {
    if (/as=Table/.test(part)) return { as: 'Table', includeObject: q.get('includeObject') ?? 'Metadata' };
    if (/as=PartialObjectMetadata/.test(part)) return { as: 'PartialObjectMetadata' };
    if (/json|\*\/\*|yaml/.test(part)) return { as: 'Object' };
  }
  return { as: 'Object' };
}

function render(t: ResourceType, o: KubeObject, view: View): unknown {
  switch (view.as) {
    case 'Object': return o;
    case 'Table': return toTable(t, [o], { resourceVersion: o.metadata.resourceVersion }, view.includeObject);
    case 'PartialObjectMetadata': return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
  }
}

function asRecord(v: unknown): Record<string, unknown> {
  if (!isRecord(v)) throw badRequest('the body of the request must be a JSON object');
  return v;
}

function patchTypeOf(contentType: string): PatchType {
  const t = PATCH_TYPES.find((p) => p === contentType);
  if (!t) throw new KubeApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`);
  return t;
}

function groupBody(g: { name: string; versions: string[] }): Record<string, unknown> {
  const versions = g.versions.map((v) => ({ groupVersion: `${g.name}/${v}`, version: v }));
  return { name: g.name, versions, preferredVersion: versions[0] };
}

/** Discovery entries of a type: the resource, then its subresources (`pods/eviction` names policy/v1 Eviction). */
function resourceEntries(t: ResourceType): Record<string, unknown>[] {
  return [
    { name: t.resource, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: verbsOf(), ...(t.shortNames.length ? { shortNames: t.shortNames } : {}), ...(t.categories.length ? { categories: t.categories } : {}) },
    ...t.subresources.map((s) => {
      const other = SUBRESOURCE_KINDS[s];
      return { name: `${t.resource}/${s}`, singularName: '', namespaced: t.namespaced, ...(other ? { group: other.group, version: other.version, kind: other.kind } : { kind: s === 'log' ? 'Pod' : t.kind }), verbs: verbsOf(s) };
    }),
  ];
}

/** Maps a path below /api/v1 or /apis/<g>/<v> to a type, namespace, name and subresource. */
function resolve(registry: ResourceRegistry, seg: string[]): { type: ResourceType; namespace?: string; name?: string; sub?: string } | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (seg[0] === 'api' && seg.length >= 3) [group, version, rest] = ['', seg[1], seg.slice(2)];
  else if (seg[0] === 'apis' && seg.length >= 4) [group, version, rest] = [seg[1], seg[2], seg.slice(3)];
  else return undefined;
  const find = (resource: string) => registry.find(group, version, resource);
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const t = find(rest[2]);
    if (t?.namespaced && rest.length <= 5) return { type: t, namespace: rest[1], name: rest[3], sub: rest[4] };
    if (!group && rest.length === 3 && ['status', 'finalize'].includes(rest[2])) return { type: find('namespaces')!, name: rest[1], sub: rest[2] };
    return undefined;
  }
  const t = find(rest[0]);
  if (!t || rest.length > 3) return undefined;
  return { type: t, name: rest[1], sub: rest[2] };
}

function matcher(t: ResourceType, namespace: string | undefined, q: URLSearchParams): (o: KubeObject) => boolean {
  const labels = q.get('labelSelector') ? parseLabelSelector(q.get('labelSelector')!) : () => true;
  const fields = q.get('fieldSelector') ? parseFieldSelector(q.get('fieldSelector')!, t.fieldLabels) : () => true;
  return (o) => (namespace === undefined || o.metadata.namespace === namespace) && labels(o.metadata.labels) && fields(o);
}

/** `continue` tokens: the position after the last item returned (lists page through the current state, not a snapshot). */
const encodeContinue = (key: string) => Buffer.from(JSON.stringify({ v: 1, after: key })).toString('base64url');
function decodeContinue(token: string): string {
  try {
    const d = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof d.after === 'string') return d.after;
  } catch {
    // fall through
  }
  throw badRequest('continue key is not valid');
}

async function list(ctx: Ctx, t: ResourceType, namespace: string | undefined, match: (o: KubeObject) => boolean, q: URLSearchParams, view: View): Promise<unknown> {
  const { items, revision } = await ctx.store.list({ group: t.group, resource: t.resource }, namespace);
  let selected = items.filter(match);
  const after = q.get('continue') ? decodeContinue(q.get('continue')!) : undefined;
  const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
  if (after !== undefined) selected = selected.filter((o) => keyOf(o) > after);
  const limit = Number(q.get('limit') ?? 0);
  if (q.get('limit') !== null && (!Number.isInteger(limit) || limit < 0)) throw badRequest('limit must be a non-negative integer');
  const meta: Record<string, unknown> = { resourceVersion: String(revision) };
  if (limit > 0 && selected.length > limit) {
    meta['continue'] = encodeContinue(keyOf(selected[limit - 1]));
    meta['remainingItemCount'] = selected.length - limit;
    selected = selected.slice(0, limit);
  }
  for (const o of selected) {
    o.apiVersion = apiVersionOf(t);
    o.kind = t.kind;
  }
  if (view.as === 'Table') return toTable(t, selected, meta, view.includeObject);
  if (view.as === 'PartialObjectMetadata') return { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: meta, items: selected.map((o) => render(t, o, view)) };
  return { kind: `${t.kind}List`, apiVersion: apiVersionOf(t), metadata: meta, items: selected };
}

/**
 * A watch (source: "API Concepts", "Efficient detection of changes" and "Watch bookmarks"): HTTP 200 with one JSON
 * event per line. Without `resourceVersion` (or with "0") it starts with ADDED for every current object; with a
 * version, it sends every change after it. A version older than the store's history gets one ERROR event carrying a
 * 410 Expired Status, then the stream ends, as kube-apiserver's watch cache does. Selectors apply to both states of a
 * change: an object leaving the selection is sent as DELETED, one entering as ADDED. With `allowWatchBookmarks=true`,
 * BOOKMARK events (only `metadata.resourceVersion` set) come every bookmark interval, and with
 * `sendInitialEvents=true` one BOOKMARK annotated `k8s.io/initial-events-end: "true"` follows the initial ADDED events.
 */
async function watch(ctx: Ctx, req: IncomingMessage, res: ServerResponse, t: ResourceType, match: (o: KubeObject) => boolean, q: URLSearchParams, view: View): Promise<void> {
  const rvParam = q.get('resourceVersion') ?? '';
  const from = rvParam === '' || rvParam === '0' ? undefined : Number(rvParam);
  if (from !== undefined && (!Number.isInteger(from) || from < 0)) throw badRequest(`Invalid value: "${rvParam}": resourceVersion must be a non-negative integer`);
  const timeout = Number(q.get('timeoutSeconds') ?? 1800);
  if (!Number.isFinite(timeout) || timeout < 0) throw badRequest('timeoutSeconds must be a non-negative number');
  const bookmarks = q.get('allowWatchBookmarks') === 'true';
  const sendInitial = q.get('sendInitialEvents') === 'true';
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  const apiVersion = apiVersionOf(t);
  const wire = (o: KubeObject): unknown => render(t, { ...o, apiVersion, kind: t.kind }, view);
  const write = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
  const bookmark = (revision: number, initialEnd: boolean) => write('BOOKMARK', {
    kind: t.kind, apiVersion, metadata: { resourceVersion: String(revision), ...(initialEnd ? { annotations: { 'k8s.io/initial-events-end': 'true' } } : {}) },
  });

  let start = from;
  // sendInitialEvents=true (watch-list) starts with the current state whatever the resourceVersion
  if (start === undefined || sendInitial) {
    const { items, revision } = await ctx.store.list({ group: t.group, resource: t.resource });
    for (const o of items.filter(match)) write('ADDED', wire(o));
    if (sendInitial && bookmarks) bookmark(revision, true);
    start = revision;
  }
  const onEvent = (e: StoreEvent) => {
    const now = match(e.object);
    if (e.type === 'MODIFIED') {
      const before = e.previous ? match(e.previous) : now;
      if (now && before) write('MODIFIED', wire(e.object));
      else if (now) write('ADDED', wire(e.object));
      else if (before) write('DELETED', wire(e.object));
    } else if (now) write(e.type, wire(e.object));
  };
  let w;
  try {
    w = await ctx.store.watch({ group: t.group, resource: t.resource }, start, onEvent);
  } catch (e) {
    if (!(e instanceof KubeApiError)) throw e;
    write('ERROR', e.toStatus());
    res.end();
    return;
  }
  const watchHandle = w;
  await new Promise<void>((resolveDone) => {
    const timers: NodeJS.Timeout[] = [];
    const end = () => {
      watchHandle.stop();
      timers.forEach((x) => clearTimeout(x));
      ctx.open.delete(end);
      if (!res.writableEnded) res.end();
      resolveDone();
    };
    ctx.open.add(end);
    timers.push(setTimeout(end, timeout * 1000));
    if (bookmarks) {
      const tick = () => {
        void ctx.store.revision().then((r) => {
          if (!res.writableEnded) bookmark(r, false);
        });
      };
      timers.push(setInterval(tick, ctx.bookmarkMs));
    }
    req.on('close', end);
    res.on('close', end);
  });
}
