import { CloudId, FirewallPlan, FirewallRule, NodeRole } from '@skyweave/domain';

/** Credentials per cloud, in the shapes each cloud issues them. Secrets: never log, never return from the API. */
export interface AwsCredentials { accessKeyId: string; secretAccessKey: string }
/** A GCP service-account key file (the JSON `gcloud iam service-accounts keys create` writes). */
export interface GcpCredentials {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id?: string;
  token_uri?: string;
}
/** An Azure service principal with a client secret, and the subscription to build in. */
export interface AzureCredentials { tenantId: string; clientId: string; clientSecret: string; subscriptionId: string }
/** A DigitalOcean personal access token. */
export interface DigitalOceanCredentials { token: string }

export type CloudCredentials =
  | { cloud: 'aws'; aws: AwsCredentials }
  | { cloud: 'gcp'; gcp: GcpCredentials }
  | { cloud: 'azure'; azure: AzureCredentials }
  | { cloud: 'digitalocean'; digitalocean: DigitalOceanCredentials };

/**
 * Where each cloud's API is. Absent ⇒ the cloud's real public endpoint. The sandbox cloud sets all of them.
 * - aws: base URL for EC2, e.g. `http://127.0.0.1:4566`
 * - gcp: Compute base URL (`http://127.0.0.1:4567`) — also serves the OAuth2 token endpoint
 * - azure: ARM base URL (`https://127.0.0.1:4568`), AAD authority host, and the PEM CA to trust
 * - digitalocean: API v2 base URL, e.g. `http://127.0.0.1:4569/v2`
 * - awsPricing / gcpBilling / azure.retailPrices: the clouds' price APIs (libs/cloud-adapters/src/pricing, docs/pricing.md):
 *   the AWS Price List Query API (`https://api.pricing.us-east-1.amazonaws.com`), the Cloud Billing Catalog API
 *   (`https://cloudbilling.googleapis.com`) and the Azure Retail Prices API's origin (`https://prices.azure.com`).
 *   Absent ⇒ `aws` / `gcp` / `azure.arm` when those are set (the sandbox serves each on the same endpoint), else the
 *   real one. DigitalOcean's sizes and prices come from `digitalocean` (`GET /v2/sizes`).
 * - kubernetes: how the clusters' API servers are reached. `proxyUrl`: an HTTP CONNECT proxy (`http://127.0.0.1:4570`)
 *   through which `https://<master address>:6443` is dialled, as a private control plane is through a bastion; the
 *   sandbox's VMs are not on the host's network. Absent ⇒ dialled directly.
 */
export interface CloudEndpoints {
  aws?: string;
  /** AWS Price List Query API base URL (see above). */
  awsPricing?: string;
  gcp?: string;
  /** Cloud Billing Catalog API base URL (see above); OAuth tokens still come from `gcp`'s token endpoint when that is set. */
  gcpBilling?: string;
  /**
   * `pollIntervalMs`: how often to poll long-running operations, ms, when the endpoint says (a sandbox whose clock runs
   * faster than Azure's); absent ⇒ 250 against an overridden endpoint, the SDK's default (2000) on Azure.
   */
  azure?: { arm: string; authorityHost: string; caPem?: string; pollIntervalMs?: number; retailPrices?: string };
  digitalocean?: string;
  kubernetes?: { proxyUrl: string };
}

/** What a cluster's network on one cloud should be. */
export interface NetworkSpec {
  /** Cluster UUID: the value of the `skyweave-cluster` tag on every resource. */
  clusterId: string;
  /** Logical name prefix of the cluster's resources (`sw-<8 hex>`). */
  namePrefix: string;
  /** The cloud's region code (e.g. `us-east-1`) and zone. */
  region: string;
  zone: string;
  /** VPC / VNet range. DigitalOcean: ignored — the adapter allocates a free /20 (address plan, seed 004). */
  vpcCidr: string;
  /** Node subnet (/24). DigitalOcean: ignored (one subnet = the VPC). */
  subnetCidr: string;
  /** Inbound rules per role (seed 004 tables). */
  firewall: FirewallPlan;
}

/** A cloud resource as listed by tag. `kind` is the cloud's own resource type name (e.g. `vpc`, `subnet`, `security-group`, `instance`, `firewall`, `resource-group`, `network-interface`, `public-ip`, `internet-gateway`, `route-table`). */
export interface CloudResource {
  kind: string;
  id: string;
  name?: string;
  /** Tags/labels as key → value (DigitalOcean `key:value` tags are split). */
  tags: Record<string, string>;
}

