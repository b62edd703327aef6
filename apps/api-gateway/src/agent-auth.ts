import { ExecutionContext, createParamDecorator } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { AgentApi, Subjects } from '@skyweave/contracts';
import { EventReason } from '@skyweave/domain';
import { NodeEntity, NodesRepository, Repositories, enqueue, hashToken, orgScope, recordEvent, systemScope } from '@skyweave/persistence';
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

/**
 * The node-agent version of an agent call (AgentApi.AGENT_VERSION_HEADER), or undefined when the agent sent none.
 * @throws Problem 400 `invalid-agent-version` when the header is not 1–64 characters of `[0-9A-Za-z.+-]` (or repeated).
 */
export function agentVersionOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string' || !AgentApi.AGENT_VERSION_PATTERN.test(header)) {
    throw new Problem(400, 'invalid-agent-version', 'Invalid agent version', `${AgentApi.AGENT_VERSION_HEADER} must be one value of 1-64 characters of [0-9A-Za-z.+-] (e.g. 0.1.0-1a2b3c4d5e6f)`,
      [{ field: AgentApi.AGENT_VERSION_HEADER, rule: 'matches', message: 'a node-agent version: 1-64 characters of [0-9A-Za-z.+-]' }]);
  }
  return header;
}

/**
 * Records the version an authenticated node's agent sent, when it differs from the node's recorded one: in one
 * transaction the node's `agentVersion`, the completion of its `upgrade-agent` operations to that version (an agent
 * that restarted on the new bundle before reporting proves the install by this header; idempotent), and — when it
 * replaced an earlier version — an `AgentVersionChanged` event and `cluster.changed`, so the reconciler moves the
 * rollout to the next node. Concurrent calls of the same agent change the row once. Updates `node.agentVersion`.
 */
export async function recordAgentVersion(ds: DataSource, node: NodeEntity, version: string): Promise<void> {
  if (node.agentVersion === version) return;
  const scope = orgScope(node.organisationId);
  const repos = new Repositories(ds);
  await ds.transaction(async (em) => {
    const before = await repos.nodes.recordAgentVersion(scope, node.id, version, em);
    if (before === undefined) return;
    const completed = await repos.operations.completeAgentUpgrades(scope, node.id, version, em);
    if (before === null && completed.length === 0) return;
    await recordEvent(em, {
      organisationId: node.organisationId, clusterId: node.clusterId, type: 'Normal', reason: EventReason.AgentVersionChanged, object: `node/${node.name}`,
      message: `${node.name}'s agent runs ${version}${before ? ` (was ${before})` : ''}${completed.length ? '; its agent upgrade is done' : ''}`,
    });
    await enqueue(em, Subjects.ClusterChanged, { organisationId: node.organisationId, clusterId: node.clusterId, reason: `agent of ${node.name} runs ${version}` });
  });
  node.agentVersion = version;
}
