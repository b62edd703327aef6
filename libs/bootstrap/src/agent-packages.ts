import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AGENT_ARCHITECTURES, AgentArchitecture } from './install-script';
import type { AgentPackage } from './user-data';

/** One architecture's package in the manifest tools/agent-package.js writes. */
export interface AgentPackageFile {
  /** Path relative to the packages folder and to the base URL: `<version>/skyweave-node-agent-<version>-linux-<arch>.tar.gz`. */
  file: string;
  /** SHA-256 of the file, 64 lower-case hex digits. */
  sha256: string;
  /** Size in bytes. */
  bytes: number;
}

/** `dist/agent-packages/manifest.json` (tools/agent-package.js): the packages of one agent version. */
export interface AgentPackageManifest {
  /** `<package.json version>-<12 hex of the agent bundle's SHA-256>`. */
  version: string;
  /** The Node.js version shipped in the packages (`v20.20.2`). */
  node: string;
  packages: Partial<Record<AgentArchitecture, AgentPackageFile>>;
  /**
   * The agent bundle alone (`<version>/skyweave-node-agent-<version>.js`, the same file as the packages'
   * `lib/node-agent.js`): what a running agent downloads to upgrade itself (its runtime stays). Absent from manifests
   * written before agent upgrades: then no agent upgrade is rolled out.
   */
  agent?: AgentPackageFile;
}

/** Environment variable naming the folder that holds manifest.json and the packages (api-gateway serves it, node-provisioner reads the manifest). */
export const AGENT_PACKAGES_DIR_ENV = 'SKYWEAVE_AGENT_PACKAGES_DIR';
/** Environment variable: where VMs download packages from, when not the gateway's `/v1/agent-packages` (a CDN or bucket holding the same files). */
export const AGENT_PACKAGE_BASE_URL_ENV = 'SKYWEAVE_AGENT_PACKAGE_BASE_URL';
/** The gateway's route prefix of the packages (`GET /v1/agent-packages/<file>`). */
export const AGENT_PACKAGES_ROUTE = '/v1/agent-packages';

const FILE_RE = /^[0-9A-Za-z.+-]+\/skyweave-node-agent-[0-9A-Za-z.+-]+-linux-(amd64|arm64)\.tar\.gz$/;
const BUNDLE_RE = /^[0-9A-Za-z.+-]+\/skyweave-node-agent-[0-9A-Za-z.+-]+\.js$/;

/** Checks one file entry's checksum and size. @throws Error naming `where`. */
function checkFile(where: string, f: Partial<AgentPackageFile>): AgentPackageFile {
  if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) throw new Error(`agent package manifest: ${where}.sha256 must be 64 lower-case hex digits`);
  if (typeof f.bytes !== 'number' || !Number.isSafeInteger(f.bytes) || f.bytes <= 0) throw new Error(`agent package manifest: ${where}.bytes must be a positive integer`);
  return { file: f.file as string, sha256: f.sha256, bytes: f.bytes };
}

/**
 * Parses and checks a manifest's text.
 * @throws Error naming the field when it is not a manifest tools/agent-package.js could have written (a file path
 *   outside the version folder, a checksum that is not 64 hex digits …): a VM must never be sent a bad URL or checksum.
 */
