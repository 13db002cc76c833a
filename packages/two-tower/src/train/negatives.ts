import { RarefyInputError, type Rng } from '@rarefy/sampling-core';
import { AliasSampler, popularityDistribution } from '../alias.js';
import type { InteractionData } from '../interactions.js';
import { columnLogQ, type ItemFrequency, type NegativeSource } from '../logq.js';
import type { UserItemSet } from '../masking.js';
import type { NegativeSelection } from './loss.js';

/**
 * The negative sources of a training step (ALGORITHMS.md B.5, B.7). The batch's positives are always
 * the first shared columns (in-batch negatives); the others add columns:
 * - `uniform`: B' items drawn uniformly from the catalogue per batch (mixed negative sampling);
 * - `popularity`: K items drawn from P(j) ∝ (f_j + 1)^b with an alias table (B.2);
 * - `crossBatch`: the item embeddings of the last M batches' positives, kept without gradient and used
 *   once `warmupSteps` steps have passed;
 * - `rowNegatives`: negatives of one row only (business rules, mined hard negatives): extra columns of
 *   that row with log Q = 0;
 * - `selection`: online hard / semi-hard / random selection among the shared negatives (distinct
 *   items: a repeated item is one column).
 */
export interface NegativeOptions {
  /** In-batch negatives: always on (the batch's positives are the shared columns). */
  readonly inBatch?: true;
  /** B': uniform corpus negatives per batch (default 0). */
  readonly uniform?: number;
  /** K popularity negatives per batch from (f + 1)^exponent (exponent default 0.75; counts of distinct users optionally). */
  readonly popularity?: {
    readonly count: number;
    readonly exponent?: number;
    readonly distinctUsers?: boolean;
  };
  /** A cache of the last `batches` batches' item embeddings, used after `warmupSteps` steps (default 100). */
  readonly crossBatch?: { readonly batches: number; readonly warmupSteps?: number };
  /**
   * Extra negatives of one training row: called with the row's index in the training data, its user
   * and its positive item; returns item indices (as many as the rule gives, padded to the batch's longest list).
   */
  readonly rowNegatives?: (row: number, user: number, item: number) => ArrayLike<number>;
  /** Online selection among the shared negatives (default none: all are kept). */
  readonly selection?: NegativeSelection;
}

/** One step's columns, log Q and masks: what the loss needs besides the embeddings. */
export interface BatchPlan {
  /** B: rows. */
  readonly rows: number;
  /** The rows' users. */
  readonly users: Int32Array;
  /** The candidates drawn this step, before deduplication: the B positives, then uniform, then popularity negatives. */
  readonly sharedItems: Int32Array;
  /**
   * The distinct items among `sharedItems`, in order of first occurrence (the positives' items first):
   * the item tower's rows for the shared columns, which get a gradient.
   */
  readonly uniqueItems: Int32Array;
  /** For each row, the column of its positive among `uniqueItems` (row i's own column i without deduplication). */
  readonly positives: Int32Array | undefined;
  /** For each column of `columnItems`: how many candidates it stands for (undefined without deduplication). */
  readonly multiplicity: Float32Array | undefined;
  /** k: extra columns per row (0 without row negatives). */
  readonly extraColumns: number;
  /** Items of the extra columns, B x k (padding is masked). */
  readonly extraItems: Int32Array;
  /** Cache columns in use (0 before the warm-up or without a cache). */
  readonly cacheRows: number;
  /** Their embeddings, cacheRows x d (a view of the cache). */
  readonly cacheEmbeddings: Float32Array | undefined;
  /** Items of the loss's shared columns: uniqueItems, then the cache's items. */
  readonly columnItems: Int32Array;
  /** log Q per shared column (undefined without correction). */
  readonly logQ: Float64Array | undefined;
  /** Excluded entries of the B x C shared block (C = shared + cache columns) as flat indices i * C + j; undefined when none. */
  readonly maskedEntries: Int32Array | undefined;
  /** B x k, 1 = excluded. */
  readonly extraMask: Uint8Array | undefined;
  /** Reward weights of the rows (undefined: all 1). */
  readonly rewards: Float32Array | undefined;
  /** The negative sources in use this step (for logQ). */
  readonly sources: readonly NegativeSource[];
}

