import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiServerSans, generateClusterPki, issueApiServerCertificate, renderKubeconfig } from '@skyweave/bootstrap';
import { ObjectApi } from '@skyweave/kube-sandbox/src/objects';
import { ResourceRegistry } from '@skyweave/kube-sandbox/src/resources';
import { KubeApiServer, startKubeApiServer } from '@skyweave/kube-sandbox/src/server';
import { ApiKubeObjects } from '@skyweave/kube-sandbox/src/sim-objects';
import { MemoryKubeStore } from '@skyweave/kube-sandbox/src/store';
import { KubeSim, KubeSimOptions, SystemClock } from '@skyweave/kube-sim';

/**
 * A sandbox API server started in-process with a throwaway cluster PKI made by the product's own code
 * (generateClusterPki, issueApiServerCertificate, renderKubeconfig), so the kubeconfig has the shape
 * `GET /v1/clusters/{id}/kubeconfig` hands out: CA, admin client certificate (CN kubernetes-admin, O system:masters).
 */
export interface KubeHarness {
  server: KubeApiServer;
  store: MemoryKubeStore;
  dir: string;
  kubeconfigPath: string;
  kubeconfig: string;
  /** kube-sim (scheduler, controllers, kubelets) on the server's store, when asked for with `sim`; no nodes joined yet. */
  sim?: KubeSim;
  /** Runs the real kubectl with this kubeconfig and its own discovery cache; never throws (exit code in `code`). */
  kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

export async function startHarness(o: { bookmarkIntervalSeconds?: number; historySize?: number; sim?: KubeSimOptions } = {}): Promise<KubeHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'skyweave-kube-'));
  const pki = await generateClusterPki();
  const cert = await issueApiServerCertificate({ certificate: pki.caCertificate, key: pki.caKey }, apiServerSans({ nodeName: 'localhost', masterAddresses: ['127.0.0.1'] }));
  const store = new MemoryKubeStore(o.historySize);
  const server = await startKubeApiServer({
    port: 0, host: '127.0.0.1', tlsCert: cert.certificate, tlsKey: cert.key, clientCa: pki.caCertificate, store, bookmarkIntervalSeconds: o.bookmarkIntervalSeconds,
  });
  // as the sandbox's control plane runs it: kube-sim through its own ObjectApi over the server's store
  const sim = o.sim ? new KubeSim(new ApiKubeObjects(new ObjectApi(store, new ResourceRegistry()), store), new SystemClock(), o.sim) : undefined;
  sim?.start();
  const kubeconfig = renderKubeconfig({ clusterName: 'sandbox', server: server.url, caCertificatePem: pki.caCertificate, adminCertificatePem: pki.adminCertificate, adminKeyPem: pki.adminKey });
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfig, { mode: 0o600 });
  const kubectl = (...args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile('kubectl', ['--kubeconfig', kubeconfigPath, '--cache-dir', join(dir, 'cache'), ...args], { env: { ...process.env, HOME: dir }, timeout: 120000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
  return {
    server, store, dir, kubeconfigPath, kubeconfig, kubectl, ...(sim ? { sim } : {}),
    close: async () => {
      sim?.stop();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Node as kubelet registers it (Ready, addresses, nodeInfo). */
export function nodeManifest(name: string, ip: string): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'node-role.kubernetes.io/worker': '' } },
    spec: {},
    status: {
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
      addresses: [{ type: 'InternalIP', address: ip }, { type: 'Hostname', address: name }],
      nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.1.0-sandbox', containerRuntimeVersion: 'containerd://1.7.24', architecture: 'amd64', operatingSystem: 'linux' },
      capacity: { cpu: '2', memory: '4Gi', pods: '110' }, allocatable: { cpu: '1900m', memory: '3584Mi', pods: '110' },
    },
  };
}

/** Polls `check` until it returns a value other than undefined (conditions, not sleeps). */
export async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 60000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
