import type { MlpHashing, MlpToOnnxOptions } from '../onnx/mlp.js';
import type { NeuralPilotWeights } from './neural-pilot.js';

/**
 * The arguments of `mlpToOnnx` for an exported {@link NeuralPilot}: the numeric standardisation is
 * folded into the first layer (W'_jk = W_jk / sd_j, b'_k = b_k - sum_j mean_j W_jk / sd_j, computed in
 * float64 and rounded once to float32), so the graph reads raw numeric columns; each categorical
 * column becomes an int64 input of hashed buckets (named after the column) looked up in its table;
 * the hashing of every column is recorded in the metadata (`function`, `seed` and `buckets` of the
 * first column, `columns`, and `<column>.seed` / `<column>.buckets` for each).
 *
 * @param weights - from `NeuralPilot.exportWeights()`
 * @param options - `output` (`probability` by default, or `logit`) and `withOffsetInput`
 * @returns options for `mlpToOnnx`
 * @example
 * ```ts
 * const bytes = mlpToOnnx(neuralPilotOnnxOptions(pilot.exportWeights()));
 * ```
 */
export function neuralPilotOnnxOptions(
  weights: NeuralPilotWeights,
  options: { output?: 'probability' | 'logit'; withOffsetInput?: boolean } = {},
): MlpToOnnxOptions {
  const p = weights.numeric.names.length;
  const layers = weights.layers.map((layer, k) => {
    if (k > 0 || p === 0)
      return { weights: layer.weights.slice(), bias: layer.bias.slice(), activation: layer.activation };
    const out = layer.outputSize;
    const folded = layer.weights.slice();
    const bias = Float64Array.from(layer.bias);
    for (let j = 0; j < p; j++) {
      const sd = weights.numeric.sds[j] as number;
      const mean = weights.numeric.means[j] as number;
      for (let c = 0; c < out; c++) {
        const w = (layer.weights[j * out + c] as number) / sd;
        folded[j * out + c] = w;
        bias[c] = (bias[c] as number) - mean * w;
      }
    }
    return { weights: folded, bias: Float32Array.from(bias), activation: layer.activation };
  });
  const first = weights.embeddings[0];
  let hashing: MlpHashing | undefined;
  if (first !== undefined) {
    const perColumn: Record<string, number> = {};
    for (const table of weights.embeddings) {
      perColumn[`${table.name}.seed`] = table.hashing.seed;
      perColumn[`${table.name}.buckets`] = table.hashing.buckets;
    }
    hashing = {
      ...perColumn,
      function: first.hashing.function,
      seed: first.hashing.seed,
      buckets: first.hashing.buckets,
      missing: first.hashing.missing,
      columns: weights.embeddings.map((table) => table.name),
    };
  }
  return {
    layers,
    numericFeatures: [...weights.numeric.names],
    embeddings: weights.embeddings.map((table) => ({
      inputName: table.name,
      column: table.name,
      table: table.table,
      buckets: table.buckets,
      dimension: table.dimension,
    })),
    output: options.output ?? 'probability',
    withOffsetInput: options.withOffsetInput ?? false,
    kind: 'neural',
    ...(hashing === undefined ? {} : { hashing }),
  };
}
