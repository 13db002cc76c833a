import { dirname, resolve } from 'node:path';
import { selectBackend } from '@rarefy/model-kit/node';
import { RarefyInputError } from '@rarefy/sampling-core';
import {
  type EmbeddingEvaluation,
  type ExperimentTraining,
  evaluateRetrieval,
  type LogQMode,
  modelExport,
  perUserSplit,
  type RetrievalEvaluation,
  type RetrievalExperimentResult,
  runRetrievalExperiment,
  tfrsSplit,
} from '@rarefy/two-tower';
import {
  HnswIndex,
  hnswRecallAgainstExact,
  readRetrievalExport,
  writeRetrievalExport,
} from '@rarefy/two-tower/node';
import { type Command, InvalidArgumentError } from 'commander';
import { embeddingParquetFiles } from '../embeddings-parquet.js';
import { formatDuration, formatTable } from '../format.js';
import { printJson, printLine } from '../io.js';
import { finiteNumber, integer, positiveInteger } from '../options.js';
import type { CommandContext } from '../program.js';
import { createProgress } from '../progress.js';
import { GENRES_COLUMN, labelUsageProblem, readRetrievalData } from '../retrieval-data.js';

/** The genres of a MovieLens catalogue: a multi-hot item feature (mean of the genres' rows). */
const GENRES_FEATURE = { column: GENRES_COLUMN, buckets: 64, dimension: 32, hashSeed: 0 } as const;

/** The evaluation protocols of B.9. */
const PROTOCOLS = ['tfrs', 'per-user'] as const;
type Protocol = (typeof PROTOCOLS)[number];
const LOGQ_MODES: readonly LogQMode[] = ['exact', 'streaming', 'none'];

/** Options shared by train-retrieval and eval-retrieval: the data and the split. */
interface DataCliOptions {
  interactions: string;
  items?: string;
  userColumn: string;
  itemColumn: string;
  ratingColumn?: string;
  minRating?: number;
  /** An event or label column, checked as ALGORITHMS.md B.8 says (see `readRetrievalData`). */
  labelColumn?: string;
  /** `--positive-labels click,purchase`: the values of `labelColumn` that mean an engagement. */
  positiveLabels?: string[];
  /** `--impression-labels shown,0`: the values that mean "shown, not clicked" (replace the defaults). */
  impressionLabels?: string[];
  /** The log is ranking data: its impression rows are accepted and left out of the positives. */
  forRanking?: boolean;
  protocol: Protocol;
  seed: number;
  json?: boolean;
}

/** The options of `rarefy train-retrieval`. */
export interface TrainRetrievalOptions extends DataCliOptions {
  out: string;
  epochs: number;
  batchSize: number;
  dimension: number;
  hidden: number;
  temperature: number;
  learningRate: number;
  embeddingLearningRate: number;
  logq: LogQMode;
  uniformNegatives: number;
  popularityNegatives: number;
  downsampling?: number;
}

/** The evaluation part of the JSON results: metrics keyed like `recall@10`. */
interface EvaluationJson {
  metrics: Record<string, number>;
  byPopularity: Array<{
    bucket: string;
    items: number;
    testPairs: number;
    recall: Record<string, number | null>;
    /** The same recall with the bucket's items ranked on their own (models only, not baselines). */
    withinBucket?: Record<string, number | null>;
  }>;
  coverage: Record<string, number>;
  users: number;
  testPairs: number;
  maskTrainItems?: boolean;
}

/** A baseline's evaluation: its metrics at the top level, and the same layout as the model's. */
export type BaselineJson = EvaluationJson & Record<string, unknown>;

function baselineJson(evaluation: RetrievalEvaluation): BaselineJson {
  const json = evaluationJson(evaluation);
  return { ...json.metrics, ...json };
}

