#!/usr/bin/env node
// Builds one project's entry points to dist/ with esbuild; TypeScript is transpiled by @swc/core inside an esbuild
// plugin, because esbuild cannot emit decorator metadata (`design:paramtypes`), which NestJS dependency injection reads.
// The swc options mirror what tools/run-ts.js (@swc-node/register with tsconfig.base.json) applies, so built code
// behaves as the sources did under run-ts: legacy decorators with metadata, define semantics for class fields (target
// ES2022), class names kept, and one CommonJS module per source file (esbuild wraps each, so circular imports between
// files resolve exactly as they did under require()).
//
//   node tools/build.js <project> [--metafile]
//
// Services (api-gateway, reconciler, network-provisioner, node-provisioner) and the sandbox cloud keep npm packages
// external (resolved from the workspace's node_modules at run time); the workspace libraries (@skyweave/*) are bundled.
// node-agent is ONE self-contained file (npm packages included): it is what a VM downloads and runs.
// Output: dist/apps/<project>/<entry>.js with a linked source map (run with `node --enable-source-maps` for TS stacks).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');
const swc = require('@swc/core');

const ROOT = path.resolve(__dirname, '..');

/**
 * What each project builds: entry points (source path → output name without extension), whether npm packages are
 * bundled too (`selfContained`), and where they go (`outdir`, default dist/apps/<project>).
 * `release`: the name of a `process.env.<name>` the bundle reads, replaced at build time by package.json's version.
 * @type {Record<string, { entries: Record<string, string>; selfContained?: boolean; banner?: string; outdir?: string; release?: string }>}
 */
const PROJECTS = {
  'api-gateway': { entries: { main: 'apps/api-gateway/src/main.ts' } },
  reconciler: { entries: { main: 'apps/reconciler/src/main.ts' } },
  'network-provisioner': { entries: { main: 'apps/network-provisioner/src/main.ts' } },
  'node-provisioner': { entries: { main: 'apps/node-provisioner/src/main.ts' } },
  // the platform's informer-based view of every cluster's Kubernetes API (docs/kube-watcher.md)
  'kube-watcher': { entries: { main: 'apps/kube-watcher/src/main.ts' } },
  // the autoscaler hosts that view and decides nodes from it (docs/autoscaler.md); the stacks run it instead of kube-watcher
  autoscaler: { entries: { main: 'apps/autoscaler/src/main.ts' } },
  // the WAN relay runs inside the netns fabric's hub namespace (apps/cloud-emulator/src/core/netns.ts)
  'cloud-emulator': { entries: { main: 'apps/cloud-emulator/src/main.ts', 'wan-main': 'apps/cloud-emulator/src/wan-main.ts' } },
  // the sandbox cluster's Kubernetes API server (docs/kube-sandbox.md)
  'kube-sandbox': { entries: { main: 'apps/kube-sandbox/src/main.ts', kubeadm: 'apps/kube-sandbox/src/kubeadm-main.ts' } },
  // its release (package.json's version) is written in: the agent's version is `<release>-<12 hex of the bundle's SHA-256>`
  'node-agent': { entries: { main: 'apps/node-agent/src/main.ts' }, selfContained: true, banner: '#!/usr/bin/env node', release: 'SKYWEAVE_AGENT_RELEASE' },
  // the `skyweave` command-line client (docs/cli.md): one self-contained file, the package's bin
  cli: { entries: { main: 'apps/cli/src/main.ts' }, selfContained: true, banner: '#!/usr/bin/env node' },
  // the installer's one-shot commands (docker compose's migrate service): schema, first organisation
  tools: { entries: { migrate: 'tools/migrate.ts', 'bootstrap-org': 'tools/bootstrap-org.ts' }, outdir: 'dist/tools' },
};

/**
 * Projects built by Vite instead: the web console (React), static files api-gateway serves at /console/
 * (docs/console.md). Its vite.config.mts names the output folder (dist/apps/console).
 * @type {Record<string, { root: string; outdir: string }>}
 */
