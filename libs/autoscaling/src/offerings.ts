import { gkeReservation, DEFAULT_MAX_PODS } from '@skyweave/kube-sim';
import type { Offering, Resources } from './types';

/** `${cloud}/${region}/${instanceType}`: how offerings are named in `unavailable` and in tie-breaks. */
export function offeringKey(o: Pick<Offering, 'cloud' | 'region' | 'instanceType'>): string {
  return `${o.cloud}/${o.region}/${o.instanceType}`;
}

/**
 * The labels a node bought from `o` registers with, as the kubelet sets them (kube-sim nodeLabels(), bootstrap
 * nodeLabels()): Azure's numeric zone becomes `<region>-<n>`. Not included: kubernetes.io/hostname and
 * skyweave.io/node-id, which are not known before the node exists (a pod selecting on them never fits a new node).
 */
export function nodeLabelsFor(o: Offering): Record<string, string> {
  return {
    'kubernetes.io/arch': o.architecture,
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': o.instanceType,
    'topology.kubernetes.io/region': o.region,
    'topology.kubernetes.io/zone': o.cloud === 'azure' && /^\d+$/.test(o.zone) ? `${o.region}-${o.zone}` : o.zone,
    'skyweave.io/cloud': o.cloud,
  };
}

/** A new node's allocatable: capacity minus kube-sim's gkeReservation (what the sandbox kubelet reports), 110 pods. */
export function allocatableOf(o: Pick<Offering, 'vcpu' | 'memoryMiB'>): Resources {
  const r = gkeReservation(o.vcpu, o.memoryMiB);
  return { cpuMillicores: o.vcpu * 1000 - r.milliCPU, memoryMiB: o.memoryMiB - r.memoryMiB, pods: DEFAULT_MAX_PODS };
}
