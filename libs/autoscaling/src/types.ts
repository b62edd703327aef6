import type { CloudId } from '@skyweave/domain';
import type { NodeSelectorTerm, Taint, Toleration } from '@skyweave/kube-sim';

/** Schedulable resources: cpu in millicores, memory in MiB, and a pod count. */
export interface Resources {
  cpuMillicores: number;
  memoryMiB: number;
  pods: number;
}

/** A pod to place: what the scheduler needs of it. */
export interface PodToPlace {
  /** "namespace/name" */
  key: string;
  requests: { cpuMillicores: number; memoryMiB: number };
  nodeSelector?: Record<string, string>;
  /** spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms (ORed) */
  requiredNodeAffinity?: NodeSelectorTerm[];
  tolerations?: Toleration[];
}

/** An instance type one can buy, in one cloud region/zone, at an hourly on-demand price. */
export interface Offering {
  cloud: CloudId;
  region: string;
  zone: string;
  instanceType: string;
  /** e.g. "m5", "e2", "Dsv5", "s" (DigitalOcean) */
  family: string;
  vcpu: number;
  memoryMiB: number;
  architecture: 'amd64' | 'arm64';
  usdPerHour: number;
}

/** Existing or in-flight capacity: a node that exists (or was requested and is still launching). */
export interface CapacityNode {
  name: string;
  labels: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  free: Resources;
  inFlight: boolean;
}

export interface ScaleUpPolicy {
  /** clusterLimits.cpu.maxCores: hard bound on workers' total vCPU after the decision */
  maxCores: number | null;
  /** current workers' total vCPU incl. in-flight */
  workerCores: number;
  nodeConstraints?: { minCpuCores?: number; maxCpuCores?: number; minRamMib?: number; maxRamMib?: number };
  /** allowed clouds (undefined = all offered) */
  clouds?: CloudId[];
  instanceFamilies?: { include?: string[]; exclude?: string[] };
  /** each NEW node keeps this % of its allocatable cpu/memory free (its pods, DaemonSets included, use at most (100-x)%) */
  headroom?: { cpuPercentage: number; memoryPercentage: number };
}

export interface ScaleUpInput {
  pods: PodToPlace[];
  offerings: Offering[];
  nodes: CapacityNode[];
  policy: ScaleUpPolicy;
  /** offeringKeys refused recently (quota/capacity): never chosen */
  unavailable?: ReadonlySet<string>;
  /** requests of the DaemonSet pods every new node will run (subtracted from new nodes' allocatable) */
  daemonSetOverhead?: Resources;
}

export interface ScaleUpDecision {
  /** new nodes to buy and the pods meant for each */
  launches: { offering: Offering; pods: string[] }[];
  /** pods that existing/in-flight capacity already takes (never buy for these) */
  onExisting: { node: string; pods: string[] }[];
  /** no allowed offering can ever hold it, or limits forbid: a human reason */
  unplaceable: { pod: string; reason: string }[];
  /** sum of launches' prices */
  costUsdPerHour: number;
  /** per launch, the cheapest offering NOT chosen that would also have held its pods, with why it lost, when there is one */
  alternatives: { launch: number; offering: Offering; refusedBecause: string }[];
}

/** Scale down: a worker and what runs on it. */
export interface DownscaleCandidate {
  name: string;
  labels: Record<string, string>;
  taints?: Taint[];
  /** cordoned (spec.unschedulable): never receives the pods of a removed node */
  unschedulable?: boolean;
  allocatable: Resources;
  vcpu: number;
  usdPerHour: number | null;
  /** pods that must find another home (not DaemonSet, not mirror pods) */
  movablePods: PodToPlace[];
  /** total requests incl. DaemonSet pods (for utilisation) */
  requested: Resources;
  /** node or one of its pods annotated autoscaling.skyweave.io/do-not-disrupt: "true" */
  doNotDisrupt: boolean;
  master: boolean;
}
