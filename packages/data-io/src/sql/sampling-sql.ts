import {
  DESIGN_NAMES,
  type DesignName,
  optANormFactor,
  RarefyError,
  RarefySamplingError,
  type ScaleSolution,
} from '@rarefy/sampling-core';
import {
  doubleLiteral,
  duckDbSetseedArgument,
  quoteIdentifier,
  quoteTableName,
  SQL_DIALECT_SPECS,
  SQL_DIALECTS,
  type SqlDialect,
  type SqlDialectSpec,
  sqlSafeText,
  unsignedDoubleLiteral,
} from './dialects.js';

/** Options of {@link samplingSql}. */
export interface SamplingSqlOptions {
  /** The engine the SQL is for. */
  dialect: SqlDialect;
  /** The table to sample: `table`, `schema.table` or `catalog.schema.table` (each part is quoted). */
  inputTable: string;
  /** The 0/1 label column (numeric). */
  label: string;
  /** The numeric feature columns, in the order of the coefficients after the intercept. */
  features: readonly string[];
  /** The pilot's coefficients on the population scale (intercept first, already corrected). */
  pilotCoefficients: readonly number[];
  /** The design (ALGORITHMS.md A.7). */
  design: DesignName;
  /** optA: M^-1, d x d row-major (d = features + 1), as from `optAMatrix(...).inverse`. */
  optAInverse?: readonly number[];
  /** The solved scale (from `solveScale`): its constants are baked into the SQL. */
  solution: Pick<ScaleSolution, 'scale' | 'uniformRate' | 'alpha' | 'piMin'>;
  /** The seed of the uniforms (a safe integer). */
  seed: number;
  /**
   * A column that identifies rows. When given, each row's uniform is a hash of (rowKey, seed), so
   * the sample is the same on every run, whatever the parallelism. Required for Trino and BigQuery,
   * whose random numbers cannot be seeded.
   */
  rowKey?: string;
  /** The input columns to write before `pi`, `offset`, `weight` (default `'*'`: all of them). */
  keepColumns?: readonly string[] | '*';
  /**
   * optA only (ignored by the other designs, whose scores are cheap): compute the full score only
   * where it can matter (default false). Every row first gets p~, its uniform and a cheap upper
   * bound of its keep probability, with ||R x||^2 bounded by sum_j g_j x_j^2, g_j = sum_k |(R'R)_jk|
   * (a diagonal that dominates R'R, by Gershgorin); a negative whose uniform exceeds the bound is
   * dropped by a WHERE before the d(d+1)/2 multiply-adds of ||R x||^2, which are then spent only on
   * the positives and on a few percent of the negatives (when a few percent are kept). The kept rows
   * and every pi are the same as without it: the bound is never below pi, and rows with NULL
   * features or labels other than 0/1 still reach the checks that name them. Needs `keepColumns` as
   * a list (the helper columns `rarefy_prefilter_p` and `rarefy_prefilter_u` are not written).
   * `sampleWithEngine` uses it for optA in DuckDB (about 0.3 CPU-seconds less per 1e7 rows).
   */
  prefilter?: boolean;
}

/** Names of the columns the statement adds. */
const OUTPUT_COLUMNS = ['pi', 'offset', 'weight'] as const;

/** The helper columns of the optA prefilter (p~ and the uniform of every row), never written. */
export const PREFILTER_COLUMNS = ['rarefy_prefilter_p', 'rarefy_prefilter_u'] as const;

/**
 * The prefilter's bound exceeds pi by this relative margin (plus piMin), far above the rounding of
 * either expression (a few units in the last place), so rounding never makes it fall below pi.
 */
const PREFILTER_MARGIN = 1 + 2 ** -20;

/** Below this, 1 + exp(-eta) would overflow exp in engines that raise on overflow (BigQuery). */
const ETA_FLOOR = -700;

function invalid(input: string, problem: string, fix: string, value?: unknown): RarefyError {
  return new RarefyError('RAREFY_INVALID_ARGUMENT', `${input}: ${problem}`, fix, { input, value });
}

