import { ClickHouseEngine, type ClickHouseSampleResult, sampleInClickHouse } from '@rarefy/data-io/node';
import type { Command } from 'commander';
import { formatDuration, formatNumber } from '../format.js';
import { printJson, printLine } from '../io.js';
import type { CommandContext } from '../program.js';
import { createProgress, type Progress } from '../progress.js';
import { featureList, planOptions, type RecipeCliOptions } from './shared.js';

/** The options of `rarefy sample --engine clickhouse`, as commander parses them. */
export interface ClickHouseSampleCliOptions extends RecipeCliOptions {
  label: string;
  /** The server's HTTP interface (credentials in it, or in CLICKHOUSE_USER / CLICKHOUSE_PASSWORD). */
  url?: string;
  /** The table to sample (a Distributed table samples the whole cluster). */
  table?: string;
  /** The table to create with the sample (default `<table>_sample`). */
  outputTable?: string;
  features?: string;
  rowKey?: string;
  json?: boolean;
}

/** The JSON result of `rarefy sample --engine clickhouse`. */
export interface ClickHouseSampleCommandResult {
  engine: 'clickhouse';
  /** The URL without its password. */
  url: string;
  table: string;
  outputTable: string;
  design: string;
  sample: { positives: number; negatives: number };
  expected: { positives: number; negatives: number };
  population: { rows: number; positives: number; negatives: number };
  scale: ClickHouseSampleResult['plan']['scale'];
  pilot: ClickHouseSampleResult['plan']['pilot'];
  passes: number;
  /** The estimator fitted on the sample read back, with sandwich standard errors. */
  fit: ClickHouseSampleResult['fit'];
  /** Bytes of kept rows read back for the fit. */
  bytesRead: number;
  seconds: number;
}

/**
 * Registers the ClickHouse options of `rarefy sample` (`--url`, `--table`, `--output-table`).
 *
 * @param command - the `sample` command
 * @returns the command
 */
export function addClickHouseOptions(command: Command): Command {
  return command
    .option(
      '--url <http url>',
      'ClickHouse engine: the HTTP interface of the server (e.g. http://127.0.0.1:8123); credentials in it or in CLICKHOUSE_USER / CLICKHOUSE_PASSWORD',
    )
    .option(
      '--table <table>',
      'ClickHouse engine: the table to sample (a Distributed table: the whole cluster)',
    )
    .option(
      '--output-table <table>',
      'ClickHouse engine: the new table the sample is written to (default <table>_sample); created only when complete',
    );
}

/**
 * The usage problem of a ClickHouse invocation, or null: `--url` and `--table` are required, and
 * the file options do not apply.
 *
 * @param options - the parsed options
 * @returns the message for `usage`, or null
 */
export function clickHouseUsageProblem(
  options: ClickHouseSampleCliOptions & {
    data?: string;
    out?: string;
    emitSql?: boolean;
    refine?: boolean;
    pilot?: string;
  },
): string | null {
  if (options.url === undefined)
    return '--engine clickhouse needs --url <http url>, the HTTP interface of the server';
  if (options.table === undefined) return '--engine clickhouse needs --table <table>, the table to sample';
  if (options.data !== undefined)
    return '--data is for files; with --engine clickhouse name the table with --table';
  if (options.out !== undefined)
    return '--out is for files; with --engine clickhouse the sample goes to --output-table';
  if (options.emitSql)
    return '--emit-sql is not used with --engine clickhouse (pass --dialect clickhouse to --emit-sql instead)';
  if (options.refine) return '--refine is in-process only; leave it out with --engine clickhouse';
  if (options.pilot !== undefined)
    return '--pilot is not used with --engine clickhouse: the cluster draws the pilot and a logistic pilot is fitted from it; leave --pilot out, or sample a file with --pilot';
  return null;
}

/**
 * Runs the whole recipe inside a ClickHouse cluster (`sampleInClickHouse`): the pilot, the scale, the
 * one INSERT ... SELECT into a new table renamed into place when complete, and the fit of the sample
 * read back. Progress on stderr (one line per statement), the result on stdout (`--json`: one object).
 *
 * @param options - the parsed options (`url` and `table` required)
 * @param context - the command's Io
 * @returns the JSON-ready result
 */
export async function sampleClickHouse(
  options: ClickHouseSampleCliOptions,
  context: CommandContext,
): Promise<ClickHouseSampleCommandResult> {
  const { io } = context;
  const started = io.now();
  const table = options.table ?? '';
  // Credentials from the URL, else CLICKHOUSE_USER / CLICKHOUSE_PASSWORD of the command's environment.
  const engine = new ClickHouseEngine(options.url ?? '', { env: io.env });
  const outputTable = options.outputTable ?? `${table}_sample`;
  let progress: Progress | null = null;
  try {
    const result = await sampleInClickHouse(engine, table, {
      ...planOptions(options, featureList(options.features)),
      outputTable,
      estimator: options.estimator,
      onProgress: ({ pass, passes, stage, rows, done }) => {
        if (!done) {
          progress?.stop();
          progress = createProgress({
            label: `statement ${pass} of ${passes} (${stage}) on ${engine.client.redactedUrl}`,
            json: options.json,
            stream: io.stderr,
            now: io.now,
          });
        } else {
          progress?.update(rows);
        }
      },
    });
    return {
      engine: 'clickhouse',
      url: engine.client.redactedUrl,
      table,
      outputTable,
      design: options.design,
      sample: { ...result.sample },
      expected: { ...result.expected },
      population: { ...result.plan.population },
      scale: result.plan.scale,
      pilot: result.plan.pilot,
      passes: result.passes,
      fit: result.fit,
      bytesRead: result.bytesRead,
      seconds: (io.now() - started) / 1000,
    };
  } finally {
    (progress as Progress | null)?.stop();
  }
}

/**
 * Prints the result of {@link sampleClickHouse}: `--json` as one object, else a few lines.
 *
 * @param context - the command's Io
 * @param json - whether `--json` was given
 * @param result - the result
 */
export function printClickHouseSample(
  context: CommandContext,
  json: boolean | undefined,
  result: ClickHouseSampleCommandResult,
): void {
  const { io } = context;
  if (json) {
    printJson(io, result);
    return;
  }
  printLine(
    io,
    `sampled ${result.table} on ${result.url} into ${result.outputTable}: ${result.sample.positives} positives, ${result.sample.negatives} negatives (expected ${formatNumber(result.expected.negatives)}) of ${result.population.rows} rows in ${formatDuration(result.seconds)}`,
  );
  if (result.fit !== null) {
    printLine(io, `${result.fit.estimator} fit on the sample:`);
    for (const [j, name] of result.fit.names.entries()) {
      printLine(
        io,
        `  ${name}: ${formatNumber(result.fit.coefficients[j] as number)} (se ${formatNumber(result.fit.standardErrors[j] as number)})`,
      );
    }
  }
}
