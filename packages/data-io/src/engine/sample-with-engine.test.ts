import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DesignMatrix,
  type DesignName,
  INTERCEPT_NAME,
  keepProbability,
  logisticDesignScores,
  simulateRareEvents,
} from '@rarefy/sampling-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbEngine } from '../duckdb/index.js';
import { designMatrixColumns, writeCsvFile } from '../node.js';
import { doubleLiteral } from '../sql/index.js';
import { ScoreHistogram } from '../stream-sample/histogram.js';
import { HISTOGRAM_BITS, solveHistogramScale } from '../stream-sample/scale-solver.js';
import {
  binKeyQuery,
  DEFAULT_SCALE_SAMPLE_ROWS,
  type EngineScaleSampleClass,
  planEngineSample,
  sampleWithEngine,
} from './sample-with-engine.js';

const ROWS = 40_000;
const FEATURES = ['x1', 'x2', 'x3'];
let directory: string;
let csvPath: string;
let parquetPath: string;
/** The same rows sorted by the label, then by a feature: what a row-level subsample must not mind. */
let sortedPath: string;
let engine: DuckDbEngine;
let x: DesignMatrix;
let y: Uint8Array;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rarefy-engine-'));
  csvPath = join(directory, 'data.csv');
  parquetPath = join(directory, 'data.parquet');
  const data = simulateRareEvents({ rows: ROWS, seed: 11, intercept: -4, slopes: [0.5, -0.5, 0.25] });
  x = data.x;
  y = data.y;
  const columns = designMatrixColumns(x, y, { rowId: 'id' });
  await writeCsvFile(csvPath, columns);
  engine = await DuckDbEngine.open({ threads: 2 });
  await engine.copyToParquet(`SELECT * FROM ${engine.relation(csvPath)}`, parquetPath);
  sortedPath = join(directory, 'sorted.parquet');
  await engine.copyToParquet(
    `SELECT * FROM ${engine.relation(csvPath)} ORDER BY y DESC, x1 DESC`,
    sortedPath,
  );
});

afterAll(async () => {
  await engine?.close();
  await rm(directory, { recursive: true, force: true });
});

/** The design scores of every row, in-process, with a plan's constants. */
function inProcessScores(
  design: DesignName,
  coefficients: readonly number[],
  optAInverse: readonly number[] | null,
) {
  return logisticDesignScores(x, Float64Array.from(coefficients), design, {
    ...(optAInverse === null ? {} : { optAInverse: Float64Array.from(optAInverse) }),
  });
}

describe('binKeyQuery', () => {
  it('gives ScoreHistogram.key for powers of two, their neighbours, subnormals and random doubles', async () => {
    const view = new DataView(new ArrayBuffer(8));
    const neighbour = (value: number, step: number) => {
      view.setFloat64(0, value);
      view.setBigUint64(0, view.getBigUint64(0) + BigInt(step));
      return view.getFloat64(0);
    };
    const values: number[] = [5e-324, 1e-310, 2 ** -1022, Number.MAX_VALUE, 1, 0.5, 1 / 3];
    for (let e = -1070; e <= 1020; e += 7) {
      const power = 2 ** e;
      values.push(power, neighbour(power, -1), neighbour(power, 1), neighbour(power, -3), power * 1.015625);
    }
    let state = 12345;
    for (let k = 0; k < 2000; k++) {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      values.push((state / 2 ** 31 + 1e-9) * 2 ** ((k % 200) - 100));
    }
    const histogram = new ScoreHistogram(HISTOGRAM_BITS);
    const list = values.filter((value) => value > 0).map((value) => doubleLiteral(value));
    const rows = await engine.query(
      `SELECT rarefy_v, rarefy_bin FROM (${binKeyQuery(`SELECT 0 AS rarefy_class, unnest([${list.join(', ')}]::DOUBLE[]) AS rarefy_v`)})`,
    );
    expect(rows).toHaveLength(list.length);
    for (const row of rows) expect(row.rarefy_bin).toBe(histogram.key(row.rarefy_v as number));
    const special = await engine.query(
      `SELECT rarefy_bin FROM (${binKeyQuery(`SELECT 0 AS rarefy_class, unnest([0e0, -1e0, NULL, 'nan'::DOUBLE, 'inf'::DOUBLE]) AS rarefy_v`)})`,
    );
    expect(special.map((row) => row.rarefy_bin)).toEqual([-1, -2, -2, -2, -2]);
  });
});

