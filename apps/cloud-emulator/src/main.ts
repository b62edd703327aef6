import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { startEmulator, VmNetworkMode } from './emulator';
import { REALISTIC_LATENCY, scaleProfile } from './core/latency';
import type { ImageBinary } from './core/vm-runtime';

/** Where the sandbox's VM image installs node-agent's bundle (a package's layout: /opt/skyweave/node-agent/lib). */
const AGENT_BUNDLE_PATH = '/opt/skyweave/node-agent/lib/node-agent.js';

/** The Azure SDK's default poll interval of long-running operations (`updateIntervalInMs`, @azure/core-lro), ms. */
const AZURE_SDK_POLL_MS = 2000;

/**
 * skyweave-cloud-emulator — the sandbox cloud.
 *   --endpoints-file F   write the CloudEndpoints JSON (plus adminUrl) there once listening
 *   --base-port N        aws N, gcp N+1, azure N+2 (https), digitalocean N+3, admin N+4, Kubernetes proxy N+5; 0 = free ports
 *   --boot-ms N          VM boot time (pending → running), milliseconds
 *   --realistic F        realistic latencies (VPC 2 s, VM boot 40 s …) divided by F
 *   --vm-root DIR        where VM file systems go
 *   --agent-command C    JSON argv that runs node-agent; the image installs it as /usr/local/bin/skyweave-node-agent
 *                        (default: node + dist/apps/node-agent/main.js when this runs built, else run-ts + its source)
 *   --agent-bundle F     the node-agent bundle the image installs: each VM gets its own copy at
 *                        /opt/skyweave/node-agent/lib/node-agent.js, run with --agent-command as interpreter (default
 *                        node), so an agent upgrade replaces what that VM runs (default when built and no
 *                        --agent-command: dist/apps/node-agent/main.js)
 *   --kubeadm-command C  JSON argv of the image's kubeadm (default: dist/apps/kube-sandbox/kubeadm.js built, else run-ts
 *                        + its source); the VMs' kubeadm makes each cluster's control plane (docs/kube-sandbox.md)
 *   --no-kubernetes      VMs get no kubeadm (their agents only record it), no proxy
 *   --kube-node-grace-seconds N, --kube-toleration-seconds N, --kube-pod-start-ms N
 *                        the sandbox clusters' node monitor grace period (40; the node lease's duration too, renewed
 *                        every quarter of it), not-ready/unreachable toleration (300) and pod start delay (2000),
 *                        Kubernetes' defaults unless given
 *   --host H             address to bind (default 127.0.0.1); --advertise-host N: the name clients use (containers)
 *   --vm-network M       process (default): VMs are processes on the host network; netns: each VM is a network
 *                        namespace on a shared bridge (needs root and iproute2; see src/core/netns.ts)
 *   --vm-hypervisor-command C, --vm-hypervisor-instance-types T1,T2
 *                        VMs of these instance types boot on that external hypervisor (JSON argv, called with the
 *                        instance id and its user-data file; tools/boot/nspawn-vm.sh for npm run test:boot)
 * SIGTERM / SIGINT close the emulator (in netns mode that removes every namespace it made) and exit.
 */
const program = new Command('skyweave-cloud-emulator')
  .option('--endpoints-file <file>')
  .option('--base-port <n>', 'first port', '4566')
  .option('--boot-ms <n>', 'VM boot time in ms')
  .option('--realistic <factor>', 'realistic latencies divided by factor')
  .option('--vm-root <dir>')
  .option('--agent-command <json>')
  .option('--agent-bundle <file>')
  .option('--kubeadm-command <json>')
  .option('--no-kubernetes', 'VMs get no kubeadm')
  .option('--kube-node-grace-seconds <n>')
  .option('--kube-toleration-seconds <n>')
  .option('--kube-pod-start-ms <n>')
  .option('--host <address>', 'address to bind', '127.0.0.1')
  .option('--advertise-host <name>', 'host name written in the endpoints')
  .option('--vm-hypervisor-command <json>')
  .option('--vm-hypervisor-instance-types <list>')
  .addOption(new Option('--vm-network <mode>', 'VM network: process or netns').choices(['process', 'netns']).default('process'))
  .parse();
const o = program.opts<{
  endpointsFile?: string; basePort: string; bootMs?: string; realistic?: string; vmRoot?: string; agentCommand?: string; agentBundle?: string; host: string; advertiseHost?: string; vmNetwork: VmNetworkMode;
  kubeadmCommand?: string; kubernetes: boolean; vmHypervisorCommand?: string; vmHypervisorInstanceTypes?: string; kubeNodeGraceSeconds?: string; kubeTolerationSeconds?: string; kubePodStartMs?: string;
}>();

