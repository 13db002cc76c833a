import {
  cholesky,
  choleskySolve,
  type DesignMatrix,
  RarefyFitError,
  RarefyInputError,
} from '@rarefy/sampling-core';
import { checkLabels, checkRowValues, requireLength } from './validate.js';

/** Options of {@link fitLogistic}. */
export interface LogisticFitOptions {
  /** Added to the linear predictor of each row (the log-odds correction o_i); default none. */
  offset?: Float64Array;
  /** Prior weights, finite and >= 0 (the IPW weights w_i); default 1 for every row. */
  weight?: Float64Array;
  /**
   * L2 penalty lambda on the non-intercept coefficients (every coefficient when the matrix has no
   * intercept): the fit maximises log-likelihood - (lambda / 2) * sum_j beta_j^2, i.e. minimises
   * deviance + lambda * sum_j beta_j^2. Default 0.
   */
  ridge?: number;
  /**
   * Starting coefficients. Default: with an intercept, logit(mean y) - mean offset for the intercept
   * and 0 for the slopes; above 200,000 rows, the fit on a deterministic strided subset of about
   * 50,000 rows (fewer full passes). Pass zeros to follow R's `glm(start = 0)` path exactly.
   */
  start?: Float64Array;
  /** Most Newton (IRLS) steps (default 25, as R's glm). */
  maxIterations?: number;
  /** R's rule: stop when |dev - dev_old| / (|dev| + 0.1) < tolerance (default 1e-8). */
  tolerance?: number;
  /** Throw RAREFY_NOT_CONVERGED when the iteration budget runs out (default true). */
  requireConvergence?: boolean;
  /** The name of the data in error messages (default `x`). */
  input?: string;
}

/** The result of {@link fitLogistic}. */
export interface LogisticFit {
  /** The maximum-likelihood (or penalised) coefficients, in the design matrix's column order. */
  readonly coefficients: Float64Array;
  /** The design matrix's column names. */
  readonly names: readonly string[];
  /** eta_i = x_i' beta + offset_i for every row (the offset included). */
  readonly linearPredictor: Float64Array;
  /** mu_i = sigma(eta_i): probabilities on the scale of the fitted data (offset included). */
  readonly fitted: Float64Array;
  /** -2 log-likelihood (prior weights included, ridge term excluded). */
  readonly deviance: number;
  /** Newton steps taken. */
  readonly iterations: number;
  /** Whether R's deviance rule was met within the iteration budget. */
  readonly converged: boolean;
  /** X' W X with W = weight * mu (1 - mu) at the final coefficients; row-major d x d; without the ridge. */
  readonly information: Float64Array;
}

/** Fitted probabilities closer than this to the row's own label mark a row as "perfectly fitted". */
const BOUNDARY_PROBABILITY = 1e-6;

/** Accumulators of one pass over the rows at fixed coefficients. */
interface PassState {
  /** Lower triangle of X' W X, packed by rows: (j, k <= j) at j (j + 1) / 2 + k. */
  readonly hessian: Float64Array;
  /** X' (weight * (y - mu)). */
  readonly gradient: Float64Array;
  readonly eta: Float64Array;
  readonly mu: Float64Array;
  deviance: number;
  /** Rows (with positive weight) whose fitted probability is within BOUNDARY_PROBABILITY of the label. */
  boundaryRows: number;
}

/**
 * One pass over the rows at `beta`: linear predictor, probabilities, deviance, X'WX and the score.
 * Written as one tight loop (no calls, no allocation): this is the GLM's whole cost.
 */
