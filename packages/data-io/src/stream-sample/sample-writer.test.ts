import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ColumnBatch,
  type ColumnSchema,
  isRarefyError,
  type RarefyError,
  simulateRareEvents,
} from '@rarefy/sampling-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../csv-tokenizer.js';
import { DuckDbEngine } from '../duckdb/index.js';
import { sampleStream } from './sample-stream.js';
import { openSampleWriter, removeStaleTemporaryFiles } from './sample-writer.js';

let root: string;
let counter = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rarefy-sample-writer-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh empty folder for one test. */
async function folder(): Promise<string> {
  const path = join(root, `case-${++counter}`);
  await mkdir(path);
  return path;
}

async function rejection(promise: Promise<unknown>): Promise<RarefyError> {
  try {
    await promise;
  } catch (error) {
    if (isRarefyError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

const schema: ColumnSchema[] = [
  { name: 'y', type: 'label' },
  { name: 'x', type: 'number' },
  { name: 'id', type: 'integer' },
  { name: 'name', type: 'string' },
];

function batch(firstRow: number, x: number[], names: number[]): ColumnBatch {
  const rows = x.length;
  return {
    schema,
    rows,
    firstRow,
    columns: {
      y: Uint8Array.from(x, (_, k) => (firstRow + k) % 2),
      x: Float64Array.from(x),
      id: Int32Array.from(x, (_, k) => firstRow + k),
      name: { kind: 'dictionary', codes: Int32Array.from(names), values: ['plain', 'a, b', 'say "hi"', ''] },
    },
  };
}

/** The A.10 data as batches of 1000 rows: y, x1..x6. */
function simulatedSource(rows: number) {
  const data = simulateRareEvents({ rows, seed: 3, intercept: -4 });
  const names = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6'];
  return {
    async *batches(): AsyncGenerator<ColumnBatch> {
      for (let start = 0; start < rows; start += 1000) {
        const n = Math.min(1000, rows - start);
        const columns: ColumnBatch['columns'] = { y: data.y.slice(start, start + n) };
        const filled: Record<string, Float64Array> = {};
        names.forEach((name, j) => {
          const values = new Float64Array(n);
          for (let i = 0; i < n; i++) values[i] = data.x.data[(start + i) * 7 + j + 1] as number;
          filled[name] = values;
        });
        yield {
          schema: [{ name: 'y', type: 'label' }, ...names.map((name) => ({ name, type: 'number' as const }))],
          rows: n,
          firstRow: start,
          columns: { ...columns, ...filled },
        };
      }
    },
  };
}

describe('openSampleWriter', () => {
  it('writes the header and the rows (shortest round-trip numbers, quoted strings) on commit only', async () => {
    const dir = await folder();
    const path = join(dir, 'out.csv');
    const writer = await openSampleWriter(path);
    await writer.write(batch(0, [0.1, -0, 1e-300], [0, 1, -1]));
    await writer.write(batch(3, [], []));
    await writer.write(batch(3, [Number.NaN, 2 / 3], [2, 3]));
    expect(await readdir(dir)).toEqual([writer.temporaryPath.slice(dir.length + 1)]);
    const summary = await writer.commit();
    expect(summary.rows).toBe(5);
    expect(await readdir(dir)).toEqual(['out.csv']);
    const text = await readFile(path, 'utf8');
    expect(text).toBe(
      'y,x,id,name\n0,0.1,0,plain\n1,-0,1,"a, b"\n0,1e-300,2,\n1,,3,"say ""hi"""\n0,0.6666666666666666,4,""\n',
    );
    const table = parseCsv(text);
    expect(table.columns).toEqual(['y', 'x', 'id', 'name']);
    expect(Number((table.rows[4] as string[])[1])).toBe(2 / 3);
  });

  it('refuses a batch with other columns, and use after commit', async () => {
    const dir = await folder();
    const writer = await openSampleWriter(join(dir, 'out.csv'));
    await writer.write(batch(0, [1], [0]));
    const other: ColumnBatch = {
      schema: [{ name: 'z', type: 'number' }],
      rows: 0,
      firstRow: 0,
      columns: { z: new Float64Array(0) },
    };
    expect((await rejection(writer.write(other))).code).toBe('RAREFY_DIMENSION_MISMATCH');
    await writer.commit();
    expect((await rejection(writer.write(batch(1, [1], [0])))).code).toBe('RAREFY_INVALID_ARGUMENT');
  });

  it('leaves neither the output nor a temporary file when the run throws midway', async () => {
    const dir = await folder();
    const path = join(dir, 'sample.csv');
    const writer = await openSampleWriter(path, { bufferBytes: 64 });
    let calls = 0;
    let failure: unknown;
    try {
      await sampleStream(simulatedSource(20_000), {
        label: 'y',
        design: 'optL',
        pilotSize: 200,
        sampleSize: 2000,
        write: async (kept) => {
          if (++calls === 10) throw new Error('stopped midway');
          await writer.write(kept);
        },
      });
      await writer.commit();
    } catch (error) {
      failure = error;
      await writer.abort();
    }
    expect(failure).toBeInstanceOf(Error);
    expect(calls).toBe(10);
    expect(writer.rowsWritten).toBeGreaterThan(0);
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps an existing output untouched when a run fails', async () => {
    const dir = await folder();
    const path = join(dir, 'sample.csv');
    await writeFile(path, 'previous\n');
    const writer = await openSampleWriter(path);
    await writer.write(batch(0, [1, 2], [0, 0]));
    await writer.abort();
    await writer.abort();
    expect(await readFile(path, 'utf8')).toBe('previous\n');
    expect(await readdir(dir)).toEqual(['sample.csv']);
  });

  it("writes Parquet through the DuckDB engine with the batches' column types, atomically", async () => {
    const dir = await folder();
    const path = join(dir, 'sample.parquet');
    const writer = await openSampleWriter(path);
    await writer.write(batch(0, [0.1, 2 / 3, -1e-300], [0, 1, 2]));
    await writer.write(batch(3, [Number.NaN], [-1]));
    await writer.commit();
    expect(await readdir(dir)).toEqual(['sample.parquet']);
    const bytes = await readFile(path);
    expect(bytes.subarray(0, 4).toString()).toBe('PAR1');
    const engine = await DuckDbEngine.open({ threads: 1 });
    try {
      const rows = await engine.query(
        `SELECT y, x, id, name, typeof(x) AS tx, typeof(y) AS ty FROM read_parquet('${path}') ORDER BY id`,
      );
      expect(rows.map((row) => row.x)).toEqual([0.1, 2 / 3, -1e-300, null]);
      expect(rows.map((row) => row.name)).toEqual(['plain', 'a, b', 'say "hi"', null]);
      expect(rows[0]?.tx).toBe('DOUBLE');
      expect(rows[0]?.ty).toBe('UTINYINT');
    } finally {
      await engine.close();
    }
  });

  it('converts through a given Parquet hook, and leaves nothing when it fails', async () => {
    const dir = await folder();
    const path = join(dir, 'sample.parquet');
    const calls: string[] = [];
    const writer = await openSampleWriter(path, {
      copyToParquet: async (csv, parquet, schema) => {
        calls.push(schema.map((column) => `${column.name}:${column.type}`).join(','));
        await copyFile(csv, parquet);
      },
    });
    await writer.write(batch(0, [1.5], [0]));
    await writer.commit();
    expect(calls).toEqual(['y:label,x:number,id:integer,name:string']);
    expect(await readdir(dir)).toEqual(['sample.parquet']);
    expect(await readFile(path, 'utf8')).toBe('y,x,id,name\n0,1.5,0,plain\n');

    const failing = await openSampleWriter(join(dir, 'other.parquet'), {
      copyToParquet: () => Promise.reject(new Error('engine failed')),
    });
    await failing.write(batch(0, [1], [0]));
    const error = await rejection(failing.commit());
    expect(error.code).toBe('RAREFY_IO_ERROR');
    expect(await readdir(dir)).toEqual(['sample.parquet']);
  });

  it('removes stale temporary files of processes that are gone, and nothing else', async () => {
    const dir = await folder();
    // A pid above Linux's pid_max (2^22) cannot be running.
    const stale = `.rarefy-tmp-${2 ** 22 + 17}-0123456789ab-old.csv`;
    const live = `.rarefy-tmp-${process.pid}-0123456789ab-mine.csv`;
    await writeFile(join(dir, stale), 'x\n');
    await writeFile(join(dir, live), 'x\n');
    await writeFile(join(dir, 'keep.csv'), 'x\n');
    expect(await removeStaleTemporaryFiles(dir)).toEqual([stale]);
    expect((await readdir(dir)).sort()).toEqual([live, 'keep.csv'].sort());
  });

  it('never creates the output when the writing process is killed with SIGKILL midway', async () => {
    const dir = await folder();
    const path = join(dir, 'killed.csv');
    const module = fileURLToPath(new URL('./sample-writer.ts', import.meta.url));
    const script = [
      `const { openSampleWriter } = await import(${JSON.stringify(module)});`,
      `const writer = await openSampleWriter(${JSON.stringify(path)}, { bufferBytes: 16 });`,
      `const schema = [{ name: 'x', type: 'number' }];`,
      'for (let k = 0; ; k++) {',
      '  await writer.write({ schema, rows: 1, firstRow: k, columns: { x: Float64Array.of(k) } });',
      "  if (k === 100) process.stdout.write('writing\\n');",
      '  await new Promise((resolve) => setTimeout(resolve, 1));',
      '}',
    ].join('\n');
    const child = spawn(
      process.execPath,
      ['--conditions=@rarefy/source', '--import', 'tsx', '--input-type=module', '-e', script],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_, signal) => resolve(signal)),
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => resolve());
      child.on('exit', () => reject(new Error(`the child ended before writing: ${stderr}`)));
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const left = await readdir(dir);
    expect(left).not.toContain('killed.csv');
    // Its temporary file stays behind (nothing can remove it after SIGKILL) until the next writer.
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^\.rarefy-tmp-\d+-[0-9a-f]{12}-killed\.csv$/);
    const next = await openSampleWriter(path);
    expect(await readdir(dir)).toEqual([next.temporaryPath.slice(dir.length + 1)]);
    await next.abort();
  }, 30_000);
});
