import {
  denseLayerNodes,
  ELEMENT_FLOAT,
  ELEMENT_INT64,
  encodeModel,
  floatInitializer,
  intAttribute,
  onnxNode as node,
  type onnx,
  tensorValueInfo,
} from '@rarefy/model-kit';
import { RarefyError, requireArgument } from '@rarefy/sampling-core';
import type { OnnxOutputKind } from './logistic.js';
import {
  METADATA_HASHING,
  METADATA_INPUTS,
  METADATA_KIND,
  METADATA_OUTPUT_KIND,
  type OnnxInputBinding,
} from './metadata.js';

/** A hidden or output layer's activation. */
export type MlpActivation = 'relu' | 'tanh' | 'linear';

/** One dense layer: out = activation(in · weights + bias). */
export interface MlpLayer {
  /** in x out values, row-major (row = input unit, column = output unit), as tfjs `dense` kernels. */
  readonly weights: Float32Array;
  /** out values; its length is the layer's output width. */
  readonly bias: Float32Array;
  readonly activation: MlpActivation;
}

/** An embedding table looked up by one int64 id per row (a hashed categorical column). */
export interface MlpEmbedding {
  /** The graph input's name: an int64 [N] tensor of ids in [0, buckets). Usually the column's name. */
  readonly inputName: string;
  /** The batch column the ids come from (default `inputName`); recorded in the model's metadata. */
  readonly column?: string;
  /** buckets x dimension values, row-major: row k is id k's vector. */
  readonly table: Float32Array;
  /** Rows of the table (the hash bucket count). */
  readonly buckets: number;
  /** Columns of the table (the embedding width). */
  readonly dimension: number;
}

/** The hashing that turns categorical values into the ids the embeddings take (written to metadata). */
export interface MlpHashing {
  /** The hash function's name and version, e.g. `murmur3-32`. */
  readonly function: string;
  readonly seed: number;
  readonly buckets: number;
  /** Anything else a caller needs to reproduce the ids (JSON-serialisable). */
  readonly [key: string]: string | number | boolean | readonly string[];
}

/** Options of {@link mlpToOnnx}. */
export interface MlpToOnnxOptions {
  /**
   * Dense layers in order. The first layer's input width is (numeric features) + (sum of embedding
   * dimensions); the last layer must have one output unit and a `linear` activation: the logit.
   */
  readonly layers: readonly MlpLayer[];
  /** Name of the float32 [N, p] input of numeric features (default `features`). */
  readonly inputName?: string;
  /**
   * Names of the numeric feature columns, in the input's column order (p = their count; may be
   * empty when the model reads embeddings only). Default: p is the first layer's input width less the
   * embedding dimensions, and the columns are named `x0`, `x1`, ...
   */
  readonly numericFeatures?: readonly string[];
  /** Embedding lookups; their vectors follow the numeric features, in this order, in the first layer's input. */
  readonly embeddings?: readonly MlpEmbedding[];
  /** `probability` (default; output `probability` [N, 1]) or `logit` (output `logit` [N, 1]). */
  readonly output?: OnnxOutputKind;
  /** Add a required float32 [N, 1] input `offset` to the logit (training-time parity; A.4). */
  readonly withOffsetInput?: boolean;
  /** The hashing of the categorical columns, written to the model's metadata (`rarefy.hashing`). */
  readonly hashing?: MlpHashing;
  /** The model kind written to metadata (default `neural`). */
  readonly kind?: string;
}

