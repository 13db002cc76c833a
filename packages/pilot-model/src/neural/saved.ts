import {
  type DenseActivation,
  FEATURE_HASH_FUNCTION,
  type FeatureHashing,
  isPlainFileName,
  type JsonObject,
  type ModelManifest,
  ONNX_FILE,
  type SavedModelContents,
  type SavedModelFile,
  type SaveModelOptions,
  type TrainingRecord,
} from '@rarefy/model-kit';
import { RarefyIoError } from '@rarefy/sampling-core';
import { mlpToOnnx } from '../onnx/mlp.js';
import type { NeuralPilotSpec, NeuralPilotWeights, NeuralTrainResult } from './neural-pilot.js';
import { neuralPilotOnnxOptions } from './onnx-options.js';

/** The network description's file name: spec, standardisation, hashing, layer and table layout. */
export const NETWORK_FILE = 'network.json';
/** The dense layers' weights and biases, float32 little-endian, in layer order (W then b). */
export const WEIGHTS_FILE = 'weights.bin';
/** The embedding tables, float32 little-endian, in the spec's order (absent without categorical columns). */
export const EMBEDDINGS_FILE = 'embeddings.bin';

/** Where a block of floats lies in a float32 file: the index of its first value and its length. */
interface Block {
  readonly offset: number;
  readonly length: number;
}

/** `network.json`: everything but the float blocks, which it locates in the binary files. */
interface NetworkFile {
  readonly format: 'rarefy-neural-mlp';
  readonly version: 1;
  readonly spec: NeuralPilotSpec;
  readonly inputSize: number;
  /** Numeric standardisation `(x - mean) / sd`, float64 values (JSON numbers round-trip exactly). */
  readonly numeric: { readonly names: string[]; readonly means: number[]; readonly sds: number[] };
  readonly embeddings: ReadonlyArray<{
    readonly name: string;
    readonly hashing: NeuralPilotWeights['embeddings'][number]['hashing'];
    readonly buckets: number;
    readonly dimension: number;
    readonly table: Block;
  }>;
  readonly layers: ReadonlyArray<{
    readonly inputSize: number;
    readonly outputSize: number;
    readonly activation: DenseActivation;
    readonly weights: Block;
    readonly bias: Block;
  }>;
  readonly output: 'logit';
}

/** Options of `NeuralPilot.toSavedModel`. */
export interface NeuralSaveOptions extends SaveModelOptions {
  /**
   * How the network was trained, recorded in the manifest (merged over what the pilot knows:
   * rows, positives, epochs, whether offsets or weights were used). Give `design` and `estimator`
   * when the network is a corrected model of a sample (`optA`, `log-odds`, ...).
   */
  training?: Partial<TrainingRecord>;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Float32 values as little-endian bytes, whatever the platform's byte order. */
function float32Bytes(blocks: readonly Float32Array[]): { bytes: Uint8Array; offsets: number[] } {
  const total = blocks.reduce((sum, block) => sum + block.length, 0);
  const all = new Float32Array(total);
  const offsets: number[] = [];
  let at = 0;
  for (const block of blocks) {
    offsets.push(at);
    all.set(block, at);
    at += block.length;
  }
  const bytes = new Uint8Array(all.buffer);
  if (!LITTLE_ENDIAN) {
    const view = new DataView(all.buffer);
    const out = new Uint8Array(total * 4);
    const outView = new DataView(out.buffer);
    for (let k = 0; k < total; k++) outView.setFloat32(k * 4, view.getFloat32(k * 4), true);
    return { bytes: out, offsets };
  }
  return { bytes, offsets };
}

/** Little-endian float32 bytes as values. */
function float32Values(bytes: Uint8Array): Float32Array {
  const count = bytes.byteLength / 4;
  const values = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let k = 0; k < count; k++) values[k] = view.getFloat32(k * 4, true);
  return values;
}

