import { selectBackend } from '@rarefy/model-kit';
import { createRng, isRarefyError } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { TwoTowerModel } from './two-tower-model.js';

beforeAll(async () => {
  await selectBackend();
});

const tower = { id: { dimension: 4 }, hidden: [6], outputDimension: 3 };

describe('TwoTowerModel', () => {
  it('embeds by index and by id, scores <u, v> / tau, and frees its tensors on dispose', () => {
    const before = tf.memory().numTensors;
    const model = TwoTowerModel.initialise({
      userIds: ['u0', 'u1'],
      itemIds: ['a', 'b', 'c'],
      itemVocabulary: ['a', 'c'],
      userTower: tower,
      itemTower: tower,
      temperature: 0.5,
      rng: createRng(1),
    });
    try {
      const users = model.embedUsers([1]);
      const items = model.embedAllItems();
      expect(items.length).toBe(9);
      // 'b' was not seen in training: it shares the unknown row with any new id.
      expect(Array.from(model.embedNewItems(['never-seen']))).toEqual(Array.from(items.subarray(3, 6)));
      expect(Array.from(model.embedNewItems(['c']))).toEqual(Array.from(items.subarray(6, 9)));
      let dot = 0;
      for (let j = 0; j < 3; j++) dot += (users[j] as number) * (items[6 + j] as number);
      expect(model.scores([1], [2])[0]).toBeCloseTo(dot / 0.5, 5);
      expect(() => model.embedItems([3])).toThrowError(
        /indices: entry 0 is 3, outside \[0, 3\)\. Fix: pass indices into itemIds/,
      );
      const mismatch = ((): unknown => {
        try {
          model.scores([0, 1], [0]);
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(isRarefyError(mismatch, 'RAREFY_DIMENSION_MISMATCH')).toBe(true);
    } finally {
      model.dispose();
    }
    expect(model.isDisposed).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => model.embedAllItems()).toThrowError(/was disposed/);
  });

  it('rejects weights of another format', () => {
    const model = TwoTowerModel.initialise({
      userIds: ['u'],
      itemIds: ['i'],
      userTower: tower,
      itemTower: tower,
      rng: createRng(2),
    });
    try {
      const weights = model.weights();
      expect(() => TwoTowerModel.fromWeights({ ...weights, version: 2 as 1 })).toThrowError(
        /weights: format "rarefy-two-tower" version 2/,
      );
      const table = weights.user.embeddings[0];
      const shrunk = {
        ...weights,
        user: { ...weights.user, embeddings: [{ ...table, rows: 1, table: new Float32Array(4) }] },
      };
      expect(() => TwoTowerModel.fromWeights(shrunk as typeof weights)).toThrowError(
        /weights\.user\.idVocabulary: 1 ids, but the id table has 1 rows/,
      );
    } finally {
      model.dispose();
    }
  });
});
