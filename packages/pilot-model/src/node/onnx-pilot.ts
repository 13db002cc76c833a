import { readFile } from 'node:fs/promises';
import {
  type ColumnBatch,
  type Pilot,
  RarefyError,
  RarefyInputError,
  RarefyIoError,
  sigmoid,
} from '@rarefy/sampling-core';
import { env, InferenceSession, Tensor } from 'onnxruntime-node';
import { hashingTransform } from '../onnx/hashing.js';
import { inspectOnnxModel, type OnnxModelSummary } from '../onnx/inspect.js';
import {
  METADATA_INPUTS,
  METADATA_OUTPUT_KIND,
  type OnnxInputBinding,
  type OnnxInputType,
} from '../onnx/metadata.js';

/** How an ONNX model's output is read: a probability, a logit, or detected on the first batch. */
export type OnnxOutputKindOption = 'probability' | 'logit' | 'auto';

/** Options of {@link OnnxPilot.create}. */
export interface OnnxPilotOptions {
  /**
   * Batch columns feeding the model's single input, in its column order. Default: the columns the
   * model's Rarefy metadata (`rarefy.inputs`) names; required for models exported elsewhere.
   */
  features?: readonly string[];
  /** The input `features` feed (default: the model's only input). */
  inputName?: string;
  /**
   * Every input's binding, for models with several inputs (for example numeric features and hashed
   * ids). Overrides `features` and `inputName`. For a model with one [N, 1] or [N] input per column
   * named after the column (a common scikit-learn export), passing `features` alone is enough.
   */
  inputs?: readonly OnnxInputBinding[];
  /**
   * The output to read. Default: an output named `probability` or `probabilities` if there is one,
   * else the model's first float tensor output (scikit-learn's first output is the int64 label).
   */
  outputName?: string;
  /**
   * `probability`, `logit`, or `auto` (default): see {@link OnnxPilot} for the heuristic. Pass it
   * explicitly when you know: detection looks at the first batch only.
   */
  outputKind?: OnnxOutputKindOption;
  /**
   * Applied to every batch before its columns are read. Default: for a model whose metadata has a
   * hashing record (`rarefy.hashing`, written by `mlpToOnnx` for a network with embeddings), string
   * columns are hashed into the int64 ids its inputs take, exactly as in training (see
   * {@link hashingTransform}); otherwise none.
   */
  transform?: (batch: ColumnBatch) => ColumnBatch;
  /** onnxruntime session options (threads, optimisation level). */
  sessionOptions?: InferenceSession.SessionOptions;
  /** The model's name in messages (default: the path, or `model.onnx` for bytes). */
  source?: string;
}

const INPUT_TYPES: readonly OnnxInputType[] = ['float32', 'float64', 'int64', 'int32'];

type ResolvedBinding = {
  readonly name: string;
  readonly columns: readonly string[];
  readonly type: OnnxInputType;
  readonly rank: number;
};

function describeShape(metadata: InferenceSession.ValueMetadata | undefined): string {
  if (metadata === undefined || !metadata.isTensor) return 'a non-tensor value';
  return `${metadata.type} [${metadata.shape.map(String).join(', ')}]`;
}

/**
 * Any ONNX binary classifier as a {@link Pilot}, run by onnxruntime-node (for example a model exported
 * from scikit-learn, LightGBM or PyTorch, or by {@link logisticToOnnx} / {@link mlpToOnnx}). Rows of a
 * batch are packed into one tensor per input and scored with one asynchronous run.
 *
 * Output: an [N, 1] or [N] output is taken as it is; an [N, 2] output (scikit-learn's
 * `probabilities`) gives column 1 (as a logit pair: z1 - z0).
 *
 * `outputKind: 'auto'` decides once, on the first non-empty batch: (1) any value outside [0, 1]
 * means a logit; (2) otherwise an output produced by a Sigmoid or Softmax node (through shape-only
 * operators), or by an ai.onnx.ml classifier with a LOGISTIC/SOFTMAX post-transform, is a
 * probability, and a model exported by Rarefy is read as its metadata (`rarefy.output`) says;
 * (3) otherwise values all within [0, 1] are taken as a probability. Rule 3 can misread
 * a logit model whose first batch happens to lie in [0, 1]; a later value outside [0, 1] then raises
 * an error telling you to pass `outputKind: 'logit'`. {@link OnnxPilot.detectedOutputKind} says what
 * was chosen.
 *
 * @example
 * ```ts
 * import { OnnxPilot } from '@rarefy/pilot-model/node';
 *
 * const pilot = await OnnxPilot.create('model.onnx', { features: ['x1', 'x2', 'x3'] });
 * const p = await pilot.predictProbability(batch);
 * await pilot.release();
 * ```
 */
