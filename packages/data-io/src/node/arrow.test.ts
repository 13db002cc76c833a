import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ColumnBatch, type DictionaryColumn, RarefyInputError } from '@rarefy/sampling-core';
import {
  Bool,
  Float64,
  Int32,
  type RecordBatch,
  Table,
  tableToIPC,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byteSource, collectBatches, createBatchReader } from '../batch-reader.js';
import { formatFromName, sniffFormat } from '../index.js';
import { readDesignMatrix } from './read-matrix.js';
import { openBatches } from './readers.js';

/** Rows of the test table: x (float), n (int32), s (string), flag (bool), y (0/1 label). */
const X = [0.5, -1.25, 3, 4.5, 1e-3, 7, 8.25, -9];
const N = [1, 2, 3, -4, 5, 6, 7, 8];
const S = ['a', 'b', 'a', 'c', 'b', 'a', 'c', 'c'];
const FLAG = [true, false, true, true, false, false, true, false];
const Y = [0, 1, 0, 0, 1, 0, 0, 1];

/** A record batch of rows [from, to) of the given columns. */
function recordBatch(columns: Record<string, Vector>, from: number, to: number): RecordBatch {
  const table = new Table(
    Object.fromEntries(Object.entries(columns).map(([name, vector]) => [name, vector.slice(from, to)])),
  );
  return table.batches[0] as RecordBatch;
}

/** A table of several record batches (3 + 3 + 2 rows). */
function tableOf(columns: Record<string, Vector>): Table {
  return new Table([recordBatch(columns, 0, 3), recordBatch(columns, 3, 6), recordBatch(columns, 6, 8)]);
}

function columnsWith(y: readonly number[]): Record<string, Vector> {
  return {
    x: vectorFromArray(X, new Float64()),
    n: vectorFromArray(N, new Int32()),
    s: vectorFromArray(S, new Utf8()),
    flag: vectorFromArray(FLAG, new Bool()),
    y: vectorFromArray(y, new Int32()),
  };
}