/** Validated inputs of the design score, with everything derived once. */
interface ScorePrepared {
  readonly spec: SqlDialectSpec;
  readonly design: DesignName;
  readonly features: readonly string[];
  readonly featureNames: readonly string[];
  readonly coefficients: readonly number[];
  /** R with R'R = M^-2 (upper triangular, row-major), optA only. */
  readonly optAFactor: Float64Array | null;
  /** optA only: g with diag(g) - R'R positive semidefinite, so ||R x||^2 <= sum_j g_j x_j^2. */
  readonly optABound: Float64Array | null;
}

/** The constants of the keep probability. */
interface ClampPrepared {
  /** (1 - alpha) c. */
  readonly multiplier: number;
  /** alpha c0. */
  readonly base: number;
  readonly piMin: number;
}

/** Validated inputs, with everything derived once. */
interface Prepared extends ScorePrepared, ClampPrepared {
  readonly table: string;
  readonly label: string;
  readonly labelName: string;
  readonly seed: number;
  readonly rowKey: string | null;
  readonly rowKeyName: string | null;
  readonly keep: readonly string[] | '*';
  /** Whether the optA prefilter is on (optA with `prefilter`). */
  readonly prefilter: boolean;
}

function prepareScore(options: DesignScoreSqlOptions): ScorePrepared {
  if (typeof options !== 'object' || options === null) {
    throw invalid('options', 'missing', 'pass the sampling SQL options');
  }
  const { dialect, design } = options;
  if (!SQL_DIALECTS.includes(dialect)) {
    throw invalid(
      'options.dialect',
      `"${String(dialect)}" is not a dialect`,
      `use one of ${SQL_DIALECTS.join(', ')}`,
      dialect,
    );
  }
  if (!DESIGN_NAMES.includes(design)) {
    throw invalid(
      'options.design',
      `"${String(design)}" is not a design`,
      `use one of ${DESIGN_NAMES.join(', ')}`,
      design,
    );
  }
  const spec = SQL_DIALECT_SPECS[dialect];
  const featureNames = [...(options.features ?? [])];
  const features = featureNames.map((name, j) => quoteIdentifier(name, dialect, `options.features[${j}]`));
  if (new Set(featureNames).size !== featureNames.length) {
    throw invalid(
      'options.features',
      `${JSON.stringify(featureNames)} names a column twice`,
      'list each feature once',
    );
  }
  const coefficients = [...(options.pilotCoefficients ?? [])];
  if (coefficients.length !== featureNames.length + 1) {
    throw new RarefyError(
      'RAREFY_DIMENSION_MISMATCH',
      `options.pilotCoefficients: ${coefficients.length} coefficients for ${featureNames.length} features`,
      'pass the intercept first, then one coefficient per feature, in the order of options.features',
      { input: 'options.pilotCoefficients' },
    );
  }
  coefficients.forEach((value, j) => {
    if (!Number.isFinite(value)) {
      throw new RarefyError(
        'RAREFY_NON_FINITE',
        `options.pilotCoefficients[${j}]: ${value} is not finite`,
        'fit the pilot again; its coefficients must be finite numbers',
        { input: 'options.pilotCoefficients', index: j },
      );
    }
  });
  const d = coefficients.length;
  const optAFactor = design === 'optA' ? optANormFactor(options.optAInverse, d) : null;
  const optABound = optAFactor === null ? null : gershgorinDiagonal(optAFactor, d);
  return { spec, design, features, featureNames, coefficients, optAFactor, optABound };
}