/**
 * Exports a multilayer perceptron with a single logit as ONNX (IR 8, opset 13), the form
 * `NeuralPilot` exports to. Graph inputs: `inputName` (float32 [N, p], the numeric features) when
 * p > 0, and one int64 [N] input per embedding (hashed ids; ONNX has no standard string hash, so
 * the caller hashes, ALGORITHMS.md B.10). Each id input is looked up with Gather in its table
 * (an initializer); the numeric features and the looked-up vectors are concatenated (numeric first,
 * then embeddings in order) and go through the layers (MatMul, Add, Relu/Tanh); the last layer's one
 * unit is the logit, plus `offset` when asked, then Sigmoid for the `probability` output [N, 1].
 * Metadata records the input bindings (`rarefy.inputs`), the output scale and the hashing, so
 * `OnnxPilot` can feed the model from a batch by column names.
 *
 * @param options - layers, inputs, embeddings, output scale, offset variant, hashing record
 * @returns the serialised ModelProto
 * @example
 * ```ts
 * const bytes = mlpToOnnx({
 *   numericFeatures: ['age', 'price'],
 *   embeddings: [{ inputName: 'site', table, buckets: 1024, dimension: 8 }],
 *   layers: [
 *     { weights: w1, bias: b1, activation: 'relu' }, // (2 + 8) x 16
 *     { weights: w2, bias: b2, activation: 'linear' }, // 16 x 1: the logit
 *   ],
 *   hashing: { function: 'murmur3-32', seed: 1, buckets: 1024 },
 * });
 * ```
 */
