import { readFileSync } from 'node:fs';
import type { CloudEndpoints } from '@skyweave/cloud-adapters';

/** Configuration shared by Skyweave services, from the environment. */
export interface ServiceConfig {
  /** `DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/skyweave`. */
  databaseUrl: string;
  /** `NATS_URL`, default `nats://127.0.0.1:4222`. */
  natsUrl: string;
  /** `SKYWEAVE_MASTER_KEY`: 32 bytes base64, encrypts secrets at rest. Required. */
  masterKey: string;
  /** `SKYWEAVE_CLOUD_ENDPOINTS_FILE`: JSON CloudEndpoints (the sandbox cloud writes one); absent ⇒ the real clouds. */
  cloudEndpoints: CloudEndpoints;
  /** `SKYWEAVE_API_URL`: the public URL of api-gateway, which node-agents call back (default `http://127.0.0.1:8080`). */
  apiUrl: string;
  /** `LOG_LEVEL`, default `info`. */
  logLevel: string;
  /**
   * `SKYWEAVE_DB_POOL_SIZE`: PostgreSQL connections the process may open, default 16 (opened on demand, closed after
   * 10 s idle). Half of them at most hold advisory locks (`withAdvisoryLock`), so 16 lets a provisioner work on 8
   * resources at once, as many as each JetStream subject's handler concurrency.
   */
  databasePoolSize: number;
}

const DEFAULT_DB_POOL_SIZE = 16;
function poolSize(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_DB_POOL_SIZE;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 2 || n > 200) throw new Error(`SKYWEAVE_DB_POOL_SIZE must be a whole number from 2 to 200, got ${JSON.stringify(raw)}`);
  return n;
}

/** Reads the configuration. @throws Error naming the variable when a required one is missing or malformed. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const masterKey = env.SKYWEAVE_MASTER_KEY;
  if (!masterKey || Buffer.from(masterKey, 'base64').length !== 32) {
    throw new Error('SKYWEAVE_MASTER_KEY must be set to 32 random bytes, base64-encoded (openssl rand -base64 32)');
  }
  const endpointsFile = env.SKYWEAVE_CLOUD_ENDPOINTS_FILE;
  let cloudEndpoints: CloudEndpoints = {};
  if (endpointsFile) {
    try {
      cloudEndpoints = JSON.parse(readFileSync(endpointsFile, 'utf8')) as CloudEndpoints;
    } catch (e) {
      throw new Error(`SKYWEAVE_CLOUD_ENDPOINTS_FILE ${endpointsFile}: ${(e as Error).message}`);
    }
  }
  return {
    databaseUrl: env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/skyweave',
    natsUrl: env.NATS_URL ?? 'nats://127.0.0.1:4222',
    masterKey,
    cloudEndpoints,
    apiUrl: env.SKYWEAVE_API_URL ?? 'http://127.0.0.1:8080',
    logLevel: env.LOG_LEVEL ?? 'info',
    databasePoolSize: poolSize(env.SKYWEAVE_DB_POOL_SIZE),
  };
}

/**
 * The clock a service judges certificate and kubeadm token lifetimes by: the wall clock plus
 * `SKYWEAVE_CLOCK_OFFSET_SECONDS` (default 0; non-negative seconds). Production leaves it unset; a test moves the
 * platform's time forward with it (a worker added after the first bootstrap token's day, certificates close to the
 * end of their year), together with the sandbox cloud's `PUT /admin/kubernetes/clock`.
 * @returns milliseconds since the epoch. @throws Error naming the variable when it is not a non-negative number.
 */
export function serviceClock(env: NodeJS.ProcessEnv = process.env): () => number {
  const raw = env.SKYWEAVE_CLOCK_OFFSET_SECONDS;
  const offset = raw === undefined || raw === '' ? 0 : Number(raw);
  if (!Number.isFinite(offset) || offset < 0) throw new Error(`SKYWEAVE_CLOCK_OFFSET_SECONDS must be a non-negative number of seconds, got ${JSON.stringify(raw)}`);
  const ms = offset * 1000;
  return ms === 0 ? Date.now : () => Date.now() + ms;
}
