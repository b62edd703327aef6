import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

/**
 * Crash safety in CI (issue 3): a few trials of `npm run chaos` — services SIGKILLed and restarted at random while
 * the demo cluster is created and deleted — each converging with no duplicate VM and nothing leaked.
 */
describe('chaos: services killed at random while clusters are created and deleted', () => {
  it('converges every trial with no duplicate VM and no leak', async () => {
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'tools/run-ts.js'), 'tools/chaos/main.ts', '--trials', '3'], { cwd: ROOT, timeout: 175_000, maxBuffer: 16 << 20 });
    expect(stdout.trim().split('\n').at(-1)).toBe('trials: 3, converged: 3, duplicate VMs: 0, leaked resources: 0');
  });
});
