import type { Request } from 'express';
import type { CloudContext, Operation } from '../core/types';
import type { PublicIpAllocator } from '../core/public-ips';
import { isVisible } from '../core/consistency';
import type { GcpAuth } from './auth';
import { isRegion, isZone } from './catalog';
import { GcpHttpError, OperationFailure, capacityFailure, forbidden, invalid, invalidField, notFound, quotaFailure } from './errors';
import { FilterError, compileFilter } from './filter';
import { NetworkRec, OperationRec, ProjectState, SubnetRec } from './state';
import { API_BASE, UUID_RE, intToIp, parseCidr4, parseRef } from './util';

/** What every Compute handler shares: the core context, the OAuth state, the projects and the public address pool. */
export interface GcpShared {
  ctx: CloudContext;
  auth: GcpAuth;
  /** Projects by id. */
  projects: Map<string, ProjectState>;
  /** The sandbox-wide public address pool (`ctx.publicIps`): access configs take TEST-NET-2, then TEST-NET-3. */
  ips: PublicIpAllocator;
}

/** One Compute call being handled. */
export interface Call {
  req: Request;
  /** The path template's parameters (`{zone}`, `{instance}` …), URL-decoded. */
  params: Record<string, string>;
  /** The `{project}` of the path: the caller's own project, or a public image project for `publicProject` operations. */
  projectId: string;
  /** The caller's own project. */
  project: ProjectState;
  /** Query parameters, camelCased (system parameters kept as sent). */
  query: Record<string, string>;
  /** A quota/capacity fault armed for a create: the operation ends with this error (as real GCP reports them). */
  fault?: 'quota' | 'capacity';
  shared: GcpShared;
}

/**
 * One Compute v1 method the sandbox serves, keyed in the operation table by its name in the API reference
 * (`<collection>.<method>`, e.g. `instances.getSerialPortOutput`; https://cloud.google.com/compute/docs/reference/rest/v1).
 */
export interface OpDef {
  method: 'GET' | 'POST' | 'DELETE' | 'PATCH';
  /** The HTTP path template after `/compute/v1/`, as the method's `google.api.http` annotation writes it. */
  path: string;
  /** The latency / fault operation (core/types.ts `Operation`). */
  op: Operation;
  /** The IAM permission named in a 403 when the caller may not use the project. */
  permission: string;
  /** Query parameters the method takes besides the system ones (camelCase). */
  query?: readonly string[];
  /** `{project}` may also be a public image project (`ubuntu-os-cloud` …) that every caller may read. */
  publicProject?: boolean;
  run(c: Call): unknown;
}

/** A family's operations, by call name. */
export type OpTable = Record<string, OpDef>;

export const LIST_PARAMS = ['filter', 'maxResults', 'orderBy', 'pageToken', 'returnPartialSuccess'] as const;
export const AGGREGATED_PARAMS = [...LIST_PARAMS, 'includeAllScopes', 'serviceProjectNumber'] as const;

/** Eventual consistency: whether reads may see a resource yet (core/consistency.ts). */
export const seen = (c: Call, r: { createdAtMs: number } | undefined): boolean => r !== undefined && isVisible(c.shared.ctx, 'gcp', r.createdAtMs);
export const visible = <T extends { createdAtMs: number }>(c: Call, items: Iterable<T>): T[] => [...items].filter((r) => seen(c, r));

/** The `{region}` of the path, refused as Compute does when unknown. */
export const region = (name: string): string => {
  if (!isRegion(name)) throw invalidField('region', name, 'Unknown region.');
  return name;
};

/** The `{zone}` of the path, refused as Compute does when unknown. */
export const zone = (name: string): string => {
  if (!isZone(name)) throw invalidField('zone', name, 'Unknown zone.');
  return name;
};

/** Replays the operation of an earlier call with the same `requestId` (https://cloud.google.com/compute/docs/api/how-tos/api-requests-responses#idempotency). */
export function priorOperation(c: Call): OperationRec | undefined {
  const id = c.query.requestId;
  if (id === undefined) return undefined;
  if (!UUID_RE.test(id) || /^[0-]+$/.test(id)) {
    throw invalidField('requestId', id, 'The request ID must be a valid UUID with the exception that zero UUID is not supported (00000000-0000-0000-0000-000000000000).');
  }
  return c.project.requestIds.get(id.toLowerCase());
}

