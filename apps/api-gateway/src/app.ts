import 'reflect-metadata';
import {
  ArgumentMetadata, BeforeApplicationShutdown, RequestMethod, Controller, Get, INestApplication, Inject, Injectable, Module, OnApplicationShutdown, ValidationPipe, DynamicModule, type Type,
} from '@nestjs/common';
import { APP_GUARD, HttpAdapterHost, NestFactory } from '@nestjs/core';
import { INTERCEPTORS_METADATA, METHOD_METADATA } from '@nestjs/common/constants';
import type { Server } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ThrottlerModule } from '@nestjs/throttler';
import helmet from 'helmet';
import type { NextFunction, Request, RequestHandler, Response as ExpressResponse } from 'express';
import type { DataSource } from 'typeorm';
import type { CloudEndpoints } from '@skyweave/cloud-adapters';
import { ApiKeysRepository, ChangeFeed, SessionsRepository, pingDatabase, type SecretBox } from '@skyweave/persistence';
import type { Logger } from '@skyweave/service-kit';
import { AgentController, JOIN_LONG_POLL_MS } from './agent.controller';
import { API_KEYS, ApiKeyGuard } from './auth';
import { AccessGuard, Authenticator, Public, assertAccessDeclared } from './access';
import { ApiKeysController, AuthController, IdentityService, InvitationsController, MeController, MembersController } from './identity.controller';
import { DEFAULT_IDENTITY, type IdentityOptions, cookieNames } from './identity';
import { EventStreamController, EventStreams, SSE_HEARTBEAT_MS, SSE_MAX_STREAM_MS } from './events-stream.controller';
import { AutoscalingController } from './autoscaling.controller';
import { AutoscalingService } from './autoscaling.service';
import { ClustersController } from './clusters.controller';
import { ClustersService } from './clusters.service';
import { corsPolicy } from './cors';
import { problemsForClientErrors } from './client-errors';
import { ConsoleController } from './console.controller';
import { CredentialsController } from './credentials.controller';
import { agentAuthentication, bodyParsers, noStore } from './http-hardening';
import { IdempotencyInterceptor, READ_LIKE, SECRET_ANSWER } from './idempotency';
import { DEFAULT_LIMITS, GatewayLimits, LimitedExpressAdapter } from './limits';
import { LongPolls } from './long-polls';
import { MetricsController, httpMetrics } from './metrics';
import { Problem, ProblemFilter, toViolations } from './problem';
import { PgRateLimitStore, RateLimitGuard, throttlerOptions } from './rate-limit';
import { RegionsController } from './regions.controller';
import { PlanService } from './plan.service';
import { GatewayPrices } from './prices';
import { type RouteEntry, controllerRoutes, methodNotAllowed } from './routes';
import { AGENT_PACKAGES, CHANGE_FEED, CLOUD_ENDPOINTS, CONSOLE_DIR, COOKIE_NAMES, DATA_SOURCE, GATEWAY_LIMITS, IDENTITY, JOIN_LONG_POLL, JOIN_SECRETS, LONG_POLLS, MESH_LONG_POLL, PKI_CLOCK, PRICES, SECRET_BOX, SESSIONS, SSE_HEARTBEAT, SSE_MAX_STREAM } from './tokens';
import { JoinSecrets } from './join-secrets';
import { MESH_LONG_POLL_MS, MeshController } from './mesh.controller';
import { OperationsController } from './operations.controller';
import { AgentPackagesController, ServedAgentPackages } from './agent-packages.controller';
import { SsoProxyController } from './sso-proxy.controller';

@Controller('health')
@Public()
class HealthController {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {}
  @Get()
  async health() {
    await pingDatabase(this.ds);
    return { status: 'ok' };
  }
}

/** Every controller of the gateway, public (`/v1`, `/health`, `/metrics`) and agent (`/agent/v1`). */
export const GATEWAY_CONTROLLERS: readonly Type[] = [
  HealthController, MetricsController, RegionsController, CredentialsController, ClustersController, AutoscalingController, AgentController, MeshController,
  OperationsController, AgentPackagesController, AuthController, MeController, MembersController, InvitationsController, ApiKeysController, EventStreamController,
  // the web console's static files at /console/ (public; absent consoleDir: 404)
  ConsoleController,
  // `@All` routes: not in the 405 table (every method is served), nor in the OpenAPI document
  SsoProxyController,
];

/** The single sign-on routes to cluster middleware (SsoProxyController): their bodies stream to the cluster unparsed. */
const SSO_PATHS = /^\/clusters\/[^/]+\/(grafana|dashboard)(\/|$)/;

