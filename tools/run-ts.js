#!/usr/bin/env node
// Runs a TypeScript entry point without a build step: @swc-node/register transpiles
// on require (with decorator metadata, which Nest's dependency injection needs).
'use strict';
const path = require('node:path');
process.env.SWC_NODE_PROJECT ??= path.join(__dirname, '..', 'tsconfig.base.json');
require('@swc-node/register');
const entry = process.argv[2];
if (!entry) {
  console.error('usage: run-ts.js <file.ts> [args...]');
  process.exit(2);
}
process.argv.splice(1, 1);
require(path.resolve(entry));
