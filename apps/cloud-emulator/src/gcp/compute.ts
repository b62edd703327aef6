import express from 'express';
import type { Request, Response } from 'express';
import type { FaultKind, Operation } from '../core/types';
import { ACCOUNT_OPS } from './account';
import { CATALOG_OPS } from './catalog-api';
import { PUBLIC_IMAGE_PROJECTS } from './catalog';
import type { Call, GcpShared, OpDef, OpTable } from './context';
import { backendError, forbidden, invalidField, quotaExceeded, rateLimitExceeded, unknownQueryParam } from './errors';
import { INSTANCE_OPS } from './instances';
import { NETWORK_OPS } from './networks';
import { OPERATION_OPS } from './operations';

/**
 * Every Compute v1 method the sandbox serves, keyed by its name in the REST reference (`<collection>.<method>`;
 * https://cloud.google.com/compute/docs/reference/rest/v1), each with its HTTP verb and path template. The key is the
 * call name counted at `/admin/calls` (core/calls.ts).
 */
export const COMPUTE_OPERATIONS: OpTable = { ...ACCOUNT_OPS, ...CATALOG_OPS, ...OPERATION_OPS, ...NETWORK_OPS, ...INSTANCE_OPS };

/** Query parameters every Google API accepts (system parameters). */
const SYSTEM_PARAMS = new Set(['$alt', 'alt', '$prettyPrint', 'prettyPrint', 'fields', '$fields', 'quotaUser', 'key', 'access_token', 'oauth_token', '$.xgafv', 'callback', '$callback', 'upload_protocol', 'uploadType', 'userIp', 'userProject']);
const CREATE_OPS: Operation[] = ['network.create', 'subnet.create', 'firewall.create', 'gateway.create', 'instance.create'];

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** An injected fault, as Compute answers it: throttle ⇒ 403 `rateLimitExceeded`, server error ⇒ 503; creates carry quota/capacity into their operation. */
function faultFor(f: FaultKind, op: Operation, projectNumber: string): Call['fault'] {
  if (f === 'throttle') throw rateLimitExceeded(projectNumber, op === 'read' ? 'Read requests' : 'Write requests');
  if (f === 'server-error') throw backendError();
  if (CREATE_OPS.includes(op)) return f;
  if (f === 'quota') throw quotaExceeded(`Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute' of service 'compute.googleapis.com' for consumer 'project_number:${projectNumber}'.`);
  throw backendError();
}

/**
 * Compute Engine v1, mounted under `/compute/v1`: one route per entry of {@link COMPUTE_OPERATIONS}. Each call is
 * counted, authenticated (bearer token of the path's project; public image projects are readable by every caller for
 * `publicProject` methods), its query checked against the method's parameters, faults applied, then its handler
 * answers 200 with the JSON it returns. Other paths fall through to index.ts: a real Compute method the table lacks
 * answers 501 (`ctx.unimplemented`), any other path Google's 404.
 */
export function createComputeRouter(shared: GcpShared): express.Router {
  const { ctx, auth, projects } = shared;
  const router = express.Router();

  const handler = (name: string, def: OpDef) => async (req: Request, res: Response) => {
    if (!res.locals.callCounted) {
      res.locals.callCounted = true;
      ctx.countCall?.('gcp', name);
    }
    const account = auth.authenticate(req.headers, def.op === 'read');
    const projectId = String(req.params.project);
    const own = projects.get(account.projectId);
    const isPublic = def.publicProject === true && PUBLIC_IMAGE_PROJECTS.includes(projectId);
    const project = isPublic ? own : projects.get(projectId);
    if (!project || project.account !== account) throw forbidden(def.permission, `projects/${projectId}`);
    const query: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.query as Record<string, unknown>)) {
      const qn = SYSTEM_PARAMS.has(k) ? k : camel(k);
      if (!SYSTEM_PARAMS.has(qn) && !(def.query ?? []).includes(qn)) throw unknownQueryParam(k);
      if (typeof v !== 'string') throw invalidField(qn, JSON.stringify(v), 'Must be a single value.');
      query[qn] = v;
    }
    const f = ctx.takeFault('gcp', def.op);
    const fault = f ? faultFor(f, def.op, account.projectNumber) : undefined;
    if (def.op === 'read') await ctx.delay('read');
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.params)) params[k] = String(v);
    const body = await def.run({ req, params, projectId, project, query, fault, shared });
    res.status(200).json(body);
  };

  for (const [name, def] of Object.entries(COMPUTE_OPERATIONS)) {
    const path = `/${def.path.replace(/\{([A-Za-z]+)\}/g, ':$1')}`;
    const verb = def.method.toLowerCase() as 'get' | 'post' | 'delete' | 'patch';
    router[verb](path, handler(name, def));
  }

  return router;
}
