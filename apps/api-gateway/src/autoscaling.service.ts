import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import {
  AutoscalerDecision, AutoscalerInFlightNode, AutoscalerPendingPod, AutoscalerPriceSource, AutoscalingPolicy, CloudId, DEFAULT_AUTOSCALING_POLICY, EventReason,
  diffAutoscalingPolicies, validateAutoscalingPolicy,
} from '@skyweave/domain';
import { Subjects } from '@skyweave/contracts';
import { Repositories, StoredAutoscalingPolicy, enqueue, orgScope, recordEvent } from '@skyweave/persistence';
import { Problem } from './problem';
import { DATA_SOURCE } from './tokens';

/** `GET|PUT /v1/clusters/{id}/policies`: the policy's version (0: never set), the whole policy, when it was stored. */
export interface AutoscalingPolicyView { version: number; policy: AutoscalingPolicy; updatedAt: Date | null }

/** `GET /v1/clusters/{id}/autoscaler`: the policy in force and what the autoscaler last reported. */
export interface AutoscalerView {
  policy: { enabled: boolean; version: number };
  pendingPods: AutoscalerPendingPod[];
  inFlight: AutoscalerInFlightNode[];
  lastDecision: AutoscalerDecision | null;
  costByCloud: Partial<Record<CloudId, number>>;
  /** The sum of costByCloud, USD per hour (rounded to a millionth). */
  hourlyCostUsd: number;
  prices: Partial<Record<CloudId, AutoscalerPriceSource>>;
  updatedAt: Date | null;
}

/** Changes listed in an AutoscalingPolicyChanged event's message at most (the rest are counted). */
const MAX_LISTED_CHANGES = 20;

/** The entity tag of a policy version (`"3"`), for `ETag` and `If-Match`. */
export const policyETag = (version: number): string => `"${version}"`;

/**
 * Whether an `If-Match` value (RFC 9110 §13.1.1) matches `version`: `*`, or a list of entity tags one of which is
 * `"<version>"` (strong comparison: a weak `W/"3"` never matches). A bare `3` is taken as `"3"`.
 */
export function ifMatchAccepts(header: string, version: number): boolean {
  const v = header.trim();
  if (v === '*') return true;
  return v.split(',').map((t) => t.trim()).some((t) => t === policyETag(version) || t === String(version));
}

/**
 * The view of a stored policy (the defaults at version 0 without one). The stored policy is read through
 * validateAutoscalingPolicy again: fields in the type's order (jsonb keeps its own), and defaults for any field added
 * since it was stored; one that no longer passes (a rule added since) is shown as stored.
 */
function view(stored: StoredAutoscalingPolicy | null, clusterClouds: readonly CloudId[]): AutoscalingPolicyView {
  if (!stored) return { version: 0, policy: structuredClone(DEFAULT_AUTOSCALING_POLICY), updatedAt: null };
  return { version: stored.version, policy: validateAutoscalingPolicy(stored.policy, clusterClouds).policy ?? stored.policy, updatedAt: stored.updatedAt };
}

/**
 * A cluster's autoscaling policy and the autoscaler's status (issue 13). Scoped like every cluster endpoint: another
 * organisation's cluster is a 404.
 */
@Injectable()
export class AutoscalingService {
  private readonly repos: Repositories;

  constructor(@Inject(DATA_SOURCE) private readonly ds: DataSource) {
    this.repos = new Repositories(ds);
  }

  /** The cluster's policy (the defaults at version 0 when none was ever stored). @throws Problem 404. */
  async getPolicy(organisationId: string, clusterId: string): Promise<AutoscalingPolicyView> {
    const scope = orgScope(organisationId);
    const c = await this.repos.clusters.findById(scope, clusterId);
    if (!c) throw Problem.notFound(`cluster ${clusterId}`);
    return view(await this.repos.autoscaling.getPolicy(scope, clusterId), c.spec.clouds);
  }

