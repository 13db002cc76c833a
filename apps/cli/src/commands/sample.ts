import { resolve } from 'node:path';
import {
  type BatchReader,
  DEFAULT_SCALE_SAMPLE_ROWS,
  DuckDbEngine,
  type EnginePlanOptions,
  type EngineSamplePlan,
  type EngineScaleSample,
  engineSamplingSql,
  openBatches,
  openSampleWriter,
  planEngineSample,
  type SampleWriter,
  SQL_DIALECTS,
  type SqlDialect,
  type StreamSampleResult,
  type StreamScale,
  sampleStream,
  sampleWithEngine,
} from '@rarefy/data-io/node';
import { LogisticPilot } from '@rarefy/pilot-model';
import { RarefyError } from '@rarefy/sampling-core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { formatDuration, formatNumber } from '../format.js';
import type { Io } from '../io.js';
import { printJson, printLine } from '../io.js';
import type { CommandContext } from '../program.js';
import { createProgress, type Progress } from '../progress.js';
import {
  addClickHouseOptions,
  type ClickHouseSampleCliOptions,
  clickHouseUsageProblem,
  printClickHouseSample,
  sampleClickHouse,
} from './sample-clickhouse.js';
import { type LoadedModel, openBatchesForModel, releasePilot } from './score.js';
import {
  addPilotOptions,
  addRecipeOptions,
  featureList,
  loadCliPilot,
  type PilotCliOptions,
  type PilotCorrectionChoice,
  type PilotModelInfo,
  pilotCorrectionChoice,
  pilotModelInfo,
  planOptions,
  type RecipeCliOptions,
} from './shared.js';

/** The options of `rarefy sample`, as commander parses them (`--estimator` is accepted and ignored). */
export interface SampleOptions extends RecipeCliOptions, PilotCliOptions {
  data: string;
  label: string;
  /** The sample to write (required unless `emitSql`). */
  out?: string;
  /** Where the sampling runs (default: `duckdb` for Parquet input, else `in-process`). */
  engine?: SampleEngine;
  /** A column identifying rows: uniforms (and the DuckDB pilot draw) become hashes of it and the seed. */
  rowKey?: string;
  /** Print the sampling SQL instead of sampling. */
  emitSql?: boolean;
  /** The SQL's dialect (with `emitSql`; default duckdb). */
  dialect?: SqlDialect;
  /** The table the SQL reads (with `emitSql`). */
  inputTable?: string;
  /** Comma-separated feature columns (default: every numeric column but the label). */
  features?: string;
  refine?: boolean;
  /**
   * Whether `alpha` was chosen by the caller. When false (the CLI without `--alpha`), a `--pilot` that
   * is not a logistic model samples with the mixing `correctionForPilot` recommends (0.3) instead of
   * `alpha`. Default true.
   */
  alphaGiven?: boolean;
  /**
   * DuckDB engine: rows per class of the seeded subsample the scale is solved on (default
   * `DEFAULT_SCALE_SAMPLE_ROWS`; `Infinity`, `--scale-sample-rows all`, for every row).
   */
  scaleSampleRows?: number;
  json?: boolean;
}

/**
 * What `rarefy sample --json` prints: one object. `sample`, `scale`, `rowsRead` and `seconds` are the
 * contract of issue 3; `expected` and `out` are kept stable too; the rest is extra detail.
 */
