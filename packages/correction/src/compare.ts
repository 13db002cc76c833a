import { createRng, DESIGN_NAMES, type DesignMatrix, type DesignName } from '@rarefy/sampling-core';
import { type EstimatorName, standardErrors } from './estimators.js';
import { fitLogistic, type LogisticFit } from './glm.js';
import { fitRareEvents } from './recipe.js';
import { invertSymmetric } from './sandwich.js';

/** Options of {@link compareDesigns}. */
export interface CompareDesignsOptions {
  /** Population design matrix and labels. */
  x: DesignMatrix;
  y: Uint8Array;
  /** The true coefficients, when the data was simulated: adds errors against the truth and coverage. */
  trueCoefficients?: Float64Array;
  /** The full-data fit, if already computed (otherwise it is fitted here). */
  fullFit?: LogisticFit;
  /** Designs to compare (default all five). */
  designs?: readonly DesignName[];
  /** Estimators to compare (default both). */
  estimators?: readonly EstimatorName[];
  /** Pilot rows (default 1000) and expected negatives kept (default: the number of positives). */
  pilotSize?: number;
  sampleSize?: number;
  /** Monte-Carlo replications per design and estimator (default 20). */
  replications?: number;
  /** Seed of replication streams (default 1). */
  seed?: number | string;
  /** Called after each fit with the number done and the total. */
  onProgress?: (done: number, total: number, label: string) => void;
}

/** One design x estimator, summarised over the replications. */
export interface DesignComparisonRow {
  readonly design: DesignName;
  readonly estimator: EstimatorName;
  readonly replications: number;
  /** Mean expected and realised numbers of negatives kept, and the realised ones' spread. */
  readonly expectedNegatives: number;
  readonly realisedNegatives: {
    readonly mean: number;
    readonly sd: number;
    readonly min: number;
    readonly max: number;
  };
  readonly positivesKept: number;
  /** Mean over replications of ||beta_hat - beta_full||^2 (eMSE against the full-data fit). */
  readonly mseVsFull: number;
  /** Mean of ||beta_hat - beta_true||^2, when the truth is known. */
  readonly mseVsTruth: number | null;
  /** Mean reported standard error of each coefficient, and the Monte-Carlo sd of its estimate. */
  readonly meanStandardErrors: Float64Array;
  readonly empiricalSd: Float64Array;
  /** Share of (replication, coefficient) pairs whose 95% interval contains the truth. */
  readonly coverage: number | null;
  /** Median seconds of one whole recipe. */
  readonly secondsPerFit: number;
}

/** The result of {@link compareDesigns}. */
export interface DesignComparison {
  readonly names: readonly string[];
  readonly population: { readonly rows: number; readonly positives: number };
  readonly full: {
    readonly coefficients: Float64Array;
    readonly standardErrors: Float64Array;
    readonly seconds: number;
    readonly mseVsTruth: number | null;
  };
  readonly rows: readonly DesignComparisonRow[];
  readonly sampleSize: number;
  readonly pilotSize: number;
}

function squaredDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let j = 0; j < a.length; j++) sum += ((a[j] as number) - (b[j] as number)) ** 2;
  return sum;
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((p, q) => p - q);
  const middle = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * Monte-Carlo comparison of sampling designs and estimators on one data set at equal expected sample
 * size (ALGORITHMS.md A.10): each replication draws its own pilot and sample with its own random
 * stream, and each design sees the same streams. Reports eMSE against the full-data fit (and the
 * truth, when given), reported standard errors against the Monte-Carlo spread, interval coverage,
 * realised sizes and time per fit. The quickstart and the benchmark are built on it.
 *
 * @param options - data, designs, sizes, replications and seed
 * @returns one row per design x estimator, and the full-data fit
 * @example
 * ```ts
 * const data = simulateRareEvents({ rows: 100_000, seed: 1 });
 * const table = compareDesigns({ ...data, pilotSize: 200, sampleSize: 1000, replications: 100 });
 * for (const row of table.rows) console.log(row.design, row.estimator, row.mseVsFull);
 * ```
 */