function trainingRecord(
  spec: NeuralPilotSpec,
  trained: NeuralTrainResult | undefined,
  previous: TrainingRecord | undefined,
  given: Partial<TrainingRecord> | undefined,
): TrainingRecord {
  const known: TrainingRecord =
    trained === undefined
      ? (previous ?? { design: 'unknown', estimator: 'unknown', sizes: {}, seed: spec.seed })
      : {
          design: 'unknown',
          estimator: trained.offset ? 'log-odds' : trained.weighted ? 'ipw' : 'unknown',
          sizes: { rows: trained.rows, positives: trained.positives },
          seed: spec.seed,
          epochs: trained.epochs,
          steps: trained.steps,
          bestEpoch: trained.bestEpoch,
          stoppedEarly: trained.stoppedEarly,
          offset: trained.offset,
          weighted: trained.weighted,
          finalLoss: trained.losses[trained.losses.length - 1] ?? null,
          backend: trained.backend,
        };
  const merged: Record<string, unknown> = { ...known };
  for (const [key, value] of Object.entries(given ?? {})) if (value !== undefined) merged[key] = value;
  return merged as TrainingRecord;
}

/**
 * A neural pilot's saved-model contents (kind `neural`): `network.json` (spec, standardisation,
 * hashing, and where every layer and table lies in the binary files), `weights.bin` (the dense
 * layers, float32 little-endian), `embeddings.bin` (the tables, when there are categorical columns)
 * and, unless `onnx` is false, `model.onnx` (the same network with the standardisation folded in).
 * Everything the network computes with is stored exactly, so the pilot read back predicts the same
 * probabilities bit for bit on the same backend.
 *
 * @param weights - `NeuralPilot.exportWeights()`
 * @param trained - the pilot's last training, if any
 * @param previous - the training record it was loaded with, if any
 * @param options - label column, `onnx`, training record additions
 * @returns the contents for `saveModel` / `writeModelFolder`
 */
export function neuralModelContents(
  weights: NeuralPilotWeights,
  trained: NeuralTrainResult | undefined,
  previous: TrainingRecord | undefined,
  options: NeuralSaveOptions = {},
): SavedModelContents<'neural'> {
  const dense = float32Bytes(weights.layers.flatMap((layer) => [layer.weights, layer.bias]));
  const tables = float32Bytes(weights.embeddings.map((table) => table.table));
  const network: NetworkFile = {
    format: 'rarefy-neural-mlp',
    version: 1,
    spec: weights.spec,
    inputSize: weights.inputSize,
    numeric: {
      names: [...weights.numeric.names],
      means: Array.from(weights.numeric.means),
      sds: Array.from(weights.numeric.sds),
    },
    embeddings: weights.embeddings.map((table, k) => ({
      name: table.name,
      hashing: table.hashing,
      buckets: table.buckets,
      dimension: table.dimension,
      table: { offset: tables.offsets[k] as number, length: table.table.length },
    })),
    layers: weights.layers.map((layer, k) => ({
      inputSize: layer.inputSize,
      outputSize: layer.outputSize,
      activation: layer.activation,
      weights: { offset: dense.offsets[2 * k] as number, length: layer.weights.length },
      bias: { offset: dense.offsets[2 * k + 1] as number, length: layer.bias.length },
    })),
    output: 'logit',
  };
  const files: SavedModelFile[] = [
    {
      path: NETWORK_FILE,
      role: 'config',
      format: 'json',
      data: `${JSON.stringify(network, null, 2)}\n`,
    },
    { path: WEIGHTS_FILE, role: 'weights', format: 'float32-le', data: dense.bytes },
  ];
  const hasTables = weights.embeddings.length > 0;
  if (hasTables) {
    files.push({ path: EMBEDDINGS_FILE, role: 'embeddings', format: 'float32-le', data: tables.bytes });
  }
  const withOnnx = options.onnx ?? true;
  if (withOnnx) {
    files.push({
      path: ONNX_FILE,
      role: 'onnx',
      format: 'onnx',
      data: mlpToOnnx(neuralPilotOnnxOptions(weights)),
    });
  }
  let hashing: FeatureHashing | undefined;
  const first = weights.embeddings[0];
  if (first !== undefined) {
    const perColumn: Record<string, number> = {};
    for (const table of weights.embeddings) {
      perColumn[`${table.name}.seed`] = table.hashing.seed;
      perColumn[`${table.name}.buckets`] = table.hashing.buckets;
    }
    hashing = {
      ...perColumn,
      function: FEATURE_HASH_FUNCTION,
      seed: first.hashing.seed,
      buckets: first.hashing.buckets,
      columns: weights.embeddings.map((table) => table.name),
    };
  }
  const model: JsonObject = {
    format: 'rarefy-neural-mlp',
    version: 1,
    network: NETWORK_FILE,
    weights: WEIGHTS_FILE,
    embeddings: hasTables ? EMBEDDINGS_FILE : null,
    onnx: withOnnx ? ONNX_FILE : null,
    inputSize: weights.inputSize,
    hidden: [...weights.spec.hidden],
    activation: weights.spec.activation,
  };
  return {
    kind: 'neural',
    schema: {
      features: [
        ...weights.spec.numeric.map((name) => ({ name, type: 'number' as const })),
        ...weights.spec.categorical.map((feature) => ({ name: feature.name, type: 'string' as const })),
      ],
      label: options.label ?? null,
      ...(hashing === undefined ? {} : { hashing }),
    },
    training: trainingRecord(weights.spec, trained, previous, options.training),
    model,
    files,
  };
}

