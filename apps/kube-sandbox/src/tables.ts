import { PrinterColumn, ResourceType } from './resources';
import { KubeObject, isRecord } from './types';

/**
 * Server-side tables (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, what `kubectl get` asks for; source:
 * "API Concepts", https://kubernetes.io/docs/reference/using-api/api-concepts/#receiving-resources-as-tables). The
 * columns are kube-apiserver's printers' (pkg/printers/internalversion/printers.go) for the kinds kubectl users read
 * most; other kinds get Name and Age, custom resources their CRD's additionalPrinterColumns.
 */

type Cell = string | number | boolean | null;
type Row = (o: KubeObject) => Cell[];

const rec = (v: unknown): Record<string, unknown> => (isRecord(v) ? v : {});
const arr = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter(isRecord) : []);
const str = (v: unknown, fallback = '<none>'): string => (typeof v === 'string' && v !== '' ? v : fallback);
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** Age as kubectl prints it (apimachinery's duration.HumanDuration). */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  if (h < 192) return h % 24 === 0 ? `${Math.floor(h / 24)}d` : `${Math.floor(h / 24)}d${h % 24}h`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24)}d`;
  return `${Math.floor(h / 24 / 365)}y`;
}

const age = (o: KubeObject): string => (o.metadata.creationTimestamp ? humanDuration(Date.now() - Date.parse(o.metadata.creationTimestamp)) : '<unknown>');
const col = (name: string, type: PrinterColumn['type'], description: string, priority = 0, format?: string): PrinterColumn => ({ name, type, description, priority, ...(format ? { format } : {}) });
const NAME = col('Name', 'string', 'Name must be unique within a namespace.', 0, 'name');
const AGE = col('Age', 'string', 'CreationTimestamp is a timestamp representing the server time when this object was created.');

