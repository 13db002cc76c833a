import { selectBackend } from '@rarefy/model-kit';
import { createRng, isRarefyError, shuffleInPlace } from '@rarefy/sampling-core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { userItemLists } from '../eval/user-items.js';
import type { InteractionData } from '../interactions.js';
import { UserItemSet } from '../masking.js';
import type { TwoTowerModel } from '../model/two-tower-model.js';
import {
  type HardNegativeRound,
  MinedNegatives,
  mineHardNegatives,
  mixHardAndEasy,
  trainWithHardNegatives,
} from './hard-negatives.js';
import { syntheticCatalogue } from './synthetic.js';

beforeAll(async () => {
  await selectBackend();
});

/**
 * 40 items on a half circle: the item at position j (perm[j]) has angle (j + 0.5) pi / 40, so user 0
 * at (1, 0) ranks them perm[0], perm[1], ... and user 1 at (-1, 0) in the reverse order. User 2 has no
 * training row.
 */
function halfCircle(): {
  train: InteractionData;
  users: Float32Array;
  items: Float32Array;
  perm: Int32Array;
  positives: number[][];
} {
  const count = 40;
  const perm = Int32Array.from({ length: count }, (_, k) => k);
  shuffleInPlace(perm, createRng('half-circle'));
  const items = new Float32Array(count * 2);
  perm.forEach((item, j) => {
    const angle = ((j + 0.5) * Math.PI) / count;
    items[item * 2] = Math.cos(angle);
    items[item * 2 + 1] = Math.sin(angle);
  });
  const users = Float32Array.of(1, 0, -1, 0, 0, 1);
  const positives = [[0, 2, 7, 20].map((j) => perm[j] as number), [39, 35, 10].map((j) => perm[j] as number)];
  const rowUsers: number[] = [];
  const rowItems: number[] = [];
  for (let r = 0; r < 100; r++) {
    const user = r % 5 < 3 ? 0 : 1; // 60 rows of user 0, 40 of user 1, interleaved
    const list = positives[user] as number[];
    rowUsers.push(user);
    rowItems.push(list[r % list.length] as number);
  }
  return {
    train: {
      userIds: ['u0', 'u1', 'u2'],
      itemIds: Array.from({ length: count }, (_, k) => `i${k}`),
      users: Int32Array.from(rowUsers),
      items: Int32Array.from(rowItems),
    },
    users,
    items,
    perm,
    positives,
  };
}

/** The items of ranks [lower, upper] (1-based) among the non-positives, in ranking order. */
function expectedWindow(order: readonly number[], excluded: readonly number[], lower: number, upper: number) {
  return order.filter((item) => !excluded.includes(item)).slice(lower - 1, upper);
}