/**
 * Whether a saved `neural` folder holds the network's weights (folders written by
 * `NeuralPilot.toSavedModel`), or only an ONNX export.
 *
 * @param manifest - the folder's manifest
 * @returns true when `NeuralPilot.fromSavedModel` can rebuild it
 */
export function hasNeuralWeights(manifest: ModelManifest): boolean {
  const model = manifest.model as Record<string, unknown>;
  return manifest.kind === 'neural' && typeof model.network === 'string' && typeof model.weights === 'string';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a saved `neural` folder's network back into weights, checking every size against the spec.
 *
 * @param manifest - the validated manifest (kind `neural`)
 * @param files - the folder's files by name (sizes and SHA-256 already checked)
 * @param source - the folder, for messages
 * @returns the weights, for `NeuralPilot.fromWeights`
 * @throws RarefyIoError `RAREFY_PARSE_ERROR` naming the file and what is wrong
 */
export function neuralWeightsFromSavedFiles(
  manifest: ModelManifest,
  files: ReadonlyMap<string, Uint8Array>,
  source: string,
): NeuralPilotWeights {
  const fail = (file: string, problem: string): never => {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${source}/${file}: ${problem}`,
      'save the model again with NeuralPilot.toSavedModel (saveModel); the folder was edited, damaged or written by another tool',
      { input: `${source}/${file}` },
    );
  };
  const model = manifest.model as Record<string, unknown>;
  if (manifest.kind !== 'neural' || !hasNeuralWeights(manifest)) {
    return fail('manifest.json', 'is not a neural model with saved weights (model.network, model.weights)');
  }
  const read = (name: unknown, what: string): Uint8Array => {
    if (typeof name !== 'string' || !isPlainFileName(name))
      return fail('manifest.json', `model.${what} is not a file name`);
    const bytes = files.get(name);
    if (bytes === undefined) return fail(name, `is not listed in manifest.json`);
    return bytes;
  };
  const networkName = model.network as string;
  let network: unknown;
  try {
    network = JSON.parse(new TextDecoder().decode(read(networkName, 'network')));
  } catch (error) {
    if (error instanceof RarefyIoError) throw error;
    return fail(networkName, `not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (
    !isObject(network) ||
    network.format !== 'rarefy-neural-mlp' ||
    network.version !== 1 ||
    !isObject(network.spec) ||
    !isObject(network.numeric) ||
    !Array.isArray(network.layers) ||
    !Array.isArray(network.embeddings) ||
    typeof network.inputSize !== 'number'
  ) {
    return fail(networkName, 'is not a rarefy-neural-mlp version 1 description');
  }
  const spec = network.spec;
  if (
    !Array.isArray(spec.numeric) ||
    !spec.numeric.every((name) => typeof name === 'string') ||
    !Array.isArray(spec.categorical) ||
    !spec.categorical.every(
      (feature) =>
        isObject(feature) &&
        typeof feature.name === 'string' &&
        typeof feature.buckets === 'number' &&
        typeof feature.dimension === 'number',
    ) ||
    !Array.isArray(spec.hidden) ||
    !spec.hidden.every((width) => typeof width === 'number') ||
    typeof spec.activation !== 'string' ||
    typeof spec.seed !== 'number'
  ) {
    return fail(networkName, 'spec is not { numeric, categorical, hidden, activation, seed }');
  }
  const description = network as unknown as NetworkFile;
  const dense = float32Values(read(model.weights, 'weights'));
  const tableBytes = model.embeddings === null ? new Uint8Array(0) : read(model.embeddings, 'embeddings');
  const tables = float32Values(tableBytes);
  const slice = (values: Float32Array, block: unknown, file: string, what: string): Float32Array => {
    if (
      !isObject(block) ||
      !Number.isInteger(block.offset) ||
      !Number.isInteger(block.length) ||
      (block.offset as number) < 0 ||
      (block.offset as number) + (block.length as number) > values.length
    ) {
      return fail(file, `${what} lies outside the file's ${values.length} floats`);
    }
    return values.slice(block.offset as number, (block.offset as number) + (block.length as number));
  };
  const numeric = description.numeric;
  if (
    !Array.isArray(numeric.names) ||
    !Array.isArray(numeric.means) ||
    !Array.isArray(numeric.sds) ||
    numeric.means.length !== numeric.names.length ||
    numeric.sds.length !== numeric.names.length ||
    ![...numeric.means, ...numeric.sds].every((value) => typeof value === 'number' && Number.isFinite(value))
  ) {
    return fail(networkName, 'numeric is not { names, means, sds } with one finite mean and sd per name');
  }
  const weights: NeuralPilotWeights = {
    format: 'rarefy-neural-mlp',
    version: 1,
    spec: description.spec,
    numeric: {
      names: [...numeric.names],
      means: Float64Array.from(numeric.means),
      sds: Float64Array.from(numeric.sds),
    },
    embeddings: description.embeddings.map((table, k) => ({
      name: table.name,
      hashing: table.hashing,
      buckets: table.buckets,
      dimension: table.dimension,
      table: slice(tables, table.table, String(model.embeddings ?? EMBEDDINGS_FILE), `embeddings[${k}]`),
    })),
    layers: description.layers.map((layer, k) => ({
      inputSize: layer.inputSize,
      outputSize: layer.outputSize,
      activation: layer.activation,
      weights: slice(dense, layer.weights, model.weights as string, `layers[${k}].weights`),
      bias: slice(dense, layer.bias, model.weights as string, `layers[${k}].bias`),
    })),
    inputSize: description.inputSize,
    output: 'logit',
  };
  const features = [...weights.spec.numeric, ...weights.spec.categorical.map((feature) => feature.name)];
  const schema = manifest.schema.features.map((feature) => feature.name);
  if (features.join('\u0000') !== schema.join('\u0000')) {
    fail(
      networkName,
      `its features (${features.join(', ')}) differ from manifest.json's schema (${schema.join(', ')})`,
    );
  }
  if (weights.embeddings.some((table) => table.hashing.function !== FEATURE_HASH_FUNCTION)) {
    fail(
      networkName,
      `a table is hashed with a function other than ${FEATURE_HASH_FUNCTION}, which this version implements`,
    );
  }
  return weights;
}
