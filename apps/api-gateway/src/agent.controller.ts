import { Body, Controller, Headers, HttpCode, Inject, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { DataSource } from 'typeorm';
import { ADDRESS_PLAN, JoinAction, JoinCandidate, decideJoin } from '@skyweave/domain';
import { AgentApi, Subjects } from '@skyweave/contracts';
import { ClusterEntity, NodeEntity, enqueue, hashToken, newToken, recordEvent } from '@skyweave/persistence';
import { RegisterNodeDto } from './dtos';
import { Problem } from './problem';
import { DATA_SOURCE, JOIN_LONG_POLL } from './tokens';

/** How long a `/join` answer of `wait` is held by default, and how often the decision is re-checked meanwhile (milliseconds). */
export const JOIN_LONG_POLL_MS = 10_000;
export const JOIN_POLL_MS = 200;

const bearer = (h: string | undefined): string => {
  const m = /^Bearer\s+(\S+)$/.exec(h ?? '');
  if (!m) throw Problem.unauthorized('missing bearer token');
  return m[1];
};

/**
 * The node call-back API (`/agent/v1`), used by node-agent on each VM (seed 003: control-plane nodes ask "when to
 * join"; nodes report "finished joining"). A node authenticates first with its one-time bootstrap token (valid
 * minutes, stored as a hash, scoped to that node), which is exchanged for a node credential.
 */
@ApiExcludeController()
@Controller('agent/v1/nodes/:nodeId')
export class AgentController {
  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource, @Inject(JOIN_LONG_POLL) private readonly longPollMs: number) {}

  /** Exchanges the bootstrap token for a node token. A used, expired or foreign token is 401. */
  @Post('register')
  @HttpCode(200)
  async register(@Param('nodeId', new ParseUUIDPipe()) nodeId: string, @Headers('authorization') auth: string | undefined, @Body() body: RegisterNodeDto): Promise<AgentApi.RegisterResponse> {
    const token = bearer(auth);
    const nodeToken = newToken('swnt');
    const node = await this.ds.transaction(async (em) => {
      const n = await em.getRepository(NodeEntity).findOne({ where: { id: nodeId }, lock: { mode: 'pessimistic_write' } });
      if (!n || !n.bootstrapTokenHash || n.bootstrapTokenHash !== hashToken(token)) throw Problem.unauthorized('invalid bootstrap token for this node');
      if (n.bootstrapTokenUsedAt) throw Problem.unauthorized('bootstrap token already used');
      if (!n.bootstrapTokenExpiresAt || n.bootstrapTokenExpiresAt.getTime() < Date.now()) throw Problem.unauthorized('bootstrap token expired');
      await em.getRepository(NodeEntity).update({ id: n.id }, {
        bootstrapTokenUsedAt: new Date(), agentTokenHash: hashToken(nodeToken), wireguardPublicKey: body.wireguardPublicKey ?? null,
        phase: n.phase === 'Booting' || n.phase === 'Launching' ? 'Registered' : n.phase,
      });
      await recordEvent(em, { organisationId: n.organisationId, clusterId: n.clusterId, reason: 'NodeRegistered', object: `node/${n.name}`, message: `${n.name} booted and registered` });
      await enqueue(em, Subjects.ClusterChanged, { organisationId: n.organisationId, clusterId: n.clusterId, reason: `node ${n.name} registered` });
      return n;
    });
    return { nodeToken, clusterId: node.clusterId, role: node.role, nodeName: node.name, wireguardAddress: node.wireguardAddress ?? '' };
  }

  /** Join ordering: the first master initialises; the others wait until it has joined, then join. */
  @Post('join')
  @HttpCode(200)
  async join(@Param('nodeId', new ParseUUIDPipe()) nodeId: string, @Headers('authorization') auth: string | undefined): Promise<AgentApi.JoinResponse> {
    const node = await this.authenticate(nodeId, auth);
    const cluster = await this.ds.getRepository(ClusterEntity).findOneByOrFail({ id: node.clusterId, organisationId: node.organisationId });
    const base = { kubernetesVersion: cluster.spec.kubernetesVersion, podSubnet: ADDRESS_PLAN.podSubnet, serviceSubnet: ADDRESS_PLAN.serviceSubnet };
    // Long poll: hold a `wait` answer until the decision changes or JOIN_LONG_POLL_MS passes, so a node joins within
    // JOIN_POLL_MS of the control plane coming up instead of after the agent's next poll.
    // The window is injected (JOIN_LONG_POLL), default JOIN_LONG_POLL_MS.
    const deadline = Date.now() + this.longPollMs;
    let all: NodeEntity[];
    let action: JoinAction;
    for (;;) {
      all = await this.ds.getRepository(NodeEntity).find({ where: { clusterId: node.clusterId, organisationId: node.organisationId } });
      action = decideJoin(node as JoinCandidate, all as JoinCandidate[]);
      if (action !== 'wait' || Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, JOIN_POLL_MS));
    }
    const first = all.find((n) => n.role === 'master' && n.ordinal === 0);
    if (action === 'wait') return { action, retryAfterSeconds: 0, ...base };
    if (node.phase === 'Registered') {
      await this.ds.transaction(async (em) => {
        await em.getRepository(NodeEntity).update({ id: node.id, phase: 'Registered' }, { phase: 'Joining' });
        await recordEvent(em, { organisationId: node.organisationId, clusterId: node.clusterId, reason: action === 'initialise' ? 'ControlPlaneInitialising' : 'NodeJoining', object: `node/${node.name}`, message: action === 'initialise' ? `${node.name} initialises the control plane` : `${node.name} joins the cluster` });
      });
    }
    return { action, controlPlaneEndpoint: first?.privateIp ? `${first.privateIp}:6443` : undefined, ...base };
  }

  @Post('joined')
  @HttpCode(204)
  async joined(@Param('nodeId', new ParseUUIDPipe()) nodeId: string, @Headers('authorization') auth: string | undefined): Promise<void> {
    const node = await this.authenticate(nodeId, auth);
    if (node.phase === 'Joined') return;
    if (node.phase !== 'Joining') throw new Problem(409, 'not-joining', 'Node is not joining', `node ${node.name} is ${node.phase}; ask /join first`);
    await this.ds.transaction(async (em) => {
      const res = await em.getRepository(NodeEntity).update({ id: node.id, phase: 'Joining' }, { phase: 'Joined', joinedAt: new Date() });
      if (!res.affected) return;
      await recordEvent(em, { organisationId: node.organisationId, clusterId: node.clusterId, reason: 'NodeJoined', object: `node/${node.name}`, message: `${node.role} ${node.name} joined` });
      await enqueue(em, Subjects.ClusterChanged, { organisationId: node.organisationId, clusterId: node.clusterId, reason: `node ${node.name} joined` });
    });
  }

  private async authenticate(nodeId: string, auth: string | undefined): Promise<NodeEntity> {
    const token = bearer(auth);
    const node = await this.ds.getRepository(NodeEntity).findOneBy({ id: nodeId });
    if (!node || !node.agentTokenHash || node.agentTokenHash !== hashToken(token)) throw Problem.unauthorized('invalid node token');
    return node;
  }
}
