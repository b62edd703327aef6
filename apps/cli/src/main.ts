import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { CommanderError } from 'commander';
import { buildProgram, Io } from './program';
import { CliError, ExitCode } from './errors';
import { waitingOn } from './wait';

/**
 * `skyweave`: the command-line client of the Skyweave API (docs/cli.md). Output goes to stdout, progress and errors to
 * stderr; the exit code says how it ended (errors.ts ExitCode).
 */

/** Reads a line from the terminal without echoing it. */
function secret(question: string): Promise<string> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode?.(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let value = '';
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          stdin.setRawMode?.(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          return resolve(value);
        }
        if (ch === '\u0003') {
          stdin.setRawMode?.(false);
          process.stderr.write('\n');
          process.exit(130);
        }
        value = ch === '\u007f' ? value.slice(0, -1) : value + ch;
      }
    };
    stdin.on('data', onData);
  });
}

function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) => rl.question(question, (a) => {
    rl.close();
    resolve(/^y(es)?$/i.test(a.trim()));
  }));
}

const interactive = Boolean(process.stdin.isTTY);
const io: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  env: process.env,
  stdin: () => readFileSync(0, 'utf8'),
  ...(interactive ? { secret, confirm } : {}),
};

process.once('SIGINT', () => {
  const id = waitingOn.clusterId;
  process.stderr.write(id ? `\nstopped waiting; the operation goes on in the platform: skyweave cluster get ${id}\n` : '\n');
  process.exit(130);
});

const program = buildProgram(io);
program.exitOverride();
for (const c of allCommands(program)) c.exitOverride();

program.parseAsync(process.argv).then(
  () => undefined,
  (e: unknown) => {
    if (e instanceof CommanderError) {
      // --help and --version end with 0; `skyweave cluster` alone shows help and is a usage error
      process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? ExitCode.Ok : ExitCode.Usage;
      return;
    }
    if (e instanceof CliError) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = ExitCode.Failure;
  },
);

function allCommands(c: ReturnType<typeof buildProgram>): ReturnType<typeof buildProgram>[] {
  return [c, ...c.commands.flatMap((s) => allCommands(s))];
}