export function compareDesigns(options: CompareDesignsOptions): DesignComparison {
  const { x, y } = options;
  const d = x.columns;
  const truth = options.trueCoefficients ?? null;
  const designs = options.designs ?? DESIGN_NAMES;
  const estimators = options.estimators ?? (['log-odds', 'ipw'] as const);
  const replications = options.replications ?? 20;
  const pilotSize = options.pilotSize ?? 1000;
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i] as number;
  const sampleSize = options.sampleSize ?? positives;

  const fullStart = performance.now();
  const fullFit = options.fullFit ?? fitLogistic(x, y, { input: 'x' });
  const fullSeconds = (performance.now() - fullStart) / 1000;
  const fullErrors = standardErrors(
    invertSymmetric(fullFit.information, d, 'full-data information', x.names),
    d,
  );

  // One seed per replication, shared by every design: differences between rows are the designs'.
  const seeds: number[] = [];
  const seedSource = createRng(options.seed ?? 1);
  for (let r = 0; r < replications; r++) seeds.push(seedSource.nextUint32());

  const total = designs.length * estimators.length * replications;
  let done = 0;
  const rows: DesignComparisonRow[] = [];
  for (const design of designs) {
    for (const estimator of estimators) {
      let mseFull = 0;
      let mseTruth = 0;
      let covered = 0;
      let expected = 0;
      let positivesKept = 0;
      const realised: number[] = [];
      const seconds: number[] = [];
      const sumErrors = new Float64Array(d);
      const sum = new Float64Array(d);
      const sumSquares = new Float64Array(d);
      for (let r = 0; r < replications; r++) {
        const fit = fitRareEvents({
          x,
          y,
          design,
          estimator,
          pilotSize,
          sampleSize,
          seed: seeds[r] as number,
        });
        mseFull += squaredDistance(fit.coefficients, fullFit.coefficients);
        if (truth !== null) {
          mseTruth += squaredDistance(fit.coefficients, truth);
          for (let j = 0; j < d; j++) {
            const t = truth[j] as number;
            if ((fit.lower[j] as number) <= t && t <= (fit.upper[j] as number)) covered++;
          }
        }
        for (let j = 0; j < d; j++) {
          const b = fit.coefficients[j] as number;
          sum[j] = (sum[j] as number) + b;
          sumSquares[j] = (sumSquares[j] as number) + b * b;
          sumErrors[j] = (sumErrors[j] as number) + (fit.standardErrors[j] as number);
        }
        expected += fit.scale.expectedNegatives;
        positivesKept += fit.sample.positives;
        realised.push(fit.sample.negatives);
        seconds.push(fit.timings.total);
        done++;
        options.onProgress?.(done, total, `${design} ${estimator}`);
      }
      const meanRealised = realised.reduce((a, b) => a + b, 0) / replications;
      const sdRealised = Math.sqrt(
        realised.reduce((a, b) => a + (b - meanRealised) ** 2, 0) / Math.max(1, replications - 1),
      );
      const empiricalSd = new Float64Array(d);
      for (let j = 0; j < d; j++) {
        const mean = (sum[j] as number) / replications;
        empiricalSd[j] = Math.sqrt(
          Math.max(
            0,
            ((sumSquares[j] as number) - replications * mean * mean) / Math.max(1, replications - 1),
          ),
        );
      }
      rows.push({
        design,
        estimator,
        replications,
        expectedNegatives: expected / replications,
        realisedNegatives: {
          mean: meanRealised,
          sd: sdRealised,
          min: Math.min(...realised),
          max: Math.max(...realised),
        },
        positivesKept: positivesKept / replications,
        mseVsFull: mseFull / replications,
        mseVsTruth: truth === null ? null : mseTruth / replications,
        meanStandardErrors: sumErrors.map((value) => value / replications),
        empiricalSd,
        coverage: truth === null ? null : covered / (replications * d),
        secondsPerFit: medianOf(seconds),
      });
    }
  }
  return {
    names: x.names,
    population: { rows: x.rows, positives },
    full: {
      coefficients: fullFit.coefficients,
      standardErrors: fullErrors,
      seconds: fullSeconds,
      mseVsTruth: truth === null ? null : squaredDistance(fullFit.coefficients, truth),
    },
    rows,
    sampleSize,
    pilotSize,
  };
}
