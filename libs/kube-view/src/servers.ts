import { isIPv6 } from 'node:net';
import type { WatchedNode } from '@skyweave/persistence';

/** The API server port kubeadm configures on every master (the seeds' firewall opens tcp 6443 on masters). */
export const API_SERVER_PORT = 6443;

/**
 * Where a cluster's API servers are dialled: `https://<address>:6443` of each master that has an address and is not
 * being or already terminated, master-0 first (then by ordinal); the address is the master's public IP when it has
 * one, else its private IP (IPv6 in brackets). Empty when no master has an address yet.
 * The watcher tries them in this order and moves to the next one on a failure.
 */
export function masterServers(nodes: readonly WatchedNode[]): string[] {
  return nodes
    .filter((n) => n.role === 'master' && n.phase !== 'Terminating' && n.phase !== 'Terminated' && (n.publicIp || n.privateIp))
    .sort((a, b) => a.ordinal - b.ordinal)
    .map((n) => {
      const ip = (n.publicIp || n.privateIp) as string;
      return `https://${isIPv6(ip) ? `[${ip}]` : ip}:${API_SERVER_PORT}`;
    });
}
