import express, { type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { STATUS_CODES } from 'node:http';
import type { DataSource } from 'typeorm';
import { isUUID } from 'class-validator';
import { NodeEntity, NodesRepository, hashToken, systemScope } from '@skyweave/persistence';
import type { Logger } from '@skyweave/service-kit';
import { AgentApi } from '@skyweave/contracts';
import { agentVersionOf, authenticateNode, bearer, recordAgentVersion } from './agent-auth';
import { PROBLEM_BASE, Problem, problemBody, sendProblem } from './problem';

/** A bootstrap token names only its node: the node is found across organisations, then its token decides. */
const REGISTRATION = systemScope('agent registration: a bootstrap token names only its node');

/**
 * Deepest nesting of arrays and objects a request body may have (levels; `{"a":1}` is 1). Deeper bodies are refused
 * with 400 `body-too-deep` before any transformation: class-transformer recurses per level and overflows the stack
 * at a few thousand (issue 10, finding 2). Skyweave's own bodies are at most 3 levels deep.
 */
export const MAX_BODY_DEPTH = 32;

/** Largest request body, as for the Nest default (body-parser's 100 KiB). */
export const MAX_BODY_BYTES = '100kb';

/**
 * True when `value` nests arrays/objects more than `max` levels deep. Iterative (an explicit stack), so that the check
 * itself cannot overflow; stops at the first level beyond `max`.
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: { v: unknown; depth: number }[] = [{ v: value, depth: 0 }];
  while (stack.length) {
    const { v, depth } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push({ v: child, depth: depth + 1 });
    }
  }
  return false;
}

/** Problem types of body-parser failures (its `err.type`), by status. */
const PARSER_PROBLEMS: Record<number, string> = { 400: 'malformed-request', 413: 'payload-too-large', 415: 'unsupported-media-type' };

/**
 * The request body parsers of the gateway, in order: JSON and URL-encoded (100 KiB, as Nest's defaults), the nesting
 * check (400 `body-too-deep`, field `body`, rule `max-depth`), and an error handler that turns parser failures
 * (malformed JSON 400, too large 413, unsupported charset 415) into problem bodies. Mount after anything that must
 * run before the body is read (agent authentication).
 */
export function bodyParsers(): (RequestHandler | ErrorRequestHandler)[] {
  const depth: RequestHandler = (req, res, next) => {
    if (!nestedDeeperThan(req.body, MAX_BODY_DEPTH)) return next();
    const message = `the body nests arrays and objects more than ${MAX_BODY_DEPTH} levels deep`;
    sendProblem(res, req.originalUrl, 400, problemBody(new Problem(400, 'body-too-deep', 'Body nested too deeply', message, [{ field: 'body', rule: 'max-depth', message }])));
  };
  const errors: ErrorRequestHandler = (err: { status?: unknown; expose?: unknown; message?: unknown }, req, res, next) => {
    const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : undefined;
    if (status === undefined) return next(err);
    const detail = err.expose && typeof err.message === 'string' ? err.message : STATUS_CODES[status] ?? 'Bad request';
    sendProblem(res, req.originalUrl, status, { type: PROBLEM_BASE + (PARSER_PROBLEMS[status] ?? `http-${status}`), title: STATUS_CODES[status] ?? 'Error', status, detail });
  };
  return [express.json({ limit: MAX_BODY_BYTES }), express.urlencoded({ extended: true, limit: MAX_BODY_BYTES }), depth, errors];
}

/**
 * `Cache-Control: no-store` on every API answer (kubeconfigs with the admin key, node tokens, cluster PKI handed to
 * agents, and everything else an API key can read); the OpenAPI pages under `/docs` may be cached.
 */
export const noStore: RequestHandler = (req, res, next) => {
  if (!req.path.startsWith('/docs')) res.setHeader('cache-control', 'no-store');
  next();
};

/** What agentAuthentication puts on the request: the calling node's row, read when the call arrived. */
export interface AgentRequest { agentNode?: NodeEntity }

/**
 * Authenticates `/agent/v1/nodes/{nodeId}/…` before the body is read (issue 10, finding 2): a node token (`swnt_…`)
 * for every route, the node's bootstrap token for `/register` (which checks it again, with its expiry and single use,
 * under a row lock). Mount with the path `/agent/v1/nodes/:nodeId`, before bodyParsers(). Answers 400 when `nodeId`
 * is not a UUID, 401 (`WWW-Authenticate: Bearer`) when the token is missing or not this node's, 500 (logged) when the
 * database cannot be read, 400 `invalid-agent-version` when the `Skyweave-Agent-Version` header is malformed; records
 * that version when it changed (recordAgentVersion); otherwise sets
 * `req.agentNode` (see AgentNode) and continues.
 */
export function agentAuthentication(ds: DataSource, log: Logger): RequestHandler {
  return (req: Request & AgentRequest, res: Response, next: NextFunction) => {
    const nodeId = req.params.nodeId;
    const refuse = (p: Problem) => sendProblem(res, req.originalUrl, p.getStatus(), problemBody(p), p.headers);
    if (typeof nodeId !== 'string' || !isUUID(nodeId)) {
      refuse(new Problem(400, 'malformed-request', 'Bad Request', 'Validation failed (uuid is expected)', [{ field: 'nodeId', rule: 'isUuid', message: 'nodeId must be a node id (UUID)' }]));
      return;
    }
    const check = async (): Promise<void> => {
      if (req.path === '/register') {
        const token = bearer(req.headers.authorization);
        const n = await new NodesRepository(ds).findForAgent(REGISTRATION, nodeId);
        if (!n?.bootstrapTokenHash || n.bootstrapTokenHash !== hashToken(token)) throw Problem.unauthorized('invalid bootstrap token for this node');
        return;
      }
      const node = await authenticateNode(ds, nodeId, req.headers.authorization);
      // the agent's version on every node-token call: recorded when it changes (agent upgrades, agent-auth.ts)
      const version = agentVersionOf(req.headers[AgentApi.AGENT_VERSION_HEADER]);
      if (version !== undefined) await recordAgentVersion(ds, node, version);
      req.agentNode = node;
    };
    check().then(() => next(), (e: unknown) => {
      if (e instanceof Problem) return refuse(e);
      log.error({ err: (e as Error)?.message, method: req.method, url: req.originalUrl }, 'agent authentication failed');
      sendProblem(res, req.originalUrl, 500, { type: PROBLEM_BASE + 'internal', title: 'Internal error', status: 500, detail: 'An unexpected error occurred; it has been logged.' });
    });
  };
}