let directory: string;
let file: string;
let stream: string;
let signed: string;
let withNull: string;
let dictionary: string;
let extensionless: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rarefy-arrow-'));
  file = join(directory, 'data.arrow');
  stream = join(directory, 'data-stream.ipc');
  signed = join(directory, 'signed.feather');
  withNull = join(directory, 'null.arrow');
  dictionary = join(directory, 'dictionary.arrow');
  extensionless = join(directory, 'data');
  const table = tableOf(columnsWith(Y));
  expect(table.batches.length).toBe(3);
  await writeFile(file, tableToIPC(table, 'file'));
  await writeFile(extensionless, tableToIPC(table, 'file'));
  await writeFile(stream, tableToIPC(table, 'stream'));
  await writeFile(signed, tableToIPC(tableOf(columnsWith(Y.map((label) => (label === 1 ? 1 : -1)))), 'file'));
  const nulls = columnsWith(Y);
  nulls.x = vectorFromArray([0.5, -1.25, 3, 4.5, null, 7, 8.25, -9], new Float64());
  await writeFile(withNull, tableToIPC(tableOf(nulls), 'file'));
  const encoded = columnsWith(Y);
  encoded.s = vectorFromArray(S); // Dictionary<Utf8, Int32>
  await writeFile(dictionary, tableToIPC(tableOf(encoded), 'file'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** The strings of a dictionary column, row by row. */
function strings(column: DictionaryColumn): string[] {
  return Array.from(column.codes, (code) => column.values[code] ?? '');
}

async function all(path: string, options: Parameters<typeof openBatches>[1]): Promise<ColumnBatch[]> {
  const reader = await openBatches(path, options);
  const batches: ColumnBatch[] = [];
  for await (const batch of reader.batches()) batches.push(batch);
  return batches;
}

describe('Arrow IPC in openBatches', () => {
  it('knows the extensions and the magic bytes', () => {
    expect(formatFromName('a/b.arrow')).toBe('arrow');
    expect(formatFromName('b.FEATHER')).toBe('arrow');
    expect(formatFromName('b.ipc')).toBe('arrow');
    expect(sniffFormat(new TextEncoder().encode('ARROW1\0\0'))).toBe('arrow');
  });

  it('reads values and types, with the label mapped to 0/1', async () => {
    const reader = await openBatches(file, { label: 'y' });
    expect(reader.format).toBe('arrow');
    expect(reader.schema).toEqual([
      { name: 'x', type: 'number' },
      { name: 'n', type: 'number' },
      { name: 's', type: 'string' },
      { name: 'flag', type: 'number' },
      { name: 'y', type: 'label' },
    ]);
    const table = await collectBatches(reader);
    expect(table.rows).toBe(8);
    expect(table.columns.x).toEqual(Float64Array.from(X));
    expect(table.columns.n).toEqual(Float64Array.from(N));
    expect(strings(table.columns.s as DictionaryColumn)).toEqual(S);
    expect(table.columns.flag).toEqual(Float64Array.from(FLAG, Number));
    expect(table.columns.y).toEqual(Uint8Array.from(Y));
    expect(reader.stats.rows).toBe(8);
  });

  it('reads the stream format, dictionary strings, type overrides and extensionless files', async () => {
    for (const path of [stream, dictionary, extensionless]) {
      const table = await collectBatches(await openBatches(path, { label: 'y', types: { n: 'integer' } }));
      expect(table.columns.n).toEqual(Int32Array.from(N));
      expect(strings(table.columns.s as DictionaryColumn)).toEqual(S);
      expect(table.columns.y).toEqual(Uint8Array.from(Y));
    }
    const dropped = await openBatches(file, { drop: ['s', 'flag'] });
    expect(dropped.schema.map((column) => column.name)).toEqual(['x', 'n', 'y']);
  });

  it('regroups record batches into batchRows, with the same data for every size', async () => {
    const tables: ColumnBatch[] = [];
    for (const batchRows of [1, 3, 5, 1000]) {
      const batches = await all(file, { label: 'y', batchRows });
      const sizes = batches.map((batch) => batch.rows);
      expect(sizes.every((rows, k) => rows === Math.min(batchRows, 8 - k * batchRows))).toBe(true);
      expect(batches.map((batch) => batch.firstRow)).toEqual(sizes.map((_, k) => k * batchRows));
      tables.push(await collectBatches(await openBatches(file, { label: 'y', batchRows })));
    }
    for (const table of tables.slice(1)) expect(table).toEqual(tables[0]);
  });

  it('maps -1/1 labels with a label mapping, and rejects them without one', async () => {
    const table = await collectBatches(
      await openBatches(signed, { label: 'y', labelMapping: { positive: [1], negative: [-1] } }),
    );
    expect(table.columns.y).toEqual(Uint8Array.from(Y));
    const error = await collectBatches(await openBatches(signed, { label: 'y' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RarefyInputError);
    expect((error as RarefyInputError).code).toBe('RAREFY_INVALID_LABEL');
  });

  it('names file, row and column for a null number, or counts a skip', async () => {
    const error = await collectBatches(await openBatches(withNull, { label: 'y' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RarefyInputError);
    const typed = error as RarefyInputError;
    expect(typed.code).toBe('RAREFY_PARSE_ERROR');
    expect(typed.message).toContain(withNull);
    expect(typed.message).toContain('row 5');
    expect(typed.message).toContain('column "x"');
    const reader = await openBatches(withNull, { label: 'y', onInvalid: 'skip', batchRows: 2 });
    const table = await collectBatches(reader);
    expect(table.rows).toBe(7);
    expect(reader.stats.skipped).toBe(1);
    expect(reader.stats.skippedExamples[0]?.line).toBe(5);
    expect(table.columns.x).toEqual(Float64Array.from(X.filter((_, i) => i !== 4)));
  });

  it('reads a glob of Arrow files as one table and checks their columns', async () => {
    const table = await collectBatches(await openBatches(join(directory, 'data*.*'), { label: 'y' }));
    expect(table.rows).toBe(16);
  });

  it('gives typed errors for a missing label and for byte sources', async () => {
    await expect(openBatches(file, { label: 'nope' })).rejects.toMatchObject({
      code: 'RAREFY_INVALID_ARGUMENT',
    });
    await expect(
      createBatchReader([byteSource('a.arrow', new Uint8Array(8))], { label: 'y' }),
    ).rejects.toMatchObject({ code: 'RAREFY_INVALID_ARGUMENT' });
    const broken = join(directory, 'broken.arrow');
    await writeFile(broken, 'not arrow at all');
    await expect(openBatches(broken, {})).rejects.toMatchObject({ code: 'RAREFY_PARSE_ERROR' });
  });

  it('feeds readDesignMatrix', async () => {
    const read = await readDesignMatrix(file, { label: 'y', features: ['x', 'n'] });
    expect(read.reader).toBe('batches');
    expect(read.rows).toBe(8);
    expect(read.positives).toBe(3);
    expect(Array.from(read.x.data.subarray(0, 3))).toEqual([1, 0.5, 1]);
  });
});
