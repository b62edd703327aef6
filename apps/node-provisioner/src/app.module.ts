import { Controller, Module } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { Subjects, type NodeCommand } from '@skyweave/contracts';
import type { SecretBox } from '@skyweave/persistence';
import { CredentialVault, DATA_SOURCE, LOGGER, Logger, SECRET_BOX, SERVICE_CONFIG, ServiceConfig, VAULT } from '@skyweave/service-kit';
import { JetStreamHandler } from '@skyweave/messaging';
import { NodeProvisioner } from './node-provisioner';
import { AGENT_PACKAGE_BASE_URL_ENV, AGENT_PACKAGES_ROUTE, agentPackagesFor, agentPackagesFromEnv } from '@skyweave/bootstrap/src/agent-packages';

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
    useFactory: (ds: DataSource, vault: CredentialVault, log: Logger, config: ServiceConfig, box: SecretBox) => {
      // the node-agent packages VMs download: served by the gateway (or SKYWEAVE_AGENT_PACKAGE_BASE_URL), checked by SHA-256
      const served = agentPackagesFromEnv(process.env);
      if (!served) log.warn({}, 'SKYWEAVE_AGENT_PACKAGES_DIR is not set: VMs get no node-agent package, so only images that ship the agent can join');
      const base = process.env[AGENT_PACKAGE_BASE_URL_ENV] || `${config.apiUrl.replace(/\/+$/, '')}${AGENT_PACKAGES_ROUTE}`;
      return new NodeProvisioner(ds, vault, log, config.apiUrl, box, served ? agentPackagesFor(served.manifest, base) : undefined);
    },
  }],
})
export class NodeProvisionerModule {}

/** Subjects the node-provisioner consumes (each has exactly one handler above). */
export const NODE_PROVISIONER_SUBJECTS = [Subjects.NodeLaunch, Subjects.NodeTerminate] as const;
