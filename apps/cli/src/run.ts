import { isRarefyError } from '@rarefy/sampling-core';
import { CommanderError } from 'commander';
import { type Io, printJson, processIo } from './io.js';
import { createProgram } from './program.js';

/** Exit statuses of `rarefy`. */
export const ExitCode = {
  /** Success. */
  ok: 0,
  /** Bad input or a failed job (a RarefyError, a file that cannot be read). */
  failure: 1,
  /** A usage error: unknown command or option, a missing or malformed argument. */
  usage: 2,
} as const;

/** The JSON printed on stdout for an error under `--json`. */
export interface JsonError {
  error: {
    /** A RarefyError code, `RAREFY_USAGE` for usage errors, `RAREFY_INTERNAL` for bugs. */
    code: string;
    message: string;
    /** The input at fault (a file, an option), or null. */
    input: string | null;
  };
}

/** Whether `--json` was asked for (anywhere before a `--`). */
function wantsJson(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (arg === '--json') return true;
  }
  return false;
}

function report(io: Io, json: boolean, payload: JsonError['error'], text: string): void {
  io.stderr.write(`rarefy: ${text}\n`);
  if (json) printJson(io, { error: payload } satisfies JsonError);
}

/**
 * Runs the `rarefy` command line and returns its exit status: 0 on success, 1 for bad input or a
 * failed job, 2 for a usage error. Errors go to stderr as `rarefy: <message>` (no stack trace
 * unless RAREFY_DEBUG=1); with `--json` they are also printed on stdout as one
 * `{ "error": { code, message, input } }` object.
 *
 * @param argv - the arguments as in `process.argv` (the first two are the runtime and the script)
 * @param io - streams, environment and clock (default: this process's)
 * @returns the exit status
 * @example
 * ```ts
 * process.exitCode = await run(process.argv);
 * ```
 */
export async function run(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const json = wantsJson(argv.slice(2));
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'node' });
    return ExitCode.ok;
  } catch (error) {
    if (io.env.RAREFY_DEBUG === '1' && error instanceof Error && error.stack) {
      io.stderr.write(`${error.stack}\n`);
    }
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return ExitCode.ok; // --help, --version
      if (error.code === 'commander.help' || error.code === 'commander.helpDisplayed') return ExitCode.usage;
      const message = error.message.replace(/^error: /, '');
      const option = /option '(-[\w-]+|--[\w-]+)/.exec(message)?.[1] ?? null;
      report(
        io,
        json,
        { code: 'RAREFY_USAGE', message, input: option },
        `${message}\n(see 'rarefy --help' or 'rarefy <command> --help')`,
      );
      return ExitCode.usage;
    }
    if (isRarefyError(error)) {
      report(
        io,
        json,
        { code: error.code, message: error.message, input: error.input ?? null },
        `${error.code}: ${error.message}`,
      );
      return ExitCode.failure;
    }
    const message = error instanceof Error ? error.message : String(error);
    report(
      io,
      json,
      { code: 'RAREFY_INTERNAL', message, input: null },
      `internal error: ${message}${io.env.RAREFY_DEBUG === '1' ? '' : ' (set RAREFY_DEBUG=1 for the stack trace)'}`,
    );
    return ExitCode.failure;
  }
}
