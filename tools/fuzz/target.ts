import * as http from 'node:http';
import * as net from 'node:net';
import type { AuthChoice, FuzzCase, WireBreak } from './arbitraries';
import type { FuzzRoute } from './routes';

/** A running installation to attack, and what exists in it (made by whoever started it, e.g. test/support/fuzz-target.ts). */
export interface FuzzTarget {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  baseUrl: string;
  /** A valid API key of the seeded organisation (`swk_…`), and one that was deleted before it was ever used. */
  apiKey: string;
  revokedApiKey: string;
  /** Ids that exist, by kind. `nodeTokens[i]` is the node token of `ids.node[i]`. */
  ids: { cluster: string[]; node: string[]; credential: string[]; operation: string[] };
  nodeTokens: string[];
  /** A node's current bootstrap token (`ids.node[0]`), when one is set. */
  bootstrapToken?: string;
  /** The agent routes (`/agent/v1/…`, not in the OpenAPI document), with their body schemas. */
  agentRoutes: FuzzRoute[];
  /** Values known to be accepted for body properties of that name (e.g. `credentials` of a sandbox account). */
  samples: Record<string, unknown[]>;
}

/** A request as sent; `authorization` is described (`<api-key>`), never the secret itself. */
export interface SentRequest { method: string; path: string; headers: Record<string, string>; body?: string; auth: AuthChoice; wire?: WireBreak }

/** The kind of id a path parameter of `route` names. */
function idKind(route: string, param: string): keyof FuzzTarget['ids'] {
  if (param === 'nodeId') return 'node';
  if (param === 'operationId') return 'operation';
  return route.includes('/cloud-credentials') ? 'credential' : 'cluster';
}

/** The Authorization header value of `auth` (undefined: no header) for a request to node `nodeIndex` (agent routes). */
function resolveAuth(t: FuzzTarget, auth: AuthChoice, nodeIndex: number): string | undefined {
  const own = t.nodeTokens[nodeIndex % Math.max(1, t.nodeTokens.length)] ?? 'swnt_none';
  const other = t.nodeTokens[(nodeIndex + 1) % Math.max(1, t.nodeTokens.length)] ?? 'swnt_none';
  switch (auth) {
    case 'api-key': return `Bearer ${t.apiKey}`;
    case 'api-key-lowercase-scheme': return `bearer ${t.apiKey}`;
    case 'api-key-uppercase-scheme': return `BEARER ${t.apiKey}`;
    case 'api-key-tab': return `Bearer\t${t.apiKey}`;
    case 'api-key-trailing-junk': return `Bearer ${t.apiKey} extra`;
    case 'api-key-no-scheme': return t.apiKey;
    case 'none': return undefined;
    case 'empty': return '';
    case 'scheme-only': return 'Bearer';
    case 'basic': return 'Basic dXNlcjpwYXNzd29yZA==';
    case 'garbage': return 'Bearer !!!not a token!!!';
    case 'very-long': return `Bearer swk_${'A'.repeat(8000)}`;
    case 'latin1': return 'Bearer swk_\u00e9\u00e8\u00ff';
    case 'unknown-api-key': return 'Bearer swk_0000000000000000000000000000000000000000000';
    case 'revoked-api-key': return `Bearer ${t.revokedApiKey}`;
    case 'node-token': return `Bearer ${own}`;
    case 'other-node-token': return `Bearer ${other === own ? 'swnt_other' : other}`;
    case 'bootstrap-token': return `Bearer ${t.bootstrapToken ?? 'swbt_none'}`;
  }
}

/** The concrete request of a case: ids and secrets filled in. */
export function materialise(t: FuzzTarget, c: FuzzCase): { request: SentRequest; authorization?: string } {
  const template = c.route.slice(c.route.indexOf(' ') + 1);
  let nodeIndex = 0;
  const path = template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const p = c.params[name];
    if (!p) return 'missing';
    if ('literal' in p) return p.literal;
    const pool = t.ids[idKind(template, name)];
    if (!pool.length) return '00000000-0000-4000-8000-000000000000';
    if (name === 'nodeId') nodeIndex = p.existing % pool.length;
    return pool[p.existing % pool.length];
  });
  const headers: Record<string, string> = { ...c.extraHeaders };
  if (c.contentType !== undefined) headers['content-type'] = c.contentType;
  const authorization = resolveAuth(t, c.auth, nodeIndex);
  return {
    request: { method: c.method, path: path + (c.query ? `?${c.query}` : ''), headers: { ...headers, ...(authorization !== undefined ? { authorization: `<${c.auth}>` } : {}) }, body: c.body, auth: c.auth, ...(c.wire ? { wire: c.wire } : {}) },
    authorization,
  };
}

