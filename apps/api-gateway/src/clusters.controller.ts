import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query, Res, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiProduces, ApiTags, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import type { Response } from 'express';
import type { DataSource } from 'typeorm';
import { Repositories, SecretBox, orgScope } from '@skyweave/persistence';
import { CallerOrg } from './auth';
import { MinRole } from './access';
import { AddNodesDto, CreateClusterDto, EventsQueryDto, ListQueryDto, UpdateClusterDto } from './dtos';
import { ClustersService } from './clusters.service';
import { ReadLike } from './idempotency';
import { ClusterPlanDto } from './plan.dtos';
import { ClusterPlan, PlanService } from './plan.service';
import { Problem } from './problem';
import { CLOUD_ENDPOINTS, DATA_SOURCE, PKI_CLOCK, SECRET_BOX } from './tokens';
import type { CloudEndpoints } from '@skyweave/cloud-adapters';
import { API_SERVER_NAME, renderKubeconfig } from '@skyweave/bootstrap';
import { adminCredential } from './admin-credential';
import { kubeconfigServer } from './kubeconfig-server';

@ApiTags('clusters')
@ApiBearerAuth()
@Controller('v1/clusters')
export class ClustersController {
  constructor(
    private readonly clusters: ClustersService,
    private readonly plans: PlanService,
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
    @Inject(CLOUD_ENDPOINTS) private readonly endpoints: CloudEndpoints,
    @Inject(PKI_CLOCK) private readonly pkiClock: () => number,
  ) {}

  /** Creates a cluster; provisioning proceeds asynchronously (watch `GET /v1/clusters/{id}` and its events). */
  @Post()
  @MinRole('member')
  @HttpCode(202)
  create(@CallerOrg() org: string, @Body() dto: CreateClusterDto) {
    return this.clusters.create(org, dto);
  }

  /**
   * What `POST /v1/clusters` would build for the same body, and its cost, creating nothing: per cloud the network
   * (CIDRs, the parts network-provisioner makes, firewall rules per role) and the VMs, the worst cross-cloud latency
   * against the budget, and the hourly and monthly (730 h) cost per cloud and in total from each cloud's price API
   * (source and time of each price list). The same rules and 422s as create; a price list that cannot be read gives
   * that cloud a null cost and a warning. Writes nothing; an `Idempotency-Key` is ignored.
   */
  @Post('plan')
  // writes nothing: whoever may read the organisation's clusters may plan one
  @MinRole('viewer')
  @HttpCode(200)
  @ReadLike()
  @ApiBody({ type: CreateClusterDto })
  @ApiOkResponse({ type: ClusterPlanDto })
  @ApiUnprocessableEntityResponse({ description: '`validation-failed`: `errors` lists each field and rule, as for POST /v1/clusters' })
  plan(@CallerOrg() org: string, @Body() dto: CreateClusterDto): Promise<ClusterPlan> {
    return this.plans.plan(org, dto);
  }

  @Get()
  list(@CallerOrg() org: string, @Query() q: ListQueryDto) {
    return this.clusters.list(org, q.limit ?? 50, q.offset ?? 0);
  }

  @Get(':id')
  get(@CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.clusters.get(org, id);
  }

  /** Events in order; pass `after` (the last id seen) to follow progress. */
  @Get(':id/events')
  events(@CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string, @Query() q: EventsQueryDto) {
    return this.clusters.events(org, id, q.after, q.limit ?? 200);
  }

  /**
   * The cluster's kubeconfig (YAML), once the cluster is Ready; 409 before. Server: a live master's public IP (else
   * its private IP) on 6443, master-0's while it is live (`kubeconfigServer`); with `kubernetes.proxyUrl` in the cloud
   * endpoints (the sandbox), the cluster entry names that proxy (`proxy-url`), as the API servers are only reached
   * through it.
   */
  @Get(':id/kubeconfig')
  @ApiProduces('application/yaml')
  @ApiOkResponse({ description: 'kubeconfig YAML' })
  async kubeconfig(@CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string, @Res() res: Response) {
    const repos = new Repositories(this.ds);
    const scope = orgScope(org);
    const c = await repos.clusters.findById(scope, id);
    if (!c || c.phase === 'Deleted') throw Problem.notFound(`cluster ${id}`);
    if (c.phase !== 'Ready') throw new Problem(409, 'cluster-not-ready', 'Cluster not ready', `the kubeconfig is available once the cluster is Ready (it is ${c.phase})`);
    const [nodes, statuses] = await Promise.all([repos.nodes.listByCluster(scope, id), repos.kubeStatus.nodeStatuses(scope, id)]);
    const server = kubeconfigServer(nodes.filter((n) => n.role === 'master'), statuses);
    // renewed first when under 30 days are left
    const admin = c.caCertificate ? await adminCredential(this.ds, this.box, c, new Date(this.pkiClock())) : undefined;
    if (!c.caCertificate || !admin) throw new Problem(409, 'cluster-pki-missing', 'No PKI', 'this cluster has no certificate authority');
    if (!server) throw new Problem(409, 'no-master-address', 'No master address', 'no master of this cluster has an IP address');
    res.type('application/yaml').send(renderKubeconfig({
      clusterName: c.name, server,
      caCertificatePem: c.caCertificate, adminCertificatePem: admin.certificate, adminKeyPem: admin.key,
      ...(this.endpoints.kubernetes?.proxyUrl ? { proxyUrl: this.endpoints.kubernetes.proxyUrl } : {}),
      // a replaced master-0's new public IP is in no certificate; `kubernetes` is in every one
      tlsServerName: API_SERVER_NAME,
    }));
  }

  /** Changes the declared state: a newer patch `kubernetesVersion` is rolled out node by node, masters first. 409 while reconciling. */
  @Patch(':id')
  @MinRole('member')
  update(@CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string, @Body() dto: UpdateClusterDto) {
    return this.clusters.update(org, id, dto);
  }

  /** Runs a full reconcile now (it also runs hourly): 202 `scheduled`, or `running` when one is under way. */
  @Post(':id/reconcile')
  @MinRole('member')
  @HttpCode(202)
  reconcile(@CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.clusters.requestReconcile(org, id);
  }

  /** The latest full reconciles, newest first: replica, trigger, start, end, what each found and changed. */
  @Get(':id/reconciles')
  reconciles(@CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string, @Query() q: ListQueryDto) {
    return this.clusters.reconciles(org, id, q.limit ?? 50);
  }

  /** Adds 1–20 workers of one cloud and instance type; each is launched and joins on its own. Masters are fixed (422). */
  @Post(':id/nodes')
  @MinRole('member')
  @HttpCode(202)
  addNodes(@CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string, @Body() dto: AddNodesDto) {
    return this.clusters.addNodes(org, id, dto);
  }

  /** Removes one worker: a master's agent drains it, then its VM is terminated and it leaves the mesh. Masters are fixed (422). */
  @Delete(':id/nodes/:nodeId')
  @MinRole('member')
  @HttpCode(202)
  removeNode(@CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string, @Param('nodeId', new ParseUUIDPipe()) nodeId: string) {
    return this.clusters.removeNode(org, id, nodeId);
  }

  /** Deletes the cluster: every VM tagged for it is terminated (no drain), then every network. */
  @Delete(':id')
  @MinRole('member')
  @HttpCode(202)
  remove(@CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.clusters.delete(org, id);
  }
}
