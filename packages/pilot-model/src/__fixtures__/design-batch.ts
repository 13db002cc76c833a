import { type ColumnBatch, type ColumnSchema, createRng, type DesignMatrix } from '@rarefy/sampling-core';

/** A batch holding a design matrix's feature columns (the intercept column left out) and the labels `y`. */
export function batchFromMatrix(x: DesignMatrix, y?: Uint8Array, firstRow = 0): ColumnBatch {
  const columns: Record<string, Float64Array | Uint8Array> = {};
  const start = x.intercept ? 1 : 0;
  for (let j = start; j < x.columns; j++) {
    const column = new Float64Array(x.rows);
    for (let i = 0; i < x.rows; i++) column[i] = x.data[i * x.columns + j] as number;
    columns[x.names[j] as string] = column;
  }
  const schema: ColumnSchema[] = x.names.slice(start).map((name) => ({ name, type: 'number' }));
  if (y !== undefined) {
    columns.y = y;
    schema.push({ name: 'y', type: 'label' });
  }
  return { schema, rows: x.rows, firstRow, columns };
}

/** Seeded row-major uniform values in [low, high). */
export function uniformValues(count: number, seed: number, low = -1, high = 1): Float64Array {
  const rng = createRng(seed);
  const values = new Float64Array(count);
  for (let k = 0; k < count; k++) values[k] = low + (high - low) * rng.nextFloat64();
  return values;
}
