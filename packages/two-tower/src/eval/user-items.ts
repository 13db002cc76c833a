import type { InteractionData } from '../interactions.js';

/**
 * Compressed sparse rows: the values of row r are `values[offsets[r] .. offsets[r + 1])`, ascending.
 * `offsets` has one entry more than there are rows.
 */
export interface SparseLists {
  /** Row r starts at `offsets[r]`; `offsets[rowCount]` is `values.length`. */
  readonly offsets: Int32Array;
  /** The concatenated rows, each ascending. */
  readonly values: Int32Array;
}

/** Options of {@link userItemLists} and {@link itemUserLists}. */
export interface SparseListsOptions {
  /** Drop repeated (user, item) pairs, so each list is a set (default true). */
  distinct?: boolean;
}

/**
 * Groups `values` by `keys` (counting sort), sorts each group ascending and optionally removes
 * repeats.
 */
function groupAscending(
  keys: Int32Array,
  values: Int32Array,
  keyCount: number,
  distinct: boolean,
): SparseLists {
  const offsets = new Int32Array(keyCount + 1);
  for (let row = 0; row < keys.length; row++) {
    const key = keys[row] as number;
    offsets[key + 1] = (offsets[key + 1] as number) + 1;
  }
  for (let key = 0; key < keyCount; key++) {
    offsets[key + 1] = (offsets[key + 1] as number) + (offsets[key] as number);
  }
  const cursor = offsets.slice(0, keyCount);
  const grouped = new Int32Array(keys.length);
  for (let row = 0; row < keys.length; row++) {
    const key = keys[row] as number;
    const at = cursor[key] as number;
    grouped[at] = values[row] as number;
    cursor[key] = at + 1;
  }
  for (let key = 0; key < keyCount; key++) {
    grouped.subarray(offsets[key] as number, offsets[key + 1] as number).sort();
  }
  if (!distinct) return { offsets, values: grouped };
  const compactOffsets = new Int32Array(keyCount + 1);
  let write = 0;
  for (let key = 0; key < keyCount; key++) {
    const end = offsets[key + 1] as number;
    let previous = -1;
    for (let at = offsets[key] as number; at < end; at++) {
      const value = grouped[at] as number;
      if (value !== previous) {
        grouped[write++] = value;
        previous = value;
      }
    }
    compactOffsets[key + 1] = write;
  }
  return { offsets: compactOffsets, values: grouped.slice(0, write) };
}

/**
 * Each user's items as sorted lists (CSR over `data.userIds`): the masks of
 * {@link topKByDotProduct}'s `exclude`, the user side of item-kNN.
 *
 * @param data - the interactions
 * @param options - `distinct` (default true) drops repeated pairs
 * @returns offsets (length = users + 1) and the concatenated ascending item indices
 * @example
 * ```ts
 * const seen = userItemLists(train);
 * const itemsOfUser3 = seen.values.subarray(seen.offsets[3], seen.offsets[4]);
 * ```
 */
export function userItemLists(data: InteractionData, options: SparseListsOptions = {}): SparseLists {
  return groupAscending(data.users, data.items, data.userIds.length, options.distinct ?? true);
}

/**
 * Each item's users as sorted lists (CSR over `data.itemIds`): the item side of item-kNN.
 *
 * @param data - the interactions
 * @param options - `distinct` (default true) drops repeated pairs
 * @returns offsets (length = items + 1) and the concatenated ascending user indices
 * @example
 * ```ts
 * const raters = itemUserLists(train);
 * const usersOfItem0 = raters.values.subarray(raters.offsets[0], raters.offsets[1]);
 * ```
 */
export function itemUserLists(data: InteractionData, options: SparseListsOptions = {}): SparseLists {
  return groupAscending(data.items, data.users, data.itemIds.length, options.distinct ?? true);
}

/**
 * The distinct users that appear in `data`, ascending: the queries an evaluation needs top-K lists
 * for.
 *
 * @param data - the interactions (typically the test part of a split)
 * @returns ascending user indices
 * @example
 * ```ts
 * const queryUsers = usersWithInteractions(test);
 * ```
 */
export function usersWithInteractions(data: InteractionData): Int32Array {
  const seen = new Uint8Array(data.userIds.length);
  let count = 0;
  for (let row = 0; row < data.users.length; row++) {
    const user = data.users[row] as number;
    if (seen[user] === 0) {
      seen[user] = 1;
      count++;
    }
  }
  const users = new Int32Array(count);
  let write = 0;
  for (let user = 0; user < seen.length; user++) if (seen[user] === 1) users[write++] = user;
  return users;
}
