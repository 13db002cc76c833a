import { describe, expect, it } from 'vitest';
import { interactionsFromPairs } from './__fixtures__/interactions.js';
import { itemUserLists, userItemLists, usersWithInteractions } from './user-items.js';

describe('userItemLists / itemUserLists / usersWithInteractions', () => {
  const data = interactionsFromPairs(4, 5, [
    [2, 3],
    [0, 4],
    [2, 1],
    [0, 4],
    [2, 3],
    [0, 0],
  ]);

  it('groups items per user, ascending, without repeats by default', () => {
    const lists = userItemLists(data);
    expect(Array.from(lists.offsets)).toEqual([0, 2, 2, 4, 4]);
    expect(Array.from(lists.values)).toEqual([0, 4, 1, 3]);
  });

  it('keeps repeats when asked', () => {
    const lists = userItemLists(data, { distinct: false });
    expect(Array.from(lists.offsets)).toEqual([0, 3, 3, 6, 6]);
    expect(Array.from(lists.values)).toEqual([0, 4, 4, 1, 3, 3]);
  });

  it('groups users per item', () => {
    const lists = itemUserLists(data);
    expect(Array.from(lists.offsets)).toEqual([0, 1, 2, 2, 3, 4]);
    expect(Array.from(lists.values)).toEqual([0, 2, 2, 0]);
  });

  it('lists the distinct users with interactions, ascending', () => {
    expect(Array.from(usersWithInteractions(data))).toEqual([0, 2]);
  });
});
