import express from 'express';
import { CLOUDS, isCloudId, CloudId } from '@skyweave/domain';
import type { CloudModule } from './types';
import { checkFaultSpec, FaultBook, SpecProblem } from './faults';
import { checkLatencyPatch, CloudLatency, LatencyProfile } from './latency';
import { ConsistencyBook, MAX_CONSISTENCY_DELAY_MS } from './consistency';
import type { CallCounter } from './calls';
import type { BootedVm } from './vm-runtime';
import type { SandboxKubernetes } from './kube';

export interface AdminDeps {
  modules: Record<CloudId, CloudModule>;
  faults: FaultBook;
  /** The shared latency profile (mutated in place). */
  latency: LatencyProfile;
  /** Per-cloud overrides (mutated in place); a cloud's value wins over the shared one. */
  cloudLatency: CloudLatency;
  consistency: ConsistencyBook;
  calls: CallCounter;
  vms: { list(): BootedVm[] };
  wan?: { setWanLatency(clouds: Record<string, number>, pairs?: Record<string, number>): Promise<void> };
  /** The sandbox's Kubernetes (core/kube.ts), when VMs run one. */
  kubernetes?: Pick<SandboxKubernetes, 'handleKubeadm' | 'controlPlanes' | 'setClockOffset' | 'clockOffsetSeconds'>;
}

