import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DictionaryColumn, isRarefyError, type RarefyError } from '@rarefy/sampling-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectBatches } from '../batch-reader.js';
import { writeCsvFile } from '../node.js';
import { expandGlob, openBatches, readInteractions, readItemCatalog } from './readers.js';

const fixtures = fileURLToPath(new URL('../__fixtures__/', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const sharedData = join(repoRoot, '..', 'shared', 'data');

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rarefy-readers-'));
  await mkdir(join(directory, 'logs', 'nested'), { recursive: true });
  await writeFile(join(directory, 'logs', 'part-2.csv'), 'y,x,s\n0,3,c\n');
  await writeFile(join(directory, 'logs', 'part-1.csv'), 'y,x,s\n1,1,a\n0,2,b\n');
  await writeFile(join(directory, 'logs', 'nested', 'part-3.csv'), 'y,x,s\n1,4,d\n');
  await writeFile(join(directory, 'logs', 'notes.txt'), 'not data\n');
  await writeFile(join(directory, 'logs', '.hidden.csv'), 'y,x,s\n1,99,z\n');
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Awaits `promise`, expecting a RarefyError of `code`; returns it. */
async function rejection(promise: Promise<unknown>, code: string): Promise<RarefyError> {
  try {
    await promise;
  } catch (error) {
    if (!isRarefyError(error)) throw error;
    expect(error.code).toBe(code);
    return error;
  }
  throw new Error('expected a rejection');
}

describe('expandGlob', () => {
  it('matches *, ? and ** in sorted order, skipping hidden names', async () => {
    const logs = join(directory, 'logs');
    expect(await expandGlob(join(logs, '*.csv'))).toEqual([
      join(logs, 'part-1.csv'),
      join(logs, 'part-2.csv'),
    ]);
    expect(await expandGlob(join(logs, 'part-?.csv'))).toHaveLength(2);
    expect(await expandGlob(join(logs, '**', '*.csv'))).toEqual([
      join(logs, 'nested', 'part-3.csv'),
      join(logs, 'part-1.csv'),
      join(logs, 'part-2.csv'),
    ]);
    expect(await expandGlob(join(logs, '.*.csv'))).toEqual([join(logs, '.hidden.csv')]);
    expect(await expandGlob('plain/path.csv')).toEqual(['plain/path.csv']);
    const error = await rejection(expandGlob(join(logs, '*.parquet')), 'RAREFY_IO_ERROR');
    expect(error.message).toContain('no file matches');
  });
});

describe('openBatches', () => {
  it('reads a glob as one table, in sorted order, with progress and totals', async () => {
    const progress: { bytesRead: number; totalBytes: number | null }[] = [];
    const reader = await openBatches(join(directory, 'logs', '**', '*.csv'), {
      label: 'y',
      batchRows: 2,
      chunkBytes: 5,
      onProgress: ({ bytesRead, totalBytes }) => progress.push({ bytesRead, totalBytes }),
    });
    expect(reader.format).toBe('csv');
    expect(reader.totalBytes).toBe(12 + 18 + 12);
    const table = await collectBatches(reader);
    expect(Array.from(table.columns.x as Float64Array)).toEqual([4, 1, 2, 3]);
    expect(Array.from(table.columns.y as Uint8Array)).toEqual([1, 1, 0, 0]);
    expect(progress.at(-1)).toEqual({ bytesRead: 42, totalBytes: 42 });
    expect(reader.stats.rows).toBe(4);
  });

  it('names the file whose header differs in a glob', async () => {
    const folder = join(directory, 'mixed');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'a.csv'), 'y,x\n1,1\n');
    await writeFile(join(folder, 'b.csv'), 'y,z\n0,3\n');
    const error = await rejection(openBatches(join(folder, '*.csv'), { label: 'y' }), 'RAREFY_PARSE_ERROR');
    expect(error.message).toContain(join(folder, 'b.csv'));
  });

  it('an unreadable path or a folder is RAREFY_IO_ERROR naming it', async () => {
    const missing = join(directory, 'nope.csv');
    const error = await rejection(openBatches(missing), 'RAREFY_IO_ERROR');
    expect(error.message).toContain(missing);
    expect(error.message).toContain('no such file');
    await rejection(openBatches(directory), 'RAREFY_IO_ERROR');
  });

  it('reads what writeCsvFile wrote, and LibSVM and JSON Lines files', async () => {
    const csv = join(directory, 'written.csv');
    await writeCsvFile(csv, [
      { name: 'y', values: new Uint8Array([0, 1, 1]) },
      { name: 'x', values: new Float64Array([0.1, -0, 1e-300]) },
      { name: 'id', values: ['a,1', 'b"2', 'c\n3'] },
    ]);
    const table = await collectBatches(await openBatches(csv, { label: 'y', chunkBytes: 3 }));
    expect(Array.from(table.columns.x as Float64Array)).toEqual([0.1, -0, 1e-300]);
    const ids = table.columns.id as DictionaryColumn;
    expect(Array.from(ids.codes, (code) => ids.values[code])).toEqual(['a,1', 'b"2', 'c\n3']);

    const svm = join(directory, 'train');
    await writeFile(svm, '+1 2:1\n-1\n-1 1:0.5 3:2\n\n');
    const dense = await openBatches(svm);
    expect(dense.format).toBe('libsvm');
    expect(dense.schema.map((column) => column.name)).toEqual(['label', 'f1', 'f2', 'f3']);
    expect(Array.from((await collectBatches(dense)).columns.f3 as Float64Array)).toEqual([0, 0, 2]);

    const jsonl = join(directory, 'events.ndjson');
    await writeFile(jsonl, '{"clicked":true,"score":0.5}\n{"clicked":false,"score":1}\n');
    const events = await collectBatches(await openBatches(jsonl, { label: 'clicked' }));
    expect(Array.from(events.columns.clicked as Uint8Array)).toEqual([1, 0]);
  });
});