function prepare(options: SamplingSqlOptions): Prepared {
  const scored = prepareScore(options);
  const { spec } = scored;
  const dialect = spec.name;
  const table = quoteTableName(options.inputTable, dialect);
  const label = quoteIdentifier(options.label, dialect, 'options.label');
  const { scale, uniformRate, alpha, piMin } = options.solution ?? {};
  if (
    !(
      typeof scale === 'number' &&
      scale >= 0 &&
      Number.isFinite(scale) &&
      typeof uniformRate === 'number' &&
      uniformRate >= 0 &&
      Number.isFinite(uniformRate) &&
      typeof alpha === 'number' &&
      alpha >= 0 &&
      alpha < 1
    )
  ) {
    throw invalid(
      'options.solution',
      `scale ${scale}, uniform rate ${uniformRate}, alpha ${alpha} are not a solved scale`,
      'pass the ScaleSolution returned by solveScale',
    );
  }
  if (!(typeof piMin === 'number' && piMin > 0 && piMin < 1)) {
    throw new RarefySamplingError(
      'RAREFY_PI_UNDERFLOW',
      `options.solution: piMin ${piMin} is not in (0, 1), so offsets -log(pi) could be infinite`,
      'pass the ScaleSolution returned by solveScale (its piMin defaults to 1e-6)',
      { input: 'options.solution.piMin', value: piMin },
    );
  }
  const seed = options.seed;
  if (!Number.isSafeInteger(seed)) {
    throw invalid('options.seed', `${seed} is not an integer`, 'pass an integer seed, e.g. 1', seed);
  }
  const rowKeyName = options.rowKey ?? null;
  const rowKey = rowKeyName === null ? null : quoteIdentifier(rowKeyName, dialect, 'options.rowKey');
  if (rowKey === null && spec.seededRandom('0', '0e0') === null) {
    throw invalid(
      'options.rowKey',
      `missing, and ${dialect} cannot seed its random numbers, so the sample could not be reproduced`,
      'pass rowKey (--row-key <column>): a column that identifies rows; the uniforms are then a hash of it and the seed',
    );
  }
  const keepOption = options.keepColumns ?? '*';
  let keep: readonly string[] | '*' = '*';
  if (keepOption !== '*') {
    if (!Array.isArray(keepOption) || keepOption.length === 0) {
      throw invalid(
        'options.keepColumns',
        'is neither "*" nor a non-empty list of columns',
        "pass '*' or the columns to keep",
      );
    }
    const names = keepOption as readonly string[];
    if (new Set(names).size !== names.length) {
      throw invalid(
        'options.keepColumns',
        `${JSON.stringify(names)} names a column twice`,
        'list each column once',
      );
    }
    for (const name of names) {
      if (OUTPUT_COLUMNS.some((output) => output === String(name).toLowerCase())) {
        throw invalid(
          'options.keepColumns',
          `"${name}" would clash with the column the sample adds`,
          `rename it; the sample adds ${OUTPUT_COLUMNS.join(', ')}`,
          name,
        );
      }
    }
    keep = names.map((name, j) => quoteIdentifier(name, dialect, `options.keepColumns[${j}]`));
  }
  const prefilter = options.prefilter === true && scored.design === 'optA';
  if (prefilter) {
    if (keep === '*') {
      throw invalid(
        'options.prefilter',
        "needs keepColumns as a list of columns (with '*' the helper columns would be written too)",
        'pass keepColumns: the input columns to write, or leave prefilter out',
      );
    }
    const clash = (keepOption as readonly string[]).find((name) =>
      PREFILTER_COLUMNS.some((helper) => helper === String(name).toLowerCase()),
    );
    if (clash !== undefined) {
      throw invalid(
        'options.keepColumns',
        `"${clash}" would clash with a helper column of the prefilter`,
        'rename the column, or leave prefilter out',
        clash,
      );
    }
  }
  return {
    ...scored,
    table,
    label,
    labelName: options.label,
    // The same doubles as sampling-core's PoissonPass: (1 - alpha) c and alpha c0.
    multiplier: (1 - alpha) * scale,
    base: alpha * uniformRate,
    piMin,
    seed,
    rowKey,
    rowKeyName,
    keep,
    prefilter,
  };
}

/**
 * g_j = sum_k |Q_jk| for Q = R'R (R upper triangular, row-major d x d): diag(g) - Q is diagonally
 * dominant with a non-negative diagonal, hence positive semidefinite (Gershgorin), so
 * x'Qx = ||R x||^2 <= sum_j g_j x_j^2 for every x.
 */