/** A cluster's network on one cloud, as it exists. Ids are the cloud's own ids. */
export interface NetworkStatus {
  cloud: CloudId;
  region: string;
  zone: string;
  vpcId: string;
  vpcCidr: string;
  /** Node subnet id. DigitalOcean: equals `vpcId`. */
  subnetId: string;
  subnetCidr: string;
  /** Security group / firewall per role. GCP: firewall rule names per role (network tags select targets). */
  securityGroupIds: Record<NodeRole, string>;
  /** Every part of the network (VPC, subnet, gateways, route tables, security groups, resource group …). */
  resources: CloudResource[];
}

/**
 * The cluster's network compared with its plan (`inspectNetwork`).
 * - `status`: the network as `getNetwork` returns it, or `null` when its VPC / VNet (or resource group) is gone.
 * - `drift`: every difference from the spec, one human-readable sentence each, naming the part by its logical name
 *   (e.g. `subnet sw-1a2b3c4d-subnet (10.10.0.0/24) is missing`, `security group sw-1a2b3c4d-master: rule tcp/6443
 *   from 0.0.0.0/0 is missing`, `security group sw-1a2b3c4d-worker: rule tcp/22 from 0.0.0.0/0 is not in the plan`,
 *   `internet gateway sw-1a2b3c4d-igw is missing`, `VPC 10.10.0.0/16 is missing`). Rules are written
 *   `<protocol>/<port or from-to> from <source>` (see drift.ts). Empty ⇔ the network is exactly the plan; the order is
 *   stable (parts in dependency order, rules sorted by their key).
 */
export interface NetworkInspection {
  status: NetworkStatus | null;
  drift: string[];
}

/** Tuning shared by every provider (third argument of `createCloudProvider`). */
export interface CloudProviderOptions {
  /**
   * Eventual consistency window, in milliseconds (default 30 000): how long a resource the adapter has just created
   * (or a parent it has just created) may stay invisible to reads. Within it, a "not found" on a read-back after a
   * create, or on a create naming a just-made parent, is retried with exponential backoff (see consistency.ts);
   * after it the not-found surfaces as usual. 0 disables the retries.
   */
  consistencyWindowMs?: number;
}

export type InstanceState = 'pending' | 'running' | 'stopping' | 'stopped' | 'terminated';

/** What to launch. */
export interface InstanceSpec {
  clusterId: string;
  /** Skyweave node UUID: tagged `skyweave-node`, and used as the idempotency token (EC2 ClientToken, GCP requestId). */
  nodeId: string;
  /**
   * The cloud idempotency token of this launch (EC2 ClientToken, GCP requestId; a UUID), default `nodeId`. A node
   * whose VM was lost gets a new one for its next VM: EC2 answers a reused ClientToken with the old, terminated instance.
   */
  idempotencyToken?: string;
  /** Instance name (`sw-<8 hex>-master-0`), unique within the cluster. */
  name: string;
  role: NodeRole;
  instanceType: string;
  /** cloud-init user-data, plain text (`#cloud-config …`); the adapter encodes it as its cloud requires. */
  userData: string;
  network: NetworkStatus;
}

/** An instance as the cloud reports it. */
export interface Instance {
  id: string;
  name: string;
  state: InstanceState;
  instanceType: string;
  privateIp?: string;
  publicIp?: string;
  /** The VPC / network the instance is attached to (cloud id). */
  vpcId?: string;
  tags: Record<string, string>;
}

/**
 * One cloud account, reached through the cloud's official SDK. One instance per credential set: never shared
 * between organisations, never mutated per request.
 *
 * The contract (checked by the shared contract suite against each implementation over the sandbox cloud):
 * - Every create is idempotent: it first looks the resource up by the cluster tag and logical name (a crash after a
 *   create ⇒ adopt, never duplicate), and passes the cloud's idempotency token where the cloud has one.
 * - Every resource created carries `skyweave-cluster=<clusterId>` (DigitalOcean: `skyweave-cluster:<clusterId>`)
 *   where the cloud supports tags/labels; where it has none (GCP networks, subnetworks, firewalls), the cluster id is
 *   put in the resource `description` as `skyweave-cluster=<clusterId>` and list/delete match on that.
 * - Deletes are idempotent: deleting what does not exist resolves. Deletes never touch a resource lacking the cluster tag.
 * - Gets return `null` for "does not exist"; other failures throw `CloudError` with a kind.
 * - Drift repair: `ensureNetwork` makes the network exactly the spec again (recreates deleted parts, authorizes missing
 *   rules and revokes rules not in the plan on the cluster's own security groups / firewalls); `inspectNetwork` then
 *   reports no drift. Nothing lacking the cluster tag is ever changed.
 * - Eventual consistency: a just-created resource (or parent) that reads cannot see yet is waited for (retried with
 *   backoff within `CloudProviderOptions.consistencyWindowMs`), never treated as gone.
 * - Cloud failures are thrown as `CloudError` (see errors.ts), never as raw SDK errors.
 */
