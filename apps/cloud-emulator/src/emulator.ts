import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { generate } from 'selfsigned';
import type { CloudId } from '@skyweave/domain';
import type { CloudEndpoints } from '@skyweave/cloud-adapters';
import { FaultBook } from './core/faults';
import { VmRuntime, type ImageBinary, type VmHypervisor } from './core/vm-runtime';
import { NetnsFabric } from './core/netns';
import { PublicIpAllocator } from './core/public-ips';
import { CloudLatency, DEFAULT_LATENCY, LatencyProfile, latencyOf } from './core/latency';
import { ConsistencyBook } from './core/consistency';
import { CallCounter } from './core/calls';
import { sendUnimplemented } from './core/unimplemented';
import type { CloudContext, CloudModule, Operation } from './core/types';
import { createAdminHandler } from './core/admin';
import { SandboxKubernetes } from './core/kube';
import type { KubeSimOptions } from '@skyweave/kube-sim';
import { createAwsCloud } from './aws';
import { createGcpCloud } from './gcp';
import { createAzureCloud } from './azure';
import { createDigitalOceanCloud } from './digitalocean';

export interface EmulatorOptions {
  /** Address to bind; default loopback. */
  host?: string;
  /** Host name clients use in the endpoints (and in the Azure certificate); default the bound host. */
  advertiseHost?: string;
  /** Ports; 0 = any free port. */
  ports?: Partial<Record<CloudId | 'admin' | 'kube', number>>;
  /** The latency profile shared by all clouds (DEFAULT_LATENCY filled in). */
  latency?: LatencyProfile;
  /**
   * How often clients should poll Azure long-running operations, in ms, written to the endpoints file
   * (`azure.pollIntervalMs`): the Azure SDK's own default (2000 ms) on the sandbox's clock, i.e. divided by the factor
   * realistic latencies are divided by, so that polling costs the same share of an operation as on Azure. Default 250.
   */
  azurePollIntervalMs?: number;
  /** Per-cloud latency overrides: a cloud's value wins over the shared one (also `PUT /admin/latency?cloud=`). */
  cloudLatency?: CloudLatency;
  /** Eventual-consistency windows in ms per cloud (also `PUT /admin/consistency`); default 0 (off) everywhere. */
  consistency?: Partial<Record<CloudId, number>>;
  /** Random source of probabilistic faults, in [0, 1); default Math.random. */
  random?: () => number;
  /**
   * The sandbox clock (ms) of eventual consistency: resources are stamped with it when made, and it decides when they
   * become visible. Default Date.now. Latencies, long-running operations and boots keep running on real time.
   */
  now?: () => number;
  /** Where VM file systems go; default a fresh temp folder. */
  vmRoot?: string;
  /** Image binaries (see VmRuntime); empty ⇒ VMs run no process (adapter contract tests). */
  binaries?: Record<string, ImageBinary>;
  vmEnv?: Record<string, string>;
  /**
   * How VMs are networked. `process` (default): a VM is its unit's process on the host's network. `netns`: each VM
   * is also a Linux network namespace on a bridge shared by all clouds, with its private and public address (see
   * core/netns.ts), so node-agents can run real WireGuard between VMs. `netns` needs root and iproute2; startEmulator
   * rejects at once without them.
   */
  vmNetwork?: VmNetworkMode;
  /**
   * The sandbox's Kubernetes (core/kube.ts, docs/kube-sandbox.md): the VM image gets a `kubeadm` (run by
   * `kubeadmCommand`) that makes each cluster's control plane, and an HTTP CONNECT proxy (port `ports.kube`) reaches
   * the API servers; the endpoints get `kubernetes.proxyUrl`. Absent: VMs have no kubeadm (their agents record it).
   */
  kubernetes?: { kubeadmCommand: string[]; sim?: KubeSimOptions; kubectl?: string | null };
  /**
   * Calls the sandbox does not implement (answered 501, core/unimplemented.ts) that `close()` accepts, as
   * `<cloud> <operation>`, or `true` for any. Default none: `close()` rejects after closing everything when a call it
   * does not serve was made, so a test that caused one fails (issue 15) unless it says it expects it.
   */
  allowUnimplemented?: boolean | string[];
  /**
   * VMs of these instance types boot on an external hypervisor instead of the sandbox's image (core/vm-runtime.ts
   * VmHypervisor; `npm run test:boot` boots them as Debian systems under systemd-nspawn).
   */
  hypervisor?: VmHypervisor;
}

