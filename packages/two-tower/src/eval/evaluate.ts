import { RarefyInputError, requireArgument } from '@rarefy/sampling-core';
import type { InteractionData } from '../interactions.js';
import {
  catalogueCoverage,
  type EvaluationProtocol,
  type PopularityBucketRecall,
  popularityBuckets,
  type RetrievalMetrics,
  recallByPopularityBucket,
  retrievalMetrics,
} from './metrics.js';
import { type TopKResult, topKByDotProduct } from './topk.js';
import { userItemLists, usersWithInteractions } from './user-items.js';
import { requireSameDictionaries, validateInteractions } from './validate.js';

/** The cutoffs each protocol reports by default (ALGORITHMS.md B.9). */
export const DEFAULT_CUTOFFS: Readonly<Record<EvaluationProtocol, readonly number[]>> = {
  tfrs: [1, 5, 10, 50, 100],
  'per-user': [10, 20, 50, 100],
};

/** Options of {@link evaluateRankings}. */
export interface EvaluateRankingsOptions {
  /** Ranked lists (a model's or a baseline's), one row per query user, k >= the largest cutoff. */
  topK: TopKResult;
  /** The user of each row (default: row r is user r). */
  queryUsers?: Int32Array;
  /** Training interactions (they define the popularity buckets). */
  train: InteractionData;
  /** Held-out interactions. */
  test: InteractionData;
  /** `tfrs` or `per-user` (decides the recall definition and the default cutoffs). */
  protocol: EvaluationProtocol;
  /** Cutoffs (default {@link DEFAULT_CUTOFFS} of the protocol). */
  ks?: readonly number[];
  /** Also report recall by popularity bucket (default true). */
  buckets?: boolean;
}

/** What {@link evaluateRankings} and {@link evaluateRetrieval} report. */
export interface RetrievalEvaluation {
  /** The protocol used. */
  readonly protocol: EvaluationProtocol;
  /** The cutoffs, ascending. */
  readonly ks: readonly number[];
  /** Users evaluated (those with test interactions). */
  readonly users: number;
  /** Test (user, item) pairs. */
  readonly testPairs: number;
  /** `recall@K`, `ndcg@K`, `hit-rate@K`, `mrr@K` ({@link retrievalMetrics}). */
  readonly metrics: RetrievalMetrics;
  /** Recall@K per head / torso / tail bucket ({@link recallByPopularityBucket}); empty when off. */
  readonly buckets: readonly PopularityBucketRecall[];
  /** `coverage@K`: share of the catalogue in some evaluated user's top K ({@link catalogueCoverage}). */
  readonly coverage: { readonly [key: `coverage@${number}`]: number };
}

/**
 * Evaluates ranked lists: metrics, recall by popularity bucket and catalogue coverage at every
 * cutoff. Use it for baselines ({@link popularityTopK}, {@link itemKnnTopK}) and for any lists
 * computed elsewhere; {@link evaluateRetrieval} calls it for embeddings.
 *
 * @param options - topK, queryUsers, train, test, protocol, ks, buckets
 * @returns the evaluation
 * @throws RarefyError as {@link retrievalMetrics}
 * @example
 * ```ts
 * const users = usersWithInteractions(test);
 * const report = evaluateRankings({
 *   topK: itemKnnTopK({ train, k: 100, queryUsers: users, maskTrainItems: true }),
 *   queryUsers: users, train, test, protocol: 'tfrs',
 * });
 * ```
 */
export function evaluateRankings(options: EvaluateRankingsOptions): RetrievalEvaluation {
  const { topK, queryUsers, train, test, protocol } = options;
  const requested = options.ks ?? DEFAULT_CUTOFFS[protocol] ?? [];
  const ks = [...new Set(requested)].sort((a, b) => a - b);
  validateInteractions(train, 'train');
  requireSameDictionaries(train, 'train', test, 'test');
  const metrics = retrievalMetrics({ topK, ks, test, protocol, ...(queryUsers ? { queryUsers } : {}) });
  const buckets =
    options.buckets === false
      ? []
      : recallByPopularityBucket({ topK, ks, train, test, ...(queryUsers ? { queryUsers } : {}) });
  const itemCount = test.itemIds.length;
  const coverage: { [key: `coverage@${number}`]: number } = {};
  for (const cutoff of ks) coverage[`coverage@${cutoff}`] = catalogueCoverage(topK, itemCount, cutoff);
  return {
    protocol,
    ks,
    users: usersWithInteractions(test).length,
    testPairs: test.users.length,
    metrics,
    buckets,
    coverage,
  };
}

