import { RarefyInputError } from '@rarefy/sampling-core';
import { type InteractionData, itemCounts } from './interactions.js';

/**
 * A source of the candidate columns of a training batch (ALGORITHMS.md B.5), with what is needed to
 * put its Q_j on the expected-count scale (the expected number of times item j appears among the
 * columns the source adds to one batch):
 *
 * - `in-batch`: the batch's own B positives; Q_j = B q_j.
 * - `uniform`: B' = `count` items drawn uniformly from the whole corpus; Q_j = B' / |corpus|.
 * - `popularity`: K = `count` items drawn from P(j) (B.2, `popularityDistribution`); Q_j = K P(j).
 * - `cross-batch`: the positives of the last M = `batches` batches of size B; Q_j = M B q_j. Add it
 *   only once the cache is warm (after the warm-up), as its columns exist only then.
 *
 * Negatives that belong to one row only (business-rule or mined hard negatives) are not a source
 * here: they are not drawn from a distribution over the catalogue and get log Q = 0.
 */
export type NegativeSource =
  | { kind: 'in-batch'; batchSize: number }
  | { kind: 'uniform'; count: number; corpusSize: number }
  | { kind: 'popularity'; count: number; distribution: Float64Array }
  | { kind: 'cross-batch'; batches: number; batchSize: number };

/**
 * The in-batch share of B.5 on the expected-count scale of one batch: `expectedCount(j)` is the
 * expected number of times item j appears among the `batchSize` positives of a batch (B q_j). Both
 * {@link ExactFrequency} (exact counts) and `StreamingFrequencyEstimator` (B.6) implement it, so a
 * trainer can use either.
 */
export interface ItemFrequency {
  /** The batch size B the expected counts refer to. */
  readonly batchSize: number;
  /**
   * Expected number of occurrences of `item` among the B positives of one batch.
   *
   * @param item - an item index
   */
  expectedCount(item: number): number;
}

function positiveInteger(value: number, input: string, fix: string): void {
  if (!(Number.isSafeInteger(value) && value >= 1)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `${input}: ${value} is not a positive integer`,
      fix,
      {
        input,
        value,
      },
    );
  }
}

/**
 * Exact in-batch frequencies from item counts: q_j = count_j / total and expectedCount(j) = B q_j.
 *
 * @example
 * ```ts
 * const frequency = ExactFrequency.fromInteractions(train, 1024);
 * frequency.expectedCount(17); // 1024 * (interactions of item 17) / (all interactions)
 * ```
 */
export class ExactFrequency implements ItemFrequency {
  /** The batch size B. */
  readonly batchSize: number;
  /** q_j per item: its share of the positives (sums to 1). */
  readonly shares: Float64Array;

  /**
   * @param itemCounts - positives per item (of the data the batches are drawn from, after any
   *   downsampling), finite and >= 0, not all 0
   * @param batchSize - B, a positive integer
   * @throws RarefyInputError for a bad count, all-zero counts or a bad batch size
   */
  constructor(itemCounts: Float64Array, batchSize: number) {
    positiveInteger(
      batchSize,
      'batchSize',
      'pass the number of positives per training batch (for example 1024)',
    );
    let total = 0;
    for (let j = 0; j < itemCounts.length; j++) {
      const count = itemCounts[j] as number;
      if (!(Number.isFinite(count) && count >= 0)) {
        throw new RarefyInputError(
          Number.isFinite(count) ? 'RAREFY_INVALID_ARGUMENT' : 'RAREFY_NON_FINITE',
          `itemCounts: item ${j} has count ${count}, not a finite number >= 0`,
          'pass positives per item (itemCounts(data))',
          { input: 'itemCounts', index: j, value: count },
        );
      }
      total += count;
    }
    if (!(total > 0)) {
      throw new RarefyInputError(
        'RAREFY_NO_POSITIVES',
        `itemCounts: the ${itemCounts.length} counts sum to 0, so no item has a share of the positives`,
        'count the positives of the training data (itemCounts(data)) and pass at least one interaction',
        { input: 'itemCounts' },
      );
    }
    this.batchSize = batchSize;
    this.shares = new Float64Array(itemCounts.length);
    for (let j = 0; j < itemCounts.length; j++) this.shares[j] = (itemCounts[j] as number) / total;
  }

  /**
   * Exact frequencies of the items of `data`.
   *
   * @param data - the training interactions the batches are drawn from
   * @param batchSize - B
   */
  static fromInteractions(data: InteractionData, batchSize: number): ExactFrequency {
    return new ExactFrequency(itemCounts(data), batchSize);
  }

  /** B q_j (0 for an index outside the catalogue). */
  expectedCount(item: number): number {
    return this.batchSize * (this.shares[item] ?? 0);
  }
}

function sumOf(values: Float64Array): number {
  let total = 0;
  for (let j = 0; j < values.length; j++) total += values[j] as number;
  return total;
}

/**
 * Distributions already checked in full, so per-batch calls cost O(1) for them (an array changed in
 * place afterwards is not checked again).
 */
