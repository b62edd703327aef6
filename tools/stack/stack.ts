import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { jetstreamManager } from '@nats-io/jetstream';
import { createDataSource, migrate } from '@skyweave/persistence';
import { Namespace, connectNats } from '@skyweave/messaging';
import { createOrganisation } from '../bootstrap-org';
import { distEntry, ensureBuilt } from './build';

const ROOT = path.resolve(__dirname, '../..');

/** The services of a Skyweave installation, each its own process. */
export const SERVICES = ['api-gateway', 'reconciler', 'network-provisioner', 'node-provisioner', 'autoscaler'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface StackOptions {
  /** Folder for logs, VM file systems and the endpoints file; default `.skyweave/<namespace>`. */
  workDir?: string;
  /** VM boot time in the sandbox, milliseconds. */
  bootMs?: number;
  /** Realistic cloud latencies divided by this factor (benchmark). */
  realistic?: number;
  /** PostgreSQL server (without database); default `postgres://postgres@127.0.0.1:5432`. */
  postgresUrl?: string;
  natsUrl?: string;
  /** Seconds between the reconciler's re-drives. */
  redriveSeconds?: number;
  /** `netns`: every sandbox VM is a network namespace and node-agent runs WireGuard for real (root only). Default `process`. */
  vmNetwork?: 'process' | 'netns';
  /** Extra environment for every process (services, emulator and the VMs it boots), e.g. SKYWEAVE_PROBE_INTERVAL_SECONDS. */
  env?: Record<string, string>;
  /**
   * The sandbox clusters' Kubernetes timings (Kubernetes' defaults unless given): the node monitor grace period after
   * which a silent kubelet's Node turns NotReady (40 s), and how long pods tolerate a not-ready/unreachable node
   * before they are evicted (300 s).
   */
  kube?: { nodeGraceSeconds?: number; tolerationSeconds?: number };
  /**
   * Calls the sandbox does not implement (`<cloud> <operation>`, or `true` for any) that `stop()` accepts; default
   * none: `stop()` rejects, after stopping everything, when a process asked the sandbox for one (issue 15).
   */
  allowUnimplemented?: boolean | string[];
  /** VMs of these instance types boot on an external hypervisor (the emulator's `--vm-hypervisor-command`; npm run test:boot). */
  hypervisor?: { command: string[]; instanceTypes: string[] };
  /**
   * The address node-agents reach the gateway at (SKYWEAVE_API_URL's host; default 127.0.0.1). When set the gateway
   * binds every address (VMs on their own network, e.g. test:boot's, reach it through a host address).
   */
  apiHost?: string;
  /**
   * Real clouds instead of the sandbox (`npm run smoke`): no emulator, no endpoints file; `adminUrl` is empty.
   * `publicApiUrl` is then the URL the clouds' VMs reach the gateway at (SKYWEAVE_API_URL; the gateway binds every
   * address on `apiPort`).
   */
  realClouds?: { publicApiUrl: string; apiPort: number };
  /**
   * The node-agent bundle the sandbox's VM image installs (each VM runs its own copy, which agent upgrades replace);
   * default the built dist/apps/node-agent/main.js. A test gives an older build to see it upgraded.
   */
  agentBundle?: string;
  /**
   * The gateway's port on 127.0.0.1 (default a free one the OS picks): for a test whose OpenID Connect provider must
   * be given the redirect URI (`…/v1/auth/oidc/callback`) before the gateway starts.
   */
  apiPort?: number;
}

/** A running installation: the sandbox cloud, every service, its own database and NATS namespace, and one organisation. */
export interface Stack {
  namespace: string;
  apiUrl: string;
  adminUrl: string;
  databaseUrl: string;
  workDir: string;
  vmRoot: string;
  apiKey: string;
  organisationId: string;
  /** A data source on the stack's database, for tests' assertions. */
  ds: DataSource;
  processes: Map<string, ChildProcess>;
  /**
   * Starts (or restarts) one service. `replica` starts another replica of it, named so in leases and logs
   * (`<name>#<replica>` in `processes`, log `<name>-<replica>.log`); `env` adds to its environment.
   */
  startService(name: ServiceName, opts?: { replica?: string; env?: Record<string, string> }): ChildProcess;
  /**
   * Stops every process and removes the database and the NATS stream.
   * @throws Error after stopping, naming them, when the sandbox answered calls it does not implement (501) that
   *   `allowUnimplemented` does not cover.
   */
  stop(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** True when something accepts TCP connections at host:port. */
export function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
  });
}