describe('mineHardNegatives', () => {
  const { train, users, items, perm, positives } = halfCircle();
  const embeddings = { users, items, dimension: 2 };
  const orders = [Array.from(perm), Array.from(perm).reverse()];

  it('draws only from the ranks window among non-positives, never a known positive, covering the window', () => {
    const mined = mineHardNegatives({ train, embeddings, ranks: [3, 10], perRow: 2, seed: 1 });
    expect(mined.rows).toBe(100);
    expect(mined.shortRows).toBe(0);
    for (const user of [0, 1]) {
      const window = expectedWindow(orders[user] as number[], positives[user] as number[], 3, 10);
      expect(window).toHaveLength(8);
      const seen = new Map<number, number>();
      for (let row = 0; row < 100; row++) {
        if (train.users[row] !== user) continue;
        const list = Array.from(mined.of(row));
        expect(list).toHaveLength(2);
        expect(list[0]).not.toBe(list[1]); // without replacement within a row
        for (const item of list) {
          expect(window).toContain(item);
          expect(positives[user]).not.toContain(item);
          seen.set(item, (seen.get(item) ?? 0) + 1);
        }
      }
      // Uniform over the window: every item drawn, none far from its share (draws / 8).
      expect(seen.size).toBe(8);
      const share = (user === 0 ? 120 : 80) / 8;
      for (const drawn of seen.values()) {
        expect(drawn).toBeGreaterThan(share / 3);
        expect(drawn).toBeLessThan(share * 2.5);
      }
    }
  });

  it('reproduces with a seed whatever the block size, and changes with the seed', () => {
    const a = mineHardNegatives({ train, embeddings, ranks: [3, 10], perRow: 2, seed: 4 });
    const b = mineHardNegatives({ train, embeddings, ranks: [3, 10], perRow: 2, seed: 4, usersPerBlock: 1 });
    const c = mineHardNegatives({ train, embeddings, ranks: [3, 10], perRow: 2, seed: 5 });
    expect(b.items).toEqual(a.items);
    expect(c.items).not.toEqual(a.items);
  });

  it('excludes every given known positive and stops at the end of the catalogue', () => {
    // User 0 also liked perm[3] (a held-out positive): it is neither ranked nor drawn.
    const extra = perm[3] as number;
    const known = UserItemSet.fromPairs(
      Int32Array.from([...train.users, 0]),
      Int32Array.from([...train.items, extra]),
      3,
    );
    const mined = mineHardNegatives({
      train,
      embeddings,
      ranks: [1, 4],
      perRow: 4,
      seed: 2,
      knownPositives: known,
    });
    const window = expectedWindow(orders[0] as number[], [...(positives[0] as number[]), extra], 1, 4);
    for (let row = 0; row < 100; row++) {
      if (train.users[row] !== 0) continue;
      expect([...mined.of(row)].sort((x, y) => x - y)).toEqual([...window].sort((x, y) => x - y));
    }
    // 40 items less 4 positives: ranks 35-50 hold only ranks 35 and 36.
    const tail = mineHardNegatives({ train, embeddings, ranks: [35, 50], perRow: 3, seed: 2 });
    const last = expectedWindow(orders[0] as number[], positives[0] as number[], 35, 50);
    expect(last).toHaveLength(2);
    expect([...tail.of(0)].sort((x, y) => x - y)).toEqual([...last].sort((x, y) => x - y));
    // User 1 has 3 positives: ranks 35-37 exist for it, so only user 0's 60 rows are short.
    expect(tail.shortRows).toBe(60);
    expect(tail.of(3)).toHaveLength(3); // row 3 is user 1's
    // userItemLists gives the same lists as the default set.
    const lists = mineHardNegatives({
      train,
      embeddings,
      ranks: [3, 10],
      seed: 9,
      knownPositives: userItemLists(train),
    });
    expect(lists.items).toEqual(mineHardNegatives({ train, embeddings, ranks: [3, 10], seed: 9 }).items);
  });

  it('names the option at fault', () => {
    const fails = (run: () => unknown, input: string): void => {
      let caught: unknown;
      try {
        run();
      } catch (error) {
        caught = error;
      }
      expect(isRarefyError(caught)).toBe(true);
      expect((caught as { input?: string }).input).toBe(input);
    };
    fails(() => mineHardNegatives({ train, embeddings, ranks: [10, 3] }), 'ranks');
    fails(() => mineHardNegatives({ train, embeddings, ranks: [0, 3] }), 'ranks');
    fails(() => mineHardNegatives({ train, embeddings, perRow: 0 }), 'perRow');
    fails(
      () => mineHardNegatives({ train, embeddings: { ...embeddings, items: items.subarray(2) } }),
      'embeddings.items',
    );
    fails(() => mineHardNegatives({ train }), 'model');
  });
});

describe('mixHardAndEasy', () => {
  const rows = 20000;
  // Row r's one mined item is r % 1000; easy draws come from a catalogue of a million (collisions ~1e-6).
  const hard = new MinedNegatives(
    [101, 500],
    1,
    Int32Array.from({ length: rows }, (_, r) => r % 1000),
    new Int32Array(rows).fill(1),
  );
  const hardShare = (easyRatio: number, seed: number): number => {
    const mix = mixHardAndEasy({ hard, catalogueSize: 1_000_000, easyRatio, seed });
    let hits = 0;
    let columns = 0;
    for (let row = 0; row < rows; row++) {
      const out = mix(row, 0, 0);
      columns += out.length;
      if (out[0] === row % 1000) hits++;
    }
    expect(columns).toBe(rows);
    return hits / rows;
  };

  it('holds the easy:hard ratio in expectation', () => {
    // 1 / 11 with a standard error of 0.002; 1 / 2 with 0.0035.
    expect(Math.abs(hardShare(10, 1) - 1 / 11)).toBeLessThan(0.008);
    expect(Math.abs(hardShare(1, 2) - 1 / 2)).toBeLessThan(0.015);
    expect(hardShare(0, 3)).toBe(1);
  });

  it('reproduces with a seed and keeps a row’s hard negatives distinct', () => {
    const draw = (seed: number): number[] => {
      const mix = mixHardAndEasy({ hard, catalogueSize: 50, easyRatio: 3, seed });
      return Array.from({ length: 200 }, (_, row) => mix(row, 0, 0)[0] as number);
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(8)).not.toEqual(draw(7));
    const two = new MinedNegatives([1, 2], 2, Int32Array.of(5, 6), Int32Array.of(2));
    const mix = mixHardAndEasy({ hard: two, catalogueSize: 1_000_000, easyRatio: 0, columns: 3, seed: 1 });
    const out = Array.from(mix(0, 0, 0));
    expect(out.slice(0, 2).sort()).toEqual([5, 6]); // both mined items once, then one easy column
    expect(out[2]).toBeGreaterThanOrEqual(0);
    expect(() => mix(1, 0, 0)).toThrow(/outside the 1 mined training rows/);
    expect(() => mixHardAndEasy({ hard, catalogueSize: 10, easyRatio: -1 })).toThrow(/easyRatio/);
  });
});

