import { createRng, isRarefyError } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import type { InteractionData } from './interactions.js';
import { accidentalHitMask, knownPositiveMask, UserItemSet } from './masking.js';

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return isRarefyError(error) ? error.code : 'not a RarefyError';
  }
  return undefined;
}

/** The mask as an array of rows of 0/1. */
function rowsOf(mask: Uint8Array, columns: number): number[][] {
  const rows: number[][] = [];
  for (let start = 0; start < mask.length; start += columns)
    rows.push(Array.from(mask.subarray(start, start + columns)));
  return rows;
}

describe('accidentalHitMask', () => {
  it('masks duplicates of a row positive elsewhere in the batch, never the row own positive', () => {
    // Rows 0 and 2 share item 5; an extra negative column also drew item 5, another drew 3.
    const positives = new Int32Array([5, 7, 5, 9]);
    const columns = new Int32Array([5, 7, 5, 9, 5, 3]);
    expect(rowsOf(accidentalHitMask(positives, columns), 6)).toEqual([
      [0, 0, 1, 0, 1, 0],
      [0, 0, 0, 0, 0, 0],
      [1, 0, 0, 0, 1, 0],
      [0, 0, 0, 0, 0, 0],
    ]);
  });

  it('masks every other copy when a whole batch has the same positive', () => {
    const positives = new Int32Array([4, 4, 4]);
    expect(rowsOf(accidentalHitMask(positives, positives), 3)).toEqual([
      [0, 1, 1],
      [1, 0, 1],
      [1, 1, 0],
    ]);
  });

  it('is all zero without duplicates and overwrites a given buffer', () => {
    const out = new Uint8Array(6).fill(7);
    const mask = accidentalHitMask(new Int32Array([1, 2]), new Int32Array([1, 2, 3]), out);
    expect(mask).toBe(out);
    expect(Array.from(mask)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('agrees with a brute-force definition on a seeded random batch with many duplicates', () => {
    const rng = createRng(8);
    const B = 64;
    const C = 96;
    const columns = Int32Array.from({ length: C }, () => rng.nextInt(20));
    const positives = columns.slice(0, B);
    const mask = accidentalHitMask(positives, columns);
    let hits = 0;
    for (let i = 0; i < B; i++) {
      for (let j = 0; j < C; j++) {
        const expected = j !== i && columns[j] === positives[i] ? 1 : 0;
        expect(mask[i * C + j]).toBe(expected);
        hits += expected;
      }
    }
    expect(hits).toBeGreaterThan(100);
  });

  it('refuses misaligned columns and a wrong buffer', () => {
    expect(codeOf(() => accidentalHitMask(new Int32Array([1, 2]), new Int32Array([1])))).toBe(
      'RAREFY_DIMENSION_MISMATCH',
    );
    expect(() => accidentalHitMask(new Int32Array([1, 2]), new Int32Array([1, 3]))).toThrow(
      /column 1 holds item 3, but row 1's positive is item 2\. Fix:/,
    );
    expect(
      codeOf(() => accidentalHitMask(new Int32Array([1]), new Int32Array([1, 2]), new Uint8Array(3))),
    ).toBe('RAREFY_DIMENSION_MISMATCH');
  });
});

describe('UserItemSet', () => {
  const data: InteractionData = {
    userIds: ['a', 'b', 'c', 'd'],
    itemIds: ['i0', 'i1', 'i2', 'i3', 'i4', 'i5'],
    users: new Int32Array([2, 0, 0, 2, 0, 2, 0, 1]),
    items: new Int32Array([5, 3, 1, 0, 3, 5, 4, 2]),
  };
  const set = UserItemSet.fromInteractions(data);

  it('stores each user items sorted and distinct (CSR)', () => {
    expect(set.userCount).toBe(4);
    expect(Array.from(set.itemsOf(0))).toEqual([1, 3, 4]);
    expect(Array.from(set.itemsOf(1))).toEqual([2]);
    expect(Array.from(set.itemsOf(2))).toEqual([0, 5]);
    expect(Array.from(set.itemsOf(3))).toEqual([]);
    expect(Array.from(set.itemsOf(9))).toEqual([]);
    expect(Array.from(set.offsets)).toEqual([0, 3, 4, 6, 6]);
    expect(set.size).toBe(6);
  });

  it('answers membership by binary search', () => {
    for (let user = -1; user < 5; user++) {
      for (let item = -1; item < 7; item++) {
        let expected = false;
        for (let k = 0; k < data.users.length; k++) {
          if (data.users[k] === user && data.items[k] === item) expected = true;
        }
        expect(set.has(user, item)).toBe(expected);
      }
    }
  });

  it('agrees with a Set of pairs on seeded random data', () => {
    const rng = createRng(21);
    const n = 5000;
    const users = Int32Array.from({ length: n }, () => rng.nextInt(50));
    const items = Int32Array.from({ length: n }, () => rng.nextInt(400));
    const pairs = new Set<number>();
    for (let k = 0; k < n; k++) pairs.add((users[k] as number) * 1000 + (items[k] as number));
    const random = UserItemSet.fromPairs(users, items, 50);
    expect(random.size).toBe(pairs.size);
    for (let user = 0; user < 50; user++) {
      for (let item = 0; item < 400; item++)
        expect(random.has(user, item)).toBe(pairs.has(user * 1000 + item));
    }
  });

  it('refuses bad pairs', () => {
    expect(codeOf(() => UserItemSet.fromPairs(new Int32Array([0]), new Int32Array([1, 2]), 1))).toBe(
      'RAREFY_DIMENSION_MISMATCH',
    );
    expect(codeOf(() => UserItemSet.fromPairs(new Int32Array([3]), new Int32Array([1]), 2))).toBe(
      'RAREFY_INVALID_ARGUMENT',
    );
    expect(codeOf(() => UserItemSet.fromPairs(new Int32Array([0]), new Int32Array([-1]), 2))).toBe(
      'RAREFY_INVALID_ARGUMENT',
    );
    expect(codeOf(() => UserItemSet.fromPairs(new Int32Array(0), new Int32Array(0), -1))).toBe(
      'RAREFY_INVALID_ARGUMENT',
    );
  });
});

describe('knownPositiveMask', () => {
  // User 0 knows items 1, 3, 4; user 1 knows 2; user 2 knows 0, 5.
  const set = UserItemSet.fromPairs(
    new Int32Array([0, 0, 0, 1, 2, 2]),
    new Int32Array([1, 3, 4, 2, 0, 5]),
    3,
  );

  it('masks every known positive of the row user except the row own positive column', () => {
    // Rows: (user 0, item 1), (user 2, item 5), (user 0, item 3) -- user 0 twice in the batch.
    const rowUsers = new Int32Array([0, 2, 0]);
    const columns = new Int32Array([1, 5, 3, 4, 0, 2]);
    expect(rowsOf(knownPositiveMask(rowUsers, columns, set), 6)).toEqual([
      [0, 0, 1, 1, 0, 0],
      [0, 0, 0, 0, 1, 0],
      [1, 0, 0, 1, 0, 0],
    ]);
  });

  it('covers the accidental hits when the set holds the batch pairs', () => {
    const rowUsers = new Int32Array([0, 1, 2, 0]);
    const positives = new Int32Array([4, 2, 5, 4]); // item 4 twice (user 0 both times)
    const columns = new Int32Array([4, 2, 5, 4, 2, 4]);
    const hits = accidentalHitMask(positives, columns);
    const known = knownPositiveMask(rowUsers, columns, set);
    for (let k = 0; k < hits.length; k++) if (hits[k] === 1) expect(known[k]).toBe(1);
    expect(rowsOf(known, 6)[0]).toEqual([0, 0, 0, 1, 0, 1]);
    expect(rowsOf(known, 6)[1]).toEqual([0, 0, 0, 0, 1, 0]);
  });

  it('leaves rows of users without known positives unmasked and checks shapes', () => {
    const out = new Uint8Array(4).fill(9);
    expect(Array.from(knownPositiveMask(new Int32Array([7, 7]), new Int32Array([1, 3]), set, out))).toEqual([
      0, 0, 0, 0,
    ]);
    expect(codeOf(() => knownPositiveMask(new Int32Array([0, 1]), new Int32Array([1]), set))).toBe(
      'RAREFY_DIMENSION_MISMATCH',
    );
    expect(
      codeOf(() => knownPositiveMask(new Int32Array([0]), new Int32Array([1]), set, new Uint8Array(2))),
    ).toBe('RAREFY_DIMENSION_MISMATCH');
  });
});