/**
 * The sandbox's admin API (not part of any cloud). Bodies are JSON (`content-type: application/json`). Every refusal
 * is an RFC 9457 problem (`application/problem+json`, `{type, title, status, detail, "invalid-params"?: [{name,
 * reason}]}`) whose `detail` names the field and the rule it broke; `?cloud=` must be one of aws, gcp, azure,
 * digitalocean wherever it is accepted.
 *
 * Inventory and accounts
 * - `GET /admin/resources[?cloud=aws]` → 200 `{ resources: InventoryItem[], count }` — every live resource with its tags
 * - `POST /admin/accounts` `{cloud}` → 201 `{ credentials }` — a new sandbox account's credentials, in the cloud's shape
 *
 * Faults (each cloud answers them in its own shape: throttle ⇒ EC2 503 `RequestLimitExceeded`, GCP 403
 * `rateLimitExceeded` (domain `usageLimits`), Azure 429 `TooManyRequests` + `Retry-After` and
 * `x-ms-ratelimit-remaining-*`, DigitalOcean 429 `too_many_requests` + `ratelimit-limit/-remaining/-reset`;
 * server-error ⇒ EC2 500 `InternalError`, GCP 503 `backendError`, Azure 500 `InternalServerError`, DigitalOcean 500
 * `server_error`; quota and capacity in each cloud's own codes, on creates)
 * - `POST /admin/faults` `{cloud, op, kind, count}` — the next `count` (a positive integer) calls of `op` fail with
 *   `kind`; or `{cloud, op, kind, rate}` — every call of `op` fails with probability `rate` (0 < rate ≤ 1) until
 *   cleared. Exactly one of `count` / `rate`; `op` is an Operation (`network.create`, `subnet.create`,
 *   `firewall.create`, `gateway.create`, `instance.create`, `instance.boot`, `network.delete`, `instance.delete`,
 *   `read`) or `*`; `kind` is `throttle`, `server-error`, `quota` or `capacity`; no other fields. Several faults may
 *   match a call: they are tried in the order armed, each rate drawn independently, the first hit wins.
 *   → 201 `{ fault: {id, cloud, op, kind, count | rate} }`
 * - `GET /admin/faults[?cloud=aws]` → 200 `{ faults: [{id, cloud, op, kind, count (left) | rate}], count }`
 * - `DELETE /admin/faults[?cloud=aws]` → 204 — disarms all faults, or that cloud's
 *
 * Latency (milliseconds per Operation, 0 … 600000; a call waits its cloud's value if it has one, else the shared one)
 * - `PUT /admin/latency` `{op: ms, …}` → 200 the shared profile after the change (merged into it)
 * - `PUT /admin/latency?cloud=gcp` `{op: ms, …}` → 200 that cloud's overrides after the change (merged into them)
 * - `GET /admin/latency` → 200 `{ shared: {op: ms}, clouds: {gcp: {op: ms}, …} }`
 * - `DELETE /admin/latency?cloud=gcp` → 204 — drops that cloud's overrides (the shared profile applies again)
 *
 * Eventual consistency (a resource made less than `delayMs` ago, on the sandbox clock, is invisible to reads on its
 * cloud: get/describe by id answer the cloud's own not-found, lists and filters leave it out; mutations naming it and
 * the answer of the call that made it still see it)
 * - `PUT /admin/consistency` `{cloud, delayMs}` (0 … 3600000; 0 turns it off) → 200 `{ delayMs: {aws, gcp, azure, digitalocean} }`
 * - `GET /admin/consistency` → 200 `{ delayMs: {aws, gcp, azure, digitalocean} }`
 *
 * Call counter (every request reaching a cloud endpoint, by call name — see core/calls.ts for the names)
 * - `GET /admin/calls[?cloud=aws]` → 200 `{ calls: [{cloud, call, count}], total, byCloud: {aws: n, …}, unimplemented: [{cloud, call, count}] }`
 *   (`unimplemented`: calls of a real cloud API the sandbox answered 501, core/unimplemented.ts)
 * - `DELETE /admin/calls[?cloud=aws]` → 204 — resets all counts, or that cloud's
 *
 * VMs and the WAN
 * - `GET /admin/vms[?cloud=aws]` → `{ vms: { cloud, instanceId, privateIp, publicIp?, netns?, wireguardInterface?,
 *   networkError? }[], count }` — every booted (running, not stopped) VM. `netns` and `wireguardInterface` are set in
 *   the `netns` VM network, so a test can reach into a node (`ip netns exec <netns> …`).
 * - `PUT /admin/wan` `{clouds: {"aws|gcp": 3}, pairs?: {"<public ip>|<public ip>": 14}}` — round trips in milliseconds
 *   that the `netns` VM network's WAN relay adds between public addresses (409 in the `process` VM network).
 *
 * Instance prices (core/prices.ts; what the clouds' price APIs answer: AWS GetProducts, GCP Billing Catalog SKUs, Azure
 * Retail Prices, DigitalOcean `/v2/sizes`). `usdPerHour` is the on-demand Linux price, 0 < usd ≤ 1000.
 * - `PUT /admin/prices` `{cloud, region?, instanceType, usdPerHour}` → 200 `{cloud, changed: [{region, instanceType,
 *   usdPerHour, overridden}], note?}`. With `region`: that region's price; without: the reference region's (us-east-1,
 *   us-central1, eastus), which every region without its own override follows with its price factor. GCP prices
 *   vCPUs and memory, not machines: the machine type's family core and RAM SKUs (in the region's price location, or
 *   everywhere) are scaled so that this machine costs `usdPerHour` — its whole family changes in proportion.
 *   DigitalOcean prices sizes, not regions: `region` is refused there.
 * - `GET /admin/prices?cloud=aws[&region=eu-west-1]` → 200 `{cloud, region, referenceRegion, prices: [{region,
 *   instanceType, usdPerHour, overridden}], count}` — every priced type's effective price (default the reference region)
 * - `DELETE /admin/prices[?cloud=aws]` → 204 — back to the list prices
 *
 * Kubernetes (core/kube.ts; 404 when the sandbox runs none)
 * - `GET /admin/kubernetes` → 200 `{ controlPlanes: [{clusterName, caHash, kubernetesVersion, masters: [{nodeName,
 *   instanceId, advertiseAddress, url}], nodes: [name]}] }` — each cluster whose VMs ran `kubeadm init`, while a master lives
 * - `POST /admin/vm-kubeadm` `{argv}` (or `argv=…` form fields) with `authorization: Bearer <the VM's
 *   SKYWEAVE_SANDBOX_VM_TOKEN>` → 200 `{code, stdout, stderr}` (with `accept: text/plain`, as text: core/kubeadm-image.ts)
 *   — the VM image's kubeadm (core/kubeadm-image.ts, apps/kube-sandbox/src/kubeadm-main.ts); 401 for an unknown VM
 * - `PUT /admin/kubernetes/clock` `{offsetSeconds}` (0 … 20 years) → 200 `{offsetSeconds}` — the VMs' clock runs that far
 *   ahead of the host's, for kubeadm's token and certificate lifetimes (tests move time with it, with the platform's
 *   SKYWEAVE_CLOCK_OFFSET_SECONDS); `GET` → 200 `{offsetSeconds}`
 */
