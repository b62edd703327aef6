import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { AUTOSCALING_LIMITS, CLOUDS, CloudId, DEFAULT_AUTOSCALING_POLICY } from '@skyweave/domain';

/*
 * OpenAPI shapes of the autoscaling endpoints. These classes only document: the PUT body is checked by
 * validateAutoscalingPolicy (libs/domain), the one rule set the autoscaler applies too, so they carry no
 * class-validator decorators and are never the type of a validated parameter.
 */

const D = DEFAULT_AUTOSCALING_POLICY;
const L = AUTOSCALING_LIMITS;

export class CpuLimitsDto {
  @ApiPropertyOptional({ minimum: L.clusterCores.min, maximum: L.clusterCores.max, default: D.clusterLimits.cpu.minCores, description: 'Whole vCPUs; at most maxCores' }) minCores?: number;
  @ApiPropertyOptional({ minimum: L.clusterCores.min, maximum: L.clusterCores.max, default: D.clusterLimits.cpu.maxCores, description: 'Whole vCPUs' }) maxCores?: number;
}
export class ClusterLimitsDto {
  @ApiPropertyOptional({ type: CpuLimitsDto, description: "Bounds of the workers' total vCPUs" }) cpu?: CpuLimitsDto;
}
export class HeadroomDto {
  @ApiPropertyOptional({ minimum: L.headroomPercent.min, maximum: L.headroomPercent.max, default: 0, description: 'Spare CPU kept, percent of what pods request' }) cpuPercentage?: number;
  @ApiPropertyOptional({ minimum: L.headroomPercent.min, maximum: L.headroomPercent.max, default: 0, description: 'Spare memory kept, percent of what pods request' }) memoryPercentage?: number;
}
export class NodeConstraintsDto {
  @ApiPropertyOptional({ minimum: L.nodeCpuCores.min, maximum: L.nodeCpuCores.max, description: 'Whole vCPUs; at most maxCpuCores' }) minCpuCores?: number;
  @ApiPropertyOptional({ minimum: L.nodeCpuCores.min, maximum: L.nodeCpuCores.max }) maxCpuCores?: number;
  @ApiPropertyOptional({ minimum: L.nodeRamMib.min, maximum: L.nodeRamMib.max, description: 'MiB; at most maxRamMib' }) minRamMib?: number;
  @ApiPropertyOptional({ minimum: L.nodeRamMib.min, maximum: L.nodeRamMib.max }) maxRamMib?: number;
}
export class InstanceFamiliesDto {
  @ApiPropertyOptional({ type: String, isArray: true, example: ['m6i', 'n2'], description: 'Only these families (exactly one of include and exclude)' }) include?: string[];
  @ApiPropertyOptional({ type: String, isArray: true, example: ['t3'], description: 'Any family but these' }) exclude?: string[];
}
export class UnschedulablePodsDto {
  @ApiPropertyOptional({ default: D.unschedulablePods.enabled, description: 'Add nodes for pods Kubernetes cannot place' }) enabled?: boolean;
  @ApiPropertyOptional({ type: HeadroomDto }) headroom?: HeadroomDto;
  @ApiPropertyOptional({ type: NodeConstraintsDto, description: 'Bounds on the size of the nodes added' }) nodeConstraints?: NodeConstraintsDto;
  @ApiPropertyOptional({ enum: CLOUDS, isArray: true, description: "Clouds new nodes may go to: some of the cluster's, each once (absent: any of them)" }) clouds?: CloudId[];
  @ApiPropertyOptional({ type: InstanceFamiliesDto }) instanceFamilies?: InstanceFamiliesDto;
}
export class EmptyNodesDto {
  @ApiPropertyOptional({ default: D.nodeDownscaler.emptyNodes.enabled }) enabled?: boolean;
  @ApiPropertyOptional({ minimum: L.delaySeconds.min, maximum: L.delaySeconds.max, default: D.nodeDownscaler.emptyNodes.delaySeconds }) delaySeconds?: number;
}
export class UnderutilizedDto {
  @ApiPropertyOptional({ default: D.nodeDownscaler.underutilized.enabled }) enabled?: boolean;
  @ApiPropertyOptional({ minimum: L.thresholdPercent.min, maximum: L.thresholdPercent.max, default: D.nodeDownscaler.underutilized.thresholdPercent, description: 'Requests below this percent of allocatable' }) thresholdPercent?: number;
  @ApiPropertyOptional({ minimum: L.delaySeconds.min, maximum: L.delaySeconds.max, default: D.nodeDownscaler.underutilized.delaySeconds }) delaySeconds?: number;
}
export class NodeDownscalerDto {
  @ApiPropertyOptional({ default: D.nodeDownscaler.enabled, description: 'Remove workers the autoscaler made when empty or underused' }) enabled?: boolean;
  @ApiPropertyOptional({ type: EmptyNodesDto }) emptyNodes?: EmptyNodesDto;
  @ApiPropertyOptional({ type: UnderutilizedDto }) underutilized?: UnderutilizedDto;
}