describe('trainWithHardNegatives', () => {
  const catalogue = syntheticCatalogue({
    users: 150,
    items: 100,
    clusters: 4,
    interactionsPerUser: 8,
    seed: 2,
  });
  const small = { id: { dimension: 8 }, hidden: [16], outputDimension: 8 };

  it('trains, mines with the previous model, retrains, and reproduces with a seed', async () => {
    const before = tf.memory().numTensors;
    const run = async (seed: number) => {
      const seen: Array<{ round: HardNegativeRound; model: TwoTowerModel }> = [];
      let ownCalls = 0;
      const result = await trainWithHardNegatives({
        train: catalogue.data,
        userTower: small,
        itemTower: small,
        batchSize: 128,
        epochs: 1,
        seed,
        rounds: 2,
        hardNegatives: { ranks: [6, 30], perRow: 2, easyRatio: 1 },
        negatives: {
          rowNegatives: () => {
            ownCalls++;
            return Int32Array.of(0);
          },
        },
        onRound: (round, model) => {
          seen.push({ round, model });
        },
      });
      return { result, seen, ownCalls };
    };
    const a = await run(3);
    const b = await run(3);
    const c = await run(4);
    try {
      expect(a.result.rounds.map((round) => round.round)).toEqual([0, 1, 2]);
      expect(a.seen.map(({ round }) => round.round)).toEqual([0, 1, 2]);
      expect(a.seen[0]?.model.isDisposed).toBe(true);
      expect(a.seen[1]?.model.isDisposed).toBe(true);
      expect(a.seen[2]?.model).toBe(a.result.model);
      expect(a.result.model.isDisposed).toBe(false);
      expect(a.ownCalls).toBe(3 * catalogue.data.users.length); // the caller's own row negatives are kept
      for (const round of a.result.rounds) {
        expect(round.history.stepLosses.every(Number.isFinite)).toBe(true);
        expect(round.shortRows).toBe(0);
      }
      // Round 1 trains on other columns than round 0, with the same seed.
      expect(a.result.rounds[1]?.history.stepLosses).not.toEqual(a.result.rounds[0]?.history.stepLosses);
      expect(b.result.rounds.map((round) => round.history.stepLosses)).toEqual(
        a.result.rounds.map((round) => round.history.stepLosses),
      );
      expect(c.result.rounds[1]?.history.stepLosses).not.toEqual(a.result.rounds[1]?.history.stepLosses);
    } finally {
      a.result.model.dispose();
      b.result.model.dispose();
      c.result.model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('starts each round from the previous round’s model with warmStart', async () => {
    const before = tf.memory().numTensors;
    const run = (warmStart?: boolean) =>
      trainWithHardNegatives({
        train: catalogue.data,
        userTower: small,
        itemTower: small,
        batchSize: 128,
        epochs: 2,
        seed: 5,
        rounds: 2,
        hardNegatives: { ranks: [6, 30], perRow: 2, easyRatio: 1 },
        ...(warmStart === undefined ? {} : { warmStart }),
      });
    const warm = await run(true);
    const cold = await run();
    const coldExplicit = await run(false);
    try {
      const firstLoss = (result: typeof warm, round: number): number =>
        result.rounds[round]?.history.stepLosses[0] as number;
      // Round 0 is the same model either way; the default is the cold (EBR) behaviour.
      expect(warm.rounds[0]?.history.stepLosses).toEqual(cold.rounds[0]?.history.stepLosses);
      expect(coldExplicit.rounds.map((r) => r.history.stepLosses)).toEqual(
        cold.rounds.map((r) => r.history.stepLosses),
      );
      // A cold round starts at round 0's initial loss level again; a warm one where the last round ended.
      for (const round of [1, 2]) {
        expect(firstLoss(cold, round)).toBeGreaterThan(firstLoss(cold, 0) * 0.8);
        expect(firstLoss(warm, round)).toBeLessThan(firstLoss(cold, round) / 2);
        expect(firstLoss(warm, round)).toBeLessThan(firstLoss(warm, 0) / 2);
      }
      // Round 2 continues round 1's model (four epochs in), not round 0's (two).
      expect(firstLoss(warm, 2)).toBeLessThan(firstLoss(warm, 1));
      expect(warm.model.isDisposed).toBe(false);
    } finally {
      warm.model.dispose();
      cold.model.dispose();
      coldExplicit.model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    await expect(
      trainWithHardNegatives({ train: catalogue.data, rounds: 1, warmStart: 'yes' as unknown as boolean }),
    ).rejects.toThrow(/warmStart: "yes" is not a boolean/);
  });

  it('refuses zero rounds before training', async () => {
    await expect(trainWithHardNegatives({ train: catalogue.data, rounds: 0 })).rejects.toThrow(/rounds/);
  });
});
