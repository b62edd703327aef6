import { createHash } from 'node:crypto';
import { REGION_ZONES } from './catalog';
import { AGGREGATED_PARAMS, Call, LIST_PARAMS, OpTable, aggregated, list, region, visible } from './context';
import { link } from './util';

/**
 * Project-wide reads (https://cloud.google.com/compute/docs/reference/rest/v1/projects/get, …/addresses,
 * …/routes, …/routers). The sandbox reserves no static addresses and makes no Cloud Routers, so those lists are
 * empty, as in a fresh real project; routes are the system-generated ones every VPC network has: a default route to
 * the internet gateway per network and a subnet route per subnetwork.
 */

/** A system route's name: `default-route-` and 16 hex digits (stable for the route's target). */
const routeName = (key: string) => `default-route-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
const routeId = (key: string) => BigInt(`0x${createHash('sha256').update(`id:${key}`).digest('hex').slice(0, 15)}`).toString();

/** The system-generated routes of the project's networks (https://cloud.google.com/vpc/docs/routes#system-generated-routes). */
function systemRoutes(c: Call): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const n of visible(c, c.project.networks.values())) {
    const key = `${n.id}/internet`;
    out.push({
      kind: 'compute#route', id: routeId(key), creationTimestamp: n.created, name: routeName(key),
      description: 'Default route to the Internet.', network: link(c.project.id, `global/networks/${n.name}`),
      destRange: '0.0.0.0/0', priority: 1000, nextHopGateway: link(c.project.id, 'global/gateways/default-internet-gateway'),
      routeType: 'STATIC', selfLink: link(c.project.id, `global/routes/${routeName(key)}`),
    });
  }
  for (const s of visible(c, c.project.subnetworks.values())) {
    const key = `${s.id}/subnet`;
    out.push({
      kind: 'compute#route', id: routeId(key), creationTimestamp: s.created, name: routeName(key),
      description: `Default local route to the subnetwork ${s.ipCidrRange}.`, network: link(c.project.id, `global/networks/${s.network}`),
      destRange: s.ipCidrRange, priority: 0, nextHopNetwork: link(c.project.id, `global/networks/${s.network}`),
      routeType: 'SUBNET', selfLink: link(c.project.id, `global/routes/${routeName(key)}`),
    });
  }
  return out;
}

/** Project-wide reads, by call name. */
export const ACCOUNT_OPS: OpTable = {
  'projects.get': {
    method: 'GET', path: 'projects/{project}', op: 'read', permission: 'compute.projects.get',
    run: (c) => c.project.renderProject(),
  },
  'addresses.list': {
    method: 'GET', path: 'projects/{project}/regions/{region}/addresses', op: 'read', permission: 'compute.addresses.list', query: LIST_PARAMS,
    run: (c) => {
      const r = region(String(c.params.region));
      return list<Record<string, unknown>>(c, 'Address', [], (a) => a, 'compute#addressList', `regions/${r}/addresses`);
    },
  },
  'addresses.aggregatedList': {
    method: 'GET', path: 'projects/{project}/aggregated/addresses', op: 'read', permission: 'compute.addresses.list', query: AGGREGATED_PARAMS,
    run: (c) => aggregated(c, 'Address', [], () => '', Object.keys(REGION_ZONES).map((r) => `regions/${r}`), 'addresses', 'compute#addressAggregatedList', 'addresses'),
  },
  'routes.list': {
    method: 'GET', path: 'projects/{project}/global/routes', op: 'read', permission: 'compute.routes.list', query: LIST_PARAMS,
    run: (c) => list(c, 'Route', systemRoutes(c), (r) => r, 'compute#routeList', 'global/routes'),
  },
  'routers.list': {
    method: 'GET', path: 'projects/{project}/regions/{region}/routers', op: 'read', permission: 'compute.routers.list', query: LIST_PARAMS,
    run: (c) => {
      const r = region(String(c.params.region));
      return list<Record<string, unknown>>(c, 'Router', [], (x) => x, 'compute#routerList', `regions/${r}/routers`);
    },
  },
};
