import { resolve } from 'node:path';
import { type BatchReader, openBatches, openSampleWriter, type SampleWriter } from '@rarefy/data-io/node';
import type { ModelKind } from '@rarefy/pilot-model';
import {
  type LoadedModel,
  openModel,
  RUNTIME_OPTIONS,
  type RuntimeChoice,
  RuntimeChoosingPilot,
  type RuntimeOption,
  releasePilot,
  type ScoringRuntime,
} from '@rarefy/pilot-model/node';
import {
  type ColumnBatch,
  type ColumnSchema,
  type ColumnType,
  RarefyError,
  RarefyInputError,
} from '@rarefy/sampling-core';
import { type Command, Option } from 'commander';
import { formatDuration } from '../format.js';
import { type Io, printJson, printLine } from '../io.js';
import type { CommandContext } from '../program.js';
import { createProgress } from '../progress.js';

export type { LoadedModel, RuntimeChoice, RuntimeOption, ScoringRuntime };
export { releasePilot };

/** Options of {@link loadPilot}. */
export interface LoadPilotOptions {
  /**
   * The batch columns feeding a .onnx file's input, in the model's order: needed for models
   * exported elsewhere without Rarefy's `rarefy.inputs` metadata.
   */
  features?: readonly string[];
  /**
   * How a network is scored (`--runtime`): `auto` (default) times TensorFlow.js and onnxruntime on
   * the first batch and keeps the faster; `tfjs` or `onnxruntime` forces one.
   */
  runtime?: RuntimeOption;
  /** Called once the runtime is known (at load, or on the first batch for `auto`). */
  onRuntimeChoice?: (choice: RuntimeChoice) => void;
}

/**
 * Loads a model for scoring, from a saved-model folder or a `.onnx` file, through `openModel` of
 * `@rarefy/pilot-model/node`: a `logistic` folder is scored in-process (exact float64); a `.onnx`
 * file, and any folder kind without weights Rarefy can run, by onnxruntime (categorical columns
 * hashed as the model's metadata says); a `neural` folder with its saved weights in TensorFlow.js or
 * onnxruntime, whichever is faster on the first batch (`runtime: 'auto'`), or as `runtime` forces.
 *
 * @param path - a folder (from `rarefy fit --save` or `saveModel`) or a `.onnx` file
 * @param options - input columns for a foreign .onnx file, the runtime
 * @returns the pilot, its kind, path and manifest, and the runtime choice (null until the first
 *   batch for `auto`)
 * @throws RarefyIoError `RAREFY_IO_ERROR` (nothing there, unreadable) or `RAREFY_PARSE_ERROR`
 *   (malformed manifest, damaged file, not ONNX); RarefyError when the model's inputs cannot be bound,
 *   a folder has nothing this command can score, or the runtime asked for cannot score it
 * @example
 * ```ts
 * const model = await loadPilot('models/ctr', { runtime: 'auto' });
 * ```
 */
export async function loadPilot(path: string, options: LoadPilotOptions = {}): Promise<LoadedModel> {
  return openModel(path, {
    runtime: options.runtime ?? 'auto',
    ...(options.features === undefined ? {} : { onnx: { features: options.features } }),
    ...(options.onRuntimeChoice === undefined
      ? {}
      : { runtimeChoice: { onChoice: options.onRuntimeChoice } }),
  });
}

/**
 * Opens the data for a model: columns the model's manifest lists as strings (categorical columns of a
 * network, hashed into its embedding tables) are read as strings even when their values look like
 * numbers, so they are hashed exactly as in training.
 *
 * @param data - the data's path or glob
 * @param model - the loaded model
 * @param options - other read options (`label`)
 * @returns the reader, after checking that the data has every column the model reads
 * @throws RarefyInputError naming the model's columns the data lacks
 * @example
 * ```ts
 * const reader = await openBatchesForModel('today.csv', model);
 * ```
 */
