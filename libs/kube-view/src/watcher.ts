import { issueClientCertificate } from '@skyweave/bootstrap';
import { KubeStatusRepository, orgScope, systemScope, type WatchedCluster } from '@skyweave/persistence';
import { masterServers } from './servers';
import { ClusterKubeView } from './view';
import { ClusterWatch, WATCHER_USER } from './watch';

/** The watcher's settings (environment variables in main.ts). */
export interface KubeWatcherSettings {
  /** This replica's name in the leases (`SKYWEAVE_REPLICA`). */
  replica: string;
  /** At most one write per cluster this often, ms (coalescing; default 1000). */
  flushIntervalMs: number;
  /** A Joined node NotReady this long gets one `NodeNotReady` event per episode, ms (default 120 000). */
  notReadyThresholdMs: number;
  /** How often the clusters to watch are read and the leases renewed, ms (default 5000). */
  pollIntervalMs: number;
  /** Lease length, seconds (default 30; renewed every poll, so it must exceed the poll interval). */
  leaseSeconds: number;
  /** Full relist of each cluster's nodes and pods this often, ms (default 300 000). */
  resyncMs: number;
  /** Reconnection backoff, ms: base (default 1000) doubling to the cap (default 30 000). */
  backoffBaseMs: number;
  backoffCapMs: number;
  /** A connection whose lists have not answered in this long fails and the next master is tried, ms (default 15 000). */
  connectTimeoutMs: number;
}

export const DEFAULT_WATCHER_SETTINGS: Omit<KubeWatcherSettings, 'replica'> = {
  flushIntervalMs: 1000, notReadyThresholdMs: 120_000, pollIntervalMs: 5000, leaseSeconds: 30, resyncMs: 300_000,
  backoffBaseMs: 1000, backoffCapMs: 30_000, connectTimeoutMs: 15_000,
};

/** The few log calls the watcher makes (a pino logger fits). */
export interface WatcherLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Opens sealed secrets (libs/persistence SecretBox). */
export interface Opener { open(sealed: string): string }

/** Where a cluster's API servers are: production is {@link masterServers} of its nodes; tests may point elsewhere. */
export type ServerResolver = (cluster: WatchedCluster) => readonly string[];

export interface KubeWatcherDeps {
  repo: KubeStatusRepository;
  box: Opener;
  settings: KubeWatcherSettings;
  log: WatcherLog;
  /** `CloudEndpoints.kubernetes.proxyUrl`: dial every API server through this HTTP CONNECT proxy. */
  proxyUrl?: string;
  /**
   * Install the cluster add-ons into every watched cluster (ClusterWatchOptions.addons), with Grafana's `root_url` on
   * `publicUrl` when given; absent ⇒ none installed.
   */
  addons?: { publicUrl?: string };
  /** Default: the master addresses ({@link masterServers}). */
  resolveServers?: ServerResolver;
  /** ms since the epoch (NotReady timing). */
  clock?: () => number;
}

interface Entry {
  cluster: WatchedCluster;
  view: ClusterKubeView;
  watch?: ClusterWatch;
  flushTimer?: NodeJS.Timeout;
  flushing: boolean;
  plannedVersion: number;
  stopped: boolean;
}

/**
 * The platform's watch of every cluster's Kubernetes API. Every poll it claims (lease per cluster, KubeStatusRepository
 * `claim`: its fair share of the clusters whose control plane exists, among the live replicas) and starts, for each
 * newly held one: its own client certificate
 * (CN `skyweave:kube-watcher`, issued from the cluster CA, in memory only), a {@link ClusterKubeView} seeded from what
 * was recorded, a {@link ClusterWatch} (node and pod informers) and a flush timer. A cluster no longer held (left the
 * watchable phases, deleted, or taken by another replica after this one lost its lease) is stopped.
 * Writes: at most one flush per cluster per `flushIntervalMs`, only when the view changed (or a NotReady episode may
 * reach its threshold), only what changed, in one transaction fenced by the lease. Nothing is written per watch event.
 */
export class KubeWatcher {
  private readonly entries = new Map<string, Entry>();
  private pollTimer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private running = false;
  private readonly clock: () => number;
  private readonly resolve: ServerResolver;

  constructor(private readonly d: KubeWatcherDeps) {
    this.clock = d.clock ?? Date.now;
    this.resolve = d.resolveServers ?? ((c) => masterServers(c.nodes));
  }

