import { createHash } from 'node:crypto';
import { ResourceRegistry, ResourceType } from './resources';

/**
 * A minimal OpenAPI v3 (source: "Kubernetes API", https://kubernetes.io/docs/concepts/overview/kubernetes-api/#openapi-v3,
 * and kubectl's cli-runtime query_param_verifier_v3.go). `/openapi/v3` lists one document per group-version; each
 * document names every object path with its PATCH operation's `x-kubernetes-group-version-kind` and the operation's
 * `fieldValidation` query parameter. That is what kubectl 1.32 reads to decide that the server validates fields itself
 * (so `kubectl apply`/`create` with the default `--validate=strict` send `fieldValidation=Strict` instead of downloading
 * the protobuf /openapi/v2 schema). No component schemas are served: `kubectl explain` has nothing to show, and
 * because the PATCH operations do not list `application/strategic-merge-patch+json`, `kubectl apply` computes its
 * strategic merge patches from its compiled-in types (built-in kinds) or sends JSON merge patches (custom resources),
 * exactly as it does against a server without OpenAPI v3.
 */
export function openApiDiscovery(registry: ResourceRegistry): { paths: Record<string, { serverRelativeURL: string }> } {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of groupVersions(registry)) {
    const doc = openApiDocument(registry, gv);
    const hash = createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 128).toUpperCase();
    paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${hash}` };
  }
  return { paths };
}

/** `api/v1`, `apis/apps/v1` … */
function groupVersions(registry: ResourceRegistry): string[] {
  return [...new Set(registry.all().map((t) => (t.group ? `apis/${t.group}/${t.version}` : `api/${t.version}`)))];
}

const PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((name) => ({ name, in: 'query', schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true } }));

function pathsOf(t: ResourceType): Record<string, unknown> {
  const gvk = { group: t.group, version: t.version, kind: t.kind };
  const prefix = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
  const base = t.namespaced ? `${prefix}/namespaces/{namespace}/${t.resource}/{name}` : `${prefix}/${t.resource}/{name}`;
  const json = { schema: { type: 'object' } };
  const patch = {
    operationId: `patch${t.kind}`, 'x-kubernetes-action': 'patch', parameters: PARAMS, 'x-kubernetes-group-version-kind': gvk,
    requestBody: { content: { 'application/json-patch+json': json, 'application/merge-patch+json': json, 'application/apply-patch+yaml': json }, required: true },
    responses: { '200': { description: 'OK', content: { 'application/json': json } } },
  };
  return { [base]: { parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string', uniqueItems: true } }], patch } };
}

/** The document for one group-version (`api/v1`, `apis/apps/v1`), or undefined when none is served. */
export function openApiDocument(registry: ResourceRegistry, gv: string): Record<string, unknown> | undefined {
  const types = registry.all().filter((t) => (t.group ? `apis/${t.group}/${t.version}` : `api/${t.version}`) === gv);
  if (!types.length) return undefined;
  return {
    openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths: Object.assign({}, ...types.map(pathsOf)) as Record<string, unknown>,
    components: { schemas: {} },
  };
}
