import { KubeObject, isRecord } from './types';

/** A column of the server-side table for a kind (source: "API Concepts", "Receiving resources as Tables"). */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  /** 0: shown by `kubectl get`; 1: only with `-o wide`. */
  priority: number;
  description: string;
  format?: string;
  /** For custom resources: `additionalPrinterColumns[].jsonPath` (simple `.a.b` paths). */
  jsonPath?: string;
}

/**
 * A resource type served by the API: what discovery (`APIResourceList`) lists and what the handlers need. Built-in
 * types mirror kube-apiserver 1.32's (names, kinds, short names, verbs, subresources, field selectors: source:
 * Kubernetes API reference, https://kubernetes.io/docs/reference/kubernetes-api/); custom ones come from CRDs.
 */
export interface ResourceType {
  group: string;
  version: string;
  /** Plural, lower case (`pods`). */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** `status`, `scale`, `binding`, `eviction` (pods) … */
  subresources: string[];
  /** Field selector labels the kind supports beyond `metadata.name` and `metadata.namespace`. */
  fieldLabels: string[];
  /** Custom resource (from a CRD): only JSON merge patch and json-patch, no strategic merge patch. */
  custom: boolean;
  /** Extra table columns for CRDs (`additionalPrinterColumns`). */
  printerColumns?: PrinterColumn[];
}

/** `apiVersion` of a type: `v1` or `apps/v1`. */
export const apiVersionOf = (t: { group: string; version: string }): string => (t.group ? `${t.group}/${t.version}` : t.version);

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** Verbs of a resource or subresource entry in discovery. */
export function verbsOf(sub?: string): string[] {
  switch (sub) {
    case undefined: return VERBS;
    case 'binding': case 'eviction': return ['create'];
    case 'log': return ['get'];
    default: return ['get', 'patch', 'update'];
  }
}

function builtin(group: string, version: string, resource: string, kind: string, o: Partial<ResourceType> = {}): ResourceType {
  return {
    group, version, resource, kind, singular: kind.toLowerCase(), namespaced: true, shortNames: [], categories: [], subresources: [], fieldLabels: [], custom: false, ...o,
  };
}

const POD_FIELDS = ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'];
const EVENT_FIELDS = ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'];

/** The built-in types this server serves (kube-apiserver's names). */
export const BUILTIN_TYPES: readonly ResourceType[] = [
  builtin('', 'v1', 'namespaces', 'Namespace', { namespaced: false, shortNames: ['ns'], subresources: ['status', 'finalize'], fieldLabels: ['status.phase'] }),
  builtin('', 'v1', 'nodes', 'Node', { namespaced: false, shortNames: ['no'], subresources: ['status'], fieldLabels: ['spec.unschedulable'] }),
  builtin('', 'v1', 'pods', 'Pod', { shortNames: ['po'], categories: ['all'], subresources: ['status', 'binding', 'eviction', 'log'], fieldLabels: POD_FIELDS }),
  builtin('', 'v1', 'services', 'Service', { shortNames: ['svc'], categories: ['all'], subresources: ['status'] }),
  builtin('', 'v1', 'endpoints', 'Endpoints', { shortNames: ['ep'], singular: 'endpoints' }),
  builtin('', 'v1', 'configmaps', 'ConfigMap', { shortNames: ['cm'] }),
  builtin('', 'v1', 'secrets', 'Secret', { fieldLabels: ['type'] }),
  builtin('', 'v1', 'serviceaccounts', 'ServiceAccount', { shortNames: ['sa'] }),
  builtin('', 'v1', 'events', 'Event', { shortNames: ['ev'], fieldLabels: EVENT_FIELDS }),
  builtin('apps', 'v1', 'deployments', 'Deployment', { shortNames: ['deploy'], categories: ['all'], subresources: ['status', 'scale'] }),
  builtin('apps', 'v1', 'replicasets', 'ReplicaSet', { shortNames: ['rs'], categories: ['all'], subresources: ['status', 'scale'] }),
  builtin('apps', 'v1', 'daemonsets', 'DaemonSet', { shortNames: ['ds'], categories: ['all'], subresources: ['status'] }),
  builtin('apps', 'v1', 'statefulsets', 'StatefulSet', { shortNames: ['sts'], categories: ['all'], subresources: ['status', 'scale'] }),
  builtin('events.k8s.io', 'v1', 'events', 'Event', { shortNames: ['ev'], fieldLabels: EVENT_FIELDS }),
  builtin('coordination.k8s.io', 'v1', 'leases', 'Lease'),
  builtin('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice', { fieldLabels: ['addressType'] }),
  builtin('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', { namespaced: false }),
  builtin('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', { namespaced: false }),
  builtin('rbac.authorization.k8s.io', 'v1', 'roles', 'Role'),
  builtin('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding'),
  builtin('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', { shortNames: ['pdb'], subresources: ['status'] }),
  builtin('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', { namespaced: false, shortNames: ['crd', 'crds'], categories: ['api-extensions'], subresources: ['status'] }),
];

