import { resolve } from 'node:path';
import { designMatrixColumns, writeCsvFile } from '@rarefy/data-io/node';
import { simulateRareEvents } from '@rarefy/sampling-core';
import type { Command } from 'commander';
import { formatDuration } from '../format.js';
import { printJson, printLine } from '../io.js';
import { finiteNumber, integer, positiveInteger } from '../options.js';
import type { CommandContext } from '../program.js';
import { createProgress } from '../progress.js';

/** The options of `rarefy simulate`, as commander parses them. */
export interface SimulateOptions {
  n: number;
  seed: number;
  out: string;
  intercept: number;
  json?: boolean;
}

/** What `rarefy simulate --json` prints. */
export interface SimulateResult {
  /** Rows written. */
  rows: number;
  /** Rows labelled 1. */
  positives: number;
  /** The absolute path of the file written. */
  out: string;
  /** Wall-clock seconds (generating and writing). */
  seconds: number;
}

/**
 * Generates the A.10 benchmark data set and writes it as CSV (`y,x1,...,x6`, labels first), atomically.
 *
 * @param options - rows, seed, output path, intercept
 * @param context - the command's Io
 * @returns the counts, the path and the time taken
 * @example
 * ```ts
 * const result = await simulate({ n: 1000, seed: 1, out: 'a10.csv', intercept: -6 }, { io: processIo() });
 * ```
 */
export async function simulate(options: SimulateOptions, context: CommandContext): Promise<SimulateResult> {
  const { io } = context;
  const started = io.now();
  const data = simulateRareEvents({ rows: options.n, seed: options.seed, intercept: options.intercept });
  const { x } = data;
  const columns = designMatrixColumns(x, data.y);
  const out = resolve(options.out);
  const progress = createProgress({ label: 'writing', total: x.rows, json: options.json, stream: io.stderr });
  try {
    await writeCsvFile(out, columns, { onProgress: ({ rowsWritten }) => progress.update(rowsWritten) });
  } finally {
    progress.stop();
  }
  return { rows: x.rows, positives: data.positives, out, seconds: (io.now() - started) / 1000 };
}

/**
 * Adds `rarefy simulate` to the program.
 *
 * @param program - the `rarefy` program
 * @param context - the Io the command prints to
 * @returns the subcommand
 * @example
 * ```ts
 * registerSimulate(program, context);
 * ```
 */
export function registerSimulate(program: Command, context: CommandContext): Command {
  return program
    .command('simulate')
    .description(
      'Write the A.10 rare-event data set as CSV: x ~ N(0, Sigma) with Sigma_jk = 0.5^|j-k|, ' +
        'y ~ Bernoulli(sigmoid(beta0 - 0.5 * sum(x))); columns y,x1..x6.',
    )
    .requiredOption('--n <rows>', 'number of rows', positiveInteger('--n'))
    .requiredOption('--out <file>', 'the CSV file to write (replaced atomically)')
    .option('--seed <seed>', 'random seed (same seed, same file)', integer('--seed'), 1)
    .option(
      '--intercept <beta0>',
      'the true intercept beta0 (-6 gives about 1.2% positives)',
      finiteNumber('--intercept'),
      -6,
    )
    .option('--json', 'print one JSON object { rows, positives, out, seconds } and nothing else on stdout')
    .action(async (options: SimulateOptions) => {
      const result = await simulate(options, context);
      if (options.json) {
        printJson(context.io, result);
        return;
      }
      const share = ((100 * result.positives) / result.rows).toFixed(2);
      printLine(
        context.io,
        `wrote ${result.rows} rows (${result.positives} positives, ${share}%) to ${result.out} in ${formatDuration(result.seconds)}`,
      );
    });
}
