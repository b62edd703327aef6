import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { networkSpecFor, roundUsd, type PriceList } from '@skyweave/cloud-adapters';
import {
  ADDRESS_PLAN, CLOUD_NAMES, CloudId, CloudPair, ClusterSpec, FirewallRule, MAX_CROSS_CLOUD_LATENCY_MS, NodeRole, cloudPair, findInstanceType,
} from '@skyweave/domain';
import { Repositories, orgScope } from '@skyweave/persistence';
import { validateClusterRequest } from './cluster-request';
import type { CreateClusterDto } from './dtos';
import type { GatewayPrices, PriceAnswer } from './prices';
import { DATA_SOURCE, PRICES } from './tokens';

/** Hours in the plan's month: 365 × 24 / 12 = 730, the figure the clouds' own calculators use. */
export const HOURS_PER_MONTH = 730;

/**
 * A worst cross-cloud round trip at or above this is reported as close to the budget (warning `latency-near-budget`):
 * the top of the 5–7 ms range the seeds measured clusters to run in, 3 ms under the 10 ms budget.
 */
export const LATENCY_WARNING_MS = 7;

/**
 * The name prefix the plan writes resource names with. A cluster's resources are named `sw-<first 8 hex digits of
 * its id>-…` (resourcePrefix); the id is given at creation, so the plan shows the prefix as `sw-<id>`.
 */
export const PLAN_NAME_PREFIX = 'sw-<id>';

/** A part of a cluster's network as the cloud adapter's ensureNetwork makes it: the cloud's kind and its name. */
export interface PlannedResource { kind: string; name: string }

/**
 * The network parts network-provisioner makes for a cluster on `cloud` (the cloud adapter's `ensureNetwork`), in the
 * order its `NetworkStatus.resources` lists them, named with `prefix` (`resourcePrefix(clusterId)`):
 * - AWS: VPC `-vpc`, subnet `-subnet`, internet gateway `-igw` (attached), route table `-rtb` (default route to the
 *   gateway, associated with the subnet), a security group per role `-master` / `-worker`;
 * - GCP: VPC network `-net` (custom subnets), subnetwork `-subnet`, a firewall per role `-master` / `-worker`
 *   (targeting the network tag of the same name);
 * - Azure: resource group `-rg`, VNet `-vnet`, subnet `-nodes`, a network security group per role `-master-nsg` /
 *   `-worker-nsg`;
 * - DigitalOcean: VPC `-vpc` (one range, no separate subnet), a firewall per role `-master` / `-worker` (targeting
 *   the role's Droplet tag).
 * test/integration/plan.spec.ts checks this table against what each adapter builds on the sandbox.
 */
export function plannedNetworkParts(cloud: CloudId, prefix: string): PlannedResource[] {
  const roles = (kind: string, suffix = '') => (['master', 'worker'] as const).map((r) => ({ kind, name: `${prefix}-${r}${suffix}` }));
  switch (cloud) {
    case 'aws':
      return [
        { kind: 'vpc', name: `${prefix}-vpc` }, { kind: 'subnet', name: `${prefix}-subnet` }, { kind: 'internet-gateway', name: `${prefix}-igw` },
        { kind: 'route-table', name: `${prefix}-rtb` }, ...roles('security-group'),
      ];
    case 'gcp':
      return [{ kind: 'network', name: `${prefix}-net` }, { kind: 'subnetwork', name: `${prefix}-subnet` }, ...roles('firewall')];
    case 'azure':
      return [
        { kind: 'resource-group', name: `${prefix}-rg` }, { kind: 'virtual-network', name: `${prefix}-vnet` }, { kind: 'subnet', name: `${prefix}-nodes` },
        ...roles('network-security-group', '-nsg'),
      ];
    case 'digitalocean':
      return [{ kind: 'vpc', name: `${prefix}-vpc` }, ...roles('firewall')];
  }
}

/** Where a price came from: the cloud's price API, when the list was read, and whether a later refresh failed. */
export interface PlanPriceSource { source: string; pricedAt: string; stale: boolean }

export interface PlanCost { usdPerHour: number | null; usdPerMonth: number | null }

export interface PlanNodeGroup {
  role: NodeRole;
  count: number;
  instanceType: string;
  vcpu: number;
  memoryMiB: number;
  /** The price list's on-demand Linux price of one VM; null when the cloud's price list is unavailable or lacks the type. */
  usdPerHour: number | null;
}