/** Options of {@link BatchPlanner}. */
export interface BatchPlannerOptions {
  /** The rows batches are drawn from (after positive downsampling). */
  readonly data: InteractionData;
  /** For each row of `data`, its index in the caller's training data (what rowNegatives receives). */
  readonly originalRows?: Int32Array;
  /** The configured batch size B (full batches). */
  readonly batchSize: number;
  /** The output width of the towers (cache rows). */
  readonly dimension: number;
  /** The negative sources. */
  readonly negatives: NegativeOptions;
  /** Popularity counts f_j per item (B.2), when popularity negatives are on. */
  readonly popularityCounts?: Float64Array;
  /** The in-batch share q (exact counts or the streaming estimator); undefined: no log Q correction. */
  readonly frequency?: ItemFrequency & { update?: (items: Int32Array) => void };
  /** Each user's known positive items, to mask them (optional). */
  readonly knownPositives?: UserItemSet;
  /** Draws the sampled negatives. */
  readonly rng: Rng;
  /**
   * Merge the candidates of one item into one column with a multiplicity (default true): the same
   * loss with fewer columns, no accidental hit to mask, and one item-tower row per distinct item.
   */
  readonly deduplicate?: boolean;
}

function invalid(input: string, problem: string, fix: string): RarefyInputError {
  return new RarefyInputError('RAREFY_INVALID_ARGUMENT', `${input}: ${problem}`, fix, { input });
}

/**
 * Checks the negative options (names the option at fault).
 *
 * @param negatives - the options
 * @param input - their name (`negatives`)
 * @throws RarefyInputError for a count that is not a non-negative integer, a bad exponent, a cache
 *   without batches, a selection without count
 */
export function validateNegativeOptions(negatives: NegativeOptions, input = 'negatives'): void {
  if (negatives.inBatch !== undefined && negatives.inBatch !== true) {
    throw invalid(
      `${input}.inBatch`,
      `${String(negatives.inBatch)}: in-batch negatives cannot be turned off (the batch's positives are the shared columns)`,
      'leave inBatch out or pass true',
    );
  }
  const uniform = negatives.uniform ?? 0;
  if (!(Number.isInteger(uniform) && uniform >= 0)) {
    throw invalid(
      `${input}.uniform`,
      `${uniform} is not a non-negative integer`,
      "pass the number B' of uniform negatives per batch, e.g. 1024",
    );
  }
  if (negatives.popularity !== undefined) {
    const { count, exponent } = negatives.popularity;
    if (!(Number.isInteger(count) && count >= 1)) {
      throw invalid(
        `${input}.popularity.count`,
        `${count} is not a positive integer`,
        'pass the number K of popularity negatives per batch',
      );
    }
    if (exponent !== undefined && !(Number.isFinite(exponent) && exponent >= 0)) {
      throw invalid(
        `${input}.popularity.exponent`,
        `${exponent} is not a finite number >= 0`,
        'pass b >= 0 (default 0.75)',
      );
    }
  }
  if (negatives.crossBatch !== undefined) {
    const { batches, warmupSteps } = negatives.crossBatch;
    if (!(Number.isInteger(batches) && batches >= 1)) {
      throw invalid(
        `${input}.crossBatch.batches`,
        `${batches} is not a positive integer`,
        'pass the number M of cached batches, e.g. 4',
      );
    }
    if (warmupSteps !== undefined && !(Number.isInteger(warmupSteps) && warmupSteps >= 0)) {
      throw invalid(
        `${input}.crossBatch.warmupSteps`,
        `${warmupSteps} is not a non-negative integer`,
        'pass the steps before the cache is used, e.g. 100',
      );
    }
  }
  if (negatives.rowNegatives !== undefined && typeof negatives.rowNegatives !== 'function') {
    throw invalid(`${input}.rowNegatives`, 'is not a function', 'pass (row, user, item) => item indices');
  }
}

