import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng, isRarefyError, type RarefyError } from '@rarefy/sampling-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv, readCsvMatrix, writeCsvFile } from './node.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rarefy-data-io-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<RarefyError> {
  try {
    await promise;
  } catch (error) {
    if (isRarefyError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('writeCsvFile and readCsvMatrix', () => {
  it('round-trips doubles exactly (including -0 and extremes), in any chunk size', async () => {
    const rng = createRng(99);
    const rows = 5000;
    const labels = new Uint8Array(rows);
    const a = new Float64Array(rows);
    const b = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      labels[i] = rng.nextFloat64() < 0.1 ? 1 : 0;
      a[i] = rng.normal();
      b[i] = rng.normal() * 10 ** (rng.nextInt(600) - 300);
    }
    a[0] = -0;
    b[1] = Number.MAX_VALUE;
    b[2] = Number.MIN_VALUE;
    b[3] = 123456789012345680;
    const path = join(directory, 'round-trip.csv');
    await writeCsvFile(path, [
      { name: 'y', values: labels },
      { name: 'a', values: a },
      { name: 'b', values: b },
    ]);
    for (const chunkBytes of [1024, 4 << 20]) {
      const progress: number[] = [];
      const result = await readCsvMatrix(path, {
        label: 'y',
        chunkBytes,
        onProgress: ({ bytesRead }) => progress.push(bytesRead),
      });
      expect(result.rows).toBe(rows);
      expect(result.positives).toBe(labels.reduce((sum, label) => sum + label, 0));
      expect(Array.from(result.y)).toEqual(Array.from(labels));
      for (let i = 0; i < rows; i++) {
        if (!Object.is(result.x.data[i * 3 + 1], a[i]) || !Object.is(result.x.data[i * 3 + 2], b[i])) {
          expect.fail(`row ${i} differs`);
        }
      }
      expect(progress.at(-1)).toBe((await readFile(path)).length);
    }
  });

  it('quotes strings that need it and writes digits when asked', async () => {
    const path = join(directory, 'strings.csv');
    await writeCsvFile(
      path,
      [
        { name: 'id', values: ['plain', 'with, comma', 'say "hi"', 'two\nlines'] },
        { name: 'p', values: [Math.PI, 0.5, 1 / 3, 2] },
      ],
      { digits: 4 },
    );
    const text = await readFile(path, 'utf8');
    expect(text.split('\n')[1]).toBe('plain,3.142');
    expect(parseCsv(text).rows).toEqual([
      ['plain', '3.142'],
      ['with, comma', '0.5'],
      ['say "hi"', '0.3333'],
      ['two\nlines', '2'],
    ]);
  });

  it('reads a file with a record larger than the chunk', async () => {
    const path = join(directory, 'wide.csv');
    const names = Array.from({ length: 400 }, (_, j) => `feature_${j}`);
    const row = names.map((_, j) => (j * 1.5).toString());
    await writeFile(path, `y,${names.join(',')}\n1,${row.join(',')}\n0,${row.join(',')}\n`);
    const result = await readCsvMatrix(path, { label: 'y', chunkBytes: 1024 });
    expect(result.rows).toBe(2);
    expect(result.x.columns).toBe(401);
    expect(result.x.data[400]).toBe(399 * 1.5);
  });

  it('names the path and the OS reason when a file cannot be read', async () => {
    const missing = join(directory, 'missing.csv');
    const error = await rejection(readCsvMatrix(missing, { label: 'y' }));
    expect(error.code).toBe('RAREFY_IO_ERROR');
    expect(error.name).toBe('RarefyIoError');
    expect(error.message).toContain(missing);
    expect(error.message).toContain('ENOENT');
    const folder = await rejection(readCsvMatrix(directory, { label: 'y' }));
    expect(folder.code).toBe('RAREFY_IO_ERROR');
    expect(folder.message).toContain('EISDIR');
  });

  it('names the file in parse errors', async () => {
    const path = join(directory, 'bad.csv');
    await writeFile(path, 'y,a\n1,2\n0,oops\n');
    const error = await rejection(readCsvMatrix(path, { label: 'y' }));
    expect(error.code).toBe('RAREFY_PARSE_ERROR');
    expect(error.message).toContain(`${path}, line 3: column "a": "oops" is not a number`);
  });

  it('leaves no file, and no temporary file, when writing fails midway', async () => {
    const path = join(directory, 'failed.csv');
    // A column whose values fail to read at row 70,001, after the first chunks are written.
    const exploding = new Proxy({ length: 100_000 } as ArrayLike<number>, {
      get(target, key) {
        if (key === 'length') return target.length;
        if (key === '70000') throw new Error('value source failed');
        return 0.5;
      },
    });
    await expect(
      writeCsvFile(path, [
        { name: 'y', values: new Uint8Array(100_000) },
        { name: 'x', values: exploding },
      ]),
    ).rejects.toThrow('value source failed');
    const nonFinite = await rejection(
      writeCsvFile(path, [
        {
          name: 'x',
          values: Float64Array.from({ length: 200_000 }, (_, i) => (i === 150_000 ? Number.NaN : i)),
        },
      ]),
    );
    expect(nonFinite.code).toBe('RAREFY_NON_FINITE');
    expect(nonFinite.message).toContain('row 150001');
    expect((await readdir(directory)).filter((name) => name.startsWith('failed.csv'))).toEqual([]);
  });

  it('keeps the old file when a write fails, and names the path when it cannot write at all', async () => {
    const path = join(directory, 'kept.csv');
    await writeFile(path, 'old contents\n');
    await expect(
      writeCsvFile(path, [{ name: 'x', values: [1, Number.POSITIVE_INFINITY] }]),
    ).rejects.toThrow();
    expect(await readFile(path, 'utf8')).toBe('old contents\n');
    const unwritable = join(directory, 'no-such-folder', 'out.csv');
    const error = await rejection(writeCsvFile(unwritable, [{ name: 'x', values: [1] }]));
    expect(error.code).toBe('RAREFY_IO_ERROR');
    expect(error.message).toContain(unwritable);
    expect(error.message).toContain('ENOENT');
    const overFolder = await rejection(writeCsvFile(directory, [{ name: 'x', values: [1] }]));
    expect(overFolder.code).toBe('RAREFY_IO_ERROR');
    expect((await readdir(join(directory, '..'))).some((name) => name.includes('.rarefy-tmp-'))).toBe(false);
  });
});