export class OnnxPilot implements Pilot {
  /** Every batch column the model reads, in binding order. */
  readonly features: readonly string[];
  /** How each model input is fed. */
  readonly inputs: readonly OnnxInputBinding[];
  /** The output read. */
  readonly outputName: string;
  /** The output kind asked for. */
  readonly outputKind: OnnxOutputKindOption;
  /** The model's summary (inputs, outputs, metadata, output scale hints). */
  readonly summary: OnnxModelSummary;
  private readonly session: InferenceSession;
  private readonly bindings: readonly ResolvedBinding[];
  private readonly source: string;
  private readonly transform: ((batch: ColumnBatch) => ColumnBatch) | undefined;
  private detected: 'probability' | 'logit' | null;

  private constructor(
    session: InferenceSession,
    bindings: readonly ResolvedBinding[],
    outputName: string,
    outputKind: OnnxOutputKindOption,
    summary: OnnxModelSummary,
    source: string,
    transform: ((batch: ColumnBatch) => ColumnBatch) | undefined,
  ) {
    this.session = session;
    this.transform = transform;
    this.bindings = bindings;
    this.inputs = bindings.map(({ name, columns, type }) => ({ name, columns, type }));
    const seen = new Set<string>();
    for (const binding of bindings) for (const column of binding.columns) seen.add(column);
    this.features = [...seen];
    this.outputName = outputName;
    this.outputKind = outputKind;
    this.summary = summary;
    this.source = source;
    this.detected = outputKind === 'auto' ? null : outputKind;
  }