/** What `rarefy train-retrieval --json` prints. */
export interface TrainRetrievalResult extends EvaluationJson {
  protocol: Protocol;
  /**
   * The baselines on the same split, each with the model's metric keys at its top level
   * (`baselines.popularity["recall@100"]`) as well as the model's layout (`metrics`, `byPopularity`, ...).
   */
  baselines: { popularity?: BaselineJson; itemKnn?: BaselineJson };
  /** TFRS protocol: the same top-K with each user's training items masked. */
  masked?: EvaluationJson;
  training: {
    epochs: number;
    steps: number;
    bestEpoch: number;
    stoppedEarly: boolean;
    logQ: LogQMode;
    backend: string;
    history: Array<{ epoch: number; loss: number; validation?: number }>;
    seconds: number;
  };
  examplesPerSecond: number;
  seconds: number;
  data: { interactions: number; users: number; items: number; train: number; test: number };
  out: string;
}

function evaluationJson(evaluation: RetrievalEvaluation | EmbeddingEvaluation): EvaluationJson {
  return {
    metrics: { ...evaluation.metrics },
    byPopularity: evaluation.buckets.map((bucket) => ({
      bucket: bucket.bucket,
      items: bucket.items,
      testPairs: bucket.testPairs,
      recall: { ...bucket.recall },
      ...(bucket.withinBucket ? { withinBucket: { ...bucket.withinBucket } } : {}),
    })),
    coverage: { ...evaluation.coverage },
    users: evaluation.users,
    testPairs: evaluation.testPairs,
    ...('maskTrainItems' in evaluation ? { maskTrainItems: evaluation.maskTrainItems } : {}),
  };
}

/** Says on stderr (off `--json`) how many impression rows `--for-ranking` left out of the positives. */
function noteImpressions(options: DataCliOptions, context: CommandContext, leftOut: number): void {
  if (leftOut === 0 || options.json) return;
  context.io.stderr.write(
    `--for-ranking: left out ${leftOut.toLocaleString('en-US')} impression rows of --label-column ${options.labelColumn ?? ''} (shown, not clicked: ranking data, not retrieval positives)\n`,
  );
}

function requireProtocol(protocol: string): Protocol {
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `--protocol: '${protocol}' is not a protocol`,
      `pass one of ${PROTOCOLS.join(', ')}`,
      { input: '--protocol' },
    );
  }
  return protocol as Protocol;
}

function requireLogQ(mode: string): LogQMode {
  if (!(LOGQ_MODES as readonly string[]).includes(mode)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `--logq: '${mode}' is not a log Q mode`,
      `pass one of ${LOGQ_MODES.join(', ')}`,
      { input: '--logq' },
    );
  }
  return mode as LogQMode;
}

/**
 * The training options of the CLI's flags. The defaults are the best configuration measured on
 * ml-latest-small (see packages/two-tower/README.md).
 *
 * @param options - the parsed flags
 * @param hasItemFeatures - whether a catalogue with genres was given
 * @returns the options for {@link runRetrievalExperiment}
 */
export function retrievalTraining(
  options: TrainRetrievalOptions,
  hasItemFeatures: boolean,
): ExperimentTraining {
  const tower = (features: boolean) => ({
    id: { dimension: options.dimension },
    ...(features ? { multiHot: [GENRES_FEATURE] } : {}),
    hidden: options.hidden > 0 ? [options.hidden] : [],
    outputDimension: options.dimension,
  });
  return {
    userTower: tower(false),
    itemTower: tower(hasItemFeatures),
    batchSize: options.batchSize,
    epochs: options.epochs,
    temperature: options.temperature,
    learningRate: options.learningRate,
    embeddingLearningRate: options.embeddingLearningRate,
    logQ: requireLogQ(options.logq),
    negatives: {
      ...(options.uniformNegatives > 0 ? { uniform: options.uniformNegatives } : {}),
      ...(options.popularityNegatives > 0 ? { popularity: { count: options.popularityNegatives } } : {}),
    },
    ...(options.downsampling === undefined ? {} : { downsampling: { a: options.downsampling } }),
  };
}

/**
 * `rarefy train-retrieval`: reads the interactions, splits them by the protocol, trains a two-tower
 * model with the corrected in-batch softmax, evaluates it and the baselines on the held-out part,
 * and writes the export that `rarefy serve` loads.
 *
 * @param options - the parsed flags
 * @param context - the command's Io
 * @returns the JSON-ready result
 */
