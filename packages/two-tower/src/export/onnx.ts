import {
  denseLayerNodes,
  doubleInitializer,
  ELEMENT_DOUBLE,
  ELEMENT_FLOAT,
  ELEMENT_INT64,
  encodeModel,
  floatInitializer,
  int64Initializer,
  intAttribute,
  onnxNode as node,
  type onnx,
  tensorValueInfo,
} from '@rarefy/model-kit';
import { RarefyInputError } from '@rarefy/sampling-core';
import type { TowerWeights } from '../model/weights.js';
import { towerParametersOf } from '../model/weights.js';
import { TOWER_OUTPUT, towerInputsDescription } from './tower-inputs.js';

/** Metadata keys an exported tower carries. */
export const TOWER_METADATA = {
  /** `two-tower-tower`. */
  kind: 'rarefy.kind',
  /** `user` or `item`, when the exporter was told. */
  side: 'rarefy.side',
  /** The JSON of the tower's `TowerInputsDescription`. */
  towerInputs: 'rarefy.towerInputs',
} as const;

/** Added under the square root of the L2 norm, as the tfjs tower does (a zero vector stays zero). */
const NORM_EPSILON = 1e-12;

/** Options of {@link towerToOnnx}. */
export interface TowerToOnnxOptions {
  /** Which tower this is, written to the metadata and the graph's name (optional). */
  readonly side?: 'user' | 'item';
  /**
   * Write the input description into the model's metadata (`rarefy.towerInputs`, default true), so
   * the file alone says how to feed it; turn off to keep a large id vocabulary out of the file.
   */
  readonly describeInputs?: boolean;
}

type NodeProto = InstanceType<typeof onnx.NodeProto>;
type TensorProto = InstanceType<typeof onnx.TensorProto>;
type ValueInfoProto = InstanceType<typeof onnx.ValueInfoProto>;

function requireFinite(values: Float32Array | Float64Array, input: string): void {
  for (let k = 0; k < values.length; k++) {
    if (!Number.isFinite(values[k] as number)) {
      throw new RarefyInputError(
        'RAREFY_NON_FINITE',
        `${input}: value ${k} is ${values[k]}`,
        'export a model with finite parameters (did training diverge?)',
        { input, index: k },
      );
    }
  }
}

/**
 * Exports one tower of a two-tower model as ONNX (IR 8, opset 13): from integer and raw numeric
 * inputs to the tower's L2-normalised embedding, float32 [N, dimension] named `embedding`. ONNX has
 * no standard string hash (ALGORITHMS.md B.10), so the graph starts from hashed ids; the caller
 * builds its inputs with `encodeTowerInputs` from `towerInputsDescription` (also written into the
 * model's metadata as `rarefy.towerInputs`):
 * - `id` int64 [N]: the row of the id table (vocabulary index + 1; 0, the unknown row, for an id
 *   never seen in training), looked up with Gather;
 * - `categorical_k` int64 [N]: the bucket of categorical feature k, looked up with Gather;
 * - `multi_hot_k` int64 [N, L] bucket ids padded to the longest row, and `multi_hot_k_mask` float32
 *   [N, L] (1 real, 0 padding): the mean of the rows of the real ids (zeros when there is none);
 * - `numeric` float64 [N, p]: raw values (the training mean for a missing one), standardised in
 *   double precision inside the graph (`(x - mean) / sd`) and cast to float32.
 * These are concatenated in that order (the tfjs tower's input row), go through the dense layers
 * (MatMul, Add, Relu/Tanh; the last is linear) and are divided by `sqrt(|x|^2 + 1e-12)`.
 *
 * @param weights - the tower's weights (`model.weights().user` or `.item`)
 * @param options - the side, whether to write the input description into the metadata
 * @returns the serialised ModelProto
 * @throws RarefyInputError `RAREFY_DIMENSION_MISMATCH` when the weights do not fit their spec,
 *   `RAREFY_NON_FINITE` for a parameter that is NaN or infinite
 * @example
 * ```ts
 * const weights = model.weights();
 * const bytes = towerToOnnx(weights.item, { side: 'item' });
 * const feeds = encodeTowerInputs(towerInputsDescription(weights.item), [{ id: 'new-film', features: { genres: 'Drama' } }]);
 * ```
 */