/**
 * The gateway's route table: every controller route (controllerRoutes) and the OpenAPI pages (`GET /docs`,
 * `GET /docs/openapi.json`). What 405 `Allow` lists, and what tools/fuzz walks besides the OpenAPI document.
 */
export function gatewayRoutes(): RouteEntry[] {
  return [...controllerRoutes([...GATEWAY_CONTROLLERS]), { method: 'GET', path: '/docs' }, { method: 'GET', path: '/docs/openapi.json' }];
}

export interface GatewayDeps {
  ds: DataSource;
  box: SecretBox;
  endpoints: CloudEndpoints;
  log: Logger;
  /** How long `/agent/v1/nodes/{id}/join` holds a `wait` answer, ms (default JOIN_LONG_POLL_MS). */
  joinLongPollMs?: number;
  /** How long `/agent/v1/nodes/{id}/mesh` holds an unchanged answer, ms (default MESH_LONG_POLL_MS). */
  meshLongPollMs?: number;
  /** Rate limits, quotas, CORS, server timeouts, long-poll bound (main.ts: gatewayLimitsFromEnv); DEFAULT_LIMITS for what is absent. */
  limits?: Partial<GatewayLimits>;
  /** Wall clock of the rate limits' windows, ms since the epoch (default Date.now; tests fix it). */
  rateLimitClock?: () => number;
  /** How long a stop waits for requests in flight before closing their connections, ms (default SHUTDOWN_GRACE_MS). */
  shutdownGraceMs?: number;
  /** How often a cached price list is read again from the cloud's price API, ms (default DEFAULT_PRICE_REFRESH_MS, 1 h). */
  priceRefreshMs?: number;
  /** How long a plan waits for one cloud's price list before answering without it, ms (default PRICE_WAIT_MS). */
  priceWaitMs?: number;
  /** The price source of plans (default a GatewayPrices with priceRefreshMs and priceWaitMs; tests give their own). */
  prices?: GatewayPrices;
  /** The node-agent packages served at `/v1/agent-packages` (main.ts: SKYWEAVE_AGENT_PACKAGES_DIR); absent ⇒ 404 there. */
  agentPackages?: ServedAgentPackages;
  /**
   * The clock of certificate and kubeadm token lifetimes (join tokens, re-uploaded certificates, the admin
   * certificate's renewal), ms since the epoch (default Date.now; main.ts: SKYWEAVE_CLOCK_OFFSET_SECONDS).
   */
  pkiClock?: () => number;
  /** Console sign-in: cookies, sessions, local accounts, OIDC (main.ts: identityOptionsFromEnv); DEFAULT_IDENTITY for what is absent. */
  identity?: Partial<IdentityOptions>;
  /** Time without an event after which `GET /v1/clusters/{id}/events/stream` sends a heartbeat comment, ms (default SSE_HEARTBEAT_MS, 15 s). */
  sseHeartbeatMs?: number;
  /**
   * How long one events stream stays open, ms (default SSE_MAX_STREAM_MS, 30 min): it then ends and the client
   * reconnects with Last-Event-ID (EventSource does so by itself), so no connection is held for ever.
   */
  sseMaxStreamMs?: number;
  /** The built web console served at `/console/` (main.ts: SKYWEAVE_CONSOLE_DIR, default dist/apps/console); absent ⇒ 404 there. */
  consoleDir?: string;
}

/**
 * How long `app.close()` (SIGTERM) lets requests in flight finish before their connections are closed, ms: below the
 * 5 s after which tools/stack (and Docker's default `stop_grace_period` of 10 s) kill the process.
 */
export const SHUTDOWN_GRACE_MS = 3_000;
const SHUTDOWN_GRACE = Symbol('SHUTDOWN_GRACE');

/**
 * Makes `app.close()` finish. Node's `server.close()` only stops listening and closes the connections idle at that
 * moment: a held long poll (`/mesh` holds 25 s) and every keep-alive connection that carries a later request (an
 * agent polls again on the same connection) kept the process up until it was killed. Before the server closes, every
 * long poll is ended (LongPolls.close: each answers at once, new ones get 503); while it closes, connections are
 * closed as soon as they are idle (every 50 ms), and whatever is still open after the grace period is closed.
 */
@Injectable()
class GracefulStop implements BeforeApplicationShutdown, OnApplicationShutdown {
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly adapter: HttpAdapterHost, @Inject(LONG_POLLS) private readonly polls: LongPolls, @Inject(SHUTDOWN_GRACE) private readonly graceMs: number) {}

  beforeApplicationShutdown(): void {
    this.polls.close();
    const server = this.adapter.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return;
    const idle = setInterval(() => server.closeIdleConnections(), 50);
    const all = setTimeout(() => server.closeAllConnections(), this.graceMs);
    idle.unref();
    all.unref();
    this.timers = [idle, all];
  }

  onApplicationShutdown(): void {
    for (const t of this.timers) clearTimeout(t);
  }
}