export interface SampleCommandResult {
  /** Realised kept rows by class. */
  sample: { positives: number; negatives: number };
  /** The scale: method (`histogram`, `refine`, `rate`), value c, and how it was solved. */
  scale: StreamScale;
  /** Rows in the input. */
  rowsRead: number;
  /** Wall-clock seconds, opening and writing included. */
  seconds: number;
  /**
   * Expected kept rows at the scale used: exact in-process; with DuckDB the histogram's estimate,
   * from the scale's subsample on a large input (its standard error in `scaleSample`).
   */
  expected: { negatives: number; positives: number };
  /** The absolute path of the file written. */
  out: string;
  design: string;
  population: { rows: number; positives: number; negatives: number };
  /** Passes made over the input. */
  passes: number;
  /** The pilot (coefficients by name, draw sizes), or null for `uniform`. */
  pilot: StreamSampleResult['pilot'];
  /** Where the sampling ran. */
  engine: SampleEngine;
  /**
   * DuckDB engine with a sample size: the subsample the scale was solved on and the standard errors
   * it leaves (`expected` is then its estimate); null under `--rate` or `uniform`. Absent in-process.
   */
  scaleSample?: EngineScaleSample | null;
  /**
   * With `--pilot`: the model that drove the design (absolute path, kind), what scored it and why
   * (for a network: TensorFlow.js or onnxruntime, timed on the first batch unless `--runtime` forces one).
   */
  pilotModel?: PilotModelInfo & {
    /**
     * The estimator to fit a final logistic model on this sample with (`correctionForPilot`):
     * `log-odds` (the offset column) after a logistic pilot, `ipw` (the weight column) after any
     * other, whose keep probabilities a logistic model cannot absorb.
     */
    recommendedEstimator: 'log-odds' | 'ipw';
    recommendedEstimatorReason: string;
    /** The defensive mixing the design used, and whether it is this pilot's default or was given. */
    alpha: number;
    alphaSource: 'given' | 'default for this pilot';
  };
}

/** Where `rarefy sample` runs: the streaming passes in this process, or the embedded DuckDB engine. */
export type SampleEngine = 'in-process' | 'duckdb' | 'clickhouse';

/** The engines `--engine` accepts. */
export const SAMPLE_ENGINES: readonly SampleEngine[] = ['in-process', 'duckdb', 'clickhouse'];

/**
 * The engine used when `--engine` is not given: DuckDB for a Parquet file or a glob of Parquet files
 * (the in-process readers do not read Parquet), in-process otherwise.
 *
 * @param data - the `--data` path or glob
 * @returns the engine
 * @example
 * ```ts
 * defaultEngine('logs/*.parquet'); // 'duckdb'
 * ```
 */
export function defaultEngine(data: string): SampleEngine {
  return /\.(parquet|pq)$/i.test(data) ? 'duckdb' : 'in-process';
}

/** Progress on stderr: one reporter per pass, rows and rows per second. */
function passProgress(
  io: Io,
  json: boolean | undefined,
  silent = false,
): {
  update(pass: number, passes: number, stage: string, rows: number): void;
  stop(): void;
} {
  let current: Progress | null = null;
  let currentPass = 0;
  let passStarted = 0;
  let total: number | undefined;
  let lastRows = 0;
  return {
    update(pass, passes, stage, rows) {
      if (pass !== currentPass) {
        current?.stop();
        // Every pass reads every row: after the first, the total is known.
        if (currentPass > 0) total = lastRows;
        currentPass = pass;
        passStarted = io.now();
        current = createProgress({
          label: `pass ${pass} of ${passes} (${stage})`,
          total,
          json,
          silent,
          stream: io.stderr,
          now: io.now,
        });
      }
      const seconds = (io.now() - passStarted) / 1000;
      const speed = seconds > 0 ? `${Math.round(rows / seconds).toLocaleString('en-US')} rows/s` : '';
      lastRows = rows;
      current?.update(rows, speed);
    },
    stop() {
      current?.stop();
      current = null;
    },
  };
}

/**
 * Samples a file (or a glob of files) of any size out of core and writes the kept rows with `pi`,
 * `offset` and `weight`, atomically: the output exists only once it is complete.
 *
 * @param options - input, label, design and sizes, output path
 * @param context - the command's Io
 * @returns the JSON-ready result
 * @example
 * ```ts
 * const result = await sample({ data: 'clicks.csv', label: 'y', out: 'sample.csv', design: 'optA',
 *   estimator: 'log-odds', pilotSize: 1000, alpha: 0, piMin: 1e-6, seed: 1 }, { io: processIo() });
 * ```
 */
