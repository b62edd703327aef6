import { applyPatch, Operation } from 'fast-json-patch';
import { KubeApiError } from './errors';
import { Json, clone, isRecord } from './types';

/**
 * RFC 7386 JSON merge patch (`application/merge-patch+json`): objects merge recursively, `null` deletes, anything
 * else (arrays included) replaces.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return clone(patch);
  const out: Record<string, unknown> = isRecord(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * RFC 6902 JSON patch (`application/json-patch+json`) with fast-json-patch.
 * @throws KubeApiError 422 when an operation fails (a failed `test`, a missing path), as kube-apiserver answers.
 */
export function jsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw new KubeApiError(400, 'BadRequest', 'json patch must be an array of operations');
  try {
    return applyPatch(clone(target), patch as Operation[], true, false).newDocument;
  } catch (e) {
    throw new KubeApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * List fields merged by key in a strategic merge patch, and their merge keys, from the Go types' `patchStrategy:"merge"`
 * and `patchMergeKey` tags (source: "Update API Objects in Place Using kubectl patch",
 * https://kubernetes.io/docs/tasks/manage-kubernetes-objects/update-api-object-kubectl-patch/, and the API reference's
 * "Patch strategy: merge on key" notes). `ports` is keyed by `containerPort` in containers and by `port` in services.
 */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name', initContainers: 'name', ephemeralContainers: 'name', env: 'name', volumes: 'name', volumeMounts: 'mountPath',
  volumeDevices: 'devicePath', imagePullSecrets: 'name', hostAliases: 'ip', conditions: 'type', ownerReferences: 'uid',
  addresses: 'type', topologySpreadConstraints: 'topologyKey', resourceClaims: 'name', schedulingGates: 'name',
};
/** Lists of scalars merged as sets (`patchStrategy:"merge"` on []string). */
const MERGED_SCALAR_LISTS = new Set(['finalizers']);

const mergeKeyOf = (field: string, items: unknown[]): string | undefined => {
  if (field === 'ports') return items.some((i) => isRecord(i) && 'containerPort' in i) ? 'containerPort' : 'port';
  return MERGE_KEYS[field];
};

/** Drops `$patch`, `$retainKeys` and other directives from a value being inserted. */
function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((i) => !(isRecord(i) && i['$patch'] === 'replace' && Object.keys(i).length === 1)).map(stripDirectives);
  if (!isRecord(v)) return v;
  return Object.fromEntries(Object.entries(v).filter(([k, x]) => !k.startsWith('$') && x !== null).map(([k, x]) => [k, stripDirectives(x)]));
}

function mergeList(field: string, original: unknown[], patch: unknown[]): unknown[] {
  if (patch.some((i) => isRecord(i) && i['$patch'] === 'replace')) return stripDirectives(patch) as unknown[];
  if (MERGED_SCALAR_LISTS.has(field)) return [...original, ...patch.filter((p) => !original.includes(p))];
  const key = mergeKeyOf(field, [...original, ...patch]);
  if (!key) return stripDirectives(patch) as unknown[];
  const out = original.map((o) => clone(o));
  for (const item of patch) {
    if (!isRecord(item)) continue;
    const at = out.findIndex((o) => isRecord(o) && o[key] === item[key]);
    if (item['$patch'] === 'delete') {
      if (at >= 0) out.splice(at, 1);
    } else if (at >= 0) out[at] = strategicMerge(out[at], item);
    else out.push(stripDirectives(item));
  }
  return out;
}

/**
 * Strategic merge patch (`application/strategic-merge-patch+json`) for built-in kinds, as far as kubectl's
 * apply/cordon/drain/scale/set/label/annotate send it: maps merge, `null` deletes, lists listed in MERGE_KEYS merge by
 * key (`$patch: delete` removes an element, `$patch: replace` replaces the list or map), `$setElementOrder/<list>`
 * orders a merged list, `$deleteFromPrimitiveList/<list>` removes scalars, `$retainKeys` drops unlisted keys; any other
 * list is replaced (source: "Strategic Merge Patch" design, kubernetes/community
 * contributors/devel/sig-api-machinery/strategic-merge-patch.md).
 */
export function strategicMerge(original: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return clone(patch);
  if (patch['$patch'] === 'replace') return stripDirectives(patch);
  if (patch['$patch'] === 'delete') return undefined;
  const out: Record<string, unknown> = isRecord(original) ? clone(original) : {};
  if (Array.isArray(patch['$retainKeys'])) {
    const keep = new Set(patch['$retainKeys'] as string[]);
    for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k];
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[field]) && Array.isArray(v)) out[field] = (out[field] as unknown[]).filter((x) => !v.includes(x));
      continue;
    }
    if (v === null) delete out[k];
    else if (Array.isArray(v)) out[k] = mergeList(k, Array.isArray(out[k]) ? (out[k] as unknown[]) : [], v);
    else if (isRecord(v)) {
      const merged = strategicMerge(out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else out[k] = v;
  }
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith('$setElementOrder/') || !Array.isArray(order)) continue;
    const field = k.slice('$setElementOrder/'.length);
    const list = out[field];
    if (!Array.isArray(list)) continue;
    const key = mergeKeyOf(field, list);
    const rank = (item: unknown) => {
      const i = order.findIndex((o) => (key && isRecord(o) && isRecord(item) ? o[key] === item[key] : o === item));
      return i < 0 ? order.length : i;
    };
    out[field] = list.map((item, i) => ({ item, i })).sort((a, b) => rank(a.item) - rank(b.item) || a.i - b.i).map((x) => x.item);
  }
  return out;
}

/** Parses a JSON body. @throws KubeApiError 400 on invalid JSON. */
export function parseJson(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw new KubeApiError(400, 'BadRequest', `error decoding body: ${(e as Error).message}`);
  }
}
