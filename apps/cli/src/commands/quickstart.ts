import {
  calibrationReport,
  compareDesigns,
  type DesignComparisonRow,
  fitLogistic,
  fitRareEvents,
  predictProbability,
} from '@rarefy/correction';
import { type PiDistribution, piDistribution } from '@rarefy/demo/charts';
import { DESIGN_NAMES, selectRows, simulateRareEvents } from '@rarefy/sampling-core';
import type { Command } from 'commander';
import { formatDuration, formatNumber, formatTable } from '../format.js';
import { printJson, printLine } from '../io.js';
import { integer, positiveInteger } from '../options.js';
import type { CommandContext } from '../program.js';
import { createProgress } from '../progress.js';
import { type CalibrationSummary, calibrationSummary } from './diagnostics.js';
import { byName } from './shared.js';

/** The options of `rarefy quickstart`. */
export interface QuickstartOptions {
  rows: number;
  pilotSize: number;
  sampleSize: number;
  replications: number;
  holdout: number;
  seed: number;
  json?: boolean;
}

/** One model's calibration on fresh, unsampled data: every metric of ALGORITHMS.md part C and the reliability bins. */
export type QuickstartCalibration = CalibrationSummary;

/** One design's fit with the quickstart's seed: estimates with 95% intervals (what `rarefy report` draws). */
export interface QuickstartDesignFit {
  design: string;
  estimator: string;
  coefficients: Record<string, number>;
  lower: Record<string, number>;
  upper: Record<string, number>;
  sample: { positives: number; negatives: number };
}

/** What `rarefy quickstart --json` prints. */
export interface QuickstartResult {
  rows: number;
  positives: number;
  seed: number;
  pilotSize: number;
  sampleSize: number;
  replications: number;
  truth: Record<string, number>;
  full: {
    coefficients: Record<string, number>;
    standardErrors: Record<string, number>;
    meanSlopeStandardError: number;
    seconds: number;
    mseVsTruth: number;
  };
  designs: Array<{
    design: string;
    estimator: string;
    expectedNegatives: number;
    realisedNegatives: { mean: number; sd: number; min: number; max: number };
    positivesKept: number;
    mseVsFull: number;
    mseVsTruth: number;
    meanStandardError: number;
    empiricalSd: number;
    coverage: number;
    secondsPerFit: number;
  }>;
  calibration: { rows: number; observedRate: number; evaluatedOn: string; models: QuickstartCalibration[] };
  /** Every design fitted once with the log-odds estimator and the quickstart's seed. */
  designFits: QuickstartDesignFit[];
  /** pi of every negative under the optA design of the calibration check, kept and dropped. */
  piDistribution: PiDistribution;
  seconds: number;
}

const mean = (values: ArrayLike<number>, from = 0): number => {
  let sum = 0;
  for (let j = from; j < values.length; j++) sum += values[j] as number;
  return sum / (values.length - from);
};

/**
 * The quickstart: simulate the A.10 data set, fit the full-data MLE, compare every design x
 * estimator at the same expected sample size over seeded replications, and show what the correction
 * does to probabilities on fresh unsampled data.
 *
 * @param options - sizes, replications and seed
 * @param context - the command's Io
 * @returns the JSON-ready result
 * @example
 * ```ts
 * const result = await quickstart({ rows: 100_000, pilotSize: 200, sampleSize: 1000, replications: 5, holdout: 50_000, seed: 1 }, { io: processIo() });
 * ```
 */
