import { randomBytes, createHash } from 'node:crypto';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import pino from 'pino';
import { parse } from 'yaml';
import { SecretBox } from '@skyweave/persistence';
import { createGateway } from '@skyweave/api-gateway/src/app';
import {
  AGENT_BINARY, AGENT_INSTALL_ROOT, AGENT_PACKAGES_ROUTE, INSTALL_SCRIPT_PATH, agentPackagesFor, agentPackagesFromEnv, renderUserData,
} from '@skyweave/bootstrap';
import { freshDatabase } from '../support/db';

const ROOT = path.resolve(__dirname, '../..');

/**
 * Issue 11, item 3: the node-agent package a stock image installs. tools/agent-package.js builds the amd64 package
 * (with this machine's own Node.js as its runtime, so nothing is fetched), the gateway serves it, the user-data the
 * node-provisioner renders carries its URL and SHA-256, and the install script from that user-data, run for real with
 * sh in a temporary root, downloads it from the gateway, checks it, unpacks it, and the installed agent runs from the
 * package's own runtime.
 */
describe('node-agent package: built, served by the gateway, installed by the user-data (issue 11, item 3)', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let app: INestApplication;
  let url: string;
  let dir: string;
  let served: NonNullable<ReturnType<typeof agentPackagesFromEnv>>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'agent-package-'));
    const out = path.join(dir, 'packages');
    execFileSync(process.execPath, [path.join(ROOT, 'tools/agent-package.js'), '--arch', 'amd64', '--runtime', `amd64=${process.execPath}`, '--out', out], { stdio: 'pipe' });
    const found = agentPackagesFromEnv({ SKYWEAVE_AGENT_PACKAGES_DIR: out });
    if (!found) throw new Error('no manifest');
    served = found;
    db = await freshDatabase();
    app = await createGateway({ ds: db.ds, box: new SecretBox(randomBytes(32).toString('base64')), endpoints: {}, log: pino({ level: 'silent' }), agentPackages: served });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is reproducible: the same agent and runtime give the same SHA-256', () => {
    const again = path.join(dir, 'again');
    execFileSync(process.execPath, [path.join(ROOT, 'tools/agent-package.js'), '--arch', 'amd64', '--runtime', `amd64=${process.execPath}`, '--out', again], { stdio: 'pipe' });
    expect(agentPackagesFromEnv({ SKYWEAVE_AGENT_PACKAGES_DIR: again })?.manifest).toEqual(served.manifest);
  });

  it('serves the manifest and each listed file, immutable, with its SHA-256 as ETag; nothing else', async () => {
    const m = await fetch(`${url}${AGENT_PACKAGES_ROUTE}`);
    expect(m.status).toBe(200);
    expect(await m.json()).toEqual(served.manifest);
    const amd64 = served.manifest.packages.amd64;
    if (!amd64) throw new Error('no amd64 package');
    const r = await fetch(`${url}${AGENT_PACKAGES_ROUTE}/${amd64.file}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/gzip');
    expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(r.headers.get('etag')).toBe(`"${amd64.sha256}"`);
    const body = Buffer.from(await r.arrayBuffer());
    expect(body.length).toBe(amd64.bytes);
    expect(createHash('sha256').update(body).digest('hex')).toBe(amd64.sha256);
    // the agent bundle alone (what a running agent downloads to upgrade itself): the dist bundle, listed and served
    const agent = served.manifest.agent;
    if (!agent) throw new Error('no agent bundle in the manifest');
    expect(agent.file).toBe(`${served.manifest.version}/skyweave-node-agent-${served.manifest.version}.js`);
    expect(agent.sha256).toBe(createHash('sha256').update(readFileSync(path.join(ROOT, 'dist/apps/node-agent/main.js'))).digest('hex'));
    const a = await fetch(`${url}${AGENT_PACKAGES_ROUTE}/${agent.file}`);
    expect([a.status, a.headers.get('content-type'), a.headers.get('etag')]).toEqual([200, 'text/javascript; charset=utf-8', `"${agent.sha256}"`]);
    expect(createHash('sha256').update(Buffer.from(await a.arrayBuffer())).digest('hex')).toBe(agent.sha256);
    for (const bad of [`${served.manifest.version}/manifest.json`, `${served.manifest.version}/..%2Fmanifest.json`, `0.0.0-000000000000/${path.basename(amd64.file)}`]) {
      const nf = await fetch(`${url}${AGENT_PACKAGES_ROUTE}/${bad}`);
      expect([bad, nf.status, nf.headers.get('content-type')?.split(';')[0]]).toEqual([bad, 404, 'application/problem+json']);
    }
  });

  it("a stock VM's install script downloads it from the gateway, checks it, and the agent runs from the package's own runtime", async () => {
    const packages = agentPackagesFor(served.manifest, `${url}${AGENT_PACKAGES_ROUTE}`);
    const userData = renderUserData({
      apiUrl: url, clusterId: 'c', nodeId: 'n', nodeName: 'sw-1-worker-0', role: 'worker', bootstrapToken: 't', kubernetesVersion: '1.36.4', agentPackages: packages,
    });
    const doc = parse(userData.replace(/^#cloud-config\n/, '')) as { write_files: { path: string; content: string }[]; runcmd: (string | string[])[] };
    const script = doc.write_files.find((f) => f.path === INSTALL_SCRIPT_PATH)?.content ?? '';
    const install = doc.runcmd.find((c) => Array.isArray(c) && c.includes(INSTALL_SCRIPT_PATH)) as string[];
    // runcmd: env VAR=value … <script>; the VM's root is a temporary folder, its architecture amd64
    expect(install[0]).toBe('env');
    const env = Object.fromEntries(install.slice(1, -1).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
    expect(env).toEqual({ SKYWEAVE_AGENT_PACKAGE_URL_AMD64: packages.amd64?.url, SKYWEAVE_AGENT_PACKAGE_SHA256_AMD64: packages.amd64?.sha256 });
    const vm = path.join(dir, 'vm');
    mkdirSync(vm);
    writeFileSync(path.join(dir, 'install.sh'), script);
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile('sh', [path.join(dir, 'install.sh')], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TMPDIR: dir, SKYWEAVE_AGENT_ARCH: 'amd64', SKYWEAVE_AGENT_BINARY: path.join(vm, AGENT_BINARY), SKYWEAVE_AGENT_INSTALL_ROOT: path.join(vm, AGENT_INSTALL_ROOT), ...env },
      }, (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr }));
    });
    expect(r).toMatchObject({ code: 0 });
    const binary = path.join(vm, AGENT_BINARY);
    expect(lstatSync(binary).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(vm, AGENT_INSTALL_ROOT, 'VERSION'), 'utf8').trim()).toBe(served.manifest.version);
    expect(existsSync(path.join(vm, AGENT_INSTALL_ROOT, 'lib/node'))).toBe(true);
    // PATH without node: the launcher runs the package's own runtime
    const help = execFileSync(binary, ['--help'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
    expect(help).toContain('Usage: skyweave-node-agent');
    expect(help).toContain('--config <file>');
  });
});
