import {
  allocatableOf, decideScaleUp, isRemovableEmpty, nodeLabelsFor, offeringKey, planUnderutilized,
  type CapacityNode, type DownscaleCandidate, type Offering, type PodToPlace, type Resources,
} from '@skyweave/autoscaling';
import { CLOUD_NAMES, EventReason, findRegion, type AutoscalerDecision, type AutoscalingPolicy, type CloudId } from '@skyweave/domain';
import type { BoundPod, ClusterKubeView, KubeNodeDetail, PendingPod } from '@skyweave/kube-view';
import type { WatchedCluster } from '@skyweave/persistence';
import type { KubeActions } from './kube-actions';
import type { AutoscalerMetrics } from './metrics';
import type { AutoscalerStatus, AutoscalerStore, ClusterSnapshot, NodeRow } from './store';

/** Where instance types and their prices come from (the clouds' price APIs, cached: prices.ts). */
export interface OfferingSource {
  /**
   * The offerings of `cloud` in its region and zone for the cluster, at on-demand USD/hour, with the price list's
   * source and time (`stale`: the last refresh failed and these are the last known prices).
   * @throws when no price list of that cloud and region was ever read.
   */
  offerings(organisationId: string, cloud: CloudId, region: string, zone: string): Promise<{ offerings: Offering[]; source: string; pricedAt: string; stale: boolean }>;
}

/** The autoscaler's timing (environment variables in main.ts). All in ms. */
export interface AutoscalerSettings {
  /** How often each watched cluster is looked at (default 1000). */
  tickMs: number;
  /** Batch window (Karpenter's defaults): decide once pending pods have not changed for `batchIdleMs` (1000)… */
  batchIdleMs: number;
  /** …or `batchMaxMs` (10 000) after the first of them was seen. */
  batchMaxMs: number;
  /** An offering refused for quota or capacity is not chosen again for this long (default 600 000). */
  unavailableMs: number;
  /** A drain (evictions) not done by then is abandoned and the node uncordoned (default 300 000). */
  drainTimeoutMs: number;
}

export const DEFAULT_AUTOSCALER_SETTINGS: AutoscalerSettings = { tickMs: 1000, batchIdleMs: 1000, batchMaxMs: 10_000, unavailableMs: 600_000, drainTimeoutMs: 300_000 };

/** The parts of kube-view's KubeWatcher the autoscaler reads (clusters this replica holds: one decider per cluster). */
export interface ViewSource {
  clusterIds(): string[];
  view(clusterId: string): ClusterKubeView | undefined;
  watched(clusterId: string): WatchedCluster | undefined;
}

export interface AutoscalerDeps {
  views: ViewSource;
  store: AutoscalerStore;
  offerings: OfferingSource;
  kube: KubeActions;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  settings: AutoscalerSettings;
  metrics?: AutoscalerMetrics;
  /** ms since the epoch. */
  clock?: () => number;
}

/** A cloud whose price list could not be read is asked again after this long (ms). */
const PRICE_RETRY_MS = 60_000;

/** How long a joined worker whose Kubernetes Node is not Ready yet still counts as on its way (ms). */
const JOIN_GRACE_MS = 120_000;

/** Waiting reasons that mean "this offering cannot be had now": the next cheapest is chosen instead. */
const REFUSALS = new Set(['QuotaExceeded', 'InsufficientCapacity']);

interface Drain { node: string; nodeId: string; since: number; why: string; cloud: CloudId; blocked: string | null }