export function mlpToOnnx(options: MlpToOnnxOptions): Uint8Array {
  const layers = options.layers;
  const embeddings = options.embeddings ?? [];
  const inputName = options.inputName ?? 'features';
  requireArgument(
    layers.length > 0,
    'layers',
    'is empty',
    'pass at least one layer (the last gives the logit)',
  );

  // Widths: each layer's output width is its bias length; its input width is weights / bias.
  const widths: number[] = [];
  for (const [k, layer] of layers.entries()) {
    const out = layer.bias.length;
    requireArgument(out > 0, `layers[${k}].bias`, 'is empty', 'pass one bias per output unit');
    requireArgument(
      layer.weights.length % out === 0 && layer.weights.length > 0,
      `layers[${k}].weights`,
      `${layer.weights.length} values do not form an (in x ${out}) matrix`,
      'pass in x out weights, row-major, with out = bias.length',
    );
    requireArgument(
      layer.activation === 'relu' || layer.activation === 'tanh' || layer.activation === 'linear',
      `layers[${k}].activation`,
      `'${String(layer.activation)}' is not supported`,
      "use 'relu', 'tanh' or 'linear'",
    );
    for (const [name, values] of [
      ['weights', layer.weights],
      ['bias', layer.bias],
    ] as const) {
      const bad = values.findIndex((value) => !Number.isFinite(value));
      requireArgument(
        bad < 0,
        `layers[${k}].${name}`,
        `value ${bad} is ${values[bad]}`,
        'export a model with finite parameters (training diverged?)',
      );
    }
    widths.push(layer.weights.length / out);
    if (k > 0) {
      const previous = (layers[k - 1] as MlpLayer).bias.length;
      if (previous !== widths[k]) {
        throw new RarefyError(
          'RAREFY_DIMENSION_MISMATCH',
          `layers[${k}]: takes ${widths[k]} inputs but layers[${k - 1}] gives ${previous}`,
          'chain the layers so that each takes the previous one’s output width',
          { input: `layers[${k}]` },
        );
      }
    }
  }
  const last = layers[layers.length - 1] as MlpLayer;
  requireArgument(
    last.bias.length === 1 && last.activation === 'linear',
    `layers[${layers.length - 1}]`,
    `the last layer has ${last.bias.length} outputs and activation '${last.activation}'`,
    "end with a single-unit 'linear' layer: the logit (the Sigmoid is added by the export)",
  );

  const embeddingWidth = embeddings.reduce((sum, embedding) => sum + embedding.dimension, 0);
  const numericWidth = (widths[0] as number) - embeddingWidth;
  requireArgument(
    numericWidth >= 0,
    'embeddings',
    `their dimensions add up to ${embeddingWidth}, more than the first layer's ${widths[0]} inputs`,
    'make the first layer take (numeric features + embedding dimensions) inputs',
  );
  const numericFeatures = options.numericFeatures ?? Array.from({ length: numericWidth }, (_, j) => `x${j}`);
  if (numericFeatures.length !== numericWidth) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `numericFeatures: ${numericFeatures.length} names, but the first layer takes ${widths[0]} inputs of which ${embeddingWidth} are embeddings, leaving ${numericWidth} numeric`,
      'name every numeric input of the first layer, or fix the layer or embedding sizes',
      { input: 'numericFeatures' },
    );
  }

  const nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  const initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  const inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  const bindings: OnnxInputBinding[] = [];
  const parts: string[] = [];
  const inputNames = new Set<string>();
  const addInputName = (name: string, what: string): void => {
    requireArgument(
      name.length > 0 && !inputNames.has(name) && name !== 'offset',
      what,
      name.length === 0
        ? 'the input name is empty'
        : `the input name "${name}" is used twice (or is "offset")`,
      'give every graph input a distinct name',
    );
    inputNames.add(name);
  };
  if (numericWidth > 0) {
    addInputName(inputName, 'inputName');
    inputs.push(tensorValueInfo(inputName, ELEMENT_FLOAT, [numericWidth]));
    bindings.push({ name: inputName, columns: [...numericFeatures], type: 'float32' });
    parts.push(inputName);
  }
  embeddings.forEach((embedding, k) => {
    const what = `embeddings[${k}]`;
    addInputName(embedding.inputName, `${what}.inputName`);
    requireArgument(
      Number.isInteger(embedding.buckets) &&
        Number.isInteger(embedding.dimension) &&
        embedding.buckets > 0 &&
        embedding.dimension > 0 &&
        embedding.table.length === embedding.buckets * embedding.dimension,
      `${what}.table`,
      `${embedding.table.length} values for ${embedding.buckets} buckets x ${embedding.dimension} dimensions`,
      'pass a row-major buckets x dimension table and positive integer sizes',
    );
    const tableName = `embedding_${k}_table`;
    const looked = `embedding_${k}_vectors`;
    inputs.push(tensorValueInfo(embedding.inputName, ELEMENT_INT64, []));
    bindings.push({
      name: embedding.inputName,
      columns: [embedding.column ?? embedding.inputName],
      type: 'int64',
    });
    initializers.push(floatInitializer(tableName, [embedding.buckets, embedding.dimension], embedding.table));
    nodes.push(
      node('Gather', [tableName, embedding.inputName], [looked], `embedding_${k}_gather`, [
        intAttribute('axis', 0),
      ]),
    );
    parts.push(looked);
  });
  requireArgument(
    parts.length > 0,
    'layers',
    'the model has no inputs',
    'give numeric features or embeddings',
  );

  let hidden: string;
  if (parts.length === 1) {
    hidden = parts[0] as string;
  } else {
    hidden = 'concatenated';
    nodes.push(node('Concat', parts, [hidden], 'concat_inputs', [intAttribute('axis', 1)]));
  }
  const dense = denseLayerNodes(hidden, layers);
  nodes.push(...dense.nodes);
  initializers.push(...dense.initializers);
  hidden = dense.output;
  if (options.withOffsetInput) {
    inputs.push(tensorValueInfo('offset', ELEMENT_FLOAT, [1]));
    nodes.push(node('Add', [hidden, 'offset'], ['logit_offset'], 'add_offset'));
    hidden = 'logit_offset';
  }
  const output = options.output ?? 'probability';
  if (output === 'probability') nodes.push(node('Sigmoid', [hidden], ['probability'], 'sigmoid'));
  else nodes.push(node('Identity', [hidden], ['logit'], 'logit_output'));

  const metadata: Record<string, string> = {
    [METADATA_KIND]: options.kind ?? 'neural',
    [METADATA_INPUTS]: JSON.stringify(bindings),
    [METADATA_OUTPUT_KIND]: output,
  };
  if (options.hashing !== undefined) metadata[METADATA_HASHING] = JSON.stringify(options.hashing);
  return encodeModel({
    name: 'rarefy_mlp',
    doc: `MLP with one logit exported by @rarefy/pilot-model (${output} output${options.withOffsetInput ? ', offset input' : ''}).`,
    nodes,
    initializers,
    inputs,
    outputs: [tensorValueInfo(output, ELEMENT_FLOAT, [1])],
    metadata,
  });
}
