import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { reachable } from './stack';

/**
 * Makes sure PostgreSQL (127.0.0.1:5432) and NATS with JetStream (127.0.0.1:4222) are running: uses running ones,
 * else runs `tools/services.sh`, which installs (Debian packages) and starts what is missing.
 */
export async function ensureLocalServices(say: (m: string) => void): Promise<void> {
  if ((await reachable('127.0.0.1', 5432)) && (await reachable('127.0.0.1', 4222))) return;
  say('PostgreSQL or NATS not running: starting local ones (tools/services.sh)');
  execFileSync('bash', [path.resolve(__dirname, '../services.sh')], { stdio: 'inherit' });
}
