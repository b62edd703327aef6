import { stampNow } from '../core/consistency';
import { REGION_ZONES } from './catalog';
import {
  AGGREGATED_PARAMS, Call, LIST_PARAMS, OpTable, aggregated, failureFor, list, networkByRef, networkGone, priorOperation, region, remember, seen, visible,
} from './context';
import { alreadyExists, invalid, invalidField, notFound, quotaFailure, required, resourceInUse, resourceNotReady } from './errors';
import { checkMessage } from './schema';
import { FirewallRec, NetworkRec, ProjectState, QUOTAS, SubnetRec } from './state';
import { cidrsOverlap, fingerprint, intToIp, lastSegment, later, newId, parseCidr4, timestamp } from './util';
import { checkDescription, checkEnum, checkInt, checkName, checkRanges, checkRules, checkServiceAccounts, checkTags } from './validate';

/**
 * VPC networks, subnetworks and firewall rules (https://cloud.google.com/compute/docs/reference/rest/v1/networks,
 * …/subnetworks, …/firewalls), and the `default` network a new project starts with.
 */

/** Validates a whole firewall resource (insert, or an existing one with a patch applied). */
function firewallFrom(c: Call, body: Record<string, unknown>): Omit<FirewallRec, 'id' | 'createdAtMs' | 'created' | 'busy' | 'deleting'> {
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
}

/**
 * Auto-mode subnet ranges (https://cloud.google.com/vpc/docs/subnets#ip-ranges): one /20 per region inside
 * 10.128.0.0/9, as Google assigns them to auto-mode networks (the `default` network included).
 */
export const AUTO_RANGES: Readonly<Record<string, string>> = {
  'us-central1': '10.128.0.0/20', 'europe-west1': '10.132.0.0/20', 'us-west1': '10.138.0.0/20', 'asia-east1': '10.140.0.0/20',
  'us-east1': '10.142.0.0/20', 'asia-northeast1': '10.146.0.0/20', 'asia-southeast1': '10.148.0.0/20', 'us-east4': '10.150.0.0/20',
  'australia-southeast1': '10.152.0.0/20', 'europe-west2': '10.154.0.0/20', 'europe-west3': '10.156.0.0/20', 'southamerica-east1': '10.158.0.0/20',
  'asia-south1': '10.160.0.0/20', 'northamerica-northeast1': '10.162.0.0/20', 'europe-west4': '10.164.0.0/20', 'europe-north1': '10.166.0.0/20',
  'us-west2': '10.168.0.0/20', 'asia-east2': '10.170.0.0/20', 'europe-west6': '10.172.0.0/20', 'asia-northeast2': '10.174.0.0/20',
  'asia-northeast3': '10.178.0.0/20', 'us-west3': '10.180.0.0/20', 'us-west4': '10.182.0.0/20', 'asia-southeast2': '10.184.0.0/20',
  'europe-central2': '10.186.0.0/20', 'northamerica-northeast2': '10.188.0.0/20', 'asia-south2': '10.190.0.0/20', 'australia-southeast2': '10.192.0.0/20',
  'southamerica-west1': '10.194.0.0/20', 'europe-west8': '10.198.0.0/20', 'europe-west9': '10.200.0.0/20', 'us-east5': '10.202.0.0/20',
  'europe-southwest1': '10.204.0.0/20', 'us-south1': '10.206.0.0/20', 'me-west1': '10.208.0.0/20', 'europe-west12': '10.210.0.0/20',
  'me-central1': '10.212.0.0/20', 'europe-west10': '10.214.0.0/20', 'me-central2': '10.216.0.0/20', 'africa-south1': '10.218.0.0/20',
  'northamerica-south1': '10.224.0.0/20', 'europe-north2': '10.226.0.0/20',
};

/** The subnetworks of an auto-mode network: one per region (`builtIn` when they belong to the project's `default` network). */
export function createAutoSubnets(project: ProjectState, network: string, createdAtMs: number, builtIn = false): void {
  for (const [r, range] of Object.entries(AUTO_RANGES)) {
    const cidr = parseCidr4(range);
    if (!cidr) continue;
    project.subnetworks.set(`${r}/${network}`, {
      id: newId(), createdAtMs, name: network, region: r, created: timestamp(), network, ipCidrRange: range, gatewayAddress: intToIp(cidr.base + 1),
      privateIpGoogleAccess: false, fingerprint: fingerprint(), auto: true, deleting: false, ...(builtIn ? { builtIn } : {}),
    });
  }
}