export function remember(c: Call, op: OperationRec): void {
  if (c.query.requestId) c.project.requestIds.set(c.query.requestId.toLowerCase(), op);
}

/** The failure an armed quota/capacity fault gives a create's operation. */
export function failureFor(c: Call, metric: string, limit: number, regionName: string | undefined, capacityScope: string): OperationFailure | undefined {
  if (c.fault === 'quota') return quotaFailure(metric, limit, regionName);
  if (c.fault === 'capacity') return capacityFailure(`projects/${c.project.id}/${capacityScope}`);
  return undefined;
}

/** A `global/networks/{name}` reference of the caller's project. */
export function networkByRef(c: Call, ref: string, field: string): NetworkRec {
  const { project, segments } = parseRef(ref);
  if (segments.length !== 3 || segments[0] !== 'global' || segments[1] !== 'networks' || !segments[2]) {
    throw invalidField(field, ref, 'The URL is malformed.');
  }
  if (project && project !== c.project.id) throw forbidden('compute.networks.use', `projects/${project}/global/networks/${segments[2]}`);
  const n = c.project.networks.get(segments[2]);
  if (!n) throw notFound(`projects/${c.project.id}/global/networks/${segments[2]}`);
  return n;
}

/** A `regions/{r}/subnetworks/{name}` reference of the caller's project. */
export function subnetByRef(c: Call, ref: string, field: string): SubnetRec {
  const { project, segments } = parseRef(ref);
  if (segments.length !== 4 || segments[0] !== 'regions' || segments[2] !== 'subnetworks' || !segments[3]) {
    throw invalidField(field, ref, 'The URL is malformed.');
  }
  if (project && project !== c.project.id) throw forbidden('compute.subnetworks.use', `projects/${project}/regions/${segments[1]}/subnetworks/${segments[3]}`);
  const s = c.project.subnetworks.get(`${segments[1]}/${segments[3]}`);
  if (!s) throw notFound(`projects/${c.project.id}/regions/${segments[1]}/subnetworks/${segments[3]}`);
  return s;
}

/**
 * A list answer (`{kind, id, items?, nextPageToken?, selfLink}`): `filter` (filter.ts, checked against the proto
 * message `message`), `orderBy` (`name` or `creationTimestamp desc`), `maxResults` ≤ 500 and `pageToken`.
 */
export function list<T>(c: Call, message: string, items: T[], render: (t: T) => Record<string, unknown>, kind: string, idPath: string): Record<string, unknown> {
  const page = paginate(c, message, items.map(render));
  return {
    kind,
    id: `projects/${c.projectId}/${idPath}`,
    ...(page.items.length ? { items: page.items } : {}),
    ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    selfLink: `${API_BASE}projects/${c.projectId}/${idPath}`,
  };
}

/**
 * An aggregated list answer (`{kind, id, items: {"<scope>": {<field>: [...]} | {warning}}, nextPageToken?, selfLink}`):
 * rows are filtered, ordered and paged as one list, then grouped by scope (`zones/us-east4-a`, `regions/us-east4`);
 * a scope without rows on the page carries Compute's `NO_RESULTS_ON_PAGE` warning.
 */
export function aggregated(
  c: Call, message: string, rows: Record<string, unknown>[], scopeOf: (row: Record<string, unknown>) => string, scopes: readonly string[],
  field: string, kind: string, collection: string,
): Record<string, unknown> {
  const page = paginate(c, message, rows, scopeOf);
  const items: Record<string, unknown> = {};
  for (const s of scopes) {
    const inScope = page.items.filter((r) => scopeOf(r) === s);
    items[s] = inScope.length
      ? { [field]: inScope }
      : { warning: { code: 'NO_RESULTS_ON_PAGE', message: `There are no results for scope '${s}' on this page.`, data: [{ key: 'scope', value: s }] } };
  }
  return {
    kind,
    id: `projects/${c.projectId}/aggregated/${collection}`,
    items,
    ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
    selfLink: `${API_BASE}projects/${c.projectId}/aggregated/${collection}`,
  };
}