export function towerToOnnx(weights: TowerWeights, options: TowerToOnnxOptions = {}): Uint8Array {
  const input = options.side === undefined ? 'weights' : `weights.${options.side}`;
  const parameters = towerParametersOf(weights, input);
  parameters.tables.forEach((table, k) => {
    requireFinite(table, `${input}.embeddings[${k}].table`);
  });
  parameters.layers.forEach((layer, k) => {
    requireFinite(layer.weights, `${input}.layers[${k}].weights`);
    requireFinite(layer.bias, `${input}.layers[${k}].bias`);
  });
  requireFinite(weights.numeric.means, `${input}.numeric.means`);
  requireFinite(weights.numeric.sds, `${input}.numeric.sds`);
  weights.numeric.sds.forEach((sd, j) => {
    if (!(sd > 0)) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${input}.numeric.sds: entry ${j} is ${sd}, not positive`,
        'pass the unmodified output of TwoTowerModel.weights() (sds are positive)',
        { input: `${input}.numeric.sds` },
      );
    }
  });
  const description = towerInputsDescription(weights);
  const tableEntries = description.inputs.filter((entry) => entry.kind !== 'numeric');
  tableEntries.forEach((entry, k) => {
    const table = weights.embeddings[k];
    const column = entry.kind === 'id' ? null : entry.column;
    if (table === undefined || table.kind !== entry.kind || table.column !== column) {
      throw new RarefyInputError(
        'RAREFY_DIMENSION_MISMATCH',
        `${input}.embeddings[${k}]: a ${table?.kind ?? 'missing'} table of ${JSON.stringify(table?.column ?? null)}, but the spec's input ${k} is the ${entry.kind} ${JSON.stringify(column)}`,
        'pass the unmodified output of TwoTowerModel.weights() (tables in spec order: id, categorical, multi-hot)',
        { input: `${input}.embeddings` },
      );
    }
  });
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  const inputs: ValueInfoProto[] = [];
  const parts: string[] = [];
  let tableIndex = 0;
  const axesAdded = new Set<number>();
  /** The name of an int64 [1] initializer holding `axis` (Unsqueeze and ReduceSum take axes as inputs in opset 13). */
  const axes = (axis: number): string => {
    const name = `axes_${axis}`;
    if (!axesAdded.has(axis)) {
      axesAdded.add(axis);
      initializers.push(int64Initializer(name, [1], [axis]));
    }
    return name;
  };

  for (const entry of description.inputs) {
    switch (entry.kind) {
      case 'id':
      case 'categorical': {
        const table = weights.embeddings[tableIndex] as TowerWeights['embeddings'][number];
        const tableName = `${entry.name}_table`;
        initializers.push(floatInitializer(tableName, [table.rows, table.dimension], table.table));
        inputs.push(tensorValueInfo(entry.name, ELEMENT_INT64, []));
        nodes.push(
          node('Gather', [tableName, entry.name], [`${entry.name}_vectors`], `${entry.name}_gather`, [
            intAttribute('axis', 0),
          ]),
        );
        parts.push(`${entry.name}_vectors`);
        tableIndex++;
        break;
      }
      case 'multiHot': {
        const table = weights.embeddings[tableIndex] as TowerWeights['embeddings'][number];
        const name = entry.name;
        const tableName = `${name}_table`;
        initializers.push(floatInitializer(tableName, [table.rows, table.dimension], table.table));
        inputs.push(tensorValueInfo(name, ELEMENT_INT64, ['L']));
        inputs.push(tensorValueInfo(entry.mask, ELEMENT_FLOAT, ['L']));
        // rows [N, L, D] * mask [N, L, 1], summed over L, divided by max(count, 1).
        nodes.push(
          node('Gather', [tableName, name], [`${name}_rows`], `${name}_gather`, [intAttribute('axis', 0)]),
          node('Unsqueeze', [entry.mask, axes(2)], [`${name}_mask3`], `${name}_unsqueeze`),
          node('Mul', [`${name}_rows`, `${name}_mask3`], [`${name}_masked`], `${name}_mul`),
          node('ReduceSum', [`${name}_masked`, axes(1)], [`${name}_sum`], `${name}_sum`, [
            intAttribute('keepdims', 0),
          ]),
          node('ReduceSum', [entry.mask, axes(1)], [`${name}_count`], `${name}_count`, [
            intAttribute('keepdims', 1),
          ]),
          node('Max', [`${name}_count`, 'one'], [`${name}_divisor`], `${name}_divisor`),
          node('Div', [`${name}_sum`, `${name}_divisor`], [`${name}_mean`], `${name}_mean`),
        );
        parts.push(`${name}_mean`);
        tableIndex++;
        break;
      }
      case 'numeric': {
        const p = entry.columns.length;
        const name = entry.name;
        inputs.push(tensorValueInfo(name, ELEMENT_DOUBLE, [p]));
        initializers.push(
          doubleInitializer(`${name}_means`, [p], entry.means),
          doubleInitializer(`${name}_sds`, [p], entry.sds),
        );
        nodes.push(
          node('Sub', [name, `${name}_means`], [`${name}_centred`], `${name}_centre`),
          node('Div', [`${name}_centred`, `${name}_sds`], [`${name}_standardised`], `${name}_scale`),
          node('Cast', [`${name}_standardised`], [`${name}_float`], `${name}_cast`, [
            intAttribute('to', ELEMENT_FLOAT),
          ]),
        );
        parts.push(`${name}_float`);
        break;
      }
    }
  }
  if (description.inputs.some((entry) => entry.kind === 'multiHot')) {
    initializers.push(floatInitializer('one', [], [1]));
  }

  let hidden = parts[0] as string;
  if (parts.length > 1) {
    hidden = 'tower_input';
    nodes.push(node('Concat', parts, [hidden], 'concat_inputs', [intAttribute('axis', 1)]));
  }
  const dense = denseLayerNodes(
    hidden,
    weights.layers.map((layer) => ({
      weights: layer.weights,
      bias: layer.bias,
      activation: layer.activation,
    })),
  );
  nodes.push(...dense.nodes);
  initializers.push(...dense.initializers);
  initializers.push(floatInitializer('norm_epsilon', [], [NORM_EPSILON]));
  nodes.push(
    node('Mul', [dense.output, dense.output], ['squares'], 'squares'),
    node('ReduceSum', ['squares', axes(1)], ['squared_norm'], 'squared_norm', [intAttribute('keepdims', 1)]),
    node('Add', ['squared_norm', 'norm_epsilon'], ['squared_norm_eps'], 'norm_epsilon_add'),
    node('Sqrt', ['squared_norm_eps'], ['norm'], 'norm'),
    node('Div', [dense.output, 'norm'], [TOWER_OUTPUT], 'l2_normalise'),
  );

  const metadata: Record<string, string> = { [TOWER_METADATA.kind]: 'two-tower-tower' };
  if (options.side !== undefined) metadata[TOWER_METADATA.side] = options.side;
  if (options.describeInputs ?? true) metadata[TOWER_METADATA.towerInputs] = JSON.stringify(description);
  return encodeModel({
    name: options.side === undefined ? 'rarefy_tower' : `rarefy_${options.side}_tower`,
    doc: `${options.side ?? 'A'} tower of a two-tower retrieval model exported by @rarefy/two-tower: hashed ids and raw numeric values in, the L2-normalised embedding out.`,
    nodes,
    initializers,
    inputs,
    outputs: [tensorValueInfo(TOWER_OUTPUT, ELEMENT_FLOAT, [weights.spec.outputDimension])],
    metadata,
    producer: '@rarefy/two-tower',
  });
}
