import { RarefyError, RarefyFitError } from './errors.js';
import { addWeightedOuterProduct, cholesky, choleskyInverse, symmetrizeFromLower } from './linalg.js';
import type { DesignMatrix } from './matrix.js';
import type { PilotDraw } from './pilot.js';

/** The negative-sampling designs of ALGORITHMS.md A.7. */
export type DesignName = 'uniform' | 'proportional' | 'optL' | 'optA' | 'LCC';

/**
 * Every design name, in the order the docs list them.
 *
 * @example
 * ```ts
 * for (const design of DESIGN_NAMES) console.log(design);
 * ```
 */
export const DESIGN_NAMES: readonly DesignName[] = Object.freeze([
  'uniform',
  'proportional',
  'optL',
  'optA',
  'LCC',
] as const);

/** Options of {@link designScores}. */
export interface DesignScoreOptions {
  /** M^-1 (row-major d x d) for `optA`, as from {@link optAMatrix}. */
  optAInverse?: Float64Array;
}

function invalidProbability(row: number, value: number): RarefyError {
  return new RarefyError(
    'RAREFY_INVALID_ARGUMENT',
    `pilotProbability: row ${row + 1} (index ${row}) is ${value}, not a probability in [0, 1]`,
    'pass the pilot model’s population-scale probabilities sigma(eta); check the pilot for NaN',
    { input: 'pilotProbability', row, value },
  );
}

/**
 * The design score s(x) >= 0 of every row (ALGORITHMS.md A.7); a negative's keep probability is then
 * min(1, c s) before mixing and flooring (see `solveScale`).
 * - `uniform`: s = 1
 * - `proportional`: s = p~
 * - `optL`: s = p~ sqrt(1 - p~) ||x||, the norm including the intercept's 1
 * - `optA`: s = p~ sqrt(1 - p~) ||M^-1 x||
 * - `LCC`: s = p~ for every row (a0 = c p~); a positive's a1 = c (1 - p~) is applied in sampling.
 *
 * For optL and optA the score is computed as p~ sqrt((1 - p~) ||.||^2) (one square root);
 * `scoreAndSampleLogistic` uses the same expression, so both give identical numbers.
 *
 * @param design - the design
 * @param pilotProbability - the population-scale pilot probability p~ per row, in [0, 1]
 * @param x - the design matrix (needed for optL and optA; may be null otherwise)
 * @param options - `optAInverse` = M^-1 for optA
 * @param out - optional output array of the same length as `pilotProbability`
 * @returns the scores (`out` when given)
 * @example
 * ```ts
 * const p = linearPredictor(x, pilotCoefficients).map(sigmoid);
 * const scores = designScores('optL', p, x);
 * ```
 */
export function designScores(
  design: DesignName,
  pilotProbability: Float64Array,
  x: DesignMatrix | null,
  options: DesignScoreOptions = {},
  out?: Float64Array,
): Float64Array {
  const n = pilotProbability.length;
  if (out !== undefined && out.length !== n) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `out: ${out.length} values for ${n} rows`,
      'pass an output array with one value per row, or none',
      { input: 'out' },
    );
  }
  const scores = out ?? new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = pilotProbability[i] as number;
    if (!(p >= 0 && p <= 1)) throw invalidProbability(i, p);
  }
  switch (design) {
    case 'uniform':
      scores.fill(1);
      return scores;
    case 'proportional':
    case 'LCC':
      scores.set(pilotProbability);
      return scores;
    case 'optL':
    case 'optA':
      break;
    default:
      throw unknownDesign(design);
  }
  if (x === null || x.rows !== n) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `x: ${x === null ? 'missing' : `${x.rows} rows`}, design ${design} needs the design matrix of the ${n} scored rows`,
      'pass the design matrix whose rows the pilot probabilities belong to',
      { input: 'x', rows: n },
    );
  }
  const d = x.columns;
  const data = x.data;
  if (design === 'optL') {
    for (let i = 0, offset = 0; i < n; i++, offset += d) {
      let norm2 = 0;
      for (let j = 0; j < d; j++) {
        const value = data[offset + j] as number;
        norm2 += value * value;
      }
      const p = pilotProbability[i] as number;
      scores[i] = p * Math.sqrt((1 - p) * norm2);
    }
    return scores;
  }
  const upper = optANormFactor(options.optAInverse, d);
  for (let i = 0, offset = 0; i < n; i++, offset += d) {
    const norm2 = optANorm2(upper, data, offset, d);
    const p = pilotProbability[i] as number;
    scores[i] = p * Math.sqrt((1 - p) * norm2);
  }
  return scores;
}

