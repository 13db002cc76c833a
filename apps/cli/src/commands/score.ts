import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type BatchReader, openBatches, openSampleWriter, type SampleWriter } from '@rarefy/data-io/node';
import {
  FEATURE_HASH_FUNCTION,
  hashDictionary,
  hashFeature,
  type LogisticPilot,
  logisticFromSavedFiles,
  METADATA_HASHING,
  type ModelKind,
  type ModelManifest,
} from '@rarefy/pilot-model';
import { type ModelFolder, type ModelLoader, OnnxPilot, readModelFolder } from '@rarefy/pilot-model/node';
import {
  type ColumnBatch,
  type ColumnData,
  type ColumnSchema,
  type Pilot,
  RarefyError,
  RarefyInputError,
  RarefyIoError,
} from '@rarefy/sampling-core';
import type { Command } from 'commander';
import { formatDuration } from '../format.js';
import { type Io, printJson, printLine } from '../io.js';
import type { CommandContext } from '../program.js';
import { createProgress } from '../progress.js';

/**
 * What scores a model's rows: `in-process` (a logistic model's float64 sigma(x'beta) in JavaScript,
 * exact and faster than any runtime round trip), `onnxruntime` (the model's ONNX through
 * onnxruntime-node) or `tfjs` (a network loaded by a TensorFlow.js loader).
 */
export type ScoringRuntime = 'in-process' | 'onnxruntime' | 'tfjs';

/** One way of scoring a model. */
export interface PilotCandidate {
  readonly runtime: ScoringRuntime;
  readonly pilot: Pilot;
}

/** A model loaded for scoring: the pilot to use, what it is and where it came from. */
export interface LoadedPilot {
  /** The pilot chosen so far (the first candidate until {@link chooseFasterPilot} has run). */
  readonly pilot: Pilot;
  readonly runtime: ScoringRuntime;
  /** Every way of scoring this model (one, or two for a network with a tfjs loader and model.onnx). */
  readonly candidates: readonly PilotCandidate[];
  /** The folder's kind, or `onnx` for a bare .onnx file. */
  readonly kind: ModelKind | 'onnx';
  /** The absolute path loaded. */
  readonly path: string;
  /** The folder's manifest (null for a .onnx file). */
  readonly manifest: ModelManifest | null;
}

/** Options of {@link loadPilot}. */
export interface LoadPilotOptions {
  /**
   * The batch columns feeding a .onnx file's input, in the model's order: needed for models
   * exported elsewhere without Rarefy's `rarefy.inputs` metadata.
   */
  features?: readonly string[];
  /**
   * TensorFlow.js loaders by kind (for example `neural`). When one is given for a folder that also
   * has `model.onnx`, both runtimes are candidates and {@link chooseFasterPilot} keeps the faster.
   */
  tfjsLoaders?: Partial<Record<ModelKind, ModelLoader>>;
}

function systemMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isDictionary(column: ColumnData): column is Extract<ColumnData, { kind: 'dictionary' }> {
  return !ArrayBuffer.isView(column);
}

/**
 * A batch transform that hashes the categorical columns an ONNX model's metadata names
 * (`rarefy.hashing`, as `mlpToOnnx` writes it for a network with embeddings) into the int64 bucket
 * ids its inputs take, exactly as the network hashed them in training: string (dictionary) columns
 * are hashed; integer columns are taken as ids already hashed. Undefined when the model hashes
 * nothing.
 *
 * @param metadata - the model's metadata_props
 * @param source - the model, for messages
 * @returns the transform, or undefined
 * @throws RarefyError `RAREFY_PARSE_ERROR` for a malformed record; `RAREFY_INVALID_ARGUMENT` for a
 *   hash function this version does not implement
 * @example
 * ```ts
 * const transform = hashingTransform(inspectOnnxModel(bytes).metadata, 'model.onnx');
 * ```
 */
