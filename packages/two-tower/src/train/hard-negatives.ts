import { createRng, RarefyInputError, type Rng } from '@rarefy/sampling-core';
import { topKByDotProduct } from '../eval/topk.js';
import type { SparseLists } from '../eval/user-items.js';
import { validateInteractions } from '../eval/validate.js';
import type { InteractionData } from '../interactions.js';
import { UserItemSet } from '../masking.js';
import type { TwoTowerModel } from '../model/two-tower-model.js';
import type { NegativeOptions } from './negatives.js';
import {
  type TrainTwoTowerOptions,
  type TrainTwoTowerResult,
  type TwoTowerHistory,
  trainTwoTower,
} from './train.js';

/** EBR's window of ranks to draw hard negatives from (1-based, inclusive; ALGORITHMS.md B.7). */
export const DEFAULT_HARD_NEGATIVE_RANKS: readonly [number, number] = Object.freeze([101, 500] as const);
/** Easy (uniform) negatives per hard one when mixing (B.3: easy:hard 10:1 unless given). */
export const DEFAULT_EASY_RATIO = 10;

/** Users ranked per call of topKByDotProduct: bounds the top-K lists to usersPerBlock x upper rank. */
const DEFAULT_USERS_PER_BLOCK = 1024;

/** User and item embeddings to mine with (rows of `train.userIds` and `train.itemIds`). */
export interface MiningEmbeddings {
  /** train.userIds.length x dimension, row-major (only the rows of users in `train` are read). */
  readonly users: Float32Array;
  /** train.itemIds.length x dimension, row-major: the catalogue. */
  readonly items: Float32Array;
  /** Width of a row. */
  readonly dimension: number;
}

/** Options of {@link mineHardNegatives}. */
export interface MineHardNegativesOptions {
  /** The training rows to mine for (one list per row). */
  readonly train: InteractionData;
  /** The model of the previous round (its dictionaries must be those of `train`); or pass `embeddings`. */
  readonly model?: TwoTowerModel;
  /** Embeddings to mine with instead of a model. */
  readonly embeddings?: MiningEmbeddings;
  /** The ranks to draw from, 1-based and inclusive (default [101, 500], EBR's window). */
  readonly ranks?: readonly [number, number];
  /** Negatives drawn per training row, without replacement (default 1). */
  readonly perRow?: number;
  /** Seeds the draws (default 0). */
  readonly seed?: number | string;
  /**
   * Each user's known positives: never ranked, never drawn (default: the pairs of `train`). Pass a
   * larger set (train + validation, `UserItemSet.fromPairs`) to keep held-out positives out too.
   */
  readonly knownPositives?: UserItemSet | SparseLists;
  /** Users ranked per top-K pass (default 1024; memory is usersPerBlock x upper rank x 8 bytes). */
  readonly usersPerBlock?: number;
}

/**
 * Hard negatives mined for every training row: row r's items are `items[r * perRow ..
 * r * perRow + counts[r])` (fewer than `perRow`, possibly none, when the user's window holds fewer
 * items than asked: a catalogue smaller than the window's upper rank plus the user's positives).
 */
export class MinedNegatives {
  /** The ranks drawn from (1-based, inclusive). */
  readonly ranks: readonly [number, number];
  /** The most items per row. */
  readonly perRow: number;
  /** Training rows. */
  readonly rows: number;
  /** rows x perRow item indices; unused slots hold -1. */
  readonly items: Int32Array;
  /** Items mined per row. */
  readonly counts: Int32Array;

  /**
   * @param ranks - the window drawn from
   * @param perRow - the most items per row
   * @param items - rows x perRow item indices (-1 in unused slots)
   * @param counts - items per row
   * @throws RarefyInputError `RAREFY_DIMENSION_MISMATCH` when the arrays do not agree
   */
  constructor(ranks: readonly [number, number], perRow: number, items: Int32Array, counts: Int32Array) {
    if (!(Number.isInteger(perRow) && perRow >= 1) || items.length !== counts.length * perRow) {
      throw new RarefyInputError(
        'RAREFY_DIMENSION_MISMATCH',
        `items: ${items.length} entries for ${counts.length} rows of ${perRow}`,
        'pass rows x perRow items and one count per row',
        { input: 'items' },
      );
    }
    this.ranks = ranks;
    this.perRow = perRow;
    this.rows = counts.length;
    this.items = items;
    this.counts = counts;
  }