/** PUT /v1/clusters/{id}/policies: the whole policy; a field left out takes its default (never the stored value). */
export class AutoscalingPolicyDto {
  @ApiPropertyOptional({ default: D.enabled, description: 'Whether the autoscaler acts on this cluster' }) enabled?: boolean;
  @ApiPropertyOptional({ type: ClusterLimitsDto }) clusterLimits?: ClusterLimitsDto;
  @ApiPropertyOptional({ type: UnschedulablePodsDto }) unschedulablePods?: UnschedulablePodsDto;
  @ApiPropertyOptional({ type: NodeDownscalerDto }) nodeDownscaler?: NodeDownscalerDto;
}

export class AutoscalingPolicyViewDto {
  @ApiProperty({ description: 'Version of the stored policy (1, 2, 3 …); 0: never set, the defaults apply. Also the ETag ("<version>") for If-Match' }) version!: number;
  @ApiProperty({ type: AutoscalingPolicyDto, description: 'The whole policy, defaults filled in' }) policy!: AutoscalingPolicyDto;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When this version was stored; null at version 0' }) updatedAt!: string | null;
}

export class PendingPodDto {
  @ApiProperty() namespace!: string;
  @ApiProperty() name!: string;
  @ApiProperty() cpuMillicores!: number;
  @ApiProperty() memoryMiB!: number;
  @ApiProperty({ type: String, nullable: true, description: "The scheduler's reason" }) message!: string | null;
}
export class InFlightNodeDto {
  @ApiProperty({ format: 'uuid' }) nodeId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: CLOUDS }) cloud!: CloudId;
  @ApiProperty() instanceType!: string;
  @ApiProperty() usdPerHour!: number;
  @ApiProperty({ format: 'date-time', description: 'When it was launched' }) since!: string;
}
export class PriceSourceDto {
  @ApiProperty({ example: 'aws-pricing-api' }) source!: string;
  @ApiProperty({ format: 'date-time' }) pricedAt!: string;
  @ApiProperty() stale!: boolean;
}
export class AutoscalerPolicyRefDto {
  @ApiProperty() enabled!: boolean;
  @ApiProperty() version!: number;
}
export class AutoscalerViewDto {
  @ApiProperty({ type: AutoscalerPolicyRefDto, description: 'The policy in force (GET …/policies for all of it)' }) policy!: AutoscalerPolicyRefDto;
  @ApiProperty({ type: PendingPodDto, isArray: true, description: 'Pods Kubernetes cannot place, as the autoscaler last saw them' }) pendingPods!: PendingPodDto[];
  @ApiProperty({ type: InFlightNodeDto, isArray: true, description: 'Nodes the autoscaler launched that have not joined yet' }) inFlight!: InFlightNodeDto[];
  @ApiProperty({ type: 'object', nullable: true, additionalProperties: true, description: "The autoscaler's last decision: {at, kind: scale-up | scale-down | none, summary, …}" }) lastDecision!: Record<string, unknown> | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'number' }, description: "USD per hour of the cluster's nodes, by cloud" }) costByCloud!: Record<string, number>;
  @ApiProperty({ description: 'The sum of costByCloud' }) hourlyCostUsd!: number;
  @ApiProperty({ type: 'object', additionalProperties: { $ref: getSchemaPath(PriceSourceDto) }, description: "Where each cloud's prices come from" }) prices!: Record<string, PriceSourceDto>;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: "The autoscaler's last report; null before its first" }) updatedAt!: string | null;
}