/**
 * Starts a private Skyweave installation against the sandbox cloud (or, with `realClouds`, the real ones): a fresh database `skyweave_<ns>` on the
 * PostgreSQL server, a fresh NATS namespace, the emulator and every service as separate processes, each started from
 * its build in dist/ (built first when older than the sources); the sandbox VMs run the node-agent bundle.
 * @throws Error naming what is unreachable when PostgreSQL or NATS is not running (run `bash tools/services.sh`),
 *   or the build's error when the sources do not compile.
 */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  ensureBuilt((m) => process.stderr.write(`stack: ${m}\n`));
  const namespace = `sw${randomBytes(4).toString('hex')}`;
  const pgBase = opts.postgresUrl ?? process.env.SKYWEAVE_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
  const natsUrl = opts.natsUrl ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const workDir = opts.workDir ?? path.join(ROOT, '.skyweave', namespace);
  const vmRoot = path.join(workDir, 'vms');
  mkdirSync(vmRoot, { recursive: true });

  const admin = new Client({ connectionString: `${pgBase}/postgres` });
  await admin.connect().catch((e: Error) => { throw new Error(`PostgreSQL at ${pgBase} is not reachable (${e.message}); start it with: bash tools/services.sh`); });
  await admin.query(`CREATE DATABASE "skyweave_${namespace}"`);
  await admin.end();
  const natsHostPort = new URL(natsUrl.replace(/^nats:/, 'http:'));
  if (!(await reachable(natsHostPort.hostname, Number(natsHostPort.port || 4222)))) throw new Error(`NATS at ${natsUrl} is not reachable; start it with: bash tools/services.sh`);

  const databaseUrl = `${pgBase}/skyweave_${namespace}`;
  const ds = createDataSource(databaseUrl, { poolSize: 4, applicationName: 'stack' });
  await ds.initialize();
  await migrate(ds);
  const { organisationId, apiKey } = await createOrganisation(ds, 'demo');

  const processes = new Map<string, ChildProcess>();
  // SKYWEAVE_CPU_PROF_DIR: every service, the sandbox and every VM's agent write a V8 CPU profile there when they exit
  // (`node --cpu-prof`; NODE_OPTIONS may not carry it) — for finding where provisioning time goes (bench/provision.ts)
  const profileDir = process.env.SKYWEAVE_CPU_PROF_DIR;
  const profileArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(profileDir)] : [];
  /** Runs `node <built entry> args…` with its output appended to `<workDir>/<name>.log`. */
  const spawnLogged = (name: string, args: string[], env: Record<string, string>): ChildProcess => {
    const out = openSync(path.join(workDir, `${name}.log`), 'a');
    const child = spawn(process.execPath, [...profileArgs, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
    processes.set(name, child);
    return child;
  };

  const endpointsFile = path.join(workDir, 'endpoints.json');
  if (!opts.realClouds) spawnLogged('cloud-emulator', [
    distEntry('cloud-emulator'), '--base-port', '0',
    // the bundle a real VM downloads: one file, no node_modules
    '--agent-command', JSON.stringify([process.execPath, ...profileArgs]), '--agent-bundle', opts.agentBundle ?? distEntry('node-agent'),
    '--endpoints-file', endpointsFile, '--vm-root', vmRoot,
    // the VM image's kubeadm: each sandbox cluster gets a control plane (docs/kube-sandbox.md)
    '--kubeadm-command', JSON.stringify([process.execPath, distEntry('kube-sandbox', 'kubeadm')]),
    ...(opts.kube?.nodeGraceSeconds !== undefined ? ['--kube-node-grace-seconds', String(opts.kube.nodeGraceSeconds)] : []),
    ...(opts.kube?.tolerationSeconds !== undefined ? ['--kube-toleration-seconds', String(opts.kube.tolerationSeconds)] : []),
    ...(opts.bootMs !== undefined ? ['--boot-ms', String(opts.bootMs)] : []),
    ...(opts.realistic ? ['--realistic', String(opts.realistic)] : []),
    ...(opts.vmNetwork ? ['--vm-network', opts.vmNetwork] : []),
    ...(opts.hypervisor ? ['--vm-hypervisor-command', JSON.stringify(opts.hypervisor.command), '--vm-hypervisor-instance-types', opts.hypervisor.instanceTypes.join(',')] : []),
  ], opts.env ?? {});
  // a start that fails part-way must not leave the processes it spawned running (they hold ports, namespaces and CPU)
  const abandon = async (e: unknown): Promise<never> => {
    for (const c of processes.values()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await ds.destroy().catch(() => undefined);
    throw e;
  };
  let adminUrl = '';
  if (!opts.realClouds) {
    await waitFor('the sandbox cloud', async () => existsSync(endpointsFile), 30_000).catch(abandon);
    adminUrl = (JSON.parse(readFileSync(endpointsFile, 'utf8')) as { adminUrl: string }).adminUrl;
  }

  const apiPort = opts.realClouds?.apiPort ?? opts.apiPort ?? (await freePort());
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const agentApiUrl = opts.realClouds?.publicApiUrl ?? `http://${opts.apiHost ?? '127.0.0.1'}:${apiPort}`;
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    NATS_URL: natsUrl,
    SKYWEAVE_NATS_NAMESPACE: namespace,
    SKYWEAVE_MASTER_KEY: randomBytes(32).toString('base64'),
    ...(opts.realClouds ? {} : { SKYWEAVE_CLOUD_ENDPOINTS_FILE: endpointsFile }),
    SKYWEAVE_API_URL: agentApiUrl,
    ...(opts.apiHost || opts.realClouds ? { HOST: '0.0.0.0' } : {}),
    SKYWEAVE_REDRIVE_SECONDS: String(opts.redriveSeconds ?? 5),
    PORT: String(apiPort),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    // the sandbox suites count pods, pending pods and node capacity exactly: the cluster add-ons (Grafana, Prometheus,
    // the dashboard; docs/sso-gateway.md) are off unless asked for (`env: { SKYWEAVE_ADDONS: 'true' }`)
    SKYWEAVE_ADDONS: process.env.SKYWEAVE_ADDONS ?? 'false',
    ...opts.env,
  };
  const startService = (name: ServiceName, o: { replica?: string; env?: Record<string, string> } = {}) => {
    const child = spawnLogged(o.replica ? `${name}-${o.replica}` : name, [distEntry(name)], { ...env, ...(o.replica ? { SKYWEAVE_REPLICA: o.replica } : {}), ...o.env });
    if (o.replica) {
      processes.delete(`${name}-${o.replica}`);
      processes.set(`${name}#${o.replica}`, child);
    }
    return child;
  };
  for (const s of SERVICES) startService(s);
  await waitFor('api-gateway /health', async () => (await fetch(`${apiUrl}/health`)).ok, 60_000).catch(abandon);

  return {
    namespace, apiUrl, adminUrl, databaseUrl, workDir, vmRoot, apiKey, organisationId, ds, processes, startService,
    async stop() {
      // read before the sandbox stops: which calls it could not serve (GET /admin/calls, `unimplemented`)
      const unimplemented = !adminUrl ? [] : await fetch(`${adminUrl}/admin/calls`)
        .then(async (r) => (r.ok ? ((await r.json()) as { unimplemented?: { cloud: string; call: string; count: number }[] }).unimplemented ?? [] : []))
        .catch(() => []);
      const children = [...processes.values()].filter((c) => c.exitCode === null && c.signalCode === null);
      await Promise.all(children.map((c) => new Promise<void>((r) => {
        const t = setTimeout(() => { c.kill('SIGKILL'); }, 5000);
        c.once('exit', () => { clearTimeout(t); r(); });
        c.kill('SIGTERM');
      })));
      await ds.destroy();
      // the namespace's stream lives on the shared NATS server: remove it with the installation
      const nc = await connectNats(natsUrl, 'stack-cleanup');
      await (await jetstreamManager(nc)).streams.delete(new Namespace(namespace).stream).catch(() => undefined);
      await nc.close();
      const a = new Client({ connectionString: `${pgBase}/postgres` });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "skyweave_${namespace}" WITH (FORCE)`).catch(() => undefined);
      await a.end();
      const allow = opts.allowUnimplemented;
      const unexpected = allow === true ? [] : unimplemented.filter((u) => !(allow || []).includes(`${u.cloud} ${u.call}`));
      if (unexpected.length > 0) {
        throw new Error(`the sandbox was asked for calls it does not implement (answered 501): ${unexpected.map((u) => `${u.cloud} ${u.call} ×${u.count}`).join(', ')}`);
      }
    },
  };
}
