import { execFile } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
/** Generous: under CI the trials share two cores with the other end-to-end suites. */
const TIMEOUT_MS = 420_000;

/**
 * Crash safety in CI (issue 3): a few trials of `npm run chaos` — services SIGKILLed and restarted at random while
 * the demo cluster is created and deleted — each converging with no duplicate VM and nothing leaked.
 */
describe('chaos: services killed at random while clusters are created and deleted', () => {
  it('converges every trial with no duplicate VM and no leak', async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [path.join(ROOT, 'tools/run-ts.js'), 'tools/chaos/main.ts', '--trials', '3'], { cwd: ROOT, timeout: TIMEOUT_MS - 10_000, maxBuffer: 16 << 20 }, (err, out, errOut) => {
        if (err) reject(new Error(`${err.message}\n--- stdout ---\n${out}\n--- stderr (tail) ---\n${errOut.slice(-4000)}`));
        else resolve(out);
      });
    });
    expect(stdout.trim().split('\n').at(-1)).toBe('trials: 3, converged: 3, duplicate VMs: 0, leaked resources: 0');
  }, TIMEOUT_MS);
});
