import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '@rarefy/sampling-core';
import { writeRetrievalExport } from '@rarefy/two-tower/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countItemInteractions,
  loadRetrievalModel,
  nearestItems,
  type PickedFile,
  popularityBuckets,
  recommendationSpread,
  webCryptoSha256,
} from './model.js';

const DIMENSION = 8;

/** n unit vectors of DIMENSION values, seeded. */
function unitVectors(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(n * DIMENSION);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = 0; j < DIMENSION; j++) {
      const value = rng.normal();
      out[i * DIMENSION + j] = value;
      norm += value * value;
    }
    for (let j = 0; j < DIMENSION; j++)
      out[i * DIMENSION + j] = (out[i * DIMENSION + j] as number) / Math.sqrt(norm);
  }
  return out;
}

const itemIds = Array.from({ length: 60 }, (_, i) => `item-${i}`);
const userIds = Array.from({ length: 25 }, (_, i) => `user-${i}`);
const items = unitVectors(itemIds.length, 1);
const users = unitVectors(userIds.length, 2);
let directory: string;
let files: PickedFile[];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rarefy-demo-export-'));
  const folder = join(directory, 'movies');
  await writeRetrievalExport(folder, {
    dimension: DIMENSION,
    temperature: 0.05,
    items: { ids: itemIds, embeddings: items },
    users: { ids: userIds, embeddings: users },
    training: { design: 'in-batch', estimator: 'logQ', sizes: { interactions: 1000 }, seed: 1 },
  });
  files = await Promise.all(
    (await readdir(folder)).map(async (name) => ({
      path: `movies/${name}`,
      bytes: new Uint8Array(await readFile(join(folder, name))),
    })),
  );
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('loadRetrievalModel', () => {
  it('reads the ids and embeddings of an export folder and checks every SHA-256', async () => {
    const loaded = await loadRetrievalModel(files, webCryptoSha256());
    expect(loaded.name).toBe('movies');
    expect(loaded.checksumsVerified).toBe(true);
    expect(loaded.model.items.ids).toEqual(itemIds);
    expect(loaded.model.items.embeddings).toEqual(items);
    expect(loaded.model.users?.ids).toEqual(userIds);
    expect(loaded.manifest.training).toMatchObject({ design: 'in-batch', estimator: 'logQ' });
  });

  it('refuses a changed file, a missing file and a folder without a manifest, naming the file', async () => {
    const changed = files.map((file) => {
      if (!file.path.endsWith('item-embeddings.f32')) return file;
      const bytes = Uint8Array.from(file.bytes);
      bytes[5] = (bytes[5] as number) ^ 1;
      return { ...file, bytes };
    });
    await expect(loadRetrievalModel(changed, webCryptoSha256())).rejects.toThrow(
      /movies\/item-embeddings.f32: its SHA-256 differs from the manifest's/,
    );
    // Without WebCrypto only the sizes are checked: the same change then goes unnoticed, and says so.
    expect((await loadRetrievalModel(changed, null)).checksumsVerified).toBe(false);
    const missing = files.filter((file) => !file.path.endsWith('item-ids.json'));
    await expect(loadRetrievalModel(missing, null)).rejects.toThrow(
      /item-ids.json: listed in the manifest but not among/,
    );
    const noManifest = files.filter((file) => !file.path.endsWith('manifest.json'));
    await expect(loadRetrievalModel(noManifest, null)).rejects.toMatchObject({ code: 'RAREFY_IO_ERROR' });
  });
});

describe('nearest items and popularity', () => {
  it('nearestItems equals a brute-force sort of the inner products, leaving out the query item', () => {
    const query = items.subarray(3 * DIMENSION, 4 * DIMENSION);
    const scores = itemIds.map((_, i) => {
      let score = 0;
      for (let j = 0; j < DIMENSION; j++)
        score += (items[i * DIMENSION + j] as number) * (query[j] as number);
      return { index: i, score };
    });
    const expected = scores
      .filter((entry) => entry.index !== 3)
      .sort((a, b) => b.score - a.score || a.index - b.index);
    expect(nearestItems(items, DIMENSION, query, 7, 3)).toEqual(expected.slice(0, 7));
    expect(nearestItems(items, DIMENSION, query, 1)[0]?.index).toBe(3);
  });

  it('splits items into head, torso and tail by cumulative share of interactions', () => {
    const counts = new Map<string, number>([
      ['a', 50],
      ['b', 20],
      ['c', 10],
      ['d', 10],
      ['e', 5],
      ['f', 5],
    ]);
    const buckets = popularityBuckets(['a', 'b', 'c', 'd', 'e', 'f', 'never'], counts);
    // a holds 50%: the head. b starts at 50% (torso); c starts at 70% and everything after is tail.
    expect(Array.from(buckets.bucketOf)).toEqual([0, 1, 2, 2, 2, 2, 2]);
    expect(buckets.items).toEqual([1, 1, 5]);
    expect(buckets.interactionShare).toEqual([0.5, 0.2, 0.3]);
    expect(() => popularityBuckets(['x'], counts)).toThrow(/none of the model's item ids/);
  });

  it('counts interactions per item from the item column of a CSV', () => {
    const text = 'userId,movieId,rating\n1,10,4\n2,10,5\n2,11,3\n';
    const counted = countItemInteractions(text, { name: 'ratings.csv' });
    expect(counted.column).toBe('movieId');
    expect([...counted.counts]).toEqual([
      ['10', 2],
      ['11', 1],
    ]);
    expect(() => countItemInteractions('a,b\n1\n', { name: 'bad.csv' })).toThrow(/bad.csv/);
  });

  it('recommendationSpread shares sum to 1 and coverage counts distinct listed items', async () => {
    const { model } = await loadRetrievalModel(files, null);
    const counts = new Map(itemIds.map((id, i) => [id, i < 5 ? 100 : 1]));
    const buckets = popularityBuckets(itemIds, counts);
    const spread = recommendationSpread(model, buckets, { k: 5, maxQueries: 25 });
    expect(spread.queries).toBe(25);
    expect(spread.queryKind).toBe('users');
    expect(spread.share.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const listed = new Set<number>();
    for (let u = 0; u < 25; u++) {
      for (const neighbour of nearestItems(
        model.items.embeddings,
        DIMENSION,
        users.subarray(u * DIMENSION, (u + 1) * DIMENSION),
        5,
      ))
        listed.add(neighbour.index);
    }
    expect(spread.coverage).toBeCloseTo(listed.size / itemIds.length, 12);
  });
});

// The fixture is what `rarefy train-retrieval --out` writes: the page is handed these files.
it('the export folder holds the manifest and the four id/embedding files', () => {
  expect(files.map((file) => file.path.split('/')[1]).sort()).toEqual([
    'item-embeddings.f32',
    'item-ids.json',
    'manifest.json',
    'user-embeddings.f32',
    'user-ids.json',
  ]);
});
