import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { ApiClient, sandboxAccount, sandboxResources } from '../stack/api';
import { freePort } from '../stack/stack';

/**
 * `npm run test:compose [-- --keep]` — docker-compose.yml, for real, on this machine:
 *  1. makes sure a Docker engine and docker-compose run (tools/compose/engine.sh) and the local base image exists
 *     (tools/compose/base-image.sh: debootstrap, once);
 *  2. builds the services (`npm run build`) and the image (`docker-compose build`);
 *  3. starts the stack under its own project name with a new master key and first API key, and waits until every
 *     service with a healthcheck is healthy (PostgreSQL, NATS, the sandbox, api-gateway) and the one-shot migrate exited 0;
 *  4. through the published API: registers sandbox credentials for two clouds, creates a cluster (1 AWS master, 1 GCP
 *     worker), waits for Ready, deletes it, waits until it is gone and checks that the sandbox holds nothing tagged for it;
 *  5. tears the stack down with its volumes (`--keep` leaves it running and prints how to reach it).
 * Needs root (apt-get, dockerd). Prints each step with its time; last line
 * `compose: N containers, cluster Ready in X s and deleted in Y s, 0 resources left`. Exit code 0 on success.
 * Measured here: 102 s in all with the base image present (image build 54 s, mostly sending node_modules to the
 * engine; stack healthy 20 s after `up`; cluster Ready in 13 s); the base image adds 4–11 min the first time.
 */
const o = new Command('test:compose').option('--keep', 'leave the stack running').parse().opts<{ keep?: boolean }>();
const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);
const t0 = Date.now();
const say = (m: string) => process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${m}\n`);

/** Runs a command with its output shown, rejecting on a non-zero exit. */
function step(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`))));
  });
}

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

interface ContainerState { name: string; service: string; status: string; health: string | null; exitCode: number }

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('test:compose needs root (it installs and starts the Docker engine)');
  say('Docker engine and docker-compose (tools/compose/engine.sh)');
  await step('bash', ['tools/compose/engine.sh']);
  say('base image (tools/compose/base-image.sh; a few minutes the first time)');
  await step('bash', ['tools/compose/base-image.sh']);
  say('npm run build');
  await step('npm', ['run', '--silent', 'build']);

  const project = `skyweave-test-${randomBytes(3).toString('hex')}`;
  const apiPort = await freePort();
  const adminPort = await freePort();
  const apiKey = `swk_${randomBytes(24).toString('base64url')}`;
  const env = {
    ...process.env,
    COMPOSE_PROJECT_NAME: project,
    SKYWEAVE_MASTER_KEY: randomBytes(32).toString('base64'),
    SKYWEAVE_FIRST_API_KEY: apiKey,
    POSTGRES_PASSWORD: randomBytes(12).toString('hex'),
    SKYWEAVE_API_PORT: String(apiPort),
    SKYWEAVE_SANDBOX_ADMIN_PORT: String(adminPort),
  };
  const compose = (...args: string[]) => step('docker-compose', ['-f', 'docker-compose.yml', ...args], env);
  say('docker-compose build');
  await compose('build', '-q');
  let containers = 0;
  try {
    say(`docker-compose up -d (project ${project}, API on 127.0.0.1:${apiPort})`);
    await compose('up', '-d');
    const states = async (): Promise<ContainerState[]> => {
      const { stdout: ids } = await run('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]);
      if (!ids.trim()) return [];
      const { stdout } = await run('docker', ['inspect', '--format',
        '{{.Name}}|{{index .Config.Labels "com.docker.compose.service"}}|{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.State.ExitCode}}', ...ids.trim().split('\n')]);
      return stdout.trim().split('\n').map((l) => {
        const [name, service, status, health, exitCode] = l.split('|');
        return { name: name.replace(/^\//, ''), service, status, health: health || null, exitCode: Number(exitCode) };
      });
    };
    const ready = await waitUntil('every container to be healthy (and migrate to have exited 0)', async () => {
      const s = await states();
      const failed = s.find((c) => c.service === 'migrate' && c.status === 'exited' && c.exitCode !== 0);
      if (failed) throw new Error(`migrate exited with ${failed.exitCode}`);
      const ok = s.length >= 8 && s.every((c) => (c.service === 'migrate' ? c.status === 'exited' : c.status === 'running' && (c.health === null || c.health === 'healthy')));
      return ok ? s : undefined;
    }, 180_000);
    containers = ready.length;
    say(`ok: ${ready.map((c) => `${c.service} ${c.service === 'migrate' ? 'exited 0' : c.health ?? c.status}`).join(', ')}`);

    const api = new ApiClient(`http://127.0.0.1:${apiPort}`, apiKey);
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    for (const cloud of ['aws', 'gcp']) {
      await api.ok('POST', '/v1/cloud-credentials', { cloud, name: `sandbox-${cloud}`, credentials: await sandboxAccount(adminUrl, cloud) });
    }
    say('ok: sandbox credentials for aws and gcp registered through the API (checked against the sandbox)');
    const created = await api.ok<{ id: string }>('POST', '/v1/clusters', {
      name: 'compose', region: 'us-east', clouds: ['aws', 'gcp'], controlPlane: { cloud: 'aws', count: 1 }, workers: [{ cloud: 'gcp', count: 1 }],
    });
    const tCreate = Date.now();
    await waitUntil('the cluster to be Ready', async () => {
      const c = await api.ok<{ phase: string }>('GET', `/v1/clusters/${created.id}`);
      return c.phase === 'Ready' ? true : undefined;
    }, 180_000);
    const readyS = (Date.now() - tCreate) / 1000;
    say(`ok: cluster ${created.id} Ready in ${readyS.toFixed(1)} s (1 AWS master, 1 GCP worker; agents in the sandbox container)`);
    const tDelete = Date.now();
    await api.ok('DELETE', `/v1/clusters/${created.id}`);
    await waitUntil('the cluster to be deleted', async () => {
      const c = await api.call<{ phase: string }>('GET', `/v1/clusters/${created.id}`);
      return c.status === 404 || c.body.phase === 'Deleted' ? true : undefined;
    }, 180_000);
    const deletedS = (Date.now() - tDelete) / 1000;
    const left = (await sandboxResources(adminUrl)).filter((r) => r.tags['skyweave-cluster'] === created.id);
    if (left.length) throw new Error(`${left.length} resource(s) tagged for the cluster left: ${left.map((r) => r.id).join(', ')}`);
    say(`ok: cluster deleted in ${deletedS.toFixed(1)} s; nothing tagged for it left in the sandbox`);
    process.stdout.write(`compose: ${containers} containers, cluster Ready in ${readyS.toFixed(1)} s and deleted in ${deletedS.toFixed(1)} s, 0 resources left\n`);
  } catch (e) {
    process.stdout.write(`\nFAILED: ${(e as Error).message}\n`);
    await step('docker-compose', ['-f', 'docker-compose.yml', 'logs', '--no-color', '--tail', '40'], env).catch(() => undefined);
    throw e;
  } finally {
    if (o.keep) {
      say(`left running: COMPOSE_PROJECT_NAME=${project} docker-compose ps; API http://127.0.0.1:${apiPort} key ${apiKey}`);
    } else {
      say('docker-compose down -v');
      await compose('down', '-v', '--remove-orphans').catch((e: unknown) => say(`down failed: ${(e as Error).message}`));
    }
  }
}

main().then(() => process.exit(0), () => process.exit(1));