export async function quickstart(
  options: QuickstartOptions,
  context: CommandContext,
): Promise<QuickstartResult> {
  const { io } = context;
  const started = io.now();
  const say = (text: string) => {
    if (!options.json) io.stderr.write(`${text}\n`);
  };
  say(
    `simulating ${options.rows.toLocaleString('en-US')} rows (ALGORITHMS.md A.10: 6 correlated features, ~1.2% positives)`,
  );
  const data = simulateRareEvents({ rows: options.rows, seed: options.seed });
  const { x, y, trueCoefficients } = data;
  say('fitting the full-data logistic regression');
  const fullStart = io.now();
  const full = fitLogistic(x, y, { input: 'x' });
  const fullSeconds = (io.now() - fullStart) / 1000;

  const total = 10 * options.replications;
  const progress = createProgress({
    label: 'design x estimator fits',
    total,
    json: options.json,
    stream: io.stderr,
  });
  let comparison: ReturnType<typeof compareDesigns>;
  try {
    comparison = compareDesigns({
      x,
      y,
      trueCoefficients,
      fullFit: full,
      pilotSize: options.pilotSize,
      sampleSize: options.sampleSize,
      replications: options.replications,
      seed: options.seed,
      onProgress: (done, _all, label) => progress.update(done, label),
    });
  } finally {
    progress.stop();
  }

  // Calibration on fresh data: the full fit, the corrected optA fit and the same sample fitted naively.
  say(`checking calibration on ${options.holdout.toLocaleString('en-US')} fresh rows`);
  const holdout = simulateRareEvents({ rows: options.holdout, seed: `${options.seed}:holdout` });
  const corrected = fitRareEvents({
    x,
    y,
    design: 'optA',
    pilotSize: options.pilotSize,
    sampleSize: options.sampleSize,
    seed: options.seed,
    returnPopulationPi: true,
  });
  const naive = fitLogistic(selectRows(x, corrected.sample.rows), corrected.sample.labels, {
    input: 'sample',
  });
  const models: QuickstartCalibration[] = [
    ['full-data MLE', full.coefficients],
    ['optA sample, log-odds corrected', corrected.coefficients],
    ['optA sample, naive (no correction)', naive.coefficients],
  ].map(([model, coefficients]) => {
    const report = calibrationReport(holdout.y, predictProbability(holdout.x, coefficients as Float64Array));
    return calibrationSummary(model as string, report);
  });
  // One fit per design with the same seed: coefficient estimates and intervals side by side.
  const designFits: QuickstartDesignFit[] = DESIGN_NAMES.map((design) => {
    const fit =
      design === 'optA'
        ? corrected
        : fitRareEvents({
            x,
            y,
            design,
            pilotSize: options.pilotSize,
            sampleSize: options.sampleSize,
            seed: options.seed,
          });
    return {
      design,
      estimator: fit.estimator,
      coefficients: byName(x.names, fit.coefficients),
      lower: byName(x.names, fit.lower),
      upper: byName(x.names, fit.upper),
      sample: { positives: fit.sample.positives, negatives: fit.sample.negatives },
    };
  });

  const slopesFrom = x.intercept ? 1 : 0;
  return {
    rows: x.rows,
    positives: data.positives,
    seed: options.seed,
    pilotSize: options.pilotSize,
    sampleSize: options.sampleSize,
    replications: options.replications,
    truth: byName(x.names, trueCoefficients),
    full: {
      coefficients: byName(x.names, comparison.full.coefficients),
      standardErrors: byName(x.names, comparison.full.standardErrors),
      meanSlopeStandardError: mean(comparison.full.standardErrors, slopesFrom),
      seconds: fullSeconds,
      mseVsTruth: comparison.full.mseVsTruth ?? Number.NaN,
    },
    designs: comparison.rows.map((row: DesignComparisonRow) => ({
      design: row.design,
      estimator: row.estimator,
      expectedNegatives: row.expectedNegatives,
      realisedNegatives: row.realisedNegatives,
      positivesKept: row.positivesKept,
      mseVsFull: row.mseVsFull,
      mseVsTruth: row.mseVsTruth ?? Number.NaN,
      meanStandardError: mean(row.meanStandardErrors, slopesFrom),
      empiricalSd: mean(row.empiricalSd, slopesFrom),
      coverage: row.coverage ?? Number.NaN,
      secondsPerFit: row.secondsPerFit,
    })),
    calibration: {
      rows: holdout.x.rows,
      observedRate: holdout.positives / holdout.x.rows,
      evaluatedOn: `${holdout.x.rows.toLocaleString('en-US')} fresh rows (unsampled)`,
      models,
    },
    designFits,
    piDistribution: piDistribution(y, corrected.populationPi as Float64Array, corrected.sample.rows, {
      design: 'optA',
    }),
    seconds: (io.now() - started) / 1000,
  };
}