function gershgorinDiagonal(upper: Float64Array, d: number): Float64Array {
  const bound = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    let sum = 0;
    for (let k = 0; k < d; k++) {
      let q = 0;
      for (let r = 0; r <= Math.min(j, k); r++)
        q += (upper[r * d + j] as number) * (upper[r * d + k] as number);
      sum += Math.abs(q);
    }
    bound[j] = sum;
  }
  return bound;
}

/**
 * `first + c1 * x1 + c2 * x2 ...` with the sign of each coefficient written as + or -, so the
 * operations are those of sampling-core's loops (a + (-c) x equals a - c x exactly in IEEE
 * arithmetic). Zero coefficients are left out (adding +-0 changes nothing).
 */
function linearCombination(first: number | null, terms: ReadonlyArray<readonly [number, string]>): string {
  const parts: string[] = [];
  if (first !== null) parts.push(doubleLiteral(first));
  for (const [coefficient, column] of terms) {
    if (coefficient === 0) continue;
    const product = `${column} * ${unsignedDoubleLiteral(Math.abs(coefficient))}`;
    if (parts.length === 0) parts.push(coefficient < 0 ? `(-${product})` : product);
    else parts.push(`${coefficient < 0 ? '-' : '+'} ${product}`);
  }
  return parts.length === 0 ? '0e0' : parts.join(' ');
}

/** SQL expressions of one row, its columns qualified by `alias`. */
class RowExpressions {
  constructor(
    private readonly prepared: ScorePrepared,
    private readonly alias: string,
  ) {}

  column(quoted: string): string {
    return this.alias === '' ? quoted : `${this.alias}.${quoted}`;
  }

  /** eta = b0 + sum_j b_j x_j, summed in sampling-core's order. */
  eta(): string {
    const { coefficients, features } = this.prepared;
    return linearCombination(
      coefficients[0] as number,
      features.map((feature, j) => [coefficients[j + 1] as number, this.column(feature)] as const),
    );
  }

  /**
   * p = 1 / (1 + exp(-eta)). sampling-core's `sigmoid` uses e / (1 + e) for eta < 0; the two agree
   * to a few units in the last place, far inside the 1e-12 the tests ask. eta is floored at -700 so
   * that exp cannot overflow (p is then below 1e-304, and pi sits at its floor either way).
   */
  probability(): string {
    const { spec } = this.prepared;
    return `(1e0 / (1e0 + ${spec.exp(`-${spec.greatest(this.eta(), doubleLiteral(ETA_FLOOR))}`)}))`;
  }

  /** ||x||^2 with the intercept's 1 (optL) or ||R x||^2 (optA), in sampling-core's order. */
  norm2(): string {
    const { features, optAFactor } = this.prepared;
    // x * x, as sampling-core computes it (and several times faster than power(x, 2) in DuckDB);
    // engines evaluate the repeated subexpression once (common subexpression elimination).
    const square = (x: string) => `${x} * ${x}`;
    if (optAFactor === null) {
      return ['1e0', ...features.map((feature) => square(this.column(feature)))].join(' + ');
    }
    const d = features.length + 1;
    const columns = ['1', ...features.map((feature) => this.column(feature))];
    const rows: string[] = [];
    for (let r = 0; r < d; r++) {
      const terms: Array<readonly [number, string]> = [];
      for (let j = r; j < d; j++) terms.push([optAFactor[r * d + j] as number, columns[j] as string]);
      // The intercept's term R_0j * 1 is the constant R_0j (exact).
      const z =
        r === 0 ? linearCombination(terms[0]?.[0] ?? 0, terms.slice(1)) : linearCombination(null, terms);
      rows.push(square(`(${z})`));
    }
    return rows.join(' + ');
  }

  /** The design score s(x) (for LCC: p~). */
  score(): string {
    return this.scoreOf(this.probability());
  }

  /** The design score with p~ given as SQL (an expression or a column holding it). */
  scoreOf(p: string): string {
    const { design, spec } = this.prepared;
    switch (design) {
      case 'proportional':
      case 'LCC':
        return p;
      case 'optL':
      case 'optA':
        return `${p} * ${spec.sqrt(`(1e0 - ${p}) * (${this.norm2()})`)}`;
      default:
        return '1e0';
    }
  }