function accumulate(
  x: DesignMatrix,
  y: Uint8Array,
  offset: Float64Array | undefined,
  weight: Float64Array | undefined,
  beta: Float64Array,
  state: PassState,
): void {
  const n = x.rows;
  const d = x.columns;
  const data = x.data;
  const hessian = state.hessian;
  const gradient = state.gradient;
  const eta = state.eta;
  const mu = state.mu;
  hessian.fill(0);
  gradient.fill(0);
  let deviance = 0;
  let boundaryRows = 0;
  for (let i = 0, row = 0; i < n; i++, row += d) {
    let e = offset === undefined ? 0 : (offset[i] as number);
    for (let j = 0; j < d; j++) e += (data[row + j] as number) * (beta[j] as number);
    const t = Math.exp(-Math.abs(e)); // in (0, 1]: no overflow on either side
    const denominator = 1 + t;
    const p = e >= 0 ? 1 / denominator : t / denominator;
    const q = e >= 0 ? t / denominator : 1 / denominator; // 1 - p without cancellation
    const logTerm = Math.log1p(t);
    const w = weight === undefined ? 1 : (weight[i] as number);
    eta[i] = e;
    mu[i] = p;
    if (w === 0) continue;
    const label = y[i] as number;
    // -log p = softplus(-e), -log(1 - p) = softplus(e), both from log1p(exp(-|e|)).
    if (label === 1) {
      deviance += w * (e >= 0 ? logTerm : logTerm - e);
      if (q < BOUNDARY_PROBABILITY) boundaryRows++;
    } else {
      deviance += w * (e >= 0 ? e + logTerm : logTerm);
      if (p < BOUNDARY_PROBABILITY) boundaryRows++;
    }
    const v = w * p * q;
    const r = w * (label - p);
    // Packed lower triangle, two entries per step: the hot loop of the whole fit.
    let packed = 0;
    for (let j = 0; j < d; j++) {
      const xj = data[row + j] as number;
      gradient[j] = (gradient[j] as number) + r * xj;
      const vj = v * xj;
      let k = 0;
      for (; k < j; k += 2, packed += 2) {
        hessian[packed] = (hessian[packed] as number) + vj * (data[row + k] as number);
        hessian[packed + 1] = (hessian[packed + 1] as number) + vj * (data[row + k + 1] as number);
      }
      if (k === j) {
        hessian[packed] = (hessian[packed] as number) + vj * xj;
        packed++;
      }
    }
  }
  state.deviance = 2 * deviance;
  state.boundaryRows = boundaryRows;
}

/** Copies a packed lower triangle into the lower triangle of a row-major d x d matrix. */
function unpackLower(packed: Float64Array, target: Float64Array, d: number): Float64Array {
  for (let j = 0, p = 0; j < d; j++)
    for (let k = 0; k <= j; k++, p++) target[j * d + k] = packed[p] as number;
  return target;
}

/** Outcome of solving the Newton system. */
type SolveOutcome = { ok: true; solution: Float64Array } | { ok: false; column: number; involved: number[] };

/**
 * Solves A delta = b for the symmetric matrix A given by its lower triangle, after scaling A to unit
 * diagonal so that the pivot test measures collinearity, not the units of the features. On failure
 * returns the column whose pivot vanished and the earlier columns it is (numerically) a combination of.
 */
export function solveSymmetricSystem(lower: Float64Array, b: Float64Array, d: number): SolveOutcome {
  const scale = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const diagonal = lower[j * d + j] as number;
    if (!(diagonal > 0) || !Number.isFinite(diagonal)) return { ok: false, column: j, involved: [j] };
    scale[j] = 1 / Math.sqrt(diagonal);
  }
  const scaled = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    for (let k = 0; k <= j; k++) {
      const value = (lower[j * d + k] as number) * (scale[j] as number) * (scale[k] as number);
      scaled[j * d + k] = value;
      scaled[k * d + j] = value;
    }
  }
  const factorisation = cholesky(scaled, d, 1e-11);
  const factor = factorisation.factor;
  if (!factorisation.ok) {
    const column = factorisation.failedColumn;
    // Column `column` is (nearly) a combination of columns 0..column-1, whose leading block factored
    // fine: solve L L' c = A[0:column, column] with that block to see which of them take part.
    const right = new Float64Array(column);
    for (let i = 0; i < column; i++) right[i] = scaled[i * d + column] as number;
    const c = choleskySolve(factor, d, right, column);
    const involved: number[] = [];
    for (let i = 0; i < column; i++) if (Math.abs(c[i] as number) > 1e-6) involved.push(i);
    involved.push(column);
    return { ok: false, column, involved };
  }
  const scaledRight = new Float64Array(d);
  for (let i = 0; i < d; i++) scaledRight[i] = (b[i] as number) * (scale[i] as number);
  const z = choleskySolve(factor, d, scaledRight);
  for (let i = 0; i < d; i++) z[i] = (z[i] as number) * (scale[i] as number);
  return { ok: true, solution: z };
}

