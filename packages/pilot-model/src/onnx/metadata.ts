/**
 * The metadata_props keys Rarefy writes into the ONNX models it exports, so that a bare `.onnx`
 * file can be scored without being told its columns.
 */

/** Key of the JSON list of input bindings, `[{ name, columns, type }]` (see {@link OnnxInputBinding}). */
export const METADATA_INPUTS = 'rarefy.inputs';
/** Key of the output's scale: `probability` or `logit`. */
export const METADATA_OUTPUT_KIND = 'rarefy.output';
/** Key of the model kind (`logistic`, `neural`). */
export const METADATA_KIND = 'rarefy.kind';
/** Key of the JSON hashing record (function, seed, buckets) of the categorical columns. */
export const METADATA_HASHING = 'rarefy.hashing';

/** The element type a graph input takes. */
export type OnnxInputType = 'float32' | 'float64' | 'int64' | 'int32';

/**
 * How a model input is fed from a batch: the input `name`, the batch `columns` that fill it in
 * order (an [N, columns.length] tensor, or an [N] tensor for a rank-1 input), and its element `type`
 * (read from the model when left out).
 */
export interface OnnxInputBinding {
  readonly name: string;
  readonly columns: readonly string[];
  readonly type?: OnnxInputType;
}