export type VmNetworkMode = 'process' | 'netns';

export interface RunningEmulator {
  endpoints: CloudEndpoints;
  adminUrl: string;
  modules: Record<CloudId, CloudModule>;
  faults: FaultBook;
  vms: VmRuntime;
  /** The sandbox-wide public IPv4 pool all clouds allocate from. */
  publicIps: PublicIpAllocator;
  /** The `netns` VM network, when `vmNetwork: 'netns'`. */
  fabric?: NetnsFabric;
  /** The shared latency profile (mutable: changes apply to the next calls). */
  latency: LatencyProfile;
  /** Per-cloud latency overrides (mutable). */
  cloudLatency: CloudLatency;
  /** Eventual consistency windows per cloud. */
  consistency: ConsistencyBook;
  /** Requests per (cloud, call name) since the last reset, for benchmarks (`snapshot()`, `reset()`). */
  calls: CallCounter;
  /** The sandbox's Kubernetes, when `kubernetes` was given. */
  kubernetes?: SandboxKubernetes;
  /**
   * Stops VMs, closes the listeners and (netns) removes every namespace the emulator made.
   * @throws Error after closing, naming them, when calls the sandbox does not implement were made and
   *   `allowUnimplemented` does not cover them.
   */
  close(): Promise<void>;
}

/** Azure long-running operations' poll interval in a sandbox with the default (small) latencies, ms. */
const AZURE_SANDBOX_POLL_MS = 250;

const DEFAULT_PORTS: Record<CloudId | 'admin' | 'kube', number> = { aws: 4566, gcp: 4567, azure: 4568, digitalocean: 4569, admin: 4570, kube: 4571 };

/**
 * Starts the sandbox cloud: one listener per cloud (Azure over HTTPS with a fresh self-signed certificate) and an admin API.
 * @throws Error on an unknown `vmNetwork`, when `netns` cannot run here (not root, no `ip`), or when a port is taken;
 *   whatever was already made (listeners, hub namespace) is closed first.
 */
