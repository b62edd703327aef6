import { X509Certificate, createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { HttpsProxyAgent } from 'hpagent';
import { createProxyServer, type ProxyServer } from 'http-proxy-3';
import type { Request, Response } from 'express';
import { ADDON_SERVICES, GRAFANA_USER_HEADER, dashboardPathPrefix, grafanaPathPrefix } from '@skyweave/bootstrap/src/addons';
import { API_SERVER_NAME } from '@skyweave/bootstrap';
import { Problem, problemBody, sendProblem } from './problem';

/** The cluster middleware served through the gateway (docs/sso-gateway.md). */
export type SsoApp = 'grafana' | 'dashboard';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1; the set Go's httputil.ReverseProxy drops): never forwarded, in either
 * direction, nor any header the `Connection` header lists.
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/**
 * Request headers never forwarded to cluster middleware: the user's credentials for this gateway (`Cookie`,
 * `Authorization`, the CSRF token, the organisation choice) and any identity header the client made up
 * (`X-WEBAUTH-*`: Grafana's auth proxy trusts them), besides hop-by-hop ones.
 */
const PRIVATE = ['cookie', 'authorization', 'x-csrf-token', 'x-skyweave-organisation', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip', 'forwarded'];

/**
 * The headers forwarded for a signed-in user: `headers` less hop-by-hop, private and `X-WEBAUTH-*` ones, plus
 * `X-WEBAUTH-USER: <login>` (what Grafana's auth proxy reads, `[auth.proxy] header_name`). Pure.
 * @param login the user's email (lower case), Grafana's login and email (`header_property = email`).
 */
export function forwardedHeaders(headers: IncomingHttpHeaders, login: string): IncomingHttpHeaders {
  const named = String(headers.connection ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const out: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    if (HOP_BY_HOP.includes(name) || named.includes(name) || PRIVATE.includes(name) || name.startsWith('x-webauth-')) continue;
    out[name] = v;
  }
  out[GRAFANA_USER_HEADER.toLowerCase()] = login;
  return out;
}

/** Response headers never passed back: hop-by-hop ones and those `Connection` lists; cookies the middleware sets stay. */
export function returnedHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const named = String(headers.connection ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const out: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP_BY_HOP.includes(k.toLowerCase()) && !named.includes(k.toLowerCase())) out[k] = v;
  return out;
}

/**
 * The path on the cluster's API server for a request to the gateway: the Service's API server proxy path
 * (`/api/v1/namespaces/<ns>/services/<svc>:<port>/proxy`) followed by, for Grafana, the whole gateway path (Grafana
 * serves from its sub path `/clusters/<id>/grafana/`: grafana.ini `serve_from_sub_path`), for the dashboard, the part
 * after `/clusters/<id>/dashboard` (it serves at its root); the query string as sent. Pure.
 * @param rawUrl the request target as received (`req.originalUrl`, percent-encoding kept).
 * @returns undefined when a path segment is (or decodes to) `.` or `..`, or holds an encoded `/` or `\`: the request
 *   could otherwise climb out of the service proxy with the platform's admin credential.
 */
export function upstreamPath(app: SsoApp, clusterId: string, rawUrl: string): string | undefined {
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const search = q < 0 ? '' : rawUrl.slice(q);
  for (const seg of path.split('/')) {
    let d: string;
    try {
      d = decodeURIComponent(seg);
    } catch {
      return undefined;
    }
    if (d === '.' || d === '..' || /[/\\]/.test(d)) return undefined;
  }
  const prefix = (app === 'grafana' ? grafanaPathPrefix(clusterId) : dashboardPathPrefix(clusterId)).replace(/\/$/, '');
  if (path !== prefix && !path.startsWith(`${prefix}/`)) return undefined;
  const { namespace, service, port } = app === 'grafana' ? ADDON_SERVICES.grafana : ADDON_SERVICES.dashboard;
  const rest = app === 'grafana' ? path : path.slice(prefix.length) || '/';
  return `/api/v1/namespaces/${namespace}/services/${service}:${port}/proxy${rest}${search}`;
}

/** Where and with what the gateway reaches one cluster's API server. PEM strings; never logged. */
export interface ClusterApiTarget {
  /** `https://<master>:6443` (kubeconfigServer). */
  server: string;
  caCertificate: string;
  /** The platform's admin credential of the cluster (adminCredential). */
  admin: { certificate: string; key: string };
}

/**
 * Forwards requests to cluster middleware through the cluster's API server (http-proxy-3): one HTTPS agent per
 * cluster credential (TLS to the API server verified against the cluster CA as `kubernetes`, the admin client
 * certificate, through `proxyUrl` when set: the sandbox's CONNECT proxy), kept while the credential is the same.
 * Bodies stream both ways (no buffering); WebSocket upgrades are not forwarded.
 */
export class SsoProxy {
  private readonly proxy: ProxyServer;
  private readonly agents = new Map<string, HttpsAgent>();

  constructor(private readonly proxyUrl: string | undefined, private readonly maxAgents = 256) {
    this.proxy = createProxyServer({ ignorePath: true, changeOrigin: true, xfwd: false, secure: true, followRedirects: false, proxyTimeout: 60_000 });
    // hop-by-hop headers of the answer are dropped before http-proxy-3 copies the rest onto the response
    this.proxy.on('proxyRes', (proxyRes) => {
      proxyRes.headers = returnedHeaders(proxyRes.headers);
    });
  }

  private agentFor(t: ClusterApiTarget): HttpsAgent {
    const key = createHash('sha256').update(`${t.server}\n${t.caCertificate}\n${new X509Certificate(t.admin.certificate).fingerprint256}`).digest('hex');
    let agent = this.agents.get(key);
    if (!agent) {
      const tls = { ca: t.caCertificate, cert: t.admin.certificate, key: t.admin.key, servername: API_SERVER_NAME, keepAlive: true, maxSockets: 32 };
      agent = this.proxyUrl ? new HttpsProxyAgent({ ...tls, proxy: this.proxyUrl }) : new HttpsAgent(tls);
      if (this.agents.size >= this.maxAgents) {
        const [oldest, a] = this.agents.entries().next().value as [string, HttpsAgent];
        a.destroy();
        this.agents.delete(oldest);
      }
      this.agents.set(key, agent);
    }
    return agent;
  }

  /**
   * Sends `req` to `t.server` + `path` with `headers` in place of its own, and streams the answer to `res`. A failure
   * to reach the API server is 502 `cluster-unreachable` (no detail of the credential).
   */
  forward(req: Request, res: Response, t: ClusterApiTarget, path: string, headers: IncomingHttpHeaders): Promise<void> {
    req.headers = headers;
    return new Promise<void>((resolve) => {
      res.once('finish', resolve);
      res.once('close', resolve);
      this.proxy.web(req, res, { target: new URL(path, t.server), agent: this.agentFor(t) }, (err) => {
        if (!res.headersSent) {
          const p = new Problem(502, 'cluster-unreachable', 'Bad gateway', `the cluster's Kubernetes API could not be reached (${(err as { code?: string }).code ?? 'error'})`);
          sendProblem(res, req.originalUrl, 502, problemBody(p));
        } else res.destroy();
        resolve();
      });
    });
  }

  close(): void {
    this.proxy.close();
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}
