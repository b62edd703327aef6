#!/usr/bin/env node
// Completes package-lock.json with the optional, platform-specific binaries of @swc/core and unrs-resolver
// (darwin, win32, other Linux CPUs …) that this project's registry mirror does not serve, so npm could not record
// them. npm ci refuses a lockfile without them; with them recorded as optional and restricted to their os/cpu (read
// from the package name, as the packages' own manifests declare), npm ci skips them on other platforms.
// Run after `npm install` changes the lockfile: node tools/lock-platforms.js
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const file = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(file, 'utf8'));
const OS = ['darwin', 'win32', 'linux', 'android', 'freebsd', 'openharmony', 'sunos', 'aix'];
const CPU = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'riscv64', 'loong64', 'wasm32'];
let added = 0;
for (const [where, pkg] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const key = `${where ? `${where}/` : ''}node_modules/${name}`.replace(/^\//, '');
    const hoisted = `node_modules/${name}`;
    if (lock.packages[key] || lock.packages[hoisted]) continue;
    const parts = name.split('/').pop().split('-');
    const os = parts.find((p) => OS.includes(p));
    const cpu = parts.find((p) => CPU.includes(p));
    if (!os && !cpu) continue; // not a platform binary: leave it to npm
    lock.packages[hoisted] = { version, cpu: cpu ? [cpu] : undefined, optional: true, os: os ? [os] : undefined, license: pkg.license };
    added++;
  }
}
fs.writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lock-platforms: recorded ${added} optional platform package(s)`);