export async function openBatchesForModel(
  data: string,
  model: LoadedModel,
  options: { label?: string } = {},
): Promise<BatchReader> {
  const reader = await openBatches(data, options);
  requireModelColumns(model.pilot.features, reader.schema, data, model.path);
  const types: Record<string, ColumnType> = {};
  for (const feature of model.manifest?.schema.features ?? []) {
    const read = reader.schema.find((column) => column.name === feature.name);
    if (feature.type === 'string' && read !== undefined && read.type !== 'string')
      types[feature.name] = 'string';
  }
  return Object.keys(types).length === 0 ? reader : openBatches(data, { ...options, types });
}

/**
 * One line on the runtime for people: which scores the model, on which backend, and why.
 *
 * @param choice - the runtime choice
 * @returns e.g. `runtime: tfjs (wasm): measured on 8,192 rows ...`
 * @example
 * ```ts
 * io.stderr.write(`${describeRuntime(choice)}\n`);
 * ```
 */
export function describeRuntime(choice: RuntimeChoice): string {
  const backend = choice.backend === undefined ? '' : ` (${choice.backend})`;
  return `runtime: ${choice.runtime}${backend}: ${choice.reason}`;
}

/**
 * Refuses a model whose input columns are not all in the data, naming the missing ones.
 *
 * @param features - the columns the model reads
 * @param schema - the data's columns
 * @param data - the data's path, for the message
 * @param model - the model's path, for the message
 * @returns nothing
 * @throws RarefyInputError `RAREFY_INVALID_ARGUMENT` naming the missing columns
 * @example
 * ```ts
 * requireModelColumns(pilot.features, reader.schema, 'clicks.csv', 'models/ctr');
 * ```
 */
export function requireModelColumns(
  features: readonly string[],
  schema: readonly ColumnSchema[],
  data: string,
  model: string,
): void {
  const present = new Set(schema.map((column) => column.name));
  const missing = features.filter((name) => !present.has(name));
  if (missing.length === 0) return;
  throw new RarefyInputError(
    'RAREFY_INVALID_ARGUMENT',
    `${data}: the model ${model} reads column${missing.length > 1 ? 's' : ''} ${missing.map((name) => `"${name}"`).join(', ')}, which the data does not have (its columns: ${schema.map((column) => column.name).join(', ')})`,
    'score data with the columns the model was trained on (same names), or pass the matching model',
    { input: data, missing },
  );
}

/** The options of `rarefy score`, as commander parses them. */
export interface ScoreOptions {
  /** A saved-model folder or a .onnx file. */
  model: string;
  /** The data to score (CSV, TSV, JSON Lines, LibSVM; a file or a glob). */
  data: string;
  /** The CSV file of probabilities to write. */
  out: string;
  /** Comma-separated columns feeding a foreign .onnx model's input. */
  features?: string;
  /** How a network is scored: `auto` (default), `tfjs` or `onnxruntime`. */
  runtime?: RuntimeOption;
  json?: boolean;
}

/** What `rarefy score --json` prints: one object. `rows`, `out` and `seconds` are the contract. */
export interface ScoreResult {
  /** Rows scored (one probability written per row). */
  rows: number;
  /** The absolute path of the file written. */
  out: string;
  /** Wall-clock seconds, loading the model and writing included. */
  seconds: number;
  /** What scored the rows: `in-process` (logistic), `tfjs` or `onnxruntime`. */
  runtime: ScoringRuntime;
  /** Why that runtime: measured on the first batch (with the timings), forced, or the only way. */
  runtimeReason: string;
  /** The TensorFlow.js backend, when `tfjs` scored the rows. */
  tfjsBackend?: string;
  /** The model's kind (`logistic`, `neural`, ...) or `onnx` for a bare .onnx file. */
  kind: ModelKind | 'onnx';
  /** The absolute path of the model. */
  model: string;
  /** The start-up measurement in milliseconds by runtime (best of the timed runs), when both were timed. */
  runtimeMilliseconds?: Partial<Record<ScoringRuntime, number>>;
  /** Rows of the first batch the runtimes were timed on. */
  runtimeMeasuredRows?: number;
}

/** The name of the one column `rarefy score` writes. */
export const SCORE_COLUMN = 'probability';

