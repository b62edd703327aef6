import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** The apps a running installation needs, built by `node tools/build.js <app>` (Nx target `build`). */
export const BUILT_APPS = ['api-gateway', 'reconciler', 'network-provisioner', 'node-provisioner', 'kube-watcher', 'autoscaler', 'cloud-emulator', 'node-agent', 'kube-sandbox'] as const;
export type BuiltApp = (typeof BUILT_APPS)[number];

/** The web console (apps/console), built by Vite to static files that api-gateway serves at /console/ (docs/console.md). */
export const CONSOLE_APP = 'console';
/** The console build's page: its age decides whether the console is stale. */
export const CONSOLE_INDEX = path.join(ROOT, 'dist/apps', CONSOLE_APP, 'index.html');

/** Absolute path of an app's built entry point, `dist/apps/<app>/<entry>.js` (entry `main`, `wan-main` for the WAN relay, `kubeadm` for the VM image's kubeadm). */
export function distEntry(app: BuiltApp, entry = 'main'): string {
  return path.join(ROOT, 'dist/apps', app, `${entry}.js`);
}

/** The built files whose age decides staleness. */
function outputs(): string[] {
  return [...BUILT_APPS.map((a) => distEntry(a)), distEntry('cloud-emulator', 'wan-main'), distEntry('kube-sandbox', 'kubeadm'), CONSOLE_INDEX];
}

/**
 * Newest modification time (ms) of the build's inputs: every non-test `.ts` (and the console's `.tsx` and `.css`)
 * under apps/* /src and libs/* /src, the console's page and Vite settings, and the build's own settings.
 */
function newestInput(): number {
  let newest = 0;
  const visit = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) visit(p);
      else if (/\.(ts|tsx|css)$/.test(e.name) && !e.name.endsWith('.spec.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const group of ['apps', 'libs']) {
    for (const project of readdirSync(path.join(ROOT, group))) {
      const src = path.join(ROOT, group, project, 'src');
      if (existsSync(src)) visit(src);
    }
  }
  for (const f of ['tools/build.js', 'package-lock.json', 'tsconfig.base.json', 'apps/console/index.html', 'apps/console/vite.config.mts']) newest = Math.max(newest, statSync(path.join(ROOT, f)).mtimeMs);
  return newest;
}

/**
 * True when some built entry point is missing or older than a source file, the build script, the lockfile or
 * tsconfig.base.json (a cheap check: one `stat` per source file, a few milliseconds).
 */
export function buildIsStale(): boolean {
  const outs = outputs();
  if (!outs.every((f) => existsSync(f))) return true;
  const oldestOutput = Math.min(...outs.map((f) => statSync(f).mtimeMs));
  return newestInput() > oldestOutput;
}

/**
 * Makes sure dist/ holds a build of every app from the current sources: when stale, runs
 * `nx run-many -t build` for them (Nx's cache restores unchanged projects instead of rebuilding them), then marks
 * the outputs fresh. Synchronous; the build's output goes to this process's stderr.
 * @param say progress messages (one when a build runs)
 * @throws Error when the build fails (a compile error: esbuild names the file and line)
 */
export function ensureBuilt(say: (m: string) => void = () => undefined): void {
  if (!buildIsStale()) return;
  say('dist/ is older than the sources: building (nx run-many -t build)');
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/.bin/nx'), 'run-many', '-t', 'build', '-p', [...BUILT_APPS, CONSOLE_APP].join(','), '--outputStyle=static'], {
    cwd: ROOT,
    stdio: ['ignore', process.stderr, process.stderr],
    env: { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false' },
  });
  // outputs restored or left in place by Nx keep their old times: they are now known to match the sources
  const now = new Date();
  for (const f of outputs()) utimesSync(f, now, now);
}
