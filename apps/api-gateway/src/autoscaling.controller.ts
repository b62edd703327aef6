import { Body, Controller, Get, Headers, Param, ParseUUIDPipe, Put, Res } from '@nestjs/common';
import {
  ApiBearerAuth, ApiBody, ApiConflictResponse, ApiExtraModels, ApiHeader, ApiNotFoundResponse, ApiOkResponse, ApiPreconditionFailedResponse, ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { CallerOrg } from './auth';
import { MinRole } from './access';
import { AutoscalerViewDto, AutoscalingPolicyDto, AutoscalingPolicyViewDto, PriceSourceDto } from './autoscaling.dtos';
import { AutoscalerView, AutoscalingPolicyView, AutoscalingService, policyETag } from './autoscaling.service';

/** Issue 13: a cluster's autoscaling policy, and what the autoscaler (apps/autoscaler) last reported. */
@ApiTags('autoscaling')
@ApiBearerAuth()
@ApiExtraModels(PriceSourceDto)
@Controller('v1/clusters')
export class AutoscalingController {
  constructor(private readonly autoscaling: AutoscalingService) {}

  /** The cluster's autoscaling policy: `version` 0 and the defaults when it was never set. `ETag: "<version>"`. */
  @Get(':id/policies')
  @ApiOkResponse({ type: AutoscalingPolicyViewDto, headers: { ETag: { description: 'The policy version, `"<version>"`', schema: { type: 'string' } } } })
  @ApiNotFoundResponse({ description: 'No such cluster in the organisation' })
  async getPolicy(@CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string, @Res({ passthrough: true }) res: Response): Promise<AutoscalingPolicyView> {
    const v = await this.autoscaling.getPolicy(org, id);
    res.setHeader('etag', policyETag(v.version));
    return v;
  }

  /**
   * Replaces the whole policy (fields left out take their defaults, never the stored values) and answers it with its
   * new version; an unchanged policy keeps its version. With `If-Match: "<version>"` only when that is still the
   * current version (412 otherwise). Each broken rule is a 422 naming its field and rule (`unknown-field`, `min`,
   * `max`, `integer`, `cloud-in-cluster`, `min-not-above-max`, `include-or-exclude` …); nothing is stored then.
   */
  @Put(':id/policies')
  @MinRole('member')
  @ApiBody({ type: AutoscalingPolicyDto })
  @ApiHeader({ name: 'If-Match', required: false, description: '`"<version>"` the change is based on (optimistic concurrency), or `*`' })
  @ApiOkResponse({ type: AutoscalingPolicyViewDto })
  @ApiNotFoundResponse({ description: 'No such cluster in the organisation' })
  @ApiConflictResponse({ description: '`cluster-deleting`: the cluster is being deleted' })
  @ApiPreconditionFailedResponse({ description: '`precondition-failed`: If-Match names another version (the current one is in `ETag` and `currentVersion`)' })
  @ApiUnprocessableEntityResponse({ description: '`validation-failed`: `errors` lists each field and rule' })
  async putPolicy(
    @CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string, @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined, @Res({ passthrough: true }) res: Response,
  ): Promise<AutoscalingPolicyView> {
    const v = await this.autoscaling.putPolicy(org, id, body, ifMatch);
    res.setHeader('etag', policyETag(v.version));
    return v;
  }

  /**
   * What the autoscaler last reported: pods it could not place, nodes it launched that have not joined, its last
   * decision, the hourly cost by cloud (and its sum) and where its prices come from; empty before its first report.
   */
  @Get(':id/autoscaler')
  @ApiOkResponse({ type: AutoscalerViewDto })
  @ApiNotFoundResponse({ description: 'No such cluster in the organisation' })
  autoscaler(@CallerOrg() org: string, @Param('id', new ParseUUIDPipe()) id: string): Promise<AutoscalerView> {
    return this.autoscaling.autoscaler(org, id);
  }
}
