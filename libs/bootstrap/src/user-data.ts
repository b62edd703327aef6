import { stringify } from 'yaml';
import { AGENT_INSTALL_ROOT, INSTALL_ENV, INSTALL_SCRIPT_PATH, installNodeAgentScript } from './install-script';

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

/** Where the VM gets node-agent from when its image does not ship it. */
export interface AgentPackage {
  /**
   * http(s) URL of the node-agent package: a gzip tarball whose root holds `bin/skyweave-node-agent`. RFC 3986
   * characters only, and no `'` or `$` (percent-encode them).
   */
  url: string;
  /** SHA-256 of the package, 64 hex digits; the VM refuses a package that does not match. */
  sha256: string;
}

/** The input of renderUserData: the agent's configuration, and optionally where to download the agent. */
export interface UserDataInput extends AgentConfig {
  /**
   * The node-agent package to install when the image has no AGENT_BINARY. Not part of the agent's configuration
   * file. Absent: the image must ship the binary (the install script fails the boot's runcmd otherwise).
   */
  agentPackage?: AgentPackage;
}

export const AGENT_CONFIG_PATH = '/etc/skyweave/node-agent.json';
export const AGENT_BINARY = '/usr/local/bin/skyweave-node-agent';
export const AGENT_UNIT = 'skyweave-node-agent.service';
/** Kernel settings the WireGuard mesh (forwarding) and kubeadm's preflight checks (bridged traffic through iptables) need. */
export const SYSCTL_PATH = '/etc/sysctl.d/99-skyweave.conf';
/** Kernel modules to load at every boot (br_netfilter provides the net.bridge.* settings). */
export const MODULES_LOAD_PATH = '/etc/modules-load.d/skyweave.conf';
/**
 * Debian/Ubuntu packages the node needs: WireGuard's userspace tools and iproute2 for the mesh, ping for reachability
 * checks, curl and CA certificates for the install script's download, kmod and procps for modprobe and sysctl.
 */
export const HOST_PACKAGES = ['wireguard-tools', 'iproute2', 'iputils-ping', 'ca-certificates', 'curl', 'kmod', 'procps'];

/**
 * Renders the cloud-init user-data (`#cloud-config`) of a VM. It holds:
 * - `package_update` + `packages` (HOST_PACKAGES): the host prerequisites of the WireGuard mesh and Kubernetes;
 * - `write_files`: node-agent's configuration at AGENT_CONFIG_PATH (mode 0600, it holds the bootstrap token), the
 *   install script at INSTALL_SCRIPT_PATH (0755, see installNodeAgentScript), the kernel settings (SYSCTL_PATH:
 *   IPv4 forwarding, bridge-nf-call-iptables/ip6tables), the br_netfilter module (MODULES_LOAD_PATH), and the agent's
 *   systemd unit;
 * - `runcmd`, in order: the install script (with the package URL and SHA-256 in its environment when `agentPackage`
 *   is given), `modprobe br_netfilter`, `sysctl --system`, `systemctl daemon-reload`, `systemctl enable --now` the
 *   unit. All are argv arrays: cloud-init single-quotes each argument in the script it makes of runcmd, so the shell
 *   expands nothing in them.
 *
 * A real VM (cloud-init) does all of it: packages are installed (final stage, before runcmd), files written, and the
 * commands run as root. The sandbox's VM image (apps/cloud-emulator VmRuntime) only writes `write_files` under the
 * VM's folder and records `runcmd` in its cloud-init-output.log; of the commands it acts only on `systemctl enable
 * --now`, which starts the unit's ExecStart because its image ships AGENT_BINARY. It ignores `packages` and does not
 * run the install script, modprobe or sysctl.
 *
 * cloud-init goes on with later runcmd entries when one fails, so if the install fails the unit is still enabled and
 * fails to start (systemd retries it); the reason is in /var/log/cloud-init-output.log.
 */
export function renderUserData(input: UserDataInput): string {
  const { apiUrl, clusterId, nodeId, nodeName, role, bootstrapToken } = input;
  const agentConfig: AgentConfig = { apiUrl, clusterId, nodeId, nodeName, role, bootstrapToken };
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
  const sysctl = [
    '# Skyweave: forwarding for the WireGuard mesh and pods; bridged traffic through iptables (kubeadm preflight).',
    'net.ipv4.ip_forward = 1',
    'net.bridge.bridge-nf-call-iptables = 1',
    'net.bridge.bridge-nf-call-ip6tables = 1',
    '',
  ].join('\n');
  const doc = {
    package_update: true,
    packages: HOST_PACKAGES,
    write_files: [
      { path: AGENT_CONFIG_PATH, owner: 'root:root', permissions: '0600', content: `${JSON.stringify(agentConfig, null, 2)}\n` },
      {
        path: INSTALL_SCRIPT_PATH, owner: 'root:root', permissions: '0755',
        content: installNodeAgentScript({ agentBinary: AGENT_BINARY, installRoot: AGENT_INSTALL_ROOT }),
      },
      { path: MODULES_LOAD_PATH, owner: 'root:root', permissions: '0644', content: 'br_netfilter\n' },
      { path: SYSCTL_PATH, owner: 'root:root', permissions: '0644', content: sysctl },
      { path: `/etc/systemd/system/${AGENT_UNIT}`, owner: 'root:root', permissions: '0644', content: unit },
    ],
    runcmd: [
      installCommand(input.agentPackage),
      ['modprobe', 'br_netfilter'],
      ['sysctl', '--system'],
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', AGENT_UNIT],
    ],
  };
  // Literal blocks, never folded: the files read in the user-data exactly as they are written on the VM.
  return `#cloud-config\n${stringify(doc, { blockQuote: 'literal', lineWidth: 0 })}`;
}

/** The runcmd entry that runs the install script: via `env` with the package's URL and SHA-256 when there is one. */
function installCommand(pkg: AgentPackage | undefined): string[] {
  if (!pkg) return [INSTALL_SCRIPT_PATH];
  // RFC 3986 characters only, less ' and $ (percent-encode them): nothing a reader of the runcmd could take for shell.
  if (!/^https?:\/\/[A-Za-z0-9._~:/?#[\]@!&()*+,;=%-]+$/.test(pkg.url)) {
    throw new Error(`agentPackage.url must be an http(s) URL of RFC 3986 characters except ' and $: ${pkg.url}`);
  }
  if (!/^[0-9a-fA-F]{64}$/.test(pkg.sha256)) throw new Error('agentPackage.sha256 must be 64 hex digits');
  return ['env', `${INSTALL_ENV.packageUrl}=${pkg.url}`, `${INSTALL_ENV.packageSha256}=${pkg.sha256.toLowerCase()}`, INSTALL_SCRIPT_PATH];
}