  /**
   * The items mined for a training row (a view; do not modify it).
   *
   * @param row - a row of the training data
   * @returns its items, in draw order (random)
   */
  of(row: number): Int32Array {
    const start = row * this.perRow;
    return this.items.subarray(start, start + (this.counts[row] ?? 0));
  }

  /** Rows that got fewer than `perRow` items (their window was short). */
  get shortRows(): number {
    let short = 0;
    for (let r = 0; r < this.rows; r++) if ((this.counts[r] as number) < this.perRow) short++;
    return short;
  }
}

function invalid(input: string, problem: string, fix: string): RarefyInputError {
  return new RarefyInputError('RAREFY_INVALID_ARGUMENT', `${input}: ${problem}`, fix, { input });
}

function checkRanks(ranks: readonly [number, number] | undefined, input: string): [number, number] {
  const window: readonly number[] = ranks ?? DEFAULT_HARD_NEGATIVE_RANKS;
  const [lower, upper] = Array.isArray(window) ? window : [];
  if (
    !Array.isArray(window) ||
    window.length !== 2 ||
    !(
      Number.isInteger(lower) &&
      Number.isInteger(upper) &&
      (lower as number) >= 1 &&
      (upper as number) >= (lower as number)
    )
  ) {
    throw invalid(
      input,
      `${JSON.stringify(ranks)} is not a window [lower, upper] of 1-based ranks with 1 <= lower <= upper`,
      'pass e.g. [101, 500] (EBR) or [11, 50] for a small catalogue',
    );
  }
  return [lower as number, upper as number];
}

function checkPositiveInteger(value: number, input: string, fix: string): void {
  if (!(Number.isInteger(value) && value >= 1))
    throw invalid(input, `${value} is not a positive integer`, fix);
}

/** The users' known-positive lists as CSR (offsets over train.userIds, ascending items). */
function positiveLists(
  known: UserItemSet | SparseLists | undefined,
  train: InteractionData,
): { offsets: Int32Array; items: Int32Array } {
  const set = known ?? UserItemSet.fromInteractions(train);
  const offsets = set.offsets;
  const items = set instanceof UserItemSet ? set.items : set.values;
  if (offsets.length !== train.userIds.length + 1) {
    throw new RarefyInputError(
      'RAREFY_DIMENSION_MISMATCH',
      `knownPositives: lists for ${offsets.length - 1} users, but train has ${train.userIds.length}`,
      'build the set over the training dictionary (UserItemSet.fromInteractions(train) or userItemLists(train))',
      { input: 'knownPositives' },
    );
  }
  return { offsets, items };
}

function miningEmbeddings(options: MineHardNegativesOptions, users: Int32Array): MiningEmbeddings {
  const { train, model, embeddings } = options;
  if ((model === undefined) === (embeddings === undefined)) {
    throw invalid(
      'model',
      model === undefined ? 'neither a model nor embeddings given' : 'both a model and embeddings given',
      'pass the previous round’s model, or { users, items, dimension } embeddings, not both',
    );
  }
  if (model !== undefined) {
    for (const field of ['userIds', 'itemIds'] as const) {
      const a = model[field];
      const b = train[field];
      let same = a.length === b.length;
      for (let k = 0; same && a !== b && k < a.length; k++) same = a[k] === b[k];
      if (!same) {
        throw new RarefyInputError(
          'RAREFY_DIMENSION_MISMATCH',
          `model.${field}: differs from train.${field} (${a.length} vs ${b.length} ids)`,
          'mine with a model trained on the same InteractionData (same dictionaries)',
          { input: `model.${field}` },
        );
      }
    }
    // Only the users with training rows are ranked: embed those rows, in user order.
    const dimension = model.dimension;
    const embedded = model.embedUsers(users);
    const all = new Float32Array(train.userIds.length * dimension);
    users.forEach((user, k) => {
      all.set(embedded.subarray(k * dimension, (k + 1) * dimension), user * dimension);
    });
    return { users: all, items: model.embedAllItems(), dimension };
  }
  const given = embeddings as MiningEmbeddings;
  checkPositiveInteger(given.dimension, 'embeddings.dimension', 'pass the width of an embedding row');
  for (const [field, count] of [
    ['users', train.userIds.length],
    ['items', train.itemIds.length],
  ] as const) {
    if (given[field].length !== count * given.dimension) {
      throw new RarefyInputError(
        'RAREFY_DIMENSION_MISMATCH',
        `embeddings.${field}: ${given[field].length} values for ${count} ${field} of dimension ${given.dimension}`,
        `pass train.${field === 'users' ? 'userIds' : 'itemIds'}.length x dimension values, row-major`,
        { input: `embeddings.${field}` },
      );
    }
  }
  return given;
}

