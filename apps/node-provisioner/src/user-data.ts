import { stringify } from 'yaml';

/** What node-agent needs to start on a VM; written to /etc/skyweave/node-agent.json by cloud-init. */
export interface AgentConfig {
  /** api-gateway URL the agent calls back (`/agent/v1`). */
  apiUrl: string;
  clusterId: string;
  nodeId: string;
  nodeName: string;
  role: 'master' | 'worker';
  /** One-time bootstrap token (valid minutes; exchanged for a node credential on first use). */
  bootstrapToken: string;
}

export const AGENT_CONFIG_PATH = '/etc/skyweave/node-agent.json';
export const AGENT_BINARY = '/usr/local/bin/skyweave-node-agent';
export const AGENT_UNIT = 'skyweave-node-agent.service';

/**
 * Renders the cloud-init user-data (cloud-config) of a VM: writes node-agent's configuration (mode 0600, it holds
 * the bootstrap token) and its systemd unit, then enables and starts the unit. The Skyweave image ships the
 * node-agent binary at AGENT_BINARY.
 */
export function renderUserData(cfg: AgentConfig): string {
  const unit = [
    '[Unit]',
    'Description=Skyweave node agent',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    `ExecStart=${AGENT_BINARY} --config ${AGENT_CONFIG_PATH}`,
    'Restart=on-failure',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  const doc = {
    write_files: [
      { path: AGENT_CONFIG_PATH, owner: 'root:root', permissions: '0600', content: `${JSON.stringify(cfg, null, 2)}\n` },
      { path: `/etc/systemd/system/${AGENT_UNIT}`, owner: 'root:root', permissions: '0644', content: unit },
    ],
    runcmd: [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', AGENT_UNIT],
    ],
  };
  return `#cloud-config\n${stringify(doc)}`;
}
