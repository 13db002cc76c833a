import { batchDesignMatrix, type DesignMatrix, RarefyInputError } from '@rarefy/sampling-core';
import { collectBatches } from '../batch-reader.js';
import { DuckDbEngine } from '../duckdb/index.js';
import { readCsvMatrix } from '../node.js';
import type { ReadOptions } from '../schema.js';
import { openBatches } from './readers.js';

/** Options of {@link readDesignMatrix}. */
export interface ReadDesignMatrixOptions extends Omit<ReadOptions, 'label'> {
  /** The 0/1 label column. */
  label: string;
  /** Feature columns (default: every numeric column but the label). An intercept is added first. */
  features?: readonly string[];
}

/** A whole input as a design matrix with its labels. */
export interface DesignMatrixInput {
  readonly x: DesignMatrix;
  readonly y: Uint8Array;
  readonly rows: number;
  readonly positives: number;
  /** Which reader was used: `csv` (the direct byte-level matrix reader), `batches` or `duckdb`. */
  readonly reader: 'csv' | 'batches' | 'duckdb';
}

const PARQUET = /\.(parquet|pq)$/i;
const GLOB = /[*?[]/;

/**
 * Reads a whole input into memory as a design matrix (intercept first) and 0/1 labels, whatever its
 * format: one CSV file goes through the direct byte-level matrix reader (the fastest path); Parquet
 * files and globs through DuckDB; TSV, JSON Lines, LibSVM, Arrow IPC and CSV globs through `openBatches`, with
 * its schema inference, label mappings and counted skips. For data larger than memory, sample it
 * with `sampleStream` or `sampleWithEngine` instead.
 *
 * @param pathOrGlob - a file or a glob
 * @param options - the label, the features and the reader options of `openBatches`
 * @returns the design matrix, the labels and which reader was used
 * @example
 * ```ts
 * const { x, y } = await readDesignMatrix('clicks.jsonl', { label: 'clicked' });
 * ```
 */
export async function readDesignMatrix(
  pathOrGlob: string,
  options: ReadDesignMatrixOptions,
): Promise<DesignMatrixInput> {
  const { label, features } = options;
  if (PARQUET.test(pathOrGlob)) {
    const engine = await DuckDbEngine.open();
    try {
      const columns =
        features === undefined
          ? '*'
          : [label, ...features].map((name) => `"${name.replaceAll('"', '""')}"`).join(', ');
      const read = await engine.readMatrix(`SELECT ${columns} FROM ${engine.relation(pathOrGlob)}`, {
        label,
        source: pathOrGlob,
      });
      return { x: read.x, y: read.y, rows: read.x.rows, positives: read.positives, reader: 'duckdb' };
    } finally {
      await engine.close();
    }
  }
  const format = options.format ?? (/\.csv$/i.test(pathOrGlob) ? 'csv' : undefined);
  if (
    format === 'csv' &&
    !GLOB.test(pathOrGlob) &&
    options.labelMapping === undefined &&
    options.onInvalid !== 'skip'
  ) {
    const read = await readCsvMatrix(pathOrGlob, {
      label,
      ...(features === undefined ? {} : { features }),
      ...(options.delimiter === undefined ? {} : { delimiter: options.delimiter }),
      ...(options.onProgress === undefined
        ? {}
        : {
            onProgress: ({ bytesRead, totalBytes, rows }) =>
              options.onProgress?.({ bytesRead, totalBytes, rows }),
          }),
    });
    return { x: read.x, y: read.y, rows: read.rows, positives: read.positives, reader: 'csv' };
  }
  const reader = await openBatches(pathOrGlob, { ...options, label });
  const batch = await collectBatches(reader);
  const names =
    features ??
    batch.schema
      .filter((column) => column.name !== label && (column.type === 'number' || column.type === 'integer'))
      .map((column) => column.name);
  if (names.length === 0) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `${pathOrGlob}: no numeric feature columns besides the label "${label}"`,
      'name numeric feature columns with --features, or check the label column',
      { input: pathOrGlob },
    );
  }
  const labels = batch.columns[label];
  if (!(labels instanceof Uint8Array)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_LABEL',
      `${pathOrGlob}: the label column "${label}" is not a 0/1 label`,
      'name the label column with --label, or give a label mapping',
      { input: label },
    );
  }
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i] as number;
  return { x: batchDesignMatrix(batch, names), y: labels, rows: batch.rows, positives, reader: 'batches' };
}