/** What the autoscaler remembers per cluster between ticks (in memory: a replica taking a cluster over starts afresh). */
interface ClusterState {
  batch: { key: string; firstAt: number; lastChangeAt: number } | null;
  /** offeringKey → until (ms) and why. */
  unavailable: Map<string, { until: number; why: string }>;
  /** Kubernetes Node name → since when (ms) it has been empty / the underutilized candidate. */
  emptySince: Map<string, number>;
  under: { node: string; since: number } | null;
  drain: Drain | null;
  /** Nodes whose drain was abandoned: not tried again before (ms). */
  skipUntil: Map<string, number>;
  lastDecision: AutoscalerDecision | null;
  /** The last unplaceable report (so it is an event once, not every tick). */
  lastUnplaceable: string;
  statusKey: string;
  /** A launch was refused: decide the pending pods at the next look without waiting for the batch window. */
  decideNow: boolean;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const round4 = (x: number) => Math.round(x * 10_000) / 10_000;
const usd = (x: number) => `$${x.toFixed(4)}/h`;
const list = (xs: readonly string[], max = 5) => xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} and ${xs.length - max} more`;

/**
 * The autoscaler (issue 13; docs/autoscaler.md). Every `tickMs`, for each cluster whose Kubernetes view this replica
 * holds (kube-view's per-cluster lease: one decider per cluster among the replicas), with its policy enabled:
 * 1. **Refusals**: a node it asked for whose launch the cloud refused for quota or capacity (`waitingReason`) is
 *    removed, its offering avoided for `unavailableMs`, and the pods are decided again at once.
 * 2. **Scale up**: pods the scheduler marked Unschedulable are batched (1 s idle, 10 s max), then
 *    `decideScaleUp` (libs/autoscaling) chooses the cheapest nodes across the cluster's clouds, counting existing and
 *    in-flight nodes as capacity; each new node is asked for through the node-adding path (origin `autoscaler`).
 * 3. **Scale down** (nothing pending, nothing in flight): an empty worker (only DaemonSet and mirror pods) for
 *    `emptyNodes.delaySeconds` is cordoned and removed; with `underutilized`, one node at a time whose pods fit on the
 *    others (`planUnderutilized`) is cordoned, drained through the Eviction API (PodDisruptionBudgets are enforced by
 *    the API server: a 429 waits), and removed once empty; never a master, never below `minCores`, never a node or pod
 *    annotated `autoscaling.skyweave.io/do-not-disrupt: "true"`.
 * 4. **Status**: pending pods, in-flight nodes, the last decision, the hourly cost by cloud (`autoscaler_status`).
 */
export class Autoscaler {
  private readonly states = new Map<string, ClusterState>();
  /** organisation/cloud/region whose price list could not be read → not asked again before (ms). */
  private readonly priceFailures = new Map<string, number>();
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(private readonly d: AutoscalerDeps) {
    this.clock = d.clock ?? Date.now;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const loop = () => {
      this.running = this.tick().catch((e: unknown) => this.d.log.warn({ err: (e as Error).message }, 'autoscaler tick failed')).finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(loop, this.d.settings.tickMs);
      });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One look at every cluster this replica holds (each cluster's failure is logged; the others go on). */
  async tick(): Promise<void> {
    const ids = new Set(this.d.views.clusterIds());
    for (const id of [...this.states.keys()]) {
      if (!ids.has(id)) {
        this.states.delete(id);
        this.d.kube.forget(id);
      }
    }
    for (const id of ids) {
      try {
        await this.cluster(id);
      } catch (e) {
        this.d.log.warn({ clusterId: id, err: (e as Error).message }, 'autoscaler: deciding for the cluster failed (retried next tick)');
      }
    }
  }

  private state(id: string): ClusterState {
    let s = this.states.get(id);
    if (!s) {
      s = { batch: null, unavailable: new Map(), emptySince: new Map(), under: null, drain: null, skipUntil: new Map(), lastDecision: null, lastUnplaceable: '', statusKey: '', decideNow: false };
      this.states.set(id, s);
    }
    return s;
  }

  /** One look at one cluster. */
  async cluster(id: string): Promise<void> {
    const watched = this.d.views.watched(id);
    const view = this.d.views.view(id);
    if (!watched || !view) return;
    const org = watched.organisationId;
    const snap = await this.d.store.cluster(org, id);
    if (!snap || snap.cluster.deleting) return;
    const { cluster, nodes } = snap;
    const { policy } = await this.d.store.policy(org, id, cluster.spec.clouds);
    const st = this.state(id);
    const now = this.clock();
    const prices = await this.catalogue(cluster, now);
    const ctx = new Context(cluster, nodes, view, prices.offerings, now);

    if (policy.enabled && cluster.phase === 'Ready') {
      await this.refusals(st, ctx, now);
      if (policy.unschedulablePods.enabled) await this.scaleUp(st, ctx, policy, now);
      if (policy.nodeDownscaler.enabled) await this.scaleDown(st, ctx, watched, policy, now);
      else st.drain = null;
    } else {
      st.batch = null;
      st.drain = null;
      st.emptySince.clear();
      st.under = null;
    }
    await this.writeStatus(st, ctx, prices.meta);
  }

  /**
   * Offerings of every cloud of the cluster. A cloud whose price list cannot be read at all (no list was ever read:
   * e.g. an AWS account without `pricing:GetProducts`) is left out of decisions, logged once, and not asked again for
   * PRICE_RETRY_MS — never every tick. (A list that was read once and fails to refresh is served stale by the catalogue.)
   */
  private async catalogue(c: ClusterSnapshot, now: number): Promise<{ offerings: Offering[]; meta: AutoscalerStatus['prices'] }> {
    const region = findRegion(c.spec.region);
    const meta: AutoscalerStatus['prices'] = {};
    // the clouds' price lists are read side by side (a cold start reads four price APIs)
    const lists = await Promise.all(c.spec.clouds.map(async (cloud) => {
      const place = region?.clouds[cloud];
      if (!place) return [];
      const key = `${c.organisationId}/${cloud}/${place.region}`;
      if ((this.priceFailures.get(key) ?? 0) > now) return [];
      try {
        const r = await this.d.offerings.offerings(c.organisationId, cloud, place.region, place.zone);
        this.priceFailures.delete(key);
        meta[cloud] = { source: r.source, pricedAt: r.pricedAt, stale: r.stale };
        return r.offerings;
      } catch (e) {
        this.priceFailures.set(key, now + PRICE_RETRY_MS);
        this.d.log.warn({ clusterId: c.id, cloud, err: (e as Error).message }, `autoscaler: no prices for this cloud (left out of decisions; asked again in ${PRICE_RETRY_MS / 1000} s)`);
        return [];
      }
    }));
    return { offerings: lists.flat(), meta };
  }

  /** Launches the cloud refused for quota or capacity: the node goes, its offering is avoided, the pods are decided again. */
  private async refusals(st: ClusterState, ctx: Context, now: number): Promise<void> {
    for (const [k, v] of st.unavailable) if (v.until <= now) st.unavailable.delete(k);
    for (const n of ctx.nodes) {
      if (n.origin !== 'autoscaler' || n.role !== 'worker' || n.removalRequested || n.instanceId || !n.waitingReason || !REFUSALS.has(n.waitingReason)) continue;
      const o = ctx.offeringOf(n);
      const key = o ? offeringKey(o) : `${n.cloud}/?/${n.instanceType}`;
      st.unavailable.set(key, { until: now + this.d.settings.unavailableMs, why: n.waitingReason });
      const minutes = Math.round(this.d.settings.unavailableMs / 60_000);
      await this.d.store.remove(ctx.cluster.organisationId, ctx.cluster.id, n.id, {
        type: 'Warning', reason: EventReason.AutoscalerLaunchRefused, object: `node/${n.name}`,
        message: `${CLOUD_NAMES[n.cloud]} refused ${n.instanceType} for ${n.name} (${n.waitingReason}); it is removed, ${n.instanceType} there is avoided for ${minutes} min and the pending pods go to the next cheapest choice`,
      });
      n.removalRequested = true;
      this.d.metrics?.removed(n.cloud, 'launch-refused');
      st.decideNow = true; // the pods it was for are decided again at once, not after a new batch window
    }
  }

  private async scaleUp(st: ClusterState, ctx: Context, policy: AutoscalingPolicy, now: number): Promise<void> {
    const pending = ctx.view.pendingPodList().filter((p) => p.unschedulable);
    if (!pending.length) {
      st.batch = null;
      st.decideNow = false;
      return;
    }
    const key = pending.map((p) => `${p.namespace}/${p.name}`).join('\n');
    if (!st.batch) st.batch = { key, firstAt: now, lastChangeAt: now };
    else if (st.batch.key !== key) {
      st.batch.key = key;
      st.batch.lastChangeAt = Math.max(st.batch.lastChangeAt, now);
    }
    const b = st.batch;
    if (!st.decideNow && now - b.lastChangeAt < this.d.settings.batchIdleMs && now - b.firstAt < this.d.settings.batchMaxMs) return;
    st.batch = null;
    st.decideNow = false;

    const started = process.hrtime.bigint();
    const pu = policy.unschedulablePods;
    const unavailable = new Set(st.unavailable.keys());
    const decision = decideScaleUp({
      pods: pending.map((p) => withDefaultArchitecture(toPlace(p))),
      offerings: ctx.offerings,
      nodes: ctx.capacity(),
      policy: {
        maxCores: policy.clusterLimits.cpu.maxCores, workerCores: ctx.workerCores(),
        nodeConstraints: pu.nodeConstraints, clouds: pu.clouds, instanceFamilies: pu.instanceFamilies, headroom: pu.headroom,
      },
      unavailable,
      daemonSetOverhead: ctx.daemonSetOverhead(),
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.d.metrics?.decided(decision.launches.length ? 'scale-up' : 'none', seconds);
    const org = ctx.cluster.organisationId;

    if (decision.unplaceable.length) {
      const report = decision.unplaceable.map((u) => `${u.pod}: ${u.reason}`).join('; ');
      if (report !== st.lastUnplaceable) {
        st.lastUnplaceable = report;
        await this.d.store.event(org, ctx.cluster.id, { type: 'Warning', reason: EventReason.AutoscalerNoFit, message: `No node the policy allows can hold ${decision.unplaceable.length} pending pod(s): ${report.slice(0, 900)}` });
      }
    } else st.lastUnplaceable = '';
    if (!decision.launches.length) {
      if (decision.unplaceable.length) st.lastDecision = { at: new Date(now).toISOString(), kind: 'none', summary: `${decision.unplaceable.length} pod(s) cannot be placed`, unplaceable: decision.unplaceable.slice(0, 20) };
      return;
    }
    const launched: Record<string, unknown>[] = [];
    for (const [i, l] of decision.launches.entries()) {
      const o = l.offering;
      const alt = decision.alternatives.find((a) => a.launch === i);
      const altText = alt ? `; cheapest alternative ${alt.offering.instanceType} on ${CLOUD_NAMES[alt.offering.cloud]} at ${usd(alt.offering.usdPerHour)} not chosen: ${alt.refusedBecause}` : '';
      const out = await this.d.store.launch(org, ctx.cluster.id, {
        cloud: o.cloud, instanceType: o.instanceType,
        message: (name) => `Scale-up: ${l.pods.length} unschedulable pod(s) (${list(l.pods)}) → ${name}, ${o.instanceType} (${o.vcpu} vCPU, ${o.memoryMiB} MiB) on ${CLOUD_NAMES[o.cloud]} ${o.region} at ${usd(o.usdPerHour)}${altText}`,
      });
      if (!out.ok) {
        this.d.log.info({ clusterId: ctx.cluster.id, reason: out.reason }, 'autoscaler: node not added now (decided again next batch)');
        break;
      }
      this.d.metrics?.added(o.cloud);
      launched.push({ node: out.name, nodeId: out.nodeId, cloud: o.cloud, instanceType: o.instanceType, usdPerHour: o.usdPerHour, pods: l.pods, alternative: alt ? { cloud: alt.offering.cloud, instanceType: alt.offering.instanceType, usdPerHour: alt.offering.usdPerHour, refusedBecause: alt.refusedBecause } : null });
    }
    if (launched.length) {
      st.lastDecision = {
        at: new Date(now).toISOString(), kind: 'scale-up', decisionMs: Math.round(seconds * 1e5) / 100,
        summary: `${pending.length} pending pod(s): ${launched.length} node(s) added at ${usd(round4(sum(launched.map((x) => x.usdPerHour as number))))}`,
        launches: launched, unplaceable: decision.unplaceable.slice(0, 20),
      };
    }
  }

  private async scaleDown(st: ClusterState, ctx: Context, watched: WatchedCluster, policy: AutoscalingPolicy, now: number): Promise<void> {
    const org = ctx.cluster.organisationId;
    const ds = policy.nodeDownscaler;
    const minCores = policy.clusterLimits.cpu.minCores;
    if (st.drain) {
      await this.continueDrain(st, ctx, watched, now);
      return;
    }
    // nothing is removed while pods wait or nodes are on their way: they may be meant for each other
    if (ctx.view.pendingPodList().some((p) => p.unschedulable) || ctx.inFlight().length) {
      st.emptySince.clear();
      st.under = null;
      return;
    }
    const candidates = ctx.downscaleCandidates();
    let workerCores = ctx.workerCores();
    const seen = new Set<string>();
    if (ds.emptyNodes.enabled) {
      // the dearest first: when minCores keeps some empty workers, the cheapest ones stay
      for (const c of [...candidates].sort((x, y) => (y.usdPerHour ?? 0) - (x.usdPerHour ?? 0) || x.name.localeCompare(y.name))) {
        if (c.movablePods.length || (st.skipUntil.get(c.name) ?? 0) > now) continue;
        if (!isRemovableEmpty(c, { minCores, workerCores })) continue;
        seen.add(c.name);
        const since = st.emptySince.get(c.name) ?? now;
        st.emptySince.set(c.name, since);
        if (now - since < ds.emptyNodes.delaySeconds * 1000) continue;
        const row = ctx.rowOf(c.name);
        if (!row) continue;
        await this.d.kube.setUnschedulable(watched, c.name, true);
        const removed = await this.d.store.remove(org, ctx.cluster.id, row.id, {
          type: 'Normal', reason: EventReason.AutoscalerScaleDown, object: `node/${row.name}`,
          message: `Scale-down: ${row.name} (${row.instanceType} on ${CLOUD_NAMES[row.cloud]}${c.usdPerHour !== null ? `, ${usd(c.usdPerHour)}` : ''}) has run no pods but DaemonSet and mirror pods for ${Math.round((now - since) / 1000)} s (emptyNodes.delaySeconds ${ds.emptyNodes.delaySeconds}); cordoned and removed`,
        });
        if (removed) {
          this.d.metrics?.decided('scale-down', 0);
          this.d.metrics?.removed(row.cloud, 'empty');
          workerCores -= c.vcpu;
          st.lastDecision = { at: new Date(now).toISOString(), kind: 'scale-down', summary: `${row.name} removed: empty`, node: row.name, nodeId: row.id, reason: 'empty' };
        }
        st.emptySince.delete(c.name);
      }
    }
    for (const name of [...st.emptySince.keys()]) if (!seen.has(name)) st.emptySince.delete(name);

    if (!ds.underutilized.enabled) {
      st.under = null;
      return;
    }
    const eligible = candidates.filter((c) => (st.skipUntil.get(c.name) ?? 0) <= now && !ctx.rowOf(c.name)?.removalRequested);
    const plan = planUnderutilized(eligible, { thresholdPercent: ds.underutilized.thresholdPercent, minCores, workerCores });
    if (!plan) {
      st.under = null;
      return;
    }
    if (st.under?.node !== plan.node) st.under = { node: plan.node, since: now };
    if (now - st.under.since < ds.underutilized.delaySeconds * 1000) return;
    const row = ctx.rowOf(plan.node);
    if (!row) return;
    st.under = null;
    await this.d.kube.setUnschedulable(watched, plan.node, true);
    st.drain = { node: plan.node, nodeId: row.id, since: now, why: plan.reason, cloud: row.cloud, blocked: null };
    this.d.metrics?.decided('scale-down', 0);
    st.lastDecision = { at: new Date(now).toISOString(), kind: 'scale-down', summary: `${row.name} draining: ${plan.reason}`, node: row.name, nodeId: row.id, reason: 'underutilized' };
    await this.d.store.event(org, ctx.cluster.id, {
      type: 'Normal', reason: EventReason.AutoscalerScaleDown, object: `node/${row.name}`,
      message: `Scale-down: ${row.name} is underutilized (${plan.reason}) for ${ds.underutilized.delaySeconds} s; cordoned, its pods are evicted (PodDisruptionBudgets respected), then it is removed`,
    });
    await this.continueDrain(st, ctx, watched, now);
  }

  /** One step of a drain: evict what is left; removed once only DaemonSet and mirror pods remain; abandoned after the timeout. */
  private async continueDrain(st: ClusterState, ctx: Context, watched: WatchedCluster, now: number): Promise<void> {
    const dr = st.drain as Drain;
    const org = ctx.cluster.organisationId;
    const row = ctx.nodes.find((n) => n.id === dr.nodeId);
    if (!row || row.removalRequested) {
      st.drain = null;
      return;
    }
    const pods = ctx.view.podsOn(dr.node);
    if (pods.some((p) => p.doNotDisrupt)) return this.abandonDrain(st, ctx, watched, now, 'a pod on it is annotated autoscaling.skyweave.io/do-not-disrupt');
    const movable = pods.filter((p) => !p.daemonSet && !p.mirror);
    const left = movable.filter((p) => !p.deleting);
    if (!movable.length) {
      await this.d.store.remove(org, ctx.cluster.id, row.id, {
        type: 'Normal', reason: EventReason.AutoscalerScaleDown, object: `node/${row.name}`,
        message: `Scale-down: ${row.name} drained in ${Math.round((now - dr.since) / 1000)} s (${dr.why}); removed`,
      });
      this.d.metrics?.removed(row.cloud, 'underutilized');
      st.drain = null;
      return;
    }
    if (now - dr.since > this.d.settings.drainTimeoutMs) return this.abandonDrain(st, ctx, watched, now, `not drained within ${Math.round(this.d.settings.drainTimeoutMs / 1000)} s${dr.blocked ? ` (${dr.blocked})` : ''}`);
    for (const p of left) {
      const out = await this.d.kube.evict(watched, p.namespace, p.name);
      if (out.kind === 'blocked') {
        if (dr.blocked !== out.message) {
          dr.blocked = out.message;
          await this.d.store.event(org, ctx.cluster.id, { type: 'Normal', reason: EventReason.AutoscalerDrainBlocked, object: `node/${row.name}`, message: `Eviction of ${p.namespace}/${p.name} from ${row.name} refused: ${out.message}; retried` });
        }
        return; // one budget at a time: retried next tick
      }
      if (out.kind === 'failed') this.d.log.warn({ clusterId: ctx.cluster.id, pod: `${p.namespace}/${p.name}`, err: out.message }, 'autoscaler: eviction failed (retried)');
    }
  }

  private async abandonDrain(st: ClusterState, ctx: Context, watched: WatchedCluster, now: number, why: string): Promise<void> {
    const dr = st.drain as Drain;
    st.drain = null;
    st.skipUntil.set(dr.node, now + this.d.settings.drainTimeoutMs);
    await this.d.kube.setUnschedulable(watched, dr.node, false).catch(() => undefined);
    await this.d.store.event(ctx.cluster.organisationId, ctx.cluster.id, { type: 'Warning', reason: EventReason.AutoscalerDrainBlocked, object: `node/${dr.node}`, message: `Scale-down of ${dr.node} abandoned: ${why}; uncordoned` });
  }

  private async writeStatus(st: ClusterState, ctx: Context, prices: AutoscalerStatus['prices']): Promise<void> {
    const costByCloud: AutoscalerStatus['costByCloud'] = {};
    for (const n of ctx.nodes) {
      if (n.removalRequested || n.phase === 'Terminated') continue;
      const o = ctx.offeringOf(n);
      if (o) costByCloud[n.cloud] = round4((costByCloud[n.cloud] ?? 0) + o.usdPerHour);
    }
    const status: AutoscalerStatus = {
      pendingPods: ctx.view.pendingPodList().slice(0, 100).map((p) => ({ namespace: p.namespace, name: p.name, cpuMillicores: p.requests.cpuMillicores, memoryMiB: p.requests.memoryMiB, message: p.message })),
      inFlight: ctx.inFlight().map((n) => ({ nodeId: n.id, name: n.name, cloud: n.cloud, instanceType: n.instanceType, usdPerHour: ctx.offeringOf(n)?.usdPerHour ?? 0, since: n.createdAt.toISOString() })),
      lastDecision: st.lastDecision, costByCloud, prices,
    };
    const key = JSON.stringify(status);
    if (key === st.statusKey) return;
    await this.d.store.status(ctx.cluster.organisationId, ctx.cluster.id, status);
    st.statusKey = key;
  }
}

const toPlace = (p: PendingPod | BoundPod): PodToPlace => ({
  key: `${p.namespace}/${p.name}`, requests: p.requests,
  ...(p.nodeSelector ? { nodeSelector: p.nodeSelector } : {}),
  ...(p.requiredNodeAffinity ? { requiredNodeAffinity: p.requiredNodeAffinity } : {}),
  ...(p.tolerations ? { tolerations: p.tolerations } : {}),
});

/** The label of a node's CPU architecture (kubelet). */
const ARCH_LABEL = 'kubernetes.io/arch';

/**
 * A pod that says nothing of `kubernetes.io/arch` is bought an amd64 node: most images are built for amd64 only, and an
 * arm64 node (Graviton, Ampere, Cobalt) would leave such a pod crash-looping with `exec format error`. A pod that names
 * the label (nodeSelector, or any required node-affinity expression on it) is taken at its word: `arm64` (or both) lets
 * the cheaper arm64 offerings in. (Karpenter's default NodePool does the same with `kubernetes.io/arch In [amd64]`.)
 */
export function withDefaultArchitecture(p: PodToPlace): PodToPlace {
  const named = p.nodeSelector?.[ARCH_LABEL] !== undefined
    || (p.requiredNodeAffinity ?? []).some((t) => (t.matchExpressions ?? []).some((e) => e.key === ARCH_LABEL));
  return named ? p : { ...p, nodeSelector: { ...p.nodeSelector, [ARCH_LABEL]: 'amd64' } };
}

/** One tick's joined picture of a cluster: its rows, its Kubernetes view and its offerings. */
class Context {
  private readonly byName: Map<string, NodeRow>;
  private readonly byId: Map<string, NodeRow>;
  private readonly offeringByType: Map<string, Offering>;
  private readonly details: KubeNodeDetail[];
  /** Skyweave node ids whose Kubernetes Node is Ready. */
  private readonly readyIds: Set<string>;

  constructor(readonly cluster: ClusterSnapshot, readonly nodes: NodeRow[], readonly view: ClusterKubeView, readonly offerings: Offering[], private readonly now: number) {
    this.byName = new Map(nodes.map((n) => [n.name, n]));
    this.byId = new Map(nodes.map((n) => [n.id, n]));
    this.offeringByType = new Map(offerings.map((o) => [`${o.cloud}/${o.instanceType}`, o]));
    this.details = view.nodeDetails();
    this.readyIds = new Set(this.details.filter((d) => d.ready === 'True').map((d) => d.skyweaveNodeId).filter((x): x is string => !!x));
  }

  offeringOf(n: Pick<NodeRow, 'cloud' | 'instanceType'>): Offering | undefined {
    return this.offeringByType.get(`${n.cloud}/${n.instanceType}`);
  }

  rowOf(kubeNodeName: string): NodeRow | undefined {
    const d = this.details.find((x) => x.name === kubeNodeName);
    return (d?.skyweaveNodeId ? this.byId.get(d.skyweaveNodeId) : undefined) ?? this.byName.get(kubeNodeName);
  }

  /** Live workers (not being removed). */
  private liveWorkers(): NodeRow[] {
    return this.nodes.filter((n) => n.role === 'worker' && !n.removalRequested && n.phase !== 'Terminating' && n.phase !== 'Terminated');
  }

  /**
   * Workers asked for and not yet a Ready Kubernetes Node (launching, booting, joining, or joined less than
   * {@link JOIN_GRACE_MS} ago), except launches the cloud refused. A worker joined long ago and not Ready is broken, not
   * on its way: the reconciler heals it; it is not counted as capacity.
   */
  inFlight(): NodeRow[] {
    return this.liveWorkers().filter((n) => !this.readyIds.has(n.id)
      && !(n.waitingReason && REFUSALS.has(n.waitingReason) && !n.instanceId)
      && (n.phase !== 'Joined' || !n.joinedAt || this.now - n.joinedAt.getTime() < JOIN_GRACE_MS));
  }

  /** The workers' total vCPU (in-flight included), at their offerings' sizes. */
  workerCores(): number {
    return sum(this.liveWorkers().map((n) => this.offeringOf(n)?.vcpu ?? 0));
  }

  /** The largest DaemonSet footprint on a worker: what every new node will also run. */
  daemonSetOverhead(): Resources {
    let best: Resources = { cpuMillicores: 0, memoryMiB: 0, pods: 0 };
    for (const d of this.details) {
      const ds = this.view.podsOn(d.name).filter((p) => p.daemonSet);
      const r = { cpuMillicores: sum(ds.map((p) => p.requests.cpuMillicores)), memoryMiB: sum(ds.map((p) => p.requests.memoryMiB)), pods: ds.length };
      if (r.cpuMillicores + r.memoryMiB > best.cpuMillicores + best.memoryMiB) best = r;
    }
    return best;
  }

  /** Existing Ready nodes (free = allocatable − requested) and in-flight ones (their offering's allocatable, less DaemonSets). */
  capacity(): CapacityNode[] {
    const out: CapacityNode[] = [];
    for (const d of this.details) {
      const row = d.skyweaveNodeId ? this.byId.get(d.skyweaveNodeId) : this.byName.get(d.name);
      if (d.ready !== 'True' || row?.removalRequested) continue;
      out.push({
        name: d.name, labels: d.labels, taints: d.taints, unschedulable: d.unschedulable, inFlight: false,
        free: { cpuMillicores: d.allocatable.cpuMillicores - d.requested.cpuMillicores, memoryMiB: d.allocatable.memoryMiB - d.requested.memoryMiB, pods: d.allocatable.pods - d.pods },
      });
    }
    const overhead = this.daemonSetOverhead();
    const zoneOf = (cloud: CloudId) => findRegion(this.cluster.spec.region)?.clouds[cloud]?.zone ?? '';
    for (const n of this.inFlight()) {
      const o = this.offeringOf(n);
      if (!o) continue;
      const a = allocatableOf(o);
      out.push({
        name: n.name, labels: nodeLabelsFor({ ...o, zone: o.zone || zoneOf(n.cloud) }), inFlight: true,
        free: { cpuMillicores: a.cpuMillicores - overhead.cpuMillicores, memoryMiB: a.memoryMiB - overhead.memoryMiB, pods: a.pods - overhead.pods },
      });
    }
    return out;
  }

  /** Joined, Ready workers with what runs on them, for scale-down. */
  downscaleCandidates(): DownscaleCandidate[] {
    const out: DownscaleCandidate[] = [];
    for (const d of this.details) {
      const row = d.skyweaveNodeId ? this.byId.get(d.skyweaveNodeId) : this.byName.get(d.name);
      if (!row || row.role !== 'worker' || row.phase !== 'Joined' || row.removalRequested || d.ready !== 'True') continue;
      const pods = this.view.podsOn(d.name);
      const movable = pods.filter((p) => !p.daemonSet && !p.mirror && !p.deleting);
      const o = this.offeringOf(row);
      out.push({
        name: d.name, labels: d.labels, taints: d.taints, allocatable: d.allocatable, vcpu: o?.vcpu ?? Math.round(d.allocatable.cpuMillicores / 1000),
        usdPerHour: o?.usdPerHour ?? null, movablePods: movable.map(toPlace),
        requested: { cpuMillicores: d.requested.cpuMillicores, memoryMiB: d.requested.memoryMiB, pods: d.pods },
        doNotDisrupt: d.doNotDisrupt || pods.some((p) => p.doNotDisrupt), master: false, unschedulable: d.unschedulable,
      });
    }
    return out;
  }
}