  /**
   * Loads a model and binds its inputs to batch columns.
   *
   * @param model - a `.onnx` path or the model's bytes
   * @param options - input binding, output name and kind, session options
   * @returns the pilot
   * @throws RarefyIoError `RAREFY_IO_ERROR` (unreadable file) or `RAREFY_PARSE_ERROR` (not a model);
   *   RarefyError `RAREFY_DIMENSION_MISMATCH` / `RAREFY_INVALID_ARGUMENT` when the model's inputs or
   *   outputs do not match the columns and names given
   * @example
   * ```ts
   * const pilot = await OnnxPilot.create(bytes, { inputs: [
   *   { name: 'features', columns: ['age', 'price'] },
   *   { name: 'site', columns: ['site_hash'], type: 'int64' },
   * ] });
   * ```
   */
  static async create(model: Uint8Array | string, options: OnnxPilotOptions = {}): Promise<OnnxPilot> {
    const source = options.source ?? (typeof model === 'string' ? model : 'model.onnx');
    let bytes: Uint8Array;
    if (typeof model === 'string') {
      try {
        bytes = await readFile(model);
      } catch (error) {
        throw new RarefyIoError(
          'RAREFY_IO_ERROR',
          `${source}: cannot read the ONNX model (${error instanceof Error ? error.message : String(error)})`,
          'check the path to the .onnx file',
          { input: source },
        );
      }
    } else {
      bytes = model;
    }
    const summary = inspectOnnxModel(bytes, source);
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(bytes, options.sessionOptions ?? {});
    } catch (error) {
      throw new RarefyIoError(
        'RAREFY_PARSE_ERROR',
        `${source}: onnxruntime ${onnxruntimeVersion()} cannot load the model (${error instanceof Error ? error.message : String(error)})`,
        'check that the model is valid and uses operators and an opset this onnxruntime supports',
        { input: source },
      );
    }
    try {
      const bindings = resolveBindings(session, summary, options, source);
      const outputName = resolveOutput(session, options.outputName, source);
      const outputKind = options.outputKind ?? 'auto';
      requireOutputKind(outputKind);
      const transform = options.transform ?? hashingTransform(summary.metadata, source);
      return new OnnxPilot(session, bindings, outputName, outputKind, summary, source, transform);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  /** The output scale in use: the one asked for, or the one `auto` detected (null before the first batch). */
  get detectedOutputKind(): 'probability' | 'logit' | null {
    return this.detected;
  }

  /**
   * Population-scale probabilities for a batch, from one onnxruntime run.
   *
   * @param input - rows with every bound column (after `transform`)
   * @returns one probability per row
   * @throws RarefyInputError when a column is missing or holds values the input cannot take;
   *   RarefyError when the output is not a probability (or logit) per row
   * @example
   * ```ts
   * const p = await pilot.predictProbability(batch);
   * ```
   */
  async predictProbability(input: ColumnBatch): Promise<Float64Array> {
    const batch = this.transform === undefined ? input : this.transform(input);
    const n = batch.rows;
    if (n === 0) return new Float64Array(0);
    const feeds: Record<string, Tensor> = {};
    for (const binding of this.bindings) feeds[binding.name] = this.inputTensor(batch, binding);
    let results: InferenceSession.ReturnType;
    try {
      results = await this.session.run(feeds, [this.outputName]);
    } catch (error) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${this.source}: onnxruntime failed on rows ${batch.firstRow}..${batch.firstRow + n - 1} (${error instanceof Error ? error.message : String(error)})`,
        'check the input binding (columns, order, types) against the model',
        { input: this.source },
      );
    }
    const output = results[this.outputName];
    if (output === undefined) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${this.source}: the run returned no "${this.outputName}"`,
        'pass outputName naming one of the model outputs',
        { input: this.source },
      );
    }
    return this.toProbability(output, n, batch.firstRow);
  }

  /**
   * Releases the onnxruntime session.
   *
   * @returns when released
   * @example
   * ```ts
   * await pilot.release();
   * ```
   */
  async release(): Promise<void> {
    await this.session.release();
  }

  /** Rules 2 and 3 of the auto heuristic, for a first batch with every value in [0, 1]. */
  private staticScale(): 'probability' | 'logit' {
    if (this.summary.outputScale[this.outputName] === 'probability') return 'probability';
    // A model exported by Rarefy records its output's scale (only meaningful for its single output).
    const declared = this.summary.metadata[METADATA_OUTPUT_KIND];
    if (this.summary.outputs.length === 1 && (declared === 'probability' || declared === 'logit'))
      return declared;
    return 'probability';
  }

  private inputTensor(batch: ColumnBatch, binding: ResolvedBinding): Tensor {
    const n = batch.rows;
    const k = binding.columns.length;
    const size = n * k;
    const data =
      binding.type === 'float32'
        ? new Float32Array(size)
        : binding.type === 'float64'
          ? new Float64Array(size)
          : binding.type === 'int32'
            ? new Int32Array(size)
            : new BigInt64Array(size);
    binding.columns.forEach((name, j) => {
      const column = batch.columns[name];
      if (column === undefined) {
        throw new RarefyInputError(
          'RAREFY_INVALID_ARGUMENT',
          `batch: no column "${name}" for ONNX input "${binding.name}" of ${this.source} (columns: ${batch.schema.map((c) => c.name).join(', ')})`,
          'read the data with the columns the model was trained on, or bind the inputs to existing columns',
          { input: name },
        );
      }
      if (!(column instanceof Float64Array || column instanceof Uint8Array || column instanceof Int32Array)) {
        throw new RarefyInputError(
          'RAREFY_INVALID_ARGUMENT',
          `batch: column "${name}" holds strings, but ONNX input "${binding.name}" takes ${binding.type}`,
          binding.type === 'int64'
            ? 'hash the column to integer ids first (as the model manifest’s hashing record says)'
            : 'encode the column as numbers, or leave it out of the features',
          { input: name },
        );
      }
      if (data instanceof BigInt64Array) {
        for (let i = 0, at = j; i < n; i++, at += k) {
          const value = column[i] as number;
          if (!Number.isSafeInteger(value)) {
            throw new RarefyInputError(
              'RAREFY_INVALID_ARGUMENT',
              `batch: column "${name}" row ${batch.firstRow + i} is ${value}, not an integer id for int64 input "${binding.name}"`,
              'pass integer ids (hashed categorical values)',
              { input: name, row: batch.firstRow + i },
            );
          }
          data[at] = BigInt(value);
        }
      } else {
        for (let i = 0, at = j; i < n; i++, at += k) data[at] = column[i] as number;
      }
    });
    const dims = binding.rank === 1 ? [n] : [n, k];
    return new Tensor(binding.type, data, dims);
  }

  private toProbability(output: Tensor, n: number, firstRow: number): Float64Array {
    const dims = output.dims;
    const fail = (problem: string): never => {
      throw new RarefyError(
        'RAREFY_DIMENSION_MISMATCH',
        `${this.source}: output "${this.outputName}" ${problem}`,
        'pick an output with one score per row ([N], [N, 1], or [N, 2] class probabilities) via outputName',
        { input: this.source },
      );
    };
    if (output.type !== 'float32' && output.type !== 'float64') fail(`is ${output.type}, not a float tensor`);
    const values = output.data as Float32Array | Float64Array;
    let width = 1;
    if (dims.length === 1 && dims[0] === n) width = 1;
    else if (dims.length === 2 && dims[0] === n && (dims[1] === 1 || dims[1] === 2))
      width = dims[1] as number;
    else fail(`has shape [${dims.join(', ')}] for ${n} rows`);
    // The score per row: the value, or for a class pair column 1 (probabilities) / z1 - z0 (logits).
    const score = new Float64Array(n);
    let outside = -1;
    for (let i = 0; i < n; i++) {
      const value = values[i * width + width - 1] as number;
      if (Number.isNaN(value)) {
        throw new RarefyError(
          'RAREFY_NON_FINITE',
          `${this.source}: output "${this.outputName}" is NaN on row ${firstRow + i}`,
          'check that row’s feature values (missing values must be encoded as the model expects)',
          { input: this.source, row: firstRow + i },
        );
      }
      score[i] = value;
      if (outside < 0 && !(value >= 0 && value <= 1)) outside = i;
    }
    if (this.detected === null) this.detected = outside >= 0 ? 'logit' : this.staticScale();
    if (this.detected === 'probability') {
      if (outside >= 0) {
        throw new RarefyError(
          'RAREFY_INVALID_ARGUMENT',
          `${this.source}: output "${this.outputName}" is ${score[outside]} on row ${firstRow + outside}, outside [0, 1], but it is read as a probability${this.outputKind === 'auto' ? ' (detected on the first batch)' : ''}`,
          "pass outputKind: 'logit' when the model outputs log odds",
          { input: this.source, row: firstRow + outside },
        );
      }
      return score;
    }
    for (let i = 0; i < n; i++) {
      const z = width === 2 ? (score[i] as number) - (values[i * 2] as number) : (score[i] as number);
      score[i] = sigmoid(z);
    }
    return score;
  }
}

