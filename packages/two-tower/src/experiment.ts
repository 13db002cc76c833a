import { requireArgument } from '@rarefy/sampling-core';
import { itemKnnTopK, popularityTopK } from './eval/baselines.js';
import {
  DEFAULT_CUTOFFS,
  type EmbeddingEvaluation,
  evaluateRankings,
  evaluateRetrieval,
  type RetrievalEvaluation,
} from './eval/evaluate.js';
import type { EvaluationProtocol } from './eval/metrics.js';
import { type InteractionSplit, perUserSplit, tfrsSplit } from './eval/split.js';
import { usersWithInteractions } from './eval/user-items.js';
import type { InteractionData } from './interactions.js';
import type { FeatureTable } from './model/features.js';
import type { TwoTowerModel } from './model/two-tower-model.js';
import {
  type TrainTwoTowerOptions,
  type TrainTwoTowerResult,
  type TwoTowerProgress,
  trainTwoTower,
} from './train/train.js';

/** The training options an experiment passes through (everything but the data and the seed). */
export type ExperimentTraining = Omit<
  TrainTwoTowerOptions,
  'train' | 'userFeatures' | 'itemFeatures' | 'validation' | 'seed' | 'onProgress'
>;

/** Options of {@link runRetrievalExperiment}. */
export interface RetrievalExperimentOptions {
  /** Every positive interaction (the split is taken here). */
  readonly data: InteractionData;
  /** `tfrs` (seeded 80/20 of all pairs, unmasked top-K) or `per-user` (8:1:1 per user, masked). */
  readonly protocol: EvaluationProtocol;
  /** Seeds the split and training (default 42, the TFRS tutorial's shuffle seed). */
  readonly seed?: number;
  readonly userFeatures?: FeatureTable;
  readonly itemFeatures?: FeatureTable;
  /** The model, negatives, correction and schedule (see {@link trainTwoTower}). */
  readonly training?: ExperimentTraining;
  /** Cutoffs (default: the protocol's, plus 100). */
  readonly ks?: readonly number[];
  /**
   * Early stopping on recall@`metricK` of held-out pairs under the protocol's masking rule: the
   * per-user split's validation part, or for TFRS (which has none) a seeded 10% of the training
   * pairs that are then left out of training. Default: patience 2, metricK 100; `false` turns it
   * off (TFRS then trains on every training pair for the given epochs).
   */
  readonly earlyStopping?: false | { readonly patience?: number; readonly metricK?: number };
  /** Also evaluate the popularity and item-kNN baselines on the same split (default true). */
  readonly baselines?: boolean;
  /**
   * Trains the model; defaults to {@link trainTwoTower}. The offline hard-negative procedure (several
   * rounds) plugs in here.
   */
  readonly trainer?: (options: TrainTwoTowerOptions) => Promise<TrainTwoTowerResult>;
  /** Called after every training step. */
  readonly onProgress?: (progress: TwoTowerProgress) => void;
}

/** What {@link runRetrievalExperiment} returns. */
export interface RetrievalExperimentResult {
  /** The trained model (dispose it when done). */
  readonly model: TwoTowerModel;
  readonly split: InteractionSplit;
  /** The model on the test part, under the protocol's own masking rule. */
  readonly evaluation: EmbeddingEvaluation;
  /** TFRS only: the same top-K with each user's training items masked (B.9 asks for both). */
  readonly maskedEvaluation?: EmbeddingEvaluation;
  /** Baselines on the same split and masking rule. */
  readonly baselines: { readonly popularity?: RetrievalEvaluation; readonly itemKnn?: RetrievalEvaluation };
  readonly training: TrainTwoTowerResult;
  /** Wall-clock seconds: split, training, evaluation and baselines. */
  readonly seconds: number;
}

function baselineEvaluation(
  kind: 'popularity' | 'itemKnn',
  split: InteractionSplit,
  protocol: EvaluationProtocol,
  ks: readonly number[],
  maskTrainItems: boolean,
): RetrievalEvaluation {
  const queryUsers = usersWithInteractions(split.test);
  const k = Math.max(...ks);
  const options = { train: split.train, k, queryUsers, maskTrainItems };
  const topK = kind === 'popularity' ? popularityTopK(options) : itemKnnTopK(options);
  return evaluateRankings({ topK, queryUsers, train: split.train, test: split.test, protocol, ks });
}

