import { selectBackend } from '@rarefy/model-kit';
import { isRarefyError, type RarefyErrorCode, RarefyInputError } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TowerSpec } from '../model/features.js';
import { TwoTowerModel } from '../model/two-tower-model.js';
import { syntheticCatalogue } from './synthetic.js';
import { type TrainTwoTowerOptions, trainTwoTower } from './train.js';

beforeAll(async () => {
  await selectBackend();
});

const catalogue = syntheticCatalogue({
  users: 300,
  items: 150,
  clusters: 5,
  interactionsPerUser: 10,
  seed: 3,
});
const SMALL: TowerSpec = { id: { dimension: 8 }, hidden: [16], outputDimension: 8 };

function options(extra: Partial<TrainTwoTowerOptions> = {}): TrainTwoTowerOptions {
  return {
    train: catalogue.data,
    userTower: SMALL,
    itemTower: SMALL,
    batchSize: 128,
    epochs: 2,
    seed: 7,
    ...extra,
  };
}

async function errorOf(run: () => Promise<unknown>): Promise<Error> {
  try {
    await run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

function cosine(a: Float32Array, i: number, b: Float32Array, j: number, d: number): number {
  let dot = 0;
  for (let k = 0; k < d; k++) dot += (a[i * d + k] as number) * (b[j * d + k] as number);
  return dot;
}

describe('trainTwoTower', () => {
  it('learns (the loss falls), is reproducible for a seed and leaks no tensor', async () => {
    const before = tf.memory().numTensors;
    const progress: number[] = [];
    const first = await trainTwoTower(options({ epochs: 4, onProgress: (p) => progress.push(p.step) }));
    const second = await trainTwoTower(options({ epochs: 4 }));
    const other = await trainTwoTower(options({ epochs: 4, seed: 8 }));
    try {
      const { history } = first;
      expect(history.steps).toBe(4 * Math.ceil(3000 / 128));
      expect(progress).toEqual(Array.from({ length: history.steps }, (_, k) => k + 1));
      expect(history.losses[3]).toBeLessThan((history.losses[0] as number) - 0.3);
      expect(second.history.stepLosses).toEqual(history.stepLosses);
      expect(other.history.stepLosses).not.toEqual(history.stepLosses);
      expect(history.backend).toBe(tf.getBackend());
      expect(first.examplesPerSecond).toBeGreaterThan(0);
    } finally {
      first.model.dispose();
      second.model.dispose();
      other.model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('runs every negative source together, reproducibly', async () => {
    const run = (): ReturnType<typeof trainTwoTower> =>
      trainTwoTower(
        options({
          train: { ...catalogue.data, weights: Float32Array.from(catalogue.data.users, (u) => 1 + (u % 3)) },
          negatives: {
            inBatch: true,
            uniform: 32,
            popularity: { count: 32, exponent: 0.75 },
            crossBatch: { batches: 2, warmupSteps: 5 },
            rowNegatives: (row) => Int32Array.of(row % 150, (row * 7) % 150),
          },
          maskKnownPositives: true,
          downsampling: { a: 0.002 },
          logQ: 'streaming',
          frequency: { buckets: 1024, alpha: 0.05 },
        }),
      );
    const a = await run();
    const b = await run();
    try {
      expect(a.history.rows).toBeLessThan(3000); // downsampled
      expect(a.history.stepLosses.every(Number.isFinite)).toBe(true);
      expect(b.history.stepLosses).toEqual(a.history.stepLosses);
      expect(a.history.logQ).toBe('streaming');
    } finally {
      a.model.dispose();
      b.model.dispose();
    }
  });

  it('trains with online hard, semi-hard and random selection', async () => {
    for (const selection of [
      { kind: 'hard', count: 16 },
      { kind: 'semi-hard', margin: 0.3 },
      { kind: 'random', count: 16 },
    ] as const) {
      const { model, history } = await trainTwoTower(options({ epochs: 1, negatives: { selection } }));
      model.dispose();
      expect(history.stepLosses.every(Number.isFinite)).toBe(true);
    }
  });

  it('changes the loss with the log Q correction', async () => {
    const exact = await trainTwoTower(options({ epochs: 1, logQ: 'exact' }));
    const none = await trainTwoTower(options({ epochs: 1, logQ: 'none' }));
    exact.model.dispose();
    none.model.dispose();
    expect(exact.history.stepLosses[0]).not.toBeCloseTo(none.history.stepLosses[0] as number, 3);
  });

  it('stops early on a held-out metric, restores the best epoch and checkpoints every epoch', async () => {
    const scores = [0.1, 0.3, 0.2, 0.25, 0.15, 0.5];
    const checkpoints: number[] = [];
    let bestItems: Float32Array | undefined;
    const { model, history } = await trainTwoTower(
      options({
        epochs: 6,
        validation: {
          evaluate: (current) => {
            const epoch = checkpoints.length;
            if (epoch === 1) bestItems = current.embedAllItems();
            return scores[epoch] as number;
          },
          patience: 2,
        },
        checkpoint: (_, epoch) => {
          checkpoints.push(epoch);
        },
      }),
    );
    try {
      expect(history.validation).toEqual([0.1, 0.3, 0.2, 0.25]);
      expect(history.stoppedEarly).toBe(true);
      expect(history.epochs).toBe(4);
      expect(history.bestEpoch).toBe(1);
      expect(checkpoints).toEqual([0, 1, 2, 3]);
      expect(Array.from(model.embedAllItems())).toEqual(Array.from(bestItems ?? []));
    } finally {
      model.dispose();
    }
  });

  it('embeds new items and users from their features alone (cold start)', async () => {
    const { itemFeatures, userFeatures, itemClusters, userClusters } = catalogue;
    const { model } = await trainTwoTower(
      options({
        epochs: 8,
        itemFeatures,
        userFeatures,
        userTower: {
          id: { dimension: 8, dropout: 0.2 },
          categorical: [{ column: 'cluster', buckets: 256, dimension: 8 }],
          hidden: [16],
          outputDimension: 8,
        },
        itemTower: {
          id: { dimension: 8, dropout: 0.2 },
          categorical: [{ column: 'genre', buckets: 256, dimension: 8 }], // 256: no two genres share a bucket
          numeric: [{ column: 'quality' }],
          hidden: [16],
          outputDimension: 8,
        },
      }),
    );
    try {
      const d = model.dimension;
      // One new item per genre, ids never seen in training.
      const genres = [0, 1, 2, 3, 4];
      const newItems = model.embedNewItems(
        genres.map((g) => `new-${g}`),
        {
          ids: genres.map((g) => `new-${g}`),
          columns: {
            genre: genres.map((g) => `g${g}`),
            tags: genres.map(() => null),
            quality: genres.map(() => 0),
          },
        },
      );
      // Each user's favourite among the five new items should be the one of its own cluster's genre
      // (chance: 1 in 5); users and items of a cluster share the latent centre.
      const users = model.embedAllUsers();
      let hits = 0;
      userClusters.forEach((cluster, u) => {
        const best = genres.reduce(
          (top, g) => (cosine(users, u, newItems, g, d) > cosine(users, u, newItems, top, d) ? g : top),
          0,
        );
        if (best === cluster) hits++;
      });
      expect(hits / userClusters.length).toBeGreaterThan(0.8);
      // A new user of cluster c scores items of cluster c above the rest.
      // A new user (unknown id) of cluster c scores the items of cluster c highest on average.
      const items = model.embedAllItems();
      for (const c of genres) {
        const newcomer = model.embedNewUsers(['nobody'], {
          ids: ['nobody'],
          columns: { cluster: [`c${c}`] },
        });
        const mean = genres.map((other) => {
          let sum = 0;
          let count = 0;
          itemClusters.forEach((cluster, j) => {
            if (cluster === other) {
              sum += cosine(newcomer, 0, items, j, d);
              count++;
            }
          });
          return sum / count;
        });
        expect(
          mean.indexOf(Math.max(...mean)),
          `cluster ${c}: ${mean.map((m) => m.toFixed(2)).join(' ')}`,
        ).toBe(c);
      }
    } finally {
      model.dispose();
    }
  });

  it('round-trips through weights() and fromWeights()', async () => {
    const { itemFeatures } = catalogue;
    const { model } = await trainTwoTower(
      options({
        epochs: 1,
        itemFeatures,
        itemTower: {
          id: { dimension: 8 },
          multiHot: [{ column: 'tags', buckets: 32, dimension: 4 }],
          numeric: [{ column: 'quality' }],
          hidden: [16],
          outputDimension: 8,
        },
      }),
    );
    const weights = model.weights();
    const copy = TwoTowerModel.fromWeights(weights, { itemFeatures });
    try {
      expect(weights.item.embeddings.map((table) => table.kind)).toEqual(['id', 'multiHot']);
      expect(weights.item.embeddings[1]?.hashing).toEqual({
        function: 'murmur3_x86_32-utf8',
        seed: 0,
        buckets: 32,
        missing: '',
      });
      expect(weights.item.numeric.inputColumn).toBe(12);
      expect(weights.item.layers.map((layer) => layer.activation)).toEqual(['relu', 'linear']);
      expect(Array.from(copy.embedAllItems())).toEqual(Array.from(model.embedAllItems()));
      expect(Array.from(copy.embedAllUsers())).toEqual(Array.from(model.embedAllUsers()));
      expect(Array.from(copy.scores([0, 1], [2, 3]))).toEqual(Array.from(model.scores([0, 1], [2, 3])));
      const broken = { ...weights, item: { ...weights.item, layers: weights.item.layers.slice(1) } };
      const error = await errorOf(async () => TwoTowerModel.fromWeights(broken));
      expect(isRarefyError(error, 'RAREFY_DIMENSION_MISMATCH')).toBe(true);
    } finally {
      model.dispose();
      copy.dispose();
    }
    expect(() => model.weights()).toThrowError(/model: this two-tower model was disposed/);
  });

  describe('warm start (initialModel)', () => {
    // Step sizes this small leave every float32 weight as it is (w + 1e-30 * step === w), so the
    // trained model shows the weights training started from.
    const FROZEN: Partial<TrainTwoTowerOptions> = {
      epochs: 1,
      learningRate: 1e-30,
      embeddingLearningRate: 1e-30,
    };
    let a: TwoTowerModel;
    let aLoss: number;
    beforeAll(async () => {
      const trained = await trainTwoTower(options({ epochs: 4 }));
      a = trained.model;
      aLoss = trained.history.losses[3] as number;
    });
    afterAll(() => {
      a.dispose();
    });

    it('starts from exactly the given model’s weights', async () => {
      const warm = await trainTwoTower(options({ ...FROZEN, initialModel: a }));
      const cold = await trainTwoTower(options(FROZEN));
      try {
        expect(warm.model).not.toBe(a);
        expect(warm.model.weights()).toEqual(a.weights());
        expect(Array.from(warm.model.embedAllItems())).toEqual(Array.from(a.embedAllItems()));
        expect(Array.from(warm.model.embedAllUsers())).toEqual(Array.from(a.embedAllUsers()));
        // Without initialModel the same run holds a fresh initialisation instead.
        expect(cold.model.weights().user.embeddings[0]?.table).not.toEqual(
          a.weights().user.embeddings[0]?.table,
        );
      } finally {
        warm.model.dispose();
        cold.model.dispose();
      }
    });

    it('continues from the given model’s loss, not from the initial one', async () => {
      const warm = await trainTwoTower(options({ epochs: 1, seed: 11, initialModel: a }));
      const cold = await trainTwoTower(options({ epochs: 1, seed: 11 }));
      warm.model.dispose();
      cold.model.dispose();
      const warmFirst = warm.history.stepLosses[0] as number;
      const coldFirst = cold.history.stepLosses[0] as number;
      expect(warmFirst).toBeLessThan(coldFirst / 2);
      expect(Math.abs(warmFirst - aLoss)).toBeLessThan(0.3);
      expect(warm.history.losses[0]).toBeLessThan((cold.history.losses[0] as number) - 0.3);
    });

    it('never modifies the given model and leaks no tensor', async () => {
      const before = tf.memory().numTensors;
      const weights = a.weights();
      const accumulators = [a.userTower.accumulators(), a.itemTower.accumulators()];
      const items = a.embedAllItems();
      const warm = await trainTwoTower(options({ epochs: 2, seed: 12, initialModel: a }));
      try {
        // The warm run did train (its weights moved away from the start) ...
        expect(warm.model.weights().item.layers[0]?.weights).not.toEqual(weights.item.layers[0]?.weights);
        expect(warm.model.userTower.accumulators()).not.toEqual(accumulators[0]);
      } finally {
        warm.model.dispose();
      }
      // ... while the given model kept its weights, its Adagrad accumulators and its embeddings.
      expect(a.isDisposed).toBe(false);
      expect(a.weights()).toEqual(weights);
      expect([a.userTower.accumulators(), a.itemTower.accumulators()]).toEqual(accumulators);
      expect(Array.from(a.embedAllItems())).toEqual(Array.from(items));
      expect(tf.memory().numTensors).toBe(before);
    });

    it('refuses a model the options would not build, naming initialModel', async () => {
      const before = tf.memory().numTensors;
      // Drop every row of user u0: the options' user vocabulary loses it.
      const keep = Array.from(catalogue.data.users, (_, r) => r).filter((r) => catalogue.data.users[r] !== 0);
      const fewerUsers = {
        ...catalogue.data,
        users: Int32Array.from(keep, (r) => catalogue.data.users[r] as number),
        items: Int32Array.from(keep, (r) => catalogue.data.items[r] as number),
      };
      const wide: TowerSpec = { ...SMALL, outputDimension: 16 };
      const disposed = (await trainTwoTower(options({ epochs: 1 }))).model;
      disposed.dispose();
      const cases: Array<[Partial<TrainTwoTowerOptions>, RarefyErrorCode, RegExp]> = [
        [
          { userTower: wide, itemTower: wide },
          'RAREFY_DIMENSION_MISMATCH',
          /^initialModel: its userTower\.outputDimension is 8, but the options build 16\. Fix: pass a model trained with the same userTower/,
        ],
        [
          { itemTower: { ...SMALL, hidden: [32] } },
          'RAREFY_DIMENSION_MISMATCH',
          /^initialModel: its itemTower\.hidden\[0\] is 16, but the options build 32/,
        ],
        [
          { train: fewerUsers },
          'RAREFY_DIMENSION_MISMATCH',
          /^initialModel: its userTower id vocabulary \(300 ids\) differs from the 299 users of train, first at id row 1 \("u0" vs "u1"\)/,
        ],
        [
          { temperature: 0.1 },
          'RAREFY_DIMENSION_MISMATCH',
          /^initialModel: its temperature is 0\.05, but the options give 0\.1/,
        ],
        [{ initialModel: disposed }, 'RAREFY_INVALID_ARGUMENT', /^initialModel: was disposed/],
      ];
      for (const [bad, code, message] of cases) {
        const error = await errorOf(() => trainTwoTower(options({ epochs: 1, initialModel: a, ...bad })));
        expect(isRarefyError(error, code), String(error)).toBe(true);
        expect(error).toBeInstanceOf(RarefyInputError);
        expect((error as RarefyInputError).input).toBe('initialModel');
        expect(error.message).toMatch(message);
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  it('names the option at fault, the problem and the fix', async () => {
    const cases: Array<[Partial<TrainTwoTowerOptions>, RegExp]> = [
      [{ batchSize: 1 }, /batchSize: 1 is not an integer >= 2\. Fix: pass the number of rows per step/],
      [{ epochs: 0 }, /epochs: 0 is not an integer >= 1/],
      [{ learningRate: -1 }, /learningRate: -1 is not a positive number/],
      [
        { logQ: 'approximate' as 'exact' },
        /logQ: "approximate" is not a correction mode\. Fix: use 'exact', 'streaming' or 'none'/,
      ],
      [{ temperature: 0 }, /temperature: 0 is not a positive number/],
      [{ negatives: { uniform: 1.5 } }, /negatives\.uniform: 1\.5 is not a non-negative integer/],
      [{ downsampling: { a: 0 } }, /downsampling\.a: 0 is not a positive number/],
      [{ itemTower: { hidden: [0] } }, /itemTower\.hidden\[0\]: 0 is not a positive integer/],
      [
        { itemTower: { outputDimension: 4 } },
        /userTower\.outputDimension: 8, but itemTower\.outputDimension is 4/,
      ],
      [
        { train: { ...catalogue.data, items: Int32Array.of(0, 999), users: Int32Array.of(0, 1) } },
        /train\.items: row 1 holds item index 999/,
      ],
      [
        {
          itemFeatures: { ids: ['i0'], columns: {} },
          itemTower: { categorical: [{ column: 'genre', buckets: 8, dimension: 8 }], outputDimension: 8 },
        },
        /itemFeatures\.columns: has no column "genre"/,
      ],
    ];
    for (const [bad, message] of cases) {
      const error = await errorOf(() => trainTwoTower(options(bad)));
      expect(isRarefyError(error), String(error)).toBe(true);
      expect(error.message).toMatch(message);
    }
  });
});
