import { Command, InvalidArgumentError } from 'commander';
import { formatFailure, runFuzz } from '@skyweave/tools/fuzz/runner';
import { ensureLocalServices } from '@skyweave/tools/stack/services';
import { startFuzzTarget } from '../support/fuzz-target';

/**
 * npm run fuzz [-- --runs 10000 [--seed S]]
 *
 * Attacks a gateway started in-process (fresh database, sandbox cloud; test/support/fuzz-target.ts) with `runs`
 * generated requests over every route (tools/fuzz: the OpenAPI document's and the agent routes) and checks each
 * answer (tools/fuzz/properties.ts). Prints each failure with its request, the first one shrunk, and as last line
 * `fuzz: N requests, K 5xx, M routes`. Exits 1 when K > 0 or any property failed.
 */
const whole = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`must be a whole number ≥ ${min}`);
  return n;
};
const o = new Command('fuzz')
  .option('--runs <n>', 'requests to generate', whole(1), 1000)
  .option('--seed <s>', 'fast-check seed (default: random, printed)', whole(-(2 ** 31)))
  .option('--verbose', 'print the gateway log (warn and above)', false)
  .parse().opts<{ runs: number; seed?: number; verbose: boolean }>();

void (async () => {
  await ensureLocalServices((m) => process.stderr.write(`${m}\n`));
  const seed = o.seed ?? (Math.random() * 2 ** 31) | 0;
  const target = await startFuzzTarget(o.verbose ? (l) => process.stderr.write(`${l}\n`) : undefined);
  const t0 = Date.now();
  let failed = true;
  try {
    process.stdout.write(`fuzz: seed ${seed}, ${o.runs} runs against ${target.baseUrl}\n`);
    const r = await runFuzz(target, { runs: o.runs, seed, log: (l) => process.stdout.write(`${l}\n`) });
    if (r.shrunk) process.stdout.write(`shrunk (replay: --seed ${seed}):\n  ${formatFailure(r.shrunk).replace(/\n/g, '\n  ')}\n`);
    const perRoute = [...r.perRoute.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `  ${String(n).padStart(6)}  ${k}`);
    process.stdout.write(`requests per route:\n${perRoute.join('\n')}\n`);
    process.stdout.write(`answers: ${[...r.perStatus.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s} × ${n}`).join(', ')}\n`);
    process.stdout.write(`fuzz: ${((Date.now() - t0) / 1000).toFixed(1)} s, ${r.failures.length} failing requests, seed ${seed}\n`);
    process.stdout.write(`fuzz: ${r.requests} requests, ${r.fiveXx} 5xx, ${r.routes} routes\n`);
    failed = r.fiveXx > 0 || r.failures.length > 0;
  } finally {
    await target.close();
  }
  process.exit(failed ? 1 : 0);
})().catch((e: unknown) => {
  process.stderr.write(`fuzz failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
