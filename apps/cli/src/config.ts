import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { CliError, ExitCode } from './errors';

/** What `skyweave login` stores. */
export interface CliConfig {
  apiUrl?: string;
  apiKey?: string;
}

/** Where the configuration lives: `$SKYWEAVE_CONFIG`, else `$XDG_CONFIG_HOME/skyweave/config.yaml` (default `~/.config`). */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SKYWEAVE_CONFIG) return path.resolve(env.SKYWEAVE_CONFIG);
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(env.HOME || homedir(), '.config');
  return path.join(base, 'skyweave', 'config.yaml');
}

/**
 * Reads the configuration file; `{}` when there is none.
 * @param warn told when the file can be read by others (it holds an API key)
 * @throws CliError when the file is not YAML of the expected shape
 */
export function readConfig(file: string = configPath(), warn: (m: string) => void = () => undefined): CliConfig {
  if (!existsSync(file)) return {};
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) warn(`${file} can be read by other users; it holds an API key: chmod 600 ${file}`);
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CliError(`${file} is not valid YAML: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new CliError(`${file} must be a YAML mapping (apiUrl, apiKey)`);
  const d = doc as Record<string, unknown>;
  return { ...(typeof d.apiUrl === 'string' ? { apiUrl: d.apiUrl } : {}), ...(typeof d.apiKey === 'string' ? { apiKey: d.apiKey } : {}) };
}

/**
 * Writes the configuration: the folder is created 0700, the file written 0600 beside it and renamed over the old one
 * (a reader never sees half a file, and the key is never readable by others, not even for a moment).
 */
export function writeConfig(config: CliConfig, file: string = configPath()): void {
  const dir = path.dirname(file);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  // our own folder (…/skyweave) is kept private; a folder named by SKYWEAVE_CONFIG elsewhere is left as it is
  if (path.basename(dir) === 'skyweave') chmodSync(dir, 0o700);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, stringify(config), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** The API to talk to: environment (`SKYWEAVE_API_URL`, `SKYWEAVE_API_KEY`) over the file. */
export interface Target { apiUrl: string; apiKey: string }

/**
 * The API URL and key to use. @throws CliError exit 3 when either is missing (not logged in).
 */
export function resolveTarget(env: NodeJS.ProcessEnv = process.env, warn?: (m: string) => void): Target {
  const file = readConfig(configPath(env), warn);
  const apiUrl = env.SKYWEAVE_API_URL || file.apiUrl;
  const apiKey = env.SKYWEAVE_API_KEY || file.apiKey;
  if (!apiUrl || !apiKey) {
    throw new CliError('not logged in: run `skyweave login --url <API URL>` (or set SKYWEAVE_API_URL and SKYWEAVE_API_KEY)', ExitCode.Auth);
  }
  return { apiUrl: normaliseApiUrl(apiUrl), apiKey };
}

/** `http://host:8080/v1/` → `http://host:8080`. @throws CliError exit 2 when it is not an http(s) URL. */
export function normaliseApiUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CliError(`${url} is not a URL (e.g. https://skyweave.example.com)`, ExitCode.Usage);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CliError(`${url}: the API URL must be http:// or https://`, ExitCode.Usage);
  return `${u.origin}${u.pathname.replace(/\/+$/, '').replace(/\/v1$/, '')}`;
}
