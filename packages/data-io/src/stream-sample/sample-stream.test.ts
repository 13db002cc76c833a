import {
  type ColumnBatch,
  type ColumnData,
  type ColumnSchema,
  createRng,
  type DesignMatrix,
  type DesignName,
  designScores,
  isRarefyError,
  keepProbability,
  logisticDesignScores,
  type RarefyError,
  type ScaleSolution,
  sampleWithScores,
  simulateRareEvents,
  solveScale,
} from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { logisticPilot } from './batch-rows.js';
import { type StreamSampleOptions, type StreamSampleResult, sampleStream } from './sample-stream.js';

// 50,000 rows of the A.10 design at beta0 = -4: about 3% positives (about 1,500).
const ROWS = 50_000;
const data = simulateRareEvents({ rows: ROWS, seed: 11, intercept: -4 });
const FEATURES = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6'];
const positives = data.y.reduce((sum, label) => sum + label, 0);

/** Column `j` of the design matrix. */
function column(x: DesignMatrix, j: number): Float64Array {
  const values = new Float64Array(x.rows);
  for (let i = 0, at = j; i < x.rows; i++, at += x.columns) values[i] = x.data[at] as number;
  return values;
}
const featureColumns = FEATURES.map((_, j) => column(data.x, j + 1));

/**
 * The data as a re-iterable batch source: `id` (Int32, the row index), `y` (label), x1..x6 and a
 * dictionary column `tag`. Batch sizes: a fixed size, or seeded sizes between 1 and 2 * size.
 */
function source(size: number, varying = false) {
  const schema: ColumnSchema[] = [
    { name: 'id', type: 'integer' },
    { name: 'y', type: 'label' },
    ...FEATURES.map((name) => ({ name, type: 'number' as const })),
    { name: 'tag', type: 'string' },
  ];
  return {
    batchesRequested: 0,
    async *batches(): AsyncGenerator<ColumnBatch> {
      this.batchesRequested++;
      const rng = createRng(5);
      for (let start = 0; start < ROWS; ) {
        const rows = Math.min(ROWS - start, varying ? 1 + rng.nextInt(2 * size) : size);
        const columns: Record<string, ColumnData> = {
          id: Int32Array.from({ length: rows }, (_, k) => start + k),
          y: data.y.slice(start, start + rows),
          tag: {
            kind: 'dictionary',
            codes: Int32Array.from({ length: rows }, (_, k) => (start + k) % 3),
            values: ['a', 'b,c', 'd"e'],
          },
        };
        FEATURES.forEach((name, j) => {
          columns[name] = (featureColumns[j] as Float64Array).slice(start, start + rows);
        });
        yield { schema, rows, firstRow: start, columns };
        start += rows;
      }
    },
  };
}

interface Run {
  result: StreamSampleResult;
  /** Kept row ids with their pi, offset, weight and label, in output order. */
  ids: number[];
  pi: number[];
  offset: number[];
  weight: number[];
  labels: number[];
  stages: string[];
}

async function runStream(
  batchSize: number,
  options: Omit<StreamSampleOptions, 'write' | 'label'>,
  varying = false,
): Promise<Run> {
  const run: Omit<Run, 'result'> = { ids: [], pi: [], offset: [], weight: [], labels: [], stages: [] };
  const result = await sampleStream(source(batchSize, varying), {
    label: 'y',
    features: FEATURES,
    ...options,
    write: (batch) => {
      const ids = batch.columns.id as Int32Array;
      for (let k = 0; k < batch.rows; k++) {
        run.ids.push(ids[k] as number);
        run.pi.push((batch.columns.pi as Float64Array)[k] as number);
        run.offset.push((batch.columns.offset as Float64Array)[k] as number);
        run.weight.push((batch.columns.weight as Float64Array)[k] as number);
        run.labels.push((batch.columns.y as Uint8Array)[k] as number);
      }
    },
    onProgress: ({ stage }) => {
      if (run.stages.at(-1) !== stage) run.stages.push(stage);
    },
  });
  return { result, ...run };
}