export async function sample(options: SampleOptions, context: CommandContext): Promise<SampleCommandResult> {
  const { io } = context;
  const started = io.now();
  const out = resolve(options.out ?? '');
  const features = featureList(options.features);
  const engine = options.engine ?? defaultEngine(options.data);
  // The runtime, once known, goes to stderr (a line of its own, off --json).
  const loaded =
    options.pilot === undefined
      ? null
      : await loadCliPilot(options.pilot, {
          ...(options.runtime === undefined ? {} : { runtime: options.runtime }),
          ...(features === undefined ? {} : { features }),
          io,
          ...(options.json === undefined ? {} : { json: options.json }),
        });
  // Without --alpha, a pilot outside the logistic family samples with the recommended mixing.
  const correction =
    loaded === null
      ? null
      : pilotCorrectionChoice(loaded.pilot, {
          alpha: options.alphaGiven === false ? undefined : options.alpha,
        });
  const alpha = correction?.alpha ?? options.alpha;
  const pilotModel = () =>
    loaded === null || correction === null ? {} : { pilotModel: pilotModelRecord(loaded, correction) };
  // The command's result, the same for both engines.
  const finish = (
    result: Pick<
      StreamSampleResult,
      'sample' | 'scale' | 'rowsRead' | 'expected' | 'population' | 'passes' | 'pilot'
    > & { scaleSample?: EngineScaleSample | null },
  ): SampleCommandResult => ({
    sample: { ...result.sample },
    scale: result.scale,
    rowsRead: result.rowsRead,
    seconds: (io.now() - started) / 1000,
    expected: { ...result.expected },
    out,
    design: options.design,
    population: { ...result.population },
    passes: result.passes,
    pilot: result.pilot,
    engine,
    ...(result.scaleSample === undefined ? {} : { scaleSample: result.scaleSample }),
    ...pilotModel(),
  });
  try {
    if (engine === 'duckdb') {
      const progress = passProgress(io, options.json);
      const duck = await DuckDbEngine.open();
      try {
        const onProgress = ({ pass, passes, stage, rows }: StreamSampleProgressLike) =>
          progress.update(pass, passes, stage, rows);
        const given = loaded === null ? null : sqlPilot(loaded, features, options.pilot ?? '');
        const result = await sampleWithEngine(duck, options.data, {
          ...enginePlanOptions(options, features, given),
          out,
          onProgress,
        });
        return finish(result);
      } finally {
        progress.stop();
        await duck.close();
      }
    }
    const reader: BatchReader =
      loaded === null
        ? await openBatches(options.data, { label: options.label })
        : await openBatchesForModel(options.data, loaded, { label: options.label });
    // A .parquet path goes through the embedded DuckDB engine; anything else is CSV.
    const writer: SampleWriter = await openSampleWriter(out);
    const progress = passProgress(io, options.json);
    let result: StreamSampleResult;
    try {
      result = await sampleStream(reader, {
        label: options.label,
        ...(features === undefined ? {} : { features }),
        ...(loaded === null ? {} : { pilot: loaded.pilot }),
        design: options.design,
        pilotSize: options.pilotSize,
        takeWholeClass: options.takeWholeClass ?? false,
        ...(options.sampleSize === undefined ? {} : { sampleSize: options.sampleSize }),
        ...(options.rate === undefined ? {} : { rate: options.rate }),
        alpha,
        piMin: options.piMin,
        seed: options.seed,
        scale: options.refine ? 'refine' : 'histogram',
        write: (batch) => writer.write(batch),
        onProgress: ({ pass, passes, stage, rows }) => progress.update(pass, passes, stage, rows),
      });
      progress.stop();
      await writer.commit();
    } catch (error) {
      progress.stop();
      await writer.abort();
      throw error;
    }
    return finish(result);
  } finally {
    if (loaded !== null) await releasePilot(loaded.pilot);
  }
}

