import { RarefyInputError, requireArgument } from '@rarefy/sampling-core';
import { type InteractionData, itemCounts } from '../interactions.js';
import type { TopKResult } from './topk.js';
import { userItemLists } from './user-items.js';
import { requireSameDictionaries, validateInteractions } from './validate.js';

/** The evaluation protocols of ALGORITHMS.md B.9. */
export type EvaluationProtocol = 'tfrs' | 'per-user';

/** Names of the ranking metrics. */
export type RetrievalMetricName = 'recall' | 'ndcg' | 'hit-rate' | 'mrr';

/** A metric at a cutoff, e.g. `"recall@10"`. */
export type RetrievalMetricKey = `${RetrievalMetricName}@${number}`;

/** Metric values keyed `"recall@10"`, `"ndcg@10"`, `"hit-rate@10"`, `"mrr@10"`, ... */
export type RetrievalMetrics = { [key: RetrievalMetricKey]: number };

/** Options of {@link retrievalMetrics}. */
export interface RetrievalMetricsOptions {
  /** The ranked lists (from {@link topKByDotProduct} or a baseline), one row per query user. */
  topK: TopKResult;
  /** The user of each row of `topK` (default: row r is user r). */
  queryUsers?: Int32Array;
  /** Cutoffs, each in [1, topK.k]. */
  ks: readonly number[];
  /** Held-out interactions (the relevant items). */
  test: InteractionData;
  /** `tfrs`: recall per test pair; `per-user`: recall per user, averaged. */
  protocol: EvaluationProtocol;
}

/** Checks the cutoffs against the lists' length. */
function checkCutoffs(ks: readonly number[], topK: TopKResult): number[] {
  requireArgument(ks.length > 0, 'ks', 'is empty', 'pass at least one cutoff, e.g. [10, 50, 100]');
  for (const cutoff of ks) {
    requireArgument(
      Number.isInteger(cutoff) && cutoff >= 1 && cutoff <= topK.k,
      'ks',
      `cutoff ${cutoff} is not an integer in [1, ${topK.k}] (topK holds ${topK.k} items per query)`,
      `compute the top-K lists with k >= ${cutoff}, or ask for smaller cutoffs`,
    );
  }
  return [...new Set(ks)].sort((a, b) => a - b);
}

/**
 * The row of `topK` holding each user's list (-1 where none). Throws when a user has two rows or a
 * test user has none.
 */
