import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ColumnBatch, isRarefyError, RarefyIoError, simulateRareEvents } from '@rarefy/sampling-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { designMatrixColumns, readCsvMatrix, writeCsvFile } from '../node.js';
import { DuckDbEngine, readCsvWithDuckDb } from './engine.js';

let engine: DuckDbEngine;
let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rarefy-duckdb-'));
  engine = await DuckDbEngine.open({ threads: 2, memoryLimit: '500MB' });
});

afterAll(async () => {
  await engine?.close();
  await rm(directory, { recursive: true, force: true });
});

async function collect(batches: AsyncIterable<ColumnBatch>): Promise<ColumnBatch[]> {
  const all: ColumnBatch[] = [];
  for await (const batch of batches) all.push(batch);
  return all;
}

async function caught(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

const TYPED_QUERY = `
  SELECT
    i::INTEGER AS small,
    (i * 1000000007)::BIGINT AS big,
    i / 7.0::DOUBLE AS ratio,
    (i % 3 = 0) AS flag,
    (i % 2)::BIGINT AS y,
    CASE WHEN i % 5 = 0 THEN NULL ELSE 'id' || (i % 4)::VARCHAR END AS name
  FROM range(5000) r(i)
  ORDER BY i`;

describe('DuckDbEngine.stream', () => {
  for (const batchRows of [1000, 3000]) {
    it(`converts chunks to ColumnBatches of ${batchRows} rows with their types and values`, async () => {
      const batches = await collect(engine.stream(TYPED_QUERY, { batchRows, label: 'y' }));
      expect(batches.map((batch) => batch.firstRow)).toEqual(
        Array.from({ length: Math.ceil(5000 / batchRows) }, (_, k) => k * batchRows),
      );
      expect(batches.reduce((sum, batch) => sum + batch.rows, 0)).toBe(5000);
      const first = batches[0] as ColumnBatch;
      expect(first.schema).toEqual([
        { name: 'small', type: 'integer' },
        { name: 'big', type: 'number' },
        { name: 'ratio', type: 'number' },
        { name: 'flag', type: 'label' },
        { name: 'y', type: 'label' },
        { name: 'name', type: 'string' },
      ]);
      for (const batch of batches) {
        const small = batch.columns.small as Int32Array;
        const big = batch.columns.big as Float64Array;
        const ratio = batch.columns.ratio as Float64Array;
        const flag = batch.columns.flag as Uint8Array;
        const y = batch.columns.y as Uint8Array;
        const name = batch.columns.name as {
          kind: 'dictionary';
          codes: Int32Array;
          values: readonly string[];
        };
        expect(small).toBeInstanceOf(Int32Array);
        expect(big).toBeInstanceOf(Float64Array);
        expect(flag).toBeInstanceOf(Uint8Array);
        expect(name.kind).toBe('dictionary');
        for (let k = 0; k < batch.rows; k++) {
          const i = batch.firstRow + k;
          expect(small[k]).toBe(i);
          expect(big[k]).toBe(i * 1000000007);
          expect(ratio[k]).toBe(i / 7);
          expect(flag[k]).toBe(i % 3 === 0 ? 1 : 0);
          expect(y[k]).toBe(i % 2);
          const code = name.codes[k] as number;
          expect(code === -1 ? null : name.values[code]).toBe(i % 5 === 0 ? null : `id${i % 4}`);
        }
      }
    });
  }

  it('reads back exactly the doubles a CSV file holds', async () => {
    const data = simulateRareEvents({ rows: 3000, seed: 4 });
    const path = join(directory, 'round-trip.csv');
    const x1 = Float64Array.from({ length: 3000 }, (_, i) => data.x.data[i * 7 + 1] as number);
    await writeCsvFile(path, [
      { name: 'y', values: data.y },
      { name: 'x1', values: x1 },
    ]);
    const batches = await collect(
      engine.stream(`SELECT * FROM ${engine.relation(path)}`, { label: 'y', batchRows: 1024 }),
    );
    const read = new Float64Array(3000);
    const labels = new Uint8Array(3000);
    for (const batch of batches) {
      read.set(batch.columns.x1 as Float64Array, batch.firstRow);
      labels.set(batch.columns.y as Uint8Array, batch.firstRow);
    }
    expect(read).toEqual(x1);
    expect(labels).toEqual(data.y);
  });

  it('refuses a NULL number and a label other than 0/1, naming the column and row', async () => {
    const nullError = await caught(() =>
      collect(
        engine.stream('SELECT CASE WHEN i = 3 THEN NULL ELSE i / 2 END AS v FROM range(10) r(i) ORDER BY i'),
      ),
    );
    expect(isRarefyError(nullError, 'RAREFY_NON_FINITE')).toBe(true);
    expect((nullError as Error).message).toMatch(/column "v", row 4 \(index 3\) is NULL/);
    const labelError = await caught(() =>
      collect(engine.stream('SELECT i AS y FROM range(10) r(i) ORDER BY i', { label: 'y' })),
    );
    expect(isRarefyError(labelError, 'RAREFY_INVALID_LABEL')).toBe(true);
    expect((labelError as Error).message).toMatch(/"y", row 3 \(index 2\) is 2/);
  });

  it('refuses types without a batch column type, and bad SQL, with DuckDB’s message', async () => {
    const dateError = await caught(() => collect(engine.stream("SELECT DATE '2024-01-01' AS day")));
    expect((dateError as Error).message).toMatch(/"day" has DuckDB type DATE/);
    const sqlError = await caught(() => collect(engine.stream('SELECT nope FROM range(3)')));
    expect(isRarefyError(sqlError, 'RAREFY_INVALID_ARGUMENT')).toBe(true);
    expect((sqlError as Error).message).toMatch(/SELECT nope FROM range\(3\).*Binder Error/);
  });
});

describe('DuckDbEngine files', () => {
  it('countClasses counts a CSV file and a Parquet glob', async () => {
    const csv = join(directory, 'classes.csv');
    await writeCsvFile(csv, [
      { name: 'y', values: new Float64Array([0, 1, 0, 0, 1, 0]) },
      { name: 'x', values: new Float64Array([1, 2, 3, 4, 5, 6]) },
    ]);
    expect(await engine.countClasses(csv, 'y')).toEqual({ rows: 6, positives: 2, negatives: 4 });
    for (const part of [1, 2]) {
      await engine.copyToParquet(
        `SELECT (i % 10 = 0)::INTEGER AS clicked, i AS x FROM range(${part * 1000}) r(i)`,
        join(directory, `part-${part}.parquet`),
      );
    }
    expect(await engine.countClasses(join(directory, 'part-*.parquet'), 'clicked')).toEqual({
      rows: 3000,
      positives: 300,
      negatives: 2700,
    });
  });

  it('countClasses refuses labels other than 0/1', async () => {
    const csv = join(directory, 'bad-labels.csv');
    await writeFile(csv, 'y,x\n0,1\n2,1\n1,1\n,1\n');
    const error = await caught(() => engine.countClasses(csv, 'y'));
    expect(isRarefyError(error, 'RAREFY_INVALID_LABEL')).toBe(true);
    expect((error as Error).message).toMatch(/1 values other than 0 and 1 \(e.g. 2\) and 1 NULLs/);
  });

  it('copyToParquet writes a file that read_parquet reads back, and leaves no temporary file', async () => {
    const path = join(directory, 'out.parquet');
    await engine.copyToParquet('SELECT i AS id, i * 0.5 AS half FROM range(100000) r(i);', path);
    const rows = await engine.query(`SELECT count(*) AS n, sum(half) AS total FROM ${engine.relation(path)}`);
    expect(Number(rows[0]?.n)).toBe(100000);
    expect(rows[0]?.total).toBe((0.5 * 99999 * 100000) / 2);
    expect((await readdir(directory)).filter((name) => name.includes('rarefy-tmp'))).toEqual([]);
  });

  it('copyToParquet leaves neither the output nor a temporary file when the query fails midway', async () => {
    const path = join(directory, 'failed.parquet');
    const error = await caught(() =>
      engine.copyToParquet(
        "SELECT CASE WHEN i = 900000 THEN error('boom midway') ELSE i END AS v FROM range(1000000) r(i)",
        path,
      ),
    );
    expect(isRarefyError(error)).toBe(true);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain('boom midway');
    const names = await readdir(directory);
    expect(names).not.toContain('failed.parquet');
    expect(names.filter((name) => name.includes('rarefy-tmp'))).toEqual([]);
    const folderError = await caught(() =>
      engine.copyToParquet('SELECT 1 AS a', join(directory, 'missing', 'x.parquet')),
    );
    expect(folderError).toBeInstanceOf(RarefyIoError);
    expect((folderError as Error).message).toContain(join(directory, 'missing', 'x.parquet'));
  });

  it('names the path when a file cannot be read, and refuses Arrow IPC and unknown types', async () => {
    const missing = join(directory, 'nowhere', 'events.parquet');
    const error = await caught(() => engine.countClasses(missing, 'y'));
    expect(error).toBeInstanceOf(RarefyIoError);
    expect((error as Error).message).toContain(missing);
    expect(() => engine.relation('data.arrow')).toThrow(/Arrow IPC needs DuckDB's arrow extension/);
    expect(() => engine.relation('data.xlsx')).toThrow(/unknown file type/);
    expect(engine.relation("it's.csv")).toBe("read_csv('it''s.csv')");
    expect(engine.relation('logs/*.parquet')).toBe("read_parquet('logs/*.parquet')");
  });

  it('readCsvWithDuckDb gives the same matrix as readCsvMatrix', async () => {
    const data = simulateRareEvents({ rows: 5000, seed: 8 });
    const path = join(directory, 'a10.csv');
    const columns = designMatrixColumns(data.x, data.y);
    await writeCsvFile(path, columns);
    const ours = await readCsvMatrix(path, { label: 'y' });
    const duck = await readCsvWithDuckDb(path, { label: 'y', engine: { threads: 2 } });
    expect(duck.x.names).toEqual(ours.x.names);
    expect(duck.x.data).toEqual(ours.x.data);
    expect(duck.y).toEqual(ours.y);
    expect(duck.positives).toBe(data.positives);
    const missing = await caught(() => readCsvWithDuckDb(join(directory, 'none.csv'), { label: 'y' }));
    expect(missing).toBeInstanceOf(RarefyIoError);
    expect((missing as Error).message).toContain(join(directory, 'none.csv'));
  });

  it('refuses use after close', async () => {
    const closed = await DuckDbEngine.open({ threads: 1 });
    await closed.close();
    await closed.close();
    await expect(closed.query('SELECT 1')).rejects.toThrow(/closed/);
  });
});
