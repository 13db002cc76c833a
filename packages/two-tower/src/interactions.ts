/**
 * The interaction data every part of the two-tower package meets at: (user, item) pairs with ids
 * encoded as dense indices into `userIds` / `itemIds`, and an optional reward weight per pair.
 */
export interface InteractionData {
  /** Index -> original user id. */
  readonly userIds: readonly string[];
  /** Index -> original item id (the catalogue: every item that may be recommended). */
  readonly itemIds: readonly string[];
  /** Per interaction: the user's index into `userIds`. */
  readonly users: Int32Array;
  /** Per interaction: the item's index into `itemIds`. */
  readonly items: Int32Array;
  /** Per interaction: reward weight r_i of B.4 (absent = 1 for every pair). */
  readonly weights?: Float32Array;
  /** Per interaction: event time, when the source has one (used by time-ordered splits). */
  readonly timestamps?: Float64Array;
}

/** A subset of the rows of `data` (same id dictionaries), in the order of `rows`. */
export function selectInteractions(data: InteractionData, rows: ArrayLike<number>): InteractionData {
  const n = rows.length;
  const users = new Int32Array(n);
  const items = new Int32Array(n);
  const weights = data.weights ? new Float32Array(n) : undefined;
  const timestamps = data.timestamps ? new Float64Array(n) : undefined;
  for (let k = 0; k < n; k++) {
    const row = rows[k] as number;
    users[k] = data.users[row] as number;
    items[k] = data.items[row] as number;
    if (weights) weights[k] = data.weights?.[row] as number;
    if (timestamps) timestamps[k] = data.timestamps?.[row] as number;
  }
  return {
    userIds: data.userIds,
    itemIds: data.itemIds,
    users,
    items,
    ...(weights ? { weights } : {}),
    ...(timestamps ? { timestamps } : {}),
  };
}

/** Number of interactions per item (length = catalogue size), optionally by distinct users. */
export function itemCounts(data: InteractionData, options: { distinctUsers?: boolean } = {}): Float64Array {
  const counts = new Float64Array(data.itemIds.length);
  if (!options.distinctUsers) {
    for (let k = 0; k < data.items.length; k++) {
      const item = data.items[k] as number;
      counts[item] = (counts[item] as number) + 1;
    }
    return counts;
  }
  const seen = new Set<number>();
  const nUsers = data.userIds.length;
  for (let k = 0; k < data.items.length; k++) {
    const item = data.items[k] as number;
    const key = item * nUsers + (data.users[k] as number);
    if (!seen.has(key)) {
      seen.add(key);
      counts[item] = (counts[item] as number) + 1;
    }
  }
  return counts;
}
