import { All, Controller, Inject, OnApplicationShutdown, Param, ParseUUIDPipe, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { DataSource } from 'typeorm';
import type { CloudEndpoints } from '@skyweave/cloud-adapters';
import { Repositories, SecretBox, UsersRepository, orgScope, systemScope } from '@skyweave/persistence';
import { SessionRole, type AccessRequest } from './access';
import { CallerOrg } from './auth';
import { adminCredential } from './admin-credential';
import { kubeconfigServer } from './kubeconfig-server';
import { Problem } from './problem';
import { type SsoApp, SsoProxy, forwardedHeaders, upstreamPath } from './sso-proxy';
import { CLOUD_ENDPOINTS, DATA_SOURCE, PKI_CLOCK, SECRET_BOX } from './tokens';

const USER_LOOKUP = systemScope('single sign-on gateway: the signed-in user\'s email is the identity passed to cluster middleware');

/**
 * Single sign-on to cluster middleware (issue 14, item 4; docs/sso-gateway.md): `/clusters/{id}/grafana/…` and
 * `/clusters/{id}/dashboard/…`, every method, for a console session of a member (any role) of the organisation the
 * session acts for; the cluster is looked up in that organisation (another organisation's cluster: 404). Forwarded
 * through the cluster API server's service proxy with the platform's admin credential of the cluster, as the user
 * (`X-WEBAUTH-USER: <email>`), without the user's cookies or credentials. Refusals are RFC 9457 problems: 401 signed
 * out, 403 `session-required` (API keys), 403 `csrf-refused` (a write from another origin), 404 unknown cluster,
 * 409 `cluster-not-ready`, 400 `invalid-path`, 502 `cluster-unreachable`. Not in the OpenAPI document (not an API).
 */
@ApiExcludeController()
@Controller('clusters/:id')
@SessionRole('viewer')
export class SsoProxyController implements OnApplicationShutdown {
  private readonly proxy: SsoProxy;

  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    @Inject(CLOUD_ENDPOINTS) endpoints: CloudEndpoints,
    @Inject(PKI_CLOCK) private readonly pkiClock: () => number,
  ) {
    this.proxy = new SsoProxy(endpoints.kubernetes?.proxyUrl);
  }

  @All(['grafana', 'grafana/*path'])
  grafana(@CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.forward('grafana', org, id, req, res);
  }

  @All(['dashboard', 'dashboard/*path'])
  dashboard(@CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.forward('dashboard', org, id, req, res);
  }

  onApplicationShutdown(): void {
    this.proxy.close();
  }

  private async forward(app: SsoApp, org: string, id: string, req: Request, res: Response): Promise<void> {
    const raw = req.originalUrl;
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    // the bare prefix: relative links of the pages resolve under it only with its trailing slash
    if (path === `/clusters/${id}/${app}`) {
      res.redirect(308, `${path}/${q < 0 ? '' : raw.slice(q)}`);
      return;
    }
    const target = upstreamPath(app, id, raw);
    if (!target) throw new Problem(400, 'invalid-path', 'Invalid path', 'the path may not hold `.` or `..` segments or encoded slashes');
    const repos = new Repositories(this.ds);
    const scope = orgScope(org);
    const c = await repos.clusters.findById(scope, id);
    if (!c || c.phase === 'Deleted') throw Problem.notFound(`cluster ${id}`);
    if (c.phase !== 'Ready') throw new Problem(409, 'cluster-not-ready', 'Cluster not ready', `cluster middleware is reachable once the cluster is Ready (it is ${c.phase})`);
    const [nodes, statuses] = await Promise.all([repos.nodes.listByCluster(scope, id), repos.kubeStatus.nodeStatuses(scope, id)]);
    const server = kubeconfigServer(nodes.filter((n) => n.role === 'master'), statuses);
    const admin = c.caCertificate ? await adminCredential(this.ds, this.box, c, new Date(this.pkiClock())) : undefined;
    if (!c.caCertificate || !admin) throw new Problem(409, 'cluster-pki-missing', 'No PKI', 'this cluster has no certificate authority');
    if (!server) throw new Problem(409, 'no-master-address', 'No master address', 'no master of this cluster has an IP address');
    const principal = (req as unknown as AccessRequest).principal;
    const user = principal?.kind === 'session' ? await new UsersRepository(this.ds).findById(USER_LOOKUP, principal.userId) : null;
    if (!user) throw Problem.unauthorized('sign in to the console first');
    await this.proxy.forward(req, res, { server, caCertificate: c.caCertificate, admin }, target, forwardedHeaders(req.headers, user.email.toLowerCase()));
  }
}