/**
 * The upper-triangular factor R with R'R = M^-2, so that optA's ||M^-1 x||^2 = ||R x||^2 costs
 * d(d+1)/2 multiply-adds per row instead of d^2. Computed once per scoring pass; the SQL export
 * writes the same R into its score expression.
 *
 * @param inverse - M^-1, row-major d x d (from {@link optAMatrix})
 * @param d - the number of columns
 * @returns R, row-major d x d, zero below the diagonal
 * @throws RarefyError `RAREFY_DIMENSION_MISMATCH` when M^-1 is missing, of the wrong size or not
 *   finite; RarefyFitError `RAREFY_RANK_DEFICIENT` when it is singular
 * @example
 * ```ts
 * const factor = optANormFactor(optAMatrix(xPilot, yPilot, pPilot, draw).inverse, xPilot.columns);
 * ```
 */
export function optANormFactor(inverse: ArrayLike<number> | undefined, d: number): Float64Array {
  if (inverse === undefined || inverse.length !== d * d || !Array.from(inverse).every(Number.isFinite)) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `options.optAInverse: ${inverse === undefined ? 'missing' : `${inverse.length} values`}, optA needs a finite ${d} x ${d} matrix`,
      'pass optAInverse = optAMatrix(xPilot, yPilot, pilotProbability, draw).inverse',
      { input: 'options.optAInverse', columns: d },
    );
  }
  // R from a QR factorisation of M^-1 (modified Gram-Schmidt over its columns): R'R = M^-1' M^-1 =
  // M^-2 with the conditioning of M^-1 itself. (A Cholesky factor of the product M^-2 would square
  // it, and fail for the sharp pilots that make M nearly singular.)
  const upper = new Float64Array(d * d);
  const q = new Float64Array(d * d); // column j of Q at q[j * d ..]
  let largest = 0;
  for (let j = 0; j < d; j++) {
    const v = q.subarray(j * d, j * d + d);
    for (let i = 0; i < d; i++) v[i] = inverse[i * d + j] as number;
    for (let k = 0; k < j; k++) {
      const qk = q.subarray(k * d, k * d + d);
      let dot = 0;
      for (let i = 0; i < d; i++) dot += (qk[i] as number) * (v[i] as number);
      upper[k * d + j] = dot;
      for (let i = 0; i < d; i++) v[i] = (v[i] as number) - dot * (qk[i] as number);
    }
    let norm = 0;
    for (let i = 0; i < d; i++) norm += (v[i] as number) ** 2;
    norm = Math.sqrt(norm);
    largest = Math.max(largest, norm);
    if (!(norm > 1e-14 * largest) || !Number.isFinite(norm)) {
      throw new RarefyFitError(
        'RAREFY_RANK_DEFICIENT',
        'options.optAInverse: M^-1 is singular, so optA scores are undefined',
        'pass optAInverse = optAMatrix(...).inverse, or use the optL design',
        { input: 'options.optAInverse' },
      );
    }
    upper[j * d + j] = norm;
    for (let i = 0; i < d; i++) v[i] = (v[i] as number) / norm;
  }
  return upper;
}

/** ||M^-1 x||^2 = ||R x||^2 for the row at `data[offset ..]`, R from {@link optANormFactor}; shared by the scoring and the fused sampler. */
export function optANorm2(upper: Float64Array, data: Float64Array, offset: number, d: number): number {
  let norm2 = 0;
  for (let r = 0, rowStart = 0; r < d; r++, rowStart += d) {
    let z = 0;
    for (let j = r; j < d; j++) z += (upper[rowStart + j] as number) * (data[offset + j] as number);
    norm2 += z * z;
  }
  return norm2;
}

/** The error for a design name that is not one of {@link DESIGN_NAMES}. */
export function unknownDesign(design: string): RarefyError {
  return new RarefyError(
    'RAREFY_INVALID_ARGUMENT',
    `design: "${design}" is not a design`,
    `use one of ${DESIGN_NAMES.join(', ')}`,
    { input: 'design', value: design },
  );
}