/** The scores of every row under the run's pilot, recomputed in memory. */
function recomputedScores(design: DesignName, result: StreamSampleResult): Float64Array {
  if (design === 'uniform') return new Float64Array(ROWS).fill(1);
  const coefficients = Float64Array.from(result.pilot?.coefficients ?? []);
  const optAInverse = result.pilot?.optAInverse ? Float64Array.from(result.pilot.optAInverse) : undefined;
  return logisticDesignScores(data.x, coefficients, design, { optAInverse });
}

/** The exact expected number of kept rows the scale aims at: negatives (+ LCC's positives). */
function exactExpected(design: DesignName, scores: Float64Array, solution: ScaleSolution) {
  let negatives = 0;
  let positiveSum = 0;
  for (let i = 0; i < ROWS; i++) {
    const score = scores[i] as number;
    if (data.y[i] === 0) negatives += keepProbability(score, solution);
    else if (design === 'LCC') positiveSum += keepProbability(1 - score, solution);
  }
  return { negatives, positives: positiveSum, total: negatives + (design === 'LCC' ? positiveSum : 0) };
}

async function rejection(promise: Promise<unknown>): Promise<RarefyError> {
  try {
    await promise;
  } catch (error) {
    if (isRarefyError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

const DESIGNS: DesignName[] = ['uniform', 'proportional', 'optL', 'optA', 'LCC'];
const SAMPLE_SIZE = 1000;

describe('sampleStream: the histogram scale', () => {
  for (const design of DESIGNS) {
    it(`${design}: exact expected size within 0.5% of the target (histogram) and 1e-6 (refine)`, async () => {
      const target = SAMPLE_SIZE + (design === 'LCC' ? positives : 0);
      const histogram = await runStream(
        3000,
        { design, sampleSize: SAMPLE_SIZE, pilotSize: 600, seed: 3, alpha: 0.1 },
        true,
      );
      const scores = recomputedScores(design, histogram.result);
      const exact = exactExpected(design, scores, histogram.result.solution);
      // The sampling pass's own exact sum is the same number (same rows, same order).
      expect(histogram.result.expected.negatives).toBeCloseTo(exact.negatives, 8);
      expect(Math.abs(exact.total - target) / target).toBeLessThan(0.005);
      expect(histogram.result.scale.method).toBe('histogram');
      expect(histogram.result.scale.histogramBins).toBeGreaterThan(0);

      const refined = await runStream(
        3000,
        { design, sampleSize: SAMPLE_SIZE, pilotSize: 600, seed: 3, alpha: 0.1, scale: 'refine' },
        true,
      );
      expect(refined.result.scale.method).toBe('refine');
      expect(refined.result.scale.histogramScale).toBe(histogram.result.scale.value);
      // The refine pass measured the exact size at the histogram's scale.
      expect(refined.result.scale.refinedExpectedNegatives).toBeCloseTo(exact.negatives, 8);
      const exactRefined = exactExpected(design, scores, refined.result.solution);
      expect(Math.abs(exactRefined.total - target) / target).toBeLessThan(1e-6);
      expect(refined.result.passes).toBe(histogram.result.passes + 1);
    });
  }

  it('agrees with the in-memory exact scale (solveScale on all scores)', async () => {
    const { result } = await runStream(4096, { design: 'optL', sampleSize: 2000, seed: 8, scale: 'refine' });
    const scores = recomputedScores('optL', result);
    const exact = solveScale('optL', scores, data.y, { method: 'exact', sampleSize: 2000 });
    expect(Math.abs(result.scale.value - exact.scale) / exact.scale).toBeLessThan(1e-6);
    expect(Math.abs((result.scale.histogramScale as number) - exact.scale) / exact.scale).toBeLessThan(0.01);
  });
});

describe('sampleStream: the sample', () => {
  for (const design of DESIGNS) {
    it(`${design}: kept rows carry pi, offset, weight from keepProbability; sizes as expected`, async () => {
      const run = await runStream(
        2500,
        { design, sampleSize: 800, pilotSize: 500, seed: 21, piMin: 1e-5 },
        true,
      );
      const { result } = run;
      const scores = recomputedScores(design, result);
      const solution = result.solution;
      const lcc = design === 'LCC';
      let keptPositives = 0;
      for (let k = 0; k < run.ids.length; k++) {
        const row = run.ids[k] as number;
        const label = data.y[row] as number;
        expect(run.labels[k]).toBe(label);
        const score = scores[row] as number;
        const a0 = keepProbability(score, solution);
        const a1 = lcc ? keepProbability(1 - score, solution) : 1;
        expect(run.pi[k]).toBe(a0);
        expect(run.offset[k]).toBe(lcc ? Math.log(a1 / a0) : 0 - Math.log(a0));
        expect(run.weight[k]).toBe(label === 1 ? 1 / a1 : 1 / a0);
        keptPositives += label;
      }
      // Rows come out in input order.
      for (let k = 1; k < run.ids.length; k++) expect(run.ids[k]).toBeGreaterThan(run.ids[k - 1] as number);
      expect(result.sample.positives).toBe(keptPositives);
      expect(result.sample.negatives).toBe(run.ids.length - keptPositives);
      expect(result.population).toEqual({ rows: ROWS, positives, negatives: ROWS - positives });
      expect(result.rowsRead).toBe(ROWS);
      if (!lcc) expect(result.sample.positives).toBe(positives);
      // Realised negatives within 4 sd of the expectation (sd <= sqrt(expected) for a Poisson sample).
      const expected = result.expected.negatives;
      expect(Math.abs(result.sample.negatives - expected)).toBeLessThan(4 * Math.sqrt(expected));
      if (lcc) {
        const expectedPositives = result.expected.positives;
        expect(Math.abs(result.sample.positives - expectedPositives)).toBeLessThan(
          4 * Math.sqrt(expectedPositives),
        );
      }
    });
  }

  it('gives identical results for batches of 1000 and of 7777 rows (same seed)', async () => {
    for (const design of ['optA', 'LCC'] as const) {
      const options = { design, sampleSize: 900, pilotSize: 400, seed: 'batches' };
      const small = await runStream(1000, options);
      const large = await runStream(7777, options);
      expect(large.ids).toEqual(small.ids);
      expect(large.pi).toEqual(small.pi);
      expect(large.weight).toEqual(small.weight);
      expect(large.result.scale).toEqual(small.result.scale);
      expect(large.result.pilot).toEqual(small.result.pilot);
      expect(large.result.expected).toEqual(small.result.expected);
    }
  });

  it('keeps the rows sampleWithScores keeps from the same scores, scale and stream (root after split)', async () => {
    const coefficients = [-4.1, -0.45, -0.5, -0.55, -0.5, -0.45, -0.5];
    const pilot = logisticPilot(FEATURES, coefficients);
    for (const design of ['proportional', 'optL', 'LCC'] as const) {
      const run = await runStream(3333, { design, pilot, rate: 0.05, alpha: 0.2, seed: 77 }, true);
      expect(run.stages).toEqual(['mean', 'sample']);
      const probability = logisticDesignScores(data.x, Float64Array.from(coefficients), 'proportional');
      const scores = designScores(design, probability, data.x);
      const solution = solveScale(design, scores, data.y, { method: 'rate', rate: 0.05, alpha: 0.2 });
      expect(run.result.scale.value).toBe(solution.scale);
      const root = createRng(77);
      root.split();
      const sample = sampleWithScores(design, scores, data.y, solution, root);
      expect(run.ids).toEqual(Array.from(sample.rows));
      expect(run.pi).toEqual(Array.from(sample.pi));
      expect(run.offset).toEqual(Array.from(sample.offset));
      expect(run.weight).toEqual(Array.from(sample.weight));
      expect(run.result.expected.negatives).toBeCloseTo(sample.expectedNegatives, 6);
    }
  });

  it('plans the passes: pilot, histogram, [refine], sample; fewer when the pilot is given or a rate is used', async () => {
    const pilot = logisticPilot(FEATURES, [-4, -0.5, -0.5, -0.5, -0.5, -0.5, -0.5]);
    const cases: Array<[Omit<StreamSampleOptions, 'write' | 'label'>, string[]]> = [
      [{ design: 'optL', sampleSize: 500, pilotSize: 300 }, ['pilot', 'histogram', 'sample']],
      [
        { design: 'optL', sampleSize: 500, pilotSize: 300, scale: 'refine' },
        ['pilot', 'histogram', 'refine', 'sample'],
      ],
      [{ design: 'optL', rate: 0.02, pilotSize: 300 }, ['pilot', 'mean', 'sample']],
      [{ design: 'proportional', sampleSize: 500, pilot }, ['histogram', 'sample']],
      [{ design: 'optA', sampleSize: 500, pilot, pilotSize: 300 }, ['pilot', 'histogram', 'sample']],
      [{ design: 'uniform', rate: 0.02 }, ['sample']],
      [{ design: 'uniform' }, ['histogram', 'sample']],
    ];
    for (const [options, stages] of cases) {
      const run = await runStream(10_000, options);
      expect(run.stages).toEqual(stages);
      expect(run.result.passes).toBe(stages.length);
    }
  });

  it('uses the number of positives as the default sample size', async () => {
    const { result } = await runStream(10_000, { design: 'uniform', seed: 2 });
    expect(result.expected.negatives).toBeCloseTo(positives, 6);
    expect(result.pilot).toBeNull();
  });
});

describe('sampleStream: errors', () => {
  it('names the data row of a label that is not 0 or 1', async () => {
    const base = source(1000);
    const bad = {
      async *batches(): AsyncGenerator<ColumnBatch> {
        for await (const batch of base.batches()) {
          if (batch.firstRow === 2000) {
            const y = new Float64Array(batch.rows);
            y[5] = 2;
            yield { ...batch, columns: { ...batch.columns, y } };
          } else yield batch;
        }
      },
    };
    const error = await rejection(
      sampleStream(bad, { label: 'y', design: 'optL', sampleSize: 100, pilotSize: 100, write: () => {} }),
    );
    expect(error.code).toBe('RAREFY_INVALID_LABEL');
    expect(error.message).toContain('data row 2006');
  });

  it('refuses an input that already has a pi, offset or weight column', async () => {
    const base = source(1000);
    const bad = {
      async *batches(): AsyncGenerator<ColumnBatch> {
        for await (const batch of base.batches()) {
          yield {
            ...batch,
            schema: [...batch.schema, { name: 'weight', type: 'number' as const }],
            columns: { ...batch.columns, weight: new Float64Array(batch.rows) },
          };
        }
      },
    };
    const error = await rejection(sampleStream(bad, { label: 'y', design: 'uniform', write: () => {} }));
    expect(error.code).toBe('RAREFY_INVALID_ARGUMENT');
    expect(error.message).toContain('"weight"');
  });

  it('reports a sample size above the number of negatives, a missing label and a changed input', async () => {
    const tooLarge = await rejection(
      sampleStream(source(5000), { label: 'y', design: 'uniform', sampleSize: ROWS, write: () => {} }),
    );
    expect(tooLarge.code).toBe('RAREFY_SAMPLE_TOO_LARGE');
    const missing = await rejection(
      sampleStream(source(5000), { label: 'label', design: 'uniform', write: () => {} }),
    );
    expect(missing.message).toContain('"label"');
    const base = source(5000);
    let calls = 0;
    const shrinking = {
      async *batches(): AsyncGenerator<ColumnBatch> {
        calls++;
        let index = 0;
        for await (const batch of base.batches()) if (calls === 1 || index++ < 9) yield batch;
      },
    };
    const changed = await rejection(
      sampleStream(shrinking, { label: 'y', design: 'uniform', sampleSize: 100, write: () => {} }),
    );
    expect(changed.code).toBe('RAREFY_IO_ERROR');
    const labelAsFeature = await rejection(
      sampleStream(source(5000), { label: 'y', features: ['x1', 'y'], design: 'optL', write: () => {} }),
    );
    expect(labelAsFeature.message).toContain('features');
    const empty = await rejection(
      sampleStream({ async *batches() {} }, { label: 'y', design: 'optL', write: () => {} }),
    );
    expect(empty.message).toContain('no data rows');
  });

  it('propagates an error thrown by write, after the rows written so far', async () => {
    let calls = 0;
    await expect(
      sampleStream(source(5000), {
        label: 'y',
        design: 'uniform',
        sampleSize: 500,
        write: () => {
          calls++;
          if (calls === 3) throw new Error('disk full');
        },
      }),
    ).rejects.toThrow('disk full');
    expect(calls).toBe(3);
  });
});
