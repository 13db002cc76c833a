import { isRarefyError } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import type { InteractionData } from '../interactions.js';
import { perUserSplit, perUserSplitCounts, tfrsSplit } from './split.js';

/** n interactions over users/items, with the row number as timestamp so rows can be traced. */
function tracedData(users: number[], itemCount = 50): InteractionData {
  return {
    userIds: Array.from({ length: Math.max(...users) + 1 }, (_, u) => `user-${u}`),
    itemIds: Array.from({ length: itemCount }, (_, i) => `item-${i}`),
    users: Int32Array.from(users),
    items: Int32Array.from(users, (_, row) => (row * 7) % itemCount),
    timestamps: Float64Array.from(users, (_, row) => row),
  };
}

const rowsOf = (part: InteractionData | undefined): number[] => Array.from(part?.timestamps ?? []);

describe('tfrsSplit', () => {
  const data = tracedData(Array.from({ length: 1000 }, (_, row) => row % 37));

  it('puts round(0.8 n) shuffled rows in train and the rest in test, sharing the dictionaries', () => {
    const { train, test, validation } = tfrsSplit(data);
    expect(validation).toBeUndefined();
    expect(train.users).toHaveLength(800);
    expect(test.users).toHaveLength(200);
    expect(train.userIds).toBe(data.userIds);
    expect(test.itemIds).toBe(data.itemIds);
    const all = [...rowsOf(train), ...rowsOf(test)].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 1000 }, (_, row) => row));
    // Shuffled, not the first 800 rows in order.
    expect(rowsOf(train).slice(0, 20)).not.toEqual(Array.from({ length: 20 }, (_, row) => row));
    // Every field follows its row.
    for (let at = 0; at < test.users.length; at++) {
      const row = test.timestamps![at]!;
      expect(test.users[at]).toBe(data.users[row]);
      expect(test.items[at]).toBe(data.items[row]);
    }
  });

  it('is reproducible: seed 42 by default, another seed gives another split', () => {
    expect(rowsOf(tfrsSplit(data).test)).toEqual(rowsOf(tfrsSplit(data, { seed: 42 }).test));
    expect(rowsOf(tfrsSplit(data, { seed: 43 }).test)).not.toEqual(rowsOf(tfrsSplit(data).test));
  });

  it('honours trainFraction and refuses shares outside (0, 1)', () => {
    expect(tfrsSplit(data, { trainFraction: 0.25 }).train.users).toHaveLength(250);
    expect(() => tfrsSplit(data, { trainFraction: 1 })).toThrow(/trainFraction/);
  });

  it('refuses inconsistent data', () => {
    const broken = { ...data, items: data.items.subarray(1) };
    try {
      tfrsSplit(broken);
      expect.unreachable();
    } catch (error) {
      expect(isRarefyError(error, 'RAREFY_DIMENSION_MISMATCH')).toBe(true);
    }
  });
});

describe('perUserSplitCounts', () => {
  it("follows RecBole's rule for small users", () => {
    const shares = [0.8, 0.1, 0.1];
    expect(perUserSplitCounts(1, shares)).toEqual([1, 0, 0]);
    expect(perUserSplitCounts(2, shares)).toEqual([1, 0, 1]);
    expect(perUserSplitCounts(3, shares)).toEqual([1, 1, 1]);
    expect(perUserSplitCounts(5, shares)).toEqual([3, 1, 1]);
    expect(perUserSplitCounts(10, shares)).toEqual([8, 1, 1]);
    expect(perUserSplitCounts(15, shares)).toEqual([13, 1, 1]);
    expect(perUserSplitCounts(20, shares)).toEqual([16, 2, 2]);
    expect(perUserSplitCounts(1, [0.8, 0.2])).toEqual([1, 0]);
    expect(perUserSplitCounts(4, [0.8, 0.2])).toEqual([3, 1]);
  });
});

describe('perUserSplit', () => {
  // user 0: 1 interaction, user 1: 2, user 2: 3, user 3: 10, user 4: 20, user 5: 0 (absent).
  const sizes = [1, 2, 3, 10, 20];
  const users = sizes.flatMap((size, user) => Array.from({ length: size }, () => user));
  const data: InteractionData = { ...tracedData(users), userIds: ['a', 'b', 'c', 'd', 'e', 'f'] };

  const countsPerUser = (part: InteractionData | undefined): number[] => {
    const counts = new Array(6).fill(0);
    for (const user of part?.users ?? []) counts[user]++;
    return counts;
  };

  it('cuts each user 8:1:1; a single interaction stays in train', () => {
    const { train, validation, test } = perUserSplit(data);
    expect(countsPerUser(train)).toEqual([1, 1, 1, 8, 16, 0]);
    expect(countsPerUser(validation)).toEqual([0, 0, 1, 1, 2, 0]);
    expect(countsPerUser(test)).toEqual([0, 1, 1, 1, 2, 0]);
    const all = [...rowsOf(train), ...rowsOf(validation), ...rowsOf(test)].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: users.length }, (_, row) => row));
    // Each part keeps the original row order.
    for (const part of [train, validation, test]) {
      const rows = rowsOf(part);
      expect(rows).toEqual([...rows].sort((a, b) => a - b));
    }
    expect(test.userIds).toBe(data.userIds);
  });

  it('draws the held-out interactions at random, reproducibly', () => {
    const testRows = (seed: number) => rowsOf(perUserSplit(data, { seed }).test);
    expect(testRows(42)).toEqual(rowsOf(perUserSplit(data).test));
    const distinct = new Set([1, 2, 3, 4, 5, 6].map((seed) => testRows(seed).join(',')));
    expect(distinct.size).toBeGreaterThan(1);
  });

  it('supports [train, test] without validation', () => {
    const split = perUserSplit(data, { fractions: [0.8, 0.2], seed: 3 });
    expect(split.validation).toBeUndefined();
    expect(countsPerUser(split.test)).toEqual([0, 1, 1, 2, 4, 0]);
  });

  it('refuses shares that are negative, do not sum to 1 or leave training empty', () => {
    expect(() => perUserSplit(data, { fractions: [0.8, 0.3, -0.1] })).toThrow(/fractions/);
    expect(() => perUserSplit(data, { fractions: [0.7, 0.1, 0.1] })).toThrow(/fractions/);
    expect(() => perUserSplit(data, { fractions: [0, 0.5, 0.5] })).toThrow(/fractions/);
  });
});
