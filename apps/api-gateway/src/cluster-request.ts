import {
  CLOUD_NAMES, CloudId, CloudPair, ClusterSpec, DEFAULT_INSTANCE_TYPE, DEFAULT_KUBERNETES_VERSION, MAX_CROSS_CLOUD_LATENCY_MS, MAX_TOTAL_WORKERS, REGIONS, Region, findInstanceType, findRegion,
  worstCrossCloudLatency,
} from '@skyweave/domain';
import type { CloudCredentialEntity, OrgScope, Repositories } from '@skyweave/persistence';
import type { CreateClusterDto } from './dtos';
import { Problem, Violation } from './problem';

/** A cluster request that passed every domain rule: the spec create stores (defaults filled in) and what was looked up for it. */
export interface ValidatedClusterRequest {
  /** The spec as `POST /v1/clusters` stores it: instance types, Kubernetes version and mesh defaulted. */
  spec: ClusterSpec;
  region: Region;
  /** The worst cross-cloud round trip of the region catalogue among the clouds; undefined for one cloud. */
  worstLatency: { pair: CloudPair; ms: number } | undefined;
  /** Workers of every group. */
  totalWorkers: number;
  /** The organisation's stored credentials of the cluster's clouds (one row per cloud; sealed). */
  credentials: CloudCredentialEntity[];
}

/**
 * The domain rules of a cluster request, shared by `POST /v1/clusters` (ClustersService.create) and
 * `POST /v1/clusters/plan` (PlanService), so that both refuse the same bodies with the same 422s: the region is
 * known (`known-region`) and served by each cloud (`region-available`), the clouds are within the cross-cloud latency
 * budget (`latency-budget`), the control plane and every worker group are on one of the cluster's clouds
 * (`cloud-in-cluster`) with an instance type the cloud offers (`known-instance-type`), at most MAX_TOTAL_WORKERS
 * workers (`max-total`), and the organisation has credentials for every cloud (`credentials-present`). The body's
 * shape (CreateClusterDto's decorators) is checked before, by the validation pipe. Reads only (the credentials).
 * @throws Problem 422 `validation-failed` listing every broken rule with its field.
 */
export async function validateClusterRequest(repos: Repositories, scope: OrgScope, dto: CreateClusterDto): Promise<ValidatedClusterRequest> {
  const v: Violation[] = [];
  const region = findRegion(dto.region);
  if (!region) v.push({ field: 'region', rule: 'known-region', message: `unknown region ${dto.region}; known: ${REGIONS.map((r) => r.id).join(', ')}` });
  dto.clouds.forEach((c, i) => {
    if (region && !region.clouds[c]) v.push({ field: `clouds[${i}]`, rule: 'region-available', message: `region ${region.id} is not available on ${CLOUD_NAMES[c]}` });
  });
  const servedClouds = region ? dto.clouds.filter((c) => region.clouds[c]) : [];
  const worst = region ? worstCrossCloudLatency(region, servedClouds) : undefined;
  if (worst && worst.ms > MAX_CROSS_CLOUD_LATENCY_MS) {
    const [a, b] = worst.pair.split('|') as [CloudId, CloudId];
    v.push({ field: 'clouds', rule: 'latency-budget', message: `${CLOUD_NAMES[a]} and ${CLOUD_NAMES[b]} are ${worst.ms} ms apart in ${region?.id}, above the ${MAX_CROSS_CLOUD_LATENCY_MS} ms cross-cloud budget` });
  }
  if (!dto.clouds.includes(dto.controlPlane.cloud)) v.push({ field: 'controlPlane.cloud', rule: 'cloud-in-cluster', message: `${dto.controlPlane.cloud} is not one of the cluster's clouds` });
  const cpType = dto.controlPlane.instanceType ?? DEFAULT_INSTANCE_TYPE[dto.controlPlane.cloud];
  if (!findInstanceType(dto.controlPlane.cloud, cpType)) v.push({ field: 'controlPlane.instanceType', rule: 'known-instance-type', message: `${cpType} is not offered on ${CLOUD_NAMES[dto.controlPlane.cloud]}` });
  dto.workers.forEach((w, i) => {
    if (!dto.clouds.includes(w.cloud)) v.push({ field: `workers[${i}].cloud`, rule: 'cloud-in-cluster', message: `${w.cloud} is not one of the cluster's clouds` });
    const t = w.instanceType ?? DEFAULT_INSTANCE_TYPE[w.cloud];
    if (!findInstanceType(w.cloud, t)) v.push({ field: `workers[${i}].instanceType`, rule: 'known-instance-type', message: `${t} is not offered on ${CLOUD_NAMES[w.cloud]}` });
  });
  const totalWorkers = dto.workers.reduce((s, w) => s + w.count, 0);
  if (totalWorkers > MAX_TOTAL_WORKERS) v.push({ field: 'workers', rule: 'max-total', message: `at most ${MAX_TOTAL_WORKERS} workers at creation (asked for ${totalWorkers})` });
  const credentials = await repos.credentials.findByClouds(scope, dto.clouds);
  dto.clouds.forEach((c, i) => {
    if (!credentials.some((k) => k.cloud === c)) v.push({ field: `clouds[${i}]`, rule: 'credentials-present', message: `no ${CLOUD_NAMES[c]} credentials in this organisation; add them with POST /v1/cloud-credentials` });
  });
  if (v.length || !region) throw Problem.validation(v);

  const spec: ClusterSpec = {
    name: dto.name, region: dto.region, clouds: dto.clouds,
    controlPlane: { cloud: dto.controlPlane.cloud, count: dto.controlPlane.count, instanceType: cpType },
    workers: dto.workers.map((w) => ({ cloud: w.cloud, count: w.count, instanceType: w.instanceType ?? DEFAULT_INSTANCE_TYPE[w.cloud] })),
    kubernetesVersion: dto.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION,
    mesh: dto.mesh ?? 'full',
  };
  return { spec, region, worstLatency: worst, totalWorkers, credentials };
}
