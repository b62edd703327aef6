import { ensureBuilt } from '@skyweave/tools/stack/build';

/**
 * Jest globalSetup of the e2e project: the end-to-end tests start every service and node-agent from dist/, so build
 * them first when dist/ is older than the sources (once per run, before any test file; Nx's cache makes it cheap).
 */
export default function buildSetup(): void {
  ensureBuilt((m) => process.stderr.write(`\ne2e setup: ${m}\n`));
}