/**
 * Offline hard negatives (Facebook EBR, ALGORITHMS.md B.7): rank the catalogue once for every user
 * with training rows by the previous model's `<u, v>`, leaving out the user's known positives (they
 * are neither ranked nor drawn: rank r is the r-th best item that is not a known positive), and draw
 * for each of the user's training rows `perRow` items uniformly without replacement from the ranks
 * `[lower, upper]` (1-based, inclusive; EBR's 101-500 by default: the very top holds too many
 * unlabelled positives). Users are ranked in blocks with {@link topKByDotProduct} (k = upper); the
 * draws follow the users in index order and their rows in row order, so the result depends on the
 * seed only (not on the block size). Use the result as per-row extra negatives of `trainTwoTower`
 * (log Q = 0, B.5) through {@link mixHardAndEasy}.
 *
 * @param options - train, the model or embeddings, ranks, perRow, seed, known positives
 * @returns the mined items of every training row
 * @throws RarefyInputError for a bad window or count, embeddings that do not fit the dictionaries,
 *   a model trained on other dictionaries
 * @example
 * ```ts
 * const hard = mineHardNegatives({ model, train, ranks: [101, 500], perRow: 1, seed: 1 });
 * hard.of(0); // the mined item(s) of training row 0
 * ```
 */
export function mineHardNegatives(options: MineHardNegativesOptions): MinedNegatives {
  const train = options.train;
  validateInteractions(train, 'train');
  const [lower, upper] = checkRanks(options.ranks, 'ranks');
  const perRow = options.perRow ?? 1;
  checkPositiveInteger(perRow, 'perRow', 'pass the number of hard negatives per training row, e.g. 1');
  const usersPerBlock = options.usersPerBlock ?? DEFAULT_USERS_PER_BLOCK;
  checkPositiveInteger(usersPerBlock, 'usersPerBlock', 'leave it out (1024) or pass a positive block size');
  const rng = createRng(options.seed ?? 0);
  const positives = positiveLists(options.knownPositives, train);

  // Training rows grouped by user (ascending rows within a user), and the users that have rows.
  const n = train.users.length;
  const userCount = train.userIds.length;
  const rowStart = new Int32Array(userCount + 1);
  for (let r = 0; r < n; r++) {
    const user = train.users[r] as number;
    rowStart[user + 1] = (rowStart[user + 1] as number) + 1;
  }
  let distinct = 0;
  for (let u = 0; u < userCount; u++) {
    if ((rowStart[u + 1] as number) > 0) distinct++;
    rowStart[u + 1] = (rowStart[u + 1] as number) + (rowStart[u] as number);
  }
  const cursor = rowStart.slice(0, userCount);
  const rowsByUser = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const user = train.users[r] as number;
    rowsByUser[cursor[user] as number] = r;
    cursor[user] = (cursor[user] as number) + 1;
  }
  const users = new Int32Array(distinct);
  for (let u = 0, k = 0; u < userCount; u++)
    if ((rowStart[u + 1] as number) > (rowStart[u] as number)) users[k++] = u;

  const { users: userVectors, items: itemVectors, dimension } = miningEmbeddings(options, users);
  const items = new Int32Array(n * perRow).fill(-1);
  const counts = new Int32Array(n);
  const width = upper - lower + 1;
  const window = new Int32Array(width);
  for (let start = 0; start < distinct; start += usersPerBlock) {
    const block = users.subarray(start, Math.min(distinct, start + usersPerBlock));
    const queries = new Float32Array(block.length * dimension);
    block.forEach((user, q) => {
      queries.set(userVectors.subarray(user * dimension, (user + 1) * dimension), q * dimension);
    });
    const top = topKByDotProduct({
      queries,
      items: itemVectors,
      dim: dimension,
      k: upper,
      exclude: (q) => {
        const user = block[q] as number;
        return positives.items.subarray(
          positives.offsets[user] as number,
          positives.offsets[user + 1] as number,
        );
      },
    });
    block.forEach((user, q) => {
      // The window's valid entries (the list ends in -1 padding when fewer items were rankable).
      let size = 0;
      for (let rank = lower; rank <= upper; rank++) {
        const item = top.indices[q * upper + rank - 1] as number;
        if (item < 0) break;
        window[size++] = item;
      }
      const take = Math.min(perRow, size);
      for (let at = rowStart[user] as number; at < (rowStart[user + 1] as number); at++) {
        const row = rowsByUser[at] as number;
        // Partial Fisher-Yates: every arrangement of the window gives a uniform draw without replacement.
        for (let m = 0; m < take; m++) {
          const pick = m + rng.nextInt(size - m);
          const item = window[pick] as number;
          window[pick] = window[m] as number;
          window[m] = item;
          items[row * perRow + m] = item;
        }
        counts[row] = take;
      }
    });
  }
  return new MinedNegatives([lower, upper], perRow, items, counts);
}