void (async () => {
  const base = Number(o.basePort);
  const port = (i: number) => (base === 0 ? 0 : base + i);
  const latency = { ...(o.realistic ? scaleProfile(REALISTIC_LATENCY, Number(o.realistic)) : {}), ...(o.bootMs ? { 'instance.boot': Number(o.bootMs) } : {}) };
  // default: built, the node-agent bundle next to this one (dist/apps/node-agent/main.js); from source, run-ts
  // the VM's own copy of the bundle (agent upgrades replace it), or a command run as is (from source)
  const bundle = o.agentBundle ?? (!o.agentCommand && __filename.endsWith('.js') ? path.join(__dirname, '../node-agent/main.js') : undefined);
  const agent: ImageBinary = bundle
    ? { interpreter: o.agentCommand ? (JSON.parse(o.agentCommand) as string[]) : [process.execPath], bundle: path.resolve(bundle), installAt: AGENT_BUNDLE_PATH }
    : o.agentCommand
      ? (JSON.parse(o.agentCommand) as string[])
      : [process.execPath, path.join(__dirname, '../../../tools/run-ts.js'), path.join(__dirname, '../../node-agent/src/main.ts')];
  const kubeadm = o.kubeadmCommand
    ? (JSON.parse(o.kubeadmCommand) as string[])
    : __filename.endsWith('.js')
      ? [process.execPath, path.join(__dirname, '../kube-sandbox/kubeadm.js')]
      : [process.execPath, path.join(__dirname, '../../../tools/run-ts.js'), path.join(__dirname, '../../kube-sandbox/src/kubeadm-main.ts')];
  const num = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number ≥ 0 (got ${JSON.stringify(v)})`);
    return n;
  };
  const grace = num(o.kubeNodeGraceSeconds, 'kube-node-grace-seconds');
  const toleration = num(o.kubeTolerationSeconds, 'kube-toleration-seconds');
  const podStart = num(o.kubePodStartMs, 'kube-pod-start-ms');
  const emu = await startEmulator({
    host: o.host,
    advertiseHost: o.advertiseHost,
    ports: { aws: port(0), gcp: port(1), azure: port(2), digitalocean: port(3), admin: port(4), kube: port(5) },
    latency,
    // the Azure SDK's default LRO poll interval (2 s), on the sandbox's clock when latencies are realistic / F
    ...(o.realistic ? { azurePollIntervalMs: Math.round(AZURE_SDK_POLL_MS / Number(o.realistic)) } : {}),
    vmRoot: o.vmRoot,
    binaries: { '/usr/local/bin/skyweave-node-agent': agent },
    vmNetwork: o.vmNetwork,
    ...(o.vmHypervisorCommand
      ? { hypervisor: { command: JSON.parse(o.vmHypervisorCommand) as string[], instanceTypes: (o.vmHypervisorInstanceTypes ?? '').split(',').filter(Boolean) } }
      : {}),
    ...(o.kubernetes ? {
      kubernetes: {
        kubeadmCommand: kubeadm,
        // a shorter grace period shortens what it is made of, in Kubernetes' proportions: the node lease lasts the grace
        // period (40 s), kubelet renews it every quarter of that (10 s), the node monitor looks every eighth (5 s)
        sim: {
          nodeLifecycle: {
            ...(grace !== undefined ? { gracePeriodMs: grace * 1000, monitorPeriodMs: Math.min(5000, grace * 125) } : {}),
            ...(toleration !== undefined ? { defaultTolerationSeconds: toleration } : {}),
          },
          kubelet: {
            ...(grace !== undefined ? { leaseDurationSeconds: grace, leaseRenewMs: grace * 250 } : {}),
            ...(podStart !== undefined ? { podStartDelayMs: podStart } : {}),
          },
        },
      },
    } : {}),
  });
  const info = { ...emu.endpoints, adminUrl: emu.adminUrl };
  if (o.endpointsFile) writeFileSync(o.endpointsFile, JSON.stringify(info, null, 2));
  process.stdout.write(`${JSON.stringify({ msg: 'sandbox cloud listening', ...info, azure: { ...info.azure, caPem: '(written to endpoints file)' } })}\n`);
  // One graceful close per signal kind; a second signal kills at once (leftover namespaces are swept by the next start).
  const stop = () => {
    emu.close().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`sandbox cloud: closing failed: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
})().catch((e: unknown) => {
  process.stderr.write(`sandbox cloud failed to start: ${(e as Error).stack}\n`);
  process.exit(1);
});
