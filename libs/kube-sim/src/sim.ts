import { Clock } from './clock';
import { ErrorSink, every, Loop } from './controller';
import { DeploymentController } from './deployment';
import { DisruptionController } from './disruption';
import { Kubelet, KubeletMachine, KubeletOptions, NODE_LEASE_NAMESPACE } from './kubelet';
import { NodeLifecycleController, NodeLifecycleOptions } from './node-lifecycle';
import { isNotFound, KubeObjects } from './objects';
import { ReplicaSetController } from './replicaset';
import { Scheduler } from './scheduler';

export interface KubeSimOptions {
  kubelet?: Partial<KubeletOptions>;
  nodeLifecycle?: Partial<NodeLifecycleOptions>;
  /** Where failed reconcile passes are reported (default: console.error). They are retried after 1 s. */
  onError?: ErrorSink;
  /**
   * Watch events arriving within this many ms make one controller pass (default 100): controllers re-read everything
   * on a pass, so a pass per event would be quadratic in the number of pods.
   */
  batchMs?: number;
}

/**
 * What runs next to the sandbox API server in place of kube-scheduler, kube-controller-manager and the kubelets:
 * the Scheduler, the ReplicaSet, Deployment and disruption (PodDisruptionBudget) controllers, the node lifecycle
 * controller, and one Kubelet per machine that joined. Everything goes through `objects` and `clock`; controllers react to watch events and the node
 * lifecycle controller also runs every `monitorPeriodMs`.
 */
export class KubeSim {
  private readonly loops: Loop[];
  private readonly kubelets = new Map<string, Kubelet>();
  private readonly stops: (() => void)[] = [];
  private readonly onError: ErrorSink;
  private readonly scheduler: Loop;
  private readonly replicaSets: Loop;
  private readonly deployments: Loop;
  private readonly nodeLifecycle: Loop;
  private readonly disruption: Loop;
  readonly lifecycle: NodeLifecycleController;

  constructor(
    private readonly objects: KubeObjects,
    private readonly clock: Clock,
    private readonly options: KubeSimOptions = {},
  ) {
    this.onError = options.onError ?? ((component, err) => console.error(`kube-sim ${component}:`, err));
    const scheduler = new Scheduler(objects, clock);
    const rs = new ReplicaSetController(objects, clock, (ms) => this.requeueReplicaSets(ms));
    const deploy = new DeploymentController(objects, clock);
    this.lifecycle = new NodeLifecycleController(objects, clock, options.nodeLifecycle);
    const disruption = new DisruptionController(objects, clock, (ms) => this.requeueDisruption(ms));
    const batchMs = options.batchMs ?? 100;
    this.scheduler = new Loop('scheduler', async () => void (await scheduler.schedulePending()), clock, this.onError, 1000, batchMs);
    this.replicaSets = new Loop('replicaset-controller', () => rs.syncAll(), clock, this.onError, 1000, batchMs);
    this.deployments = new Loop('deployment-controller', () => deploy.syncAll(), clock, this.onError, 1000, batchMs);
    this.nodeLifecycle = new Loop('node-lifecycle-controller', () => this.lifecycle.monitor(), clock, this.onError, 1000, batchMs);
    this.disruption = new Loop('disruption-controller', () => disruption.syncAll(), clock, this.onError, 1000, batchMs);
    this.loops = [this.scheduler, this.replicaSets, this.deployments, this.nodeLifecycle, this.disruption];
  }

  private requeueAt: number | undefined;
  private cancelRequeue: (() => void) | undefined;

  /** One timer for the earliest pending `minReadySeconds` expiry. */
  private requeueReplicaSets(ms: number): void {
    const at = this.clock.now() + ms;
    if (this.requeueAt !== undefined && this.requeueAt <= at) return;
    this.cancelRequeue?.();
    this.requeueAt = at;
    this.cancelRequeue = this.clock.after(ms, () => {
      this.requeueAt = undefined;
      this.replicaSets.kick();
    });
  }

  private disruptionRequeueAt: number | undefined;
  private cancelDisruptionRequeue: (() => void) | undefined;