/**
 * Assembles the columns of every training step: draws the sampled negatives, keeps the cross-batch
 * cache, computes log Q per column on the expected-count scale of B.5 (in-batch B q_j, uniform
 * B'/|corpus|, popularity K P(j), cache M B q_j once warm; q from exact counts or the streaming
 * estimator, whose expected counts are already per batch), and builds the masks: accidental hits
 * (a column holding the row's positive item, other than the row's own column) and optionally every
 * known positive of the row's user.
 */
export class BatchPlanner {
  /** The configured batch size. */
  readonly batchSize: number;
  private readonly data: InteractionData;
  private readonly originalRows: Int32Array | undefined;
  private readonly negatives: NegativeOptions;
  private readonly frequency: BatchPlannerOptions['frequency'];
  private readonly knownPositives: UserItemSet | undefined;
  private readonly rng: Rng;
  private readonly catalogueSize: number;
  private readonly dimension: number;
  private readonly deduplicate: boolean;
  private readonly uniform: number;
  private readonly popularity:
    | { count: number; sampler: AliasSampler; distribution: Float64Array }
    | undefined;
  private readonly cacheBatches: number;
  private readonly warmupSteps: number;
  private readonly cacheItems: Int32Array;
  private readonly cacheValues: Float32Array;
  private cacheFilled = 0;
  private cacheNext = 0;
  private readonly head: Int32Array;
  private next = new Int32Array(0);
  private maskBuffer = new Int32Array(0);

  /**
   * @param options - the rows, batch size, negatives, frequency, known positives and generator
   * @throws RarefyInputError for bad negative options
   */
  constructor(options: BatchPlannerOptions) {
    validateNegativeOptions(options.negatives);
    this.data = options.data;
    this.originalRows = options.originalRows;
    this.batchSize = options.batchSize;
    this.dimension = options.dimension;
    this.deduplicate = options.deduplicate ?? true;
    this.negatives = options.negatives;
    this.frequency = options.frequency;
    this.knownPositives = options.knownPositives;
    this.rng = options.rng;
    this.catalogueSize = options.data.itemIds.length;
    this.uniform = options.negatives.uniform ?? 0;
    const popularity = options.negatives.popularity;
    if (popularity !== undefined) {
      const counts = options.popularityCounts;
      if (counts === undefined || counts.length !== this.catalogueSize) {
        throw new RarefyInputError(
          'RAREFY_DIMENSION_MISMATCH',
          `popularityCounts: ${counts?.length ?? 'no'} counts for a catalogue of ${this.catalogueSize} items`,
          'pass one count per catalogue item (itemCounts(train))',
          { input: 'popularityCounts' },
        );
      }
      const distribution = popularityDistribution(counts, { exponent: popularity.exponent ?? 0.75 });
      this.popularity = { count: popularity.count, sampler: new AliasSampler(distribution), distribution };
    }
    this.cacheBatches = options.negatives.crossBatch?.batches ?? 0;
    this.warmupSteps = options.negatives.crossBatch?.warmupSteps ?? 100;
    this.cacheItems = new Int32Array(this.cacheBatches * this.batchSize);
    this.cacheValues = new Float32Array(this.cacheBatches * this.batchSize * this.dimension);
    this.head = new Int32Array(this.catalogueSize).fill(-1);
  }

  /** The popularity distribution P(j) in use (undefined without popularity negatives). */
  get popularityDistribution(): Float64Array | undefined {
    return this.popularity?.distribution;
  }

