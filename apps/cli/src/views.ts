/** What the CLI reads of the API's answers (apps/api-gateway clusters.service.ts `ClusterView`). */
export interface Condition { type: string; status: string; reason: string; message: string; lastTransitionTime?: string }
export interface Waiting { reason: string; retryAt: string | null; attempts: number }
export interface NetworkView { cloud: string; phase: string; region?: string; vpcId?: string; vpcCidr?: string; subnetCidr?: string; message: string | null; waiting: Waiting | null }
export interface NodeView {
  id: string; name: string; cloud: string; role: string; origin?: string; phase: string; instanceType: string; instanceId: string | null;
  privateIp: string | null; publicIp: string | null; wireguardAddress?: string | null; removalRequested: boolean; kubernetesVersion: string | null; message: string | null; waiting: Waiting | null;
}
export interface ClusterView {
  id: string; name: string; phase: string;
  spec: { name: string; region: string; clouds: string[]; controlPlane: { cloud: string; count: number; instanceType: string }; workers: { cloud: string; count: number; instanceType: string }[]; kubernetesVersion: string; mesh?: string };
  conditions: Condition[]; networks: NetworkView[]; nodes: NodeView[]; createdAt: string; updatedAt: string;
}
export interface ClusterSummary { id: string; name: string; phase: string; region: string; clouds: string[]; createdAt: string }
export interface ClusterEvent { id: string; type: string; reason: string; object: string | null; message: string; createdAt: string }
export interface EventPage { items: ClusterEvent[]; next: string | null }

/** `POST /v1/clusters/plan` (docs/plan.md): what a create would build and cost, per cloud; USD. */
export interface ClusterPlan {
  name: string;
  region: { id: string; name: string };
  clouds: {
    cloud: string; region: string; zone: string;
    network: { vpcCidr: string | null; subnetCidr: string | null; resources: { kind: string; name: string }[] };
    nodes: { role: string; count: number; instanceType: string; vcpu: number; memoryMiB: number; usdPerHour: number | null }[];
    cost: { usdPerHour: number | null; usdPerMonth: number | null; price: { source: string; pricedAt: string; stale: boolean } | null; reason?: string };
  }[];
  latency: { worst: { pair: string; ms: number } | null; budgetMs: number; withinBudget: boolean };
  cost: { usdPerHour: number | null; usdPerMonth: number | null };
  warnings: { code: string; cloud?: string; message: string }[];
}