function requireOutputKind(kind: string): void {
  if (kind !== 'probability' && kind !== 'logit' && kind !== 'auto') {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `outputKind: '${kind}' is not an output kind`,
      "pass 'probability', 'logit' or 'auto'",
      { input: 'outputKind' },
    );
  }
}

function inputMetadata(session: InferenceSession, name: string): InferenceSession.ValueMetadata | undefined {
  return session.inputMetadata.find((metadata) => metadata.name === name);
}

function metadataBindings(summary: OnnxModelSummary, source: string): OnnxInputBinding[] | null {
  const text = summary.metadata[METADATA_INPUTS];
  if (text === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  if (
    !Array.isArray(parsed) ||
    !parsed.every(
      (entry: unknown) =>
        typeof entry === 'object' &&
        entry !== null &&
        typeof (entry as { name?: unknown }).name === 'string' &&
        Array.isArray((entry as { columns?: unknown }).columns),
    )
  ) {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${source}: metadata "${METADATA_INPUTS}" is not a list of { name, columns }`,
      'pass the input binding explicitly (features or inputs)',
      { input: source },
    );
  }
  return parsed as OnnxInputBinding[];
}

function resolveBindings(
  session: InferenceSession,
  summary: OnnxModelSummary,
  options: OnnxPilotOptions,
  source: string,
): ResolvedBinding[] {
  const modelInputs = session.inputNames;
  const describeInputs = (): string =>
    modelInputs.map((name) => `"${name}" ${describeShape(inputMetadata(session, name))}`).join(', ');
  let bindings: readonly OnnxInputBinding[];
  if (options.inputs !== undefined) {
    bindings = options.inputs;
  } else if (modelInputs.length === 1) {
    const name = options.inputName ?? (modelInputs[0] as string);
    const fromMetadata = metadataBindings(summary, source)?.find((binding) => binding.name === name);
    const columns = options.features ?? fromMetadata?.columns;
    if (columns === undefined) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${source}: the model does not say which columns feed its input ${describeInputs()}`,
        'pass features: the column names in the order the model was trained on',
        { input: source },
      );
    }
    bindings = [{ name, columns, ...(fromMetadata?.type === undefined ? {} : { type: fromMetadata.type }) }];
  } else {
    const fromMetadata = metadataBindings(summary, source);
    if (fromMetadata !== null && options.features === undefined) {
      bindings = fromMetadata;
    } else if (
      options.features !== undefined &&
      options.features.length === modelInputs.length &&
      modelInputs.every((name) => options.features?.includes(name))
    ) {
      // One input per column, named after it (scikit-learn style).
      bindings = modelInputs.map((name) => ({ name, columns: [name] }));
    } else {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${source}: the model has ${modelInputs.length} inputs (${describeInputs()}) and no binding of columns to them was given${options.features === undefined ? '' : ` (features: ${options.features.join(', ')})`}`,
        'pass inputs: [{ name, columns }] for every model input',
        { input: source },
      );
    }
  }
  const bound = new Set<string>();
  const resolved: ResolvedBinding[] = [];
  for (const binding of bindings) {
    const metadata = inputMetadata(session, binding.name);
    if (!modelInputs.includes(binding.name) || metadata === undefined) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${source}: the model has no input "${binding.name}" (inputs: ${describeInputs()})`,
        'bind the model’s own input names',
        { input: binding.name },
      );
    }
    if (bound.has(binding.name)) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `inputs: "${binding.name}" is bound twice`,
        'bind each model input once',
        {
          input: binding.name,
        },
      );
    }
    bound.add(binding.name);
    if (!metadata.isTensor) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${source}: input "${binding.name}" is not a tensor`,
        'use a model whose inputs are numeric tensors',
        { input: binding.name },
      );
    }
    const modelType = metadata.type;
    const type = binding.type ?? modelType;
    if (
      !(INPUT_TYPES as readonly string[]).includes(type) ||
      (binding.type !== undefined && binding.type !== modelType)
    ) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${source}: input "${binding.name}" expects ${describeShape(metadata)}${binding.type !== undefined && binding.type !== modelType ? `, not ${binding.type}` : ''}`,
        `Rarefy feeds ${INPUT_TYPES.join(', ')} inputs; bind the input with the model's type`,
        { input: binding.name },
      );
    }
    const shape = metadata.shape;
    const k = binding.columns.length;
    const width = shape.length === 2 ? shape[1] : shape.length === 1 ? 1 : undefined;
    const widthMatches = shape.length === 0 || (typeof width === 'number' ? width === k || width < 0 : true);
    if (shape.length > 2 || (shape.length === 1 && k !== 1) || !widthMatches || k === 0) {
      throw new RarefyError(
        'RAREFY_DIMENSION_MISMATCH',
        `${source}: input "${binding.name}" expects ${describeShape(metadata)}, but ${k} column${k === 1 ? '' : 's'} ${k === 1 ? 'was' : 'were'} given (${binding.columns.join(', ')})`,
        'pass the columns the model was trained on, in its order (features or inputs)',
        { input: binding.name, expected: shape.map(String), columns: [...binding.columns] },
      );
    }
    resolved.push({
      name: binding.name,
      columns: [...binding.columns],
      type: type as OnnxInputType,
      rank: shape.length === 1 ? 1 : 2,
    });
  }
  const missing = modelInputs.filter((name) => !bound.has(name));
  if (missing.length > 0) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${source}: no columns bound to input${missing.length > 1 ? 's' : ''} ${missing.map((name) => `"${name}" ${describeShape(inputMetadata(session, name))}`).join(', ')}`,
      'bind every model input (inputs: [{ name, columns }])',
      { input: source, missing },
    );
  }
  return resolved;
}

function resolveOutput(session: InferenceSession, asked: string | undefined, source: string): string {
  const outputs = session.outputMetadata;
  const describe = (): string =>
    outputs.map((output) => `"${output.name}" ${describeShape(output)}`).join(', ');
  if (asked !== undefined) {
    const output = outputs.find((candidate) => candidate.name === asked);
    if (output === undefined) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${source}: the model has no output "${asked}" (outputs: ${describe()})`,
        'pass outputName naming one of the model outputs',
        { input: 'outputName' },
      );
    }
    if (!output.isTensor) {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `${source}: output "${asked}" is not a tensor (a scikit-learn ZipMap of class probabilities?)`,
        'export the classifier with zipmap=False (options={id(model): {"zipmap": False}}) or pick a tensor output',
        { input: 'outputName' },
      );
    }
    return asked;
  }
  const isFloat = (output: InferenceSession.ValueMetadata): boolean =>
    output.isTensor && (output.type === 'float32' || output.type === 'float64');
  const named = outputs.find(
    (output) => (output.name === 'probability' || output.name === 'probabilities') && isFloat(output),
  );
  const chosen = named ?? outputs.find(isFloat);
  if (chosen === undefined) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${source}: no float tensor output to read as a probability (outputs: ${describe()})`,
      'export the classifier with a float probability or logit output (for scikit-learn: zipmap=False)',
      { input: source },
    );
  }
  return chosen.name;
}

/**
 * The version of onnxruntime-node in use.
 *
 * @returns e.g. `1.30.0`
 * @example
 * ```ts
 * console.log(onnxruntimeVersion());
 * ```
 */
export function onnxruntimeVersion(): string {
  return env.versions.node ?? env.versions.common ?? 'unknown';
}
