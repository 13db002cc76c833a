import { randomBytes } from 'node:crypto';
import { type EstimatorName, fitSubsample, standardErrors } from '@rarefy/correction';
import { type DesignMatrix, INTERCEPT_NAME, RarefyError, RarefySamplingError } from '@rarefy/sampling-core';
import {
  type EnginePlanOptions,
  type EngineSamplePlan,
  type EngineSampleProgress,
  engineSamplingSql,
  planEngineSample,
} from '../engine/sample-with-engine.js';
import { quoteIdentifier, quoteTableName } from '../sql/index.js';
import type { ClickHouseEngine } from './engine.js';

/** Options of {@link sampleInClickHouse}. */
export interface ClickHouseSampleOptions extends EnginePlanOptions {
  /**
   * The table to create with the sample (`table` or `database.table`; it must not exist). Written as
   * a MergeTree table on the server the client talks to, under a temporary name renamed into place
   * only when the sampling statement has completed.
   */
  outputTable: string;
  /** The estimator fitted on the sample read back (default `log-odds`); null to fit nothing. */
  estimator?: EstimatorName | null;
}

/** The fit of {@link sampleInClickHouse}: the corrected estimator on the kept rows alone. */
export interface ClickHouseSampleFit {
  readonly estimator: EstimatorName;
  /** Intercept, then the features. */
  readonly names: readonly string[];
  readonly coefficients: readonly number[];
  /** Sandwich standard errors. */
  readonly standardErrors: readonly number[];
}

/** The result of {@link sampleInClickHouse}. */
export interface ClickHouseSampleResult {
  /** The pilot, scale and counts as planned in the cluster. */
  readonly plan: EngineSamplePlan;
  /** The kept rows, counted on the output table. */
  readonly sample: { readonly positives: number; readonly negatives: number };
  /** The expected kept rows at the solved scale (the histogram's estimate). */
  readonly expected: { readonly positives: number; readonly negatives: number };
  /** The output table. */
  readonly outputTable: string;
  /** The sampling statement (the SELECT inside the INSERT). */
  readonly sql: string;
  /** Bytes of the kept rows read back for the fit (what left the cluster besides the plan). */
  readonly bytesRead: number;
  /** The estimator fitted on the sample, or null when `estimator` was null. */
  readonly fit: ClickHouseSampleFit | null;
  /** Statements run over the source. */
  readonly passes: number;
  /** Seconds, wall clock. */
  readonly seconds: number;
}

function cellNumber(row: Record<string, unknown> | undefined, name: string): number {
  const value = row?.[name];
  return typeof value === 'number' ? value : Number(value ?? Number.NaN);
}

/**
 * The whole recipe inside a ClickHouse cluster (ALGORITHMS.md A.6-A.7): {@link planEngineSample}'s
 * statements over `table` (counts, the per-class pilot draw by SQL fitted locally, the `exact` scale
 * from a histogram of scores aggregated in SQL), then ONE `INSERT INTO <temporary> SELECT ...` of
 * `samplingSql`'s clickhouse statement, which over a `Distributed` table scores every row on its own
 * shard (pi, offset, weight) and keeps it by Poisson sampling; the temporary table is renamed to
 * `outputTable` only when the INSERT has completed, and dropped on any failure (a failed run leaves
 * no output table). The kept rows are then read back and fitted with `estimator` (the subsample
 * estimate, A.4/A.5). Only the pilot rows, a few thousand histogram bins and the sample leave the
 * cluster.
 *
 * @param engine - a {@link ClickHouseEngine} on the cluster's initiator
 * @param table - the table to sample (`table` or `database.table`; typically a Distributed table)
 * @param options - as {@link planEngineSample}, plus the output table and the estimator
 * @returns the plan, realised and expected sizes, the fit and the SQL run
 * @throws as {@link planEngineSample}; RarefyError `RAREFY_INVALID_ARGUMENT` when `outputTable`
 *   exists; RarefyIoError naming the shard when a shard cannot be reached (nothing is left behind)
 * @example
 * ```ts
 * const engine = new ClickHouseEngine('http://127.0.0.1:8123/');
 * const result = await sampleInClickHouse(engine, 'logs.clicks_all', {
 *   label: 'clicked', design: 'optL', rowKey: 'event_id', outputTable: 'logs.clicks_sample',
 * });
 * console.log(result.sample, result.fit?.coefficients);
 * ```
 */