  /** min(1, max(piMin, (1 - alpha) c s + alpha c0)), with the score given as SQL. */
  keepProbability(score: string, clamp: ClampPrepared): string {
    const { spec } = this.prepared;
    const { multiplier, base, piMin } = clamp;
    const mixed = `${unsignedDoubleLiteral(multiplier)} * (${score})${base === 0 ? '' : ` + ${unsignedDoubleLiteral(base)}`}`;
    return spec.least('1e0', spec.greatest(unsignedDoubleLiteral(piMin), mixed));
  }

  /**
   * optA's prefilter: an upper bound of min(1, max(piMin, (1 - alpha) c s + alpha c0)) with p~ given
   * as SQL, s = p~ sqrt((1 - p~) ||R x||^2) <= p~ sqrt(sum_j g_j x_j^2) (g from
   * {@link gershgorinDiagonal}, the intercept's term the constant g_0; 1 - p~ <= 1 left out, which
   * saves two operations per row), scaled up by a margin and raised by piMin so that rounding never
   * puts it below the keep probability.
   */
  keepProbabilityBound(p: string, clamp: ClampPrepared): string {
    const { features, optABound, spec } = this.prepared;
    if (optABound === null) throw new Error('unreachable: the prefilter is optA only');
    const terms = features.map((feature, j) => {
      const x = this.column(feature);
      return `${x} * ${x} * ${unsignedDoubleLiteral(optABound[j + 1] as number)}`;
    });
    const bound2 = [unsignedDoubleLiteral(optABound[0] as number), ...terms].join(' + ');
    const { multiplier, base, piMin } = clamp;
    return `${unsignedDoubleLiteral(multiplier * PREFILTER_MARGIN)} * (${p} * ${spec.sqrt(bound2)}) + ${unsignedDoubleLiteral(base * PREFILTER_MARGIN + piMin)}`;
  }

  /** LCC's positive keep probability a1 = the same expression at s = 1 - p~. */
  positiveKeepProbability(clamp: ClampPrepared): string {
    return this.keepProbability(`(1e0 - ${this.probability()})`, clamp);
  }
}

/**
 * The keep probability a0 = pi as SQL: for `uniform` the constant (computed here exactly as
 * sampling-core computes it), otherwise the expression of the row.
 */
function piExpression(prepared: Prepared, row: RowExpressions): string {
  if (prepared.design === 'uniform') {
    const value = prepared.multiplier * 1 + prepared.base;
    const clamped = value <= prepared.piMin ? prepared.piMin : Math.min(value, 1);
    return unsignedDoubleLiteral(clamped);
  }
  return row.keepProbability(row.score(), prepared);
}