  /**
   * The columns, log Q and masks of one step.
   *
   * @param rows - the batch's rows of the data (at most batchSize)
   * @param step - the global step (0-based; the cache is used from `warmupSteps` on)
   * @returns the plan
   * @throws RarefyInputError when rowNegatives returns an item outside the catalogue
   */
  plan(rows: Int32Array, step: number): BatchPlan {
    const data = this.data;
    const B = rows.length;
    const users = new Int32Array(B);
    const popularityCount = this.popularity?.count ?? 0;
    const shared = B + this.uniform + popularityCount;
    const sharedItems = new Int32Array(shared);
    for (let i = 0; i < B; i++) {
      const row = rows[i] as number;
      users[i] = data.users[row] as number;
      sharedItems[i] = data.items[row] as number;
    }
    for (let k = 0; k < this.uniform; k++) sharedItems[B + k] = this.rng.nextInt(this.catalogueSize);
    if (this.popularity !== undefined) {
      this.popularity.sampler.sampleInto(sharedItems.subarray(B + this.uniform), this.rng);
    }
    // Extra per-row columns.
    let extraColumns = 0;
    let extraItems = new Int32Array(0);
    let extraMask: Uint8Array | undefined;
    const rowNegatives = this.negatives.rowNegatives;
    if (rowNegatives !== undefined) {
      const lists: ArrayLike<number>[] = [];
      for (let i = 0; i < B; i++) {
        const row = rows[i] as number;
        const original = this.originalRows === undefined ? row : (this.originalRows[row] as number);
        const list = rowNegatives(original, users[i] as number, sharedItems[i] as number);
        lists.push(list);
        extraColumns = Math.max(extraColumns, list.length);
      }
      extraItems = new Int32Array(B * extraColumns);
      extraMask = new Uint8Array(B * extraColumns);
      for (let i = 0; i < B; i++) {
        const list = lists[i] as ArrayLike<number>;
        const positive = sharedItems[i] as number;
        for (let m = 0; m < extraColumns; m++) {
          const at = i * extraColumns + m;
          if (m >= list.length) {
            extraItems[at] = positive;
            extraMask[at] = 1;
            continue;
          }
          const item = list[m] as number;
          if (!(Number.isInteger(item) && item >= 0 && item < this.catalogueSize)) {
            throw invalid(
              'negatives.rowNegatives',
              `returned item ${item} for training row ${this.originalRows?.[rows[i] as number] ?? rows[i]}, outside the catalogue [0, ${this.catalogueSize})`,
              'return item indices into itemIds',
            );
          }
          extraItems[at] = item;
          if (item === positive || this.isKnownPositive(users[i] as number, item)) extraMask[at] = 1;
        }
      }
    }
    // One column per distinct candidate.
    let uniqueItems = sharedItems;
    let positives: Int32Array | undefined;
    let counts: Float32Array | undefined;
    if (this.deduplicate) {
      const head = this.head;
      const distinct = new Int32Array(shared);
      const found = new Float32Array(shared);
      positives = new Int32Array(B);
      let count = 0;
      for (let k = 0; k < shared; k++) {
        const item = sharedItems[k] as number;
        let column = head[item] as number;
        if (column < 0) {
          column = count++;
          head[item] = column;
          distinct[column] = item;
        }
        found[column] = (found[column] as number) + 1;
        if (k < B) positives[k] = column;
      }
      for (let column = 0; column < count; column++) head[distinct[column] as number] = -1;
      uniqueItems = distinct.slice(0, count);
      counts = found.subarray(0, count);
    }
    const unique = uniqueItems.length;
    // The cache, once warm.
    const cacheRows = step >= this.warmupSteps ? this.cacheFilled * this.batchSize : 0;
    const columns = unique + cacheRows;
    const columnItems = new Int32Array(columns);
    columnItems.set(uniqueItems);
    if (cacheRows > 0) columnItems.set(this.cacheItems.subarray(0, cacheRows), unique);
    let multiplicity: Float32Array | undefined;
    if (counts !== undefined) {
      multiplicity = new Float32Array(columns).fill(1);
      multiplicity.set(counts);
    }
    // log Q.
    const sources: NegativeSource[] = [{ kind: 'in-batch', batchSize: B }];
    if (this.uniform > 0)
      sources.push({ kind: 'uniform', count: this.uniform, corpusSize: this.catalogueSize });
    if (this.popularity !== undefined) {
      sources.push({
        kind: 'popularity',
        count: this.popularity.count,
        distribution: this.popularity.distribution,
      });
    }
    if (cacheRows > 0)
      sources.push({ kind: 'cross-batch', batches: this.cacheFilled, batchSize: this.batchSize });
    let logQ: Float64Array | undefined;
    const frequency = this.frequency;
    if (frequency !== undefined) {
      frequency.update?.(sharedItems.subarray(0, B));
      logQ = columnLogQ(columnItems, sources, frequency, new Float64Array(columns));
    }
    return {
      rows: B,
      users,
      sharedItems,
      uniqueItems,
      positives,
      multiplicity,
      extraColumns,
      extraItems,
      cacheRows,
      cacheEmbeddings: cacheRows > 0 ? this.cacheValues.subarray(0, cacheRows * this.dimension) : undefined,
      columnItems,
      logQ,
      maskedEntries: this.buildMask(users, columnItems, positives, B),
      extraMask,
      rewards: this.rewardsOf(rows),
      sources,
    };
  }