/**
 * The whole retrieval experiment of B.9: split by the protocol, train a two-tower model (early
 * stopping on the validation part where the protocol has one), rank the full catalogue for every
 * test user, and score the baselines on the same split. `rarefy train-retrieval` and the MovieLens
 * benchmark both run this.
 *
 * @param options - data, protocol, seed, training options
 * @returns the model, the split, its evaluation and the baselines'
 * @example
 * ```ts
 * const result = await runRetrievalExperiment({ data, protocol: 'tfrs', training: { epochs: 3 } });
 * console.log(result.evaluation.metrics['recall@100'], result.baselines.popularity?.metrics['recall@100']);
 * result.model.dispose();
 * ```
 */
export async function runRetrievalExperiment(
  options: RetrievalExperimentOptions,
): Promise<RetrievalExperimentResult> {
  const started = performance.now();
  const { protocol, data } = options;
  requireArgument(
    protocol === 'tfrs' || protocol === 'per-user',
    'protocol',
    `'${String(protocol)}' is not a protocol`,
    "pass 'tfrs' or 'per-user'",
  );
  const seed = options.seed ?? 42;
  const ks = [...new Set([...(options.ks ?? DEFAULT_CUTOFFS[protocol]), 100])].sort((a, b) => a - b);
  const split = protocol === 'tfrs' ? tfrsSplit(data, { seed }) : perUserSplit(data, { seed });
  const maskTrainItems = protocol === 'per-user';

  // Early stopping watches held-out pairs under the protocol's own rule: the per-user split's
  // validation part, or (TFRS, which has none) a seeded 10% of the training pairs kept out of
  // training for that purpose only.
  const stopping = options.earlyStopping === false ? undefined : (options.earlyStopping ?? {});
  let fitPart = split.train;
  let validationPart = split.validation;
  if (stopping !== undefined && protocol === 'tfrs') {
    const inner = tfrsSplit(split.train, { seed: seed + 1, trainFraction: 0.9 });
    fitPart = inner.train;
    validationPart = inner.test;
  }
  const metricK = stopping?.metricK ?? 100;
  const validation =
    stopping !== undefined && validationPart !== undefined && validationPart.users.length > 0
      ? {
          patience: stopping.patience ?? 2,
          evaluate: (model: TwoTowerModel): number =>
            evaluateRetrieval({
              userEmbeddings: model.embedAllUsers(),
              itemEmbeddings: model.embedAllItems(),
              dim: model.dimension,
              train: fitPart,
              test: validationPart,
              protocol,
              ks: [metricK],
              maskTrainItems,
              buckets: false,
            }).metrics[`recall@${metricK}`] ?? 0,
        }
      : undefined;

  const trainer = options.trainer ?? trainTwoTower;
  const training = await trainer({
    ...options.training,
    train: fitPart,
    ...(options.userFeatures ? { userFeatures: options.userFeatures } : {}),
    ...(options.itemFeatures ? { itemFeatures: options.itemFeatures } : {}),
    ...(validation ? { validation } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    seed,
  });
  const { model } = training;
  const userEmbeddings = model.embedAllUsers();
  const itemEmbeddings = model.embedAllItems();
  const evaluate = (mask: boolean): EmbeddingEvaluation =>
    evaluateRetrieval({
      userEmbeddings,
      itemEmbeddings,
      dim: model.dimension,
      train: split.train,
      test: split.test,
      protocol,
      ks,
      maskTrainItems: mask,
    });
  const evaluation = evaluate(maskTrainItems);
  const maskedEvaluation = protocol === 'tfrs' ? evaluate(true) : undefined;
  const baselines =
    options.baselines === false
      ? {}
      : {
          popularity: baselineEvaluation('popularity', split, protocol, ks, maskTrainItems),
          itemKnn: baselineEvaluation('itemKnn', split, protocol, ks, maskTrainItems),
        };
  return {
    model,
    split,
    evaluation,
    ...(maskedEvaluation ? { maskedEvaluation } : {}),
    baselines,
    training,
    seconds: (performance.now() - started) / 1000,
  };
}
