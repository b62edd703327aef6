import * as http from 'node:http';
import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { DEFAULT_ORGANISATION_QUOTAS } from '@skyweave/domain';

/**
 * Every limit of one api-gateway process (issue 10: rate limits, quotas, CORS, server timeouts, long polls). Built by
 * `gatewayLimitsFromEnv` in main.ts (env names and defaults in docs/limits.md), or given by tests.
 */
export interface GatewayLimits {
  /** Requests per API key per window (`SKYWEAVE_RATE_LIMIT_KEY`, default 3000). */
  perApiKey: number;
  /** Requests per organisation (all its keys) per window (`SKYWEAVE_RATE_LIMIT_ORG`, default 6000). */
  perOrganisation: number;
  /** Requests per node token (`/agent/v1/nodes/{id}/…`) per window (`SKYWEAVE_RATE_LIMIT_NODE`, default 600). */
  perNode: number;
  /** The rate-limit window, milliseconds (`SKYWEAVE_RATE_LIMIT_WINDOW_SECONDS`, default 60 s). */
  rateWindowMs: number;
  /**
   * How often a replica adds its local counts to the shared PostgreSQL counters and learns the other replicas'
   * counts, milliseconds (`SKYWEAVE_RATE_LIMIT_FLUSH_MS`, default 250); 0 = one atomic UPSERT per request.
   */
  rateFlushMs: number;
  /** Clusters an organisation may hold (not Deleted) unless its row says otherwise (`SKYWEAVE_QUOTA_CLUSTERS`, default 20). */
  maxClusters: number;
  /** Nodes an organisation may hold (not Terminated) unless its row says otherwise (`SKYWEAVE_QUOTA_NODES`, default 200). */
  maxNodes: number;
  /** The console's origin allowed by CORS (`SKYWEAVE_CONSOLE_ORIGIN`); undefined → no CORS headers, preflights refused. */
  consoleOrigin?: string;
  /** Long polls held at once by this process, over all nodes (`SKYWEAVE_MAX_LONG_POLLS`, default 2000). */
  maxLongPolls: number;
  /** Cluster event streams (server-sent events) open at once in this process (`SKYWEAVE_MAX_EVENT_STREAMS`, default 1000). */
  maxEventStreams: number;
  /** Of those, open for one organisation (`SKYWEAVE_MAX_EVENT_STREAMS_ORG`, default 100): one tenant's tabs cannot take them all. */
  maxEventStreamsPerOrganisation: number;
  /** Time to receive a request's headers, ms (`SKYWEAVE_HEADERS_TIMEOUT_MS`, default 10 000). */
  headersTimeoutMs: number;
  /** Time to receive a whole request (headers and body; not the answer, so long polls are not cut), ms (`SKYWEAVE_REQUEST_TIMEOUT_MS`, default 30 000). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open, ms (`SKYWEAVE_KEEP_ALIVE_TIMEOUT_MS`, default 65 000: above the usual 60 s of load balancers). */
  keepAliveTimeoutMs: number;
  /** Open connections at once; more are closed on arrival (`SKYWEAVE_MAX_CONNECTIONS`, default 10 000). */
  maxConnections: number;
  /** How often Node checks headersTimeout/requestTimeout, ms (default 1000; Node's own is 30 s). */
  connectionsCheckingIntervalMs: number;
}

export const DEFAULT_LIMITS: Readonly<GatewayLimits> = {
  perApiKey: 3000,
  perOrganisation: 6000,
  perNode: 600,
  rateWindowMs: 60_000,
  rateFlushMs: 250,
  maxClusters: DEFAULT_ORGANISATION_QUOTAS.maxClusters,
  maxNodes: DEFAULT_ORGANISATION_QUOTAS.maxNodes,
  maxLongPolls: 2000,
  maxEventStreams: 1000,
  maxEventStreamsPerOrganisation: 100,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
  maxConnections: 10_000,
  connectionsCheckingIntervalMs: 1000,
};

