import { Body, Controller, Headers, HttpCode, Inject, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { NodeRoute } from './access';
import { ApiExcludeController } from '@nestjs/swagger';
import type { DataSource } from 'typeorm';
import { ADDRESS_PLAN, EventReason, JoinAction, JoinCandidate, decideJoin, findRegion } from '@skyweave/domain';
import { AgentApi, Subjects } from '@skyweave/contracts';
import { ChangeFeed, LifecycleRepository, NodeEntity, Repositories, SecretBox, enqueue, hashToken, newToken, orgScope, recordEvent, systemScope } from '@skyweave/persistence';
import { RegisterNodeDto } from './dtos';
import { Problem } from './problem';
import { AgentNode, bearer } from './agent-auth';
import { LongPolls } from './long-polls';
import { meshConfigFor, readMeshRows } from './mesh-config';
import { CHANGE_FEED, DATA_SOURCE, JOIN_LONG_POLL, JOIN_SECRETS, LONG_POLLS, PKI_CLOCK, SECRET_BOX } from './tokens';
import { ClusterApiUnavailable, JoinSecrets } from './join-secrets';
import { adminCredential } from './admin-credential';
import { CONTROL_PLANE_HOST, clusterConfiguration, controlPlaneEndpoint, initConfiguration, joinConfiguration, nodeLabels, pkiFiles, renderKubeadmConfig } from '@skyweave/bootstrap';
import {
  apiServerCertificateFits, apiServerSans, caCertHash, fromPkiColumn, issueApiServerCertificate, openPkiSecrets, sealPkiSecrets, toPkiColumn,
} from '@skyweave/bootstrap';

/**
 * How long a `/join` answer of `wait` is held by default (milliseconds). Meanwhile the decision is re-checked when a
 * node of the cluster changes (ChangeFeed: PostgreSQL NOTIFY from triggers), and at the latest every ChangeFeed
 * safety interval.
 */
export const JOIN_LONG_POLL_MS = 10_000;

/** `/register` names only its node: the node is found across organisations, then its bootstrap token decides. */
const REGISTRATION = systemScope('agent registration: a bootstrap token names only its node');

/**
 * Whether `/join` may answer `node` with join secrets: only while it has not joined (phase `Registered` or `Joining`).
 * @throws Problem 409 `already-joined` for a node that has joined, `not-joinable` for any other phase.
 */
function assertJoinable(node: Pick<NodeEntity, 'name' | 'phase'>): void {
  if (node.phase === 'Registered' || node.phase === 'Joining') return;
  if (node.phase === 'Joined') {
    throw new Problem(409, 'already-joined', 'Node already joined', `node ${node.name} has joined the cluster; join secrets are handed out only before a node joins`);
  }
  throw new Problem(409, 'not-joinable', 'Node cannot join', `node ${node.name} is ${node.phase}; only a registered node that has not joined may ask to join`);
}

/**
 * The node call-back API (`/agent/v1`), used by node-agent on each VM (seed 003: control-plane nodes ask "when to
 * join"; nodes report "finished joining"). A node authenticates first with its one-time bootstrap token (valid
 * minutes, stored as a hash, scoped to that node), which is exchanged for a node credential.
 */
@ApiExcludeController()
@NodeRoute()
@Controller('agent/v1/nodes/:nodeId')
export class AgentController {
  private readonly repos: Repositories;

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(JOIN_LONG_POLL) private readonly longPollMs: number,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    @Inject(CHANGE_FEED) private readonly feed: ChangeFeed,
    @Inject(LONG_POLLS) private readonly polls: LongPolls,
    @Inject(JOIN_SECRETS) private readonly joinSecrets: JoinSecrets,
    @Inject(PKI_CLOCK) private readonly pkiClock: () => number,
  ) {
    this.repos = new Repositories(ds);
  }

  /**
   * Exchanges the bootstrap token for a node token, and answers the node's first mesh configuration. A used, expired
   * or foreign token is 401, except a retry by the agent that used it (the same `registrationId`) while the node is
   * still `Registered`: its first answer was lost, and it gets a new node token.
   */
  @Post('register')
  @HttpCode(200)
  async register(@Param('nodeId', new ParseUUIDPipe()) nodeId: string, @Headers('authorization') auth: string | undefined, @Body() body: RegisterNodeDto): Promise<AgentApi.RegisterResponse> {
    const token = bearer(auth);
    const nodeToken = newToken('swnt');
    const node = await this.ds.transaction(async (em) => {
      const n = await this.repos.nodes.findForAgent(REGISTRATION, nodeId, em, { lock: true });
      if (!n || !n.bootstrapTokenHash || n.bootstrapTokenHash !== hashToken(token)) throw Problem.unauthorized('invalid bootstrap token for this node');
      if (!n.bootstrapTokenExpiresAt || n.bootstrapTokenExpiresAt.getTime() < Date.now()) throw Problem.unauthorized('bootstrap token expired');
      const scope = orgScope(n.organisationId);
      if (n.bootstrapTokenUsedAt) {
        // Used: only the agent that used it may ask again (its answer was lost: the gateway died after the commit),
        // proven by its registration id, and only until the node asks to join. It gets a new node token in place of
        // the one it never received; nothing else changes (no event, no phase move).
        const sameAgent = !!body.registrationId && n.registrationIdHash === hashToken(body.registrationId);
        if (!sameAgent || n.phase !== 'Registered') throw Problem.unauthorized('bootstrap token already used');
        await this.repos.nodes.update(scope, n.id, { agentTokenHash: hashToken(nodeToken) }, em);
        return n;
      }
      await this.repos.nodes.update(scope, n.id, {
        bootstrapTokenUsedAt: new Date(), bootstrapTokenSealed: null, agentTokenHash: hashToken(nodeToken), wireguardPublicKey: body.wireguardPublicKey ?? null,
        registrationIdHash: body.registrationId ? hashToken(body.registrationId) : null,
        // the cloud's answer (recorded at launch) wins; the agent's own view fills in when it booted first
        ...(n.privateIp ? {} : { privateIp: body.privateIp ?? null }), ...(n.publicIp ? {} : { publicIp: body.publicIp ?? null }),
      }, em);
      // Launching (its agent called before the cloud's answer was recorded) or Booting → Registered; later phases stay
      await new LifecycleRepository(em).moveNode(scope, n, 'Registered', { from: ['Launching', 'Booting'] });
      await recordEvent(em, { organisationId: n.organisationId, clusterId: n.clusterId, reason: EventReason.NodeRegistered, object: `node/${n.name}`, message: `${n.name} booted and registered` });
      await enqueue(em, Subjects.ClusterChanged, { organisationId: n.organisationId, clusterId: n.clusterId, reason: `node ${n.name} registered` });
      return n;
    });
    // the first mesh configuration in the same answer: the agent needs it before it can ask to join (one round trip
    // less on every node's way to Ready; over a WAN that is tens of milliseconds). The registration is committed:
    // when the configuration cannot be made now (the cluster went meanwhile, no overlay address), the answer goes
    // without it and the agent asks /mesh, which says why.
    const mesh = await readMeshRows(this.repos, node).then((rows) => meshConfigFor(node, rows)).catch(() => undefined);
    return { nodeToken, clusterId: node.clusterId, role: node.role, nodeName: node.name, wireguardAddress: node.wireguardAddress ?? '', ...(mesh ? { mesh } : {}) };
  }

  /**
   * Join ordering: the first master initialises; the others wait until it has joined, then join.
   * - `initialise` (master-0): `kubeadmConfig` is an InitConfiguration and a ClusterConfiguration for
   *   `kubeadm init --upload-certs`, and `files` the cluster PKI for /etc/kubernetes/pki, including the API server
   *   certificate, issued on the first ask and handed out again while it still names master-0's addresses.
   *   This is the only agent answer that carries private keys.
   * - `join`: a JoinConfiguration (token discovery pinned to the CA; masters join the control plane with the
   *   certificate key), no files.
   * The control-plane endpoint is `control-plane.skyweave.internal:6444` on every node (`controlPlaneEndpoint`): the
   * node's own API server proxy, which the agent keeps pointed at every master (mesh configuration), so no master's
   * loss takes the API from a node. A joining node discovers the cluster through it too.
   *
   * Secrets are handed out once, to the node that needs them, while it needs them (issue 10, finding 5): only to a
   * node that is `Registered` or `Joining` — one that has not reported `joined` yet, so an agent that crashed before
   * reporting asks again and gets them again. A node that has joined gets 409 `already-joined` and no secret (the PKI
   * private keys, the certificate key, the kubeadm bootstrap token); a node in any other phase (being terminated)
   * gets 409 `not-joinable`. A node whose VM was lost goes back to `Pending` and registers anew, so its replacement
   * VM may join again.
   * @throws Problem 409 `already-joined` / `not-joinable` (above); `no-overlay-address` when master-0 or this node
   *   has no WireGuard address, `cluster-pki-missing` for a cluster made without the control-plane PKI.
   */
  @Post('join')
  @HttpCode(200)
  async join(@AgentNode() node: NodeEntity): Promise<AgentApi.JoinResponse> {
    assertJoinable(node);
    const scope = orgScope(node.organisationId);
    const cluster = await this.repos.clusters.getById(scope, node.clusterId);
    const base = { kubernetesVersion: cluster.spec.kubernetesVersion, podSubnet: ADDRESS_PLAN.podSubnet, serviceSubnet: ADDRESS_PLAN.serviceSubnet };
    // Long poll: hold a `wait` answer until the decision changes or the window (JOIN_LONG_POLL, default
    // JOIN_LONG_POLL_MS) passes, so a node joins as soon as the control plane is up (a NOTIFY of the node change
    // wakes it) instead of after the agent's next poll. Subscribed before the first read, so no change falls between.
    const deadline = Date.now() + this.longPollMs;
    const readNodes = () => this.repos.nodes.listByCluster(scope, node.clusterId);
    // one poll per node (LongPolls): a newer /join ends this one, which answers `wait` at once
    const hold = this.polls.begin('join', node.id);
    const sub = this.feed.subscribe('cluster', node.clusterId);
    let all: NodeEntity[];
    let action: JoinAction;
    try {
      // the first read is this request's own; after a wake-up, the waiters of one cluster share one read (never modified)
      all = await readNodes();
      for (;;) {
        action = decideJoin(node as JoinCandidate, all as JoinCandidate[]);
        if (action !== 'wait' || Date.now() >= deadline || hold.ended) break;
        await Promise.race([sub.next(deadline - Date.now()), hold.superseded]);
        if (hold.ended) break;
        all = await this.feed.shared('cluster', node.clusterId, 'join', readNodes);
      }
    } finally {
      sub.close();
      hold.release();
    }
    // The master whose API the platform writes this join's secrets through first: master-0, or a surviving master
    // while master-0 is being replaced (its VM was lost and it rejoins the control plane itself). The node itself
    // joins through its own API server proxy, which reaches whichever masters live.
    const master0 = all.find((n) => n.role === 'master' && n.ordinal === 0);
    const first = action === 'join' && master0?.phase !== 'Joined'
      ? (all.find((n) => n.role === 'master' && n.phase === 'Joined' && n.id !== node.id) ?? master0)
      : master0;
    if (action === 'wait') return { action, retryAfterSeconds: 0, ...base };

    // The answer is built before the node is marked Joining, so a cluster that cannot be bootstrapped stays as it was.
    const me = all.find((n) => n.id === node.id) ?? node;
    // read again after the wait: a node that joined meanwhile (a second, concurrent ask) gets no secret either
    assertJoinable(me);
    if (!first?.wireguardAddress || !me.wireguardAddress) {
      throw new Problem(409, 'no-overlay-address', 'No overlay address', `${first?.wireguardAddress ? me.name : 'master-0'} has no WireGuard address`);
    }
    const { caCertificate, caKeySealed, pkiSealed } = cluster;
    if (!caCertificate || !caKeySealed || !pkiSealed || !cluster.pki) throw new Problem(409, 'cluster-pki-missing', 'No PKI', 'this cluster has no control-plane PKI');
    const endpoint = controlPlaneEndpoint();
    const placement = findRegion(cluster.spec.region)?.clouds[me.cloud];
    const self = {
      name: me.name, address: me.wireguardAddress,
      ...(placement ? { labels: nodeLabels({ cloud: me.cloud, nodeId: me.id, instanceType: me.instanceType, region: placement.region, zone: placement.zone }) } : {}),
    };
    let answer: AgentApi.JoinResponse;
    if (action === 'join') {
      const secrets = openPkiSecrets(this.box, pkiSealed);
      // through the cluster's own API: a fresh token for this join, and (a master) the control-plane certificates
      // uploaded again when they expire soon, so the cluster stays joinable for years, not for kubeadm init's 24 h / 2 h
      // the joined masters' API servers, the join's endpoint first
      const apiHosts = [first, ...all.filter((n) => n.role === 'master' && n.phase === 'Joined' && n.id !== first.id)]
        .map((n) => n.publicIp ?? n.privateIp).filter((h): h is string => !!h);
      const admin = await adminCredential(this.ds, this.box, cluster, new Date(this.pkiClock()));
      if (!admin) throw new Problem(409, 'cluster-pki-missing', 'No PKI', 'this cluster has no admin credential');
      // 503 + Retry-After: the agent retries (it retries 5xx and 429, not other 4xx); the control plane is on its way
      if (!apiHosts.length) throw new Problem(503, 'cluster-api-unavailable', 'Cluster API unavailable', `${first.name} has no address yet`, undefined, { 'retry-after': '5' });
      const access = { clusterName: cluster.name, caCertificate, adminCertificate: admin.certificate, adminKey: admin.key, apiHosts };
      let bootstrapToken: string;
      try {
        const pub = fromPkiColumn(cluster.pki);
        [bootstrapToken] = await Promise.all([
          this.joinSecrets.tokenForJoin(access, me.name),
          me.role === 'master' ? this.joinSecrets.ensureCertificatesUploaded(access, {
            'ca.crt': caCertificate, 'ca.key': this.box.open(caKeySealed), 'sa.key': secrets.serviceAccountKey, 'sa.pub': pub.serviceAccountPublicKey,
            'front-proxy-ca.crt': pub.frontProxyCaCertificate, 'front-proxy-ca.key': secrets.frontProxyCaKey,
            'etcd/ca.crt': pub.etcdCaCertificate, 'etcd/ca.key': secrets.etcdCaKey,
          }, secrets.certificateKey) : undefined,
        ]);
      } catch (e) {
        if (e instanceof ClusterApiUnavailable) throw new Problem(503, 'cluster-api-unavailable', 'Cluster API unavailable', e.message, undefined, { 'retry-after': '5' });
        throw e;
      }
      const kubeadmConfig = renderKubeadmConfig([joinConfiguration({
        node: self, controlPlaneEndpoint: endpoint, bootstrapToken, caCertHash: caCertHash(caCertificate),
        ...(me.role === 'master' ? { certificateKey: secrets.certificateKey } : {}),
      })]);
      answer = { action, controlPlaneEndpoint: endpoint, kubeadmConfig, ...base };
    } else {
      // master-0's private and public IPs are named too (they are usually known by now): the kubeconfig's server is one of them.
      const certSans = [me.privateIp, me.publicIp].filter((ip): ip is string => !!ip);
      const sans = apiServerSans({ nodeName: me.name, masterAddresses: all.filter((n) => n.role === 'master').map((n) => n.wireguardAddress), extraIps: certSans, extraDnsNames: [CONTROL_PLANE_HOST] });
      const caKey = this.box.open(caKeySealed);
      const pki = await this.ds.transaction(async (em) => {
        // Row lock: a retried /join racing the first one gets the same certificate.
        const c = await this.repos.clusters.getForUpdate(scope, cluster.id, em);
        // under the cluster lock (the order every writer takes: cluster, then node), the node's phase as committed now
        assertJoinable(await this.repos.nodes.getById(scope, me.id, em));
        const pub = fromPkiColumn(c.pki);
        const sec = openPkiSecrets(this.box, c.pkiSealed ?? pkiSealed);
        if (pub.apiServerCertificate && sec.apiServerKey && apiServerCertificateFits(pub.apiServerCertificate, caCertificate, sans)) {
          return { pub, sec, apiServer: { certificate: pub.apiServerCertificate, key: sec.apiServerKey } };
        }
        const apiServer = await issueApiServerCertificate({ certificate: caCertificate, key: caKey }, sans);
        await this.repos.clusters.update(scope, c.id, {
          pki: toPkiColumn({ ...pub, apiServerCertificate: apiServer.certificate }), pkiSealed: sealPkiSecrets(this.box, { ...sec, apiServerKey: apiServer.key }),
        }, em);
        await recordEvent(em, { organisationId: c.organisationId, clusterId: c.id, reason: EventReason.ApiServerCertificateIssued, object: `node/${me.name}`, message: `API server certificate issued for ${[...sans.dnsNames, ...sans.ipAddresses].join(', ')}` });
        return { pub, sec, apiServer };
      });
      answer = {
        action, controlPlaneEndpoint: endpoint, ...base,
        kubeadmConfig: renderKubeadmConfig([
          initConfiguration({ node: self, bootstrapToken: pki.sec.bootstrapToken, certificateKey: pki.sec.certificateKey }),
          clusterConfiguration({ clusterName: cluster.name, kubernetesVersion: cluster.spec.kubernetesVersion, controlPlaneEndpoint: endpoint, certSans }),
        ]),
        files: pkiFiles({
          ca: { certificate: caCertificate, key: caKey },
          frontProxyCa: { certificate: pki.pub.frontProxyCaCertificate, key: pki.sec.frontProxyCaKey },
          etcdCa: { certificate: pki.pub.etcdCaCertificate, key: pki.sec.etcdCaKey },
          serviceAccount: { key: pki.sec.serviceAccountKey, publicKey: pki.pub.serviceAccountPublicKey },
          apiServer: pki.apiServer,
        }),
      };
    }
    if (node.phase === 'Registered') {
      await this.ds.transaction(async (em) => {
        await new LifecycleRepository(em).moveNode(scope, node, 'Joining', {
          from: ['Registered'],
          event: { reason: action === 'initialise' ? 'ControlPlaneInitialising' : 'NodeJoining', object: `node/${node.name}`, message: action === 'initialise' ? `${node.name} initialises the control plane` : `${node.name} joins the cluster` },
        });
      });
    }
    return answer;
  }

  @Post('joined')
  @HttpCode(204)
  async joined(@AgentNode() node: NodeEntity): Promise<void> {
    if (node.phase === 'Joined') return;
    if (node.phase !== 'Joining') throw new Problem(409, 'not-joining', 'Node is not joining', `node ${node.name} is ${node.phase}; ask /join first`);
    await this.ds.transaction(async (em) => {
      const moved = await new LifecycleRepository(em).moveNode(orgScope(node.organisationId), node, 'Joined', {
        from: ['Joining'], set: { joinedAt: new Date() },
        event: { reason: EventReason.NodeJoined, object: `node/${node.name}`, message: `${node.role} ${node.name} joined` },
      });
      if (!moved) return;
      await enqueue(em, Subjects.ClusterChanged, { organisationId: node.organisationId, clusterId: node.clusterId, reason: `node ${node.name} joined` });
    });
  }
}
