import { Controller, Module } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { Subjects, type NetworkCommand } from '@skyweave/contracts';
import { JetStreamHandler } from '@skyweave/messaging';
import { CredentialVault, DATA_SOURCE, LOGGER, Logger, VAULT } from '@skyweave/service-kit';
import { NetworkProvisioner } from './network-provisioner';

/** The network-provisioner's message handlers: ensure / delete one cluster's network on one cloud (idempotent). */
@Controller()
export class NetworkController {
  constructor(private readonly np: NetworkProvisioner) {}

  /** Ensures VPC, subnet, gateway/routes and security groups of the cluster on `p.cloud`. */
  @JetStreamHandler(Subjects.NetworkEnsure, { durable: 'network-provisioner-ensure' })
  async ensure(p: NetworkCommand): Promise<void> {
    await this.np.ensure(p);
  }

  /** Deletes the cluster's network on `p.cloud` (tagged resources only). */
  @JetStreamHandler(Subjects.NetworkDelete, { durable: 'network-provisioner-delete' })
  async delete(p: NetworkCommand): Promise<void> {
    await this.np.delete(p);
  }
}

/** The network-provisioner service's module: the existing NetworkProvisioner as a provider. */
@Module({
  controllers: [NetworkController],
  providers: [{
    provide: NetworkProvisioner, inject: [DATA_SOURCE, VAULT, LOGGER],
    useFactory: (ds: DataSource, vault: CredentialVault, log: Logger) => new NetworkProvisioner(ds, vault, log),
  }],
})
export class NetworkProvisionerModule {}

/** Subjects the network-provisioner consumes (each has exactly one handler above). */
export const NETWORK_PROVISIONER_SUBJECTS = [Subjects.NetworkEnsure, Subjects.NetworkDelete] as const;