export async function trainRetrieval(
  options: TrainRetrievalOptions,
  context: CommandContext,
): Promise<TrainRetrievalResult> {
  const { io } = context;
  const started = io.now();
  const protocol = requireProtocol(options.protocol);
  const { data, itemFeatures, rowsRead, impressionsLeftOut } = await readRetrievalData(options);
  noteImpressions(options, context, impressionsLeftOut);
  const training = retrievalTraining(options, itemFeatures !== undefined);
  await selectBackend();
  const progress = createProgress({
    label: 'training',
    json: options.json,
    stream: io.stderr,
    now: io.now,
  });
  let result: RetrievalExperimentResult;
  try {
    result = await runRetrievalExperiment({
      data,
      protocol,
      seed: options.seed,
      ...(itemFeatures ? { itemFeatures } : {}),
      training,
      onProgress: (step) =>
        progress.update(
          step.step,
          `steps | epoch ${step.epoch + 1} | loss ${step.loss.toFixed(3)} | ${Math.round(step.examplesPerSecond).toLocaleString('en-US')} examples/s`,
        ),
    });
  } finally {
    progress.stop();
  }
  const { model, split, evaluation, training: trained } = result;
  try {
    const out = resolve(options.out);
    const history = trained.history;
    const exported = modelExport(model, {
      schema: { features: itemFeatures ? [{ name: GENRES_COLUMN, type: 'string' }] : [], label: null },
      training: {
        design: 'in-batch',
        estimator: history.logQ === 'none' ? 'uncorrected' : `logQ-${history.logQ}`,
        sizes: {
          interactions: data.users.length,
          train: split.train.users.length,
          test: split.test.users.length,
        },
        seed: options.seed,
        protocol,
        epochs: history.epochs,
        metrics: { ...evaluation.metrics },
      },
    });
    const parquet = await embeddingParquetFiles(
      dirname(out),
      exported.items,
      exported.users,
      exported.dimension,
    );
    await writeRetrievalExport(out, { ...exported, extraFiles: parquet });
    const popularity = result.baselines.popularity;
    const itemKnn = result.baselines.itemKnn;
    return {
      protocol,
      ...evaluationJson(evaluation),
      baselines: {
        ...(popularity ? { popularity: baselineJson(popularity) } : {}),
        ...(itemKnn ? { itemKnn: baselineJson(itemKnn) } : {}),
      },
      ...(result.maskedEvaluation ? { masked: evaluationJson(result.maskedEvaluation) } : {}),
      training: {
        epochs: history.epochs,
        steps: history.steps,
        bestEpoch: history.bestEpoch,
        stoppedEarly: history.stoppedEarly,
        logQ: history.logQ,
        backend: history.backend,
        history: history.losses.map((loss, epoch) => ({
          epoch,
          loss,
          ...(history.validation[epoch] === undefined ? {} : { validation: history.validation[epoch] }),
        })),
        seconds: trained.seconds,
      },
      examplesPerSecond: trained.examplesPerSecond,
      seconds: (io.now() - started) / 1000,
      data: {
        interactions: rowsRead,
        users: data.userIds.length,
        items: data.itemIds.length,
        train: split.train.users.length,
        test: split.test.users.length,
      },
      out,
    };
  } finally {
    model.dispose();
  }
}

/** The options of `rarefy eval-retrieval`. */
export interface EvalRetrievalOptions extends DataCliOptions {
  model: string;
  mask?: boolean;
}

/** What `rarefy eval-retrieval --json` prints. */
export interface EvalRetrievalResult extends EvaluationJson {
  protocol: Protocol;
  model: string;
  seconds: number;
}

/**
 * `rarefy eval-retrieval`: evaluates an export's embeddings on the held-out part of the same split
 * that `train-retrieval` took (same data, protocol and seed).
 *
 * @param options - the parsed flags
 * @param context - the command's Io
 * @returns the JSON-ready result
 */