/**
 * One SQL statement that samples a table where it lives, with the pilot and the solved scale baked
 * in (ALGORITHMS.md A.2, A.5, A.7). For every row it computes eta = b0 + sum b_j x_j,
 * p~ = 1 / (1 + exp(-eta)), the design's score s, and
 * pi = min(1, max(piMin, (1 - alpha) c s + alpha c0)); it keeps a positive always (under LCC with
 * its own probability a1 = the same expression at s = 1 - p~) and a negative when its uniform
 * u <= pi, and writes the kept rows with the input columns, then `pi`, `offset` and `weight` exactly
 * as sampling-core defines them: offset = -ln(pi) (LCC: ln(a1 / a0)), weight = 1 / the row's own
 * keep probability (1 for positives outside LCC). The arithmetic follows sampling-core's kernels
 * term by term, so pi equals the in-process pi to within a few units in the last place.
 *
 * Random numbers (the rationale):
 * - With `rowKey`, every dialect uses a hash of (rowKey, seed), the low 53 bits scaled to [0, 1):
 *   reproducible whatever the engine's parallelism or the order of the rows, and the only choice in
 *   Trino and BigQuery, whose `rand()` cannot be seeded (an error without it).
 * - DuckDB without `rowKey`: `setseed(seed / 2^31)` in a materialized CTE joined to the input, then
 *   `random()`. DuckDB's generator is per thread, so the sample is reproducible only with
 *   `SET threads = 1`; with more threads the rows each thread draws for vary between runs (the
 *   distribution of the sample does not). Pass `rowKey` to make it reproducible.
 * - Spark without `rowKey`: `rand(seed)`, seeded per partition: reproducible for the same input
 *   partitioning.
 *
 * A row whose label is not 0 or 1 (or NULL), or whose feature used by the pilot is NULL, aborts the
 * statement with an error naming the column (never a silent drop). The statement has no trailing
 * semicolon, so it can be wrapped (`COPY (...) TO`, `CREATE TABLE ... AS`, `INSERT ... SELECT`).
 *
 * @param options - dialect, table, columns, pilot, design, solved scale, seed, row key
 * @returns the SQL text
 * @throws RarefyError `RAREFY_INVALID_ARGUMENT` (unknown dialect or design, unusable identifiers, a
 *   missing row key for Trino/BigQuery), `RAREFY_DIMENSION_MISMATCH` (coefficients or M^-1 of the
 *   wrong size), `RAREFY_NON_FINITE`, `RAREFY_PI_UNDERFLOW`
 * @example
 * ```ts
 * const sql = samplingSql({
 *   dialect: 'trino', inputTable: 'hive.logs.clicks', label: 'clicked', features: ['x1', 'x2'],
 *   pilotCoefficients: [-6, 0.4, -0.2], design: 'proportional', solution, seed: 1, rowKey: 'event_id',
 * });
 * ```
 */