export interface CloudProvider {
  readonly cloud: CloudId;

  /**
   * True when `createInstance` hands the cloud an idempotency token that survives a lost answer and eventual
   * consistency, so that a repeated call can never launch a second instance for the same launch: AWS (`ClientToken` =
   * `InstanceSpec.idempotencyToken`, default nodeId), GCP (`requestId`, the same token, plus the instance name being
   * unique per zone) and Azure (a PUT by name is idempotent). False on DigitalOcean: it has no token, and a Droplet
   * created just before a crash may not show in the tag list yet, so a retried create may duplicate it — callers must
   * look for (and remove) duplicates later.
   */
  readonly idempotentCreate: boolean;

  /** Checks the credentials with one cheap read. @throws CloudError `InvalidCredentials` when the cloud refuses them. */
  verifyCredentials(): Promise<void>;

  /**
   * Creates or completes the cluster's network on this cloud (independent parts concurrently, each after what it
   * depends on) and returns it. Idempotent and
   * re-entrant: each part is looked up by tag/name first. Resolves when every part is usable (long-running operations waited).
   */
  ensureNetwork(spec: NetworkSpec): Promise<NetworkStatus>;

  /** The cluster's network as it exists, or `null` when its VPC / VNet (or resource group) does not exist. */
  getNetwork(clusterId: string, region: string): Promise<NetworkStatus | null>;

  /**
   * The network as it exists (found by the cluster tag / name, as ensureNetwork finds it) compared with `spec`: every
   * missing part, every part with other settings, every planned inbound rule that is missing and every rule on the
   * cluster's own security groups / firewalls that is not in the plan (rules compared with the domain's `ruleKey`:
   * protocol, port range and source; descriptions are not compared). A small constant number of list/get calls
   * (paginated), never one per instance. `ensureNetwork(spec)` repairs everything reported here (parts with another
   * CIDR excepted: it throws `Conflict` for those); afterwards the drift is empty.
   * @throws CloudError for cloud failures (never for drift).
   */
  inspectNetwork(spec: NetworkSpec): Promise<NetworkInspection>;

  /** Inbound rules per role as the cloud reports them (source of truth for firewall drift checks). */
  describeFirewall(network: NetworkStatus): Promise<Record<NodeRole, FirewallRule[]>>;

  /**
   * Deletes the cluster's network (every part tagged for the cluster, in dependency order). Idempotent.
   * @throws CloudError `Conflict` when something not tagged for the cluster still uses the network.
   */
  deleteNetwork(clusterId: string, region: string): Promise<void>;

  /**
   * Launches one instance or returns the one already launched for `spec.nodeId` (looked up by the `skyweave-node`
   * tag first; idempotency token = nodeId). Resolves once the cloud has accepted it (state `pending` or later).
   */
  createInstance(spec: InstanceSpec): Promise<Instance>;

  /** One instance by cloud id, or `null` when it does not exist (terminated instances may be returned with state `terminated`). */
  getInstance(region: string, instanceId: string): Promise<Instance | null>;

  /** Instances tagged for the cluster that are not terminated. One list call (paginated), never one call per instance. */
  listInstances(clusterId: string, region: string): Promise<Instance[]>;

  /**
   * Every non-terminated instance attached to the network, tagged or not — for the delete guard (seed 003: "if any
   * additional VMs remain present in cluster's security group … delete operation fail").
   */
  listInstancesInNetwork(network: NetworkStatus): Promise<Instance[]>;

  /**
   * Terminates an instance tagged for `clusterId`. Resolves when the cloud has accepted the termination; idempotent
   * (already gone ⇒ resolves). @throws CloudError `Conflict` when the instance is not tagged for the cluster (never deleted).
   */
  terminateInstance(clusterId: string, region: string, instanceId: string): Promise<void>;

  /** Every resource tagged for the cluster in the region (network parts and instances), for reconcile and leak checks. */
  listTaggedResources(clusterId: string, region: string): Promise<CloudResource[]>;

  /**
   * Every resource in the region carrying a Skyweave cluster tag of any value (`skyweave-cluster`, DigitalOcean
   * `skyweave-cluster:<id>` / the firewall target tags, or on GCP networks/subnetworks/firewalls the description
   * marker), instances included unless terminated — for a leak sweep that finds resources of clusters that no longer
   * exist. `tags['skyweave-cluster']` always holds the owning cluster id. A flat number of list calls (paginated).
   */
  listAllTaggedResources(region: string): Promise<CloudResource[]>;
}
