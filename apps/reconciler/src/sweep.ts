import type { DataSource } from 'typeorm';
import { CLOUD_NAMES, CloudId, REGIONS, TAG_CLUSTER } from '@skyweave/domain';
import { CloudResource, isConflict, isNotFound } from '@skyweave/cloud-adapters';
import { Repositories, orgScope, systemScope, withAdvisoryLock } from '@skyweave/persistence';
import type { Logger } from '@skyweave/service-kit';
import type { ProviderSource } from './full';

/** The sweep lists every organisation's cloud accounts, and a cluster of any organisation counts as existing. */
const SWEEP = systemScope('leak sweep: every cloud account given, and clusters of every organisation');

export interface LeakSweepOptions {
  /** Seconds a cluster's resources must have been seen, with no such cluster, before they are removed. */
  graceSeconds: number;
}

/** What one sweep saw and did, for logs and tests. */
export interface SweepReport {
  /** Accounts × regions listed. */
  listed: number;
  /** Clusters (by id) whose resources exist but which do not, newly seen or still in their grace period. */
  waiting: string[];
  /** Clusters whose leftovers were removed: `cloud/region/clusterId`. */
  removed: string[];
  /** `cloud/region: message` of what could not be listed or removed (retried at the next sweep). */
  errors: string[];
}

/**
 * The leak sweep (issue 3 "clean-up"): lists, in every region of every cloud account an organisation gave us, every
 * resource carrying a Skyweave cluster tag (one flat list per account and region), and removes what belongs to a
 * cluster that does not exist (no row, or `Deleted`) once it has been seen for the grace period — VMs first (by tag),
 * then the network (which refuses while a VM without the tag is in it). A live cluster's resources are never touched,
 * nor is anything without a Skyweave tag. One sweep at a time across replicas (advisory lock `leak-sweep`).
 */
export class LeakSweeper {
  private readonly repos: Repositories;

  constructor(
    private readonly ds: DataSource,
    private readonly providers: ProviderSource,
    private readonly log: Logger,
    private readonly opts: LeakSweepOptions,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.repos = new Repositories(ds);
  }

  /** One sweep; `undefined` when another replica is sweeping. */
  async sweep(): Promise<SweepReport | undefined> {
    return withAdvisoryLock(this.ds, 'leak-sweep', () => this.sweepLocked());
  }

  private async sweepLocked(): Promise<SweepReport> {
    const report: SweepReport = { listed: 0, waiting: [], removed: [], errors: [] };
    const accounts = await this.repos.credentials.accounts(SWEEP);
    for (const { organisationId, cloud } of accounts) {
      for (const region of regionsOf(cloud)) {
        try {
          await this.sweepRegion(organisationId, cloud, region, report);
        } catch (e) {
          report.errors.push(`${cloud}/${region}: ${(e as Error).message}`);
        }
      }
    }
    if (report.removed.length || report.errors.length) this.log.info(report, 'leak sweep');
    return report;
  }

  private async sweepRegion(organisationId: string, cloud: CloudId, region: string, report: SweepReport): Promise<void> {
    const provider = await this.providers.providerFor(organisationId, cloud);
    const tagged = await provider.listAllTaggedResources(region);
    report.listed += 1;
    const byCluster = new Map<string, CloudResource[]>();
    for (const r of tagged) {
      const id = r.tags[TAG_CLUSTER];
      if (id) byCluster.set(id, [...(byCluster.get(id) ?? []), r]);
    }
    const ids = [...byCluster.keys()].filter((id) => /^[0-9a-f-]{36}$/i.test(id));
    // clusters of ANY organisation count as existing: two organisations may share one cloud account
    const live = await this.repos.clusters.liveIds(SWEEP, ids);
    const now = this.clock();
    const scope = orgScope(organisationId);
    const at = { cloud, region };
    const repo = this.repos.leakCandidates;
    const known = await repo.list(scope, at);
    for (const id of ids) {
      if (live.has(id)) continue;
      const resources = (byCluster.get(id) ?? []).map((r) => `${r.kind}/${r.id}`);
      const seen = known.find((k) => k.clusterId === id);
      if (!seen) {
        await repo.insert(scope, at, id, resources, now);
        report.waiting.push(id);
        continue;
      }
      await repo.seenAgain(scope, at, id, resources, now);
      if (now.getTime() - seen.firstSeenAt.getTime() < this.opts.graceSeconds * 1000) {
        report.waiting.push(id);
        continue;
      }
      try {
        for (const i of await provider.listInstances(id, region)) {
          await provider.terminateInstance(id, region, i.id).catch((e: unknown) => { if (!isNotFound(e)) throw e; });
        }
        await provider.deleteNetwork(id, region);
        await repo.delete(scope, at, id);
        report.removed.push(`${cloud}/${region}/${id}`);
        this.log.warn({ cloud, region, clusterId: id, resources }, `leak sweep: removed ${CLOUD_NAMES[cloud]} resources of a cluster that does not exist`);
      } catch (e) {
        // a VM still shutting down (Conflict on the network) or a throttled call: the next sweep goes on
        report.errors.push(`${cloud}/${region}/${id}: ${isConflict(e) ? 'network still in use: ' : ''}${(e as Error).message}`);
      }
    }
    // candidates no longer seen are gone by other means
    for (const k of known) if (!byCluster.has(k.clusterId)) await repo.delete(scope, at, k.clusterId);
  }
}

/** The cloud's regions Skyweave maps to (seed 002), each once. */
function regionsOf(cloud: CloudId): string[] {
  return [...new Set(REGIONS.flatMap((r) => (r.clouds[cloud] ? [r.clouds[cloud].region] : [])))];
}
