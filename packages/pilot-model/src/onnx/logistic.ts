import {
  ELEMENT_FLOAT,
  encodeModel,
  floatInitializer,
  type GraphParts,
  onnxNode as node,
  tensorValueInfo,
} from '@rarefy/model-kit';
import { linearTerms } from './linear-terms.js';
import { METADATA_INPUTS, METADATA_KIND, METADATA_OUTPUT_KIND, type OnnxInputBinding } from './metadata.js';

/** The scale of an exported model's output: `probability` (after a Sigmoid) or the raw `logit`. */
export type OnnxOutputKind = 'probability' | 'logit';

/** Options of {@link logisticToOnnx}. */
export interface LogisticToOnnxOptions {
  /**
   * Whether `coefficients[0]` is the intercept. Default: inferred (true when `names[0]` is
   * `(Intercept)` or there is one more coefficient than names).
   */
  intercept?: boolean;
  /**
   * Export the training-time variant: a second required input `offset`, float32 [N, 1], added to the
   * logit before the sigmoid (ALGORITHMS.md A.4). ONNX has no simple optional inputs, so this is a
   * separate model; the serving model (the default) has no offset input.
   */
  withOffsetInput?: boolean;
  /** `probability` (default; output `probability` = Sigmoid(logit)) or `logit` (output `logit`, no Sigmoid). */
  output?: OnnxOutputKind;
}

/**
 * Exports a logistic model as ONNX (IR 8, opset 13): input `features`, float32 [N, p], the feature
 * columns in `names` order without the intercept column (the intercept is a bias); output
 * `probability`, float32 [N, 1] = Sigmoid(MatMul(features, W) + b) — or `logit` without the Sigmoid.
 * With `withOffsetInput`, a second input `offset` [N, 1] is added to the logit. Weights are stored
 * as float32, so onnxruntime agrees with the float64 in-process probabilities to about 1e-6.
 * The model's metadata (`rarefy.inputs`, `rarefy.output`, `rarefy.kind`) lets `OnnxPilot` bind
 * batch columns by name without being told.
 *
 * @param names - coefficient names as a fit reports them (`(Intercept)` first when there is one)
 * @param coefficients - one per name
 * @param options - intercept handling, offset variant, output scale
 * @returns the serialised ModelProto
 * @example
 * ```ts
 * import { fitRareEvents } from '@rarefy/correction';
 * const fit = fitRareEvents({ x, y, seed: 1 });
 * const bytes = logisticToOnnx(fit.names, fit.coefficients); // score with onnxruntime anywhere
 * ```
 */
export function logisticToOnnx(
  names: readonly string[],
  coefficients: ArrayLike<number>,
  options: LogisticToOnnxOptions = {},
): Uint8Array {
  const terms = linearTerms(names, coefficients, options.intercept, 'coefficients');
  const p = terms.features.length;
  const output = options.output ?? 'probability';
  const outputName = output === 'probability' ? 'probability' : 'logit';
  const nodes = [
    node('MatMul', ['features', 'weights'], ['linear'], 'linear_matmul'),
    node('Add', ['linear', 'bias'], [options.withOffsetInput ? 'logit_model' : 'logit_raw'], 'add_bias'),
  ];
  let logit = options.withOffsetInput ? 'logit_model' : 'logit_raw';
  if (options.withOffsetInput) {
    nodes.push(node('Add', [logit, 'offset'], ['logit_offset'], 'add_offset'));
    logit = 'logit_offset';
  }
  if (output === 'probability') {
    nodes.push(node('Sigmoid', [logit], [outputName], 'sigmoid'));
  } else {
    nodes.push(node('Identity', [logit], [outputName], 'logit_output'));
  }
  const inputs = [tensorValueInfo('features', ELEMENT_FLOAT, [p])];
  const bindings: OnnxInputBinding[] = [{ name: 'features', columns: terms.features, type: 'float32' }];
  if (options.withOffsetInput) {
    inputs.push(tensorValueInfo('offset', ELEMENT_FLOAT, [1]));
  }
  const parts: GraphParts = {
    name: 'rarefy_logistic',
    doc:
      'Logistic model exported by @rarefy/pilot-model: population-scale ' +
      (output === 'probability' ? "probability sigma(x'b + b0)" : "logit x'b + b0") +
      (options.withOffsetInput ? ' with the training offset added to the logit.' : '.'),
    nodes,
    initializers: [
      floatInitializer('weights', [p, 1], terms.slopes),
      floatInitializer('bias', [1], [terms.intercept ?? 0]),
    ],
    inputs,
    outputs: [tensorValueInfo(outputName, ELEMENT_FLOAT, [1])],
    metadata: {
      [METADATA_KIND]: 'logistic',
      [METADATA_INPUTS]: JSON.stringify(bindings),
      [METADATA_OUTPUT_KIND]: output,
    },
  };
  return encodeModel(parts);
}