function probabilityBatch(probability: Float64Array, firstRow: number): ColumnBatch {
  return {
    schema: [{ name: SCORE_COLUMN, type: 'number' }],
    rows: probability.length,
    firstRow,
    columns: { [SCORE_COLUMN]: probability },
  };
}

function checkCount(probability: Float64Array, batch: ColumnBatch, model: string): void {
  if (probability.length !== batch.rows) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `${model}: ${probability.length} probabilities for a batch of ${batch.rows} rows (rows ${batch.firstRow + 1}..)`,
      'the model must give one score per row: pick an output with one value per row',
      { input: model },
    );
  }
}

/**
 * Scores every row of a file (or glob) with a model and writes one probability per input row, in
 * input order, as a CSV file with the header `probability`, atomically (a temporary file renamed into
 * place when complete). The data is streamed in batches (memory is one batch, whatever the input's
 * size); each batch is scored with one `predictProbability` call. A network saved with its weights
 * runs in TensorFlow.js or onnxruntime: with `runtime: 'auto'` both are timed on the first batch and
 * the faster scores everything; the result says which and why (and so does a line on stderr without
 * `--json`).
 *
 * @param options - the model, the data, the output, the runtime and, for a foreign .onnx file, its
 *   input columns
 * @param context - the command's Io (progress on stderr, the clock)
 * @returns rows, out, seconds, the runtime used and why
 * @throws RarefyInputError naming the columns the model reads that the data lacks; as
 *   {@link loadPilot}, `openBatches` and the model's scoring; RarefyIoError when the output cannot be
 *   written (then nothing is at `out`)
 * @example
 * ```ts
 * const result = await score({ model: 'models/ctr', data: 'today.csv', out: 'scores.csv' }, { io: processIo() });
 * ```
 */
export async function score(options: ScoreOptions, context: CommandContext): Promise<ScoreResult> {
  const { io } = context;
  const started = io.now();
  const out = resolve(options.out);
  const features = featureList(options.features);
  let announce: ((choice: RuntimeChoice) => void) | null = null;
  const model = await loadPilot(options.model, {
    runtime: options.runtime ?? 'auto',
    ...(features === undefined ? {} : { features }),
    onRuntimeChoice: (choice) => announce?.(choice),
  });
  try {
    const reader: BatchReader = await openBatchesForModel(options.data, model);
    const writer: SampleWriter = await openSampleWriter(out, { format: 'csv' });
    const progress = createProgress({
      label: `scoring ${options.data}`,
      json: options.json,
      stream: io.stderr,
      now: io.now,
    });
    // The runtime, once known, goes into the progress text (a line of its own, off --json).
    announce = (choice) => {
      if (!options.json) io.stderr.write(`${describeRuntime(choice)}\n`);
    };
    if (model.choice !== null) announce(model.choice);
    let rows = 0;
    try {
      for await (const batch of reader.batches()) {
        if (batch.rows === 0) continue;
        const probability = await model.pilot.predictProbability(batch);
        checkCount(probability, batch, options.model);
        await writer.write(probabilityBatch(probability, rows));
        rows += batch.rows;
        const runtime = model.choice?.runtime;
        progress.update(
          rows,
          `${rowsPerSecond(io, started, rows)}${runtime === undefined ? '' : `, ${runtime}`}`,
        );
      }
      if (rows === 0) await writer.write(probabilityBatch(new Float64Array(0), 0));
      progress.stop();
      await writer.commit();
    } catch (error) {
      progress.stop();
      await writer.abort();
      throw error;
    }
    const choice = settledChoice(model);
    return {
      rows,
      out,
      seconds: (io.now() - started) / 1000,
      runtime: choice.runtime,
      runtimeReason: choice.reason,
      ...(choice.backend === undefined ? {} : { tfjsBackend: choice.backend }),
      kind: model.kind,
      model: model.path,
      ...(choice.milliseconds === undefined ? {} : { runtimeMilliseconds: choice.milliseconds }),
      ...(choice.measuredRows === undefined ? {} : { runtimeMeasuredRows: choice.measuredRows }),
    };
  } finally {
    await releasePilot(model.pilot);
  }
}

