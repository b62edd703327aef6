import express from 'express';
import type { Request } from 'express';
import type { CloudContext, FaultKind, Operation } from '../core/types';
import type { PublicIpAllocator } from '../core/public-ips';
import { isVisible, stampNow } from '../core/consistency';
import type { GcpAuth } from './auth';
import { MACHINE_TYPES, REGION_ZONES, ZONES, findImage, isRegion, isZone, regionOfZone } from './catalog';
import {
  GcpHttpError, alreadyExists, backendError, capacityFailure, forbidden, invalid, invalidField, notFound, OperationFailure,
  quotaExceeded, quotaFailure, rateLimitExceeded, required, resourceInUse, resourceNotReady, unknownQueryParam,
} from './errors';
import { FilterError, compileFilter } from './filter';
import { checkMessage } from './schema';
import {
  FirewallRec, InstanceRec, NetworkRec, NicRec, OpScope, OperationRec, ProjectState, QUOTAS, SubnetRec, scopePath,
} from './state';
import {
  API_BASE, UUID_RE, cidrsOverlap, fingerprint, intToIp, lastSegment, later, newId, parseCidr4, parseRef, timestamp,
} from './util';
import {
  checkDescription, checkEnum, checkInt, checkLabels, checkMetadataItems, checkName, checkRanges, checkRules,
  checkServiceAccounts, checkTags,
} from './validate';

export interface ComputeDeps {
  ctx: CloudContext;
  auth: GcpAuth;
  /** Projects by id. */
  projects: Map<string, ProjectState>;
  /** The sandbox-wide public address pool (`ctx.publicIps`): access configs take TEST-NET-2, then TEST-NET-3. */
  ips: PublicIpAllocator;
}

/** Query parameters every Google API accepts (system parameters). */
const SYSTEM_PARAMS = new Set(['$alt', 'alt', '$prettyPrint', 'prettyPrint', 'fields', '$fields', 'quotaUser', 'key', 'access_token', 'oauth_token', '$.xgafv', 'callback', '$callback', 'upload_protocol', 'uploadType', 'userIp', 'userProject']);
const LIST_PARAMS = ['filter', 'maxResults', 'orderBy', 'pageToken', 'returnPartialSuccess'];
const CREATE_OPS: Operation[] = ['network.create', 'subnet.create', 'firewall.create', 'gateway.create', 'instance.create'];

interface Call {
  req: Request;
  project: ProjectState;
  query: Record<string, string>;
  /** A quota/capacity fault armed for a create: the operation ends with this error (as real GCP reports them). */
  fault?: 'quota' | 'capacity';
}

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

const OPERATION_COLLECTIONS: Record<string, string> = { global: 'globalOperations', regions: 'regionOperations', zones: 'zoneOperations' };

/**
 * The call name of a route, as Compute's discovery document names its methods: `<collection>.<method>`
 * (`networks.insert`, `subnetworks.list`, `instances.aggregatedList`, `zoneOperations.wait`, `projects.get` …).
 */
export function gcpCallName(method: 'get' | 'post' | 'delete' | 'patch', path: string): string {
  const segs = path.split('/').filter(Boolean).slice(2); // after projects/:project
  if (segs.length === 0) return 'projects.get';
  if (segs[0] === 'aggregated') return `${segs[1]}.aggregatedList`;
  const wait = segs[segs.length - 1] === 'wait';
  if (wait) segs.pop();
  let scope = '';
  if (segs[0] === 'global' || ((segs[0] === 'regions' || segs[0] === 'zones') && segs.length > 2)) {
    scope = segs[0];
    segs.splice(0, segs[0] === 'global' ? 1 : 2);
  }
  const collection = segs[0] === 'operations' ? OPERATION_COLLECTIONS[scope] : segs[0];
  const one = segs.length > 1;
  const verb = wait ? 'wait' : method === 'get' ? (one ? 'get' : 'list') : method === 'post' ? 'insert' : method;
  return `${collection}.${verb}`;
}

