import { AgentApi } from '@skyweave/contracts';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn, IsInt, IsNotEmpty, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min,
  ValidateNested, IsUUID, IsEmail, IsNumber, ValidateIf, IsIP, ValidateBy, IsISO8601,
} from 'class-validator';
import * as ipaddr from 'ipaddr.js';
import { ADDRESS_PLAN, CLOUDS, CloudId, DEFAULT_KUBERNETES_VERSION, KUBERNETES_RELEASES, MASTER_COUNTS, MESH_MODES, MeshMode, WORKER_COUNT, isReleasedKubernetesVersion } from '@skyweave/domain';

/**
 * Rule `released-version`: a Kubernetes version in the catalogue of released patches (KUBERNETES_RELEASES,
 * libs/domain), so that no one declares, and no rollout reports, a version that does not exist (issue 10, finding 8).
 */
const IsReleasedKubernetesVersion = () => ValidateBy({
  name: 'released-version',
  validator: {
    validate: (v: unknown) => typeof v === 'string' && isReleasedKubernetesVersion(v),
    defaultMessage: () => `kubernetesVersion must be a released Kubernetes patch: ${KUBERNETES_RELEASES.map((r) => `${r.minor}.0–${r.minor}.${r.latestPatch}`).join(', ')}`,
  },
});

export class AwsCredentialsDto {
  @ApiProperty({ example: 'AKIAIOSFODNN7EXAMPLE' }) @Matches(/^(AKIA|ASIA)[A-Z0-9]{16}$/, { message: 'accessKeyId must be an AWS access key id (AKIA… , 20 characters)' }) accessKeyId!: string;
  @ApiProperty({ writeOnly: true }) @IsString() @MaxLength(128) @Matches(/^\S{40}$/, { message: 'secretAccessKey must be 40 characters' }) secretAccessKey!: string;
}
export class GcpCredentialsDto {
  @ApiProperty({ enum: ['service_account'] }) @IsIn(['service_account']) type!: 'service_account';
  @ApiProperty() @Matches(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, { message: 'project_id must be a GCP project id' }) project_id!: string;
  @ApiProperty() @IsString() @IsNotEmpty() private_key_id!: string;
  @ApiProperty({ writeOnly: true }) @Matches(/-----BEGIN PRIVATE KEY-----/, { message: 'private_key must be a PEM private key' }) private_key!: string;
  @ApiProperty() @IsEmail({}, { message: 'client_email must be the service account e-mail' }) client_email!: string;
  @ApiPropertyOptional() @IsOptional() @IsString() client_id?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() token_uri?: string;
}
export class AzureCredentialsDto {
  @ApiProperty() @IsUUID('all') tenantId!: string;
  @ApiProperty() @IsUUID('all') clientId!: string;
  @ApiProperty({ writeOnly: true }) @IsString() @IsNotEmpty() clientSecret!: string;
  @ApiProperty() @IsUUID('all') subscriptionId!: string;
}
export class DigitalOceanCredentialsDto {
  @ApiProperty({ writeOnly: true }) @Matches(/^(dop_v1_)?[a-f0-9]{64}$/, { message: 'token must be a DigitalOcean personal access token' }) token!: string;
}

export const CREDENTIAL_DTOS = { aws: AwsCredentialsDto, gcp: GcpCredentialsDto, azure: AzureCredentialsDto, digitalocean: DigitalOceanCredentialsDto } as const;

export class CreateCloudCredentialDto {
  @ApiProperty({ enum: CLOUDS }) @IsIn([...CLOUDS], { message: `cloud must be one of ${CLOUDS.join(', ')}` }) cloud!: CloudId;
  @ApiPropertyOptional({ example: 'prod-aws' }) @IsOptional() @IsString() @MaxLength(64) name?: string;
  @ApiProperty({ description: 'AWS: {accessKeyId, secretAccessKey}; GCP: the service-account key JSON; Azure: {tenantId, clientId, clientSecret, subscriptionId}; DigitalOcean: {token}' })
  @IsObject() credentials!: Record<string, unknown>;
}

/** `PUT /v1/cloud-credentials/{id}`: the replacement credentials, in the cloud's own shape; the cloud stays the row's. */
export class ReplaceCloudCredentialDto {
  @ApiPropertyOptional({ enum: CLOUDS, description: 'If given, must be the cloud of the credentials replaced' })
  @IsOptional() @IsIn([...CLOUDS], { message: `cloud must be one of ${CLOUDS.join(', ')}` }) cloud?: CloudId;
  @ApiPropertyOptional({ example: 'prod-aws' }) @IsOptional() @IsString() @MaxLength(64) name?: string;
  @ApiProperty({ description: 'As for POST: AWS {accessKeyId, secretAccessKey}; GCP: the service-account key JSON; Azure {tenantId, clientId, clientSecret, subscriptionId}; DigitalOcean {token}' })
  @IsObject() credentials!: Record<string, unknown>;
}