/** Options of {@link mixHardAndEasy}. */
export interface MixHardAndEasyOptions {
  /** The mined hard negatives (rows of the training data). */
  readonly hard: MinedNegatives;
  /** The catalogue size |I| the easy negatives are drawn from uniformly (`train.itemIds.length`). */
  readonly catalogueSize: number;
  /**
   * Easy negatives per hard one, in expectation (default 10, B.3's 10:1; EBR found recall rising up
   * to 100:1; 0 gives hard negatives only). Sweep it in the benchmark.
   */
  readonly easyRatio?: number;
  /** Extra negative columns per row (default `hard.perRow`). */
  readonly columns?: number;
  /** Seeds the mixing and the easy draws (default 0). */
  readonly seed?: number | string;
}

/**
 * A `negatives.rowNegatives` callback for `trainTwoTower` mixing mined hard negatives with uniform
 * easy ones at `easyRatio` easy per hard in expectation: each call (one training row) returns
 * `columns` items, of which a Binomial(columns, 1 / (1 + easyRatio)) number are the row's mined items
 * (in their random order; fewer when the row has fewer) and the rest uniform draws from the
 * catalogue. They are extra columns of that row alone, so the trainer gives them log Q = 0 (B.5) and
 * masks one that equals the row's positive (or a known positive with `maskKnownPositives`).
 * The callback holds a seeded generator: a fresh callback gives the same draws for the same calls, so
 * build one per training run.
 *
 * @param options - the mined negatives, the catalogue size, the ratio, columns per row and the seed
 * @returns `(row, user, item) => item indices`
 * @throws RarefyInputError for a ratio that is not a finite number >= 0, a bad column count or
 *   catalogue size; RarefyInputError when called with a row outside the mined rows
 * @example
 * ```ts
 * const rowNegatives = mixHardAndEasy({ hard, catalogueSize: train.itemIds.length, easyRatio: 10, seed: 1 });
 * await trainTwoTower({ train, negatives: { rowNegatives } });
 * ```
 */