/**
 * What `--json` says of the `--pilot` model: path, kind, which runtime scored it and why, the
 * estimator to fit a final model on the sample with, and the mixing the design used.
 */
function pilotModelRecord(
  loaded: LoadedModel,
  correction: PilotCorrectionChoice,
): NonNullable<SampleCommandResult['pilotModel']> {
  return {
    ...pilotModelInfo(loaded),
    recommendedEstimator: correction.recommended.estimator,
    recommendedEstimatorReason: correction.recommended.reason,
    alpha: correction.alpha,
    alphaSource: correction.alphaSource,
  };
}

/** The progress fields both sampling paths report. */
interface StreamSampleProgressLike {
  pass: number;
  passes: number;
  stage: string;
  rows: number;
}

/** A logistic pilot as SQL needs it: the feature columns and the coefficients, intercept first. */
export interface SqlPilot {
  readonly features: readonly string[];
  readonly coefficients: readonly number[];
}

/**
 * The coefficients of a loaded pilot for SQL (the DuckDB engine, `--emit-sql`): only a logistic
 * model's can be written into SQL.
 *
 * @param loaded - the pilot loaded from `--pilot`
 * @param features - `--features`, which must then be the pilot's own columns (or absent)
 * @param option - the `--pilot` value, for messages
 * @returns the features and intercept-first coefficients
 * @throws RarefyError `RAREFY_INVALID_ARGUMENT` for a non-logistic pilot (suggesting `--engine
 *   in-process`) or `--features` other than the pilot's columns
 * @example
 * ```ts
 * const { features, coefficients } = sqlPilot(await loadPilot('models/ctr'), undefined, 'models/ctr');
 * ```
 */
export function sqlPilot(
  loaded: LoadedModel,
  features: readonly string[] | undefined,
  option: string,
): SqlPilot {
  const pilot = loaded.pilot;
  if (!(pilot instanceof LogisticPilot)) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `--pilot ${option}: a ${loaded.kind === 'onnx' ? 'ONNX' : loaded.kind} pilot cannot be written into SQL (only a logistic model's coefficients can), so it cannot drive the DuckDB engine or --emit-sql`,
      'sample with --engine in-process (CSV, TSV, JSON Lines or LibSVM input), or pass a logistic model saved by `rarefy fit --save`',
      { input: '--pilot' },
    );
  }
  if (features !== undefined && features.join('\u0000') !== pilot.features.join('\u0000')) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `--features ${features.join(',')}: the SQL scores rows with the pilot's own columns (${pilot.features.join(', ')})`,
      'leave --features out with a logistic --pilot, or sample with --engine in-process',
      { input: '--features' },
    );
  }
  const coefficients = pilot.intercept ? Array.from(pilot.coefficients) : [0, ...pilot.coefficients];
  return { features: [...pilot.features], coefficients };
}

/**
 * The recipe options of the DuckDB engine: with a logistic `--pilot`, its columns and coefficients
 * (the engine then scores with them instead of drawing and fitting its own pilot).
 */
function enginePlanOptions(
  options: SampleOptions,
  features: string[] | undefined,
  given: SqlPilot | null,
): EnginePlanOptions {
  if (given === null) return planOptions(options, features);
  return {
    ...planOptions(options, [...given.features]),
    pilotCoefficients: given.coefficients,
  };
}

