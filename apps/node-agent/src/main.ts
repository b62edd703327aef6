import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { RecordingExecutor } from './executor';
import { bootstrapNode } from './agent';

/**
 * skyweave-node-agent --config /etc/skyweave/node-agent.json
 * Absolute paths resolve under `SKYWEAVE_ROOT` when set (the sandbox image sets it to the VM's root folder).
 */
const program = new Command('skyweave-node-agent').requiredOption('--config <file>', 'agent configuration written by cloud-init').parse();
const root = process.env.SKYWEAVE_ROOT ?? '/';
const cfg = JSON.parse(readFileSync(path.join(root, program.opts<{ config: string }>().config), 'utf8')) as {
  apiUrl: string; nodeId: string; nodeName: string; bootstrapToken: string;
};
const log = (msg: string) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), node: cfg.nodeName, msg })}\n`);
const executor = new RecordingExecutor(root);
bootstrapNode({ ...cfg, executor, privateIp: process.env.SKYWEAVE_PRIVATE_IP, log }).then(
  () => {
    // Stay up like a systemd service: later issues add heartbeats, WireGuard peers and spot notices here.
    setInterval(() => undefined, 1 << 30);
  },
  (e: unknown) => {
    log(`bootstrap failed: ${(e as Error).message}`);
    process.exit(1);
  },
);
