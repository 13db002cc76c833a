/**
 * Thin typed helpers over `onnx-proto` (the ONNX protobuf classes) for building small inference
 * graphs. Internal: the public surface is {@link logisticToOnnx} and {@link mlpToOnnx}.
 */
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

/** The ONNX symbolic dimension used for the batch (rows) axis. */
export const BATCH_DIMENSION = 'N';

/**
 * A graph input or output: a tensor of `elementType` with the batch axis first (symbolic `N`) and
 * fixed trailing dimensions.
 */
export function tensorValueInfo(
  name: string,
  elementType: number,
  trailingDimensions: readonly number[],
): InstanceType<typeof onnx.ValueInfoProto> {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: elementType,
        shape: {
          dim: [{ dimParam: BATCH_DIMENSION }, ...trailingDimensions.map((dimValue) => ({ dimValue }))],
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