/**
 * The `default` network of a new project, as Compute makes it (https://cloud.google.com/vpc/docs/vpc#default-network):
 * auto mode, one subnet per region, and the firewall rules `default-allow-internal` (10.128.0.0/9, all tcp/udp/icmp,
 * priority 65534), `default-allow-ssh` (tcp:22), `default-allow-rdp` (tcp:3389) and `default-allow-icmp` from
 * 0.0.0.0/0. Marked `builtIn`: part of the project, not a leftover (inventory() leaves them out).
 */
export function createDefaultNetwork(project: ProjectState): void {
  const createdAtMs = 0;
  const created = project.created;
  project.networks.set('default', {
    id: newId(), createdAtMs, name: 'default', created, description: 'Default network for the project', auto: true, routingMode: 'REGIONAL', mtu: 1460,
    deleting: false, builtIn: true,
  });
  createAutoSubnets(project, 'default', createdAtMs, true);
  const rule = (name: string, description: string, allowed: FirewallRec['allowed'], sourceRanges: string[], priority = 65534): FirewallRec => ({
    id: newId(), createdAtMs, name, created, description, network: 'default', priority, direction: 'INGRESS', sourceRanges, allowed,
    disabled: false, logEnabled: false, busy: false, deleting: false, builtIn: true,
  });
  for (const f of [
    rule('default-allow-internal', 'Allow internal traffic on the default network', [{ IPProtocol: 'tcp', ports: ['0-65535'] }, { IPProtocol: 'udp', ports: ['0-65535'] }, { IPProtocol: 'icmp' }], ['10.128.0.0/9']),
    rule('default-allow-ssh', 'Allow SSH from anywhere', [{ IPProtocol: 'tcp', ports: ['22'] }], ['0.0.0.0/0']),
    rule('default-allow-rdp', 'Allow RDP from anywhere', [{ IPProtocol: 'tcp', ports: ['3389'] }], ['0.0.0.0/0']),
    rule('default-allow-icmp', 'Allow ICMP from anywhere', [{ IPProtocol: 'icmp' }], ['0.0.0.0/0']),
  ]) project.firewalls.set(f.name, f);
}