function nodeRow(o: KubeObject): Cell[] {
  const spec = rec(o['spec']);
  const status = rec(o['status']);
  const ready = arr(status['conditions']).find((c) => c['type'] === 'Ready');
  const states = [ready ? (ready['status'] === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (spec['unschedulable'] === true) states.push('SchedulingDisabled');
  const roles = Object.keys(o.metadata.labels ?? {}).filter((l) => l.startsWith('node-role.kubernetes.io/')).map((l) => l.slice('node-role.kubernetes.io/'.length)).filter(Boolean).sort();
  const info = rec(status['nodeInfo']);
  const addr = (type: string) => str(arr(status['addresses']).find((a) => a['type'] === type)?.['address']);
  return [o.metadata.name ?? '', states.join(','), roles.length ? roles.join(',') : '<none>', age(o), str(info['kubeletVersion'], ''), addr('InternalIP'), addr('ExternalIP'),
    str(info['osImage'], '<unknown>'), str(info['kernelVersion'], '<unknown>'), str(info['containerRuntimeVersion'], '<unknown>')];
}

function podRow(o: KubeObject): Cell[] {
  const spec = rec(o['spec']);
  const status = rec(o['status']);
  const statuses = arr(status['containerStatuses']);
  const total = arr(spec['containers']).length;
  const ready = statuses.filter((c) => c['ready'] === true).length;
  const restarts = statuses.reduce((n, c) => n + num(c['restartCount']), 0);
  let reason = str(status['reason'], str(status['phase'], 'Unknown'));
  for (const c of statuses) {
    const waiting = rec(rec(c['state'])['waiting']);
    if (typeof waiting['reason'] === 'string' && waiting['reason']) reason = waiting['reason'];
  }
  if (o.metadata.deletionTimestamp) reason = 'Terminating';
  const gates = arr(spec['readinessGates']);
  return [o.metadata.name ?? '', `${ready}/${total}`, reason, restarts, age(o), str(status['podIP']), str(spec['nodeName']), str(status['nominatedNodeName']),
    gates.length ? `${gates.length}` : '<none>'];
}

const containers = (o: KubeObject) => arr(rec(rec(rec(o['spec'])['template'])['spec'])['containers']);
const selectorText = (o: KubeObject): string => {
  const sel = rec(rec(o['spec'])['selector']);
  const labels = rec(sel['matchLabels']);
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length ? parts.join(',') : '<none>';
};

function deploymentRow(o: KubeObject): Cell[] {
  const status = rec(o['status']);
  const c = containers(o);
  return [o.metadata.name ?? '', `${num(status['readyReplicas'])}/${num(rec(o['spec'])['replicas'])}`, num(status['updatedReplicas']), num(status['availableReplicas']), age(o),
    c.map((x) => str(x['name'])).join(','), c.map((x) => str(x['image'])).join(','), selectorText(o)];
}

function replicaSetRow(o: KubeObject): Cell[] {
  const status = rec(o['status']);
  const c = containers(o);
  return [o.metadata.name ?? '', num(rec(o['spec'])['replicas']), num(status['replicas']), num(status['readyReplicas']), age(o),
    c.map((x) => str(x['name'])).join(','), c.map((x) => str(x['image'])).join(','), selectorText(o)];
}

function serviceRow(o: KubeObject): Cell[] {
  const spec = rec(o['spec']);
  const ports = arr(spec['ports']).map((p) => `${num(p['port'])}${p['nodePort'] ? `:${num(p['nodePort'])}` : ''}/${str(p['protocol'], 'TCP')}`);
  const selector = Object.entries(rec(spec['selector'])).map(([k, v]) => `${k}=${String(v)}`);
  const external = arr(rec(rec(o['status'])['loadBalancer'])['ingress']).map((i) => str(i['ip'], str(i['hostname'])));
  return [o.metadata.name ?? '', str(spec['type'], 'ClusterIP'), str(spec['clusterIP']), external.length ? external.join(',') : '<none>',
    ports.length ? ports.join(',') : '<none>', age(o), selector.length ? selector.join(',') : '<none>'];
}

const TABLES: Record<string, { columns: PrinterColumn[]; row: Row }> = {
  '/nodes': {
    columns: [NAME, col('Status', 'string', 'The status of the node'), col('Roles', 'string', 'The roles of the node'), AGE, col('Version', 'string', 'Kubelet Version reported by the node.'),
      col('Internal-IP', 'string', 'List of internal IPs for the node.', 1), col('External-IP', 'string', 'List of external IPs for the node.', 1),
      col('OS-Image', 'string', 'OS image reported by the node.', 1), col('Kernel-Version', 'string', 'Kernel version reported by the node.', 1),
      col('Container-Runtime', 'string', 'Container runtime and version reported by the node.', 1)],
    row: nodeRow,
  },
  '/pods': {
    columns: [NAME, col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'), col('Status', 'string', 'The aggregate status of the containers in this pod.'),
      col('Restarts', 'string', 'The number of times the containers in this pod have been restarted.'), AGE, col('IP', 'string', 'IP address allocated to the pod.', 1),
      col('Node', 'string', 'Name of the Node this pod is assigned to.', 1), col('Nominated Node', 'string', 'Name of the node nominated by the scheduler.', 1),
      col('Readiness Gates', 'string', 'Readiness gates of the pod.', 1)],
    row: podRow,
  },
  'apps/deployments': {
    columns: [NAME, col('Ready', 'string', 'Number of the pod with ready state'), col('Up-to-date', 'string', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
      col('Available', 'string', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'), AGE,
      col('Containers', 'string', 'Names of each container in the template.', 1), col('Images', 'string', 'Images referenced by each container in the template.', 1),
      col('Selector', 'string', 'Label selector for pods.', 1)],
    row: deploymentRow,
  },
  'apps/replicasets': {
    columns: [NAME, col('Desired', 'integer', 'Number of desired pods.'), col('Current', 'integer', 'Number of actual replicas observed.'), col('Ready', 'integer', 'Number of ready replicas.'), AGE,
      col('Containers', 'string', 'Names of each container in the template.', 1), col('Images', 'string', 'Images referenced by each container in the template.', 1),
      col('Selector', 'string', 'Label selector for pods.', 1)],
    row: replicaSetRow,
  },
  '/services': {
    columns: [NAME, col('Type', 'string', 'The type of the service.'), col('Cluster-IP', 'string', 'The IP address of the service.'), col('External-IP', 'string', 'External IPs of the service.'),
      col('Port(s)', 'string', 'The ports of the service.'), AGE, col('Selector', 'string', 'The selector of the service.', 1)],
    row: serviceRow,
  },
  'policy/poddisruptionbudgets': {
    columns: [NAME, col('Min Available', 'string', 'The minimum number of pods that must be available.'), col('Max Unavailable', 'string', 'The maximum number of pods that may be unavailable.'),
      col('Allowed Disruptions', 'integer', 'Calculated number of pods that may be disrupted at this time.'), AGE],
    row: (o) => {
      const spec = rec(o['spec']);
      const intOrString = (v: unknown) => (typeof v === 'number' || typeof v === 'string' ? String(v) : 'N/A');
      return [o.metadata.name ?? '', intOrString(spec['minAvailable']), intOrString(spec['maxUnavailable']), num(rec(o['status'])['disruptionsAllowed']), age(o)];
    },
  },
  '/namespaces': {
    columns: [NAME, col('Status', 'string', 'The status of the namespace'), AGE],
    row: (o) => [o.metadata.name ?? '', str(rec(o['status'])['phase'], 'Active'), age(o)],
  },
};

/** Reads a CRD printer column's `jsonPath` (`.spec.size`, `.status.conditions[0].type` without filters). */
function jsonPathValue(o: KubeObject, path: string): Cell {
  let v: unknown = o;
  for (const part of path.replace(/^\./, '').split('.').filter(Boolean)) {
    const m = part.match(/^([^[]+)(?:\[(\d+)\])?$/);
    if (!m) return null;
    v = rec(v)[m[1]];
    if (m[2] !== undefined) v = Array.isArray(v) ? v[Number(m[2])] : undefined;
  }
  if (v === undefined || v === null) return null;
  return typeof v === 'object' ? JSON.stringify(v) : (v as Cell);
}

/**
 * The `meta.k8s.io/v1` Table for objects of a type: columns, and one row per object with its cells and the object as
 * `PartialObjectMetadata` (`includeObject=Metadata`, the default), the full object (`Object`) or none (`None`).
 */
export function toTable(type: ResourceType, objects: KubeObject[], listMeta: Record<string, unknown>, includeObject: string): Record<string, unknown> {
  const builtin = type.custom ? undefined : TABLES[`${type.group}/${type.resource}`];
  const custom = (type.printerColumns ?? []).map((c) => ({ ...c, type: c.type === 'date' ? ('date' as const) : c.type }));
  const columns = builtin?.columns ?? [NAME, ...custom.filter((c) => c.name.toLowerCase() !== 'age'), AGE];
  const row: Row = builtin?.row ?? ((o) => [o.metadata.name ?? '', ...custom.filter((c) => c.name.toLowerCase() !== 'age').map((c) => {
    const v = jsonPathValue(o, c.jsonPath ?? '');
    return c.type === 'date' && typeof v === 'string' ? humanDuration(Date.now() - Date.parse(v)) : v;
  }), age(o)]);
  return {
    kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: listMeta,
    columnDefinitions: columns.map(({ jsonPath: _j, ...c }) => ({ format: '', ...c })),
    rows: objects.map((o) => ({
      cells: row(o),
      ...(includeObject === 'None' ? {} : {
        object: includeObject === 'Object' ? o : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
      }),
    })),
  };
}