  /** One timer for the earliest expiry of a PDB's `status.disruptedPods` entry. */
  private requeueDisruption(ms: number): void {
    const at = this.clock.now() + ms;
    if (this.disruptionRequeueAt !== undefined && this.disruptionRequeueAt <= at) return;
    this.cancelDisruptionRequeue?.();
    this.disruptionRequeueAt = at;
    this.cancelDisruptionRequeue = this.clock.after(ms, () => {
      this.disruptionRequeueAt = undefined;
      this.disruption.kick();
    });
  }

  /** Starts the controllers (watches and the node monitor period). */
  start(): void {
    const kick = (...loops: Loop[]) => () => loops.forEach((l) => l.kick());
    this.stops.push(
      this.objects.watch('pods', (e) => {
        // the scheduler cares about pods waiting for a node and pods that free one (status updates of running pods aside)
        const p = e.object;
        if (!p.spec.nodeName || e.type === 'DELETED' || p.metadata.deletionTimestamp || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') this.scheduler.kick();
        if (p.metadata.ownerReferences?.some((r) => r.kind === 'ReplicaSet')) this.replicaSets.kick();
        this.disruption.kick();
      }),
      this.objects.watch('poddisruptionbudgets', kick(this.disruption)),
      this.objects.watch('statefulsets', kick(this.disruption)),
      this.objects.watch('nodes', kick(this.scheduler, this.nodeLifecycle)),
      this.objects.watch('replicasets', kick(this.replicaSets, this.deployments, this.disruption)),
      this.objects.watch('deployments', kick(this.deployments, this.disruption)),
      every(this.clock, this.lifecycle.options.monitorPeriodMs, kick(this.nodeLifecycle)),
    );
    for (const l of this.loops) l.kick();
  }

  /** Stops controllers and every kubelet (objects stay). */
  stop(): void {
    for (const s of this.stops.splice(0)) s();
    this.cancelRequeue?.();
    this.cancelDisruptionRequeue?.();
    for (const l of this.loops) l.stop();
    for (const k of this.kubelets.values()) k.stop();
  }

  /**
   * A machine joined (kubeadm init/join finished): its kubelet registers the Node and starts. A machine that differs
   * from the one a kubelet of that name ran on (a replaced VM) gets a new kubelet. `connection`: whether that kubelet
   * reaches the API server now (see Kubelet; default always), used by a kubelet made here.
   */
  async joinNode(machine: KubeletMachine, o: { connection?: () => boolean } = {}): Promise<Kubelet> {
    let kubelet = this.kubelets.get(machine.name);
    // another machine under the same name (a replaced VM): the old kubelet is gone with its machine
    if (kubelet && JSON.stringify(kubelet.machine) !== JSON.stringify(machine)) {
      kubelet.stop();
      kubelet = undefined;
    }
    if (!kubelet) {
      kubelet = new Kubelet(machine, this.objects, this.clock, this.onError, this.options.kubelet, o.connection);
      this.kubelets.set(machine.name, kubelet);
    }
    await kubelet.start();
    return kubelet;
  }

  kubelet(name: string): Kubelet | undefined {
    return this.kubelets.get(name);
  }

  /** The machine stopped or was terminated: its kubelet goes silent (the Node turns NotReady after the grace period). */
  stopNode(name: string): void {
    this.kubelets.get(name)?.stop();
  }

  /** The machine is gone for good (the cloud controller's node deletion): kubelet stopped, Node and Lease deleted. */
  async removeNode(name: string): Promise<void> {
    this.stopNode(name);
    this.kubelets.delete(name);
    for (const [resource, ns] of [['nodes', undefined], ['leases', NODE_LEASE_NAMESPACE]] as const) {
      try {
        await this.objects.delete(resource, name, ns);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  /** Resolves when no controller pass and no kubelet work is running or due (timers not yet fired aside). */
  async settle(): Promise<void> {
    for (let round = 0; round < 1000; round++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const kubelets = [...this.kubelets.values()];
      if (!this.loops.some((l) => l.busy) && !kubelets.some((k) => k.busy)) return;
      await Promise.all([...this.loops.map((l) => l.idle()), ...kubelets.map((k) => k.idle())]);
    }
    throw new Error('kube-sim did not settle after 1000 rounds (controllers keep triggering each other)');
  }
}
