import { FEATURE_HASH_FUNCTION, hashDictionary, hashFeature } from '@rarefy/model-kit';
import {
  type ColumnBatch,
  type ColumnData,
  type ColumnSchema,
  RarefyError,
  RarefyIoError,
} from '@rarefy/sampling-core';
import { METADATA_HASHING } from './metadata.js';

function isDictionary(column: ColumnData): column is Extract<ColumnData, { kind: 'dictionary' }> {
  return !ArrayBuffer.isView(column);
}

/**
 * A batch transform that hashes the categorical columns an ONNX model's metadata names
 * (`rarefy.hashing`, as `mlpToOnnx` writes it for a network with embeddings) into the integer bucket
 * ids its inputs take, exactly as the network hashed them in training: string (dictionary) columns
 * are hashed (a missing value as the record's `missing` string, by default the empty string); integer
 * columns are taken as ids already hashed. Undefined when the model hashes nothing. `OnnxPilot`
 * applies it by default.
 *
 * @param metadata - the model's metadata_props
 * @param source - the model, for messages
 * @returns the transform, or undefined
 * @throws RarefyIoError `RAREFY_PARSE_ERROR` for a malformed record; RarefyError
 *   `RAREFY_INVALID_ARGUMENT` for a hash function this version does not implement
 * @example
 * ```ts
 * const transform = hashingTransform(inspectOnnxModel(bytes).metadata, 'model.onnx');
 * ```
 */
export function hashingTransform(
  metadata: Readonly<Record<string, string>>,
  source: string,
): ((batch: ColumnBatch) => ColumnBatch) | undefined {
  const text = metadata[METADATA_HASHING];
  if (text === undefined) return undefined;
  const malformed = (problem: string): never => {
    throw new RarefyIoError(
      'RAREFY_PARSE_ERROR',
      `${source}: metadata ${METADATA_HASHING} ${problem}`,
      'export the model again with mlpToOnnx (the record is written for you)',
      { input: source },
    );
  };
  let record: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) malformed('is not a JSON object');
    record = parsed as Record<string, unknown>;
  } catch (error) {
    if (error instanceof RarefyError) throw error;
    malformed(`is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (record.function !== FEATURE_HASH_FUNCTION) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${source}: its categorical columns are hashed with ${String(record.function)}, which this version does not implement (it implements ${FEATURE_HASH_FUNCTION})`,
      'hash the columns to integer ids before scoring, or export the model with this version',
      { input: source },
    );
  }
  const columns = record.columns;
  if (!Array.isArray(columns) || !columns.every((name) => typeof name === 'string')) {
    return malformed('has no `columns` list');
  }
  const missing = typeof record.missing === 'string' ? record.missing : '';
  const hashing = columns.map((name: string) => {
    const seed = record[`${name}.seed`] ?? record.seed;
    const buckets = record[`${name}.buckets`] ?? record.buckets;
    if (typeof seed !== 'number' || typeof buckets !== 'number') {
      return malformed(`has no seed and bucket count for column "${name}"`);
    }
    return { name, seed, buckets };
  });
  return (batch) => {
    const replaced: Record<string, ColumnData> = { ...batch.columns };
    let changed = false;
    for (const { name, seed, buckets } of hashing) {
      const column = batch.columns[name];
      if (column === undefined || !isDictionary(column)) continue;
      const ids = hashDictionary(column.values, {
        function: FEATURE_HASH_FUNCTION,
        seed,
        buckets,
        missing: '',
      });
      const missingId = hashFeature(missing, seed, buckets);
      const out = new Int32Array(batch.rows);
      for (let i = 0; i < batch.rows; i++) {
        const code = column.codes[i] as number;
        out[i] = code < 0 ? missingId : (ids[code] as number);
      }
      replaced[name] = out;
      changed = true;
    }
    if (!changed) return batch;
    const hashed = new Set(hashing.map(({ name }) => name));
    const schema: ColumnSchema[] = batch.schema.map((column) =>
      hashed.has(column.name) && column.type === 'string' ? { name: column.name, type: 'integer' } : column,
    );
    return { ...batch, schema, columns: replaced };
  };
}
