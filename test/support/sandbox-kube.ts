import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SandboxKubernetes } from '@skyweave/cloud-emulator/src/core/kube';
import { CONTROL_PLANE_HOST, LOCAL_API_PROXY_PORT } from '@skyweave/bootstrap/src/kubeadm';
import { ApiServerProxy } from '@skyweave/node-agent/src/apiserver-proxy';
import { RecordingExecutor } from '@skyweave/node-agent/src/executor';

/** What an `initialise` answer of `/agent/v1/nodes/{id}/join` carries. */
export interface InitialiseAnswer {
  kubeadmConfig?: string;
  files?: { path: string; content: string; mode?: number }[];
}

/**
 * The sandbox's Kubernetes for tests that play node-agents against an in-process gateway: the control planes and the
 * CONNECT proxy the sandbox cloud runs (apps/cloud-emulator/src/core/kube.ts), without VMs. `init` does what master-0's
 * agent does with an `initialise` answer: writes the files, the node's API server proxy configuration (as the agent
 * does from its mesh configuration) and the kubeadm configuration, runs `kubeadm init`. Give
 * the gateway `endpoints` so that it reaches the API servers as it would in the sandbox.
 */
export interface SandboxKube {
  endpoints: { kubernetes: { proxyUrl: string } };
  /** `vm`: the master's instance id and addresses (the API server is routed by its public IP, else its private IP). @throws when kubeadm init fails. */
  init(answer: InitialiseAnswer, vm: { instanceId: string; privateIp: string; publicIp?: string }): Promise<void>;
  /** What a joining node's agent does with a `join` answer: `kubeadm join --config` with its kubeadm configuration. @throws when it fails. */
  join(kubeadmConfig: string, vm: { instanceId: string; privateIp: string; publicIp?: string }): Promise<void>;
  close(): Promise<void>;
}

export async function startSandboxKube(): Promise<SandboxKube> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sw-kube-'));
  const kube = new SandboxKubernetes({ kubeadmCommand: ['false'], imageBin: path.join(dir, '.image', 'bin'), kubectl: null });
  await kube.listen('127.0.0.1', 0, '127.0.0.1', 'http://127.0.0.1:1');
  /** Writes the files and the kubeadm configuration on the VM and runs `kubeadm <command> --config <it>`. */
  const run = async (command: string[], kubeadmConfig: string, vm: { instanceId: string; privateIp: string; publicIp?: string }, files: { path: string; content: string; mode?: number }[]) => {
    const fsRoot = path.join(dir, vm.instanceId, 'fs');
    const write = (file: string, content: string, mode = 0o600) => {
      const p = path.join(fsRoot, file);
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, content, { mode });
      return p;
    };
    for (const f of files) write(f.path, f.content, f.mode);
    // what the agent does from its mesh configuration before kubeadm: the node's API server proxy to every master
    // (the control planes' live masters, and a master-0 that initialises: its own advertise address)
    const own = command[0] === 'init' ? /advertiseAddress: (\S+)/.exec(kubeadmConfig)?.[1] : undefined;
    const masters = [...new Set([...(own ? [own] : []), ...kube.controlPlanes.list().flatMap((c) => c.masters.map((m) => m.advertiseAddress))])];
    await new ApiServerProxy(new RecordingExecutor(fsRoot)).apply({ host: CONTROL_PLANE_HOST, port: LOCAL_API_PROXY_PORT, apiServers: masters.map((a) => `${a}:6443`) });
    const config = write('/etc/kubernetes/kubeadm.yaml', kubeadmConfig);
    const r = await kube.controlPlanes.kubeadm(
      { cloud: 'aws', instanceId: vm.instanceId, privateIp: vm.privateIp, ...(vm.publicIp ? { publicIp: vm.publicIp } : {}), fsRoot, vcpu: 2, memoryMiB: 4096, instanceType: 't3.medium', arch: 'amd64' },
      [command[0], '--config', config, ...command.slice(1)],
    );
    if (r.code !== 0) throw new Error(`kubeadm ${command[0]}: ${r.stderr}`);
  };
  return {
    endpoints: { kubernetes: { proxyUrl: kube.proxyUrl ?? '' } },
    init: (answer, vm) => run(['init', '--upload-certs'], answer.kubeadmConfig ?? '', vm, answer.files ?? []),
    join: (kubeadmConfig, vm) => run(['join'], kubeadmConfig, vm, []),
    async close() {
      await kube.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