/** Compute Engine v1 (https://cloud.google.com/compute/docs/reference/rest/v1), mounted under `/compute/v1`. */
export function createComputeRouter(deps: ComputeDeps): express.Router {
  const { ctx, auth, projects, ips } = deps;
  const router = express.Router();
  /** Eventual consistency: whether reads may see a resource yet (core/consistency.ts). */
  const seen = (r: { createdAtMs: number } | undefined): boolean => r !== undefined && isVisible(ctx, 'gcp', r.createdAtMs);
  const visible = <T extends { createdAtMs: number }>(items: Iterable<T>): T[] => [...items].filter(seen);

  const route = (
    method: 'get' | 'post' | 'delete' | 'patch',
    path: string,
    opts: { op: Operation; permission: string; query?: string[] },
    handler: (c: Call) => unknown,
  ) => {
    const callName = gcpCallName(method, path);
    router[method](path, async (req, res) => {
      if (!res.locals.callCounted) {
        res.locals.callCounted = true;
        ctx.countCall?.('gcp', callName);
      }
      const account = auth.authenticate(req.headers, opts.op === 'read');
      const projectId = String(req.params.project);
      const project = projects.get(projectId);
      if (!project || project.account !== account) throw forbidden(opts.permission, `projects/${projectId}`);
      const query: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.query as Record<string, unknown>)) {
        const name = SYSTEM_PARAMS.has(k) ? k : camel(k);
        if (!SYSTEM_PARAMS.has(name) && !(opts.query ?? []).includes(name)) throw unknownQueryParam(k);
        if (typeof v !== 'string') throw invalidField(name, JSON.stringify(v), 'Must be a single value.');
        query[name] = v;
      }
      const f = ctx.takeFault('gcp', opts.op);
      let fault: Call['fault'];
      if (f) fault = faultFor(f, opts.op, account.projectNumber);
      if (opts.op === 'read') await ctx.delay('read');
      const body = await handler({ req, project, query, fault });
      res.status(200).json(body);
    });
  };

  const faultFor = (f: FaultKind, op: Operation, projectNumber: string): Call['fault'] => {
    if (f === 'throttle') throw rateLimitExceeded(projectNumber, op === 'read' ? 'Read requests' : 'Write requests');
    if (f === 'server-error') throw backendError();
    if (CREATE_OPS.includes(op)) return f;
    if (f === 'quota') throw quotaExceeded(`Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute' of service 'compute.googleapis.com' for consumer 'project_number:${projectNumber}'.`);
    throw backendError();
  };

  // ---------- shared helpers ----------

  const region = (name: string) => {
    if (!isRegion(name)) throw invalidField('region', name, 'Unknown region.');
    return name;
  };
  const zone = (name: string) => {
    if (!isZone(name)) throw invalidField('zone', name, 'Unknown zone.');
    return name;
  };

  /** Replays the operation of an earlier call with the same `requestId` (https://cloud.google.com/compute/docs/api/how-tos/api-requests-responses#idempotency). */
  const priorOperation = (c: Call): OperationRec | undefined => {
    const id = c.query.requestId;
    if (id === undefined) return undefined;
    if (!UUID_RE.test(id) || /^[0-]+$/.test(id)) {
      throw invalidField('requestId', id, 'The request ID must be a valid UUID with the exception that zero UUID is not supported (00000000-0000-0000-0000-000000000000).');
    }
    return c.project.requestIds.get(id.toLowerCase());
  };
  const remember = (c: Call, op: OperationRec) => {
    if (c.query.requestId) c.project.requestIds.set(c.query.requestId.toLowerCase(), op);
  };

  const failureFor = (c: Call, metric: string, limit: number, regionName: string | undefined, capacityScope: string): OperationFailure | undefined => {
    if (c.fault === 'quota') return quotaFailure(metric, limit, regionName);
    if (c.fault === 'capacity') return capacityFailure(`projects/${c.project.id}/${capacityScope}`);
    return undefined;
  };

  const networkByRef = (c: Call, ref: string, field: string): NetworkRec => {
    const { project, segments } = parseRef(ref);
    if (segments.length !== 3 || segments[0] !== 'global' || segments[1] !== 'networks' || !segments[2]) {
      throw invalidField(field, ref, 'The URL is malformed.');
    }
    if (project && project !== c.project.id) throw forbidden('compute.networks.use', `projects/${project}/global/networks/${segments[2]}`);
    const n = c.project.networks.get(segments[2]);
    if (!n) throw notFound(`projects/${c.project.id}/global/networks/${segments[2]}`);
    return n;
  };

  const subnetByRef = (c: Call, ref: string, field: string): SubnetRec => {
    const { project, segments } = parseRef(ref);
    if (segments.length !== 4 || segments[0] !== 'regions' || segments[2] !== 'subnetworks' || !segments[3]) {
      throw invalidField(field, ref, 'The URL is malformed.');
    }
    if (project && project !== c.project.id) throw forbidden('compute.subnetworks.use', `projects/${project}/regions/${segments[1]}/subnetworks/${segments[3]}`);
    const s = c.project.subnetworks.get(`${segments[1]}/${segments[3]}`);
    if (!s) throw notFound(`projects/${c.project.id}/regions/${segments[1]}/subnetworks/${segments[3]}`);
    return s;
  };

  const list = <T>(c: Call, message: string, items: T[], render: (t: T) => Record<string, unknown>, kind: string, idPath: string) => {
    const page = paginate(c, message, items.map(render));
    return {
      kind,
      id: `projects/${c.project.id}/${idPath}`,
      ...(page.items.length ? { items: page.items } : {}),
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
      selfLink: `${API_BASE}projects/${c.project.id}/${idPath}`,
    };
  };

  // ---------- projects and regions ----------

  route('get', '/projects/:project', { op: 'read', permission: 'compute.projects.get' }, (c) => c.project.renderProject());
  route('get', '/projects/:project/regions/:region', { op: 'read', permission: 'compute.regions.get' }, (c) => c.project.renderRegion(region(String(c.req.params.region))));
  route('get', '/projects/:project/regions', { op: 'read', permission: 'compute.regions.list', query: LIST_PARAMS }, (c) =>
    list(c, 'Region', Object.keys(REGION_ZONES), (r) => c.project.renderRegion(r), 'compute#regionList', 'regions'));

  // ---------- machine types ----------

  const renderMachineType = (c: Call, z: string, name: string): Record<string, unknown> => {
    const m = MACHINE_TYPES[name];
    const gb = m.memoryMb / 1024;
    return {
      kind: 'compute#machineType',
      id: String(800000 + Object.keys(MACHINE_TYPES).indexOf(name)),
      creationTimestamp: '1969-12-31T16:00:00.000-08:00',
      name,
      description: m.sharedCpu ? `${name === 'e2-micro' ? 'Efficient Instance, 2 vCPU (1/8 shared physical core) and' : name === 'e2-small' ? 'Efficient Instance, 2 vCPU (1/4 shared physical core) and' : 'Efficient Instance, 2 vCPU (1/2 shared physical core) and'} ${gb} GB RAM` : `${m.cpus} vCPU${m.cpus > 1 ? 's' : ''}, ${Number.isInteger(gb) ? gb : gb.toFixed(2).replace(/0+$/, '')} GB RAM`,
      guestCpus: m.cpus,
      memoryMb: m.memoryMb,
      imageSpaceGb: 0,
      maximumPersistentDisks: m.sharedCpu ? 16 : 128,
      maximumPersistentDisksSizeGb: m.sharedCpu ? '3072' : '263168',
      zone: z,
      selfLink: `${API_BASE}projects/${c.project.id}/zones/${z}/machineTypes/${name}`,
      isSharedCpu: m.sharedCpu === true,
      architecture: m.arch,
    };
  };
  route('get', '/projects/:project/zones/:zone/machineTypes/:machineType', { op: 'read', permission: 'compute.machineTypes.get' }, (c) => {
    const z = zone(String(c.req.params.zone));
    const name = String(c.req.params.machineType);
    if (!MACHINE_TYPES[name]) throw notFound(`projects/${c.project.id}/zones/${z}/machineTypes/${name}`);
    return renderMachineType(c, z, name);
  });
  route('get', '/projects/:project/zones/:zone/machineTypes', { op: 'read', permission: 'compute.machineTypes.list', query: LIST_PARAMS }, (c) => {
    const z = zone(String(c.req.params.zone));
    return list(c, 'MachineType', Object.keys(MACHINE_TYPES), (n) => renderMachineType(c, z, n), 'compute#machineTypeList', `zones/${z}/machineTypes`);
  });

  // ---------- operations ----------

  const findOp = (c: Call, scope: OpScope, name: string): OperationRec => {
    const op = c.project.operations.get(`${scopePath(scope)}/${name}`);
    if (!op) throw notFound(`projects/${c.project.id}/${scopePath(scope)}/operations/${name}`);
    return op;
  };
  const waitOp = async (op: OperationRec) => {
    if (!op.done) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        op.waiters.push(resolve);
        timer = later(120_000, resolve); // the real wait returns after at most 2 minutes, done or not
      });
      if (timer) clearTimeout(timer);
    }
    return op.json;
  };
  const opScopes: [string, (p: Request['params']) => OpScope][] = [
    ['/projects/:project/global/operations/:operation', () => ({ kind: 'global' })],
    ['/projects/:project/regions/:region/operations/:operation', (p) => ({ kind: 'region', region: region(String(p.region)) })],
    ['/projects/:project/zones/:zone/operations/:operation', (p) => ({ kind: 'zone', zone: zone(String(p.zone)) })],
  ];
  for (const [path, scopeOf] of opScopes) {
    route('get', path, { op: 'read', permission: 'compute.globalOperations.get' }, (c) => findOp(c, scopeOf(c.req.params), String(c.req.params.operation)).json);
    route('post', `${path}/wait`, { op: 'read', permission: 'compute.globalOperations.get' }, (c) => waitOp(findOp(c, scopeOf(c.req.params), String(c.req.params.operation))));
  }

  // ---------- networks ----------

  route('get', '/projects/:project/global/networks/:network', { op: 'read', permission: 'compute.networks.get' }, (c) => {
    const n = c.project.networks.get(String(c.req.params.network));
    if (!n || !seen(n)) throw notFound(`projects/${c.project.id}/global/networks/${String(c.req.params.network)}`);
    return c.project.renderNetwork(n);
  });

  route('get', '/projects/:project/global/networks', { op: 'read', permission: 'compute.networks.list', query: LIST_PARAMS }, (c) =>
    list(c, 'Network', visible(c.project.networks.values()), (n) => c.project.renderNetwork(n), 'compute#networkList', 'global/networks'));

  route('post', '/projects/:project/global/networks', { op: 'network.create', permission: 'compute.networks.create', query: ['requestId'] }, (c) => {
    const prior = priorOperation(c);
    if (prior) return prior.json;
    const body = checkMessage('Network', c.req.body);
    const name = checkName('resource.name', body.name);
    const description = checkDescription('resource.description', body.description);
    if (body.IPv4Range !== undefined) throw invalidField('resource.IPv4Range', body.IPv4Range, 'Legacy networks are not supported. Create a VPC network instead.');
    if (body.autoCreateSubnetworks === undefined) {
      throw invalidField('resource.autoCreateSubnetworks', '', 'Must be set to create a VPC network (legacy networks are no longer supported).');
    }
    const auto = body.autoCreateSubnetworks === true;
    const routingConfig = (body.routingConfig ?? {}) as Record<string, unknown>;
    const routingMode = checkEnum('resource.routingConfig.routingMode', routingConfig.routingMode, ['REGIONAL', 'GLOBAL'] as const, 'REGIONAL');
    const mtu = checkInt('resource.mtu', body.mtu, 1300, 8896, 1460);
    const path = `global/networks/${name}`;
    if (c.project.networks.has(name) || c.project.pending.has(path)) throw alreadyExists(`projects/${c.project.id}/${path}`);
    let failure = failureFor(c, 'NETWORKS', QUOTAS.NETWORKS, undefined, 'global');
    if (!failure && c.project.networks.size >= QUOTAS.NETWORKS) failure = quotaFailure('NETWORKS', QUOTAS.NETWORKS, undefined);
    const rec: NetworkRec = { id: newId(), createdAtMs: stampNow(ctx), name, created: timestamp(), description, auto, routingMode, mtu, deleting: false };
    const op = c.project.startOperation({ kind: 'global' }, 'insert', path, rec.id);
    remember(c, op);
    c.project.pending.add(path);
    later(ctx.latencyMs('network.create'), () => {
      c.project.pending.delete(path);
      if (!failure) {
        rec.createdAtMs = stampNow(ctx);
        c.project.networks.set(name, rec);
        if (auto) createAutoSubnets(c.project, name, rec.createdAtMs);
      }
      c.project.finishOperation(op, failure);
    });
    return op.json;
  });

  route('delete', '/projects/:project/global/networks/:network', { op: 'network.delete', permission: 'compute.networks.delete', query: ['requestId'] }, (c) => {
    const prior = priorOperation(c);
    if (prior) return prior.json;
    const name = String(c.req.params.network);
    const path = `projects/${c.project.id}/global/networks/${name}`;
    const n = c.project.networks.get(name);
    if (!n) throw notFound(path);
    if (n.deleting) throw resourceNotReady(path);
    const fw = [...c.project.firewalls.values()].find((f) => f.network === name);
    if (fw) throw resourceInUse(path, 'network', `projects/${c.project.id}/global/firewalls/${fw.name}`);
    const sub = [...c.project.subnetworks.values()].find((s) => s.network === name && !s.auto);
    if (sub) throw resourceInUse(path, 'network', `projects/${c.project.id}/regions/${sub.region}/subnetworks/${sub.name}`);
    const inst = [...c.project.instances.values()].find((i) => i.nics.some((nic) => nic.network === name));
    if (inst) throw resourceInUse(path, 'network', `projects/${c.project.id}/zones/${inst.zone}/instances/${inst.name}`);
    n.deleting = true;
    const op = c.project.startOperation({ kind: 'global' }, 'delete', `global/networks/${name}`, n.id);
    remember(c, op);
    later(ctx.latencyMs('network.delete'), () => {
      c.project.networks.delete(name);
      for (const [k, s] of c.project.subnetworks) if (s.network === name) c.project.subnetworks.delete(k);
      c.project.finishOperation(op);
    });
    return op.json;
  });

  // ---------- subnetworks ----------

  route('get', '/projects/:project/regions/:region/subnetworks/:subnetwork', { op: 'read', permission: 'compute.subnetworks.get' }, (c) => {
    const r = region(String(c.req.params.region));
    const s = c.project.subnetworks.get(`${r}/${String(c.req.params.subnetwork)}`);
    if (!s || !seen(s)) throw notFound(`projects/${c.project.id}/regions/${r}/subnetworks/${String(c.req.params.subnetwork)}`);
    return c.project.renderSubnetwork(s);
  });

  route('get', '/projects/:project/regions/:region/subnetworks', { op: 'read', permission: 'compute.subnetworks.list', query: LIST_PARAMS }, (c) => {
    const r = region(String(c.req.params.region));
    const items = visible(c.project.subnetworks.values()).filter((s) => s.region === r);
    return list(c, 'Subnetwork', items, (s) => c.project.renderSubnetwork(s), 'compute#subnetworkList', `regions/${r}/subnetworks`);
  });

  route('post', '/projects/:project/regions/:region/subnetworks', { op: 'subnet.create', permission: 'compute.subnetworks.create', query: ['requestId'] }, (c) => {
    const r = region(String(c.req.params.region));
    const prior = priorOperation(c);
    if (prior) return prior.json;
    const body = checkMessage('Subnetwork', c.req.body);
    const name = checkName('resource.name', body.name);
    const description = checkDescription('resource.description', body.description);
    if (body.network === undefined || body.network === '') throw required('resource.network');
    const network = networkByRef(c, String(body.network), 'resource.network');
    if (network.deleting) throw resourceNotReady(`projects/${c.project.id}/global/networks/${network.name}`);
    if (body.region !== undefined && lastSegment(String(body.region)) !== r) {
      throw invalidField('resource.region', body.region, `Must match the region of the request ('${r}').`);
    }
    if (body.ipCidrRange === undefined || body.ipCidrRange === '') throw required('resource.ipCidrRange');
    const cidrText = String(body.ipCidrRange);
    const cidr = parseCidr4(cidrText);
    if (!cidr) throw invalidField('resource.ipCidrRange', cidrText, 'Must be a valid IPv4 CIDR range (e.g. 10.0.0.0/24).');
    if (!cidr.hostBitsZero) throw invalidField('resource.ipCidrRange', cidrText, `Invalid IPCidrRange: ${cidrText}. The address must be the first address of the range.`);
    if (cidr.len < 8 || cidr.len > 29) throw invalidField('resource.ipCidrRange', cidrText, 'The prefix length must be between /8 and /29.');
    const reserved = ['0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '240.0.0.0/4'];
    for (const rsv of reserved) {
      const rc = parseCidr4(rsv);
      if (rc && cidrsOverlap(cidr, rc)) throw invalidField('resource.ipCidrRange', cidrText, `Invalid IPCidrRange: ${cidrText} overlaps the reserved range ${rsv}.`);
    }
    for (const other of c.project.subnetworks.values()) {
      const oc = parseCidr4(other.ipCidrRange);
      if (other.network === network.name && oc && cidrsOverlap(cidr, oc)) {
        throw invalid(`Invalid IPCidrRange: ${cidrText} conflicts with existing subnetwork '${other.name}' in region '${other.region}'.`);
      }
    }
    const path = `regions/${r}/subnetworks/${name}`;
    if (c.project.subnetworks.has(`${r}/${name}`) || c.project.pending.has(path)) throw alreadyExists(`projects/${c.project.id}/${path}`);
    let failure = failureFor(c, 'SUBNETWORKS', QUOTAS.SUBNETWORKS, undefined, `regions/${r}`);
    if (!failure && c.project.subnetworks.size >= QUOTAS.SUBNETWORKS) failure = quotaFailure('SUBNETWORKS', QUOTAS.SUBNETWORKS, undefined);
    const rec: SubnetRec = {
      id: newId(), createdAtMs: stampNow(ctx), name, region: r, created: timestamp(), description, network: network.name, ipCidrRange: cidrText,
      gatewayAddress: intToIp(cidr.base + 1), privateIpGoogleAccess: body.privateIpGoogleAccess === true, fingerprint: fingerprint(),
      auto: false, deleting: false,
    };
    const op = c.project.startOperation({ kind: 'region', region: r }, 'insert', path, rec.id);
    remember(c, op);
    c.project.pending.add(path);
    later(ctx.latencyMs('subnet.create'), () => {
      c.project.pending.delete(path);
      const gone = c.project.networks.has(network.name) ? undefined : networkGone(c.project.id, network.name);
      if (!failure && !gone) {
        rec.createdAtMs = stampNow(ctx);
        c.project.subnetworks.set(`${r}/${name}`, rec);
      }
      c.project.finishOperation(op, failure ?? gone);
    });
    return op.json;
  });

  route('delete', '/projects/:project/regions/:region/subnetworks/:subnetwork', { op: 'network.delete', permission: 'compute.subnetworks.delete', query: ['requestId'] }, (c) => {
    const r = region(String(c.req.params.region));
    const prior = priorOperation(c);
    if (prior) return prior.json;
    const name = String(c.req.params.subnetwork);
    const path = `projects/${c.project.id}/regions/${r}/subnetworks/${name}`;
    const s = c.project.subnetworks.get(`${r}/${name}`);
    if (!s) throw notFound(path);
    if (s.deleting) throw resourceNotReady(path);
    if (s.auto) throw invalid(`Invalid resource usage: 'Cannot delete auto subnetwork from an auto subnet mode network.'.`);
    const inst = [...c.project.instances.values()].find((i) => i.nics.some((n) => n.subnetwork.region === r && n.subnetwork.name === name));
    if (inst) throw resourceInUse(path, 'subnetwork', `projects/${c.project.id}/zones/${inst.zone}/instances/${inst.name}`);
    s.deleting = true;
    const op = c.project.startOperation({ kind: 'region', region: r }, 'delete', `regions/${r}/subnetworks/${name}`, s.id);
    remember(c, op);
    later(ctx.latencyMs('network.delete'), () => {
      c.project.subnetworks.delete(`${r}/${name}`);
      c.project.finishOperation(op);
    });
    return op.json;
  });

  // ---------- firewalls ----------

  route('get', '/projects/:project/global/firewalls/:firewall', { op: 'read', permission: 'compute.firewalls.get' }, (c) => {
    const f = c.project.firewalls.get(String(c.req.params.firewall));
    if (!f || !seen(f)) throw notFound(`projects/${c.project.id}/global/firewalls/${String(c.req.params.firewall)}`);
    return c.project.renderFirewall(f);
  });

  route('get', '/projects/:project/global/firewalls', { op: 'read', permission: 'compute.firewalls.list', query: LIST_PARAMS }, (c) =>
    list(c, 'Firewall', visible(c.project.firewalls.values()), (f) => c.project.renderFirewall(f), 'compute#firewallList', 'global/firewalls'));

  /** Validates a whole firewall resource (insert, or an existing one with a patch applied). */
  const firewallFrom = (c: Call, body: Record<string, unknown>): Omit<FirewallRec, 'id' | 'createdAtMs' | 'created' | 'busy' | 'deleting'> => {
    const name = checkName('resource.name', body.name);
    const description = checkDescription('resource.description', body.description);
    const network = networkByRef(c, body.network === undefined || body.network === '' ? 'global/networks/default' : String(body.network), 'resource.network');
    if (network.deleting) throw resourceNotReady(`projects/${c.project.id}/global/networks/${network.name}`);
    const direction = checkEnum('resource.direction', body.direction, ['INGRESS', 'EGRESS'] as const, 'INGRESS');
    const priority = checkInt('resource.priority', body.priority, 0, 65535, 1000);
    const allowed = checkRules('resource.allowed', body.allowed);
    const denied = checkRules('resource.denied', body.denied);
    if (!!allowed?.length === !!denied?.length) throw invalid("Invalid value for field 'resource': ''. Exactly one of 'allowed' or 'denied' must be specified.");
    let sourceRanges = checkRanges('resource.sourceRanges', body.sourceRanges);
    let destinationRanges = checkRanges('resource.destinationRanges', body.destinationRanges);
    const sourceTags = checkTags('resource.sourceTags', body.sourceTags);
    const targetTags = checkTags('resource.targetTags', body.targetTags);
    const sourceServiceAccounts = checkServiceAccounts('resource.sourceServiceAccounts', body.sourceServiceAccounts);
    const targetServiceAccounts = checkServiceAccounts('resource.targetServiceAccounts', body.targetServiceAccounts);
    if (targetTags?.length && targetServiceAccounts?.length) throw invalid("Invalid value for field 'resource.targetTags': ''. targetTags and targetServiceAccounts cannot be used together.");
    if (sourceTags?.length && sourceServiceAccounts?.length) throw invalid("Invalid value for field 'resource.sourceTags': ''. sourceTags and sourceServiceAccounts cannot be used together.");
    if (direction === 'EGRESS') {
      if (sourceTags?.length || sourceServiceAccounts?.length) throw invalid("Invalid value for field 'resource.sourceTags': ''. Source tags and source service accounts cannot be specified for EGRESS firewall rules.");
      if (!destinationRanges?.length) destinationRanges = ['0.0.0.0/0'];
    } else if (!sourceRanges?.length && !sourceTags?.length && !sourceServiceAccounts?.length) {
      sourceRanges = ['0.0.0.0/0'];
    }
    const log = (body.logConfig ?? {}) as Record<string, unknown>;
    return {
      name, description, network: network.name, priority, direction,
      ...(sourceRanges?.length ? { sourceRanges } : {}),
      ...(destinationRanges?.length ? { destinationRanges } : {}),
      ...(sourceTags?.length ? { sourceTags } : {}),
      ...(targetTags?.length ? { targetTags } : {}),
      ...(sourceServiceAccounts?.length ? { sourceServiceAccounts } : {}),
      ...(targetServiceAccounts?.length ? { targetServiceAccounts } : {}),
      ...(allowed?.length ? { allowed } : {}),
      ...(denied?.length ? { denied } : {}),
      disabled: body.disabled === true,
      logEnabled: log.enable === true,
    };
  };

  route('post', '/projects/:project/global/firewalls', { op: 'firewall.create', permission: 'compute.firewalls.create', query: ['requestId'] }, (c) => {
    const prior = priorOperation(c);
    if (prior) return prior.json;
    const fields = firewallFrom(c, checkMessage('Firewall', c.req.body));
    const path = `global/firewalls/${fields.name}`;
    if (c.project.firewalls.has(fields.name) || c.project.pending.has(path)) throw alreadyExists(`projects/${c.project.id}/${path}`);
    let failure = failureFor(c, 'FIREWALLS', QUOTAS.FIREWALLS, undefined, 'global');
    if (!failure && c.project.firewalls.size >= QUOTAS.FIREWALLS) failure = quotaFailure('FIREWALLS', QUOTAS.FIREWALLS, undefined);
    const rec: FirewallRec = { id: newId(), createdAtMs: stampNow(ctx), created: timestamp(), busy: false, deleting: false, ...fields };
    const op = c.project.startOperation({ kind: 'global' }, 'insert', path, rec.id);
    remember(c, op);
    c.project.pending.add(path);
    later(ctx.latencyMs('firewall.create'), () => {
      c.project.pending.delete(path);
      const gone = c.project.networks.has(rec.network) ? undefined : networkGone(c.project.id, rec.network);
      if (!failure && !gone) {
        rec.createdAtMs = stampNow(ctx);
        c.project.firewalls.set(rec.name, rec);
      }
      c.project.finishOperation(op, failure ?? gone);
    });
    return op.json;
  });

  route('patch', '/projects/:project/global/firewalls/:firewall', { op: 'firewall.create', permission: 'compute.firewalls.update', query: ['requestId'] }, (c) => {
    const prior = priorOperation(c);
    if (prior) return prior.json;
    const name = String(c.req.params.firewall);
    const path = `projects/${c.project.id}/global/firewalls/${name}`;
    const existing = c.project.firewalls.get(name);
    if (!existing) throw notFound(path);
    if (existing.busy || existing.deleting) throw resourceNotReady(path);
    const patch = checkMessage('Firewall', c.req.body);
    if (patch.name !== undefined && patch.name !== name) throw invalidField('resource.name', patch.name, 'The name of a firewall cannot be changed.');
    if (patch.network !== undefined && lastSegment(String(patch.network)) !== existing.network) {
      throw invalidField('resource.network', patch.network, 'The network of a firewall cannot be changed.');
    }
    if (patch.direction !== undefined && patch.direction !== existing.direction) throw invalidField('resource.direction', patch.direction, 'The direction of a firewall cannot be changed.');
    const current = c.project.renderFirewall(existing);
    // A patch replaces the fields it names; `allowed` and `denied` are one choice, as are the source fields.
    if (patch.allowed !== undefined) delete current.denied;
    if (patch.denied !== undefined) delete current.allowed;
    const merged = { ...current, ...patch };
    for (const k of ['kind', 'id', 'creationTimestamp', 'selfLink']) delete merged[k];
    const fields = firewallFrom(c, merged);
    existing.busy = true;
    const op = c.project.startOperation({ kind: 'global' }, 'patch', `global/firewalls/${name}`, existing.id);
    remember(c, op);
    later(ctx.latencyMs('firewall.create'), () => {
      existing.busy = false;
      if (c.project.firewalls.get(name) === existing) Object.assign(existing, fields);
      c.project.finishOperation(op);
    });
    return op.json;
  });

  route('delete', '/projects/:project/global/firewalls/:firewall', { op: 'network.delete', permission: 'compute.firewalls.delete', query: ['requestId'] }, (c) => {
    const prior = priorOperation(c);
    if (prior) return prior.json;
    const name = String(c.req.params.firewall);
    const path = `projects/${c.project.id}/global/firewalls/${name}`;
    const f = c.project.firewalls.get(name);
    if (!f) throw notFound(path);
    if (f.deleting || f.busy) throw resourceNotReady(path);
    f.deleting = true;
    const op = c.project.startOperation({ kind: 'global' }, 'delete', `global/firewalls/${name}`, f.id);
    remember(c, op);
    later(ctx.latencyMs('network.delete'), () => {
      c.project.firewalls.delete(name);
      c.project.finishOperation(op);
    });
    return op.json;
  });

  // ---------- instances ----------

  const instancePath = (c: Call, z: string, name: string) => `projects/${c.project.id}/zones/${z}/instances/${name}`;

  route('get', '/projects/:project/zones/:zone/instances/:instance', { op: 'read', permission: 'compute.instances.get' }, (c) => {
    const z = zone(String(c.req.params.zone));
    const i = c.project.instances.get(`${z}/${String(c.req.params.instance)}`);
    if (!i || !seen(i)) throw notFound(instancePath(c, z, String(c.req.params.instance)));
    return c.project.renderInstance(i);
  });

  route('get', '/projects/:project/zones/:zone/instances', { op: 'read', permission: 'compute.instances.list', query: LIST_PARAMS }, (c) => {
    const z = zone(String(c.req.params.zone));
    const items = visible(c.project.instances.values()).filter((i) => i.zone === z);
    return list(c, 'Instance', items, (i) => c.project.renderInstance(i), 'compute#instanceList', `zones/${z}/instances`);
  });

  route('get', '/projects/:project/aggregated/instances', {
    op: 'read', permission: 'compute.instances.list', query: [...LIST_PARAMS, 'includeAllScopes', 'serviceProjectNumber'],
  }, (c) => {
    const all = visible(c.project.instances.values()).sort((a, b) => (a.zone === b.zone ? 0 : a.zone < b.zone ? -1 : 1));
    const page = paginate(c, 'Instance', all.map((i) => c.project.renderInstance(i)));
    const items: Record<string, unknown> = {};
    for (const z of ZONES) {
      const inZone = page.items.filter((i) => lastSegment(String(i.zone)) === z);
      items[`zones/${z}`] = inZone.length
        ? { instances: inZone }
        : { warning: { code: 'NO_RESULTS_ON_PAGE', message: `There are no results for scope 'zones/${z}' on this page.`, data: [{ key: 'scope', value: `zones/${z}` }] } };
    }
    return {
      kind: 'compute#instanceAggregatedList',
      id: `projects/${c.project.id}/aggregated/instances`,
      items,
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
      selfLink: `${API_BASE}projects/${c.project.id}/aggregated/instances`,
    };
  });

  route('post', '/projects/:project/zones/:zone/instances', {
    op: 'instance.create', permission: 'compute.instances.create', query: ['requestId', 'sourceInstanceTemplate', 'sourceMachineImage'],
  }, (c) => {
    const z = zone(String(c.req.params.zone));
    const r = regionOfZone(z) ?? '';
    const prior = priorOperation(c);
    if (prior) return prior.json;
    if (c.query.sourceInstanceTemplate || c.query.sourceMachineImage) {
      throw invalidField(c.query.sourceInstanceTemplate ? 'sourceInstanceTemplate' : 'sourceMachineImage', c.query.sourceInstanceTemplate ?? c.query.sourceMachineImage, 'The referenced resource cannot be found.');
    }
    const body = checkMessage('Instance', c.req.body);
    const name = checkName('resource.name', body.name);
    const description = checkDescription('resource.description', body.description);

    // machine type: zones/{zone}/machineTypes/{type}
    if (body.machineType === undefined || body.machineType === '') throw required('resource.machineType');
    const mt = parseRef(String(body.machineType));
    if (mt.segments.length !== 4 || mt.segments[0] !== 'zones' || mt.segments[2] !== 'machineTypes') {
      throw invalidField('resource.machineType', body.machineType, 'The URL is malformed.');
    }
    if (mt.segments[1] !== z) throw invalidField('resource.machineType', body.machineType, `Machine type zone '${mt.segments[1]}' does not match the instance zone '${z}'.`);
    const machineType = mt.segments[3];
    if (!MACHINE_TYPES[machineType]) throw invalidField('resource.machineType', body.machineType, `Machine type with name '${machineType}' does not exist in zone '${z}'.`);

    const labels = checkLabels('resource.labels', body.labels);
    const tagsObj = (body.tags ?? {}) as Record<string, unknown>;
    const tags = checkTags('resource.tags.items', tagsObj.items) ?? [];
    const metadataObj = (body.metadata ?? {}) as Record<string, unknown>;
    const metadata = checkMetadataItems('resource.metadata.items', metadataObj.items);

    // disks: exactly one boot disk, created from a public image
    const disks = (body.disks ?? []) as Record<string, unknown>[];
    if (disks.length === 0) throw invalid("Invalid value for field 'resource.disks': ''. At least one disk must be specified (the boot disk).");
    if (disks.length > 1) throw invalidField('resource.disks', '', 'The sandbox supports exactly one (boot) disk per instance.');
    const disk = disks[0];
    if (disk.boot === false) throw invalidField('resource.disks[0].boot', false, 'The first disk must be the boot disk.');
    if (disk.source !== undefined) throw invalidField('resource.disks[0].source', disk.source, 'The referenced disk resource cannot be found.');
    const init = (disk.initializeParams ?? {}) as Record<string, unknown>;
    if (init.sourceImage === undefined || init.sourceImage === '') throw required('resource.disks[0].initializeParams.sourceImage');
    const img = parseRef(String(init.sourceImage));
    const isFamily = img.segments.length === 4 && img.segments[0] === 'global' && img.segments[1] === 'images' && img.segments[2] === 'family';
    const isImage = img.segments.length === 3 && img.segments[0] === 'global' && img.segments[1] === 'images';
    if (!img.project || (!isFamily && !isImage)) throw invalidField('resource.disks[0].initializeParams.sourceImage', init.sourceImage, 'The URL is malformed.');
    const image = findImage(img.project, isFamily ? 'family' : 'image', img.segments[img.segments.length - 1]);
    if (!image) throw notFound(`projects/${img.project}/global/images/${isFamily ? 'family/' : ''}${img.segments[img.segments.length - 1]}`);
    const sizeGb = init.diskSizeGb === undefined ? image.sizeGb : Number(init.diskSizeGb);
    if (sizeGb < image.sizeGb) throw invalid(`Invalid value for field 'resource.disks[0].initializeParams.diskSizeGb': '${sizeGb}'. Requested disk size cannot be smaller than the image size (${image.sizeGb} GB)`);
    if (sizeGb > 65536) throw invalidField('resource.disks[0].initializeParams.diskSizeGb', sizeGb, 'Disk size cannot be larger than 65536 GB.');
    const diskName = init.diskName === undefined ? name : checkName('resource.disks[0].initializeParams.diskName', init.diskName);

    // network interfaces: one NIC in a subnetwork of the zone's region
    const nicsIn = (body.networkInterfaces ?? []) as Record<string, unknown>[];
    if (nicsIn.length === 0) throw invalid("Invalid value for field 'resource.networkInterfaces': ''. At least one network interface must be specified.");
    if (nicsIn.length > 1) throw invalidField('resource.networkInterfaces', '', 'The sandbox supports one network interface per instance.');
    const nicIn = nicsIn[0];
    let subnet: SubnetRec;
    if (nicIn.subnetwork !== undefined && nicIn.subnetwork !== '') {
      subnet = subnetByRef(c, String(nicIn.subnetwork), 'resource.networkInterfaces[0].subnetwork');
      if (subnet.region !== r) throw invalidField('resource.networkInterfaces[0].subnetwork', nicIn.subnetwork, `Subnetwork must be in region '${r}'.`);
      if (nicIn.network !== undefined && nicIn.network !== '' && networkByRef(c, String(nicIn.network), 'resource.networkInterfaces[0].network').name !== subnet.network) {
        throw invalidField('resource.networkInterfaces[0].network', nicIn.network, 'The subnetwork does not belong to this network.');
      }
    } else {
      const net = networkByRef(c, nicIn.network === undefined || nicIn.network === '' ? 'global/networks/default' : String(nicIn.network), 'resource.networkInterfaces[0].network');
      const auto = [...c.project.subnetworks.values()].find((s) => s.network === net.name && s.region === r && s.auto);
      if (!net.auto || !auto) throw invalidField('resource.networkInterfaces[0].subnetwork', '', 'Subnetwork should be specified for custom subnetmode network.');
      subnet = auto;
    }
    if (subnet.deleting) throw resourceNotReady(`projects/${c.project.id}/regions/${subnet.region}/subnetworks/${subnet.name}`);
    const accessConfigs = (nicIn.accessConfigs ?? []) as Record<string, unknown>[];
    if (accessConfigs.length > 1) throw invalidField('resource.networkInterfaces[0].accessConfigs', '', 'At most one access config per network interface is supported.');
    const ac = accessConfigs[0];
    if (ac) {
      checkEnum('resource.networkInterfaces[0].accessConfigs[0].type', ac.type, ['ONE_TO_ONE_NAT'] as const, 'ONE_TO_ONE_NAT');
      if (ac.natIP !== undefined) throw invalidField('resource.networkInterfaces[0].accessConfigs[0].natIP', ac.natIP, 'The referenced address resource cannot be found.');
      checkEnum('resource.networkInterfaces[0].accessConfigs[0].networkTier', ac.networkTier, ['PREMIUM', 'STANDARD'] as const, 'PREMIUM');
    }
    const networkIP = allocatePrivateIp(c.project, subnet, nicIn.networkIP);

    const sched = (body.scheduling ?? {}) as Record<string, unknown>;
    const preemptible = sched.preemptible === true;
    const serviceAccounts = ((body.serviceAccounts ?? []) as { email?: string; scopes?: string[] }[]).map((s, i) => {
      if (!s.email) throw required(`resource.serviceAccounts[${i}].email`);
      return { email: s.email === 'default' ? `${c.project.account.projectNumber}-compute@developer.gserviceaccount.com` : s.email, scopes: s.scopes ?? [] };
    });

    const path = `zones/${z}/instances/${name}`;
    if (c.project.instances.has(`${z}/${name}`) || c.project.pending.has(path)) throw alreadyExists(`projects/${c.project.id}/${path}`);

    let failure = failureFor(c, 'CPUS', QUOTAS.CPUS_PER_REGION, r, `zones/${z}`);
    if (!failure && c.project.cpusInRegion(r) + MACHINE_TYPES[machineType].cpus > QUOTAS.CPUS_PER_REGION) failure = quotaFailure('CPUS', QUOTAS.CPUS_PER_REGION, r);
    if (!failure && c.project.instancesInRegion(r).length >= QUOTAS.INSTANCES_PER_REGION) failure = quotaFailure('INSTANCES', QUOTAS.INSTANCES_PER_REGION, r);
    if (!failure && ac && c.project.addressesInRegion(r) >= QUOTAS.IN_USE_ADDRESSES_PER_REGION) failure = quotaFailure('IN_USE_ADDRESSES', QUOTAS.IN_USE_ADDRESSES_PER_REGION, r);
    let natIP: string | undefined;
    if (!failure && ac) {
      natIP = ips.allocate();
      if (!natIP) failure = quotaFailure('IN_USE_ADDRESSES', QUOTAS.IN_USE_ADDRESSES_PER_REGION, r);
    }

    const id = newId();
    const op = c.project.startOperation({ kind: 'zone', zone: z }, 'insert', path, id);
    remember(c, op);
    if (failure) {
      c.project.pending.add(path);
      later(ctx.latencyMs('instance.create'), () => {
        c.project.pending.delete(path);
        c.project.finishOperation(op, failure);
      });
      return op.json;
    }
    const nic: NicRec = {
      network: subnet.network,
      subnetwork: { region: subnet.region, name: subnet.name },
      networkIP,
      ...(ac && natIP ? { accessConfig: { name: typeof ac.name === 'string' && ac.name ? ac.name : 'External NAT', natIP, networkTier: String(ac.networkTier ?? 'PREMIUM') } } : {}),
    };
    const inst: InstanceRec = {
      id, createdAtMs: stampNow(ctx), name, zone: z, created: timestamp(), description, machineType, status: 'PROVISIONING',
      labels, labelFingerprint: fingerprint(), tags, tagsFingerprint: fingerprint(), metadata, metadataFingerprint: fingerprint(),
      nics: [nic],
      bootDisk: { name: diskName, sizeGb, sourceImage: String(init.sourceImage), autoDelete: disk.autoDelete !== false, deviceName: typeof disk.deviceName === 'string' && disk.deviceName ? disk.deviceName : 'persistent-disk-0' },
      deletionProtection: body.deletionProtection === true,
      canIpForward: body.canIpForward === true,
      serviceAccounts,
      scheduling: { onHostMaintenance: preemptible ? 'TERMINATE' : 'MIGRATE', automaticRestart: !preemptible, preemptible, provisioningModel: preemptible ? 'SPOT' : 'STANDARD' },
      fingerprint: fingerprint(),
      deleting: false,
      timers: [],
    };
    c.project.instances.set(`${z}/${name}`, inst);
    inst.timers.push(later(ctx.latencyMs('instance.create'), () => {
      if (inst.deleting) return;
      inst.status = 'STAGING';
      c.project.finishOperation(op);
      inst.timers.push(later(ctx.latencyMs('instance.boot'), () => {
        if (inst.deleting) return;
        inst.status = 'RUNNING';
        inst.lastStartTimestamp = timestamp();
        const size = MACHINE_TYPES[inst.machineType];
        ctx.vms.boot({
          cloud: 'gcp', instanceId: inst.name, diskId: inst.id, userData: inst.metadata.find((m) => m.key === 'user-data')?.value ?? '', privateIp: nic.networkIP, publicIp: nic.accessConfig?.natIP,
          machine: { instanceType: inst.machineType, vcpu: size?.cpus ?? 2, memoryMiB: size?.memoryMb ?? 4096, arch: inst.machineType.startsWith('t2a-') || inst.machineType.startsWith('c4a-') ? 'arm64' : 'amd64', providerID: `gce://${c.project.id}/${inst.zone}/${inst.name}` },
        });
      }));
    }));
    return op.json;
  });

  route('delete', '/projects/:project/zones/:zone/instances/:instance', { op: 'instance.delete', permission: 'compute.instances.delete', query: ['requestId'] }, (c) => {
    const z = zone(String(c.req.params.zone));
    const prior = priorOperation(c);
    if (prior) return prior.json;
    const name = String(c.req.params.instance);
    const path = instancePath(c, z, name);
    const inst = c.project.instances.get(`${z}/${name}`);
    if (!inst) throw notFound(path);
    if (inst.deleting) throw resourceNotReady(path);
    if (inst.deletionProtection) throw invalid(`Invalid resource usage: 'Resource cannot be deleted if it's protected against deletion.'.`);
    inst.deleting = true;
    inst.status = 'STOPPING';
    for (const t of inst.timers) clearTimeout(t);
    const insertOp = [...c.project.operations.values()].find((o) => !o.done && o.json.targetId === inst.id);
    const op = c.project.startOperation({ kind: 'zone', zone: z }, 'delete', `zones/${z}/instances/${name}`, inst.id);
    remember(c, op);
    later(ctx.latencyMs('instance.delete'), () => {
      c.project.instances.delete(`${z}/${name}`);
      ctx.vms.stop(inst.name);
      for (const n of inst.nics) if (n.accessConfig) ips.release(n.accessConfig.natIP);
      if (insertOp) c.project.finishOperation(insertOp);
      c.project.finishOperation(op);
    });
    return op.json;
  });

  return router;
}

