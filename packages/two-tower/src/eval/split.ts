import { createRng, requireArgument, shuffleInPlace } from '@rarefy/sampling-core';
import { type InteractionData, selectInteractions } from '../interactions.js';
import { validateInteractions } from './validate.js';

/** The parts of a split: interaction sets that share the id dictionaries of the input. */
export interface InteractionSplit {
  /** Interactions to train on. */
  readonly train: InteractionData;
  /** Interactions for model selection (only when the split asks for a validation share). */
  readonly validation?: InteractionData;
  /** Held-out interactions to evaluate on. */
  readonly test: InteractionData;
}

/** Options of {@link tfrsSplit}. */
export interface TfrsSplitOptions {
  /** Seed of the shuffle (default 42, as in the TensorFlow Recommenders tutorial). */
  seed?: number | string;
  /** Share of the interactions that go to training, in (0, 1) (default 0.8). */
  trainFraction?: number;
}

/**
 * The TFRS protocol's split (ALGORITHMS.md B.9): every interaction is a positive; the rows are
 * shuffled with a seeded generator and the first `round(trainFraction x n)` go to training, the rest
 * to test. Both parts keep the shuffled order (as the tutorial's `take` / `skip` do) and share the
 * dictionaries of `data`. A user or item may land in test only.
 *
 * @param data - all interactions
 * @param options - `seed` (default 42) and `trainFraction` (default 0.8)
 * @returns `{ train, test }`
 * @throws RarefyError `RAREFY_INVALID_ARGUMENT` when `trainFraction` is not in (0, 1) or `data`
 *   holds an index outside its dictionaries
 * @example
 * ```ts
 * const { train, test } = tfrsSplit(ratings); // seed 42, 80/20
 * ```
 */
export function tfrsSplit(data: InteractionData, options: TfrsSplitOptions = {}): InteractionSplit {
  const trainFraction = options.trainFraction ?? 0.8;
  requireArgument(
    trainFraction > 0 && trainFraction < 1,
    'trainFraction',
    `${trainFraction} is not a share in (0, 1)`,
    'pass the share of interactions to train on, e.g. 0.8',
  );
  validateInteractions(data, 'data');
  const n = data.users.length;
  const rows = new Int32Array(n);
  for (let row = 0; row < n; row++) rows[row] = row;
  shuffleInPlace(rows, createRng(options.seed ?? 42));
  const cut = Math.round(trainFraction * n);
  return {
    train: selectInteractions(data, rows.subarray(0, cut)),
    test: selectInteractions(data, rows.subarray(cut)),
  };
}

/** Options of {@link perUserSplit}. */
export interface PerUserSplitOptions {
  /** Seed of the per-user shuffles (default 42). */
  seed?: number | string;
  /**
   * Shares of each user's interactions: `[train, validation, test]` (default `[0.8, 0.1, 0.1]`) or
   * `[train, test]` for a split without validation. Non-negative, summing to 1 (within 1e-9), with
   * a positive train share.
   */
  fractions?: readonly [number, number, number] | readonly [number, number];
}

/**
 * How many of a user's `total` interactions go to each part, by RecBole's rule (the origin of the
 * per-user protocol): the held-out parts get `floor(share x total)`, training gets the rest; then,
 * test first and validation next, a held-out part whose share would give it between 0 and 1
 * interactions takes one from training, as long as training keeps at least one.
 *
 * Per user with shares 0.8 / 0.1 / 0.1: 1 interaction -> 1/0/0; 2 -> 1/0/1; 3 -> 1/1/1;
 * 5 -> 3/1/1; 10 -> 8/1/1; 20 -> 16/2/2.
 *
 * @param total - the user's number of interactions
 * @param fractions - the shares, training first
 * @returns the counts, in the order of `fractions`
 * @example
 * ```ts
 * perUserSplitCounts(3, [0.8, 0.1, 0.1]); // [1, 1, 1]
 * ```
 */
