import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { CliError } from './errors';

interface Named { name: string; [k: string]: unknown }
/** A kubeconfig, as far as merging needs it. */
export interface KubeConfigDoc { apiVersion?: string; kind?: string; clusters?: Named[]; users?: Named[]; contexts?: Named[]; 'current-context'?: string; preferences?: unknown; [k: string]: unknown }

/** The kubeconfig kubectl would write to: the first file of `$KUBECONFIG`, else `~/.kube/config`. */
export function defaultKubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const first = (env.KUBECONFIG ?? '').split(path.delimiter).find(Boolean);
  return first ? path.resolve(first) : path.join(env.HOME || homedir(), '.kube', 'config');
}

/**
 * The cluster's kubeconfig with its cluster, user and context all named `name` (so that two installations' clusters
 * of the same name, or a re-created cluster, never mix entries). @throws CliError when it is not a kubeconfig.
 */
export function renamed(kubeconfigYaml: string, name: string): KubeConfigDoc {
  const doc = parse(kubeconfigYaml) as KubeConfigDoc;
  const ctx = doc?.contexts?.[0]?.context as { cluster?: string; user?: string } | undefined;
  const cluster = doc?.clusters?.find((c) => c.name === ctx?.cluster);
  const user = doc?.users?.find((u) => u.name === ctx?.user);
  if (!cluster || !user) throw new CliError('the API answered with a kubeconfig without a context, cluster and user');
  return {
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ ...cluster, name }], users: [{ ...user, name }], contexts: [{ name, context: { ...ctx, cluster: name, user: name } }],
    'current-context': name, preferences: {},
  };
}

/**
 * Merges `add` (one cluster, user and context) into `base`: entries of the same name are replaced, the others kept in
 * place; `current-context` becomes the new context when `use` (else it stays, or is set when there was none).
 */
export function mergeKubeconfig(base: KubeConfigDoc | null | undefined, add: KubeConfigDoc, use: boolean): KubeConfigDoc {
  const out: KubeConfigDoc = { apiVersion: 'v1', kind: 'Config', preferences: {}, ...(base ?? {}) };
  for (const key of ['clusters', 'users', 'contexts'] as const) {
    const list = [...(out[key] ?? [])];
    for (const e of add[key] ?? []) {
      const i = list.findIndex((x) => x.name === e.name);
      if (i >= 0) list[i] = e;
      else list.push(e);
    }
    out[key] = list;
  }
  if (use || !out['current-context']) out['current-context'] = add['current-context'];
  return out;
}

/** Reads a kubeconfig file (null when there is none). @throws CliError when it is not YAML. */
export function readKubeconfig(file: string): KubeConfigDoc | null {
  if (!existsSync(file)) return null;
  try {
    return (parse(readFileSync(file, 'utf8')) as KubeConfigDoc | null) ?? null;
  } catch (e) {
    throw new CliError(`${file} is not a valid kubeconfig: ${(e as Error).message}`);
  }
}

/** Writes a kubeconfig 0600 (it holds the cluster's admin key), replacing the file in one rename. */
export function writeKubeconfig(file: string, doc: KubeConfigDoc): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, stringify(doc), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