const checkedDistributions = new WeakSet<Float64Array>();

function checkDistribution(values: Float64Array, input: string, n: number, fix: string): void {
  if (values.length !== n) {
    throw new RarefyInputError(
      'RAREFY_DIMENSION_MISMATCH',
      `${input}: ${values.length} entries for a catalogue of ${n} items`,
      fix,
      { input, length: values.length, expected: n },
    );
  }
  if (checkedDistributions.has(values)) return;
  for (let j = 0; j < n; j++) {
    const value = values[j] as number;
    if (!(Number.isFinite(value) && value >= 0)) {
      throw new RarefyInputError(
        Number.isFinite(value) ? 'RAREFY_INVALID_ARGUMENT' : 'RAREFY_NON_FINITE',
        `${input}: item ${j} has ${value}, not a probability`,
        fix,
        { input, index: j, value },
      );
    }
  }
  const total = sumOf(values);
  if (!(Math.abs(total - 1) <= 1e-6)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `${input}: the entries sum to ${total}, not 1`,
      `${fix}; normalise them to sum to 1`,
      { input, total },
    );
  }
  checkedDistributions.add(values);
}

/** Validates one source; `catalogueSize` is the number of items when known (per-catalogue use). */
function checkSource(source: NegativeSource, index: number, catalogueSize: number | undefined): void {
  const where = `sources[${index}] (${source.kind})`;
  switch (source.kind) {
    case 'in-batch':
      positiveInteger(source.batchSize, `${where}.batchSize`, 'pass the number of positives per batch');
      return;
    case 'cross-batch':
      positiveInteger(source.batches, `${where}.batches`, 'pass the number M of cached batches (>= 1)');
      positiveInteger(source.batchSize, `${where}.batchSize`, 'pass the batch size of the cached batches');
      return;
    case 'uniform':
      positiveInteger(source.count, `${where}.count`, 'pass the number B of uniform negatives per batch');
      positiveInteger(source.corpusSize, `${where}.corpusSize`, 'pass the catalogue size');
      if (catalogueSize !== undefined && source.corpusSize !== catalogueSize) {
        throw new RarefyInputError(
          'RAREFY_DIMENSION_MISMATCH',
          `${where}.corpusSize: ${source.corpusSize}, but the catalogue has ${catalogueSize} items`,
          'draw uniform negatives from the whole catalogue and pass its size (itemIds.length)',
          { input: `${where}.corpusSize`, value: source.corpusSize, expected: catalogueSize },
        );
      }
      return;
    case 'popularity':
      positiveInteger(source.count, `${where}.count`, 'pass the number K of popularity negatives per batch');
      checkDistribution(
        source.distribution,
        `${where}.distribution`,
        catalogueSize ?? source.distribution.length,
        'pass P(j) per catalogue item, for example popularityDistribution(itemCounts(data))',
      );
      return;
    default: {
      const unknown: never = source;
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${where}: unknown kind ${JSON.stringify((unknown as { kind: unknown }).kind)}`,
        "use one of 'in-batch', 'uniform', 'popularity', 'cross-batch'",
        { input: `sources[${index}]` },
      );
    }
  }
}

function checkSources(sources: readonly NegativeSource[], catalogueSize: number | undefined): void {
  if (sources.length === 0) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      'sources: no negative source is given, so no candidate column has an expected count',
      "list the sources of the batch's columns, for example [{ kind: 'in-batch', batchSize: 1024 }]",
      { input: 'sources' },
    );
  }
  sources.forEach((source, index) => {
    checkSource(source, index, catalogueSize);
  });
}

/**
 * Q_j of ALGORITHMS.md B.5 for every catalogue item: the expected number of times item j appears among
 * a batch's candidate columns, summed over the sources in use (in-batch B q_j, uniform B'/|corpus|,
 * popularity K P(j), cross-batch M B q_j).
 *
 * @param sources - the sources of the batch's columns (at least one)
 * @param q - item share of the (downsampled) positives per catalogue item, summing to 1
 *   (`new ExactFrequency(counts, B).shares`)
 * @returns Q_j per item (0 for an item no source can draw)
 * @throws RarefyInputError for a bad source, a `q` that is not a distribution, a popularity
 *   distribution or uniform corpus size that does not match the catalogue
 * @example
 * ```ts
 * const q = new Float64Array([0.6, 0.3, 0.1, 0]);
 * expectedCounts([{ kind: 'in-batch', batchSize: 8 }, { kind: 'uniform', count: 4, corpusSize: 4 }], q);
 * // [5.8, 3.4, 1.8, 1]
 * ```
 */
export function expectedCounts(sources: readonly NegativeSource[], q: Float64Array): Float64Array {
  const n = q.length;
  checkDistribution(q, 'q', n, 'pass the share of the training positives of every item (counts / total)');
  checkSources(sources, n);
  const out = new Float64Array(n);
  for (const source of sources) {
    switch (source.kind) {
      case 'in-batch':
      case 'cross-batch': {
        const factor = source.kind === 'in-batch' ? source.batchSize : source.batches * source.batchSize;
        for (let j = 0; j < n; j++) out[j] = (out[j] as number) + factor * (q[j] as number);
        break;
      }
      case 'uniform': {
        const value = source.count / source.corpusSize;
        for (let j = 0; j < n; j++) out[j] = (out[j] as number) + value;
        break;
      }
      case 'popularity': {
        const p = source.distribution;
        for (let j = 0; j < n; j++) out[j] = (out[j] as number) + source.count * (p[j] as number);
        break;
      }
    }
  }
  return out;
}

/**
 * log Q_j for every catalogue item: the correction of B.4, s_c(i, j) = s(i, j) - log Q_j. An item no
 * source can draw gets -Infinity (it never appears as a column).
 *
 * @param sources - as {@link expectedCounts}
 * @param q - as {@link expectedCounts}
 * @returns log Q_j per item
 */
export function logQ(sources: readonly NegativeSource[], q: Float64Array): Float64Array {
  const out = expectedCounts(sources, q);
  for (let j = 0; j < out.length; j++) out[j] = Math.log(out[j] as number);
  return out;
}

/**
 * Q of the columns of one batch, with the in-batch share taken from an {@link ItemFrequency} (exact
 * counts or the streaming estimator of B.6): for column item j, in-batch adds
 * (B / frequency.batchSize) expectedCount(j) (a last, smaller batch is rescaled linearly),
 * cross-batch M B / frequency.batchSize times that, uniform B'/|corpus|, popularity K P(j).
 *
 * @param columnItems - the item of each candidate column
 * @param sources - the sources of the batch's columns (at least one)
 * @param frequency - the in-batch share (needed only with in-batch or cross-batch sources)
 * @param out - optional output buffer of length `columnItems.length`
 * @returns Q per column
 * @throws RarefyInputError for a bad source, a column item outside a popularity distribution, or a
 *   column whose Q is 0 or not finite (no source in use can draw its item: its logit would be infinite)
 */
export function columnExpectedCounts(
  columnItems: Int32Array,
  sources: readonly NegativeSource[],
  frequency: ItemFrequency,
  out: Float64Array = new Float64Array(columnItems.length),
): Float64Array {
  checkSources(sources, undefined);
  const c = columnItems.length;
  if (out.length !== c) {
    throw new RarefyInputError(
      'RAREFY_DIMENSION_MISMATCH',
      `out: length ${out.length}, but there are ${c} columns`,
      'pass an output buffer with one entry per column (or none)',
      { input: 'out', length: out.length, expected: c },
    );
  }
  let inBatchFactor = 0;
  let constant = 0;
  for (const source of sources) {
    if (source.kind === 'in-batch') {
      inBatchFactor += source.batchSize / frequency.batchSize;
    } else if (source.kind === 'cross-batch') {
      inBatchFactor += (source.batches * source.batchSize) / frequency.batchSize;
    } else if (source.kind === 'uniform') {
      constant += source.count / source.corpusSize;
    }
  }
  for (let k = 0; k < c; k++) {
    const item = columnItems[k] as number;
    let q = constant;
    if (inBatchFactor > 0) q += inBatchFactor * frequency.expectedCount(item);
    for (const source of sources) {
      if (source.kind !== 'popularity') continue;
      const p = source.distribution[item];
      if (p === undefined) {
        throw new RarefyInputError(
          'RAREFY_DIMENSION_MISMATCH',
          `columnItems: column ${k} holds item ${item}, outside the popularity distribution of ${source.distribution.length} items`,
          'build the popularity distribution over the whole catalogue (one entry per item)',
          { input: 'columnItems', column: k, item },
        );
      }
      q += source.count * p;
    }
    if (!(q > 0 && Number.isFinite(q))) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `columnItems: column ${k} holds item ${item}, whose Q is ${q}: no source in use can draw it, so log Q is not finite`,
        'count the item among the positives of the frequency (exact counts of the data the batches come from) or add a smoothed source (uniform, or popularity with smoothing)',
        { input: 'columnItems', column: k, item, q },
      );
    }
    out[k] = q;
  }
  return out;
}

/**
 * log Q of the columns of one batch ({@link columnExpectedCounts} then the natural log): subtract it
 * from every logit of the column, the positive's included.
 *
 * @param columnItems - the item of each candidate column
 * @param sources - the sources of the batch's columns
 * @param frequency - the in-batch share
 * @param out - optional output buffer of length `columnItems.length`
 * @returns log Q per column
 */
export function columnLogQ(
  columnItems: Int32Array,
  sources: readonly NegativeSource[],
  frequency: ItemFrequency,
  out?: Float64Array,
): Float64Array {
  const result = columnExpectedCounts(columnItems, sources, frequency, out);
  for (let k = 0; k < result.length; k++) result[k] = Math.log(result[k] as number);
  return result;
}
