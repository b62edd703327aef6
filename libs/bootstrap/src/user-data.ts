import { stringify } from 'yaml';
import { AGENT_ARCHITECTURES, AGENT_INSTALL_ROOT, AgentArchitecture, INSTALL_SCRIPT_PATH, installNodeAgentScript, packageEnv } from './install-script';
import { CONFIGURE_CONTAINERD_SCRIPT_PATH, DISABLE_SWAP_SCRIPT_PATH, configureContainerdScript, disableSwapScript } from './node-scripts';
import { CRICTL, KUBERNETES_PACKAGES, containerdSourceFor, nodeSoftware } from './versions';

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

/** The input of renderUserData: the agent's configuration, the cluster's Kubernetes version, and where to download the agent. */
export interface UserDataInput extends AgentConfig {
  /**
   * The cluster's `spec.kubernetesVersion` (`MAJOR.MINOR.PATCH`, no `v`): picks the pkgs.k8s.io repository (its
   * minor), the kubelet/kubeadm/kubectl package version and containerd (see nodeSoftware in versions.ts). Not part
   * of the agent's configuration file.
   */
  kubernetesVersion: string;
  /**
   * The node-agent packages, per architecture, to install when the image has no AGENT_BINARY: the VM picks its own
   * (install-script.ts), so one user-data serves an instance type of either architecture. Not part of the agent's
   * configuration file. Absent, or no package for the VM's architecture: the image must ship the binary (the install
   * script fails the boot's runcmd otherwise).
   */
  agentPackages?: Partial<Record<AgentArchitecture, AgentPackage>>;
}

export const AGENT_CONFIG_PATH = '/etc/skyweave/node-agent.json';
export const AGENT_BINARY = '/usr/local/bin/skyweave-node-agent';
export const AGENT_UNIT = 'skyweave-node-agent.service';
/**
 * Kernel settings kubeadm's "Container Runtimes" page lists ("Install and configure prerequisites":
 * net.ipv4.ip_forward; bridged traffic through iptables, net.bridge.bridge-nf-call-iptables/ip6tables), which the
 * WireGuard mesh's forwarding needs too.
 */
export const SYSCTL_PATH = '/etc/sysctl.d/99-skyweave.conf';
/** Kernel modules to load at every boot (Container Runtimes: `overlay` for containerd's snapshotter, `br_netfilter` for net.bridge.*). */
export const MODULES_LOAD_PATH = '/etc/modules-load.d/skyweave.conf';
/** The kernel modules of MODULES_LOAD_PATH, also loaded by bootcmd at every boot before anything else runs. */
export const KERNEL_MODULES = ['overlay', 'br_netfilter'] as const;
/**
 * Debian/Ubuntu packages the node needs besides containerd and Kubernetes': WireGuard's userspace tools and iproute2
 * for the mesh, ping for reachability checks, curl and CA certificates for downloads, kmod and procps for modprobe
 * and sysctl, iptables for the pod network's egress masquerade (node-agent cni.ts; kubeadm's preflight wants it too),
 * haproxy for the node's API server proxy (the control-plane endpoint every node dials: node-agent apiserver-proxy.ts;
 * Ubuntu 24.04's own 2.8 LTS, enabled by its package, configured by the agent).
 */
export const HOST_PACKAGES = ['wireguard-tools', 'iproute2', 'iputils-ping', 'ca-certificates', 'curl', 'kmod', 'procps', 'iptables', 'haproxy'];

/**
 * The bootcmd script that fetches an apt signing key (`sh -c FETCH_KEY_SCRIPT fetch-apt-key <path> <url>`: the path
 * and URL are positional parameters, never shell source). Nothing to do when the key is there already; otherwise curl
 * (HTTPS, retried) into `<path>.part`, renamed into place once whole; on failure nothing is left and the exit status
 * is non-zero (cloud-init logs it, and the next boot tries again). Not `cloud-init-per`: it would record a failed
 * download as done.
 */
export const FETCH_KEY_SCRIPT = 'test -s "$1" || { curl -fsSL --retry 5 --output "$1.part" "$2" && mv "$1.part" "$1"; } || { rm -f "$1.part"; exit 1; }';

