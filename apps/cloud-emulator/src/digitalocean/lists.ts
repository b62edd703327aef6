import { notFound } from './errors';
import { page, RouteTable } from './context';

/**
 * Account-wide lists a real account answers, empty in the sandbox (which makes none of these resources): volumes,
 * load balancers, domains, reserved IPs (and their former name, floating IPs), snapshots and certificates. A get by id
 * answers 404 `not_found`, which is the truth here: the account holds no such resource.
 * Reference: https://docs.digitalocean.com/reference/api/api-reference/ (#tag/Block-Storage, #tag/Load-Balancers,
 * #tag/Domains, #tag/Reserved-IPs, #tag/Floating-IPs, #tag/Snapshots, #tag/Certificates)
 */
const EMPTY: Record<string, [listKey: string, itemParam: string]> = {
  volumes: ['volumes', 'id'],
  load_balancers: ['load_balancers', 'id'],
  domains: ['domains', 'name'],
  reserved_ips: ['reserved_ips', 'ip'],
  floating_ips: ['floating_ips', 'ip'],
  snapshots: ['snapshots', 'id'],
  certificates: ['certificates', 'id'],
};

export const LIST_ROUTES: RouteTable = Object.fromEntries(
  Object.entries(EMPTY).flatMap(([path, [key, param]]) => [
    [`GET /v2/${path}`, { op: 'read', run: (c) => page(c, key, [] as never[], (x) => x) }],
    [`GET /v2/${path}/:${param}`, { op: 'read', run: () => { throw notFound(); } }],
  ]),
) as RouteTable;
