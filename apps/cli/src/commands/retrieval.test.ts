import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticCatalogue } from '@rarefy/two-tower';
import { readRetrievalExport } from '@rarefy/two-tower/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryIo, run } from '../index.js';

let directory: string;
let ratings: string;
let movies: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rarefy-retrieval-'));
  // A seeded catalogue with clustered tastes and power-law popularity, written as MovieLens files.
  const { data, itemFeatures } = syntheticCatalogue({
    users: 200,
    items: 150,
    interactionsPerUser: 20,
    seed: 5,
  });
  const lines = ['userId,movieId,rating,timestamp'];
  for (let k = 0; k < data.users.length; k++) {
    const rating = 1 + (k % 5);
    lines.push(
      `${data.userIds[data.users[k] as number]},${data.itemIds[data.items[k] as number]},${rating},${1000 + k}`,
    );
  }
  ratings = join(directory, 'ratings.csv');
  await writeFile(ratings, `${lines.join('\n')}\n`);
  const genreColumn = Object.values(itemFeatures.columns)[0] ?? [];
  const catalogue = ['movieId,title,genres'];
  itemFeatures.ids.forEach((id, row) => {
    catalogue.push(`${id},"Item ${id}",${String(genreColumn[row] ?? 'Drama') || 'Drama'}`);
  });
  // One item nobody rated: it is in the catalogue (cold start) and must be exported.
  catalogue.push('cold-1,"A new film",Comedy|Drama');
  movies = join(directory, 'movies.csv');
  await writeFile(movies, `${catalogue.join('\n')}\n`);
});
afterAll(() => rm(directory, { recursive: true, force: true }));

async function rarefy(args: string[]) {
  const io = createMemoryIo();
  const code = await run(['node', 'rarefy', ...args], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

interface TrainJson {
  metrics: Record<string, number>;
  baselines: { popularity: { metrics: Record<string, number> } };
  examplesPerSecond: number;
  seconds: number;
  out: string;
  training: { epochs: number; logQ: string; history: Array<{ epoch: number; loss: number }> };
  data: { items: number; train: number; test: number };
}

describe('rarefy train-retrieval, eval-retrieval, index', () => {
  const common = ['--interactions', '', '--protocol', 'per-user', '--seed', '3'];
  const withData = () => common.map((value, k) => (k === 1 ? ratings : value));

  it('trains, evaluates against the baselines, exports, and eval-retrieval reproduces the metrics', async () => {
    const out = join(directory, 'model');
    const train = await rarefy([
      'train-retrieval',
      ...withData(),
      '--items',
      movies,
      '--epochs',
      '3',
      '--batch-size',
      '256',
      '--dimension',
      '16',
      '--hidden',
      '32',
      '--out',
      out,
      '--json',
    ]);
    expect(train.stderr).toBe('');
    expect(train.code).toBe(0);
    const result = JSON.parse(train.stdout) as TrainJson;
    for (const key of ['recall@10', 'recall@100', 'ndcg@10']) {
      expect(result.metrics[key]).toBeGreaterThanOrEqual(0);
      expect(result.metrics[key]).toBeLessThanOrEqual(1);
      expect(result.baselines.popularity.metrics[key]).toBeGreaterThanOrEqual(0);
    }
    // The clustered structure is learnable: the model beats chance by far.
    expect(result.metrics['recall@10']).toBeGreaterThan(10 / result.data.items);
    expect(result.examplesPerSecond).toBeGreaterThan(0);
    expect(result.training.logQ).toBe('exact');
    expect(result.training.history.length).toBe(result.training.epochs);

    const exported = await readRetrievalExport(out);
    expect(exported.dimension).toBe(16);
    expect(exported.items.ids).toContain('cold-1');
    expect(exported.userTower?.byteLength ?? 0).toBeGreaterThan(0);
    expect(exported.towerInputs).toBeDefined();
    // The embeddings also as Parquet, listed in the manifest: id + e0..e15, one row per item.
    const { DuckDbEngine } = await import('@rarefy/data-io/node');
    const engine = await DuckDbEngine.open();
    try {
      const rows = await engine.query(
        `SELECT count(*)::INTEGER AS n, max(id = 'cold-1')::INTEGER AS cold FROM '${join(out, 'item-embeddings.parquet')}'`,
      );
      expect(rows[0]).toEqual({ n: exported.items.ids.length, cold: 1 });
    } finally {
      await engine.close();
    }
    expect((await readdir(directory)).filter((name) => name.includes('.tmp-'))).toEqual([]);

    const evaluated = await rarefy([
      'eval-retrieval',
      ...withData(),
      '--items',
      movies,
      '--model',
      out,
      '--json',
    ]);
    expect(evaluated.code).toBe(0);
    const again = JSON.parse(evaluated.stdout) as { metrics: Record<string, number> };
    expect(again.metrics['recall@10']).toBeCloseTo(result.metrics['recall@10'] as number, 6);
    expect(again.metrics['ndcg@10']).toBeCloseTo(result.metrics['ndcg@10'] as number, 6);

    const index = await rarefy([
      'index',
      '--model',
      out,
      '--out',
      join(directory, 'items.usearch'),
      '--json',
    ]);
    expect(index.code).toBe(0);
    const built = JSON.parse(index.stdout) as { items: number; recallAt10: number };
    expect(built.items).toBe(exported.items.ids.length);
    expect(built.recallAt10).toBeGreaterThanOrEqual(0.95);
  }, 120_000);

  it('refuses an unknown protocol and a missing column, naming them', async () => {
    const protocol = await rarefy([
      'train-retrieval',
      '--interactions',
      ratings,
      '--protocol',
      'random',
      '--out',
      join(directory, 'x'),
      '--json',
    ]);
    expect(protocol.code).not.toBe(0);
    expect(protocol.stderr).toMatch(/--protocol: 'random' is not a protocol/);
    const column = await rarefy([
      'train-retrieval',
      '--interactions',
      ratings,
      '--user-column',
      'customer',
      '--out',
      join(directory, 'y'),
    ]);
    expect(column.code).not.toBe(0);
    expect(column.stderr).toMatch(/customer/);
  });
});
