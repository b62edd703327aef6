import express from 'express';
import { CLOUDS, isCloudId, CloudId } from '@skyweave/domain';
import type { CloudModule, FaultKind, Operation } from './types';
import type { FaultBook } from './faults';
import type { LatencyProfile } from './latency';
import type { BootedVm } from './vm-runtime';

const FAULT_KINDS: FaultKind[] = ['throttle', 'server-error', 'quota', 'capacity'];

/**
 * The sandbox's admin API (not part of any cloud):
 * - `GET /admin/resources[?cloud=aws]` → `{ resources: InventoryItem[], count }` — every live resource with its tags
 * - `POST /admin/accounts` `{cloud}` → `{ credentials }` — a new sandbox account's credentials, in the cloud's shape
 * - `POST /admin/faults` `{cloud, op, kind, count}` — the next `count` calls of `op` fail with `kind`
 * - `DELETE /admin/faults` — disarm all; `PUT /admin/latency` `{op: ms}` — change latencies
 * - `GET /admin/vms[?cloud=aws]` → `{ vms: { cloud, instanceId, privateIp, publicIp?, netns?, wireguardInterface?,
 *   networkError? }[], count }` — every booted (running, not stopped) VM. `netns` and `wireguardInterface` are set in
 *   the `netns` VM network, so a test can reach into a node (`ip netns exec <netns> …`).
 * - `PUT /admin/wan` `{clouds: {"aws|gcp": 3}, pairs?: {"<public ip>|<public ip>": 14}}` — round trips in milliseconds
 *   that the `netns` VM network's WAN relay adds between public addresses (409 in the `process` VM network).
 */
export function createAdminHandler(deps: { modules: Record<CloudId, CloudModule>; faults: FaultBook; latency: LatencyProfile; vms: { list(): BootedVm[] }; wan?: { setWanLatency(clouds: Record<string, number>, pairs?: Record<string, number>): Promise<void> } }): express.Express {
  const app = express();
  app.use(express.json());
  const problem = (res: express.Response, status: number, detail: string) =>
    res.status(status).type('application/problem+json').send({ type: 'about:blank', title: 'Bad Request', status, detail });

  app.get('/admin/resources', (req, res) => {
    const cloud = req.query.cloud;
    if (cloud !== undefined && !isCloudId(cloud)) return problem(res, 400, `cloud must be one of ${CLOUDS.join(', ')}`);
    const clouds = cloud ? [cloud] : CLOUDS;
    const resources = clouds.flatMap((c) => deps.modules[c].inventory());
    res.json({ resources, count: resources.length });
  });
  app.get('/admin/vms', (req, res) => {
    const cloud = req.query.cloud;
    if (cloud !== undefined && !isCloudId(cloud)) return problem(res, 400, `cloud must be one of ${CLOUDS.join(', ')}`);
    const vms = deps.vms.list().filter((v) => cloud === undefined || v.cloud === cloud);
    res.json({ vms, count: vms.length });
  });
  app.put('/admin/wan', (req, res) => {
    const { clouds, pairs } = (req.body ?? {}) as { clouds?: unknown; pairs?: unknown };
    const valid = (o: unknown, key: RegExp) => o === undefined || (typeof o === 'object' && o !== null && !Array.isArray(o) &&
      Object.entries(o).every(([k, v]) => key.test(k) && typeof v === 'number' && v >= 0 && v <= 10_000));
    const ip = '\\d+\\.\\d+\\.\\d+\\.\\d+';
    if (!valid(clouds, new RegExp(`^(${CLOUDS.join('|')})\\|(${CLOUDS.join('|')})$`))) return problem(res, 400, 'clouds must map "<cloud>|<cloud>" to a round trip in milliseconds (0–10000)');
    if (!valid(pairs, new RegExp(`^${ip}\\|${ip}$`))) return problem(res, 400, 'pairs must map "<public ip>|<public ip>" to a round trip in milliseconds (0–10000)');
    if (!deps.wan) return problem(res, 409, 'the WAN relay exists only in the netns VM network (--vm-network netns)');
    deps.wan.setWanLatency((clouds ?? {}) as Record<string, number>, (pairs ?? {}) as Record<string, number>).then(
      () => res.status(204).end(),
      (e: Error) => problem(res, 500, e.message),
    );
  });
  app.post('/admin/accounts', (req, res) => {
    const cloud = req.body?.cloud;
    if (!isCloudId(cloud)) return problem(res, 400, `cloud must be one of ${CLOUDS.join(', ')}`);
    res.status(201).json({ credentials: deps.modules[cloud].createAccount() });
  });
  app.post('/admin/faults', (req, res) => {
    const { cloud, op, kind, count } = req.body ?? {};
    if (!isCloudId(cloud)) return problem(res, 400, `cloud must be one of ${CLOUDS.join(', ')}`);
    if (!FAULT_KINDS.includes(kind)) return problem(res, 400, `kind must be one of ${FAULT_KINDS.join(', ')}`);
    if (typeof op !== 'string') return problem(res, 400, 'op is required (an operation name or *)');
    deps.faults.arm({ cloud, op: op as Operation | '*', kind, count: typeof count === 'number' ? count : 1 });
    res.status(204).end();
  });
  app.delete('/admin/faults', (_req, res) => {
    deps.faults.clear();
    res.status(204).end();
  });
  app.put('/admin/latency', (req, res) => {
    for (const [k, v] of Object.entries(req.body ?? {})) if (typeof v === 'number' && v >= 0) deps.latency[k as Operation] = v;
    res.json(deps.latency);
  });
  return app;
}