/**
 * `rarefy sample --emit-sql`: fits the pilot and solves the scale on `--data` (in this process, or
 * with DuckDB for Parquet or `--engine duckdb`), then returns the sampling SQL for `--dialect` with
 * those constants baked in, reading `--input-table`. In-process, the constants are those of
 * `rarefy sample --engine in-process` with the same options (its sampling pass runs, writing
 * nothing); with DuckDB, those of `rarefy sample --engine duckdb`.
 *
 * @param options - the sample options with `inputTable` (and `dialect`, default duckdb)
 * @param context - the command's Io (progress on stderr only when it is a terminal)
 * @returns the SQL text
 * @throws RarefyError as `samplingSql`, e.g. `RAREFY_INVALID_ARGUMENT` for Trino or BigQuery
 *   without `rowKey`; whatever reading or fitting throws
 * @example
 * ```ts
 * const sql = await emitSamplingSql({ ...options, emitSql: true, dialect: 'spark', inputTable: 'logs.clicks' }, context);
 * ```
 */
export async function emitSamplingSql(options: SampleOptions, context: CommandContext): Promise<string> {
  const { io } = context;
  const dialect = options.dialect ?? 'duckdb';
  const target = {
    dialect,
    inputTable: options.inputTable ?? '',
    ...(options.rowKey === undefined ? {} : { rowKey: options.rowKey }),
  };
  // Refuse a missing row key (Trino, BigQuery) before reading anything: samplingSql's typed error.
  engineSamplingSql(
    {
      design: 'uniform',
      label: options.label,
      features: [],
      pilotCoefficients: [0],
      optAInverse: null,
      solution: {
        method: 'exact',
        scale: 1,
        uniformRate: 1,
        alpha: 0,
        piMin: 1e-6,
        expectedNegatives: 0,
        expectedPositives: 0,
        atCap: 0,
        atFloor: 0,
        iterations: 0,
      },
      seed: options.seed,
    },
    target,
  );
  const features = featureList(options.features);
  const engine = options.engine ?? defaultEngine(options.data);
  const loaded =
    options.pilot === undefined
      ? null
      : await loadCliPilot(options.pilot, {
          ...(options.runtime === undefined ? {} : { runtime: options.runtime }),
          ...(features === undefined ? {} : { features }),
        });
  const progress = passProgress(io, options.json, !io.stderr.isTTY);
  let plan: Pick<
    EngineSamplePlan,
    'design' | 'label' | 'features' | 'pilotCoefficients' | 'optAInverse' | 'solution' | 'seed'
  >;
  try {
    const given = loaded === null ? null : sqlPilot(loaded, features, options.pilot ?? '');
    const onProgress = ({ pass, passes, stage, rows }: StreamSampleProgressLike) =>
      progress.update(pass, passes, stage, rows);
    if (engine === 'duckdb') {
      const duck = await DuckDbEngine.open();
      try {
        plan = await planEngineSample(duck, options.data, {
          ...enginePlanOptions(options, features, given),
          onProgress,
        });
      } finally {
        await duck.close();
      }
    } else {
      const reader: BatchReader =
        loaded === null
          ? await openBatches(options.data, { label: options.label })
          : await openBatchesForModel(options.data, loaded, { label: options.label });
      const result = await sampleStream(reader, {
        ...planOptions(options, features),
        ...(loaded === null ? {} : { pilot: loaded.pilot }),
        scale: options.refine ? 'refine' : 'histogram',
        write: () => {},
        onProgress,
      });
      plan = {
        design: options.design,
        label: options.label,
        features: given?.features ?? (result.pilot === null ? [] : result.pilot.names.slice(1)),
        pilotCoefficients: given?.coefficients ?? result.pilot?.coefficients ?? [0],
        optAInverse: result.pilot?.optAInverse ?? null,
        solution: result.solution,
        seed: options.seed,
      };
    }
  } finally {
    progress.stop();
    if (loaded !== null) await releasePilot(loaded.pilot);
  }
  return engineSamplingSql(plan, target);
}

/** Parses `--scale-sample-rows`: a positive integer, or `all` (every row). */
function scaleSampleRowsOption(text: string): number {
  if (text.trim().toLowerCase() === 'all') return Number.POSITIVE_INFINITY;
  const value = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(
      '--scale-sample-rows must be a positive integer such as 1000000 or 2e6, or all.',
    );
  }
  return value;
}