/** Env variable → GatewayLimits field, for the numeric ones (all integers ≥ 0). */
const NUMERIC_ENV: Record<string, { field: Exclude<keyof GatewayLimits, 'consoleOrigin'>; scale: number }> = {
  SKYWEAVE_RATE_LIMIT_KEY: { field: 'perApiKey', scale: 1 },
  SKYWEAVE_RATE_LIMIT_ORG: { field: 'perOrganisation', scale: 1 },
  SKYWEAVE_RATE_LIMIT_NODE: { field: 'perNode', scale: 1 },
  SKYWEAVE_RATE_LIMIT_WINDOW_SECONDS: { field: 'rateWindowMs', scale: 1000 },
  SKYWEAVE_RATE_LIMIT_FLUSH_MS: { field: 'rateFlushMs', scale: 1 },
  SKYWEAVE_QUOTA_CLUSTERS: { field: 'maxClusters', scale: 1 },
  SKYWEAVE_QUOTA_NODES: { field: 'maxNodes', scale: 1 },
  SKYWEAVE_MAX_LONG_POLLS: { field: 'maxLongPolls', scale: 1 },
  SKYWEAVE_MAX_EVENT_STREAMS: { field: 'maxEventStreams', scale: 1 },
  SKYWEAVE_MAX_EVENT_STREAMS_ORG: { field: 'maxEventStreamsPerOrganisation', scale: 1 },
  SKYWEAVE_HEADERS_TIMEOUT_MS: { field: 'headersTimeoutMs', scale: 1 },
  SKYWEAVE_REQUEST_TIMEOUT_MS: { field: 'requestTimeoutMs', scale: 1 },
  SKYWEAVE_KEEP_ALIVE_TIMEOUT_MS: { field: 'keepAliveTimeoutMs', scale: 1 },
  SKYWEAVE_MAX_CONNECTIONS: { field: 'maxConnections', scale: 1 },
};

/**
 * The gateway's limits from the environment (names above and in docs/limits.md), DEFAULT_LIMITS for what is unset.
 * @throws Error naming the variable when a value is not a non-negative integer, when a window is 0, or when the
 *   headers timeout exceeds the request timeout (Node requires headersTimeout ≤ requestTimeout).
 */
export function gatewayLimitsFromEnv(env: NodeJS.ProcessEnv): GatewayLimits {
  const limits: GatewayLimits = { ...DEFAULT_LIMITS };
  for (const [name, { field, scale }] of Object.entries(NUMERIC_ENV)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    limits[field] = n * scale;
  }
  if (limits.rateWindowMs === 0) throw new Error('SKYWEAVE_RATE_LIMIT_WINDOW_SECONDS must be at least 1');
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) throw new Error('SKYWEAVE_HEADERS_TIMEOUT_MS must not exceed SKYWEAVE_REQUEST_TIMEOUT_MS');
  const origin = env.SKYWEAVE_CONSOLE_ORIGIN?.trim();
  if (origin) {
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      throw new Error(`SKYWEAVE_CONSOLE_ORIGIN must be an origin such as https://console.example.com, got ${JSON.stringify(origin)}`);
    }
    if (u.origin !== origin.replace(/\/$/, '')) throw new Error(`SKYWEAVE_CONSOLE_ORIGIN must be an origin (scheme, host, port; no path), got ${JSON.stringify(origin)}`);
    limits.consoleOrigin = u.origin;
  }
  return limits;
}

/**
 * Nest's Express adapter with a server made with the gateway's limits (issue 10, "request/header timeouts and a
 * connection cap set on the server rather than Node's 300 s default"): `headersTimeout`, `requestTimeout` (time to
 * *receive* a request, so long polls, whose answer comes later, are unaffected), `keepAliveTimeout`,
 * `maxConnections`, and the interval at which Node checks the first two (a server option only). HTTPS and Nest's
 * `forceCloseConnections` are not used by the gateway and not supported here.
 */
export class LimitedExpressAdapter extends ExpressAdapter {
  constructor(private readonly limits: Pick<GatewayLimits, 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs' | 'maxConnections' | 'connectionsCheckingIntervalMs'>) {
    super();
  }

  override initHttpServer(options: NestApplicationOptions): void {
    if (options.httpsOptions || options.forceCloseConnections) throw new Error('LimitedExpressAdapter: httpsOptions and forceCloseConnections are not supported');
    super.initHttpServer(options);
    const l = this.limits;
    const server = http.createServer({
      headersTimeout: l.headersTimeoutMs, requestTimeout: l.requestTimeoutMs, keepAliveTimeout: l.keepAliveTimeoutMs,
      connectionsCheckingInterval: l.connectionsCheckingIntervalMs,
    }, this.getInstance());
    server.maxConnections = l.maxConnections;
    this.setHttpServer(server);
  }
}