function rowsOfUsers(
  topK: TopKResult,
  queryUsers: Int32Array | undefined,
  test: InteractionData,
): Int32Array {
  const userCount = test.userIds.length;
  const rowCount = topK.indices.length / topK.k;
  if (!Number.isInteger(rowCount) || topK.scores.length !== topK.indices.length) {
    throw new RarefyInputError(
      'RAREFY_DIMENSION_MISMATCH',
      `topK: ${topK.indices.length} indices and ${topK.scores.length} scores are not rows of k = ${topK.k}`,
      'pass the result of topKByDotProduct (or a baseline) unchanged',
      { input: 'topK' },
    );
  }
  const itemCount = test.itemIds.length;
  for (let at = 0; at < topK.indices.length; at++) {
    const item = topK.indices[at] as number;
    if (item < -1 || item >= itemCount) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `topK: entry ${at} is item ${item}, outside the catalogue [0, ${itemCount}) of test.itemIds (or -1 for padding)`,
        'rank the same catalogue the test interactions index',
        { input: 'topK', at, value: item },
      );
    }
  }
  if (queryUsers !== undefined && queryUsers.length !== rowCount) {
    throw new RarefyInputError(
      'RAREFY_DIMENSION_MISMATCH',
      `queryUsers: has ${queryUsers.length} users but topK has ${rowCount} rows`,
      'pass the users the top-K lists were computed for, in the same order',
      { input: 'queryUsers' },
    );
  }
  const rowOf = new Int32Array(userCount).fill(-1);
  for (let row = 0; row < rowCount; row++) {
    const user = queryUsers === undefined ? row : (queryUsers[row] as number);
    if (user < 0 || user >= userCount) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${queryUsers === undefined ? 'topK' : 'queryUsers'}: row ${row} is user ${user}, outside [0, ${userCount}) of test.userIds`,
        'pass queryUsers as indices into the same userIds as test (one row per user)',
        { input: queryUsers === undefined ? 'topK' : 'queryUsers', row },
      );
    }
    if (rowOf[user] !== -1) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `queryUsers: user ${user} ('${test.userIds[user]}') has two rows (${rowOf[user]} and ${row})`,
        'rank each user once (usersWithInteractions(test) gives the distinct users)',
        { input: 'queryUsers', user },
      );
    }
    rowOf[user] = row;
  }
  for (let at = 0; at < test.users.length; at++) {
    const user = test.users[at] as number;
    if (rowOf[user] === -1) {
      throw new RarefyInputError(
        'RAREFY_DIMENSION_MISMATCH',
        `topK: test user ${user} ('${test.userIds[user]}') has test interactions but no top-K row`,
        'compute top-K lists for every user in test (usersWithInteractions(test)) and pass them as queryUsers',
        { input: 'topK', user },
      );
    }
  }
  return rowOf;
}

/**
 * Top-K accuracy of ranked lists against held-out interactions (ALGORITHMS.md B.9). For every cutoff
 * K of `ks`:
 *
 * - `recall@K`, protocol `tfrs`: the share of test (user, item) pairs whose item is among the user's
 *   top K (each pair counts, repeats included) — TFRS's "factorized top-K accuracy";
 *   protocol `per-user`: per user, the hits in the top K divided by the user's distinct test items,
 *   averaged over users (RecBole's recall).
 * - `ndcg@K`: binary relevance, DCG = sum over hits at 1-based rank r of 1 / log2(r + 1), divided by
 *   the ideal DCG over min(|user's distinct test items|, K) ranks; averaged over users.
 * - `hit-rate@K`: the share of users with at least one hit in the top K.
 * - `mrr@K`: 1 / rank of the first hit within the top K (0 without one), averaged over users.
 *
 * Users are those with at least one test interaction; an item counts as a hit once however often
 * it appears in a list. Masking of training items is the lists' business (see `exclude`).
 *
 * @param options - topK, queryUsers, ks, test, protocol
 * @returns the metrics keyed like `"recall@10"`; NaN-free (an empty test set is refused)
 * @throws RarefyError `RAREFY_INVALID_ARGUMENT` for cutoffs above topK.k or an empty test set,
 *   `RAREFY_DIMENSION_MISMATCH` when a test user has no top-K row
 * @example
 * ```ts
 * const users = usersWithInteractions(test);
 * const topK = topKByDotProduct({ queries: gatherRows(userEmbeddings, users, 64), items, dim: 64, k: 100 });
 * const metrics = retrievalMetrics({ topK, queryUsers: users, ks: [10, 100], test, protocol: 'tfrs' });
 * metrics['recall@100'];
 * ```
 */
export function retrievalMetrics(options: RetrievalMetricsOptions): RetrievalMetrics {
  const { topK, test, protocol } = options;
  requireArgument(
    protocol === 'tfrs' || protocol === 'per-user',
    'protocol',
    `'${String(protocol)}' is not a protocol`,
    "pass 'tfrs' or 'per-user'",
  );
  validateInteractions(test, 'test');
  requireArgument(
    test.users.length > 0,
    'test',
    'has no interactions',
    'evaluate on a non-empty held-out set',
  );
  const ks = checkCutoffs(options.ks, topK);
  const rowOf = rowsOfUsers(topK, options.queryUsers, test);
  const k = topK.k;
  const maxK = ks[ks.length - 1] as number;
  const lists = userItemLists(test, { distinct: false });
  const itemCount = test.itemIds.length;
  const stamp = new Int32Array(itemCount);
  const multiplicity = new Int32Array(itemCount);
  const discount = new Float64Array(maxK + 1);
  for (let rank = 1; rank <= maxK; rank++) discount[rank] = 1 / Math.log2(rank + 1);
  const cutoffs = ks.length;
  const pairHits = new Float64Array(cutoffs);
  const recallSum = new Float64Array(cutoffs);
  const ndcgSum = new Float64Array(cutoffs);
  const hitUsers = new Float64Array(cutoffs);
  const reciprocalSum = new Float64Array(cutoffs);
  let users = 0;
  for (let user = 0; user < test.userIds.length; user++) {
    const start = lists.offsets[user] as number;
    const end = lists.offsets[user + 1] as number;
    if (end === start) continue;
    users++;
    let distinct = 0;
    for (let at = start; at < end; at++) {
      const item = lists.values[at] as number;
      if (stamp[item] !== user + 1) {
        stamp[item] = user + 1;
        multiplicity[item] = 0;
        distinct++;
      }
      multiplicity[item] = (multiplicity[item] as number) + 1;
    }
    const base = (rowOf[user] as number) * k;
    let cutoff = 0;
    let hits = 0;
    let pairs = 0;
    let dcg = 0;
    let firstHit = 0;
    for (let rank = 1; rank <= maxK; rank++) {
      const item = topK.indices[base + rank - 1] as number;
      if (item >= 0 && stamp[item] === user + 1) {
        stamp[item] = 0; // a repeated item in a list counts once
        hits++;
        pairs += multiplicity[item] as number;
        dcg += discount[rank] as number;
        if (firstHit === 0) firstHit = rank;
      }
      while (cutoff < cutoffs && ks[cutoff] === rank) {
        let ideal = 0;
        const idealRanks = Math.min(distinct, rank);
        for (let r = 1; r <= idealRanks; r++) ideal += discount[r] as number;
        pairHits[cutoff] = (pairHits[cutoff] as number) + pairs;
        recallSum[cutoff] = (recallSum[cutoff] as number) + hits / distinct;
        ndcgSum[cutoff] = (ndcgSum[cutoff] as number) + dcg / ideal;
        if (hits > 0) hitUsers[cutoff] = (hitUsers[cutoff] as number) + 1;
        if (firstHit > 0) reciprocalSum[cutoff] = (reciprocalSum[cutoff] as number) + 1 / firstHit;
        cutoff++;
      }
    }
  }
  const metrics: RetrievalMetrics = {};
  const pairCount = test.users.length;
  ks.forEach((cutoff, c) => {
    metrics[`recall@${cutoff}`] =
      protocol === 'tfrs' ? (pairHits[c] as number) / pairCount : (recallSum[c] as number) / users;
    metrics[`ndcg@${cutoff}`] = (ndcgSum[c] as number) / users;
    metrics[`hit-rate@${cutoff}`] = (hitUsers[c] as number) / users;
    metrics[`mrr@${cutoff}`] = (reciprocalSum[c] as number) / users;
  });
  return metrics;
}

/** Names of the item-popularity buckets, most popular first. */
export const POPULARITY_BUCKETS = ['head', 'torso', 'tail'] as const;

/** One of {@link POPULARITY_BUCKETS}. */
export type PopularityBucketName = (typeof POPULARITY_BUCKETS)[number];

/**
 * Assigns every catalogue item to head (0), torso (1) or tail (2) by training popularity. Items are
 * sorted by training count, descending (ties: lower index first), and walked while summing their
 * counts: an item whose preceding items carry less than a third of all training interactions is
 * head, less than two thirds torso, the rest tail. So head is the fewest most popular items that
 * together carry at least a third of the interactions (the item crossing the one-third mark
 * included), torso the following items up to and including the one crossing two thirds, tail
 * everything else — including every item never seen in training. Without training interactions
 * every item is tail.
 *
 * @param train - the training interactions
 * @returns a bucket code per item (0 head, 1 torso, 2 tail)
 * @example
 * ```ts
 * const bucket = popularityBuckets(train);
 * POPULARITY_BUCKETS[bucket[itemIndex]]; // 'head' | 'torso' | 'tail'
 * ```
 */
export function popularityBuckets(train: InteractionData): Uint8Array {
  const counts = itemCounts(train);
  const itemCount = counts.length;
  const order = Int32Array.from({ length: itemCount }, (_, item) => item);
  order.sort((a, b) => (counts[b] as number) - (counts[a] as number) || a - b);
  const total = train.items.length;
  const buckets = new Uint8Array(itemCount).fill(2);
  let before = 0;
  for (let at = 0; at < itemCount; at++) {
    const item = order[at] as number;
    const count = counts[item] as number;
    if (count === 0) break;
    buckets[item] = 3 * before < total ? 0 : 3 * before < 2 * total ? 1 : 2;
    before += count;
  }
  return buckets;
}

/** Recall of one popularity bucket. */
export interface PopularityBucketRecall {
  /** `head`, `torso` or `tail`. */
  readonly bucket: PopularityBucketName;
  /** Catalogue items in the bucket. */
  readonly items: number;
  /** Training interactions with the bucket's items. */
  readonly trainInteractions: number;
  /** Test pairs whose item is in the bucket. */
  readonly testPairs: number;
  /**
   * Per cutoff (`"recall@10"`, ...): the share of the bucket's test pairs whose item is in the
   * user's top K; null when the bucket has no test pairs.
   */
  readonly recall: { readonly [key: `recall@${number}`]: number | null };
  /**
   * Per cutoff: the same share when each user's list is ranked among the bucket's items only (what
   * {@link evaluateRetrieval} adds for embeddings). It measures which of the bucket's items a model
   * puts first, apart from how many of them it puts in a mixed list: a model can win the tail's
   * plain recall by crowding every list with tail items while ranking them worse (ALGORITHMS.md B.9).
   */
  readonly withinBucket?: { readonly [key: `recall@${number}`]: number | null };
}

/** Options of {@link recallByPopularityBucket}. */
export interface RecallByPopularityBucketOptions {
  /** The ranked lists, one row per query user. */
  topK: TopKResult;
  /** The user of each row (default: row r is user r). */
  queryUsers?: Int32Array;
  /** Cutoffs, each in [1, topK.k]. */
  ks: readonly number[];
  /** Training interactions: they define the buckets ({@link popularityBuckets}). */
  train: InteractionData;
  /** Held-out interactions. */
  test: InteractionData;
}

/**
 * Recall@K per item-popularity bucket (head / torso / tail of {@link popularityBuckets}): for each
 * bucket, the share of its test pairs (user, item) whose item is among the user's top K — the TFRS
 * per-pair recall restricted to the bucket. The logQ correction shows up in the tail (B.9).
 *
 * @param options - topK, queryUsers, ks, train, test
 * @returns one entry per bucket, head first
 * @throws RarefyError as {@link retrievalMetrics}; `RAREFY_DIMENSION_MISMATCH` when train and test
 *   use different dictionaries
 * @example
 * ```ts
 * const buckets = recallByPopularityBucket({ topK, queryUsers: users, ks: [100], train, test });
 * buckets[2].recall['recall@100']; // the tail
 * ```
 */
export function recallByPopularityBucket(options: RecallByPopularityBucketOptions): PopularityBucketRecall[] {
  const { topK, train, test } = options;
  validateInteractions(train, 'train');
  validateInteractions(test, 'test');
  requireSameDictionaries(train, 'train', test, 'test');
  const ks = checkCutoffs(options.ks, topK);
  const rowOf = rowsOfUsers(topK, options.queryUsers, test);
  const bucketOf = popularityBuckets(train);
  const counts = itemCounts(train);
  const k = topK.k;
  const maxK = ks[ks.length - 1] as number;
  const itemCount = test.itemIds.length;
  const lists = userItemLists(test, { distinct: false });
  const stamp = new Int32Array(itemCount);
  const rankOf = new Int32Array(itemCount);
  const hits = POPULARITY_BUCKETS.map(() => new Float64Array(ks.length));
  const pairs = new Float64Array(POPULARITY_BUCKETS.length);
  for (let user = 0; user < test.userIds.length; user++) {
    const start = lists.offsets[user] as number;
    const end = lists.offsets[user + 1] as number;
    if (end === start) continue;
    const base = (rowOf[user] as number) * k;
    for (let rank = maxK; rank >= 1; rank--) {
      // Walk backwards so that a repeated item keeps its best (first) rank.
      const item = topK.indices[base + rank - 1] as number;
      if (item >= 0) {
        stamp[item] = user + 1;
        rankOf[item] = rank;
      }
    }
    for (let at = start; at < end; at++) {
      const item = lists.values[at] as number;
      const bucket = bucketOf[item] as number;
      pairs[bucket] = (pairs[bucket] as number) + 1;
      if (stamp[item] !== user + 1) continue;
      const rank = rankOf[item] as number;
      const bucketHits = hits[bucket] as Float64Array;
      for (let c = 0; c < ks.length; c++) {
        if (rank <= (ks[c] as number)) bucketHits[c] = (bucketHits[c] as number) + 1;
      }
    }
  }
  return POPULARITY_BUCKETS.map((name, bucket) => {
    let items = 0;
    let trainInteractions = 0;
    for (let item = 0; item < itemCount; item++) {
      if (bucketOf[item] === bucket) {
        items++;
        trainInteractions += counts[item] as number;
      }
    }
    const testPairs = pairs[bucket] as number;
    const recall: { [key: `recall@${number}`]: number | null } = {};
    ks.forEach((cutoff, c) => {
      recall[`recall@${cutoff}`] =
        testPairs === 0 ? null : ((hits[bucket] as Float64Array)[c] as number) / testPairs;
    });
    return { bucket: name, items, trainInteractions, testPairs, recall };
  });
}

/**
 * Catalogue coverage: the share of the catalogue that appears in at least one query's top `k`.
 * Popularity rankings cover little; a model that reaches the tail covers more.
 *
 * @param topK - the ranked lists
 * @param itemCount - the catalogue size (e.g. `train.itemIds.length`)
 * @param k - the cutoff, in [1, topK.k] (default topK.k)
 * @returns distinct items in the lists / itemCount
 * @example
 * ```ts
 * catalogueCoverage(topK, train.itemIds.length, 10);
 * ```
 */
export function catalogueCoverage(topK: TopKResult, itemCount: number, k: number = topK.k): number {
  requireArgument(
    Number.isInteger(itemCount) && itemCount >= 1,
    'itemCount',
    `${itemCount} is not a positive integer`,
    'pass the catalogue size, e.g. train.itemIds.length',
  );
  requireArgument(
    Number.isInteger(k) && k >= 1 && k <= topK.k,
    'k',
    `${k} is not an integer in [1, ${topK.k}]`,
    `ask for a cutoff no larger than the lists (${topK.k})`,
  );
  const seen = new Uint8Array(itemCount);
  let distinct = 0;
  for (let base = 0; base < topK.indices.length; base += topK.k) {
    for (let rank = 0; rank < k; rank++) {
      const item = topK.indices[base + rank] as number;
      if (item < 0) continue;
      requireArgument(
        item < itemCount,
        'topK',
        `item index ${item} is outside the catalogue of ${itemCount}`,
        'pass the catalogue size the lists were computed over',
      );
      if (seen[item] === 0) {
        seen[item] = 1;
        distinct++;
      }
    }
  }
  return distinct / itemCount;
}
