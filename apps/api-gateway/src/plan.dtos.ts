import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CLOUDS, CloudId, MAX_CROSS_CLOUD_LATENCY_MS, NodeRole } from '@skyweave/domain';
import { HOURS_PER_MONTH, PLAN_NAME_PREFIX } from './plan.service';

/*
 * OpenAPI shapes of `POST /v1/clusters/plan` (the answer; the body is CreateClusterDto). These classes only document:
 * the answer is PlanService's ClusterPlan.
 */

export class PlanRegionDto {
  @ApiProperty({ example: 'us-east' }) id!: string;
  @ApiProperty({ example: 'US East (Ashburn)' }) name!: string;
}
export class PlannedResourceDto {
  @ApiProperty({ example: 'security-group', description: "The cloud's kind of resource, as the cluster view's `networks[].resources[].kind` names it once built" }) kind!: string;
  @ApiProperty({ example: `${PLAN_NAME_PREFIX}-master`, description: `Its name; \`<id>\` stands for the first 8 hex digits of the cluster id given at creation` }) name!: string;
}
export class CidrPoolDto {
  @ApiProperty({ example: '10.100.0.0' }) first!: string;
  @ApiProperty({ example: '10.255.0.0' }) last!: string;
  @ApiProperty({ example: 20 }) prefixLength!: number;
}
export class PlanNetworkDto {
  @ApiProperty({ type: String, nullable: true, example: '10.10.0.0/16', description: 'VPC / VNet range; null on DigitalOcean (a free /20 of vpcCidrPool is taken at creation)' }) vpcCidr!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '10.10.0.0/24', description: 'Node subnet; null on DigitalOcean (the VPC is the subnet)' }) subnetCidr!: string | null;
  @ApiPropertyOptional({ type: CidrPoolDto, description: 'DigitalOcean only: the range its VPC is allocated from' }) vpcCidrPool?: CidrPoolDto;
  @ApiProperty({ type: PlannedResourceDto, isArray: true, description: 'The network parts network-provisioner makes on this cloud, in order' }) resources!: PlannedResourceDto[];
}
export class FirewallRuleDto {
  @ApiProperty({ enum: ['tcp', 'udp'] }) protocol!: 'tcp' | 'udp';
  @ApiProperty({ example: 6443 }) fromPort!: number;
  @ApiProperty({ example: 6443 }) toPort!: number;
  @ApiProperty({ example: '0.0.0.0/0' }) source!: string;
  @ApiProperty({ example: 'k8s API server' }) description!: string;
}
export class PlanFirewallDto {
  @ApiProperty({ type: FirewallRuleDto, isArray: true, description: 'Inbound rules of the masters' }) master!: FirewallRuleDto[];
  @ApiProperty({ type: FirewallRuleDto, isArray: true, description: 'Inbound rules of the workers' }) worker!: FirewallRuleDto[];
}
export class PlanNodeGroupDto {
  @ApiProperty({ enum: ['master', 'worker'] }) role!: NodeRole;
  @ApiProperty() count!: number;
  @ApiProperty({ example: 't3.medium' }) instanceType!: string;
  @ApiProperty({ example: 2 }) vcpu!: number;
  @ApiProperty({ example: 4096 }) memoryMiB!: number;
  @ApiProperty({ type: Number, nullable: true, example: 0.0416, description: "One VM's on-demand Linux price from the cloud's price API; null when the price list is unavailable or lacks the type" }) usdPerHour!: number | null;
}
export class PlanPriceSourceDto {
  @ApiProperty({ example: 'AWS Price List GetProducts', description: 'The price API the list was read from' }) source!: string;
  @ApiProperty({ format: 'date-time', description: 'When the list was read' }) pricedAt!: string;
  @ApiProperty({ description: 'True when the last refresh failed and these are the previous reading\'s prices' }) stale!: boolean;
}
export class PlanCostDto {
  @ApiProperty({ type: Number, nullable: true, example: 0.1248 }) usdPerHour!: number | null;
  @ApiProperty({ type: Number, nullable: true, example: 91.104, description: `usdPerHour × ${HOURS_PER_MONTH} h` }) usdPerMonth!: number | null;
}
export class PlanCloudCostDto extends PlanCostDto {
  @ApiProperty({ type: PlanPriceSourceDto, nullable: true, description: 'Where the prices come from; null when no list was read (no VMs on this cloud, or the list is unavailable)' }) price!: PlanPriceSourceDto | null;
  @ApiPropertyOptional({ description: 'Why the cost is null' }) reason?: string;
}
export class PlanCloudDto {
  @ApiProperty({ enum: CLOUDS }) cloud!: CloudId;
  @ApiProperty({ example: 'us-east-1', description: "The cloud's region code" }) region!: string;
  @ApiProperty({ example: 'us-east-1a' }) zone!: string;
  @ApiProperty({ type: PlanNetworkDto }) network!: PlanNetworkDto;
  @ApiProperty({ type: PlanFirewallDto }) firewall!: PlanFirewallDto;
  @ApiProperty({ type: PlanNodeGroupDto, isArray: true, description: 'The VMs, by role and instance type' }) nodes!: PlanNodeGroupDto[];
  @ApiProperty({ type: PlanCloudCostDto }) cost!: PlanCloudCostDto;
}
export class LatencyPairDto {
  @ApiProperty({ example: 'aws|digitalocean' }) pair!: string;
  @ApiProperty({ example: 7 }) ms!: number;
}
export class PlanLatencyDto {
  @ApiProperty({ type: LatencyPairDto, nullable: true, description: 'The worst cross-cloud round trip (region catalogue); null for one cloud' }) worst!: LatencyPairDto | null;
  @ApiProperty({ example: MAX_CROSS_CLOUD_LATENCY_MS }) budgetMs!: number;
  @ApiProperty() withinBudget!: boolean;
  @ApiProperty({ type: LatencyPairDto, isArray: true, description: 'Every pair of the clouds' }) pairs!: LatencyPairDto[];
}
export class PlanWarningDto {
  @ApiProperty({ enum: ['price-list-unavailable', 'price-list-stale', 'instance-type-unpriced', 'latency-near-budget'] }) code!: string;
  @ApiPropertyOptional({ enum: CLOUDS }) cloud?: CloudId;
  @ApiProperty() message!: string;
}
export class ClusterPlanDto {
  @ApiProperty({ example: 'prod' }) name!: string;
  @ApiProperty({ type: PlanRegionDto }) region!: PlanRegionDto;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'The spec POST /v1/clusters would store for this body (defaults filled in)' }) spec!: Record<string, unknown>;
  @ApiProperty({ example: PLAN_NAME_PREFIX, description: 'How resource names start; `<id>`: the first 8 hex digits of the id given at creation' }) namePrefix!: string;
  @ApiProperty({ type: PlanCloudDto, isArray: true, description: 'Per cloud of the request, in its order' }) clouds!: PlanCloudDto[];
  @ApiProperty({ type: PlanLatencyDto }) latency!: PlanLatencyDto;
  @ApiProperty({ type: PlanCostDto, description: "The clouds' costs summed; null when one is unknown" }) cost!: PlanCostDto;
  @ApiProperty({ type: PlanWarningDto, isArray: true }) warnings!: PlanWarningDto[];
}