/** The HTTP methods that write, whose handlers get IdempotencyInterceptor (RequestMethod values of @nestjs/common), unless marked ReadLike or SecretAnswer. */
const WRITE_METHODS = new Set([RequestMethod.POST, RequestMethod.PUT, RequestMethod.PATCH, RequestMethod.DELETE]);

/**
 * Puts `interceptor` on every write handler (POST, PUT, PATCH, DELETE) of `controllers` but those marked ReadLike, as
 * `@UseInterceptors` on each would, and nowhere else: reads do not pay for it (an interceptor is an RxJS pipeline per request). Idempotent.
 */
function interceptWrites(controllers: readonly Type[], interceptor: Type): void {
  for (const controller of controllers) {
    for (const name of Object.getOwnPropertyNames(controller.prototype)) {
      const handler = Object.getOwnPropertyDescriptor(controller.prototype, name)?.value as unknown;
      if (typeof handler !== 'function' || !WRITE_METHODS.has(Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod)) continue;
      if (Reflect.getMetadata(READ_LIKE, handler) === true || Reflect.getMetadata(SECRET_ANSWER, handler) === true) continue;
      const present = (Reflect.getMetadata(INTERCEPTORS_METADATA, handler) as unknown[] | undefined) ?? [];
      if (!present.includes(interceptor)) Reflect.defineMetadata(INTERCEPTORS_METADATA, [...present, interceptor], handler);
    }
  }
}

@Module({})
class AppModule {
  static with(deps: GatewayDeps, limits: GatewayLimits, identity: IdentityOptions): DynamicModule {
    assertAccessDeclared(GATEWAY_CONTROLLERS);
    interceptWrites(GATEWAY_CONTROLLERS, IdempotencyInterceptor);
    return {
      module: AppModule,
      // the store is the throttler module's provider, so Nest starts and stops it (flush and sweep timers)
      imports: [ThrottlerModule.forRoot(throttlerOptions(limits, new PgRateLimitStore(deps.ds, limits.rateFlushMs, deps.log, deps.rateLimitClock)))],
      controllers: [...GATEWAY_CONTROLLERS],
      providers: [
        { provide: DATA_SOURCE, useValue: deps.ds },
        { provide: SECRET_BOX, useValue: deps.box },
        { provide: CLOUD_ENDPOINTS, useValue: deps.endpoints },
        { provide: JOIN_LONG_POLL, useValue: deps.joinLongPollMs ?? JOIN_LONG_POLL_MS },
        { provide: JOIN_SECRETS, useValue: new JoinSecrets(deps.endpoints, deps.pkiClock ?? Date.now) },
        { provide: PKI_CLOCK, useValue: deps.pkiClock ?? Date.now },
        { provide: MESH_LONG_POLL, useValue: deps.meshLongPollMs ?? MESH_LONG_POLL_MS },
        // one listening connection per process; started and stopped with the app (onModuleInit/onModuleDestroy)
        { provide: CHANGE_FEED, useFactory: () => ChangeFeed.forDataSource(deps.ds, { log: deps.log }) },
        { provide: GATEWAY_LIMITS, useValue: limits },
        ...(deps.agentPackages ? [{ provide: AGENT_PACKAGES, useValue: deps.agentPackages }] : []),
        { provide: LONG_POLLS, useValue: new LongPolls(limits.maxLongPolls) },
        { provide: SHUTDOWN_GRACE, useValue: deps.shutdownGraceMs ?? SHUTDOWN_GRACE_MS },
        GracefulStop,
        { provide: API_KEYS, useFactory: () => new ApiKeysRepository(deps.ds) },
        ApiKeyGuard,
        { provide: IDENTITY, useValue: identity },
        { provide: COOKIE_NAMES, useValue: cookieNames(identity.secureCookies) },
        { provide: SESSIONS, useFactory: () => new SessionsRepository(deps.ds) },
        { provide: SSE_HEARTBEAT, useValue: deps.sseHeartbeatMs ?? SSE_HEARTBEAT_MS },
        { provide: SSE_MAX_STREAM, useValue: deps.sseMaxStreamMs ?? SSE_MAX_STREAM_MS },
        { provide: CONSOLE_DIR, useValue: deps.consoleDir ?? null },
        Authenticator,
        IdentityService,
        EventStreams,
        // in this order: rate limits first, then who may call the route (AccessGuard: every route, deny by default)
        { provide: APP_GUARD, useClass: RateLimitGuard },
        { provide: APP_GUARD, useClass: AccessGuard },
        // one price cache per process (POST /v1/clusters/plan)
        { provide: PRICES, useValue: deps.prices ?? new GatewayPrices(deps.box, deps.endpoints, { refreshMs: deps.priceRefreshMs, waitMs: deps.priceWaitMs, log: (m: string) => deps.log.info({}, m) }) },
        ClustersService,
        PlanService,
        AutoscalingService,
      ],
    };
  }
}

