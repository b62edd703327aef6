import { TOOL_HTTP, withRetry } from '@skyweave/cloud-adapters/src/retry'; // the retry policy alone, without the SDKs

/** A response of the public API: status, parsed body (JSON or text), headers. */
export interface ApiResponse<T = unknown> { status: number; body: T; headers: Headers }

/** A thin client of the public API, as a user's script would write it. */
export class ApiClient {
  constructor(readonly baseUrl: string, readonly apiKey?: string) {}

  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, body: (type.includes('json') && text ? JSON.parse(text) : text) as T, headers: res.headers };
  }

  /** Like `call`, but throws with the problem detail unless the status is 2xx. */
  async ok<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.call<T>(method, path, body);
    if (r.status >= 300) throw new Error(`${method} ${path} → ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  }
}

/** Creates a sandbox account of `cloud` through the emulator's admin API and returns its credentials in the cloud's own shape. */
export async function sandboxAccount(adminUrl: string, cloud: string): Promise<Record<string, unknown>> {
  // A POST is not retried by fetch when a pooled keep-alive socket turns out closed (a port reused by a new server
  // in a long test process): try again on a transport failure or a 5xx (TOOL_HTTP) — an extra sandbox account is harmless.
  const res = await withRetry(TOOL_HTTP, async () => {
    const r = await fetch(`${adminUrl}/admin/accounts`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify({ cloud }) });
    if (!r.ok) throw Object.assign(new Error(`sandbox account for ${cloud}: ${r.status} ${await r.text()}`), { status: r.status });
    return r;
  });
  const { credentials } = (await res.json()) as { credentials: Record<string, Record<string, unknown>> };
  return credentials[cloud];
}

export interface SandboxResource { cloud: string; account: string; region?: string; kind: string; id: string; name?: string; tags: Record<string, string> }

/** Every live resource in the sandbox. */
export async function sandboxResources(adminUrl: string): Promise<SandboxResource[]> {
  const res = await fetch(`${adminUrl}/admin/resources`);
  if (!res.ok) throw new Error(`sandbox resources: ${res.status}`);
  return ((await res.json()) as { resources: SandboxResource[] }).resources;
}
