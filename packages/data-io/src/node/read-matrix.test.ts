import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateRareEvents } from '@rarefy/sampling-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../duckdb/index.js';
import { designMatrixColumns, readCsvMatrix, writeCsvFile } from '../node.js';
import { readDesignMatrix } from './read-matrix.js';

let directory: string;
let csv: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rarefy-read-matrix-'));
  const { x, y } = simulateRareEvents({ rows: 500, seed: 4, intercept: -2 });
  const columns = designMatrixColumns(x, y);
  csv = join(directory, 'data.csv');
  await writeCsvFile(csv, columns);
  const lines = Array.from({ length: x.rows }, (_, i) =>
    JSON.stringify(Object.fromEntries(columns.map((c) => [c.name, c.values[i]]))),
  );
  await writeFile(join(directory, 'data.jsonl'), `${lines.join('\n')}\n`);
  const engine = await DuckDbEngine.open();
  try {
    await engine.copyToParquet(`SELECT * FROM ${engine.relation(csv)}`, join(directory, 'data.parquet'));
  } finally {
    await engine.close();
  }
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('readDesignMatrix', () => {
  it('reads CSV, JSON Lines and Parquet into the same matrix and labels', async () => {
    const reference = await readCsvMatrix(csv, { label: 'y' });
    for (const [file, reader] of [
      ['data.csv', 'csv'],
      ['data.jsonl', 'batches'],
      ['data.parquet', 'duckdb'],
      ['*.csv', 'batches'],
    ] as const) {
      const read = await readDesignMatrix(join(directory, file), { label: 'y' });
      expect(read.reader).toBe(reader);
      expect(read.x.names).toEqual(reference.x.names);
      expect(Array.from(read.x.data.subarray(0, read.rows * read.x.columns))).toEqual(
        Array.from(reference.x.data.subarray(0, reference.rows * reference.x.columns)),
      );
      expect(Array.from(read.y)).toEqual(Array.from(reference.y));
      expect(read.positives).toBe(reference.positives);
    }
  });

  it('keeps only the features asked for, in their order', async () => {
    const read = await readDesignMatrix(join(directory, 'data.jsonl'), {
      label: 'y',
      features: ['x3', 'x1'],
    });
    expect(read.x.names).toEqual(['(Intercept)', 'x3', 'x1']);
  });
});
