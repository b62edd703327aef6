import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { ADDON_IMAGES } from '@skyweave/bootstrap/src/addons';
import { KubeObject } from './types';

/*
 * No containers run in the sandbox, so nothing listens behind a pod's IP. For the few pinned images the platform
 * installs as add-ons (libs/bootstrap/src/addons.ts), the sandbox starts a small stand-in HTTP server on its loopback
 * when the API server's service proxy first needs that pod (it is Running and Ready in kube-sim), and forwards to it.
 * A stand-in answers the few requests the platform relies on the way the real program would; it is not that program.
 * Every other image has nothing behind it (the proxy answers 503 as kube-apiserver does when the dial is refused).
 */

/** What a stand-in knows of the pod it stands in for: the pod and the ConfigMaps its volumes mount. */
export interface StandInPod {
  pod: KubeObject;
  /** ConfigMaps of the pod's namespace by name (for configuration the real program would read from its volumes). */
  configMaps: Map<string, KubeObject>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The images with a stand-in: exact image reference → a handler factory. */
const STAND_INS: Record<string, (p: StandInPod) => Handler> = {
  [ADDON_IMAGES.grafana]: grafanaStandIn,
  [ADDON_IMAGES.dashboard]: dashboardStandIn,
  [ADDON_IMAGES.prometheus]: () => (req, res) => json(res, 200, { status: 'success', data: { standIn: 'prometheus' } }),
};

/** Whether `image` has a stand-in. */
export const hasStandIn = (image: string): boolean => image in STAND_INS;

/** A stand-in started for a pod: its loopback port. */
interface Running { port: number; server: Server }

/**
 * The stand-ins of one API server, one per pod (by uid) and image, started on first use on 127.0.0.1 with a free
 * port, all stopped by `close()` (a deleted pod's stand-in idles until then: the proxy never picks a pod that is gone).
 */
export class StandIns {
  private readonly running = new Map<string, Promise<Running>>();

  /**
   * The loopback port of the stand-in for `p.pod`'s container `image`, started if needed.
   * @returns undefined when the image has no stand-in.
   */
  async portFor(p: StandInPod, image: string): Promise<number | undefined> {
    const make = STAND_INS[image];
    if (!make) return undefined;
    const key = `${p.pod.metadata.uid ?? p.pod.metadata.name}/${image}`;
    let r = this.running.get(key);
    if (!r) {
      const handler = make(p);
      r = new Promise<Running>((resolve, reject) => {
        const server = createServer(handler);
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port, server }));
      });
      this.running.set(key, r);
      r.catch(() => this.running.delete(key));
    }
    return (await r).port;
  }

  async close(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.allSettled(all.map(async (r) => {
      const { server } = await r;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }));
  }
}

function json(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function html(res: ServerResponse, code: number, title: string, body: string, headers: Record<string, string> = {}): void {
  const text = `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body>${body}</body></html>`;
  res.writeHead(code, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `key = value` of one section of an ini file (Grafana's format; `;`/`#` comments). */
export function iniValue(ini: string, section: string, key: string): string | undefined {
  let current = '';
  for (const raw of ini.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith(';') || line.startsWith('#')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) { current = s[1].trim(); continue; }
    const eq = line.indexOf('=');
    if (current === section && eq > 0 && line.slice(0, eq).trim() === key) return line.slice(eq + 1).trim();
  }
  return undefined;
}

/** The grafana.ini the pod mounts (a ConfigMap volume with that key), if any. */
function grafanaIniOf(p: StandInPod): string {
  const volumes = ((p.pod.spec as { volumes?: { configMap?: { name?: string } }[] } | undefined)?.volumes) ?? [];
  for (const v of volumes) {
    const data = v.configMap?.name ? (p.configMaps.get(v.configMap.name)?.data as Record<string, string> | undefined) : undefined;
    if (data?.['grafana.ini'] !== undefined) return data['grafana.ini'];
  }
  return '';
}

/**
 * Grafana 12 with the pod's grafana.ini as far as the gateway relies on it: with `[server] serve_from_sub_path` it
 * serves under `root_url`'s path only (404 elsewhere); `GET <sub>/api/health` answers without a user; with
 * `[auth.proxy] enabled` every other request is signed in as the user named by the `header_name` header (auto sign-up:
 * a user id per login, from 1), else `401 {"message":"Unauthorized"}` for `api/` and a redirect to `<sub>login` for pages;
 * `GET <sub>api/user` is the signed-in user (`login` and `email` the header's value, as `header_property = email`
 * makes them); any other page is an HTML page naming the user and the path. `[auth.proxy] whitelist` (the source
 * addresses allowed to assert a user) is not checked: the sandbox API server dials the stand-in from loopback, where a
 * real kube-apiserver's service proxy comes from its master's mesh address. Source: Grafana docs "Configure auth proxy
 * authentication", and the HTTP API's `GET /api/user` answer.
 */
function grafanaStandIn(p: StandInPod): Handler {
  const ini = grafanaIniOf(p);
  const rootUrl = iniValue(ini, 'server', 'root_url') ?? '/';
  const subPath = iniValue(ini, 'server', 'serve_from_sub_path') === 'true' ? new URL(rootUrl.replace(/%\(\w+\)s/g, 'x'), 'http://x').pathname.replace(/\/?$/, '/') : '/';
  const proxyOn = iniValue(ini, 'auth.proxy', 'enabled') === 'true';
  const header = (iniValue(ini, 'auth.proxy', 'header_name') ?? 'X-WEBAUTH-USER').toLowerCase();
  const users = new Map<string, number>();
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://grafana');
    if (!url.pathname.startsWith(subPath) && url.pathname !== subPath.replace(/\/$/, '')) return json(res, 404, { message: 'Not found' });
    const rest = url.pathname.slice(subPath.length);
    if (rest === 'api/health') return json(res, 200, { database: 'ok', version: '12.2.0', standIn: true });
    const raw = req.headers[header];
    const login = proxyOn && typeof raw === 'string' && raw.trim() ? raw.trim() : undefined;
    if (!login) {
      if (rest.startsWith('api/')) return json(res, 401, { message: 'Unauthorized' });
      res.writeHead(302, { Location: `${subPath}login` });
      return res.end();
    }
    if (!users.has(login)) users.set(login, users.size + 1);
    if (rest === 'api/user') return json(res, 200, { id: users.get(login), uid: `u${users.get(login)}`, email: login, name: '', login, orgId: 1, isGrafanaAdmin: false, isDisabled: false, authLabels: ['Auth Proxy'] });
    if (rest.startsWith('api/')) return json(res, 404, { message: 'Not found' });
    html(res, 200, 'Grafana', `<h1>Grafana (sandbox stand-in)</h1><p id="user">${esc(login)}</p><p id="path">${esc(url.pathname)}</p>`);
  };
}

/**
 * The Kubernetes dashboard 2.7 at its root: every path answers its page (the single-page application; HTML naming the
 * path), or with `Accept: application/json` the request as received (method, path, query, header names and the
 * `X-WEBAUTH-*` values) — the sandbox's way to show what reached the dashboard through the proxies.
 */
function dashboardStandIn(): Handler {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    if (String(req.headers.accept ?? '').includes('application/json')) {
      const webauth = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith('x-webauth-')));
      return json(res, 200, { standIn: 'kubernetes-dashboard', method: req.method, path: url.pathname, query: url.search, headers: Object.keys(req.headers).sort(), webauth });
    }
    html(res, 200, 'Kubernetes Dashboard', `<h1>Kubernetes Dashboard (sandbox stand-in)</h1><p id="path">${esc(url.pathname)}</p>`);
  };
}
