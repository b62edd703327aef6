import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { CLOUDS, Cloud } from './credentials';
import { CliError, ExitCode } from './errors';

/** The body of `POST /v1/clusters` (and of `POST /v1/clusters/plan`). */
export interface ClusterRequest {
  name?: string;
  region?: string;
  clouds?: Cloud[];
  controlPlane?: { cloud: Cloud; count: number; instanceType?: string };
  workers?: { cloud: Cloud; count: number; instanceType?: string }[];
  kubernetesVersion?: string;
  mesh?: string;
}

/** Flags of `cluster plan|create`. */
export interface ClusterFlags {
  file?: string;
  name?: string;
  region?: string;
  clouds?: string;
  controlPlane?: string;
  worker?: string[];
  kubernetesVersion?: string;
  mesh?: string;
}

const usage = (m: string) => new CliError(m, ExitCode.Usage);

function cloudOf(v: string, what: string): Cloud {
  if (!CLOUDS.includes(v as Cloud)) throw usage(`${what}: ${v} is not a cloud (${CLOUDS.join(', ')})`);
  return v as Cloud;
}

/** `aws`, `aws:3`, `gcp:2:e2-standard-4` → a group of nodes; `defaultCount` when no count is given. */
export function parseGroup(v: string, what: string, defaultCount: number): { cloud: Cloud; count: number; instanceType?: string } {
  const [cloud, count, ...type] = v.split(':');
  const n = count === undefined || count === '' ? defaultCount : Number(count);
  if (!Number.isInteger(n) || n < 1) throw usage(`${what}: the count in ${v} must be a whole number of nodes (cloud[:count[:instance-type]])`);
  const instanceType = type.join(':');
  return { cloud: cloudOf(cloud, what), count: n, ...(instanceType ? { instanceType } : {}) };
}

/** Reads `-f` (YAML or JSON; `-` is stdin). @throws CliError when it is not a mapping. */
export function readClusterFile(file: string, stdin: () => string = () => readFileSync(0, 'utf8')): ClusterRequest {
  let text: string;
  try {
    text = file === '-' ? stdin() : readFileSync(file, 'utf8');
  } catch (e) {
    throw usage(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw usage(`${file} is not YAML or JSON: ${(e as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw usage(`${file} must describe one cluster (name, region, clouds, controlPlane, workers)`);
  return doc as ClusterRequest;
}

/**
 * The cluster request from `-f` and flags (flags win). `clouds` defaults to the clouds the control plane and workers
 * name, in that order. The API validates the rest (region, counts, instance types, versions) and names each broken rule.
 */
export function clusterRequest(f: ClusterFlags, stdin?: () => string): ClusterRequest {
  const body: ClusterRequest = f.file ? readClusterFile(f.file, stdin) : {};
  if (f.name) body.name = f.name;
  if (f.region) body.region = f.region;
  if (f.controlPlane) body.controlPlane = parseGroup(f.controlPlane, '--control-plane', 1);
  if (f.worker?.length) body.workers = f.worker.map((w) => parseGroup(w, '--worker', 1));
  if (f.clouds) body.clouds = f.clouds.split(',').map((c) => cloudOf(c.trim(), '--clouds'));
  if (f.kubernetesVersion) body.kubernetesVersion = f.kubernetesVersion;
  if (f.mesh) body.mesh = f.mesh;
  body.workers ??= [];
  if (!body.clouds) {
    const named = [body.controlPlane?.cloud, ...body.workers.map((w) => w.cloud)].filter((c): c is Cloud => Boolean(c));
    body.clouds = [...new Set(named)];
  }
  const missing = [!body.name && '--name', !body.region && '--region', !body.controlPlane && '--control-plane'].filter(Boolean);
  if (missing.length) throw usage(`a cluster needs ${missing.join(', ')} (or -f cluster.yaml)`);
  return body;
}
