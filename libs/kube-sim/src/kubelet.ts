import ipaddr from 'ipaddr.js';
import { Clock } from './clock';
import { ErrorSink, every, isoMicro, isoSeconds, Loop, recordEvent } from './controller';
import { isAlreadyExists, isConflict, isNotFound, KubeObjects } from './objects';
import { formatMilli } from './quantity';
import { Condition, Lease, Node, Pod, Taint } from './types';

/** Namespace of node heartbeat Leases (KEP-589). */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** kubeadm's control-plane role label and taint key. */
export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';
/** kubelet's default `maxPods`. */
export const DEFAULT_MAX_PODS = 110;

/** What kube-sim reserves of a machine: cpu in millicores and memory in MiB (system + kube reserved + eviction). */
export interface Reservation {
  milliCPU: number;
  memoryMiB: number;
}

/**
 * GKE's node allocatable formula (cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes, "Memory and CPU
 * reservations"), which EKS's bootstrap uses for cpu too:
 * - memory: 255 MiB below 1 GiB; else 25% of the first 4 GiB, 20% of the next 4, 10% of the next 8, 6% of the next
 *   112 and 2% above 128 GiB; plus the kubelet's default hard eviction threshold `memory.available<100Mi`;
 * - cpu: 6% of the first core, 1% of the next, 0.5% of the next 2, 0.25% of every core above 4.
 * A 2 vCPU / 4096 MiB machine keeps 1930m cpu and 2972 MiB allocatable. Rounded up to whole millicores / MiB.
 */
export function gkeReservation(vcpu: number, memoryMiB: number): Reservation {
  const tiers = (amount: number, bands: [number, number][]): number => {
    let left = amount;
    let reserved = 0;
    for (const [size, fraction] of bands) {
      const part = Math.min(left, size);
      reserved += part * fraction;
      left -= part;
      if (left <= 0) break;
    }
    return reserved;
  };
  const memory = memoryMiB < 1024 ? 255 : tiers(memoryMiB, [[4096, 0.25], [4096, 0.2], [8192, 0.1], [114688, 0.06], [Infinity, 0.02]]);
  const cpu = tiers(vcpu * 1000, [[1000, 0.06], [1000, 0.01], [2000, 0.005], [Infinity, 0.0025]]);
  return { milliCPU: Math.ceil(cpu - 1e-9), memoryMiB: Math.ceil(memory - 1e-9) + 100 };
}

/** The machine a simulated kubelet runs on. */
export interface KubeletMachine {
  /** Node name (the VM's hostname). */
  name: string;
  vcpu: number;
  memoryMiB: number;
  instanceType: string;
  region: string;
  zone: string;
  /** Skyweave cloud id (`aws`, `gcp`, `azure`, `digitalocean`): label skyweave.io/cloud. */
  cloud: string;
  /** Skyweave node id: label skyweave.io/node-id. */
  nodeId: string;
  /** A master: control-plane label and NoSchedule taint, as kubeadm sets them. */
  controlPlane: boolean;
  /** The node's InternalIP. */
  internalIP: string;
  /** IPv4 CIDR pods on this node get their IPs from (`spec.podCIDR`). */
  podCIDR: string;
  providerID?: string;
  /** e.g. `v1.34.2`. */
  kubeletVersion?: string;
  /** `amd64` unless given. */
  arch?: string;
  maxPods?: number;
  /** More labels from kubelet's `--node-labels` (added to, never replacing, the ones above). */
  extraLabels?: Record<string, string>;
  /** `status.nodeInfo.osImage` (the VM image's PRETTY_NAME), default `Debian GNU/Linux 13 (trixie)`. */
  osImage?: string;
  /** `status.nodeInfo.containerRuntimeVersion`, default `containerd://1.7.24`. */
  containerRuntimeVersion?: string;
}

export interface KubeletOptions {
  /** Lease renewal period in ms (kubelet: `nodeLeaseRenewIntervalFraction` 0.25 × 40 s = 10 s). */
  leaseRenewMs: number;
  /** `spec.leaseDurationSeconds` of the Lease (kubelet `nodeLeaseDurationSeconds`, 40). */
  leaseDurationSeconds: number;
  /** Time from a pod being bound here to Running and Ready, in ms. */
  podStartDelayMs: number;
  /** Time a pod being deleted takes to stop, in ms (capped by its grace period; there are no real containers). */
  podStopDelayMs: number;
  /** The reservation subtracted from capacity for allocatable (default gkeReservation). */
  reservation: (vcpu: number, memoryMiB: number) => Reservation;
}

export const DEFAULT_KUBELET_OPTIONS: KubeletOptions = {
  leaseRenewMs: 10_000,
  leaseDurationSeconds: 40,
  podStartDelayMs: 2_000,
  podStopDelayMs: 0,
  reservation: gkeReservation,
};