/** Options of {@link evaluateRetrieval}. */
export interface EvaluateRetrievalOptions {
  /** One embedding per user of the dictionary, `userIds.length x dim`, row-major. */
  userEmbeddings: Float32Array;
  /** One embedding per catalogue item, `itemIds.length x dim`, row-major. */
  itemEmbeddings: Float32Array;
  /** Embedding length. */
  dim: number;
  /** Training interactions (masked when `maskTrainItems`; they define the popularity buckets). */
  train: InteractionData;
  /** Held-out interactions; only their users are ranked. */
  test: InteractionData;
  /** `tfrs` or `per-user`. */
  protocol: EvaluationProtocol;
  /** Cutoffs (default {@link DEFAULT_CUTOFFS} of the protocol). */
  ks?: readonly number[];
  /**
   * Leave each user's training items out of their lists (default: true for `per-user`, false for
   * `tfrs`, as the protocols do; B.9 asks to report both).
   */
  maskTrainItems?: boolean;
  /**
   * Also report recall by popularity bucket (default true), both in the full lists and, as
   * `withinBucket`, with each bucket's items ranked on their own (one more search per bucket).
   */
  buckets?: boolean;
  /** Items per scoring block of {@link topKByDotProduct}. */
  blockSize?: number;
}

/** {@link RetrievalEvaluation} plus the lists and how they were made. */
export interface EmbeddingEvaluation extends RetrievalEvaluation {
  /** Whether training items were masked. */
  readonly maskTrainItems: boolean;
  /** The ranked lists, one row per user of `queryUsers`, k = the largest cutoff. */
  readonly topK: TopKResult;
  /** The users ranked (those in test), ascending. */
  readonly queryUsers: Int32Array;
  /** Seconds spent in the top-K search. */
  readonly topKSeconds: number;
}

/**
 * Full-catalogue evaluation of two-tower embeddings (ALGORITHMS.md B.9): ranks every item for each
 * user that has test interactions by the dot product <u, v> (exact, {@link topKByDotProduct}, with
 * k = the largest cutoff), optionally masking the user's training items, then reports
 * {@link evaluateRankings}: recall / NDCG / hit rate / MRR at each cutoff, recall per popularity
 * bucket and catalogue coverage.
 *
 * @param options - embeddings, dim, train, test, protocol, ks, maskTrainItems, buckets
 * @returns the evaluation with the lists
 * @throws RarefyError `RAREFY_DIMENSION_MISMATCH` when an embedding table does not have one row per
 *   id, or train and test use different dictionaries; others as {@link retrievalMetrics}
 * @example
 * ```ts
 * const { train, test } = tfrsSplit(ratings);
 * // ... train towers, embed every user and item ...
 * const report = evaluateRetrieval({ userEmbeddings, itemEmbeddings, dim: 64, train, test, protocol: 'tfrs' });
 * report.metrics['recall@100'];
 * ```
 */
