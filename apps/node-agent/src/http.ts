import * as http from 'node:http';
import * as https from 'node:https';
import { AgentApi } from '@skyweave/contracts';
import { PLATFORM_CALL, abortableDelay, withRetry } from '@skyweave/cloud-adapters/src/retry';

/** A 4xx answer from the platform's agent API: final, not retried. */
export class HttpError extends Error {
  constructor(public readonly status: number, body: string) {
    super(`HTTP ${status}: ${body}`);
  }
}

/** The one kind of request the agent makes: a JSON POST. `fetch` has this shape (tests inject it). */
export type PostJson = (url: string, init: { method: 'POST'; headers: Record<string, string>; body: string; signal?: AbortSignal }) =>
  Promise<{ status: number; ok: boolean; text(): Promise<string> }>;

const keepAlive = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

/**
 * {@link PostJson} on `node:http`/`node:https` with keep-alive connections. The agent's default instead of the global
 * `fetch`: on a fresh process, fetch's first request costs about 120 ms more CPU and 150–250 ms more time (undici's
 * bundled modules and its WebAssembly HTTP parser are loaded and compiled on first use; measured with one POST on
 * this project's 2-core machine), and every VM's agent pays that at boot, on the way to joining.
 * @throws the transport error (connection refused, reset …), or an `AbortError` when `signal` is aborted.
 */
export const nodePostJson: PostJson = (url, init) => new Promise((resolve, reject) => {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  const req = mod.request(u, {
    method: init.method, headers: { ...init.headers, 'content-length': Buffer.byteLength(init.body) },
    agent: u.protocol === 'https:' ? keepAlive.https : keepAlive.http, ...(init.signal ? { signal: init.signal } : {}),
  }, (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', reject);
    res.on('end', () => {
      const status = res.statusCode ?? 0;
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status, ok: status >= 200 && status < 300, text: () => Promise.resolve(text) });
    });
  });
  req.on('error', reject);
  req.end(init.body);
});

/** How the agent reaches the platform's agent API (`<apiUrl>/agent/v1/nodes/<nodeId>/…`). */
export interface AgentCallerOptions {
  apiUrl: string;
  nodeId: string;
  log: (msg: string) => void;
  /** The transport (default {@link nodePostJson}); tests inject `fetch` or a fake. */
  fetch?: PostJson;
  /** Waits between retries; default `abortableSleep` on `signal`. */
  sleep?: (ms: number) => Promise<void>;
  /** Aborting it abandons the request in flight (a long poll) and ends the retries. */
  signal?: AbortSignal;
  /** This agent's version, sent as AgentApi.AGENT_VERSION_HEADER with every call (none when absent). */
  agentVersion?: string;
}

/** POSTs `body` (JSON) to `<apiUrl>/agent/v1/nodes/<nodeId><path>` with `Authorization: Bearer <token>`; resolves the JSON answer (`{}` when empty). */
export type AgentCall = <T>(path: string, token: string, body: unknown) => Promise<T>;

/**
 * The agent's one way of calling the platform: transport errors and 5xx are retried with the platform's one retry
 * policy (`PLATFORM_CALL` of libs/cloud-adapters/src/retry.ts: jittered exponential backoff, 500 ms → 10 s) until
 * they succeed or `signal` is aborted; so is 429 (the gateway's rate limit or long-poll bound); any other 4xx is
 * final. Each retry is logged with its wait.
 * @throws HttpError on a 4xx other than 429; the transport error when `signal` was aborted.
 */
export function agentCaller(o: AgentCallerOptions): AgentCall {
  const doFetch = o.fetch ?? nodePostJson;
  const sleep = o.sleep ?? ((ms: number) => abortableSleep(ms, o.signal));
  return <T>(path: string, token: string, body: unknown): Promise<T> => withRetry(PLATFORM_CALL, async () => {
    const res = await doFetch(`${o.apiUrl}/agent/v1/nodes/${o.nodeId}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(o.agentVersion ? { [AgentApi.AGENT_VERSION_HEADER]: o.agentVersion } : {}) },
      body: JSON.stringify(body),
      signal: o.signal,
    });
    const text = await res.text();
    // 429 (rate limit of the node token) is not final: retried like a 5xx, with backoff
    if (res.status >= 400 && res.status < 500 && res.status !== 429) throw new HttpError(res.status, text);
    if (!res.ok) throw new Error(`HTTP ${res.status}`); // no status on it: retried
    return (text ? JSON.parse(text) : {}) as T;
  }, {
    signal: o.signal,
    sleep: (ms) => sleep(ms),
    onRetry: ({ delayMs, error }) => o.log(`${path}: ${(error as Error).message}; retrying in ${delayMs} ms`),
  });
}

/** Resolves after `ms` milliseconds, or at once when `signal` is (or becomes) aborted (the retry policy's own wait). */
export const abortableSleep = abortableDelay;