/** The labels kubelet, the cloud provider, kubeadm and Skyweave put on a node. */
export function nodeLabels(m: KubeletMachine): Record<string, string> {
  return {
    ...m.extraLabels,
    'kubernetes.io/hostname': m.name,
    'kubernetes.io/arch': m.arch ?? 'amd64',
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': m.instanceType,
    'topology.kubernetes.io/region': m.region,
    'topology.kubernetes.io/zone': m.zone,
    'skyweave.io/cloud': m.cloud,
    'skyweave.io/node-id': m.nodeId,
    ...(m.controlPlane ? { [CONTROL_PLANE_LABEL]: '', 'node.kubernetes.io/exclude-from-external-load-balancers': '' } : {}),
  };
}

/** The node conditions a healthy kubelet posts (reasons and messages as kubelet's setters write them). */
export function healthyConditions(nowIso: string): Condition[] {
  const c = (type: string, status: 'True' | 'False', reason: string, message: string): Condition => ({ type, status, reason, message, lastHeartbeatTime: nowIso, lastTransitionTime: nowIso });
  return [
    c('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    c('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    c('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    c('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
  ];
}

/** The Node object a kubelet registers for `m` (capacity from vCPU and MiB, allocatable after the reservation). */
export function nodeFor(m: KubeletMachine, reservation: Reservation, nowIso: string): Node {
  const maxPods = String(m.maxPods ?? DEFAULT_MAX_PODS);
  const taints: Taint[] = m.controlPlane ? [{ key: CONTROL_PLANE_LABEL, effect: 'NoSchedule' }] : [];
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: m.name, labels: nodeLabels(m), annotations: { 'node.alpha.kubernetes.io/ttl': '0' } },
    spec: { podCIDR: m.podCIDR, podCIDRs: [m.podCIDR], ...(m.providerID ? { providerID: m.providerID } : {}), ...(taints.length ? { taints } : {}) },
    status: {
      capacity: { cpu: String(m.vcpu), memory: `${m.memoryMiB * 1024}Ki`, pods: maxPods },
      allocatable: {
        cpu: formatMilli(m.vcpu * 1000 - reservation.milliCPU),
        memory: `${(m.memoryMiB - reservation.memoryMiB) * 1024}Ki`,
        pods: maxPods,
      },
      conditions: healthyConditions(nowIso),
      addresses: [
        { type: 'InternalIP', address: m.internalIP },
        { type: 'Hostname', address: m.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: m.arch ?? 'amd64',
        operatingSystem: 'linux',
        osImage: m.osImage ?? 'Debian GNU/Linux 13 (trixie)',
        kernelVersion: '6.12.0-skyweave-sandbox',
        containerRuntimeVersion: m.containerRuntimeVersion ?? 'containerd://1.7.24',
        kubeletVersion: m.kubeletVersion ?? 'v1.34.2',
        kubeProxyVersion: '',
        machineID: m.nodeId.replace(/-/g, ''),
        systemUUID: m.nodeId,
        bootID: m.nodeId,
      },
    },
  };
}

/** The first free IPv4 address of `cidr` from the second host on (the first is the bridge's), or undefined when full. */
export function nextPodIP(cidr: string, used: ReadonlySet<string>): string | undefined {
  const [net, prefix] = ipaddr.IPv4.parseCIDR(cidr);
  const base = net.toByteArray().reduce((acc, b) => acc * 256 + b, 0);
  const size = 2 ** (32 - prefix);
  const start = base - (base % size);
  for (let i = 2; i < size - 1; i++) {
    const n = start + i;
    const ip = [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
    if (!used.has(ip)) return ip;
  }
  return undefined;
}

/**
 * A simulated kubelet on one machine: registers its Node, renews its Lease in kube-node-lease every `leaseRenewMs`
 * (and puts Ready back to True after the node lifecycle controller marked it Unknown), turns pods bound to it Running
 * and Ready `podStartDelayMs` after it sees them (podIP from `spec.podCIDR`, hostIP, containerStatuses), and removes
 * pods being deleted (`deletionTimestamp` set) once their containers "stopped". `stop()` is the machine stopping:
 * heartbeats and pod handling end, the Node and pods stay as they are.
 */
export class Kubelet {
  readonly options: KubeletOptions;
  private readonly loop: Loop;
  private stopWatch: (() => void) | undefined;
  private stopHeartbeat: (() => void) | undefined;
  private readonly timers = new Map<string, () => void>();
  private readonly inflight = new Set<Promise<void>>();

  /** Whether the last heartbeat could not reach the API server (logged once per outage, not every renewal). */
  private disconnected = false;
  /** Whether the Node has been registered by this kubelet (a kubelet that starts cut off registers once it connects). */
  private registered = false;

  /**
   * @param connection whether the kubelet can reach the API server now (its kubeconfig's server, as its machine's
   *   network would route it; default: always). While it cannot, nothing it does reaches the cluster: no Lease
   *   renewal, no Node registration, no pod status (so its Node turns NotReady after the grace period, as a kubelet
   *   cut off from its API server would), and it carries on once it can.
   */
  constructor(
    readonly machine: KubeletMachine,
    private readonly objects: KubeObjects,
    private readonly clock: Clock,
    private readonly onError: ErrorSink,
    options: Partial<KubeletOptions> = {},
    private readonly connection: () => boolean = () => true,
  ) {
    this.options = { ...DEFAULT_KUBELET_OPTIONS, ...options };
    this.loop = new Loop(`kubelet/${machine.name}`, () => this.syncPods(), clock, onError);
  }

  get name(): string {
    return this.machine.name;
  }

  get running(): boolean {
    return this.stopHeartbeat !== undefined;
  }

  /** Registers the Node (or takes over an existing one), renews the Lease and starts handling pods. */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.connection()) {
      await this.register();
      await this.heartbeat();
    }
    this.stopWatch = this.objects.watch('pods', (e) => {
      if (e.object.spec.nodeName === this.name) this.loop.kick();
    });
    this.stopHeartbeat = every(this.clock, this.options.leaseRenewMs, () => {
      this.report(this.heartbeat());
    });
    this.loop.kick();
  }

  /** The machine stops: no more heartbeats or pod handling (the Node and its pods stay). */
  stop(): void {
    this.stopHeartbeat?.();
    this.stopHeartbeat = undefined;
    this.stopWatch?.();
    this.stopWatch = undefined;
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
  }

  private async register(): Promise<void> {
    this.registered = true;
    const now = isoSeconds(this.clock.now());
    const wanted = nodeFor(this.machine, this.options.reservation(this.machine.vcpu, this.machine.memoryMiB), now);
    const existing = await this.objects.get('nodes', this.name);
    if (!existing) {
      try {
        await this.objects.create('nodes', wanted);
        return;
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
    // kubelet re-registering: keep the node's spec (cordon, taints, CIDR) and refresh labels and status
    const current = (await this.objects.get('nodes', this.name))!;
    const updated = await this.objects.update('nodes', { ...current, metadata: { ...current.metadata, labels: { ...current.metadata.labels, ...wanted.metadata.labels } } });
    await this.objects.updateStatus('nodes', { ...updated, status: wanted.status });
  }

  /** Renews the Lease (creating it when missing) and keeps the Ready condition True. */
  async heartbeat(): Promise<void> {
    if (!this.connection()) {
      if (!this.disconnected) this.onError(`kubelet/${this.name}`, new Error('failed to renew the node lease: the API server cannot be reached (connection refused)'));
      this.disconnected = true;
      return;
    }
    this.disconnected = false;
    if (!this.registered) await this.register();
    const nowMs = this.clock.now();
    const node = await this.objects.get('nodes', this.name);
    const lease = await this.objects.get('leases', this.name, NODE_LEASE_NAMESPACE);
    if (!lease) {
      const created: Lease = {
        metadata: {
          name: this.name,
          namespace: NODE_LEASE_NAMESPACE,
          ...(node ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.name, uid: node.metadata.uid ?? '' }] } : {}),
        },
        spec: { holderIdentity: this.name, leaseDurationSeconds: this.options.leaseDurationSeconds, renewTime: isoMicro(nowMs) },
      };
      try {
        await this.objects.create('leases', created);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    } else {
      try {
        await this.objects.update('leases', { ...lease, spec: { ...lease.spec, holderIdentity: this.name, leaseDurationSeconds: this.options.leaseDurationSeconds, renewTime: isoMicro(nowMs) } });
      } catch (err) {
        if (!isConflict(err)) throw err; // next renewal wins
      }
    }
    if (node && node.status?.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') {
      await this.objects.updateStatus('nodes', { ...node, status: { ...node.status, conditions: healthyConditions(isoSeconds(nowMs)) } });
    }
  }

  private async syncPods(): Promise<void> {
    if (!this.running || !this.connection()) return;
    const pods = await this.objects.list('pods', { nodeName: this.name });
    const live = new Set<string>();
    for (const pod of pods) {
      const uid = pod.metadata.uid ?? '';
      live.add(uid);
      if (this.timers.has(uid)) continue;
      if (pod.metadata.deletionTimestamp) {
        const graceMs = (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
        this.timers.set(uid, this.clock.after(Math.min(this.options.podStopDelayMs, graceMs), () => this.report(this.finishDeletion(pod))));
      } else if ((pod.status?.phase ?? 'Pending') === 'Pending') {
        this.timers.set(uid, this.clock.after(this.options.podStartDelayMs, () => this.report(this.startPod(pod))));
      } else if (pod.status?.phase === 'Running' && pod.status.conditions?.find((c) => c.type === 'Ready')?.status !== 'True') {
        // back after an outage (the node lifecycle controller marked it not ready): the status manager reports it Ready
        await this.markReady(pod);
      }
    }
    for (const [uid, cancel] of this.timers) {
      if (!live.has(uid)) {
        cancel();
        this.timers.delete(uid);
      }
    }
  }

  private report(work: Promise<void>): void {
    const tracked = work.catch((err: unknown) => this.onError(`kubelet/${this.name}`, err)).finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
  }

  /** True while pod work or a heartbeat is running. */
  get busy(): boolean {
    return this.loop.busy || this.inflight.size > 0;
  }

  /** Resolves when no pod work or heartbeat of this kubelet is in flight. */
  async idle(): Promise<void> {
    while (this.loop.busy || this.inflight.size) {
      await this.loop.idle();
      await Promise.all([...this.inflight]);
    }
  }

  private async markReady(pod: Pod): Promise<void> {
    const now = isoSeconds(this.clock.now());
    const conditions = (pod.status?.conditions ?? []).map((c) => (c.type === 'Ready' || c.type === 'ContainersReady') && c.status !== 'True' ? { ...c, status: 'True' as const, lastTransitionTime: now } : c);
    try {
      await this.objects.updateStatus('pods', { ...pod, status: { ...pod.status, conditions } });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
      this.loop.kick();
    }
  }

  private async finishDeletion(pod: Pod): Promise<void> {
    const uid = pod.metadata.uid ?? '';
    try {
      if (!this.running) return; // the machine stopped meanwhile: the pod stays Terminating
      await this.objects.delete('pods', pod.metadata.name ?? '', pod.metadata.namespace, { gracePeriodSeconds: 0, preconditions: { uid } });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    } finally {
      this.timers.delete(uid);
      this.loop.kick();
    }
  }

  private async startPod(seen: Pod): Promise<void> {
    const uid = seen.metadata.uid ?? '';
    try {
      if (!this.running) return; // the machine stopped meanwhile
      const pod = await this.objects.get('pods', seen.metadata.name ?? '', seen.metadata.namespace);
      if (!pod || pod.metadata.uid !== uid || pod.spec.nodeName !== this.name || pod.metadata.deletionTimestamp) return;
      if ((pod.status?.phase ?? 'Pending') !== 'Pending') return;
      const used = new Set((await this.objects.list('pods', { nodeName: this.name })).map((p) => p.status?.podIP).filter((ip): ip is string => !!ip));
      const podIP = nextPodIP(this.machine.podCIDR, used);
      const now = isoSeconds(this.clock.now());
      if (!podIP) {
        await recordEvent(this.objects, this.clock, 'kubelet', pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: no IP addresses available in range set: ${this.machine.podCIDR}`);
        return;
      }
      const condition = (type: string): Condition => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: now });
      const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled') ?? condition('PodScheduled');
      await this.objects.updateStatus('pods', {
        ...pod,
        status: {
          ...pod.status,
          phase: 'Running',
          conditions: [condition('PodReadyToStartContainers'), condition('Initialized'), condition('Ready'), condition('ContainersReady'), scheduled],
          hostIP: this.machine.internalIP,
          hostIPs: [{ ip: this.machine.internalIP }],
          podIP,
          podIPs: [{ ip: podIP }],
          startTime: now,
          qosClass: qosClass(pod),
          containerStatuses: pod.spec.containers.map((c, i) => ({
            name: c.name,
            image: c.image,
            imageID: `${c.image ?? ''}@sha256:${'0'.repeat(64)}`,
            containerID: `containerd://${uid.replace(/-/g, '')}${String(i).padStart(4, '0')}`,
            ready: true,
            started: true,
            restartCount: 0,
            state: { running: { startedAt: now } },
          })),
        },
      });
      for (const c of pod.spec.containers) {
        await recordEvent(this.objects, this.clock, 'kubelet', pod, 'Normal', 'Started', `Started container ${c.name}`);
      }
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    } finally {
      this.timers.delete(uid);
      this.loop.kick();
    }
  }
}

/** The pod's QoS class (Guaranteed, Burstable, BestEffort), as kubelet reports it (pkg/apis/core/v1/helper/qos). */
export function qosClass(pod: Pod): string {
  const containers = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
  const any = containers.some((c) => Object.keys(c.resources?.requests ?? {}).length || Object.keys(c.resources?.limits ?? {}).length);
  if (!any) return 'BestEffort';
  const guaranteed = containers.every((c) => {
    const limits = c.resources?.limits ?? {};
    const requests = { ...limits, ...(c.resources?.requests ?? {}) };
    return ['cpu', 'memory'].every((r) => limits[r] !== undefined && requests[r] === limits[r]);
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