  /**
   * Replaces the cluster's policy, under the cluster row's lock: with `ifMatch`, only when it names the current
   * version; the body is checked by validateAutoscalingPolicy against the cluster's clouds (fields left out take their
   * defaults). A policy equal to the current one changes nothing (same version, no event). Otherwise version + 1 is
   * stored with an `AutoscalingPolicyChanged` event listing each change and a `skyweave.v1.autoscaling.policy-changed`
   * message, in one transaction. Not refused during a full reconcile: a policy is not a change to the cluster's
   * machines (the autoscaler's own actions are).
   * @throws Problem 404 (unknown, another organisation's, or Deleted cluster); 409 `cluster-deleting`; 412
   *   `precondition-failed` when `ifMatch` does not match; 422 `validation-failed` naming each field and rule.
   */
  async putPolicy(organisationId: string, clusterId: string, body: unknown, ifMatch: string | undefined): Promise<AutoscalingPolicyView> {
    const scope = orgScope(organisationId);
    return this.ds.transaction(async (em) => {
      const c = await this.repos.clusters.findForUpdate(scope, clusterId, em);
      if (!c || c.phase === 'Deleted') throw Problem.notFound(`cluster ${clusterId}`);
      if (c.deletionRequestedAt) throw new Problem(409, 'cluster-deleting', 'Cluster is being deleted', `cluster ${c.name} is being deleted`);
      const stored = await this.repos.autoscaling.getPolicy(scope, clusterId, em);
      const current = stored?.version ?? 0;
      if (ifMatch !== undefined && !ifMatchAccepts(ifMatch, current)) {
        throw new Problem(412, 'precondition-failed', 'Precondition failed', `If-Match ${ifMatch} does not match the current policy version ${policyETag(current)}`,
          undefined, { etag: policyETag(current) }, { currentVersion: current });
      }
      const { policy, violations } = validateAutoscalingPolicy(body, c.spec.clouds);
      if (!policy) throw Problem.validation(violations);
      const changes = diffAutoscalingPolicies(view(stored, c.spec.clouds).policy, policy);
      if (changes.length === 0) return view(stored, c.spec.clouds);
      const version = current + 1;
      if (!(await this.repos.autoscaling.putPolicy(scope, clusterId, version, policy, em))) {
        // cannot happen under the cluster row's lock; refused rather than overwritten
        throw new Problem(409, 'concurrent-change', 'Changed meanwhile', `the policy of cluster ${c.name} changed meanwhile; read it again`);
      }
      const listed = changes.slice(0, MAX_LISTED_CHANGES).join('; ') + (changes.length > MAX_LISTED_CHANGES ? `; … and ${changes.length - MAX_LISTED_CHANGES} more` : '');
      await recordEvent(em, { organisationId, clusterId, reason: EventReason.AutoscalingPolicyChanged, message: `Autoscaling policy version ${version}: ${listed}` });
      await enqueue(em, Subjects.AutoscalingPolicyChanged, { organisationId, clusterId, version });
      return view(await this.repos.autoscaling.getPolicy(scope, clusterId, em), c.spec.clouds);
    });
  }

  /** The policy in force and what the autoscaler last reported (empty lists and maps before its first report). @throws Problem 404. */
  async autoscaler(organisationId: string, clusterId: string): Promise<AutoscalerView> {
    const scope = orgScope(organisationId);
    const c = await this.repos.clusters.findById(scope, clusterId);
    if (!c) throw Problem.notFound(`cluster ${clusterId}`);
    const [stored, status] = await Promise.all([this.repos.autoscaling.getPolicy(scope, clusterId), this.repos.autoscaling.getStatus(scope, clusterId)]);
    const p = view(stored, c.spec.clouds);
    const costByCloud = status?.costByCloud ?? {};
    const sum = Object.values(costByCloud).reduce<number>((s, v) => s + (typeof v === 'number' && Number.isFinite(v) ? v : 0), 0);
    return {
      policy: { enabled: p.policy.enabled, version: p.version },
      pendingPods: status?.pendingPods ?? [],
      inFlight: status?.inFlight ?? [],
      lastDecision: status?.lastDecision ?? null,
      costByCloud,
      hourlyCostUsd: Math.round(sum * 1e6) / 1e6,
      prices: status?.prices ?? {},
      updatedAt: status?.updatedAt ?? null,
    };
  }
}