function rankDeficientError(
  x: DesignMatrix,
  outcome: { column: number; involved: number[] },
  input: string,
): RarefyFitError {
  const names = outcome.involved.map((j) => x.names[j] ?? `column ${j}`);
  const failing = x.names[outcome.column] ?? `column ${outcome.column}`;
  const problem =
    names.length === 1
      ? `${input}: column '${failing}' carries no information in the fitted rows (it is zero wherever the weights are positive), so the design matrix is rank deficient`
      : `${input}: column '${failing}' is a linear combination of ${names
          .slice(0, -1)
          .map((name) => `'${name}'`)
          .join(', ')} in the fitted rows (collinear columns), so the design matrix is rank deficient`;
  return new RarefyFitError(
    'RAREFY_RANK_DEFICIENT',
    problem,
    `drop one of the collinear columns (${names.map((name) => `'${name}'`).join(', ')}), or set a ridge penalty (options.ridge > 0)`,
    { input, column: failing, columns: names },
  );
}

function separationError(
  x: DesignMatrix,
  direction: Float64Array,
  boundaryRows: number,
  input: string,
): RarefyFitError {
  // The columns that dominate the diverging direction, measured on the scale of the data.
  const d = x.columns;
  const span = new Float64Array(d);
  for (let i = 0, row = 0; i < x.rows; i++, row += d) {
    for (let j = 0; j < d; j++) span[j] = Math.max(span[j] as number, Math.abs(x.data[row + j] as number));
  }
  const contribution = Array.from({ length: d }, (_, j) => ({
    name: x.names[j] ?? `column ${j}`,
    size: Math.abs(direction[j] as number) * (span[j] as number),
    intercept: x.intercept && j === 0,
  }));
  const largest = Math.max(...contribution.map((entry) => entry.size));
  const culprits = contribution
    .filter((entry) => !entry.intercept && entry.size >= 0.25 * largest)
    .map((entry) => `'${entry.name}'`);
  const features = culprits.length > 0 ? culprits.join(', ') : 'the intercept';
  return new RarefyFitError(
    'RAREFY_SEPARATION',
    `${input}: the classes are (quasi-)completely separated: ${boundaryRows} rows are fitted with probability within ${BOUNDARY_PROBABILITY} of their label and the coefficients keep growing along ${features}, so the maximum-likelihood estimate does not exist`,
    `set a ridge penalty (options.ridge, e.g. 1), or remove or coarsen the separating feature (${features}); with subsampled data, a larger sample may also help`,
    { input, boundaryRows, separatingColumns: culprits },
  );
}

/** max over boundary rows of |x_i' delta|: how far the last step moved the perfectly fitted rows. */
function boundaryMovement(
  x: DesignMatrix,
  y: Uint8Array,
  weight: Float64Array | undefined,
  mu: Float64Array,
  delta: Float64Array,
): number {
  const d = x.columns;
  let largest = 0;
  for (let i = 0, row = 0; i < x.rows; i++, row += d) {
    if (weight !== undefined && weight[i] === 0) continue;
    const p = mu[i] as number;
    const residual = y[i] === 1 ? 1 - p : p;
    if (residual >= BOUNDARY_PROBABILITY) continue;
    let change = 0;
    for (let j = 0; j < d; j++) change += (x.data[row + j] as number) * (delta[j] as number);
    largest = Math.max(largest, Math.abs(change));
  }
  return largest;
}