export function perUserSplitCounts(total: number, fractions: readonly number[]): number[] {
  const counts = fractions.map((share) => Math.floor(share * total));
  let heldOut = 0;
  for (let part = 1; part < counts.length; part++) heldOut += counts[part] as number;
  counts[0] = total - heldOut;
  for (let part = counts.length - 1; part >= 1; part--) {
    if ((counts[0] as number) <= 1) break;
    const expected = (fractions[part] as number) * total;
    if (expected > 0 && expected < 1) {
      counts[part] = (counts[part] as number) + 1;
      counts[0] = (counts[0] as number) - 1;
    }
  }
  return counts;
}

/**
 * The per-user (RecBole style, "full ranking") split of ALGORITHMS.md B.9: each user's interactions
 * are shuffled with one seeded generator (users in index order) and cut 8:1:1 into train,
 * validation and test. The counts follow {@link perUserSplitCounts}: a user with a single
 * interaction keeps it in training (and so is never evaluated), a user with two gets one training
 * and one test interaction, and every user keeps at least one training interaction. Each part keeps
 * the rows in their original order and shares the dictionaries of `data`.
 *
 * @param data - all interactions
 * @param options - `seed` (default 42) and `fractions` (default `[0.8, 0.1, 0.1]`)
 * @returns `{ train, validation, test }`, or `{ train, test }` for two fractions
 * @throws RarefyError `RAREFY_INVALID_ARGUMENT` for shares that are negative, do not sum to 1 or give
 *   training nothing
 * @example
 * ```ts
 * const { train, validation, test } = perUserSplit(ratings, { seed: 7 });
 * ```
 */
export function perUserSplit(data: InteractionData, options: PerUserSplitOptions = {}): InteractionSplit {
  const fractions: readonly number[] = options.fractions ?? [0.8, 0.1, 0.1];
  const sum = fractions.reduce((total, share) => total + share, 0);
  requireArgument(
    (fractions.length === 2 || fractions.length === 3) &&
      fractions.every((share) => Number.isFinite(share) && share >= 0) &&
      Math.abs(sum - 1) <= 1e-9 &&
      (fractions[0] as number) > 0,
    'fractions',
    `[${fractions.join(', ')}] are not 2 or 3 non-negative shares summing to 1 with a positive train share`,
    'pass [train, validation, test] shares such as [0.8, 0.1, 0.1], or [train, test] such as [0.8, 0.2]',
  );
  validateInteractions(data, 'data');
  const userCount = data.userIds.length;
  const n = data.users.length;
  // Rows grouped by user (counting sort keeps each user's rows in their original order).
  const offsets = new Int32Array(userCount + 1);
  for (let row = 0; row < n; row++) {
    const user = data.users[row] as number;
    offsets[user + 1] = (offsets[user + 1] as number) + 1;
  }
  for (let user = 0; user < userCount; user++) {
    offsets[user + 1] = (offsets[user + 1] as number) + (offsets[user] as number);
  }
  const cursor = offsets.slice(0, userCount);
  const byUser = new Int32Array(n);
  for (let row = 0; row < n; row++) {
    const user = data.users[row] as number;
    const at = cursor[user] as number;
    byUser[at] = row;
    cursor[user] = at + 1;
  }
  const part = new Uint8Array(n);
  const rng = createRng(options.seed ?? 42);
  for (let user = 0; user < userCount; user++) {
    const start = offsets[user] as number;
    const end = offsets[user + 1] as number;
    if (end === start) continue;
    const rows = shuffleInPlace(byUser.subarray(start, end), rng);
    const counts = perUserSplitCounts(end - start, fractions);
    let at = 0;
    for (let which = 0; which < counts.length; which++) {
      const stop = at + (counts[which] as number);
      for (; at < stop; at++) part[rows[at] as number] = which;
    }
  }
  const partRows = (which: number): Int32Array => {
    let count = 0;
    for (let row = 0; row < n; row++) if (part[row] === which) count++;
    const rows = new Int32Array(count);
    let write = 0;
    for (let row = 0; row < n; row++) if (part[row] === which) rows[write++] = row;
    return rows;
  };
  const train = selectInteractions(data, partRows(0));
  if (fractions.length === 2) return { train, test: selectInteractions(data, partRows(1)) };
  return {
    train,
    validation: selectInteractions(data, partRows(1)),
    test: selectInteractions(data, partRows(2)),
  };
}