  /** Starts polling (the first poll at once). */
  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = () => {
      this.polling = this.pollOnce().catch((e: unknown) => this.d.log.warn({ err: (e as Error).message }, 'kube-watcher poll failed')).finally(() => {
        this.polling = undefined;
        if (this.running) this.pollTimer = setTimeout(loop, this.d.settings.pollIntervalMs);
      });
    };
    loop();
  }

  /**
   * Stops polling, every watch and flush timer, gives the leases up and leaves the live replicas (so the others take
   * the clusters over at their next poll).
   */
  async stop(): Promise<void> {
    this.running = false;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    await this.polling;
    await Promise.all([...this.entries.keys()].map((id) => this.drop(id, true)));
    await this.d.repo.leave(systemScope('kube-watcher: this replica stops'), this.d.settings.replica).catch(() => undefined);
  }

  /** The in-process view of a cluster this replica watches (for the autoscaler), or undefined. */
  view(clusterId: string): ClusterKubeView | undefined {
    return this.entries.get(clusterId)?.view;
  }

  /** The cluster row as last polled (organisation, CA, nodes) of a cluster this replica watches, or undefined. */
  watched(clusterId: string): WatchedCluster | undefined {
    return this.entries.get(clusterId)?.cluster;
  }

  /** Ids of the clusters this replica watches now. */
  clusterIds(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** One round: claim/renew leases, start new clusters, refresh nodes of running ones, stop the ones not held. */
  async pollOnce(): Promise<void> {
    const held = await this.d.repo.claim(systemScope('kube-watcher: the clusters whose Kubernetes API to watch, by lease'), this.d.settings.replica, this.d.settings.leaseSeconds);
    const ids = new Set(held.map((c) => c.id));
    for (const id of [...this.entries.keys()]) if (!ids.has(id)) await this.drop(id, true);
    for (const c of held) {
      const e = this.entries.get(c.id);
      if (e) {
        e.cluster = c;
        e.view.setSkyweaveNodes(c.nodes);
      } else if (this.running) {
        await this.add(c).catch((err: unknown) => this.d.log.warn({ clusterId: c.id, err: (err as Error).message }, 'could not start watching'));
      }
    }
  }

  private async add(c: WatchedCluster): Promise<void> {
    const view = new ClusterKubeView(this.clock);
    const e: Entry = { cluster: c, view, flushing: false, plannedVersion: -1, stopped: false };
    this.entries.set(c.id, e);
    try {
      const scope = orgScope(c.organisationId);
      view.seed(await this.d.repo.nodeStatuses(scope, c.id));
      view.setSkyweaveNodes(c.nodes);
      const ca = { certificate: c.caCertificate, key: this.d.box.open(c.caKeySealed) };
      // its own user for the watches; an admin one, in memory only, to grant that user its read access first
      const [client, admin] = await Promise.all([
        issueClientCertificate(ca, { commonName: WATCHER_USER, organizations: [] }),
        issueClientCertificate(ca, { commonName: 'skyweave:kube-watcher-bootstrap', organizations: ['system:masters'] }),
      ]);
      if (e.stopped) return;
      e.watch = new ClusterWatch({
        clusterId: c.id, servers: () => this.resolve(e.cluster), caCertificate: c.caCertificate, client, admin, proxyUrl: this.d.proxyUrl, view,
        backoff: { baseMs: this.d.settings.backoffBaseMs, capMs: this.d.settings.backoffCapMs }, resyncMs: this.d.settings.resyncMs,
        connectTimeoutMs: this.d.settings.connectTimeoutMs,
        ...(this.d.addons ? { addons: { clusterId: c.id, ...(this.d.addons.publicUrl ? { publicUrl: this.d.addons.publicUrl } : {}) } } : {}),
        onError: (x) => this.d.log.warn({ clusterId: c.id, server: x.server, reason: x.reason, err: x.message }, 'Kubernetes API watch failed'),
      });
      e.watch.start();
      e.flushTimer = setInterval(() => void this.flush(e), this.d.settings.flushIntervalMs);
      this.d.log.info({ clusterId: c.id }, 'watching the cluster\'s Kubernetes API');
    } catch (err) {
      this.entries.delete(c.id);
      e.stopped = true;
      await this.d.repo.release(orgScope(c.organisationId), c.id, this.d.settings.replica).catch(() => undefined);
      throw err;
    }
  }

  /** One coalesced write of a cluster (skipped while the previous one runs, or when nothing can have changed). */
  private async flush(e: Entry): Promise<void> {
    if (e.flushing || e.stopped) return;
    if (e.view.version === e.plannedVersion && !e.view.hasOpenEpisode()) return;
    e.flushing = true;
    try {
      const version = e.view.version;
      const plan = e.view.planFlush(this.d.settings.notReadyThresholdMs);
      if (plan) {
        const ok = await this.d.repo.flush(orgScope(e.cluster.organisationId), e.cluster.id, this.d.settings.replica, plan.batch, undefined, new Date(this.clock()));
        if (!ok) {
          this.d.log.warn({ clusterId: e.cluster.id }, 'lease lost: another replica watches this cluster now');
          await this.drop(e.cluster.id, false);
          return;
        }
        e.view.commit(plan);
      }
      e.plannedVersion = version;
    } catch (err) {
      this.d.log.warn({ clusterId: e.cluster.id, err: (err as Error).message }, 'kube status flush failed (retried)');
    } finally {
      e.flushing = false;
    }
  }

  private async drop(id: string, release: boolean): Promise<void> {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    e.stopped = true;
    if (e.flushTimer) clearInterval(e.flushTimer);
    await e.watch?.stop();
    if (release) await this.d.repo.release(orgScope(e.cluster.organisationId), id, this.d.settings.replica).catch(() => undefined);
    this.d.log.info({ clusterId: id }, 'stopped watching the cluster\'s Kubernetes API');
  }
}
