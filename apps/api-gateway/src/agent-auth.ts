import { ExecutionContext, createParamDecorator } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { NodeEntity, NodesRepository, hashToken, systemScope } from '@skyweave/persistence';
import { Problem } from './problem';

/** A node token names only its node: the node is found across organisations, then its token decides. */
const AGENT_AUTH = systemScope('agent authentication: a node token names only its node');

/**
 * The token of an `Authorization: Bearer <token>` header (the scheme in any case, RFC 7235 §2.1).
 * @throws Problem 401 when the header is missing or malformed.
 */
export function bearer(authorization: string | undefined): string {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!m) throw Problem.unauthorized('missing bearer token');
  return m[1];
}

/**
 * Authenticates a node-agent call by its node token (`swnt_…`, issued by `/register` in exchange for the bootstrap
 * token; only its SHA-256 is stored). @throws Problem 401 when the token is missing or not this node's.
 */
export async function authenticateNode(ds: DataSource, nodeId: string, authorization: string | undefined): Promise<NodeEntity> {
  const token = bearer(authorization);
  const node = await new NodesRepository(ds).findForAgent(AGENT_AUTH, nodeId);
  if (!node || !node.agentTokenHash || node.agentTokenHash !== hashToken(token)) throw Problem.unauthorized('invalid node token');
  return node;
}

/**
 * The calling node, authenticated by agentAuthentication (http-hardening.ts) before the body was read.
 * @throws Problem 401 when the route is not behind that middleware (no node on the request).
 */
export const AgentNode = createParamDecorator((_: unknown, ctx: ExecutionContext): NodeEntity => {
  const node = ctx.switchToHttp().getRequest<{ agentNode?: NodeEntity }>().agentNode;
  if (!node) throw Problem.unauthorized('invalid node token');
  return node;
});