export interface PlanCloud {
  cloud: CloudId;
  /** The cloud's region code and the zone the cluster uses (region mapping). */
  region: string;
  zone: string;
  network: {
    /** VPC / VNet range; null on DigitalOcean, where the first free range of `vpcCidrPool` is taken at creation. */
    vpcCidr: string | null;
    /** Node subnet; null on DigitalOcean (the VPC is the subnet). */
    subnetCidr: string | null;
    /** DigitalOcean only: the pool its /20 is allocated from. */
    vpcCidrPool?: { first: string; last: string; prefixLength: number };
    resources: PlannedResource[];
  };
  /** Inbound rules per role (the seed tables, FIREWALL_PLAN). */
  firewall: Record<NodeRole, FirewallRule[]>;
  nodes: PlanNodeGroup[];
  cost: PlanCost & {
    /** The price list the figures come from; null when none was read (no VMs on this cloud, or the list is unavailable). */
    price: PlanPriceSource | null;
    /** Why the cost is null (price list unavailable, an instance type it does not price). */
    reason?: string;
  };
}

export type PlanWarningCode = 'price-list-unavailable' | 'price-list-stale' | 'instance-type-unpriced' | 'latency-near-budget';

export interface PlanWarning { code: PlanWarningCode; cloud?: CloudId; message: string }

/** The answer of `POST /v1/clusters/plan`. */
export interface ClusterPlan {
  name: string;
  region: { id: string; name: string };
  /** The spec `POST /v1/clusters` would store for this body (defaults filled in). */
  spec: ClusterSpec;
  /** How resource names start; `<id>` stands for the first 8 hex digits of the id the cluster gets at creation. */
  namePrefix: string;
  clouds: PlanCloud[];
  latency: { worst: { pair: CloudPair; ms: number } | null; budgetMs: number; withinBudget: boolean; pairs: { pair: CloudPair; ms: number }[] };
  /** The sum of the clouds' costs; null when one of them is unknown. */
  cost: PlanCost;
  warnings: PlanWarning[];
}

/** One cloud's VMs, grouped by role and instance type (masters first, then workers in the order of the request). */
function nodeGroups(spec: ClusterSpec, cloud: CloudId): { role: NodeRole; count: number; instanceType: string }[] {
  const groups: { role: NodeRole; count: number; instanceType: string }[] = [];
  if (spec.controlPlane.cloud === cloud) groups.push({ role: 'master', count: spec.controlPlane.count, instanceType: spec.controlPlane.instanceType });
  for (const w of spec.workers) {
    if (w.cloud !== cloud || w.count === 0) continue;
    const same = groups.find((g) => g.role === 'worker' && g.instanceType === w.instanceType);
    if (same) same.count += w.count;
    else groups.push({ role: 'worker', count: w.count, instanceType: w.instanceType });
  }
  return groups;
}

const money = (usdPerHour: number): PlanCost => ({ usdPerHour: roundUsd(usdPerHour), usdPerMonth: roundUsd(usdPerHour * HOURS_PER_MONTH) });
const UNKNOWN: PlanCost = { usdPerHour: null, usdPerMonth: null };

/**
 * `POST /v1/clusters/plan`: what `POST /v1/clusters` would build for the same body, and what it would cost, without
 * creating anything. The body passes the same rules (validateClusterRequest: the same 422s); then per cloud the
 * network networkSpecFor gives (CIDRs, region, zone, firewall) with the parts the adapter makes
 * (plannedNetworkParts), the VMs by role and type, and their cost from the cloud's price API (GatewayPrices, through
 * the organisation's credentials; cached). Nothing is written. A price list that cannot be read makes that cloud's
 * cost (and the total) null with a warning, never an error.
 */
@Injectable()
export class PlanService {
  private readonly repos: Repositories;

  constructor(@Inject(DATA_SOURCE) ds: DataSource, @Inject(PRICES) private readonly prices: GatewayPrices) {
    this.repos = new Repositories(ds);
  }

