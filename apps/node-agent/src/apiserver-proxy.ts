import { existsSync, readFileSync } from 'node:fs';
import type { AgentApi } from '@skyweave/contracts';
import type { Executor } from './executor';

/*
 * The node's API server proxy (issue 11, item 5; docs/node-bootstrap.md, "A control-plane endpoint that survives a
 * master"): the cluster's control-plane endpoint is a name (`control-plane.skyweave.internal:6444`) that /etc/hosts
 * maps to 127.0.0.1 on every node, where HAProxy (Debian/Ubuntu `haproxy`, installed by the user-data) forwards TCP to
 * every master's API server over the WireGuard mesh, taking a master out when its health check fails. This is
 * kubespray's "localhost load balancing" (`loadbalancer_apiserver_localhost`, docs/operations/ha-mode.md) and k3s'
 * agent load balancer, on every node including masters, so kubelet, kube-proxy, kubeadm join and the agent's kubectl
 * never depend on one master. TLS passes through (mode tcp): clients verify the API server certificate, which names
 * the endpoint's host.
 */

/** HAProxy's configuration file (the Debian package's unit reads it). */
export const HAPROXY_CONFIG_PATH = '/etc/haproxy/haproxy.cfg';
/** The hosts file the endpoint's name is mapped in. */
export const HOSTS_PATH = '/etc/hosts';
/** Marks the hosts line the agent owns (it replaces exactly that line). */
const HOSTS_MARKER = '# skyweave control-plane endpoint';

/**
 * The HAProxy configuration: one TCP frontend on `127.0.0.1:<port>` and one backend with a server per API server
 * (`master-<i>` in the order given), health-checked every 2 s (a TCP connect; 2 failures take a server out, 2
 * successes bring it back), `leastconn` (long watches spread evenly), and on a failed connect the request is tried
 * again on another server (`retries 3`, `option redispatch`), so a master that died between two checks costs a retry,
 * not an error. Timeouts: 5 s to connect, 24 h of client/server inactivity (watches idle for long; kubelet's own
 * timeouts end dead ones). Source: HAProxy 2.8 configuration manual (Ubuntu 24.04's haproxy), sections 4.2 (`balance`,
 * `option redispatch`, `retries`) and 5.2 (`check`, `inter`, `fall`, `rise`).
 * @param access the mesh configuration's control-plane access (port, `ip:port` of each API server).
 * @throws Error when there is no API server or an address is not `IPv4:port`.
 */
export function renderHaproxyConfig(access: AgentApi.ControlPlaneAccess): string {
  if (!access.apiServers.length) throw new Error('apiserver proxy: no API server to forward to');
  if (!Number.isInteger(access.port) || access.port < 1 || access.port > 65535) throw new Error(`apiserver proxy: invalid port ${access.port}`);
  for (const a of access.apiServers) if (!/^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/.test(a)) throw new Error(`apiserver proxy: invalid API server address ${JSON.stringify(a)}`);
  return [
    '# Written by skyweave-node-agent: the Kubernetes API server proxy of this node (do not edit; rewritten when the masters change).',
    'global',
    '  maxconn 4000',
    '',
    'defaults',
    '  mode tcp',
    '  option redispatch',
    '  retries 3',
    '  timeout connect 5s',
    '  timeout client 24h',
    '  timeout server 24h',
    '  timeout check 5s',
    '',
    'frontend kube-apiserver',
    `  bind 127.0.0.1:${access.port}`,
    '  default_backend kube-apiserver',
    '',
    'backend kube-apiserver',
    '  balance leastconn',
    '  default-server check inter 2s fall 2 rise 2',
    ...access.apiServers.map((a, i) => `  server master-${i} ${a}`),
    '',
  ].join('\n');
}

/**
 * `hosts` with the endpoint's line (`127.0.0.1 <host>`, marked as the agent's) in place of any earlier one of the
 * agent's; every other line kept as it was.
 */
export function withEndpointHostsLine(hosts: string, host: string): string {
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(host)) throw new Error(`apiserver proxy: invalid host name ${JSON.stringify(host)}`);
  const kept = hosts.split('\n').filter((l) => !l.endsWith(HOSTS_MARKER));
  while (kept.length && kept[kept.length - 1] === '') kept.pop();
  return `${[...kept, `127.0.0.1 ${host} ${HOSTS_MARKER}`].join('\n')}\n`;
}

/**
 * Keeps the node's API server proxy in the platform's configuration. `apply` writes /etc/hosts and HAProxy's
 * configuration when they differ from what is on disk, checks the new configuration (`haproxy -c`) before it
 * replaces the old one, and reloads HAProxy (`systemctl reload-or-restart haproxy`: a reload keeps established
 * connections, a stopped HAProxy is started). Idempotent: the same configuration again changes nothing and runs
 * nothing.
 */
export class ApiServerProxy {
  constructor(private readonly ex: Executor) {}

  /**
   * @param access the mesh configuration's `controlPlane`; undefined (no master in the mesh yet) changes nothing.
   * @returns whether anything changed. @throws Error when the configuration is invalid or a command fails.
   */
  async apply(access: AgentApi.ControlPlaneAccess | undefined): Promise<boolean> {
    if (!access) return false;
    const read = (file: string) => (existsSync(this.ex.path(file)) ? readFileSync(this.ex.path(file), 'utf8') : '');
    const hosts = read(HOSTS_PATH);
    const wantedHosts = withEndpointHostsLine(hosts, access.host);
    const config = renderHaproxyConfig(access);
    let changed = false;
    if (hosts !== wantedHosts) {
      this.ex.writeFile(HOSTS_PATH, wantedHosts, 0o644);
      changed = true;
    }
    if (read(HAPROXY_CONFIG_PATH) !== config) {
      const candidate = `${HAPROXY_CONFIG_PATH}.new`;
      this.ex.writeFile(candidate, config, 0o644);
      const check = await this.ex.capture(['haproxy', '-c', '-q', '-f', this.ex.path(candidate)]);
      if (check && check.code !== 0) throw new Error(`apiserver proxy: haproxy -c refused the configuration: ${(check.stderr || check.stdout).trim()}`);
      this.ex.writeFile(HAPROXY_CONFIG_PATH, config, 0o644);
      await this.ex.run(['systemctl', 'reload-or-restart', 'haproxy']);
      changed = true;
    }
    return changed;
  }
}