export function evaluateRetrieval(options: EvaluateRetrievalOptions): EmbeddingEvaluation {
  const { userEmbeddings, itemEmbeddings, dim, train, test, protocol } = options;
  requireArgument(
    protocol === 'tfrs' || protocol === 'per-user',
    'protocol',
    `'${String(protocol)}' is not a protocol`,
    "pass 'tfrs' or 'per-user'",
  );
  requireArgument(
    Number.isInteger(dim) && dim >= 1,
    'dim',
    `${dim} is not a positive integer`,
    'pass the embedding length',
  );
  validateInteractions(train, 'train');
  validateInteractions(test, 'test');
  requireSameDictionaries(train, 'train', test, 'test');
  for (const [name, table, ids] of [
    ['userEmbeddings', userEmbeddings, train.userIds],
    ['itemEmbeddings', itemEmbeddings, train.itemIds],
  ] as const) {
    if (table.length !== ids.length * dim) {
      throw new RarefyInputError(
        'RAREFY_DIMENSION_MISMATCH',
        `${name}: length ${table.length} is not ${ids.length} ids x dim ${dim}`,
        `embed every id of the dictionary (${ids.length} rows of ${dim}), in dictionary order`,
        { input: name, length: table.length, expected: ids.length * dim },
      );
    }
  }
  const ks = [...new Set(options.ks ?? DEFAULT_CUTOFFS[protocol])].sort((a, b) => a - b);
  requireArgument(ks.length > 0, 'ks', 'is empty', 'pass at least one cutoff, e.g. [10, 100]');
  const maskTrainItems = options.maskTrainItems ?? protocol === 'per-user';
  const queryUsers = usersWithInteractions(test);
  const queries = new Float32Array(queryUsers.length * dim);
  for (let row = 0; row < queryUsers.length; row++) {
    const user = queryUsers[row] as number;
    queries.set(userEmbeddings.subarray(user * dim, user * dim + dim), row * dim);
  }
  const seen = maskTrainItems ? userItemLists(train) : undefined;
  const k = ks[ks.length - 1] as number;
  /** Top-K of every query user over `candidates` (global item indices, ascending), in global indices. */
  const search = (candidates: Int32Array | undefined): TopKResult => {
    let items = itemEmbeddings;
    let local: Int32Array | undefined;
    if (candidates !== undefined) {
      items = new Float32Array(candidates.length * dim);
      local = new Int32Array(train.itemIds.length).fill(-1);
      candidates.forEach((item, at) => {
        items.set(itemEmbeddings.subarray(item * dim, item * dim + dim), at * dim);
        (local as Int32Array)[item] = at;
      });
    }
    const result = topKByDotProduct({
      queries,
      items,
      dim,
      k,
      ...(options.blockSize !== undefined ? { blockSize: options.blockSize } : {}),
      ...(seen
        ? {
            exclude: (row: number) => {
              const user = queryUsers[row] as number;
              const mine = seen.values.subarray(
                seen.offsets[user] as number,
                seen.offsets[user + 1] as number,
              );
              if (local === undefined) return mine;
              const positions: number[] = [];
              for (const item of mine)
                if ((local[item] as number) >= 0) positions.push(local[item] as number);
              return Int32Array.from(positions);
            },
          }
        : {}),
    });
    if (candidates !== undefined) {
      const indices = result.indices;
      for (let at = 0; at < indices.length; at++) {
        const position = indices[at] as number;
        if (position >= 0) indices[at] = candidates[position] as number;
      }
    }
    return result;
  };
  const started = performance.now();
  const topK = search(undefined);
  const topKSeconds = (performance.now() - started) / 1000;
  const report = evaluateRankings({
    topK,
    queryUsers,
    train,
    test,
    protocol,
    ks,
    ...(options.buckets !== undefined ? { buckets: options.buckets } : {}),
  });
  if (report.buckets.length === 0) return { ...report, maskTrainItems, topK, queryUsers, topKSeconds };
  // Each bucket ranked on its own: the bucket's entry of the bucket recall of lists holding only its items.
  const bucketOf = popularityBuckets(train);
  const buckets = report.buckets.map((entry, bucket) => {
    const candidates: number[] = [];
    for (let item = 0; item < bucketOf.length; item++) if (bucketOf[item] === bucket) candidates.push(item);
    if (candidates.length === 0) return entry;
    const lists = search(Int32Array.from(candidates));
    const own = recallByPopularityBucket({ topK: lists, queryUsers, ks, train, test })[bucket];
    return own === undefined ? entry : { ...entry, withinBucket: own.recall };
  });
  return { ...report, buckets, maskTrainItems, topK, queryUsers, topKSeconds };
}