export function hashingTransform(
  metadata: Readonly<Record<string, string>>,
  source: string,
): ((batch: ColumnBatch) => ColumnBatch) | undefined {
  const text = metadata[METADATA_HASHING];
  if (text === undefined) return undefined;
  const malformed = (problem: string): never => {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${source}: metadata ${METADATA_HASHING} ${problem}`,
      'export the model again with mlpToOnnx (the record is written for you)',
      { input: source },
    );
  };
  let record: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) malformed('is not a JSON object');
    record = parsed as Record<string, unknown>;
  } catch (error) {
    if (error instanceof RarefyError) throw error;
    malformed(`is not JSON (${systemMessage(error)})`);
  }
  if (record.function !== FEATURE_HASH_FUNCTION) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${source}: its categorical columns are hashed with ${String(record.function)}, which this version does not implement (it implements ${FEATURE_HASH_FUNCTION})`,
      'hash the columns to integer ids before scoring, or export the model with this version',
      { input: source },
    );
  }
  const columns = record.columns;
  if (!Array.isArray(columns) || !columns.every((name) => typeof name === 'string')) {
    return malformed('has no `columns` list');
  }
  const missing = typeof record.missing === 'string' ? record.missing : '';
  const hashing = columns.map((name: string) => {
    const seed = record[`${name}.seed`] ?? record.seed;
    const buckets = record[`${name}.buckets`] ?? record.buckets;
    if (typeof seed !== 'number' || typeof buckets !== 'number') {
      return malformed(`has no seed and bucket count for column "${name}"`);
    }
    return { name, seed, buckets };
  });
  return (batch) => {
    const replaced: Record<string, ColumnData> = { ...batch.columns };
    let changed = false;
    for (const { name, seed, buckets } of hashing) {
      const column = batch.columns[name];
      if (column === undefined || !isDictionary(column)) continue;
      const ids = hashDictionary(column.values, {
        function: FEATURE_HASH_FUNCTION,
        seed,
        buckets,
        missing: '',
      });
      const missingId = hashFeature(missing, seed, buckets);
      const out = new Int32Array(batch.rows);
      for (let i = 0; i < batch.rows; i++) {
        const code = column.codes[i] as number;
        out[i] = code < 0 ? missingId : (ids[code] as number);
      }
      replaced[name] = out;
      changed = true;
    }
    if (!changed) return batch;
    const hashed = new Set(hashing.map(({ name }) => name));
    const schema: ColumnSchema[] = batch.schema.map((column) =>
      hashed.has(column.name) && column.type === 'string' ? { name: column.name, type: 'integer' } : column,
    );
    return { ...batch, schema, columns: replaced };
  };
}

async function onnxCandidate(
  model: Uint8Array | string,
  source: string,
  features: readonly string[] | undefined,
): Promise<PilotCandidate> {
  const first = await OnnxPilot.create(model, {
    source,
    ...(features === undefined ? {} : { features }),
  });
  const transform = hashingTransform(first.summary.metadata, source);
  if (transform === undefined) return { runtime: 'onnxruntime', pilot: first };
  await first.release();
  const pilot = await OnnxPilot.create(model, {
    source,
    transform,
    ...(features === undefined ? {} : { features }),
  });
  return { runtime: 'onnxruntime', pilot };
}

/**
 * Loads a model for scoring, from a saved-model folder or a `.onnx` file. A `logistic` folder is
 * scored in-process (exact float64, and a dot product is faster in JavaScript than a round trip
 * through a runtime); a `.onnx` file, and any other kind through its `model.onnx`, by onnxruntime
 * (categorical columns hashed as the model's metadata says). A network is also loaded in
 * TensorFlow.js when a loader for its kind is given; then both are candidates and
 * {@link chooseFasterPilot} picks one on the first batch. `@rarefy/pilot-model` has no loader that
 * rebuilds a `NeuralPilot` from a folder (a folder holds the network as ONNX), so the CLI passes
 * none and networks are scored by onnxruntime.
 *
 * @param path - a folder (from `rarefy fit --save` or `saveModel`) or a `.onnx` file
 * @param options - input columns for a foreign .onnx file, tfjs loaders
 * @returns the pilot and its candidates
 * @throws RarefyIoError `RAREFY_IO_ERROR` (nothing there, unreadable) or `RAREFY_PARSE_ERROR`
 *   (malformed manifest, damaged file, not ONNX); RarefyError when the model's inputs cannot be bound
 *   or a folder has nothing this command can score
 * @example
 * ```ts
 * const { pilot, runtime } = await loadPilot('models/ctr');
 * ```
 */