/**
 * Logistic regression by Newton's method (IRLS), with offsets, prior weights and an optional ridge
 * penalty, in Float64Array. Each step is one pass over the rows accumulating X'WX and the score,
 * then a Cholesky solve of the d x d system; a step that raises the deviance is halved. Stops on R's
 * rule |dev - dev_old| / (|dev| + 0.1) < tolerance, so that results agree with R's `glm`.
 *
 * Failures are typed: collinear columns raise `RAREFY_RANK_DEFICIENT` (naming the columns),
 * separated classes raise `RAREFY_SEPARATION` (never silently huge coefficients), and an exhausted
 * iteration budget raises `RAREFY_NOT_CONVERGED` unless `requireConvergence` is false.
 *
 * @param x - design matrix (row-major), the intercept column first when it has one
 * @param y - 0/1 labels, one per row
 * @param options - offset, prior weights, ridge, start, iteration budget and tolerance
 * @returns coefficients, linear predictor and fitted probabilities (offset included), deviance,
 *   iterations, convergence flag and the information X'WX at the estimate
 * @throws RarefyFitError `RAREFY_RANK_DEFICIENT`, `RAREFY_SEPARATION`, `RAREFY_NOT_CONVERGED`
 * @throws RarefyInputError `RAREFY_INVALID_LABEL`, `RAREFY_NON_FINITE`, and RarefyError
 *   `RAREFY_DIMENSION_MISMATCH` / `RAREFY_INVALID_ARGUMENT` for malformed options
 * @example
 * ```ts
 * import { simulateRareEvents } from '@rarefy/sampling-core';
 * import { fitLogistic } from '@rarefy/correction';
 *
 * const { x, y } = simulateRareEvents({ rows: 100_000, seed: 1 });
 * const fit = fitLogistic(x, y);
 * console.log(fit.names, fit.coefficients); // close to -6 and six times -0.5
 * ```
 */
