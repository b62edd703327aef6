import { CLOUDS } from '@skyweave/domain';
import type { CloudId } from '@skyweave/domain';

/** One counted call name of one cloud. */
export interface CallCount {
  cloud: CloudId;
  call: string;
  count: number;
}

export interface CallSnapshot {
  /** Sorted by cloud (in CLOUDS order), then call name. */
  calls: CallCount[];
  total: number;
  /** Requests per cloud (every cloud of the snapshot, 0 when none). */
  byCloud: Partial<Record<CloudId, number>>;
  /**
   * Calls of a cloud's real API that the sandbox does not implement (answered 501, core/unimplemented.ts), by
   * operation; also counted in `calls`. Empty when every call was served.
   */
  unimplemented: CallCount[];
}

/** Name under which requests that match no call of the cloud's API are counted (unknown path, action …). */
export const UNKNOWN_CALL = '(unknown)';

/**
 * Counts every request that reaches a cloud endpoint, by (cloud, call name), whatever its outcome (authentication
 * failures, injected faults and validation errors included). Call names:
 * - aws: the EC2 `Action` (`DescribeInstances`, `RunInstances` …);
 * - gcp: `<collection>.<method>` as Compute's discovery document names it (`networks.insert`, `instances.list`,
 *   `instances.aggregatedList`, `zoneOperations.wait`, `projects.get` …); the OAuth token endpoint is `oauth2.token`;
 * - azure: `<METHOD> <resource type>` (`PUT Microsoft.Network/virtualNetworks`, `GET Microsoft.Compute/virtualMachines`)
 *   with `LIST` for a GET of a collection (`LIST Microsoft.Network/virtualNetworks`), `GET <ns>/locations/operations`
 *   and `…/operationResults` for LRO polls; Entra ID endpoints as `<METHOD> <route>` (`POST /{tenant}/oauth2/v2.0/token`);
 * - digitalocean: `<METHOD> <route pattern>` (`GET /v2/droplets`, `DELETE /v2/droplets/:id`).
 * Requests matching none are counted as `(unknown)`.
 */
export class CallCounter {
  private readonly counts = new Map<CloudId, Map<string, number>>();
  private readonly missing = new Map<CloudId, Map<string, number>>();

  /** Records one call the sandbox answered 501 (does not implement); `count` is called separately. */
  unimplemented(cloud: CloudId, operation: string): void {
    bump(this.missing, cloud, operation);
  }

  count(cloud: CloudId, call: string): void {
    bump(this.counts, cloud, call);
  }

  /** How often `call` was made on `cloud` since the last reset. */
  get(cloud: CloudId, call: string): number {
    return this.counts.get(cloud)?.get(call) ?? 0;
  }

  snapshot(cloud?: CloudId): CallSnapshot {
    const clouds = cloud === undefined ? CLOUDS : [cloud];
    const calls: CallCount[] = [];
    const byCloud: Partial<Record<CloudId, number>> = {};
    for (const c of clouds) {
      const m = this.counts.get(c) ?? new Map<string, number>();
      byCloud[c] = 0;
      for (const [call, count] of [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        calls.push({ cloud: c, call, count });
        byCloud[c] = (byCloud[c] ?? 0) + count;
      }
    }
    const unimplemented: CallCount[] = [];
    for (const c of clouds) for (const [call, count] of sorted(this.missing.get(c))) unimplemented.push({ cloud: c, call, count });
    return { calls, total: calls.reduce((a, c) => a + c.count, 0), byCloud, unimplemented };
  }

  /** Forgets every count, or one cloud's. */
  reset(cloud?: CloudId): void {
    if (cloud === undefined) {
      this.counts.clear();
      this.missing.clear();
    } else {
      this.counts.delete(cloud);
      this.missing.delete(cloud);
    }
  }
}

function bump(counts: Map<CloudId, Map<string, number>>, cloud: CloudId, call: string): void {
  let m = counts.get(cloud);
  if (!m) {
    m = new Map();
    counts.set(cloud, m);
  }
  m.set(call, (m.get(call) ?? 0) + 1);
}

function sorted(m: Map<string, number> | undefined): [string, number][] {
  return [...(m ?? new Map<string, number>())].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
