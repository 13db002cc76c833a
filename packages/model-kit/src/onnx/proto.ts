/**
 * Thin typed helpers over `onnx-proto` (the ONNX protobuf classes) for building small inference
 * graphs: value infos, initializers, nodes, chains of dense layers and the serialised ModelProto.
 */
import { RarefyError } from '@rarefy/sampling-core';
import onnxProto from 'onnx-proto';

/** The `onnx` namespace of onnx-proto (a CommonJS module: its namespace hangs off the default export). */
export const onnx = onnxProto.onnx;

/** ONNX IR version written (IR 8, ONNX 1.10; onnxruntime 1.30 reads IR 3 to 11). */
export const ONNX_IR_VERSION = 8;
/** Default-domain opset written: 13 has every operator used here (MatMul, Add, Sigmoid, Gather, Concat, Relu, Tanh). */
export const ONNX_OPSET = 13;

/** ONNX tensor element types used here (TensorProto.DataType). */
export const ELEMENT_FLOAT = 1;
export const ELEMENT_INT64 = 7;
export const ELEMENT_DOUBLE = 11;

/** The ONNX symbolic dimension used for the batch (rows) axis. */
export const BATCH_DIMENSION = 'N';

/**
 * A graph input or output: a tensor of `elementType` with the batch axis first (symbolic `N`) and
 * trailing dimensions, each fixed (a number) or symbolic (a string, e.g. `L` for a padded length).
 */
export function tensorValueInfo(
  name: string,
  elementType: number,
  trailingDimensions: readonly (number | string)[],
): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: elementType,
        shape: {
          dim: [
            { dimParam: BATCH_DIMENSION },
            ...trailingDimensions.map((dimension) =>
              typeof dimension === 'string' ? { dimParam: dimension } : { dimValue: dimension },
            ),
          ],
        },
      },
    },
  });
}

/**
 * A float32 initializer with the given dimensions, stored as little-endian raw data (the ONNX
 * convention, whatever the platform's byte order).
 */
export function floatInitializer(
  name: string,
  dimensions: readonly number[],
  values: ArrayLike<number>,
): InstanceType<typeof onnx.TensorProto> {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let k = 0; k < values.length; k++) view.setFloat32(k * 4, values[k] as number, true);
  return onnx.TensorProto.create({ name, dims: [...dimensions], dataType: ELEMENT_FLOAT, rawData: raw });
}

/**
 * A float64 initializer with the given dimensions, stored as little-endian raw data (for inputs
 * whose raw values need double precision, e.g. numeric features before standardisation).
 */
export function doubleInitializer(
  name: string,
  dimensions: readonly number[],
  values: ArrayLike<number>,
): InstanceType<typeof onnx.TensorProto> {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  for (let k = 0; k < values.length; k++) view.setFloat64(k * 8, values[k] as number, true);
  return onnx.TensorProto.create({ name, dims: [...dimensions], dataType: ELEMENT_DOUBLE, rawData: raw });
}

/** An int64 initializer (small: shapes and indices), stored as little-endian raw data. */
export function int64Initializer(
  name: string,
  dimensions: readonly number[],
  values: readonly number[],
): InstanceType<typeof onnx.TensorProto> {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  for (let k = 0; k < values.length; k++) view.setBigInt64(k * 8, BigInt(values[k] as number), true);
  return onnx.TensorProto.create({ name, dims: [...dimensions], dataType: ELEMENT_INT64, rawData: raw });
}

/** An integer attribute. */
export function intAttribute(name: string, value: number): InstanceType<typeof onnx.AttributeProto> {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: value });
}

/** A node of the default domain. */
export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  name: string,
  attributes: InstanceType<typeof onnx.AttributeProto>[] = [],
): InstanceType<typeof onnx.NodeProto> {
  return onnx.NodeProto.create({
    opType,
    input: [...inputs],
    output: [...outputs],
    name,
    attribute: attributes,
  });
}

/** One dense layer of {@link denseLayerNodes}: `activation(x W + b)`. */
export interface OnnxDenseLayer {
  /** W, in x out values, row-major (row = input unit), as tfjs `dense` kernels. */
  readonly weights: ArrayLike<number>;
  /** b, out values: the layer's output width. */
  readonly bias: ArrayLike<number>;
  /** `relu`, `tanh` or `linear` (no activation). */
  readonly activation: 'relu' | 'tanh' | 'linear';
}