describe('MovieLens loaders (fixtures with CRLF and quoted titles)', () => {
  it('readInteractions encodes users and items in order of first appearance', async () => {
    const log = await readInteractions(join(fixtures, 'ml-ratings.csv'));
    expect(log.rows).toBe(5);
    expect(log.users.values).toEqual(['1', '2', '3']);
    expect(Array.from(log.users.codes)).toEqual([0, 0, 1, 2, 1]);
    expect(log.items.values).toEqual(['1', '3', '50', '007']);
    expect(Array.from(log.items.codes)).toEqual([0, 1, 0, 2, 3]);
    expect(Array.from(log.ratings ?? [])).toEqual([4, 4.5, 3, 5, 0.5]);
    expect(log.timestamps?.[3]).toBe(1147880044);
  });

  it('readInteractions: optional columns may be absent; required ones are named when missing', async () => {
    const path = join(directory, 'pairs.csv');
    await writeFile(path, 'user,item\nu1,i1\nu2,i1\n');
    const log = await readInteractions(path, { userColumn: 'user', itemColumn: 'item' });
    expect(log.ratings).toBeNull();
    expect(log.timestamps).toBeNull();
    expect(log.items.values).toEqual(['i1']);
    const error = await rejection(readInteractions(path), 'RAREFY_INVALID_ARGUMENT');
    expect(error.message).toContain('"userId"');
    await rejection(
      readInteractions(path, { userColumn: 'user', itemColumn: 'item', ratingColumn: 'stars' }),
      'RAREFY_INVALID_ARGUMENT',
    );
  });

  it('readInteractions: labelColumn reads an event column as text', async () => {
    const path = join(directory, 'events.csv');
    await writeFile(path, 'user,item,event,rating\nu1,i1,click,1\nu2,i1,,0\nu1,i2,0,1\nu2,i2,click,1\n');
    const log = await readInteractions(path, {
      userColumn: 'user',
      itemColumn: 'item',
      labelColumn: 'event',
    });
    expect(log.labels?.values).toEqual(['click', '', '0']);
    expect(Array.from(log.labels?.codes ?? [])).toEqual([0, 1, 2, 0]);
    expect(Array.from(log.ratings ?? [])).toEqual([1, 0, 1, 1]);
    expect((await readInteractions(path, { userColumn: 'user', itemColumn: 'item' })).labels).toBeNull();
    // The default rating column is left out when it is the label column; given as both, refused.
    const asLabel = await readInteractions(path, {
      userColumn: 'user',
      itemColumn: 'item',
      labelColumn: 'rating',
    });
    expect(asLabel.ratings).toBeNull();
    expect(asLabel.labels?.values).toEqual(['1', '0']);
    const both = await rejection(
      readInteractions(path, {
        userColumn: 'user',
        itemColumn: 'item',
        ratingColumn: 'rating',
        labelColumn: 'rating',
      }),
      'RAREFY_INVALID_ARGUMENT',
    );
    expect(both.message).toContain('"rating"');
    const missing = await rejection(
      readInteractions(path, { userColumn: 'user', itemColumn: 'item', labelColumn: 'clicked' }),
      'RAREFY_INVALID_ARGUMENT',
    );
    expect(missing.message).toContain('"clicked"');
  });

  it('readItemCatalog splits genres and keeps quoted titles with commas', async () => {
    const catalog = await readItemCatalog(join(fixtures, 'ml-movies.csv'));
    expect(catalog.ids).toEqual(['1', '11', '50', '182715']);
    expect(catalog.titles[1]).toBe('American President, The (1995)');
    expect(catalog.genres[0]).toEqual(['Adventure', 'Animation', 'Children', 'Comedy', 'Fantasy']);
    expect(catalog.genres[3]).toEqual([]);
    await rejection(readItemCatalog(join(fixtures, 'ml-ratings.csv')), 'RAREFY_INVALID_ARGUMENT');
  });
});