const VITE_PROJECTS = {
  console: { root: 'apps/console', outdir: 'dist/apps/console' },
};

/**
 * Builds a Vite project (Vite is ESM-only: imported, not required). @returns its output folder and the time taken.
 * @throws Vite's error when a file does not compile
 */
async function buildViteProject(project) {
  const spec = VITE_PROJECTS[project];
  const started = Date.now();
  const vite = await import('vite');
  await vite.build({ root: path.join(ROOT, spec.root), configFile: path.join(ROOT, spec.root, 'vite.config.mts'), logLevel: 'warn' });
  return { outdir: path.join(ROOT, spec.outdir), ms: Date.now() - started };
}

/** swc options equivalent to @swc-node/register's reading of tsconfig.base.json. */
const SWC_OPTIONS = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs', noInterop: false },
  sourceMaps: 'inline',
  swcrc: false,
  configFile: false,
};

/** esbuild plugin: every workspace `.ts` file goes through swc (decorator metadata); JavaScript is left to esbuild. */
const swcPlugin = {
  name: 'swc-decorator-metadata',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const source = await fs.promises.readFile(args.path, 'utf8');
      const out = await swc.transform(source, { ...SWC_OPTIONS, filename: args.path });
      return { contents: out.code, loader: 'js', resolveDir: path.dirname(args.path) };
    });
  },
};

/** esbuild plugin: npm packages stay `require()`s; workspace libraries (@skyweave/*) and relative imports are bundled. */
const externalPackagesPlugin = {
  name: 'external-npm-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@skyweave/') || args.path.startsWith('node:')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

/**
 * Builds one project. Removes its dist folder first, so nothing stale stays next to the new output.
 * @param {string} project a key of PROJECTS
 * @param {{ metafile?: boolean }} [opts]
 * @returns {Promise<{ outdir: string; ms: number }>}
 * @throws Error for an unknown project, or esbuild's error when a file does not compile
 */
async function buildProject(project, opts = {}) {
  if (VITE_PROJECTS[project]) return buildViteProject(project);
  const spec = PROJECTS[project];
  if (!spec) throw new Error(`unknown project ${project}; known: ${[...Object.keys(PROJECTS), ...Object.keys(VITE_PROJECTS)].join(', ')}`);
  const started = Date.now();
  const outdir = path.join(ROOT, spec.outdir ?? path.join('dist/apps', project));
  fs.rmSync(outdir, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(Object.entries(spec.entries).map(([name, src]) => [name, path.join(ROOT, src)])),
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    // Nest and TypeORM resolve providers and entities by class: keep names as written
    keepNames: true,
    logLevel: 'warning',
    metafile: Boolean(opts.metafile),
    banner: spec.banner ? { js: spec.banner } : undefined,
    define: spec.release ? { [`process.env.${spec.release}`]: JSON.stringify(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version) } : undefined,
    // a package's "module" field may point at ESM that `require` cannot load from CJS output: prefer "main"
    mainFields: ['main', 'module'],
    plugins: [swcPlugin, ...(spec.selfContained ? [] : [externalPackagesPlugin])],
  });
  if (spec.banner) for (const name of Object.keys(spec.entries)) fs.chmodSync(path.join(outdir, `${name}.js`), 0o755);
  if (result.metafile) fs.writeFileSync(path.join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  return { outdir, ms: Date.now() - started };
}

module.exports = { PROJECTS, VITE_PROJECTS, buildProject };

if (require.main === module) {
  const args = process.argv.slice(2);
  const projects = args.filter((a) => !a.startsWith('--'));
  if (projects.length === 0) {
    console.error(`usage: node tools/build.js <project...> [--metafile]   (projects: ${[...Object.keys(PROJECTS), ...Object.keys(VITE_PROJECTS)].join(', ')})`);
    process.exit(2);
  }
  (async () => {
    for (const p of projects) {
      const { outdir, ms } = await buildProject(p, { metafile: args.includes('--metafile') });
      console.log(`built ${p} → ${path.relative(ROOT, outdir)} in ${ms} ms`);
    }
  })().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