/** Prints a sample run for people. */
function printSample(context: CommandContext, options: SampleOptions, result: SampleCommandResult): void {
  const { population, sample: kept, expected, scale, scaleSample } = result;
  // A scale solved on a subsample: its standard error, beside the Poisson spread every run has.
  const spread =
    scaleSample === undefined || scaleSample === null || scaleSample.negatives.fraction >= 1
      ? ''
      : ` ± ${formatNumber(scaleSample.negatives.standardError, 3)} from solving the scale on ${scaleSample.negatives.rows.toLocaleString('en-US')} negatives (realised sd ${formatNumber(scaleSample.negatives.realisedStandardDeviation, 3)})`;
  const share = formatNumber((100 * population.positives) / population.rows, 3);
  const scaleText =
    scale.method === 'rate'
      ? `rate ${formatNumber(scale.uniformRate)}`
      : `solved on a ${scale.histogramBins}-bin histogram${scale.method === 'refine' ? ' and refined' : ''}`;
  printLine(
    context.io,
    [
      `${options.data}: ${population.rows.toLocaleString('en-US')} rows, ${population.positives.toLocaleString('en-US')} positives (${share}%), read in ${result.passes} passes`,
      `design ${result.design}: kept ${kept.positives.toLocaleString('en-US')} positives and ${kept.negatives.toLocaleString('en-US')} negatives ` +
        `(expected ${formatNumber(expected.negatives, 6)}${spread}), scale ${formatNumber(scale.value, 6)} (${scaleText}), seed ${options.seed}`,
      `wrote ${result.out} with columns pi, offset (add to the logit when fitting) and weight (for IPW) in ${formatDuration(result.seconds)}`,
      ...(result.pilotModel === undefined
        ? []
        : [
            `pilot ${result.pilotModel.kind} scored by ${result.pilotModel.runtime}; fit the final logistic model with ${result.pilotModel.recommendedEstimator === 'ipw' ? 'the weight column (IPW)' : 'the offset column (log-odds)'}: ${result.pilotModel.recommendedEstimatorReason}`,
          ]),
    ].join('\n'),
  );
}

/**
 * Adds `rarefy sample` to the program.
 *
 * @param program - the `rarefy` program
 * @param context - the Io the command prints to
 * @returns the subcommand
 * @example
 * ```ts
 * registerSample(program, context);
 * ```
 */