export async function startEmulator(opts: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const advertised = opts.advertiseHost ?? host;
  const ports = { ...DEFAULT_PORTS, ...opts.ports };
  const latency: LatencyProfile = { ...DEFAULT_LATENCY, ...opts.latency };
  const vmNetwork = opts.vmNetwork ?? 'process';
  if (vmNetwork !== 'process' && vmNetwork !== 'netns') throw new Error(`vmNetwork must be 'process' or 'netns', got ${JSON.stringify(vmNetwork)}`);
  const fabric = vmNetwork === 'netns' ? await NetnsFabric.create() : undefined;
  const cloudLatency: CloudLatency = Object.fromEntries(Object.entries(opts.cloudLatency ?? {}).map(([c, p]) => [c, { ...p }]));
  const faults = new FaultBook(opts.random);
  const consistency = new ConsistencyBook(opts.now);
  for (const [c, ms] of Object.entries(opts.consistency ?? {})) consistency.setDelay(c as CloudId, ms);
  const calls = new CallCounter();
  const publicIps = new PublicIpAllocator();
  const vmRoot = opts.vmRoot ?? mkdtempSync(path.join(os.tmpdir(), 'skyweave-vms-'));
  const kubernetes = opts.kubernetes
    ? new SandboxKubernetes({ ...opts.kubernetes, imageBin: path.join(vmRoot, '.image', 'bin'), log: (line) => process.stdout.write(`${JSON.stringify({ msg: `kubernetes: ${line}` })}\n`) })
    : undefined;
  const vms = new VmRuntime({
    vmRoot,
    binaries: opts.binaries ?? {},
    env: opts.vmEnv,
    fabric,
    ...(kubernetes ? { guest: kubernetes } : {}),
    ...(opts.hypervisor ? { hypervisor: opts.hypervisor } : {}),
  });
  // One context per cloud: its latencies are the cloud's overrides over the shared profile, read at each call.
  const contextOf = (cloud: CloudId): CloudContext => ({
    latencyMs: (op: Operation) => latencyOf(latency, cloudLatency, cloud, op),
    delay: (op: Operation) => new Promise((r) => setTimeout(r, latencyOf(latency, cloudLatency, cloud, op))),
    takeFault: (c, op) => faults.take(c, op),
    vms,
    publicIps,
    consistency,
    countCall: (c, call) => calls.count(c, call),
    unimplemented: (res, c, operation) => sendUnimplemented(res, c, operation, (cl, op) => calls.unimplemented(cl, op)),
  });
  const modules: Record<CloudId, CloudModule> = {
    aws: createAwsCloud(contextOf('aws')),
    gcp: createGcpCloud(contextOf('gcp')),
    azure: createAzureCloud(contextOf('azure')),
    digitalocean: createDigitalOceanCloud(contextOf('digitalocean')),
  };

  const servers: http.Server[] = [];
  const closeServers = () => Promise.all(servers.map((s) => new Promise<void>((r) => { s.closeAllConnections?.(); s.close(() => r()); })));
  let ready = false;
  try {
    const altNames: { type: number; ip?: string; value?: string }[] = [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }];
    if (!['127.0.0.1', 'localhost'].includes(advertised)) altNames.push(/^[\d.]+$/.test(advertised) ? { type: 7, ip: advertised } : { type: 2, value: advertised });
    const pems = await generate([{ name: 'commonName', value: advertised }], {
      keySize: 2048,
      extensions: [{ name: 'subjectAltName', altNames }],
    } as Parameters<typeof generate>[1]);

    const listen = async (server: http.Server, port: number): Promise<number> => {
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      return (server.address() as AddressInfo).port;
    };

    const awsPort = await listen(http.createServer(modules.aws.handler), ports.aws);
    const gcpPort = await listen(http.createServer(modules.gcp.handler), ports.gcp);
    const azurePort = await listen(https.createServer({ key: pems.private, cert: pems.cert }, modules.azure.handler), ports.azure);
    const doPort = await listen(http.createServer(modules.digitalocean.handler), ports.digitalocean);
    const adminHandler = createAdminHandler({ modules, faults, latency, cloudLatency, consistency, calls, vms, wan: fabric, ...(kubernetes ? { kubernetes } : {}) });
    const adminPort = await listen(http.createServer(adminHandler), ports.admin);
    if (kubernetes) servers.push(await kubernetes.listen(host, ports.kube, advertised, `http://${advertised}:${adminPort}`));
    ready = true;

    const azureBase = `https://${advertised}:${azurePort}`;
    return {
      endpoints: {
        aws: `http://${advertised}:${awsPort}`,
        // the price APIs share their cloud's listener (Price List, Billing Catalog, Retail Prices: docs/pricing.md)
        awsPricing: `http://${advertised}:${awsPort}`,
        gcp: `http://${advertised}:${gcpPort}`,
        gcpBilling: `http://${advertised}:${gcpPort}`,
        azure: { arm: azureBase, authorityHost: azureBase, caPem: pems.cert, pollIntervalMs: opts.azurePollIntervalMs ?? AZURE_SANDBOX_POLL_MS, retailPrices: azureBase },
        digitalocean: `http://${advertised}:${doPort}/v2`,
        ...(kubernetes?.proxyUrl ? { kubernetes: { proxyUrl: kubernetes.proxyUrl } } : {}),
      },
      adminUrl: `http://${advertised}:${adminPort}`,
      modules,
      faults,
      vms,
      publicIps,
      fabric,
      latency,
      cloudLatency,
      consistency,
      calls,
      ...(kubernetes ? { kubernetes } : {}),
      async close() {
        vms.stopAll();
        await kubernetes?.close();
        await closeServers();
        if (fabric) {
          await vms.settle();
          await fabric.close();
        }
        const unexpected = unexpectedUnimplemented(calls, opts.allowUnimplemented);
        if (unexpected.length > 0) throw new Error(`the sandbox was asked for calls it does not implement (answered 501): ${unexpected.join(', ')}`);
      },
    };
  } finally {
    // A start that failed half-way (port taken …) must not leave the hub namespace behind.
    if (!ready && fabric) {
      await closeServers();
      await fabric.close().catch(() => undefined);
    }
  }
}

/** `<cloud> <operation> ×n` for each unimplemented call `allow` does not cover (see EmulatorOptions.allowUnimplemented). */
export function unexpectedUnimplemented(calls: CallCounter, allow: boolean | string[] | undefined): string[] {
  if (allow === true) return [];
  const allowed = new Set(allow === false || allow === undefined ? [] : allow);
  return calls
    .snapshot()
    .unimplemented.filter((u) => !allowed.has(`${u.cloud} ${u.call}`))
    .map((u) => `${u.cloud} ${u.call} ×${u.count}`);
}