/**
 * optA's matrix M, the full-data average of p~(1 - p~) x x' estimated from the pilot rows weighted by
 * the inverse of their class's pilot sampling rate (ALGORITHMS.md A.7):
 * M = sum_i w_i p_i (1 - p_i) x_i x_i' / sum_i w_i, w_i = 1 / r0 for a negative and 1 / r1 for a
 * positive.
 *
 * @param xPilot - the pilot rows' design matrix
 * @param yPilot - the pilot rows' labels (0/1)
 * @param pilotProbability - the population-scale pilot probability p~ of each pilot row
 * @param draw - the pilot's class sampling rates r0, r1
 * @returns M and M^-1, row-major d x d
 * @throws RarefyFitError `RAREFY_RANK_DEFICIENT` when M is not positive definite
 * @example
 * ```ts
 * const { inverse } = optAMatrix(xPilot, yPilot, pPilot, draw); // { ridge } regularises a singular M
 * const scores = designScores('optA', p, x, { optAInverse: inverse });
 * ```
 */
export function optAMatrix(
  xPilot: DesignMatrix,
  yPilot: Uint8Array,
  pilotProbability: Float64Array,
  draw: Pick<PilotDraw, 'negativeRate' | 'positiveRate'>,
  options: { ridge?: number } = {},
): { matrix: Float64Array; inverse: Float64Array } {
  const n = xPilot.rows;
  const d = xPilot.columns;
  if (yPilot.length !== n || pilotProbability.length !== n || xPilot.data.length !== n * d) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `xPilot has ${n} rows, yPilot ${yPilot.length} labels and pilotProbability ${pilotProbability.length} values`,
      'pass the pilot rows, their labels and their pilot probabilities, one per row',
      { input: 'yPilot', rows: n },
    );
  }
  const { negativeRate, positiveRate } = draw;
  if (!(negativeRate > 0 && negativeRate <= 1 && positiveRate > 0 && positiveRate <= 1)) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `draw: pilot sampling rates r0 = ${negativeRate}, r1 = ${positiveRate} are not in (0, 1]`,
      'pass the PilotDraw returned by drawBalancedPilot or PilotReservoir',
      { input: 'draw' },
    );
  }
  const matrix = new Float64Array(d * d);
  let totalWeight = 0;
  for (let i = 0; i < n; i++) {
    const p = pilotProbability[i] as number;
    if (!(p >= 0 && p <= 1)) throw invalidProbability(i, p);
    const weight = 1 / (yPilot[i] === 1 ? positiveRate : negativeRate);
    totalWeight += weight;
    addWeightedOuterProduct(matrix, xPilot.data, i, d, weight * p * (1 - p));
  }
  symmetrizeFromLower(matrix, d);
  for (let k = 0; k < d * d; k++) matrix[k] = (matrix[k] as number) / totalWeight;
  // A ridge lambda on the fit's penalised sum becomes lambda / n on this average (not on the intercept).
  const ridge = options.ridge ?? 0;
  if (ridge > 0) {
    for (let j = xPilot.intercept ? 1 : 0; j < d; j++)
      matrix[j * d + j] = (matrix[j * d + j] as number) + ridge / n;
  }
  // Factor the matrix scaled to unit diagonal, S = D^-1/2 M D^-1/2, so that the pivot test measures
  // collinearity and not the units of the features (an id or a price in cents next to the intercept
  // would otherwise look collinear); then M^-1 = D^-1/2 S^-1 D^-1/2.
  const scale = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const diagonal = matrix[j * d + j] as number;
    scale[j] = diagonal > 0 ? 1 / Math.sqrt(diagonal) : 0;
  }
  const scaled = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++)
      scaled[i * d + j] = (matrix[i * d + j] as number) * (scale[i] as number) * (scale[j] as number);
  const factorisation = cholesky(scaled, d);
  if (!factorisation.ok || scale.includes(0)) {
    const failed = scale.indexOf(0) >= 0 ? scale.indexOf(0) : factorisation.failedColumn;
    const column = xPilot.names[failed] ?? `column ${failed}`;
    throw new RarefyFitError(
      'RAREFY_RANK_DEFICIENT',
      `xPilot: optA's matrix M = average of p(1 - p) x x' over the ${n} pilot rows is not positive definite (column "${column}" is collinear with the ones before it, or p(1 - p) is 0 on too many rows)`,
      'drop collinear or constant columns, use a larger pilot, or use design optL, which needs no M',
      { input: 'xPilot', column, relativeMinPivot: factorisation.relativeMinPivot },
    );
  }
  const inverse = choleskyInverse(factorisation.factor, d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++)
      inverse[i * d + j] = (inverse[i * d + j] as number) * (scale[i] as number) * (scale[j] as number);
  return { matrix, inverse };
}