/** The CRD type itself (the server watches writes to it to add and remove custom types). */
export const CRD_TYPE = BUILTIN_TYPES.find((t) => t.resource === 'customresourcedefinitions')!;

/** Discovery entries of subresources served by another group than their parent (`pods/eviction` is policy/v1 Eviction). */
export const SUBRESOURCE_KINDS: Record<string, { group: string; version: string; kind: string }> = {
  scale: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
  eviction: { group: 'policy', version: 'v1', kind: 'Eviction' },
  binding: { group: '', version: 'v1', kind: 'Binding' },
};

/**
 * The custom types a CRD (apiextensions.k8s.io/v1) declares: one per served version, with its printer columns and
 * subresources (source: "Extend the Kubernetes API with CustomResourceDefinitions").
 * @returns [] when the CRD lacks group, names or versions (it is then stored but serves nothing).
 */
export function typesOfCrd(crd: KubeObject): ResourceType[] {
  const spec = isRecord(crd['spec']) ? crd['spec'] : {};
  const names = isRecord(spec['names']) ? spec['names'] : {};
  const group = typeof spec['group'] === 'string' ? spec['group'] : '';
  const plural = typeof names['plural'] === 'string' ? names['plural'] : '';
  const kind = typeof names['kind'] === 'string' ? names['kind'] : '';
  if (!group || !plural || !kind || !Array.isArray(spec['versions'])) return [];
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
  return spec['versions'].filter(isRecord).filter((v) => v['served'] !== false && typeof v['name'] === 'string').map((v) => {
    const subs = isRecord(v['subresources']) ? v['subresources'] : {};
    const columns = Array.isArray(v['additionalPrinterColumns']) ? v['additionalPrinterColumns'].filter(isRecord) : [];
    return {
      group, version: v['name'] as string, resource: plural, kind,
      singular: typeof names['singular'] === 'string' ? names['singular'] : kind.toLowerCase(),
      namespaced: spec['scope'] !== 'Cluster', shortNames: strings(names['shortNames']), categories: strings(names['categories']),
      subresources: [...(isRecord(subs['status']) ? ['status'] : []), ...(isRecord(subs['scale']) ? ['scale'] : [])],
      fieldLabels: [], custom: true,
      printerColumns: columns.map((c) => ({
        name: String(c['name']), type: (['integer', 'number', 'boolean', 'date'].includes(String(c['type'])) ? c['type'] : 'string') as PrinterColumn['type'],
        priority: typeof c['priority'] === 'number' ? c['priority'] : 0, description: typeof c['description'] === 'string' ? c['description'] : '', jsonPath: String(c['jsonPath'] ?? ''),
      })),
    };
  });
}

/** Built-in and custom types, looked up by group/version/resource. */
export class ResourceRegistry {
  private custom = new Map<string, ResourceType[]>();

  /** Every type, built-in first. */
  all(): ResourceType[] {
    return [...BUILTIN_TYPES, ...[...this.custom.values()].flat()];
  }

  find(group: string, version: string, resource: string): ResourceType | undefined {
    return this.all().find((t) => t.group === group && t.version === version && t.resource === resource);
  }

  /** Groups and their versions, in discovery order (core excluded). */
  groups(): { name: string; versions: string[] }[] {
    const out = new Map<string, string[]>();
    for (const t of this.all()) {
      if (!t.group) continue;
      const vs = out.get(t.group) ?? [];
      if (!vs.includes(t.version)) vs.push(t.version);
      out.set(t.group, vs);
    }
    return [...out].map(([name, versions]) => ({ name, versions }));
  }

  /** Adds or replaces the types a CRD declares (keyed by the CRD's name). */
  setCrd(crd: KubeObject): void {
    const types = typesOfCrd(crd);
    if (types.length) this.custom.set(crd.metadata.name ?? '', types);
    else this.custom.delete(crd.metadata.name ?? '');
  }

  removeCrd(name: string): void {
    this.custom.delete(name);
  }
}
