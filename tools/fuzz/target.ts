import * as http from 'node:http';
import type { AuthChoice, FuzzCase } from './arbitraries';
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
export interface SentRequest { method: string; path: string; headers: Record<string, string>; body?: string; auth: AuthChoice }

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
  const headers: Record<string, string> = {};
  if (c.contentType !== undefined) headers['content-type'] = c.contentType;
  const authorization = resolveAuth(t, c.auth, nodeIndex);
  return {
    request: { method: c.method, path: path + (c.query ? `?${c.query}` : ''), headers: { ...headers, ...(authorization !== undefined ? { authorization: `<${c.auth}>` } : {}) }, body: c.body, auth: c.auth },
    authorization,
  };
}

/** A response: status, headers (lower-case names) and the body as text. */
export interface FuzzResponse { status: number; headers: http.IncomingHttpHeaders; body: string }

/**
 * Sends one request over `agent` (keep-alive) and reads the whole answer.
 * @throws Error on a transport failure (connection refused or reset before an answer) or after `timeoutMs`.
 */
export function send(t: FuzzTarget, req: SentRequest, authorization: string | undefined, agent: http.Agent, timeoutMs = 15_000): Promise<FuzzResponse> {
  const url = new URL(t.baseUrl);
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
