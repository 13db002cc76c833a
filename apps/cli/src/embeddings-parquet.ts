import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openSampleWriter } from '@rarefy/data-io/node';
import type { SavedModelFile } from '@rarefy/model-kit';
import type { ColumnData, ColumnSchema } from '@rarefy/sampling-core';
import type { EmbeddingSet } from '@rarefy/two-tower';

/** Rows per batch handed to the writer. */
const ROWS_PER_BATCH = 8192;

/**
 * Writes one side's embeddings as a Parquet table `id, e0, ..., e{d-1}` (ids as text, values as
 * doubles), atomically: a temporary file converted by DuckDB and renamed into place. Trainers and
 * warehouses that do not read the export's Float32 binaries read this.
 *
 * @param path - the .parquet file
 * @param set - ids and embeddings
 * @param dimension - the embedding width
 * @returns the path written
 */
export async function writeEmbeddingsParquet(
  path: string,
  set: EmbeddingSet,
  dimension: number,
): Promise<string> {
  const names = Array.from({ length: dimension }, (_, j) => `e${j}`);
  const schema: ColumnSchema[] = [
    { name: 'id', type: 'string' },
    ...names.map((name) => ({ name, type: 'number' as const })),
  ];
  const writer = await openSampleWriter(path, { format: 'parquet' });
  try {
    for (let first = 0; first < set.ids.length; first += ROWS_PER_BATCH) {
      const rows = Math.min(ROWS_PER_BATCH, set.ids.length - first);
      const columns: Record<string, ColumnData> = {
        id: {
          kind: 'dictionary',
          codes: Int32Array.from({ length: rows }, (_, i) => i),
          values: set.ids.slice(first, first + rows),
        },
      };
      names.forEach((name, j) => {
        columns[name] = Float64Array.from(
          { length: rows },
          (_, i) => set.embeddings[(first + i) * dimension + j] as number,
        );
      });
      await writer.write({ schema, rows, firstRow: first, columns });
    }
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return path;
}

/**
 * The embeddings of an export as Parquet files for its folder (`item-embeddings.parquet`, and
 * `user-embeddings.parquet` when there are users): each is written to a temporary file through
 * DuckDB, read back as bytes and removed, so the folder's atomic write lists and checksums them.
 *
 * @param scratch - a folder for the temporary files
 * @param items - the catalogue's embeddings
 * @param users - the users' embeddings, if exported
 * @param dimension - the embedding width
 * @returns the files for `RetrievalExport.extraFiles`
 */
export async function embeddingParquetFiles(
  scratch: string,
  items: EmbeddingSet,
  users: EmbeddingSet | undefined,
  dimension: number,
): Promise<SavedModelFile[]> {
  const files: SavedModelFile[] = [];
  for (const [name, set] of [
    ['item-embeddings.parquet', items],
    ['user-embeddings.parquet', users],
  ] as const) {
    if (set === undefined) continue;
    const path = join(scratch, `.rarefy-parquet-${process.pid}-${name}`);
    try {
      await writeEmbeddingsParquet(path, set, dimension);
      files.push({
        path: name,
        role: 'embeddings',
        format: 'binary',
        data: new Uint8Array(await readFile(path)),
      });
    } finally {
      await rm(path, { force: true });
    }
  }
  return files;
}