const hasSharedData = existsSync(sharedData);
if (!hasSharedData) {
  console.info(`data-io real-data tests skipped: ${sharedData} is absent (see ../shared/data/README.md)`);
}

describe.skipIf(!hasSharedData)('real data from ../shared/data (skipped when absent)', () => {
  it('w8a: 49,749 rows, 300 features, 1,479 positives', async () => {
    const reader = await openBatches(join(sharedData, 'w8a', 'w8a'));
    expect(reader.format).toBe('libsvm');
    expect(reader.schema).toHaveLength(301);
    let positives = 0;
    let rows = 0;
    for await (const batch of reader.batches()) {
      const labels = batch.columns.label as Uint8Array;
      for (let i = 0; i < batch.rows; i++) positives += labels[i] as number;
      rows += batch.rows;
    }
    expect(rows).toBe(49749);
    expect(reader.stats.rows).toBe(49749);
    expect(positives).toBe(1479);
  });

  it('mammography: 11,183 rows, 260 positives (no header, quoted -1/1 labels, no final newline)', async () => {
    const reader = await openBatches(join(sharedData, 'mammography', 'mammography.csv'), {
      header: false,
      label: 'c7',
      labelMapping: { positive: [1], negative: [-1] },
    });
    expect(reader.schema.filter((column) => column.type === 'number')).toHaveLength(6);
    const table = await collectBatches(reader);
    expect(table.rows).toBe(11183);
    expect((table.columns.c7 as Uint8Array).reduce((sum, label) => sum + label, 0)).toBe(260);
  });

  it('ml-latest-small: 100,836 ratings, 610 users, 9,724 items; 9,742 movies', async () => {
    const log = await readInteractions(join(sharedData, 'ml-latest-small', 'ratings.csv'));
    expect(log.rows).toBe(100836);
    expect(log.users.values).toHaveLength(610);
    expect(log.items.values).toHaveLength(9724);
    const catalog = await readItemCatalog(join(sharedData, 'ml-latest-small', 'movies.csv'));
    expect(catalog.ids).toHaveLength(9742);
  });
});