export async function evalRetrieval(
  options: EvalRetrievalOptions,
  context: CommandContext,
): Promise<EvalRetrievalResult> {
  const started = context.io.now();
  const protocol = requireProtocol(options.protocol);
  const exported = await readRetrievalExport(options.model);
  const { data, impressionsLeftOut } = await readRetrievalData(options);
  noteImpressions(options, context, impressionsLeftOut);
  const users = exported.users;
  if (users === undefined) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `${options.model}: the export has no user embeddings`,
      'evaluate an export written by `rarefy train-retrieval`',
      { input: '--model' },
    );
  }
  const { dimension } = exported;
  const align = (
    ids: readonly string[],
    set: { ids: readonly string[]; embeddings: Float32Array },
    side: string,
  ) => {
    const rowOf = new Map(set.ids.map((id, row) => [id, row]));
    const out = new Float32Array(ids.length * dimension);
    let missing = 0;
    ids.forEach((id, index) => {
      const row = rowOf.get(id);
      if (row === undefined) missing++;
      else out.set(set.embeddings.subarray(row * dimension, (row + 1) * dimension), index * dimension);
    });
    if (missing === ids.length) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${options.model}: none of the ${ids.length} ${side} of ${options.interactions} is in the export`,
        'evaluate on the interactions the model was trained from (same --interactions and columns)',
        { input: '--model' },
      );
    }
    return out;
  };
  const split =
    protocol === 'tfrs'
      ? tfrsSplit(data, { seed: options.seed })
      : perUserSplit(data, { seed: options.seed });
  const evaluation = evaluateRetrieval({
    userEmbeddings: align(data.userIds, users, 'users'),
    itemEmbeddings: align(data.itemIds, exported.items, 'items'),
    dim: dimension,
    train: split.train,
    test: split.test,
    protocol,
    ...(options.mask === undefined ? {} : { maskTrainItems: options.mask }),
  });
  return {
    protocol,
    model: resolve(options.model),
    ...evaluationJson(evaluation),
    seconds: (context.io.now() - started) / 1000,
  };
}

/** The options of `rarefy index`. */
export interface IndexOptions {
  model: string;
  out: string;
  connectivity: number;
  expansionSearch: number;
  recallQueries: number;
  json?: boolean;
}

/** What `rarefy index --json` prints. */
export interface IndexResult {
  items: number;
  dimension: number;
  out: string;
  buildSeconds: number;
  recallAt10: number;
  queriesPerSecond: { hnsw: number; exact: number };
  seconds: number;
}

/**
 * `rarefy index`: builds an HNSW index over an export's item embeddings, saves it atomically, and
 * reports its recall@10 against exact search on a sample of the item vectors used as queries.
 *
 * @param options - the parsed flags
 * @param context - the command's Io
 * @returns the JSON-ready result
 */
export async function buildIndex(options: IndexOptions, context: CommandContext): Promise<IndexResult> {
  const started = context.io.now();
  const exported = await readRetrievalExport(options.model);
  const { items, dimension } = exported;
  const built = context.io.now();
  const index = new HnswIndex({
    dim: dimension,
    connectivity: options.connectivity,
    expansionSearch: options.expansionSearch,
  }).build(items.embeddings, items.ids);
  const buildSeconds = (context.io.now() - built) / 1000;
  const out = resolve(options.out);
  index.save(out);
  const report = hnswRecallAgainstExact({
    index,
    items: items.embeddings,
    queries: items.embeddings,
    sampleSize: options.recallQueries,
    k: 10,
    seed: 1,
  });
  return {
    items: items.ids.length,
    dimension,
    out,
    buildSeconds,
    recallAt10: report.recall,
    queriesPerSecond: { hnsw: report.hnswQueriesPerSecond, exact: report.exactQueriesPerSecond },
    seconds: (context.io.now() - started) / 1000,
  };
}

/** Parses a comma-separated list of label values (`click,purchase`); an empty list is a usage error. */
function labelList(option: string): (text: string) => string[] {
  return (text) => {
    const values = text
      .split(',')
      .map((value) => value.trim())
      .filter((value) => value.length > 0);
    if (values.length === 0) {
      throw new InvalidArgumentError(`${option} must list one or more values, such as click,purchase.`);
    }
    return values;
  };
}

function addDataOptions(command: Command): Command {
  return command
    .requiredOption('--interactions <file>', 'the interaction log (CSV, TSV or JSON Lines), e.g. ratings.csv')
    .option(
      '--items <file>',
      "an item catalogue in MovieLens' movies.csv form: genres become an item feature",
    )
    .option('--user-column <column>', 'the user id column', 'userId')
    .option('--item-column <column>', 'the item id column', 'movieId')
    .option('--rating-column <column>', 'an explicit rating column (with --min-rating)')
    .option(
      '--min-rating <x>',
      'keep ratings >= x as positives (default: every rating)',
      finiteNumber('--min-rating'),
    )
    .option(
      '--label-column <column>',
      'an event or label column (click, purchase, impression, 0/1): its engagements are the positives; a value meaning shown but not clicked (0, -1, impression, shown, view, skip, ...) is refused, because as retrieval negatives impressions wreck recall (ALGORITHMS.md B.8), unless --for-ranking',
    )
    .option(
      '--positive-labels <values>',
      'comma-separated values of --label-column that mean an engagement, e.g. click,purchase (they win over the impression list; a value on neither list is then refused)',
      labelList('--positive-labels'),
    )
    .option(
      '--impression-labels <values>',
      'comma-separated values of --label-column that mean shown but not clicked, replacing the default list (0, -1, false, impression, shown, view, skip, ... and numbers <= 0)',
      labelList('--impression-labels'),
    )
    .option(
      '--for-ranking',
      'the log is ranking data (impressions with and without a click): accept its impression rows instead of refusing them; retrieval leaves them out and trains on the engaged rows only',
    )
    .option('--protocol <protocol>', `the split and evaluation: ${PROTOCOLS.join(' | ')}`, 'tfrs')
    .option('--seed <s>', 'seeds the split and the training', integer('--seed'), 42)
    .option('--json', 'print one JSON object and nothing else on stdout');
}

/** A usage error (exit status 2) for label flags given without `--label-column`. */
function refuseLabelMisuse(options: DataCliOptions, self: Command): void {
  const problem = labelUsageProblem(options);
  if (problem !== null) self.error(problem, { exitCode: 2, code: 'rarefy.usage' });
}

function metricsTable(rows: Array<[string, Record<string, number>]>, keys: readonly string[]): string {
  return formatTable(
    rows.map(([model, metrics]) => ({
      model,
      ...Object.fromEntries(keys.map((key) => [key, metrics[key]])),
    })),
    { columns: ['model', ...keys], digits: 3 },
  );
}

/**
 * Adds `rarefy train-retrieval`, `rarefy eval-retrieval` and `rarefy index` to the program.
 *
 * @param program - the `rarefy` program
 * @param context - the Io the commands print to
 */
export function registerRetrieval(program: Command, context: CommandContext): void {
  addDataOptions(
    program
      .command('train-retrieval')
      .description(
        'Train a two-tower retrieval model with the logQ-corrected in-batch softmax, evaluate it against the popularity and item-kNN baselines on held-out data, and write an export for `rarefy serve`.',
      ),
  )
    .requiredOption('--out <dir>', 'the export folder (written atomically)')
    .option('--epochs <n>', 'passes over the training pairs', positiveInteger('--epochs'), 20)
    .option(
      '--batch-size <n>',
      'B: pairs per step (the in-batch negatives)',
      positiveInteger('--batch-size'),
      1024,
    )
    .option('--dimension <n>', 'embedding width of both towers', positiveInteger('--dimension'), 64)
    .option('--hidden <n>', 'width of the hidden layer of each tower (0: none)', integer('--hidden'), 128)
    .option('--temperature <tau>', 'softmax temperature', finiteNumber('--temperature'), 0.05)
    .option('--learning-rate <x>', "Adam's step for the dense layers", finiteNumber('--learning-rate'), 0.003)
    .option(
      '--embedding-learning-rate <x>',
      "row-wise Adagrad's step for the embedding tables",
      finiteNumber('--embedding-learning-rate'),
      0.05,
    )
    .option('--logq <mode>', `the logQ correction: ${LOGQ_MODES.join(' | ')}`, 'exact')
    .option(
      '--uniform-negatives <n>',
      "B': uniform catalogue negatives per batch",
      integer('--uniform-negatives'),
      1024,
    )
    .option(
      '--popularity-negatives <n>',
      'K: negatives drawn from (f + 1)^0.75',
      integer('--popularity-negatives'),
      0,
    )
    .option(
      '--downsampling <a>',
      'positive downsampling of popular items (B.1), e.g. 1e-3',
      finiteNumber('--downsampling'),
    )
    .action(async (options: TrainRetrievalOptions, self: Command) => {
      refuseLabelMisuse(options, self);
      const result = await trainRetrieval(options, context);
      if (options.json) {
        printJson(context.io, result);
        return;
      }
      const keys = Object.keys(result.metrics).filter((key) => /^(recall|ndcg)@(10|50|100)$/.test(key));
      const rows: Array<[string, Record<string, number>]> = [['two-tower', result.metrics]];
      if (result.baselines.popularity) rows.push(['popularity', result.baselines.popularity.metrics]);
      if (result.baselines.itemKnn) rows.push(['item-kNN', result.baselines.itemKnn.metrics]);
      printLine(
        context.io,
        `${result.protocol} protocol: ${result.data.train.toLocaleString('en-US')} training pairs, ${result.data.test.toLocaleString('en-US')} test pairs, ${result.data.items.toLocaleString('en-US')} items`,
      );
      printLine(context.io, metricsTable(rows, keys));
      printLine(
        context.io,
        `trained ${result.training.epochs} epochs on ${result.training.backend} (${Math.round(result.examplesPerSecond).toLocaleString('en-US')} examples/s) in ${formatDuration(result.training.seconds)}; export in ${result.out}`,
      );
    });

  addDataOptions(
    program
      .command('eval-retrieval')
      .description(
        'Evaluate a retrieval export on the held-out part of the same split (same data, protocol, seed).',
      ),
  )
    .requiredOption('--model <dir>', 'the export folder from `rarefy train-retrieval --out`')
    .option('--mask', "mask each user's training items (default: per-user yes, tfrs no)")
    .option('--no-mask', "do not mask each user's training items")
    .action(async (options: EvalRetrievalOptions, self: Command) => {
      refuseLabelMisuse(options, self);
      const result = await evalRetrieval(options, context);
      if (options.json) {
        printJson(context.io, result);
        return;
      }
      const keys = Object.keys(result.metrics);
      printLine(context.io, metricsTable([[result.model, result.metrics]], keys));
    });

  program
    .command('index')
    .description(
      "Build an HNSW index over an export's item embeddings and report its recall@10 against exact search.",
    )
    .requiredOption('--model <dir>', 'the export folder')
    .requiredOption('--out <file>', 'the index file (and <file>.json beside it), written atomically')
    .option('--connectivity <m>', 'HNSW graph degree', positiveInteger('--connectivity'), 16)
    .option('--expansion-search <ef>', 'HNSW search breadth', positiveInteger('--expansion-search'), 128)
    .option('--recall-queries <n>', 'queries for the recall check', positiveInteger('--recall-queries'), 1000)
    .option('--json', 'print one JSON object and nothing else on stdout')
    .action(async (options: IndexOptions) => {
      const result = await buildIndex(options, context);
      if (options.json) {
        printJson(context.io, result);
        return;
      }
      printLine(
        context.io,
        `${result.items.toLocaleString('en-US')} items x ${result.dimension}: HNSW built in ${formatDuration(result.buildSeconds)}, recall@10 ${result.recallAt10.toFixed(3)} against exact; ${Math.round(result.queriesPerSecond.hnsw)} vs ${Math.round(result.queriesPerSecond.exact)} queries/s; ${result.out}`,
      );
    });
}