/**
 * Validation → 422 problems naming field and rule; a query parameter out of bounds (`?offset=1e20`) is a malformed
 * request target instead: 400 `invalid-query`, with the same `errors`.
 */
class GatewayValidationPipe extends ValidationPipe {
  constructor() {
    super({ whitelist: true, forbidNonWhitelisted: true, transform: true, exceptionFactory: (errors) => Problem.validation(toViolations(errors)) });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    try {
      return await super.transform(value, metadata);
    } catch (e) {
      if (metadata.type !== 'query' || !(e instanceof Problem) || e.problemType !== 'validation-failed') throw e;
      throw new Problem(400, 'invalid-query', 'Invalid query parameters', e.message, e.errors);
    }
  }
}

/**
 * Builds the api-gateway Nest application (not listening yet): validation → problem+json, OpenAPI at /docs; its HTTP
 * server has the timeouts and connection cap of `deps.limits` (LimitedExpressAdapter). Requests Node's HTTP parser
 * refuses, and unsupported `Expect`s, are answered as problems (problemsForClientErrors).
 * Every request passes, in order: timing (skyweave_http_request_duration_seconds, served at `/metrics`), security headers (helmet; no `X-Powered-By`), `Cache-Control: no-store` (see
 * noStore), the CORS policy (corsPolicy: the console's origin only; it answers preflights, so it comes before the
 * next), 405 with `Allow` for a wrong method on a served path (methodNotAllowed), node authentication on
 * `/agent/v1/nodes/{id}/…` (before the body is read), the body parsers with the nesting limit (MAX_BODY_DEPTH, 400
 * `body-too-deep`), then Nest's guards (first the rate limits, RateLimitGuard), pipes and handlers.
 */
export async function createGateway(deps: GatewayDeps): Promise<INestApplication> {
  const limits: GatewayLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const identity: IdentityOptions = { ...DEFAULT_IDENTITY, ...deps.identity };
  const app = await NestFactory.create<NestExpressApplication>(AppModule.with(deps, limits, identity), new LimitedExpressAdapter(limits), { logger: ['error', 'warn'], bodyParser: false });
  app.disable('x-powered-by');
  // no ETag (a SHA-1 of every body): answers are `Cache-Control: no-store` (noStore), never revalidated; the /docs
  // assets keep theirs (served by serve-static, which sets its own)
  app.set('etag', false);
  problemsForClientErrors(app.getHttpServer());
  app.use(httpMetrics());
  // helmet's defaults, except that plain-HTTP installations (the default: TLS is terminated in front) keep working:
  // no `upgrade-insecure-requests` in the CSP of the /docs pages
  const apiHelmet = helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } });
  // cluster middleware's pages (Grafana's scripts) bring their own content security policy, if any
  const ssoHelmet = helmet({ contentSecurityPolicy: false });
  app.use((req: Request, res: ExpressResponse, next: NextFunction) => (SSO_PATHS.test(req.path) ? ssoHelmet : apiHelmet)(req, res, next));
  app.use(noStore);
  app.use(corsPolicy(limits.consoleOrigin));
  app.use(methodNotAllowed(gatewayRoutes()));
  app.use('/agent/v1/nodes/:nodeId', agentAuthentication(deps.ds, deps.log));
  for (const handler of bodyParsers()) {
    // error handlers (four parameters) only run on a parser's error, which the single sign-on paths never reach
    if (handler.length === 4) app.use(handler);
    else app.use((req: Request, res: ExpressResponse, next: NextFunction) => (SSO_PATHS.test(req.path) ? next() : (handler as RequestHandler)(req, res, next)));
  }
  app.useGlobalFilters(new ProblemFilter(deps.log));
  app.useGlobalPipes(new GatewayValidationPipe());
  // the OpenAPI document is built on the first request for it (and kept), not at start-up: the API answers sooner
  const doc = () => SwaggerModule.createDocument(app, new DocumentBuilder()
    .setTitle('Skyweave API').setDescription('One Kubernetes cluster across several clouds').setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API key (swk_…)' })
    .addCookieAuth(cookieNames(identity.secureCookies).session, { type: 'apiKey', in: 'cookie', description: 'Console session (POST /v1/auth/local/login or GET /v1/auth/oidc/login); writes also need X-CSRF-Token' }).build());
  SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}