export function mixHardAndEasy(
  options: MixHardAndEasyOptions,
): (row: number, user: number, item: number) => Int32Array {
  const { hard, catalogueSize } = options;
  if (!(hard instanceof MinedNegatives)) {
    throw invalid('hard', 'is not the result of mineHardNegatives', 'pass mineHardNegatives(...)');
  }
  checkPositiveInteger(
    catalogueSize,
    'catalogueSize',
    'pass the number of catalogue items (train.itemIds.length)',
  );
  const easyRatio = options.easyRatio ?? DEFAULT_EASY_RATIO;
  if (!(Number.isFinite(easyRatio) && easyRatio >= 0)) {
    throw invalid(
      'easyRatio',
      `${easyRatio} is not a finite number >= 0`,
      'pass easy:hard, e.g. 10 for 10:1',
    );
  }
  const columns = options.columns ?? hard.perRow;
  checkPositiveInteger(columns, 'columns', 'pass the number of extra negatives per row, e.g. 1');
  const hardProbability = 1 / (1 + easyRatio);
  const rng: Rng = createRng(options.seed ?? 0);
  return (row: number): Int32Array => {
    if (!(Number.isInteger(row) && row >= 0 && row < hard.rows)) {
      throw invalid(
        'row',
        `${row} is outside the ${hard.rows} mined training rows`,
        'mine the hard negatives on the same training data the model trains on',
      );
    }
    const mined = hard.of(row);
    const out = new Int32Array(columns);
    let hardCount = 0;
    for (let m = 0; m < columns; m++) if (rng.nextFloat64() < hardProbability) hardCount++;
    hardCount = Math.min(hardCount, mined.length);
    out.set(mined.subarray(0, hardCount));
    for (let m = hardCount; m < columns; m++) out[m] = rng.nextInt(catalogueSize);
    return out;
  };
}

/** What one round of {@link trainWithHardNegatives} did. */
export interface HardNegativeRound {
  /** 0: the first model (no mined negatives); r >= 1: trained with negatives mined by round r - 1's model. */
  readonly round: number;
  /** The round's training history. */
  readonly history: TwoTowerHistory;
  /** Seconds of the round (mining included). */
  readonly seconds: number;
  /** Rows whose window held fewer than `perRow` items (0 in round 0). */
  readonly shortRows: number;
}

/** Options of {@link trainWithHardNegatives}: those of `trainTwoTower`, the rounds and the mining. */
export interface TrainWithHardNegativesOptions extends TrainTwoTowerOptions {
  /** Rounds of mining and retraining after the first model (>= 1). */
  readonly rounds: number;
  /** Mining and mixing (defaults: ranks [101, 500], perRow 1, easyRatio 10, columns = perRow). */
  readonly hardNegatives?: {
    readonly ranks?: readonly [number, number];
    readonly perRow?: number;
    readonly easyRatio?: number;
    readonly columns?: number;
    /** Known positives never drawn (default the pairs of `train`). */
    readonly knownPositives?: UserItemSet | SparseLists;
  };
  /**
   * Start every mining round from a copy of the previous round's model (`initialModel` of
   * `trainTwoTower`) instead of retraining from scratch as EBR does (default false: each round starts
   * from the same seeded initialisation, or from the options' `initialModel`, as round 0 does).
   * Warm rounds fine-tune on the new negatives, so fewer `epochs` per round may do.
   */
  readonly warmStart?: boolean;
  /** Called with every round's model before it is replaced (e.g. to evaluate it); the last model is returned. */
  readonly onRound?: (round: HardNegativeRound, model: TwoTowerModel) => void | Promise<void>;
}

/** What {@link trainWithHardNegatives} returns. */
export interface TrainWithHardNegativesResult {
  /** The last round's model (dispose it when done). */
  readonly model: TwoTowerModel;
  /** Every round, round 0 first. */
  readonly rounds: HardNegativeRound[];
  /** Wall-clock seconds of all rounds. */
  readonly seconds: number;
}

/**
 * EBR's iterated offline hard-negative training (ALGORITHMS.md B.7): trains a first model with the
 * given options, then `rounds` times mines hard negatives with the previous round's model
 * ({@link mineHardNegatives}), mixes them with easy ones ({@link mixHardAndEasy}) as per-row extra
 * negatives (after any `rowNegatives` of the options, e.g. business-rule negatives) and trains a new
 * model from scratch with the same options and seed, or, with `warmStart`, from a copy of the previous
 * round's weights. Mining and mixing draws are seeded from `seed`, so a run reproduces. Each round's
 * model but the last is disposed after `onRound` (with `warmStart`, once the next round has trained).
 *
 * @param options - trainTwoTower's options, `rounds`, `hardNegatives`, `warmStart`, `onRound`
 * @returns the last model and every round's history
 * @throws RarefyInputError for bad rounds or mining options, and whatever trainTwoTower throws
 * @example
 * ```ts
 * const { model, rounds } = await trainWithHardNegatives({ train, rounds: 1, epochs: 5,
 *   hardNegatives: { ranks: [101, 500], easyRatio: 10 }, seed: 1 });
 * ```
 */