export class ControlPlaneDto {
  @ApiProperty({ enum: CLOUDS }) @IsIn([...CLOUDS], { message: `cloud must be one of ${CLOUDS.join(', ')}` }) cloud!: CloudId;
  @ApiProperty({ enum: MASTER_COUNTS, description: 'Masters; fixed at creation' }) @IsIn([...MASTER_COUNTS], { message: 'count must be 1 or 3 (etcd quorum)' }) count!: 1 | 3;
  @ApiPropertyOptional({ example: 't3.medium' }) @IsOptional() @IsString() instanceType?: string;
}
export class WorkerGroupDto {
  @ApiProperty({ enum: CLOUDS }) @IsIn([...CLOUDS], { message: `cloud must be one of ${CLOUDS.join(', ')}` }) cloud!: CloudId;
  @ApiProperty({ minimum: WORKER_COUNT.min, maximum: WORKER_COUNT.max }) @IsInt() @Min(WORKER_COUNT.min) @Max(WORKER_COUNT.max) count!: number;
  @ApiPropertyOptional() @IsOptional() @IsString() instanceType?: string;
}
export class CreateClusterDto {
  @ApiProperty({ example: 'prod', description: 'Lowercase letters, digits and dashes, 3–40 characters; unique in the organisation' })
  @Matches(/^[a-z][a-z0-9-]{1,38}[a-z0-9]$/, { message: 'name must be 3–40 lowercase letters, digits or dashes, starting with a letter' }) name!: string;
  @ApiProperty({ example: 'us-east' }) @IsString() @IsNotEmpty() region!: string;
  @ApiProperty({ enum: CLOUDS, isArray: true, example: ['aws', 'gcp', 'azure', 'digitalocean'] })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(4) @ArrayUnique({ message: 'clouds must not repeat' }) @IsIn([...CLOUDS], { each: true, message: `each cloud must be one of ${CLOUDS.join(', ')}` }) clouds!: CloudId[];
  @ApiProperty({ type: ControlPlaneDto }) @ValidateNested() @Type(() => ControlPlaneDto) @IsObject() controlPlane!: ControlPlaneDto;
  @ApiProperty({ type: WorkerGroupDto, isArray: true }) @IsArray() @ArrayMaxSize(8) @ValidateNested({ each: true }) @Type(() => WorkerGroupDto) workers!: WorkerGroupDto[];
  @ApiPropertyOptional({ example: DEFAULT_KUBERNETES_VERSION, description: `A released patch (default ${DEFAULT_KUBERNETES_VERSION})` }) @IsOptional() @Matches(/^1\.\d{2}\.\d{1,2}$/, { message: 'kubernetesVersion must look like 1.31.4' }) @IsReleasedKubernetesVersion() kubernetesVersion?: string;
  @ApiPropertyOptional({ enum: MESH_MODES, default: 'full', description: 'WireGuard topology: full mesh, or cross-location (one leader per cloud carries traffic between clouds)' })
  @IsOptional() @IsIn([...MESH_MODES], { message: `mesh must be one of ${MESH_MODES.join(', ')}` }) mesh?: MeshMode;
}

/** Bounds of list paging (`limit`, `offset`): a larger offset would overflow PostgreSQL's bigint (issue 10, finding 6). */
export const LIST_PAGING = { maxLimit: 200, maxOffset: 1_000_000 } as const;