export function registerSample(program: Command, context: CommandContext): Command {
  const command = addPilotOptions(
    program
      .command('sample')
      .description(
        'Sample the negatives of a file or glob of any size with a pilot, out of core, and write the kept ' +
          'rows with pi, offset and weight so any trainer can correct for the sampling; or print the ' +
          'sampling as one SQL statement for the engine that holds the data (--emit-sql).',
      )
      .option(
        '--data <file|glob>',
        'the input: CSV, TSV, JSON Lines or LibSVM (in-process), or Parquet (DuckDB); a file or a glob',
      )
      .requiredOption('--label <column>', 'the 0/1 label column')
      .option(
        '--out <file>',
        'the sample to write: .csv, or .parquet (written with the embedded DuckDB engine); not with --emit-sql',
      )
      .option(
        '--features <columns>',
        'comma-separated feature columns (default: every numeric column but the label)',
      ),
    'drive the design with this pilot instead of fitting one: a saved-model folder (from `rarefy fit --save`) or a .onnx file; ' +
      'any pilot in-process, a logistic one with --engine duckdb or --emit-sql (its coefficients go into the SQL)',
  )
    .option(
      '--refine',
      'one more pass to solve the scale exactly (default: a histogram, within a fraction of a percent; in-process only)',
    )
    .addOption(
      new Option(
        '--engine <engine>',
        'where the sampling runs (default: duckdb for .parquet input or globs, else in-process)',
      ).choices(SAMPLE_ENGINES),
    )
    .option(
      '--row-key <column>',
      'a column identifying rows: uniforms become a hash of it and the seed (reproducible in any engine; needed for trino and bigquery)',
    )
    .option(
      '--emit-sql',
      'fit the pilot and solve the scale on --data, then print the sampling SQL (and nothing else) instead of sampling',
    )
    .addOption(
      new Option('--dialect <dialect>', 'the SQL dialect of --emit-sql (default duckdb)').choices(
        SQL_DIALECTS,
      ),
    )
    .option(
      '--input-table <name>',
      'the table the emitted SQL reads (table, schema.table or catalog.schema.table)',
    )
    .option(
      '--scale-sample-rows <rows>',
      `DuckDB engine: solve the scale on a seeded row-level subsample of about this many rows per class (default ${DEFAULT_SCALE_SAMPLE_ROWS}; all: every row, exact); pi stays exact, the expected size gets a reported standard error`,
      scaleSampleRowsOption,
    );
  addClickHouseOptions(command);
  addRecipeOptions(command, { design: 'optA' });
  return command
    .option(
      '--json',
      'print one JSON object (sample, scale, rowsRead, seconds, expected, out) and nothing else on stdout',
    )
    .action(async (options: SampleOptions, self: Command) => {
      const usage = (message: string): never =>
        self.error(message, { exitCode: 2, code: 'rarefy.usage' }) as never;
      if (options.engine === 'clickhouse') {
        // The whole recipe inside a ClickHouse cluster (sample-clickhouse.ts): a table, not files.
        const clickhouse = options as SampleOptions & ClickHouseSampleCliOptions;
        const problem = clickHouseUsageProblem(clickhouse);
        if (problem !== null) usage(problem);
        printClickHouseSample(context, options.json, await sampleClickHouse(clickhouse, context));
        return;
      }
      if (options.data === undefined) usage("required option '--data <file|glob>' not specified");
      const engine = options.engine ?? defaultEngine(options.data);
      if (engine === 'in-process' && options.scaleSampleRows !== undefined) {
        usage(
          '--scale-sample-rows applies to --engine duckdb (in-process sampling solves the scale on every row); leave it out or pass --engine duckdb',
        );
      }
      if (options.emitSql) {
        if (options.out !== undefined)
          usage('--out cannot be used with --emit-sql, which prints SQL instead of writing a sample');
        if (options.json)
          usage('--json cannot be used with --emit-sql, which prints the SQL and nothing else');
        if (options.inputTable === undefined)
          usage('--emit-sql needs --input-table <name>, the table the SQL reads in the target engine');
        if (options.refine && engine === 'duckdb')
          usage('--refine is in-process only; leave it out or pass --engine in-process');
        context.io.stdout.write(`${await emitSamplingSql(options, context)};\n`);
        return;
      }
      if (options.out === undefined)
        usage("required option '--out <file>' not specified (or pass --emit-sql)");
      if (options.dialect !== undefined || options.inputTable !== undefined) {
        usage('--dialect and --input-table go with --emit-sql');
      }
      if (engine === 'duckdb' && options.refine) {
        usage(
          '--refine is in-process only (the DuckDB path solves the scale on a histogram); leave it out or pass --engine in-process',
        );
      }
      if (engine === 'in-process' && options.rowKey !== undefined) {
        usage(
          '--row-key applies to --engine duckdb and --emit-sql (in-process sampling draws from its own seeded generator)',
        );
      }
      // Whether --alpha was given: without it, a --pilot that is not logistic samples with the
      // defensive mixing correctionForPilot recommends.
      const result = await sample(
        { ...options, alphaGiven: self.getOptionValueSource('alpha') === 'cli' },
        context,
      );
      if (options.json) printJson(context.io, result);
      else printSample(context, options, result);
    });
}
