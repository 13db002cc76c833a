import { Command } from 'commander';
import packageJson from '../package.json' with { type: 'json' };
import { registerDemo } from './commands/demo.js';
import { registerDoctor } from './commands/doctor.js';
import { registerExport } from './commands/export.js';
import { registerFit } from './commands/fit.js';
import { registerInspect } from './commands/inspect.js';
import { registerQuickstart } from './commands/quickstart.js';
import { registerReport } from './commands/report.js';
import { registerRetrieval } from './commands/retrieval.js';
import { registerSample } from './commands/sample.js';
import { registerScore } from './commands/score.js';
import { registerServe } from './commands/serve.js';
import { registerSimulate } from './commands/simulate.js';
import type { Io } from './io.js';

/** The version of the `rarefy` command (from apps/cli/package.json). */
export const VERSION: string = packageJson.version;

/** What every command gets: where to print. Commands never touch `process` directly. */
export interface CommandContext {
  /** Output streams, environment and clock. */
  io: Io;
}

/**
 * Builds the `rarefy` program. Each command lives in its own file under `commands/` and is
 * registered here; every command takes `--json` (one JSON object on stdout, nothing else there).
 * Errors are not printed by commander: `run` prints them (and sets the exit status), so the
 * program throws a CommanderError for usage errors, help and version.
 *
 * @param io - where commands print
 * @returns the program, ready for `parseAsync`
 * @example
 * ```ts
 * await createProgram(processIo()).parseAsync(process.argv);
 * ```
 */
export function createProgram(io: Io): Command {
  const program = new Command('rarefy')
    .description('Learn from rare events: sample the informative negatives, correct the model.')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // run() prints errors in the rarefy format.
      outputError: () => {},
      getErrHelpWidth: () => io.stderr.columns ?? 80,
      getOutHelpWidth: () => io.stdout.columns ?? 80,
    });
  const context: CommandContext = { io };
  registerQuickstart(program, context);
  registerFit(program, context);
  registerDoctor(program, context);
  registerSimulate(program, context);
  registerInspect(program, context);
  registerSample(program, context);
  registerScore(program, context);
  registerExport(program, context);
  registerRetrieval(program, context);
  registerServe(program, context);
  registerReport(program, context);
  registerDemo(program, context);
  return program;
}