  async plan(organisationId: string, dto: CreateClusterDto): Promise<ClusterPlan> {
    const { spec, region, worstLatency, credentials } = await validateClusterRequest(this.repos, orgScope(organisationId), dto);
    // each cloud's warnings are kept apart while the clouds' prices are read at once, then listed in the clouds' order
    const perCloud = await Promise.all(spec.clouds.map(async (cloud): Promise<{ plan: PlanCloud; warnings: PlanWarning[]; hourly: number }> => {
      const warnings: PlanWarning[] = [];
      // the same spec network-provisioner gets (its cluster id only names the parts: the plan names them with PLAN_NAME_PREFIX)
      const net = networkSpecFor('00000000-0000-0000-0000-000000000000', spec.region, cloud);
      const groups = nodeGroups(spec, cloud);
      const sealed = credentials.find((k) => k.cloud === cloud)?.ciphertext;
      const answer: PriceAnswer | undefined = groups.length && sealed ? await this.prices.list(cloud, net.region, sealed) : undefined;
      const list: PriceList | undefined = answer && 'list' in answer ? answer.list : undefined;
      const name = CLOUD_NAMES[cloud];
      let reason: string | undefined;
      if (answer && 'error' in answer) {
        reason = `no price list for ${name} ${net.region}: ${answer.error}`;
        warnings.push({ code: 'price-list-unavailable', cloud, message: `${reason}; its cost is unknown` });
      }
      if (list?.stale) warnings.push({ code: 'price-list-stale', cloud, message: `${name} prices are those read at ${list.pricedAt}: the last refresh of the price list failed` });
      const nodes = groups.map((g): PlanNodeGroup => {
        const offering = list?.offerings.find((o) => o.instanceType === g.instanceType);
        const known = findInstanceType(cloud, g.instanceType);
        if (list && !offering) {
          const why = `${g.instanceType} is not in ${name}'s price list for ${net.region} (${list.source})`;
          reason ??= why;
          warnings.push({ code: 'instance-type-unpriced', cloud, message: `${why}; its cost is unknown` });
        }
        return {
          role: g.role, count: g.count, instanceType: g.instanceType,
          vcpu: offering?.vcpu ?? known?.vcpu ?? 0, memoryMiB: offering?.memoryMiB ?? known?.memoryMiB ?? 0, usdPerHour: offering?.usdPerHour ?? null,
        };
      });
      const priced = nodes.every((n) => n.usdPerHour !== null);
      const hourly = priced ? nodes.reduce((s, n) => s + n.count * (n.usdPerHour as number), 0) : 0;
      const cost = priced ? money(hourly) : UNKNOWN;
      return { warnings, hourly, plan: {
        cloud, region: net.region, zone: net.zone,
        network: {
          vpcCidr: net.vpcCidr || null, subnetCidr: net.subnetCidr || null,
          ...(cloud === 'digitalocean' ? { vpcCidrPool: { ...ADDRESS_PLAN.digitalOceanPool } } : {}),
          resources: plannedNetworkParts(cloud, PLAN_NAME_PREFIX),
        },
        firewall: { master: net.firewall.master.map((r) => ({ ...r })), worker: net.firewall.worker.map((r) => ({ ...r })) },
        nodes,
        cost: { ...cost, price: list ? { source: list.source, pricedAt: list.pricedAt, stale: list.stale } : null, ...(priced ? {} : { reason }) },
      } };
    }));
    const planClouds = perCloud.map((c) => c.plan);
    const warnings = perCloud.flatMap((c) => c.warnings);
    const pairs: { pair: CloudPair; ms: number }[] = [];
    for (let i = 0; i < spec.clouds.length; i++) {
      for (let j = i + 1; j < spec.clouds.length; j++) {
        const pair = cloudPair(spec.clouds[i], spec.clouds[j]);
        pairs.push({ pair, ms: region.crossCloudLatencyMs[pair] as number });
      }
    }
    if (worstLatency && worstLatency.ms >= LATENCY_WARNING_MS) {
      const [a, b] = worstLatency.pair.split('|') as [CloudId, CloudId];
      warnings.push({ code: 'latency-near-budget', message: `${CLOUD_NAMES[a]} and ${CLOUD_NAMES[b]} are ${worstLatency.ms} ms apart in ${region.id}, ${MAX_CROSS_CLOUD_LATENCY_MS - worstLatency.ms} ms under the ${MAX_CROSS_CLOUD_LATENCY_MS} ms budget` });
    }
    const complete = planClouds.every((c) => c.cost.usdPerHour !== null);
    return {
      name: spec.name,
      region: { id: region.id, name: region.name },
      spec,
      namePrefix: PLAN_NAME_PREFIX,
      clouds: planClouds,
      latency: { worst: worstLatency ?? null, budgetMs: MAX_CROSS_CLOUD_LATENCY_MS, withinBudget: (worstLatency?.ms ?? 0) <= MAX_CROSS_CLOUD_LATENCY_MS, pairs },
      cost: complete ? money(perCloud.reduce((s, c) => s + c.hourly, 0)) : UNKNOWN,
      warnings,
    };
  }
}