function printQuickstart(context: CommandContext, result: QuickstartResult): void {
  const percent = (value: number) => `${formatNumber(100 * value, 3)}%`;
  const best = [...result.designs].sort((a, b) => a.mseVsFull - b.mseVsFull)[0];
  const uniform = result.designs.find((row) => row.design === 'uniform' && row.estimator === 'log-odds');
  const kept = best ? best.positivesKept + best.realisedNegatives.mean : 0;
  const lines = [
    '',
    `Rarefy quickstart: ${result.rows.toLocaleString('en-US')} rows, ${result.positives.toLocaleString('en-US')} positives ` +
      `(${percent(result.positives / result.rows)}), seed ${result.seed}`,
    `Full-data MLE in ${formatDuration(result.full.seconds)}; its squared error against the truth is ${formatNumber(result.full.mseVsTruth)}.`,
    '',
    `Every design x estimator keeps all positives and ${result.sampleSize.toLocaleString('en-US')} negatives in expectation ` +
      `(pilot ${result.pilotSize.toLocaleString('en-US')} rows), ${result.replications} seeded replications each;`,
    'LCC thins the positives too and keeps the same expected total:',
    '',
    formatTable(
      result.designs.map((row) => ({
        design: row.design,
        estimator: row.estimator,
        'positives kept': Math.round(row.positivesKept),
        'negatives kept': `${formatNumber(row.realisedNegatives.mean, 5)} ± ${formatNumber(row.realisedNegatives.sd, 2)}`,
        'eMSE vs full': row.mseVsFull,
        'eMSE vs truth': row.mseVsTruth,
        'slope SE': row.meanStandardError,
        'slope sd over seeds': row.empiricalSd,
        's / fit': row.secondsPerFit,
      })),
      { digits: 3 },
    ),
    '',
    'eMSE = mean over seeds of the squared distance from the estimate to the full-data fit (or to the truth).',
    '"slope SE" is the mean reported (sandwich) standard error of a slope: it measures the distance to the truth,',
    "so it includes the data's own noise (the full-data fit's slope SE here is " +
      `${formatNumber(result.full.meanSlopeStandardError, 3)}); "slope sd over seeds" is only the part added by sampling,`,
    'since every seed samples the same data. (Intervals from these SEs cover the truth about 95% of the time over',
    'fresh data sets: the tests check it.)',
    '',
    `Calibration on ${result.calibration.rows.toLocaleString('en-US')} fresh rows (observed rate ${percent(result.calibration.observedRate)}):`,
    '',
    formatTable(
      result.calibration.models.map((model) => ({
        model: model.model,
        'mean predicted / observed': model.calibrationInTheLarge,
        'log loss': model.logLoss,
        'ROC AUC': model.rocAuc,
        ECE: model.expectedCalibrationError,
      })),
      { digits: 3 },
    ),
    '',
  ];
  if (best && uniform) {
    lines.push(
      `${best.design} with the ${best.estimator} estimator fits on ${formatNumber((100 * kept) / result.rows, 2)}% of the rows ` +
        `with ${formatNumber(uniform.mseVsFull / best.mseVsFull, 2)}x less error than uniform sampling; without the ` +
        'correction, the same sample overstates every probability.',
    );
  }
  lines.push(
    `Done in ${formatDuration(result.seconds)}. Try: pnpm rarefy quickstart --help, or pnpm rarefy fit --help.`,
  );
  printLine(context.io, lines.join('\n'));
}

/**
 * Adds `rarefy quickstart` (what `pnpm start` runs) to the program.
 *
 * @param program - the `rarefy` program
 * @param context - the Io the command prints to
 * @returns the subcommand
 * @example
 * ```ts
 * registerQuickstart(program, context);
 * ```
 */
export function registerQuickstart(program: Command, context: CommandContext): Command {
  return program
    .command('quickstart')
    .description(
      'Simulate a rare-event data set, then compare every sampling design and correction against the ' +
        'full-data fit and the truth, and show calibration on fresh data.',
    )
    .option('--rows <n>', 'rows to simulate', positiveInteger('--rows'), 1_000_000)
    .option('--pilot-size <n>', 'rows in the balanced pilot', positiveInteger('--pilot-size'), 1000)
    .option(
      '--sample-size <n>',
      'expected negatives kept by every design',
      positiveInteger('--sample-size'),
      10_000,
    )
    .option(
      '--replications <n>',
      'seeded replications per design x estimator',
      positiveInteger('--replications'),
      10,
    )
    .option('--holdout <n>', 'fresh rows for the calibration check', positiveInteger('--holdout'), 200_000)
    .option('--seed <seed>', 'random seed', integer('--seed'), 1)
    .option('--json', 'print one JSON object and nothing else on stdout')
    .action(async (options: QuickstartOptions) => {
      const result = await quickstart(options, context);
      if (options.json) printJson(context.io, result);
      else printQuickstart(context, result);
    });
}