/** Networks, subnetworks and firewalls, by call name. */
export const NETWORK_OPS: OpTable = {
  'networks.get': {
    method: 'GET', path: 'projects/{project}/global/networks/{network}', op: 'read', permission: 'compute.networks.get',
    run: (c) => {
      const n = c.project.networks.get(String(c.params.network));
      if (!n || !seen(c, n)) throw notFound(`projects/${c.project.id}/global/networks/${String(c.params.network)}`);
      return c.project.renderNetwork(n);
    },
  },
  'networks.list': {
    method: 'GET', path: 'projects/{project}/global/networks', op: 'read', permission: 'compute.networks.list', query: LIST_PARAMS,
    run: (c) => list(c, 'Network', visible(c, c.project.networks.values()), (n) => c.project.renderNetwork(n), 'compute#networkList', 'global/networks'),
  },
  'networks.insert': {
    method: 'POST', path: 'projects/{project}/global/networks', op: 'network.create', permission: 'compute.networks.create', query: ['requestId'],
    run: (c) => {
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
      const rec: NetworkRec = { id: newId(), createdAtMs: stampNow(c.shared.ctx), name, created: timestamp(), description, auto, routingMode, mtu, deleting: false };
      const op = c.project.startOperation({ kind: 'global' }, 'insert', path, rec.id);
      remember(c, op);
      c.project.pending.add(path);
      later(c.shared.ctx.latencyMs('network.create'), () => {
        c.project.pending.delete(path);
        if (!failure) {
          rec.createdAtMs = stampNow(c.shared.ctx);
          c.project.networks.set(name, rec);
          if (auto) createAutoSubnets(c.project, name, rec.createdAtMs);
        }
        c.project.finishOperation(op, failure);
      });
      return op.json;
    },
  },
  'networks.delete': {
    method: 'DELETE', path: 'projects/{project}/global/networks/{network}', op: 'network.delete', permission: 'compute.networks.delete', query: ['requestId'],
    run: (c) => {
      const prior = priorOperation(c);
      if (prior) return prior.json;
      const name = String(c.params.network);
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
      later(c.shared.ctx.latencyMs('network.delete'), () => {
        c.project.networks.delete(name);
        for (const [k, s] of c.project.subnetworks) if (s.network === name) c.project.subnetworks.delete(k);
        c.project.finishOperation(op);
      });
      return op.json;
    },
  },
  'subnetworks.get': {
    method: 'GET', path: 'projects/{project}/regions/{region}/subnetworks/{subnetwork}', op: 'read', permission: 'compute.subnetworks.get', query: ['views'],
    run: (c) => {
      const r = region(String(c.params.region));
      const s = c.project.subnetworks.get(`${r}/${String(c.params.subnetwork)}`);
      if (!s || !seen(c, s)) throw notFound(`projects/${c.project.id}/regions/${r}/subnetworks/${String(c.params.subnetwork)}`);
      return c.project.renderSubnetwork(s);
    },
  },
  'subnetworks.list': {
    method: 'GET', path: 'projects/{project}/regions/{region}/subnetworks', op: 'read', permission: 'compute.subnetworks.list', query: [...LIST_PARAMS, 'views'],
    run: (c) => {
      const r = region(String(c.params.region));
      const items = visible(c, c.project.subnetworks.values()).filter((s) => s.region === r);
      return list(c, 'Subnetwork', items, (s) => c.project.renderSubnetwork(s), 'compute#subnetworkList', `regions/${r}/subnetworks`);
    },
  },
  'subnetworks.aggregatedList': {
    method: 'GET', path: 'projects/{project}/aggregated/subnetworks', op: 'read', permission: 'compute.subnetworks.list', query: [...AGGREGATED_PARAMS, 'views'],
    run: (c) => {
      const rows = visible(c, c.project.subnetworks.values()).map((s) => c.project.renderSubnetwork(s));
      const scopeOf = (r: Record<string, unknown>) => `regions/${lastSegment(String(r.region))}`;
      return aggregated(c, 'Subnetwork', rows, scopeOf, Object.keys(REGION_ZONES).map((r) => `regions/${r}`), 'subnetworks', 'compute#subnetworkAggregatedList', 'subnetworks');
    },
  },
  'subnetworks.insert': {
    method: 'POST', path: 'projects/{project}/regions/{region}/subnetworks', op: 'subnet.create', permission: 'compute.subnetworks.create', query: ['requestId'],
    run: (c) => {
      const r = region(String(c.params.region));
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
        id: newId(), createdAtMs: stampNow(c.shared.ctx), name, region: r, created: timestamp(), description, network: network.name, ipCidrRange: cidrText,
        gatewayAddress: intToIp(cidr.base + 1), privateIpGoogleAccess: body.privateIpGoogleAccess === true, fingerprint: fingerprint(),
        auto: false, deleting: false,
      };
      const op = c.project.startOperation({ kind: 'region', region: r }, 'insert', path, rec.id);
      remember(c, op);
      c.project.pending.add(path);
      later(c.shared.ctx.latencyMs('subnet.create'), () => {
        c.project.pending.delete(path);
        const gone = c.project.networks.has(network.name) ? undefined : networkGone(c.project.id, network.name);
        if (!failure && !gone) {
          rec.createdAtMs = stampNow(c.shared.ctx);
          c.project.subnetworks.set(`${r}/${name}`, rec);
        }
        c.project.finishOperation(op, failure ?? gone);
      });
      return op.json;
    },
  },
  'subnetworks.delete': {
    method: 'DELETE', path: 'projects/{project}/regions/{region}/subnetworks/{subnetwork}', op: 'network.delete', permission: 'compute.subnetworks.delete', query: ['requestId'],
    run: (c) => {
      const r = region(String(c.params.region));
      const prior = priorOperation(c);
      if (prior) return prior.json;
      const name = String(c.params.subnetwork);
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
      later(c.shared.ctx.latencyMs('network.delete'), () => {
        c.project.subnetworks.delete(`${r}/${name}`);
        c.project.finishOperation(op);
      });
      return op.json;
    },
  },
  'firewalls.get': {
    method: 'GET', path: 'projects/{project}/global/firewalls/{firewall}', op: 'read', permission: 'compute.firewalls.get',
    run: (c) => {
      const f = c.project.firewalls.get(String(c.params.firewall));
      if (!f || !seen(c, f)) throw notFound(`projects/${c.project.id}/global/firewalls/${String(c.params.firewall)}`);
      return c.project.renderFirewall(f);
    },
  },
  'firewalls.list': {
    method: 'GET', path: 'projects/{project}/global/firewalls', op: 'read', permission: 'compute.firewalls.list', query: LIST_PARAMS,
    run: (c) => list(c, 'Firewall', visible(c, c.project.firewalls.values()), (f) => c.project.renderFirewall(f), 'compute#firewallList', 'global/firewalls'),
  },
  'firewalls.insert': {
    method: 'POST', path: 'projects/{project}/global/firewalls', op: 'firewall.create', permission: 'compute.firewalls.create', query: ['requestId'],
    run: (c) => {
      const prior = priorOperation(c);
      if (prior) return prior.json;
      const fields = firewallFrom(c, checkMessage('Firewall', c.req.body));
      const path = `global/firewalls/${fields.name}`;
      if (c.project.firewalls.has(fields.name) || c.project.pending.has(path)) throw alreadyExists(`projects/${c.project.id}/${path}`);
      let failure = failureFor(c, 'FIREWALLS', QUOTAS.FIREWALLS, undefined, 'global');
      if (!failure && c.project.firewalls.size >= QUOTAS.FIREWALLS) failure = quotaFailure('FIREWALLS', QUOTAS.FIREWALLS, undefined);
      const rec: FirewallRec = { id: newId(), createdAtMs: stampNow(c.shared.ctx), created: timestamp(), busy: false, deleting: false, ...fields };
      const op = c.project.startOperation({ kind: 'global' }, 'insert', path, rec.id);
      remember(c, op);
      c.project.pending.add(path);
      later(c.shared.ctx.latencyMs('firewall.create'), () => {
        c.project.pending.delete(path);
        const gone = c.project.networks.has(rec.network) ? undefined : networkGone(c.project.id, rec.network);
        if (!failure && !gone) {
          rec.createdAtMs = stampNow(c.shared.ctx);
          c.project.firewalls.set(rec.name, rec);
        }
        c.project.finishOperation(op, failure ?? gone);
      });
      return op.json;
    },
  },
  'firewalls.patch': {
    method: 'PATCH', path: 'projects/{project}/global/firewalls/{firewall}', op: 'firewall.create', permission: 'compute.firewalls.update', query: ['requestId'],
    run: (c) => {
      const prior = priorOperation(c);
      if (prior) return prior.json;
      const name = String(c.params.firewall);
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
      later(c.shared.ctx.latencyMs('firewall.create'), () => {
        existing.busy = false;
        if (c.project.firewalls.get(name) === existing) Object.assign(existing, fields);
        c.project.finishOperation(op);
      });
      return op.json;
    },
  },
  'firewalls.delete': {
    method: 'DELETE', path: 'projects/{project}/global/firewalls/{firewall}', op: 'network.delete', permission: 'compute.firewalls.delete', query: ['requestId'],
    run: (c) => {
      const prior = priorOperation(c);
      if (prior) return prior.json;
      const name = String(c.params.firewall);
      const path = `projects/${c.project.id}/global/firewalls/${name}`;
      const f = c.project.firewalls.get(name);
      if (!f) throw notFound(path);
      if (f.deleting || f.busy) throw resourceNotReady(path);
      f.deleting = true;
      const op = c.project.startOperation({ kind: 'global' }, 'delete', `global/firewalls/${name}`, f.id);
      remember(c, op);
      later(c.shared.ctx.latencyMs('network.delete'), () => {
        c.project.firewalls.delete(name);
        c.project.finishOperation(op);
      });
      return op.json;
    },
  },
};