/** The failure of an operation whose network was deleted while it ran. */
function networkGone(project: string, network: string): OperationFailure {
  return {
    errors: [{ code: 'RESOURCE_NOT_FOUND', message: `The resource 'projects/${project}/global/networks/${network}' was not found` }],
    httpErrorStatusCode: 404,
    httpErrorMessage: 'NOT FOUND',
  };
}

function paginate(c: Call, message: string, items: Record<string, unknown>[]): { items: Record<string, unknown>[]; nextPageToken?: string } {
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
  if (message === 'Instance' && c.req.path.includes('/aggregated/')) {
    rows = [...rows].sort((a, b) => String(a.zone).localeCompare(String(b.zone)));
  }
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

/** The first free address of the subnet (GCP reserves network, gateway, second-to-last and broadcast), or the one asked for. */
function allocatePrivateIp(project: ProjectState, subnet: SubnetRec, wanted: unknown): string {
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

/** Auto-mode subnets (https://cloud.google.com/vpc/docs/subnets#ip-ranges): one /20 per region of the sandbox catalogue. */
const AUTO_RANGES: Record<string, string> = {
  'us-central1': '10.128.0.0/20', 'europe-west1': '10.132.0.0/20', 'us-west1': '10.138.0.0/20', 'us-east1': '10.142.0.0/20',
  'asia-southeast1': '10.148.0.0/20', 'us-east4': '10.150.0.0/20', 'europe-west3': '10.156.0.0/20', 'europe-north1': '10.166.0.0/20',
};

function createAutoSubnets(project: ProjectState, network: string, createdAtMs: number): void {
  for (const [r, range] of Object.entries(AUTO_RANGES)) {
    const cidr = parseCidr4(range);
    if (!cidr) continue;
    project.subnetworks.set(`${r}/${network}`, {
      id: newId(), createdAtMs, name: network, region: r, created: timestamp(), network, ipCidrRange: range, gatewayAddress: intToIp(cidr.base + 1),
      privateIpGoogleAccess: false, fingerprint: fingerprint(), auto: true, deleting: false,
    });
  }
}
