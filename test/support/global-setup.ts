import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** Runs one of the repository's setup scripts; @throws Error naming the script and what it needs when it fails. */
function setupScript(script: string, what: string): void {
  try {
    const out = execFileSync('bash', [path.join(ROOT, script)], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (out.trim()) process.stderr.write(`\ntest setup: ${out.trim()}\n`);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`npm test needs ${what}, and \`bash ${script}\` could not provide them (it installs Debian packages: run it as root or with sudo):\n${(err.stderr ?? err.message).trim()}`);
  }
}

/**
 * Jest globalSetup of every project, so that `npm test` is self-sufficient on a fresh machine, as the demo is:
 * PostgreSQL and NATS with JetStream (tools/services.sh: installs and starts what is not running), and the validators
 * the tests check Skyweave's output with (tools/validators.sh: cloud-init, shellcheck, containerd, openssl, kubectl, wireguard-go,
 * wireguard-tools, iproute2, iputils-ping). Both do nothing when all is there; when they cannot install (no root, no
 * sudo), the run stops at once with the command to run, instead of failing tests one by one.
 */
export default function globalSetup(): void {
  setupScript('tools/services.sh', 'PostgreSQL (127.0.0.1:5432) and NATS with JetStream (127.0.0.1:4222)');
  setupScript('tools/validators.sh', 'the validators (cloud-init, shellcheck, containerd, openssl, kubectl, wireguard-go, wg, ip, ping, chromium)');
}
