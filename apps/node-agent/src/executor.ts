import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** Runs the node's commands and writes its files. The real one runs kubeadm and wg; the sandbox one records. */
export interface Executor {
  /** Writes a file (absolute path on the node), creating folders; `mode` e.g. 0o600. */
  writeFile(file: string, content: string, mode?: number): void;
  /** Runs a command (argv). Resolves when it has finished. @throws Error when it exits non-zero. */
  run(argv: string[]): Promise<void>;
}

/**
 * The sandbox executor: renders every file under the VM's root folder and records every command, one JSON line
 * each, in `<root>/var/lib/skyweave/commands.jsonl`, so tests can check what a node would have run.
 */
export class RecordingExecutor implements Executor {
  constructor(private readonly root: string) {}

  resolve(file: string): string {
    return path.join(this.root, file);
  }

  writeFile(file: string, content: string, mode = 0o644): void {
    const target = this.resolve(file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content, { mode });
  }

  async run(argv: string[]): Promise<void> {
    const log = this.resolve('/var/lib/skyweave/commands.jsonl');
    mkdirSync(path.dirname(log), { recursive: true });
    appendFileSync(log, `${JSON.stringify({ at: new Date().toISOString(), argv })}\n`);
  }
}