export function parseAgentPackageManifest(text: string): AgentPackageManifest {
  const m = JSON.parse(text) as Partial<AgentPackageManifest> | null;
  if (!m || typeof m !== 'object') throw new Error('agent package manifest: not a JSON object');
  if (typeof m.version !== 'string' || !/^[0-9A-Za-z.+-]+$/.test(m.version)) throw new Error('agent package manifest: version must be [0-9A-Za-z.+-]+');
  if (typeof m.node !== 'string') throw new Error('agent package manifest: node must be a string');
  if (!m.packages || typeof m.packages !== 'object') throw new Error('agent package manifest: packages must be an object');
  const packages: Partial<Record<AgentArchitecture, AgentPackageFile>> = {};
  for (const [arch, p] of Object.entries(m.packages)) {
    if (!(AGENT_ARCHITECTURES as readonly string[]).includes(arch)) throw new Error(`agent package manifest: packages.${arch}: not one of ${AGENT_ARCHITECTURES.join(', ')}`);
    const f = p as Partial<AgentPackageFile>;
    const match = typeof f.file === 'string' ? FILE_RE.exec(f.file) : null;
    if (!match || match[1] !== arch || !f.file?.startsWith(`${m.version}/`)) throw new Error(`agent package manifest: packages.${arch}.file must be ${m.version}/skyweave-node-agent-…-linux-${arch}.tar.gz`);
    packages[arch as AgentArchitecture] = checkFile(`packages.${arch}`, f);
  }
  if (m.agent === undefined) return { version: m.version, node: m.node, packages };
  const a = (m.agent ?? {}) as Partial<AgentPackageFile>;
  if (typeof a.file !== 'string' || !BUNDLE_RE.test(a.file) || a.file !== `${m.version}/skyweave-node-agent-${m.version}.js`) {
    throw new Error(`agent package manifest: agent.file must be ${m.version}/skyweave-node-agent-${m.version}.js`);
  }
  return { version: m.version, node: m.node, packages, agent: checkFile('agent', a) };
}

/** Every file a manifest lists (each architecture's package, then the agent bundle). */
export function manifestFiles(manifest: AgentPackageManifest): AgentPackageFile[] {
  return [...Object.values(manifest.packages), ...(manifest.agent ? [manifest.agent] : [])];
}

/**
 * The bundle an `upgrade-agent` operation installs (AgentApi.AgentBundle): the manifest's version, `agent` file's
 * SHA-256 and size, and its URL — `<baseUrl>/<file>` when a base URL (SKYWEAVE_AGENT_PACKAGE_BASE_URL) is given, else
 * the gateway's path `/v1/agent-packages/<file>`, which each agent resolves against its own API URL.
 * @returns undefined when the manifest lists no agent bundle.
 */
export function agentBundleFor(manifest: AgentPackageManifest, baseUrl?: string): { version: string; url: string; sha256: string; bytes: number } | undefined {
  const a = manifest.agent;
  if (!a) return undefined;
  const base = baseUrl ? baseUrl.replace(/\/+$/, '') : AGENT_PACKAGES_ROUTE;
  return { version: manifest.version, url: `${base}/${a.file}`, sha256: a.sha256, bytes: a.bytes };
}

/**
 * The user-data's `agentPackages` for a manifest: per architecture, `<baseUrl>/<file>` and its SHA-256. `baseUrl`
 * is the gateway's `<SKYWEAVE_API_URL>/v1/agent-packages` or SKYWEAVE_AGENT_PACKAGE_BASE_URL (no trailing slash needed).
 */
export function agentPackagesFor(manifest: AgentPackageManifest, baseUrl: string): Partial<Record<AgentArchitecture, AgentPackage>> {
  const base = baseUrl.replace(/\/+$/, '');
  const out: Partial<Record<AgentArchitecture, AgentPackage>> = {};
  for (const arch of AGENT_ARCHITECTURES) {
    const p = manifest.packages[arch];
    if (p) out[arch] = { url: `${base}/${p.file}`, sha256: p.sha256 };
  }
  return out;
}

/**
 * The packages of an installation, from SKYWEAVE_AGENT_PACKAGES_DIR (the folder holding manifest.json; the one read
 * of a file in this library): `undefined` when the variable is not set (VMs then get no package: only images that
 * ship node-agent, like the sandbox's, can join — the services log it at start).
 * @throws Error naming the variable when the folder has no valid manifest (a service must not start and hand VMs a
 *   URL that cannot work).
 */
export function agentPackagesFromEnv(env: NodeJS.ProcessEnv = process.env): { dir: string; manifest: AgentPackageManifest } | undefined {
  const dir = env[AGENT_PACKAGES_DIR_ENV];
  if (!dir) return undefined;
  try {
    return { dir: path.resolve(dir), manifest: parseAgentPackageManifest(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) };
  } catch (e) {
    throw new Error(`${AGENT_PACKAGES_DIR_ENV}=${dir}: ${(e as Error).message} (build the packages with npm run build:agent-packages)`);
  }
}
