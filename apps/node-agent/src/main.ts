import { readFileSync, realpathSync } from 'node:fs';
import { AgentApi } from '@skyweave/contracts';
import * as path from 'node:path';
import { Command } from 'commander';
import { Executor, RecordingExecutor, ShellExecutor } from './executor';
import { runAgent } from './agent';
import { AgentSelf, agentVersionOf } from './self-upgrade';

/**
 * skyweave-node-agent --config /etc/skyweave/node-agent.json
 *
 * Environment (set by the VM image; a real VM needs none of it):
 * - `SKYWEAVE_ROOT`: the node's root folder (default `/`); absolute paths resolve under it.
 * - `SKYWEAVE_EXECUTOR`: `real` runs commands; `recording` (default when SKYWEAVE_ROOT is set) only records them.
 * - `SKYWEAVE_NETNS`: run every command inside this network namespace (the sandbox's namespace-VMs).
 * - `SKYWEAVE_RECORD_ONLY`: comma-separated commands the real executor records instead of running (e.g. `kubeadm`).
 *   Node operations (drain, uncordon, upgrade; see operations.ts) run `kubectl`, `apt-mark`, `apt-get`, `kubeadm` and
 *   `systemctl`: where the node is not a real VM, list every one of them.
 * - `SKYWEAVE_RUN_ONLY`: comma-separated commands the real executor runs; every other one is recorded (the sandbox's
 *   process VMs run only their image's `kubeadm` and `kubectl`).
 * - `SKYWEAVE_WG_INTERFACE` (default `wg0`), `SKYWEAVE_WG_USERSPACE=1` for wireguard-go instead of the kernel module.
 * - `SKYWEAVE_PRIVATE_IP`, `SKYWEAVE_PUBLIC_IP`: the VM's addresses, when the image knows them.
 * - `SKYWEAVE_PROBE_INTERVAL_SECONDS`: seconds between round-trip measurements (default 30).
 *
 * Its version: run from its single-file bundle (dist/apps/node-agent/main.js, a package's lib/node-agent.js), the
 * agent is `<release>-<12 hex of that file's SHA-256>`, the release being the repository's package.json version that
 * tools/build.js writes into the bundle (`process.env.SKYWEAVE_AGENT_RELEASE` is replaced at build time, never read
 * from the environment); run from source it has no version and sends none. After an `upgrade-agent` operation has
 * installed another bundle over its own and reported it, it exits with AgentApi.AGENT_RESTART_EXIT_CODE (75), which
 * its systemd unit restarts (`RestartForceExitStatus=75`), as does the sandbox's VM image.
 */
const program = new Command('skyweave-node-agent').requiredOption('--config <file>', 'agent configuration written by cloud-init').parse();
const env = process.env;
const root = env.SKYWEAVE_ROOT ?? '/';
const cfg = JSON.parse(readFileSync(path.join(root, program.opts<{ config: string }>().config), 'utf8')) as {
  apiUrl: string; nodeId: string; nodeName: string; bootstrapToken: string;
};
const log = (msg: string) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), node: cfg.nodeName, msg })}\n`);
/** This process's bundle and version (none from source: `__filename` is then main.ts). */
const release = process.env.SKYWEAVE_AGENT_RELEASE;
const self: AgentSelf = (() => {
  if (!release || !__filename.endsWith('.js')) return {};
  const file = realpathSync(__filename);
  return { path: file, version: agentVersionOf(file, release) };
})();
const mode = env.SKYWEAVE_EXECUTOR ?? (env.SKYWEAVE_ROOT ? 'recording' : 'real');
const executor: Executor = mode === 'real'
  ? new ShellExecutor({
    root, netns: env.SKYWEAVE_NETNS || undefined, recordOnly: (env.SKYWEAVE_RECORD_ONLY ?? '').split(',').filter(Boolean),
    ...(env.SKYWEAVE_RUN_ONLY !== undefined ? { runOnly: env.SKYWEAVE_RUN_ONLY.split(',').filter(Boolean) } : {}),
  })
  : new RecordingExecutor(root);
log(self.version ? `node-agent ${self.version} (${self.path})` : 'node-agent from source: no version, agent upgrades not possible');
runAgent({
  ...cfg,
  executor,
  wireguard: { interface: env.SKYWEAVE_WG_INTERFACE || 'wg0', userspace: env.SKYWEAVE_WG_USERSPACE === '1' },
  privateIp: env.SKYWEAVE_PRIVATE_IP,
  publicIp: env.SKYWEAVE_PUBLIC_IP,
  probeIntervalSeconds: env.SKYWEAVE_PROBE_INTERVAL_SECONDS ? Number(env.SKYWEAVE_PROBE_INTERVAL_SECONDS) : undefined,
  // the cluster's API is read in-process where this process shares the node's network (not in a sandbox netns VM,
  // whose commands run in its namespace), and only by an executor that really runs the node's commands
  kubeApiInProcess: mode === 'real' && !env.SKYWEAVE_NETNS,
  log,
  agent: self,
  onRestart: (version) => {
    log(`agent ${version} installed over ${self.path} (was ${self.version}): exiting with ${AgentApi.AGENT_RESTART_EXIT_CODE} to be restarted on it`);
    process.exit(AgentApi.AGENT_RESTART_EXIT_CODE);
  },
}).then(
  (agent) => {
    // Stay up like a systemd service: the mesh, probe and operations loops keep running until systemd stops the unit
    // (SIGTERM, then SIGKILL after TimeoutStopSec): the loops end and the process exits 0, as a clean stop should.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    process.once('SIGTERM', () => {
      log('stopping (SIGTERM)');
      clearInterval(keepAlive);
      agent.stop();
      // the loops settle promptly once aborted; a request that does not is cut off after 2 s
      setTimeout(() => process.exit(0), 2000).unref();
      void agent.done.finally(() => process.exit(0));
    });
  },
  (e: unknown) => {
    log(`bootstrap failed: ${(e as Error).message}`);
    process.exit(1);
  },
);