export function samplingSql(options: SamplingSqlOptions): string {
  const prepared = prepare(options);
  const { spec, design, label, labelName, features, featureNames, seed, rowKey, keep } = prepared;
  const lcc = design === 'LCC';
  const inner = new RowExpressions(prepared, 'src');
  const outer = new RowExpressions(prepared, 'scored');
  const pi = outer.column(quote(spec, 'pi'));
  const labelColumn = outer.column(label);

  let uniform: string;
  let setup: { name: string; query: string } | null = null;
  if (rowKey !== null) {
    uniform = spec.hashUniform(outer.column(rowKey), String(seed));
  } else {
    const seeded = spec.seededRandom(String(seed), doubleLiteral(duckDbSetseedArgument(seed)));
    if (seeded === null) throw new Error('unreachable: checked in prepare');
    uniform = seeded.expression;
    setup = seeded.setup;
  }

  const a1 = lcc ? outer.positiveKeepProbability(prepared) : null;
  const offset = a1 === null ? `0e0 - ${spec.ln(pi)}` : spec.ln(`${a1} / ${pi}`);
  const weight =
    a1 === null
      ? `CASE WHEN ${labelColumn} = 1 THEN 1e0 ELSE 1e0 / ${pi} END`
      : `1e0 / CASE WHEN ${labelColumn} = 1 THEN ${a1} ELSE ${pi} END`;
  const keepPositive = a1 === null ? spec.trueLiteral : `${uniform} <= ${a1}`;
  const fail = (message: string) => `CAST(${spec.raiseError(sqlSafeText(message))} AS ${spec.booleanType})`;
  const usedFeatures =
    design === 'uniform' ? [] : features.map((feature, j) => [feature, featureNames[j] as string] as const);
  const guards = usedFeatures.map(
    ([feature, name]) =>
      `    WHEN ${outer.column(feature)} IS NULL THEN ${fail(`rarefy: feature ${name} is NULL in a row, impute or filter NULLs before sampling`)}`,
  );

  const selected = keep === '*' ? 'scored.*' : [...keep.map((column) => outer.column(column)), pi].join(', ');
  const keyNote =
    prepared.rowKeyName === null
      ? `${uniform}${setup === null ? '' : ' after setseed'}, seed ${seed}`
      : `a hash of ${sqlSafeText(prepared.rowKeyName)} and seed ${seed}`;
  const lines = [
    `-- rarefy negative sampling (${design}, ${spec.name}): kept rows with pi, offset = ${lcc ? 'ln(a1/a0)' : '-ln(pi)'}, weight = 1/keep probability`,
    `-- uniforms: ${keyNote}`,
  ];
  if (setup !== null) lines.push(`WITH ${setup.name} AS MATERIALIZED (${setup.query})`);
  const source = `${prepared.table} AS src${setup === null ? '' : ` CROSS JOIN ${setup.name}`}`;
  let scoring: string[] = [
    '  SELECT',
    '    src.*,',
    `    ${piExpression(prepared, inner)} AS ${quote(spec, 'pi')}`,
    `  FROM ${source}`,
  ];
  let keepNegative = `${uniform} <= ${pi}`;
  if (prepared.prefilter) {
    // optA: p~ and the uniform of every row first; a negative whose uniform exceeds the bound of its
    // keep probability is dropped there, before its full score is computed. Every other row (NULL
    // features and labels other than 0/1 included: their bound or label comparison is NULL, which the
    // CASE sends to TRUE) reaches the keep probability and the checks below.
    const probed = new RowExpressions(prepared, 'probed');
    const [pName, uName] = PREFILTER_COLUMNS.map((name) => quote(spec, name)) as [string, string];
    const p = probed.column(pName);
    const rowUniform = rowKey === null ? uniform : spec.hashUniform(inner.column(rowKey), String(seed));
    scoring = [
      '  SELECT',
      '    probed.*,',
      `    ${probed.keepProbability(probed.scoreOf(p), prepared)} AS ${quote(spec, 'pi')}`,
      '  FROM (',
      '    SELECT',
      '      src.*,',
      `      ${inner.probability()} AS ${pName},`,
      `      ${rowUniform} AS ${uName}`,
      `    FROM ${source}`,
      '  ) AS probed',
      `  WHERE CASE WHEN ${probed.column(label)} = 0 AND ${probed.column(uName)} > ${probed.keepProbabilityBound(p, prepared)} THEN ${spec.falseLiteral} ELSE ${spec.trueLiteral} END`,
    ];
    keepNegative = `${outer.column(uName)} <= ${pi}`;
  }
  lines.push(
    'SELECT',
    `  ${selected},`,
    `  ${offset} AS ${quote(spec, 'offset')},`,
    `  ${weight} AS ${quote(spec, 'weight')}`,
    'FROM (',
    ...scoring,
    ') AS scored',
    'WHERE',
    '  CASE',
    ...guards,
    `    WHEN ${labelColumn} = 1 THEN ${keepPositive}`,
    `    WHEN ${labelColumn} = 0 THEN ${keepNegative}`,
    `    ELSE ${fail(`rarefy: label ${labelName} is not 0 or 1 (or is NULL) in a row, map the label to 0/1`)}`,
    '  END',
  );
  return lines.join('\n');
}

function quote(spec: SqlDialectSpec, name: string): string {
  return quoteIdentifier(name, spec.name, 'column');
}

/** Options of {@link designScoreSql}: the part of {@link SamplingSqlOptions} the score needs. */
export type DesignScoreSqlOptions = Pick<
  SamplingSqlOptions,
  'dialect' | 'features' | 'pilotCoefficients' | 'design' | 'optAInverse'
>;

/**
 * The design score s(x) of one row as an SQL expression (ALGORITHMS.md A.7; for LCC p~), exactly as
 * {@link samplingSql} computes it inside its keep probability: the same arithmetic, term by term,
 * as sampling-core's `logisticDesignScores`. Used to aggregate the scores in the engine (for the
 * histogram that solves the scale) without pulling rows out of it.
 *
 * @param options - dialect, feature columns, pilot coefficients, design, optA's M^-1
 * @param alias - the table alias that qualifies the columns (default none)
 * @returns the expression (`1e0` for `uniform`)
 * @throws RarefyError as {@link samplingSql} for bad coefficients, designs or identifiers
 * @example
 * ```ts
 * const s = designScoreSql({ dialect: 'duckdb', features: ['x1'], pilotCoefficients: [-4, 0.5], design: 'proportional' });
 * ```
 */
export function designScoreSql(options: DesignScoreSqlOptions, alias = ''): string {
  return new RowExpressions(prepareScore(options), alias).score();
}
