import { Controller, Module } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { Subjects, type NodeCommand } from '@skyweave/contracts';
import type { SecretBox } from '@skyweave/persistence';
import { CredentialVault, DATA_SOURCE, LOGGER, Logger, SECRET_BOX, SERVICE_CONFIG, ServiceConfig, VAULT } from '@skyweave/service-kit';
import { JetStreamHandler } from '@skyweave/messaging';
import { NodeProvisioner } from './node-provisioner';

/** The node-provisioner's message handlers: launch / terminate one node's VM (idempotent, one at a time per node). */
@Controller()
export class NodeController {
  constructor(private readonly np: NodeProvisioner) {}

  /** Launches the node's VM with cloud-init user-data carrying a one-time bootstrap token. */
  @JetStreamHandler(Subjects.NodeLaunch, { durable: 'node-provisioner-launch' })
  async launch(p: NodeCommand): Promise<void> {
    await this.np.launch(p);
  }

  /** Terminates the node's VM (found by its tag). */
  @JetStreamHandler(Subjects.NodeTerminate, { durable: 'node-provisioner-terminate' })
  async terminate(p: NodeCommand): Promise<void> {
    await this.np.terminate(p);
  }
}

/** The node-provisioner service's module: the existing NodeProvisioner as a provider. */
@Module({
  controllers: [NodeController],
  providers: [{
    provide: NodeProvisioner, inject: [DATA_SOURCE, VAULT, LOGGER, SERVICE_CONFIG, SECRET_BOX],
    useFactory: (ds: DataSource, vault: CredentialVault, log: Logger, config: ServiceConfig, box: SecretBox) =>
      new NodeProvisioner(ds, vault, log, config.apiUrl, box),
  }],
})
export class NodeProvisionerModule {}

/** Subjects the node-provisioner consumes (each has exactly one handler above). */
export const NODE_PROVISIONER_SUBJECTS = [Subjects.NodeLaunch, Subjects.NodeTerminate] as const;