export function fitLogistic(x: DesignMatrix, y: Uint8Array, options: LogisticFitOptions = {}): LogisticFit {
  const input = options.input ?? 'x';
  const n = x.rows;
  const d = x.columns;
  checkLabels(y, x, `${input} labels`);
  const offset = options.offset;
  const weight = options.weight;
  if (offset !== undefined) checkRowValues(offset, n, `${input} offset`, 'offsets', false);
  if (weight !== undefined) checkRowValues(weight, n, `${input} weight`, 'weights', true);
  const ridge = options.ridge ?? 0;
  const maxIterations = options.maxIterations ?? 25;
  const tolerance = options.tolerance ?? 1e-8;
  const requireConvergence = options.requireConvergence ?? true;
  if (!(Number.isFinite(ridge) && ridge >= 0)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `ridge: ${ridge} is not a finite number >= 0`,
      'pass ridge >= 0 (0 for the plain maximum-likelihood fit)',
      { input: 'ridge' },
    );
  }
  if (!(Number.isInteger(maxIterations) && maxIterations >= 1)) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `maxIterations: ${maxIterations} is not a positive integer`,
      'pass maxIterations >= 1 (default 25)',
      { input: 'maxIterations' },
    );
  }
  if (!(tolerance > 0 && Number.isFinite(tolerance))) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `tolerance: ${tolerance} is not a positive number`,
      'pass a small positive tolerance (default 1e-8)',
      { input: 'tolerance' },
    );
  }
  if (n === 0) {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `${input}: the design matrix has no rows`,
      'fit on at least as many rows as columns',
      { input },
    );
  }
  const beta = new Float64Array(d);
  if (options.start !== undefined) {
    requireLength(options.start.length, d, 'start', 'starting coefficients');
    beta.set(options.start);
  } else {
    beta.set(defaultStart(x, y, offset, weight, ridge));
  }
  // Which coefficients the ridge penalises: all but the intercept.
  const penalised = new Float64Array(d).fill(ridge);
  if (x.intercept && d > 0) penalised[0] = 0;
  const penalty = (coefficients: Float64Array): number => {
    if (ridge === 0) return 0;
    let sum = 0;
    for (let j = 0; j < d; j++) sum += (penalised[j] as number) * (coefficients[j] as number) ** 2;
    return sum;
  };

  const state: PassState = {
    hessian: new Float64Array((d * (d + 1)) / 2),
    gradient: new Float64Array(d),
    eta: new Float64Array(n),
    mu: new Float64Array(n),
    deviance: 0,
    boundaryRows: 0,
  };
  accumulate(x, y, offset, weight, beta, state);
  if (!Number.isFinite(state.deviance)) throw nonFiniteDataError(x, input);
  let objective = state.deviance + penalty(beta);
  let iterations = 0;
  let converged = false;
  let lastStep: Float64Array = new Float64Array(d);
  let previousStepNorm = Number.NaN;
  let lastStepNorm = Number.NaN;
  const system = new Float64Array(d * d);
  const rightHandSide = new Float64Array(d);
  const candidate = new Float64Array(d);

  while (iterations < maxIterations) {
    iterations++;
    unpackLower(state.hessian, system, d);
    for (let j = 0; j < d; j++) {
      system[j * d + j] = (system[j * d + j] as number) + (penalised[j] as number);
      rightHandSide[j] = (state.gradient[j] as number) - (penalised[j] as number) * (beta[j] as number);
    }
    const outcome = solveSymmetricSystem(system, rightHandSide, d);
    if (!outcome.ok) {
      if (iterations > 1 && state.boundaryRows > 0 && ridge === 0) {
        throw separationError(x, lastStep, state.boundaryRows, input);
      }
      throw rankDeficientError(x, outcome, input);
    }
    const step = outcome.solution;
    const previousObjective = objective;
    let halvings = 0;
    for (;;) {
      for (let j = 0; j < d; j++) candidate[j] = (beta[j] as number) + (step[j] as number);
      accumulate(x, y, offset, weight, candidate, state);
      objective = state.deviance + penalty(candidate);
      const rose =
        !Number.isFinite(objective) ||
        objective - previousObjective > tolerance * (Math.abs(objective) + 0.1);
      if (!rose) break;
      if (++halvings > 30) {
        if (!Number.isFinite(objective)) throw nonFiniteDataError(x, input);
        break;
      }
      for (let j = 0; j < d; j++) step[j] = (step[j] as number) / 2;
    }
    beta.set(candidate);
    lastStep = step;
    previousStepNorm = lastStepNorm;
    lastStepNorm = Math.hypot(...step);
    if (Math.abs(objective - previousObjective) / (Math.abs(objective) + 0.1) < tolerance) {
      converged = true;
      break;
    }
  }

  if (ridge === 0 && state.boundaryRows > 0) {
    // Separation leaves the deviance flat while Newton keeps moving the perfectly fitted rows by about
    // one unit of log odds per step: steps stop shrinking (a finite MLE converges quadratically).
    const suspicious = !converged || (iterations >= 2 && lastStepNorm > 0.3 * previousStepNorm);
    if (suspicious && boundaryMovement(x, y, weight, state.mu, lastStep) > 0.25) {
      throw separationError(x, lastStep, state.boundaryRows, input);
    }
  }
  if (!converged && requireConvergence) {
    throw new RarefyFitError(
      'RAREFY_NOT_CONVERGED',
      `${input}: the logistic fit did not converge in ${maxIterations} Newton steps (relative deviance change still above ${tolerance})`,
      'raise options.maxIterations, start from better coefficients (options.start), rescale the features, or set options.requireConvergence = false to accept the last iterate',
      { input, iterations, deviance: state.deviance },
    );
  }
  const information = unpackLower(state.hessian, new Float64Array(d * d), d);
  for (let j = 0; j < d; j++)
    for (let k = 0; k < j; k++) information[k * d + j] = information[j * d + k] as number;
  return {
    coefficients: beta,
    names: x.names,
    linearPredictor: state.eta,
    fitted: state.mu,
    deviance: state.deviance,
    iterations,
    converged,
    information,
  };
}