export async function trainWithHardNegatives(
  options: TrainWithHardNegativesOptions,
): Promise<TrainWithHardNegativesResult> {
  const { rounds: roundCount, hardNegatives = {}, onRound, warmStart = false, ...trainOptions } = options;
  checkPositiveInteger(
    roundCount,
    'rounds',
    'pass the number of mining rounds after the first model, e.g. 1',
  );
  if (typeof warmStart !== 'boolean') {
    throw invalid(
      'warmStart',
      `${JSON.stringify(warmStart)} is not a boolean`,
      'pass true to start each round from the previous model, or leave it out',
    );
  }
  const ranks = checkRanks(hardNegatives.ranks, 'hardNegatives.ranks');
  const perRow = hardNegatives.perRow ?? 1;
  checkPositiveInteger(perRow, 'hardNegatives.perRow', 'pass the hard negatives per training row, e.g. 1');
  const easyRatio = hardNegatives.easyRatio ?? DEFAULT_EASY_RATIO;
  if (!(Number.isFinite(easyRatio) && easyRatio >= 0)) {
    throw invalid(
      'hardNegatives.easyRatio',
      `${easyRatio} is not a finite number >= 0`,
      'pass easy:hard, e.g. 10',
    );
  }
  const columns = hardNegatives.columns ?? perRow;
  checkPositiveInteger(columns, 'hardNegatives.columns', 'pass the extra negatives per row, e.g. 1');
  const started = performance.now();
  const seeds = createRng(`hard-negatives:${String(options.seed ?? 0)}`);
  const train = options.train;
  const rounds: HardNegativeRound[] = [];
  let roundStarted = performance.now();
  let current: TrainTwoTowerResult = await trainTwoTower(trainOptions);
  let shortRows = 0;
  try {
    for (let round = 0; ; round++) {
      const summary: HardNegativeRound = {
        round,
        history: current.history,
        seconds: (performance.now() - roundStarted) / 1000,
        shortRows,
      };
      rounds.push(summary);
      if (onRound !== undefined) await onRound(summary, current.model);
      if (round === roundCount) break;
      roundStarted = performance.now();
      const hard = mineHardNegatives({
        model: current.model,
        train,
        ranks,
        perRow,
        seed: seeds.nextUint32(),
        ...(hardNegatives.knownPositives ? { knownPositives: hardNegatives.knownPositives } : {}),
      });
      shortRows = hard.shortRows;
      const mixed = mixHardAndEasy({
        hard,
        catalogueSize: train.itemIds.length,
        easyRatio,
        columns,
        seed: seeds.nextUint32(),
      });
      const base = trainOptions.negatives ?? { inBatch: true };
      const own = base.rowNegatives;
      const rowNegatives: NegativeOptions['rowNegatives'] =
        own === undefined
          ? mixed
          : (row, user, item) => {
              const first = own(row, user, item);
              const second = mixed(row, user, item);
              const both = new Int32Array(first.length + second.length);
              for (let k = 0; k < first.length; k++) both[k] = first[k] as number;
              both.set(second, first.length);
              return both;
            };
      const negatives = { ...base, rowNegatives };
      if (warmStart) {
        // The previous model is read by the next round, so it is disposed only after that round.
        const next = await trainTwoTower({ ...trainOptions, negatives, initialModel: current.model });
        current.model.dispose();
        current = next;
      } else {
        current.model.dispose();
        current = await trainTwoTower({ ...trainOptions, negatives });
      }
    }
  } catch (error) {
    current.model.dispose();
    throw error;
  }
  return { model: current.model, rounds, seconds: (performance.now() - started) / 1000 };
}
