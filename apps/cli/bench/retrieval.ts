// Two-tower retrieval on ../shared/data/ml-latest-small under both protocols of ALGORITHMS.md B.9:
// the popularity and item-kNN baselines, in-batch negatives without correction, with logQ (exact
// counts and the streaming estimator), mixed negatives, and offline hard negatives at several
// easy:hard ratios. Reports recall@10/50/100, NDCG@10, recall@100 by popularity bucket (and the tail
// ranked on its own), coverage and training time. Skips (exit 0) when the data set is absent. Not run in CI.
// Run: node --conditions=@rarefy/source --import tsx bench/retrieval.ts [--epochs 10] [--only tfrs]
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable, writeResult } from '@rarefy/bench';
import { selectBackend } from '@rarefy/model-kit/node';
import {
  type ExperimentTraining,
  type RetrievalEvaluation,
  type RetrievalExperimentOptions,
  runRetrievalExperiment,
  trainWithHardNegatives,
} from '@rarefy/two-tower';
import { readRetrievalData } from '../src/retrieval-data.js';

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const dataDir = join(packageDir, '..', '..', '..', 'shared', 'data', 'ml-latest-small');
if (!existsSync(join(dataDir, 'ratings.csv'))) {
  console.log(`skipped: ${dataDir}/ratings.csv is absent (the benchmark needs ../shared/data)`);
  process.exit(0);
}
const argument = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const epochs = Number(argument('--epochs') ?? 10);
const only = argument('--only');
// --configs a,b: run only the configurations whose names contain one of the words (e.g. hard,mixed).
const configFilter = argument('--configs')?.split(',');
const protocols = (['tfrs', 'per-user'] as const).filter(
  (protocol) => only === undefined || only === protocol,
);

const backend = await selectBackend();
const { data, itemFeatures } = await readRetrievalData({
  interactions: join(dataDir, 'ratings.csv'),
  items: join(dataDir, 'movies.csv'),
});
console.log(
  `ml-latest-small: ${data.users.length} ratings, ${data.userIds.length} users, ${data.itemIds.length} items; backend ${backend.backend}; ${epochs} epochs`,
);

const genres = { column: 'genres', buckets: 64, dimension: 32, hashSeed: 0 } as const;
const base: ExperimentTraining = {
  userTower: { id: { dimension: 64 }, hidden: [128], outputDimension: 64 },
  itemTower: { id: { dimension: 64 }, multiHot: [genres], hidden: [128], outputDimension: 64 },
  batchSize: 1024,
  epochs,
};
interface Config {
  name: string;
  training: ExperimentTraining;
  trainer?: RetrievalExperimentOptions['trainer'];
}
const hard = (ratio: number, warmStart = false): Config => ({
  name: `logQ + hard negatives (easy:hard ${ratio}:1${warmStart ? ', warm start' : ''})`,
  training: { ...base, logQ: 'exact' },
  trainer: async (options) => {
    const result = await trainWithHardNegatives({
      ...options,
      rounds: 2,
      warmStart,
      hardNegatives: { easyRatio: ratio },
    });
    const last = result.rounds[result.rounds.length - 1];
    if (last === undefined) throw new Error('no training round ran');
    const rows = result.rounds.reduce((total, round) => total + round.history.rows * round.history.epochs, 0);
    return {
      model: result.model,
      history: last.history,
      seconds: result.seconds,
      examplesPerSecond: rows / result.seconds,
    };
  },
});
const configs: Config[] = [
  { name: 'in-batch, no correction', training: { ...base, logQ: 'none' } },
  { name: 'in-batch + logQ (exact)', training: { ...base, logQ: 'exact' } },
  { name: 'in-batch + logQ (streaming)', training: { ...base, logQ: 'streaming' } },
  {
    name: 'mixed (+1024 uniform) + logQ',
    training: { ...base, logQ: 'exact', negatives: { uniform: 1024 } },
  },
  hard(10),
  hard(1),
  hard(10, true),
];

const pick = (evaluation: RetrievalEvaluation) => {
  const entry = (name: string) => evaluation.buckets.find((bucket) => bucket.bucket === name);
  return {
    'recall@10': evaluation.metrics['recall@10'],
    'recall@50': evaluation.metrics['recall@50'],
    'recall@100': evaluation.metrics['recall@100'],
    'ndcg@10': evaluation.metrics['ndcg@10'],
    'head r@100': entry('head')?.recall['recall@100'],
    'tail r@100': entry('tail')?.recall['recall@100'],
    // The tail ranked on its own (embeddings only; baselines rank lists): which tail items, not how many.
    'tail-only r@100': entry('tail')?.withinBucket?.['recall@100'] ?? '',
    'coverage@100': evaluation.coverage['coverage@100'],
  };
};
const results: Array<Record<string, unknown>> = [];
const selected = configs.filter(
  (config) => configFilter === undefined || configFilter.some((word) => config.name.includes(word)),
);
for (const protocol of protocols) {
  let baselinesDone = false;
  for (const config of selected) {
    const started = performance.now();
    const result = await runRetrievalExperiment({
      data,
      protocol,
      ...(itemFeatures ? { itemFeatures } : {}),
      training: config.training,
      baselines: !baselinesDone,
      ...(config.trainer ? { trainer: config.trainer } : {}),
    });
    if (!baselinesDone) {
      for (const [name, evaluation] of Object.entries(result.baselines)) {
        if (evaluation) results.push({ protocol, model: `${name} baseline`, ...pick(evaluation) });
      }
      baselinesDone = true;
    }
    const row = {
      protocol,
      model: config.name,
      ...pick(result.evaluation),
      ...(result.maskedEvaluation
        ? { 'recall@100 masked': result.maskedEvaluation.metrics['recall@100'] }
        : {}),
      epochs: result.training.history.epochs,
      'train s': Number(result.training.seconds.toFixed(1)),
      'examples/s': Math.round(result.training.examplesPerSecond),
    };
    results.push(row);
    console.log(
      `${protocol} ${config.name}: ${JSON.stringify(row)} (${((performance.now() - started) / 1000).toFixed(0)} s)`,
    );
    result.model.dispose();
  }
}
console.log(`\n${markdownTable(results)}`);
writeResult(join(packageDir, 'bench-results'), 'retrieval', { backend: backend.backend, epochs, results });