/** Filters, orders and pages rows (`pageToken` = base64url `o:<offset>`). `groupBy` orders by scope first (aggregated lists). */
export function paginate(c: Call, message: string, items: Record<string, unknown>[], groupBy?: (row: Record<string, unknown>) => string): { items: Record<string, unknown>[]; nextPageToken?: string } {
  let pred;
  try {
    pred = compileFilter(c.query.filter, message);
  } catch (e) {
    if (e instanceof FilterError) throw invalidField('filter', c.query.filter, 'Invalid list filter expression.');
    throw e;
  }
  let rows = items.filter(pred);
  const orderBy = c.query.orderBy;
  if (orderBy === undefined || orderBy === '' || orderBy === 'name') rows = [...rows].sort((a, b) => String(a.name).localeCompare(String(b.name)));
  else if (orderBy === 'creationTimestamp desc') rows = [...rows].sort((a, b) => String(b.creationTimestamp).localeCompare(String(a.creationTimestamp)));
  else throw invalidField('orderBy', orderBy, "Sorting is supported by 'name' or 'creationTimestamp desc' only.");
  if (groupBy) rows = [...rows].sort((a, b) => groupBy(a).localeCompare(groupBy(b)));
  let max = 500;
  if (c.query.maxResults !== undefined) {
    max = Number(c.query.maxResults);
    if (!Number.isInteger(max) || max < 0) throw invalidField('maxResults', c.query.maxResults, 'Must be a non-negative integer.');
    if (max > 500) throw invalidField('maxResults', c.query.maxResults, 'Must be less than or equal to 500.');
    if (max === 0) max = 500;
  }
  let offset = 0;
  if (c.query.pageToken !== undefined && c.query.pageToken !== '') {
    const m = /^o:(\d+)$/.exec(Buffer.from(c.query.pageToken, 'base64url').toString('utf8'));
    if (!m) throw invalidField('pageToken', c.query.pageToken, 'Invalid page token.');
    offset = Number(m[1]);
  }
  const page = rows.slice(offset, offset + max);
  const next = offset + max < rows.length ? Buffer.from(`o:${offset + max}`).toString('base64url') : undefined;
  return { items: page, ...(next ? { nextPageToken: next } : {}) };
}

/** The failure of an operation whose network was deleted while it ran. */
export function networkGone(project: string, network: string): OperationFailure {
  return {
    errors: [{ code: 'RESOURCE_NOT_FOUND', message: `The resource 'projects/${project}/global/networks/${network}' was not found` }],
    httpErrorStatusCode: 404,
    httpErrorMessage: 'NOT FOUND',
  };
}

/** The first free address of the subnet (GCP reserves network, gateway, second-to-last and broadcast), or the one asked for. */
export function allocatePrivateIp(project: ProjectState, subnet: SubnetRec, wanted: unknown): string {
  const cidr = parseCidr4(subnet.ipCidrRange);
  if (!cidr) throw new GcpHttpError(500, 'bad subnet', [{ message: 'bad subnet', domain: 'global', reason: 'backendError' }]);
  const used = new Set<string>();
  for (const i of project.instances.values()) for (const n of i.nics) if (n.subnetwork.region === subnet.region && n.subnetwork.name === subnet.name) used.add(n.networkIP);
  const size = 2 ** (32 - cidr.len);
  const first = cidr.base + 2;
  const last = cidr.base + size - 3;
  if (wanted !== undefined && wanted !== '') {
    const ip = String(wanted);
    const n = parseCidr4(`${ip}/32`);
    if (!n || n.base < first || n.base > last) throw invalidField('resource.networkInterfaces[0].networkIP', ip, `Requested internal IP is outside the subnetwork CIDR range ${subnet.ipCidrRange}.`);
    if (used.has(ip)) throw invalidField('resource.networkInterfaces[0].networkIP', ip, 'IP address is already being used by another resource.');
    return ip;
  }
  for (let n = first; n <= last; n += 1) {
    const ip = intToIp(n);
    if (!used.has(ip)) return ip;
  }
  throw invalid(`Invalid value for field 'resource.networkInterfaces[0].subnetwork': ''. IP space of '${subnet.ipCidrRange}' is exhausted.`);
}