/** Rows above which the default start comes from a fit on a strided subset of about this many rows. */
const WARM_START_ROWS = 50_000;

/**
 * The default starting point. Small data: the intercept-only estimate logit(mean y) - mean offset
 * (slopes 0), which saves the several Newton steps a rare-event intercept needs from 0. Large data:
 * the coefficients fitted on every k-th row (about 50,000 rows, deterministic), so that the full
 * passes start where Newton converges in two or three steps. Any failure of the subset fit (a subset
 * can be separated or collinear where the whole is not) falls back to the intercept-only start.
 */
function defaultStart(
  x: DesignMatrix,
  y: Uint8Array,
  offset: Float64Array | undefined,
  weight: Float64Array | undefined,
  ridge: number,
): Float64Array {
  const n = x.rows;
  const d = x.columns;
  const start = new Float64Array(d);
  if (!x.intercept) return start;
  if (n >= 4 * WARM_START_ROWS) {
    const stride = Math.floor(n / WARM_START_ROWS);
    const rows = Math.floor(n / stride);
    const data = new Float64Array(rows * d);
    const labels = new Uint8Array(rows);
    const subsetOffset = offset === undefined ? undefined : new Float64Array(rows);
    const subsetWeight = weight === undefined ? undefined : new Float64Array(rows);
    for (let k = 0; k < rows; k++) {
      const i = k * stride;
      data.set(x.data.subarray(i * d, i * d + d), k * d);
      labels[k] = y[i] as number;
      if (subsetOffset !== undefined) subsetOffset[k] = (offset as Float64Array)[i] as number;
      if (subsetWeight !== undefined) subsetWeight[k] = (weight as Float64Array)[i] as number;
    }
    try {
      const subset = fitLogistic({ data, rows, columns: d, names: x.names, intercept: true }, labels, {
        ...(subsetOffset === undefined ? {} : { offset: subsetOffset }),
        ...(subsetWeight === undefined ? {} : { weight: subsetWeight }),
        ridge: (ridge * rows) / n,
        requireConvergence: false,
      });
      if (subset.coefficients.every(Number.isFinite)) return Float64Array.from(subset.coefficients);
    } catch {
      // The subset is only a hint: fall back to the intercept-only start below.
    }
  }
  let positive = 0;
  let total = 0;
  let offsetSum = 0;
  for (let i = 0; i < n; i++) {
    const w = weight === undefined ? 1 : (weight[i] as number);
    positive += w * (y[i] as number);
    total += w;
    if (offset !== undefined) offsetSum += w * (offset[i] as number);
  }
  if (total > 0 && positive > 0 && positive < total) {
    start[0] = Math.log(positive / (total - positive)) - offsetSum / total;
  }
  return start;
}

function nonFiniteDataError(x: DesignMatrix, input: string): RarefyInputError {
  const d = x.columns;
  for (let i = 0; i < x.data.length; i++) {
    if (!Number.isFinite(x.data[i] as number)) {
      const row = Math.floor(i / d);
      const column = x.names[i % d] ?? `column ${i % d}`;
      return new RarefyInputError(
        'RAREFY_NON_FINITE',
        `${input}: row ${row}, column '${column}' is ${x.data[i]}`,
        'remove or impute non-finite feature values before fitting',
        { input, row, column },
      );
    }
  }
  return new RarefyInputError(
    'RAREFY_NON_FINITE',
    `${input}: the deviance became non-finite (the features or start are too large)`,
    'rescale the features or pass smaller starting coefficients',
    { input },
  );
}