export function createAdminHandler(deps: AdminDeps): express.Express {
  const app = express();
  app.use(express.json());
  const TITLES: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error' };
  const problem = (res: express.Response, status: number, detail: string, field?: string) =>
    res.status(status).type('application/problem+json').send({
      type: 'about:blank',
      title: TITLES[status] ?? 'Error',
      status,
      detail,
      ...(field ? { 'invalid-params': [{ name: field, reason: detail }] } : {}),
    });
  const invalid = (res: express.Response, p: SpecProblem) => problem(res, 400, p.detail, p.field);
  /** `?cloud=`: undefined when absent; false (after answering 400) when not a cloud. */
  const cloudQuery = (req: express.Request, res: express.Response): CloudId | undefined | false => {
    const cloud = req.query.cloud;
    if (cloud === undefined) return undefined;
    if (isCloudId(cloud)) return cloud;
    problem(res, 400, `cloud must be one of ${CLOUDS.join(', ')} (got ${JSON.stringify(cloud)})`, 'cloud');
    return false;
  };

  app.get('/admin/resources', (req, res) => {
    const cloud = cloudQuery(req, res);
    if (cloud === false) return;
    const clouds = cloud ? [cloud] : CLOUDS;
    const resources = clouds.flatMap((c) => deps.modules[c].inventory());
    res.json({ resources, count: resources.length });
  });
  app.get('/admin/vms', (req, res) => {
    const cloud = cloudQuery(req, res);
    if (cloud === false) return;
    const vms = deps.vms.list().filter((v) => cloud === undefined || v.cloud === cloud);
    res.json({ vms, count: vms.length });
  });
  app.get('/admin/kubernetes', (_req, res) => {
    if (!deps.kubernetes) return problem(res, 404, 'this sandbox runs no Kubernetes (its VMs have no kubeadm)');
    res.json({ controlPlanes: deps.kubernetes.controlPlanes.list() });
  });
  app.get('/admin/kubernetes/clock', (_req, res) => {
    if (!deps.kubernetes) return problem(res, 404, 'this sandbox runs no Kubernetes (its VMs have no kubeadm)');
    res.json({ offsetSeconds: deps.kubernetes.clockOffsetSeconds });
  });
  app.put('/admin/kubernetes/clock', (req, res) => {
    if (!deps.kubernetes) return problem(res, 404, 'this sandbox runs no Kubernetes (its VMs have no kubeadm)');
    const offset: unknown = req.body?.offsetSeconds;
    if (typeof offset !== 'number' || !Number.isFinite(offset) || offset < 0 || offset > 20 * 365 * 86400) {
      return problem(res, 400, 'offsetSeconds must be a number of seconds from 0 to 20 years', 'offsetSeconds');
    }
    res.json({ offsetSeconds: deps.kubernetes.setClockOffset(offset) });
  });
  // the image's shell kubeadm sends its argv as form fields: the raw text, read in order by kubeadmArgv
  app.post('/admin/vm-kubeadm', express.text({ type: 'application/x-www-form-urlencoded', limit: '1mb' }), (req, res, next) => {
    if (!deps.kubernetes) return problem(res, 404, 'this sandbox runs no Kubernetes (its VMs have no kubeadm)');
    deps.kubernetes.handleKubeadm(req, res).catch(next);
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
    const cloud: unknown = req.body?.cloud;
    if (!isCloudId(cloud)) return problem(res, 400, `cloud must be one of ${CLOUDS.join(', ')} (got ${JSON.stringify(cloud)})`, 'cloud');
    res.status(201).json({ credentials: deps.modules[cloud].createAccount() });
  });
  app.post('/admin/faults', (req, res) => {
    const checked = checkFaultSpec(req.body);
    if ('problem' in checked) return invalid(res, checked.problem);
    res.status(201).json({ fault: deps.faults.add(checked.spec) });
  });
  app.get('/admin/faults', (req, res) => {
    const cloud = cloudQuery(req, res);
    if (cloud === false) return;
    const faults = deps.faults.list(cloud);
    res.json({ faults, count: faults.length });
  });
  app.delete('/admin/faults', (req, res) => {
    const cloud = cloudQuery(req, res);
    if (cloud === false) return;
    deps.faults.clear(cloud);
    res.status(204).end();
  });

  app.put('/admin/latency', (req, res) => {
    const cloud = cloudQuery(req, res);
    if (cloud === false) return;
    const checked = checkLatencyPatch(req.body);
    if ('problem' in checked) return invalid(res, checked.problem);
    const target = cloud === undefined ? deps.latency : (deps.cloudLatency[cloud] ??= {});
    Object.assign(target, checked.patch);
    res.json(target);
  });
  app.get('/admin/latency', (_req, res) => {
    res.json({ shared: deps.latency, clouds: deps.cloudLatency });
  });
  app.delete('/admin/latency', (req, res) => {
    const cloud = cloudQuery(req, res);
    if (cloud === false) return;
    if (cloud === undefined) return problem(res, 400, 'cloud is required: DELETE /admin/latency?cloud=<cloud> drops that cloud\'s overrides (change the shared profile with PUT)', 'cloud');
    delete deps.cloudLatency[cloud];
    res.status(204).end();
  });

  app.put('/admin/consistency', (req, res) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return problem(res, 400, 'body must be a JSON object {cloud, delayMs}', 'body');
    const { cloud, delayMs, ...rest } = body as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length) return problem(res, 400, `unknown field ${extra.map((k) => JSON.stringify(k)).join(', ')}: the fields are cloud, delayMs`, extra[0]);
    if (!isCloudId(cloud)) return problem(res, 400, `cloud must be one of ${CLOUDS.join(', ')} (got ${JSON.stringify(cloud)})`, 'cloud');
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0 || delayMs > MAX_CONSISTENCY_DELAY_MS) {
      return problem(res, 400, `delayMs must be a number of milliseconds, 0 … ${MAX_CONSISTENCY_DELAY_MS} (0 turns eventual consistency off; got ${JSON.stringify(delayMs)})`, 'delayMs');
    }
    deps.consistency.setDelay(cloud, delayMs);
    res.json({ delayMs: deps.consistency.settings() });
  });
  app.get('/admin/consistency', (_req, res) => {
    res.json({ delayMs: deps.consistency.settings() });
  });

  app.put('/admin/prices', (req, res) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return problem(res, 400, 'body must be a JSON object {cloud, region?, instanceType, usdPerHour}', 'body');
    const { cloud, region, instanceType, usdPerHour, ...rest } = body as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length) return problem(res, 400, `unknown field ${extra.map((k) => JSON.stringify(k)).join(', ')}: the fields are cloud, region, instanceType, usdPerHour`, extra[0]);
    if (!isCloudId(cloud)) return problem(res, 400, `cloud must be one of ${CLOUDS.join(', ')} (got ${JSON.stringify(cloud)})`, 'cloud');
    if (region !== undefined && (typeof region !== 'string' || region === '')) return problem(res, 400, `region must be a region name when given (got ${JSON.stringify(region)})`, 'region');
    if (typeof instanceType !== 'string' || instanceType === '') return problem(res, 400, `instanceType must be the cloud's instance type name (got ${JSON.stringify(instanceType)})`, 'instanceType');
    if (typeof usdPerHour !== 'number') return problem(res, 400, `usdPerHour must be a number of US dollars per hour (got ${JSON.stringify(usdPerHour)})`, 'usdPerHour');
    const admin = deps.modules[cloud].prices;
    if (!admin) return problem(res, 404, `the sandbox's ${cloud} has no price API`);
    const r = admin.set({ ...(region !== undefined ? { region: region as string } : {}), instanceType, usdPerHour });
    if (!r.ok) return problem(res, 400, r.detail, r.field);
    res.json({ cloud, changed: r.changed, ...(r.note ? { note: r.note } : {}) });
  });
  app.get('/admin/prices', (req, res) => {
    const cloud = cloudQuery(req, res);
    if (cloud === false) return;
    if (cloud === undefined) return problem(res, 400, 'cloud is required: GET /admin/prices?cloud=<cloud>[&region=<region>]', 'cloud');
    const admin = deps.modules[cloud].prices;
    if (!admin) return problem(res, 404, `the sandbox's ${cloud} has no price API`);
    const region = typeof req.query.region === 'string' ? req.query.region : undefined;
    const prices = admin.list(region);
    if (!prices) return problem(res, 400, `region ${JSON.stringify(region)} is not a region the sandbox's ${cloud} prices`, 'region');
    res.json({ cloud, region: region ?? admin.referenceRegion, referenceRegion: admin.referenceRegion, prices, count: prices.length });
  });
  app.delete('/admin/prices', (req, res) => {
    const cloud = cloudQuery(req, res);
    if (cloud === false) return;
    for (const c of cloud ? [cloud] : CLOUDS) deps.modules[c].prices?.reset();
    res.status(204).end();
  });

  app.get('/admin/calls', (req, res) => {
    const cloud = cloudQuery(req, res);
    if (cloud === false) return;
    res.json(deps.calls.snapshot(cloud));
  });
  app.delete('/admin/calls', (req, res) => {
    const cloud = cloudQuery(req, res);
    if (cloud === false) return;
    deps.calls.reset(cloud);
    res.status(204).end();
  });

  app.use((req: express.Request, res: express.Response) => {
    problem(res, 404, `no admin route ${req.method} ${req.path}`);
  });
  // Bodies that are not JSON, and anything unexpected, as problems too.
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const e = err as { type?: unknown; status?: unknown; message?: unknown };
    if (typeof e?.type === 'string' && e.type.startsWith('entity.')) return problem(res, typeof e.status === 'number' ? e.status : 400, `body must be valid JSON: ${String(e.message)}`, 'body');
    problem(res, 500, err instanceof Error ? err.message : String(err));
  });
  return app;
}