/** The nodes and initializers of a chain of dense layers, and the name of its output. */
export interface DenseLayerNodes {
  readonly nodes: InstanceType<typeof onnx.NodeProto>[];
  readonly initializers: InstanceType<typeof onnx.TensorProto>[];
  /** The value the last layer writes. */
  readonly output: string;
}

/**
 * A chain of dense layers as ONNX nodes: per layer k, MatMul with the initializer
 * `${prefix}_${k}_weights` [in, out], Add `${prefix}_${k}_bias` [out] (giving `${prefix}_${k}_linear`),
 * then Relu or Tanh (giving `${prefix}_${k}_relu` / `_tanh`) unless the layer is linear. Each layer's
 * input width is `weights.length / bias.length`; the caller checks that consecutive widths agree.
 *
 * @param input - the value the first layer reads, [N, in]
 * @param layers - the layers, input first
 * @param prefix - names of the nodes, initializers and values (default `layer`)
 * @returns the nodes, the initializers and the output's name
 * @throws RarefyError `RAREFY_DIMENSION_MISMATCH` when a layer's weights do not form an in x out matrix
 * @example
 * ```ts
 * const mlp = denseLayerNodes('features', [{ weights: w1, bias: b1, activation: 'relu' }, { weights: w2, bias: b2, activation: 'linear' }]);
 * nodes.push(...mlp.nodes); initializers.push(...mlp.initializers); // mlp.output is [N, out]
 * ```
 */
export function denseLayerNodes(
  input: string,
  layers: readonly OnnxDenseLayer[],
  prefix = 'layer',
): DenseLayerNodes {
  const nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  const initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  let hidden = input;
  layers.forEach((layer, k) => {
    const out = layer.bias.length;
    if (!(out > 0 && layer.weights.length > 0 && layer.weights.length % out === 0)) {
      throw new RarefyError(
        'RAREFY_DIMENSION_MISMATCH',
        `layers[${k}]: ${layer.weights.length} weights and ${out} biases do not form an (in x ${out}) layer`,
        'pass in x out weights, row-major, with out = bias.length > 0',
        { input: `layers[${k}]` },
      );
    }
    const inWidth = layer.weights.length / out;
    const name = `${prefix}_${k}`;
    initializers.push(floatInitializer(`${name}_weights`, [inWidth, out], layer.weights));
    initializers.push(floatInitializer(`${name}_bias`, [out], layer.bias));
    nodes.push(node('MatMul', [hidden, `${name}_weights`], [`${name}_matmul`], `${name}_matmul`));
    nodes.push(node('Add', [`${name}_matmul`, `${name}_bias`], [`${name}_linear`], `${name}_add`));
    hidden = `${name}_linear`;
    if (layer.activation !== 'linear') {
      const op = layer.activation === 'relu' ? 'Relu' : 'Tanh';
      nodes.push(node(op, [hidden], [`${name}_${layer.activation}`], `${name}_${layer.activation}`));
      hidden = `${name}_${layer.activation}`;
    }
  });
  return { nodes, initializers, output: hidden };
}

/** Everything a small inference model holds. */
export interface GraphParts {
  readonly name: string;
  readonly doc: string;
  readonly nodes: InstanceType<typeof onnx.NodeProto>[];
  readonly initializers: InstanceType<typeof onnx.TensorProto>[];
  readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[];
  readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[];
  /** Written as the model's metadata_props (string to string). */
  readonly metadata: Readonly<Record<string, string>>;
  /** The producer name (default {@link PRODUCER_NAME}). */
  readonly producer?: string;
}

/** The producer name written into a model unless the parts name another. */
export const PRODUCER_NAME = '@rarefy/model-kit';

/** Serialises a graph as an ONNX ModelProto (IR {@link ONNX_IR_VERSION}, opset {@link ONNX_OPSET}). */
export function encodeModel(parts: GraphParts): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: parts.producer ?? PRODUCER_NAME,
    producerVersion: '1',
    docString: parts.doc,
    graph: {
      name: parts.name,
      node: parts.nodes,
      initializer: parts.initializers,
      input: parts.inputs,
      output: parts.outputs,
    },
    metadataProps: Object.entries(parts.metadata).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}
