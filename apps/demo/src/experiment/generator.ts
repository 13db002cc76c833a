import { RarefyError, type SimulateRareEventsOptions } from '@rarefy/sampling-core';

/** The A.10 generator's settings on the page: its sliders and the seed. */
export interface GeneratorSettings {
  /** Number of rows N. */
  rows: number;
  /** Target share of positives in the population, in (0, 0.5). */
  positiveRate: number;
  /** Size of each of the six slopes (A.10: 0.5); the slopes are `-signal`. */
  signal: number;
  /** Seed of the data (the holdout uses `${seed}:holdout`). */
  seed: number;
}

/** The A.10 design: six features, x ~ N(0, Sigma) with Sigma_jk = 0.5^|j-k|. */
export const A10_FEATURES = 6;
/** The correlation rho of the A.10 features' AR(1) covariance. */
export const A10_CORRELATION = 0.5;

/** The page's defaults: A.10 at N = 100,000 (ALGORITHMS.md A.10: about 1.2% positives). */
export const DEFAULT_GENERATOR: GeneratorSettings = {
  rows: 100_000,
  positiveRate: 0.012,
  signal: 0.5,
  seed: 1,
};

/** Nodes and weights of the normal density on a fine grid (trapezoid rule over [-10, 10]). */
const GRID = (() => {
  const nodes = 4001;
  const step = 20 / (nodes - 1);
  const z = new Float64Array(nodes);
  const weight = new Float64Array(nodes);
  for (let k = 0; k < nodes; k++) {
    const value = -10 + k * step;
    z[k] = value;
    weight[k] =
      ((k === 0 || k === nodes - 1 ? 0.5 : 1) * step * Math.exp(-0.5 * value * value)) /
      Math.sqrt(2 * Math.PI);
  }
  return { z, weight };
})();

/**
 * The population's expected positive rate E[sigma(b0 + s Z)], Z ~ N(0, 1): the share of positives
 * when the linear predictor without intercept is normal with standard deviation `spread`.
 *
 * @param intercept - b0
 * @param spread - s, the standard deviation of x' beta
 * @returns the expected share of positives
 * @example
 * ```ts
 * expectedPositiveRate(-6, 1.875); // about 0.012 (A.10)
 * ```
 */
export function expectedPositiveRate(intercept: number, spread: number): number {
  let sum = 0;
  for (let k = 0; k < GRID.z.length; k++) {
    const eta = intercept + spread * (GRID.z[k] as number);
    sum += (GRID.weight[k] as number) / (1 + Math.exp(-eta));
  }
  return sum;
}

/**
 * The standard deviation of x' beta under the A.10 covariance when all six slopes are `-signal`:
 * signal * sqrt(sum_jk 0.5^|j-k|).
 *
 * @param signal - the size of each slope
 * @returns the spread of the linear predictor
 * @example
 * ```ts
 * linearPredictorSpread(0.5); // 1.875
 * ```
 */
export function linearPredictorSpread(signal: number): number {
  let sum = 0;
  for (let j = 0; j < A10_FEATURES; j++)
    for (let k = 0; k < A10_FEATURES; k++) sum += A10_CORRELATION ** Math.abs(j - k);
  return Math.abs(signal) * Math.sqrt(sum);
}

/**
 * The `simulateRareEvents` options of the page's generator: six slopes of `-signal`, and the
 * intercept that makes the expected positive rate `positiveRate` (bisection on the exact integral
 * over the normal linear predictor, to 1e-12 in the rate).
 *
 * @param settings - rows, positive rate, signal, seed
 * @returns the options to pass to `simulateRareEvents`
 * @throws RarefyError `RAREFY_INVALID_ARGUMENT` naming the setting that is out of range
 * @example
 * ```ts
 * const data = simulateRareEvents(generatorOptions({ rows: 100_000, positiveRate: 0.012, signal: 0.5, seed: 1 }));
 * ```
 */
export function generatorOptions(
  settings: GeneratorSettings,
): SimulateRareEventsOptions & { intercept: number } {
  const { rows, positiveRate, signal, seed } = settings;
  if (!(Number.isInteger(rows) && rows >= 100)) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `rows: ${rows} is not a whole number >= 100`,
      'pick N of 100 or more',
      {
        input: 'rows',
      },
    );
  }
  if (!(positiveRate > 0 && positiveRate < 0.5)) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `positiveRate: ${positiveRate} is not in (0, 0.5)`,
      'pick a positive rate such as 0.012 (rare events are the minority class)',
      { input: 'positiveRate' },
    );
  }
  if (!(signal >= 0 && signal <= 5)) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `signal: ${signal} is not in [0, 5]`,
      'pick a slope size such as 0.5',
      {
        input: 'signal',
      },
    );
  }
  const spread = linearPredictorSpread(signal);
  let low = -40;
  let high = 0;
  for (let iteration = 0; iteration < 200 && high - low > 1e-13; iteration++) {
    const middle = (low + high) / 2;
    if (expectedPositiveRate(middle, spread) < positiveRate) low = middle;
    else high = middle;
  }
  return {
    rows,
    seed,
    intercept: (low + high) / 2,
    slopes: new Array<number>(A10_FEATURES).fill(-signal),
    correlation: A10_CORRELATION,
  };
}