/**
 * The runtime choice of a model after scoring: an `auto` choice that never ran (no rows) reports the
 * first candidate, and says that nothing was measured.
 *
 * @param model - the loaded model
 * @returns the choice
 * @example
 * ```ts
 * const { runtime, reason } = settledChoice(model);
 * ```
 */
export function settledChoice(model: LoadedModel): RuntimeChoice {
  if (model.choice !== null) return model.choice;
  const first = model.pilot instanceof RuntimeChoosingPilot ? model.pilot.candidates[0] : undefined;
  return {
    runtime: first?.runtime ?? 'onnxruntime',
    reason: 'no rows were scored, so no runtime was measured',
    ...(first?.backend === undefined ? {} : { backend: first.backend }),
  };
}

function rowsPerSecond(io: Io, started: number, rows: number): string {
  const seconds = (io.now() - started) / 1000;
  return seconds > 0 ? `${Math.round(rows / seconds).toLocaleString('en-US')} rows/s` : '';
}

/**
 * `--features a,b,c` as a list (undefined when not given).
 *
 * @param text - the option's value
 * @returns the names, trimmed, empty ones dropped
 * @example
 * ```ts
 * featureList('x1, x2'); // ['x1', 'x2']
 * ```
 */
export function featureList(text: string | undefined): string[] | undefined {
  return text
    ?.split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
}

/**
 * Adds `rarefy score` to the program.
 *
 * @param program - the `rarefy` program
 * @param context - the Io the command prints to
 * @returns the subcommand
 * @example
 * ```ts
 * registerScore(program, context);
 * ```
 */
export function registerScore(program: Command, context: CommandContext): Command {
  return program
    .command('score')
    .description(
      'Score every row of a file with a saved model or a .onnx file and write one population-scale ' +
        'probability per input row, in input order (CSV, header `probability`), streaming the data. ' +
        'Logistic models are scored in-process (exact float64) and .onnx files by onnxruntime; a saved ' +
        'network runs in TensorFlow.js (its saved weights) or onnxruntime (its model.onnx), whichever ' +
        'is faster on a sample of the first batch (--runtime auto), and the output says which and why.',
    )
    .requiredOption(
      '--model <dir|file.onnx>',
      'a saved-model folder (from `rarefy fit --save`) or a .onnx file',
    )
    .requiredOption(
      '--data <file|glob>',
      'the rows to score: CSV, TSV, JSON Lines or LibSVM, with the model’s columns (others are ignored)',
    )
    .requiredOption('--out <file.csv>', 'the probabilities to write (atomically: complete or not at all)')
    .option(
      '--features <columns>',
      'comma-separated columns feeding a .onnx model’s input, in its order (for models exported without Rarefy metadata)',
    )
    .addOption(runtimeOption())
    .option(
      '--json',
      'print one JSON object { rows, out, seconds, runtime, runtimeReason, ... } and nothing else on stdout',
    )
    .action(async (options: ScoreOptions) => {
      const result = await score(options, context);
      if (options.json) {
        printJson(context.io, result);
        return;
      }
      printLine(
        context.io,
        `scored ${result.rows.toLocaleString('en-US')} rows with ${result.model} (${result.kind}, ${result.runtime}${result.tfjsBackend === undefined ? '' : ` on ${result.tfjsBackend}`}); ` +
          `wrote ${result.out} in ${formatDuration(result.seconds)}`,
      );
    });
}

/**
 * The `--runtime <auto|tfjs|onnxruntime>` option of `rarefy score` and `rarefy sample`.
 *
 * @returns the option, default `auto`
 * @example
 * ```ts
 * command.addOption(runtimeOption());
 * ```
 */
export function runtimeOption(): Option {
  return new Option(
    '--runtime <runtime>',
    'how a saved network is scored: auto (time TensorFlow.js and onnxruntime on a sample of the first batch, keep the faster), tfjs (its saved weights) or onnxruntime (its model.onnx); logistic models always run in-process',
  )
    .choices(RUNTIME_OPTIONS)
    .default('auto');
}