describe('sampleWithEngine', () => {
  for (const design of ['proportional', 'optA', 'LCC'] as const) {
    it(`${design}: pi equals the in-process pi, the scale the in-process histogram's, the size is within 4 sd`, async () => {
      const out = join(directory, `sample-${design}.parquet`);
      const stages: string[] = [];
      const result = await sampleWithEngine(engine, parquetPath, {
        label: 'y',
        features: FEATURES,
        design,
        sampleSize: 3000,
        pilotSize: 600,
        alpha: 0.05,
        seed: 3,
        rowKey: 'id',
        out,
        onProgress: ({ stage, done }) => {
          if (done) stages.push(stage);
        },
      });
      expect(stages).toEqual(['count', 'pilot', 'histogram', 'sample']);
      expect(result.rowsRead).toBe(ROWS);
      // optA's statement skips the full score where a bound of pi rules the row out (same rows, same pi).
      expect(result.sql.includes('rarefy_prefilter_p')).toBe(design === 'optA');
      // Fewer rows than the default scaleSampleRows: every row fills the histogram, which is exact.
      expect(result.scaleSample?.rowsPerClass).toBe(DEFAULT_SCALE_SAMPLE_ROWS);
      expect(result.scaleSample?.negatives).toMatchObject({
        fraction: 1,
        rows: result.population.negatives,
        standardError: 0,
      });
      expect(result.scaleSample?.positives?.rows ?? null).toBe(
        design === 'LCC' ? result.population.positives : null,
      );
      const coefficients = result.pilot?.coefficients ?? [];
      const optAInverse = result.pilot?.optAInverse ?? null;
      const scores = inProcessScores(design, coefficients, optAInverse);
      // The same histogram filled row by row in-process gives the same scale.
      const negatives = new ScoreHistogram(HISTOGRAM_BITS);
      const positives = design === 'LCC' ? new ScoreHistogram(HISTOGRAM_BITS) : null;
      let expected = 0;
      let variance = 0;
      for (let i = 0; i < ROWS; i++) {
        const s = scores[i] as number;
        if (y[i] === 0) {
          negatives.add(s);
          const pi = keepProbability(s, result.solution);
          expected += pi;
          variance += pi * (1 - pi);
        } else positives?.add(1 - s);
      }
      const solved = solveHistogramScale({
        design,
        negatives,
        positives,
        populationNegatives: result.population.negatives,
        populationPositives: result.population.positives,
        sampleSize: 3000,
        alpha: 0.05,
        piMin: 1e-6,
      });
      expect(Math.abs(solved.scale - result.scale.value) / solved.scale).toBeLessThan(1e-9);
      expect(Math.abs(expected - 3000) / 3000).toBeLessThan(0.005);
      expect(Math.abs(result.sample.negatives - expected)).toBeLessThan(4 * Math.sqrt(variance));
      const kept = await engine.query(
        `SELECT id, y, x1, x2, x3, pi, "offset", weight FROM ${engine.relation(out)} ORDER BY id`,
      );
      expect(kept.filter((row) => Number(row.y) === 0)).toHaveLength(result.sample.negatives);
      expect(kept.length).toBe(result.sample.negatives + result.sample.positives);
      for (const row of kept) {
        const i = Number(row.id);
        const pi = keepProbability(scores[i] as number, result.solution);
        expect(Math.abs((row.pi as number) - pi) / pi).toBeLessThan(1e-12);
        expect(typeof row.offset).toBe('number');
        expect(typeof row.weight).toBe('number');
      }
      expect((await readdir(directory)).filter((name) => name.includes('rarefy-tmp'))).toEqual([]);
    });
  }

  it('draws the same pilot and sample for a seed on any thread count, another pilot for another seed', async () => {
    const options = { label: 'y', features: FEATURES, design: 'optL' as const, pilotSize: 400, rowKey: 'id' };
    const first = await sampleWithEngine(engine, parquetPath, {
      ...options,
      seed: 5,
      out: join(directory, 'a.parquet'),
    });
    const single = await DuckDbEngine.open({ threads: 1 });
    try {
      const again = await sampleWithEngine(single, csvPath, {
        ...options,
        seed: 5,
        out: join(directory, 'b.csv'),
      });
      expect(again.pilot?.coefficients).toEqual(first.pilot?.coefficients);
      expect(again.scale.value).toBeCloseTo(first.scale.value, 12);
      const ids = async (path: string) =>
        (await engine.query(`SELECT id FROM ${engine.relation(path)} ORDER BY id`)).map((row) =>
          Number(row.id),
        );
      expect(await ids(join(directory, 'b.csv'))).toEqual(await ids(join(directory, 'a.parquet')));
    } finally {
      await single.close();
    }
    const other = await planEngineSample(engine, parquetPath, { ...options, seed: 6 });
    expect(other.pilotCoefficients).not.toEqual(first.pilot?.coefficients);
    // Without a row key the pilot is drawn by the rows' fingerprint: reproducible too.
    const { rowKey: _, ...withoutKey } = options;
    const keyless = await planEngineSample(engine, parquetPath, { ...withoutKey, seed: 5 });
    const keylessAgain = await planEngineSample(engine, csvPath, { ...withoutKey, seed: 5 });
    expect(keylessAgain.pilotCoefficients).toEqual(keyless.pilotCoefficients);
  });

  it('rate: c = r / mean score; uniform needs no pilot and no histogram pass', async () => {
    const plan = await planEngineSample(engine, parquetPath, {
      label: 'y',
      features: FEATURES,
      design: 'proportional',
      rate: 0.1,
      seed: 2,
    });
    const scores = inProcessScores('proportional', plan.pilotCoefficients, null);
    const mean = scores.reduce((sum, s) => sum + s, 0) / ROWS;
    expect(plan.scale.method).toBe('rate');
    expect(Math.abs(plan.scale.value - 0.1 / mean) / plan.scale.value).toBeLessThan(1e-12);
    const stages: string[] = [];
    const uniform = await planEngineSample(engine, parquetPath, {
      label: 'y',
      design: 'uniform',
      sampleSize: 1000,
      onProgress: ({ stage, done }) => done && stages.push(stage),
    });
    expect(stages).toEqual(['count']);
    expect(uniform.pilot).toBeNull();
    expect(uniform.scaleSample).toBeNull();
    expect(plan.scaleSample).toBeNull();
    expect(uniform.scale.value * (1 - 0)).toBeCloseTo(1000 / uniform.population.negatives, 15);
  });

  it('refuses missing or non-0/1 labels, clashing columns, NULL features and too small classes, writing nothing', async () => {
    const out = join(directory, 'never.parquet');
    const base = { label: 'y', design: 'optL' as const, out };
    await expect(sampleWithEngine(engine, parquetPath, { ...base, label: 'clicked' })).rejects.toMatchObject({
      code: 'RAREFY_INVALID_ARGUMENT',
      message: expect.stringContaining('clicked'),
    });
    const bad = join(directory, 'bad.parquet');
    await engine.copyToParquet(
      `SELECT id, CASE WHEN id = 7 THEN 2 ELSE y END AS y, x1, x2, x3 FROM ${engine.relation(parquetPath)}`,
      bad,
    );
    await expect(sampleWithEngine(engine, bad, base)).rejects.toMatchObject({ code: 'RAREFY_INVALID_LABEL' });
    const clash = join(directory, 'clash.parquet');
    await engine.copyToParquet(`SELECT *, 1.0 AS PI FROM ${engine.relation(parquetPath)}`, clash);
    await expect(sampleWithEngine(engine, clash, base)).rejects.toMatchObject({
      code: 'RAREFY_INVALID_ARGUMENT',
    });
    const holes = join(directory, 'holes.parquet');
    await engine.copyToParquet(
      `SELECT id, y, CASE WHEN id % 1000 = 3 THEN NULL ELSE x1 END AS x1, x2, x3 FROM ${engine.relation(parquetPath)}`,
      holes,
    );
    await expect(sampleWithEngine(engine, holes, base)).rejects.toMatchObject({ code: 'RAREFY_NON_FINITE' });
    await expect(
      sampleWithEngine(engine, parquetPath, { ...base, pilotSize: 100_000 }),
    ).rejects.toMatchObject({
      code: 'RAREFY_PILOT_TOO_LARGE',
    });
    const whole = await planEngineSample(engine, parquetPath, {
      ...base,
      pilotSize: 20_000,
      takeWholeClass: true,
    });
    expect(whole.pilot?.sizes?.wholeClass).toBe('positives');
    expect(whole.pilot?.sizes?.positives).toBe(whole.population.positives);
    await expect(
      sampleWithEngine(engine, parquetPath, { ...base, out: join(directory, 'no-such-folder', 's.parquet') }),
    ).rejects.toMatchObject({ code: 'RAREFY_IO_ERROR' });
    expect(await readdir(directory)).not.toContain('never.parquet');
  });

  it("pilotCoefficients: the engine's own pilot's coefficients give its plan, scale and kept rows, with no pilot statement", async () => {
    const options = {
      label: 'y',
      features: FEATURES,
      design: 'optL' as const,
      sampleSize: 2500,
      pilotSize: 500,
      alpha: 0.05,
      seed: 9,
      rowKey: 'id',
    };
    const ownPlan = await planEngineSample(engine, parquetPath, options);
    const coefficients = ownPlan.pilot?.coefficients ?? [];
    expect(coefficients).toHaveLength(FEATURES.length + 1);
    const planStages: string[] = [];
    const givenPlan = await planEngineSample(engine, parquetPath, {
      ...options,
      pilotCoefficients: coefficients,
      onProgress: ({ stage, done }) => done && planStages.push(stage),
    });
    expect(planStages).toEqual(['count', 'histogram']);
    expect(givenPlan.passes).toBe(2);
    expect(givenPlan.pilotCoefficients).toEqual(ownPlan.pilotCoefficients);
    expect(givenPlan.population).toEqual(ownPlan.population);
    expect(Math.abs(givenPlan.scale.value - ownPlan.scale.value) / ownPlan.scale.value).toBeLessThan(1e-12);
    expect(givenPlan.pilot).toEqual({
      coefficients,
      names: [INTERCEPT_NAME, ...FEATURES],
      optAInverse: null,
      sizes: null,
    });

    const own = await sampleWithEngine(engine, parquetPath, {
      ...options,
      out: join(directory, 'own.parquet'),
    });
    const stages: string[] = [];
    const given = await sampleWithEngine(engine, parquetPath, {
      ...options,
      pilotCoefficients: coefficients,
      out: join(directory, 'given.parquet'),
      onProgress: ({ stage, done }) => done && stages.push(stage),
    });
    expect(stages).toEqual(['count', 'histogram', 'sample']);
    expect(given.passes).toBe(3);
    expect(Math.abs(given.scale.value - own.scale.value) / own.scale.value).toBeLessThan(1e-12);
    expect(given.sample).toEqual(own.sample);
    const kept = async (path: string) =>
      (await engine.query(`SELECT id, pi FROM ${engine.relation(path)} ORDER BY id`)).map((row) => ({
        id: Number(row.id),
        pi: row.pi as number,
      }));
    const ownRows = await kept(join(directory, 'own.parquet'));
    const givenRows = await kept(join(directory, 'given.parquet'));
    expect(givenRows.map((row) => row.id)).toEqual(ownRows.map((row) => row.id));
    givenRows.forEach((row, k) => {
      const pi = ownRows[k]?.pi as number;
      expect(Math.abs(row.pi - pi)).toBeLessThan(1e-12 * pi);
    });

    // Under a rate too: the same mean score, so the same scale.
    const ownRate = await planEngineSample(engine, parquetPath, {
      ...options,
      sampleSize: undefined,
      rate: 0.05,
    });
    const givenRate = await planEngineSample(engine, parquetPath, {
      ...options,
      sampleSize: undefined,
      rate: 0.05,
      pilotCoefficients: ownRate.pilotCoefficients,
    });
    expect(Math.abs(givenRate.scale.value - ownRate.scale.value) / ownRate.scale.value).toBeLessThan(1e-12);
  });

  it('pilotCoefficients: refuses optA, a wrong length and missing features, reading and writing nothing', async () => {
    const out = join(directory, 'never-given.parquet');
    const base = { label: 'y', features: FEATURES, design: 'optL' as const, out };
    const stages: string[] = [];
    await expect(
      sampleWithEngine(engine, parquetPath, {
        ...base,
        design: 'optA',
        pilotCoefficients: [-4, 0.5, -0.5, 0.25],
        onProgress: ({ stage }) => stages.push(stage),
      }),
    ).rejects.toMatchObject({
      name: 'RarefyError',
      code: 'RAREFY_INVALID_ARGUMENT',
      input: 'design',
      message: expect.stringMatching(/optA.*pilot draw.*in-process/s),
    });
    await expect(
      planEngineSample(engine, parquetPath, { ...base, pilotCoefficients: [-4, 0.5, -0.5] }),
    ).rejects.toMatchObject({
      code: 'RAREFY_INVALID_ARGUMENT',
      input: 'pilotCoefficients',
      message: expect.stringContaining('pilotCoefficients: 3 coefficients for 3 features'),
    });
    await expect(
      sampleWithEngine(engine, parquetPath, { ...base, pilotCoefficients: [-4, 0.5, -0.5, 0.25, 1] }),
    ).rejects.toMatchObject({ code: 'RAREFY_INVALID_ARGUMENT', input: 'pilotCoefficients' });
    await expect(
      sampleWithEngine(engine, parquetPath, { ...base, pilotCoefficients: [-4, 0.5, Number.NaN, 0.25] }),
    ).rejects.toMatchObject({ code: 'RAREFY_INVALID_ARGUMENT', input: 'pilotCoefficients' });
    const { features: _, ...withoutFeatures } = base;
    await expect(
      sampleWithEngine(engine, parquetPath, { ...withoutFeatures, pilotCoefficients: [-4, 0.5, -0.5, 0.25] }),
    ).rejects.toMatchObject({ code: 'RAREFY_INVALID_ARGUMENT', input: 'features' });
    expect(stages).toEqual([]);
    expect(await readdir(directory)).not.toContain('never-given.parquet');
  });

  it('writes CSV atomically with the same columns', async () => {
    const out = join(directory, 'sample.csv');
    const result = await sampleWithEngine(engine, csvPath, {
      label: 'y',
      features: FEATURES,
      design: 'optA',
      seed: 8,
      rowKey: 'id',
      out,
    });
    const [row] = await engine.query(
      `SELECT count(*) AS n, min(pi) AS low FROM read_csv('${out}', header = true)`,
    );
    expect(Number(row?.n)).toBe(result.sample.positives + result.sample.negatives);
    expect(row?.low as number).toBeGreaterThan(0);
    const names = (await engine.describe((await engine.openSource(out)).table)).map((column) => column.name);
    expect(names).toEqual(['id', 'y', 'x1', 'x2', 'x3', 'pi', 'offset', 'weight']);
    expect(INTERCEPT_NAME).toBe(result.pilot?.names[0]);
  });
});

