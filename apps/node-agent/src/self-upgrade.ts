import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, createWriteStream, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { AgentApi } from '@skyweave/contracts';

/** What the running agent knows about itself: the bundle file it was started from and the version it computed. */
export interface AgentSelf {
  /**
   * The agent bundle this process runs (the package's `lib/node-agent.js`, or the sandbox VM's copy of it), resolved
   * through symlinks; absent when the agent does not run from a single-file bundle (from source): then it reports no
   * version and installs nothing.
   */
  path?: string;
  /** `<release>-<12 hex of the bundle's SHA-256>` (see agentVersionOf); absent with `path`. */
  version?: string;
}

/** How long a download may wait for an answer or for data, ms. */
const DOWNLOAD_TIMEOUT_MS = 120_000;

/** SHA-256 of a file, 64 lower-case hex digits. */
export function sha256OfFile(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * The version of an agent bundle, as tools/agent-package.js names a manifest's version: `<release>-<first 12 hex
 * digits of the bundle's SHA-256>`, e.g. `0.1.0-1a2b3c4d5e6f`. `release` is the repository's package.json version,
 * put into the bundle by tools/build.js. The agent computes it from its own file, so a bundle swapped under it
 * reports the new version as soon as it is started again — nothing to keep in step by hand.
 */
export function agentVersionOf(file: string, release: string): string {
  return `${release}-${sha256OfFile(file).slice(0, 12)}`;
}

/** GETs `url` into `file` (created 0600), hashing on the way. @returns SHA-256 (hex) and size in bytes. @throws on a non-2xx answer, more bytes than `maxBytes`, a transport error or the timeout. */
export function downloadTo(url: string, file: string, maxBytes: number, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const hash = createHash('sha256');
    let bytes = 0;
    const req = mod.get(u, { timeout: DOWNLOAD_TIMEOUT_MS, ...(signal ? { signal } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        res.resume();
        reject(new Error(`GET ${url}: HTTP ${status}`));
        return;
      }
      const out = createWriteStream(file, { mode: 0o600 });
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          res.destroy(new Error(`GET ${url}: more than the ${maxBytes} bytes the manifest lists`));
          return;
        }
        hash.update(chunk);
      });
      res.on('error', (e) => { out.destroy(); reject(e); });
      out.on('error', reject);
      out.on('finish', () => resolve({ sha256: hash.digest('hex'), bytes }));
      res.pipe(out);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${DOWNLOAD_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
  });
}

/**
 * Replaces `target` by `source` atomically: `source` (in the same folder, so on the same file system) is flushed to
 * disk (fsync), given `target`'s mode, then renamed over `target`, and the folder is flushed so the rename survives a
 * power loss. A crash at any point leaves either the old file or the new one at `target`, never a part of one.
 */
export function installAtomically(source: string, target: string): void {
  const fd = openSync(source, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(source, statSync(target).mode & 0o7777);
  renameSync(source, target);
  const dir = openSync(path.dirname(target), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** What an `upgrade-agent` run decided: the result to report, and whether the agent must restart on a new bundle. */
export interface AgentUpgradeOutcome {
  result: AgentApi.OperationResult;
  /** True when the bundle on disk is now another version than the one this process runs: exit AGENT_RESTART_EXIT_CODE after reporting. */
  restart: boolean;
}

/**
 * Runs an `upgrade-agent` operation (AgentApi.NodeOperation.agentPackage): downloads the bundle from its URL (a path
 * is resolved against `apiUrl`), into a temporary file beside the agent's own bundle; checks its size and SHA-256
 * against the operation's; installs it with installAtomically over `self.path`. Idempotent: when the bundle on disk
 * already has that SHA-256 (a run that died after the rename, or a repeated operation), nothing is downloaded.
 * @returns Succeeded with `agentVersion` (and `restart` when this process still runs another version), or Failed with
 *   why — a malformed operation, an agent not running from a bundle, the download's error, or `sha256 mismatch`
 *   naming both digests — in which cases the installed bundle is unchanged (the temporary file is removed). Never rejects.
 */
export async function runAgentUpgrade(op: AgentApi.NodeOperation, self: AgentSelf, apiUrl: string, signal?: AbortSignal): Promise<AgentUpgradeOutcome> {
  const fail = (message: string): AgentUpgradeOutcome => ({ result: { state: 'Failed', message: `upgrade-agent: ${message}` }, restart: false });
  const pkg = op.agentPackage;
  if (!pkg || typeof pkg.url !== 'string' || typeof pkg.version !== 'string' || !AgentApi.AGENT_VERSION_PATTERN.test(pkg.version)) return fail('no valid agentPackage (version, url) in the operation; nothing was installed');
  if (typeof pkg.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(pkg.sha256)) return fail(`agentPackage.sha256 ${JSON.stringify(pkg.sha256)} is not 64 lower-case hex digits; nothing was installed`);
  if (!Number.isSafeInteger(pkg.bytes) || pkg.bytes <= 0) return fail(`agentPackage.bytes ${JSON.stringify(pkg.bytes)} is not a positive integer; nothing was installed`);
  if (!self.path) return fail('this agent does not run from a single-file bundle (started from source?), so it has nothing to replace; nothing was installed');
  const target = self.path;
  const restart = self.version !== pkg.version;
  try {
    if (sha256OfFile(target) === pkg.sha256) {
      return { result: { state: 'Succeeded', message: `${target} already is ${pkg.version} (SHA-256 ${pkg.sha256})`, agentVersion: pkg.version }, restart };
    }
  } catch (e) {
    return fail(`cannot read the installed bundle ${target}: ${(e as Error).message}`);
  }
  const url = pkg.url.startsWith('/') ? `${apiUrl.replace(/\/+$/, '')}${pkg.url}` : pkg.url;
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.download`);
  try {
    const got = await downloadTo(url, temp, pkg.bytes, signal);
    if (got.sha256 !== pkg.sha256 || got.bytes !== pkg.bytes) {
      return fail(`sha256 mismatch for ${url}: expected ${pkg.sha256} (${pkg.bytes} bytes), got ${got.sha256} (${got.bytes} bytes); the installed agent ${self.version ?? ''} is unchanged`);
    }
    installAtomically(temp, target);
  } catch (e) {
    return fail(`${(e as Error).message}; the installed agent is unchanged`);
  } finally {
    rmSync(temp, { force: true });
  }
  return { result: { state: 'Succeeded', message: `installed ${pkg.version} (SHA-256 ${pkg.sha256}) at ${target}; restarting on it`, agentVersion: pkg.version }, restart: true };
}
