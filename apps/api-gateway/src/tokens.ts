/** Nest injection tokens for objects built outside Nest (the service runtime). */
export const DATA_SOURCE = Symbol('DATA_SOURCE');
export const SECRET_BOX = Symbol('SECRET_BOX');
export const CLOUD_ENDPOINTS = Symbol('CLOUD_ENDPOINTS');
export const JOIN_LONG_POLL = Symbol('JOIN_LONG_POLL');
export const MESH_LONG_POLL = Symbol('MESH_LONG_POLL');
/** The process's ChangeFeed (`@skyweave/persistence`): wakes the agent long polls when their rows change. */
export const CHANGE_FEED = Symbol('CHANGE_FEED');
/** The process's LongPolls (long-polls.ts): one agent long poll per node and endpoint, and a global bound. */
export const LONG_POLLS = Symbol('LONG_POLLS');
/** The process's GatewayLimits (limits.ts). */
export const GATEWAY_LIMITS = Symbol('GATEWAY_LIMITS');
/** How a join's secrets get into the cluster (JoinSecrets: through the cluster's own Kubernetes API). */
export const JOIN_SECRETS = Symbol('JOIN_SECRETS');
/**
 * The clock certificate and kubeadm token lifetimes are judged and set by (`() => number`, ms since the epoch): the
 * wall clock plus SKYWEAVE_CLOCK_OFFSET_SECONDS (libs/service-kit serviceClock).
 */
export const PKI_CLOCK = Symbol('PKI_CLOCK');
/** The process's GatewayPrices (prices.ts): the clouds' price lists, cached, for POST /v1/clusters/plan. */
export const PRICES = Symbol('PRICES');
/** The node-agent packages served at /v1/agent-packages (agent-packages.controller.ts), when SKYWEAVE_AGENT_PACKAGES_DIR is set. */
export const AGENT_PACKAGES = Symbol('AGENT_PACKAGES');
/** The process's IdentityOptions (identity.ts): cookies, sessions, local accounts, OIDC. */
export const IDENTITY = Symbol('IDENTITY');
/** The cookie names (identity.ts cookieNames, by IdentityOptions.secureCookies). */
export const COOKIE_NAMES = Symbol('COOKIE_NAMES');
/** The session lookup (a SessionsRepository in the application). */
export const SESSIONS = Symbol('SESSIONS');
/** How long an events stream waits without an event before sending a heartbeat comment, ms. */
export const SSE_HEARTBEAT = Symbol('SSE_HEARTBEAT');
/** How long one events stream stays open before it ends (the client reconnects with Last-Event-ID), ms. */
export const SSE_MAX_STREAM = Symbol('SSE_MAX_STREAM');
/** The folder of the built web console (dist/apps/console), or null: none served (ConsoleController). */
export const CONSOLE_DIR = Symbol('CONSOLE_DIR');