/** The in-process truth at a solved scale: expected kept rows of each class and the Poisson variance. */
function truthAt(
  design: DesignName,
  coefficients: readonly number[],
  optAInverse: readonly number[] | null,
  solution: Parameters<typeof keepProbability>[1],
) {
  const scores = inProcessScores(design, coefficients, optAInverse);
  const negatives = { expected: 0, variance: 0 };
  const positives = { expected: 0, variance: 0 };
  for (let i = 0; i < ROWS; i++) {
    const s = scores[i] as number;
    if (y[i] === 0) {
      const pi = keepProbability(s, solution);
      negatives.expected += pi;
      negatives.variance += pi * (1 - pi);
    } else if (design === 'LCC') {
      const a1 = keepProbability(1 - s, solution);
      positives.expected += a1;
      positives.variance += a1 * (1 - a1);
    }
  }
  return { scores, negatives, positives };
}

describe('scaleSampleRows: the scale solved on a seeded row-level subsample', () => {
  for (const [design, rowsPerClass] of [
    ['optA', 5000],
    ['LCC', 400],
  ] as const) {
    it(`${design}: on a file sorted by label and feature, the scale of the unsorted file; the true expected size within 4 reported standard errors; pi exact; the realised size within 4 sd`, async () => {
      const options = {
        label: 'y',
        features: FEATURES,
        design,
        sampleSize: 3000,
        pilotSize: 600,
        alpha: 0.05,
        seed: 3,
        rowKey: 'id',
        scaleSampleRows: rowsPerClass,
      };
      const out = join(directory, `subsampled-${design}.parquet`);
      const result = await sampleWithEngine(engine, sortedPath, { ...options, out });
      // The subsample is a hash of (row key, seed): the same rows whatever the order of the file.
      const unsorted = await planEngineSample(engine, parquetPath, options);
      expect(Math.abs(result.scale.value / unsorted.scale.value - 1)).toBeLessThan(1e-12);
      expect(unsorted.scaleSample?.negatives.rows).toBe(result.scaleSample?.negatives.rows);

      const report = result.scaleSample;
      if (report === null) throw new Error('no scaleSample');
      expect(report.rowsPerClass).toBe(rowsPerClass);
      const { negatives, positives } = result.population;
      const checkClass = (part: EngineScaleSampleClass, population: number) => {
        expect(part.fraction).toBe(rowsPerClass / population);
        // A Bernoulli(f) draw of the class: within 5 sd of f N.
        expect(Math.abs(part.rows - rowsPerClass)).toBeLessThan(5 * Math.sqrt(rowsPerClass));
        expect(part.standardError).toBeGreaterThanOrEqual(0);
      };
      checkClass(report.negatives, negatives);
      expect(report.negatives.standardError).toBeGreaterThan(0);
      expect(report.negatives.expected).toBeCloseTo(result.expected.negatives, 6);
      if (design === 'LCC') {
        if (report.positives === null) throw new Error('no positives in the LCC subsample');
        checkClass(report.positives, positives);
        expect(report.positives.expected).toBeCloseTo(result.expected.positives, 6);
      } else {
        expect(report.positives).toBeNull();
      }

      const truth = truthAt(
        design,
        result.pilot?.coefficients ?? [],
        result.pilot?.optAInverse ?? null,
        result.solution,
      );
      // The true expected size at the solved scale is within a few standard errors of the estimate.
      expect(Math.abs(truth.negatives.expected - report.negatives.expected)).toBeLessThan(
        4 * report.negatives.standardError,
      );
      if (design === 'LCC' && report.positives !== null) {
        // Every positive is capped here (a1 = 1): then both are N1 and the standard error is 0.
        expect(Math.abs(truth.positives.expected - report.positives.expected)).toBeLessThanOrEqual(
          4 * report.positives.standardError + 1e-9 * positives,
        );
      }
      // The reported Poisson sd estimates the true one.
      const sd = Math.sqrt(truth.negatives.variance);
      expect(Math.abs(report.negatives.realisedStandardDeviation / sd - 1)).toBeLessThan(0.15);
      // The realised size varies around the true expectation by the Poisson noise.
      expect(Math.abs(result.sample.negatives - truth.negatives.expected)).toBeLessThan(4 * sd);
      // Every written pi is the exact inclusion probability at the scale used.
      const kept = await engine.query(`SELECT id, y, pi FROM ${engine.relation(out)}`);
      expect(kept.length).toBe(result.sample.negatives + result.sample.positives);
      for (const row of kept) {
        if (Number(row.y) === 1 && design !== 'LCC') continue;
        const pi = keepProbability(truth.scores[Number(row.id)] as number, result.solution);
        expect(Math.abs((row.pi as number) - pi) / pi).toBeLessThan(1e-12);
      }
    });
  }

  it('reports calibrated standard errors: over 30 seeds the z-scores of the true expected size have mean square near 1', async () => {
    const rowsPerClass = 3000;
    const squares: number[] = [];
    for (let seed = 1; seed <= 30; seed++) {
      const plan = await planEngineSample(engine, parquetPath, {
        label: 'y',
        features: FEATURES,
        design: 'optL',
        sampleSize: 2000,
        pilotSize: 400,
        seed,
        rowKey: 'id',
        scaleSampleRows: rowsPerClass,
      });
      const report = plan.scaleSample?.negatives;
      if (report === undefined) throw new Error('no scaleSample');
      const truth = truthAt('optL', plan.pilotCoefficients, null, plan.solution);
      squares.push(((truth.negatives.expected - report.expected) / report.standardError) ** 2);
    }
    const meanSquare = squares.reduce((sum, z2) => sum + z2, 0) / squares.length;
    // chi-square(30) / 30: mean 1, sd 0.26; these bounds catch a standard error off by 40% either way.
    expect(meanSquare).toBeGreaterThan(0.45);
    expect(meanSquare).toBeLessThan(2);
  });

  it('is reproducible without a row key (a hash of the rows), exact under Infinity, and refuses bad values', async () => {
    const options = {
      label: 'y',
      features: FEATURES,
      design: 'optA' as const,
      sampleSize: 2500,
      pilotSize: 400,
      seed: 4,
      scaleSampleRows: 6000,
    };
    const fromParquet = await planEngineSample(engine, parquetPath, options);
    const fromCsv = await planEngineSample(engine, csvPath, options);
    expect(fromParquet.scaleSample?.negatives.fraction).toBeLessThan(1);
    expect(fromCsv.scaleSample?.negatives.rows).toBe(fromParquet.scaleSample?.negatives.rows);
    expect(Math.abs(fromCsv.scale.value / fromParquet.scale.value - 1)).toBeLessThan(1e-12);
    // The fingerprint is a hash of the row's values: the order of the file does not matter either.
    const fromSorted = await planEngineSample(engine, sortedPath, options);
    expect(fromSorted.scaleSample?.negatives.rows).toBe(fromParquet.scaleSample?.negatives.rows);
    expect(Math.abs(fromSorted.scale.value / fromParquet.scale.value - 1)).toBeLessThan(1e-12);

    const exact = await planEngineSample(engine, parquetPath, { ...options, scaleSampleRows: Infinity });
    const byDefault = await planEngineSample(engine, parquetPath, { ...options, scaleSampleRows: undefined });
    expect(exact.scaleSample).toMatchObject({
      rowsPerClass: null,
      negatives: { fraction: 1, standardError: 0 },
    });
    expect(exact.scale.value).toBe(byDefault.scale.value);

    for (const bad of [0, -5, 1.5, Number.NaN]) {
      await expect(
        planEngineSample(engine, parquetPath, { ...options, scaleSampleRows: bad }),
      ).rejects.toMatchObject({
        code: 'RAREFY_INVALID_ARGUMENT',
        input: 'scaleSampleRows',
      });
    }
  });
});