  /**
   * Stores a full batch's positive item embeddings in the cross-batch cache (oldest batch replaced).
   * Batches smaller than batchSize are not cached.
   *
   * @param items - the batch's positive items (B)
   * @param embeddings - their item-tower outputs, B x d (the first B rows of the step's item embeddings)
   */
  pushCache(items: Int32Array, embeddings: Float32Array): void {
    if (this.cacheBatches === 0 || items.length !== this.batchSize) return;
    const slot = this.cacheNext;
    this.cacheItems.set(items, slot * this.batchSize);
    this.cacheValues.set(
      embeddings.subarray(0, this.batchSize * this.dimension),
      slot * this.batchSize * this.dimension,
    );
    this.cacheNext = (slot + 1) % this.cacheBatches;
    this.cacheFilled = Math.min(this.cacheFilled + 1, this.cacheBatches);
  }

  /** Whether the cross-batch cache is configured. */
  get usesCache(): boolean {
    return this.cacheBatches > 0;
  }

  private isKnownPositive(user: number, item: number): boolean {
    return this.knownPositives?.has(user, item) ?? false;
  }

  /**
   * Excluded entries (flat i * C + j): accidental hits and (optionally) known positives; undefined
   * when none. The same entries as masking.ts's `accidentalHitMask` / `knownPositiveMask`, found in
   * O(entries) through a per-batch item -> columns list instead of a B x C scan, and returned sparse
   * (the loss scatters them into the logits).
   */
  private buildMask(
    users: Int32Array,
    columnItems: Int32Array,
    positives: Int32Array | undefined,
    B: number,
  ): Int32Array | undefined {
    const C = columnItems.length;
    if (this.next.length < C) this.next = new Int32Array(C);
    const { head, next } = this;
    for (let j = C - 1; j >= 0; j--) {
      const item = columnItems[j] as number;
      next[j] = head[item] as number;
      head[item] = j;
    }
    let count = 0;
    const push = (entry: number): void => {
      if (count === this.maskBuffer.length) {
        const grown = new Int32Array(Math.max(1024, 2 * count));
        grown.set(this.maskBuffer);
        this.maskBuffer = grown;
      }
      this.maskBuffer[count++] = entry;
    };
    const known = this.knownPositives;
    for (let i = 0; i < B; i++) {
      const at = i * C;
      const own = positives === undefined ? i : (positives[i] as number);
      const item = columnItems[own] as number;
      if (known === undefined) {
        for (let c = head[item] as number; c >= 0; c = next[c] as number) {
          if (c !== own) push(at + c);
        }
        continue;
      }
      const user = users[i] as number;
      const end = known.offsets[user + 1] as number;
      for (let k = known.offsets[user] as number; k < end; k++) {
        for (let c = head[known.items[k] as number] as number; c >= 0; c = next[c] as number) {
          if (c !== own) push(at + c);
        }
      }
      // Usually the row's positive is among its user's known items and its hits are covered already.
      if (!this.isKnownPositive(user, item)) {
        for (let c = head[item] as number; c >= 0; c = next[c] as number) {
          if (c !== own) push(at + c);
        }
      }
    }
    for (let j = 0; j < C; j++) head[columnItems[j] as number] = -1;
    return count > 0 ? this.maskBuffer.slice(0, count) : undefined;
  }

  private rewardsOf(rows: Int32Array): Float32Array | undefined {
    const weights = this.data.weights;
    if (weights === undefined) return undefined;
    const out = new Float32Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = weights[rows[i] as number] as number;
    return out;
  }
}