/** A response: status, headers (lower-case names) and the body as text. */
export interface FuzzResponse { status: number; headers: http.IncomingHttpHeaders; body: string }

/**
 * Sends one request over `agent` (keep-alive) and reads the whole answer.
 * @throws Error on a transport failure (connection refused or reset before an answer) or after `timeoutMs`.
 */
export function send(t: FuzzTarget, req: SentRequest, authorization: string | undefined, agent: http.Agent, timeoutMs = 60_000): Promise<FuzzResponse> {
  const url = new URL(t.baseUrl);
  if (req.wire) return sendRaw(url, wireText(req, authorization), timeoutMs);
  const body = req.body !== undefined ? Buffer.from(req.body, 'utf8') : undefined;
  const headers: Record<string, string | number> = { ...req.headers };
  delete headers.authorization;
  if (authorization !== undefined) headers.authorization = authorization;
  if (body) headers['content-length'] = body.length;
  return new Promise((resolve, reject) => {
    const r = http.request({ host: url.hostname, port: url.port, method: req.method, path: req.path, headers, agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    r.on('timeout', () => r.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    r.on('error', reject);
    r.end(body);
  });
}

/** The bytes of `req`, broken as `req.wire` says. */
function wireText(req: SentRequest, authorization: string | undefined): string {
  const body = req.body ?? '';
  const lines = [`${req.method} ${req.path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [k, v] of Object.entries(req.headers)) if (k !== 'authorization') lines.push(`${k}: ${v}`);
  if (authorization !== undefined) lines.push(`Authorization: ${authorization}`);
  let framing = [`Content-Length: ${Buffer.byteLength(body)}`];
  let payload = body;
  switch (req.wire) {
    case 'invalid-header-name': lines.push('X Bad Name: 1'); break;
    case 'invalid-header-value': lines.push('X-Bad: a\u0001b'); break;
    case 'unknown-method': lines[0] = `FROB ${req.path} HTTP/1.1`; break;
    case 'lowercase-method': lines[0] = `${req.method.toLowerCase()} ${req.path} HTTP/1.1`; break;
    case 'bad-chunk': framing = ['Transfer-Encoding: chunked']; payload = `zz\r\n${body}\r\n0\r\n\r\n`; break;
    case 'two-content-lengths': framing.push(`Content-Length: ${Buffer.byteLength(body) + 1}`); break;
    case 'length-and-chunked': framing.push('Transfer-Encoding: chunked'); break;
    case 'bare-lf': return [...lines, ...framing].join('\n') + '\n\n' + payload;
    case 'http-1.0': lines[0] = `${req.method} ${req.path} HTTP/1.0`; break;
    case 'absolute-uri': lines[0] = `${req.method} http://evil.example${req.path} HTTP/1.1`; break;
    case undefined: break;
  }
  return [...lines, ...framing].join('\r\n') + '\r\n\r\n' + payload;
}

/**
 * Writes `text` to a new connection and reads the answer until the server closes it (the request says
 * `Connection: close`; a refused request is closed by the server). Handles `Content-Length` and chunked bodies.
 */
function sendRaw(url: URL, text: string, timeoutMs: number): Promise<FuzzResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(text));
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (e) => (chunks.length ? undefined : reject(e)));
    socket.on('close', () => {
      const all = Buffer.concat(chunks).toString('latin1');
      const split = all.indexOf('\r\n\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(all);
      if (!m || split < 0) return reject(new Error(`no HTTP answer (${all.length} bytes: ${JSON.stringify(all.slice(0, 80))})`));
      const headers: http.IncomingHttpHeaders = {};
      for (const line of all.slice(0, split).split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      let body = all.slice(split + 4);
      if (String(headers['transfer-encoding'] ?? '').includes('chunked')) {
        let out = '';
        for (let rest = body; ;) {
          const nl = rest.indexOf('\r\n');
          const size = parseInt(rest.slice(0, nl), 16);
          if (!(size > 0)) break;
          out += rest.slice(nl + 2, nl + 2 + size);
          rest = rest.slice(nl + 4 + size);
        }
        body = out;
      }
      resolve({ status: Number(m[1]), headers, body: Buffer.from(body, 'latin1').toString('utf8') });
    });
  });
}