export async function sampleInClickHouse(
  engine: ClickHouseEngine,
  table: string,
  options: ClickHouseSampleOptions,
): Promise<ClickHouseSampleResult> {
  const started = performance.now();
  const client = engine.client;
  const output = quoteTableName(options.outputTable, 'clickhouse');
  const [exists] = await client.query(`EXISTS TABLE ${output}`);
  if (Number(exists?.result) === 1) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `outputTable: ${options.outputTable} already exists on ${client.redactedUrl}`,
      'name a new table with --output-table, or drop the old one first',
      { input: 'outputTable', value: options.outputTable },
    );
  }
  const plan = await planEngineSample(engine, table, options);
  const sql = engineSamplingSql(plan, {
    dialect: 'clickhouse',
    inputTable: table,
    ...(options.rowKey === undefined ? {} : { rowKey: options.rowKey }),
  });
  const pass = plan.passes + 1;
  const report = (done: boolean) =>
    options.onProgress?.({
      pass,
      passes: pass,
      stage: 'sample',
      rows: done ? plan.population.rows : 0,
      done,
    } satisfies EngineSampleProgress);

  const parts = options.outputTable.split('.');
  const last = parts.pop() as string;
  const temporaryName = [...parts, `${last}__rarefy_tmp_${randomBytes(6).toString('hex')}`].join('.');
  const temporary = quoteTableName(temporaryName, 'clickhouse');
  // The keep condition pushed into the shards' subquery (predicate pushdown, off by default in
  // ClickHouse 18): each shard sends the initiator only its kept rows, not every row with its pi.
  const onShards = { enable_optimize_predicate_expression: 1 };
  report(false);
  try {
    // The empty table with the statement's columns and types, then the one INSERT ... SELECT.
    await client.command(
      `CREATE TABLE ${temporary} ENGINE = MergeTree ORDER BY tuple() AS SELECT * FROM (\n${sql}\n) AS rarefy_kept LIMIT 0`,
      onShards,
    );
    await client.command(`INSERT INTO ${temporary}\n${sql}`, onShards);
    await client.command(`RENAME TABLE ${temporary} TO ${output}`);
  } catch (error) {
    await client.command(`DROP TABLE IF EXISTS ${temporary}`).catch(() => undefined);
    throw error;
  }
  report(true);

  const q = (name: string, input: string) => quoteIdentifier(name, 'clickhouse', input);
  const y = q(plan.label, 'label');
  const [kept] = await client.query(
    `SELECT sum(CASE WHEN ${y} = 1 THEN 1 ELSE 0 END) AS positives, sum(CASE WHEN ${y} = 0 THEN 1 ELSE 0 END) AS negatives FROM ${output}`,
  );
  const sample = { positives: cellNumber(kept, 'positives'), negatives: cellNumber(kept, 'negatives') };
  let fit: ClickHouseSampleFit | null = null;
  let bytesRead = 0;
  const estimator = options.estimator === undefined ? 'log-odds' : options.estimator;
  if (estimator !== null) {
    const features = plan.features;
    const columns = [
      y,
      ...features.map((name, j) => q(name, `features[${j}]`)),
      q('offset', 'offset'),
      q('weight', 'weight'),
    ];
    const text = await client.text(`SELECT ${columns.join(', ')} FROM ${output}\nFORMAT TabSeparated`);
    bytesRead = Buffer.byteLength(text);
    const lines = text.split('\n').filter((line) => line.length > 0);
    const n = lines.length;
    const d = features.length + 1;
    const data = new Float64Array(n * d);
    const labels = new Uint8Array(n);
    const offset = new Float64Array(n);
    const weight = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const fields = (lines[i] as string).split('\t');
      labels[i] = Number(fields[0]) === 1 ? 1 : 0;
      data[i * d] = 1;
      for (let j = 0; j < features.length; j++) data[i * d + 1 + j] = Number(fields[1 + j]);
      offset[i] = Number(fields[d]);
      weight[i] = Number(fields[d + 1]);
    }
    if (labels.every((value) => value === 1) || labels.every((value) => value === 0)) {
      throw new RarefySamplingError(
        labels[0] === 1 ? 'RAREFY_NO_NEGATIVES' : 'RAREFY_NO_POSITIVES',
        `outputTable: the sample in ${options.outputTable} has ${sample.positives} positives and ${sample.negatives} negatives, one class only, so no model can be fitted`,
        'keep more negatives (a larger sampleSize / --sample-size), or pass estimator null to only sample',
        { input: 'outputTable', ...sample },
      );
    }
    const x: DesignMatrix = {
      data,
      rows: n,
      columns: d,
      names: [INTERCEPT_NAME, ...features],
      intercept: true,
    };
    const fitted = fitSubsample(
      estimator,
      x,
      labels,
      { offset, weight },
      {
        start: Float64Array.from(
          plan.pilotCoefficients.length === d ? plan.pilotCoefficients : new Array<number>(d).fill(0),
        ),
      },
    );
    fit = {
      estimator,
      names: x.names,
      coefficients: Array.from(fitted.coefficients),
      standardErrors: Array.from(standardErrors(fitted.covariance, d)),
    };
  }
  return {
    plan,
    sample,
    expected: { negatives: plan.solution.expectedNegatives, positives: plan.solution.expectedPositives },
    outputTable: options.outputTable,
    sql,
    bytesRead,
    fit,
    passes: pass,
    seconds: (performance.now() - started) / 1000,
  };
}
