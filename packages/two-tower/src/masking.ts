import { RarefyInputError } from '@rarefy/sampling-core';
import type { InteractionData } from './interactions.js';

/**
 * The set of (user, item) pairs of some interactions, stored compactly (CSR): per user, its distinct
 * item indices sorted ascending. `has` is a binary search, `itemsOf` a view without copying. Used to
 * mask a user's known positives among the candidate columns (ALGORITHMS.md B.4) and to exclude them
 * from mined negatives and evaluation.
 *
 * @example
 * ```ts
 * const positives = UserItemSet.fromInteractions(train);
 * positives.has(user, item);
 * ```
 */
export class UserItemSet {
  /** Number of users (indices 0 .. userCount - 1). */
  readonly userCount: number;
  /** Per user u, its items are `items[offsets[u] .. offsets[u + 1])`; length userCount + 1. */
  readonly offsets: Int32Array;
  /** Every user's distinct items, sorted ascending within each user. */
  readonly items: Int32Array;

  private constructor(userCount: number, offsets: Int32Array, items: Int32Array) {
    this.userCount = userCount;
    this.offsets = offsets;
    this.items = items;
  }

  /**
   * The set of pairs of `data` (repeated pairs stored once).
   *
   * @param data - interactions; every user index must lie in [0, userIds.length)
   */
  static fromInteractions(data: InteractionData): UserItemSet {
    return UserItemSet.fromPairs(data.users, data.items, data.userIds.length);
  }

  /**
   * The set of (users[k], items[k]) pairs.
   *
   * @param users - user index per pair, in [0, userCount)
   * @param items - item index per pair, >= 0
   * @param userCount - the number of users
   * @throws RarefyInputError for arrays of different lengths or an index out of range
   */
  static fromPairs(users: Int32Array, items: Int32Array, userCount: number): UserItemSet {
    if (!(Number.isInteger(userCount) && userCount >= 0)) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `userCount: ${userCount} is not an integer >= 0`,
        'pass the number of users (userIds.length)',
        { input: 'userCount', value: userCount },
      );
    }
    const n = users.length;
    if (items.length !== n) {
      throw new RarefyInputError(
        'RAREFY_DIMENSION_MISMATCH',
        `items: ${items.length} entries, but users has ${n}`,
        'pass one user and one item per interaction',
        { input: 'items', length: items.length, expected: n },
      );
    }
    const offsets = new Int32Array(userCount + 1);
    for (let k = 0; k < n; k++) {
      const user = users[k] as number;
      const item = items[k] as number;
      if (!(user >= 0 && user < userCount)) {
        throw new RarefyInputError(
          'RAREFY_INVALID_ARGUMENT',
          `users: entry ${k} is user ${user}, outside [0, ${userCount})`,
          'pass user indices into userIds',
          { input: 'users', index: k, value: user },
        );
      }
      if (item < 0) {
        throw new RarefyInputError(
          'RAREFY_INVALID_ARGUMENT',
          `items: entry ${k} is item ${item}, below 0`,
          'pass item indices into itemIds',
          { input: 'items', index: k, value: item },
        );
      }
      offsets[user + 1] = (offsets[user + 1] as number) + 1;
    }
    for (let u = 0; u < userCount; u++) offsets[u + 1] = (offsets[u + 1] as number) + (offsets[u] as number);
    const filled = offsets.slice(0, userCount);
    const all = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const user = users[k] as number;
      const position = filled[user] as number;
      all[position] = items[k] as number;
      filled[user] = position + 1;
    }
    // Sort each user's segment and drop repeats, compacting in place.
    const compact = new Int32Array(userCount + 1);
    let write = 0;
    for (let u = 0; u < userCount; u++) {
      const start = offsets[u] as number;
      const end = offsets[u + 1] as number;
      compact[u] = write;
      all.subarray(start, end).sort();
      for (let k = start; k < end; k++) {
        const item = all[k] as number;
        if (k > start && item === all[k - 1]) continue;
        all[write++] = item;
      }
    }
    compact[userCount] = write;
    return new UserItemSet(userCount, compact, all.slice(0, write));
  }

  /** Number of distinct (user, item) pairs. */
  get size(): number {
    return this.items.length;
  }

  /**
   * Whether `item` is among `user`'s items (false for a user outside [0, userCount)).
   *
   * @param user - a user index
   * @param item - an item index
   */
  has(user: number, item: number): boolean {
    if (!(user >= 0 && user < this.userCount)) return false;
    let low = this.offsets[user] as number;
    let high = (this.offsets[user + 1] as number) - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = this.items[middle] as number;
      if (value === item) return true;
      if (value < item) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }

  /**
   * `user`'s distinct items, ascending: a view into {@link items} (do not modify it); empty for a user
   * outside [0, userCount).
   *
   * @param user - a user index
   */
  itemsOf(user: number): Int32Array {
    if (!(user >= 0 && user < this.userCount)) return this.items.subarray(0, 0);
    return this.items.subarray(this.offsets[user] as number, this.offsets[user + 1] as number);
  }
}

