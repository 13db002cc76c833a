import { onnx } from '@rarefy/model-kit';
import { RarefyIoError } from '@rarefy/sampling-core';
import type { onnx as OnnxTypes } from 'onnx-proto';

/** What {@link inspectOnnxModel} reads from a serialised model, without running it. */
export interface OnnxModelSummary {
  /** The model's metadata_props. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Graph inputs that are not initializers, in order. */
  readonly inputs: readonly string[];
  /** Graph outputs, in order. */
  readonly outputs: readonly string[];
  /**
   * Per output: `probability` when the value is produced (through shape-only operators such as
   * Identity, Reshape, Slice or Gather) by a Sigmoid or Softmax node, or by an ai.onnx.ml classifier
   * with a LOGISTIC/SOFTMAX post-transform; otherwise `unknown`.
   */
  readonly outputScale: Readonly<Record<string, 'probability' | 'unknown'>>;
  readonly producerName: string;
}

/** Operators that move or reshape values without changing their scale. */
const PASS_THROUGH = new Set([
  'Identity',
  'Reshape',
  'Flatten',
  'Squeeze',
  'Unsqueeze',
  'Slice',
  'Gather',
  'Cast',
  'Transpose',
  'Split',
]);
const PROBABILITY_OPS = new Set(['Sigmoid', 'Softmax']);
const ML_CLASSIFIERS = new Set(['LinearClassifier', 'TreeEnsembleClassifier', 'SVMClassifier']);

/**
 * Reads a serialised ONNX model's inputs, outputs, metadata and whether each output comes out of a
 * Sigmoid/Softmax (a hint for detecting probability outputs). Browser-safe: no runtime needed.
 *
 * @param bytes - the model file's bytes
 * @param source - the file's name, for error messages (default `model`)
 * @returns the summary
 * @example
 * ```ts
 * const summary = inspectOnnxModel(await readFile('model.onnx'), 'model.onnx');
 * console.log(summary.inputs, summary.outputScale);
 * ```
 */
export function inspectOnnxModel(bytes: Uint8Array, source = 'model'): OnnxModelSummary {
  let model: OnnxTypes.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${source}: not an ONNX model (${error instanceof Error ? error.message : String(error)})`,
      'pass a .onnx file written by an ONNX exporter',
      { input: source },
    );
  }
  const graph = model.graph;
  if (graph === null || graph === undefined) {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${source}: the ONNX model has no graph`,
      'pass a complete .onnx model',
      {
        input: source,
      },
    );
  }
  const metadata: Record<string, string> = {};
  for (const entry of model.metadataProps) {
    if (typeof entry.key === 'string') metadata[entry.key] = entry.value ?? '';
  }
  const initializers = new Set((graph.initializer ?? []).map((tensor) => tensor.name ?? ''));
  const inputs = (graph.input ?? [])
    .map((value) => value.name ?? '')
    .filter((name) => !initializers.has(name));
  const outputs = (graph.output ?? []).map((value) => value.name ?? '');
  const producers = new Map<string, OnnxTypes.INodeProto>();
  for (const graphNode of graph.node ?? []) {
    for (const output of graphNode.output ?? []) producers.set(output, graphNode);
  }
  const scale = (name: string): 'probability' | 'unknown' => {
    let current = name;
    for (let depth = 0; depth < 32; depth++) {
      const producer = producers.get(current);
      if (producer === undefined) return 'unknown';
      const op = producer.opType ?? '';
      const domain = producer.domain ?? '';
      const nodeInputs = producer.input ?? [];
      if (PROBABILITY_OPS.has(op) && (domain === '' || domain === 'ai.onnx')) return 'probability';
      if (ML_CLASSIFIERS.has(op) && domain === 'ai.onnx.ml') {
        const transform = (producer.attribute ?? []).find((attribute) => attribute.name === 'post_transform');
        const value = transform?.s ? new TextDecoder().decode(transform.s) : 'NONE';
        // Output 0 of an ml classifier is the label; output 1 holds the scores.
        return (producer.output ?? [])[1] === current && (value === 'LOGISTIC' || value === 'SOFTMAX')
          ? 'probability'
          : 'unknown';
      }
      if (!PASS_THROUGH.has(op) || nodeInputs.length === 0) return 'unknown';
      current = nodeInputs[0] as string;
    }
    return 'unknown';
  };
  const outputScale: Record<string, 'probability' | 'unknown'> = {};
  for (const output of outputs) outputScale[output] = scale(output);
  return { metadata, inputs, outputs, outputScale, producerName: model.producerName };
}
