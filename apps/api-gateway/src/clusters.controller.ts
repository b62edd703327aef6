import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Res, UseGuards, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { DataSource } from 'typeorm';
import { ClusterEntity, NodeEntity, SecretBox } from '@skyweave/persistence';
import { ApiKeyGuard, CallerOrg } from './auth';
import { CreateClusterDto, EventsQueryDto, ListQueryDto } from './dtos';
import { ClustersService } from './clusters.service';
import { Problem } from './problem';
import { DATA_SOURCE, SECRET_BOX } from './tokens';
import { renderKubeconfig } from './bootstrap/kubeconfig';

@ApiTags('clusters')
@ApiBearerAuth()
@UseGuards(ApiKeyGuard)
@Controller('v1/clusters')
export class ClustersController {
  constructor(
    private readonly clusters: ClustersService,
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    @Inject(SECRET_BOX) private readonly box: SecretBox,
  ) {}

  /** Creates a cluster; provisioning proceeds asynchronously (watch `GET /v1/clusters/{id}` and its events). */
  @Post()
  @HttpCode(202)
  create(@CallerOrg() org: string, @Body() dto: CreateClusterDto) {
    return this.clusters.create(org, dto);
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

  /** The cluster's kubeconfig (YAML), once the cluster is Ready; 409 before. */
  @Get(':id/kubeconfig')
  @ApiProduces('application/yaml')
  @ApiOkResponse({ description: 'kubeconfig YAML' })
  async kubeconfig(@CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string, @Res() res: Response) {
    const c = await this.ds.getRepository(ClusterEntity).findOneBy({ id, organisationId: org });
    if (!c) throw Problem.notFound(`cluster ${id}`);
    if (c.phase !== 'Ready') throw new Problem(409, 'cluster-not-ready', 'Cluster not ready', `the kubeconfig is available once the cluster is Ready (it is ${c.phase})`);
    const master = await this.ds.getRepository(NodeEntity).findOneBy({ clusterId: id, organisationId: org, role: 'master', ordinal: 0 });
    if (!c.caCertificate || !c.adminCertificate || !c.adminKeySealed) throw new Problem(409, 'cluster-pki-missing', 'No PKI', 'this cluster has no certificate authority');
    res.type('application/yaml').send(renderKubeconfig({
      clusterName: c.name, server: `https://${master?.publicIp ?? master?.privateIp}:6443`,
      caCertificatePem: c.caCertificate, adminCertificatePem: c.adminCertificate, adminKeyPem: this.box.open(c.adminKeySealed),
    }));
  }

  /** Removes one worker: it leaves the WireGuard mesh at once, then its VM is terminated. Masters are fixed (422). */
  @Delete(':id/nodes/:nodeId')
  @HttpCode(202)
  removeNode(@CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string, @Param('nodeId', new ParseUUIDPipe()) nodeId: string) {
    return this.clusters.removeNode(org, id, nodeId);
  }

  /** Deletes the cluster: every VM tagged for it is terminated (no drain), then every network. */
  @Delete(':id')
  @HttpCode(202)
  remove(@CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string) {
    return this.clusters.delete(org, id);
  }
}
