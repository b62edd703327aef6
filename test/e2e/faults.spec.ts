import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

/**
 * The demo under cloud faults (issue 3): with 10% throttling and 5% server errors injected into every call of every
 * cloud, in each cloud's own shape, the demo's 4-cloud cluster still reaches Ready and deletes without a leftover.
 */
describe('the demo with 10% throttling and 5% 5xx on every cloud', () => {
  it('reaches Ready and deletes clean', async () => {
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'tools/run-ts.js'), 'tools/demo/main.ts', '--faults'], { cwd: ROOT, timeout: 290_000, maxBuffer: 16 << 20 });
    expect(stdout).toMatch(/faults armed/);
    expect(stdout).toMatch(/cluster is Ready after/);
    expect(stdout).toMatch(/cloud API calls in all: \d+/);
    expect(stdout.trim().split('\n').at(-1)).toBe('left in sandbox: 0 resources');
  }, 300_000);
});
