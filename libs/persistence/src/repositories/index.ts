import type { DataSource } from 'typeorm';
import { CloudCredentialsRepository } from './cloud-credentials.repository';
import { ClustersRepository } from './clusters.repository';
import { ClusterEventsRepository } from './events.repository';
import { IdempotencyKeysRepository } from './idempotency-keys.repository';
import { LeakCandidatesRepository } from './leak-candidates.repository';
import { NetworksRepository } from './networks.repository';
import { NodesRepository } from './nodes.repository';
import { NodeOperationsRepository } from './operations.repository';
import { OrganisationsRepository } from './organisations.repository';
import { ReconcilesRepository } from './reconciles.repository';
import { KubeStatusRepository } from './kube-status.repository';
import { AutoscalingRepository } from './autoscaling.repository';

export * from './scope';
export * from './clusters.repository';
export * from './nodes.repository';
export * from './networks.repository';
export * from './operations.repository';
export * from './reconciles.repository';
export * from './leak-candidates.repository';
export * from './cloud-credentials.repository';
export * from './idempotency-keys.repository';
export * from './events.repository';
export * from './organisations.repository';
export * from './cluster-view.repository';
export * from './api-keys.repository';
export * from './rate-limit-counters.repository';
export * from './kube-status.repository';
export * from './autoscaling.repository';

/** Every repository over one data source (they hold no state beyond it: cheap to make per service). */
export class Repositories {
  readonly clusters: ClustersRepository;
  readonly nodes: NodesRepository;
  readonly networks: NetworksRepository;
  readonly operations: NodeOperationsRepository;
  readonly reconciles: ReconcilesRepository;
  readonly leakCandidates: LeakCandidatesRepository;
  readonly credentials: CloudCredentialsRepository;
  readonly idempotencyKeys: IdempotencyKeysRepository;
  readonly events: ClusterEventsRepository;
  readonly organisations: OrganisationsRepository;
  readonly kubeStatus: KubeStatusRepository;
  readonly autoscaling: AutoscalingRepository;

  constructor(readonly ds: DataSource) {
    this.clusters = new ClustersRepository(ds);
    this.nodes = new NodesRepository(ds);
    this.networks = new NetworksRepository(ds);
    this.operations = new NodeOperationsRepository(ds);
    this.reconciles = new ReconcilesRepository(ds);
    this.leakCandidates = new LeakCandidatesRepository(ds);
    this.credentials = new CloudCredentialsRepository(ds);
    this.idempotencyKeys = new IdempotencyKeysRepository(ds);
    this.events = new ClusterEventsRepository(ds);
    this.organisations = new OrganisationsRepository(ds);
    this.kubeStatus = new KubeStatusRepository(ds);
    this.autoscaling = new AutoscalingRepository(ds);
  }
}
export * from './identity.repository';