export async function loadPilot(path: string, options: LoadPilotOptions = {}): Promise<LoadedPilot> {
  const absolute = resolve(path);
  let isFile: boolean;
  try {
    isFile = (await stat(absolute)).isFile();
  } catch (error) {
    throw new RarefyIoError(
      'RAREFY_IO_ERROR',
      `${path}: cannot read the model (${systemMessage(error)})`,
      'pass a saved-model folder (from `rarefy fit --save`) or a .onnx file',
      { input: path },
    );
  }
  if (isFile) {
    const candidate = await onnxCandidate(absolute, path, options.features);
    return { ...candidate, candidates: [candidate], kind: 'onnx', path: absolute, manifest: null };
  }
  const folder: ModelFolder = await readModelFolder(absolute);
  const { manifest } = folder;
  if (manifest.kind === 'logistic') {
    const pilot: LogisticPilot = logisticFromSavedFiles(
      manifest as ModelManifest<'logistic'>,
      folder.files,
      absolute,
    );
    const candidate: PilotCandidate = { runtime: 'in-process', pilot };
    return { ...candidate, candidates: [candidate], kind: 'logistic', path: absolute, manifest };
  }
  const candidates: PilotCandidate[] = [];
  const loader = options.tfjsLoaders?.[manifest.kind];
  if (loader !== undefined) candidates.push({ runtime: 'tfjs', pilot: await loader(folder) });
  const onnxFile = manifest.files.find((file) => file.role === 'onnx');
  const bytes = onnxFile === undefined ? undefined : folder.files.get(onnxFile.path);
  if (onnxFile !== undefined && bytes !== undefined) {
    candidates.push(await onnxCandidate(bytes, join(path, onnxFile.path), undefined));
  }
  const first = candidates[0];
  if (first === undefined) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${path}: a ${manifest.kind} model without model.onnx, which this command cannot score`,
      'save the model with its ONNX export (the default of saveModel), or pass its model.onnx',
      { input: path },
    );
  }
  return { ...first, candidates, kind: manifest.kind, path: absolute, manifest };
}

/**
 * Releases a pilot's native resources (an onnxruntime session) when it has any.
 *
 * @param pilot - any pilot
 * @returns when released
 * @example
 * ```ts
 * await releasePilot(loaded.pilot);
 * ```
 */
export async function releasePilot(pilot: Pilot): Promise<void> {
  if (pilot instanceof OnnxPilot) await pilot.release();
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

/** What {@link chooseFasterPilot} measured and kept. */
export interface RuntimeChoice {
  readonly runtime: ScoringRuntime;
  readonly pilot: Pilot;
  /** The kept candidate's probabilities for the batch measured. */
  readonly probability: Float64Array;
  /** Milliseconds per candidate for the timed run (after one warm-up run), by runtime. */
  readonly milliseconds: Partial<Record<ScoringRuntime, number>>;
}

/**
 * Scores one batch with every candidate — a warm-up run, then a timed run — and keeps the fastest
 * (the others are released). With one candidate it just scores the batch.
 *
 * @param candidates - the ways of scoring the model
 * @param batch - the first batch of the data
 * @param now - a clock in milliseconds
 * @returns the candidate kept, its probabilities for the batch and the timings
 * @example
 * ```ts
 * const choice = await chooseFasterPilot(loaded.candidates, firstBatch, () => performance.now());
 * ```
 */
export async function chooseFasterPilot(
  candidates: readonly PilotCandidate[],
  batch: ColumnBatch,
  now: () => number,
): Promise<RuntimeChoice> {
  const [only] = candidates;
  if (only === undefined) {
    throw new RarefyError('RAREFY_INVALID_ARGUMENT', 'candidates: none given', 'pass at least one pilot');
  }
  if (candidates.length === 1) {
    return {
      runtime: only.runtime,
      pilot: only.pilot,
      probability: await only.pilot.predictProbability(batch),
      milliseconds: {},
    };
  }
  const milliseconds: Partial<Record<ScoringRuntime, number>> = {};
  let best: { candidate: PilotCandidate; time: number; probability: Float64Array } | null = null;
  for (const candidate of candidates) {
    await candidate.pilot.predictProbability(batch); // warm-up: sessions and kernels start lazily
    const started = now();
    const probability = await candidate.pilot.predictProbability(batch);
    const time = now() - started;
    milliseconds[candidate.runtime] = time;
    if (best === null || time < best.time) best = { candidate, time, probability };
  }
  const kept = best as NonNullable<typeof best>;
  for (const candidate of candidates) {
    if (candidate !== kept.candidate) await releasePilot(candidate.pilot);
  }
  return {
    runtime: kept.candidate.runtime,
    pilot: kept.candidate.pilot,
    probability: kept.probability,
    milliseconds,
  };
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
  /** What scored the rows (see {@link ScoringRuntime}). */
  runtime: ScoringRuntime;
  /** The model's kind (`logistic`, `neural`, ...) or `onnx` for a bare .onnx file. */
  kind: ModelKind | 'onnx';
  /** The absolute path of the model. */
  model: string;
  /** The start-up measurement in milliseconds by runtime, when there was a choice to make. */
  runtimeMilliseconds?: Partial<Record<ScoringRuntime, number>>;
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
 * size); each batch is scored with one `predictProbability` call.
 *
 * @param options - the model, the data, the output and, for a foreign .onnx file, its input columns
 * @param context - the command's Io (progress on stderr, the clock)
 * @param loadOptions - tfjs loaders for networks (the CLI passes none; see {@link loadPilot})
 * @returns rows, out, seconds, the runtime used
 * @throws RarefyInputError naming the columns the model reads that the data lacks; as
 *   {@link loadPilot}, `openBatches` and the model's scoring; RarefyIoError when the output cannot be
 *   written (then nothing is at `out`)
 * @example
 * ```ts
 * const result = await score({ model: 'models/ctr', data: 'today.csv', out: 'scores.csv' }, { io: processIo() });
 * ```
 */
export async function score(
  options: ScoreOptions,
  context: CommandContext,
  loadOptions: Pick<LoadPilotOptions, 'tfjsLoaders'> = {},
): Promise<ScoreResult> {
  const { io } = context;
  const started = io.now();
  const out = resolve(options.out);
  const features = featureList(options.features);
  const loaded = await loadPilot(options.model, {
    ...loadOptions,
    ...(features === undefined ? {} : { features }),
  });
  let pilots = loaded.candidates.map((candidate) => candidate.pilot);
  try {
    const reader: BatchReader = await openBatches(options.data);
    requireModelColumns(loaded.pilot.features, reader.schema, options.data, options.model);
    const writer: SampleWriter = await openSampleWriter(out, { format: 'csv' });
    const progress = createProgress({
      label: `scoring ${options.data}`,
      json: options.json,
      stream: io.stderr,
      now: io.now,
    });
    let rows = 0;
    let runtime = loaded.runtime;
    let runtimeMilliseconds: ScoreResult['runtimeMilliseconds'];
    try {
      let pilot: Pilot | null = null;
      for await (const batch of reader.batches()) {
        if (batch.rows === 0) continue;
        let probability: Float64Array;
        if (pilot === null) {
          const choice = await chooseFasterPilot(loaded.candidates, batch, io.now);
          pilot = choice.pilot;
          pilots = [choice.pilot];
          runtime = choice.runtime;
          if (loaded.candidates.length > 1) runtimeMilliseconds = choice.milliseconds;
          probability = choice.probability;
        } else {
          probability = await pilot.predictProbability(batch);
        }
        checkCount(probability, batch, options.model);
        await writer.write(probabilityBatch(probability, rows));
        rows += batch.rows;
        progress.update(rows, rowsPerSecond(io, started, rows));
      }
      if (rows === 0) await writer.write(probabilityBatch(new Float64Array(0), 0));
      progress.stop();
      await writer.commit();
    } catch (error) {
      progress.stop();
      await writer.abort();
      throw error;
    }
    return {
      rows,
      out,
      seconds: (io.now() - started) / 1000,
      runtime,
      kind: loaded.kind,
      model: loaded.path,
      ...(runtimeMilliseconds === undefined ? {} : { runtimeMilliseconds }),
    };
  } finally {
    for (const pilot of pilots) await releasePilot(pilot);
  }
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
        'Logistic models are scored in-process (exact float64); .onnx files and networks by ' +
        'onnxruntime: a saved network holds its weights as model.onnx and @rarefy/pilot-model has no ' +
        'TensorFlow.js loader for it (library callers of score() that pass one get both runtimes timed ' +
        'on the first batch and the faster kept).',
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
    .option('--json', 'print one JSON object { rows, out, seconds, runtime, ... } and nothing else on stdout')
    .action(async (options: ScoreOptions) => {
      const result = await score(options, context);
      if (options.json) {
        printJson(context.io, result);
        return;
      }
      printLine(
        context.io,
        `scored ${result.rows.toLocaleString('en-US')} rows with ${result.model} (${result.kind}, ${result.runtime}); ` +
          `wrote ${result.out} in ${formatDuration(result.seconds)}`,
      );
    });
}