/**
 * Renders the cloud-init user-data (`#cloud-config`) of a VM: a stock Ubuntu 24.04 image becomes a node kubeadm can
 * init or join, following kubeadm's "Installing kubeadm" and "Container Runtimes" pages, then node-agent starts. In
 * the order cloud-init runs its modules:
 * - `bootcmd` (init stage, every boot, before anything else): `swapoff -a`; `modprobe overlay` and `br_netfilter`;
 *   the apt keyrings folder (0755) and, while they are missing (FETCH_KEY_SCRIPT), the signing keys of pkgs.k8s.io
 *   (the minor's `Release.key`) and, from Kubernetes 1.36, Docker's apt repository, fetched with curl over HTTPS and
 *   stored ASCII-armoured (`.asc`, which apt's `signed-by` reads as is: no gpg needed on the image);
 * - `write_files`: node-agent's configuration at AGENT_CONFIG_PATH (0600, it holds the bootstrap token), the install
 *   script, the swap and containerd scripts (node-scripts.ts), the kernel modules (MODULES_LOAD_PATH) and settings
 *   (SYSCTL_PATH), /etc/crictl.yaml (containerd's socket), and the agent's systemd unit;
 * - `apt` (config stage): the sources pkgs.k8s.io `v<MAJOR.MINOR>` and, from Kubernetes 1.36, Docker's repository,
 *   each `signed-by` its key;
 * - `package_update` + `packages` (final stage): HOST_PACKAGES, containerd (versions.ts: Ubuntu's `containerd` up to
 *   1.35, Docker's `containerd.io=2.*` after) and `kubelet`, `kubeadm`, `kubectl` at `<version>-1.1`;
 * - `runcmd` (final stage, after packages), argv arrays (cloud-init single-quotes each argument, so the shell expands
 *   nothing): `apt-mark hold` the three; the swap script; `sysctl --system`; the containerd script (systemd cgroup
 *   driver, restart); `systemctl enable --now kubelet` (it restarts until kubeadm init/join configures it); then, as
 *   before, the agent's install script (with each architecture's package URL and SHA-256 in its environment when
 *   `agentPackages` are given), `systemctl daemon-reload` and `systemctl enable --now` the agent's unit.
 *
 * A real VM (cloud-init) does all of it as root. The sandbox's VM image (apps/cloud-emulator VmRuntime) only writes
 * `write_files` under the VM's folder and records `runcmd` in its cloud-init-output.log; of the commands it acts only
 * on `systemctl enable --now`, which starts a unit written by write_files whose ExecStart its image ships (the agent;
 * kubelet is logged as not found). It ignores `bootcmd`, `apt` and `packages`.
 *
 * cloud-init goes on with later runcmd entries when one fails, so if a step fails the agent's unit is still enabled
 * and the failure is in /var/log/cloud-init-output.log.
 * @throws Error when `kubernetesVersion` is not `MAJOR.MINOR.PATCH` or the agent package cannot be passed safely.
 */
