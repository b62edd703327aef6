import { Command, InvalidArgumentError } from 'commander';
import { ensureLocalServices } from '../stack/services';
import { DEFAULT_CHAOS, runChaos } from './chaos';

/**
 * npm run chaos [-- --trials 20 [--infra]]
 *
 * Creates and deletes the demo cluster `trials` times while SIGKILLing random Skyweave services (and, with
 * `--infra`, restarting PostgreSQL or NATS once per trial; root only). Last line:
 * `trials: N, converged: N, duplicate VMs: 0, leaked resources: 0`. Exits 1 unless every trial converged clean.
 */
const positive = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
};
/** `<min>-<max>` milliseconds, 0 < min ≤ max. */
function killRange(v: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(v);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) throw new InvalidArgumentError('must be <min>-<max> milliseconds, e.g. 300-2500');
  return [Number(m[1]), Number(m[2])];
}
const o = new Command('chaos')
  .option('--trials <n>', 'clusters to create and delete under chaos', positive, DEFAULT_CHAOS.trials)
  .option('--infra', 'also restart PostgreSQL or NATS once per trial (needs root)', false)
  .option('--kill-every <min-max>', 'milliseconds between kills, e.g. 300-2500', killRange, DEFAULT_CHAOS.killEveryMs)
  .parse().opts<{ trials: number; infra: boolean; killEvery: [number, number] }>();

void (async () => {
  await ensureLocalServices((m) => process.stderr.write(`${m}\n`));
  const t0 = Date.now();
  const report = await runChaos({ ...DEFAULT_CHAOS, trials: o.trials, infra: o.infra, killEveryMs: o.killEvery }, (line) => process.stdout.write(`${line}\n`));
  process.stdout.write(`chaos: ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  process.stdout.write(`trials: ${o.trials}, converged: ${report.converged}, duplicate VMs: ${report.duplicateVms}, leaked resources: ${report.leaked}\n`);
  process.exit(report.converged === o.trials && report.duplicateVms === 0 && report.leaked === 0 ? 0 : 1);
})().catch((e: unknown) => {
  process.stderr.write(`chaos failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
