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
 *   the `netns` VM network, so a test can reach into a node (`ip netns exec <netns> …`, e.g. `tc qdisc … netem`).
 */
export function createAdminHandler(deps: { modules: Record<CloudId, CloudModule>; faults: FaultBook; latency: LatencyProfile; vms: { list(): BootedVm[] } }): express.Express {
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
