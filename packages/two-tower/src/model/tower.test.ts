import { selectBackend } from '@rarefy/model-kit';
import { createRng } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FeatureEncoder, fitStandardisation, resolveTowerSpec } from './features.js';
import { l2Normalize, Tower } from './tower.js';

beforeAll(async () => {
  await selectBackend();
});

describe('l2Normalize', () => {
  it('returns unit rows and a gradient equal to the finite difference', () => {
    const values = Float32Array.of(3, 4, 0.5, -1, 2, 0.25);
    const weights = tf.tensor2d([
      [0.3, -0.7, 0.2],
      [1.1, 0.4, -0.5],
    ]);
    try {
      // d sum(y * weights) / dx, with weights as the upstream gradient (no built-in gradient needed).
      const objective = (x: tf.Tensor): tf.Scalar => tf.sum(tf.mul(l2Normalize(x as tf.Tensor2D), weights));
      const [gradient] = tf.tidy(() =>
        tf
          .grads((x: tf.Tensor) => l2Normalize(x as tf.Tensor2D))([tf.tensor2d(values, [2, 3])], weights)
          .map((g) => g.dataSync()),
      );
      const unit = tf.tidy(() => l2Normalize(tf.tensor2d(values, [2, 3])).dataSync());
      expect((unit[0] as number) ** 2 + (unit[1] as number) ** 2 + (unit[2] as number) ** 2).toBeCloseTo(
        1,
        5,
      );
      const h = 1e-2;
      for (let k = 0; k < values.length; k++) {
        const at = (delta: number): number => {
          const moved = values.slice();
          moved[k] = (moved[k] as number) + delta;
          return tf.tidy(() => objective(tf.tensor2d(moved, [2, 3])).dataSync()[0] as number);
        };
        expect(gradient?.[k]).toBeCloseTo((at(h) - at(-h)) / (2 * h), 3);
      }
    } finally {
      weights.dispose();
    }
  });
});

describe('Tower', () => {
  const spec = resolveTowerSpec(
    {
      id: { dimension: 3, dropout: 0.5 },
      categorical: [{ column: 'genre', buckets: 5, dimension: 2 }],
      multiHot: [{ column: 'tags', buckets: 7, dimension: 2 }],
      numeric: [{ column: 'year' }],
      hidden: [8],
      outputDimension: 4,
    },
    'itemTower',
  );
  const table = {
    ids: ['a', 'b', 'c'],
    columns: { genre: ['x', 'y', 'x'], tags: ['p|q', 'q', null], year: [1, 2, 3] },
  };
  const encoder = new FeatureEncoder(spec, ['a', 'b', 'c'], fitStandardisation(spec, table));
  const features = encoder.encode(['a', 'b', 'c'], table);

  it('gathers id, categorical, mean multi-hot and numeric inputs into one row', () => {
    const tower = new Tower(spec, encoder.idRows, createRng(1));
    try {
      const batch = tower.createBatch(3);
      tower.fill(batch, features, Int32Array.of(2, 0));
      const [idTable, genreTable] = tower.singleTables;
      const [tagTable] = tower.multiHotTables;
      const row = (table: typeof idTable, r: number): number[] =>
        Array.from(
          table?.values.subarray(r * (table?.dimension ?? 0), (r + 1) * (table?.dimension ?? 0)) ?? [],
        );
      const first = Array.from(batch.input.subarray(0, tower.inputSize));
      const second = Array.from(batch.input.subarray(tower.inputSize, 2 * tower.inputSize));
      const genreOf = (item: number): number => (features.categorical[0] as Int32Array)[item] as number;
      const tags = features.multiHot[0];
      const tagRows = (item: number): number[] =>
        Array.from(tags?.buckets.subarray(tags.offsets[item], tags.offsets[item + 1]) ?? []);
      // Item 2 ('c'): id row 3, no tags (zeros), year standardised (3 - 2) / sd.
      expect(first.slice(0, 3)).toEqual(row(idTable, 3));
      expect(first.slice(3, 5)).toEqual(row(genreTable, genreOf(2)));
      expect(first.slice(5, 7)).toEqual([0, 0]);
      expect(first[7]).toBeCloseTo(1 / Math.sqrt(2 / 3), 5);
      // Item 0 ('a'): two tags, their mean.
      const [p, q] = tagRows(0) as [number, number];
      expect(second[5]).toBeCloseTo(
        ((row(tagTable, p)[0] as number) + (row(tagTable, q)[0] as number)) / 2,
        6,
      );
      expect(second.slice(0, 3)).toEqual(row(idTable, 1));
    } finally {
      tower.dispose();
    }
  });

  it('replaces ids by the unknown row with the dropout probability (seeded)', () => {
    const tower = new Tower(spec, encoder.idRows, createRng(1));
    try {
      const batch = tower.createBatch(2000);
      const rows = new Int32Array(2000).fill(1);
      tower.fill(batch, features, rows, { probability: 0.5, rng: createRng(3) });
      const dropped = (batch.buckets[0] as Int32Array).filter((value) => value === 0).length;
      expect(dropped).toBeGreaterThan(900);
      expect(dropped).toBeLessThan(1100);
    } finally {
      tower.dispose();
    }
  });

  it('applies row-wise Adagrad to the rows a batch used, splitting a multi-hot gradient over its values', () => {
    const tower = new Tower(spec, encoder.idRows, createRng(2));
    try {
      const batch = tower.createBatch(1);
      tower.fill(batch, features, Int32Array.of(0));
      const [tagTable] = tower.multiHotTables;
      const tags = features.multiHot[0];
      const [p] = Array.from(tags?.buckets.subarray(0, 2) ?? []) as [number];
      const before = Array.from(tagTable?.values.subarray(p * 2, p * 2 + 2) ?? []);
      const untouched = Array.from(tagTable?.values.subarray(0, 14) ?? []);
      const gradient = new Float32Array(tower.inputSize);
      gradient[5] = 0.8;
      gradient[6] = -0.4;
      tower.applyEmbeddingGradient(batch, gradient, 0.1);
      // The value's gradient is half the row's: (0.4, -0.2); Adagrad: accumulator = mean square = 0.1.
      const step = 0.1 / (Math.sqrt(0.1) + 1e-7);
      const after = Array.from(tagTable?.values.subarray(p * 2, p * 2 + 2) ?? []);
      expect(after[0]).toBeCloseTo((before[0] as number) - step * 0.4, 5);
      expect(after[1]).toBeCloseTo((before[1] as number) + step * 0.2, 5);
      // Rows of no tag of the batch are left alone.
      const used = new Set(Array.from(tags?.buckets.subarray(0, 2) ?? []));
      for (let r = 0; r < 7; r++) {
        if (used.has(r)) continue;
        expect(Array.from(tagTable?.values.subarray(r * 2, r * 2 + 2) ?? [])).toEqual(
          untouched.slice(r * 2, r * 2 + 2),
        );
      }
    } finally {
      tower.dispose();
    }
  });

  it('embeds rows as unit vectors without leaking tensors', () => {
    const tower = new Tower(spec, encoder.idRows, createRng(4));
    try {
      const before = tf.memory().numTensors;
      const out = tower.embed(features, Int32Array.of(0, 1, 2), 2);
      expect(tf.memory().numTensors).toBe(before);
      for (let r = 0; r < 3; r++) {
        let norm = 0;
        for (let j = 0; j < 4; j++) norm += (out[r * 4 + j] as number) ** 2;
        expect(norm).toBeCloseTo(1, 5);
      }
    } finally {
      tower.dispose();
    }
  });
});
