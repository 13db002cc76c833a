import { openBatches } from '@rarefy/data-io/node';
import { type ColumnType, RarefyInputError } from '@rarefy/sampling-core';
import type { Command } from 'commander';
import { formatDuration, formatTable } from '../format.js';
import { printJson, printLine } from '../io.js';
import type { CommandContext } from '../program.js';
import { createProgress } from '../progress.js';

/** The options of `rarefy inspect`, as commander parses them. */
export interface InspectOptions {
  label?: string;
  json?: boolean;
}

/**
 * What `rarefy inspect --json` prints: one object. `rows`, `columns` and (with `--label`)
 * `classBalance` are the contract of issue 3; `format` and `seconds` are extra.
 */
export interface InspectResult {
  /** Data rows in the input. */
  rows: number;
  /** The columns in order, with their inferred types. */
  columns: Array<{ name: string; type: ColumnType }>;
  /** Rows by class of the label column (only with `--label`). */
  classBalance?: { positives: number; negatives: number };
  /** The format the input was read as. */
  format: string;
  /** Wall-clock seconds. */
  seconds: number;
}

/**
 * Reads a file (or glob) once, streaming, and reports its schema, row count and class balance.
 *
 * @param file - the file or glob
 * @param options - the label column, JSON output
 * @param context - the command's Io
 * @returns the JSON-ready result
 * @example
 * ```ts
 * const result = await inspect('clicks.csv', { label: 'y' }, { io: processIo() });
 * ```
 */
export async function inspect(
  file: string,
  options: InspectOptions,
  context: CommandContext,
): Promise<InspectResult> {
  const { io } = context;
  const started = io.now();
  const label = options.label;
  const reader = await openBatches(file, label === undefined ? {} : { label });
  if (label !== undefined && !reader.schema.some((column) => column.name === label)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `${file}: no column "${label}" (columns: ${reader.schema.map((column) => column.name).join(', ')})`,
      'name the 0/1 label column with --label',
      { input: label },
    );
  }
  const progress = createProgress({
    label: `reading ${file}`,
    json: options.json,
    stream: io.stderr,
    now: io.now,
  });
  let rows = 0;
  let positives = 0;
  try {
    for await (const batch of reader.batches()) {
      if (label !== undefined) {
        const labels = batch.columns[label];
        if (labels instanceof Uint8Array || labels instanceof Int32Array || labels instanceof Float64Array) {
          for (let i = 0; i < batch.rows; i++) positives += labels[i] === 1 ? 1 : 0;
        }
      }
      rows += batch.rows;
      progress.update(rows, 'rows');
    }
  } finally {
    progress.stop();
  }
  return {
    rows,
    columns: reader.schema.map(({ name, type }) => ({ name, type })),
    ...(label === undefined ? {} : { classBalance: { positives, negatives: rows - positives } }),
    format: reader.format,
    seconds: (io.now() - started) / 1000,
  };
}

/**
 * Adds `rarefy inspect` to the program.
 *
 * @param program - the `rarefy` program
 * @param context - the Io the command prints to
 * @returns the subcommand
 * @example
 * ```ts
 * registerInspect(program, context);
 * ```
 */
export function registerInspect(program: Command, context: CommandContext): Command {
  return program
    .command('inspect')
    .description('Print the schema, the row count and (with --label) the class balance of a file or glob.')
    .argument('<file>', 'the input: CSV, TSV, JSON Lines or LibSVM, a file or a glob')
    .option('--label <column>', 'the 0/1 label column, for the class balance')
    .option('--json', 'print one JSON object { rows, columns, classBalance } and nothing else on stdout')
    .action(async (file: string, options: InspectOptions) => {
      const result = await inspect(file, options, context);
      if (options.json) {
        printJson(context.io, result);
        return;
      }
      const lines = [
        `${file} (${result.format}): ${result.rows.toLocaleString('en-US')} rows, ${result.columns.length} columns`,
      ];
      if (result.classBalance !== undefined) {
        const { positives, negatives } = result.classBalance;
        const share = result.rows > 0 ? ((100 * positives) / result.rows).toFixed(3) : '0';
        lines.push(
          `label ${options.label}: ${positives.toLocaleString('en-US')} positives (${share}%), ${negatives.toLocaleString('en-US')} negatives`,
        );
      }
      lines.push('', formatTable(result.columns, { columns: ['name', 'type'] }), '');
      lines.push(`read in ${formatDuration(result.seconds)}`);
      printLine(context.io, lines.join('\n'));
    });
}
