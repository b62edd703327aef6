/**
 * A browser as far as the API sees one: a cookie jar (per origin: host and port, which is stricter than browsers and
 * enough for tests on 127.0.0.1), redirects followed by hand so each hop's `Set-Cookie` is kept, and the CSRF
 * token copied from its cookie into `X-CSRF-Token` on writes, as the console does.
 */
export class Browser {
  private readonly jars = new Map<string, Map<string, string>>();
  /** Every `Set-Cookie` line received, newest last (for checking attributes). */
  readonly setCookies: string[] = [];

  constructor(private readonly csrfCookie = 'skyweave_csrf') {}

  /** The cookie `name` of `origin`, if the jar holds it. */
  cookie(origin: string, name: string): string | undefined {
    return this.jars.get(new URL(origin).origin)?.get(name);
  }

  /** Sets (or removes, with undefined) a cookie by hand. */
  put(origin: string, name: string, value: string | undefined): void {
    const jar = this.jarOf(new URL(origin).origin);
    if (value === undefined) jar.delete(name);
    else jar.set(name, value);
  }

  private jarOf(origin: string): Map<string, string> {
    let jar = this.jars.get(origin);
    if (!jar) this.jars.set(origin, (jar = new Map()));
    return jar;
  }

  private keep(origin: string, res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      this.setCookies.push(line);
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = decodeURIComponent(pair.slice(eq + 1));
      const expired = attrs.some((a) => /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) <= Date.now()));
      if (expired || value === '') this.jarOf(origin).delete(name);
      else this.jarOf(origin).set(name, value);
    }
  }

  /**
   * One request (no redirect followed). `csrf: false` leaves out the CSRF header on a write; a string sends that value.
   * @returns the response, its body read as text and parsed when JSON.
   */
  async request<T = Record<string, unknown>>(method: string, url: string, o: { body?: unknown; headers?: Record<string, string>; csrf?: boolean | string } = {}):
    Promise<{ status: number; body: T; headers: Headers }> {
    const origin = new URL(url).origin;
    const jar = this.jarOf(origin);
    const headers: Record<string, string> = { ...o.headers };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; ');
    if (o.body !== undefined) headers['content-type'] ??= 'application/json';
    const csrf = typeof o.csrf === 'string' ? o.csrf : o.csrf === false ? undefined : jar.get(this.csrfCookie);
    if (!['GET', 'HEAD'].includes(method) && csrf !== undefined) headers['x-csrf-token'] = csrf;
    const res = await fetch(url, { method, headers, redirect: 'manual', body: o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body) });
    this.keep(origin, res);
    const text = await res.text();
    const json = (res.headers.get('content-type') ?? '').includes('json') && text;
    return { status: res.status, body: (json ? JSON.parse(text) : text) as T, headers: res.headers };
  }

  /**
   * GETs `url` and follows redirects (each hop with this jar) until one leads to a URL starting with `stopAt`, or a
   * non-redirect answer. @returns the last URL requested and its response. @throws after 20 hops.
   */
  async follow(url: string, stopAt?: string): Promise<{ url: string; status: number; body: unknown; headers: Headers }> {
    let at = url;
    for (let hop = 0; hop < 20; hop++) {
      const r = await this.request('GET', at);
      const location = r.headers.get('location');
      if (r.status < 300 || r.status >= 400 || !location) return { url: at, ...r };
      const next = new URL(location, at).href;
      if (stopAt && next.startsWith(stopAt)) return { url: next, ...r };
      at = next;
    }
    throw new Error(`more than 20 redirects from ${url}`);
  }
}