function maskBuffer(out: Uint8Array | undefined, rows: number, columns: number): Uint8Array {
  const size = rows * columns;
  if (out === undefined) return new Uint8Array(size);
  if (out.length !== size) {
    throw new RarefyInputError(
      'RAREFY_DIMENSION_MISMATCH',
      `out: length ${out.length}, but the mask is ${rows} x ${columns} = ${size}`,
      'pass a Uint8Array of rows x columns entries (or none)',
      { input: 'out', length: out.length, expected: size },
    );
  }
  return out;
}

function checkColumns(rows: number, columns: number, rowInput: string): void {
  if (columns < rows) {
    throw new RarefyInputError(
      'RAREFY_DIMENSION_MISMATCH',
      `columnItems: ${columns} columns for ${rows} rows; column i must hold the positive of row i`,
      `put the batch's positives first in columnItems (one per row of ${rowInput}), then any extra negatives`,
      { input: 'columnItems', length: columns, expected: rows },
    );
  }
}

/**
 * The accidental-hit mask of ALGORITHMS.md B.4: a B x C matrix (row-major, `mask[i * C + j]`) with 1
 * where column j holds row i's positive item although it is not row i's own positive column (the
 * positive of row i is column i), else 0. Masked logits get -Infinity (or a large negative).
 *
 * @param rowPositiveItems - the positive item of each of the B rows
 * @param columnItems - the item of each of the C >= B columns; column i (i < B) is row i's positive
 * @param out - optional output of B x C entries (overwritten)
 * @returns the mask
 * @throws RarefyInputError when C < B, column i does not hold row i's positive, or `out` has the
 *   wrong length
 * @example
 * ```ts
 * accidentalHitMask(new Int32Array([5, 7, 5]), new Int32Array([5, 7, 5, 9]));
 * // row 0 masks column 2, row 2 masks column 0
 * ```
 */
export function accidentalHitMask(
  rowPositiveItems: Int32Array,
  columnItems: Int32Array,
  out?: Uint8Array,
): Uint8Array {
  const rows = rowPositiveItems.length;
  const columns = columnItems.length;
  checkColumns(rows, columns, 'rowPositiveItems');
  for (let i = 0; i < rows; i++) {
    if (columnItems[i] !== rowPositiveItems[i]) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `columnItems: column ${i} holds item ${columnItems[i]}, but row ${i}'s positive is item ${rowPositiveItems[i]}`,
        'put the batch positives first in columnItems, in row order (column i = positive of row i)',
        { input: 'columnItems', column: i },
      );
    }
  }
  const mask = maskBuffer(out, rows, columns);
  for (let i = 0; i < rows; i++) {
    const positive = rowPositiveItems[i] as number;
    const base = i * columns;
    for (let j = 0; j < columns; j++) mask[base + j] = columnItems[j] === positive && j !== i ? 1 : 0;
  }
  return mask;
}

/**
 * The optional known-positive mask of ALGORITHMS.md B.4: a B x C matrix (row-major) with 1 where
 * column j's item is a known positive of row i's user, except row i's own positive column (column i),
 * else 0. It includes the accidental hits when `positivesByUser` holds the batch's pairs.
 *
 * @param rowUsers - the user of each of the B rows
 * @param columnItems - the item of each of the C >= B columns; column i (i < B) is row i's positive
 * @param positivesByUser - every user's known positive items
 * @param out - optional output of B x C entries (overwritten)
 * @returns the mask
 * @throws RarefyInputError when C < B or `out` has the wrong length
 */
export function knownPositiveMask(
  rowUsers: Int32Array,
  columnItems: Int32Array,
  positivesByUser: UserItemSet,
  out?: Uint8Array,
): Uint8Array {
  const rows = rowUsers.length;
  const columns = columnItems.length;
  checkColumns(rows, columns, 'rowUsers');
  const mask = maskBuffer(out, rows, columns);
  for (let i = 0; i < rows; i++) {
    const user = rowUsers[i] as number;
    const base = i * columns;
    const known = positivesByUser.itemsOf(user);
    if (known.length === 0) {
      mask.fill(0, base, base + columns);
      continue;
    }
    for (let j = 0; j < columns; j++) {
      mask[base + j] = j !== i && positivesByUser.has(user, columnItems[j] as number) ? 1 : 0;
    }
  }
  return mask;
}