/** `?limit&offset` of a list; out of bounds → 400 `invalid-query` naming the parameter and rule. */
export class ListQueryDto {
  @ApiPropertyOptional({ default: 50, minimum: 1, maximum: LIST_PAGING.maxLimit }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(LIST_PAGING.maxLimit) limit?: number;
  @ApiPropertyOptional({ default: 0, minimum: 0, maximum: LIST_PAGING.maxOffset }) @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(LIST_PAGING.maxOffset) offset?: number;
}

export class EventsQueryDto {
  @ApiPropertyOptional({ description: 'Only events after this id (the `next` of the previous page)' }) @IsOptional() @Matches(/^\d{1,18}$/, { message: 'after must be an event id' }) after?: string;
  @ApiPropertyOptional({ default: 200, maximum: 1000 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit?: number;
}

export class RegisterNodeDto {
  @ApiPropertyOptional() @IsOptional() @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'wireguardPublicKey must be a base64 WireGuard key' }) wireguardPublicKey?: string;
  @ApiPropertyOptional() @IsOptional() @IsIP(4, { message: 'privateIp must be an IPv4 address' }) privateIp?: string;
  @ApiPropertyOptional() @IsOptional() @IsIP(4, { message: 'publicIp must be an IPv4 address' }) publicIp?: string;
  @ApiPropertyOptional({ description: 'The agent\'s own secret (43 base64url characters): a retry with the same bootstrap token and id is answered again' })
  @IsOptional() @Matches(/^[A-Za-z0-9_-]{43}$/, { message: 'registrationId must be 32 random bytes, base64url (43 characters)' }) registrationId?: string;
}

export class MeshRequestDto {
  @ApiPropertyOptional({ description: 'The revision the agent has; the answer is held until it changes' }) @IsOptional() @Matches(/^[0-9a-f]{1,64}$/, { message: 'revision must be a revision from a previous answer' }) revision?: string;
}

export class LatencySampleDto {
  @ApiProperty() @IsUUID('all', { message: 'peerNodeId must be a node id' }) peerNodeId!: string;
  @ApiProperty({ nullable: true, description: 'Round trip in milliseconds; null when the peer did not answer' })
  @ValidateIf((_o, v) => v !== null) @IsNumber({ allowNaN: false, allowInfinity: false }, { message: 'rttMs must be a number of milliseconds or null' }) @Min(0) @Max(60_000) rttMs!: number | null;
}

/** The most certificates one report may list (`kubeadm certs check-expiration` lists 11 on a stacked-etcd master). */
export const MAX_CERTIFICATES = 32;

/** One certificate of a master and its expiry, as `kubeadm certs check-expiration` lists it. */
export class CertificateExpirationDto {
  @ApiProperty({ example: 'apiserver' }) @IsString() @IsNotEmpty() @MaxLength(64) @Matches(/^[a-z0-9][a-z0-9.-]*$/, { message: 'name must be a kubeadm certificate name such as apiserver or admin.conf' }) name!: string;
  @ApiProperty({ example: '2027-12-03T18:59:05Z', description: 'RFC 3339, UTC' })
  @IsISO8601({ strict: true }, { message: 'expiresAt must be an RFC 3339 time' }) @Matches(/Z$/, { message: 'expiresAt must be in UTC (…Z)' }) expiresAt!: string;
}

/** A dotted-quad IPv4 CIDR, parsed (ipaddr.js); undefined when `v` is not one. */
function parseCidr(v: unknown): [ipaddr.IPv4, number] | undefined {
  if (typeof v !== 'string' || !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(v)) return undefined;
  try {
    const [addr, len] = ipaddr.IPv4.parseCIDR(v);
    return [addr, len];
  } catch {
    return undefined;
  }
}

/** A node's pod CIDR rule (class-validator `ValidateBy`) judged on a parsed CIDR; true for unparsable values (rule `pod-cidr-format` says so). */
const podCidrRule = (name: string, ok: (addr: ipaddr.IPv4, len: number, text: string) => boolean, message: string) =>
  ValidateBy({ name, validator: { validate: (v: unknown) => { const c = parseCidr(v); return !c || ok(c[0], c[1], v as string); }, defaultMessage: () => message } });

const POD_SUBNET = ipaddr.IPv4.parseCIDR(ADDRESS_PLAN.podSubnet);
const POD_PREFIX = ADDRESS_PLAN.nodePodCidrPrefixLength;

/**
 * The most latency samples one report may carry: one per other node of the largest cluster (3 masters and
 * MAX_CLUSTER_WORKERS workers, clusters.service.ts).
 */
export const MAX_LATENCY_SAMPLES = 503;

/** POST /agent/v1/nodes/{nodeId}/status. The pod CIDR's cluster-wide rules (unique, set once) are checked by the handler. */
export class StatusReportDto {
  @ApiPropertyOptional({ example: '10.217.3.0/24', description: `The node's pod range: a /${POD_PREFIX} network inside ${ADDRESS_PLAN.podSubnet}` }) @IsOptional()
  @ValidateBy({ name: 'pod-cidr-format', validator: { validate: (v: unknown) => parseCidr(v) !== undefined, defaultMessage: () => 'podCidr must be an IPv4 CIDR such as 10.217.3.0/24' } })
  @podCidrRule('pod-cidr-size', (_a, len) => len === POD_PREFIX, `podCidr must be a /${POD_PREFIX}`)
  @podCidrRule('pod-cidr-range', (a) => a.match(POD_SUBNET), `podCidr must be inside the pod range ${ADDRESS_PLAN.podSubnet}`)
  @podCidrRule('pod-cidr-network', (a, len, text) => `${ipaddr.IPv4.networkAddressFromCIDR(text).toString()}/${len}` === `${a.toString()}/${len}`, 'podCidr must name its network address (e.g. 10.217.3.0/24, not 10.217.3.7/24)')
  podCidr?: string;
  @ApiPropertyOptional({ type: LatencySampleDto, isArray: true, maxItems: MAX_LATENCY_SAMPLES, description: 'Round trips to other nodes of the cluster; samples for other ids are ignored' })
  @IsOptional() @IsArray() @ArrayMaxSize(MAX_LATENCY_SAMPLES) @ValidateNested({ each: true }) @Type(() => LatencySampleDto) latencies?: LatencySampleDto[];
  @ApiPropertyOptional({ type: CertificateExpirationDto, isArray: true, maxItems: MAX_CERTIFICATES, description: "A master's kubeadm certificates and their expiry; ignored from a worker" })
  @IsOptional() @IsArray() @ArrayMaxSize(MAX_CERTIFICATES) @ValidateNested({ each: true }) @Type(() => CertificateExpirationDto) certificates?: CertificateExpirationDto[];
  @ApiPropertyOptional({ example: '0.1.0-1a2b3c4d5e6f', description: 'upgrade-agent: the node-agent version installed (the agent restarts on it)' })
  @IsOptional() @IsString() @Matches(AgentApi.AGENT_VERSION_PATTERN, { message: 'agentVersion must be 1-64 characters of [0-9A-Za-z.+-]' }) agentVersion?: string;
}

/** Limits of manual scaling (issue 3): workers added per request, and workers a cluster may hold. */
export const ADD_NODES = { min: 1, max: 20 } as const;

/** POST /v1/clusters/{id}/nodes — adds workers (no node pools: each is its own node). */
export class AddNodesDto {
  @ApiProperty({ enum: CLOUDS }) @IsIn([...CLOUDS], { message: `cloud must be one of ${CLOUDS.join(', ')}` }) cloud!: CloudId;
  @ApiPropertyOptional({ example: 't3.medium', description: "Default: the cloud's default instance type" }) @IsOptional() @IsString() @MaxLength(64) instanceType?: string;
  @ApiProperty({ minimum: ADD_NODES.min, maximum: ADD_NODES.max })
  @IsInt({ message: 'count must be a whole number of workers' }) @Min(ADD_NODES.min, { message: `count must be at least ${ADD_NODES.min}` }) @Max(ADD_NODES.max, { message: `count must be at most ${ADD_NODES.max} per request` }) count!: number;
  @ApiPropertyOptional({ enum: ['worker'], description: 'Only workers can be added; masters are fixed at creation' })
  @IsOptional() @IsString() role?: string;
}

/** PATCH /v1/clusters/{id} — the declared state a user may change after creation. */
export class UpdateClusterDto {
  @ApiPropertyOptional({ example: '1.31.5', description: 'A newer patch of the same minor: rolled out one node at a time, masters first' })
  @IsOptional() @IsString() @MaxLength(11) @Matches(/^\d{1,3}\.\d{1,3}\.\d{1,3}$/, { message: 'kubernetesVersion must be MAJOR.MINOR.PATCH, e.g. 1.31.5' }) @IsReleasedKubernetesVersion() kubernetesVersion?: string;
  @ApiPropertyOptional({ description: 'Not changeable: masters are fixed at creation (present only to say so clearly)' })
  @IsOptional() controlPlane?: unknown;
}

/** POST /agent/v1/nodes/{nodeId}/operations/{operationId} */
export class OperationResultDto {
  @ApiProperty({ enum: ['Succeeded', 'Failed'] }) @IsIn(['Succeeded', 'Failed'], { message: 'state must be Succeeded or Failed' }) state!: 'Succeeded' | 'Failed';
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(2000) message?: string;
  @ApiPropertyOptional({ example: '1.31.5' }) @IsOptional() @IsString() @MaxLength(11) @Matches(/^\d{1,3}\.\d{1,3}\.\d{1,3}$/, { message: 'kubeletVersion must be MAJOR.MINOR.PATCH' }) kubeletVersion?: string;
  @ApiPropertyOptional({ type: CertificateExpirationDto, isArray: true, maxItems: MAX_CERTIFICATES, description: 'renew-certificates: the master\'s certificates after the renewal' })
  @IsOptional() @IsArray() @ArrayMaxSize(MAX_CERTIFICATES) @ValidateNested({ each: true }) @Type(() => CertificateExpirationDto) certificates?: CertificateExpirationDto[];
  @ApiPropertyOptional({ example: '0.1.0-1a2b3c4d5e6f', description: 'upgrade-agent: the node-agent version installed (the agent restarts on it)' })
  @IsOptional() @IsString() @Matches(AgentApi.AGENT_VERSION_PATTERN, { message: 'agentVersion must be 1-64 characters of [0-9A-Za-z.+-]' }) agentVersion?: string;
}