export function renderUserData(input: UserDataInput): string {
  const { apiUrl, clusterId, nodeId, nodeName, role, bootstrapToken } = input;
  const agentConfig: AgentConfig = { apiUrl, clusterId, nodeId, nodeName, role, bootstrapToken };
  const software = nodeSoftware(input.kubernetesVersion);
  const containerd = containerdSourceFor(input.kubernetesVersion);
  const unit = [
    '[Unit]',
    'Description=Skyweave node agent',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    `ExecStart=${AGENT_BINARY} --config ${AGENT_CONFIG_PATH}`,
    'Restart=on-failure',
    // an agent that installed a new bundle of itself (upgrade-agent) exits 75 (EX_TEMPFAIL, AgentApi.AGENT_RESTART_EXIT_CODE)
    // to be started on it: restarted whatever Restart= says
    'RestartForceExitStatus=75',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
  const sysctl = [
    '# Skyweave: kubeadm\'s Container Runtimes prerequisites (forwarding; bridged traffic through iptables), also the mesh\'s.',
    'net.ipv4.ip_forward = 1',
    'net.bridge.bridge-nf-call-iptables = 1',
    'net.bridge.bridge-nf-call-ip6tables = 1',
    '',
  ].join('\n');
  const crictl = `runtime-endpoint: ${CRICTL.runtimeEndpoint}\nimage-endpoint: ${CRICTL.runtimeEndpoint}\ntimeout: 10\n`;
  const k8sKey = KUBERNETES_PACKAGES.keyPath;
  const fetchKey = (url: string, to: string) => ['sh', '-c', FETCH_KEY_SCRIPT, 'fetch-apt-key', to, url];
  const bootcmd: string[][] = [
    ['swapoff', '-a'],
    ...KERNEL_MODULES.map((m) => ['modprobe', m]),
    ['install', '-d', '-m', '0755', '/etc/apt/keyrings'],
    fetchKey(`${software.kubernetes.repository}Release.key`, k8sKey),
    ...(containerd.repository ? [fetchKey(containerd.repository.keyUrl, containerd.repository.keyPath)] : []),
  ];
  const sources: Record<string, { source: string }> = {
    kubernetes: { source: `deb [signed-by=${k8sKey}] ${software.kubernetes.repository} /` },
    ...(containerd.repository ? {
      docker: { source: `deb [signed-by=${containerd.repository.keyPath}] ${containerd.repository.url} ${containerd.repository.suite} ${containerd.repository.component}` },
    } : {}),
  };
  const containerdPackage: string | string[] = containerd.origin === 'docker' ? [containerd.package, '2.*'] : containerd.package;
  const doc = {
    bootcmd,
    write_files: [
      { path: AGENT_CONFIG_PATH, owner: 'root:root', permissions: '0600', content: `${JSON.stringify(agentConfig, null, 2)}\n` },
      {
        path: INSTALL_SCRIPT_PATH, owner: 'root:root', permissions: '0755',
        content: installNodeAgentScript({ agentBinary: AGENT_BINARY, installRoot: AGENT_INSTALL_ROOT }),
      },
      { path: DISABLE_SWAP_SCRIPT_PATH, owner: 'root:root', permissions: '0755', content: disableSwapScript() },
      { path: CONFIGURE_CONTAINERD_SCRIPT_PATH, owner: 'root:root', permissions: '0755', content: configureContainerdScript() },
      { path: MODULES_LOAD_PATH, owner: 'root:root', permissions: '0644', content: `${KERNEL_MODULES.join('\n')}\n` },
      { path: SYSCTL_PATH, owner: 'root:root', permissions: '0644', content: sysctl },
      { path: CRICTL.configPath, owner: 'root:root', permissions: '0644', content: crictl },
      { path: `/etc/systemd/system/${AGENT_UNIT}`, owner: 'root:root', permissions: '0644', content: unit },
    ],
    apt: { sources },
    package_update: true,
    packages: [
      ...HOST_PACKAGES,
      containerdPackage,
      ...KUBERNETES_PACKAGES.packages.map((p) => [p, software.kubernetes.packageVersion]),
    ],
    runcmd: [
      ['apt-mark', 'hold', ...KUBERNETES_PACKAGES.packages],
      [DISABLE_SWAP_SCRIPT_PATH],
      ['sysctl', '--system'],
      [CONFIGURE_CONTAINERD_SCRIPT_PATH],
      ['systemctl', 'enable', '--now', 'kubelet'],
      installCommand(input.agentPackages),
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', '--now', AGENT_UNIT],
    ],
  };
  // Literal blocks, never folded: the files read in the user-data exactly as they are written on the VM.
  return `#cloud-config\n${stringify(doc, { blockQuote: 'literal', lineWidth: 0 })}`;
}

/** The runcmd entry that runs the install script: via `env` with each architecture's package URL and SHA-256 when there are packages. */
function installCommand(packages: Partial<Record<AgentArchitecture, AgentPackage>> | undefined): string[] {
  const vars: string[] = [];
  for (const arch of AGENT_ARCHITECTURES) {
    const pkg = packages?.[arch];
    if (!pkg) continue;
    // RFC 3986 characters only, less ' and $ (percent-encode them): nothing a reader of the runcmd could take for shell.
    if (!/^https?:\/\/[A-Za-z0-9._~:/?#[\]@!&()*+,;=%-]+$/.test(pkg.url)) {
      throw new Error(`agentPackages.${arch}.url must be an http(s) URL of RFC 3986 characters except ' and $: ${pkg.url}`);
    }
    if (!/^[0-9a-fA-F]{64}$/.test(pkg.sha256)) throw new Error(`agentPackages.${arch}.sha256 must be 64 hex digits`);
    vars.push(`${packageEnv(arch).url}=${pkg.url}`, `${packageEnv(arch).sha256}=${pkg.sha256.toLowerCase()}`);
  }
  return vars.length > 0 ? ['env', ...vars, INSTALL_SCRIPT_PATH] : [INSTALL_SCRIPT_PATH];
}
