import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** What a finished command gave back. */
export interface CommandResult {
  /** Exit code (0: success). */
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of one command. */
export interface RunOptions {
  /** Extra environment variables for the command. */
  env?: Record<string, string>;
  /** Seconds before the real executor kills the command (default: the executor's own, 300). */
  timeoutSeconds?: number;
}

/**
 * Runs the node's commands and writes its files. One plan, two executors: the real one (ShellExecutor) runs kubeadm,
 * wg and ip on the VM; the sandbox one (RecordingExecutor) renders the same files and records the same commands.
 */
export interface Executor {
  /** Where an absolute node path really is (differs from `file` when the node's root is a folder). */
  path(file: string): string;
  /** Writes a file (absolute path on the node), creating folders; `mode` e.g. 0o600. */
  writeFile(file: string, content: string, mode?: number): void;
  /** Runs a command (argv). Resolves when it has finished. @throws Error naming the command and its stderr when it exits non-zero. */
  run(argv: string[], opts?: RunOptions): Promise<void>;
  /**
   * Runs a command and returns what it gave, whatever its exit code, or `null` when the command was only recorded
   * (not run), so the caller knows it learnt nothing.
   */
  capture(argv: string[], opts?: RunOptions): Promise<CommandResult | null>;
}

/** Files under `root`, and each command appended as one JSON line to `<root>/var/lib/skyweave/commands.jsonl`. */
abstract class RootedExecutor implements Executor {
  constructor(protected readonly root: string) {}

  path(file: string): string {
    return path.join(this.root, file);
  }

  writeFile(file: string, content: string, mode = 0o644): void {
    const target = this.path(file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content, { mode });
  }

  protected record(argv: string[], ran: boolean): void {
    const log = this.path('/var/lib/skyweave/commands.jsonl');
    mkdirSync(path.dirname(log), { recursive: true });
    appendFileSync(log, `${JSON.stringify({ at: new Date().toISOString(), argv, ran })}\n`);
  }

  abstract run(argv: string[], opts?: RunOptions): Promise<void>;
  abstract capture(argv: string[], opts?: RunOptions): Promise<CommandResult | null>;
}

/**
 * The sandbox executor: renders every file under the VM's root folder and records every command, so tests can check
 * what a node would have run. Nothing is run; `capture` answers `null`.
 */
export class RecordingExecutor extends RootedExecutor {
  async run(argv: string[]): Promise<void> {
    this.record(argv, false);
  }

  async capture(argv: string[]): Promise<CommandResult | null> {
    this.record(argv, false);
    return null;
  }
}

/** Options of the real executor. */
export interface ShellExecutorOptions {
  /** The node's root folder: `/` on a VM. */
  root: string;
  /** Run every command inside this network namespace (`ip netns exec <netns> …`): the sandbox's namespace-VMs. */
  netns?: string;
  /** Commands (argv[0]) that are recorded, not run, e.g. `kubeadm` where there is no kubelet. */
  recordOnly?: readonly string[];
  /** When given, only these commands (argv[0]) run; every other one is recorded (a sandbox VM that has only these tools). */
  runOnly?: readonly string[];
  /** Seconds before a command is killed (default 300; a command's `RunOptions.timeoutSeconds` overrides it). */
  timeoutSeconds?: number;
}

/**
 * The real executor: runs each command with execFile (argv, no shell), inside `netns` when given, and records it too.
 * @throws Error from `run` naming the command, its exit code and stderr when it fails.
 */
export class ShellExecutor extends RootedExecutor {
  constructor(private readonly opts: ShellExecutorOptions) {
    super(opts.root);
  }

  async run(argv: string[], opts?: RunOptions): Promise<void> {
    const r = await this.capture(argv, opts);
    if (r && r.code !== 0) throw new Error(`${argv.join(' ')} exited with ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  }

  capture(argv: string[], opts?: RunOptions): Promise<CommandResult | null> {
    const recordOnly = (this.opts.recordOnly?.includes(argv[0]) ?? false) || (this.opts.runOnly !== undefined && !this.opts.runOnly.includes(argv[0]));
    this.record(argv, !recordOnly);
    if (recordOnly) return Promise.resolve(null);
    const full = this.opts.netns ? ['ip', 'netns', 'exec', this.opts.netns, ...argv] : argv;
    const timeoutSeconds = opts?.timeoutSeconds ?? this.opts.timeoutSeconds ?? 300;
    return new Promise((resolve) => {
      execFile(full[0], full.slice(1), { env: { ...process.env, ...opts?.env }, timeout: timeoutSeconds * 1000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
        // killed on timeout: 124, as timeout(1) reports it
        if (err?.killed && (err as NodeJS.ErrnoException).code !== 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return resolve({ code: 124, stdout: String(stdout), stderr: `${String(stderr)}killed after ${timeoutSeconds} s` });
        const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 127) : 0;
        resolve({ code, stdout: String(stdout), stderr: err && !stderr ? err.message : String(stderr) });
      });
    });
  }
}
