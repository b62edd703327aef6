import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** What a kubectl run gave: exit code (127 when kubectl is not installed), stdout, stderr. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Whether the real `kubectl` is on PATH. */
export function kubectlInstalled(): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && existsSync(path.join(d, 'kubectl')));
}

/**
 * Runs the real kubectl with `kubeconfig` (and a discovery cache beside it, so runs against different clusters never
 * share one). Never throws: the exit code is in the result (124 after `timeoutMs`, default 60 s). `env`: extra
 * environment (e.g. a sandbox VM's `HTTPS_PROXY`, to run kubectl as that VM would).
 */
export function kubectl(kubeconfig: string, args: readonly string[], timeoutMs = 60_000, env?: Record<string, string>): Promise<KubectlResult> {
  return new Promise((resolve) => {
    execFile('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', `${kubeconfig}.cache`, ...args], { timeout: timeoutMs, maxBuffer: 16 << 20, ...(env ? { env: { ...process.env, ...env } } : {}) }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean }) | null;
      const code = !e ? 0 : e.killed ? 124 : e.code === 'ENOENT' ? 127 : typeof e.code === 'number' ? e.code : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** A Node as `kubectl get nodes -o json` shows it (the fields tests and the demo read). */
export interface KubectlNode {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { unschedulable?: boolean; taints?: { key: string; value?: string; effect: string }[]; podCIDR?: string };
  status: { conditions?: { type: string; status: string }[]; allocatable?: Record<string, string>; nodeInfo?: { kubeletVersion?: string } };
}

/** Whether the Node's Ready condition is True. */
export const nodeReady = (n: KubectlNode): boolean => n.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/**
 * Polls `kubectl get nodes -o json` until `until(nodes)` holds (every 500 ms), up to `timeoutMs`.
 * @returns the nodes that satisfied it. @throws Error with kubectl's last error or the last node list on timeout.
 */
export async function waitForNodes(kubeconfig: string, until: (nodes: KubectlNode[]) => boolean, timeoutMs: number): Promise<KubectlNode[]> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const r = await kubectl(kubeconfig, ['get', 'nodes', '-o', 'json']);
    if (r.code === 0) {
      const nodes = (JSON.parse(r.stdout) as { items: KubectlNode[] }).items;
      if (until(nodes)) return nodes;
      last = nodes.map((n) => `${n.metadata.name}=${nodeReady(n) ? 'Ready' : 'NotReady'}`).join(' ');
    } else {
      last = r.stderr.trim();
    }
    if (Date.now() > deadline) throw new Error(`kubectl get nodes: not as expected after ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
