/** The CLI's exit codes (docs/cli.md). */
export const ExitCode = {
  Ok: 0,
  /** The API refused the request, or the operation failed (e.g. a cloud refuses the credentials while waiting). */
  Failure: 1,
  /** Wrong command line (commander's usage errors). */
  Usage: 2,
  /** Not logged in, or the API refused the key (401/403). */
  Auth: 3,
  /** The cluster, node or credentials do not exist (404). */
  NotFound: 4,
  /** `--wait` gave up after `--timeout`. */
  Timeout: 5,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one readable message on stderr, ending the process with `exitCode`. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: ExitCodeValue = ExitCode.Failure) {
    super(message);
  }
}
