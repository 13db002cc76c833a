import { requireArgument } from './errors.js';
import { type DesignMatrix, INTERCEPT_NAME, sigmoid } from './matrix.js';
import { createRng, type Rng } from './rng.js';

/** Options of {@link simulateRareEvents}; the defaults are the A.10 benchmark design. */
export interface SimulateRareEventsOptions {
  /** Number of rows N. */
  rows: number;
  /** Seed (or a generator). */
  seed?: number | string;
  rng?: Rng;
  /** Intercept beta_0 (default -6: about 1.2% positives with the default slopes). */
  intercept?: number;
  /** Slopes, one per feature (default six times -0.5). */
  slopes?: readonly number[];
  /** Correlation rho of the AR(1) covariance Sigma_jk = rho^|j-k| (default 0.5). */
  correlation?: number;
}

/** A simulated data set with its true coefficients. */
export interface SimulatedData {
  /** Design matrix with the intercept column first; features named x1..xd. */
  readonly x: DesignMatrix;
  /** Labels 0/1. */
  readonly y: Uint8Array;
  /** The true coefficients (intercept first). */
  readonly trueCoefficients: Float64Array;
  readonly positives: number;
}

/**
 * Generates the benchmark design of ALGORITHMS.md A.10: x ~ N(0, Sigma) with Sigma_jk = rho^|j-k|,
 * y ~ Bernoulli(sigma(beta_0 + x' beta)). The AR(1) covariance is generated exactly by the
 * recursion x_1 = z_1, x_j = rho x_{j-1} + sqrt(1 - rho^2) z_j.
 *
 * @param options - rows, seed and (optionally) other coefficients
 * @returns the design matrix (intercept first), labels and the true coefficients
 * @example
 * ```ts
 * const { x, y, trueCoefficients } = simulateRareEvents({ rows: 100_000, seed: 1 });
 * ```
 */
export function simulateRareEvents(options: SimulateRareEventsOptions): SimulatedData {
  const rows = options.rows;
  requireArgument(
    Number.isInteger(rows) && rows > 0,
    'rows',
    `${rows} is not a positive integer`,
    'pass rows >= 1',
  );
  const slopes = options.slopes ?? [-0.5, -0.5, -0.5, -0.5, -0.5, -0.5];
  const rho = options.correlation ?? 0.5;
  requireArgument(
    Math.abs(rho) < 1,
    'correlation',
    `${rho} is outside (-1, 1)`,
    'pass a correlation in (-1, 1)',
  );
  const intercept = options.intercept ?? -6;
  const rng = options.rng ?? createRng(options.seed ?? 1);
  const p = slopes.length;
  const d = p + 1;
  const data = new Float64Array(rows * d);
  const y = new Uint8Array(rows);
  const innovation = Math.sqrt(1 - rho * rho);
  let positives = 0;
  for (let i = 0; i < rows; i++) {
    const offset = i * d;
    data[offset] = 1;
    let previous = 0;
    let eta = intercept;
    for (let j = 0; j < p; j++) {
      const value = j === 0 ? rng.normal() : rho * previous + innovation * rng.normal();
      data[offset + 1 + j] = value;
      eta += (slopes[j] as number) * value;
      previous = value;
    }
    const label = rng.nextFloat64() < sigmoid(eta) ? 1 : 0;
    y[i] = label;
    positives += label;
  }
  const names = [INTERCEPT_NAME, ...Array.from({ length: p }, (_, j) => `x${j + 1}`)];
  return {
    x: { data, rows, columns: d, names, intercept: true },
    y,
    trueCoefficients: Float64Array.from([intercept, ...slopes]),
    positives,
  };
}
